/* SPDX-License-Identifier: MIT */
/*
 * Benchmark driver for Redis with hiredis, the peer's own C client.
 *
 *   bench_redis MODE --host 127.0.0.1 --port P [options]
 *
 * xadd    --conc C --secs S --size B   XADD/s from C connections, one
 *         command in flight each (the reply comes after the AOF write, and
 *         with appendfsync always after its fsync); --pipeline B sends B
 *         XADDs before reading their B replies
 * fanout  --subs K --secs S --size B   PUBLISH (pipelined by 100) to K
 *         SUBSCRIBE connections: deliveries/s, gaps
 * lat     --subs K --rate R --secs S --conc P   XADD paced, K readers in
 *         XREAD BLOCK: latency per delivery
 * load    --n N --size B               XADD N entries to stream rep
 *         (pipelined by 1000)
 * replay  --n N                        XRANGE rep in pages of --page
 *
 * Payload layout as in bench_nats.c.
 */
#include <hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common.h"

#define MAXPUB 256

static const char *g_host;
static long g_pipe = 1; /* XADDs per round trip (xadd) */
static int g_port, g_size;
static atomic_uint_least64_t g_ok, g_err;
static atomic_int g_stop;

static redisContext *
conn(void)
{
	redisContext *c = redisConnect(g_host, g_port);

	if (c == NULL || c->err)
		die("redis connect %s:%d: %s", g_host, g_port,
		    c ? c->errstr : "no memory");
	return c;
}

static void
payload(char *buf, uint64_t seq, int idx)
{
	put64(buf, seq);
	put64(buf + 8, (uint64_t)wall_ns());
	buf[16] = 0;
	buf[17] = 0;
	buf[18] = (char)(idx >> 8);
	buf[19] = (char)idx;
}

struct pubarg {
	int idx;
	int64_t deadline;
	int64_t period;     /* ns between sends; 0: as fast as possible */
	int64_t first;      /* mono ns of the first paced send */
	const char *key;
};

static void *
xadder(void *arg)
{
	struct pubarg *pa = arg;
	redisContext *c = conn();
	char *buf = malloc((size_t)g_size);
	uint64_t n = 0;
	int64_t next = pa->first;

	/* Slots missed while connecting are skipped, not sent in a burst. */
	while (pa->period > 0 && next < mono_ns())
		next += pa->period;
	fill(buf, (size_t)g_size);
	while (mono_ns() < pa->deadline) {
		redisReply *r;
		if (pa->period > 0) {
			sleep_until_mono(next);
			next += pa->period;
		}
		if (g_pipe > 1 && pa->period == 0) {
			long ok = 0;
			for (long i = 0; i < g_pipe; i++) {
				payload(buf, ++n, pa->idx);
				redisAppendCommand(c, "XADD %s * d %b", pa->key,
				    buf, (size_t)g_size);
			}
			for (long i = 0; i < g_pipe; i++) {
				void *rv = NULL;
				if (redisGetReply(c, &rv) != REDIS_OK)
					break;
				r = rv;
				ok += r->type == REDIS_REPLY_STRING;
				freeReplyObject(r);
			}
			atomic_fetch_add(&g_ok, (uint64_t)ok);
			atomic_fetch_add(&g_err, (uint64_t)(g_pipe - ok));
			if (ok < g_pipe)
				break;
			continue;
		}
		payload(buf, ++n, pa->idx);
		r = redisCommand(c, "XADD %s * d %b", pa->key, buf,
		    (size_t)g_size);
		if (r != NULL && r->type == REDIS_REPLY_STRING)
			atomic_fetch_add(&g_ok, 1);
		else
			atomic_fetch_add(&g_err, 1);
		if (r != NULL)
			freeReplyObject(r);
		else
			break;
	}
	free(buf);
	redisFree(c);
	return NULL;
}

static int64_t
run_xadders(int conc, double secs, double rate, const char *key)
{
	pthread_t t[MAXPUB];
	struct pubarg pa[MAXPUB];
	int64_t t0 = mono_ns(), period;

	if (conc > MAXPUB)
		conc = MAXPUB;
	period = rate > 0 ? (int64_t)(1e9 * conc / rate) : 0;
	for (int i = 0; i < conc; i++) {
		pa[i].idx = i;
		pa[i].deadline = t0 + (int64_t)(secs * 1e9);
		pa[i].period = period;
		pa[i].first = pace_first(t0, period, i, conc);
		pa[i].key = key;
		pthread_create(&t[i], NULL, xadder, &pa[i]);
	}
	for (int i = 0; i < conc; i++)
		pthread_join(t[i], NULL);
	return mono_ns() - t0;
}

/* A subscriber thread: SUBSCRIBE (fanout) or XREAD BLOCK (lat). */
struct subst {
	pthread_t thr;
	redisContext *c;
	atomic_uint_least64_t got;
	uint64_t gaps, last[MAXPUB];
	atomic_llong last_ns;
	int lat;
	struct lat samples;
	atomic_int ready;
};

