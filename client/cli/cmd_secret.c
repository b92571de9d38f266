/* SPDX-License-Identifier: MIT */
/*
 * `domino secret SOURCE`: print the HMAC secret (or, for a source that
 * authenticates with a shared token, the token) followed by a newline and
 * nothing else, so scripts can write $(domino secret github). --json prints
 * {"source", "secret", "token"}. The values are wiped from memory after.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	memset(s, 0, strlen(s));
	free(s);
}

static int
print_json(const char *source, const char *secret, const char *token)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	int rv = 1;

	if (o == NULL || cJSON_AddStringToObject(o, "source", source) == NULL)
		goto out;
	if (secret != NULL &&
	    cJSON_AddStringToObject(o, "secret", secret) == NULL)
		goto out;
	if (token != NULL && cJSON_AddStringToObject(o, "token", token) == NULL)
		goto out;
	text = cJSON_PrintUnformatted(o);
	if (text == NULL)
		goto out;
	rv = cli_println(text) == 0 ? 0 : 1;
out:
	if (rv != 0)
		fputs("domino: cannot print the secret\n", stderr);
	wipe_free(text);
	cJSON_Delete(o);
	return rv;
}

static int
run(struct cli *c, int argc, char **argv)
{
	domino *d = NULL;
	char *secret = NULL, *token = NULL;
	const char *source;
	int rv;

	if (argc < 2)
		return cli_usage(&cmd_secret, "which SOURCE? (github, gitlab, "
		    "gitea, bitbucket, gerrit, generic)");
	if (argc > 2)
		return cli_usage(&cmd_secret, "unexpected argument '%s'",
		    argv[2]);
	source = argv[1];
	if (source[0] == '-')
		return cli_usage(&cmd_secret, "unknown option '%s'", source);
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_secret(d, source, &secret, &token);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	if (c->json) {
		rv = print_json(source, secret, token);
	} else if (secret != NULL || token != NULL) {
		rv = cli_println(secret != NULL ? secret : token) == 0 ? 0 : 1;
	} else {
		fprintf(stderr, "domino: source '%s' has no secret or token\n",
		    source);
		rv = 1;
	}
out:
	wipe_free(secret);
	wipe_free(token);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_secret = {
	.name = "secret",
	.run = run,
	.synopsis = "secret SOURCE [--json]",
	.summary = "print a source's webhook secret (or token), for scripts",
	.help =
	    "Prints the HMAC secret that SOURCE's webhooks are signed with, or\n"
	    "the shared token for sources that use one (gitlab, gerrit,\n"
	    "generic), followed by a newline and nothing else:\n"
	    "  curl -H \"X-Gitlab-Token: $(domino secret gitlab)\" ...\n"
	    "Needs the admin token. --json prints source, secret and token.\n",
};
