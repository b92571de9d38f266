/* SPDX-License-Identifier: MIT */
/*
 * The control transport of libdomino: one request and its reply on a fresh
 * nng context, so several threads can share one req0 socket (each context
 * keeps its own request id and timer). It also owns the error text behind
 * domino_errmsg() and the logger plumbing. It does not know any operation;
 * domino.c builds the requests and reads the results.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "err.h"
#include "msg.h"

#define ERRMSG_MAX 512
#define LOGLINE_MAX 1024

static _Thread_local char errmsg[ERRMSG_MAX];

void
conn_logf(const domino *d, int level, const char *fmt, ...)
{
	char line[LOGLINE_MAX];
	va_list ap;

	if (d == NULL || d->log == NULL || level > d->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	d->log(d->log_arg, level, line);
}

int
conn_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return err;
}

void
conn_err_clear(void)
{
	errmsg[0] = '\0';
}

int
conn_err_default(int err)
{
	if (err != DOMINO_OK && errmsg[0] == '\0')
		snprintf(errmsg, sizeof(errmsg), "%s", domino_strerror(err));
	return err;
}

const char *
conn_errmsg(void)
{
	return errmsg;
}

int
conn_nng_err(int nrv, const char *what)
{
	int err;

	switch (nrv) {
	case 0:
		return DOMINO_OK;
	case NNG_ENOMEM:
		err = DOMINO_ENOMEM;
		break;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
	case NNG_ENOTSUP:
		err = DOMINO_EINVAL;
		break;
	case NNG_ETIMEDOUT:
		err = DOMINO_ETIMEDOUT;
		break;
	case NNG_ECLOSED:
		err = DOMINO_ECLOSED;
		break;
	case NNG_EMSGSIZE:
		err = DOMINO_ETOOBIG;
		break;
	default:
		err = DOMINO_ETRANSPORT;
		break;
	}
	return conn_err(err, "%s: %s", what, nng_strerror(nrv));
}

void
conn_req_begin(const domino *d, msgpack_packer *pk, const char *op,
    size_t nargs)
{
	msgpack_pack_map(pk, nargs + 1 + (d->token != NULL));
	msg_pack_kstr(pk, "op", op);
	if (d->token != NULL)
		msg_pack_kstr(pk, "token", d->token);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remaining time of a call that started at t0; NNG_DURATION_INFINITE
 * without a timeout. Never 0, which nng would take as "do not wait". */
static nng_duration
remaining(const domino *d, int64_t t0)
{
	int64_t left;

	if (d->timeout_ms < 0)
		return NNG_DURATION_INFINITE;
	left = d->timeout_ms - (now_ms() - t0);
	return left > 0 ? (nng_duration)left : 1;
}

int
conn_call_send(domino *d, const void *req, size_t len, struct conn_call *c)
{
	nng_msg *m = NULL;
	int nrv;

	memset(c, 0, sizeof(*c));
	c->t0 = now_ms();
	if ((nrv = nng_ctx_open(&c->ctx, d->sock)) != 0)
		return conn_nng_err(nrv, "control");
	c->open = 1;
	nrv = nng_aio_alloc(&c->aio, NULL, NULL);
	if (nrv == 0)
		nrv = nng_msg_alloc(&m, len);
	if (nrv != 0) {
		conn_call_drop(c);
		return conn_nng_err(nrv, "control");
	}
	memcpy(nng_msg_body(m), req, len);
	nng_aio_set_msg(c->aio, m);
	nng_aio_set_timeout(c->aio, remaining(d, c->t0));
	nng_ctx_send(c->ctx, c->aio);
	nng_aio_wait(c->aio);
	if ((nrv = nng_aio_result(c->aio)) != 0) {
		/* The message stays ours when the send failed. */
		nng_aio_set_msg(c->aio, NULL);
		nng_msg_free(m);
		conn_call_drop(c);
		return conn_nng_err(nrv, d->control);
	}
	/* The reply is received in the background until conn_call_wait(). */
	nng_aio_set_timeout(c->aio, remaining(d, c->t0));
	nng_ctx_recv(c->ctx, c->aio);
	return DOMINO_OK;
}

int
conn_call_wait(domino *d, struct conn_call *c, nng_msg **reply)
{
	int nrv, rv = DOMINO_OK;

	*reply = NULL;
	nng_aio_wait(c->aio);
	nrv = nng_aio_result(c->aio);
	if (nrv == NNG_ETIMEDOUT)
		rv = conn_err(DOMINO_ETIMEDOUT,
		    "no reply from the broker at %s within %d ms", d->control,
		    d->timeout_ms);
	else if (nrv != 0)
		rv = conn_nng_err(nrv, d->control);
	else
		*reply = nng_aio_get_msg(c->aio);
	nng_aio_set_msg(c->aio, NULL);
	conn_call_drop(c);
	return rv;
}

void
conn_call_drop(struct conn_call *c)
{
	if (c->aio != NULL) {
		nng_aio_stop(c->aio);
		if (nng_aio_result(c->aio) == 0 && nng_aio_get_msg(c->aio) != NULL)
			nng_msg_free(nng_aio_get_msg(c->aio));
		nng_aio_free(c->aio);
	}
	if (c->open)
		nng_ctx_close(c->ctx);
	memset(c, 0, sizeof(*c));
}

int
conn_roundtrip(domino *d, const void *req, size_t len, nng_msg **reply)
{
	struct conn_call c;
	int rv = conn_call_send(d, req, len, &c);

	*reply = NULL;
	return rv != DOMINO_OK ? rv : conn_call_wait(d, &c, reply);
}

