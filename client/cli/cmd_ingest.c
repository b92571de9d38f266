/* SPDX-License-Identifier: MIT */
/*
 * `domino ingest SOURCE [FILE|-]`: feed forge bodies that do not arrive
 * over HTTP — above all Gerrit's `ssh -p 29418 HOST gerrit stream-events`,
 * one JSON object per line — to the broker's `ingest` operation. Each line
 * is sent as soon as it is read (a live stream never reaches EOF); a line
 * that is not JSON or that the forge refuses is reported with its number
 * and skipped. At EOF a summary; exit 1 when any line was refused.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define HEADERS_MAX 64
#define RETRIES 5 /* for a busy or silent broker: 1+2+4+8+16 s */

struct ingest {
	const char *source, *where;
	struct domino_kv headers[HEADERS_MAX];
	size_t n_headers;
	char *owned[HEADERS_MAX];
	int quiet, json;
	uint64_t published, duplicates, refused;
};

static void
sleep_s(unsigned s)
{
	struct timespec ts = {.tv_sec = s};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

static void
refuse(struct ingest *g, uint64_t line, const char *why)
{
	fprintf(stderr, "domino: %s:%llu: %s\n", g->where,
	    (unsigned long long)line, why);
	g->refused++;
}

static void
print_events(struct ingest *g, uint64_t line, const struct domino_published *p)
{
	for (size_t i = 0; i < p->n_events; i++) {
		const struct domino_published_event *e = &p->events[i];

		if (e->duplicate)
			g->duplicates++;
		else
			g->published++;
		if (g->quiet)
			continue;
		if (g->json) {
			cJSON *o = cJSON_CreateObject();
			char *text = NULL, num[32];

			snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)e->seq);
			if (o != NULL && cJSON_AddNumberToObject(o, "line",
			    (double)line) != NULL &&
			    cJSON_AddRawToObject(o, "seq", num) != NULL &&
			    cJSON_AddStringToObject(o, "id", e->id) != NULL &&
			    cJSON_AddBoolToObject(o, "duplicate",
			    e->duplicate) != NULL)
				text = cJSON_PrintUnformatted(o);
			if (text != NULL)
				cli_println(text);
			free(text);
			cJSON_Delete(o);
		} else {
			printf("%sseq %llu id %s\n", e->duplicate ?
			    "duplicate: " : "", (unsigned long long)e->seq,
			    e->id);
			fflush(stdout);
		}
	}
}

/* Send one line; 0 done (sent or refused), 1 fatal (printed). */
static int
send_line(const struct cli *c, domino *d, struct ingest *g, uint64_t line,
    const char *text, size_t len)
{
	struct domino_ingest_args a = {
		.source = g->source, .body = text, .len = len,
		.headers = g->headers, .n_headers = g->n_headers,
	};
	struct domino_published p = {0};
	cJSON *j;
	int rv = DOMINO_OK;

	j = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(j)) {
		const char *at = cJSON_GetErrorPtr();

		cJSON_Delete(j);
		if (j != NULL || at == NULL)
			refuse(g, line, "not a JSON object");
		else {
			char why[80];
			snprintf(why, sizeof(why), "not JSON (at byte %td)",
			    at - text + 1);
			refuse(g, line, why);
		}
		return 0;
	}
	cJSON_Delete(j);
	for (unsigned attempt = 0; attempt <= RETRIES; attempt++) {
		if (attempt > 0) {
			fprintf(stderr, "domino: %s:%llu: %s; retrying in "
			    "%us\n", g->where, (unsigned long long)line,
			    domino_errmsg(), 1u << (attempt - 1));
			sleep_s(1u << (attempt - 1));
		}
		rv = domino_ingest(d, &a, &p);
		/* Retrying is safe: forges give every body a stable id,
		 * so a body stored before a timeout is a duplicate. */
		if (rv != DOMINO_EUNAVAIL && rv != DOMINO_ETIMEDOUT)
			break;
	}
	if (rv == DOMINO_OK) {
		print_events(g, line, &p);
		domino_published_clear(&p);
		return 0;
	}
	if (rv == DOMINO_EINVAL || rv == DOMINO_ETOOBIG) {
		refuse(g, line, domino_errmsg());
		return 0;
	}
	fprintf(stderr, "domino: %s:%llu: not sent\n", g->where,
	    (unsigned long long)line);
	cli_fail(c, rv);
	return 1;
}

static int
add_header(struct ingest *g, const char *v)
{
	const char *colon = strchr(v, ':');
	char *name;

	if (colon == NULL || colon == v || g->n_headers == HEADERS_MAX)
		return -1;
	name = strndup(v, (size_t)(colon - v));
	if (name == NULL)
		return -1;
	g->owned[g->n_headers] = name;
	g->headers[g->n_headers].key = name;
	for (colon++; *colon == ' ' || *colon == '\t'; colon++)
		;
	g->headers[g->n_headers++].value = colon;
	return 0;
}

