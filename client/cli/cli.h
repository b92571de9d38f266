/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the `domino` command: the global options every command
 * takes, how the control address and token are found (flags, environment,
 * the data directory), option parsing and the exit-code conventions (0 ok,
 * 1 failure or error reply, 2 usage). Commands use libdomino's public API
 * only (domino.h, fmt.h), like curl's tool uses libcurl.
 */
#ifndef DOMINO_CLI_H
#define DOMINO_CLI_H

#include <stdio.h>

#include "domino.h"

#define EXIT_USAGE 2

#define DOMINO_CLI_VERSION "0.1.0"

#define DATA_DIR_DEFAULT "./var/domino"

/* Global options and what they resolve to. */
struct cli {
	const char *control_opt; /* --control, or NULL */
	const char *token_opt;   /* --token, or NULL */
	const char *ca_opt;      /* --ca, or NULL */
	const char *data_opt;    /* --data, or NULL */
	int json;                /* --json */

	/* Resolved by cli_open(); owned by struct cli (cli_free). */
	char *data;
	char *control;
	char *pub;               /* from run.json when control came from there */
	char *token;
};

/* One subcommand. */
struct cli_cmd {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
	const char *synopsis;    /* "tail [FILTER] [--count N] ..." */
	const char *summary;     /* one line for `domino help` */
	const char *help;        /* the options, one per line */
};

extern const struct cli_cmd cmd_tail, cmd_log, cmd_status, cmd_secret;
extern const struct cli_cmd cmd_publish, cmd_ingest, cmd_register,
    cmd_unregister, cmd_listeners, cmd_listener, cmd_impact, cmd_deliveries;
extern const struct cli_cmd cmd_retry, cmd_resolve, cmd_enable, cmd_disable,
    cmd_report, cmd_results;
extern const struct cli_cmd cmd_replay, cmd_relay, cmd_cursor;
extern const struct cli_cmd cmd_plugins, cmd_plugin;

/* Free what cli_open() resolved. */
void cli_free(struct cli *c);

/*
 * Resolve data dir, control address and token (flags, then DOMINO_DATA /
 * DOMINO_CONTROL / DOMINO_TOKEN, then <data>/run.json and
 * <data>/admin.token, then the defaults) and open a handle. On failure it
 * prints the reason and returns 1 (the exit code); 0 on success.
 */
int cli_open(struct cli *c, domino **d);

/* Print "domino: " + the failed call's text (domino_errmsg) to stderr,
 * with a hint for common causes; returns 1. */
int cli_fail(const struct cli *c, int err);

/* Print "domino: <msg>" and the command's synopsis to stderr; returns 2. */
int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print a command's full help to f. */
void cli_help(const struct cli_cmd *cmd, FILE *f);

/*
 * Option parsing over argv[1..argc) of a subcommand.
 * cli_opt_val: if argv[*i] is "--name VALUE" or "--name=VALUE", set *val,
 * advance *i past it and return 1; 0 when argv[*i] is another argument;
 * -1 when the value is missing.
 */
int cli_opt_val(int argc, char **argv, int *i, const char *name,
    const char **val);

/* 1 when argv[i] is exactly "--name". */
int cli_opt_flag(char **argv, int i, const char *name);

/* Write line + '\n' to stdout and flush (readers use pipes); 0 or -1. */
int cli_println(const char *line);

/* Longest input line the line readers take. */
#define CLI_LINE_MAX (16u * 1024 * 1024)

/*
 * Read one line (without its '\n' or "\r\n") into *buf. Returns 1 with
 * *len set, 0 at EOF, -1 on a read error; *toolong when the line was over
 * CLI_LINE_MAX (the rest of it is skipped).
 */
int cli_read_line(FILE *f, char **buf, size_t *cap, size_t *len,
    int *toolong);

#endif
