/* SPDX-License-Identifier: MIT */
/*
 * `domino impact REPO`: "if REPO changed, who would hear about it?" — the
 * listeners reached directly and through what other listeners provide,
 * as a tree by depth with support levels, a Graphviz digraph (--dot) or
 * a JSON array (--json). Nothing is stored. Needs the admin token.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"
#include "fmt_listener.h"

static int
run(struct cli *c, int argc, char **argv)
{
	struct domino_impact_opts o = {0};
	struct domino_impact im = {0};
	const char *repo = NULL, *v;
	domino *d = NULL;
	char *text = NULL;
	uint64_t n;
	int rv, dot = 0, literal = 0;

	for (int i = 1; i < argc;) {
		int r;

		if (!literal && strcmp(argv[i], "--") == 0) {
			literal = 1;
			i++;
			continue;
		}
		if (!literal && cli_opt_flag(argv, i, "--dot")) {
			dot = 1;
			i++;
			continue;
		}
		if (!literal && argv[i][0] == '-' && argv[i][1] == '-') {
			r = cli_opt_val(argc, argv, &i, "--support-level", &v);
			if (r > 0) {
				if (domino_fmt_parse_u64(v, &n) != DOMINO_OK ||
				    n > 1000)
					return cli_usage(&cmd_impact,
					    "--support-level wants 0..3, not "
					    "'%s'", v);
				o.has_support_level = 1;
				o.support_level = (unsigned)n;
				continue;
			}
			if (r == 0)
				r = cli_opt_val(argc, argv, &i, "--max-depth",
				    &v);
			if (r > 0) {
				if (domino_fmt_parse_u64(v, &n) != DOMINO_OK ||
				    n == 0 || n > 64)
					return cli_usage(&cmd_impact,
					    "--max-depth wants 1..64, not '%s'",
					    v);
				o.max_depth = (unsigned)n;
				continue;
			}
			if (r < 0)
				return cli_usage(&cmd_impact, "%s needs a value",
				    argv[i]);
			return cli_usage(&cmd_impact, "unknown option '%s'",
			    argv[i]);
		}
		if (repo != NULL)
			return cli_usage(&cmd_impact, "one REPO at most");
		repo = argv[i++];
	}
	if (repo == NULL)
		return cli_usage(&cmd_impact, "which REPO? (host/owner/name)");
	if (dot && c->json)
		return cli_usage(&cmd_impact, "--dot or --json, not both");

	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_impact(d, repo, &o, &im);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json)
		rv = domino_fmt_impact_json(&im, &text);
	else if (dot)
		rv = domino_fmt_impact_dot(&im, &text);
	else
		rv = domino_fmt_impact_tree(&im, &text);
	if (rv != DOMINO_OK) {
		fputs("domino: cannot format the impact\n", stderr);
		rv = 1;
		goto out;
	}
	rv = fputs(text, stdout) < 0 || fflush(stdout) != 0;
out:
	free(text);
	domino_impact_clear(&im);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_impact = {
	.name = "impact",
	.run = run,
	.synopsis = "impact REPO [--support-level N] [--max-depth N] "
	    "[--dot | --json]",
	.summary = "show which listeners a change of REPO would reach",
	.help =
	    "Prints a tree: each listener under the one whose `provides` it\n"
	    "is reached through, with its support level.\n"
	    "\n"
	    "options:\n"
	    "  --support-level N  only listeners at level N or more important\n"
	    "                     (0 core, 1 required for release, 2 not\n"
	    "                     required, 3 third party)\n"
	    "  --max-depth N      follow at most N links (default: the\n"
	    "                     broker's graph.max_depth)\n"
	    "  --dot              a Graphviz digraph: domino impact R --dot |"
	    " dot -Tsvg\n"
	    "  --json             the listeners as one JSON array\n",
};
