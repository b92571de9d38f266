/* SPDX-License-Identifier: MIT */
/*
 * The listener operations of libdomino (proto/README.md, "Listeners"):
 * register, unregister, listeners, listener, impact and deliveries, and
 * the encoder of a registration map. The broker validates registrations
 * and names the field it refuses; this file only checks that a request
 * can be formed. listeners/listener answer JSON text (their maps are open
 * ended); impact and deliveries answer structs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "domino.h"
#include "err.h"
#include "json.h"
#include "msg.h"

static int
set(const char *s)
{
	return s != NULL && *s != '\0';
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	for (volatile char *p = s; *p != '\0'; p++)
		*p = '\0';
	free(s);
}

/* ---- registration map ------------------------------------------------ */

static void
pack_kvs(msgpack_packer *pk, const char *key, const struct domino_kv *kv,
    size_t n)
{
	msg_pack_cstr(pk, key);
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < n; i++) {
		msg_pack_cstr(pk, kv[i].key ? kv[i].key : "");
		msg_pack_cstr(pk, kv[i].value ? kv[i].value : "");
	}
}

static void
pack_dep(msgpack_packer *pk, const struct domino_dep *dp)
{
	if (!set(dp->ref) && dp->n_types == 0) {
		msg_pack_cstr(pk, dp->repo);
		return;
	}
	msgpack_pack_map(pk, 1 + set(dp->ref) + (dp->n_types > 0));
	msg_pack_kstr(pk, "repo", dp->repo);
	if (set(dp->ref))
		msg_pack_kstr(pk, "ref", dp->ref);
	if (dp->n_types > 0) {
		msg_pack_cstr(pk, "types");
		msgpack_pack_array(pk, dp->n_types);
		for (size_t t = 0; t < dp->n_types; t++)
			msg_pack_cstr(pk, dp->types[t] ? dp->types[t] : "");
	}
}

int
domino_registration_pack(const struct domino_registration *r, void **out,
    size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n = 3;

	conn_err_clear();
	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (r == NULL || out == NULL || len == NULL)
		return conn_err(DOMINO_EINVAL,
		    "domino_registration_pack: invalid argument");
	if (!set(r->name))
		return conn_err(DOMINO_EINVAL, "name: required");
	if (r->n_depends_on == 0 || r->depends_on == NULL)
		return conn_err(DOMINO_EINVAL, "depends_on: at least one "
		    "repo is required");
	for (size_t i = 0; i < r->n_depends_on; i++)
		if (!set(r->depends_on[i].repo) ||
		    (r->depends_on[i].n_types > 0 &&
		    r->depends_on[i].types == NULL))
			return conn_err(DOMINO_EINVAL,
			    "depends_on[%zu].repo: required", i);
	if (!set(r->plugin))
		return conn_err(DOMINO_EINVAL, "callback.plugin: required");
	if ((r->n_config > 0 && r->config == NULL) ||
	    (r->n_labels > 0 && r->labels == NULL))
		return conn_err(DOMINO_EINVAL,
		    "domino_registration_pack: invalid argument");
	n += set(r->provides) + (r->has_support_level != 0) +
	    (r->n_labels > 0) + (r->coalesce != 0);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	msg_pack_kstr(&pk, "name", r->name);
	msg_pack_cstr(&pk, "depends_on");
	msgpack_pack_array(&pk, r->n_depends_on);
	for (size_t i = 0; i < r->n_depends_on; i++)
		pack_dep(&pk, &r->depends_on[i]);
	if (set(r->provides))
		msg_pack_kstr(&pk, "provides", r->provides);
	msg_pack_cstr(&pk, "callback");
	msgpack_pack_map(&pk, 2);
	msg_pack_kstr(&pk, "plugin", r->plugin);
	pack_kvs(&pk, "config", r->config, r->n_config);
	if (r->has_support_level)
		msg_pack_ku64(&pk, "support_level", r->support_level);
	if (r->n_labels > 0)
		pack_kvs(&pk, "labels", r->labels, r->n_labels);
	if (r->coalesce)
		msg_pack_kbool(&pk, "coalesce", 1);
	if (sb.data == NULL) {
		msgpack_sbuffer_destroy(&sb);
		return conn_err(DOMINO_ENOMEM, "out of memory");
	}
	*len = sb.size;
	*out = msgpack_sbuffer_release(&sb);
	return DOMINO_OK;
}

