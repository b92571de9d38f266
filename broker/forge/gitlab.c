/* SPDX-License-Identifier: MIT */
/*
 * GitLab: no body signature, only the shared X-Gitlab-Token compared in
 * constant time. The body's object_kind picks the normalizer, so project
 * hooks and system hooks (X-Gitlab-Event: System Hook) read the same;
 * the header is kept as the event name. Repos keep nested groups:
 * gitlab.com/group/subgroup/project, from project.web_url. GitLab's
 * optional Standard Webhooks signing token is not read yet.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "forge.h"

static const char *const gitlab_keep[] = {
	"X-Gitlab-Event", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID",
	"X-Gitlab-Instance", "Idempotency-Key", "User-Agent", "Content-Type",
	NULL,
};

static int
lab_push(const cJSON *root, int tags, struct domino_event *ev,
    struct forge_err *err)
{
	const char *ref = forge_json_str(root, "ref");
	const char *web = forge_json_str(root, "project.web_url");
	const char *type;
	int bad = 0;

	if (ref == NULL)
		return forge_fail(err, 422, "missing_field",
		    "missing field ref (the pushed ref)");
	bad |= forge_put_ref(&ev->ref, tags ? "refs/tags/" : "refs/heads/",
	    ref);
	bad |= forge_put(&ev->before, forge_json_str(root, "before"));
	bad |= forge_put(&ev->after, forge_json_str(root, "after"));
	if (forge_is_zero_sha(ev->after))
		type = "ref.delete";
	else if (tags || strncmp(ev->ref ? ev->ref : "", "refs/tags/", 10) == 0)
		type = "tag";
	else if (forge_is_zero_sha(ev->before))
		type = "ref.create";
	else
		type = "push";
	bad |= forge_put(&ev->type, type);
	/* GitLab sends no compare link: build the one its UI serves. */
	if (web == NULL || ev->before == NULL || ev->after == NULL)
		bad |= forge_put(&ev->url, web);
	else if (strcmp(type, "push") == 0)
		bad |= forge_putf(&ev->url, "%s/-/compare/%s...%s", web,
		    ev->before, ev->after);
	else if (strcmp(type, "ref.delete") != 0)
		bad |= forge_putf(&ev->url, "%s/-/commit/%s", web, ev->after);
	else
		bad |= forge_put(&ev->url, web);
	return bad ? forge_nomem(err) : 0;
}

static const char *
lab_mr_type(const char *action)
{
	if (action == NULL)
		return "other";
	if (strcmp(action, "open") == 0 || strcmp(action, "reopen") == 0)
		return "pr.open";
	if (strcmp(action, "update") == 0)
		return "pr.update";
	if (strcmp(action, "merge") == 0)
		return "pr.merge";
	if (strcmp(action, "close") == 0)
		return "pr.close";
	return "other"; /* approved, unapproved, approval, unapproval */
}

static int
lab_mr(const cJSON *root, struct domino_event *ev, struct forge_err *err)
{
	const char *desc = forge_json_str(root, "object_attributes.description");
	char iid[32];
	int bad = 0;

	if (!forge_json_scalar(root, "object_attributes.iid", iid, sizeof(iid)))
		return forge_fail(err, 422, "missing_field",
		    "missing field object_attributes.iid");
	bad |= forge_put(&ev->type, lab_mr_type(forge_json_str(root,
	    "object_attributes.action")));
	bad |= forge_putf(&ev->ref, "refs/merge-requests/%s/head", iid);
	/* oldrev is only there when an update brought new commits. */
	bad |= forge_put(&ev->before,
	    forge_json_str(root, "object_attributes.oldrev"));
	bad |= forge_put(&ev->after,
	    forge_json_str(root, "object_attributes.last_commit.id"));
	bad |= forge_put(&ev->url, forge_json_str(root, "object_attributes.url"));
	if (desc != NULL)
		bad |= forge_scan_depends_on(ev, desc);
	return bad ? forge_nomem(err) : 0;
}

/* Pipeline, job, note, ...: the repo, and a ref and commit when named. */
static int
lab_other(const cJSON *root, struct domino_event *ev, struct forge_err *err)
{
	const char *ref = forge_json_str(root, "object_attributes.ref");
	const char *sha = forge_json_str(root, "object_attributes.sha");
	int bad = 0;

	if (ref == NULL)
		ref = forge_json_str(root, "ref");
	if (sha == NULL)
		sha = forge_json_str(root, "sha");
	bad |= forge_put(&ev->type, "other");
	bad |= forge_put_ref(&ev->ref, forge_json_true(root,
	    "object_attributes.tag") || forge_json_true(root, "tag") ?
	    "refs/tags/" : "refs/heads/", ref);
	bad |= forge_put(&ev->after, sha);
	bad |= forge_put(&ev->url, forge_json_str(root, "project.web_url"));
	return bad ? forge_nomem(err) : 0;
}

static int
gitlab_verify(const struct forge_req *req, const struct forge_cred *cred,
    struct forge_err *err)
{
	return forge_check_token(req, cred, "gitlab", "X-Gitlab-Token", err);
}

static int
gitlab_body(const cJSON *root, struct domino_event *ev,
    struct forge_err *err)
{
	const char *kind = forge_json_str(root, "object_kind");
	const char *web = forge_json_str(root, "project.web_url");
	const char *field = "project.web_url";
	const char *actor = forge_json_str(root, "user_username");

	/* Old payloads lack project{}: repository.homepage is the same. */
	if (web == NULL && forge_json_str(root, "repository.homepage")) {
		web = forge_json_str(root, "repository.homepage");
		field = "repository.homepage";
	}
	if (forge_set_repo(ev, web, field, err) != 0)
		return -1;
	/* Push hooks name the user flat, the others in user{}. */
	if (actor == NULL)
		actor = forge_json_str(root, "user.username");
	if (forge_put(&ev->actor, actor) != 0)
		return forge_nomem(err);
	if (kind == NULL)
		return lab_other(root, ev, err);
	if (strcmp(kind, "push") == 0 || strcmp(kind, "tag_push") == 0)
		return lab_push(root, kind[0] == 't', ev, err);
	if (strcmp(kind, "merge_request") == 0)
		return lab_mr(root, ev, err);
	return lab_other(root, ev, err);
}

static int
gitlab_normalize(const struct forge_req *req, struct forge_out *out,
    struct forge_err *err)
{
	const char *event = forge_header(req, "X-Gitlab-Event");
	const char *id = forge_header(req, "X-Gitlab-Event-UUID");
	struct domino_event *ev;
	cJSON *root = NULL;
	int rc = -1;

	if (event == NULL || *event == '\0')
		return forge_fail(err, 400, "missing_header",
		    "no X-Gitlab-Event header: is this a GitLab webhook?");
	root = forge_parse_json(req, err);
	if (root == NULL)
		goto out;
	ev = forge_out_next(out);
	if (forge_put(&ev->event, event) != 0) {
		forge_nomem(err);
		goto out;
	}
	if (gitlab_body(root, ev, err) != 0)
		goto out;
	if (id == NULL)
		id = forge_header(req, "Idempotency-Key");
	if (forge_put(&ev->id, id) != 0 ||
	    forge_keep_headers(req, ev, gitlab_keep) != 0) {
		forge_nomem(err);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

const struct forge_ops forge_gitlab = {
	.name = "gitlab",
	.verify = gitlab_verify,
	.normalize = gitlab_normalize,
};
