/* SPDX-License-Identifier: MIT */
/*
 * Listener parsing and storage; see listener.h. The stored form is the
 * registration map itself plus `token_hash`, `created`, `updated` and
 * `disabled`, so the same parser reads both.
 */
#include <fnmatch.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "err.h"
#include "listener.h"
#include "msg.h"
#include "plugins/external.h"
#include "plugins/plugin.h"
#include "secrets.h"

static const char *const valid_types[] = {
	"push", "ref.create", "ref.delete", "tag", "pr.open", "pr.update",
	"pr.merge", "pr.close", "change.patchset", "change.merged", "release",
	"ping", "other", NULL,
};

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* Messages quote keys and values from the request: keep them one
	 * line, with no control characters for the log or a terminal. */
	for (char *p = err; errlen > 0 && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return DOMINO_EINVAL;
}

void
listener_clear(struct listener *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n_deps; i++) {
		struct listener_dep *d = &l->deps[i];
		free(d->repo);
		free(d->ref);
		for (size_t j = 0; j < d->n_types; j++)
			free(d->types[j]);
		free(d->types);
	}
	free(l->deps);
	free(l->name);
	free(l->provides);
	free(l->plugin);
	free(l->config);
	free(l->retry);
	free(l->labels);
	memset(l, 0, sizeof(*l));
}

static int
has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Brackets closed, no NUL: what fnmatch needs to mean what people expect. */
static int
glob_ok(const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '[') {
			const char *q = strchr(p + 1, ']');
			if (q == NULL || q == p + 1)
				return 0;
			p = q;
		} else if (*p == ']') {
			return 0;
		}
	}
	return 1;
}

static char *
dup_obj_str(const msgpack_object *o)
{
	return strndup(o->via.str.size ? o->via.str.ptr : "", o->via.str.size);
}

/* A repo (or pattern): host/owner[/...], no scheme, no spaces. */
static int
check_repo(const char *r, const char *field, int allow_glob, char *err,
    size_t errlen)
{
	size_t n = strlen(r);

	if (n == 0)
		return fail(err, errlen, "%s: must not be empty", field);
	if (n > 400)
		return fail(err, errlen, "%s: longer than 400 characters", field);
	if (strstr(r, "://") != NULL)
		return fail(err, errlen, "%s: write the repo as host/owner/name "
		    "without a scheme, e.g. github.com/org/core", field);
	if (strchr(r, '/') == NULL || r[0] == '/')
		return fail(err, errlen, "%s: '%s' is not host/owner/name "
		    "(e.g. github.com/org/core or github.com/org/*)", field, r);
	for (const char *p = r; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '@')
			return fail(err, errlen, "%s: '%s' contains a space, "
			    "control character or '@' (put the ref in ref:)",
			    field, r);
	if (has_glob(r) && (!allow_glob || !glob_ok(r)))
		return fail(err, errlen, allow_glob ?
		    "%s: '%s' is a malformed glob" :
		    "%s: '%s' must be a plain repo, not a glob", field, r);
	return DOMINO_OK;
}