/* Turn {ok: false, err: {code, msg}} into a status and error text. */
static int
error_reply(const msgpack_object *root)
{
	const msgpack_object *e = msg_get(root, "err");
	const char *code = NULL, *text = NULL;
	size_t ncode = 0, ntext = 0;
	char cbuf[64];
	int err;

	if (e == NULL || e->type != MSGPACK_OBJECT_MAP)
		return conn_err(DOMINO_EREMOTE,
		    "the broker answered with an error but did not say which");
	if (msg_str(e, "code", &code, &ncode) != DOMINO_OK)
		code = NULL;
	if (msg_str(e, "msg", &text, &ntext) != DOMINO_OK)
		text = NULL;
	if (code != NULL && ncode < sizeof(cbuf)) {
		memcpy(cbuf, code, ncode);
		cbuf[ncode] = '\0';
		err = domino_err_from_code(cbuf);
	} else {
		err = DOMINO_EREMOTE;
	}
	if (text != NULL && ntext > 0)
		return conn_err(err, "%.*s", (int)(ntext > 480 ? 480 : ntext),
		    text);
	return conn_err(err, "%s", domino_strerror(err));
}

int
conn_decode(nng_msg *msg, struct conn_reply *r)
{
	int rv, ok = 0;

	memset(r, 0, sizeof(*r));
	msgpack_unpacked_init(&r->u);
	r->msg = msg;
	rv = msg_unpack(nng_msg_body(r->msg), nng_msg_len(r->msg), &r->u);
	if (rv != DOMINO_OK) {
		rv = conn_err(DOMINO_EPROTO,
		    "malformed reply from the broker (%s)", domino_strerror(rv));
		goto out;
	}
	r->root = &r->u.data;
	if (msg_bool(r->root, "ok", &ok) != DOMINO_OK) {
		rv = conn_err(DOMINO_EPROTO, "reply from the broker lacks 'ok'");
		goto out;
	}
	if (!ok)
		rv = error_reply(r->root);
out:
	if (rv != DOMINO_OK)
		conn_reply_free(r);
	return rv;
}

int
conn_rpc(domino *d, const msgpack_sbuffer *req, struct conn_reply *r)
{
	nng_msg *msg;
	int rv;

	memset(r, 0, sizeof(*r));
	msgpack_unpacked_init(&r->u);
	rv = conn_roundtrip(d, req->data, req->size, &msg);
	return rv != DOMINO_OK ? rv : conn_decode(msg, r);
}

void
conn_reply_free(struct conn_reply *r)
{
	msgpack_unpacked_destroy(&r->u);
	if (r->msg != NULL)
		nng_msg_free(r->msg);
	r->msg = NULL;
	r->root = NULL;
}

/* Shared by conn_close_socket() and its closer thread; the last of the
 * two to finish frees it. */
struct closer {
	nng_socket sock;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int refs;
};

static void
closer_release(struct closer *c)
{
	int last;

	pthread_mutex_lock(&c->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (last) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		free(c);
	}
}

static void *
closer_main(void *arg)
{
	struct closer *c = arg;

	nng_close(c->sock);
	pthread_mutex_lock(&c->mu);
	c->done = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	closer_release(c);
	return NULL;
}

void
conn_close_socket(const domino *d, nng_socket sock, const char *what)
{
	struct closer *c = calloc(1, sizeof(*c));
	struct timespec dl;
	pthread_t t;
	int done;

	if (c == NULL) {
		nng_close(sock);
		return;
	}
	c->sock = sock;
	c->refs = 2;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&t, NULL, closer_main, c) != 0) {
		c->refs = 1;
		closer_release(c);
		nng_close(sock);
		return;
	}
	pthread_detach(t);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += CONN_CLOSE_WAIT_MS / 1000;
	dl.tv_nsec += (long)(CONN_CLOSE_WAIT_MS % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->mu);
	while (!c->done &&
	    pthread_cond_timedwait(&c->cv, &c->mu, &dl) == 0)
		;
	done = c->done;
	pthread_mutex_unlock(&c->mu);
	if (!done)
		conn_logf(d, DOMINO_LOG_WARN, "closing the %s socket did not "
		    "finish in %d ms (a known nng 1.5.2 hang); going on "
		    "without it", what, CONN_CLOSE_WAIT_MS);
	closer_release(c);
}

int
conn_dial(nng_socket s, const char *url, const char *ca_file, int flags,
    nng_dialer *out)
{
	nng_dialer dl;
	char host[256];
	const char *h, *end;
	int nrv;

	if (strncmp(url, "tls+", 4) != 0)
		return nng_dial(s, url, out, flags);
	if ((nrv = nng_dialer_create(&dl, s, url)) != 0)
		return nrv;
	h = strstr(url, "://");
	h = h ? h + 3 : url;
	end = strrchr(h, ':');
	snprintf(host, sizeof(host), "%.*s", (int)(end ? end - h : (long)strlen(h)), h);
	nrv = nng_dialer_set_string(dl, NNG_OPT_TLS_SERVER_NAME, host);
	if (nrv == 0 && ca_file != NULL)
		nrv = nng_dialer_set_string(dl, NNG_OPT_TLS_CA_FILE, ca_file);
	if (nrv == 0)
		nrv = nng_dialer_start(dl, flags);
	if (nrv != 0) {
		nng_dialer_close(dl);
		return nrv;
	}
	if (out != NULL)
		*out = dl;
	return 0;
}
