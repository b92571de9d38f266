/* SPDX-License-Identifier: MIT */
/*
 * Bitbucket Cloud forge: every fixture in fixtures/webhooks/bitbucket
 * normalized, one event per pushed change with "<uuid>-<index>" ids, the
 * X-Hub-Signature sha256= check and the refusals.
 */
#include "forge_test.h"

extern const struct forge_ops forge_bitbucket;

#define FOO "bitbucket.org/brydzewski/foo"
#define ATL "bitbucket.org/lkysow/atlantis-example"
#define NEW "141977fedf5cf35aa290ac87d4b5177ac4cd9de1"

static void
fixture(const char *file, const char *key, const struct expect *e)
{
	check_fixture(&forge_bitbucket, "bitbucket", file, "X-Event-Key", key,
	    e);
}

Test(bitbucket_fixture, repo_push)
{
	fixture("repo-push.json", "repo:push", &(struct expect){"repo:push",
	    "push", FOO, "refs/heads/master",
	    "40e7580cf11311d84a6e5e97e2cbba6df1675750", NEW, "brydzewski"});
}

Test(bitbucket_fixture, repo_push_branch_create)
{
	fixture("repo-push-branch-create.json", "repo:push", &(struct expect){
	    "repo:push", "ref.create", FOO, "refs/heads/develop", NULL, NEW,
	    "brydzewski"});
}

Test(bitbucket_fixture, repo_push_tag_create)
{
	fixture("repo-push-tag-create.json", "repo:push", &(struct expect){
	    "repo:push", "tag", FOO, "refs/tags/feature/x", NULL, NEW,
	    "brydzewski"});
}

Test(bitbucket_fixture, pullrequest_created)
{
	fixture("pullrequest-created.json", "pullrequest:created",
	    &(struct expect){"pullrequest:created", "pr.open", FOO,
	    "refs/pull-requests/1/from", NULL, "507a576e59b3", "brydzewski"});
}

Test(bitbucket_fixture, pullrequest_updated)
{
	/* No username or nickname: the display name is the actor. */
	fixture("pullrequest-updated.json", "pullrequest:updated",
	    &(struct expect){"pullrequest:updated", "pr.update", ATL,
	    "refs/pull-requests/1/from", NULL, "315f27602bd8", "Luke"});
}

Test(bitbucket_fixture, pullrequest_fulfilled)
{
	fixture("pullrequest-fulfilled.json", "pullrequest:fulfilled",
	    &(struct expect){"pullrequest:fulfilled", "pr.merge", FOO,
	    "refs/pull-requests/1/from", NULL, "0704fc5beccc", "brydzewski"});
}

Test(bitbucket_fixture, pullrequest_rejected)
{
	fixture("pullrequest-rejected.json", "pullrequest:rejected",
	    &(struct expect){"pullrequest:rejected", "pr.close", ATL,
	    "refs/pull-requests/13/from", NULL, "0adf41d7f4cc", "Luke"});
}

Test(bitbucket, one_event_per_change)
{
	static const char body[] = "{\"actor\":{\"nickname\":\"n\"},"
	    "\"repository\":{\"full_name\":\"team/repo\"},\"push\":{\"changes\":["
	    "{\"created\":false,\"closed\":false,\"new\":{\"type\":\"branch\","
	    "\"name\":\"main\",\"target\":{\"hash\":\"b2\"}},\"old\":{\"type\":"
	    "\"branch\",\"name\":\"main\",\"target\":{\"hash\":\"a1\"}}},"
	    "{\"created\":false,\"closed\":true,\"new\":null,\"old\":{\"type\":"
	    "\"branch\",\"name\":\"gone\",\"target\":{\"hash\":\"c3\"}}},"
	    "{\"created\":true,\"closed\":false,\"old\":null,\"new\":{\"type\":"
	    "\"tag\",\"name\":\"v2\",\"target\":{\"hash\":\"d4\"}}}]}}";
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t;

	treq_init(&t, "application/json", body, strlen(body));
	treq_set(&t, "X-Event-Key", "repo:push");
	treq_set(&t, "X-Request-UUID", "9f8e");
	normalize_ok(&forge_bitbucket, &t, out, 3);
	expect_event(&out->ev[0], &(struct expect){"repo:push", "push",
	    "bitbucket.org/team/repo", "refs/heads/main", "a1", "b2", "n"}, "0");
	expect_event(&out->ev[1], &(struct expect){"repo:push", "ref.delete",
	    "bitbucket.org/team/repo", "refs/heads/gone", "c3", NULL, "n"}, "1");
	expect_event(&out->ev[2], &(struct expect){"repo:push", "tag",
	    "bitbucket.org/team/repo", "refs/tags/v2", NULL, "d4", "n"}, "2");
	expect_str(out->ev[0].id, "9f8e-0", "id 0");
	expect_str(out->ev[1].id, "9f8e-1", "id 1");
	expect_str(out->ev[2].id, "9f8e-2", "id 2");
	expect_str(domino_event_header(&out->ev[2], "X-Event-Key"), "repo:push",
	    "kept header");
	forge_out_clear(out);
	free(out);
}

