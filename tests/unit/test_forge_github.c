/* SPDX-License-Identifier: MIT */
/*
 * GitHub forge: every fixture in fixtures/webhooks/github normalized, the
 * signature check against GitHub's published vector, and the refusals
 * (bad or missing signature, malformed or non-JSON body, missing header
 * or field). Fixtures are read from $DOMINO_FIXTURES or
 * ../shared/fixtures/webhooks, relative to the repo root.
 */
#include "forge_test.h"

extern const struct forge_ops forge_github;

#define ZERO "0000000000000000000000000000000000000000"
#define HW "github.com/Codertocat/Hello-World"
#define DRONE "github.com/bradrydzewski/drone-test-go"
#define GCB "github.com/ailisp/gcbapp-buildconfig-example"
#define OCTO "github.com/octo-org/octo-repo"

static void
fixture(const char *file, const char *event, const struct expect *e)
{
	check_fixture(&forge_github, "github", file, "X-GitHub-Event", event,
	    e);
}

/* The fixtures, one test each. */

Test(github_fixture, push)
{
	fixture("push.json", "push", &(struct expect){"push", "push", HW,
	    "refs/heads/master", "a10867b14bb761a232cd80139fbd4c0d33264240",
	    "199eddf46df50de8d02e99bf1c5fdb4101338224", "Codertocat"});
}

Test(github_fixture, push_multiple_commits)
{
	fixture("push-multiple-commits.json", "push", &(struct expect){"push",
	    "push", GCB, "refs/heads/master",
	    "8357af6fef17bd180014e419f049944cb491238f",
	    "a21683865c088b5fe1906cf6552d15a285a4986d", "ailisp"});
}

Test(github_fixture, push_tag)
{
	fixture("push-tag.json", "push", &(struct expect){"push", "tag", DRONE,
	    "refs/tags/v0.0.1", ZERO,
	    "d2b75aa7797ec26b088fa2dd527e9d2c052fcedd", "bradrydzewski"});
}