/* ---- register, unregister ------------------------------------------- */

void
domino_registered_clear(struct domino_registered *r)
{
	if (r == NULL)
		return;
	free(r->name);
	wipe_free(r->token);
	memset(r, 0, sizeof(*r));
}

int
domino_register(domino *d, const void *listener, size_t len,
    int rotate_token, struct domino_registered *out)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn_reply r;
	int rv;

	conn_err_clear();
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (d == NULL || listener == NULL || len == 0 || out == NULL)
		return conn_err(DOMINO_EINVAL, "domino_register: invalid argument");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "register", 1 + (rotate_token != 0));
	msg_pack_cstr(&pk, "listener");
	/* The map goes as it is: it is the caller's msgpack. */
	msgpack_sbuffer_write(&sb, listener, len);
	if (rotate_token)
		msg_pack_kbool(&pk, "rotate_token", 1);
	rv = conn_rpc(d, &sb, &r);
	if (rv != DOMINO_OK)
		goto out;
	rv = msg_strdup(r.root, "name", &out->name);
	if (rv == DOMINO_OK && msg_bool(r.root, "created", &out->created) !=
	    DOMINO_OK)
		rv = DOMINO_EPROTO;
	if (rv == DOMINO_OK) {
		rv = msg_strdup(r.root, "token", &out->token);
		if (rv == DOMINO_ENOTFOUND)
			rv = DOMINO_OK;
	}
	conn_reply_free(&r);
	if (rv != DOMINO_OK) {
		domino_registered_clear(out);
		rv = conn_err(rv == DOMINO_ENOMEM ? rv : DOMINO_EPROTO,
		    "malformed register reply from the broker");
	}
out:
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}

/* A request {op, name}. */
static void
pack_named(const domino *d, msgpack_sbuffer *sb, const char *op,
    const char *name)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, op, 1);
	msg_pack_kstr(&pk, "name", name);
}

int
domino_unregister(domino *d, const char *name, uint64_t *removed)
{
	msgpack_sbuffer sb;
	struct conn_reply r;
	uint64_t n = 0;
	int rv;

	conn_err_clear();
	if (removed != NULL)
		*removed = 0;
	if (d == NULL || !set(name))
		return conn_err(DOMINO_EINVAL, "domino_unregister: no name");
	pack_named(d, &sb, "unregister", name);
	rv = conn_rpc(d, &sb, &r);
	msgpack_sbuffer_destroy(&sb);
	if (rv != DOMINO_OK)
		return conn_err_default(rv);
	if (msg_u64(r.root, "deliveries_removed", &n) != DOMINO_OK)
		n = 0;
	conn_reply_free(&r);
	if (removed != NULL)
		*removed = n;
	return DOMINO_OK;
}

/* ---- listeners, listener --------------------------------------------- */

/* Send sb and hand back the JSON text of the reply's key (of type t). */
static int
call_json(domino *d, msgpack_sbuffer *sb, const char *key,
    msgpack_object_type t, char **json)
{
	struct conn_reply r;
	const msgpack_object *v;
	char *buf = NULL;
	size_t blen = 0;
	FILE *f;
	int rv;

	rv = conn_rpc(d, sb, &r);
	if (rv != DOMINO_OK)
		return rv;
	v = msg_get(r.root, key);
	if (v == NULL || v->type != t) {
		rv = conn_err(DOMINO_EPROTO, "the broker's reply lacks %s", key);
		goto out;
	}
	f = open_memstream(&buf, &blen);
	if (f == NULL) {
		rv = conn_err(DOMINO_ENOMEM, "out of memory");
		goto out;
	}
	json_put_object(f, v, 0);
	rv = json_finish(f, &buf, &blen, json);
	if (rv != DOMINO_OK)
		conn_err(rv, "out of memory");
out:
	conn_reply_free(&r);
	return rv;
}

