/* SPDX-License-Identifier: MIT */
/*
 * `domino cursor NAME`: the seq a durable consumer (`tail --durable`,
 * `relay --durable`, a program using domino_sub_opts.durable) has
 * acknowledged. Reading only: cursors move by acks from their consumer.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
run(struct cli *c, int argc, char **argv)
{
	domino *d = NULL;
	const char *name = NULL;
	uint64_t seq = 0;
	int rv;

	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_usage(&cmd_cursor, "unknown option '%s'",
			    argv[i]);
		if (name != NULL)
			return cli_usage(&cmd_cursor, "one NAME at most");
		name = argv[i];
	}
	if (name == NULL)
		return cli_usage(&cmd_cursor, "which consumer? (NAME)");
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_cursor(d, name, &seq);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		char *line = NULL, num[32];

		/* Raw, so a seq past 2^53 stays exact. */
		snprintf(num, sizeof(num), "%" PRIu64, seq);
		if (o != NULL && cJSON_AddStringToObject(o, "name", name) !=
		    NULL && cJSON_AddRawToObject(o, "seq", num) != NULL)
			line = cJSON_PrintUnformatted(o);
		rv = line != NULL && cli_println(line) == 0 ? 0 : 1;
		free(line);
		cJSON_Delete(o);
	} else {
		printf("%" PRIu64 "\n", seq);
		rv = fflush(stdout) == 0 ? 0 : 1;
	}
out:
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_cursor = {
	.name = "cursor",
	.run = run,
	.synopsis = "cursor NAME [--json]",
	.summary = "print the seq a durable consumer has acknowledged",
	.help =
	    "A durable consumer (tail --durable NAME, relay --durable NAME)\n"
	    "resumes after this seq. A NAME that never acknowledged anything\n"
	    "is an error (exit 1).\n",
};
