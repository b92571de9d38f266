/* SPDX-License-Identifier: MIT */
/*
 * `domino report`: a listener tells the broker how the work a delivery
 * triggered went (its CI run passed, failed or broke), normally from that
 * CI job with the listener's own token. `domino results` shows the
 * reports.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"

static int
run(struct cli *c, int argc, char **argv)
{
	static const char *const names[] = {"--listener", "--seq", "--status",
	    "--url", "--detail", NULL};
	const char *listener = NULL, *status = NULL, *url = NULL,
	    *detail = NULL, *v = NULL;
	uint64_t seq = 0;
	domino *d = NULL;
	int rv;

	for (int i = 1; i < argc;) {
		int k, r = 0;

		for (k = 0; names[k] != NULL; k++)
			if ((r = cli_opt_val(argc, argv, &i, names[k], &v)) != 0)
				break;
		if (r < 0)
			return cli_usage(&cmd_report, "%s needs a value",
			    names[k]);
		if (r == 0)
			return cli_usage(&cmd_report, "%s '%s'",
			    argv[i][0] == '-' ? "unknown option" :
			    "unexpected argument", argv[i]);
		switch (k) {
		case 0:
			listener = v;
			break;
		case 1:
			if (domino_fmt_parse_u64(v, &seq) != DOMINO_OK ||
			    seq == 0)
				return cli_usage(&cmd_report, "--seq wants a "
				    "seq, not '%s'", v);
			break;
		case 2:
			status = v;
			break;
		case 3:
			url = v;
			break;
		default:
			detail = v;
			break;
		}
	}
	if (listener == NULL || seq == 0 || status == NULL)
		return cli_usage(&cmd_report, "give --listener NAME, --seq SEQ "
		    "and --status pass|fail|error");
	if (strcmp(status, "pass") != 0 && strcmp(status, "fail") != 0 &&
	    strcmp(status, "error") != 0)
		return cli_usage(&cmd_report, "--status is pass, fail or error, "
		    "not '%s'", status);
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_report(d, listener, seq, status, url, detail);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json)
		printf("{\"listener\":\"%s\",\"seq\":%llu,\"status\":\"%s\","
		    "\"changed\":1}\n", listener, (unsigned long long)seq,
		    status);
	else
		printf("%s reported %s for seq %llu\n", listener, status,
		    (unsigned long long)seq);
	rv = fflush(stdout) == 0 ? 0 : 1;
out:
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_report = {
	.name = "report",
	.run = run,
	.synopsis = "report --listener NAME --seq SEQ --status pass|fail|error "
	    "[--url U] [--detail TEXT] [--json]",
	.summary = "report the outcome of the work a delivery triggered",
	.help =
	    "Run by the listener's CI job with its token (--token or\n"
	    "DOMINO_TOKEN): the delivery's event (DOMINO_SEQ for exec, the\n"
	    "`seq` of the JSON event for http) and how it went. A later report\n"
	    "for the same seq replaces the earlier one.\n"
	    "\n"
	    "options:\n"
	    "  --listener NAME  the listener reporting\n"
	    "  --seq SEQ        the upstream event it was told about\n"
	    "  --status S       pass, fail or error (could not run)\n"
	    "  --url U          where to see the run (at most 2 KiB)\n"
	    "  --detail TEXT    a short message (at most 4 KiB)\n"
	    "  --json           {\"listener\", \"seq\", \"status\", \"changed\"}\n",
};
