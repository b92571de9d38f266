/* SPDX-License-Identifier: MIT */
/*
 * Gerrit, as sent by its webhooks plugin (or stream-events lines relayed
 * by a script). The plugin signs nothing and cannot add headers, so the
 * shared token comes as ?token= in the hook URL, Authorization: Bearer, or
 * X-Gerrit-Token. The event type is the body's "type"; both body shapes
 * are read ("project" as a string or {"name": ...}, numbers as strings or
 * integers). The repo is <host>/<project>, the host from X-Origin-Url
 * (the plugin's canonicalWebUrl), else from change.url, else "gerrit".
 *
 * Gerrit sends no delivery id. The id is derived instead, so a redelivery
 * dedupes: "gerrit-" and 32 hex digits of SHA-256 over the event's type,
 * eventCreatedOn, project, ref, revisions, change and patch set numbers,
 * actor and comment. Without eventCreatedOn the id stays empty and ingest
 * generates one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "forge.h"

static const char *const gerrit_keep[] = {
	"X-Origin-Url", "User-Agent", "Content-Type", NULL,
};

/* Who acted, by the account field each event type uses. */
static const char *const actor_fields[] = {
	"submitter", "uploader", "abandoner", "restorer", "author", "deleter",
	"editor", "changer", "reviewer", "adder", "remover", "change.owner",
	NULL,
};

static int
ger_actor(const cJSON *root, struct domino_event *ev)
{
	static const char *const parts[] = {"username", "name", "email", NULL};
	const cJSON *acct;
	const char *v;

	for (size_t i = 0; actor_fields[i] != NULL; i++) {
		acct = forge_json_get(root, actor_fields[i]);
		for (size_t j = 0; cJSON_IsObject(acct) && parts[j]; j++) {
			v = forge_json_str(acct, parts[j]);
			if (v != NULL)
				return forge_put(&ev->actor, v);
		}
	}
	return 0;
}

static const char *
ger_project(const cJSON *root)
{
	static const char *const paths[] = {
		"refUpdate.project", "project", "project.name", "change.project",
		NULL,
	};
	const char *v;

	for (size_t i = 0; paths[i] != NULL; i++) {
		v = forge_json_str(root, paths[i]);
		if (v != NULL && *v != '\0')
			return v;
	}
	return NULL;
}

static int
ger_repo(const struct forge_req *req, const cJSON *root,
    struct domino_event *ev, struct forge_err *err)
{
	const char *project = ger_project(root);
	char *host;
	int bad;

	if (project == NULL)
		return forge_fail(err, 422, "missing_field",
		    "missing field project (or refUpdate.project)");
	host = forge_url_host(forge_header(req, "X-Origin-Url"));
	if (host == NULL)
		host = forge_url_host(forge_json_str(root, "change.url"));
	/* Project names never start with '/', but a hostile body may. */
	bad = forge_putf(&ev->repo, "%s/%s", host ? host : "gerrit",
	    project + strspn(project, "/"));
	free(host);
	return bad ? forge_nomem(err) : 0;
}

static int
ger_ref_updated(const cJSON *root, struct domino_event *ev,
    struct forge_err *err)
{
	const char *ref = forge_json_str(root, "refUpdate.refName");
	const char *type;
	int bad = 0;

	if (ref == NULL)
		return forge_fail(err, 422, "missing_field",
		    "missing field refUpdate.refName");
	/* Old servers send "master" for refs/heads/master. */
	bad |= forge_put_ref(&ev->ref, "refs/heads/", ref);
	bad |= forge_put(&ev->before, forge_json_str(root, "refUpdate.oldRev"));
	bad |= forge_put(&ev->after, forge_json_str(root, "refUpdate.newRev"));
	if (forge_is_zero_sha(ev->after))
		type = "ref.delete";
	else if (strncmp(ev->ref ? ev->ref : "", "refs/tags/", 10) == 0)
		type = "tag";
	else if (forge_is_zero_sha(ev->before))
		type = "ref.create";
	else
		type = "push";
	bad |= forge_put(&ev->type, type);
	return bad ? forge_nomem(err) : 0;
}

/* The patch set ref, built from the numbers when the body lacks it. */
static int
ger_change_ref(const cJSON *root, struct domino_event *ev)
{
	char change[24], ps[24];
	size_t n;

	if (forge_json_str(root, "patchSet.ref") != NULL)
		return forge_put(&ev->ref, forge_json_str(root, "patchSet.ref"));
	if (!forge_json_scalar(root, "change.number", change, sizeof(change)) ||
	    !forge_json_scalar(root, "patchSet.number", ps, sizeof(ps)))
		return forge_put_ref(&ev->ref, "refs/heads/",
		    forge_json_str(root, "refName"));
	n = strlen(change);
	return forge_putf(&ev->ref, "refs/changes/%s%s/%s/%s",
	    n < 2 ? "0" : "", change + (n < 2 ? 0 : n - 2), change, ps);
}

