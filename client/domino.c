/* SPDX-License-Identifier: MIT */
/*
 * The libdomino handle and its control operations: open/close, the raw
 * call, and `stats`, `log` and `secret` (proto/README.md). Requests are
 * built and replies read here; the transport is conn.c, live subscriptions
 * are sub.c. Nothing here prints or keeps global state.
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "domino.h"
#include "err.h"
#include "event.h"
#include "logpage.h"
#include "msg.h"
#include "sub.h"

#define LOG_BATCH_DEFAULT 100

static void
handle_free(domino *d)
{
	free(d->control);
	if (d->token != NULL) {
		/* A token is a credential: do not leave it in freed memory. */
		volatile char *p = d->token;
		while (*p != '\0')
			*p++ = '\0';
		free(d->token);
	}
	free(d->pub);
	free(d->ca_file);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->pq_mu);
	free(d);
}

int
domino_open(domino **out, const struct domino_opts *opts)
{
	static const struct domino_opts none = {0};
	domino *d = NULL;
	int sock_open = 0, nrv, rv;

	conn_err_clear();
	if (out == NULL)
		return conn_err(DOMINO_EINVAL, "domino_open: out is NULL");
	*out = NULL;
	if (opts == NULL)
		opts = &none;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return conn_err(DOMINO_ENOMEM, "out of memory");
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->pq_mu, NULL);
	d->control = strdup(opts->control ? opts->control
	    : DOMINO_CONTROL_DEFAULT);
	d->token = opts->token ? strdup(opts->token) : NULL;
	d->pub = opts->pub ? strdup(opts->pub) : NULL;
	d->ca_file = opts->ca_file ? strdup(opts->ca_file) : NULL;
	if (d->control == NULL || (opts->token && d->token == NULL) ||
	    (opts->pub && d->pub == NULL) || (opts->ca_file && d->ca_file == NULL)) {
		rv = conn_err(DOMINO_ENOMEM, "out of memory");
		goto out;
	}
	d->timeout_ms = opts->timeout_ms ? opts->timeout_ms
	    : DOMINO_TIMEOUT_DEFAULT;
	d->log = opts->log;
	d->log_arg = opts->log_arg;
	d->log_level = opts->log_level ? opts->log_level : DOMINO_LOG_INFO;

	nrv = nng_req0_open(&d->sock);
	if (nrv != 0) {
		rv = conn_nng_err(nrv, "cannot open a req0 socket");
		goto out;
	}
	sock_open = 1;
	nrv = nng_socket_set_size(d->sock, NNG_OPT_RECVMAXSZ, CONN_RECV_MAX);
	if (nrv == 0)
		nrv = nng_socket_set_ms(d->sock, NNG_OPT_RECONNMINT, 100);
	if (nrv == 0)
		nrv = nng_socket_set_ms(d->sock, NNG_OPT_RECONNMAXT, 2000);
	if (nrv != 0) {
		rv = conn_nng_err(nrv, "cannot set socket options");
		goto out;
	}
	nrv = conn_dial(d->sock, d->control, d->ca_file, 0, NULL);
	if (nrv != 0) {
		char what[300];
		snprintf(what, sizeof(what), "cannot connect to %.256s",
		    d->control);
		rv = conn_nng_err(nrv, what);
		goto out;
	}
	conn_logf(d, DOMINO_LOG_DEBUG, "control connected url=%s", d->control);
	*out = d;
	d = NULL;
	rv = DOMINO_OK;
out:
	if (d != NULL) {
		if (sock_open)
			nng_close(d->sock);
		handle_free(d);
	}
	return rv;
}

void
domino_close(domino *d)
{
	if (d == NULL)
		return;
	sub_close_all(d);
	conn_close_socket(d, d->sock, "control");
	handle_free(d);
}

const char *
domino_errmsg(void)
{
	return conn_errmsg();
}

