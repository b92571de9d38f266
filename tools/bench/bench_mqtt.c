/* SPDX-License-Identifier: MIT */
/*
 * Benchmark driver for mosquitto with libmosquitto, the peer's own C
 * client.
 *
 *   bench_mqtt MODE --port P [options]
 *
 * pub     --conc C --secs S --size B   QoS 1 publishes/s from C clients,
 *         one in flight each: the next one is sent after the PUBACK
 * fanout  --subs K --secs S --size B   QoS 0 deliveries/s to K subscribers,
 *         gaps; the publisher sends a QoS 1 message after every 1000 QoS 0
 *         ones and waits for its PUBACK, so it cannot queue without bound
 *
 * Payload layout as in bench_nats.c. mosquitto acknowledges a QoS 1
 * message once it holds it in memory; with persistence on it writes its
 * database every autosave_interval, never per message.
 */
#include <mosquitto.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAXPUB 256

static int g_port, g_size;
static atomic_uint_least64_t g_ok, g_err;

/* A client with its network loop thread and a wait for PUBACKs. */
struct cli {
	struct mosquitto *m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int acked_mid, connected;
	/* subscriber side */
	atomic_uint_least64_t got;
	uint64_t gaps, last;
	atomic_llong last_ns;
};

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct cli *c = arg;

	(void)m;
	pthread_mutex_lock(&c->mu);
	c->connected = rc == 0 ? 1 : -1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
	struct cli *c = arg;

	(void)m;
	pthread_mutex_lock(&c->mu);
	c->acked_mid = mid;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct cli *c = arg;

	(void)m;
	if (msg->payloadlen >= 20) {
		uint64_t seq = get64(msg->payload);
		if (seq > c->last + 1)
			c->gaps += seq - c->last - 1;
		if (seq > c->last)
			c->last = seq;
	}
	atomic_fetch_add(&c->got, 1);
	atomic_store(&c->last_ns, mono_ns());
}

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *q)
{
	(void)mid;
	(void)n;
	(void)q;
	on_connect(m, arg, 0);
}

static void
cli_open(struct cli *c, const char *id, const char *sub)
{
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if ((c->m = mosquitto_new(id, true, c)) == NULL)
		die("mosquitto_new");
	mosquitto_connect_callback_set(c->m, on_connect);
	mosquitto_publish_callback_set(c->m, on_publish);
	mosquitto_message_callback_set(c->m, on_message);
	mosquitto_subscribe_callback_set(c->m, on_subscribe);
	mosquitto_max_inflight_messages_set(c->m, 0);
	if (mosquitto_connect(c->m, "127.0.0.1", g_port, 60) != MOSQ_ERR_SUCCESS)
		die("mqtt connect 127.0.0.1:%d", g_port);
	mosquitto_loop_start(c->m);
	pthread_mutex_lock(&c->mu);
	while (c->connected == 0)
		pthread_cond_wait(&c->cv, &c->mu);
	if (c->connected < 0)
		die("mqtt connect refused");
	c->connected = 0;
	pthread_mutex_unlock(&c->mu);
	if (sub != NULL) {
		mosquitto_subscribe(c->m, NULL, sub, 0);
		pthread_mutex_lock(&c->mu);
		while (c->connected == 0) /* set again by on_subscribe */
			pthread_cond_wait(&c->cv, &c->mu);
		pthread_mutex_unlock(&c->mu);
	}
}

static void
cli_close(struct cli *c)
{
	mosquitto_disconnect(c->m);
	mosquitto_loop_stop(c->m, false);
	mosquitto_destroy(c->m);
}

