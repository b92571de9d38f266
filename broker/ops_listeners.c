/* SPDX-License-Identifier: MIT */
/*
 * Control operations on listeners: register, unregister, listeners,
 * listener, impact and deliveries (proto/README.md). Changes go through
 * the writer (registry.c); reads use a read transaction.
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "control.h"
#include "delivery.h"
#include "err.h"
#include "event.h"
#include "listener.h"
#include "log.h"
#include "match.h"
#include "msg.h"
#include "ops.h"
#include "plugins/plugin.h"
#include "registry.h"
#include "secrets.h"
#include "store.h"
#include "writer.h"

static void
registry_done(struct registry_cmd *rc, int status)
{
	struct call *call = rc->arg;
	msgpack_packer *pk = &call->pk;

	if (status != DOMINO_OK) {
		if (rc->err[0] != '\0')
			msg_error_reply(call->sb, status, "%s", rc->err);
		else
			msg_error_reply(call->sb, status, "the change could not be "
			    "stored (%s)", domino_strerror(status));
	} else if (rc->op == REGISTRY_REGISTER) {
		msgpack_pack_map(pk, 3 + (rc->token != NULL));
		msg_pack_kbool(pk, "ok", 1);
		msg_pack_kstr(pk, "name", rc->l.name);
		msg_pack_kbool(pk, "created", rc->created);
		if (rc->token != NULL)
			msg_pack_kstr(pk, "token", rc->token);
		log_msg(LOG_INFO, "control: listener %s name=%s deps=%zu",
		    rc->created ? "registered" : "updated", rc->l.name,
		    rc->l.n_deps);
	} else {
		msgpack_pack_map(pk, 3);
		msg_pack_kbool(pk, "ok", 1);
		msg_pack_kstr(pk, "name", rc->name);
		msg_pack_ku64(pk, "deliveries_removed", rc->removed);
		log_msg(LOG_INFO, "control: listener unregistered name=%s", rc->name);
	}
	registry_cmd_free(rc);
	call_finish(call);
}

static int
submit_registry(struct call *call, struct registry_cmd *rc)
{
	rc->done = registry_done;
	rc->arg = call;
	rc->now = clock_now_ns();
	if (registry_submit(call->env->w, rc) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_EUNAVAIL,
		    "the broker is busy or shutting down; retry later");
		registry_cmd_free(rc);
		return OP_DONE;
	}
	return OP_PENDING;
}

int
op_register(struct call *call)
{
	const msgpack_object *lo = msg_get(call->req, "listener");
	struct registry_cmd *rc;
	int rotate = 0;

	if (lo == NULL) {
		msg_error_reply(call->sb, DOMINO_EINVAL,
		    "argument listener (the registration map) is required");
		return OP_DONE;
	}
	if (msg_bool(call->req, "rotate_token", &rotate) == DOMINO_EPROTO) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "argument rotate_token must be a boolean");
		return OP_DONE;
	}
	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		msg_error_reply(call->sb, DOMINO_ENOMEM, "out of memory");
		return OP_DONE;
	}
	rc->op = REGISTRY_REGISTER;
	rc->rotate_token = rotate;
	rc->max_listeners = call->env->cfg->limits.max_listeners;
	if (listener_parse(lo, &rc->l, rc->err, sizeof(rc->err)) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "%s", rc->err);
		registry_cmd_free(rc);
		return OP_DONE;
	}
	if (!call->admin && strcmp(call->listener, rc->l.name) != 0) {
		may_touch(call, rc->l.name);
		registry_cmd_free(rc);
		return OP_DONE;
	}
	/* exec runs commands and file writes paths on the broker host, and
	 * nng reaches any address: only the admin may set those up. */
	if (!call->admin && strcmp(rc->l.plugin, "http") != 0) {
		msg_error_reply(call->sb, DOMINO_EUNAUTH, "callback.plugin: %s "
		    "acts on the broker host; only the admin token may register "
		    "it (a listener token may use http)", rc->l.plugin);
		registry_cmd_free(rc);
		return OP_DONE;
	}
	/* Only the admin or the listener itself may update an existing one. */
	rc->must_be_new = !call->admin && call->listener[0] == '\0';
	rc->must_exist = !call->admin && call->listener[0] != '\0';
	/* Whoever registers last decides whether private callback addresses
	 * are allowed (SSRF rule: the admin may, a listener may not). */
	rc->l.by_admin = call->admin;
	/* Secret config values are stored sealed (secrets.h). */
	if (secrets_seal_config(plugin_find(rc->l.plugin), &rc->l.config,
	    &rc->l.config_len) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ENOMEM, "cannot seal the "
		    "secret values of callback.config");
		registry_cmd_free(rc);
		return OP_DONE;
	}
	return submit_registry(call, rc);
}