int
domino_call(domino *d, const void *req, size_t len, void **reply,
    size_t *rlen)
{
	nng_msg *m = NULL;
	void *copy;
	int rv;

	conn_err_clear();
	if (reply != NULL)
		*reply = NULL;
	if (rlen != NULL)
		*rlen = 0;
	if (d == NULL || req == NULL || len == 0 || reply == NULL ||
	    rlen == NULL)
		return conn_err(DOMINO_EINVAL, "domino_call: invalid argument");
	rv = conn_roundtrip(d, req, len, &m);
	if (rv != DOMINO_OK)
		return conn_err_default(rv);
	copy = malloc(nng_msg_len(m) ? nng_msg_len(m) : 1);
	if (copy == NULL) {
		nng_msg_free(m);
		return conn_err(DOMINO_ENOMEM, "out of memory");
	}
	memcpy(copy, nng_msg_body(m), nng_msg_len(m));
	*reply = copy;
	*rlen = nng_msg_len(m);
	nng_msg_free(m);
	return DOMINO_OK;
}

/* msg_strdup() that treats an absent key as NULL. */
static int
opt_strdup(const msgpack_object *map, const char *key, char **out)
{
	int rv = msg_strdup(map, key, out);

	if (rv == DOMINO_ENOTFOUND) {
		*out = NULL;
		return DOMINO_OK;
	}
	return rv;
}

/* msg_u64() that treats an absent key as 0. */
static int
opt_u64(const msgpack_object *map, const char *key, uint64_t *v)
{
	int rv = msg_u64(map, key, v);

	if (rv == DOMINO_ENOTFOUND) {
		*v = 0;
		return DOMINO_OK;
	}
	return rv;
}

static int
read_sources(const msgpack_object *root, struct domino_stats *st)
{
	const msgpack_object *a = msg_get(root, "sources");

	if (a == NULL || a->type == MSGPACK_OBJECT_NIL)
		return DOMINO_OK;
	if (a->type != MSGPACK_OBJECT_ARRAY)
		return DOMINO_EPROTO;
	if (a->via.array.size == 0)
		return DOMINO_OK;
	st->sources = calloc(a->via.array.size, sizeof(*st->sources));
	if (st->sources == NULL)
		return DOMINO_ENOMEM;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *v = &a->via.array.ptr[i];
		if (v->type != MSGPACK_OBJECT_STR)
			return DOMINO_EPROTO;
		st->sources[i] = strndup(v->via.str.ptr, v->via.str.size);
		if (st->sources[i] == NULL)
			return DOMINO_ENOMEM;
		st->n_sources++;
	}
	return DOMINO_OK;
}

/* deliveries and retention counters; a broker without them leaves 0. */
static int
read_counters(const msgpack_object *root, struct domino_stats *st)
{
	const msgpack_object *dl = msg_get(root, "deliveries");
	const msgpack_object *rt = msg_get(root, "retention");
	int rv = opt_u64(root, "trimmed_before", &st->trimmed_before);

	if (rv == DOMINO_OK && dl != NULL && dl->type == MSGPACK_OBJECT_MAP) {
		rv = opt_u64(dl, "in_flight", &st->deliveries.in_flight);
		if (rv == DOMINO_OK)
			rv = opt_u64(dl, "dispatched", &st->deliveries.dispatched);
		if (rv == DOMINO_OK)
			rv = opt_u64(dl, "ok", &st->deliveries.ok);
		if (rv == DOMINO_OK)
			rv = opt_u64(dl, "retried", &st->deliveries.retried);
		if (rv == DOMINO_OK)
			rv = opt_u64(dl, "dead", &st->deliveries.dead);
	}
	if (rv == DOMINO_OK && rt != NULL && rt->type == MSGPACK_OBJECT_MAP) {
		rv = opt_u64(rt, "trimmed", &st->retention.trimmed);
		if (rv == DOMINO_OK)
			rv = opt_u64(rt, "held_back", &st->retention.held_back);
		if (rv == DOMINO_OK)
			rv = opt_u64(rt, "held_by_seq", &st->retention.held_by_seq);
	}
	return rv;
}

