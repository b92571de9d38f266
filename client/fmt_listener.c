/* SPDX-License-Identifier: MIT */
/*
 * Text forms of listener answers (impact tree/dot/JSON, delivery tables,
 * listener lists, YAML-ish listener text); see fmt_listener.h. Text is
 * written to open_memstream buffers; JSON input is read with cJSON. Nothing
 * here talks to the broker or does other I/O.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domino.h"
#include "err.h"
#include "fmt.h"
#include "fmt_listener.h"
#include "json.h"

#define DEPS_SHOWN 3

/* Open a memstream for *buf; DOMINO_ENOMEM when that fails. */
static int
mem_open(FILE **f, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	*f = open_memstream(buf, len);
	return *f == NULL ? DOMINO_ENOMEM : DOMINO_OK;
}

static const char *
or_dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* ---- impact ------------------------------------------------------------ */

/* Index of h's parent when it is listed before h, else -1. */
static long
parent_of(const struct domino_impact *im, size_t h)
{
	const char *p = im->hits[h].parent;

	if (p == NULL)
		return -1;
	for (size_t i = 0; i < h; i++)
		if (strcmp(im->hits[i].name, p) == 0)
			return (long)i;
	return -1;
}

static void
tree_line(FILE *f, const struct domino_impact_hit *h, int orphan)
{
	fprintf(f, "%s  (level %u", h->name, h->support_level);
	if (h->provides != NULL)
		fprintf(f, ", provides %s", h->provides);
	if (orphan && h->parent != NULL)
		fprintf(f, ", through %s", h->parent);
	if (h->disabled)
		fputs(", disabled", f);
	fputs(")\n", f);
}

/* Print the children of parent (-1: the top level) with prefix. The depth
 * is bounded: a parent always comes before its children. */
static void
tree_children(FILE *f, const struct domino_impact *im, const long *parents,
    long parent, char *prefix, size_t plen, size_t pcap)
{
	size_t last = im->n;

	for (size_t i = 0; i < im->n; i++)
		if (parents[i] == parent)
			last = i;
	for (size_t i = 0; i < im->n; i++) {
		int is_last = i == last;
		const char *more = is_last ? "    " : "\xe2\x94\x82   ";

		if (parents[i] != parent)
			continue;
		fprintf(f, "%.*s%s", (int)plen, prefix, is_last ?
		    "\xe2\x94\x94\xe2\x94\x80\xe2\x94\x80 " :
		    "\xe2\x94\x9c\xe2\x94\x80\xe2\x94\x80 ");
		tree_line(f, &im->hits[i], parent < 0 &&
		    im->hits[i].parent != NULL);
		if (plen + strlen(more) < pcap) {
			memcpy(prefix + plen, more, strlen(more));
			tree_children(f, im, parents, (long)i, prefix,
			    plen + strlen(more), pcap);
		}
	}
}

int
domino_fmt_impact_tree(const struct domino_impact *im, char **out)
{
	char prefix[4096];
	long *parents = NULL;
	char *buf;
	size_t len;
	FILE *f;

	*out = NULL;
	if (im == NULL)
		return DOMINO_EINVAL;
	if (im->n > 0) {
		parents = calloc(im->n, sizeof(*parents));
		if (parents == NULL)
			return DOMINO_ENOMEM;
	}
	if (mem_open(&f, &buf, &len) != DOMINO_OK) {
		free(parents);
		return DOMINO_ENOMEM;
	}
	for (size_t i = 0; i < im->n; i++)
		parents[i] = parent_of(im, i);
	fprintf(f, "%s\n", or_dash(im->repo));
	if (im->n == 0)
		fputs("(no listener is reached)\n", f);
	else
		tree_children(f, im, parents, -1, prefix, 0, sizeof(prefix));
	free(parents);
	return json_finish(f, &buf, &len, out);
}

/* A DOT double-quoted string. */
static void
dot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* Declare the repo node once: seen holds what was declared. */
static void
dot_repo(FILE *f, const char *repo, const char **seen, size_t *nseen)
{
	for (size_t i = 0; i < *nseen; i++)
		if (strcmp(seen[i], repo) == 0)
			return;
	seen[(*nseen)++] = repo;
	fputs("\t", f);
	dot_str(f, repo);
	fputs(" [shape=box];\n", f);
}