Test(github_fixture, push_branch_create)
{
	fixture("push-branch-create.json", "push", &(struct expect){"push",
	    "ref.create", HW, "refs/heads/master", ZERO,
	    "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "Codertocat"});
}

Test(github_fixture, push_branch_delete)
{
	fixture("push-branch-delete.json", "push", &(struct expect){"push",
	    "ref.delete", DRONE, "refs/heads/feature-branch",
	    "d2b75aa7797ec26b088fa2dd527e9d2c052fcedd", ZERO,
	    "bradrydzewski"});
}

Test(github_fixture, pull_request_opened)
{
	fixture("pull_request-opened.json", "pull_request", &(struct expect){
	    "pull_request", "pr.open", HW, "refs/pull/2/head", NULL,
	    "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "Codertocat"});
}

Test(github_fixture, pull_request_synchronize)
{
	fixture("pull_request-synchronize.json", "pull_request",
	    &(struct expect){"pull_request", "pr.update", HW,
	    "refs/pull/2/head", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
	    "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "Codertocat"});
}

Test(github_fixture, pull_request_closed_merged)
{
	fixture("pull_request-closed-merged.json", "pull_request",
	    &(struct expect){"pull_request", "pr.merge", GCB,
	    "refs/pull/3/head", NULL,
	    "7b5a809ab03679215c55926f7d111156ec98b865", "ailisp"});
}

Test(github_fixture, create_tag)
{
	fixture("create-tag.json", "create", &(struct expect){"create", "tag",
	    HW, "refs/tags/simple-tag", NULL, NULL, "Codertocat"});
}

Test(github_fixture, create_branch)
{
	fixture("create-branch.json", "create", &(struct expect){"create",
	    "ref.create", DRONE, "refs/heads/feature-branch", NULL, NULL,
	    "bradrydzewski"});
}

Test(github_fixture, delete_tag)
{
	fixture("delete-tag.json", "delete", &(struct expect){"delete",
	    "ref.delete", HW, "refs/tags/simple-tag", NULL, NULL,
	    "Codertocat"});
}

Test(github_fixture, delete_branch)
{
	fixture("delete-branch.json", "delete", &(struct expect){"delete",
	    "ref.delete", DRONE, "refs/heads/feature-branch", NULL, NULL,
	    "bradrydzewski"});
}

Test(github_fixture, release_published)
{
	fixture("release-published.json", "release", &(struct expect){
	    "release", "release", HW, "refs/tags/0.0.1", NULL, NULL,
	    "Codertocat"});
}

Test(github_fixture, ping)
{
	fixture("ping.json", "ping", &(struct expect){"ping", "ping",
	    "github.com/Octocoders/Hello-World", NULL, NULL, NULL,
	    "Codertocat"});
}

Test(github_fixture, workflow_run_completed)
{
	fixture("workflow_run-completed.json", "workflow_run",
	    &(struct expect){"workflow_run", "other", OCTO, "refs/heads/master",
	    NULL, "3484a3fb816e0859fd6e1cea078d76385ff50625", "Codertocat"});
}

Test(github_fixture, check_suite_completed)
{
	fixture("check_suite-completed.json", "check_suite", &(struct expect){
	    "check_suite", "other", HW, "refs/heads/changes", NULL,
	    "ec26c3e57ca3a959ca5aad62de7213c562f8c821", "Codertocat"});
}

Test(github_fixture, repository_dispatch)
{
	fixture("repository_dispatch.json", "repository_dispatch",
	    &(struct expect){"repository_dispatch", "other", OCTO,
	    "refs/heads/master", NULL, NULL, "Codertocat"});
}

/* Ids, links and headers. */

Test(github, keeps_delivery_id_url_and_headers)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t;
	const struct domino_event *ev;

	treq_fixture(&t, "github", "push.json", "application/json");
	treq_set(&t, "X-GitHub-Event", "push");
	treq_set(&t, "X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
	treq_set(&t, "X-GitHub-Hook-ID", "292430182");
	treq_set(&t, "X-Hub-Signature-256", "sha256=00");
	treq_set(&t, "User-Agent", "GitHub-Hookshot/044aadd");
	normalize_ok(&forge_github, &t, out, 1);
	ev = &out->ev[0];
	expect_str(ev->id, "72d3162e-cc78-11e3-81ab-4c9367dc0958", "id");
	expect_str(ev->url, "https://github.com/Codertocat/Hello-World/compare/"
	    "a10867b14bb7...000000000000", "url");
	expect_str(domino_event_header(ev, "X-GitHub-Event"), "push", "event");
	expect_str(domino_event_header(ev, "X-GitHub-Hook-ID"), "292430182",
	    "hook id");
	expect_str(domino_event_header(ev, "User-Agent"),
	    "GitHub-Hookshot/044aadd", "user agent");
	/* The signature is for this hop only: a relay signs anew. */
	cr_assert_null(domino_event_header(ev, "X-Hub-Signature-256"));
	forge_out_clear(out);
	free(out);
	treq_free(&t);
}

Test(github, pull_request_url_and_no_id_without_header)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t;

	treq_fixture(&t, "github", "pull_request-opened.json",
	    "application/json");
	treq_set(&t, "X-GitHub-Event", "pull_request");
	normalize_ok(&forge_github, &t, out, 1);
	expect_str(out->ev[0].url, "https://github.com/Codertocat/Hello-World/"
	    "pull/2", "url");
	cr_assert_null(out->ev[0].id, "ingest generates the id");
	forge_out_clear(out);
	free(out);
	treq_free(&t);
}

/* A small body for one event, normalized and compared with e. */
static void
small(const char *event, const char *body, const struct expect *e)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t;

	treq_init(&t, "application/json", body, strlen(body));
	treq_set(&t, "X-GitHub-Event", event);
	normalize_ok(&forge_github, &t, out, 1);
	expect_event(&out->ev[0], e, event);
	forge_out_clear(out);
	free(out);
}

Test(github, closed_not_merged_is_pr_close)
{
	small("pull_request", "{\"action\":\"closed\",\"number\":5,"
	    "\"pull_request\":{\"number\":5,\"merged\":false,"
	    "\"head\":{\"sha\":\"abc\"}},\"repository\":{\"html_url\":"
	    "\"https://github.com/o/r\"},\"sender\":{\"login\":\"u\"}}",
	    &(struct expect){"pull_request", "pr.close", "github.com/o/r",
	    "refs/pull/5/head", NULL, "abc", "u"});
}

Test(github, forced_push_is_push)
{
	small("push", "{\"ref\":\"refs/heads/main\",\"before\":\"aa\","
	    "\"after\":\"bb\",\"forced\":true,\"created\":false,"
	    "\"deleted\":false,\"repository\":{\"html_url\":"
	    "\"https://github.com/o/r\"},\"pusher\":{\"name\":\"p\"}}",
	    &(struct expect){"push", "push", "github.com/o/r",
	    "refs/heads/main", "aa", "bb", "p"});
}

Test(github, enterprise_host_is_lowercased)
{
	small("push", "{\"ref\":\"refs/heads/main\",\"before\":\"aa\","
	    "\"after\":\"bb\",\"repository\":{\"html_url\":"
	    "\"https://GHE.Example.COM/Org/Repo\"}}",
	    &(struct expect){"push", "push", "ghe.example.com/Org/Repo",
	    "refs/heads/main", "aa", "bb", NULL});
}

Test(github, ping_without_repository_is_accepted)
{
	small("ping", "{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1,"
	    "\"organization\":{\"login\":\"octo-org\"},\"sender\":{\"login\":"
	    "\"octocat\",\"html_url\":\"https://github.com/octocat\"}}",
	    &(struct expect){"ping", "ping", "github.com/octo-org", NULL, NULL,
	    NULL, "octocat"});
	small("ping", "{\"zen\":\"z\",\"hook_id\":1}", &(struct expect){"ping",
	    "ping", "github.com", NULL, NULL, NULL, NULL});
}

Test(github, depends_on_from_pr_body)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	static const char body[] = "{\"action\":\"opened\",\"number\":9,"
	    "\"pull_request\":{\"number\":9,\"head\":{\"sha\":\"c1\"},"
	    "\"body\":\"Fixes the parser.\\r\\n\\r\\nDepends-On: "
	    "https://github.com/org/lib/pull/7\\r\\ndepends-on: "
	    "https://review.example.org/c/core/+/123\\r\\n\"},"
	    "\"repository\":{\"html_url\":\"https://github.com/org/app\"}}";
	struct treq t;

	treq_init(&t, "application/json", body, strlen(body));
	treq_set(&t, "X-GitHub-Event", "pull_request");
	normalize_ok(&forge_github, &t, out, 1);
	cr_assert_eq(out->ev[0].n_depends_on, 2);
	expect_str(out->ev[0].depends_on[0], "https://github.com/org/lib/pull/7",
	    "depends_on[0]");
	expect_str(out->ev[0].depends_on[1],
	    "https://review.example.org/c/core/+/123", "depends_on[1]");
	forge_out_clear(out);
	free(out);
}

Test(github, form_encoded_payload)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t, f;
	size_t len;
	char *form;

	treq_fixture(&t, "github", "push-tag.json", NULL);
	form = form_encode(t.owned, t.req.len, &len);
	treq_init(&f, "application/x-www-form-urlencoded", form, len);
	treq_set(&f, "X-GitHub-Event", "push");
	normalize_ok(&forge_github, &f, out, 1);
	expect_event(&out->ev[0], &(struct expect){"push", "tag", DRONE,
	    "refs/tags/v0.0.1", ZERO, "d2b75aa7797ec26b088fa2dd527e9d2c052fcedd",
	    "bradrydzewski"}, "form push-tag.json");
	forge_out_clear(out);
	free(out);
	free(form);
	treq_free(&t);
}

Test(github, json_content_type_variants)
{
	static const char *const types[] = {
		"application/json; charset=utf-8", "Application/JSON", NULL,
	};
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t;

	for (size_t i = 0; i < 3; i++) {
		treq_fixture(&t, "github", "push.json", types[i]);
		treq_set(&t, "X-GitHub-Event", "push");
		normalize_ok(&forge_github, &t, out, 1);
		forge_out_clear(out);
		treq_free(&t);
	}
	free(out);
}

/* Signatures. */

static const char vector_secret[] = "It's a Secret to Everybody";
static const char vector_body[] = "Hello, World!";
static const char vector_sig[] = "sha256=757107ea0eb2509fc211221cce984b8a"
    "37570b6d7586c22c46f4379c8b043e17";

static void
verify_vector(const char *sig, const char *secret, int status,
    const char *code)
{
	struct forge_cred cred = {.secret = secret};
	struct treq t;

	treq_init(&t, "application/json", vector_body, strlen(vector_body));
	if (sig != NULL)
		treq_set(&t, "X-Hub-Signature-256", sig);
	verify_is(&forge_github, &t, &cred, status, code);
}

Test(github_verify, published_vector)
{
	cr_assert(forge_hmac_ok(vector_secret, (const uint8_t *)vector_body,
	    strlen(vector_body), "sha256=", vector_sig));
	verify_vector(vector_sig, vector_secret, 0, NULL);
}

Test(github_verify, upper_case_hex_is_accepted)
{
	char sig[sizeof(vector_sig)];

	strcpy(sig, vector_sig);
	for (char *p = sig + 7; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	verify_vector(sig, vector_secret, 0, NULL);
}

Test(github_verify, wrong_signature_or_secret_is_refused)
{
	char sig[sizeof(vector_sig)];

	strcpy(sig, vector_sig);
	sig[sizeof(sig) - 2] = sig[sizeof(sig) - 2] == '7' ? '8' : '7';
	verify_vector(sig, vector_secret, 401, "bad_signature");
	verify_vector(vector_sig, "another secret", 401, "bad_signature");
	verify_vector(vector_sig + 7, vector_secret, 401, "bad_signature");
	verify_vector("sha256=", vector_secret, 401, "bad_signature");
	verify_vector("sha256=zz", vector_secret, 401, "bad_signature");
}

Test(github_verify, missing_signature_is_refused)
{
	struct forge_cred cred = {.secret = vector_secret};
	struct treq t;

	verify_vector(NULL, vector_secret, 401, "missing_signature");
	/* The legacy SHA-1 header alone is not enough. */
	treq_init(&t, "application/json", vector_body, strlen(vector_body));
	treq_set(&t, "X-Hub-Signature", "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59");
	verify_is(&forge_github, &t, &cred, 401, "missing_signature");
}

Test(github_verify, no_secret_configured_refuses)
{
	struct forge_cred none = {0};
	struct treq t;

	treq_init(&t, "application/json", vector_body, strlen(vector_body));
	treq_set(&t, "X-Hub-Signature-256", vector_sig);
	verify_is(&forge_github, &t, &none, 401, "no_secret_configured");
	verify_is(&forge_github, &t, NULL, 401, "no_secret_configured");
}

Test(github_verify, fixture_signed_with_test_secret)
{
	struct forge_cred cred = {.secret = "test-secret"};
	char sig[80];
	struct treq t;

	treq_fixture(&t, "github", "push.json", "application/json");
	sign_hex("test-secret", t.req.body, t.req.len, "sha256=", sig,
	    sizeof(sig));
	treq_set(&t, "X-Hub-Signature-256", sig);
	verify_is(&forge_github, &t, &cred, 0, NULL);
	treq_free(&t);
}

/* Refusals. */

Test(github_refuse, malformed_json)
{
	static const char body[] = "{\"ref\": \"refs/heads/main\",\n \"after\": }";
	struct treq t;

	treq_init(&t, "application/json", body, strlen(body));
	treq_set(&t, "X-GitHub-Event", "push");
	normalize_fails(&forge_github, &t, 400, "bad_json", "line 2");
}

Test(github_refuse, trailing_garbage_and_empty_body)
{
	static const char body[] = "{} {}";
	struct treq t;

	treq_init(&t, "application/json", body, strlen(body));
	treq_set(&t, "X-GitHub-Event", "push");
	normalize_fails(&forge_github, &t, 400, "bad_json", "after");
	treq_init(&t, "application/json", "", 0);
	treq_set(&t, "X-GitHub-Event", "push");
	normalize_fails(&forge_github, &t, 400, "bad_json", "empty");
	treq_init(&t, "application/json", "[1]", 3);
	treq_set(&t, "X-GitHub-Event", "push");
	normalize_fails(&forge_github, &t, 400, "bad_json", "object");
}

Test(github_refuse, non_json_content_type)
{
	struct treq t;

	treq_init(&t, "text/plain", "{}", 2);
	treq_set(&t, "X-GitHub-Event", "push");
	normalize_fails(&forge_github, &t, 415, "not_json", "text/plain");
	treq_init(&t, "application/x-www-form-urlencoded", "a=b", 3);
	treq_set(&t, "X-GitHub-Event", "push");
	normalize_fails(&forge_github, &t, 400, "bad_json", "payload");
}

Test(github_refuse, missing_event_header)
{
	struct treq t;

	treq_fixture(&t, "github", "push.json", "application/json");
	normalize_fails(&forge_github, &t, 400, "missing_header",
	    "X-GitHub-Event");
	treq_free(&t);
}

Test(github_refuse, missing_fields)
{
	static const char no_repo[] = "{\"ref\":\"refs/heads/main\"}";
	static const char no_ref[] = "{\"repository\":{\"html_url\":"
	    "\"https://github.com/o/r\"}}";
	static const char no_number[] = "{\"action\":\"opened\","
	    "\"repository\":{\"html_url\":\"https://github.com/o/r\"}}";
	struct treq t;

	treq_init(&t, "application/json", no_repo, strlen(no_repo));
	treq_set(&t, "X-GitHub-Event", "push");
	normalize_fails(&forge_github, &t, 422, "missing_field",
	    "repository.html_url");
	treq_init(&t, "application/json", no_repo, strlen(no_repo));
	treq_set(&t, "X-GitHub-Event", "workflow_run");
	normalize_fails(&forge_github, &t, 422, "missing_field",
	    "repository.html_url");
	treq_init(&t, "application/json", no_ref, strlen(no_ref));
	treq_set(&t, "X-GitHub-Event", "push");
	normalize_fails(&forge_github, &t, 422, "missing_field", "ref");
	treq_init(&t, "application/json", no_number, strlen(no_number));
	treq_set(&t, "X-GitHub-Event", "pull_request");
	normalize_fails(&forge_github, &t, 422, "missing_field",
	    "pull_request.number");
	treq_init(&t, "application/json", no_ref, strlen(no_ref));
	treq_set(&t, "X-GitHub-Event", "release");
	normalize_fails(&forge_github, &t, 422, "missing_field",
	    "release.tag_name");
}

Test(github, registry)
{
	size_t n = 0;

	cr_assert_eq(forge_find("github"), &forge_github);
	cr_assert_null(forge_find("svn"));
	cr_assert_null(forge_find(NULL));
	while (forge_all[n] != NULL)
		n++;
	cr_assert_eq(n, 6);
}