static int
parse_dep(const msgpack_object *o, size_t i, struct listener_dep *d,
    char *err, size_t errlen)
{
	char field[64];
	const msgpack_object *repo = o, *ref = NULL, *types = NULL;
	int rv;

	snprintf(field, sizeof(field), "depends_on[%zu]", i);
	if (o->type == MSGPACK_OBJECT_MAP) {
		for (uint32_t k = 0; k < o->via.map.size; k++) {
			const msgpack_object *key = &o->via.map.ptr[k].key;
			const char *ks = key->via.str.ptr;
			size_t kl = key->via.str.size;
			if (key->type != MSGPACK_OBJECT_STR)
				return fail(err, errlen, "%s: keys must be strings", field);
			if (kl == 4 && memcmp(ks, "repo", 4) == 0)
				repo = &o->via.map.ptr[k].val;
			else if (kl == 3 && memcmp(ks, "ref", 3) == 0)
				ref = &o->via.map.ptr[k].val;
			else if (kl == 5 && memcmp(ks, "types", 5) == 0)
				types = &o->via.map.ptr[k].val;
			else
				return fail(err, errlen, "%s.%.*s: unknown key (use repo, ref, types)",
				    field, (int)(kl > 40 ? 40 : kl), ks);
		}
		if (repo == o)
			return fail(err, errlen, "%s.repo: required", field);
		snprintf(field, sizeof(field), "depends_on[%zu].repo", i);
	}
	if (repo->type != MSGPACK_OBJECT_STR)
		return fail(err, errlen, "%s: must be a string (a repo or glob)", field);
	if ((d->repo = dup_obj_str(repo)) == NULL)
		return DOMINO_ENOMEM;
	{
		/* "host/org/" means every repo of the org. */
		size_t n = strlen(d->repo);
		if (n > 1 && d->repo[n - 1] == '/') {
			char *g = malloc(n + 2);
			if (g == NULL)
				return DOMINO_ENOMEM;
			memcpy(g, d->repo, n);
			g[n] = '*';
			g[n + 1] = '\0';
			free(d->repo);
			d->repo = g;
		}
	}
	if ((rv = check_repo(d->repo, field, 1, err, errlen)) != DOMINO_OK)
		return rv;
	d->glob = has_glob(d->repo);
	snprintf(field, sizeof(field), "depends_on[%zu]", i);
	if (ref != NULL && ref->type != MSGPACK_OBJECT_NIL) {
		char *r;
		if (ref->type != MSGPACK_OBJECT_STR || ref->via.str.size == 0)
			return fail(err, errlen, "%s.ref: must be a non-empty string "
			    "(a ref or glob like refs/heads/main or refs/tags/*)", field);
		if ((r = dup_obj_str(ref)) == NULL)
			return DOMINO_ENOMEM;
		if (strncmp(r, "refs/", 5) != 0 && strcmp(r, "*") != 0) {
			char *full = NULL;
			if (asprintf(&full, "refs/heads/%s", r) < 0) {
				free(r);
				return DOMINO_ENOMEM;
			}
			free(r);
			r = full;
		}
		d->ref = r;
		if (!glob_ok(r))
			return fail(err, errlen, "%s.ref: '%s' is a malformed glob", field, r);
	}
	if (types != NULL && types->type != MSGPACK_OBJECT_NIL) {
		if (types->type != MSGPACK_OBJECT_ARRAY || types->via.array.size == 0)
			return fail(err, errlen, "%s.types: must be a non-empty list of event types", field);
		if ((d->types = calloc(types->via.array.size, sizeof(char *))) == NULL)
			return DOMINO_ENOMEM;
		for (uint32_t t = 0; t < types->via.array.size; t++) {
			const msgpack_object *e = &types->via.array.ptr[t];
			int known = 0;
			if (e->type != MSGPACK_OBJECT_STR)
				return fail(err, errlen, "%s.types[%u]: must be a string", field, t);
			if ((d->types[d->n_types] = dup_obj_str(e)) == NULL)
				return DOMINO_ENOMEM;
			for (size_t v = 0; valid_types[v] != NULL; v++)
				known |= strcmp(valid_types[v], d->types[d->n_types]) == 0;
			d->n_types++;
			if (!known)
				return fail(err, errlen, "%s.types[%u]: unknown type '%s' (push, "
				    "ref.create, ref.delete, tag, pr.open, pr.update, pr.merge, "
				    "pr.close, change.patchset, change.merged, release, ping, other)",
				    field, t, d->types[d->n_types - 1]);
		}
	}
	return DOMINO_OK;
}

/* Copy a msgpack sub-object into its own buffer. */
static int
repack(const msgpack_object *o, char **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_object(&pk, *o) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return DOMINO_ENOMEM;
	}
	*len = sb.size;
	*buf = msgpack_sbuffer_release(&sb);
	return DOMINO_OK;
}

/* stored: a record the broker wrote — the plugin may be gone (an external
 * one) and secret values are sealed, so only the shape is checked. */
