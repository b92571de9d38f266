/* SPDX-License-Identifier: MIT */
/*
 * The control socket; see control.h. Several nng contexts each answer one
 * request at a time; the table below is the one place that names every
 * operation and whether a listener token may call it. The operations live
 * in ops_*.c.
 */
#include <msgpack.h>
#include <stdatomic.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "control.h"
#include "err.h"
#include "listener.h"
#include "log.h"
#include "msg.h"
#include "ops.h"
#include "store.h"

#define WORKERS 256 /* requests in progress at once; a publish waits for its commit */

struct worker {
	struct control *c;
	nng_ctx ctx;
	nng_aio *aio;
	int sending;
	nng_msg *msg; /* the request; unpacked objects point into it */
	msgpack_unpacked u;
	msgpack_sbuffer sb;
	struct call call;
};

struct control {
	nng_socket sock;
	struct control_env env;
	struct worker w[WORKERS];
};

/* Read an optional argument; on a wrong type answer and return -1. */
int
arg_u64(struct call *call, const char *key, uint64_t *v)
{
	int rv = msg_u64(call->req, key, v);

	if (rv == DOMINO_EPROTO) {
		msg_error_reply(call->sb, DOMINO_EINVAL,
		    "argument %s must be an unsigned integer", key);
		return -1;
	}
	return 0;
}

int
arg_i64(struct call *call, const char *key, int64_t *v)
{
	int rv = msg_i64(call->req, key, v);

	if (rv == DOMINO_EPROTO) {
		msg_error_reply(call->sb, DOMINO_EINVAL,
		    "argument %s must be an integer (unix nanoseconds)", key);
		return -1;
	}
	return 0;
}

int
may_touch(struct call *call, const char *name)
{
	if (call->admin || strcmp(call->listener, name) == 0)
		return 1;
	msg_error_reply(call->sb, DOMINO_EUNAUTH,
	    "a listener token may only act on its own listener (%s)",
	    call->listener);
	return 0;
}

