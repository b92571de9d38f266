/* SPDX-License-Identifier: MIT */
/*
 * `domino replay`: operator re-delivery of a range of the log to one
 * listener (the `replay` operation, looped by domino_replay()). Shows a
 * progress line on stderr when stderr is a terminal, then a summary; with
 * --json the summary is one JSON object. The broker decides what reaches
 * the listener and what is skipped; this file parses options and shows.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fmt.h"

#define PROGRESS_EVERY_MS 100

struct progress {
	int tty;              /* stderr is a terminal: draw the bar */
	int drawn;            /* a bar is on the screen */
	unsigned calls;       /* progress callbacks so far */
	uint64_t from;        /* first seq asked for */
	int64_t t0, last_draw;/* monotonic ms */
	const char *listener;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
report_gone(const struct domino_replay_result *r)
{
	fprintf(stderr, "domino: events %" PRIu64 "..%" PRIu64 " were "
	    "trimmed; the log now starts at %" PRIu64 "\n", r->gone_from,
	    r->gone_to, r->first);
}

/* One line, redrawn in place: seqs done of the range, rate, ETA. */
static void
draw(struct progress *p, const struct domino_replay_result *r)
{
	uint64_t total, done;
	int64_t ms = mono_ms() - p->t0;
	double rate;
	char eta[64] = "-";

	total = r->last >= p->from ? r->last - p->from + 1 : 0;
	done = r->next > p->from ? r->next - p->from : 0;
	if (done > total)
		done = total;
	rate = (double)done * 1000.0 / (double)(ms > 0 ? ms : 1);
	if (rate > 0 && r->more)
		domino_fmt_duration((uint64_t)((double)(total - done) / rate *
		    1000.0), eta, sizeof(eta));
	else if (!r->more)
		snprintf(eta, sizeof(eta), "0s");
	fprintf(stderr, "\rreplay %s: %" PRIu64 "/%" PRIu64 " seqs (%3.0f%%) "
	    "%.0f/s ETA %s, %" PRIu64 " created, %" PRIu64 " skipped\033[K",
	    p->listener, done, total,
	    total ? 100.0 * (double)done / (double)total : 100.0, rate, eta,
	    r->created, r->skipped);
	fflush(stderr);
	p->drawn = 1;
}

static int
on_progress(void *arg, const struct domino_replay_result *r)
{
	struct progress *p = arg;
	int64_t now = mono_ms();

	/* The first call comes before any request, with what is gone. */
	if (p->calls == 0 && r->gone_to != 0)
		report_gone(r);
	p->calls++;
	if (p->tty && p->calls > 1 &&
	    (now - p->last_draw >= PROGRESS_EVERY_MS || !r->more)) {
		draw(p, r);
		p->last_draw = now;
	}
	return 0;
}

static int
print_json(const char *listener, uint64_t from,
    const struct domino_replay_result *r)
{
	cJSON *o = cJSON_CreateObject(), *g;
	char *line = NULL, num[32];
	int ok = o != NULL;
	const struct {
		const char *k;
		uint64_t v;
	} nums[] = {
		{"created", r->created}, {"skipped", r->skipped},
		{"scanned", r->scanned}, {"from", from}, {"to", r->last},
		{"first", r->first},
	};

	ok = ok && cJSON_AddStringToObject(o, "listener", listener) != NULL;
	for (size_t i = 0; ok && i < sizeof(nums) / sizeof(nums[0]); i++) {
		/* Raw, so a seq past 2^53 stays exact. */
		snprintf(num, sizeof(num), "%" PRIu64, nums[i].v);
		ok = cJSON_AddRawToObject(o, nums[i].k, num) != NULL;
	}
	if (ok && r->gone_to != 0) {
		g = cJSON_AddArrayToObject(o, "gone");
		ok = g != NULL;
		for (int i = 0; ok && i < 2; i++) {
			cJSON *n;

			snprintf(num, sizeof(num), "%" PRIu64,
			    i == 0 ? r->gone_from : r->gone_to);
			n = cJSON_CreateRaw(num);
			ok = n != NULL && cJSON_AddItemToArray(g, n);
			if (!ok)
				cJSON_Delete(n);
		}
	}
	if (ok)
		line = cJSON_PrintUnformatted(o);
	ok = line != NULL && cli_println(line) == 0;
	free(line);
	cJSON_Delete(o);
	return ok ? 0 : 1;
}