static const char *
ger_change_type(const char *type)
{
	static const struct {
		const char *gerrit, *type;
	} map[] = {
		{"patchset-created", "change.patchset"},
		{"change-merged", "change.merged"},
		{"change-abandoned", "pr.close"},
		{"change-restored", "pr.open"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].gerrit, type) == 0)
			return map[i].type;
	return "other";
}

static int
ger_change(const cJSON *root, const char *type, struct domino_event *ev,
    struct forge_err *err)
{
	const char *msg = forge_json_str(root, "change.commitMessage");
	const char *after = forge_json_str(root, "patchSet.revision");
	int bad = 0;

	bad |= forge_put(&ev->type, ger_change_type(type));
	if (strcmp(type, "change-merged") == 0) {
		/* Merged: the target branch moved, to newRev. */
		if (forge_json_str(root, "refName") != NULL)
			bad |= forge_put_ref(&ev->ref, "refs/heads/",
			    forge_json_str(root, "refName"));
		else
			bad |= forge_put_ref(&ev->ref, "refs/heads/",
			    forge_json_str(root, "change.branch"));
		if (forge_json_str(root, "newRev") != NULL)
			after = forge_json_str(root, "newRev");
	} else {
		bad |= ger_change_ref(root, ev);
		bad |= forge_put(&ev->before,
		    forge_json_str(root, "patchSet.parents.0"));
	}
	bad |= forge_put(&ev->after, after);
	bad |= forge_put(&ev->url, forge_json_str(root, "change.url"));
	if (msg != NULL)
		bad |= forge_scan_depends_on(ev, msg);
	return bad ? forge_nomem(err) : 0;
}

static void
hash_part(EVP_MD_CTX *c, const char *s)
{
	/* NUL-separated, so ("ab","c") and ("a","bc") differ. */
	EVP_DigestUpdate(c, s != NULL ? s : "", s != NULL ? strlen(s) + 1 : 1);
}

static int
ger_id(const cJSON *root, const char *type, struct domino_event *ev)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char when[32], change[32] = "", ps[32] = "", hex[33];
	EVP_MD_CTX *c = NULL;
	int rc = -1;

	if (!forge_json_scalar(root, "eventCreatedOn", when, sizeof(when)))
		return 0;
	forge_json_scalar(root, "change.number", change, sizeof(change));
	forge_json_scalar(root, "patchSet.number", ps, sizeof(ps));
	c = EVP_MD_CTX_new();
	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		goto out;
	hash_part(c, type);
	hash_part(c, when);
	hash_part(c, ger_project(root));
	hash_part(c, ev->ref);
	hash_part(c, ev->before);
	hash_part(c, ev->after);
	hash_part(c, change);
	hash_part(c, ps);
	hash_part(c, ev->actor);
	hash_part(c, forge_json_str(root, "comment"));
	if (EVP_DigestFinal_ex(c, md, NULL) != 1)
		goto out;
	for (size_t i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	rc = forge_putf(&ev->id, "gerrit-%s", hex);
out:
	EVP_MD_CTX_free(c);
	return rc;
}

static int
gerrit_verify(const struct forge_req *req, const struct forge_cred *cred,
    struct forge_err *err)
{
	return forge_check_token(req, cred, "gerrit", "X-Gerrit-Token", err);
}

static int
gerrit_normalize(const struct forge_req *req, struct forge_out *out,
    struct forge_err *err)
{
	const char *type;
	struct domino_event *ev;
	cJSON *root = NULL;
	int rc = -1;

	root = forge_parse_json(req, err);
	if (root == NULL)
		goto out;
	type = forge_json_str(root, "type");
	if (type == NULL || *type == '\0') {
		forge_fail(err, 422, "missing_field",
		    "missing field type (the Gerrit event type)");
		goto out;
	}
	ev = forge_out_next(out);
	if (ger_repo(req, root, ev, err) != 0)
		goto out;
	if (forge_put(&ev->event, type) != 0 || ger_actor(root, ev) != 0) {
		forge_nomem(err);
		goto out;
	}
	if (strcmp(type, "ref-updated") == 0)
		rc = ger_ref_updated(root, ev, err);
	else
		rc = ger_change(root, type, ev, err);
	if (rc != 0)
		goto out;
	rc = -1;
	if (ger_id(root, type, ev) != 0 ||
	    forge_keep_headers(req, ev, gerrit_keep) != 0) {
		forge_nomem(err);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

const struct forge_ops forge_gerrit = {
	.name = "gerrit",
	.verify = gerrit_verify,
	.normalize = gerrit_normalize,
};
