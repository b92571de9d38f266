/* SPDX-License-Identifier: MIT */
/*
 * `domino plugins [--describe NAME]`: the callback plugins the broker has,
 * built-in and external, with broken ones and why; --describe shows one
 * plugin's config keys (required, secret, what they mean).
 * `domino plugin install URL [--name N] [--sha256 HEX]` and
 * `domino plugin reload`: add an external plugin, rescan the directory.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void
print_list(const cJSON *root)
{
	const cJSON *p, *list = cJSON_GetObjectItemCaseSensitive(root, "plugins");

	printf("%-20s %-9s %-11s %-10s %s\n", "NAME", "KIND", "STATE",
	    "VERSION", "SUMMARY");
	cJSON_ArrayForEach(p, list) {
		const char *ver = jstr(p, "version");
		printf("%-20s %-9s %-11s %-10s %s\n", jstr(p, "name"),
		    jstr(p, "kind"), jstr(p, "state"), *ver ? ver : "-",
		    jstr(p, "summary"));
	}
	cJSON_ArrayForEach(p, list) {
		const char *st = jstr(p, "state"), *why = jstr(p, "reason");
		if ((strcmp(st, "broken") == 0 || strcmp(st, "restarting") == 0) &&
		    *why != '\0')
			printf("%s is %s: %s\n", jstr(p, "name"), st, why);
	}
}

static void
print_describe(const cJSON *root)
{
	const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root,
	    "plugins"), 0), *k;
	const char *ver;

	if (p == NULL)
		return;
	ver = jstr(p, "version");
	printf("%s%s%s (%s): %s\n", jstr(p, "name"), *ver ? " " : "", ver,
	    jstr(p, "kind"), jstr(p, "summary"));
	if (*jstr(p, "path") != '\0')
		printf("path: %s\nstate: %s\n", jstr(p, "path"), jstr(p, "state"));
	printf("config keys:\n");
	cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(p, "config")) {
		printf("  %-16s %-8s %-6s %s\n", k->string,
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(k, "required")) ?
		    "required" : "optional",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(k, "secret")) ?
		    "secret" : "", jstr(k, "description"));
	}
}

static int
show(struct cli *c, const char *json, void (*fn)(const cJSON *))
{
	cJSON *root;

	if (c->json)
		return cli_println(json) == 0 ? 0 : 1;
	if ((root = cJSON_Parse(json)) == NULL) {
		fputs("domino: cannot read the broker's reply\n", stderr);
		return 1;
	}
	fn(root);
	cJSON_Delete(root);
	return fflush(stdout) != 0;
}

static void
print_installed(const cJSON *root)
{
	printf("installed plugin %s\n", jstr(root, "name"));
}

static void
print_reloaded(const cJSON *root)
{
	printf("plugins rescanned: %d working, %d broken\n",
	    cJSON_GetObjectItemCaseSensitive(root, "plugins") ?
	    cJSON_GetObjectItemCaseSensitive(root, "plugins")->valueint : 0,
	    cJSON_GetObjectItemCaseSensitive(root, "broken") ?
	    cJSON_GetObjectItemCaseSensitive(root, "broken")->valueint : 0);
}

static int
run_plugins(struct cli *c, int argc, char **argv)
{
	const char *name = NULL, *v;
	domino *d = NULL;
	char *json = NULL;
	int rv;

	for (int i = 1; i < argc;) {
		int r = cli_opt_val(argc, argv, &i, "--describe", &v);
		if (r > 0) {
			name = v;
			continue;
		}
		if (r < 0)
			return cli_usage(&cmd_plugins, "%s needs a value", argv[i]);
		return cli_usage(&cmd_plugins, "%s '%s'", argv[i][0] == '-' ?
		    "unknown option" : "unexpected argument", argv[i]);
	}
	if ((rv = cli_open(c, &d)) != 0)
		goto out;
	rv = domino_plugins(d, name, &json);
	if (rv != DOMINO_OK)
		rv = cli_fail(c, rv);
	else
		rv = show(c, json, name != NULL ? print_describe : print_list);
out:
	free(json);
	domino_close(d);
	return rv;
}

static int
run_plugin(struct cli *c, int argc, char **argv)
{
	const char *url = NULL, *name = NULL, *sha = NULL, *v;
	domino *d = NULL;
	char *json = NULL;
	int rv, install;

	if (argc < 2)
		return cli_usage(&cmd_plugin, "install or reload?");
	install = strcmp(argv[1], "install") == 0;
	if (!install && strcmp(argv[1], "reload") != 0)
		return cli_usage(&cmd_plugin, "unknown subcommand '%s'", argv[1]);
	for (int i = 2; i < argc;) {
		int r = cli_opt_val(argc, argv, &i, "--name", &v);
		if (r > 0) {
			name = v;
			continue;
		}
		if (r == 0 && (r = cli_opt_val(argc, argv, &i, "--sha256", &v)) > 0) {
			sha = v;
			continue;
		}
		if (r < 0)
			return cli_usage(&cmd_plugin, "%s needs a value", argv[i]);
		if (install && url == NULL && argv[i][0] != '-') {
			url = argv[i++];
			continue;
		}
		return cli_usage(&cmd_plugin, "%s '%s'", argv[i][0] == '-' ?
		    "unknown option" : "unexpected argument", argv[i]);
	}
	if (install && url == NULL)
		return cli_usage(&cmd_plugin, "install needs a URL");
	if (!install && (name != NULL || sha != NULL))
		return cli_usage(&cmd_plugin, "reload takes no options");
	if ((rv = cli_open(c, &d)) != 0)
		goto out;
	rv = install ? domino_plugin_install(d, url, name, sha, &json) :
	    domino_plugin_reload(d, &json);
	if (rv != DOMINO_OK)
		rv = cli_fail(c, rv);
	else
		rv = show(c, json, install ? print_installed : print_reloaded);
out:
	free(json);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_plugins = {
	.name = "plugins",
	.run = run_plugins,
	.synopsis = "plugins [--describe NAME] [--json]",
	.summary = "list callback plugins (built-in and external, broken ones and why)",
	.help =
	    "--describe NAME: one plugin's config keys: required or optional,\n"
	    "    secret (stored encrypted, shown as ***), and what each means\n"
	    "--json: the broker's answer as JSON\n",
};

const struct cli_cmd cmd_plugin = {
	.name = "plugin",
	.run = run_plugin,
	.synopsis = "plugin install URL [--name N] [--sha256 HEX] | plugin reload",
	.summary = "install an external callback plugin, or rescan the plugin directory",
	.help =
	    "install URL: download (http, https, file; an executable or a .tar.gz\n"
	    "    holding one), run its `capabilities`, activate it atomically\n"
	    "--name N: install under this name (default: the name it declares)\n"
	    "--sha256 HEX: refuse unless the download has this SHA-256\n"
	    "reload: rescan the plugin directory (like SIGHUP)\n",
};