/* Parse a time option; 0 ok, 2 usage error. */
static int
time_opt(const char *name, const char *v, int64_t *ns)
{
	if (domino_fmt_parse_time(v, now_ns(), ns) != DOMINO_OK || *ns <= 0)
		return cli_usage(&cmd_replay, "%s: cannot read '%s' as a time "
		    "(2026-11-21T12:00:00Z, unix seconds, or 30m/2h/1d ago)",
		    name, v);
	return 0;
}

static int
run(struct cli *c, int argc, char **argv)
{
	static const char *const names[] = {"--listener", "--from", "--to",
	    "--since", "--until", NULL};
	struct domino_replay_query q = {0};
	struct domino_replay_result r = {0};
	struct progress p = {0};
	domino *d = NULL;
	const char *v = NULL;
	int rv;

	for (int i = 1; i < argc;) {
		int k, got = 0;

		if (cli_opt_flag(argv, i, "--force")) {
			q.force = 1;
			i++;
			continue;
		}
		for (k = 0; names[k] != NULL; k++) {
			got = cli_opt_val(argc, argv, &i, names[k], &v);
			if (got < 0)
				return cli_usage(&cmd_replay,
				    "%s needs a value", names[k]);
			if (got > 0)
				break;
		}
		if (names[k] == NULL)
			return cli_usage(&cmd_replay, "unexpected argument "
			    "'%s'", argv[i]);
		switch (k) {
		case 0:
			q.listener = v;
			break;
		case 1:
		case 2:
			if (domino_fmt_parse_u64(v, k == 1 ? &q.from : &q.to) !=
			    DOMINO_OK || (k == 1 ? q.from : q.to) == 0)
				return cli_usage(&cmd_replay, "%s wants a seq "
				    "(1 or more), not '%s'", names[k], v);
			break;
		default:
			rv = time_opt(names[k], v, k == 3 ? &q.since :
			    &q.until);
			if (rv != 0)
				return rv;
			break;
		}
	}
	if (q.listener == NULL)
		return cli_usage(&cmd_replay, "which listener? (--listener)");
	if (q.from == 0 && q.since == 0)
		return cli_usage(&cmd_replay, "where from? (--from SEQ or "
		    "--since TIME; --from 1 for the whole log)");
	if (q.to != 0 && q.from > q.to)
		return cli_usage(&cmd_replay, "--to must not be before --from");
	if (q.since != 0 && q.until != 0 && q.until <= q.since)
		return cli_usage(&cmd_replay, "--until must be after --since");

	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	p.tty = !c->json && isatty(STDERR_FILENO);
	p.from = q.from ? q.from : 1;
	p.t0 = mono_ms();
	p.listener = q.listener;
	rv = domino_replay(d, &q, on_progress, &p, &r);
	if (p.drawn)
		fputc('\n', stderr);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		if (r.next > p.from)
			fprintf(stderr, "domino: seqs before %" PRIu64 " were "
			    "handled (%" PRIu64 " created); go on with "
			    "--from %" PRIu64 "\n", r.next, r.created, r.next);
		goto out;
	}
	if (c->json) {
		rv = print_json(q.listener, p.from, &r);
	} else {
		printf("replay of %s, seq %" PRIu64 "..%" PRIu64 ": %" PRIu64
		    " created, %" PRIu64 " skipped (already open or ok), %"
		    PRIu64 " scanned\n", q.listener, p.from, r.last, r.created,
		    r.skipped, r.scanned);
		rv = fflush(stdout) == 0 ? 0 : 1;
	}
out:
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_replay = {
	.name = "replay",
	.run = run,
	.synopsis = "replay --listener NAME (--from SEQ | --since TIME) "
	    "[--to SEQ] [--until TIME] [--force] [--json]",
	.summary = "deliver a range of the log to a listener again",
	.help =
	    "Creates a new delivery for every event of the range that reaches\n"
	    "the listener through its dependency graph (directly or\n"
	    "transitively), unless one is already open, or was delivered ok\n"
	    "(then only with --force). The broker handles 1000 events per\n"
	    "request; a progress line shows on a terminal.\n"
	    "\n"
	    "options:\n"
	    "  --listener NAME  required\n"
	    "  --from SEQ       first seq (--from 1: the whole log)\n"
	    "  --to SEQ         last seq (default: the newest)\n"
	    "  --since TIME     only events received at or after TIME\n"
	    "  --until TIME     only events received before TIME\n"
	    "  --force          deliver again what was delivered ok\n"
	    "  --json           the summary as {listener, created, skipped,\n"
	    "                   scanned, from, to, first, gone?}\n"
	    "\n"
	    "TIME is as for `domino log`. A range retention trimmed is reported\n"
	    "on stderr; the rest of the range is replayed.\n",
};
