/* SPDX-License-Identifier: MIT */
/*
 * Bitbucket Cloud: X-Hub-Signature "sha256=<hex>" (GitHub's header name,
 * but SHA-256 here), the event in X-Event-Key, the request id in
 * X-Request-UUID. One repo:push may carry several ref changes: each
 * becomes its own event, with id "<X-Request-UUID>-<index>" counted from
 * 0 (always suffixed, so a redelivery dedupes change by change). Pull
 * requests get the ref refs/pull-requests/<id>/from, Bitbucket Server's
 * name: Cloud exposes no PR ref, and the source branch would make PR
 * events look like pushes to listeners of that branch. Bitbucket Server
 * (Data Center) payloads are a different format and are not read here.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "forge.h"

static const char *const bitbucket_keep[] = {
	"X-Event-Key", "X-Request-UUID", "X-Hook-UUID", "X-Attempt-Number",
	"User-Agent", "Content-Type", NULL,
};

/* Fields every event of the request shares. */
static int
bb_common(const struct forge_req *req, const cJSON *root, const char *key,
    struct domino_event *ev, struct forge_err *err)
{
	const char *url = forge_json_str(root, "repository.links.html.href");
	const char *full = forge_json_str(root, "repository.full_name");
	const char *actor = forge_json_str(root, "actor.username");
	int bad = 0;

	if (url != NULL || full == NULL) {
		if (forge_set_repo(ev, url, "repository.links.html.href",
		    err) != 0)
			return -1;
	} else {
		bad |= forge_putf(&ev->repo, "bitbucket.org/%s", full);
	}
	/* Accounts made after GDPR changes have no username. */
	if (actor == NULL)
		actor = forge_json_str(root, "actor.nickname");
	if (actor == NULL)
		actor = forge_json_str(root, "actor.display_name");
	bad |= forge_put(&ev->actor, actor);
	bad |= forge_put(&ev->event, key);
	bad |= forge_keep_headers(req, ev, bitbucket_keep);
	return bad ? forge_nomem(err) : 0;
}

static int
bb_change(const cJSON *change, size_t i, struct domino_event *ev,
    struct forge_err *err)
{
	const cJSON *nw = forge_json_get(change, "new");
	const cJSON *old = forge_json_get(change, "old");
	const cJSON *side = cJSON_IsObject(nw) ? nw : old;
	const char *kind = forge_json_str(side, "type");
	const char *name = forge_json_str(side, "name");
	const char *type;
	int tag = kind != NULL && strcmp(kind, "tag") == 0;
	int bad = 0;

	if (name == NULL)
		return forge_fail(err, 422, "missing_field",
		    "missing field push.changes.%zu.new.name", i);
	bad |= forge_put_ref(&ev->ref, tag ? "refs/tags/" : "refs/heads/",
	    name);
	bad |= forge_put(&ev->before, forge_json_str(old, "target.hash"));
	bad |= forge_put(&ev->after, forge_json_str(nw, "target.hash"));
	if (!cJSON_IsObject(nw) || forge_json_true(change, "closed"))
		type = "ref.delete";
	else if (tag)
		type = "tag";
	else if (!cJSON_IsObject(old) || forge_json_true(change, "created"))
		type = "ref.create";
	else
		type = "push";
	bad |= forge_put(&ev->type, type);
	if (forge_json_str(change, "links.html.href") != NULL)
		bad |= forge_put(&ev->url,
		    forge_json_str(change, "links.html.href"));
	return bad ? forge_nomem(err) : 0;
}

static int
bb_push(const struct forge_req *req, const cJSON *root, const char *key,
    struct forge_out *out, struct forge_err *err)
{
	const cJSON *changes = forge_json_get(root, "push.changes");
	const char *uuid = forge_header(req, "X-Request-UUID");
	struct domino_event *ev;
	size_t i = 0;
	const cJSON *c;

