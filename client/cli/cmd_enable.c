/* SPDX-License-Identifier: MIT */
/*
 * `domino enable NAME` and `domino disable NAME`: turn a listener's
 * deliveries back on or off. A disabled listener keeps its backlog; it
 * gets it once enabled. The broker disables a listener by itself after a
 * 410 Gone or days of failures; enabling is how an operator answers that.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int
run_one(const struct cli_cmd *cmd, int enable, struct cli *c, int argc,
    char **argv)
{
	const char *what = enable ? "enabled" : "disabled";
	uint64_t changed = 0;
	domino *d = NULL;
	int rv;

	if (argc < 2)
		return cli_usage(cmd, "which listener NAME?");
	if (argc > 2)
		return cli_usage(cmd, "unexpected argument '%s'", argv[2]);
	if (argv[1][0] == '-')
		return cli_usage(cmd, "unknown option '%s'", argv[1]);
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_enable(d, argv[1], enable, &changed);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json)
		printf("{\"name\":\"%s\",\"disabled\":%s,\"changed\":%llu}\n",
		    argv[1], enable ? "false" : "true",
		    (unsigned long long)changed);
	else
		printf("listener %s %s%s\n", argv[1], changed ? "" :
		    "was already ", what);
	rv = fflush(stdout) == 0 ? 0 : 1;
out:
	domino_close(d);
	return rv;
}

static int
run_enable(struct cli *c, int argc, char **argv)
{
	return run_one(&cmd_enable, 1, c, argc, argv);
}

static int
run_disable(struct cli *c, int argc, char **argv)
{
	return run_one(&cmd_disable, 0, c, argc, argv);
}

const struct cli_cmd cmd_enable = {
	.name = "enable",
	.run = run_enable,
	.synopsis = "enable NAME [--json]",
	.summary = "let a disabled listener receive again, backlog first",
	.help =
	    "Its pending deliveries are attempted again and how long it had\n"
	    "been failing is forgotten. Needs the admin token.\n"
	    "With --json: {\"name\", \"disabled\": false, \"changed\"} (changed 0:\n"
	    "it was enabled already).\n",
};

const struct cli_cmd cmd_disable = {
	.name = "disable",
	.run = run_disable,
	.synopsis = "disable NAME [--json]",
	.summary = "stop attempting a listener's deliveries (they are kept)",
	.help =
	    "New events still create deliveries for it; none is attempted until\n"
	    "`domino enable NAME`. Needs the admin token or the listener's own.\n"
	    "With --json: {\"name\", \"disabled\": true, \"changed\"}.\n",
};
