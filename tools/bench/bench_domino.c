/* SPDX-License-Identifier: MIT */
/*
 * Benchmark driver for domino, using only libdomino's public API (and
 * msgpack-c to build `publish` requests, which domino.h leaves to the
 * caller through domino_call()).
 *
 *   bench_domino MODE --control URL --pub URL --token T [options]
 *
 * pub     --conc C --secs S --size B   durable publishes/s from C clients
 * load    --n N --conc C --size B      publish N events (replay preload)
 * fanout  --subs K --conc C --secs S   deliveries/s to K subscribers, gaps
 * lat     --subs K --rate R --secs S   publish-to-subscriber latency
 * replay  --n N                        read N events from seq 1 (domino_log)
 * mem     --subs K --pid P             broker RSS with K subscribers attached
 *
 * Every publish is answered by the broker only after its LMDB commit, so
 * each figure here carries that durability. The event size counts the
 * whole encoded event: the `url` field is padded so that the msgpack event
 * the broker stores and fans out is --size bytes.
 */
#include <msgpack.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "domino.h"

#define REPO "github.com/bench/core"

static const char *g_control, *g_pub, *g_token;
static size_t g_pad; /* url length giving the wanted event size */
static char g_run[32];
static atomic_int g_stop;
static atomic_uint_least64_t g_ok, g_err;
static atomic_llong g_left; /* events still to publish (load, mem) */
static char g_url[4096];

static domino *
open_handle(void)
{
	struct domino_opts o = {0};
	domino *d;

	o.control = g_control;
	o.pub = g_pub;
	o.token = g_token;
	o.timeout_ms = 30000;
	if (domino_open(&d, &o) != DOMINO_OK)
		die("cannot open %s: %s", g_control, domino_errmsg());
	return d;
}

/* Size the url so that the encoded event is `size` bytes. */
static void
calibrate(size_t size)
{
	struct domino_event ev;
	char *buf;
	size_t len;

	domino_event_init(&ev);
	ev.seq = 1;
	ev.time = wall_ns();
	ev.id = "b1234567890-00-00000000";
	ev.source = "generic";
	ev.event = "publish";
	ev.type = "push";
	ev.repo = REPO;
	ev.ref = "refs/heads/main";
	ev.actor = "t1700000000000000000";
	ev.url = "";
	if (domino_event_encode(&ev, &buf, &len) != DOMINO_OK)
		die("cannot encode a sample event");
	free(buf);
	g_pad = size > len + 2 ? size - len - 2 : 11;
	if (g_pad >= sizeof(g_url))
		g_pad = sizeof(g_url) - 1;
	memcpy(g_url, "https://h/", 10);
	fill(g_url + 10, g_pad - 10);
	g_url[g_pad] = '\0';
}

/* One publish; 0 when the broker answered ok after its commit. */
static int
publish(domino *d, msgpack_sbuffer *sb, const char *id, const char *actor)
{
	msgpack_packer pk;
	void *rep = NULL;
	size_t rlen = 0;
	int ok;

	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 7);
#define KSTR(k, v) do { \
		size_t l_ = strlen(v); \
		msgpack_pack_str_with_body(&pk, k, strlen(k)); \
		msgpack_pack_str_with_body(&pk, v, l_); \
	} while (0)
	KSTR("op", "publish");
	KSTR("token", g_token);
	KSTR("repo", REPO);
	KSTR("ref", "refs/heads/main");
	KSTR("id", id);
	KSTR("actor", actor);
	KSTR("url", g_url);
#undef KSTR
	if (domino_call(d, sb->data, sb->size, &rep, &rlen) != DOMINO_OK)
		return -1;
	/* The reply map starts with ok: true (fixstr "ok", 0xc3). */
	ok = rlen > 4 && memmem(rep, rlen > 16 ? 16 : rlen, "\xa2ok\xc3", 4) != NULL;
	free(rep);
	return ok ? 0 : -1;
}

struct pubarg {
	int idx;
	int64_t deadline;   /* mono ns; 0: until g_left runs out */
	double rate;        /* per thread; 0: as fast as possible */
};

static void *
publisher(void *arg)
{
	struct pubarg *pa = arg;
	domino *d = open_handle();
	msgpack_sbuffer sb;
	char id[64], actor[32];
	uint64_t n = 0;
	int64_t next = mono_ns();

	msgpack_sbuffer_init(&sb);
	while (!atomic_load(&g_stop)) {
		if (pa->deadline != 0 && mono_ns() >= pa->deadline)
			break;
		if (pa->deadline == 0 && atomic_fetch_sub(&g_left, 1) <= 0)
			break;
		if (pa->rate > 0) {
			next += (int64_t)(1e9 / pa->rate);
			sleep_until_mono(next);
		}
		snprintf(id, sizeof(id), "b%s-%02d-%08llu", g_run, pa->idx,
		    (unsigned long long)n++);
		snprintf(actor, sizeof(actor), "t%lld", (long long)wall_ns());
		if (publish(d, &sb, id, actor) == 0)
			atomic_fetch_add(&g_ok, 1);
		else
			atomic_fetch_add(&g_err, 1);
	}
	msgpack_sbuffer_destroy(&sb);
	domino_close(d);
	return NULL;
}