int
op_unregister(struct call *call)
{
	struct registry_cmd *rc;
	char name[LISTENER_NAME_MAX + 1];

	if (arg_name(call, "name", name) != 0 || !may_touch(call, name))
		return OP_DONE;
	if ((rc = calloc(1, sizeof(*rc))) == NULL) {
		msg_error_reply(call->sb, DOMINO_ENOMEM, "out of memory");
		return OP_DONE;
	}
	rc->op = REGISTRY_UNREGISTER;
	memcpy(rc->name, name, sizeof(name));
	return submit_registry(call, rc);
}

struct list_ctx {
	msgpack_packer pk;
	msgpack_sbuffer sb;
	size_t n;
	int rv;
};

static int
list_one(void *arg, const char *name, size_t nlen, const void *data, size_t len)
{
	struct list_ctx *lc = arg;
	struct listener l;

	(void)name;
	(void)nlen;
	if (listener_decode(data, len, &l) != DOMINO_OK)
		return 0;
	lc->rv = listener_pack(&lc->pk, &l, 0);
	listener_clear(&l);
	lc->n++;
	return lc->rv != DOMINO_OK;
}

int
op_listeners(struct call *call)
{
	struct store_reader *r;
	struct list_ctx lc = {.rv = DOMINO_OK};

	if (!call->admin) {
		msg_error_reply(call->sb, DOMINO_EUNAUTH, "listing all listeners needs the admin token");
		return OP_DONE;
	}
	if (store_reader_open(call->env->st, &r) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ESTORE, "cannot read the store");
		return OP_DONE;
	}
	msgpack_sbuffer_init(&lc.sb);
	msgpack_packer_init(&lc.pk, &lc.sb, msgpack_sbuffer_write);
	if (store_listener_each(store_reader_view(r), list_one, &lc) != DOMINO_OK ||
	    lc.rv != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ESTORE, "cannot read the listeners");
	} else {
		msgpack_pack_map(&call->pk, 2);
		msg_pack_kbool(&call->pk, "ok", 1);
		msg_pack_cstr(&call->pk, "listeners");
		msgpack_pack_array(&call->pk, lc.n);
		msgpack_sbuffer_write(call->sb, lc.sb.data, lc.sb.size);
	}
	msgpack_sbuffer_destroy(&lc.sb);
	store_reader_close(r);
	return OP_DONE;
}

int
op_listener(struct call *call)
{
	char name[LISTENER_NAME_MAX + 1];
	struct store_reader *r;
	struct listener l;
	const void *data;
	size_t len;
	int rv;

	if (arg_name(call, "name", name) != 0 || !may_touch(call, name))
		return OP_DONE;
	if (store_reader_open(call->env->st, &r) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ESTORE, "cannot read the store");
		return OP_DONE;
	}
	rv = store_listener_get(store_reader_view(r), name, &data, &len);
	if (rv == DOMINO_OK)
		rv = listener_decode(data, len, &l);
	store_reader_close(r);
	if (rv == DOMINO_ENOTFOUND) {
		msg_error_reply(call->sb, DOMINO_ENOTFOUND, "no listener named %s", name);
		return OP_DONE;
	}
	if (rv != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ESTORE, "cannot read listener %s", name);
		return OP_DONE;
	}
	msgpack_pack_map(&call->pk, 2);
	msg_pack_kbool(&call->pk, "ok", 1);
	msg_pack_cstr(&call->pk, "listener");
	listener_pack(&call->pk, &l, 1);
	listener_clear(&l);
	return OP_DONE;
}

