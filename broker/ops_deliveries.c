/* SPDX-License-Identifier: MIT */
/*
 * Control operations an operator or a listener uses on deliveries: retry,
 * resolve, enable, disable, report and results (proto/README.md). Every
 * change is one writer command; who did it and why go into the delivery's
 * history.
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "control.h"
#include "deliver.h"
#include "delivery.h"
#include "err.h"
#include "listener.h"
#include "log.h"
#include "msg.h"
#include "ops.h"
#include "store.h"
#include "writer.h"

#define RETRY_ALL_MAX 100000 /* dead deliveries revived by one request */

enum manual_op { M_RETRY, M_RESOLVE, M_ENABLE, M_DISABLE, M_REPORT };

struct manual_cmd {
	struct wcmd cmd;
	struct call *call;
	enum manual_op op;
	char listener[LISTENER_NAME_MAX + 1];
	uint64_t seq;    /* 0 with M_RETRY: every dead delivery */
	char who[LISTENER_NAME_MAX + 16];
	char *reason;    /* resolve reason / report detail */
	char status[16]; /* report */
	char *url;       /* report */
	int64_t now;
	uint64_t count;  /* out: records changed */
	char err[256];
};

static void
manual_free(struct manual_cmd *m)
{
	free(m->reason);
	free(m->url);
	free(m);
}

/* Make one record due now again. */
static int
retry_one(struct manual_cmd *m, struct store_wtxn *t, uint64_t seq,
    struct delivery *r)
{
	int rv = DOMINO_OK;

	if (strcmp(r->state, "failed") == 0 || strcmp(r->state, "pending") == 0)
		rv = store_due_del(t, (uint64_t)r->next, m->listener, seq);
	if (rv == DOMINO_OK)
		rv = delivery_add_history(r, m->now, r->attempt, "retry", -1, m->who);
	snprintf(r->state, sizeof(r->state), "pending");
	r->next = m->now;
	if (rv == DOMINO_OK)
		rv = store_due_put(t, (uint64_t)r->next, m->listener, seq);
	if (rv == DOMINO_OK)
		rv = delivery_store(t, m->listener, seq, r);
	m->count += rv == DOMINO_OK;
	return rv;
}

struct dead_list {
	uint64_t *seqs;
	size_t n, cap;
	int rv;
};

static int
collect_dead(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len)
{
	struct dead_list *dl = arg;
	char st[16];

	(void)listener;
	delivery_state(data, len, st, sizeof(st));
	if (strcmp(st, "dead") != 0)
		return 0;
	if (dl->n == dl->cap) {
		size_t cap = dl->cap ? dl->cap * 2 : 64;
		uint64_t *v = realloc(dl->seqs, cap * sizeof(*v));
		if (v == NULL) {
			dl->rv = DOMINO_ENOMEM;
			return 1;
		}
		dl->seqs = v;
		dl->cap = cap;
	}
	dl->seqs[dl->n++] = seq;
	return dl->n >= RETRY_ALL_MAX;
}

static int
do_retry(struct manual_cmd *m, struct store_wtxn *t)
{
	struct dead_list dl = {0};
	struct delivery r;
	int rv;

	if (m->seq != 0) {
		rv = delivery_load(t, m->listener, m->seq, &r);
		if (rv == DOMINO_ENOTFOUND) {
			snprintf(m->err, sizeof(m->err), "no delivery of seq %llu to %s",
			    (unsigned long long)m->seq, m->listener);
			return rv;
		}
		if (rv != DOMINO_OK)
			return rv;
		if (strcmp(r.state, "in_flight") == 0) {
			delivery_clear(&r);
			snprintf(m->err, sizeof(m->err), "the delivery is being "
			    "attempted right now; wait for its answer");
			return DOMINO_ECONFLICT;
		}
		rv = retry_one(m, t, m->seq, &r);
		delivery_clear(&r);
		return rv;
	}
	/* Collect first: the walk must not see its own writes. */
	rv = store_delivery_each(store_wtxn_view(t), m->listener, 0,
	    collect_dead, &dl);
	if (rv == DOMINO_OK)
		rv = dl.rv;
	for (size_t i = 0; rv == DOMINO_OK && i < dl.n; i++) {
		if ((rv = delivery_load(t, m->listener, dl.seqs[i], &r)) != DOMINO_OK)
			break;
		rv = retry_one(m, t, dl.seqs[i], &r);
		delivery_clear(&r);
	}
	free(dl.seqs);
	return rv;
}

