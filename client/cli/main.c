/* SPDX-License-Identifier: MIT */
/*
 * `domino`, the command-line client of the domino broker: takes the global
 * options out of argv wherever they stand, picks the subcommand and hands
 * it the rest. Each subcommand lives in cmd_<verb>.c and uses libdomino's
 * public API only. Exit codes: 0 ok, 1 failure or error reply, 2 usage.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cli_cmd *const cmds[] = {
	&cmd_status, &cmd_tail, &cmd_log, &cmd_secret, &cmd_publish,
	&cmd_ingest, &cmd_register, &cmd_unregister, &cmd_listeners,
	&cmd_listener, &cmd_impact, &cmd_deliveries,
	&cmd_retry, &cmd_resolve, &cmd_enable, &cmd_disable, &cmd_report,
	&cmd_results, &cmd_replay, &cmd_relay, &cmd_cursor,
	&cmd_plugins, &cmd_plugin, NULL,
};

static const struct cli_cmd *
find_cmd(const char *name)
{
	for (size_t i = 0; cmds[i] != NULL; i++)
		if (strcmp(cmds[i]->name, name) == 0)
			return cmds[i];
	return NULL;
}

static void
usage_all(FILE *f)
{
	fputs("usage: domino [--control URL] [--token T] [--data DIR] "
	    "[--json] COMMAND [ARGS]\n\ncommands:\n", f);
	for (size_t i = 0; cmds[i] != NULL; i++)
		fprintf(f, "  %-10s %s\n", cmds[i]->name, cmds[i]->summary);
	fputs("  help       show the usage of a command: domino help COMMAND\n"
	    "\nGlobal options may also follow the command. "
	    "See `domino COMMAND --help`.\n", f);
}

/* 1 when argv[*i] was a global option (consumed), 0 if not, -1 on a
 * missing value. */
static int
global_opt(struct cli *c, int argc, char **argv, int *i)
{
	static const struct {
		const char *name;
		size_t off;
	} vals[] = {
		{"--control", offsetof(struct cli, control_opt)},
		{"--token", offsetof(struct cli, token_opt)},
		{"--data", offsetof(struct cli, data_opt)},
		{"--ca", offsetof(struct cli, ca_opt)},
	};

	for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		const char *v = NULL;
		int r = cli_opt_val(argc, argv, i, vals[k].name, &v);
		if (r != 0) {
			if (r > 0)
				*(const char **)((char *)c + vals[k].off) = v;
			return r;
		}
	}
	if (cli_opt_flag(argv, *i, "--json")) {
		c->json = 1;
		(*i)++;
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli c = {0};
	const struct cli_cmd *cmd = NULL;
	char **rest;
	int nrest = 0, help = 0, rv, literal = 0;

	/* rest gets the command name (as argv[0]) and its own arguments. */
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (rest == NULL) {
		fputs("domino: out of memory\n", stderr);
		return 1;
	}
	for (int i = 1; i < argc;) {
		int r = 0;

		if (!literal && strcmp(argv[i], "--") == 0)
			literal = 1;
		if (!literal)
			r = global_opt(&c, argc, argv, &i);
		if (r < 0) {
			fprintf(stderr, "domino: %s needs a value\n", argv[i]);
			rv = EXIT_USAGE;
			goto out;
		}
		if (r > 0)
			continue;
		if (!literal && (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)) {
			help = 1;
			i++;
			continue;
		}
		rest[nrest++] = argv[i++];
	}
	if (nrest == 0) {
		usage_all(help ? stdout : stderr);
		rv = help ? 0 : EXIT_USAGE;
		goto out;
	}
	if (strcmp(rest[0], "help") == 0) {
		if (nrest < 2) {
			usage_all(stdout);
			rv = 0;
			goto out;
		}
		cmd = find_cmd(rest[1]);
		if (cmd == NULL) {
			fprintf(stderr, "domino: no command '%s'\n", rest[1]);
			rv = EXIT_USAGE;
			goto out;
		}
		cli_help(cmd, stdout);
		rv = 0;
		goto out;
	}
	if (strcmp(rest[0], "--version") == 0) {
		puts("domino " DOMINO_CLI_VERSION);
		rv = 0;
		goto out;
	}
	cmd = find_cmd(rest[0]);
	if (cmd == NULL) {
		fprintf(stderr, "domino: no command '%s' (see domino help)\n",
		    rest[0]);
		rv = EXIT_USAGE;
		goto out;
	}
	if (help) {
		cli_help(cmd, stdout);
		rv = 0;
		goto out;
	}
	rv = cmd->run(&c, nrest, rest);
out:
	cli_free(&c);
	free(rest);
	return rv;
}