/* Run C publishers for secs (or until g_left is 0); returns elapsed ns. */
static int64_t
run_publishers(int conc, double secs, double total_rate)
{
	pthread_t *t = calloc((size_t)conc, sizeof(*t));
	struct pubarg *pa = calloc((size_t)conc, sizeof(*pa));
	int64_t t0 = mono_ns();

	for (int i = 0; i < conc; i++) {
		pa[i].idx = i;
		pa[i].deadline = secs > 0 ? t0 + (int64_t)(secs * 1e9) : 0;
		pa[i].rate = total_rate > 0 ? total_rate / conc : 0;
		pthread_create(&t[i], NULL, publisher, &pa[i]);
	}
	for (int i = 0; i < conc; i++)
		pthread_join(t[i], NULL);
	free(t);
	free(pa);
	return mono_ns() - t0;
}

/* A subscriber's counters; touched only by its own thread until joined. */
struct subst {
	domino_sub *s;
	atomic_uint_least64_t got;
	atomic_uint_least64_t gaps;
	atomic_llong last_ns;
	int lat;
	struct lat samples;
};

static int
on_event(void *arg, const struct domino_event *ev)
{
	struct subst *ss = arg;
	int64_t now = wall_ns();

	if (ss->lat && ev->actor != NULL && ev->actor[0] == 't')
		lat_add(&ss->samples, now - strtoll(ev->actor + 1, NULL, 10));
	atomic_fetch_add(&ss->got, 1);
	atomic_store(&ss->last_ns, mono_ns());
	return 0;
}

static void
on_gap(void *arg, uint64_t from, uint64_t to)
{
	struct subst *ss = arg;

	atomic_fetch_add(&ss->gaps, to - from + 1);
}

static struct subst *
subscribe_all(domino *d, int k, int lat)
{
	struct subst *ss = calloc((size_t)k, sizeof(*ss));

	for (int i = 0; i < k; i++) {
		struct domino_sub_opts o = {0};
		o.filter = REPO;
		o.on_event = on_event;
		o.on_gap = on_gap;
		/* Measure the raw live fan-out: report gaps, do not fill them. */
		o.no_fill = 1;
		o.arg = &ss[i];
		ss[i].lat = lat;
		if (domino_subscribe(d, &o, &ss[i].s) != DOMINO_OK)
			die("subscribe: %s", domino_errmsg());
	}
	for (int i = 0; i < k; i++)
		if (domino_sub_wait_ready(ss[i].s, 10000) != DOMINO_OK)
			die("subscriber %d not ready: %s", i, domino_errmsg());
	return ss;
}

static uint64_t
total_got(struct subst *ss, int k)
{
	uint64_t n = 0;

	for (int i = 0; i < k; i++)
		n += atomic_load(&ss[i].got);
	return n;
}

/* Wait until every expected delivery arrived or nothing moves for 1 s. */
static void
drain(struct subst *ss, int k, uint64_t expected)
{
	uint64_t prev = 0;
	int64_t still = mono_ns();

	for (;;) {
		uint64_t n = total_got(ss, k);
		if (n >= expected)
			return;
		if (n != prev) {
			prev = n;
			still = mono_ns();
		} else if (mono_ns() - still > 1000000000) {
			return;
		}
		sleep_ms(10);
	}
}

static int
mode_fanout(int argc, char **argv, int lat)
{
	int k = (int)arg_long(argc, argv, "--subs", 1);
	int conc = (int)arg_long(argc, argv, "--conc", 50);
	double secs = atof(arg_str(argc, argv, "--secs", "3"));
	double rate = atof(arg_str(argc, argv, "--rate", "0"));
	domino *d = open_handle();
	struct subst *ss = subscribe_all(d, k, lat);
	int64_t t0 = mono_ns(), last = 0;
	uint64_t got, gaps = 0, expected;

	run_publishers(conc, secs, rate);
	expected = atomic_load(&g_ok) * (uint64_t)k;
	drain(ss, k, expected);
	got = total_got(ss, k);
	for (int i = 0; i < k; i++) {
		gaps += atomic_load(&ss[i].gaps);
		if (atomic_load(&ss[i].last_ns) > last)
			last = atomic_load(&ss[i].last_ns);
		domino_unsubscribe(ss[i].s);
	}
	if (lat) {
		struct lat all = {0};
		for (int i = 0; i < k; i++) {
			lat_merge(&all, &ss[i].samples);
			lat_free(&ss[i].samples);
		}
		result("p50=%.1f p99=%.1f p999=%.1f samples=%zu sent=%llu "
		    "rate=%.0f lost=%llu errors=%llu",
		    lat_quantile_us(&all, 0.5), lat_quantile_us(&all, 0.99),
		    lat_quantile_us(&all, 0.999), all.n,
		    (unsigned long long)atomic_load(&g_ok),
		    (double)atomic_load(&g_ok) / secs,
		    (unsigned long long)(expected > got ? expected - got : 0),
		    (unsigned long long)atomic_load(&g_err));
		lat_free(&all);
	} else {
		double el = (double)(last - t0) / 1e9;
		result("value=%.0f published=%llu delivered=%llu lost=%llu "
		    "gaps=%llu errors=%llu",
		    el > 0 ? (double)got / el : 0,
		    (unsigned long long)atomic_load(&g_ok),
		    (unsigned long long)got,
		    (unsigned long long)(expected > got ? expected - got : 0),
		    (unsigned long long)gaps,
		    (unsigned long long)atomic_load(&g_err));
	}
	free(ss);
	domino_close(d);
	return 0;
}