static int
parse_callback(const msgpack_object *o, struct listener *l, int stored,
    char *err, size_t errlen)
{
	const msgpack_object *plugin = msg_get(o, "plugin");
	const msgpack_object *config = msg_get(o, "config");
	const struct plugin_desc *pd;
	static const msgpack_object empty = {.type = MSGPACK_OBJECT_MAP};

	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(err, errlen, "callback: must be a map {plugin, config}");
	for (uint32_t k = 0; k < o->via.map.size; k++) {
		const msgpack_object *key = &o->via.map.ptr[k].key;
		if (key->type != MSGPACK_OBJECT_STR ||
		    !((key->via.str.size == 6 && memcmp(key->via.str.ptr, "plugin", 6) == 0) ||
		    (key->via.str.size == 6 && memcmp(key->via.str.ptr, "config", 6) == 0)))
			return fail(err, errlen, "callback: unknown key (use plugin and config)");
	}
	if (plugin == NULL || plugin->type != MSGPACK_OBJECT_STR)
		return fail(err, errlen, "callback.plugin: required (http, exec, nng or file)");
	if ((l->plugin = dup_obj_str(plugin)) == NULL)
		return DOMINO_ENOMEM;
	if (config == NULL || config->type == MSGPACK_OBJECT_NIL)
		config = &empty;
	if (stored && config->type == MSGPACK_OBJECT_MAP)
		return repack(config, &l->config, &l->config_len);
	if ((pd = plugin_find(l->plugin)) == NULL) {
		char why[256];
		if (plugin_ext_broken(l->plugin, why, sizeof(why)))
			return fail(err, errlen, "callback.plugin: plugin '%.64s' "
			    "is broken: %s", l->plugin, why);
		return fail(err, errlen, "callback.plugin: unknown plugin '%.64s' "
		    "(built in: http, exec, nng, file; external ones: `domino "
		    "plugins`)", l->plugin);
	}
	if (config->type != MSGPACK_OBJECT_MAP)
		return fail(err, errlen, "callback.config: must be a map");
	for (uint32_t k = 0; k < config->via.map.size; k++) {
		const msgpack_object *key = &config->via.map.ptr[k].key;
		if (key->type != MSGPACK_OBJECT_STR)
			return fail(err, errlen, "callback.config: keys must be strings");
		if (plugin_key_find(pd, key->via.str.ptr, key->via.str.size) == NULL)
			return fail(err, errlen, "callback.config.%.*s: unknown key for plugin %s",
			    (int)(key->via.str.size > 40 ? 40 : key->via.str.size),
			    key->via.str.ptr, pd->name);
	}
	for (const struct plugin_key *pk = pd->keys; pk->name != NULL; pk++)
		if (pk->required && msg_get(config, pk->name) == NULL)
			return fail(err, errlen, "callback.config.%s: required by plugin %s (%s)",
			    pk->name, pd->name, pk->help);
	if (pd->validate != NULL && pd->validate(config, err, errlen) != 0)
		return DOMINO_EINVAL;
	return repack(config, &l->config, &l->config_len);
}

static int key_is(const msgpack_object *k, const char *s);

/* A schedule step: ms as an integer, or a duration string; at most 7 days. */
#define RETRY_STEP_MAX_MS (7ull * 86400 * 1000)

static int
retry_step_ok(const msgpack_object *o)
{
	char buf[32];
	uint64_t ms;

	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return o->via.u64 <= RETRY_STEP_MAX_MS;
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 ||
	    o->via.str.size >= sizeof(buf))
		return 0;
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	return config_parse_duration_ms(buf, &ms) == DOMINO_OK &&
	    ms <= RETRY_STEP_MAX_MS;
}

static int
check_retry(const msgpack_object *v, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < v->via.map.size; i++) {
		const msgpack_object *k = &v->via.map.ptr[i].key;
		const msgpack_object *x = &v->via.map.ptr[i].val;

		if (key_is(k, "schedule")) {
			if (x->type != MSGPACK_OBJECT_ARRAY || x->via.array.size == 0 ||
			    x->via.array.size > 64)
				return fail(err, errlen, "retry.schedule: a list of 1 to 64 "
				    "waits, like [0s, 5s, 5m]");
			for (uint32_t j = 0; j < x->via.array.size; j++)
				if (!retry_step_ok(&x->via.array.ptr[j]))
					return fail(err, errlen, "retry.schedule[%u]: a duration "
					    "up to 7d (like 30s) or milliseconds", j);
		} else if (key_is(k, "max_attempts")) {
			if (x->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
			    x->via.u64 == 0 || x->via.u64 > 1000)
				return fail(err, errlen, "retry.max_attempts: 1 to 1000");
		} else if (key_is(k, "max_in_flight")) {
			if (x->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
			    x->via.u64 == 0 || x->via.u64 > 1024)
				return fail(err, errlen, "retry.max_in_flight: 1 to 1024");
		} else {
			return fail(err, errlen, "retry: unknown key (use schedule, "
			    "max_attempts, max_in_flight)");
		}
	}
	return DOMINO_OK;
}

static int
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > LISTENER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
key_is(const msgpack_object *k, const char *s)
{
	size_t n = strlen(s);
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	    memcmp(k->via.str.ptr, s, n) == 0;
}

