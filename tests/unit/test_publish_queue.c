/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the group commit of client/publish.c against a scripted
 * broker (a rep0 socket on inproc in this process): concurrent
 * domino_publish() calls on one handle go out together, each caller gets
 * its own answer, a refusal that names an event fails only that caller,
 * one that names none sends every event again alone, a caller that keeps
 * publishing bad events does not starve the others, a batch answered
 * wrongly is not sent again (it may be stored), and a batch stays under
 * its byte budget.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domino.h"

/* How the scripted broker answers a request of more than one event. */
enum script {
	BATCH_OK,        /* store them */
	BATCH_REFUSE,    /* refuse as a whole, naming no event */
	BATCH_BAD_TYPE,  /* refuse the first event of type "nope" by index */
	BATCH_SHORT,     /* store them, answer for one fewer */
};

static struct {
	nng_socket sock;
	pthread_t th;
	enum script script;
	char url[64];
	atomic_int requests, batches, max_events;
	atomic_size_t max_bytes;
	atomic_int seq;
	atomic_int saw_long_id;
} fk;

static domino *d;

/* The string value of key in map m, or NULL. */
static const msgpack_object *
get(const msgpack_object *m, const char *key)
{
	if (m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR &&
		    k->via.str.size == strlen(key) &&
		    memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

static int
is(const msgpack_object *o, const char *s)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(s) &&
	    memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static void
pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void
pack_obj_str(msgpack_packer *pk, const msgpack_object *o)
{
	msgpack_pack_str_with_body(pk, o->via.str.ptr, o->via.str.size);
}

static void
pack_error(msgpack_packer *pk, const char *msg)
{
	msgpack_pack_map(pk, 2);
	pack_str(pk, "ok");
	msgpack_pack_false(pk);
	pack_str(pk, "err");
	msgpack_pack_map(pk, 2);
	pack_str(pk, "code");
	pack_str(pk, "invalid");
	pack_str(pk, "msg");
	pack_str(pk, msg);
}

/* Answer one request in root into pk. */
static void
answer(const msgpack_object *root, size_t len, msgpack_packer *pk)
{
	const msgpack_object *evs = get(root, "events");
	const msgpack_object *id;
	uint32_t n;
	char msg[64];

	atomic_fetch_add(&fk.requests, 1);
	if (evs == NULL) {
		id = get(root, "id");
		if (is(get(root, "type"), "nope")) {
			pack_error(pk, "unknown type 'nope'");
			return;
		}
		if (id != NULL && id->via.str.size > 256)
			atomic_store(&fk.saw_long_id, 1);
		msgpack_pack_map(pk, 3);
		pack_str(pk, "ok");
		msgpack_pack_true(pk);
		pack_str(pk, "seq");
		msgpack_pack_uint64(pk, (uint64_t)atomic_fetch_add(&fk.seq, 1) + 1);
		pack_str(pk, "id");
		pack_obj_str(pk, id);
		return;
	}
	n = evs->via.array.size;
	atomic_fetch_add(&fk.batches, 1);
	if ((int)n > atomic_load(&fk.max_events))
		atomic_store(&fk.max_events, (int)n);
	if (len > atomic_load(&fk.max_bytes))
		atomic_store(&fk.max_bytes, len);
	if (fk.script == BATCH_REFUSE) {
		pack_error(pk, "the scripted broker refuses every batch");
		return;
	}
	for (uint32_t i = 0; fk.script == BATCH_BAD_TYPE && i < n; i++) {
		if (is(get(&evs->via.array.ptr[i], "type"), "nope")) {
			snprintf(msg, sizeof(msg), "events[%u]: unknown type 'nope'",
			    i);
			pack_error(pk, msg);
			return;
		}
	}
	msgpack_pack_map(pk, 4);
	pack_str(pk, "ok");
	msgpack_pack_true(pk);
	pack_str(pk, "seq");
	msgpack_pack_uint64(pk, (uint64_t)atomic_load(&fk.seq) + 1);
	pack_str(pk, "id");
	pack_obj_str(pk, get(&evs->via.array.ptr[0], "id"));
	pack_str(pk, "events");
	msgpack_pack_array(pk, n - (fk.script == BATCH_SHORT));
	if (fk.script == BATCH_SHORT)
		atomic_fetch_add(&fk.seq, 1);
	for (uint32_t i = fk.script == BATCH_SHORT; i < n; i++) {
		msgpack_pack_map(pk, 2);
		pack_str(pk, "seq");
		msgpack_pack_uint64(pk,
		    (uint64_t)atomic_fetch_add(&fk.seq, 1) + 1);
		pack_str(pk, "id");
		pack_obj_str(pk, get(&evs->via.array.ptr[i], "id"));
	}
}

static void *
broker(void *arg)
{
	(void)arg;
	for (;;) {
		nng_msg *m;
		msgpack_unpacked u;
		msgpack_sbuffer sb;
		msgpack_packer pk;
		struct timespec slow = {0, 2000000};

		if (nng_recvmsg(fk.sock, &m, 0) != 0)
			return NULL;
		/* Slow enough that callers pile up behind a request. */
		nanosleep(&slow, NULL);
		msgpack_unpacked_init(&u);
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		if (msgpack_unpack_next(&u, nng_msg_body(m), nng_msg_len(m),
		    NULL) == MSGPACK_UNPACK_SUCCESS)
			answer(&u.data, nng_msg_len(m), &pk);
		else
			pack_error(&pk, "malformed");
		nng_msg_clear(m);
		nng_msg_append(m, sb.data, sb.size);
		msgpack_sbuffer_destroy(&sb);
		msgpack_unpacked_destroy(&u);
		if (nng_sendmsg(fk.sock, m, 0) != 0)
			nng_msg_free(m);
	}
}

static void
start(enum script s)
{
	static atomic_int n;
	struct domino_opts o = {0};

	memset(&fk, 0, sizeof(fk));
	fk.script = s;
	snprintf(fk.url, sizeof(fk.url), "inproc://pubq-%d",
	    atomic_fetch_add(&n, 1));
	cr_assert_eq(nng_rep0_open(&fk.sock), 0);
	cr_assert_eq(nng_listen(fk.sock, fk.url, NULL, 0), 0);
	cr_assert_eq(pthread_create(&fk.th, NULL, broker, NULL), 0);
	o.control = fk.url;
	o.timeout_ms = 20000;
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
}

static void
stop(void)
{
	domino_close(d);
	d = NULL;
	nng_close(fk.sock);
	pthread_join(fk.th, NULL);
}

TestSuite(pubq, .fini = stop, .timeout = 60);

#define THREADS 8
#define EACH 25

struct caller {
	int tid;
	int bad;             /* publish type "nope" every time */
	size_t url_len;      /* pad each event with a url this long */
	int ok, failed, wrong;
	char last_err[256];
};

static void *
caller(void *arg)
{
	struct caller *c = arg;
	char *url = NULL;

	if (c->url_len > 0) {
		url = malloc(c->url_len + 1);
		memset(url, 'u', c->url_len);
		url[c->url_len] = '\0';
	}
	for (int i = 0; i < EACH; i++) {
		struct domino_publish_args a = {.repo = "github.com/o/r"};
		struct domino_published res;
		char id[64];
		int rv;

		snprintf(id, sizeof(id), "c%d-%d", c->tid, i);
		a.id = id;
		a.url = url;
		if (c->bad)
			a.type = "nope";
		rv = domino_publish(d, &a, &res);
		if (rv == DOMINO_OK) {
			c->ok++;
			/* Someone else's answer, or someone else's error text. */
			if (res.n_events != 1 || strcmp(res.id, id) != 0 ||
			    strcmp(res.events[0].id, id) != 0 ||
			    domino_errmsg()[0] != '\0')
				c->wrong++;
			domino_published_clear(&res);
		} else {
			c->failed++;
			snprintf(c->last_err, sizeof(c->last_err), "%s",
			    domino_errmsg());
		}
	}
	free(url);
	return NULL;
}

/* Every one of the n callers published all its events, each answered
 * with its own. */
static void
assert_all_ok(const struct caller *c, int n)
{
	for (int i = 0; i < n; i++) {
		cr_assert_eq(c[i].ok, EACH, "caller %d: %s", i, c[i].last_err);
		cr_assert_eq(c[i].wrong, 0, "caller %d got another's answer", i);
	}
}

static void
run(struct caller *c, int n)
{
	pthread_t th[THREADS];

	for (int i = 0; i < n; i++) {
		c[i].tid = i;
		cr_assert_eq(pthread_create(&th[i], NULL, caller, &c[i]), 0);
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

Test(pubq, concurrent_calls_share_requests_and_get_their_own_answers)
{
	struct caller c[THREADS] = {0};

	start(BATCH_OK);
	run(c, THREADS);
	assert_all_ok(c, THREADS);
	cr_assert_gt(atomic_load(&fk.batches), 0, "no call shared a request");
	cr_assert_lt(atomic_load(&fk.requests), THREADS * EACH,
	    "%d requests for %d events", atomic_load(&fk.requests),
	    THREADS * EACH);
	cr_assert_eq(atomic_load(&fk.seq), THREADS * EACH);
}

Test(pubq, a_batch_refused_without_an_index_is_sent_again_one_by_one)
{
	struct caller c[THREADS] = {0};

	start(BATCH_REFUSE);
	run(c, THREADS);
	assert_all_ok(c, THREADS);
	cr_assert_gt(atomic_load(&fk.batches), 0, "no batch was tried");
	cr_assert_eq(atomic_load(&fk.seq), THREADS * EACH,
	    "every event stored once, alone");
}

Test(pubq, a_caller_that_keeps_failing_fails_alone_and_starves_no_one)
{
	struct caller c[THREADS] = {0};

	start(BATCH_BAD_TYPE);
	for (int i = 0; i < THREADS; i += 2)
		c[i].bad = 1;
	run(c, THREADS);
	for (int i = 0; i < THREADS; i++) {
		if (c[i].bad) {
			cr_assert_eq(c[i].failed, EACH);
			cr_assert_str_eq(c[i].last_err, "unknown type 'nope'",
			    "the caller sees its own refusal, without the "
			    "batch's index: %s", c[i].last_err);
			continue;
		}
		cr_assert_eq(c[i].ok, EACH, "caller %d: %s", i, c[i].last_err);
		cr_assert_eq(c[i].wrong, 0);
	}
	cr_assert_eq(atomic_load(&fk.seq), THREADS / 2 * EACH);
}

Test(pubq, a_batch_stays_under_its_byte_budget)
{
	struct caller c[THREADS] = {0};

	start(BATCH_OK);
	for (int i = 0; i < THREADS; i++)
		c[i].url_len = 20000;
	run(c, THREADS);
	for (int i = 0; i < THREADS; i++)
		cr_assert_eq(c[i].ok, EACH, "caller %d: %s", i, c[i].last_err);
	cr_assert_gt(atomic_load(&fk.max_events), 1, "no batch formed");
	cr_assert_leq(atomic_load(&fk.max_bytes), 64 * 1024,
	    "a batch of %zu bytes", atomic_load(&fk.max_bytes));
}

Test(pubq, an_id_the_broker_would_refuse_is_refused_before_sending)
{
	struct domino_publish_args a = {.repo = "github.com/o/r"};
	struct domino_published res;
	char id[300];

	start(BATCH_OK);
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	a.id = id;
	cr_assert_eq(domino_publish(d, &a, &res), DOMINO_EINVAL);
	cr_assert_not_null(strstr(domino_errmsg(), "longer than 256"), "%s",
	    domino_errmsg());
	cr_assert_eq(atomic_load(&fk.requests), 0);
	cr_assert_eq(atomic_load(&fk.saw_long_id), 0);
}

Test(pubq, a_batch_answered_wrongly_fails_and_is_not_sent_again)
{
	struct caller c[THREADS] = {0};
	int failed = 0;

	start(BATCH_SHORT);
	run(c, THREADS);
	for (int i = 0; i < THREADS; i++) {
		cr_assert_eq(c[i].ok + c[i].failed, EACH);
		cr_assert_eq(c[i].wrong, 0);
		failed += c[i].failed;
	}
	cr_assert_gt(atomic_load(&fk.batches), 0, "no batch was tried");
	cr_assert_gt(failed, 0, "a garbled answer was taken as success");
	/* The broker may have stored a batch it answered wrongly: sending
	 * it again could store it twice. */
	cr_assert_eq(atomic_load(&fk.seq), THREADS * EACH,
	    "%d events stored for %d publishes", atomic_load(&fk.seq),
	    THREADS * EACH);
}
