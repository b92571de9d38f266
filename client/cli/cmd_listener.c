/* SPDX-License-Identifier: MIT */
/*
 * `domino listener NAME`: one listener as stored, as YAML-like text (or
 * JSON with --json). Secret callback settings come back from the broker as
 * "***"; this command never sees them.
 */
#include <stdlib.h>

#include "cli.h"
#include "fmt_listener.h"

static int
run(struct cli *c, int argc, char **argv)
{
	domino *d = NULL;
	char *json = NULL, *text = NULL;
	int rv;

	if (argc < 2)
		return cli_usage(&cmd_listener, "which listener NAME?");
	if (argc > 2)
		return cli_usage(&cmd_listener, "unexpected argument '%s'",
		    argv[2]);
	if (argv[1][0] == '-')
		return cli_usage(&cmd_listener, "unknown option '%s'", argv[1]);
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_listener(d, argv[1], &json);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json) {
		rv = cli_println(json) == 0 ? 0 : 1;
	} else if (domino_fmt_json_yaml(json, &text) != DOMINO_OK) {
		fputs("domino: cannot format the listener\n", stderr);
		rv = 1;
	} else {
		rv = fputs(text, stdout) < 0 || fflush(stdout) != 0;
	}
out:
	free(text);
	free(json);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_listener = {
	.name = "listener",
	.run = run,
	.synopsis = "listener NAME [--json]",
	.summary = "show one listener's registration",
	.help =
	    "Prints the registration as stored, plus created/updated times\n"
	    "and whether it is disabled. Secret callback settings (an HTTP\n"
	    "secret) are shown as ***. Needs the admin token or the\n"
	    "listener's own token.\n",
};