Test(bitbucket, pr_id_url_and_depends_on)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	static const char body[] = "{\"actor\":{\"username\":\"u\"},"
	    "\"repository\":{\"links\":{\"html\":{\"href\":"
	    "\"https://bitbucket.org/t/r\"}}},\"pullrequest\":{\"id\":4,"
	    "\"description\":\"Depends-On: https://bitbucket.org/t/lib/"
	    "pull-requests/2\",\"links\":{\"html\":{\"href\":"
	    "\"https://bitbucket.org/t/r/pull-requests/4\"}}}}";
	struct treq t;

	treq_init(&t, "application/json", body, strlen(body));
	treq_set(&t, "X-Event-Key", "pullrequest:approved");
	treq_set(&t, "X-Request-UUID", "{uuid}");
	normalize_ok(&forge_bitbucket, &t, out, 1);
	expect_str(out->ev[0].type, "other", "type");
	expect_str(out->ev[0].ref, "refs/pull-requests/4/from", "ref");
	expect_str(out->ev[0].id, "{uuid}", "id");
	expect_str(out->ev[0].url, "https://bitbucket.org/t/r/pull-requests/4",
	    "url");
	cr_assert_eq(out->ev[0].n_depends_on, 1);
	forge_out_clear(out);
	free(out);
}

Test(bitbucket_verify, sha256_signature)
{
	struct forge_cred cred = {.secret = "bb-secret"}, none = {0};
	char sig[80];
	struct treq t;

	treq_fixture(&t, "bitbucket", "repo-push.json", "application/json");
	sign_hex("bb-secret", t.req.body, t.req.len, "sha256=", sig,
	    sizeof(sig));
	treq_set(&t, "X-Hub-Signature", sig);
	verify_is(&forge_bitbucket, &t, &cred, 0, NULL);
	verify_is(&forge_bitbucket, &t, &none, 401, "no_secret_configured");
	t.req.len--;
	verify_is(&forge_bitbucket, &t, &cred, 401, "bad_signature");
	treq_free(&t);

	treq_fixture(&t, "bitbucket", "repo-push.json", "application/json");
	verify_is(&forge_bitbucket, &t, &cred, 401, "missing_signature");
	treq_free(&t);
}

Test(bitbucket_refuse, bad_input)
{
	static const char no_changes[] = "{\"repository\":{\"links\":{\"html\":"
	    "{\"href\":\"https://bitbucket.org/t/r\"}}},\"push\":{}}";
	static const char no_name[] = "{\"repository\":{\"links\":{\"html\":"
	    "{\"href\":\"https://bitbucket.org/t/r\"}}},\"push\":{\"changes\":"
	    "[{\"new\":{\"type\":\"branch\"}}]}}";
	struct treq t;

	treq_init(&t, "application/json", no_changes, strlen(no_changes));
	treq_set(&t, "X-Event-Key", "repo:push");
	normalize_fails(&forge_bitbucket, &t, 422, "missing_field",
	    "push.changes");
	treq_init(&t, "application/json", no_name, strlen(no_name));
	treq_set(&t, "X-Event-Key", "repo:push");
	normalize_fails(&forge_bitbucket, &t, 422, "missing_field",
	    "push.changes.0.new.name");
	treq_init(&t, "application/json", "{}", 2);
	treq_set(&t, "X-Event-Key", "pullrequest:created");
	normalize_fails(&forge_bitbucket, &t, 422, "missing_field",
	    "repository.links.html.href");
	treq_init(&t, "application/json", no_changes, strlen(no_changes));
	treq_set(&t, "X-Event-Key", "pullrequest:created");
	normalize_fails(&forge_bitbucket, &t, 422, "missing_field",
	    "pullrequest.id");
	treq_init(&t, "application/json", "{}", 2);
	normalize_fails(&forge_bitbucket, &t, 400, "missing_header",
	    "X-Event-Key");
	treq_init(&t, "application/json", "{\"a\":1,}", 8);
	treq_set(&t, "X-Event-Key", "repo:push");
	normalize_fails(&forge_bitbucket, &t, 400, "bad_json", NULL);
	treq_init(&t, "text/plain", "x", 1);
	treq_set(&t, "X-Event-Key", "repo:push");
	normalize_fails(&forge_bitbucket, &t, 415, "not_json", NULL);
}
