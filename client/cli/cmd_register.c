/* SPDX-License-Identifier: MIT */
/*
 * `domino register`: create or update a listener from a YAML or JSON file
 * (converted generically to the msgpack registration map) or from flags
 * (built with domino_registration_pack), and show the listener's token the
 * one time the broker gives it out. The broker validates the registration
 * and names the field it refuses; this file does not second-guess it.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"

#define REG_FILE_MAX (16u * 1024 * 1024)
#define REG_ITEMS_MAX 256 /* of each repeatable flag */

struct reg_flags {
	struct domino_registration r;
	struct domino_dep deps[REG_ITEMS_MAX];
	struct domino_kv config[REG_ITEMS_MAX];
	struct domino_kv labels[REG_ITEMS_MAX];
	char *owned[3 * REG_ITEMS_MAX];  /* copies split at '@' or '=' */
	size_t n_owned;
	int any;                         /* a registration flag was given */
};

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	memset(s, 0, strlen(s));
	free(s);
}

/* Read a whole file ("-": stdin) of at most REG_FILE_MAX bytes. */
static int
read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t cap = 64 * 1024, n = 0;
	char *b = NULL;
	int rv = 1;

	*buf = NULL;
	*len = 0;
	if (f == NULL) {
		fprintf(stderr, "domino: %s: %s\n", path, strerror(errno));
		return 1;
	}
	b = malloc(cap);
	while (b != NULL) {
		size_t got = fread(b + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
		if (n > REG_FILE_MAX) {
			fprintf(stderr, "domino: %s: over %u bytes\n", path,
			    REG_FILE_MAX);
			goto out;
		}
		if (n == cap) {
			char *nb = realloc(b, cap * 2);
			if (nb == NULL)
				break;
			b = nb;
			cap *= 2;
		}
	}
	if (b == NULL || ferror(f)) {
		fprintf(stderr, "domino: %s: %s\n", path, b == NULL ?
		    "out of memory" : "read error");
		goto out;
	}
	*buf = b;
	*len = n;
	b = NULL;
	rv = 0;
out:
	free(b);
	if (f != stdin)
		fclose(f);
	return rv;
}

/* Split "k<sep>v" into a kv (copies kept in rf->owned). */
static int
split_kv(struct reg_flags *rf, const char *arg, int sep, struct domino_kv *kv)
{
	const char *s = strchr(arg, sep);
	char *k;

	if (s == NULL || s == arg)
		return -1;
	k = strndup(arg, (size_t)(s - arg));
	if (k == NULL)
		return -1;
	rf->owned[rf->n_owned++] = k;
	kv->key = k;
	kv->value = s + 1;
	return 0;
}

/* One registration flag at argv[*i]: 1 consumed, 0 not ours, 2 usage
 * error (printed). */
static int
reg_flag(struct reg_flags *rf, int argc, char **argv, int *i)
{
	static const char *const names[] = {"--name", "--depends-on",
	    "--provides", "--plugin", "--config", "--support-level",
	    "--label", NULL};
	struct domino_registration *r = &rf->r;
	const char *v = NULL;
	uint64_t n;
	int k, got = 0;

	for (k = 0; names[k] != NULL; k++) {
		got = cli_opt_val(argc, argv, i, names[k], &v);
		if (got != 0)
			break;
	}
	if (got == 0)
		return 0;
	if (got < 0)
		return cli_usage(&cmd_register, "%s needs a value", names[k]);
	rf->any = 1;
	if ((k == 1 && r->n_depends_on == REG_ITEMS_MAX) ||
	    (k == 4 && r->n_config == REG_ITEMS_MAX) ||
	    (k == 6 && r->n_labels == REG_ITEMS_MAX))
		return cli_usage(&cmd_register, "more than %d %s",
		    REG_ITEMS_MAX, names[k]);
	switch (k) {
	case 0:
		r->name = v;
		break;
	case 1: {
		struct domino_dep *d = &rf->deps[r->n_depends_on++];
		const char *at = strchr(v, '@');

		d->repo = v;
		if (at != NULL && (at == v || at[1] == '\0'))
			return cli_usage(&cmd_register, "--depends-on wants "
			    "REPO or REPO@REF, not '%s'", v);
		if (at != NULL) {
			char *repo = strndup(v, (size_t)(at - v));
			if (repo == NULL)
				return cli_usage(&cmd_register, "out of memory");
			rf->owned[rf->n_owned++] = repo;
			d->repo = repo;
			d->ref = at + 1;
		}
		break;
	}
	case 2:
		r->provides = v;
		break;
	case 3:
		r->plugin = v;
		break;
	case 4:
		if (split_kv(rf, v, '=', &rf->config[r->n_config]) != 0)
			return cli_usage(&cmd_register, "--config wants "
			    "key=value, not '%s'", v);
		r->n_config++;
		break;
	case 5:
		if (domino_fmt_parse_u64(v, &n) != DOMINO_OK || n > 1000)
			return cli_usage(&cmd_register, "--support-level wants "
			    "0 (core), 1 (required for release), 2 (not "
			    "required) or 3 (third party), not '%s'", v);
		r->has_support_level = 1;
		r->support_level = (unsigned)n;
		break;
	default:
		if (split_kv(rf, v, '=', &rf->labels[r->n_labels]) != 0)
			return cli_usage(&cmd_register, "--label wants "
			    "key=value, not '%s'", v);
		r->n_labels++;
		break;
	}
	return 1;
}

