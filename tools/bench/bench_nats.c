/* SPDX-License-Identifier: MIT */
/*
 * Benchmark driver for NATS (core and JetStream) with libnats, the peer's
 * own C client.
 *
 *   bench_nats MODE --url nats://127.0.0.1:PORT [options]
 *
 * jspub   --conc C --secs S --size B [--async 1]  JetStream publishes/s,
 *         each answered by the server's PubAck (file store); --async keeps
 *         up to 256 publishes in flight per client
 * fanout  --subs K --secs S --size B              core NATS deliveries/s
 * lat     --subs K --rate R --secs S --conc P     js_Publish to push
 *         consumers (AckNone, DeliverNew), latency per delivery
 * load    --n N --size B                          fill stream REPLAY
 * replay  --n N                                   ordered consumer from 1
 *
 * Payload layout (all drivers): bytes 0-7 a per-publisher sequence, 8-15
 * the sender's wall clock in ns, 16-19 the publisher index, then filler.
 */
#include <nats/nats.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAXPUB 256

static const char *g_url;
static int g_size;
static atomic_uint_least64_t g_ok, g_err;
static atomic_llong g_left;

static natsConnection *
conn(void)
{
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	natsStatus s;

	natsOptions_Create(&o);
	natsOptions_SetURL(o, g_url);
	natsOptions_SetMaxPendingMsgs(o, 1000000);
	s = natsConnection_Connect(&nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK)
		die("nats connect %s: %s", g_url, natsStatus_GetText(s));
	return nc;
}

static jsCtx *
jsctx(natsConnection *nc, int64_t max_pending)
{
	jsOptions jo;
	jsCtx *js = NULL;

	jsOptions_Init(&jo);
	jo.Wait = 30000;
	if (max_pending > 0)
		jo.PublishAsync.MaxPending = max_pending;
	if (natsConnection_JetStream(&js, nc, &jo) != NATS_OK)
		die("jetstream context");
	return js;
}

static void
add_stream(const char *name, const char *subj)
{
	natsConnection *nc = conn();
	jsCtx *js = jsctx(nc, 0);
	jsStreamConfig sc;
	jsStreamInfo *si = NULL;
	jsErrCode je = 0;
	const char *subs[1] = {subj};
	natsStatus s;

	jsStreamConfig_Init(&sc);
	sc.Name = name;
	sc.Subjects = subs;
	sc.SubjectsLen = 1;
	sc.Storage = js_FileStorage;
	s = js_AddStream(&si, js, &sc, NULL, &je);
	if (s != NATS_OK && je != JSStreamNameExistErr)
		die("add stream %s: %s (%d)", name, natsStatus_GetText(s), (int)je);
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
}

static void
payload(char *buf, uint64_t seq, int idx)
{
	put64(buf, seq);
	put64(buf + 8, (uint64_t)wall_ns());
	buf[16] = (char)(idx >> 24);
	buf[17] = (char)(idx >> 16);
	buf[18] = (char)(idx >> 8);
	buf[19] = (char)idx;
}

struct pubarg {
	int idx, async;
	int64_t deadline;
	int64_t period;     /* ns between sends; 0: as fast as possible */
	int64_t first;      /* mono ns of the first paced send */
	const char *subj;
};

static void *
js_publisher(void *arg)
{
	struct pubarg *pa = arg;
	natsConnection *nc = conn();
	jsCtx *js = jsctx(nc, pa->async ? 256 : 0);
	char *buf = malloc((size_t)g_size);
	uint64_t n = 0;
	int64_t next = pa->first;

	/* Slots missed while connecting are skipped, not sent in a burst. */
	while (pa->period > 0 && next < mono_ns())
		next += pa->period;
	fill(buf, (size_t)g_size);
	for (;;) {
		jsErrCode je = 0;
		jsPubAck *pa_ack = NULL;
		natsStatus s;

		if (pa->deadline != 0 && mono_ns() >= pa->deadline)
			break;
		if (pa->deadline == 0 && atomic_fetch_sub(&g_left, 1) <= 0)
			break;
		if (pa->period > 0) {
			sleep_until_mono(next);
			next += pa->period;
		}
		payload(buf, ++n, pa->idx);
		if (pa->async) {
			s = js_PublishAsync(js, pa->subj, buf, g_size, NULL);
		} else {
			s = js_Publish(&pa_ack, js, pa->subj, buf, g_size, NULL, &je);
			jsPubAck_Destroy(pa_ack);
		}
		if (s == NATS_OK)
			atomic_fetch_add(&g_ok, 1);
		else
			atomic_fetch_add(&g_err, 1);
	}
	if (pa->async) {
		jsPubOptions po;
		jsPubOptions_Init(&po);
		po.MaxWait = 60000;
		if (js_PublishAsyncComplete(js, &po) != NATS_OK)
			atomic_fetch_add(&g_err, 1);
	}
	free(buf);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return NULL;
}