struct replay_st {
	uint64_t n, expect_seq, bad;
};

static int
on_replay(void *arg, const struct domino_event *ev)
{
	struct replay_st *r = arg;

	if (ev->seq != r->expect_seq)
		r->bad++;
	r->expect_seq = ev->seq + 1;
	r->n++;
	return 0;
}

static int
mode_replay(int argc, char **argv)
{
	uint64_t n = (uint64_t)arg_long(argc, argv, "--n", 1000000);
	domino *d = open_handle();
	struct domino_log_query q = {0};
	struct replay_st r = {0, 1, 0};
	int64_t t0 = mono_ns(), el;

	q.from = 1;
	q.limit = n;
	q.batch = (uint32_t)arg_long(argc, argv, "--batch", 1000);
	if (domino_log(d, &q, on_replay, &r, NULL) != DOMINO_OK)
		die("log: %s", domino_errmsg());
	el = mono_ns() - t0;
	result("value=%.0f events=%llu out_of_order=%llu secs=%.2f",
	    (double)r.n / ((double)el / 1e9), (unsigned long long)r.n,
	    (unsigned long long)r.bad, (double)el / 1e9);
	domino_close(d);
	return r.n == n ? 0 : 1;
}

static long
status_kb(int pid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0 &&
		    line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	fclose(f);
	return v;
}

static int
mode_mem(int argc, char **argv)
{
	int k = (int)arg_long(argc, argv, "--subs", 100);
	int pid = (int)arg_long(argc, argv, "--pid", 0);
	domino *d = open_handle();
	struct subst *ss = subscribe_all(d, k, 0);
	struct domino_stats st;

	/* A few events so every subscriber's pipe carried traffic. */
	atomic_store(&g_left, 100);
	run_publishers(4, 0, 0);
	drain(ss, k, 100 * (uint64_t)k);
	if (domino_stats(d, &st) != DOMINO_OK)
		die("stats: %s", domino_errmsg());
	result("value=%.1f rss_anon_mb=%.1f rss_file_mb=%.1f hwm_mb=%.1f "
	    "events=%llu subscribers=%d delivered=%llu",
	    status_kb(pid, "VmRSS") / 1024.0, status_kb(pid, "RssAnon") / 1024.0,
	    status_kb(pid, "RssFile") / 1024.0, status_kb(pid, "VmHWM") / 1024.0,
	    (unsigned long long)st.events, k,
	    (unsigned long long)total_got(ss, k));
	domino_stats_clear(&st);
	for (int i = 0; i < k; i++)
		domino_unsubscribe(ss[i].s);
	free(ss);
	domino_close(d);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *mode = arg_mode(argc, argv);
	/* A peer closing its socket must be an error we report, not death. */
	signal(SIGPIPE, SIG_IGN);


	g_control = arg_str(argc, argv, "--control", DOMINO_CONTROL_DEFAULT);
	g_pub = arg_str(argc, argv, "--pub", NULL);
	g_token = arg_str(argc, argv, "--token", "");
	snprintf(g_run, sizeof(g_run), "%x%llx", (unsigned)getpid(),
	    (unsigned long long)(wall_ns() / 1000) & 0xffffffull);
	calibrate((size_t)arg_long(argc, argv, "--size", 512));
	if (strcmp(mode, "pub") == 0 || strcmp(mode, "load") == 0) {
		int conc = (int)arg_long(argc, argv, "--conc", 1);
		double secs = atof(arg_str(argc, argv, "--secs", "3"));
		int64_t el;
		if (mode[0] == 'l') {
			atomic_store(&g_left, arg_long(argc, argv, "--n", 1000));
			secs = 0;
		}
		el = run_publishers(conc, secs, 0);
		result("value=%.0f ok=%llu errors=%llu secs=%.2f",
		    (double)atomic_load(&g_ok) / ((double)el / 1e9),
		    (unsigned long long)atomic_load(&g_ok),
		    (unsigned long long)atomic_load(&g_err), (double)el / 1e9);
		return atomic_load(&g_err) == 0 ? 0 : 1;
	}
	if (strcmp(mode, "fanout") == 0)
		return mode_fanout(argc, argv, 0);
	if (strcmp(mode, "lat") == 0)
		return mode_fanout(argc, argv, 1);
	if (strcmp(mode, "replay") == 0)
		return mode_replay(argc, argv);
	if (strcmp(mode, "mem") == 0)
		return mode_mem(argc, argv);
	fprintf(stderr, "usage: bench_domino pub|load|fanout|lat|replay|mem "
	    "--control URL --pub URL --token T [options]\n");
	return 2;
}
