/* SPDX-License-Identifier: MIT */
/*
 * GitLab forge: every fixture in fixtures/webhooks/gitlab normalized, the
 * X-Gitlab-Token check, delivery ids, nested groups and the refusals.
 */
#include "forge_test.h"

extern const struct forge_ops forge_gitlab;

#define ZERO "0000000000000000000000000000000000000000"
#define HELLO "gitlab.com/gitlab-org/hello-world"

static void
fixture(const char *file, const char *event, const struct expect *e)
{
	check_fixture(&forge_gitlab, "gitlab", file, "X-Gitlab-Event", event,
	    e);
}

Test(gitlab_fixture, push)
{
	fixture("push.json", "Push Hook", &(struct expect){"Push Hook", "push",
	    "example.com/mike/diaspora", "refs/heads/master",
	    "95790bf891e76fee5e1747ab589903a6a1f80f22",
	    "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "jsmith"});
}

Test(gitlab_fixture, push_branch_create)
{
	fixture("push-branch-create.json", "Push Hook", &(struct expect){
	    "Push Hook", "ref.create", HELLO, "refs/heads/feature", ZERO,
	    "c4c79227ed610f1151f05bbc5be33b4f340d39c8", "sytses"});
}

Test(gitlab_fixture, push_branch_delete)
{
	fixture("push-branch-delete.json", "Push Hook", &(struct expect){
	    "Push Hook", "ref.delete", HELLO, "refs/heads/feature",
	    "c4c79227ed610f1151f05bbc5be33b4f340d39c8", ZERO, "sytses"});
}

Test(gitlab_fixture, push_9_commits_nested_group)
{
	fixture("push-9-commits.json", "Push Hook", &(struct expect){
	    "Push Hook", "push", "gitlab.com/testing/packit/hello-there",
	    "refs/heads/test", "1f6a716aa7a618a9ffe56970d77177d99d100022",
	    "952cfd32c1a9317f4c460dbe4a6bb3ac406c1002", "shreyaspapi"});
}

Test(gitlab_fixture, tag_push)
{
	fixture("tag_push.json", "Tag Push Hook", &(struct expect){
	    "Tag Push Hook", "tag", "example.com/jsmith/example",
	    "refs/tags/v1.0.0", ZERO,
	    "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7", "jsmith"});
}

Test(gitlab_fixture, merge_request_open)
{
	fixture("merge_request-open.json", "Merge Request Hook",
	    &(struct expect){"Merge Request Hook", "pr.open",
	    "example.com/gitlabhq/gitlab-test", "refs/merge-requests/1/head",
	    NULL, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "user1"});
}

Test(gitlab_fixture, merge_request_merge)
{
	fixture("merge_request-merge.json", "Merge Request Hook",
	    &(struct expect){"Merge Request Hook", "pr.merge", HELLO,
	    "refs/merge-requests/1/head", NULL,
	    "c4c79227ed610f1151f05bbc5be33b4f340d39c8", "sytses"});
}

Test(gitlab_fixture, merge_request_close)
{
	fixture("merge_request-close.json", "Merge Request Hook",
	    &(struct expect){"Merge Request Hook", "pr.close", HELLO,
	    "refs/merge-requests/1/head", NULL,
	    "c4c79227ed610f1151f05bbc5be33b4f340d39c8", "sytses"});
}

Test(gitlab_fixture, pipeline_success)
{
	/* The port in http://192.168.64.1:3005/... is dropped. */
	fixture("pipeline-success.json", "Pipeline Hook", &(struct expect){
	    "Pipeline Hook", "other", "192.168.64.1/gitlab-org/gitlab-test",
	    "refs/heads/master", NULL,
	    "bcbb5ec396a2c0f828686f14fac9b80b780504f2", "user1"});
}

Test(gitlab, ids_headers_and_url)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t;
	const struct domino_event *ev;

	treq_fixture(&t, "gitlab", "push.json", "application/json");
	treq_set(&t, "X-Gitlab-Event", "Push Hook");
	treq_set(&t, "X-Gitlab-Token", "s3cret");
	treq_set(&t, "X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e");
	treq_set(&t, "Idempotency-Key", "f5e5f430-f57b-4e6e-9fac-d9128cd7232f");
	normalize_ok(&forge_gitlab, &t, out, 1);
	ev = &out->ev[0];
	expect_str(ev->id, "13792a34-cac6-4fda-95a8-c58e00a3954e", "id");
	expect_str(ev->url, "http://example.com/mike/diaspora/-/compare/"
	    "95790bf891e76fee5e1747ab589903a6a1f80f22..."
	    "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "url");
	expect_str(domino_event_header(ev, "X-Gitlab-Event"), "Push Hook",
	    "header");
	cr_assert_null(domino_event_header(ev, "X-Gitlab-Token"),
	    "the token is a secret and never kept");
	forge_out_clear(out);
	treq_free(&t);

	treq_fixture(&t, "gitlab", "push.json", "application/json");
	treq_set(&t, "X-Gitlab-Event", "Push Hook");
	treq_set(&t, "Idempotency-Key", "f5e5f430-f57b-4e6e-9fac-d9128cd7232f");
	normalize_ok(&forge_gitlab, &t, out, 1);
	expect_str(out->ev[0].id, "f5e5f430-f57b-4e6e-9fac-d9128cd7232f",
	    "id from Idempotency-Key");
	forge_out_clear(out);
	free(out);
	treq_free(&t);
}

static void
small(const char *event, const char *body, const struct expect *e,
    struct forge_out *out)
{
	struct treq t;

	treq_init(&t, "application/json", body, strlen(body));
	treq_set(&t, "X-Gitlab-Event", event);
	normalize_ok(&forge_gitlab, &t, out, 1);
	expect_event(&out->ev[0], e, event);
}

Test(gitlab, system_hook_push_and_mr_update)
{
	struct forge_out *out = calloc(1, sizeof(*out));

	/* System hooks share one header; object_kind says what it is. */
	small("System Hook", "{\"object_kind\":\"push\",\"ref\":"
	    "\"refs/heads/main\",\"before\":\"a1\",\"after\":\"b2\","
	    "\"user_username\":\"root\",\"project\":{\"web_url\":"
	    "\"https://gitlab.example.com/a/b/c/d\"}}", &(struct expect){
	    "System Hook", "push", "gitlab.example.com/a/b/c/d",
	    "refs/heads/main", "a1", "b2", "root"}, out);
	forge_out_clear(out);
	small("Merge Request Hook", "{\"object_kind\":\"merge_request\","
	    "\"user\":{\"username\":\"dev\"},\"project\":{\"web_url\":"
	    "\"https://gitlab.com/g/p\"},\"object_attributes\":{\"iid\":\"12\","
	    "\"action\":\"update\",\"oldrev\":\"o1\",\"last_commit\":{\"id\":"
	    "\"n2\"},\"description\":\"Depends-On: https://gitlab.com/g/lib/-/"
	    "merge_requests/3\"}}", &(struct expect){"Merge Request Hook",
	    "pr.update", "gitlab.com/g/p", "refs/merge-requests/12/head", "o1",
	    "n2", "dev"}, out);
	cr_assert_eq(out->ev[0].n_depends_on, 1);
	expect_str(out->ev[0].depends_on[0],
	    "https://gitlab.com/g/lib/-/merge_requests/3", "depends_on");
	forge_out_clear(out);
	free(out);
}

static void
verify_token(const char *sent, const struct forge_cred *cred, int status,
    const char *code)
{
	struct treq t;

	treq_init(&t, "application/json", "{}", 2);
	if (sent != NULL)
		treq_set(&t, "X-Gitlab-Token", sent);
	verify_is(&forge_gitlab, &t, cred, status, code);
}

Test(gitlab_verify, token)
{
	struct forge_cred cred = {.token = "s3cret"};
	struct forge_cred as_secret = {.secret = "s3cret"};
	struct forge_cred none = {0};

	verify_token("s3cret", &cred, 0, NULL);
	verify_token("s3cret", &as_secret, 0, NULL);
	verify_token("s3cre", &cred, 401, "bad_signature");
	verify_token("", &cred, 401, "bad_signature");
	verify_token(NULL, &cred, 401, "missing_signature");
	verify_token("s3cret", &none, 401, "no_secret_configured");
}

Test(gitlab_refuse, bad_input)
{
	static const char no_project[] = "{\"object_kind\":\"push\","
	    "\"ref\":\"refs/heads/main\"}";
	static const char no_iid[] = "{\"object_kind\":\"merge_request\","
	    "\"project\":{\"web_url\":\"https://gitlab.com/g/p\"}}";
	struct treq t;

	treq_init(&t, "application/json", no_project, strlen(no_project));
	treq_set(&t, "X-Gitlab-Event", "Push Hook");
	normalize_fails(&forge_gitlab, &t, 422, "missing_field",
	    "project.web_url");
	treq_init(&t, "application/json", no_iid, strlen(no_iid));
	treq_set(&t, "X-Gitlab-Event", "Merge Request Hook");
	normalize_fails(&forge_gitlab, &t, 422, "missing_field",
	    "object_attributes.iid");
	treq_init(&t, "application/json", no_iid, strlen(no_iid));
	normalize_fails(&forge_gitlab, &t, 400, "missing_header",
	    "X-Gitlab-Event");
	treq_init(&t, "application/json", "{\"a\":", 5);
	treq_set(&t, "X-Gitlab-Event", "Push Hook");
	normalize_fails(&forge_gitlab, &t, 400, "bad_json", "line 1");
	treq_init(&t, "text/html", "<html>", 6);
	treq_set(&t, "X-Gitlab-Event", "Push Hook");
	normalize_fails(&forge_gitlab, &t, 415, "not_json", NULL);
}