/* plugins: [{name, state, reason, restarts}]. */
static int
read_plugins(const msgpack_object *root, struct domino_stats *st)
{
	const msgpack_object *a = msg_get(root, "plugins");

	if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size == 0)
		return DOMINO_OK;
	st->plugins = calloc(a->via.array.size, sizeof(*st->plugins));
	if (st->plugins == NULL)
		return DOMINO_ENOMEM;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *m = &a->via.array.ptr[i];
		struct domino_plugin_state *p = &st->plugins[i];
		int rv;

		if (m->type != MSGPACK_OBJECT_MAP)
			return DOMINO_EPROTO;
		st->n_plugins++;
		rv = opt_strdup(m, "name", &p->name);
		if (rv == DOMINO_OK)
			rv = opt_strdup(m, "state", &p->state);
		if (rv == DOMINO_OK)
			rv = opt_strdup(m, "reason", &p->reason);
		if (rv == DOMINO_OK)
			rv = opt_u64(m, "restarts", &p->restarts);
		if (rv != DOMINO_OK)
			return rv;
	}
	return DOMINO_OK;
}

/* ingest: [{source, status, count}]. */
static int
read_ingest(const msgpack_object *root, struct domino_stats *st)
{
	const msgpack_object *a = msg_get(root, "ingest");

	if (a == NULL || a->type == MSGPACK_OBJECT_NIL)
		return DOMINO_OK;
	if (a->type != MSGPACK_OBJECT_ARRAY)
		return DOMINO_EPROTO;
	if (a->via.array.size == 0)
		return DOMINO_OK;
	st->ingest = calloc(a->via.array.size, sizeof(*st->ingest));
	if (st->ingest == NULL)
		return DOMINO_ENOMEM;
	for (uint32_t i = 0; i < a->via.array.size; i++) {
		const msgpack_object *m = &a->via.array.ptr[i];
		struct domino_ingest_count *c = &st->ingest[i];
		uint64_t status = 0;
		int rv;

		if (m->type != MSGPACK_OBJECT_MAP)
			return DOMINO_EPROTO;
		st->n_ingest++;
		rv = msg_strdup(m, "source", &c->source);
		if (rv == DOMINO_OK)
			rv = opt_u64(m, "status", &status);
		if (rv == DOMINO_OK)
			rv = opt_u64(m, "count", &c->count);
		if (rv != DOMINO_OK)
			return rv == DOMINO_ENOTFOUND ? DOMINO_EPROTO : rv;
		if (status > 999)
			return DOMINO_EPROTO;
		c->status = (unsigned)status;
	}
	return DOMINO_OK;
}

static int
read_stats(const msgpack_object *root, struct domino_stats *st)
{
	const msgpack_object *listen = msg_get(root, "listen");
	int rv;

	rv = opt_strdup(root, "version", &st->version);
	if (rv == DOMINO_OK)
		rv = opt_u64(root, "seq", &st->seq);
	if (rv == DOMINO_OK)
		rv = opt_u64(root, "first_seq", &st->first_seq);
	if (rv == DOMINO_OK)
		rv = opt_u64(root, "events", &st->events);
	if (rv == DOMINO_OK)
		rv = opt_u64(root, "uptime_ms", &st->uptime_ms);
	if (rv == DOMINO_OK && listen != NULL &&
	    listen->type == MSGPACK_OBJECT_MAP) {
		rv = opt_strdup(listen, "http", &st->listen_http);
		if (rv == DOMINO_OK)
			rv = opt_strdup(listen, "pub", &st->listen_pub);
		if (rv == DOMINO_OK)
			rv = opt_strdup(listen, "control", &st->listen_control);
		if (rv == DOMINO_OK)
			rv = opt_strdup(listen, "admin", &st->listen_admin);
	}
	if (rv == DOMINO_OK)
		rv = read_sources(root, st);
	if (rv == DOMINO_OK)
		rv = read_counters(root, st);
	if (rv == DOMINO_OK)
		rv = read_ingest(root, st);
	if (rv == DOMINO_OK)
		rv = read_plugins(root, st);
	return rv;
}