int
arg_name(struct call *call, const char *key, char *out)
{
	const char *s;
	size_t n;

	if (msg_str(call->req, key, &s, &n) != DOMINO_OK || n == 0 ||
	    n > LISTENER_NAME_MAX) {
		msg_error_reply(call->sb, DOMINO_EINVAL,
		    "argument %s (a listener name) is required", key);
		return -1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* listener_ok: a listener token may call it (on its own listener). */
static const struct {
	const char *name;
	op_fn fn;
	int listener_ok;
} ops[] = {
	{"stats", op_stats, 0},
	{"log", op_log, 0},
	{"secret", op_secret, 0},
	{"publish", op_publish, 0},
	{"ingest", op_ingest, 0},
	{"ack", op_ack, 0},
	{"cursor", op_cursor, 0},
	{"register", op_register, 1},
	{"unregister", op_unregister, 1},
	{"listeners", op_listeners, 0},
	{"listener", op_listener, 1},
	{"impact", op_impact, 0},
	{"deliveries", op_deliveries, 1},
	{"replay", op_replay, 1},
	{"retry", op_retry, 1},
	{"resolve", op_resolve, 1},
	{"enable", op_enable, 1},
	{"disable", op_disable, 1},
	{"report", op_report, 1},
	{"results", op_results, 1},
	{"plugins", op_plugins, 0},
	{"plugin.install", op_plugin_install, 0},
	{"plugin.reload", op_plugin_reload, 0},
};

/*
 * A listener token: the request names its listener (`name`, or
 * `listener.name` for register, or `listener` for deliveries) and the token
 * hashes to the stored one. Fills call->listener.
 */
static int
listener_auth(struct call *call, const char *tok, size_t tokn)
{
	const msgpack_object *lo = msg_get(call->req, "listener");
	const char *s = NULL;
	size_t n = 0;
	struct store_reader *r;
	struct listener l;
	const void *data;
	size_t len;
	int ok = 0;

	if (msg_str(call->req, "name", &s, &n) != DOMINO_OK &&
	    msg_str(lo, "name", &s, &n) != DOMINO_OK &&
	    msg_str(call->req, "listener", &s, &n) != DOMINO_OK)
		return 0;
	if (n == 0 || n > LISTENER_NAME_MAX)
		return 0;
	memcpy(call->listener, s, n);
	call->listener[n] = '\0';
	if (store_reader_open(call->env->st, &r) != DOMINO_OK)
		return 0;
	if (store_listener_get(store_reader_view(r), call->listener, &data,
	    &len) == DOMINO_OK && listener_decode(data, len, &l) == DOMINO_OK) {
		ok = listener_token_ok(&l, tok, tokn);
		listener_clear(&l);
	}
	store_reader_close(r);
	if (!ok)
		call->listener[0] = '\0';
	return ok;
}

/* Returns OP_DONE when wk->sb holds the reply. */
static int
dispatch(struct worker *wk)
{
	struct control *c = wk->c;
	struct call *call = &wk->call;
	const char *op, *tok;
	size_t opn, tokn;
	int rv;

	memset(call, 0, sizeof(*call));
	call->env = &c->env;
	call->wk = wk;
	call->sb = &wk->sb;
	msgpack_packer_init(&call->pk, call->sb, msgpack_sbuffer_write);
	rv = msg_unpack(nng_msg_body(wk->msg), nng_msg_len(wk->msg), &wk->u);
	if (rv != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_EINVAL,
		    "the request is not a well-formed msgpack map within limits (%s)",
		    domino_strerror(rv));
		return OP_DONE;
	}
	call->req = &wk->u.data;
	if (msg_str(call->req, "op", &op, &opn) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "the request has no op (string)");
		return OP_DONE;
	}
	if (msg_str(call->req, "token", &tok, &tokn) != DOMINO_OK) {
		tok = NULL;
		tokn = 0;
	}
	call->admin = auth_is_admin(c->env.auth, tok, tokn);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strlen(ops[i].name) != opn || memcmp(ops[i].name, op, opn) != 0)
			continue;
		if (!call->admin && !(ops[i].listener_ok &&
		    listener_auth(call, tok, tokn))) {
			msg_error_reply(call->sb, DOMINO_EUNAUTH, "missing or wrong "
			    "token; use the admin token from <data>/admin.token%s",
			    ops[i].listener_ok ? " or this listener's own token" : "");
			log_msg(LOG_WARN, "control: unauthorized op=%s", ops[i].name);
			return OP_DONE;
		}
		return ops[i].fn(call);
	}
	msg_error_reply(call->sb, DOMINO_EINVAL, "unknown op \"%.*s\"",
	    (int)(opn > 64 ? 64 : opn), op);
	return OP_DONE;
}

/*
 * Empty the reply buffer for the next request. One that grew past
 * SB_KEEP (a `log` page is up to LOG_REPLY_BYTES) is freed rather than
 * kept: WORKERS buffers each holding a large page would be most of the
 * broker's memory.
 */
#define SB_KEEP (64 * 1024)

static void
release_sb(struct worker *wk)
{
	if (wk->sb.alloc > SB_KEEP) {
		msgpack_sbuffer_destroy(&wk->sb);
		msgpack_sbuffer_init(&wk->sb);
	} else {
		msgpack_sbuffer_clear(&wk->sb);
	}
}

/* Send the reply in wk->sb and release the request. */
void
call_finish(struct call *call)
{
	struct worker *wk = call->wk;
	nng_msg *m = wk->msg;

	msgpack_unpacked_destroy(&wk->u);
	wk->msg = NULL;
	nng_msg_clear(m);
	if (nng_msg_append(m, wk->sb.data, wk->sb.size) != 0) {
		nng_msg_free(m);
		release_sb(wk);
		nng_ctx_recv(wk->ctx, wk->aio);
		return;
	}
	release_sb(wk);
	wk->sending = 1;
	nng_aio_set_msg(wk->aio, m);
	nng_ctx_send(wk->ctx, wk->aio);
}

