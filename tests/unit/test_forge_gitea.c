/* SPDX-License-Identifier: MIT */
/*
 * Gitea/Forgejo forge: every fixture in fixtures/webhooks/gitea
 * normalized, the bare-hex signature headers of Gitea and Forgejo,
 * delivery ids, the form-encoded body and the refusals.
 */
#include "forge_test.h"

extern const struct forge_ops forge_gitea;

#define ZERO "0000000000000000000000000000000000000000"
#define HELLO "try.gitea.io/gogits/hello-world"
#define MYREPO "try.gitea.io/jcitizen/my-repo"
#define PRHEAD "2eba238e33607c1fa49253182e9fff42baafa1eb"

static void
fixture(const char *file, const char *event, const struct expect *e)
{
	check_fixture(&forge_gitea, "gitea", file, "X-Gitea-Event", event, e);
}

Test(gitea_fixture, push)
{
	fixture("push.json", "push", &(struct expect){"push", "push", HELLO,
	    "refs/heads/master", "9836a96a253cce25d17988fcf41b8c4205cf779f",
	    "4522cbcefc20728a5b72b3a86af35e608622c514", "unknwon"});
}

Test(gitea_fixture, push_new_branch)
{
	fixture("push-new-branch.json", "push", &(struct expect){"push",
	    "ref.create", "localhost/example/example", "refs/heads/master",
	    ZERO, "67b56589a45103f891bdee7c0546e5d40bc02001", "example"});
}

Test(gitea_fixture, create_branch)
{
	fixture("create-branch.json", "create", &(struct expect){"create",
	    "ref.create", HELLO, "refs/heads/feature", NULL, NULL, "unknwon"});
}

Test(gitea_fixture, create_tag)
{
	fixture("create-tag.json", "create", &(struct expect){"create", "tag",
	    HELLO, "refs/tags/v1.0.0", NULL,
	    "599d25c67b05717269f50ac082b34f176d085179", "unknwon"});
}

Test(gitea_fixture, delete_branch)
{
	fixture("delete-branch.json", "delete", &(struct expect){"delete",
	    "ref.delete", HELLO, "refs/heads/feature", NULL, NULL, "unknwon"});
}

Test(gitea_fixture, pull_request_opened)
{
	fixture("pull_request-opened.json", "pull_request", &(struct expect){
	    "pull_request", "pr.open", MYREPO, "refs/pull/1/head", NULL,
	    PRHEAD, "jcitizen"});
}

Test(gitea_fixture, pull_request_synchronized)
{
	fixture("pull_request-synchronized.json", "pull_request",
	    &(struct expect){"pull_request", "pr.update", MYREPO,
	    "refs/pull/1/head", NULL, PRHEAD, "jcitizen"});
}

Test(gitea_fixture, pull_request_closed_merged)
{
	fixture("pull_request-closed-merged.json", "pull_request",
	    &(struct expect){"pull_request", "pr.merge", MYREPO,
	    "refs/pull/1/head", NULL, PRHEAD, "jcitizen"});
}

Test(gitea_fixture, pull_request_closed)
{
	fixture("pull_request-closed.json", "pull_request", &(struct expect){
	    "pull_request", "pr.close", MYREPO, "refs/pull/1/head", NULL,
	    PRHEAD, "jcitizen"});
}

Test(gitea_fixture, release_published)
{
	fixture("release-published.json", "release", &(struct expect){
	    "release", "release", "localhost/example/example",
	    "refs/tags/example", NULL, NULL, "example"});
}