static void
account(struct subst *ss, const char *d, size_t len)
{
	int64_t now = wall_ns();

	if (len >= 20) {
		uint64_t seq = get64(d);
		unsigned idx = ((unsigned)(unsigned char)d[18] << 8) |
		    (unsigned char)d[19];
		if (idx < MAXPUB) {
			if (seq > ss->last[idx] + 1)
				ss->gaps += seq - ss->last[idx] - 1;
			if (seq > ss->last[idx])
				ss->last[idx] = seq;
		}
		if (ss->lat)
			lat_add(&ss->samples, now - (int64_t)get64(d + 8));
	}
	atomic_fetch_add(&ss->got, 1);
	atomic_store(&ss->last_ns, mono_ns());
}

static void *
subscriber(void *arg)
{
	struct subst *ss = arg;
	redisReply *r = redisCommand(ss->c, "SUBSCRIBE fan");

	if (r != NULL)
		freeReplyObject(r);
	atomic_store(&ss->ready, 1);
	while (!atomic_load(&g_stop)) {
		void *rp = NULL;
		if (redisGetReply(ss->c, &rp) != REDIS_OK) {
			break; /* stop_subs() shut the socket down */
		}
		r = rp;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3)
			account(ss, r->element[2]->str, r->element[2]->len);
		freeReplyObject(r);
	}
	return NULL;
}

