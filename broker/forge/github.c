/* SPDX-License-Identifier: MIT */
/*
 * GitHub (github.com and Enterprise): X-Hub-Signature-256 over the raw
 * body, the event name in X-GitHub-Event, the delivery id in
 * X-GitHub-Delivery. The body normalizer forge_hub_body() is shared with
 * Gitea and Forgejo, whose payloads copy GitHub's shape. The legacy SHA-1
 * X-Hub-Signature is not accepted: a secret-less or SHA-1-only hook is
 * refused rather than trusted.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "forge.h"

/* Events that are not pushes or PRs but still name a branch and commit. */
static const struct {
	const char *event, *branch, *sha, *url;
} hub_other_refs[] = {
	{"check_suite", "check_suite.head_branch", "check_suite.head_sha",
	    NULL},
	{"check_run", "check_run.check_suite.head_branch",
	    "check_run.head_sha", "check_run.html_url"},
	{"workflow_run", "workflow_run.head_branch", "workflow_run.head_sha",
	    "workflow_run.html_url"},
	{"workflow_job", "workflow_job.head_branch", "workflow_job.head_sha",
	    "workflow_job.html_url"},
	{"repository_dispatch", "branch", NULL, NULL},
};

static int
hub_repo(const cJSON *root, struct domino_event *ev, struct forge_err *err)
{
	return forge_set_repo(ev, forge_json_str(root, "repository.html_url"),
	    "repository.html_url", err);
}

static int
hub_push(const cJSON *root, struct domino_event *ev, struct forge_err *err)
{
	const char *ref = forge_json_str(root, "ref");
	const char *type;
	int bad = 0;

	if (ref == NULL)
		return forge_fail(err, 422, "missing_field",
		    "missing field ref (the pushed ref)");
	bad |= forge_put_ref(&ev->ref, "refs/heads/", ref);
	bad |= forge_put(&ev->before, forge_json_str(root, "before"));
	bad |= forge_put(&ev->after, forge_json_str(root, "after"));
	/* Gitea sends no created/deleted flags: the zero SHA says it. */
	if (forge_json_true(root, "deleted") || forge_is_zero_sha(ev->after))
		type = "ref.delete";
	else if (strncmp(ev->ref ? ev->ref : "", "refs/tags/", 10) == 0)
		type = "tag";
	else if (forge_json_true(root, "created") ||
	    forge_is_zero_sha(ev->before))
		type = "ref.create";
	else
		type = "push"; /* forced pushes too: "forced" is in the payload */
	bad |= forge_put(&ev->type, type);
	if (forge_json_str(root, "compare") != NULL)
		bad |= forge_put(&ev->url, forge_json_str(root, "compare"));
	else
		bad |= forge_put(&ev->url, forge_json_str(root, "compare_url"));
	return bad ? forge_nomem(err) : 0;
}

/* create/delete: ref is a short name and ref_type says which kind. */
static int
hub_ref(const cJSON *root, int create, struct domino_event *ev,
    struct forge_err *err)
{
	const char *ref = forge_json_str(root, "ref");
	const char *kind = forge_json_str(root, "ref_type");
	const char *type = "other";
	int bad = 0;

	if (kind != NULL && strcmp(kind, "tag") == 0) {
		type = create ? "tag" : "ref.delete";
		bad |= forge_put_ref(&ev->ref, "refs/tags/", ref);
	} else if (kind != NULL && strcmp(kind, "branch") == 0) {
		type = create ? "ref.create" : "ref.delete";
		bad |= forge_put_ref(&ev->ref, "refs/heads/", ref);
	}
	if (ref == NULL && strcmp(type, "other") != 0)
		return forge_fail(err, 422, "missing_field",
		    "missing field ref (the %s name)", kind);
	/* Gitea names the commit; GitHub does not. */
	if (create)
		bad |= forge_put(&ev->after, forge_json_str(root, "sha"));
	bad |= forge_put(&ev->type, type);
	bad |= forge_put(&ev->url, forge_json_str(root, "repository.html_url"));
	return bad ? forge_nomem(err) : 0;
}

