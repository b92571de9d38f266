/* SPDX-License-Identifier: MIT */
/*
 * loadgen: send signed GitHub webhooks to dominod as fast as N connections
 * allow, and record every acknowledgement.
 *
 * Each request posts the same fixture body (signed with the source secret,
 * X-Hub-Signature-256) with a unique X-GitHub-Delivery, "PREFIX-COUNTER".
 * Every 2xx answer's delivery id and seq go to the --out file as one line,
 * "ID SEQ", written and flushed at once, so the file holds exactly what the
 * broker promised to keep even when loadgen itself is killed.
 *
 * The broker may die under it (that is what the crash tests do): a
 * transport failure or a 5xx is retried with the same delivery id after a
 * short wait (so a retry after a crash also exercises dedupe); a 4xx other
 * than 429 is counted and the id dropped. Nothing but a 2xx is recorded.
 *
 * What it does not do: vary the body, follow a broker that moved to another
 * port (run it again with the new --url), or check the answers beyond the
 * status and the seq.
 *
 * Usage: loadgen --url URL --secret S --fixture FILE [--event push]
 *                [--conns N] [--seconds T] [--out FILE] [--id-prefix P]
 *   URL is the broker's http base (http://127.0.0.1:8700) or a full
 *   /hooks/... URL. --seconds 0 runs until killed.
 */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LG_CONNS_MAX 256
#define LG_RESP_MAX 4096
#define LG_RETRY_MS 50

struct lg {
	char url[1024];
	char event[64];
	char prefix[128];
	char *body;
	size_t len;
	char sig[128];  /* "X-Hub-Signature-256: sha256=..." */
	double deadline; /* monotonic seconds; 0: none */
	FILE *out;
	pthread_mutex_t out_mu;
	atomic_ulong next_id;
	atomic_ulong sent, acked, dup, refused, rejected, unavailable;
	atomic_int stop;
};

struct resp {
	char buf[LG_RESP_MAX];
	size_t n;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct resp *r = arg;
	size_t n = size * nmemb;
	size_t room = sizeof(r->buf) - 1 - r->n;

	memcpy(r->buf + r->n, p, n < room ? n : room);
	r->n += n < room ? n : room;
	r->buf[r->n] = '\0';
	return n;
}

static int
expired(struct lg *g)
{
	return atomic_load(&g->stop) ||
	    (g->deadline > 0 && now_s() >= g->deadline);
}

static void
record(struct lg *g, const char *id, const char *resp)
{
	const char *p = strstr(resp, "\"seq\":");
	unsigned long long seq;

	if (p == NULL) {
		fprintf(stderr, "loadgen: 2xx without a seq for %s: %s\n", id, resp);
		return;
	}
	seq = strtoull(p + 6, NULL, 10);
	pthread_mutex_lock(&g->out_mu);
	if (g->out != NULL) {
		fprintf(g->out, "%s %llu\n", id, seq);
		fflush(g->out);
	}
	pthread_mutex_unlock(&g->out_mu);
}

static void *
worker(void *arg)
{
	struct lg *g = arg;
	CURL *c = curl_easy_init();
	char idh[256], id[200];
	char evh[128];
	int have_id = 0;

	if (c == NULL)
		return NULL;
	snprintf(evh, sizeof(evh), "X-GitHub-Event: %s", g->event);
	curl_easy_setopt(c, CURLOPT_URL, g->url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, g->body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)g->len);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	while (!expired(g)) {
		struct curl_slist *hl = NULL;
		struct resp r = {.n = 0};
		long status = 0;
		CURLcode cc;

		if (!have_id) {
			snprintf(id, sizeof(id), "%s-%lu", g->prefix,
			    atomic_fetch_add(&g->next_id, 1));
			have_id = 1;
		}
		snprintf(idh, sizeof(idh), "X-GitHub-Delivery: %s", id);
		hl = curl_slist_append(hl, "Content-Type: application/json");
		hl = curl_slist_append(hl, evh);
		hl = curl_slist_append(hl, idh);
		hl = curl_slist_append(hl, g->sig);
		hl = curl_slist_append(hl, "Expect:");
		r.buf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
		cc = curl_easy_perform(c);
		curl_slist_free_all(hl);
		atomic_fetch_add(&g->sent, 1);
		if (cc != CURLE_OK) {
			atomic_fetch_add(&g->refused, 1);
			sleep_ms(LG_RETRY_MS);
			continue;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			record(g, id, r.buf);
			atomic_fetch_add(status == 200 ? &g->dup : &g->acked, 1);
			have_id = 0;
		} else if (status >= 500 || status == 429) {
			atomic_fetch_add(&g->unavailable, 1);
			sleep_ms(LG_RETRY_MS);
		} else {
			fprintf(stderr, "loadgen: %s answered %ld: %s\n", id, status,
			    r.buf);
			atomic_fetch_add(&g->rejected, 1);
			have_id = 0;
		}
	}
	curl_easy_cleanup(c);
	return NULL;
}