static int
do_resolve(struct manual_cmd *m, struct store_wtxn *t)
{
	struct delivery r;
	char detail[600];
	int rv;

	rv = delivery_load(t, m->listener, m->seq, &r);
	if (rv == DOMINO_ENOTFOUND) {
		snprintf(m->err, sizeof(m->err), "no delivery of seq %llu to %s",
		    (unsigned long long)m->seq, m->listener);
		return rv;
	}
	if (rv != DOMINO_OK)
		return rv;
	if (delivery_state_open(r.state))
		rv = store_due_del(t, (uint64_t)r.next, m->listener, m->seq);
	snprintf(detail, sizeof(detail), "%s: %s", m->who, m->reason);
	if (rv == DOMINO_OK)
		rv = delivery_add_history(&r, m->now, r.attempt, "resolved", -1, detail);
	snprintf(r.state, sizeof(r.state), "ok");
	r.next = 0;
	if (rv == DOMINO_OK)
		rv = delivery_store(t, m->listener, m->seq, &r);
	m->count = rv == DOMINO_OK;
	delivery_clear(&r);
	return rv;
}

static int
do_enable(struct manual_cmd *m, struct store_wtxn *t, int enable)
{
	struct listener l;
	const void *data;
	size_t len;
	char *buf;
	int rv;

	rv = store_listener_get(store_wtxn_view(t), m->listener, &data, &len);
	if (rv == DOMINO_ENOTFOUND) {
		snprintf(m->err, sizeof(m->err), "no listener named %s", m->listener);
		return rv;
	}
	if (rv != DOMINO_OK || listener_decode(data, len, &l) != DOMINO_OK)
		return rv != DOMINO_OK ? rv : DOMINO_ESTORE;
	m->count = l.disabled == enable;
	l.disabled = !enable;
	if (enable)
		l.failing_since = 0;
	rv = listener_encode(&l, &buf, &len);
	if (rv == DOMINO_OK) {
		rv = store_listener_put(t, m->listener, buf, len);
		free(buf);
	}
	listener_clear(&l);
	return rv;
}

static int
do_report(struct manual_cmd *m, struct store_wtxn *t)
{
	const void *data;
	size_t len;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv;

	rv = store_delivery_get(store_wtxn_view(t), m->listener, m->seq, &data,
	    &len);
	if (rv == DOMINO_ENOTFOUND) {
		snprintf(m->err, sizeof(m->err), "%s has no delivery of seq %llu "
		    "to report on", m->listener, (unsigned long long)m->seq);
		return rv;
	}
	if (rv != DOMINO_OK)
		return rv;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	msg_pack_kstr(&pk, "status", m->status);
	msg_pack_kstr(&pk, "url", m->url ? m->url : "");
	msg_pack_kstr(&pk, "detail", m->reason ? m->reason : "");
	msg_pack_ki64(&pk, "time", m->now);
	msg_pack_kstr(&pk, "by", m->who);
	rv = store_result_put(t, m->listener, m->seq, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	m->count = rv == DOMINO_OK;
	return rv;
}

static int
manual_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct manual_cmd *m = (struct manual_cmd *)c;

	m->count = 0;
	switch (m->op) {
	case M_RETRY: return do_retry(m, t);
	case M_RESOLVE: return do_resolve(m, t);
	case M_ENABLE: return do_enable(m, t, 1);
	case M_DISABLE: return do_enable(m, t, 0);
	case M_REPORT: return do_report(m, t);
	}
	return DOMINO_EINTERNAL;
}

