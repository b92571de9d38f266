/* SPDX-License-Identifier: MIT */
/*
 * `domino tail`: print live events as they are published, one line each
 * (or one JSON object per line), optionally catching up from the log
 * first (a seq, a time, all of it, or a durable consumer's cursor, which
 * it acknowledges as it prints). Waits for the link to be proven up and
 * the catch-up to be done, stops after --count events or on
 * SIGINT/SIGTERM, and exits 0 then.
 */
#include <errno.h>
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

struct tail {
	int json, payload;
	uint64_t count;            /* 0: no limit */
	atomic_uint_least64_t seen;
	atomic_int failed;         /* stdout is gone */
	sem_t done;
};

/* The handler only posts: sem_post is async-signal-safe. */
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

static int
print_event(struct tail *t, const struct domino_event *ev)
{
	char *line = NULL;
	int rv;

	if (t->json)
		rv = domino_fmt_event_json(ev, t->payload, &line);
	else
		rv = domino_fmt_event_line(ev, &line);
	if (rv != DOMINO_OK)
		return -1;
	rv = cli_println(line);
	free(line);
	return rv;
}

static int
on_event(void *arg, const struct domino_event *ev)
{
	struct tail *t = arg;
	uint64_t n;

	if (t->count != 0 && atomic_load(&t->seen) >= t->count)
		return 1;
	if (print_event(t, ev) != 0) {
		atomic_store(&t->failed, 1);
		sem_post(&t->done);
		return 1;
	}
	n = atomic_fetch_add(&t->seen, 1) + 1;
	/* 0 even for the last one: it was printed, so a durable tail
	 * acknowledges it; the next event stops the subscription. */
	if (t->count != 0 && n >= t->count)
		sem_post(&t->done);
	return 0;
}

