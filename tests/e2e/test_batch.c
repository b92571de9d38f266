/* SPDX-License-Identifier: MIT */
/*
 * Many events per request, end to end through the real dominod: `publish`
 * with `events` (domino_publish_many and `domino publish --batch`) stores
 * them in one commit, all or none, and the live fan-out sends the run of
 * one topic as one message, which a raw nng subscriber sees as a batch
 * and a libdomino subscriber unpacks into single events in seq order.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"

#define REPO "github.com/batch/core"

static struct broker b;
static domino *d;

static void
setup(void)
{
	struct domino_opts o = {0};

	cr_assert_eq(h_broker_start(&b, "heartbeat: 100ms\n"), 0,
	    "dominod did not start");
	o.control = b.control;
	o.token = b.token;
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
}

static void
teardown(void)
{
	domino_close(d);
	d = NULL;
	if (b.pid > 0)
		cr_assert_eq(h_broker_stop(&b), 0,
		    "dominod did not exit 0 on SIGTERM");
	h_broker_cleanup(&b);
}

TestSuite(batch, .init = setup, .fini = teardown, .timeout = 120);

/* What a libdomino subscriber saw: seqs and refs in arrival order. */
struct seen {
	pthread_mutex_t mu;
	uint64_t seq[64];
	char ref[64][32];
	int n;
};

static int
on_event(void *arg, const struct domino_event *ev)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->mu);
	if (s->n < 64) {
		s->seq[s->n] = ev->seq;
		snprintf(s->ref[s->n], sizeof(s->ref[0]), "%s",
		    ev->ref ? ev->ref : "");
		s->n++;
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int
seen_n(struct seen *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* A raw sub0 socket on the broker's pub address, connected once a
 * heartbeat came through. */
static nng_socket
raw_sub(void)
{
	nng_socket s;
	nng_msg *m;

	cr_assert_eq(nng_sub0_open(&s), 0);
	cr_assert_eq(nng_socket_set(s, NNG_OPT_SUB_SUBSCRIBE, "", 0), 0);
	cr_assert_eq(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000), 0);
	cr_assert_eq(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 0), 0);
	cr_assert_eq(nng_dial(s, b.pub, NULL, 0), 0);
	for (;;) {
		int hb;
		cr_assert_eq(nng_recvmsg(s, &m, 0), 0, "no heartbeat");
		hb = nng_msg_len(m) > 0 && ((char *)nng_msg_body(m))[0] == '\0';
		nng_msg_free(m);
		if (hb)
			return s;
	}
}

/*
 * The next event message: *count events (1 for a lone event, the array's
 * length for a batch) under topic repo NUL ref NUL, ref copied out.
 */
static void
next_event_msg(nng_socket s, char *ref, size_t cap, uint32_t *count)
{
	nng_msg *m;
	const uint8_t *p;
	size_t len, rl;

	for (;;) {
		cr_assert_eq(nng_recvmsg(s, &m, 0), 0, "no event message");
		p = nng_msg_body(m);
		len = nng_msg_len(m);
		if (len > 0 && p[0] != '\0')
			break;
		nng_msg_free(m); /* a heartbeat */
	}
	cr_assert(len > strlen(REPO) + 2 && memcmp(p, REPO, strlen(REPO)) == 0 &&
	    p[strlen(REPO)] == '\0', "topic");
	p += strlen(REPO) + 1;
	rl = strlen((const char *)p);
	snprintf(ref, cap, "%s", (const char *)p);
	p += rl + 1;
	if (p[0] == 0xdd)
		*count = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
		    (uint32_t)p[3] << 8 | p[4];
	else if ((p[0] & 0xf0) == 0x80 || p[0] == 0xde || p[0] == 0xdf)
		*count = 1;
	else
		cr_assert_fail("the body is neither an event nor a batch: %02x",
		    p[0]);
	nng_msg_free(m);
}

