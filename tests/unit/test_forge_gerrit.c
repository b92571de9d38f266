/* SPDX-License-Identifier: MIT */
/*
 * Gerrit forge: every fixture in fixtures/webhooks/gerrit normalized
 * (both body shapes), the host taken from X-Origin-Url or change.url,
 * derived delivery ids, the three token carriers and the refusals.
 */
#include "forge_test.h"

extern const struct forge_ops forge_gerrit;

#define ZERO "0000000000000000000000000000000000000000"
#define ORIGIN "https://Review.Example.org/"

static void
fixture(const char *file, const char *origin, const struct expect *e)
{
	check_fixture(&forge_gerrit, "gerrit", file,
	    origin ? "X-Origin-Url" : NULL, origin, e);
}

Test(gerrit_fixture, ref_updated_branch_created)
{
	fixture("ref-updated-branch-created.json", ORIGIN, &(struct expect){
	    "ref-updated", "ref.create", "review.example.org/TestRepo",
	    "refs/heads/test_branch", ZERO,
	    "0c8c548ca93b44dd501c000ebb79ecc8f9aa4bd6", "admin"});
}

Test(gerrit_fixture, ref_updated_change_ref)
{
	/* No X-Origin-Url and no change.url: the host is "gerrit". */
	fixture("ref-updated-change-ref.json", NULL, &(struct expect){
	    "ref-updated", "ref.create", "gerrit/TestRepo1",
	    "refs/changes/02/2/1", ZERO,
	    "b59138869113bfd9d3e7fbf9439d74e1ae6c54b8", "admin"});
}

Test(gerrit_fixture, ref_updated_meta_config)
{
	fixture("ref-updated-meta-config.json", ORIGIN, &(struct expect){
	    "ref-updated", "push", "review.example.org/TestRepo3",
	    "refs/meta/config", "2d351d6d3bd1bec64f6b165a843c9dd18ac4d2cd",
	    "5a2347177cdc707c6b42444c505b974d6499047d", "admin"});
}

Test(gerrit_fixture, patchset_created)
{
	fixture("patchset-created.json", NULL, &(struct expect){
	    "patchset-created", "change.patchset", "959be7129610/TestRepo1",
	    "refs/changes/02/2/1", "b8112960b06810405b3e8ce6c8560ee93694700f",
	    "b59138869113bfd9d3e7fbf9439d74e1ae6c54b8", "admin"});
}

Test(gerrit_fixture, comment_added)
{
	fixture("comment-added.json", NULL, &(struct expect){"comment-added",
	    "other", "959be7129610/TestRepo", "refs/changes/01/1/2",
	    "0c8c548ca93b44dd501c000ebb79ecc8f9aa4bd6",
	    "ba8c3584916c93b3e17a1ab63072b0ebd0d3ed84", "admin"});
}

Test(gerrit_fixture, change_merged)
{
	fixture("change-merged.json", ORIGIN, &(struct expect){"change-merged",
	    "change.merged", "review.example.org/TestRepo",
	    "refs/heads/test_branch", NULL,
	    "4c688da535ea3352536e3b320880aa353bd404b2", "admin"});
}

Test(gerrit_fixture, change_abandoned)
{
	fixture("change-abandoned.json", NULL, &(struct expect){
	    "change-abandoned", "pr.close", "959be7129610/TestRepo",
	    "refs/changes/21/21/1", "ba8c3584916c93b3e17a1ab63072b0ebd0d3ed84",
	    "e88822ed72749d99e3b1d09fe73a1fdffc8e482c", "admin"});
}

Test(gerrit_fixture, change_deleted_stream_events)
{
	/* "project" is a string here; the host comes from change.url. */
	fixture("change-deleted-stream-events.json", NULL, &(struct expect){
	    "change-deleted", "other", "testgerrit/bwnUVH", "refs/heads/main",
	    NULL, NULL, "admin"});
}

/* Normalize a small body; the caller checks and clears out. */
static void
small(const char *body, struct forge_out *out)
{
	struct treq t;

	treq_init(&t, "application/json; charset=utf-8", body, strlen(body));
	normalize_ok(&forge_gerrit, &t, out, 1);
}

Test(gerrit, derived_id_is_stable)
{
	struct forge_out *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct treq t;

	treq_fixture(&t, "gerrit", "patchset-created.json", NULL);
	normalize_ok(&forge_gerrit, &t, a, 1);
	normalize_ok(&forge_gerrit, &t, b, 1);
	cr_assert_not_null(a->ev[0].id);
	cr_assert_eq(strlen(a->ev[0].id), strlen("gerrit-") + 32);
	cr_assert_eq(strncmp(a->ev[0].id, "gerrit-", 7), 0);
	expect_str(b->ev[0].id, a->ev[0].id, "same event, same id");
	forge_out_clear(b);
	treq_free(&t);

	treq_fixture(&t, "gerrit", "ref-updated-change-ref.json", NULL);
	normalize_ok(&forge_gerrit, &t, b, 1);
	cr_assert_str_neq(a->ev[0].id, b->ev[0].id);
	forge_out_clear(a);
	forge_out_clear(b);
	treq_free(&t);

	small("{\"type\":\"ref-updated\",\"refUpdate\":{\"project\":\"p\","
	    "\"refName\":\"master\",\"oldRev\":\"a1\",\"newRev\":\"b2\"}}", a);
	cr_assert_null(a->ev[0].id, "no eventCreatedOn: ingest makes the id");
	expect_str(a->ev[0].ref, "refs/heads/master", "short ref");
	forge_out_clear(a);
	free(a);
	free(b);
}

