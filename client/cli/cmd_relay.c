/* SPDX-License-Identifier: MIT */
/*
 * `domino relay`: re-post each event's original webhook (body and forge
 * headers, optionally re-signed with a local secret) to a local URL — a
 * development receiver behind no public address. A subscription with
 * payloads, optionally durable; an event counts as relayed only on a 2xx,
 * so a receiver that is down or failing is retried with backoff and,
 * with --durable, a restarted relay goes on from the first event not yet
 * delivered. One line per event on stdout.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fmt.h"

#define READY_TIMEOUT_MS 10000
#define READY_SLICE_MS 200
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define SLEEP_SLICE_MS 50

struct relay {
	struct domino_relay_opts ro;
	int json;
	uint64_t count;            /* 0: no limit */
	atomic_uint_least64_t relayed;
	atomic_int failed;         /* stdout is gone */
	sem_t done;
};

static sem_t *signal_sem;
static volatile sig_atomic_t signalled;

static void
on_signal(int sig)
{
	(void)sig;
	signalled = 1;
	if (signal_sem != NULL)
		sem_post(signal_sem);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep ms, in slices; 1 when a signal came meanwhile. */
static int
nap(uint64_t ms)
{
	while (ms > 0 && !signalled) {
		uint64_t n = ms < SLEEP_SLICE_MS ? ms : SLEEP_SLICE_MS;
		struct timespec ts = {0, (long)n * 1000000L};

		nanosleep(&ts, NULL);
		ms -= n;
	}
	return signalled != 0;
}

static int
print_line(const struct relay *r, const struct domino_event *ev, long status,
    const char *note)
{
	char *line = NULL;
	int rv;

	if (r->json) {
		cJSON *o = cJSON_CreateObject();
		char num[32];

		snprintf(num, sizeof(num), "%" PRIu64, ev->seq);
		if (o != NULL && cJSON_AddRawToObject(o, "seq", num) != NULL &&
		    cJSON_AddStringToObject(o, "repo", ev->repo ? ev->repo :
		    "") != NULL && cJSON_AddNumberToObject(o, "status",
		    (double)status) != NULL && (note == NULL ||
		    cJSON_AddStringToObject(o, "note", note) != NULL))
			line = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (line == NULL)
			return -1;
	} else if (asprintf(&line, "%" PRIu64 " %s %s%s%ld", ev->seq,
	    ev->repo ? ev->repo : "-", note ? note : "", note ? " " : "",
	    status) < 0) {
		return -1;
	}
	rv = cli_println(line);
	free(line);
	return rv;
}

static int
on_event(void *arg, const struct domino_event *ev)
{
	struct relay *r = arg;
	uint64_t backoff = BACKOFF_MIN_MS, n;
	long status = 0;
	int rv;

	if (r->count != 0 && atomic_load(&r->relayed) >= r->count)
		return 1;
	if (ev->payload == NULL) {
		/* A hand-published event has no webhook to repeat. */
		if (print_line(r, ev, 0, "skipped (no payload)") != 0)
			goto gone;
		goto relayed;
	}
	for (;;) {
		rv = domino_relay_post(&r->ro, ev, &status);
		if (rv == DOMINO_OK && status >= 200 && status < 300)
			break;
		if (rv == DOMINO_EINVAL) {
			/* A bad URL does not get better with time. */
			fprintf(stderr, "domino: %s\n", domino_errmsg());
			atomic_store(&r->failed, 1);
			sem_post(&r->done);
			return 1;
		}
		if (rv == DOMINO_OK)
			fprintf(stderr, "domino: seq %" PRIu64 ": %s answered "
			    "%ld; retrying in %.1fs\n", ev->seq, r->ro.url,
			    status, (double)backoff / 1000.0);
		else
			fprintf(stderr, "domino: seq %" PRIu64 ": %s; retrying "
			    "in %.1fs\n", ev->seq, domino_errmsg(),
			    (double)backoff / 1000.0);
		if (nap(backoff))
			return 1; /* not delivered: not acknowledged */
		backoff *= 2;
		if (backoff > BACKOFF_MAX_MS)
			backoff = BACKOFF_MAX_MS;
	}
	if (print_line(r, ev, status, NULL) != 0)
		goto gone;
relayed:
	n = atomic_fetch_add(&r->relayed, 1) + 1;
	if (r->count != 0 && n >= r->count)
		sem_post(&r->done);
	return 0;
gone:
	atomic_store(&r->failed, 1);
	sem_post(&r->done);
	return 1;
}

static void
on_gap(void *arg, uint64_t from, uint64_t to)
{
	(void)arg;
	fprintf(stderr, "domino: events %" PRIu64 "..%" PRIu64 " were trimmed "
	    "from the log before they could be relayed; skipped\n", from, to);
}

static int
run(struct cli *c, int argc, char **argv)
{
	struct relay r = {0};
	struct domino_sub_opts so = {0};
	struct sigaction sa = {0};
	domino *d = NULL;
	domino_sub *s = NULL;
	const char *filter = NULL, *v;
	int rv, sem_ok = 0, curl_ok = 0, literal = 0;

	r.json = c->json;
	for (int i = 1; i < argc;) {
		static const char *const names[] = {"--to", "--durable",
		    "--from", "--since", "--secret", "--count", NULL};
		int k, got = 0;

		if (!literal && strcmp(argv[i], "--") == 0) {
			literal = 1;
			i++;
			continue;
		}
		if (literal || argv[i][0] != '-' || argv[i][1] == '\0') {
			if (filter != NULL)
				return cli_usage(&cmd_relay,
				    "one FILTER at most");
			filter = argv[i++];
			continue;
		}
		for (k = 0; names[k] != NULL; k++) {
			got = cli_opt_val(argc, argv, &i, names[k], &v);
			if (got < 0)
				return cli_usage(&cmd_relay, "%s needs a value",
				    names[k]);
			if (got > 0)
				break;
		}
		if (names[k] == NULL)
			return cli_usage(&cmd_relay, "unknown option '%s'",
			    argv[i]);
		switch (k) {
		case 0:
			r.ro.url = v;
			break;
		case 1:
			if (*v == '\0' || strlen(v) > 128)
				return cli_usage(&cmd_relay, "--durable wants "
				    "a name of 1 to 128 bytes");
			so.durable = v;
			break;
		case 2:
			if (domino_fmt_parse_u64(v, &so.from) != DOMINO_OK ||
			    so.from == 0)
				return cli_usage(&cmd_relay, "--from wants a "
				    "seq (1 or more), not '%s'", v);
			break;
		case 3:
			if (domino_fmt_parse_time(v, now_ns(), &so.since) !=
			    DOMINO_OK || so.since <= 0)
				return cli_usage(&cmd_relay, "--since: cannot "
				    "read '%s' as a time", v);
			break;
		case 4:
			r.ro.secret = v;
			break;
		default:
			if (domino_fmt_parse_u64(v, &r.count) != DOMINO_OK ||
			    r.count == 0)
				return cli_usage(&cmd_relay, "--count wants a "
				    "positive number, not '%s'", v);
			break;
		}
	}
	if (r.ro.url == NULL)
		return cli_usage(&cmd_relay, "where to? (--to URL)");
	if (strncmp(r.ro.url, "http://", 7) != 0 &&
	    strncmp(r.ro.url, "https://", 8) != 0)
		return cli_usage(&cmd_relay, "--to wants an http:// or https:// "
		    "URL, not '%s'", r.ro.url);
	if (so.from != 0 && so.since != 0)
		return cli_usage(&cmd_relay, "one of --from, --since");

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("domino: cannot start libcurl\n", stderr);
		return 1;
	}
	curl_ok = 1;
	if (sem_init(&r.done, 0, 0) != 0) {
		fprintf(stderr, "domino: sem_init: %s\n", strerror(errno));
		rv = 1;
		goto out;
	}
	sem_ok = 1;
	signal_sem = &r.done;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	so.filter = filter;
	so.with_payload = 1;
	so.auto_ack = so.durable != NULL;
	so.on_event = on_event;
	so.on_gap = on_gap;
	so.arg = &r;
	rv = domino_subscribe(d, &so, &s);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	for (int waited = 0; !signalled; waited += READY_SLICE_MS) {
		rv = domino_sub_wait_ready(s, READY_SLICE_MS);
		if (rv != DOMINO_ETIMEDOUT || waited >= READY_TIMEOUT_MS)
			break;
		/* A catch-up blocked on a failing receiver is not "not
		 * ready": events are flowing. */
		if (atomic_load(&r.relayed) > 0)
			break;
	}
	if (rv == DOMINO_ECLOSED && ((r.count != 0 &&
	    atomic_load(&r.relayed) >= r.count) || atomic_load(&r.failed))) {
		/* Done (or failed) during the catch-up already. */
		rv = atomic_load(&r.failed) ? 1 : 0;
		goto out;
	}
	if (rv != DOMINO_OK && rv != DOMINO_ETIMEDOUT && !signalled) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (rv == DOMINO_ETIMEDOUT && atomic_load(&r.relayed) == 0 &&
	    !signalled)
		fprintf(stderr, "domino: not caught up yet (%s); relaying on\n",
		    domino_errmsg());
	if (!signalled && !r.json && isatty(STDERR_FILENO))
		fprintf(stderr, "domino: relaying to %s%s%s\n", r.ro.url,
		    so.durable ? " as durable " : "",
		    so.durable ? so.durable : "");
	while (!signalled && sem_wait(&r.done) != 0 && errno == EINTR)
		;
	rv = atomic_load(&r.failed) ? 1 : 0;
out:
	domino_unsubscribe(s);
	domino_close(d);
	signal_sem = NULL;
	if (sem_ok)
		sem_destroy(&r.done);
	if (curl_ok)
		curl_global_cleanup();
	return rv;
}