static void
on_gap(void *arg, uint64_t from, uint64_t to)
{
	(void)arg;
	fprintf(stderr, "domino: events %llu..%llu were trimmed from the log "
	    "before they could be read; skipped\n", (unsigned long long)from,
	    (unsigned long long)to);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
run(struct cli *c, int argc, char **argv)
{
	struct tail t = {0};
	struct domino_sub_opts so = {0};
	struct sigaction sa = {0};
	domino *d = NULL;
	domino_sub *s = NULL;
	const char *filter = NULL, *v;
	int rv, sem_ok = 0, literal = 0, starts = 0;

	t.json = c->json;
	for (int i = 1; i < argc;) {
		int r;

		if (!literal && strcmp(argv[i], "--") == 0) {
			literal = 1;
			i++;
			continue;
		}
		if (!literal && cli_opt_flag(argv, i, "--payload")) {
			t.payload = 1;
			i++;
			continue;
		}
		if (!literal && cli_opt_flag(argv, i, "--all")) {
			so.from = 1;
			starts++;
			i++;
			continue;
		}
		r = literal ? 0 : cli_opt_val(argc, argv, &i, "--since", &v);
		if (r < 0)
			return cli_usage(&cmd_tail, "--since needs a time");
		if (r > 0) {
			if (domino_fmt_parse_time(v, now_ns(), &so.since) !=
			    DOMINO_OK || so.since <= 0)
				return cli_usage(&cmd_tail, "--since: cannot "
				    "read '%s' as a time (2026-11-21T12:00:00Z, "
				    "unix seconds, or 30m/2h/1d ago)", v);
			starts++;
			continue;
		}
		r = literal ? 0 : cli_opt_val(argc, argv, &i, "--durable", &v);
		if (r < 0)
			return cli_usage(&cmd_tail, "--durable needs a name");
		if (r > 0) {
			if (*v == '\0' || strlen(v) > 128)
				return cli_usage(&cmd_tail, "--durable wants a "
				    "name of 1 to 128 bytes");
			so.durable = v;
			so.auto_ack = 1;
			continue;
		}
		r = literal ? 0 : cli_opt_val(argc, argv, &i, "--count", &v);
		if (r < 0)
			return cli_usage(&cmd_tail, "--count needs a number");
		if (r > 0) {
			if (domino_fmt_parse_u64(v, &t.count) != DOMINO_OK ||
			    t.count == 0)
				return cli_usage(&cmd_tail,
				    "--count wants a positive number, not '%s'",
				    v);
			continue;
		}
		r = literal ? 0 : cli_opt_val(argc, argv, &i, "--from", &v);
		if (r < 0)
			return cli_usage(&cmd_tail, "--from needs a seq");
		if (r > 0) {
			if (domino_fmt_parse_u64(v, &so.from) != DOMINO_OK ||
			    so.from == 0)
				return cli_usage(&cmd_tail,
				    "--from wants a seq (1 or more), not '%s'",
				    v);
			starts++;
			continue;
		}
		if (!literal && argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage(&cmd_tail, "unknown option '%s'",
			    argv[i]);
		if (filter != NULL)
			return cli_usage(&cmd_tail, "one FILTER at most");
		filter = argv[i++];
	}
	if (starts > 1)
		return cli_usage(&cmd_tail, "one of --from, --since, --all");

	if (sem_init(&t.done, 0, 0) != 0) {
		fprintf(stderr, "domino: sem_init: %s\n", strerror(errno));
		return 1;
	}
	sem_ok = 1;
	signal_sem = &t.done;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	so.filter = filter;
	so.with_payload = t.payload;
	so.on_event = on_event;
	so.on_gap = on_gap;
	so.arg = &t;
	if (!t.json && isatty(STDOUT_FILENO)) {
		char *hdr = NULL;
		if (domino_fmt_event_line(NULL, &hdr) == DOMINO_OK)
			cli_println(hdr);
		free(hdr);
	}
	rv = domino_subscribe(d, &so, &s);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	/* In slices, so that Ctrl-C is not held up by a silent broker. A
	 * long catch-up is not a failure as long as events come. */
	for (int waited = 0; !signalled; waited += READY_SLICE_MS) {
		rv = domino_sub_wait_ready(s, READY_SLICE_MS);
		if (rv != DOMINO_ETIMEDOUT || waited >= READY_TIMEOUT_MS)
			break;
	}
	if (rv == DOMINO_ETIMEDOUT && atomic_load(&t.seen) > 0)
		rv = DOMINO_OK;
	/* Stopped during the catch-up because --count was reached, or
	 * stdout went away: that is the end, not a failure to connect. */
	if (rv == DOMINO_ECLOSED && ((t.count != 0 &&
	    atomic_load(&t.seen) >= t.count) || atomic_load(&t.failed))) {
		rv = atomic_load(&t.failed) ? 1 : 0;
		goto out;
	}
	if (rv != DOMINO_OK && !signalled) {
		rv = cli_fail(c, rv);
		goto out;
	}
	while (!signalled && sem_wait(&t.done) != 0 && errno == EINTR)
		;
	rv = atomic_load(&t.failed) ? 1 : 0;
out:
	domino_unsubscribe(s);
	domino_close(d);
	signal_sem = NULL;
	if (sem_ok)
		sem_destroy(&t.done);
	return rv;
}

const struct cli_cmd cmd_tail = {
	.name = "tail",
	.run = run,
	.synopsis = "tail [FILTER] [--from SEQ | --since TIME | --all] "
	    "[--durable NAME] [--count N] [--payload] [--json]",
	.summary = "print live events as they are published",
	.help =
	    "FILTER is REPO[@REF] with globs, e.g. github.com/org/core@refs/heads/main,\n"
	    "'github.com/org/*@refs/tags/*', or github.com/org/ for a whole org.\n"
	    "\n"
	    "options:\n"
	    "  --from SEQ      first print the log from SEQ, then go on live\n"
	    "  --since TIME    first print the log from TIME (as for `domino log`)\n"
	    "  --all           first print the whole log\n"
	    "  --durable NAME  a durable consumer: start after NAME's cursor and\n"
	    "                  acknowledge each event once printed, so the next\n"
	    "                  `tail --durable NAME` goes on where this one\n"
	    "                  stopped; a new NAME starts as the options above\n"
	    "                  say (default: new events only)\n"
	    "  --count N       exit after N events\n"
	    "  --payload       with --json: include the raw webhook payload\n"
	    "\n"
	    "One line per event: seq, time, source, type, repo, ref,\n"
	    "before..after (7-character ids) and actor; '-' marks an absent\n"
	    "field. --json prints one JSON object per line. Stops cleanly on\n"
	    "SIGINT/SIGTERM. Events missed while the link was down, or dropped\n"
	    "because the terminal was slow, are read back from the log, in\n"
	    "order; only events retention already trimmed are reported missing.\n",
};
