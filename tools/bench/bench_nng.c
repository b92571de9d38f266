/* SPDX-License-Identifier: MIT */
/*
 * Benchmark driver for bare nng, the transport under domino's control
 * socket (req0/rep0) and live fan-out (pub0/sub0): the ceilings domino's
 * publish and fan-out figures ride on, measured on the same loopback with
 * the same message size.
 *
 *   bench_nng MODE [options]
 *
 * echo    --conc C --secs S --size B   req/s: an in-process rep0 server
 *         with 64 contexts echoes each request; C client threads, each
 *         with its own req0 socket, send and wait synchronously (as
 *         bench_domino's publishers do)
 * pubsub  --subs K --secs S --size B   deliveries/s: one pub0 socket
 *         (NNG_OPT_SENDBUF 8192) sending as fast as it can to K sub0
 *         sockets (NNG_OPT_RECVBUF 8192) subscribed to everything; loss
 *         counted by sequence gaps, as in the other fan-out drivers
 *
 * http    --port P --secs S            nng's HTTP server on 127.0.0.1:P
 *         answering 202 to every POST under /hooks once nng has read its
 *         body, for S seconds (or until SIGTERM); wrk drives it with
 *         scenario 1's requests. domino's webhook endpoint runs on it.
 *
 * echo and pubsub listen on tcp://127.0.0.1 port 0 and dial the bound
 * port. Nothing is stored: these are what nng itself does, not what a
 * broker does.
 * Payload layout as in bench_nats.c.
 */
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define SERVER_CTXS 64
#define QUEUE_DEPTH 8192

static int g_size;
static char g_addr[64];
static atomic_uint_least64_t g_ok, g_err;

static void
check(int rv, const char *what)
{
	if (rv != 0)
		die("%s: %s", what, nng_strerror(rv));
}

/* Listen on an ephemeral loopback port; g_addr gets the address to dial. */
static void
listen_any(nng_socket s)
{
	nng_listener l;
	int port;

	check(nng_listen(s, "tcp://127.0.0.1:0", &l, 0), "listen");
	check(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port),
	    "bound port");
	snprintf(g_addr, sizeof(g_addr), "tcp://127.0.0.1:%d", port);
}

/* ---- echo: req0 clients, rep0 server with contexts --------------------- */

/* One server context: receive, send the same message back, repeat. */
struct echo_ctx {
	nng_aio *aio;
	nng_ctx ctx;
	int sending;
};

/* Set before the server's aios are stopped: no callback re-arms then. */
static atomic_int g_closing;

static void
echo_cb(void *arg)
{
	struct echo_ctx *e = arg;
	nng_msg *m;

	if (e->sending) {
		if (nng_aio_result(e->aio) != 0) {
			/* Not sent: the message is still ours. */
			nng_msg_free(nng_aio_get_msg(e->aio));
		}
		nng_aio_set_msg(e->aio, NULL);
		e->sending = 0;
		if (!atomic_load(&g_closing))
			nng_ctx_recv(e->ctx, e->aio);
		return;
	}
	if (nng_aio_result(e->aio) != 0 || atomic_load(&g_closing)) {
		/* Stopped or closed; a message received meanwhile is ours. */
		if (nng_aio_result(e->aio) == 0)
			nng_msg_free(nng_aio_get_msg(e->aio));
		nng_aio_set_msg(e->aio, NULL);
		return;
	}
	m = nng_aio_get_msg(e->aio);
	nng_aio_set_msg(e->aio, m);
	e->sending = 1;
	nng_ctx_send(e->ctx, e->aio);
}

struct cliarg {
	int idx;
	int64_t deadline;
};

static void *
echo_client(void *arg)
{
	struct cliarg *ca = arg;
	nng_socket s;
	uint64_t n = 0;

	check(nng_req0_open(&s), "req0 open");
	check(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000), "recv timeout");
	check(nng_dial(s, g_addr, NULL, 0), "dial");
	while (mono_ns() < ca->deadline) {
		nng_msg *m;
		if (nng_msg_alloc(&m, (size_t)g_size) != 0)
			die("out of memory");
		fill(nng_msg_body(m), (size_t)g_size);
		put64(nng_msg_body(m), ++n);
		if (nng_sendmsg(s, m, 0) != 0) {
			nng_msg_free(m);
			atomic_fetch_add(&g_err, 1);
			continue;
		}
		if (nng_recvmsg(s, &m, 0) != 0) {
			atomic_fetch_add(&g_err, 1);
			continue;
		}
		if (nng_msg_len(m) == (size_t)g_size &&
		    get64(nng_msg_body(m)) == n)
			atomic_fetch_add(&g_ok, 1);
		else
			atomic_fetch_add(&g_err, 1);
		nng_msg_free(m);
	}
	nng_close(s);
	return NULL;
}