static void
manual_committed(struct wcmd *c, int status)
{
	struct manual_cmd *m = (struct manual_cmd *)c;
	struct call *call = m->call;

	if (status != DOMINO_OK) {
		msg_error_reply(call->sb, status, "%s", m->err[0] ? m->err :
		    domino_strerror(status));
	} else {
		msgpack_pack_map(&call->pk, 2);
		msg_pack_kbool(&call->pk, "ok", 1);
		msg_pack_ku64(&call->pk, "changed", m->count);
		if (m->op != M_REPORT && call->env->dl != NULL)
			deliver_kick(call->env->dl);
		log_msg(LOG_INFO, "control: manual op=%d listener=%s seq=%llu by=%s changed=%llu",
		    (int)m->op, m->listener, (unsigned long long)m->seq, m->who,
		    (unsigned long long)m->count);
	}
	manual_free(m);
	call_finish(call);
}

/* Common start: name (arg `name_key`), authorization, the command. */
static struct manual_cmd *
manual_new(struct call *call, enum manual_op op, const char *name_key)
{
	struct manual_cmd *m;
	char name[LISTENER_NAME_MAX + 1];

	if (arg_name(call, name_key, name) != 0 || !may_touch(call, name))
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		msg_error_reply(call->sb, DOMINO_ENOMEM, "out of memory");
		return NULL;
	}
	m->call = call;
	m->op = op;
	m->now = clock_now_ns();
	memcpy(m->listener, name, sizeof(name));
	if (call->admin)
		snprintf(m->who, sizeof(m->who), "admin");
	else
		snprintf(m->who, sizeof(m->who), "listener %s", call->listener);
	return m;
}

static int
manual_submit(struct call *call, struct manual_cmd *m)
{
	m->cmd.apply = manual_apply;
	m->cmd.committed = manual_committed;
	if (writer_submit(call->env->w, &m->cmd) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_EUNAVAIL,
		    "the broker is busy or shutting down; retry later");
		manual_free(m);
		return OP_DONE;
	}
	return OP_PENDING;
}

int
op_retry(struct call *call)
{
	struct manual_cmd *m = manual_new(call, M_RETRY, "listener");
	int all = 0;

	if (m == NULL)
		return OP_DONE;
	if (arg_u64(call, "seq", &m->seq) != 0) {
		manual_free(m);
		return OP_DONE;
	}
	msg_bool(call->req, "all_dead", &all);
	if (m->seq == 0 && !all) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "give seq (one delivery) "
		    "or all_dead: true (every dead delivery of the listener)");
		manual_free(m);
		return OP_DONE;
	}
	return manual_submit(call, m);
}

int
op_resolve(struct call *call)
{
	struct manual_cmd *m = manual_new(call, M_RESOLVE, "listener");

	if (m == NULL)
		return OP_DONE;
	if (arg_u64(call, "seq", &m->seq) != 0) {
		manual_free(m);
		return OP_DONE;
	}
	if (m->seq == 0 || msg_strdup(call->req, "reason", &m->reason) !=
	    DOMINO_OK || m->reason[0] == '\0') {
		msg_error_reply(call->sb, DOMINO_EINVAL,
		    "seq and reason (why it is done by hand) are required");
		manual_free(m);
		return OP_DONE;
	}
	return manual_submit(call, m);
}

int
op_enable(struct call *call)
{
	struct manual_cmd *m;

	if (!call->admin) {
		msg_error_reply(call->sb, DOMINO_EUNAUTH, "enable needs the admin token");
		return OP_DONE;
	}
	if ((m = manual_new(call, M_ENABLE, "name")) == NULL)
		return OP_DONE;
	return manual_submit(call, m);
}

int
op_disable(struct call *call)
{
	struct manual_cmd *m = manual_new(call, M_DISABLE, "name");

	return m == NULL ? OP_DONE : manual_submit(call, m);
}

