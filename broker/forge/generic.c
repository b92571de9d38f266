/* SPDX-License-Identifier: MIT */
/*
 * The generic source: anything that can POST JSON. Three body forms:
 *  - plain: the normalized fields themselves, {"repo", "ref", "type",
 *    "before", "after", "actor", "url", "event", "id", "depends_on"};
 *  - CloudEvents structured mode: a body with "specversion"; id, type,
 *    source and subject from the envelope, the fields above from "data";
 *  - CloudEvents binary mode: ce-specversion, ce-id, ce-type, ce-source,
 *    ce-subject headers, the fields above as the body.
 * Authenticated by a token (X-Domino-Token, Authorization: Bearer,
 * ?token=) or by X-Domino-Signature: sha256=<hex HMAC of the body>.
 * Only JSON data is read: data_base64 and non-JSON binary-mode bodies are
 * refused.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "forge.h"

#define GENERIC_DEPENDS_MAX 32

static const char *const generic_keep[] = {
	"X-Domino-Delivery", "ce-specversion", "ce-id", "ce-type", "ce-source",
	"ce-subject", "ce-time", "User-Agent", "Content-Type", NULL,
};

/* The CloudEvents envelope, from headers or the structured body. */
struct ce {
	int on;
	const char *id, *type, *source, *subject;
};

/* CDEvents names for what domino calls a type (version suffix ignored). */
static const struct {
	const char *prefix, *type;
} cdevents[] = {
	{"dev.cdevents.change.created.", "pr.open"},
	{"dev.cdevents.change.updated.", "pr.update"},
	{"dev.cdevents.change.merged.", "pr.merge"},
	{"dev.cdevents.change.abandoned.", "pr.close"},
	{"dev.cdevents.branch.created.", "ref.create"},
	{"dev.cdevents.branch.deleted.", "ref.delete"},
};

static const char *
ce_type(const char *t)
{
	if (t == NULL)
		return "other";
	if (forge_type_valid(t))
		return t;
	for (size_t i = 0; i < sizeof(cdevents) / sizeof(cdevents[0]); i++)
		if (strncmp(t, cdevents[i].prefix,
		    strlen(cdevents[i].prefix)) == 0)
			return cdevents[i].type;
	return "other";
}

static int
gen_type(const cJSON *d, const struct ce *ce, struct domino_event *ev,
    struct forge_err *err)
{
	const char *t = forge_json_str(d, "type");

	if (t != NULL && !forge_type_valid(t))
		return forge_fail(err, 422, "invalid_field",
		    "field type \"%.40s\" is not one of push, ref.create, "
		    "ref.delete, tag, pr.*, change.*, release, ping, other", t);
	if (t == NULL)
		t = ce->on ? ce_type(ce->type) : "push";
	return forge_put(&ev->type, t) != 0 ? forge_nomem(err) : 0;
}

static int
gen_depends_on(const cJSON *d, struct domino_event *ev,
    struct forge_err *err)
{
	const cJSON *list = forge_json_get(d, "depends_on"), *it;

	if (list == NULL)
		return 0;
	if (!cJSON_IsArray(list))
		return forge_fail(err, 422, "invalid_field",
		    "field depends_on must be an array of strings");
	cJSON_ArrayForEach(it, list) {
		if (!cJSON_IsString(it))
			return forge_fail(err, 422, "invalid_field",
			    "field depends_on must be an array of strings");
		if (ev->n_depends_on >= GENERIC_DEPENDS_MAX)
			return forge_fail(err, 422, "invalid_field",
			    "field depends_on has more than %d entries",
			    GENERIC_DEPENDS_MAX);
		if (domino_event_add_depends_on(ev, it->valuestring) != 0)
			return forge_nomem(err);
	}
	return 0;
}

/* Fill ev from the domino fields in d, with the envelope's defaults. */
static int
gen_fields(const cJSON *d, const struct ce *ce, struct domino_event *ev,
    struct forge_err *err)
{
	const char *repo = forge_json_str(d, "repo");
	const char *ref = forge_json_str(d, "ref");
	const char *event = forge_json_str(d, "event");
	const char *id = forge_json_str(d, "id");
	int bad = 0;

	if (repo == NULL && ce->on && ce->source != NULL &&
	    strstr(ce->source, "://") != NULL)
		repo = ce->source;
	if (forge_set_repo(ev, repo, ce->on ? "data.repo" : "repo", err) != 0)
		return -1;
	if (gen_type(d, ce, ev, err) != 0)
		return -1;
	if (ref == NULL && ce->subject != NULL &&
	    strncmp(ce->subject, "refs/", 5) == 0)
		ref = ce->subject;
	bad |= forge_put_ref(&ev->ref, strcmp(ev->type, "tag") == 0 ?
	    "refs/tags/" : "refs/heads/", ref);
	bad |= forge_put(&ev->before, forge_json_str(d, "before"));
	bad |= forge_put(&ev->after, forge_json_str(d, "after"));
	bad |= forge_put(&ev->actor, forge_json_str(d, "actor"));
	bad |= forge_put(&ev->url, forge_json_str(d, "url"));
	if (event == NULL)
		event = ce->on && ce->type != NULL ? ce->type : ev->type;
	bad |= forge_put(&ev->event, event);
	if (ce->on && ce->id != NULL)
		id = ce->id;
	if (id != NULL)
		bad |= forge_put(&ev->id, id);
	if (bad)
		return forge_nomem(err);
	return gen_depends_on(d, ev, err);
}

static int
generic_verify(const struct forge_req *req, const struct forge_cred *cred,
    struct forge_err *err)
{
	if (forge_header(req, "X-Domino-Signature") != NULL)
		return forge_check_hmac(req, cred, "generic",
		    "X-Domino-Signature", "sha256=", err);
	return forge_check_token(req, cred, "generic", "X-Domino-Token", err);
}

static int
generic_normalize(const struct forge_req *req, struct forge_out *out,
    struct forge_err *err)
{
	struct ce ce = {0};
	const cJSON *d;
	struct domino_event *ev;
	cJSON *root = NULL;
	int rc = -1;

	root = forge_parse_json(req, err);
	if (root == NULL)
		goto out;
	d = root;
	if (forge_header(req, "ce-specversion") != NULL) {
		ce.on = 1;
		ce.id = forge_header(req, "ce-id");
		ce.type = forge_header(req, "ce-type");
		ce.source = forge_header(req, "ce-source");
		ce.subject = forge_header(req, "ce-subject");
	} else if (forge_json_str(root, "specversion") != NULL) {
		ce.on = 1;
		ce.id = forge_json_str(root, "id");
		ce.type = forge_json_str(root, "type");
		ce.source = forge_json_str(root, "source");
		ce.subject = forge_json_str(root, "subject");
		d = forge_json_get(root, "data");
		if (!cJSON_IsObject(d)) {
			forge_fail(err, 422, "missing_field",
			    "missing field data (a JSON object; data_base64 "
			    "is not read)");
			goto out;
		}
	}
	ev = forge_out_next(out);
	if (gen_fields(d, &ce, ev, err) != 0)
		goto out;
	if (ev->id == NULL && forge_put(&ev->id,
	    forge_header(req, "X-Domino-Delivery")) != 0) {
		forge_nomem(err);
		goto out;
	}
	if (forge_keep_headers(req, ev, generic_keep) != 0) {
		forge_nomem(err);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

const struct forge_ops forge_generic = {
	.name = "generic",
	.verify = generic_verify,
	.normalize = generic_normalize,
};