	if (!cJSON_IsArray(changes) || cJSON_GetArraySize(changes) == 0)
		return forge_fail(err, 422, "missing_field",
		    "missing field push.changes (the pushed refs)");
	cJSON_ArrayForEach(c, changes) {
		ev = forge_out_next(out);
		if (ev == NULL)
			return forge_fail(err, 422, "too_many_changes",
			    "push.changes has more than %d entries",
			    FORGE_MAX_EVENTS);
		if (bb_common(req, root, key, ev, err) != 0 ||
		    bb_change(c, i, ev, err) != 0)
			return -1;
		if (ev->url == NULL && forge_put(&ev->url,
		    forge_json_str(root, "repository.links.html.href")) != 0)
			return forge_nomem(err);
		if (uuid != NULL && forge_putf(&ev->id, "%s-%zu", uuid, i) != 0)
			return forge_nomem(err);
		i++;
	}
	return 0;
}

static const char *
bb_pr_type(const char *key)
{
	static const struct {
		const char *key, *type;
	} map[] = {
		{"pullrequest:created", "pr.open"},
		{"pullrequest:updated", "pr.update"},
		{"pullrequest:fulfilled", "pr.merge"},
		{"pullrequest:rejected", "pr.close"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].key, key) == 0)
			return map[i].type;
	return "other"; /* approved, comment_created, ... */
}

static int
bb_pr(const cJSON *root, const char *key, struct domino_event *ev,
    struct forge_err *err)
{
	const char *desc = forge_json_str(root, "pullrequest.description");
	char id[32];
	int bad = 0;

	if (!forge_json_scalar(root, "pullrequest.id", id, sizeof(id)))
		return forge_fail(err, 422, "missing_field",
		    "missing field pullrequest.id");
	bad |= forge_put(&ev->type, bb_pr_type(key));
	bad |= forge_putf(&ev->ref, "refs/pull-requests/%s/from", id);
	bad |= forge_put(&ev->after,
	    forge_json_str(root, "pullrequest.source.commit.hash"));
	bad |= forge_put(&ev->url,
	    forge_json_str(root, "pullrequest.links.html.href"));
	if (desc != NULL)
		bad |= forge_scan_depends_on(ev, desc);
	return bad ? forge_nomem(err) : 0;
}

static int
bitbucket_verify(const struct forge_req *req, const struct forge_cred *cred,
    struct forge_err *err)
{
	return forge_check_hmac(req, cred, "bitbucket", "X-Hub-Signature",
	    "sha256=", err);
}

static int
bitbucket_normalize(const struct forge_req *req, struct forge_out *out,
    struct forge_err *err)
{
	const char *key = forge_header(req, "X-Event-Key");
	struct domino_event *ev;
	cJSON *root = NULL;
	int rc = -1;

	if (key == NULL || *key == '\0')
		return forge_fail(err, 400, "missing_header",
		    "no X-Event-Key header: is this a Bitbucket webhook?");
	root = forge_parse_json(req, err);
	if (root == NULL)
		goto out;
	if (strcmp(key, "repo:push") == 0) {
		rc = bb_push(req, root, key, out, err);
		goto out;
	}
	ev = forge_out_next(out);
	if (bb_common(req, root, key, ev, err) != 0)
		goto out;
	if (strncmp(key, "pullrequest:", 12) == 0) {
		if (bb_pr(root, key, ev, err) != 0)
			goto out;
	} else if (forge_put(&ev->type, "other") != 0 ||
	    forge_put(&ev->url, forge_json_str(root,
	    "repository.links.html.href")) != 0) {
		forge_nomem(err);
		goto out;
	}
	if (forge_put(&ev->id, forge_header(req, "X-Request-UUID")) != 0) {
		forge_nomem(err);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

const struct forge_ops forge_bitbucket = {
	.name = "bitbucket",
	.verify = bitbucket_verify,
	.normalize = bitbucket_normalize,
};
