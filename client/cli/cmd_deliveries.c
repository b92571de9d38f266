/* SPDX-License-Identifier: MIT */
/*
 * `domino deliveries`: the delivery records matching created — one per
 * (listener, event) reached — with their state and the chain of repos that
 * reached the listener, as a table or JSON lines. One request: when the
 * broker says there are more, it says so on stderr.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"
#include "fmt_listener.h"
#include "fmt_ops.h"

/* Each delivery's history under a line naming it. */
static int
print_histories(const struct domino_deliveries *dl)
{
	for (size_t i = 0; i < dl->n; i++) {
		const struct domino_delivery *v = &dl->v[i];
		char *text = NULL;

		if (domino_fmt_history_table(v, &text) != DOMINO_OK) {
			fputs("domino: cannot format the history\n", stderr);
			return 1;
		}
		printf("\n%s seq %llu (%s):\n%s", v->listener,
		    (unsigned long long)v->seq, v->state ? v->state : "-",
		    text);
		free(text);
	}
	return fflush(stdout) != 0;
}

static int
run(struct cli *c, int argc, char **argv)
{
	static const char *const names[] = {"--listener", "--state", "--from",
	    "--limit", "--seq", NULL};
	struct domino_deliveries_query q = {0};
	struct domino_deliveries dl = {0};
	domino *d = NULL;
	char *text = NULL;
	const char *v = NULL;
	int rv;

	for (int i = 1; i < argc;) {
		int k, r = 0;

		if (cli_opt_flag(argv, i, "--history")) {
			q.history = 1;
			i++;
			continue;
		}
		for (k = 0; names[k] != NULL; k++) {
			r = cli_opt_val(argc, argv, &i, names[k], &v);
			if (r != 0)
				break;
		}
		if (r < 0)
			return cli_usage(&cmd_deliveries, "%s needs a value",
			    names[k]);
		if (r == 0)
			return cli_usage(&cmd_deliveries, "%s '%s'",
			    argv[i][0] == '-' ? "unknown option" :
			    "unexpected argument", argv[i]);
		switch (k) {
		case 0:
			q.listener = v;
			break;
		case 1:
			q.state = v;
			break;
		case 2:
			if (domino_fmt_parse_u64(v, &q.from) != DOMINO_OK)
				return cli_usage(&cmd_deliveries,
				    "--from wants a seq, not '%s'", v);
			break;
		case 4:
			if (domino_fmt_parse_u64(v, &q.seq) != DOMINO_OK ||
			    q.seq == 0)
				return cli_usage(&cmd_deliveries,
				    "--seq wants a seq, not '%s'", v);
			break;
		default:
			if (domino_fmt_parse_u64(v, &q.limit) != DOMINO_OK ||
			    q.limit == 0)
				return cli_usage(&cmd_deliveries, "--limit "
				    "wants a positive number, not '%s'", v);
			break;
		}
	}
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_deliveries(d, &q, &dl);
	if (rv != DOMINO_OK) {
		int unauth = rv == DOMINO_EUNAUTH;

		rv = cli_fail(c, rv);
		/* The broker knows a listener token only by the name sent. */
		if (unauth && q.listener == NULL && c->token != NULL)
			fputs("domino: with a listener's own token, name it: "
			    "--listener NAME\n", stderr);
		goto out;
	}
	if (c->json) {
		for (size_t i = 0; i < dl.n && rv == 0; i++) {
			rv = domino_fmt_delivery_json(&dl.v[i], &text);
			if (rv == DOMINO_OK)
				rv = cli_println(text) == 0 ? 0 : 1;
			else
				rv = 1;
			free(text);
			text = NULL;
		}
	} else if (dl.n == 0) {
		rv = cli_println("no deliveries") == 0 ? 0 : 1;
	} else if (domino_fmt_deliveries_table(&dl, &text) != DOMINO_OK) {
		fputs("domino: cannot format the deliveries\n", stderr);
		rv = 1;
	} else {
		rv = fputs(text, stdout) < 0 || fflush(stdout) != 0;
		if (rv == 0 && q.history)
			rv = print_histories(&dl);
	}
	if (rv == 0 && dl.more)
		fprintf(stderr, "domino: more deliveries match; raise --limit "
		    "(up to 1000) or narrow with --listener, --state, "
		    "--seq or --from\n");
out:
	free(text);
	domino_deliveries_clear(&dl);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_deliveries = {
	.name = "deliveries",
	.run = run,
	.synopsis = "deliveries [--listener NAME] [--state S] [--seq SEQ] "
	    "[--from SEQ] [--limit N] [--history] [--json]",
	.summary = "list delivery records (who was reached by which event)",
	.help =
	    "One row per (listener, event): LISTENER, SEQ, STATE, ATTEMPT,\n"
	    "the event's REPO and REF, and VIA, the chain of repos from the\n"
	    "one that changed to the listener. Ordered by listener, then seq.\n"
	    "\n"
	    "options:\n"
	    "  --listener NAME  only this listener's (a listener token sees\n"
	    "                   only its own anyway)\n"
	    "  --state S        pending, in_flight, ok, failed, dead or\n"
	    "                   superseded\n"
	    "  --seq SEQ        only the deliveries of this event\n"
	    "  --from SEQ       only events from this seq on\n"
	    "  --limit N        at most N records (default 100, at most 1000)\n"
	    "  --history        then each record's history: every attempt and\n"
	    "                   manual action with its TIME, ATTEMPT, WHAT,\n"
	    "                   STATUS (HTTP status, exit code) and DETAIL\n"
	    "  --json           one JSON object per line (with \"history\")\n",
};