int
op_impact(struct call *call)
{
	struct match_result mr = {0};
	struct store_reader *r;
	uint64_t depth = call->env->cfg->graph_max_depth, level = 3;
	char *repo = NULL;
	size_t n = 0;
	int rv;

	if (!call->admin) {
		msg_error_reply(call->sb, DOMINO_EUNAUTH, "impact needs the admin token");
		return OP_DONE;
	}
	if (msg_strdup(call->req, "repo", &repo) != DOMINO_OK || *repo == '\0') {
		msg_error_reply(call->sb, DOMINO_EINVAL,
		    "argument repo (host/owner/name) is required");
		free(repo);
		return OP_DONE;
	}
	if (arg_u64(call, "max_depth", &depth) || arg_u64(call, "support_level", &level)) {
		free(repo);
		return OP_DONE;
	}
	if (depth == 0 || depth > 64)
		depth = 64;
	if (store_reader_open(call->env->st, &r) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ESTORE, "cannot read the store");
		free(repo);
		return OP_DONE;
	}
	rv = match_run(store_reader_view(r), repo, NULL, NULL, 0,
	    (unsigned)depth, &mr);
	if (rv == DOMINO_OK)
		match_load_disabled(store_reader_view(r), &mr);
	store_reader_close(r);
	if (rv != DOMINO_OK) {
		msg_error_reply(call->sb, rv, "the dependency graph could not be read");
		goto out;
	}
	for (size_t i = 0; i < mr.n; i++)
		n += (uint64_t)mr.hits[i].support_level <= level;
	msgpack_pack_map(&call->pk, 3);
	msg_pack_kbool(&call->pk, "ok", 1);
	msg_pack_kstr(&call->pk, "repo", repo);
	msg_pack_cstr(&call->pk, "listeners");
	msgpack_pack_array(&call->pk, n);
	for (size_t i = 0; i < mr.n; i++) {
		const struct match_hit *h = &mr.hits[i];
		const char **via = NULL;
		size_t nv = 0;

		if ((uint64_t)h->support_level > level)
			continue;
		if (match_via(&mr, i, repo, &via, &nv) != DOMINO_OK) {
			via = NULL;
			nv = 0;
		}
		msgpack_pack_map(&call->pk, 5 + (h->provides != NULL) + (h->parent >= 0));
		msg_pack_kstr(&call->pk, "name", h->name);
		msg_pack_ku64(&call->pk, "depth", h->depth);
		msg_pack_ku64(&call->pk, "support_level", (uint64_t)h->support_level);
		msg_pack_kbool(&call->pk, "disabled", h->disabled);
		if (h->provides != NULL)
			msg_pack_kstr(&call->pk, "provides", h->provides);
		if (h->parent >= 0)
			msg_pack_kstr(&call->pk, "parent", mr.hits[h->parent].name);
		msg_pack_cstr(&call->pk, "via");
		msgpack_pack_array(&call->pk, nv);
		for (size_t k = 0; k < nv; k++)
			msg_pack_cstr(&call->pk, via[k] ? via[k] : "");
		free(via);
	}
out:
	match_result_clear(&mr);
	free(repo);
	return OP_DONE;
}

struct dl_ctx {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int history;
	uint64_t seq; /* only this seq, when not 0 */
	const char *state;
	uint64_t limit, n;
	int more;
};

static int
dl_one(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len)
{
	struct dl_ctx *dc = arg;

	if (dc->seq != 0 && seq != dc->seq)
		return 0;
	if (dc->state != NULL) {
		char st[32];
		delivery_state(data, len, st, sizeof(st));
		if (strcmp(st, dc->state) != 0)
			return 0;
	}
	if (dc->n >= dc->limit) {
		dc->more = 1;
		return 1;
	}
	if (delivery_pack(&dc->pk, listener, seq, data, len, dc->history) == DOMINO_OK)
		dc->n++;
	return 0;
}