int
domino_fmt_impact_dot(const struct domino_impact *im, char **out)
{
	const char **seen = NULL;
	size_t nseen = 0, len;
	char *buf;
	FILE *f;

	*out = NULL;
	if (im == NULL || im->repo == NULL)
		return DOMINO_EINVAL;
	/* At most the repo, each provides and each via's last entry. */
	seen = calloc(1 + 2 * im->n, sizeof(*seen));
	if (seen == NULL)
		return DOMINO_ENOMEM;
	if (mem_open(&f, &buf, &len) != DOMINO_OK) {
		free(seen);
		return DOMINO_ENOMEM;
	}
	/* Listener names cannot hold '/', repos always do: names are safe
	 * as node ids of both kinds. */
	fputs("digraph impact {\n\trankdir=LR;\n", f);
	dot_repo(f, im->repo, seen, &nseen);
	for (size_t i = 0; i < im->n; i++) {
		const struct domino_impact_hit *h = &im->hits[i];
		const char *from = h->n_via > 0 ? h->via[h->n_via - 1] : im->repo;
		char label[300];

		snprintf(label, sizeof(label), "%s\nlevel %u", h->name,
		    h->support_level);
		fputs("\t", f);
		dot_str(f, h->name);
		fputs(" [shape=ellipse, label=", f);
		dot_str(f, label);
		fputs(h->disabled ? ", style=dashed];\n" : "];\n", f);
		dot_repo(f, from, seen, &nseen);
		fputs("\t", f);
		dot_str(f, from);
		fputs(" -> ", f);
		dot_str(f, h->name);
		fprintf(f, " [label=\"depth %u\"];\n", h->depth);
		if (h->provides != NULL) {
			dot_repo(f, h->provides, seen, &nseen);
			fputs("\t", f);
			dot_str(f, h->name);
			fputs(" -> ", f);
			dot_str(f, h->provides);
			fputs(" [label=\"provides\", style=dotted];\n", f);
		}
	}
	fputs("}\n", f);
	free(seen);
	return json_finish(f, &buf, &len, out);
}

static void
json_strs(FILE *f, char *const *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		json_put_cstr(f, v[i]);
	}
	fputc(']', f);
}

int
domino_fmt_impact_json(const struct domino_impact *im, char **out)
{
	char *buf;
	size_t len;
	FILE *f;

	*out = NULL;
	if (im == NULL)
		return DOMINO_EINVAL;
	if (mem_open(&f, &buf, &len) != DOMINO_OK)
		return DOMINO_ENOMEM;
	fputc('[', f);
	for (size_t i = 0; i < im->n; i++) {
		const struct domino_impact_hit *h = &im->hits[i];

		if (i > 0)
			fputc(',', f);
		fputs("{\"name\":", f);
		json_put_cstr(f, h->name);
		fprintf(f, ",\"depth\":%u,\"support_level\":%u,\"disabled\":%s",
		    h->depth, h->support_level, h->disabled ? "true" : "false");
		if (h->provides != NULL) {
			fputs(",\"provides\":", f);
			json_put_cstr(f, h->provides);
		}
		if (h->parent != NULL) {
			fputs(",\"parent\":", f);
			json_put_cstr(f, h->parent);
		}
		fputs(",\"via\":", f);
		json_strs(f, h->via, h->n_via);
		fputc('}', f);
	}
	fputs("]\n", f);
	return json_finish(f, &buf, &len, out);
}

/* ---- deliveries -------------------------------------------------------- */

/* via joined with " -> " into a malloc'd string ("-" when empty). */
static char *
via_text(char *const *via, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	char *out = NULL;

	if (f == NULL)
		return NULL;
	if (n == 0)
		fputc('-', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i > 0 ? " -> " : "", via[i]);
	json_finish(f, &buf, &len, &out);
	return out;
}

