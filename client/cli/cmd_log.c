/* SPDX-License-Identifier: MIT */
/*
 * `domino log`: print events from the durable log in seq order, in the
 * same line or JSON form as `domino tail`. The library pages through the
 * broker's `log` operation; this file only parses options and prints.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fmt.h"

struct out {
	int json, payload, failed;
};

static int
print_event(void *arg, const struct domino_event *ev)
{
	struct out *o = arg;
	char *line = NULL;
	int rv;

	if (o->json)
		rv = domino_fmt_event_json(ev, o->payload, &line);
	else
		rv = domino_fmt_event_line(ev, &line);
	if (rv == DOMINO_OK)
		rv = cli_println(line);
	free(line);
	if (rv != 0)
		o->failed = 1;
	return rv != 0;
}

/* The broker says part of the range asked for was trimmed. */
static void
on_gone(void *arg, uint64_t from, uint64_t to, uint64_t first)
{
	(void)arg;
	fflush(stdout);
	fprintf(stderr, "domino: events %llu..%llu were trimmed; the log now "
	    "starts at %llu\n", (unsigned long long)from,
	    (unsigned long long)to, (unsigned long long)first);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Parse the value of a time option into *ns; 0 ok, 2 usage error. */
static int
time_opt(const char *name, const char *v, int64_t *ns)
{
	if (domino_fmt_parse_time(v, now_ns(), ns) != DOMINO_OK)
		return cli_usage(&cmd_log, "%s: cannot read '%s' as a time "
		    "(2026-11-21T12:00:00Z, unix seconds, or 30m/2h/1d ago)",
		    name, v);
	return 0;
}

static int
run(struct cli *c, int argc, char **argv)
{
	struct domino_log_query q = {0};
	struct out o = {0};
	domino *d = NULL;
	const char *v;
	int rv, literal = 0;

	o.json = c->json;
	for (int i = 1; i < argc;) {
		int r;

		if (!literal && strcmp(argv[i], "--") == 0) {
			literal = 1;
			i++;
			continue;
		}
		if (!literal && cli_opt_flag(argv, i, "--payload")) {
			o.payload = q.with_payload = 1;
			i++;
			continue;
		}
		if (!literal && argv[i][0] == '-' && argv[i][1] == '-') {
			static const char *const names[] = {"--from",
			    "--since", "--until", "--limit", NULL};
			int k;

			for (k = 0; names[k] != NULL; k++) {
				r = cli_opt_val(argc, argv, &i, names[k], &v);
				if (r < 0)
					return cli_usage(&cmd_log,
					    "%s needs a value", names[k]);
				if (r > 0)
					break;
			}
			if (names[k] == NULL)
				return cli_usage(&cmd_log,
				    "unknown option '%s'", argv[i]);
			switch (k) {
			case 0:
				if (domino_fmt_parse_u64(v, &q.from) !=
				    DOMINO_OK)
					return cli_usage(&cmd_log,
					    "--from wants a seq, not '%s'", v);
				break;
			case 1:
				rv = time_opt("--since", v, &q.since);
				if (rv != 0)
					return rv;
				break;
			case 2:
				rv = time_opt("--until", v, &q.until);
				if (rv != 0)
					return rv;
				break;
			default:
				if (domino_fmt_parse_u64(v, &q.limit) !=
				    DOMINO_OK || q.limit == 0)
					return cli_usage(&cmd_log,
					    "--limit wants a positive number, "
					    "not '%s'", v);
				break;
			}
			continue;
		}
		if (!literal && argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage(&cmd_log, "unknown option '%s'",
			    argv[i]);
		if (q.filter != NULL)
			return cli_usage(&cmd_log, "one FILTER at most");
		q.filter = argv[i++];
	}
	if (q.since != 0 && q.until != 0 && q.until <= q.since)
		return cli_usage(&cmd_log, "--until must be after --since");

	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	if (!o.json && isatty(STDOUT_FILENO)) {
		char *hdr = NULL;
		if (domino_fmt_event_line(NULL, &hdr) == DOMINO_OK)
			cli_println(hdr);
		free(hdr);
	}
	q.on_gone = on_gone;
	rv = domino_log(d, &q, print_event, &o, NULL);
	if (rv != DOMINO_OK)
		rv = cli_fail(c, rv);
	else
		rv = o.failed ? 1 : 0;
out:
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_log = {
	.name = "log",
	.run = run,
	.synopsis = "log [FILTER] [--from SEQ] [--since TIME] [--until TIME] "
	    "[--limit N] [--payload] [--json]",
	.summary = "print events from the durable log, oldest first",
	.help =
	    "FILTER is REPO[@REF] with globs, as for `domino tail`.\n"
	    "\n"
	    "options:\n"
	    "  --from SEQ      start at this seq (default: the oldest)\n"
	    "  --since TIME    only events received at or after TIME\n"
	    "  --until TIME    only events received before TIME\n"
	    "  --limit N       print at most N events\n"
	    "  --payload       with --json: include the raw webhook payload\n"
	    "\n"
	    "TIME is RFC 3339 (2026-11-21T12:00:00Z), a date (2026-11-21),\n"
	    "unix seconds, or an age: 90s, 30m, 2h, 1d, 1w ago.\n",
};
