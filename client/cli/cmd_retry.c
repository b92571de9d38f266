/* SPDX-License-Identifier: MIT */
/*
 * `domino retry`: make one delivery, or every dead delivery of a listener,
 * due again at once. The broker refuses a delivery being attempted right
 * now; it does not look at why the earlier attempts failed.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"

static int
run(struct cli *c, int argc, char **argv)
{
	const char *listener = NULL, *v = NULL;
	uint64_t seq = 0, changed = 0;
	int all_dead = 0, rv;
	domino *d = NULL;

	for (int i = 1; i < argc;) {
		int r;

		if (cli_opt_flag(argv, i, "--all-dead")) {
			all_dead = 1;
			i++;
			continue;
		}
		if ((r = cli_opt_val(argc, argv, &i, "--listener", &v)) > 0) {
			listener = v;
			continue;
		}
		if (r == 0 && (r = cli_opt_val(argc, argv, &i, "--seq", &v)) > 0) {
			if (domino_fmt_parse_u64(v, &seq) != DOMINO_OK || seq == 0)
				return cli_usage(&cmd_retry, "--seq wants a "
				    "seq, not '%s'", v);
			continue;
		}
		if (r < 0)
			return cli_usage(&cmd_retry, "%s needs a value", argv[i]);
		return cli_usage(&cmd_retry, "%s '%s'", argv[i][0] == '-' ?
		    "unknown option" : "unexpected argument", argv[i]);
	}
	if (listener == NULL)
		return cli_usage(&cmd_retry, "which listener? (--listener NAME)");
	if ((seq != 0) == all_dead)
		return cli_usage(&cmd_retry, "give --seq SEQ (one delivery) or "
		    "--all-dead (every dead one)%s", all_dead ? ", not both" :
		    "");
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_retry(d, listener, seq, &changed);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json) {
		/* The broker accepted the name: [A-Za-z0-9._-] only. */
		printf("{\"listener\":\"%s\",\"changed\":%llu}\n", listener,
		    (unsigned long long)changed);
	} else if (seq != 0) {
		printf("delivery of seq %llu to %s is due again\n",
		    (unsigned long long)seq, listener);
	} else {
		printf("%llu dead deliver%s of %s due again\n",
		    (unsigned long long)changed, changed == 1 ? "y" : "ies",
		    listener);
	}
	rv = fflush(stdout) == 0 ? 0 : 1;
out:
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_retry = {
	.name = "retry",
	.run = run,
	.synopsis = "retry --listener NAME (--seq SEQ | --all-dead) [--json]",
	.summary = "make a delivery, or every dead one, due again now",
	.help =
	    "The records become pending, due at once; the next attempt counts\n"
	    "on from the earlier ones and goes into the history with who asked.\n"
	    "A delivery being attempted right now is refused: wait for its\n"
	    "answer. Needs the admin token or the listener's own.\n"
	    "\n"
	    "options:\n"
	    "  --listener NAME  the listener\n"
	    "  --seq SEQ        the delivery of this event\n"
	    "  --all-dead       every dead delivery of the listener\n"
	    "  --json           {\"listener\", \"changed\"}\n",
};