static struct lg *volatile the_lg;

static void
on_signal(int sig)
{
	(void)sig;
	if (the_lg != NULL)
		atomic_store(&the_lg->stop, 1);
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen --url URL --secret SECRET --fixture FILE [--event push]\n"
	    "               [--conns N] [--seconds T] [--out FILE] [--id-prefix P]\n");
	return 2;
}

static char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	if (buf != NULL) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
out:
	fclose(f);
	return buf;
}

int
main(int argc, char **argv)
{
	static struct lg g;
	const char *url = NULL, *secret = NULL, *fixture = NULL, *out = NULL;
	const char *prefix = NULL;
	int conns = 8, rc = 1;
	double seconds = 10;
	pthread_t th[LG_CONNS_MAX];
	unsigned char mac[32];
	unsigned int ml = sizeof(mac);
	char hex[65];
	struct sigaction sa;
	double t0;

	snprintf(g.event, sizeof(g.event), "push");
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			return usage();
		if (strcmp(argv[i], "--url") == 0)
			url = v;
		else if (strcmp(argv[i], "--secret") == 0)
			secret = v;
		else if (strcmp(argv[i], "--fixture") == 0)
			fixture = v;
		else if (strcmp(argv[i], "--event") == 0)
			snprintf(g.event, sizeof(g.event), "%s", v);
		else if (strcmp(argv[i], "--conns") == 0)
			conns = atoi(v);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(v);
		else if (strcmp(argv[i], "--out") == 0)
			out = v;
		else if (strcmp(argv[i], "--id-prefix") == 0)
			prefix = v;
		else
			return usage();
		i++;
	}
	if (url == NULL || secret == NULL || fixture == NULL || conns < 1 ||
	    conns > LG_CONNS_MAX || seconds < 0)
		return usage();
	if (strstr(url, "/hooks/") != NULL)
		snprintf(g.url, sizeof(g.url), "%s", url);
	else
		snprintf(g.url, sizeof(g.url), "%s/hooks/github", url);
	if (prefix != NULL)
		snprintf(g.prefix, sizeof(g.prefix), "%s", prefix);
	else
		snprintf(g.prefix, sizeof(g.prefix), "lg%ld-%ld", (long)getpid(),
		    (long)time(NULL));
	if ((g.body = read_all(fixture, &g.len)) == NULL) {
		fprintf(stderr, "loadgen: cannot read %s: %s\n", fixture,
		    strerror(errno));
		return 1;
	}
	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)g.body, g.len, mac, &ml);
	for (unsigned i = 0; i < ml; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	snprintf(g.sig, sizeof(g.sig), "X-Hub-Signature-256: sha256=%s", hex);
	if (out != NULL && (g.out = fopen(out, "a")) == NULL) {
		fprintf(stderr, "loadgen: cannot open %s: %s\n", out, strerror(errno));
		goto done;
	}
	pthread_mutex_init(&g.out_mu, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	the_lg = &g;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	t0 = now_s();
	g.deadline = seconds > 0 ? t0 + seconds : 0;
	for (int i = 0; i < conns; i++)
		if (pthread_create(&th[i], NULL, worker, &g) != 0) {
			conns = i;
			break;
		}
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	fprintf(stderr,
	    "loadgen: %.1fs conns=%d sent=%lu acked=%lu duplicate=%lu "
	    "refused=%lu unavailable=%lu rejected=%lu\n",
	    now_s() - t0, conns, atomic_load(&g.sent), atomic_load(&g.acked),
	    atomic_load(&g.dup), atomic_load(&g.refused),
	    atomic_load(&g.unavailable), atomic_load(&g.rejected));
	curl_global_cleanup();
	rc = atomic_load(&g.rejected) == 0 ? 0 : 3;
done:
	if (g.out != NULL)
		fclose(g.out);
	free(g.body);
	return rc;
}