static void *
xreader(void *arg)
{
	struct subst *ss = arg;
	char last[64] = "$";

	atomic_store(&ss->ready, 1);
	while (!atomic_load(&g_stop)) {
		redisReply *r = redisCommand(ss->c,
		    "XREAD COUNT 1000 BLOCK 200 STREAMS lat %s", last);
		if (r == NULL)
			break;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
			redisReply *ents = r->element[0]->element[1];
			for (size_t i = 0; i < ents->elements; i++) {
				redisReply *e = ents->element[i];
				redisReply *f = e->element[1];
				if (f->elements >= 2)
					account(ss, f->element[1]->str,
					    f->element[1]->len);
				snprintf(last, sizeof(last), "%s",
				    e->element[0]->str);
			}
		}
		freeReplyObject(r);
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


static struct subst *
start_subs(int k, int lat)
{
	struct subst *ss = calloc((size_t)k, sizeof(*ss));

	for (int i = 0; i < k; i++) {
		ss[i].c = conn();
		ss[i].lat = lat;
		pthread_create(&ss[i].thr, NULL, lat ? xreader : subscriber,
		    &ss[i]);
	}
	for (int i = 0; i < k; i++)
		while (!atomic_load(&ss[i].ready))
			sleep_ms(1);
	sleep_ms(300); /* XREAD $ / SUBSCRIBE reach the server */
	return ss;
}

static void
stop_subs(struct subst *ss, int k)
{
	atomic_store(&g_stop, 1);
	for (int i = 0; i < k; i++)
		if (!ss[i].lat)
			shutdown(ss[i].c->fd, SHUT_RDWR);
	for (int i = 0; i < k; i++) {
		pthread_join(ss[i].thr, NULL);
		redisFree(ss[i].c);
	}
}

static int
mode_fanout(int argc, char **argv)
{
	int k = (int)arg_long(argc, argv, "--subs", 1);
	double secs = atof(arg_str(argc, argv, "--secs", "3"));
	struct subst *ss = start_subs(k, 0);
	redisContext *pub = conn();
	char *buf = malloc((size_t)g_size);
	uint64_t n = 0, got, gaps = 0;
	int64_t t0 = mono_ns(), end = t0 + (int64_t)(secs * 1e9), last = 0;

	fill(buf, (size_t)g_size);
	while (mono_ns() < end) {
		for (int j = 0; j < 100; j++) {
			payload(buf, ++n, 0);
			redisAppendCommand(pub, "PUBLISH fan %b", buf,
			    (size_t)g_size);
		}
		for (int j = 0; j < 100; j++) {
			void *r = NULL;
			if (redisGetReply(pub, &r) != REDIS_OK)
				die("publish: %s", pub->errstr);
			freeReplyObject(r);
		}
	}
	drain(total_got, ss, k, n * (uint64_t)k);
	got = total_got(ss, k);
	stop_subs(ss, k);
	for (int i = 0; i < k; i++) {
		if (ss[i].last[0] < n)
			ss[i].gaps += n - ss[i].last[0];
		gaps += ss[i].gaps;
		if (atomic_load(&ss[i].last_ns) > last)
			last = atomic_load(&ss[i].last_ns);
	}
	result("value=%.0f published=%llu delivered=%llu lost=%llu gaps=%llu",
	    (double)got / ((double)(last - t0) / 1e9), (unsigned long long)n,
	    (unsigned long long)got, (unsigned long long)(n * (uint64_t)k - got),
	    (unsigned long long)gaps);
	redisFree(pub);
	free(buf);
	free(ss);
	return 0;
}

static int
mode_lat(int argc, char **argv)
{
	int k = (int)arg_long(argc, argv, "--subs", 10);
	int conc = (int)arg_long(argc, argv, "--conc", 16);
	double secs = atof(arg_str(argc, argv, "--secs", "3"));
	double rate = atof(arg_str(argc, argv, "--rate", "1000"));
	struct subst *ss = start_subs(k, 1);
	struct lat all = {0};
	uint64_t expected, got;

	run_xadders(conc, secs, rate, "lat");
	expected = atomic_load(&g_ok) * (uint64_t)k;
	drain(total_got, ss, k, expected);
	got = total_got(ss, k);
	stop_subs(ss, k);
	for (int i = 0; i < k; i++) {
		lat_merge(&all, &ss[i].samples);
		lat_free(&ss[i].samples);
	}
	result("p50=%.1f p99=%.1f p999=%.1f samples=%zu sent=%llu rate=%.0f "
	    "lost=%llu errors=%llu", lat_quantile_us(&all, 0.5),
	    lat_quantile_us(&all, 0.99), lat_quantile_us(&all, 0.999), all.n,
	    (unsigned long long)atomic_load(&g_ok),
	    (double)atomic_load(&g_ok) / secs,
	    (unsigned long long)(expected > got ? expected - got : 0),
	    (unsigned long long)atomic_load(&g_err));
	lat_free(&all);
	free(ss);
	return 0;
}

static int
mode_load(int argc, char **argv)
{
	long n = arg_long(argc, argv, "--n", 1000), errs = 0;
	redisContext *c = conn();
	char *buf = malloc((size_t)g_size);
	int64_t t0 = mono_ns(), el;

	fill(buf, (size_t)g_size);
	for (long i = 0; i < n;) {
		long m = n - i < 1000 ? n - i : 1000;
		for (long j = 0; j < m; j++) {
			payload(buf, (uint64_t)(i + j + 1), 0);
			redisAppendCommand(c, "XADD rep * d %b", buf,
			    (size_t)g_size);
		}
		for (long j = 0; j < m; j++) {
			redisReply *r = NULL;
			if (redisGetReply(c, (void **)&r) != REDIS_OK)
				die("xadd: %s", c->errstr);
			if (r->type == REDIS_REPLY_ERROR && errs++ == 0)
				fprintf(stderr, "bench_redis: load: %s\n", r->str);
			freeReplyObject(r);
		}
		i += m;
	}
	el = mono_ns() - t0;
	result("value=%.0f ok=%ld errors=%ld secs=%.2f",
	    (double)(n - errs) / ((double)el / 1e9), n - errs, errs,
	    (double)el / 1e9);
	free(buf);
	redisFree(c);
	return 0;
}

static int
mode_replay(int argc, char **argv)
{
	long n = arg_long(argc, argv, "--n", 1000000);
	long page = arg_long(argc, argv, "--page", 1000);
	redisContext *c = conn();
	char start[64] = "-";
	long got = 0;
	int64_t t0 = mono_ns(), el;

	while (got < n) {
		redisReply *r = redisCommand(c, "XRANGE rep %s + COUNT %ld",
		    start, page);
		if (r == NULL || r->type != REDIS_REPLY_ARRAY)
			die("xrange: %s", c->errstr);
		if (r->elements == 0) {
			freeReplyObject(r);
			break;
		}
		got += (long)r->elements;
		snprintf(start, sizeof(start), "(%s",
		    r->element[r->elements - 1]->element[0]->str);
		freeReplyObject(r);
	}
	el = mono_ns() - t0;
	result("value=%.0f events=%ld secs=%.2f",
	    (double)got / ((double)el / 1e9), got, (double)el / 1e9);
	redisFree(c);
	if (got < n)
		fprintf(stderr, "bench_redis: replay: the stream holds %ld of "
		    "the %ld events\n", got, n);
	return got >= n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *mode = arg_mode(argc, argv);
	/* A peer closing its socket must be an error we report, not death. */
	signal(SIGPIPE, SIG_IGN);


	g_host = arg_str(argc, argv, "--host", "127.0.0.1");
	g_port = (int)arg_long(argc, argv, "--port", 6379);
	g_size = (int)arg_long(argc, argv, "--size", 512);
	if (g_size < 20)
		g_size = 20;
	g_pipe = arg_long(argc, argv, "--pipeline", 1);
	if (strcmp(mode, "xadd") == 0) {
		int conc = (int)arg_long(argc, argv, "--conc", 1);
		double secs = atof(arg_str(argc, argv, "--secs", "3"));
		int64_t el = run_xadders(conc, secs, 0, "pub");
		result("value=%.0f ok=%llu errors=%llu secs=%.2f",
		    (double)atomic_load(&g_ok) / ((double)el / 1e9),
		    (unsigned long long)atomic_load(&g_ok),
		    (unsigned long long)atomic_load(&g_err), (double)el / 1e9);
		return atomic_load(&g_err) == 0 ? 0 : 1;
	}
	if (strcmp(mode, "fanout") == 0)
		return mode_fanout(argc, argv);
	if (strcmp(mode, "lat") == 0)
		return mode_lat(argc, argv);
	if (strcmp(mode, "load") == 0)
		return mode_load(argc, argv);
	if (strcmp(mode, "replay") == 0)
		return mode_replay(argc, argv);
	fprintf(stderr, "usage: bench_redis xadd|fanout|lat|load|replay "
	    "--host H --port P [options]\n");
	return 2;
}
