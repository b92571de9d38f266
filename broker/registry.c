/* SPDX-License-Identifier: MIT */
/* Listener registry writer commands; see registry.h. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "registry.h"
#include "store.h"

static int
deps_apply(struct store_wtxn *t, const struct listener *l, int put)
{
	for (size_t i = 0; i < l->n_deps; i++) {
		const struct listener_dep *d = &l->deps[i];
		int rv = put ? store_dep_put(t, d->repo, d->glob, l->name, (unsigned)i) :
		    store_dep_del(t, d->repo, d->glob, l->name, (unsigned)i);
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
		rv = deps_apply(t, &old, 0);
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
		rv = deps_apply(t, &c->l, 1);
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
	rv = deps_apply(t, &old, 0);
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