int
domino_fmt_deliveries_table(const struct domino_deliveries *dl, char **out)
{
	static const char *const titles[] = {"LISTENER", "SEQ", "STATE",
	    "ATTEMPT", "REPO", "REF", "VIA"};
	enum { NCOL = 7 };
	size_t w[NCOL], len;
	char **cells = NULL, *buf;
	int rv = DOMINO_ENOMEM;
	FILE *f = NULL;

	*out = NULL;
	if (dl == NULL)
		return DOMINO_EINVAL;
	cells = calloc((dl->n + 1) * NCOL, sizeof(*cells));
	if (cells == NULL)
		return DOMINO_ENOMEM;
	for (size_t c = 0; c < NCOL; c++)
		cells[c] = strdup(titles[c]);
	for (size_t r = 0; r < dl->n; r++) {
		const struct domino_delivery *v = &dl->v[r];
		char **row = cells + (r + 1) * NCOL;

		row[0] = strdup(or_dash(v->listener));
		if (asprintf(&row[1], "%llu", (unsigned long long)v->seq) < 0)
			row[1] = NULL;
		row[2] = strdup(or_dash(v->state));
		if (asprintf(&row[3], "%llu",
		    (unsigned long long)v->attempt) < 0)
			row[3] = NULL;
		row[4] = strdup(or_dash(v->repo));
		row[5] = strdup(or_dash(v->ref));
		row[6] = via_text(v->via, v->n_via);
	}
	for (size_t i = 0; i < (dl->n + 1) * NCOL; i++)
		if (cells[i] == NULL)
			goto out;
	for (size_t c = 0; c < NCOL; c++) {
		w[c] = 0;
		for (size_t r = 0; r <= dl->n; r++) {
			size_t l = strlen(cells[r * NCOL + c]);
			if (l > w[c])
				w[c] = l;
		}
	}
	if (mem_open(&f, &buf, &len) != DOMINO_OK)
		goto out;
	for (size_t r = 0; r <= dl->n; r++) {
		for (size_t c = 0; c < NCOL; c++) {
			const char *cell = cells[r * NCOL + c];

			if (c == NCOL - 1)
				fprintf(f, "%s\n", cell);
			else if (c == 1 || c == 3) /* numbers: right */
				fprintf(f, "%*s  ", (int)w[c], cell);
			else
				fprintf(f, "%-*s  ", (int)w[c], cell);
		}
	}
	rv = json_finish(f, &buf, &len, out);
out:
	for (size_t i = 0; i < (dl->n + 1) * NCOL; i++)
		free(cells[i]);
	free(cells);
	return rv;
}

int
domino_fmt_delivery_json(const struct domino_delivery *v, char **out)
{
	char *buf;
	size_t len;
	FILE *f;

	*out = NULL;
	if (v == NULL)
		return DOMINO_EINVAL;
	if (mem_open(&f, &buf, &len) != DOMINO_OK)
		return DOMINO_ENOMEM;
	fputs("{\"listener\":", f);
	json_put_cstr(f, v->listener);
	fprintf(f, ",\"seq\":%llu,\"state\":", (unsigned long long)v->seq);
	json_put_cstr(f, v->state);
	fprintf(f, ",\"attempt\":%llu,\"next\":%lld,\"created\":%lld",
	    (unsigned long long)v->attempt, (long long)v->next,
	    (long long)v->created);
	fputs(",\"via\":", f);
	json_strs(f, v->via, v->n_via);
	if (v->repo != NULL) {
		fputs(",\"repo\":", f);
		json_put_cstr(f, v->repo);
	}
	if (v->ref != NULL) {
		fputs(",\"ref\":", f);
		json_put_cstr(f, v->ref);
	}
	if (v->type != NULL) {
		fputs(",\"type\":", f);
		json_put_cstr(f, v->type);
	}
	if (v->history != NULL) {
		fputs(",\"history\":[", f);
		for (size_t i = 0; i < v->n_history; i++) {
			const struct domino_history_entry *h = &v->history[i];

			fprintf(f, "%s{\"time\":%lld,\"attempt\":%llu,"
			    "\"what\":", i > 0 ? "," : "", (long long)h->time,
			    (unsigned long long)h->attempt);
			json_put_cstr(f, h->what);
			fprintf(f, ",\"status\":%lld", (long long)h->status);
			if (h->detail != NULL) {
				fputs(",\"detail\":", f);
				json_put_cstr(f, h->detail);
			}
			fputc('}', f);
		}
		fputc(']', f);
	}
	fputc('}', f);
	return json_finish(f, &buf, &len, out);
}

/* ---- listeners --------------------------------------------------------- */

