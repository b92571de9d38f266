/* SPDX-License-Identifier: MIT */
/*
 * `domino resolve`: mark a delivery done by hand (state ok), with a reason
 * that the broker keeps in its history next to who resolved it.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"

static int
run(struct cli *c, int argc, char **argv)
{
	static const char *const names[] = {"--listener", "--seq", "--reason",
	    NULL};
	const char *listener = NULL, *reason = NULL, *v = NULL;
	uint64_t seq = 0, changed = 0;
	domino *d = NULL;
	int rv;

	for (int i = 1; i < argc;) {
		int k, r = 0;

		for (k = 0; names[k] != NULL; k++)
			if ((r = cli_opt_val(argc, argv, &i, names[k], &v)) != 0)
				break;
		if (r < 0)
			return cli_usage(&cmd_resolve, "%s needs a value",
			    names[k]);
		if (r == 0)
			return cli_usage(&cmd_resolve, "%s '%s'",
			    argv[i][0] == '-' ? "unknown option" :
			    "unexpected argument", argv[i]);
		if (k == 0)
			listener = v;
		else if (k == 2)
			reason = v;
		else if (domino_fmt_parse_u64(v, &seq) != DOMINO_OK || seq == 0)
			return cli_usage(&cmd_resolve, "--seq wants a seq, "
			    "not '%s'", v);
	}
	if (listener == NULL || seq == 0)
		return cli_usage(&cmd_resolve, "give --listener NAME and "
		    "--seq SEQ");
	if (reason == NULL || *reason == '\0')
		return cli_usage(&cmd_resolve, "say why with --reason TEXT "
		    "(it goes into the delivery's history)");
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_resolve(d, listener, seq, reason, &changed);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json)
		printf("{\"listener\":\"%s\",\"seq\":%llu,\"changed\":%llu}\n",
		    listener, (unsigned long long)seq,
		    (unsigned long long)changed);
	else
		printf("delivery of seq %llu to %s resolved\n",
		    (unsigned long long)seq, listener);
	rv = fflush(stdout) == 0 ? 0 : 1;
out:
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_resolve = {
	.name = "resolve",
	.run = run,
	.synopsis = "resolve --listener NAME --seq SEQ --reason TEXT [--json]",
	.summary = "mark a delivery done by hand, saying why",
	.help =
	    "The delivery becomes ok and gets no further attempt; its history\n"
	    "records who resolved it and the reason (see `domino deliveries\n"
	    "--history`). Needs the admin token or the listener's own.\n"
	    "\n"
	    "options:\n"
	    "  --listener NAME  the listener\n"
	    "  --seq SEQ        the event of the delivery\n"
	    "  --reason TEXT    why no (further) attempt is needed\n"
	    "  --json           {\"listener\", \"seq\", \"changed\"}\n",
};
