/* SPDX-License-Identifier: MIT */
/*
 * `domino publish`: store a hand-made event (source "generic") — for
 * scripts, CI systems without a forge, and trying listeners out. Prints
 * "seq N id ID", or says the id was a duplicate. With --batch FILE, one
 * event per JSON line, sent DOMINO_PUBLISH_MAX at a time (one commit
 * each). Needs the admin token.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEPS_MAX 256

/* The answer for one event, as a line. */
static int
print_result(const struct cli *c, const struct domino_published_event *p)
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

/* The lines of one request, parsed; a[i] borrows from json[i]. */
struct chunk {
	struct domino_publish_args a[DOMINO_PUBLISH_MAX];
	cJSON *json[DOMINO_PUBLISH_MAX];
	const char **deps[DOMINO_PUBLISH_MAX];
	uint64_t first_line;
	size_t n;
};

static void
chunk_clear(struct chunk *k)
{
	for (size_t i = 0; i < k->n; i++) {
		cJSON_Delete(k->json[i]);
		free(k->deps[i]);
	}
	k->n = 0;
}

/* Read one JSON line into k's next event; a reason in why on a refusal. */
static int
chunk_add(struct chunk *k, const char *line, char *why, size_t cap)
{
	static const char *const keys[] = {"repo", "ref", "type", "before",
	    "after", "actor", "url", "id", "event"};
	struct domino_publish_args *a = &k->a[k->n];
	const char **dst[9] = {&a->repo, &a->ref, &a->type, &a->before,
	    &a->after, &a->actor, &a->url, &a->id, &a->event};
	cJSON *o = cJSON_Parse(line), *deps, *it;
	size_t nd = 0;

	memset(a, 0, sizeof(*a));
	if (o == NULL || !cJSON_IsObject(o)) {
		snprintf(why, cap, "not a JSON object");
		cJSON_Delete(o);
		return -1;
	}
	for (size_t i = 0; i < 9; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[i]);
		if (v == NULL || cJSON_IsNull(v))
			continue;
		if (!cJSON_IsString(v)) {
			snprintf(why, cap, "%s must be a string", keys[i]);
			cJSON_Delete(o);
			return -1;
		}
		*dst[i] = v->valuestring;
	}
	if (a->repo == NULL) {
		snprintf(why, cap, "repo is required (host/owner/name)");
		cJSON_Delete(o);
		return -1;
	}
	deps = cJSON_GetObjectItemCaseSensitive(o, "depends_on");
	k->deps[k->n] = NULL;
	if (deps != NULL && !cJSON_IsNull(deps)) {
		if (!cJSON_IsArray(deps) || (k->deps[k->n] = calloc((size_t)
		    cJSON_GetArraySize(deps) + 1, sizeof(char *))) == NULL) {
			snprintf(why, cap, "depends_on must be a list of strings");
			cJSON_Delete(o);
			return -1;
		}
		cJSON_ArrayForEach(it, deps) {
			if (!cJSON_IsString(it)) {
				snprintf(why, cap, "depends_on must be a list of "
				    "strings");
				free(k->deps[k->n]);
				cJSON_Delete(o);
				return -1;
			}
			k->deps[k->n][nd++] = it->valuestring;
		}
		a->depends_on = k->deps[k->n];
		a->n_depends_on = nd;
	}
	k->json[k->n++] = o;
	return 0;
}

/* Send k and print each event's answer; 0 when stored. */
static int
chunk_send(struct cli *c, domino *d, struct chunk *k, const char *where)
{
	struct domino_published res = {0};
	int rv;

	if (k->n == 0)
		return 0;
	rv = domino_publish_many(d, k->a, k->n, &res);
	if (rv != DOMINO_OK) {
		fprintf(stderr, "domino: %s: lines %llu-%llu not stored: %s\n",
		    where, (unsigned long long)k->first_line,
		    (unsigned long long)(k->first_line + k->n - 1),
		    *domino_errmsg() ? domino_errmsg() : domino_strerror(rv));
		chunk_clear(k);
		return 1;
	}
	for (size_t i = 0; rv == 0 && i < res.n_events; i++)
		rv = print_result(c, &res.events[i]);
	domino_published_clear(&res);
	chunk_clear(k);
	return rv;
}

