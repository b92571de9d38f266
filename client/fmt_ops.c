/* SPDX-License-Identifier: MIT */
/*
 * Text forms of the operator answers (delivery history, revalidation
 * results, webhook counters); see fmt_ops.h. Tables are built as arrays
 * of malloc'd cells, measured, then written to an open_memstream buffer;
 * JSON input is read with cJSON. Nothing here talks to the broker.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domino.h"
#include "err.h"
#include "fmt.h"
#include "fmt_ops.h"
#include "json.h"

/* A table: nrow rows of ncol cells, row 0 the titles. */
struct table {
	char **cells;
	size_t nrow, ncol, cap;
	size_t *w;     /* column widths */
	char *right;   /* per column: align right (numbers) */
	int bad;       /* a cell could not be allocated */
};

static int
table_init(struct table *t, size_t ncol, size_t rows)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol;
	t->cap = rows;
	t->cells = calloc(rows * ncol, sizeof(*t->cells));
	t->w = calloc(ncol, sizeof(*t->w));
	t->right = calloc(ncol, 1);
	return t->cells != NULL && t->w != NULL && t->right != NULL ?
	    DOMINO_OK : DOMINO_ENOMEM;
}

static void
table_free(struct table *t)
{
	if (t->cells != NULL)
		for (size_t i = 0; i < t->nrow * t->ncol; i++)
			free(t->cells[i]);
	free(t->cells);
	free(t->w);
	free(t->right);
	memset(t, 0, sizeof(*t));
}

/* The next row's cells (the caller fills them with malloc'd strings). */
static char **
table_row(struct table *t)
{
	if (t->nrow == t->cap)
		return NULL;
	return t->cells + t->ncol * t->nrow++;
}

static void
table_cell(struct table *t, char **cell, const char *s)
{
	*cell = strdup(s != NULL && *s != '\0' ? s : "-");
	t->bad |= *cell == NULL;
}

static void
table_cellf(struct table *t, char **cell, const char *fmt,
    unsigned long long v)
{
	if (asprintf(cell, fmt, v) < 0)
		*cell = NULL;
	t->bad |= *cell == NULL;
}

/* The title row (ncol strings). */
static void
table_titles(struct table *t, const char *const *titles)
{
	char **row = table_row(t);

	for (size_t c = 0; c < t->ncol; c++)
		table_cell(t, &row[c], titles[c]);
}

/* Column widths; DOMINO_ENOMEM when a cell is missing. */
static int
table_measure(struct table *t)
{
	if (t->bad)
		return DOMINO_ENOMEM;
	for (size_t r = 0; r < t->nrow; r++)
		for (size_t c = 0; c < t->ncol; c++) {
			size_t l = strlen(t->cells[r * t->ncol + c]);

			if (l > t->w[c])
				t->w[c] = l;
		}
	return DOMINO_OK;
}

/* Row r, after indent. */
static void
table_put_row(FILE *f, const struct table *t, size_t r, const char *indent)
{
	fputs(indent, f);
	for (size_t c = 0; c < t->ncol; c++) {
		const char *cell = t->cells[r * t->ncol + c];

		const char *sep = c == t->ncol - 1 ? "\n" : "  ";

		if (t->right[c])
			fprintf(f, "%*s%s", (int)t->w[c], cell, sep);
		else if (c == t->ncol - 1)
			fprintf(f, "%s\n", cell);
		else
			fprintf(f, "%-*s  ", (int)t->w[c], cell);
	}
}

static int
mem_open(FILE **f, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	*f = open_memstream(buf, len);
	return *f == NULL ? DOMINO_ENOMEM : DOMINO_OK;
}

static const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A whole non-negative number (exact up to 2^53, which seqs and levels
 * are); -1 when absent or not one. */
static double
jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? v->valuedouble : -1;
}

const char *
domino_fmt_support_level(unsigned level)
{
	static const char *const labels[] = {"core", "required for release",
	    "not required", "third party"};

	return level < sizeof(labels) / sizeof(labels[0]) ? labels[level] :
	    NULL;
}