Test(batch, one_request_is_one_commit_and_one_live_message_per_topic)
{
	struct domino_publish_args a[7];
	struct domino_published res;
	struct seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct domino_sub_opts so = {.on_event = on_event, .arg = &s,
	    .heartbeat_ms = 100, .filter = REPO};
	domino_sub *sub;
	nng_socket raw = raw_sub();
	char ref[64];
	uint32_t count;

	cr_assert_eq(domino_subscribe(d, &so, &sub), DOMINO_OK, "%s",
	    domino_errmsg());
	cr_assert_eq(domino_sub_wait_ready(sub, 10000), DOMINO_OK);
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 7; i++) {
		a[i].repo = REPO;
		a[i].ref = i == 5 ? "dev" : "main";
	}
	a[1].id = "dup-in-batch";
	a[3].id = "dup-in-batch";
	cr_assert_eq(domino_publish_many(d, a, 7, &res), DOMINO_OK, "%s",
	    domino_errmsg());
	cr_assert_eq(res.n_events, 7);
	cr_assert_eq(res.seq, 1);
	cr_assert_not(res.duplicate);
	cr_assert(res.events[3].duplicate, "an id repeated in the batch");
	cr_assert_eq(res.events[3].seq, res.events[1].seq);
	cr_assert_eq(res.events[6].seq, 6, "six new events");
	domino_published_clear(&res);

	/* main x4 (the duplicate is not published again), dev, main. */
	next_event_msg(raw, ref, sizeof(ref), &count);
	cr_assert_str_eq(ref, "refs/heads/main");
	cr_assert_eq(count, 4, "the run of main went out as one batch");
	next_event_msg(raw, ref, sizeof(ref), &count);
	cr_assert_str_eq(ref, "refs/heads/dev");
	cr_assert_eq(count, 1);
	next_event_msg(raw, ref, sizeof(ref), &count);
	cr_assert_str_eq(ref, "refs/heads/main");
	cr_assert_eq(count, 1);
	nng_close(raw);

	for (int i = 0; i < 100 && seen_n(&s) < 6; i++)
		usleep(50000);
	cr_assert_eq(seen_n(&s), 6);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(s.seq[i], (uint64_t)i + 1, "event %d has seq %llu",
		    i, (unsigned long long)s.seq[i]);
	cr_assert_str_eq(s.ref[4], "refs/heads/dev");
	cr_assert_str_eq(s.ref[5], "refs/heads/main");
	domino_unsubscribe(sub);
}

/* A raw publish request with n events, the one at bad with type "nope". */
static int
raw_publish(size_t n, size_t bad, char *text, size_t cap)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	void *rep = NULL;
	size_t rlen = 0;
	int rv;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "op", 2);
	msgpack_pack_str_with_body(&pk, "publish", 7);
	msgpack_pack_str_with_body(&pk, "token", 5);
	msgpack_pack_str_with_body(&pk, b.token, strlen(b.token));
	msgpack_pack_str_with_body(&pk, "events", 6);
	msgpack_pack_array(&pk, n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_map(&pk, 1 + (i == bad));
		msgpack_pack_str_with_body(&pk, "repo", 4);
		msgpack_pack_str_with_body(&pk, REPO, strlen(REPO));
		if (i == bad) {
			msgpack_pack_str_with_body(&pk, "type", 4);
			msgpack_pack_str_with_body(&pk, "nope", 4);
		}
	}
	rv = domino_call(d, sb.data, sb.size, &rep, &rlen);
	msgpack_sbuffer_destroy(&sb);
	snprintf(text, cap, "%.*s", (int)rlen, rep ? (char *)rep : "");
	for (size_t i = 0; i + 1 < cap && i < rlen; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	free(rep);
	return rv;
}

static uint64_t
last_seq(void)
{
	struct domino_stats st;
	uint64_t seq;

	cr_assert_eq(domino_stats(d, &st), DOMINO_OK, "%s", domino_errmsg());
	seq = st.seq;
	domino_stats_clear(&st);
	return seq;
}

