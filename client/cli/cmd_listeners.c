/* SPDX-License-Identifier: MIT */
/*
 * `domino listeners`: every registered listener, one table row each (name,
 * support level, provides, what it depends on, plugin), or the broker's
 * summaries as a JSON array with --json. Needs the admin token.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt_listener.h"

static int
run(struct cli *c, int argc, char **argv)
{
	domino *d = NULL;
	char *json = NULL, *table = NULL;
	int rv;

	if (argc > 1)
		return cli_usage(&cmd_listeners, "%s '%s'", argv[1][0] == '-' ?
		    "unknown option" : "unexpected argument", argv[1]);
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_listeners(d, &json);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json) {
		rv = cli_println(json) == 0 ? 0 : 1;
	} else if (strcmp(json, "[]") == 0) {
		rv = cli_println("no listeners") == 0 ? 0 : 1;
	} else if (domino_fmt_listeners_table(json, &table) != DOMINO_OK) {
		fputs("domino: cannot format the listeners\n", stderr);
		rv = 1;
	} else {
		rv = fputs(table, stdout) < 0 || fflush(stdout) != 0;
	}
out:
	free(table);
	free(json);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_listeners = {
	.name = "listeners",
	.run = run,
	.synopsis = "listeners [--json]",
	.summary = "list the registered listeners",
	.help =
	    "One row per listener: NAME, LEVEL (support level: 0 core,\n"
	    "1 required for release, 2 not required, 3 third party),\n"
	    "PROVIDES, DEPENDS_ON (the first three entries) and PLUGIN.\n"
	    "--json prints the broker's summaries as one JSON array (times\n"
	    "in unix ns). Needs the admin token.\n",
};