static const char *
hub_pr_type(const cJSON *root, const char *fine)
{
	const char *action = forge_json_str(root, "action");

	if (fine != NULL && strcmp(fine, "pull_request_sync") == 0)
		return "pr.update";
	if (action == NULL)
		return "other";
	if (strcmp(action, "opened") == 0 || strcmp(action, "reopened") == 0)
		return "pr.open";
	if (strcmp(action, "synchronize") == 0 ||
	    strcmp(action, "synchronized") == 0 ||
	    strcmp(action, "edited") == 0 ||
	    strcmp(action, "ready_for_review") == 0)
		return "pr.update";
	if (strcmp(action, "closed") == 0)
		return forge_json_true(root, "pull_request.merged") ?
		    "pr.merge" : "pr.close";
	return "other"; /* labeled, assigned, review_requested, ... */
}

/* The PR fields, for pull_request and any other event that carries one. */
static int
hub_pr_fields(const cJSON *root, struct domino_event *ev,
    struct forge_err *err)
{
	char num[32];
	const char *after = forge_json_str(root, "after");
	int bad = 0;

	if (!forge_json_scalar(root, "pull_request.number", num, sizeof(num)) &&
	    !forge_json_scalar(root, "number", num, sizeof(num)))
		return forge_fail(err, 422, "missing_field",
		    "missing field pull_request.number");
	bad |= forge_putf(&ev->ref, "refs/pull/%s/head", num);
	bad |= forge_put(&ev->before, forge_json_str(root, "before"));
	if (after == NULL)
		after = forge_json_str(root, "pull_request.head.sha");
	bad |= forge_put(&ev->after, after);
	bad |= forge_put(&ev->url,
	    forge_json_str(root, "pull_request.html_url"));
	if (forge_json_str(root, "pull_request.body") != NULL)
		bad |= forge_scan_depends_on(ev,
		    forge_json_str(root, "pull_request.body"));
	return bad ? forge_nomem(err) : 0;
}

static int
hub_release(const cJSON *root, struct domino_event *ev,
    struct forge_err *err)
{
	const char *tag = forge_json_str(root, "release.tag_name");
	const char *action = forge_json_str(root, "action");
	int bad = 0;

	if (tag == NULL)
		return forge_fail(err, 422, "missing_field",
		    "missing field release.tag_name");
	/* GitHub also sends created and released for one publication:
	 * only "published" is the release a dependent wants to hear of. */
	bad |= forge_put(&ev->type, action != NULL &&
	    strcmp(action, "published") == 0 ? "release" : "other");
	bad |= forge_put_ref(&ev->ref, "refs/tags/", tag);
	bad |= forge_put(&ev->url, forge_json_str(root, "release.html_url"));
	return bad ? forge_nomem(err) : 0;
}

/*
 * A ping may come from an organization or app hook without a repository:
 * then the repo is "<host>/<org>" or just "<host>", the host taken from
 * the sender's profile URL (so Enterprise hosts stay right).
 */
static int
hub_ping(const cJSON *root, struct domino_event *ev, struct forge_err *err)
{
	const char *org = forge_json_str(root, "organization.login");
	char *host;
	int bad = 0;

	if (forge_json_str(root, "repository.html_url") != NULL) {
		if (hub_repo(root, ev, err) != 0)
			return -1;
	} else {
		host = forge_url_host(forge_json_str(root, "sender.html_url"));
		bad |= forge_putf(&ev->repo, "%s%s%s",
		    host != NULL ? host : "github.com", org ? "/" : "",
		    org ? org : "");
		free(host);
	}
	bad |= forge_put(&ev->type, "ping");
	bad |= forge_put(&ev->url, forge_json_str(root, "repository.html_url"));
	return bad ? forge_nomem(err) : 0;
}