Test(batch, a_bad_event_refuses_the_whole_request)
{
	struct domino_publish_args a[3] = {{.repo = REPO}, {.repo = REPO},
	    {.repo = REPO}};
	struct domino_published res;
	char text[512];

	a[2].type = "nope";
	cr_assert_eq(domino_publish_many(d, a, 3, &res), DOMINO_EINVAL);
	cr_assert_not_null(strstr(domino_errmsg(), "events[2]: unknown type"),
	    "%s", domino_errmsg());
	cr_assert_eq(last_seq(), 0, "a refused request stored something");

	a[2].type = NULL;
	a[1].repo = "not-a-repo";
	cr_assert_eq(domino_publish_many(d, a, 3, &res), DOMINO_EINVAL);
	cr_assert_not_null(strstr(domino_errmsg(), "events[1]: argument repo"),
	    "%s", domino_errmsg());
	cr_assert_eq(domino_publish_many(d, a, 0, &res), DOMINO_EINVAL);
	cr_assert_eq(domino_publish_many(d, a, DOMINO_PUBLISH_MAX + 1, &res),
	    DOMINO_ETOOBIG);

	/* The broker's own limits, past the library's checks. */
	cr_assert_eq(raw_publish(DOMINO_PUBLISH_MAX + 1, (size_t)-1, text,
	    sizeof(text)), DOMINO_OK);
	cr_assert_not_null(strstr(text, "1 to 1000 events"), "%s", text);
	cr_assert_eq(raw_publish(0, (size_t)-1, text, sizeof(text)), DOMINO_OK);
	cr_assert_not_null(strstr(text, "invalid"), "%s", text);
	cr_assert_eq(raw_publish(DOMINO_PUBLISH_MAX, 999, text, sizeof(text)),
	    DOMINO_OK);
	cr_assert_not_null(strstr(text, "events[999]: unknown type"), "%s",
	    text);
	cr_assert_eq(last_seq(), 0);

	/* And a full one is stored whole. */
	cr_assert_eq(raw_publish(DOMINO_PUBLISH_MAX, (size_t)-1, text,
	    sizeof(text)), DOMINO_OK);
	cr_assert_eq(last_seq(), DOMINO_PUBLISH_MAX);
}

Test(batch, cli_publish_batch_reads_json_lines)
{
	char path[400], *out = NULL;
	const char *argv[] = {"publish", "--batch", path, NULL};
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/events.jsonl", b.dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "{\"repo\": \"" REPO "\", \"ref\": \"main\", \"id\": \"c-1\"}\n"
	    "\n"
	    "{\"repo\": \"" REPO "\", \"type\": \"tag\", \"ref\": \"refs/tags/v1\","
	    " \"depends_on\": [\"github.com/o/x#1\"]}\n"
	    "{\"repo\": \"" REPO "\", \"id\": \"c-1\"}\n");
	fclose(f);
	cr_assert_eq(h_cli(&b, argv, &out), 0, "%s", out ? out : "");
	cr_assert_not_null(strstr(out, "seq 1 id c-1\n"), "%s", out);
	cr_assert_not_null(strstr(out, "seq 2 id "), "%s", out);
	cr_assert_not_null(strstr(out, "duplicate: id c-1 is already seq 1"),
	    "%s", out);
	for (const char *p = out; (p = strchr(p, '\n')) != NULL; p++)
		n++;
	cr_assert_eq(n, 3, "one line per event: %s", out);
	free(out);
	cr_assert_eq(last_seq(), 2);

	/* A bad line stops the run before its request goes out. */
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "{\"repo\": \"" REPO "\"}\n{\"repo\": 7}\n");
	fclose(f);
	out = NULL;
	cr_assert_eq(h_cli(&b, argv, &out), 1);
	free(out);
	cr_assert_eq(last_seq(), 2, "nothing from the bad request was stored");
}