/* --batch FILE: one event per line; blank lines are skipped. */
static int
run_batch(struct cli *c, const char *file)
{
	struct chunk *k = calloc(1, sizeof(*k));
	int from_stdin = strcmp(file, "-") == 0;
	const char *where = from_stdin ? "stdin" : file;
	FILE *f = stdin;
	domino *d = NULL;
	char *buf = NULL, why[256];
	size_t cap = 0, len;
	uint64_t line = 0;
	int rv = 0, r, toolong;

	if (k == NULL)
		return cli_fail(c, DOMINO_ENOMEM);
	if (!from_stdin && (f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "domino: cannot read %s: %s\n", file,
		    strerror(errno));
		free(k);
		return 1;
	}
	if ((rv = cli_open(c, &d)) != 0)
		goto out;
	while (rv == 0 && (r = cli_read_line(f, &buf, &cap, &len,
	    &toolong)) == 1) {
		line++;
		if (toolong) {
			fprintf(stderr, "domino: %s:%llu: a line over %u bytes\n",
			    where, (unsigned long long)line, CLI_LINE_MAX);
			rv = 1;
			break;
		}
		if (len == 0 || strspn(buf, " \t") == len)
			continue;
		if (k->n == 0)
			k->first_line = line;
		if (chunk_add(k, buf, why, sizeof(why)) != 0) {
			fprintf(stderr, "domino: %s:%llu: %s; nothing from line "
			    "%llu on was sent\n", where, (unsigned long long)line,
			    why, (unsigned long long)k->first_line);
			rv = 1;
			break;
		}
		if (k->n == DOMINO_PUBLISH_MAX)
			rv = chunk_send(c, d, k, where);
	}
	if (rv == 0 && r < 0) {
		fprintf(stderr, "domino: cannot read %s: %s\n", where,
		    strerror(errno));
		rv = 1;
	}
	if (rv == 0)
		rv = chunk_send(c, d, k, where);
out:
	chunk_clear(k);
	free(k);
	free(buf);
	if (f != stdin)
		fclose(f);
	domino_close(d);
	return rv;
}

static int
run(struct cli *c, int argc, char **argv)
{
	static const char *const names[] = {"--repo", "--ref", "--type",
	    "--before", "--after", "--actor", "--url", "--id", "--event",
	    "--depends-on", "--batch", NULL};
	struct domino_publish_args a = {0};
	struct domino_published res = {0};
	const char *deps[DEPS_MAX];
	const char **dst[9] = {&a.repo, &a.ref, &a.type, &a.before, &a.after,
	    &a.actor, &a.url, &a.id, &a.event};
	domino *d = NULL;
	const char *v = NULL, *batch = NULL;
	int rv, given = 0;

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
		if (k == 10) {
			batch = v;
			continue;
		}
		given = 1;
		if (k < 9) {
			*dst[k] = v;
			continue;
		}
		if (a.n_depends_on == DEPS_MAX)
			return cli_usage(&cmd_publish, "more than %d "
			    "--depends-on", DEPS_MAX);
		deps[a.n_depends_on++] = v;
	}
	if (batch != NULL && given)
		return cli_usage(&cmd_publish, "--batch takes every event from "
		    "its file; give no other event option");
	if (batch != NULL)
		return run_batch(c, batch);
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
	rv = print_result(c, &res.events[0]);
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
	    "[--depends-on X]... [--json]\n"
	    "       publish --batch FILE|- [--json]",
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
	    "  --batch FILE      many events, one JSON object per line (- for\n"
	    "                    stdin) with the keys repo, ref, type, before,\n"
	    "                    after, actor, url, id, event, depends_on; sent\n"
	    "                    1000 per request, each request one commit\n"
	    "                    (all of its events stored or none). Prints a\n"
	    "                    line per event. A bad line stops the run\n"
	    "                    before its request is sent.\n"
	    "Needs the admin token.\n",
};