int
op_deliveries(struct call *call)
{
	static const char *const states[] = {"pending", "in_flight", "ok",
	    "failed", "dead", "superseded", NULL};
	char name[LISTENER_NAME_MAX + 1] = "", state[32] = "";
	struct dl_ctx dc = {.limit = 100};
	struct store_reader *r;
	uint64_t from = 0;
	const char *s;
	size_t n;
	int rv;

	if (msg_str(call->req, "listener", &s, &n) == DOMINO_OK) {
		if (n == 0 || n > LISTENER_NAME_MAX) {
			msg_error_reply(call->sb, DOMINO_EINVAL, "argument listener: not a listener name");
			return OP_DONE;
		}
		memcpy(name, s, n);
		name[n] = '\0';
	}
	/* A listener token always names its listener (listener_auth). */
	if (name[0] != '\0' && !may_touch(call, name))
		return OP_DONE;
	if (msg_str(call->req, "state", &s, &n) == DOMINO_OK) {
		int known = 0;
		if (n < sizeof(state)) {
			memcpy(state, s, n);
			state[n] = '\0';
		}
		for (size_t i = 0; states[i] != NULL; i++)
			known |= strcmp(states[i], state) == 0;
		if (!known) {
			msg_error_reply(call->sb, DOMINO_EINVAL, "argument state: use "
			    "pending, in_flight, ok, failed, dead or superseded");
			return OP_DONE;
		}
		dc.state = state;
	}
	if (arg_u64(call, "from", &from) || arg_u64(call, "limit", &dc.limit) ||
	    arg_u64(call, "seq", &dc.seq))
		return OP_DONE;
	if (msg_bool(call->req, "history", &dc.history) == DOMINO_EPROTO) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "argument history must be a boolean");
		return OP_DONE;
	}
	if (dc.limit == 0 || dc.limit > 1000)
		dc.limit = dc.limit == 0 ? 100 : 1000;
	if (store_reader_open(call->env->st, &r) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ESTORE, "cannot read the store");
		return OP_DONE;
	}
	msgpack_sbuffer_init(&dc.sb);
	msgpack_packer_init(&dc.pk, &dc.sb, msgpack_sbuffer_write);
	rv = store_delivery_each(store_reader_view(r), name[0] ? name : NULL,
	    from, dl_one, &dc);
	store_reader_close(r);
	if (rv != DOMINO_OK) {
		msg_error_reply(call->sb, rv, "cannot read the deliveries");
	} else {
		msgpack_pack_map(&call->pk, 3);
		msg_pack_kbool(&call->pk, "ok", 1);
		msg_pack_kbool(&call->pk, "more", dc.more);
		msg_pack_cstr(&call->pk, "deliveries");
		msgpack_pack_array(&call->pk, dc.n);
		msgpack_sbuffer_write(call->sb, dc.sb.data, dc.sb.size);
	}
	msgpack_sbuffer_destroy(&dc.sb);
	return OP_DONE;
}

/* replay: new deliveries to one listener for a range of the log. */
#define REPLAY_BATCH 1000

struct replay_cmd {
	struct wcmd cmd;
	struct call *call;
	char listener[LISTENER_NAME_MAX + 1];
	uint64_t from, until_seq;
	int64_t since, until;
	int force;
	unsigned depth;
	/* out */
	uint64_t created, skipped, scanned, next;
	int more;
	char err[200];
};

static int
replay_one(struct replay_cmd *rc, struct store_wtxn *t, uint64_t seq,
    const struct domino_event *ev)
{
	struct match_result mr = {0};
	const void *data;
	size_t len;
	int rv;

	rv = match_run(store_wtxn_view(t), ev->repo ? ev->repo : "", ev->ref,
	    ev->type, 1, rc->depth, &mr);
	for (size_t i = 0; rv == DOMINO_OK && i < mr.n; i++) {
		const char **via;
		size_t nv, rl;
		char *rec, st[16] = "";
		int64_t now;

		if (strcmp(mr.hits[i].name, rc->listener) != 0)
			continue;
		if (store_delivery_get(store_wtxn_view(t), rc->listener, seq, &data,
		    &len) == DOMINO_OK) {
			delivery_state(data, len, st, sizeof(st));
			/* An open delivery is already coming; an ok one only
			 * with force. */
			if (delivery_state_open(st) || (strcmp(st, "ok") == 0 && !rc->force)) {
				rc->skipped++;
				break;
			}
		}
		if ((rv = match_via(&mr, i, ev->repo, &via, &nv)) != DOMINO_OK)
			break;
		/* One clock reading: the record's `next` must equal its
		 * due-index key, or the dispatcher's claim cancels it. */
		now = clock_now_ns();
		rv = delivery_new(via, nv, ev->repo, ev->ref, ev->type, now,
		    &rec, &rl);
		free(via);
		if (rv == DOMINO_OK) {
			rv = store_delivery_put(t, rc->listener, seq, rec, rl,
			    (uint64_t)now);
			free(rec);
		}
		rc->created += rv == DOMINO_OK;
		break;
	}
	match_result_clear(&mr);
	return rv;
}

