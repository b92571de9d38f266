/* SPDX-License-Identifier: MIT */
/*
 * `domino status`: the broker's stats as a small table for a person, or as
 * one JSON object with --json.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"
#include "fmt_ops.h"

static void
row(const char *k, const char *v)
{
	printf("%-10s %s\n", k, v != NULL && *v != '\0' ? v : "-");
}

static void
print_retention(const struct domino_stats *st)
{
	char buf[160];
	int n;

	n = snprintf(buf, sizeof(buf), "%" PRIu64 " trimmed, %" PRIu64
	    " held back", st->retention.trimmed, st->retention.held_back);
	if (st->retention.held_by_seq != 0 && n > 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " (needed from "
		    "seq %" PRIu64 ")", st->retention.held_by_seq);
	if (st->trimmed_before != 0 && n > 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, "; gone below seq "
		    "%" PRIu64, st->trimmed_before);
	row("retention", buf);
}

/* Webhook answers: a source x HTTP status table under "ingest". */
static void
print_ingest(const struct domino_stats *st)
{
	char *text = NULL;

	if (st->n_ingest == 0 || domino_fmt_ingest_table(st, &text) !=
	    DOMINO_OK) {
		row("ingest", st->n_ingest == 0 ? "no webhooks yet" : "?");
		return;
	}
	printf("ingest\n");
	for (const char *line = text; *line != '\0';) {
		size_t n = strcspn(line, "\n");

		printf("  %.*s\n", (int)n, line);
		line += n + (line[n] == '\n');
	}
	free(text);
}

static void
print_table(const struct domino_stats *st)
{
	char buf[192];

	row("version", st->version);
	snprintf(buf, sizeof(buf), "%" PRIu64, st->seq);
	row("seq", buf);
	if (st->events == 0)
		snprintf(buf, sizeof(buf), "0 (log empty)");
	else
		snprintf(buf, sizeof(buf), "%" PRIu64 " (seq %" PRIu64
		    "..%" PRIu64 ")", st->events, st->first_seq, st->seq);
	row("events", buf);
	row("uptime", domino_fmt_duration(st->uptime_ms, buf, sizeof(buf)));
	row("http", st->listen_http);
	row("pub", st->listen_pub);
	row("control", st->listen_control);
	row("admin", st->listen_admin);
	printf("%-10s ", "sources");
	for (size_t i = 0; i < st->n_sources; i++)
		printf("%s%s", i ? ", " : "", st->sources[i]);
	printf("%s\n", st->n_sources ? "" : "-");
	snprintf(buf, sizeof(buf), "%" PRIu64 " in flight, %" PRIu64
	    " dispatched, %" PRIu64 " ok, %" PRIu64 " retried, %" PRIu64
	    " dead", st->deliveries.in_flight, st->deliveries.dispatched,
	    st->deliveries.ok, st->deliveries.retried, st->deliveries.dead);
	row("deliveries", buf);
	print_retention(st);
	print_ingest(st);
	for (size_t i = 0; i < st->n_plugins; i++) {
		const struct domino_plugin_state *p = &st->plugins[i];
		snprintf(buf, sizeof(buf), "%s %s%s%s", p->name ? p->name : "?",
		    p->state ? p->state : "?", p->reason && *p->reason ? ": " : "",
		    p->reason ? p->reason : "");
		row(i == 0 ? "plugins" : "", buf);
	}
}

static int
run(struct cli *c, int argc, char **argv)
{
	struct domino_stats st = {0};
	domino *d = NULL;
	char *json = NULL;
	int rv;

	if (argc > 1)
		return cli_usage(&cmd_status, "unexpected argument '%s'",
		    argv[1]);
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_stats(d, &st);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json) {
		if (domino_fmt_stats_json(&st, &json) != DOMINO_OK) {
			fputs("domino: out of memory\n", stderr);
			rv = 1;
			goto out;
		}
		rv = cli_println(json) == 0 ? 0 : 1;
	} else {
		print_table(&st);
		rv = fflush(stdout) == 0 ? 0 : 1;
	}
out:
	free(json);
	domino_stats_clear(&st);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_status = {
	.name = "status",
	.run = run,
	.synopsis = "status [--json]",
	.summary = "show the broker's version, log, addresses and counters",
	.help =
	    "Rows: version, seq, events, uptime, the bound addresses, enabled\n"
	    "sources; deliveries since start (in flight, dispatched, ok,\n"
	    "retried, dead); retention (events trimmed since start, events\n"
	    "held back because an open delivery or a cursor needs them); and\n"
	    "ingest, the webhook answers so far per source and HTTP status.\n"
	    "--json: one object with the `stats` field names.\n",
};
