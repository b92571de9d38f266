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
 *
 * pub takes --shared 1: every client thread calls domino_publish() on one
 * shared handle, which sends concurrent calls together in one request.
 * pub, load and fanout take --batch B: each request publishes B events
 * (domino_publish_many, one commit and one answer for all of them).
 * lat     --subs K --rate R --secs S   publish-to-subscriber latency
 * replay  --n N                        read N events from seq 1 (domino_log)
 * mem     --subs K --pid P             broker RSS with K subscribers attached
 * register --listeners N --conc C --shape graph|fan --target T [--pid P]
 *                                      register N listeners (file plugin to
 *                                      path T for graph, http to URL T for
 *                                      fan), registrations/s, broker RSS
 * match   --listeners N --events E --conc C --admin URL
 *                                      publish E events over the graph's
 *                                      repo pool; µs per event spent in
 *                                      matching and listeners reached, from
 *                                      the broker's /metrics
 * deliver --listeners L --events E --admin URL [--timeout S]
 *                                      publish E events that each reach L
 *                                      listeners; deliveries/s until every
 *                                      one is ok (from /metrics)
 *
 * The graph shape (scenario 6), for N listeners: a pool of N/4 upstream
 * repos, each a dependency of exactly 8 listeners (deps 0 and 1 of
 * listener i are pool repos 2i and 2i+1, modulo the pool); dep 2 is a
 * "lib" repo picked by a hash, and one listener in five (by another
 * hash) provides its own lib repo. So each provided repo has one
 * dependent on average, a fifth of them providers again: an event
 * reaches 8 listeners directly and about 2 more through chains, 10 in
 * all, the way a plugin ecosystem has many direct dependents and a few
 * chains. The fan shape (scenario 7): every listener depends on one
 * repo, so each event is one delivery per listener.
 *
 * Every publish is answered by the broker only after its LMDB commit, so
 * each figure here carries that durability. The event size counts the
 * whole encoded event: the `url` field is padded so that the msgpack event
 * the broker stores and fans out is --size bytes.
 */
#include <msgpack.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
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
/* Graph shape: publishers spread events over this many pool repos (0:
 * every event goes to REPO). */
static long g_pool;
static atomic_llong g_pick;
/* Events per publish request (domino_publish_many), 1: domino_publish. */
static long g_batch = 1;
/* --shared: every publisher thread calls domino_publish() on this one
 * handle, which sends concurrent calls together (client/publish.c). */
static domino *g_shared;

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
publish(domino *d, msgpack_sbuffer *sb, const char *repo, const char *id,
    const char *actor)
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
	KSTR("repo", repo);
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

/* Up to g_batch events in one domino_publish_many (one commit); returns
 * how many were stored, 0 on a failure. */
static long
publish_many(domino *d, long n, int idx, uint64_t *seqno)
{
	struct domino_publish_args a[DOMINO_PUBLISH_MAX];
	static __thread char ids[DOMINO_PUBLISH_MAX][48];
	struct domino_published res;
	char actor[32];
	int rv;

	snprintf(actor, sizeof(actor), "t%lld", (long long)wall_ns());
	memset(a, 0, (size_t)n * sizeof(a[0]));
	for (long i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "b%s-%02d-%08llu", g_run, idx,
		    (unsigned long long)(*seqno)++);
		a[i].repo = REPO;
		a[i].ref = "refs/heads/main";
		a[i].id = ids[i];
		a[i].actor = actor;
		a[i].url = g_url;
	}
	rv = domino_publish_many(d, a, (size_t)n, &res);
	domino_published_clear(&res);
	return rv == DOMINO_OK ? n : 0;
}

/* One event through domino_publish(); 0 when it was stored. */
static int
publish_api(domino *d, const char *repo, const char *id, const char *actor)
{
	struct domino_publish_args a = {0};
	struct domino_published res;
	int rv;

	a.repo = repo;
	a.ref = "refs/heads/main";
	a.id = id;
	a.actor = actor;
	a.url = g_url;
	rv = domino_publish(d, &a, &res);
	domino_published_clear(&res);
	return rv == DOMINO_OK ? 0 : -1;
}