static int
print_result(const struct cli *c, const struct domino_registered *res)
{
	char *line = NULL;
	int rv = 0;

	if (c->json) {
		cJSON *o = cJSON_CreateObject();

		if (o == NULL ||
		    cJSON_AddStringToObject(o, "name", res->name) == NULL ||
		    cJSON_AddBoolToObject(o, "created", res->created) == NULL ||
		    (res->token != NULL && cJSON_AddStringToObject(o, "token",
		    res->token) == NULL) ||
		    (line = cJSON_PrintUnformatted(o)) == NULL)
			rv = 1;
		else
			rv = cli_println(line) == 0 ? 0 : 1;
		cJSON_Delete(o);
		wipe_free(line);
		return rv;
	}
	printf("listener %s %s\n", res->name, res->created ? "created" :
	    "updated");
	if (res->token != NULL) {
		printf("token: %s\n", res->token);
		printf("Keep this token: it is shown only this once (the broker "
		    "keeps only its hash).\nThe listener uses it as --token "
		    "(or DOMINO_TOKEN) to read and manage itself.\n");
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
run(struct cli *c, int argc, char **argv)
{
	struct reg_flags *rf = NULL;
	struct domino_registered res = {0};
	const char *file = NULL;
	domino *d = NULL;
	char *text = NULL;
	void *map = NULL;
	size_t tlen = 0, mlen = 0;
	int rv = 0, rotate = 0, literal = 0;

	rf = calloc(1, sizeof(*rf));
	if (rf == NULL) {
		fputs("domino: out of memory\n", stderr);
		return 1;
	}
	rf->r.depends_on = rf->deps;
	rf->r.config = rf->config;
	rf->r.labels = rf->labels;
	for (int i = 1; i < argc;) {
		if (!literal && strcmp(argv[i], "--") == 0) {
			literal = 1;
			i++;
			continue;
		}
		if (!literal && cli_opt_flag(argv, i, "--rotate-token")) {
			rotate = 1;
			i++;
			continue;
		}
		if (!literal && argv[i][0] == '-' && argv[i][1] == '-') {
			int r = reg_flag(rf, argc, argv, &i);

			if (r == 1)
				continue;
			rv = r != 0 ? r : cli_usage(&cmd_register,
			    "unknown option '%s'", argv[i]);
			goto out;
		}
		if (file != NULL) {
			rv = cli_usage(&cmd_register, "one FILE at most");
			goto out;
		}
		file = argv[i++];
	}
	if (file != NULL && rf->any) {
		rv = cli_usage(&cmd_register, "give a FILE or the --name ... "
		    "flags, not both");
		goto out;
	}
	if (file == NULL && !rf->any) {
		rv = cli_usage(&cmd_register, "which listener? Give a YAML "
		    "FILE or --name, --depends-on and --plugin");
		goto out;
	}
	if (file != NULL) {
		rv = read_file(file, &text, &tlen);
		if (rv != 0)
			goto out;
		if (domino_yaml_to_msgpack(text, tlen, strcmp(file, "-") == 0 ?
		    "stdin" : file, &map, &mlen) != DOMINO_OK) {
			fprintf(stderr, "domino: %s\n", domino_errmsg());
			rv = 1;
			goto out;
		}
	} else if (domino_registration_pack(&rf->r, &map, &mlen) !=
	    DOMINO_OK) {
		rv = cli_usage(&cmd_register, "%s", domino_errmsg());
		goto out;
	}
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_register(d, map, mlen, rotate, &res);
	if (rv == DOMINO_EINVAL && file != NULL) {
		/* The broker names the field; say which file it is in. */
		fprintf(stderr, "domino: %s: %s\n", file, domino_errmsg());
		rv = 1;
		goto out;
	}
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	rv = print_result(c, &res);
out:
	domino_registered_clear(&res);
	domino_close(d);
	free(map);
	free(text);
	for (size_t i = 0; i < rf->n_owned; i++)
		free(rf->owned[i]);
	free(rf);
	return rv;
}

const struct cli_cmd cmd_register = {
	.name = "register",
	.run = run,
	.synopsis = "register FILE [--rotate-token] [--json]\n"
	    "       domino register --name N --depends-on REPO[@REF]... "
	    "--plugin P\n"
	    "           [--config KEY=VALUE]... [--provides REPO] "
	    "[--support-level N]\n"
	    "           [--label KEY=VALUE]... [--rotate-token] [--json]",
	.summary = "create or update a listener from a YAML/JSON file or flags",
	.help =
	    "FILE is YAML (or JSON; - reads stdin) holding one registration:\n"
	    "  name: plugin-b\n"
	    "  depends_on:\n"
	    "    - github.com/org/core            # a repo, a glob or host/org/\n"
	    "    - {repo: github.com/org/lib, ref: main, types: [push, tag]}\n"
	    "  provides: github.com/org/plugin-b  # what this listener is\n"
	    "  callback: {plugin: http, config: {url: https://ci.example/hook}}\n"
	    "  support_level: 1\n"
	    "  labels: {team: build}\n"
	    "Anchors, aliases, tags, duplicate keys and several documents are\n"
	    "refused with the line named. Unquoted integers, true/false and\n"
	    "null are typed; everything else is a string.\n"
	    "\n"
	    "options:\n"
	    "  --name N              the listener's name ([A-Za-z0-9._-])\n"
	    "  --depends-on R[@REF]  a repo (or glob) it depends on; repeatable\n"
	    "  --provides REPO       the repo the listener itself is\n"
	    "  --plugin P            callback plugin: http, exec, nng, file\n"
	    "  --config KEY=VALUE    a callback config value; repeatable\n"
	    "  --support-level N     0 core, 1 required for release,\n"
	    "                        2 not required (default), 3 third party\n"
	    "  --label KEY=VALUE     a free label; repeatable\n"
	    "  --rotate-token        issue a new listener token (the old one\n"
	    "                        stops working)\n"
	    "\n"
	    "A new listener's token is printed once; keep it. Updating an\n"
	    "existing listener needs the admin token or its own token.\n",
};