int
domino_stats(domino *d, struct domino_stats *out)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn_reply r;
	int rv;

	conn_err_clear();
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (d == NULL || out == NULL)
		return conn_err(DOMINO_EINVAL, "domino_stats: invalid argument");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "stats", 0);
	rv = conn_rpc(d, &sb, &r);
	if (rv != DOMINO_OK)
		goto out;
	rv = read_stats(r.root, out);
	if (rv != DOMINO_OK) {
		domino_stats_clear(out);
		conn_err(rv, "malformed stats reply from the broker (%s)",
		    domino_strerror(rv));
	}
	conn_reply_free(&r);
out:
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}

void
domino_stats_clear(struct domino_stats *st)
{
	if (st == NULL)
		return;
	free(st->version);
	free(st->listen_http);
	free(st->listen_pub);
	free(st->listen_control);
	free(st->listen_admin);
	for (size_t i = 0; i < st->n_sources; i++)
		free(st->sources[i]);
	free(st->sources);
	for (size_t i = 0; i < st->n_ingest; i++)
		free(st->ingest[i].source);
	free(st->ingest);
	for (size_t i = 0; i < st->n_plugins; i++) {
		free(st->plugins[i].name);
		free(st->plugins[i].state);
		free(st->plugins[i].reason);
	}
	free(st->plugins);
	memset(st, 0, sizeof(*st));
}

/* One `log` request: events from `from`, at most `limit`. */
static void
pack_log_req(const domino *d, msgpack_sbuffer *sb,
    const struct domino_log_query *q, uint64_t from, uint64_t limit)
{
	msgpack_packer pk;
	size_t n = 2;

	n += q->filter != NULL && *q->filter != '\0';
	n += q->since != 0;
	n += q->until != 0;
	n += q->with_payload != 0;
	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "log", n);
	msg_pack_ku64(&pk, "from", from);
	msg_pack_ku64(&pk, "limit", limit);
	if (q->filter != NULL && *q->filter != '\0')
		msg_pack_kstr(&pk, "filter", q->filter);
	if (q->since != 0)
		msg_pack_ki64(&pk, "since", q->since);
	if (q->until != 0)
		msg_pack_ki64(&pk, "until", q->until);
	if (q->with_payload)
		msg_pack_kbool(&pk, "payload", 1);
}

/*
 * Read a log reply into p. Takes msg; on success p->evs points into it
 * and the caller frees it. An error reply becomes its error, like
 * conn_rpc().
 */
static int
log_page_read(nng_msg *msg, struct log_page *p)
{
	struct conn_reply er;
	int rv = log_page_parse(nng_msg_body(msg), nng_msg_len(msg), p);

	if (rv == DOMINO_OK)
		return DOMINO_OK;
	if (rv == DOMINO_EREMOTE) {
		if ((rv = conn_decode(msg, &er)) == DOMINO_OK) {
			conn_reply_free(&er);
			rv = conn_err(DOMINO_EPROTO, "reply from the broker lacks 'ok'");
		}
		return rv;
	}
	nng_msg_free(msg);
	return conn_err(DOMINO_EPROTO, "malformed log reply from the broker");
}

/* How many events the next page may bring, given those already seen and
 * n more on their way; 0 when the query's limit is reached. */
static uint64_t
log_want(const struct domino_log_query *q, uint64_t batch, uint64_t seen,
    uint64_t n)
{
	if (q->limit == 0)
		return batch;
	if (seen + n >= q->limit)
		return 0;
	return q->limit - seen - n < batch ? q->limit - seen - n : batch;
}

