/* SPDX-License-Identifier: MIT */
/*
 * `domino unregister NAME`: remove a listener with its dependency entries
 * and its delivery records. With a listener token, NAME must be that
 * listener (the broker enforces it).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int
run(struct cli *c, int argc, char **argv)
{
	domino *d = NULL;
	uint64_t removed = 0;
	const char *name;
	int rv;

	if (argc < 2)
		return cli_usage(&cmd_unregister, "which listener NAME?");
	if (argc > 2)
		return cli_usage(&cmd_unregister, "unexpected argument '%s'",
		    argv[2]);
	name = argv[1];
	if (name[0] == '-')
		return cli_usage(&cmd_unregister, "unknown option '%s'", name);
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_unregister(d, name, &removed);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json) {
		char line[300];

		/* Listener names are [A-Za-z0-9._-]: nothing to escape. */
		snprintf(line, sizeof(line), "{\"name\":\"%.128s\","
		    "\"deliveries_removed\":%llu}", name,
		    (unsigned long long)removed);
		rv = cli_println(line) == 0 ? 0 : 1;
	} else {
		printf("listener %s removed (%llu deliveries removed)\n", name,
		    (unsigned long long)removed);
		rv = fflush(stdout) == 0 ? 0 : 1;
	}
out:
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_unregister = {
	.name = "unregister",
	.run = run,
	.synopsis = "unregister NAME [--json]",
	.summary = "remove a listener and its deliveries",
	.help =
	    "Removes the listener, its dependency entries and its delivery\n"
	    "records. Needs the admin token or the listener's own token.\n",
};