static const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One depends_on entry as "repo[@ref][ (types)]". */
static void
dep_text(FILE *f, const cJSON *d)
{
	const cJSON *types;

	if (cJSON_IsString(d)) {
		fputs(d->valuestring, f);
		return;
	}
	fputs(or_dash(jstr(d, "repo")), f);
	if (jstr(d, "ref") != NULL)
		fprintf(f, "@%s", jstr(d, "ref"));
	types = cJSON_GetObjectItemCaseSensitive(d, "types");
	if (cJSON_IsArray(types) && cJSON_GetArraySize(types) > 0) {
		const cJSON *t;
		int first = 1;

		fputs(" (", f);
		cJSON_ArrayForEach(t, types) {
			if (cJSON_IsString(t)) {
				fprintf(f, "%s%s", first ? "" : ",",
				    t->valuestring);
				first = 0;
			}
		}
		fputc(')', f);
	}
}

static char *
deps_summary(const cJSON *deps)
{
	char *buf = NULL, *out = NULL;
	size_t len = 0;
	int n = cJSON_GetArraySize(deps), i = 0;
	const cJSON *d;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (!cJSON_IsArray(deps) || n == 0)
		fputc('-', f);
	cJSON_ArrayForEach(d, deps) {
		if (i == DEPS_SHOWN) {
			fprintf(f, " +%d more", n - DEPS_SHOWN);
			break;
		}
		if (i > 0)
			fputs(", ", f);
		dep_text(f, d);
		i++;
	}
	json_finish(f, &buf, &len, &out);
	return out;
}

int
domino_fmt_listeners_table(const char *json, char **out)
{
	static const char *const titles[] = {"NAME", "LEVEL", "PROVIDES",
	    "DEPENDS_ON", "PLUGIN"};
	enum { NCOL = 5 };
	cJSON *arr = NULL;
	const cJSON *l;
	char **cells = NULL, *buf;
	size_t w[NCOL] = {0}, nrow = 1, len;
	int rv = DOMINO_ENOMEM;
	FILE *f;

	*out = NULL;
	if (json == NULL)
		return DOMINO_EINVAL;
	arr = cJSON_Parse(json);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return DOMINO_EINVAL;
	}
	cells = calloc(((size_t)cJSON_GetArraySize(arr) + 1) * NCOL,
	    sizeof(*cells));
	if (cells == NULL)
		goto out;
	for (size_t c = 0; c < NCOL; c++)
		cells[c] = strdup(titles[c]);
	cJSON_ArrayForEach(l, arr) {
		const cJSON *lv = cJSON_GetObjectItemCaseSensitive(l,
		    "support_level");
		const cJSON *dis = cJSON_GetObjectItemCaseSensitive(l,
		    "disabled");
		char **row = cells + nrow * NCOL;

		if (asprintf(&row[0], "%s%s", or_dash(jstr(l, "name")),
		    cJSON_IsTrue(dis) ? " (disabled)" : "") < 0)
			row[0] = NULL;
		if (cJSON_IsNumber(lv)) {
			if (asprintf(&row[1], "%.0f", lv->valuedouble) < 0)
				row[1] = NULL;
		} else {
			row[1] = strdup("-");
		}
		row[2] = strdup(or_dash(jstr(l, "provides")));
		row[3] = deps_summary(cJSON_GetObjectItemCaseSensitive(l,
		    "depends_on"));
		row[4] = strdup(or_dash(jstr(l, "plugin")));
		nrow++;
	}
	for (size_t i = 0; i < nrow * NCOL; i++)
		if (cells[i] == NULL)
			goto out;
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < NCOL; c++)
			if (strlen(cells[r * NCOL + c]) > w[c])
				w[c] = strlen(cells[r * NCOL + c]);
	if (mem_open(&f, &buf, &len) != DOMINO_OK)
		goto out;
	for (size_t r = 0; r < nrow; r++)
		for (size_t c = 0; c < NCOL; c++) {
			const char *cell = cells[r * NCOL + c];

			if (c == NCOL - 1)
				fprintf(f, "%s\n", cell);
			else if (c == 1)
				fprintf(f, "%*s  ", (int)w[c], cell);
			else
				fprintf(f, "%-*s  ", (int)w[c], cell);
		}
	rv = json_finish(f, &buf, &len, out);
out:
	if (cells != NULL)
		for (size_t i = 0; i < nrow * NCOL; i++)
			free(cells[i]);
	free(cells);
	cJSON_Delete(arr);
	return rv;
}

/* ---- YAML-ish ---------------------------------------------------------- */