/* ---- history ----------------------------------------------------------- */

/* s with control characters as spaces and no trailing blanks. */
static char *
one_line(const char *s)
{
	char *o;
	size_t n;

	if (s == NULL)
		return strdup("-");
	o = strdup(s);
	if (o == NULL)
		return NULL;
	for (char *p = o; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	n = strlen(o);
	while (n > 0 && o[n - 1] == ' ')
		o[--n] = '\0';
	if (n == 0) {
		free(o);
		return strdup("-");
	}
	return o;
}

int
domino_fmt_history_table(const struct domino_delivery *v, char **out)
{
	static const char *const titles[] = {"TIME", "ATTEMPT", "WHAT",
	    "STATUS", "DETAIL"};
	struct table t;
	char *buf, tb[32];
	size_t len;
	FILE *f;
	int rv;

	*out = NULL;
	if (v == NULL || (v->n_history > 0 && v->history == NULL))
		return DOMINO_EINVAL;
	if (v->n_history == 0) {
		*out = strdup("  (no history)\n");
		return *out != NULL ? DOMINO_OK : DOMINO_ENOMEM;
	}
	rv = table_init(&t, 5, v->n_history + 1);
	if (rv != DOMINO_OK)
		goto out;
	table_titles(&t, titles);
	t.right[1] = t.right[3] = 1;
	for (size_t i = 0; i < v->n_history; i++) {
		const struct domino_history_entry *h = &v->history[i];
		char **row = table_row(&t);

		table_cell(&t, &row[0], domino_fmt_time(h->time, tb,
		    sizeof(tb)));
		table_cellf(&t, &row[1], "%llu",
		    (unsigned long long)h->attempt);
		table_cell(&t, &row[2], h->what);
		if (h->status < 0)
			table_cell(&t, &row[3], NULL);
		else
			table_cellf(&t, &row[3], "%llu",
			    (unsigned long long)h->status);
		row[4] = one_line(h->detail);
		t.bad |= row[4] == NULL;
	}
	rv = table_measure(&t);
	if (rv != DOMINO_OK || (rv = mem_open(&f, &buf, &len)) != DOMINO_OK)
		goto out;
	for (size_t r = 0; r < t.nrow; r++)
		table_put_row(f, &t, r, "  ");
	rv = json_finish(f, &buf, &len, out);
out:
	table_free(&t);
	return rv;
}

/* ---- results of an event ----------------------------------------------- */

int
domino_fmt_results_event(const char *json, char **out)
{
	static const char *const titles[] = {"LISTENER", "DELIVERY", "STATUS",
	    "URL"};
	cJSON *root = NULL;
	const cJSON *ls, *l;
	struct table t = {0};
	double *levels = NULL, seq;
	unsigned long long pass = 0, fail = 0, error = 0, unknown = 0;
	char *buf;
	size_t len, n;
	FILE *f;
	int rv = DOMINO_EINVAL;

	*out = NULL;
	if (json == NULL)
		return DOMINO_EINVAL;
	root = cJSON_Parse(json);
	ls = cJSON_GetObjectItemCaseSensitive(root, "listeners");
	if (!cJSON_IsArray(ls))
		goto out;
	seq = jnum(root, "seq");
	n = (size_t)cJSON_GetArraySize(ls);
	if (n == 0) {
		rv = asprintf(out, "no listener got seq %.0f\n", seq < 0 ? 0 :
		    seq) < 0 ? DOMINO_ENOMEM : DOMINO_OK;
		if (rv != DOMINO_OK)
			*out = NULL;
		goto out;
	}
	rv = table_init(&t, 4, n + 1);
	levels = calloc(n + 1, sizeof(*levels));
	if (rv != DOMINO_OK || levels == NULL) {
		rv = DOMINO_ENOMEM;
		goto out;
	}
	table_titles(&t, titles);
	cJSON_ArrayForEach(l, ls) {
		const cJSON *rep = cJSON_GetObjectItemCaseSensitive(l, "report");
		const char *st = jstr(l, "status");
		char **row = table_row(&t);

		if (row == NULL)
			break;
		if (st == NULL || strcmp(st, "unknown") == 0)
			unknown++;
		else if (strcmp(st, "pass") == 0)
			pass++;
		else if (strcmp(st, "fail") == 0)
			fail++;
		else
			error++;
		levels[t.nrow - 1] = jnum(l, "support_level");
		table_cell(&t, &row[0], jstr(l, "listener"));
		table_cell(&t, &row[1], jstr(l, "delivery"));
		table_cell(&t, &row[2], st != NULL ? st : "unknown");
		table_cell(&t, &row[3], jstr(rep, "url"));
	}
	rv = table_measure(&t);
	if (rv != DOMINO_OK || (rv = mem_open(&f, &buf, &len)) != DOMINO_OK)
		goto out;
	table_put_row(f, &t, 0, "  ");
	/* Levels in order, then whatever is not a known level. */
	for (int lv = 0; lv <= 4; lv++) {
		int header = 0;

		for (size_t r = 1; r < t.nrow; r++) {
			int known = levels[r] >= 0 && levels[r] <= 3;

			if (lv < 4 ? levels[r] != lv : known)
				continue;
			if (!header && lv < 4)
				fprintf(f, "%s (level %d)\n",
				    domino_fmt_support_level((unsigned)lv), lv);
			else if (!header)
				fputs("other levels\n", f);
			header = 1;
			table_put_row(f, &t, r, "  ");
		}
	}
	fprintf(f, "%llu pass, %llu fail, ", pass, fail);
	if (error > 0)
		fprintf(f, "%llu error, ", error);
	fprintf(f, "%llu not answered\n", unknown);
	rv = json_finish(f, &buf, &len, out);
out:
	free(levels);
	table_free(&t);
	cJSON_Delete(root);
	return rv;
}

/* ---- results of a listener --------------------------------------------- */

static int
by_repo(const void *a, const void *b)
{
	const char *ra = jstr(*(const cJSON *const *)a, "repo");
	const char *rb = jstr(*(const cJSON *const *)b, "repo");

	return strcmp(ra != NULL ? ra : "", rb != NULL ? rb : "");
}

int
domino_fmt_results_listener(const char *json, char **out)
{
	static const char *const titles[] = {"REPO", "SEQ", "STATUS",
	    "REPORTED", "URL"};
	cJSON *root = NULL;
	const cJSON *deps, *dep, **v = NULL;
	struct table t = {0};
	char *buf, tb[32];
	size_t len, n, i = 0;
	FILE *f;
	int rv = DOMINO_EINVAL;

	*out = NULL;
	if (json == NULL)
		return DOMINO_EINVAL;
	root = cJSON_Parse(json);
	deps = cJSON_GetObjectItemCaseSensitive(root, "dependencies");
	if (!cJSON_IsArray(deps))
		goto out;
	n = (size_t)cJSON_GetArraySize(deps);
	if (n == 0) {
		const char *name = jstr(root, "listener");

		rv = asprintf(out, "no reports from %s\n", name != NULL ?
		    name : "this listener") < 0 ? DOMINO_ENOMEM : DOMINO_OK;
		if (rv != DOMINO_OK)
			*out = NULL;
		goto out;
	}
	v = calloc(n, sizeof(*v));
	rv = table_init(&t, 5, n + 1);
	if (rv != DOMINO_OK || v == NULL) {
		rv = DOMINO_ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(dep, deps) {
		if (i < n)
			v[i++] = dep;
	}
	qsort(v, i, sizeof(*v), by_repo);
	table_titles(&t, titles);
	t.right[1] = 1;
	for (size_t k = 0; k < i; k++) {
		const cJSON *rep = cJSON_GetObjectItemCaseSensitive(v[k],
		    "report");
		const cJSON *tm = cJSON_GetObjectItemCaseSensitive(rep, "time");
		char **row = table_row(&t);

		table_cell(&t, &row[0], jstr(v[k], "repo"));
		table_cellf(&t, &row[1], "%llu", jnum(v[k], "seq") < 0 ? 0 :
		    (unsigned long long)jnum(v[k], "seq"));
		table_cell(&t, &row[2], jstr(rep, "status") != NULL ?
		    jstr(rep, "status") : "unknown");
		/* ns do not fit a double exactly; seconds are enough here. */
		table_cell(&t, &row[3], cJSON_IsNumber(tm) ?
		    domino_fmt_time((int64_t)(tm->valuedouble / 1e9) *
		    1000000000, tb, sizeof(tb)) : NULL);
		table_cell(&t, &row[4], jstr(rep, "url"));
	}
	rv = table_measure(&t);
	if (rv != DOMINO_OK || (rv = mem_open(&f, &buf, &len)) != DOMINO_OK)
		goto out;
	for (size_t r = 0; r < t.nrow; r++)
		table_put_row(f, &t, r, "");
	rv = json_finish(f, &buf, &len, out);
out:
	free(v);
	table_free(&t);
	cJSON_Delete(root);
	return rv;
}

/* ---- ingest counters --------------------------------------------------- */

static int
cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return (x > y) - (x < y);
}

int
domino_fmt_ingest_table(const struct domino_stats *st, char **out)
{
	struct table t = {0};
	unsigned *codes = NULL;
	const char **srcs = NULL;
	size_t ncode = 0, nsrc = 0, len;
	char *buf;
	FILE *f;
	int rv = DOMINO_ENOMEM;

	*out = NULL;
	if (st == NULL || (st->n_ingest > 0 && st->ingest == NULL))
		return DOMINO_EINVAL;
	if (st->n_ingest == 0) {
		*out = strdup("");
		return *out != NULL ? DOMINO_OK : DOMINO_ENOMEM;
	}
	codes = calloc(st->n_ingest, sizeof(*codes));
	srcs = calloc(st->n_ingest, sizeof(*srcs));
	if (codes == NULL || srcs == NULL)
		goto out;
	for (size_t i = 0; i < st->n_ingest; i++) {
		const struct domino_ingest_count *c = &st->ingest[i];
		const char *s = c->source != NULL ? c->source : "-";
		size_t k;

		for (k = 0; k < ncode && codes[k] != c->status; k++)
			;
		if (k == ncode)
			codes[ncode++] = c->status;
		for (k = 0; k < nsrc && strcmp(srcs[k], s) != 0; k++)
			;
		if (k == nsrc)
			srcs[nsrc++] = s;
	}
	qsort(codes, ncode, sizeof(*codes), cmp_unsigned);
	if (table_init(&t, ncode + 1, nsrc + 1) != DOMINO_OK)
		goto out;
	{
		char **row = table_row(&t);

		table_cell(&t, &row[0], "SOURCE");
		for (size_t k = 0; k < ncode; k++) {
			table_cellf(&t, &row[k + 1], "%llu", codes[k]);
			t.right[k + 1] = 1;
		}
	}
	for (size_t s = 0; s < nsrc; s++) {
		char **row = table_row(&t);

		table_cell(&t, &row[0], srcs[s]);
		for (size_t k = 0; k < ncode; k++) {
			unsigned long long n = 0;
			int any = 0;

			for (size_t i = 0; i < st->n_ingest; i++) {
				const struct domino_ingest_count *c =
				    &st->ingest[i];

				if (c->status == codes[k] && strcmp(c->source !=
				    NULL ? c->source : "-", srcs[s]) == 0) {
					n += c->count;
					any = 1;
				}
			}
			if (any)
				table_cellf(&t, &row[k + 1], "%llu", n);
			else
				table_cell(&t, &row[k + 1], NULL);
		}
	}
	rv = table_measure(&t);
	if (rv != DOMINO_OK || (rv = mem_open(&f, &buf, &len)) != DOMINO_OK)
		goto out;
	for (size_t r = 0; r < t.nrow; r++)
		table_put_row(f, &t, r, "");
	rv = json_finish(f, &buf, &len, out);
out:
	table_free(&t);
	free(codes);
	free(srcs);
	return rv;
}