int
op_report(struct call *call)
{
	static const char *const statuses[] = {"pass", "fail", "error", NULL};
	struct manual_cmd *m = manual_new(call, M_REPORT, "listener");
	const char *s;
	size_t n;
	int known = 0;

	if (m == NULL)
		return OP_DONE;
	if (arg_u64(call, "seq", &m->seq) != 0) {
		manual_free(m);
		return OP_DONE;
	}
	if (msg_str(call->req, "status", &s, &n) == DOMINO_OK && n < sizeof(m->status)) {
		memcpy(m->status, s, n);
		m->status[n] = '\0';
		for (size_t i = 0; statuses[i] != NULL; i++)
			known |= strcmp(statuses[i], m->status) == 0;
	}
	if (m->seq == 0 || !known) {
		msg_error_reply(call->sb, DOMINO_EINVAL,
		    "seq and status (pass, fail or error) are required");
		manual_free(m);
		return OP_DONE;
	}
	if (msg_strdup(call->req, "url", &m->url) == DOMINO_EPROTO ||
	    msg_strdup(call->req, "detail", &m->reason) == DOMINO_EPROTO) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "url and detail must be strings");
		manual_free(m);
		return OP_DONE;
	}
	if ((m->url && strlen(m->url) > 2048) || (m->reason && strlen(m->reason) > 4096)) {
		msg_error_reply(call->sb, DOMINO_ETOOBIG, "url (2 KiB) or detail (4 KiB) is too long");
		manual_free(m);
		return OP_DONE;
	}
	return manual_submit(call, m);
}

/* results --seq: every listener that got this event, with its answer. */
struct roll {
	struct store_txn *v;
	uint64_t seq;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n;
};

/* The stored report map as the next value; its status into st. */
static void
pack_report(msgpack_packer *pk, const void *data, size_t len, char *st,
    size_t cap)
{
	msgpack_unpacked u;
	const char *s;
	size_t n;

	if (st != NULL)
		snprintf(st, cap, "unknown");
	if (msg_unpack(data, len, &u) == DOMINO_OK) {
		if (pk != NULL)
			msgpack_pack_object(pk, u.data);
		if (st != NULL && msg_str(&u.data, "status", &s, &n) == DOMINO_OK &&
		    n < cap) {
			memcpy(st, s, n);
			st[n] = '\0';
		}
	} else if (pk != NULL) {
		msgpack_pack_nil(pk);
	}
	msgpack_unpacked_destroy(&u);
}

static int
roll_one(void *arg, const char *name, size_t nlen, const void *data, size_t len)
{
	struct roll *ro = arg;
	struct listener l;
	const void *dd, *rd;
	size_t dl, rl;
	char n[LISTENER_NAME_MAX + 1], st[16], status[16] = "unknown";
	int has_result;

	(void)data;
	(void)len;
	if (nlen > LISTENER_NAME_MAX)
		return 0;
	memcpy(n, name, nlen);
	n[nlen] = '\0';
	if (store_delivery_get(ro->v, n, ro->seq, &dd, &dl) != DOMINO_OK)
		return 0;
	if (listener_decode(data, len, &l) != DOMINO_OK)
		return 0;
	delivery_state(dd, dl, st, sizeof(st));
	has_result = store_result_get(ro->v, n, ro->seq, &rd, &rl) == DOMINO_OK;
	if (has_result)
		pack_report(NULL, rd, rl, status, sizeof(status));
	msgpack_pack_map(&ro->pk, 4 + has_result);
	msg_pack_kstr(&ro->pk, "listener", n);
	msg_pack_ku64(&ro->pk, "support_level", (uint64_t)l.support_level);
	msg_pack_kstr(&ro->pk, "delivery", st);
	msg_pack_kstr(&ro->pk, "status", status);
	if (has_result) {
		msg_pack_cstr(&ro->pk, "report");
		pack_report(&ro->pk, rd, rl, NULL, 0);
	}
	listener_clear(&l);
	ro->n++;
	return 0;
}

/* results --listener: the newest report per upstream repo. */
struct latest {
	struct store_txn *v;
	const char *listener;
	struct {
		char *repo;
		uint64_t seq;
	} *v_;
	size_t n, cap;
	int rv;
};