/* stored: also accept the keys only the broker writes. */
static int
parse(const msgpack_object *o, struct listener *l, int stored, char *err,
    size_t errlen)
{
	static const char *const once[] = {"name", "depends_on", "provides",
	    "callback", "retry", "labels", "support_level", "coalesce", NULL};
	const msgpack_object *deps = NULL, *cb = NULL;
	unsigned seen = 0;
	int rv = DOMINO_OK;

	memset(l, 0, sizeof(*l));
	l->support_level = 2;
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(err, errlen, "listener: must be a map");
	for (uint32_t i = 0; i < o->via.map.size && rv == DOMINO_OK; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		const msgpack_object *v = &o->via.map.ptr[i].val;

		/* A repeated key would overwrite (and leak) the first value. */
		for (unsigned j = 0; once[j] != NULL; j++) {
			if (!key_is(k, once[j]))
				continue;
			if (seen & (1u << j))
				rv = fail(err, errlen, "%s: given more than once",
				    once[j]);
			seen |= 1u << j;
			break;
		}
		if (rv != DOMINO_OK)
			break;
		if (key_is(k, "name")) {
			if (v->type != MSGPACK_OBJECT_STR ||
			    !name_ok(v->via.str.ptr, v->via.str.size))
				rv = fail(err, errlen, "name: required, 1-128 characters "
				    "of A-Z a-z 0-9 . _ -");
			else if ((l->name = dup_obj_str(v)) == NULL)
				rv = DOMINO_ENOMEM;
		} else if (key_is(k, "depends_on")) {
			deps = v;
		} else if (key_is(k, "provides")) {
			if (v->type == MSGPACK_OBJECT_NIL)
				continue;
			if (v->type != MSGPACK_OBJECT_STR)
				rv = fail(err, errlen, "provides: must be a repo (host/owner/name)");
			else if ((l->provides = dup_obj_str(v)) == NULL)
				rv = DOMINO_ENOMEM;
			else
				rv = check_repo(l->provides, "provides", 0, err, errlen);
		} else if (key_is(k, "callback")) {
			cb = v;
		} else if (key_is(k, "retry")) {
			if (v->type != MSGPACK_OBJECT_MAP)
				rv = fail(err, errlen, "retry: must be a map {schedule, max_attempts}");
			else if ((rv = check_retry(v, err, errlen)) == DOMINO_OK)
				rv = repack(v, &l->retry, &l->retry_len);
		} else if (key_is(k, "labels")) {
			if (v->type != MSGPACK_OBJECT_MAP) {
				rv = fail(err, errlen, "labels: must be a map of strings");
				continue;
			}
			for (uint32_t j = 0; j < v->via.map.size; j++)
				if (v->via.map.ptr[j].key.type != MSGPACK_OBJECT_STR ||
				    v->via.map.ptr[j].val.type != MSGPACK_OBJECT_STR)
					rv = fail(err, errlen, "labels: must be a map of strings");
			if (rv == DOMINO_OK)
				rv = repack(v, &l->labels, &l->labels_len);
		} else if (key_is(k, "support_level")) {
			if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 > 3)
				rv = fail(err, errlen, "support_level: must be 0 (core), 1 "
				    "(required for release), 2 (not required) or 3 (third party)");
			else
				l->support_level = (int)v->via.u64;
		} else if (key_is(k, "coalesce")) {
			if (v->type != MSGPACK_OBJECT_BOOLEAN)
				rv = fail(err, errlen, "coalesce: must be true or false");
			else
				l->coalesce = v->via.boolean;
		} else if (stored && key_is(k, "token_hash")) {
			if (v->type == MSGPACK_OBJECT_BIN &&
			    v->via.bin.size == LISTENER_HASH_BYTES)
				memcpy(l->token_hash, v->via.bin.ptr, LISTENER_HASH_BYTES);
		} else if (stored && key_is(k, "created")) {
			if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				l->created = (int64_t)v->via.u64;
		} else if (stored && key_is(k, "updated")) {
			if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				l->updated = (int64_t)v->via.u64;
		} else if (stored && key_is(k, "disabled")) {
			if (v->type == MSGPACK_OBJECT_BOOLEAN)
				l->disabled = v->via.boolean;
		} else if (stored && key_is(k, "failing_since")) {
			if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
				l->failing_since = (int64_t)v->via.u64;
		} else if (stored && key_is(k, "by_admin")) {
			if (v->type == MSGPACK_OBJECT_BOOLEAN)
				l->by_admin = v->via.boolean;
		} else {
			if (k->type != MSGPACK_OBJECT_STR)
				rv = fail(err, errlen, "listener: keys must be strings");
			else
				rv = fail(err, errlen, "%.*s: unknown key (known: name, "
				    "depends_on, provides, callback, retry, support_level, "
				    "labels, coalesce)", (int)(k->via.str.size > 40 ? 40 :
				    k->via.str.size), k->via.str.ptr);
		}
	}
	if (rv != DOMINO_OK)
		goto out;
	if (l->name == NULL) {
		rv = fail(err, errlen, "name: required");
		goto out;
	}
	if (deps == NULL || deps->type == MSGPACK_OBJECT_NIL) {
		rv = fail(err, errlen, "depends_on: required, at least one repo");
		goto out;
	}
	if (deps->type == MSGPACK_OBJECT_STR) {
		/* A single repo written without a list. */
		if ((l->deps = calloc(1, sizeof(*l->deps))) == NULL) {
			rv = DOMINO_ENOMEM;
			goto out;
		}
		l->n_deps = 1;
		rv = parse_dep(deps, 0, &l->deps[0], err, errlen);
	} else if (deps->type != MSGPACK_OBJECT_ARRAY || deps->via.array.size == 0) {
		rv = fail(err, errlen, "depends_on: must be a non-empty list of repos");
	} else if (deps->via.array.size > LISTENER_DEPS_MAX) {
		rv = fail(err, errlen, "depends_on: more than %d entries", LISTENER_DEPS_MAX);
	} else if ((l->deps = calloc(deps->via.array.size, sizeof(*l->deps))) == NULL) {
		rv = DOMINO_ENOMEM;
	} else {
		for (uint32_t i = 0; i < deps->via.array.size && rv == DOMINO_OK; i++) {
			l->n_deps++;
			rv = parse_dep(&deps->via.array.ptr[i], i, &l->deps[i], err, errlen);
		}
	}
	if (rv != DOMINO_OK)
		goto out;
	if (l->provides != NULL) {
		for (size_t i = 0; i < l->n_deps; i++) {
			if (fnmatch(l->deps[i].repo, l->provides, 0) == 0) {
				rv = fail(err, errlen, "depends_on[%zu]: '%s' matches the "
				    "listener's own provides '%s' (a listener cannot depend "
				    "on itself)", i, l->deps[i].repo, l->provides);
				goto out;
			}
		}
	}
	if (cb == NULL) {
		rv = fail(err, errlen, "callback: required, e.g. {plugin: http, "
		    "config: {url: https://ci.example.com/hook}}");
		goto out;
	}
	rv = parse_callback(cb, l, stored, err, errlen);