int
domino_listeners(domino *d, char **json)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv;

	conn_err_clear();
	if (json != NULL)
		*json = NULL;
	if (d == NULL || json == NULL)
		return conn_err(DOMINO_EINVAL, "domino_listeners: invalid argument");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "listeners", 0);
	rv = call_json(d, &sb, "listeners", MSGPACK_OBJECT_ARRAY, json);
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}

int
domino_listener(domino *d, const char *name, char **json)
{
	msgpack_sbuffer sb;
	int rv;

	conn_err_clear();
	if (json != NULL)
		*json = NULL;
	if (d == NULL || !set(name) || json == NULL)
		return conn_err(DOMINO_EINVAL, "domino_listener: no name");
	pack_named(d, &sb, "listener", name);
	rv = call_json(d, &sb, "listener", MSGPACK_OBJECT_MAP, json);
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}

/* ---- impact, deliveries --------------------------------------------- */

/* An optional string: absent or nil is NULL. */
static int
opt_str(const msgpack_object *m, const char *key, char **out)
{
	int rv = msg_strdup(m, key, out);

	if (rv == DOMINO_ENOTFOUND) {
		*out = NULL;
		rv = DOMINO_OK;
	}
	return rv;
}

static int
opt_u64(const msgpack_object *m, const char *key, uint64_t *v)
{
	int rv = msg_u64(m, key, v);

	if (rv == DOMINO_ENOTFOUND) {
		*v = 0;
		rv = DOMINO_OK;
	}
	return rv;
}

/* An integer time that may have been packed signed or unsigned. */
static int
opt_time(const msgpack_object *m, const char *key, int64_t *v)
{
	uint64_t u = 0;
	int rv = msg_i64(m, key, v);

	if (rv == DOMINO_EPROTO && msg_u64(m, key, &u) == DOMINO_OK) {
		*v = u > INT64_MAX ? INT64_MAX : (int64_t)u;
		rv = DOMINO_OK;
	}
	if (rv == DOMINO_ENOTFOUND) {
		*v = 0;
		rv = DOMINO_OK;
	}
	return rv;
}

static int
opt_strs(const msgpack_object *m, const char *key, char ***out, size_t *n)
{
	const msgpack_object *a = msg_get(m, key);

	*out = NULL;
	*n = 0;
	if (a == NULL || a->type == MSGPACK_OBJECT_NIL)
		return DOMINO_OK;
	if (a->type != MSGPACK_OBJECT_ARRAY)
		return DOMINO_EPROTO;
	if (a->via.array.size == 0)
		return DOMINO_OK;
	*out = calloc(a->via.array.size, sizeof(**out));
	if (*out == NULL)
		return DOMINO_ENOMEM;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *s = &a->via.array.ptr[i];

		if (s->type != MSGPACK_OBJECT_STR)
			return DOMINO_EPROTO;
		(*out)[i] = strndup(s->via.str.ptr, s->via.str.size);
		if ((*out)[i] == NULL)
			return DOMINO_ENOMEM;
		(*n)++;
	}
	return DOMINO_OK;
}

static void
free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
domino_impact_clear(struct domino_impact *im)
{
	if (im == NULL)
		return;
	for (size_t i = 0; i < im->n; i++) {
		struct domino_impact_hit *h = &im->hits[i];

		free(h->name);
		free(h->provides);
		free(h->parent);
		free_strs(h->via, h->n_via);
	}
	free(im->hits);
	free(im->repo);
	memset(im, 0, sizeof(*im));
}

static int
read_hit(const msgpack_object *m, struct domino_impact_hit *h)
{
	uint64_t depth = 0, level = 0;
	int rv;

	if (m->type != MSGPACK_OBJECT_MAP)
		return DOMINO_EPROTO;
	rv = msg_strdup(m, "name", &h->name);
	if (rv == DOMINO_OK)
		rv = opt_u64(m, "depth", &depth);
	if (rv == DOMINO_OK)
		rv = opt_u64(m, "support_level", &level);
	if (rv == DOMINO_OK && msg_bool(m, "disabled", &h->disabled) !=
	    DOMINO_OK)
		h->disabled = 0;
	if (rv == DOMINO_OK)
		rv = opt_str(m, "provides", &h->provides);
	if (rv == DOMINO_OK)
		rv = opt_str(m, "parent", &h->parent);
	if (rv == DOMINO_OK)
		rv = opt_strs(m, "via", &h->via, &h->n_via);
	h->depth = depth > 1000 ? 1000 : (unsigned)depth;
	h->support_level = level > 1000 ? 1000 : (unsigned)level;
	return rv;
}