static int
mode_echo(int argc, char **argv)
{
	int conc = (int)arg_long(argc, argv, "--conc", 1);
	double secs = atof(arg_str(argc, argv, "--secs", "3"));
	struct echo_ctx *ec = calloc(SERVER_CTXS, sizeof(*ec));
	pthread_t *t;
	struct cliarg *ca;
	nng_socket srv;
	int64_t t0, el;

	if (conc < 1 || ec == NULL)
		die("echo: needs --conc >= 1");
	check(nng_rep0_open(&srv), "rep0 open");
	for (int i = 0; i < SERVER_CTXS; i++) {
		check(nng_aio_alloc(&ec[i].aio, echo_cb, &ec[i]), "aio");
		check(nng_ctx_open(&ec[i].ctx, srv), "ctx");
	}
	listen_any(srv);
	for (int i = 0; i < SERVER_CTXS; i++)
		nng_ctx_recv(ec[i].ctx, ec[i].aio);

	t = calloc((size_t)conc, sizeof(*t));
	ca = calloc((size_t)conc, sizeof(*ca));
	t0 = mono_ns();
	for (int i = 0; i < conc; i++) {
		ca[i].idx = i;
		ca[i].deadline = t0 + (int64_t)(secs * 1e9);
		pthread_create(&t[i], NULL, echo_client, &ca[i]);
	}
	for (int i = 0; i < conc; i++)
		pthread_join(t[i], NULL);
	el = mono_ns() - t0;
	result("value=%.0f ok=%llu errors=%llu secs=%.2f",
	    (double)atomic_load(&g_ok) / ((double)el / 1e9),
	    (unsigned long long)atomic_load(&g_ok),
	    (unsigned long long)atomic_load(&g_err), (double)el / 1e9);

	/* Stop every aio before its context and socket go away. */
	atomic_store(&g_closing, 1);
	for (int i = 0; i < SERVER_CTXS; i++)
		nng_aio_stop(ec[i].aio);
	for (int i = 0; i < SERVER_CTXS; i++) {
		nng_ctx_close(ec[i].ctx);
		nng_aio_free(ec[i].aio);
	}
	nng_close(srv);
	free(t);
	free(ca);
	free(ec);
	return atomic_load(&g_err) == 0 ? 0 : 1;
}

/* ---- pubsub: one pub0, K sub0 ---------------------------------------- */

/* A subscriber's counters; the main thread reads them atomically. */
struct subst {
	nng_socket s;
	pthread_t t;
	atomic_int ready;         /* heard a hello (seq 0) */
	atomic_uint_least64_t got, gaps, last_seq;
	atomic_llong last_ns;
};

static atomic_int g_stop;

static void *
subscriber(void *arg)
{
	struct subst *ss = arg;

	while (!atomic_load(&g_stop)) {
		nng_msg *m;
		uint64_t seq, last;
		if (nng_recvmsg(ss->s, &m, 0) != 0)
			continue; /* the receive timeout: look at g_stop */
		if (nng_msg_len(m) < 8) {
			nng_msg_free(m);
			continue;
		}
		seq = get64(nng_msg_body(m));
		nng_msg_free(m);
		if (seq == 0) {
			atomic_store(&ss->ready, 1);
			continue;
		}
		last = atomic_load(&ss->last_seq);
		if (seq > last + 1)
			atomic_fetch_add(&ss->gaps, seq - last - 1);
		if (seq > last)
			atomic_store(&ss->last_seq, seq);
		atomic_fetch_add(&ss->got, 1);
		atomic_store(&ss->last_ns, mono_ns());
	}
	return NULL;
}

static uint64_t
total_got(void *arg, int k)
{
	struct subst *ss = arg;
	uint64_t n = 0;

	for (int i = 0; i < k; i++)
		n += atomic_load(&ss[i].got);
	return n;
}


static int
pub_send(nng_socket pub, uint64_t seq)
{
	nng_msg *m;
	int rv;

	if (nng_msg_alloc(&m, (size_t)g_size) != 0)
		return -1;
	fill(nng_msg_body(m), (size_t)g_size);
	put64(nng_msg_body(m), seq);
	put64((char *)nng_msg_body(m) + 8, (uint64_t)wall_ns());
	if ((rv = nng_sendmsg(pub, m, 0)) != 0)
		nng_msg_free(m);
	return rv;
}