const struct cli_cmd cmd_relay = {
	.name = "relay",
	.run = run,
	.synopsis = "relay --to URL [FILTER] [--durable NAME] "
	    "[--from SEQ | --since TIME] [--secret S] [--count N] [--json]",
	.summary = "re-post each event's original webhook to a local URL",
	.help =
	    "Each event's raw body is POSTed to URL with its original forge\n"
	    "headers (X-GitHub-Event, X-GitHub-Delivery, Content-Type, ...).\n"
	    "Host, Content-Length, hop-by-hop and signature headers are not\n"
	    "copied. An event counts as relayed on a 2xx answer only: until\n"
	    "then it is retried with backoff (0.5 s doubling to 30 s) and the\n"
	    "events after it wait.\n"
	    "\n"
	    "options:\n"
	    "  --to URL        required: http://127.0.0.1:3000/hook\n"
	    "  FILTER          REPO[@REF] with globs, as for `domino tail`\n"
	    "  --durable NAME  keep the position in the broker: a restarted\n"
	    "                  relay goes on after the last event delivered\n"
	    "  --from SEQ      start with the log from SEQ (a durable NAME that\n"
	    "                  exists starts after its cursor instead)\n"
	    "  --since TIME    start with the first event received at TIME\n"
	    "  --secret S      sign for the receiver as the forge does: GitHub\n"
	    "                  and Gitea X-Hub-Signature-256 (Gitea also\n"
	    "                  X-Gitea-Signature), Bitbucket X-Hub-Signature,\n"
	    "                  GitLab X-Gitlab-Token\n"
	    "  --count N       exit after N events relayed\n"
	    "\n"
	    "One line per event: seq, repo, HTTP status (--json: {seq, repo,\n"
	    "status}). Events published by hand carry no body and are skipped.\n"
	    "Stops cleanly on SIGINT/SIGTERM; an event being retried then is\n"
	    "not acknowledged.\n",
};