int
domino_impact(domino *d, const char *repo, const struct domino_impact_opts *o,
    struct domino_impact *out)
{
	static const struct domino_impact_opts none = {0};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn_reply r;
	const msgpack_object *a;
	int rv;

	conn_err_clear();
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (d == NULL || out == NULL)
		return conn_err(DOMINO_EINVAL, "domino_impact: invalid argument");
	if (!set(repo))
		return conn_err(DOMINO_EINVAL, "impact needs a repo "
		    "(host/owner/name)");
	if (o == NULL)
		o = &none;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "impact", 1 + (o->max_depth != 0) +
	    (o->has_support_level != 0));
	msg_pack_kstr(&pk, "repo", repo);
	if (o->max_depth != 0)
		msg_pack_ku64(&pk, "max_depth", o->max_depth);
	if (o->has_support_level)
		msg_pack_ku64(&pk, "support_level", o->support_level);
	rv = conn_rpc(d, &sb, &r);
	msgpack_sbuffer_destroy(&sb);
	if (rv != DOMINO_OK)
		return conn_err_default(rv);
	a = msg_get(r.root, "listeners");
	if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY) {
		rv = DOMINO_EPROTO;
		goto out;
	}
	rv = opt_str(r.root, "repo", &out->repo);
	if (rv == DOMINO_OK && out->repo == NULL) {
		out->repo = strdup(repo);
		if (out->repo == NULL)
			rv = DOMINO_ENOMEM;
	}
	if (rv != DOMINO_OK || a->via.array.size == 0)
		goto out;
	out->hits = calloc(a->via.array.size, sizeof(*out->hits));
	if (out->hits == NULL) {
		rv = DOMINO_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < a->via.array.size && rv == DOMINO_OK; i++) {
		/* Count it first so a half-read hit is freed by clear. */
		out->n++;
		rv = read_hit(&a->via.array.ptr[i], &out->hits[i]);
	}
out:
	conn_reply_free(&r);
	if (rv != DOMINO_OK) {
		domino_impact_clear(out);
		rv = conn_err(rv == DOMINO_ENOMEM ? rv : DOMINO_EPROTO,
		    "malformed impact reply from the broker");
	}
	return rv;
}

void
domino_deliveries_clear(struct domino_deliveries *dl)
{
	if (dl == NULL)
		return;
	for (size_t i = 0; i < dl->n; i++) {
		struct domino_delivery *v = &dl->v[i];

		free(v->listener);
		free(v->state);
		free(v->repo);
		free(v->ref);
		free(v->type);
		free_strs(v->via, v->n_via);
		for (size_t h = 0; h < v->n_history; h++) {
			free(v->history[h].what);
			free(v->history[h].detail);
		}
		free(v->history);
	}
	free(dl->v);
	memset(dl, 0, sizeof(*dl));
}

/* The history array; v->history is non-NULL afterwards, even when empty
 * or absent. */
static int
read_history(const msgpack_object *m, struct domino_delivery *v)
{
	const msgpack_object *a = msg_get(m, "history");
	uint32_t n = 0;

	if (a != NULL && a->type == MSGPACK_OBJECT_ARRAY)
		n = a->via.array.size;
	else if (a != NULL && a->type != MSGPACK_OBJECT_NIL)
		return DOMINO_EPROTO;
	v->history = calloc(n > 0 ? n : 1, sizeof(*v->history));
	if (v->history == NULL)
		return DOMINO_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *e = &a->via.array.ptr[i];
		struct domino_history_entry *h = &v->history[i];
		int rv;

		if (e->type != MSGPACK_OBJECT_MAP)
			return DOMINO_EPROTO;
		/* Counted first so a half-read entry is freed by clear. */
		v->n_history++;
		h->status = -1;
		rv = opt_time(e, "time", &h->time);
		if (rv == DOMINO_OK)
			rv = opt_u64(e, "attempt", &h->attempt);
		if (rv == DOMINO_OK)
			rv = opt_str(e, "what", &h->what);
		if (rv == DOMINO_OK && h->what == NULL &&
		    (h->what = strdup("?")) == NULL)
			rv = DOMINO_ENOMEM;
		if (rv == DOMINO_OK && msg_i64(e, "status", &h->status) ==
		    DOMINO_EPROTO)
			rv = DOMINO_EPROTO;
		if (rv == DOMINO_OK)
			rv = opt_str(e, "detail", &h->detail);
		if (rv != DOMINO_OK)
			return rv;
	}
	return DOMINO_OK;
}