out:
	if (rv == DOMINO_ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rv != DOMINO_OK)
		listener_clear(l);
	return rv;
}

int
listener_parse(const msgpack_object *o, struct listener *out, char *err,
    size_t errlen)
{
	return parse(o, out, 0, err, errlen);
}

int
listener_decode(const void *buf, size_t len, struct listener *out)
{
	msgpack_unpacked u;
	char err[256];
	int rv;

	rv = msg_unpack(buf, len, &u);
	if (rv == DOMINO_OK)
		rv = parse(&u.data, out, 1, err, sizeof(err));
	else
		memset(out, 0, sizeof(*out));
	msgpack_unpacked_destroy(&u);
	return rv;
}

/* One dependency of the stored form: a repo string or a map. */
static int
read_match_dep(struct mp_rd *r, struct listener_match *m)
{
	uint64_t n;

	if (mp_rd_str(r, &m->repo, &m->repo_len) == 0)
		return DOMINO_OK;
	if (mp_rd_map(r, &n) != 0)
		return DOMINO_EPROTO;
	for (uint64_t i = 0; i < n; i++) {
		const char *k;
		size_t kn, at;
		int ok = -1;

		if (mp_rd_str(r, &k, &kn) != 0)
			return DOMINO_EPROTO;
		if (mp_rd_is(k, kn, "repo"))
			ok = mp_rd_str(r, &m->repo, &m->repo_len);
		else if (mp_rd_is(k, kn, "ref"))
			ok = mp_rd_str(r, &m->ref, &m->ref_len);
		at = r->pos;
		if (ok != 0 && mp_rd_skip(r) != 0)
			return DOMINO_EPROTO;
		if (mp_rd_is(k, kn, "types") && r->p[at] != 0xc0) {
			m->types = r->p + at;
			m->types_len = r->pos - at;
		}
	}
	return m->repo != NULL ? DOMINO_OK : DOMINO_EPROTO;
}

