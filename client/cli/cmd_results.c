/* SPDX-License-Identifier: MIT */
/*
 * `domino results`: what downstream listeners reported. For an upstream
 * event (--seq), every listener it reached grouped by support level with
 * its delivery state and reported status, and a summary line; for a
 * listener (--listener), its newest report per upstream repo.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"
#include "fmt_ops.h"

static int
run(struct cli *c, int argc, char **argv)
{
	const char *listener = NULL, *v = NULL;
	uint64_t seq = 0;
	domino *d = NULL;
	char *json = NULL, *text = NULL;
	int rv;

	for (int i = 1; i < argc;) {
		int r = cli_opt_val(argc, argv, &i, "--listener", &v);

		if (r > 0) {
			listener = v;
			continue;
		}
		if (r == 0 && (r = cli_opt_val(argc, argv, &i, "--seq", &v)) > 0) {
			if (domino_fmt_parse_u64(v, &seq) != DOMINO_OK || seq == 0)
				return cli_usage(&cmd_results, "--seq wants a "
				    "seq, not '%s'", v);
			continue;
		}
		if (r < 0)
			return cli_usage(&cmd_results, "%s needs a value",
			    argv[i]);
		return cli_usage(&cmd_results, "%s '%s'", argv[i][0] == '-' ?
		    "unknown option" : "unexpected argument", argv[i]);
	}
	if ((listener != NULL) == (seq != 0))
		return cli_usage(&cmd_results, "give --seq SEQ (an upstream "
		    "event) or --listener NAME%s", listener != NULL ?
		    ", not both" : "");
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_results(d, listener, seq, &json);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json) {
		rv = cli_println(json) == 0 ? 0 : 1;
		goto out;
	}
	rv = listener != NULL ? domino_fmt_results_listener(json, &text) :
	    domino_fmt_results_event(json, &text);
	if (rv != DOMINO_OK) {
		fputs("domino: cannot format the results\n", stderr);
		rv = 1;
		goto out;
	}
	rv = fputs(text, stdout) < 0 || fflush(stdout) != 0;
out:
	free(text);
	free(json);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_results = {
	.name = "results",
	.run = run,
	.synopsis = "results (--seq SEQ | --listener NAME) [--json]",
	.summary = "show what downstream listeners reported",
	.help =
	    "--seq SEQ: every listener the upstream event reached, grouped by\n"
	    "support level (0 core, 1 required for release, 2 not required,\n"
	    "3 third party), each with its delivery state, its reported status\n"
	    "(pass, fail, error, or unknown when it has not answered) and the\n"
	    "report's URL; then a summary such as \"2 pass, 1 fail, 1 not\n"
	    "answered\". Needs the admin token.\n"
	    "--listener NAME: its newest report per upstream repo (the admin\n"
	    "token or the listener's own).\n"
	    "--json: the broker's answer as one JSON object.\n",
};
