/* SPDX-License-Identifier: MIT */
/*
 * `domino publish`: store a hand-made event (source "generic") — for
 * scripts, CI systems without a forge, and trying listeners out. Prints
 * "seq N id ID", or says the id was a duplicate. Needs the admin token.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEPS_MAX 256

static int
print_result(const struct cli *c, const struct domino_published *p)
{
	if (c->json) {
		cJSON *o = cJSON_CreateObject();
		char *line = NULL, seq[32];
		int rv = 1;

		/* Raw, so a seq past 2^53 stays exact. */
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)p->seq);
		if (o != NULL && cJSON_AddRawToObject(o, "seq", seq) != NULL &&
		    cJSON_AddStringToObject(o, "id", p->id) != NULL &&
		    cJSON_AddBoolToObject(o, "duplicate", p->duplicate) != NULL)
			line = cJSON_PrintUnformatted(o);
		if (line != NULL)
			rv = cli_println(line) == 0 ? 0 : 1;
		free(line);
		cJSON_Delete(o);
		return rv;
	}
	if (p->duplicate)
		printf("duplicate: id %s is already seq %llu; nothing stored\n",
		    p->id, (unsigned long long)p->seq);
	else
		printf("seq %llu id %s\n", (unsigned long long)p->seq, p->id);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
run(struct cli *c, int argc, char **argv)
{
	static const char *const names[] = {"--repo", "--ref", "--type",
	    "--before", "--after", "--actor", "--url", "--id", "--event",
	    "--depends-on", NULL};
	struct domino_publish_args a = {0};
	struct domino_published res = {0};
	const char *deps[DEPS_MAX];
	const char **dst[9] = {&a.repo, &a.ref, &a.type, &a.before, &a.after,
	    &a.actor, &a.url, &a.id, &a.event};
	domino *d = NULL;
	const char *v = NULL;
	int rv;

	for (int i = 1; i < argc;) {
		int k, r = 0;

		for (k = 0; names[k] != NULL; k++) {
			r = cli_opt_val(argc, argv, &i, names[k], &v);
			if (r != 0)
				break;
		}
		if (r < 0)
			return cli_usage(&cmd_publish, "%s needs a value",
			    names[k]);
		if (r == 0)
			return cli_usage(&cmd_publish, "%s '%s'",
			    argv[i][0] == '-' ? "unknown option" :
			    "unexpected argument", argv[i]);
		if (k < 9) {
			*dst[k] = v;
			continue;
		}
		if (a.n_depends_on == DEPS_MAX)
			return cli_usage(&cmd_publish, "more than %d "
			    "--depends-on", DEPS_MAX);
		deps[a.n_depends_on++] = v;
	}
	if (a.repo == NULL)
		return cli_usage(&cmd_publish, "--repo is required "
		    "(host/owner/name)");
	a.depends_on = deps;
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	rv = domino_publish(d, &a, &res);
	if (rv != DOMINO_OK) {
		rv = cli_fail(c, rv);
		goto out;
	}
	rv = print_result(c, &res);
out:
	domino_published_clear(&res);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_publish = {
	.name = "publish",
	.run = run,
	.synopsis = "publish --repo REPO [--ref REF] [--type T] [--before SHA] "
	    "[--after SHA]\n"
	    "           [--actor A] [--url U] [--id ID] [--event NAME] "
	    "[--depends-on X]... [--json]",
	.summary = "store a hand-made event (source generic)",
	.help =
	    "The event is committed to the log, fanned out and matched\n"
	    "against the listeners like a webhook. Prints \"seq N id ID\".\n"
	    "\n"
	    "options:\n"
	    "  --repo REPO       required: host/owner/name\n"
	    "  --ref REF         full ref; a short name main is refs/heads/main\n"
	    "  --type T          push (default), ref.create, ref.delete, tag,\n"
	    "                    pr.open, pr.update, pr.merge, pr.close,\n"
	    "                    change.patchset, change.merged, release, ping,\n"
	    "                    other\n"
	    "  --before, --after SHA   commit ids\n"
	    "  --actor A, --url U      who did it, a link to it\n"
	    "  --id ID           delivery id: publishing the same id again\n"
	    "                    stores nothing (default: a new UUID)\n"
	    "  --event NAME      the forge event name (default: publish)\n"
	    "  --depends-on X    a Depends-On reference; repeatable\n"
	    "Needs the admin token.\n",
};