static int
hub_other(const cJSON *root, const char *event, struct domino_event *ev,
    struct forge_err *err)
{
	int bad = 0;

	bad |= forge_put(&ev->type, "other");
	if (forge_json_get(root, "pull_request.number") != NULL)
		return bad ? forge_nomem(err) : hub_pr_fields(root, ev, err);
	for (size_t i = 0; i < sizeof(hub_other_refs) /
	    sizeof(hub_other_refs[0]); i++) {
		if (strcmp(event, hub_other_refs[i].event) != 0)
			continue;
		bad |= forge_put_ref(&ev->ref, "refs/heads/",
		    forge_json_str(root, hub_other_refs[i].branch));
		if (hub_other_refs[i].sha != NULL)
			bad |= forge_put(&ev->after,
			    forge_json_str(root, hub_other_refs[i].sha));
		if (hub_other_refs[i].url != NULL)
			bad |= forge_put(&ev->url,
			    forge_json_str(root, hub_other_refs[i].url));
	}
	if (ev->url == NULL)
		bad |= forge_put(&ev->url,
		    forge_json_str(root, "repository.html_url"));
	return bad ? forge_nomem(err) : 0;
}

int
forge_hub_body(const struct cJSON *root, const char *event, const char *fine,
    struct domino_event *ev, struct forge_err *err)
{
	const char *actor = forge_json_str(root, "sender.login");

	if (actor == NULL)
		actor = forge_json_str(root, "sender.username");
	if (actor == NULL)
		actor = forge_json_str(root, "pusher.name");
	if (forge_put(&ev->event, event) != 0 ||
	    forge_put(&ev->actor, actor) != 0)
		return forge_nomem(err);
	if (strcmp(event, "ping") == 0)
		return hub_ping(root, ev, err);
	if (hub_repo(root, ev, err) != 0)
		return -1;
	if (strcmp(event, "push") == 0)
		return hub_push(root, ev, err);
	if (strcmp(event, "create") == 0 || strcmp(event, "delete") == 0)
		return hub_ref(root, event[0] == 'c', ev, err);
	if (strcmp(event, "pull_request") == 0) {
		if (forge_put(&ev->type, hub_pr_type(root, fine)) != 0)
			return forge_nomem(err);
		return hub_pr_fields(root, ev, err);
	}
	if (strcmp(event, "release") == 0)
		return hub_release(root, ev, err);
	return hub_other(root, event, ev, err);
}

static const char *const github_keep[] = {
	"X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Hook-ID",
	"X-GitHub-Hook-Installation-Target-Type",
	"X-GitHub-Hook-Installation-Target-ID", "User-Agent", "Content-Type",
	NULL,
};

static int
github_verify(const struct forge_req *req, const struct forge_cred *cred,
    struct forge_err *err)
{
	return forge_check_hmac(req, cred, "github", "X-Hub-Signature-256",
	    "sha256=", err);
}

static int
github_normalize(const struct forge_req *req, struct forge_out *out,
    struct forge_err *err)
{
	const char *event = forge_header(req, "X-GitHub-Event");
	struct domino_event *ev;
	cJSON *root = NULL;
	int rc = -1;

	if (event == NULL || *event == '\0')
		return forge_fail(err, 400, "missing_header",
		    "no X-GitHub-Event header: is this a GitHub webhook?");
	root = forge_parse_json(req, err);
	if (root == NULL)
		goto out;
	ev = forge_out_next(out);
	if (forge_hub_body(root, event, NULL, ev, err) != 0)
		goto out;
	if (forge_put(&ev->id, forge_header(req, "X-GitHub-Delivery")) != 0 ||
	    forge_keep_headers(req, ev, github_keep) != 0) {
		forge_nomem(err);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

const struct forge_ops forge_github = {
	.name = "github",
	.verify = github_verify,
	.normalize = github_normalize,
};