int
domino_log(domino *d, const struct domino_log_query *q, domino_event_fn cb,
    void *arg, uint64_t *next)
{
	static const struct domino_log_query all = {0};
	msgpack_sbuffer sb;
	struct conn_call call;
	uint64_t from, seen = 0, batch, asked;
	int rv = DOMINO_OK, stop = 0, inflight = 0;

	conn_err_clear();
	if (q == NULL)
		q = &all;
	from = q->from ? q->from : 1;
	if (next != NULL)
		*next = from;
	if (d == NULL || cb == NULL)
		return conn_err(DOMINO_EINVAL, "domino_log: invalid argument");
	batch = q->batch ? q->batch : LOG_BATCH_DEFAULT;
	msgpack_sbuffer_init(&sb);
	asked = from;
	pack_log_req(d, &sb, q, asked, log_want(q, batch, 0, 0));
	rv = conn_call_send(d, sb.data, sb.size, &call);
	inflight = rv == DOMINO_OK;
	while (inflight && !stop) {
		struct log_page p;
		nng_msg *msg;
		uint64_t prev = asked, want;
		int prv = DOMINO_OK;

		inflight = 0;
		if ((rv = conn_call_wait(d, &call, &msg)) != DOMINO_OK ||
		    (rv = log_page_read(msg, &p)) != DOMINO_OK)
			break;
		/* Ask for the next page before working through this one, so
		 * the broker reads it while the callbacks run. Asking from a
		 * next that did not advance would return the same page. */
		if (p.more && p.next > prev &&
		    (want = log_want(q, batch, seen, p.n)) != 0) {
			asked = p.next;
			pack_log_req(d, &sb, q, asked, want);
			prv = conn_call_send(d, sb.data, sb.size, &call);
			inflight = prv == DOMINO_OK;
		}
		if (q->on_gone != NULL && p.has_gone)
			q->on_gone(arg, p.gone[0], p.gone[1],
			    p.first != 0 ? p.first : p.gone[1] + 1);
		for (uint64_t i = 0; i < p.n && !stop; i++) {
			struct domino_event ev;

			rv = event_read(&p.evs, &ev);
			if (rv != DOMINO_OK) {
				conn_err(rv, "malformed event in log reply "
				    "(%s)", domino_strerror(rv));
				break;
			}
			if (ev.seq >= from) {
				from = ev.seq + 1;
				seen++;
				if (cb(arg, &ev) != 0)
					stop = 1;
				if (q->limit != 0 && seen >= q->limit)
					stop = 1;
			}
			domino_event_clear(&ev);
		}
		nng_msg_free(msg);
		if (rv != DOMINO_OK || stop)
			break;
		if (p.next > from)
			from = p.next;
		/* Not asked ahead because the page looked like enough for the
		 * limit, but some of its events were not counted: ask now. */
		if (!inflight && prv == DOMINO_OK && p.more && p.next > prev &&
		    (want = log_want(q, batch, seen, 0)) != 0) {
			asked = p.next;
			pack_log_req(d, &sb, q, asked, want);
			prv = conn_call_send(d, sb.data, sb.size, &call);
			inflight = prv == DOMINO_OK;
		}
		if (p.more && p.next <= prev)
			rv = conn_err(DOMINO_EPROTO,
			    "log reply says more but does not advance");
		else if (prv != DOMINO_OK)
			rv = prv;
	}
	if (inflight)
		conn_call_drop(&call);
	if (next != NULL)
		*next = from;
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}

int
domino_secret(domino *d, const char *source, char **secret, char **token)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn_reply r;
	char *s = NULL, *t = NULL;
	int rv;

	conn_err_clear();
	if (secret != NULL)
		*secret = NULL;
	if (token != NULL)
		*token = NULL;
	if (d == NULL || source == NULL || *source == '\0')
		return conn_err(DOMINO_EINVAL, "domino_secret: no source");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "secret", 1);
	msg_pack_kstr(&pk, "source", source);
	rv = conn_rpc(d, &sb, &r);
	if (rv != DOMINO_OK)
		goto out;
	rv = opt_strdup(r.root, "secret", &s);
	if (rv == DOMINO_OK)
		rv = opt_strdup(r.root, "token", &t);
	conn_reply_free(&r);
	if (rv != DOMINO_OK) {
		conn_err(rv, "malformed secret reply from the broker");
		goto out;
	}
	if (secret != NULL) {
		*secret = s;
		s = NULL;
	}
	if (token != NULL) {
		*token = t;
		t = NULL;
	}
out:
	free(s);
	free(t);
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}