Test(gitea, forgejo_headers_and_sync_type)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t;

	/* A PR event whose action is not a sync still is one when the fine
	 * type header says so. */
	treq_fixture(&t, "gitea", "pull_request-opened.json",
	    "application/json");
	treq_set(&t, "X-Forgejo-Event", "pull_request");
	treq_set(&t, "X-Forgejo-Event-Type", "pull_request_sync");
	treq_set(&t, "X-Forgejo-Delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473");
	treq_set(&t, "X-Gitea-Delivery", "ignored-when-forgejo-is-there");
	normalize_ok(&forge_gitea, &t, out, 1);
	expect_str(out->ev[0].type, "pr.update", "type");
	expect_str(out->ev[0].id, "f6266f16-1bf3-46a5-9ea4-602e06ead473", "id");
	expect_str(out->ev[0].url, "https://try.gitea.io/jcitizen/my-repo/"
	    "pulls/1", "url");
	expect_str(domino_event_header(&out->ev[0], "X-Forgejo-Event-Type"),
	    "pull_request_sync", "kept header");
	forge_out_clear(out);
	free(out);
	treq_free(&t);
}

Test(gitea, form_encoded_payload)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t, f;
	size_t len;
	char *form;

	treq_fixture(&t, "gitea", "push.json", NULL);
	form = form_encode(t.owned, t.req.len, &len);
	treq_init(&f, "application/x-www-form-urlencoded", form, len);
	treq_set(&f, "X-Gitea-Event", "push");
	treq_set(&f, "X-Gitea-Delivery", "d1");
	normalize_ok(&forge_gitea, &f, out, 1);
	expect_str(out->ev[0].after, "4522cbcefc20728a5b72b3a86af35e608622c514",
	    "after");
	expect_str(out->ev[0].id, "d1", "id");
	forge_out_clear(out);
	free(out);
	free(form);
	treq_free(&t);
}

static void
verify_sig(const char *header, const char *sig, int status, const char *code)
{
	struct forge_cred cred = {.secret = "It's a Secret to Everybody"};
	static const char body[] = "Hello, World!";
	struct treq t;

	treq_init(&t, "application/json", body, strlen(body));
	if (header != NULL)
		treq_set(&t, header, sig);
	verify_is(&forge_gitea, &t, &cred, status, code);
}

Test(gitea_verify, bare_hex_signatures)
{
	static const char hex[] = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

	verify_sig("X-Gitea-Signature", hex, 0, NULL);
	verify_sig("X-Forgejo-Signature", hex, 0, NULL);
	verify_sig("X-Gitea-Signature", "sha256=757107ea0eb2509fc211221cce984"
	    "b8a37570b6d7586c22c46f4379c8b043e17", 401, "bad_signature");
	verify_sig("X-Forgejo-Signature", "00", 401, "bad_signature");
	verify_sig(NULL, NULL, 401, "missing_signature");
}

Test(gitea_verify, fixture_signed)
{
	struct forge_cred cred = {.secret = "gitea-test"}, none = {0};
	char sig[80];
	struct treq t;

	treq_fixture(&t, "gitea", "release-published.json", "application/json");
	sign_hex("gitea-test", t.req.body, t.req.len, NULL, sig, sizeof(sig));
	treq_set(&t, "X-Gitea-Signature", sig);
	verify_is(&forge_gitea, &t, &cred, 0, NULL);
	verify_is(&forge_gitea, &t, &none, 401, "no_secret_configured");
	treq_free(&t);
}

Test(gitea_refuse, bad_input)
{
	static const char no_repo[] = "{\"ref\":\"refs/heads/main\"}";
	struct treq t;

	treq_init(&t, "application/json", no_repo, strlen(no_repo));
	normalize_fails(&forge_gitea, &t, 400, "missing_header",
	    "X-Gitea-Event");
	treq_init(&t, "application/json", no_repo, strlen(no_repo));
	treq_set(&t, "X-Gitea-Event", "push");
	normalize_fails(&forge_gitea, &t, 422, "missing_field",
	    "repository.html_url");
	treq_init(&t, "application/json", "{,}", 3);
	treq_set(&t, "X-Gitea-Event", "push");
	normalize_fails(&forge_gitea, &t, 400, "bad_json", "column");
	treq_init(&t, "application/octet-stream", "{}", 2);
	treq_set(&t, "X-Gitea-Event", "push");
	normalize_fails(&forge_gitea, &t, 415, "not_json", NULL);
}