static int
run(struct cli *c, int argc, char **argv)
{
	struct ingest g = {0};
	const char *file = NULL, *v;
	domino *d = NULL;
	FILE *f = NULL;
	char *buf = NULL;
	size_t cap = 0, len = 0;
	uint64_t line = 0;
	int rv, fatal = 0, literal = 0;

	g.json = c->json;
	for (int i = 1; i < argc;) {
		int r;

		if (!literal && strcmp(argv[i], "--") == 0) {
			literal = 1;
			i++;
			continue;
		}
		if (!literal && (cli_opt_flag(argv, i, "--quiet") ||
		    cli_opt_flag(argv, i, "-q"))) {
			g.quiet = 1;
			i++;
			continue;
		}
		if (!literal && argv[i][0] == '-' && argv[i][1] != '\0') {
			r = cli_opt_val(argc, argv, &i, "--header", &v);
			if (r == 0)
				r = cli_opt_val(argc, argv, &i, "-H", &v);
			if (r < 0) {
				rv = cli_usage(&cmd_ingest, "%s needs a value",
				    argv[i]);
				goto out;
			}
			if (r == 0) {
				rv = cli_usage(&cmd_ingest,
				    "unknown option '%s'", argv[i]);
				goto out;
			}
			if (add_header(&g, v) != 0) {
				rv = cli_usage(&cmd_ingest, "--header wants "
				    "'Name: value' (at most %d), not '%s'",
				    HEADERS_MAX, v);
				goto out;
			}
			continue;
		}
		if (g.source == NULL)
			g.source = argv[i++];
		else if (file == NULL)
			file = argv[i++];
		else {
			rv = cli_usage(&cmd_ingest, "unexpected argument '%s'",
			    argv[i]);
			goto out;
		}
	}
	if (g.source == NULL) {
		rv = cli_usage(&cmd_ingest, "which SOURCE? (gerrit, github, "
		    "gitlab, gitea, bitbucket, generic)");
		goto out;
	}
	if (file == NULL || strcmp(file, "-") == 0) {
		f = stdin;
		g.where = "stdin";
	} else {
		f = fopen(file, "r");
		g.where = file;
		if (f == NULL) {
			fprintf(stderr, "domino: %s: %s\n", file,
			    strerror(errno));
			rv = 1;
			goto out;
		}
	}
	rv = cli_open(c, &d);
	if (rv != 0)
		goto out;
	for (;;) {
		int toolong = 0, r = cli_read_line(f, &buf, &cap, &len, &toolong);

		if (r < 0) {
			fprintf(stderr, "domino: %s: %s\n", g.where,
			    errno ? strerror(errno) : "read error");
			fatal = 1;
			break;
		}
		if (r == 0)
			break;
		line++;
		if (toolong) {
			refuse(&g, line, "longer than 16 MiB, skipped");
			continue;
		}
		if (len == 0 || blank(buf, len))
			continue;
		if (send_line(c, d, &g, line, buf, len) != 0) {
			fatal = 1;
			break;
		}
	}
	fprintf(stderr, "domino: %s: %llu published, %llu duplicates, "
	    "%llu refused%s\n", g.where, (unsigned long long)g.published,
	    (unsigned long long)g.duplicates, (unsigned long long)g.refused,
	    fatal ? "; stopped early" : "");
	rv = fatal || g.refused > 0 ? 1 : 0;
out:
	if (f != NULL && f != stdin)
		fclose(f);
	free(buf);
	for (size_t i = 0; i < g.n_headers; i++)
		free(g.owned[i]);
	domino_close(d);
	return rv;
}

const struct cli_cmd cmd_ingest = {
	.name = "ingest",
	.run = run,
	.synopsis = "ingest SOURCE [FILE|-] [--header 'Name: value']... "
	    "[--quiet] [--json]",
	.summary = "send forge events read one JSON object per line",
	.help =
	    "Reads FILE (default: stdin) one line at a time and sends each\n"
	    "line, as soon as it is read, through SOURCE's normalizer:\n"
	    "  ssh -p 29418 review.example.org gerrit stream-events |\n"
	    "      domino ingest gerrit\n"
	    "Prints \"seq N id ID\" per event stored. A line that is not JSON\n"
	    "or that the forge refuses is reported on stderr with its number\n"
	    "and skipped; blank lines are ignored. At the end a summary goes\n"
	    "to stderr; the exit status is 1 when a line was refused.\n"
	    "\n"
	    "options:\n"
	    "  --header, -H 'Name: value'  a forge header for every body, e.g.\n"
	    "                   -H 'X-GitHub-Event: push'; repeatable\n"
	    "  --quiet, -q      do not print each event\n"
	    "  --json           one JSON object per event: line, seq, id,\n"
	    "                   duplicate\n"
	    "Needs the admin token.\n",
};