static int
read_delivery(const msgpack_object *m, struct domino_delivery *v,
    int want_history)
{
	int rv;

	if (m->type != MSGPACK_OBJECT_MAP)
		return DOMINO_EPROTO;
	rv = msg_strdup(m, "listener", &v->listener);
	if (rv == DOMINO_OK)
		rv = msg_u64(m, "seq", &v->seq);
	if (rv == DOMINO_OK)
		rv = opt_str(m, "state", &v->state);
	if (rv == DOMINO_OK)
		rv = opt_u64(m, "attempt", &v->attempt);
	if (rv == DOMINO_OK)
		rv = opt_time(m, "next", &v->next);
	if (rv == DOMINO_OK)
		rv = opt_time(m, "created", &v->created);
	if (rv == DOMINO_OK)
		rv = opt_strs(m, "via", &v->via, &v->n_via);
	if (rv == DOMINO_OK)
		rv = opt_str(m, "repo", &v->repo);
	if (rv == DOMINO_OK)
		rv = opt_str(m, "ref", &v->ref);
	if (rv == DOMINO_OK)
		rv = opt_str(m, "type", &v->type);
	if (rv == DOMINO_OK && want_history)
		rv = read_history(m, v);
	return rv;
}

int
domino_deliveries(domino *d, const struct domino_deliveries_query *q,
    struct domino_deliveries *out)
{
	static const struct domino_deliveries_query all = {0};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn_reply r;
	const msgpack_object *a;
	int rv;

	conn_err_clear();
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (d == NULL || out == NULL)
		return conn_err(DOMINO_EINVAL,
		    "domino_deliveries: invalid argument");
	if (q == NULL)
		q = &all;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "deliveries", set(q->listener) +
	    set(q->state) + (q->from != 0) + (q->limit != 0) +
	    (q->seq != 0) + (q->history != 0));
	if (set(q->listener))
		msg_pack_kstr(&pk, "listener", q->listener);
	if (set(q->state))
		msg_pack_kstr(&pk, "state", q->state);
	if (q->from != 0)
		msg_pack_ku64(&pk, "from", q->from);
	if (q->limit != 0)
		msg_pack_ku64(&pk, "limit", q->limit);
	if (q->seq != 0)
		msg_pack_ku64(&pk, "seq", q->seq);
	if (q->history)
		msg_pack_kbool(&pk, "history", 1);
	rv = conn_rpc(d, &sb, &r);
	msgpack_sbuffer_destroy(&sb);
	if (rv != DOMINO_OK)
		return conn_err_default(rv);
	a = msg_get(r.root, "deliveries");
	if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY) {
		rv = DOMINO_EPROTO;
		goto out;
	}
	if (msg_bool(r.root, "more", &out->more) != DOMINO_OK)
		out->more = 0;
	if (a->via.array.size == 0)
		goto out;
	out->v = calloc(a->via.array.size, sizeof(*out->v));
	if (out->v == NULL) {
		rv = DOMINO_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < a->via.array.size && rv == DOMINO_OK; i++) {
		out->n++;
		rv = read_delivery(&a->via.array.ptr[i], &out->v[i],
		    q->history);
	}
out:
	conn_reply_free(&r);
	if (rv != DOMINO_OK) {
		domino_deliveries_clear(out);
		rv = conn_err(rv == DOMINO_ENOMEM ? rv : DOMINO_EPROTO,
		    "malformed deliveries reply from the broker");
	}
	return rv;
}
