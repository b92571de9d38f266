/* SPDX-License-Identifier: MIT */
/*
 * Internal to libdomino: the handle struct, the control transport (one
 * request/reply on its own nng context) and the two side channels every
 * module needs, the logger and the thread-local error text. Not installed;
 * the public API is domino.h.
 */
#ifndef DOMINO_CONN_H
#define DOMINO_CONN_H

#include <msgpack.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stddef.h>

#include "domino.h"

/* Largest reply accepted: a control message plus framing slack. */
#define CONN_RECV_MAX (32u * 1024 * 1024 + 64 * 1024)

struct domino_sub;
struct pub_waiter;

struct domino {
	nng_socket sock;     /* req0, dialled to control */
	char *control;
	char *token;         /* NULL: requests carry none */
	int timeout_ms;      /* < 0: forever */
	domino_log_fn log;
	void *log_arg;
	int log_level;
	char *ca_file;       /* for tls+tcp:// dials, or NULL */

	pthread_mutex_t mu;  /* guards pub and subs */
	char *pub;           /* fan-out address, learnt lazily */
	struct domino_sub *subs; /* open subscriptions (sub.c) */

	/* domino_publish() calls waiting to share a request (publish.c). */
	pthread_mutex_t pq_mu;
	struct pub_waiter *pq_head, *pq_tail;
	int pq_inflight;     /* publish requests sent and not yet answered */
};

/* A decoded control reply; root is the {ok: true, ...} map. */
struct conn_reply {
	nng_msg *msg;        /* owns the bytes root points into */
	msgpack_unpacked u;
	const msgpack_object *root;
};

/*
 * nng_dial, except that a tls+tcp:// url gets a dialer that verifies the
 * broker against ca_file and the url's host. Returns an nng error code.
 */
int conn_dial(nng_socket s, const char *url, const char *ca_file, int flags,
    nng_dialer *out);

/* Log a line through the handle's logger when level passes its filter. */
void conn_logf(const domino *d, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set the calling thread's error text and return err. */
int conn_err(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Empty the calling thread's error text (start of every public call). */
void conn_err_clear(void);

/* Fill in domino_strerror(err) when err is set and no text was given. */
int conn_err_default(int err);

/* The thread's error text (domino_errmsg). */
const char *conn_errmsg(void);

/* Map an nng error to enum domino_err, setting the error text to
 * "WHAT: nng's text". */
int conn_nng_err(int nrv, const char *what);

/*
 * Start a request map in pk: the map header for nargs further pairs plus
 * op and (when the handle has one) token, then op and token themselves.
 */
void conn_req_begin(const domino *d, msgpack_packer *pk, const char *op,
    size_t nargs);

/* Send len bytes, wait for the reply (within the handle's timeout). On
 * success *reply owns the reply message. */
int conn_roundtrip(domino *d, const void *req, size_t len, nng_msg **reply);

/*
 * conn_roundtrip() in two halves, so that a caller can have a request in
 * flight while it works (each call has its own nng context):
 * conn_call_send() sends and starts receiving; conn_call_wait() gets the
 * reply (conn_decode() decodes it like conn_rpc()), conn_call_drop()
 * abandons it. Each ends the call.
 */
struct conn_call {
	nng_ctx ctx;
	nng_aio *aio;
	int64_t t0;
	int open;
};

int conn_call_send(domino *d, const void *req, size_t len, struct conn_call *c);
int conn_call_wait(domino *d, struct conn_call *c, nng_msg **reply);
void conn_call_drop(struct conn_call *c);

/*
 * conn_roundtrip() plus decoding: the reply is pre-checked and unpacked;
 * {ok: false, err} becomes domino_err_from_code(code) with err.msg as the
 * error text. On success r holds the reply (conn_reply_free); on failure
 * r needs no freeing.
 */
int conn_rpc(domino *d, const msgpack_sbuffer *req, struct conn_reply *r);

/* The decoding of conn_rpc() on a reply message, which r then owns
 * (and frees on failure). */
int conn_decode(nng_msg *msg, struct conn_reply *r);

void conn_reply_free(struct conn_reply *r);

/*
 * nng_close(sock), waiting at most CONN_CLOSE_WAIT_MS for it. nng 1.5.2
 * can hang in nng_close() (nng issue #1543: its reaper waits for a task
 * that never starts); then the close is left to a detached thread, a
 * warning is logged and the caller goes on rather than hang.
 */
#define CONN_CLOSE_WAIT_MS 2000
void conn_close_socket(const domino *d, nng_socket sock, const char *what);

#endif