/* Names of the graph shape (see the top of this file). */
static void
pool_repo(char *buf, size_t len, long long k)
{
	snprintf(buf, len, "github.com/pool/r%07lld", k);
}

static void
lib_repo(char *buf, size_t len, long long k)
{
	snprintf(buf, len, "github.com/lib/l%07lld", k);
}

struct pubarg {
	int idx;
	int64_t deadline;   /* mono ns; 0: until g_left runs out */
	int64_t period;     /* ns between sends; 0: as fast as possible */
	int64_t first;      /* mono ns of the first paced send */
};

static void *
publisher(void *arg)
{
	struct pubarg *pa = arg;
	domino *d = g_shared != NULL ? g_shared : open_handle();
	msgpack_sbuffer sb;
	char id[64], actor[32], repo[64] = REPO;
	uint64_t n = 0;
	int64_t next = pa->first;

	/* Slots missed while connecting are skipped, not sent in a burst. */
	while (pa->period > 0 && next < mono_ns())
		next += pa->period;
	msgpack_sbuffer_init(&sb);
	while (!atomic_load(&g_stop)) {
		if (pa->deadline != 0 && mono_ns() >= pa->deadline)
			break;
		if (g_batch > 1 && pa->period == 0 && g_pool == 0) {
			long k = g_batch, got;
			if (pa->deadline == 0) {
				long long left = atomic_fetch_sub(&g_left, k);
				if (left <= 0)
					break;
				if (left < k)
					k = (long)left;
			}
			got = publish_many(d, k, pa->idx, &n);
			atomic_fetch_add(&g_ok, (uint64_t)got);
			atomic_fetch_add(&g_err, (uint64_t)(k - got));
			continue;
		}
		if (pa->deadline == 0 && atomic_fetch_sub(&g_left, 1) <= 0)
			break;
		if (pa->period > 0) {
			sleep_until_mono(next);
			next += pa->period;
		}
		snprintf(id, sizeof(id), "b%s-%02d-%08llu", g_run, pa->idx,
		    (unsigned long long)n++);
		snprintf(actor, sizeof(actor), "t%lld", (long long)wall_ns());
		/* A prime stride: consecutive events land far apart. */
		if (g_pool > 0)
			pool_repo(repo, sizeof(repo),
			    atomic_fetch_add(&g_pick, 1) * 7919 % g_pool);
		if ((g_shared != NULL ? publish_api(d, repo, id, actor) :
		    publish(d, &sb, repo, id, actor)) == 0)
			atomic_fetch_add(&g_ok, 1);
		else
			atomic_fetch_add(&g_err, 1);
	}
	msgpack_sbuffer_destroy(&sb);
	if (d != g_shared)
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
	int64_t period = total_rate > 0 ? (int64_t)(1e9 * conc / total_rate) : 0;

	for (int i = 0; i < conc; i++) {
		pa[i].idx = i;
		pa[i].deadline = secs > 0 ? t0 + (int64_t)(secs * 1e9) : 0;
		pa[i].period = period;
		pa[i].first = pace_first(t0, period, i, conc);
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
total_got(void *arg, int k)
{
	struct subst *ss = arg;
	uint64_t n = 0;

	for (int i = 0; i < k; i++)
		n += atomic_load(&ss[i].got);
	return n;
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
	drain(total_got, ss, k, expected);
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
	drain(total_got, ss, k, 100 * (uint64_t)k);
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

/*
 * GET path from the broker's admin HTTP address (http://host:port, as in
 * the ready file) into a malloc'd NUL-terminated body; NULL on failure.
 * HTTP/1.1 with Connection: close over a plain socket, body bounded by its
 * Content-Length: /metrics is all a driver reads, so no HTTP library.
 */
static char *
http_get(const char *base, const char *path)
{
	char host[256], req[512], *buf = NULL, *body = NULL;
	const char *hp, *colon;
	struct addrinfo hints = {0}, *ai = NULL;
	struct timeval tv = {5, 0};
	size_t len = 0, cap = 1 << 16, hlen = 0, clen = 0;
	int fd = -1, have_len = 0;
	ssize_t r;

	if (strncmp(base, "http://", 7) != 0)
		return NULL;
	hp = base + 7;
	colon = strrchr(hp, ':');
	if (colon == NULL || (size_t)(colon - hp) >= sizeof(host))
		return NULL;
	memcpy(host, hp, (size_t)(colon - hp));
	host[colon - hp] = '\0';
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		return NULL;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\n\r\n", path, host);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		goto out;
	if ((buf = malloc(cap)) == NULL)
		goto out;
	for (;;) {
		char *end;
		if (len + 1 >= cap) {
			char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
			if (nb == NULL)
				goto out;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (hlen == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			hlen = (size_t)(end - buf) + 4;
			if (cl != NULL && cl < end) {
				clen = strtoul(cl + 17, NULL, 10);
				have_len = 1;
			}
		}
		if (have_len && len >= hlen + clen)
			break;
	}
	if (hlen == 0 || strncmp(buf, "HTTP/1.", 7) != 0 ||
	    strncmp(buf + 8, " 200", 4) != 0)
		goto out;
	if (have_len && len > hlen + clen)
		len = hlen + clen;
	body = malloc(len - hlen + 1);
	if (body != NULL) {
		memcpy(body, buf + hlen, len - hlen);
		body[len - hlen] = '\0';
	}
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	free(buf);
	return body;
}

/* The value of one sample ("name{labels}") in a Prometheus text page;
 * -1 when absent. */
static double
metric(const char *page, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = page; p != NULL && *p != '\0';) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/* Several samples of one /metrics page, so that they are consistent. */
static int
metrics_read(const char *admin, const char *const *names, double *out,
    size_t n)
{
	char *page = http_get(admin, "/metrics");

	if (page == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = metric(page, names[i]);
	free(page);
	for (size_t i = 0; i < n; i++)
		if (out[i] < 0)
			return -1;
	return 0;
}

/* What the registering threads share; read-only once they start. */
static struct {
	long long n;
	int fan;             /* 1: fan shape (http), 0: graph shape (file) */
	const char *target;  /* file path (graph) or URL (fan) */
	atomic_llong next;
	atomic_uint_least64_t ok, err;
	atomic_int told;     /* the first refusal was printed */
} g_reg;

/* splitmix64's finalizer: a cheap hash with every input bit mixed. */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Register listener i of the chosen shape; 0 on success. */
static int
register_one(domino *d, long long i)
{
	char name[32], pool0[64], pool1[64], lib[64], prov[64];
	struct domino_dep deps[3] = {{0}};
	struct domino_kv cfg[1];
	struct domino_registration r = {0};
	struct domino_registered out = {0};
	long long pool = g_reg.n / 4 > 0 ? g_reg.n / 4 : 1, lib_k;
	int provider;
	void *buf = NULL;
	size_t len = 0;
	int rv;

	snprintf(name, sizeof(name), "bench-%07lld", i);
	r.name = name;
	r.depends_on = deps;
	if (g_reg.fan) {
		deps[0].repo = REPO;
		r.n_depends_on = 1;
		r.plugin = "http";
		cfg[0].key = "url";
	} else {
		pool_repo(pool0, sizeof(pool0), 2 * i % pool);
		pool_repo(pool1, sizeof(pool1), (2 * i + 1) % pool);
		/* Two independent hashes: which lib repo i depends on, and
		 * whether i provides one. A multiplicative hash here would
		 * keep i mod 5, making every dependent of a provider a
		 * provider again and every chain run to graph.max_depth. */
		lib_k = (long long)(mix((uint64_t)i) % (uint64_t)g_reg.n);
		provider = mix((uint64_t)i ^ 0x5bd1e995u) % 5 == 0;
		if (provider && lib_k == i)
			lib_k = (lib_k + 1) % g_reg.n; /* not on itself */
		lib_repo(lib, sizeof(lib), lib_k);
		deps[0].repo = pool0;
		deps[1].repo = pool1;
		deps[2].repo = lib;
		r.n_depends_on = 3;
		if (provider) {
			lib_repo(prov, sizeof(prov), i);
			r.provides = prov;
		}
		r.plugin = "file";
		cfg[0].key = "path";
	}
	cfg[0].value = g_reg.target;
	r.config = cfg;
	r.n_config = 1;
	if (domino_registration_pack(&r, &buf, &len) != DOMINO_OK)
		die("registration_pack: %s", domino_errmsg());
	rv = domino_register(d, buf, len, 0, &out);
	if (rv != DOMINO_OK && atomic_exchange(&g_reg.told, 1) == 0)
		fprintf(stderr, "bench: register %s: %s\n", name, domino_errmsg());
	domino_registered_clear(&out);
	free(buf);
	return rv == DOMINO_OK ? 0 : -1;
}

static void *
registrar(void *arg)
{
	domino *d = open_handle();
	long long i;

	(void)arg;
	while ((i = atomic_fetch_add(&g_reg.next, 1)) < g_reg.n) {
		if (register_one(d, i) == 0)
			atomic_fetch_add(&g_reg.ok, 1);
		else
			atomic_fetch_add(&g_reg.err, 1);
	}
	domino_close(d);
	return NULL;
}

static int
mode_register(int argc, char **argv)
{
	int conc = (int)arg_long(argc, argv, "--conc", 32);
	int pid = (int)arg_long(argc, argv, "--pid", 0);
	const char *shape = arg_str(argc, argv, "--shape", "graph");
	pthread_t *t;
	int64_t t0, el;

	g_reg.n = arg_long(argc, argv, "--listeners", 100000);
	g_reg.fan = strcmp(shape, "fan") == 0;
	g_reg.target = arg_str(argc, argv, "--target", "/dev/null");
	if (conc < 1 || g_reg.n < 1 || (!g_reg.fan && strcmp(shape, "graph") != 0))
		die("register: needs --listeners >= 1, --conc >= 1, "
		    "--shape graph|fan");
	t = calloc((size_t)conc, sizeof(*t));
	t0 = mono_ns();
	for (int i = 0; i < conc; i++)
		pthread_create(&t[i], NULL, registrar, NULL);
	for (int i = 0; i < conc; i++)
		pthread_join(t[i], NULL);
	el = mono_ns() - t0;
	free(t);
	result("value=%.0f secs=%.2f listeners=%llu errors=%llu rss_mb=%.1f "
	    "rss_anon_mb=%.1f",
	    (double)atomic_load(&g_reg.ok) / ((double)el / 1e9),
	    (double)el / 1e9, (unsigned long long)atomic_load(&g_reg.ok),
	    (unsigned long long)atomic_load(&g_reg.err),
	    pid > 0 ? status_kb(pid, "VmRSS") / 1024.0 : 0.0,
	    pid > 0 ? status_kb(pid, "RssAnon") / 1024.0 : 0.0);
	return atomic_load(&g_reg.err) == 0 ? 0 : 1;
}

static int
mode_match(int argc, char **argv)
{
	static const char *const names[] = {
		"domino_match_seconds_sum", "domino_match_seconds_count",
		"domino_match_listeners_total",
	};
	long long n = arg_long(argc, argv, "--listeners", 100000);
	int conc = (int)arg_long(argc, argv, "--conc", 4);
	const char *admin = arg_str(argc, argv, "--admin", NULL);
	double a[3], b[3], events, us;
	int64_t el;

	if (admin == NULL)
		die("match: --admin URL (from the ready file) is required");
	g_pool = n / 4 > 0 ? n / 4 : 1;
	/* Each run starts elsewhere in the pool: the same repos every run
	 * would measure a warmer cache than a real stream gives. */
	atomic_store(&g_pick, (long long)(wall_ns() / 1000 % g_pool));
	atomic_store(&g_left, arg_long(argc, argv, "--events", 2000));
	if (metrics_read(admin, names, a, 3) != 0)
		die("match: cannot read %s/metrics (or it lacks domino_match_*)",
		    admin);
	el = run_publishers(conc, 0, 0);
	if (metrics_read(admin, names, b, 3) != 0)
		die("match: cannot read %s/metrics", admin);
	events = b[1] - a[1];
	us = events > 0 ? (b[0] - a[0]) / events * 1e6 : 0;
	result("value=%.2f matches=%.2f events=%.0f published=%llu errors=%llu "
	    "publish_rate=%.0f",
	    us, events > 0 ? (b[2] - a[2]) / events : 0, events,
	    (unsigned long long)atomic_load(&g_ok),
	    (unsigned long long)atomic_load(&g_err),
	    (double)atomic_load(&g_ok) / ((double)el / 1e9));
	return events > 0 && atomic_load(&g_err) == 0 ? 0 : 1;
}

static int
mode_deliver(int argc, char **argv)
{
	static const char *const names[] = {
		"domino_deliveries_total{outcome=\"ok\"}",
		"domino_deliveries_total{outcome=\"retry\"}",
		"domino_deliveries_total{outcome=\"dead\"}",
	};
	long long l = arg_long(argc, argv, "--listeners", 1000);
	long long e = arg_long(argc, argv, "--events", 50);
	double timeout = atof(arg_str(argc, argv, "--timeout", "120"));
	const char *admin = arg_str(argc, argv, "--admin", NULL);
	double a[3], b[3] = {0}, want = (double)l * (double)e;
	int64_t t0, pub_el, el, deadline;

	if (admin == NULL)
		die("deliver: --admin URL (from the ready file) is required");
	if (metrics_read(admin, names, a, 3) != 0)
		die("deliver: cannot read %s/metrics (or it lacks "
		    "domino_deliveries_total)", admin);
	atomic_store(&g_left, e);
	t0 = mono_ns();
	pub_el = run_publishers(1, 0, 0);
	deadline = t0 + (int64_t)(timeout * 1e9);
	/* 20 ms between scrapes: fine enough for runs of seconds, and the
	 * scrape itself stays a small load on the broker. */
	for (;;) {
		el = mono_ns() - t0;
		if (metrics_read(admin, names, b, 3) != 0)
			die("deliver: cannot read %s/metrics", admin);
		if (b[0] - a[0] >= want || mono_ns() >= deadline)
			break;
		sleep_ms(20);
	}
	result("value=%.0f ok=%.0f expected=%.0f retried=%.0f dead=%.0f "
	    "secs=%.2f publish_secs=%.2f errors=%llu",
	    (b[0] - a[0]) / ((double)el / 1e9), b[0] - a[0], want,
	    b[1] - a[1], b[2] - a[2], (double)el / 1e9, (double)pub_el / 1e9,
	    (unsigned long long)atomic_load(&g_err));
	return b[0] - a[0] >= want ? 0 : 1;
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
	g_batch = arg_long(argc, argv, "--batch", 1);
	if (g_batch < 1 || g_batch > DOMINO_PUBLISH_MAX)
		die("--batch must be 1 to %d", DOMINO_PUBLISH_MAX);
	if (strcmp(mode, "pub") == 0 || strcmp(mode, "load") == 0) {
		int conc = (int)arg_long(argc, argv, "--conc", 1);
		double secs = atof(arg_str(argc, argv, "--secs", "3"));
		int64_t el;
		if (mode[0] == 'l') {
			atomic_store(&g_left, arg_long(argc, argv, "--n", 1000));
			secs = 0;
		}
		if (arg_long(argc, argv, "--shared", 0))
			g_shared = open_handle();
		el = run_publishers(conc, secs, 0);
		if (g_shared != NULL)
			domino_close(g_shared);
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
	if (strcmp(mode, "register") == 0)
		return mode_register(argc, argv);
	if (strcmp(mode, "match") == 0)
		return mode_match(argc, argv);
	if (strcmp(mode, "deliver") == 0)
		return mode_deliver(argc, argv);
	fprintf(stderr, "usage: bench_domino pub|load|fanout|lat|replay|mem|"
	    "register|match|deliver --control URL --pub URL --token T "
	    "[options]\n");
	return 2;
}