/* Publish and wait for the PUBACK (QoS 1). */
static int
pub_sync(struct cli *c, const char *topic, const void *buf, int len)
{
	int mid = 0;

	if (mosquitto_publish(c->m, &mid, topic, len, buf, 1, false) !=
	    MOSQ_ERR_SUCCESS)
		return -1;
	pthread_mutex_lock(&c->mu);
	while (c->acked_mid != mid)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

struct pubarg {
	int idx;
	int64_t deadline;
};

static void *
publisher(void *arg)
{
	struct pubarg *pa = arg;
	struct cli c;
	char id[32], *buf = malloc((size_t)g_size);
	uint64_t n = 0;

	memset(&c, 0, sizeof(c));
	snprintf(id, sizeof(id), "pub-%d-%d", pa->idx, (int)(wall_ns() % 100000));
	fill(buf, (size_t)g_size);
	cli_open(&c, id, NULL);
	while (mono_ns() < pa->deadline) {
		put64(buf, ++n);
		put64(buf + 8, (uint64_t)wall_ns());
		if (pub_sync(&c, "bench/pub", buf, g_size) == 0)
			atomic_fetch_add(&g_ok, 1);
		else
			atomic_fetch_add(&g_err, 1);
	}
	cli_close(&c);
	free(buf);
	return NULL;
}

static int
mode_pub(int argc, char **argv)
{
	int conc = (int)arg_long(argc, argv, "--conc", 1);
	double secs = atof(arg_str(argc, argv, "--secs", "3"));
	pthread_t t[MAXPUB];
	struct pubarg pa[MAXPUB];
	int64_t t0 = mono_ns(), el;

	if (conc > MAXPUB)
		conc = MAXPUB;
	for (int i = 0; i < conc; i++) {
		pa[i].idx = i;
		pa[i].deadline = t0 + (int64_t)(secs * 1e9);
		pthread_create(&t[i], NULL, publisher, &pa[i]);
	}
	for (int i = 0; i < conc; i++)
		pthread_join(t[i], NULL);
	el = mono_ns() - t0;
	result("value=%.0f ok=%llu errors=%llu secs=%.2f",
	    (double)atomic_load(&g_ok) / ((double)el / 1e9),
	    (unsigned long long)atomic_load(&g_ok),
	    (unsigned long long)atomic_load(&g_err), (double)el / 1e9);
	return atomic_load(&g_err) == 0 ? 0 : 1;
}

static int
mode_fanout(int argc, char **argv)
{
	int k = (int)arg_long(argc, argv, "--subs", 1);
	double secs = atof(arg_str(argc, argv, "--secs", "3"));
	struct cli *subs = calloc((size_t)k, sizeof(*subs)), pub;
	char id[32], *buf = malloc((size_t)g_size);
	uint64_t n = 0, got = 0, gaps = 0, prev = 0, expected;
	int64_t t0, end, last = 0, still;

	fill(buf, (size_t)g_size);
	for (int i = 0; i < k; i++) {
		snprintf(id, sizeof(id), "sub-%d-%d", i, (int)(wall_ns() % 100000));
		cli_open(&subs[i], id, "bench/fan");
	}
	memset(&pub, 0, sizeof(pub));
	cli_open(&pub, "fanpub", NULL);
	t0 = mono_ns();
	end = t0 + (int64_t)(secs * 1e9);
	while (mono_ns() < end) {
		for (int j = 0; j < 1000; j++) {
			put64(buf, ++n);
			mosquitto_publish(pub.m, NULL, "bench/fan", g_size, buf, 0,
			    false);
		}
		put64(buf, ++n);
		pub_sync(&pub, "bench/fan", buf, g_size);
	}
	expected = n * (uint64_t)k;
	still = mono_ns();
	for (;;) {
		got = 0;
		for (int i = 0; i < k; i++)
			got += atomic_load(&subs[i].got);
		if (got >= expected)
			break;
		if (got != prev) {
			prev = got;
			still = mono_ns();
		} else if (mono_ns() - still > 1000000000) {
			break;
		}
		sleep_ms(10);
	}
	cli_close(&pub);
	for (int i = 0; i < k; i++) {
		cli_close(&subs[i]);
		if (subs[i].last < n)
			subs[i].gaps += n - subs[i].last;
		gaps += subs[i].gaps;
		if (atomic_load(&subs[i].last_ns) > last)
			last = atomic_load(&subs[i].last_ns);
	}
	result("value=%.0f published=%llu delivered=%llu lost=%llu gaps=%llu",
	    (double)got / ((double)(last - t0) / 1e9), (unsigned long long)n,
	    (unsigned long long)got, (unsigned long long)(expected - got),
	    (unsigned long long)gaps);
	free(buf);
	free(subs);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *mode = arg_mode(argc, argv);
	/* A peer closing its socket must be an error we report, not death. */
	signal(SIGPIPE, SIG_IGN);

	int rv = 2;

	g_port = (int)arg_long(argc, argv, "--port", 1883);
	g_size = (int)arg_long(argc, argv, "--size", 512);
	if (g_size < 20)
		g_size = 20;
	mosquitto_lib_init();
	if (strcmp(mode, "pub") == 0)
		rv = mode_pub(argc, argv);
	else if (strcmp(mode, "fanout") == 0)
		rv = mode_fanout(argc, argv);
	else
		fprintf(stderr, "usage: bench_mqtt pub|fanout --port P [options]\n");
	mosquitto_lib_cleanup();
	return rv;
}