int
listener_decode_match(const void *buf, size_t len, size_t idx,
    struct listener_match *out)
{
	struct mp_rd r;
	uint64_t n, nd, u;
	int found = 0, rv;

	memset(out, 0, sizeof(*out));
	out->support_level = 2;
	(void)mp_rd_init(&r, buf, len, NULL);
	if (mp_rd_map(&r, &n) != 0)
		return DOMINO_EPROTO;
	for (uint64_t i = 0; i < n; i++) {
		const char *k;
		size_t kn;
		int ok = -1;

		if (mp_rd_str(&r, &k, &kn) != 0)
			return DOMINO_EPROTO;
		if (mp_rd_is(k, kn, "name"))
			ok = mp_rd_str(&r, &out->name, &out->name_len);
		else if (mp_rd_is(k, kn, "provides"))
			ok = mp_rd_str(&r, &out->provides, &out->provides_len);
		else if (mp_rd_is(k, kn, "support_level")) {
			if ((ok = mp_rd_uint(&r, &u)) == 0 && u <= 3)
				out->support_level = (int)u;
		} else if (mp_rd_is(k, kn, "coalesce"))
			ok = mp_rd_bool(&r, &out->coalesce);
		else if (mp_rd_is(k, kn, "disabled"))
			ok = mp_rd_bool(&r, &out->disabled);
		else if (mp_rd_is(k, kn, "depends_on") && !found &&
		    mp_rd_array(&r, &nd) == 0) {
			for (uint64_t j = 0; j < nd; j++) {
				if (j == idx) {
					if ((rv = read_match_dep(&r, out)) != DOMINO_OK)
						return rv;
					found = 1;
				} else if (mp_rd_skip(&r) != 0) {
					return DOMINO_EPROTO;
				}
			}
			ok = 0;
		}
		if (ok != 0 && mp_rd_skip(&r) != 0)
			return DOMINO_EPROTO;
	}
	if (out->name == NULL)
		return DOMINO_EPROTO;
	return found ? DOMINO_OK : DOMINO_ENOTFOUND;
}

int
listener_match_rec(const struct listener *l, size_t idx, char **buf,
    size_t *len)
{
	const struct listener_dep *d;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv;

	if (idx >= l->n_deps)
		return DOMINO_EINVAL;
	d = &l->deps[idx];
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rv = msgpack_pack_array(&pk, 5);
	rv |= l->provides ? msg_pack_cstr(&pk, l->provides) : msgpack_pack_nil(&pk);
	rv |= msgpack_pack_unsigned_int(&pk, (unsigned)l->support_level);
	rv |= l->coalesce ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
	rv |= d->ref ? msg_pack_cstr(&pk, d->ref) : msgpack_pack_nil(&pk);
	if (d->types == NULL) {
		rv |= msgpack_pack_nil(&pk);
	} else {
		rv |= msgpack_pack_array(&pk, d->n_types);
		for (size_t j = 0; j < d->n_types; j++)
			rv |= msg_pack_cstr(&pk, d->types[j]);
	}
	if (rv != 0) {
		msgpack_sbuffer_destroy(&sb);
		return DOMINO_ENOMEM;
	}
	*len = sb.size;
	*buf = msgpack_sbuffer_release(&sb);
	return DOMINO_OK;
}

/* An optional string of a match record. */
static int
rec_str(struct mp_rd *r, const char **s, size_t *n)
{
	if (mp_rd_nil(r) == 0) {
		*s = NULL;
		*n = 0;
		return 0;
	}
	return mp_rd_str(r, s, n);
}

int
listener_match_from_rec(const char *name, const char *pattern,
    size_t pattern_len, const void *rec, size_t len,
    struct listener_match *out)
{
	struct mp_rd r;
	uint64_t n, level;
	size_t at;

	memset(out, 0, sizeof(*out));
	(void)mp_rd_init(&r, rec, len, NULL);
	if (mp_rd_array(&r, &n) != 0 || n != 5 ||
	    rec_str(&r, &out->provides, &out->provides_len) != 0 ||
	    mp_rd_uint(&r, &level) != 0 || level > 3 ||
	    mp_rd_bool(&r, &out->coalesce) != 0 ||
	    rec_str(&r, &out->ref, &out->ref_len) != 0)
		return DOMINO_EPROTO;
	at = r.pos;
	if (mp_rd_nil(&r) != 0) {
		if (mp_rd_array(&r, &n) != 0)
			return DOMINO_EPROTO;
		r.pos = at;
		if (mp_rd_skip(&r) != 0)
			return DOMINO_EPROTO;
		out->types = r.p + at;
		out->types_len = r.pos - at;
	}
	out->support_level = (int)level;
	out->name = name;
	out->name_len = strlen(name);
	out->repo = pattern;
	out->repo_len = pattern_len;
	return DOMINO_OK;
}