static int
replay_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct replay_cmd *rc = (struct replay_cmd *)c;
	struct store_txn *v = store_wtxn_view(t);
	const void *data;
	size_t len;
	int rv = DOMINO_OK;

	rc->created = rc->skipped = rc->scanned = 0;
	rc->more = 0;
	if (store_listener_get(v, rc->listener, &data, &len) != DOMINO_OK) {
		snprintf(rc->err, sizeof(rc->err), "no listener named %s", rc->listener);
		return DOMINO_ENOTFOUND;
	}
	rc->next = rc->from;
	for (uint64_t seq = rc->from; seq <= rc->until_seq; seq++) {
		struct domino_event ev;

		if (rc->scanned >= REPLAY_BATCH) {
			rc->more = 1;
			break;
		}
		rc->next = seq + 1;
		rc->scanned++; /* trimmed seqs count: the batch bounds the work */
		if (store_event_get(v, seq, &data, &len) != DOMINO_OK)
			continue;
		if (domino_event_decode(data, len, &ev) != DOMINO_OK)
			continue;
		if (ev.time >= rc->since && ev.time < rc->until)
			rv = replay_one(rc, t, seq, &ev);
		domino_event_clear(&ev);
		if (rv != DOMINO_OK)
			break;
	}
	return rv;
}

static void
replay_committed(struct wcmd *c, int status)
{
	struct replay_cmd *rc = (struct replay_cmd *)c;
	struct call *call = rc->call;

	if (status != DOMINO_OK) {
		msg_error_reply(call->sb, status, "%s", rc->err[0] ? rc->err :
		    domino_strerror(status));
	} else {
		msgpack_pack_map(&call->pk, 7);
		msg_pack_kbool(&call->pk, "ok", 1);
		msg_pack_ku64(&call->pk, "created", rc->created);
		msg_pack_ku64(&call->pk, "skipped", rc->skipped);
		msg_pack_ku64(&call->pk, "scanned", rc->scanned);
		msg_pack_ku64(&call->pk, "next", rc->next);
		msg_pack_ku64(&call->pk, "last", rc->until_seq);
		msg_pack_kbool(&call->pk, "more", rc->more);
	}
	free(rc);
	call_finish(call);
}

int
op_replay(struct call *call)
{
	struct replay_cmd *rc = calloc(1, sizeof(*rc));

	if (rc == NULL) {
		msg_error_reply(call->sb, DOMINO_ENOMEM, "out of memory");
		return OP_DONE;
	}
	rc->from = 1;
	rc->until_seq = store_last_seq(call->env->st);
	rc->since = INT64_MIN;
	rc->until = INT64_MAX;
	if (arg_name(call, "listener", rc->listener) != 0 ||
	    !may_touch(call, rc->listener) || arg_u64(call, "from", &rc->from) ||
	    arg_u64(call, "to", &rc->until_seq) || arg_i64(call, "since", &rc->since) ||
	    arg_i64(call, "until", &rc->until)) {
		free(rc);
		return OP_DONE;
	}
	if (msg_bool(call->req, "force", &rc->force) == DOMINO_EPROTO) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "argument force must be a boolean");
		free(rc);
		return OP_DONE;
	}
	if (rc->from == 0)
		rc->from = 1;
	{
		/* Start at the oldest kept event, not in a trimmed range. */
		struct store_stats ss;
		if (store_get_stats(call->env->st, &ss) == DOMINO_OK &&
		    ss.first_seq > rc->from)
			rc->from = ss.first_seq;
	}
	if (rc->until_seq > store_last_seq(call->env->st))
		rc->until_seq = store_last_seq(call->env->st);
	rc->depth = call->env->cfg->graph_max_depth;
	rc->call = call;
	rc->cmd.apply = replay_apply;
	rc->cmd.committed = replay_committed;
	if (writer_submit(call->env->w, &rc->cmd) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_EUNAVAIL,
		    "the broker is busy or shutting down; retry later");
		free(rc);
		return OP_DONE;
	}
	return OP_PENDING;
}