static int
mode_pubsub(int argc, char **argv)
{
	int k = (int)arg_long(argc, argv, "--subs", 1);
	double secs = atof(arg_str(argc, argv, "--secs", "3"));
	struct subst *ss = calloc((size_t)k, sizeof(*ss));
	nng_socket pub;
	uint64_t n = 0, got, gaps = 0, expected;
	int64_t t0, end, last = 0;
	int ready;

	if (k < 1 || ss == NULL)
		die("pubsub: needs --subs >= 1");
	check(nng_pub0_open(&pub), "pub0 open");
	check(nng_socket_set_int(pub, NNG_OPT_SENDBUF, QUEUE_DEPTH), "sendbuf");
	listen_any(pub);
	for (int i = 0; i < k; i++) {
		check(nng_sub0_open(&ss[i].s), "sub0 open");
		check(nng_socket_set(ss[i].s, NNG_OPT_SUB_SUBSCRIBE, "", 0),
		    "subscribe");
		check(nng_socket_set_int(ss[i].s, NNG_OPT_RECVBUF, QUEUE_DEPTH),
		    "recvbuf");
		check(nng_socket_set_ms(ss[i].s, NNG_OPT_RECVTIMEO, 100),
		    "recv timeout");
		check(nng_dial(ss[i].s, g_addr, NULL, 0), "dial");
		pthread_create(&ss[i].t, NULL, subscriber, &ss[i]);
	}
	/* pub0 sends only to pipes already attached: say hello until every
	 * subscriber heard one, so the timed run loses nothing to dialing. */
	end = mono_ns() + 10 * (int64_t)1000000000;
	do {
		ready = 0;
		pub_send(pub, 0);
		sleep_ms(10);
		for (int i = 0; i < k; i++)
			ready += atomic_load(&ss[i].ready);
	} while (ready < k && mono_ns() < end);
	if (ready < k)
		die("pubsub: only %d of %d subscribers connected", ready, k);

	t0 = mono_ns();
	end = t0 + (int64_t)(secs * 1e9);
	while (mono_ns() < end)
		for (int j = 0; j < 100; j++)
			if (pub_send(pub, ++n) != 0)
				atomic_fetch_add(&g_err, 1);
	expected = n * (uint64_t)k;
	drain(total_got, ss, k, expected);
	atomic_store(&g_stop, 1);
	for (int i = 0; i < k; i++) {
		uint64_t ls;
		pthread_join(ss[i].t, NULL);
		ls = atomic_load(&ss[i].last_seq);
		gaps += atomic_load(&ss[i].gaps) + (ls < n ? n - ls : 0);
		if (atomic_load(&ss[i].last_ns) > last)
			last = atomic_load(&ss[i].last_ns);
		nng_close(ss[i].s);
	}
	got = total_got(ss, k);
	result("value=%.0f published=%llu delivered=%llu lost=%llu gaps=%llu "
	    "errors=%llu",
	    last > t0 ? (double)got / ((double)(last - t0) / 1e9) : 0,
	    (unsigned long long)n, (unsigned long long)got,
	    (unsigned long long)(expected > got ? expected - got : 0),
	    (unsigned long long)gaps, (unsigned long long)atomic_load(&g_err));
	nng_close(pub);
	free(ss);
	return 0;
}

static void
http_handle(nng_aio *aio)
{
	nng_http_res *res;

	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, 202);
	/* A small JSON answer, as domino gives; it also sets Content-Length. */
	nng_http_res_set_header(res, "Content-Type", "application/json");
	if (nng_http_res_copy_data(res, "{\"ok\":true}", 11) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static volatile sig_atomic_t g_term;

static void
on_term(int sig)
{
	(void)sig;
	g_term = 1;
}

static int
mode_http(int argc, char **argv)
{
	long port = arg_long(argc, argv, "--port", 0);
	long secs = arg_long(argc, argv, "--secs", 60);
	nng_http_server *srv;
	nng_http_handler *h;
	nng_url *url;
	char u[64];
	int rv;

	snprintf(u, sizeof(u), "http://127.0.0.1:%ld", port);
	if ((rv = nng_url_parse(&url, u)) != 0 ||
	    (rv = nng_http_server_hold(&srv, url)) != 0 ||
	    (rv = nng_http_handler_alloc(&h, "/hooks", http_handle)) != 0) {
		fprintf(stderr, "bench_nng: http: %s\n", nng_strerror(rv));
		return 1;
	}
	nng_http_handler_set_method(h, "POST");
	nng_http_handler_set_tree(h);
	nng_http_handler_collect_body(h, true, 1 << 20);
	if ((rv = nng_http_server_add_handler(srv, h)) != 0 ||
	    (rv = nng_http_server_start(srv)) != 0) {
		fprintf(stderr, "bench_nng: http: %s\n", nng_strerror(rv));
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	for (int64_t end = mono_ns() + secs * 1000000000ll;
	    !g_term && mono_ns() < end;)
		sleep_until_mono(mono_ns() + 100000000);
	nng_http_server_release(srv);
	nng_url_free(url);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *mode = arg_mode(argc, argv);

	signal(SIGPIPE, SIG_IGN);
	g_size = (int)arg_long(argc, argv, "--size", 512);
	if (g_size < 20)
		g_size = 20;
	if (strcmp(mode, "echo") == 0)
		return mode_echo(argc, argv);
	if (strcmp(mode, "pubsub") == 0)
		return mode_pubsub(argc, argv);
	if (strcmp(mode, "http") == 0)
		return mode_http(argc, argv);
	fprintf(stderr, "usage: bench_nng echo|pubsub|http [--conc C] [--subs K] "
	    "[--secs S] [--size B] [--port P]\n");
	return 2;
}