static void
worker_cb(void *arg)
{
	struct worker *wk = arg;
	int rv = nng_aio_result(wk->aio);

	if (wk->sending) {
		wk->sending = 0;
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(wk->aio));
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			return;
		nng_ctx_recv(wk->ctx, wk->aio);
		return;
	}
	if (rv != 0) {
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
			nng_ctx_recv(wk->ctx, wk->aio);
		return;
	}
	wk->msg = nng_aio_get_msg(wk->aio);
	msgpack_unpacked_init(&wk->u);
	msgpack_sbuffer_clear(&wk->sb);
	if (dispatch(wk) == OP_DONE)
		call_finish(&wk->call);
}

int
control_open(const char *url, const struct control_env *env,
    struct nng_tls_config *tls, struct control **out, char **bound, char *err,
    size_t errlen)
{
	struct control *c;
	nng_listener l;
	int rv, port = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DOMINO_ENOMEM;
	c->env = *env;
	if ((rv = nng_rep0_open(&c->sock)) != 0)
		goto fail;
	nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ,
	    (size_t)env->cfg->limits.max_control);
	for (int i = 0; i < WORKERS; i++) {
		c->w[i].c = c;
		msgpack_sbuffer_init(&c->w[i].sb);
		if ((rv = nng_ctx_open(&c->w[i].ctx, c->sock)) != 0 ||
		    (rv = nng_aio_alloc(&c->w[i].aio, worker_cb, &c->w[i])) != 0)
			goto fail;
	}
	if ((rv = nng_listener_create(&l, c->sock, url)) != 0)
		goto fail;
	if (strncmp(url, "tls+", 4) == 0 &&
	    (tls == NULL || (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG,
	    tls)) != 0)) {
		if (tls == NULL)
			rv = NNG_ENOTSUP;
		goto fail;
	}
	if ((rv = nng_listener_start(l, 0)) != 0)
		goto fail;
	*bound = NULL;
	if ((strncmp(url, "tcp://", 6) == 0 || strncmp(url, "tls+tcp://", 10) == 0) &&
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0) {
		const char *host = strstr(url, "://") + 3, *colon = strrchr(host, ':');
		int hl = colon ? (int)(colon - host) : (int)strlen(host);
		if (asprintf(bound, "%.*s%.*s:%d", (int)(host - url), url, hl, host,
		    port) < 0)
			*bound = NULL;
	}
	if (*bound == NULL)
		*bound = strdup(url);
	c->env.control = *bound; /* before the first request can ask */
	for (int i = 0; i < WORKERS; i++)
		nng_ctx_recv(c->w[i].ctx, c->w[i].aio);
	*out = c;
	return DOMINO_OK;
fail:
	snprintf(err, errlen, "cannot listen for control requests on %s: %s",
	    url, rv == NNG_ENOTSUP && tls == NULL ? "a tls+ URL needs tls.cert "
	    "and tls.key in the config" : nng_strerror(rv));
	nng_close(c->sock);
	for (int i = 0; i < WORKERS; i++) {
		if (c->w[i].aio != NULL)
			nng_aio_free(c->w[i].aio);
		msgpack_sbuffer_destroy(&c->w[i].sb);
	}
	free(c);
	return DOMINO_ETRANSPORT;
}

void
control_set_config(struct control *c, const struct config *cfg)
{
	atomic_store(&c->env.cfg, cfg);
}

void
control_close(struct control *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < WORKERS; i++)
		nng_aio_stop(c->w[i].aio);
	nng_close(c->sock);
	for (int i = 0; i < WORKERS; i++) {
		nng_aio_free(c->w[i].aio);
		if (c->w[i].msg != NULL) {
			msgpack_unpacked_destroy(&c->w[i].u);
			nng_msg_free(c->w[i].msg);
		}
		msgpack_sbuffer_destroy(&c->w[i].sb);
	}
	free(c);
}