Test(gerrit, string_numbers_and_depends_on)
{
	struct forge_out *out = calloc(1, sizeof(*out));

	small("{\"type\":\"patchset-created\",\"project\":\"plugins/hooks\","
	    "\"eventCreatedOn\":\"1700478732\",\"uploader\":{\"name\":\"Ann\"},"
	    "\"change\":{\"number\":\"12345\",\"url\":"
	    "\"https://r.example/c/plugins/hooks/+/12345\",\"commitMessage\":"
	    "\"Fix\\n\\nDepends-On: I1234abcd\\nChange-Id: Ifff\\n\"},"
	    "\"patchSet\":{\"number\":\"3\",\"revision\":\"c3\"}}", out);
	expect_event(&out->ev[0], &(struct expect){"patchset-created",
	    "change.patchset", "r.example/plugins/hooks",
	    "refs/changes/45/12345/3", NULL, "c3", "Ann"}, "strings");
	cr_assert_eq(out->ev[0].n_depends_on, 1);
	expect_str(out->ev[0].depends_on[0], "I1234abcd", "depends_on");
	expect_str(out->ev[0].url, "https://r.example/c/plugins/hooks/+/12345",
	    "url");
	cr_assert_not_null(out->ev[0].id);
	forge_out_clear(out);

	small("{\"type\":\"change-restored\",\"project\":{\"name\":\"p\"},"
	    "\"change\":{\"number\":5},\"patchSet\":{\"number\":1}}", out);
	expect_str(out->ev[0].type, "pr.open", "restored");
	expect_str(out->ev[0].ref, "refs/changes/05/5/1", "one-digit change");
	forge_out_clear(out);

	small("{\"type\":\"ref-updated\",\"refUpdate\":{\"project\":\"p\","
	    "\"refName\":\"refs/tags/v1\",\"oldRev\":\"" ZERO "\",\"newRev\":"
	    "\"d4\"}}", out);
	expect_str(out->ev[0].type, "tag", "tag");
	forge_out_clear(out);

	small("{\"type\":\"ref-updated\",\"refUpdate\":{\"project\":\"p\","
	    "\"refName\":\"refs/heads/old\",\"oldRev\":\"e5\",\"newRev\":\""
	    ZERO "\"}}", out);
	expect_str(out->ev[0].type, "ref.delete", "delete");
	forge_out_clear(out);
	free(out);
}

static void
verify_with(const char *query, const char *name, const char *value,
    int status, const char *code)
{
	struct forge_cred cred = {.token = "g3rr1t"};
	struct treq t;

	treq_init(&t, "application/json", "{}", 2);
	t.req.query = query;
	if (name != NULL)
		treq_set(&t, name, value);
	verify_is(&forge_gerrit, &t, &cred, status, code);
}

Test(gerrit_verify, token_carriers)
{
	struct forge_cred none = {0};
	struct treq t;

	verify_with("token=g3rr1t", NULL, NULL, 0, NULL);
	verify_with("a=b&token=g3rr1t", NULL, NULL, 0, NULL);
	verify_with(NULL, "Authorization", "Bearer g3rr1t", 0, NULL);
	verify_with(NULL, "X-Gerrit-Token", "g3rr1t", 0, NULL);
	verify_with("token=nope", NULL, NULL, 401, "bad_signature");
	verify_with(NULL, "Authorization", "Bearer g3rr1", 401, "bad_signature");
	verify_with(NULL, "Authorization", "Basic Zzp6", 401,
	    "missing_signature");
	verify_with(NULL, NULL, NULL, 401, "missing_signature");
	treq_init(&t, "application/json", "{}", 2);
	t.req.query = "token=g3rr1t";
	verify_is(&forge_gerrit, &t, &none, 401, "no_secret_configured");
}

Test(gerrit_refuse, bad_input)
{
	static const char no_type[] = "{\"project\":\"p\"}";
	static const char no_project[] = "{\"type\":\"ref-updated\"}";
	static const char no_ref[] = "{\"type\":\"ref-updated\","
	    "\"refUpdate\":{\"project\":\"p\"}}";
	struct treq t;

	treq_init(&t, "application/json", no_type, strlen(no_type));
	normalize_fails(&forge_gerrit, &t, 422, "missing_field", "type");
	treq_init(&t, "application/json", no_project, strlen(no_project));
	normalize_fails(&forge_gerrit, &t, 422, "missing_field", "project");
	treq_init(&t, "application/json", no_ref, strlen(no_ref));
	normalize_fails(&forge_gerrit, &t, 422, "missing_field",
	    "refUpdate.refName");
	treq_init(&t, "application/json", "{\"type\":", 8);
	normalize_fails(&forge_gerrit, &t, 400, "bad_json", NULL);
	treq_init(&t, "text/plain", "{}", 2);
	normalize_fails(&forge_gerrit, &t, 415, "not_json", NULL);
}