static int
latest_one(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len)
{
	struct latest *lt = arg;
	const void *dd;
	size_t dl;
	struct delivery r;

	(void)data;
	(void)len;
	if (store_delivery_get(lt->v, listener, seq, &dd, &dl) != DOMINO_OK ||
	    delivery_decode(dd, dl, &r) != DOMINO_OK)
		return 0;
	for (size_t i = 0; i < lt->n; i++) {
		if (strcmp(lt->v_[i].repo, r.repo) == 0) {
			if (seq > lt->v_[i].seq)
				lt->v_[i].seq = seq;
			delivery_clear(&r);
			return 0;
		}
	}
	if (lt->n == lt->cap) {
		size_t cap = lt->cap ? lt->cap * 2 : 16;
		void *nv = realloc(lt->v_, cap * sizeof(*lt->v_));
		if (nv == NULL) {
			delivery_clear(&r);
			lt->rv = DOMINO_ENOMEM;
			return 1;
		}
		lt->v_ = nv;
		lt->cap = cap;
	}
	lt->v_[lt->n].repo = r.repo;
	lt->v_[lt->n].seq = seq;
	r.repo = NULL;
	lt->n++;
	delivery_clear(&r);
	return 0;
}

int
op_results(struct call *call)
{
	struct store_reader *r;
	uint64_t seq = 0;
	char name[LISTENER_NAME_MAX + 1] = "";
	const char *s;
	size_t n;
	int rv;

	if (arg_u64(call, "seq", &seq) != 0)
		return OP_DONE;
	if (msg_str(call->req, "listener", &s, &n) == DOMINO_OK &&
	    n > 0 && n <= LISTENER_NAME_MAX) {
		memcpy(name, s, n);
		name[n] = '\0';
	}
	if (seq == 0 && name[0] == '\0') {
		msg_error_reply(call->sb, DOMINO_EINVAL, "give seq (an upstream "
		    "event) or listener (its last status per dependency)");
		return OP_DONE;
	}
	if (name[0] != '\0' && !may_touch(call, name))
		return OP_DONE;
	if (seq != 0 && name[0] == '\0' && !call->admin) {
		msg_error_reply(call->sb, DOMINO_EUNAUTH, "results of an event "
		    "across listeners need the admin token");
		return OP_DONE;
	}
	if (store_reader_open(call->env->st, &r) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ESTORE, "cannot read the store");
		return OP_DONE;
	}
	if (name[0] == '\0') {
		struct roll ro = {.v = store_reader_view(r), .seq = seq};
		msgpack_sbuffer_init(&ro.sb);
		msgpack_packer_init(&ro.pk, &ro.sb, msgpack_sbuffer_write);
		rv = store_listener_each(ro.v, roll_one, &ro);
		if (rv == DOMINO_OK) {
			msgpack_pack_map(&call->pk, 3);
			msg_pack_kbool(&call->pk, "ok", 1);
			msg_pack_ku64(&call->pk, "seq", seq);
			msg_pack_cstr(&call->pk, "listeners");
			msgpack_pack_array(&call->pk, ro.n);
			msgpack_sbuffer_write(call->sb, ro.sb.data, ro.sb.size);
		} else {
			msg_error_reply(call->sb, rv, "cannot read the results");
		}
		msgpack_sbuffer_destroy(&ro.sb);
	} else {
		struct latest lt = {.v = store_reader_view(r), .listener = name};
		rv = store_result_each(lt.v, name, latest_one, &lt);
		if (rv == DOMINO_OK)
			rv = lt.rv;
		if (rv == DOMINO_OK) {
			msgpack_pack_map(&call->pk, 3);
			msg_pack_kbool(&call->pk, "ok", 1);
			msg_pack_kstr(&call->pk, "listener", name);
			msg_pack_cstr(&call->pk, "dependencies");
			msgpack_pack_array(&call->pk, lt.n);
			for (size_t i = 0; i < lt.n; i++) {
				const void *rd;
				size_t rl;
				msgpack_pack_map(&call->pk, 3);
				msg_pack_kstr(&call->pk, "repo", lt.v_[i].repo);
				msg_pack_ku64(&call->pk, "seq", lt.v_[i].seq);
				msg_pack_cstr(&call->pk, "report");
				if (store_result_get(lt.v, name, lt.v_[i].seq, &rd, &rl) == DOMINO_OK)
					pack_report(&call->pk, rd, rl, NULL, 0);
				else
					msgpack_pack_nil(&call->pk);
			}
		} else {
			msg_error_reply(call->sb, rv, "cannot read the results");
		}
		for (size_t i = 0; i < lt.n; i++)
			free(lt.v_[i].repo);
		free(lt.v_);
	}
	store_reader_close(r);
	return OP_DONE;
}