/* Would YAML read s, unquoted, as something other than this string? */
static int
needs_quotes(const char *s)
{
	static const char *const words[] = {"~", "null", "Null", "NULL",
	    "true", "True", "TRUE", "false", "False", "FALSE", "yes", "no",
	    "on", "off", NULL};
	size_t n = strlen(s);
	const char *p = s;

	if (n == 0 || strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]) != NULL ||
	    s[n - 1] == ' ' || strstr(s, ": ") != NULL ||
	    strstr(s, " #") != NULL || s[n - 1] == ':')
		return 1;
	for (const char *c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20)
			return 1;
	for (size_t i = 0; words[i] != NULL; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	/* Anything number-like. */
	if (*p == '-' || *p == '+' || *p == '.')
		p++;
	return *p >= '0' && *p <= '9';
}

static void
yaml_scalar(FILE *f, const cJSON *v, const char *key)
{
	if (cJSON_IsString(v)) {
		if (needs_quotes(v->valuestring))
			json_put_cstr(f, v->valuestring);
		else
			fputs(v->valuestring, f);
	} else if (cJSON_IsBool(v)) {
		fputs(cJSON_IsTrue(v) ? "true" : "false", f);
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (key != NULL && (strcmp(key, "created") == 0 ||
		    strcmp(key, "updated") == 0 ||
		    strcmp(key, "failing_since") == 0)) {
			char t[64];
			domino_fmt_time((int64_t)d, t, sizeof(t));
			fputs(t, f);
		} else if (d == floor(d) && fabs(d) < 1e18) {
			fprintf(f, "%.0f", d);
		} else {
			fprintf(f, "%g", d);
		}
	} else {
		fputs("null", f);
	}
}

static int
is_coll(const cJSON *v)
{
	return (cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child != NULL;
}

static void yaml_node(FILE *f, const cJSON *v, int ind);

/* "key: value" lines of object o at indentation ind; first_inline: the
 * first line's indentation is already written (after "- "). */
static void
yaml_map(FILE *f, const cJSON *o, int ind, int first_inline)
{
	const cJSON *kv;
	int first = 1;

	cJSON_ArrayForEach(kv, o) {
		if (!(first && first_inline))
			fprintf(f, "%*s", ind, "");
		first = 0;
		if (needs_quotes(kv->string))
			json_put_cstr(f, kv->string);
		else
			fputs(kv->string, f);
		fputc(':', f);
		if (is_coll(kv)) {
			fputc('\n', f);
			yaml_node(f, kv, ind + 2);
		} else {
			fputc(' ', f);
			if (cJSON_IsObject(kv))
				fputs("{}", f);
			else if (cJSON_IsArray(kv))
				fputs("[]", f);
			else
				yaml_scalar(f, kv, kv->string);
			fputc('\n', f);
		}
	}
}

static void
yaml_node(FILE *f, const cJSON *v, int ind)
{
	const cJSON *it;

	if (cJSON_IsObject(v)) {
		yaml_map(f, v, ind, 0);
		return;
	}
	cJSON_ArrayForEach(it, v) {
		fprintf(f, "%*s- ", ind, "");
		if (cJSON_IsObject(it) && it->child != NULL) {
			yaml_map(f, it, ind + 2, 1);
		} else if (cJSON_IsArray(it) && it->child != NULL) {
			fputc('\n', f);
			yaml_node(f, it, ind + 2);
		} else {
			if (cJSON_IsObject(it))
				fputs("{}", f);
			else if (cJSON_IsArray(it))
				fputs("[]", f);
			else
				yaml_scalar(f, it, NULL);
			fputc('\n', f);
		}
	}
}

int
domino_fmt_json_yaml(const char *json, char **out)
{
	cJSON *root;
	char *buf;
	size_t len;
	FILE *f;

	*out = NULL;
	if (json == NULL)
		return DOMINO_EINVAL;
	root = cJSON_Parse(json);
	if (root == NULL)
		return DOMINO_EINVAL;
	if (mem_open(&f, &buf, &len) != DOMINO_OK) {
		cJSON_Delete(root);
		return DOMINO_ENOMEM;
	}
	if (is_coll(root)) {
		yaml_node(f, root, 0);
	} else {
		yaml_scalar(f, root, NULL);
		fputc('\n', f);
	}
	cJSON_Delete(root);
	return json_finish(f, &buf, &len, out);
}
