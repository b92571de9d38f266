/* SPDX-License-Identifier: MIT */
/* Listener registry writer commands; see registry.h. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "registry.h"
#include "store.h"

int
registry_index(struct store_wtxn *t, const struct listener *l, int put)
{
	for (size_t i = 0; i < l->n_deps; i++) {
		const struct listener_dep *d = &l->deps[i];
		char *rec;
		size_t len;
		int rv;

		if (!put) {
			rv = store_dep_del(t, d->repo, d->glob, l->name, (unsigned)i);
		} else if ((rv = listener_match_rec(l, i, &rec, &len)) == DOMINO_OK) {
			rv = store_dep_put(t, d->repo, d->glob, l->name,
			    (unsigned)i, rec, len);
			free(rec);
		}
		if (rv != DOMINO_OK)
			return rv;
	}
	return DOMINO_OK;
}

static int
do_register(struct registry_cmd *c, struct store_wtxn *t)
{
	struct listener old;
	const void *data;
	size_t len;
	char *buf = NULL;
	int rv, exists;

	free(c->token);
	c->token = NULL;
	rv = store_listener_get(store_wtxn_view(t), c->l.name, &data, &len);
	if (rv != DOMINO_OK && rv != DOMINO_ENOTFOUND)
		return rv;
	exists = rv == DOMINO_OK;
	if (exists && c->must_be_new) {
		snprintf(c->err, sizeof(c->err), "name: listener %s already "
		    "exists; re-register it with its own token or the admin token",
		    c->l.name);
		return DOMINO_ECONFLICT;
	}
	if (!exists && c->max_listeners > 0 &&
	    store_listener_count(store_wtxn_view(t)) >= c->max_listeners) {
		snprintf(c->err, sizeof(c->err), "name: %llu listeners are "
		    "registered, the limit (limits.max_listeners)",
		    (unsigned long long)c->max_listeners);
		return DOMINO_ECONFLICT;
	}
	if (!exists && c->must_exist) {
		snprintf(c->err, sizeof(c->err), "name: listener %s no longer "
		    "exists; register it again with the admin token", c->l.name);
		return DOMINO_ENOTFOUND;
	}
	c->created = !exists;
	c->l.updated = c->now;
	if (exists) {
		if ((rv = listener_decode(data, len, &old)) != DOMINO_OK)
			return DOMINO_ESTORE;
		c->l.created = old.created;
		c->l.disabled = old.disabled;
		memcpy(c->l.token_hash, old.token_hash, sizeof(old.token_hash));
		rv = registry_index(t, &old, 0);
		listener_clear(&old);
		if (rv != DOMINO_OK)
			return rv;
	} else {
		c->l.created = c->now;
	}
	if ((!exists || c->rotate_token) &&
	    (rv = listener_new_token(&c->l, &c->token)) != DOMINO_OK)
		return rv;
	if ((rv = listener_encode(&c->l, &buf, &len)) != DOMINO_OK)
		return rv;
	rv = store_listener_put(t, c->l.name, buf, len);
	free(buf);
	if (rv == DOMINO_OK)
		rv = registry_index(t, &c->l, 1);
	return rv;
}

static int
do_unregister(struct registry_cmd *c, struct store_wtxn *t)
{
	struct listener old;
	const void *data;
	size_t len;
	int rv;

	rv = store_listener_get(store_wtxn_view(t), c->name, &data, &len);
	if (rv == DOMINO_ENOTFOUND) {
		snprintf(c->err, sizeof(c->err), "no listener named %s", c->name);
		return rv;
	}
	if (rv != DOMINO_OK)
		return rv;
	if (listener_decode(data, len, &old) != DOMINO_OK)
		return DOMINO_ESTORE;
	rv = registry_index(t, &old, 0);
	listener_clear(&old);
	if (rv == DOMINO_OK)
		rv = store_listener_del(t, c->name);
	if (rv == DOMINO_OK)
		rv = store_delivery_del_listener(t, c->name, &c->removed);
	/* A listener registered again later must not inherit old reports. */
	if (rv == DOMINO_OK)
		rv = store_result_del_listener(t, c->name);
	return rv;
}

static int
apply(struct wcmd *w, struct store_wtxn *t)
{
	struct registry_cmd *c = (struct registry_cmd *)w;

	return c->op == REGISTRY_REGISTER ? do_register(c, t) :
	    do_unregister(c, t);
}

static void
committed(struct wcmd *w, int status)
{
	struct registry_cmd *c = (struct registry_cmd *)w;

	c->done(c, status);
}

int
registry_submit(struct writer *w, struct registry_cmd *c)
{
	c->cmd.apply = apply;
	c->cmd.committed = committed;
	return writer_submit(w, &c->cmd);
}

void
registry_cmd_free(struct registry_cmd *c)
{
	if (c == NULL)
		return;
	listener_clear(&c->l);
	if (c->token != NULL) {
		sodium_memzero(c->token, strlen(c->token));
		free(c->token);
	}
	free(c);
}

/*
 * Schema 1 stores have index entries without match records. They still
 * match (through the listener), but slowly; rewrite them once.
 */
struct reindex {
	struct wcmd cmd;
	uint64_t listeners;
};

struct reindex_walk {
	struct store_wtxn *t;
	uint64_t n;
	int rv;
};

static int
reindex_one(void *arg, const char *name, size_t nlen, const void *data,
    size_t len)
{
	struct reindex_walk *rw = arg;
	struct listener l;

	(void)name;
	(void)nlen;
	if (listener_decode(data, len, &l) != DOMINO_OK) {
		rw->rv = DOMINO_ESTORE;
		return 1;
	}
	/* The put rewrites the entries just removed: no listener record is
	 * written, so the walk's cursor over them stays valid. */
	rw->rv = registry_index(rw->t, &l, 0);
	if (rw->rv == DOMINO_OK)
		rw->rv = registry_index(rw->t, &l, 1);
	listener_clear(&l);
	rw->n++;
	return rw->rv != DOMINO_OK;
}

static int
reindex_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct reindex *ri = (struct reindex *)c;
	struct reindex_walk rw = {t, 0, DOMINO_OK};
	uint64_t schema;
	int rv;

	ri->listeners = 0;
	if ((rv = store_schema(store_wtxn_view(t), &schema)) != DOMINO_OK ||
	    schema >= STORE_SCHEMA)
		return rv;
	rv = store_listener_each(store_wtxn_view(t), reindex_one, &rw);
	if (rv == DOMINO_OK)
		rv = rw.rv;
	if (rv == DOMINO_OK)
		rv = store_set_schema(t, STORE_SCHEMA);
	ri->listeners = rw.n;
	return rv;
}

static void
reindex_committed(struct wcmd *c, int status)
{
	struct reindex *ri = (struct reindex *)c;

	if (status != DOMINO_OK)
		log_msg(LOG_ERROR, "the dependency index was not upgraded (%s); "
		    "matching still works, more slowly, and the upgrade is "
		    "tried again at the next start", domino_strerror(status));
	else if (ri->listeners > 0)
		log_msg(LOG_INFO, "dependency index upgraded: match records "
		    "for %llu listeners", (unsigned long long)ri->listeners);
	free(ri);
}

int
registry_reindex(struct writer *w)
{
	struct reindex *ri = calloc(1, sizeof(*ri));
	int rv;

	if (ri == NULL)
		return DOMINO_ENOMEM;
	ri->cmd.apply = reindex_apply;
	ri->cmd.committed = reindex_committed;
	if ((rv = writer_submit(w, &ri->cmd)) != DOMINO_OK)
		free(ri);
	return rv;
}