/* fnmatch of a stored (not NUL-ended) pattern against s. */
static int
glob_n(const char *pat, size_t n, const char *s)
{
	char buf[512], *p = n < sizeof(buf) ? buf : malloc(n + 1);
	int rv;

	if (p == NULL)
		return 0;
	memcpy(p, pat, n);
	p[n] = '\0';
	rv = fnmatch(p, s, 0) == 0;
	if (p != buf)
		free(p);
	return rv;
}

int
listener_match_accepts(const struct listener_match *m, const char *repo,
    int use_filters, const char *ref, const char *type)
{
	struct mp_rd r;
	uint64_t n;

	if (memchr(m->repo, '*', m->repo_len) || memchr(m->repo, '?', m->repo_len) ||
	    memchr(m->repo, '[', m->repo_len)) {
		if (!glob_n(m->repo, m->repo_len, repo))
			return 0;
	} else if (!mp_rd_is(m->repo, m->repo_len, repo)) {
		return 0;
	}
	if (!use_filters)
		return 1;
	if (m->ref != NULL && !glob_n(m->ref, m->ref_len, ref ? ref : ""))
		return 0;
	if (m->types == NULL)
		return 1;
	r = (struct mp_rd){m->types, m->types_len, 0};
	if (mp_rd_array(&r, &n) != 0 || n == 0)
		return 1; /* no list or an empty one: no filter */
	for (uint64_t i = 0; i < n; i++) {
		const char *t;
		size_t tn;
		if (mp_rd_str(&r, &t, &tn) == 0) {
			if (type != NULL && mp_rd_is(t, tn, type))
				return 1;
		} else if (mp_rd_skip(&r) != 0) {
			break;
		}
	}
	return 0;
}

static int
pack_deps(msgpack_packer *pk, const struct listener *l)
{
	int rv = msg_pack_cstr(pk, "depends_on") | msgpack_pack_array(pk, l->n_deps);

	for (size_t i = 0; i < l->n_deps; i++) {
		const struct listener_dep *d = &l->deps[i];
		rv |= msgpack_pack_map(pk, 1 + (d->ref != NULL) + (d->types != NULL));
		rv |= msg_pack_kstr(pk, "repo", d->repo);
		if (d->ref != NULL)
			rv |= msg_pack_kstr(pk, "ref", d->ref);
		if (d->types != NULL) {
			rv |= msg_pack_cstr(pk, "types") | msgpack_pack_array(pk, d->n_types);
			for (size_t j = 0; j < d->n_types; j++)
				rv |= msg_pack_cstr(pk, d->types[j]);
		}
	}
	return rv;
}

/* Write raw msgpack bytes as the next value. */
static int
pack_raw(msgpack_packer *pk, const char *buf, size_t len)
{
	return pk->callback(pk->data, buf, len);
}

/* The config map with secret values masked. */
static int
pack_config_masked(msgpack_packer *pk, const struct listener *l)
{
	const struct plugin_desc *pd = plugin_find(l->plugin);
	msgpack_unpacked u;
	int rv = 0;

	if (msg_unpack(l->config, l->config_len, &u) != DOMINO_OK) {
		msgpack_unpacked_destroy(&u);
		return msgpack_pack_map(pk, 0);
	}
	rv |= msgpack_pack_map(pk, u.data.via.map.size);
	for (uint32_t i = 0; i < u.data.via.map.size; i++) {
		const msgpack_object *k = &u.data.via.map.ptr[i].key;
		const struct plugin_key *key = pd ? plugin_key_find(pd,
		    k->via.str.ptr, k->via.str.size) : NULL;
		rv |= msgpack_pack_object(pk, *k);
		const msgpack_object *v = &u.data.via.map.ptr[i].val;
		if ((key != NULL && key->secret) || (v->type ==
		    MSGPACK_OBJECT_STR && secrets_is_sealed(v->via.str.ptr,
		    v->via.str.size)))
			rv |= msg_pack_cstr(pk, "***");
		else
			rv |= msgpack_pack_object(pk, u.data.via.map.ptr[i].val);
	}
	msgpack_unpacked_destroy(&u);
	return rv;
}