static int64_t
run_js_publishers(int conc, double secs, double rate, int async,
    const char *subj)
{
	pthread_t t[MAXPUB];
	struct pubarg pa[MAXPUB];
	int64_t t0 = mono_ns(), period;

	if (conc > MAXPUB)
		conc = MAXPUB;
	period = rate > 0 ? (int64_t)(1e9 * conc / rate) : 0;
	for (int i = 0; i < conc; i++) {
		pa[i].idx = i;
		pa[i].async = async;
		pa[i].deadline = secs > 0 ? t0 + (int64_t)(secs * 1e9) : 0;
		pa[i].period = period;
		pa[i].first = pace_first(t0, period, i, conc);
		pa[i].subj = subj;
		pthread_create(&t[i], NULL, js_publisher, &pa[i]);
	}
	for (int i = 0; i < conc; i++)
		pthread_join(t[i], NULL);
	return mono_ns() - t0;
}

/* A subscriber: counts, gaps per publisher, latency samples. */
struct subst {
	natsConnection *nc;
	natsSubscription *sub;
	pthread_mutex_t mu; /* libnats may call from its own threads */
	uint64_t got, gaps;
	uint64_t last[MAXPUB];
	int64_t last_ns;
	int lat;
	struct lat samples;
};

static void
on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *arg)
{
	struct subst *ss = arg;
	const char *d = natsMsg_GetData(m);
	int64_t now = wall_ns();

	(void)nc;
	(void)sub;
	pthread_mutex_lock(&ss->mu);
	if (natsMsg_GetDataLength(m) >= 20) {
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
	ss->got++;
	ss->last_ns = mono_ns();
	pthread_mutex_unlock(&ss->mu);
	natsMsg_Destroy(m);
}

static uint64_t
total_got(void *arg, int k)
{
	struct subst *ss = arg;
	uint64_t n = 0;

	for (int i = 0; i < k; i++) {
		pthread_mutex_lock(&ss[i].mu);
		n += ss[i].got;
		pthread_mutex_unlock(&ss[i].mu);
	}
	return n;
}


static int
mode_fanout(int argc, char **argv)
{
	int k = (int)arg_long(argc, argv, "--subs", 1);
	double secs = atof(arg_str(argc, argv, "--secs", "3"));
	struct subst *ss = calloc((size_t)k, sizeof(*ss));
	natsConnection *pub = conn();
	char *buf = malloc((size_t)g_size);
	uint64_t n = 0, got, gaps = 0;
	int64_t t0, end, last = 0;

	fill(buf, (size_t)g_size);
	for (int i = 0; i < k; i++) {
		pthread_mutex_init(&ss[i].mu, NULL);
		ss[i].nc = conn();
		if (natsConnection_Subscribe(&ss[i].sub, ss[i].nc, "fan", on_msg,
		    &ss[i]) != NATS_OK)
			die("subscribe");
		natsSubscription_SetPendingLimits(ss[i].sub, 1000000, 1 << 30);
		natsConnection_Flush(ss[i].nc);
	}
	t0 = mono_ns();
	end = t0 + (int64_t)(secs * 1e9);
	while (mono_ns() < end) {
		for (int j = 0; j < 100; j++) {
			payload(buf, ++n, 0);
			if (natsConnection_Publish(pub, "fan", buf, g_size) != NATS_OK)
				atomic_fetch_add(&g_err, 1);
		}
	}
	natsConnection_Flush(pub);
	drain(total_got, ss, k, n * (uint64_t)k);
	got = total_got(ss, k);
	for (int i = 0; i < k; i++) {
		pthread_mutex_lock(&ss[i].mu);
		if (ss[i].last[0] < n)
			ss[i].gaps += n - ss[i].last[0];
		gaps += ss[i].gaps;
		if (ss[i].last_ns > last)
			last = ss[i].last_ns;
		pthread_mutex_unlock(&ss[i].mu);
		natsSubscription_Destroy(ss[i].sub);
		natsConnection_Destroy(ss[i].nc);
	}
	result("value=%.0f published=%llu delivered=%llu lost=%llu gaps=%llu "
	    "errors=%llu", (double)got / ((double)(last - t0) / 1e9),
	    (unsigned long long)n, (unsigned long long)got,
	    (unsigned long long)(n * (uint64_t)k - got),
	    (unsigned long long)gaps, (unsigned long long)atomic_load(&g_err));
	natsConnection_Destroy(pub);
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
	struct subst *ss = calloc((size_t)k, sizeof(*ss));
	struct lat all = {0};
	uint64_t expected, got;

	add_stream("LAT", "lat");
	for (int i = 0; i < k; i++) {
		jsSubOptions so;
		jsErrCode je = 0;
		jsCtx *js;
		pthread_mutex_init(&ss[i].mu, NULL);
		ss[i].lat = 1;
		ss[i].nc = conn();
		js = jsctx(ss[i].nc, 0);
		jsSubOptions_Init(&so);
		so.Config.DeliverPolicy = js_DeliverNew;
		so.Config.AckPolicy = js_AckNone;
		if (js_Subscribe(&ss[i].sub, js, "lat", on_msg, &ss[i], NULL,
		    &so, &je) != NATS_OK)
			die("js subscribe (%d)", (int)je);
		natsSubscription_SetPendingLimits(ss[i].sub, 1000000, 1 << 30);
		jsCtx_Destroy(js);
	}
	run_js_publishers(conc, secs, rate, 0, "lat");
	expected = atomic_load(&g_ok) * (uint64_t)k;
	drain(total_got, ss, k, expected);
	got = total_got(ss, k);
	for (int i = 0; i < k; i++) {
		natsSubscription_Unsubscribe(ss[i].sub);
		natsSubscription_Destroy(ss[i].sub);
		natsConnection_Destroy(ss[i].nc);
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
mode_replay(int argc, char **argv)
{
	uint64_t n = (uint64_t)arg_long(argc, argv, "--n", 1000000);
	struct subst ss;
	jsSubOptions so;
	jsErrCode je = 0;
	jsCtx *js;
	int64_t t0, el;

	memset(&ss, 0, sizeof(ss));
	pthread_mutex_init(&ss.mu, NULL);
	ss.nc = conn();
	js = jsctx(ss.nc, 0);
	jsSubOptions_Init(&so);
	so.Ordered = true;
	so.Config.DeliverPolicy = js_DeliverAll;
	t0 = mono_ns();
	if (js_Subscribe(&ss.sub, js, "rep", on_msg, &ss, NULL, &so, &je) !=
	    NATS_OK)
		die("ordered consumer (%d)", (int)je);
	natsSubscription_SetPendingLimits(ss.sub, 1000000, 1 << 30);
	for (;;) {
		uint64_t got = total_got(&ss, 1);
		if (got >= n || mono_ns() - t0 > 120 * (int64_t)1000000000)
			break;
		sleep_ms(2);
	}
	el = ss.last_ns - t0;
	result("value=%.0f events=%llu secs=%.2f",
	    (double)ss.got / ((double)el / 1e9), (unsigned long long)ss.got,
	    (double)el / 1e9);
	natsSubscription_Unsubscribe(ss.sub);
	natsSubscription_Destroy(ss.sub);
	jsCtx_Destroy(js);
	natsConnection_Destroy(ss.nc);
	return ss.got >= n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	const char *mode = arg_mode(argc, argv);
	/* A peer closing its socket must be an error we report, not death. */
	signal(SIGPIPE, SIG_IGN);

	int rv = 2;

	g_url = arg_str(argc, argv, "--url", "nats://127.0.0.1:4222");
	g_size = (int)arg_long(argc, argv, "--size", 512);
	if (g_size < 20)
		g_size = 20;
	if (strcmp(mode, "jspub") == 0 || strcmp(mode, "load") == 0) {
		int conc = (int)arg_long(argc, argv, "--conc", 1);
		int async = (int)arg_long(argc, argv, "--async", 0);
		double secs = atof(arg_str(argc, argv, "--secs", "3"));
		const char *subj = "pub.x";
		int64_t el;
		if (mode[0] == 'l') {
			atomic_store(&g_left, arg_long(argc, argv, "--n", 1000));
			secs = 0;
			async = 1;
			subj = "rep";
			add_stream("REPLAY", "rep");
		} else {
			add_stream("PUB", "pub.>");
		}
		el = run_js_publishers(conc, secs, 0, async, subj);
		result("value=%.0f ok=%llu errors=%llu secs=%.2f",
		    (double)atomic_load(&g_ok) / ((double)el / 1e9),
		    (unsigned long long)atomic_load(&g_ok),
		    (unsigned long long)atomic_load(&g_err), (double)el / 1e9);
		rv = atomic_load(&g_err) == 0 ? 0 : 1;
	} else if (strcmp(mode, "fanout") == 0) {
		rv = mode_fanout(argc, argv);
	} else if (strcmp(mode, "lat") == 0) {
		rv = mode_lat(argc, argv);
	} else if (strcmp(mode, "replay") == 0) {
		rv = mode_replay(argc, argv);
	} else {
		fprintf(stderr, "usage: bench_nats jspub|fanout|lat|load|replay "
		    "--url nats://HOST:PORT [options]\n");
	}
	return rv;
}