/*
 * Concurrent domino_publish() calls on one handle go out together (the
 * library's group commit, client/publish.c). Each caller must still get
 * its own answer: its own seq, the duplicate flag of its own id, and a
 * refusal only for its own bad event, in the words of a single publish.
 */
#define CT_THREADS 12
#define CT_EACH 40

struct ct_result {
	int tid;
	uint64_t seq[CT_EACH];
	int rv[CT_EACH];
	int dup[CT_EACH];
	char err[CT_EACH][128];
};

/* Every 7th event of a thread has an unknown type; the 5th of each
 * thread carries the same id. */
static int
ct_bad(int i)
{
	return i % 7 == 3;
}

static void *
ct_publisher(void *arg)
{
	struct ct_result *r = arg;

	for (int i = 0; i < CT_EACH; i++) {
		struct domino_publish_args a = {.repo = REPO, .ref = "main"};
		struct domino_published res;
		char id[64];

		if (i == 5)
			snprintf(id, sizeof(id), "shared-id");
		else
			snprintf(id, sizeof(id), "t%d-%d", r->tid, i);
		a.id = id;
		if (ct_bad(i))
			a.type = "nope";
		r->rv[i] = domino_publish(d, &a, &res);
		if (r->rv[i] == DOMINO_OK) {
			r->seq[i] = res.seq;
			r->dup[i] = res.duplicate;
			if (strcmp(res.id, id) != 0)
				r->rv[i] = -100; /* someone else's answer */
			domino_published_clear(&res);
		} else {
			snprintf(r->err[i], sizeof(r->err[i]), "%s",
			    domino_errmsg());
		}
	}
	return NULL;
}

Test(batch, concurrent_publishes_on_one_handle_each_get_their_own_answer)
{
	static struct ct_result r[CT_THREADS];
	static char seen[CT_THREADS * CT_EACH + 1];
	pthread_t th[CT_THREADS];
	uint64_t shared_seq = 0;
	int firsts = 0, stored = 0;

	for (int t = 0; t < CT_THREADS; t++) {
		r[t].tid = t;
		cr_assert_eq(pthread_create(&th[t], NULL, ct_publisher, &r[t]), 0);
	}
	for (int t = 0; t < CT_THREADS; t++)
		pthread_join(th[t], NULL);

	for (int t = 0; t < CT_THREADS; t++) {
		for (int i = 0; i < CT_EACH; i++) {
			if (ct_bad(i)) {
				cr_assert_eq(r[t].rv[i], DOMINO_EINVAL,
				    "thread %d event %d: %d", t, i, r[t].rv[i]);
				cr_assert_not_null(strstr(r[t].err[i],
				    "unknown type"), "%s", r[t].err[i]);
				cr_assert_null(strstr(r[t].err[i], "events["),
				    "a batch's index leaked to a caller: %s",
				    r[t].err[i]);
				continue;
			}
			cr_assert_eq(r[t].rv[i], DOMINO_OK,
			    "thread %d event %d: %d %s", t, i, r[t].rv[i],
			    r[t].err[i]);
			cr_assert(r[t].seq[i] >= 1 &&
			    r[t].seq[i] <= CT_THREADS * CT_EACH);
			if (i == 5) {
				if (shared_seq == 0)
					shared_seq = r[t].seq[i];
				cr_assert_eq(r[t].seq[i], shared_seq,
				    "one id, one seq");
				firsts += !r[t].dup[i];
				continue;
			}
			cr_assert_not(r[t].dup[i]);
			cr_assert_not(seen[r[t].seq[i]], "seq %llu given twice",
			    (unsigned long long)r[t].seq[i]);
			seen[r[t].seq[i]] = 1;
			stored++;
		}
	}
	cr_assert_eq(firsts, 1, "exactly one caller stored the shared id");
	cr_assert_not(seen[shared_seq], "the shared id's seq given to another");
	cr_assert_eq(last_seq(), (uint64_t)stored + 1,
	    "every accepted event stored once, nothing else");
}