static int
pack_common(msgpack_packer *pk, const struct listener *l, int full,
    int stored)
{
	/* name, depends_on, support_level, created, updated, disabled */
	size_t n = 6 + (l->provides != NULL) + (l->labels != NULL);
	int rv;

	if (full)
		n += 1 + (l->retry != NULL) + 1; /* callback, retry, coalesce */
	else
		n += 1; /* plugin */
	if (stored)
		n += 3; /* token_hash, by_admin, failing_since */
	rv = msgpack_pack_map(pk, n);
	rv |= msg_pack_kstr(pk, "name", l->name);
	rv |= pack_deps(pk, l);
	if (l->provides != NULL)
		rv |= msg_pack_kstr(pk, "provides", l->provides);
	rv |= msg_pack_ku64(pk, "support_level", (uint64_t)l->support_level);
	if (l->labels != NULL)
		rv |= msg_pack_cstr(pk, "labels") | pack_raw(pk, l->labels, l->labels_len);
	rv |= msg_pack_ku64(pk, "created", (uint64_t)l->created);
	rv |= msg_pack_ku64(pk, "updated", (uint64_t)l->updated);
	rv |= msg_pack_kbool(pk, "disabled", l->disabled);
	if (full) {
		rv |= msg_pack_cstr(pk, "callback") | msgpack_pack_map(pk, 2);
		rv |= msg_pack_kstr(pk, "plugin", l->plugin);
		rv |= msg_pack_cstr(pk, "config");
		rv |= stored ? pack_raw(pk, l->config, l->config_len) :
		    pack_config_masked(pk, l);
		if (l->retry != NULL)
			rv |= msg_pack_cstr(pk, "retry") | pack_raw(pk, l->retry, l->retry_len);
		rv |= msg_pack_kbool(pk, "coalesce", l->coalesce);
	} else {
		rv |= msg_pack_kstr(pk, "plugin", l->plugin);
	}
	if (stored) {
		rv |= msg_pack_cstr(pk, "token_hash") |
		    msgpack_pack_bin(pk, LISTENER_HASH_BYTES) |
		    msgpack_pack_bin_body(pk, l->token_hash, LISTENER_HASH_BYTES);
		rv |= msg_pack_kbool(pk, "by_admin", l->by_admin);
		rv |= msg_pack_ku64(pk, "failing_since", (uint64_t)l->failing_since);
	}
	return rv;
}

int
listener_encode(const struct listener *l, char **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (pack_common(&pk, l, 1, 1) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return DOMINO_ENOMEM;
	}
	*len = sb.size;
	*buf = msgpack_sbuffer_release(&sb);
	return DOMINO_OK;
}

int
listener_pack(msgpack_packer *pk, const struct listener *l, int full)
{
	return pack_common(pk, l, full, 0) == 0 ? DOMINO_OK : DOMINO_ENOMEM;
}

int
listener_dep_repo_matches(const struct listener_dep *d, const char *repo)
{
	if (!d->glob)
		return strcmp(d->repo, repo) == 0;
	return fnmatch(d->repo, repo, 0) == 0;
}

int
listener_dep_filters_match(const struct listener_dep *d, const char *ref,
    const char *type)
{
	if (d->ref != NULL && fnmatch(d->ref, ref ? ref : "", 0) != 0)
		return 0;
	if (d->types != NULL) {
		for (size_t i = 0; i < d->n_types; i++)
			if (type != NULL && strcmp(d->types[i], type) == 0)
				return 1;
		return 0;
	}
	return 1;
}

void
listener_token_hash(const char *token, size_t len,
    uint8_t out[LISTENER_HASH_BYTES])
{
	crypto_generichash(out, LISTENER_HASH_BYTES, (const unsigned char *)token,
	    len, NULL, 0);
}

int
listener_new_token(struct listener *l, char **token)
{
	unsigned char raw[32];
	char hex[65];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	/* A prefix tells listener tokens from admin tokens at a glance. */
	if (asprintf(token, "dlt_%s", hex) < 0) {
		sodium_memzero(hex, sizeof(hex));
		return DOMINO_ENOMEM;
	}
	sodium_memzero(hex, sizeof(hex));
	listener_token_hash(*token, strlen(*token), l->token_hash);
	return DOMINO_OK;
}

int
listener_token_ok(const struct listener *l, const char *token, size_t len)
{
	uint8_t h[LISTENER_HASH_BYTES];

	if (token == NULL || len == 0)
		return 0;
	listener_token_hash(token, len, h);
	return sodium_memcmp(h, l->token_hash, LISTENER_HASH_BYTES) == 0;
}
