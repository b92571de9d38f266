/* SPDX-License-Identifier: MIT */
/*
 * Web pages of the admin listener; see pages.h. Data comes from one read
 * transaction per request: listeners (listener_decode), events
 * (domino_event_decode, payload never shown), deliveries and reported
 * results. Every string from the store is outside input (a forge chose the
 * repo and ref) and goes through web_esc_html or web_esc_json.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "assets.h"
#include "config.h"
#include "delivery.h"
#include "err.h"
#include "event.h"
#include "listener.h"
#include "match.h"
#include "msg.h"
#include "pages.h"
#include "store.h"
#include "svg.h"

/* Events a page may list, and the default. */
#define EVENTS_MAX 200
#define EVENTS_DEFAULT 20
/* Listeners a page lists; more are counted but not shown. */
#define LISTENERS_MAX 2000
/* Matrix: columns, how far back (seqs) to look, records to visit. */
#define MATRIX_COLS 20
#define MATRIX_WINDOW 10000
#define MATRIX_VISIT_MAX 200000
#define REPO_MAX 1024

#define CSP_PAGE "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self'; connect-src 'self'; frame-ancestors 'none'"
#define CSP_SVG "default-src 'none'; style-src 'unsafe-inline'"
#define BADGE_CACHE "public, max-age=60, s-maxage=60"

static void
answer(struct web_reply *r, unsigned status, const char *type)
{
	r->status = status;
	r->type = type;
}

static void
fail(struct web_reply *r, unsigned status, const char *msg)
{
	wbuf_free(&r->body);
	r->text = NULL;
	answer(r, status, "text/plain; charset=utf-8");
	wbuf_puts(&r->body, msg);
	wbuf_puts(&r->body, "\n");
}

/* --- static files --- */

static void
page_index(const struct admin_env *env, const char *path, const char *uri,
    struct web_reply *r)
{
	(void)env;
	(void)path;
	(void)uri;
	answer(r, 200, "text/html; charset=utf-8");
	r->csp = CSP_PAGE;
	r->text = web_asset_index_html;
}

static void
page_css(const struct admin_env *env, const char *path, const char *uri,
    struct web_reply *r)
{
	(void)env;
	(void)path;
	(void)uri;
	answer(r, 200, "text/css; charset=utf-8");
	r->cache = "max-age=300";
	r->text = web_asset_style_css;
}

static void
page_js(const struct admin_env *env, const char *path, const char *uri,
    struct web_reply *r)
{
	(void)env;
	(void)path;
	(void)uri;
	answer(r, 200, "text/javascript; charset=utf-8");
	r->cache = "max-age=300";
	r->text = web_asset_app_js;
}

/* --- listeners --- */

struct lrow {
	char *name;
	char *provides;
	char *plugin;
	int level, disabled;
	int64_t failing_since;
	struct listener_dep *deps; /* owned by l */
	size_t n_deps;
	struct listener l;
};

struct lset {
	struct lrow *v;
	size_t n, cap, total;
	int rv;
};

static int
lset_one(void *arg, const char *name, size_t nlen, const void *data,
    size_t len)
{
	struct lset *s = arg;
	struct lrow *row;

	(void)name;
	(void)nlen;
	s->total++;
	if (s->n >= LISTENERS_MAX)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		void *nv = realloc(s->v, cap * sizeof(*s->v));
		if (nv == NULL) {
			s->rv = DOMINO_ENOMEM;
			return 1;
		}
		s->v = nv;
		s->cap = cap;
	}
	row = &s->v[s->n];
	memset(row, 0, sizeof(*row));
	if (listener_decode(data, len, &row->l) != DOMINO_OK)
		return 0;
	row->name = row->l.name;
	row->provides = row->l.provides;
	row->plugin = row->l.plugin;
	row->level = row->l.support_level;
	row->disabled = row->l.disabled;
	row->failing_since = row->l.failing_since;
	row->deps = row->l.deps;
	row->n_deps = row->l.n_deps;
	s->n++;
	return 0;
}

static int
lrow_cmp(const void *a, const void *b)
{
	const struct lrow *x = a, *y = b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
lset_free(struct lset *s)
{
	for (size_t i = 0; i < s->n; i++)
		listener_clear(&s->v[i].l);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
lset_load(struct store_txn *v, struct lset *s, int by_level)
{
	int rv = store_listener_each(v, lset_one, s);

	if (rv == DOMINO_OK)
		rv = s->rv;
	if (rv == DOMINO_OK && by_level && s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), lrow_cmp);
	return rv;
}

static const char *
level_name(int level)
{
	static const char *const n[] = {"core", "required for release",
	    "not required", "third party"};

	return level >= 0 && level <= 3 ? n[level] : "other";
}

static void
page_api_listeners(const struct admin_env *env, const char *path,
    const char *uri, struct web_reply *r)
{
	struct store_reader *rd;
	struct lset s = {0};
	struct wbuf *b = &r->body;

	(void)path;
	(void)uri;
	if (store_reader_open(env->st, &rd) != DOMINO_OK) {
		fail(r, 503, "cannot read the store");
		return;
	}
	if (lset_load(store_reader_view(rd), &s, 0) != DOMINO_OK) {
		fail(r, 500, "cannot read the listeners");
		goto out;
	}
	answer(r, 200, "application/json");
	wbuf_printf(b, "{\"total\":%zu,\"truncated\":%s,\"listeners\":[",
	    s.total, s.total > s.n ? "true" : "false");
	for (size_t i = 0; i < s.n; i++) {
		const struct lrow *l = &s.v[i];
		wbuf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		web_esc_json(b, l->name);
		wbuf_printf(b, ",\"support_level\":%d,\"level_name\":", l->level);
		web_esc_json(b, level_name(l->level));
		wbuf_puts(b, ",\"provides\":");
		web_esc_json(b, l->provides);
		wbuf_puts(b, ",\"plugin\":");
		web_esc_json(b, l->plugin);
		wbuf_printf(b, ",\"disabled\":%s,\"failing\":%s,"
		    "\"failing_since\":%lld,\"depends_on\":[",
		    l->disabled ? "true" : "false",
		    l->failing_since ? "true" : "false",
		    (long long)l->failing_since);
		for (size_t j = 0; j < l->n_deps; j++) {
			const struct listener_dep *d = &l->deps[j];
			wbuf_puts(b, j ? ",{\"repo\":" : "{\"repo\":");
			web_esc_json(b, d->repo);
			wbuf_puts(b, ",\"ref\":");
			web_esc_json(b, d->ref);
			wbuf_puts(b, ",\"types\":[");
			for (size_t k = 0; k < d->n_types; k++) {
				if (k)
					wbuf_puts(b, ",");
				web_esc_json(b, d->types[k]);
			}
			wbuf_puts(b, "]}");
		}
		wbuf_puts(b, "]}");
	}
	wbuf_puts(b, "]}\n");
out:
	lset_free(&s);
	store_reader_close(rd);
}

/* --- events --- */

static void
event_json(struct wbuf *b, const struct domino_event *ev)
{
	wbuf_printf(b, "{\"seq\":%llu,\"time\":%lld,\"source\":",
	    (unsigned long long)ev->seq, (long long)ev->time);
	web_esc_json(b, ev->source);
	wbuf_puts(b, ",\"type\":");
	web_esc_json(b, ev->type);
	wbuf_puts(b, ",\"repo\":");
	web_esc_json(b, ev->repo);
	wbuf_puts(b, ",\"ref\":");
	web_esc_json(b, ev->ref);
	wbuf_puts(b, ",\"after\":");
	web_esc_json(b, ev->after);
	wbuf_puts(b, ",\"actor\":");
	web_esc_json(b, ev->actor);
	wbuf_puts(b, "}");
}

static void
page_api_events(const struct admin_env *env, const char *path,
    const char *uri, struct web_reply *r)
{
	struct store_reader *rd;
	char arg[32];
	unsigned long limit = EVENTS_DEFAULT;
	uint64_t last, from, seq;
	const void *data;
	size_t len, n = 0;
	struct wbuf *b = &r->body;
	struct domino_event *evs = NULL;
	int rv;

	(void)path;
	if (web_query(uri, "limit", arg, sizeof(arg))) {
		char *end;
		limit = strtoul(arg, &end, 10);
		if (*end != '\0' || limit == 0)
			limit = EVENTS_DEFAULT;
		if (limit > EVENTS_MAX)
			limit = EVENTS_MAX;
	}
	if ((evs = calloc(limit, sizeof(*evs))) == NULL) {
		fail(r, 500, "out of memory");
		return;
	}
	if (store_reader_open(env->st, &rd) != DOMINO_OK) {
		free(evs);
		fail(r, 503, "cannot read the store");
		return;
	}
	last = store_last_seq(env->st);
	from = last > limit ? last - limit + 1 : 1;
	for (rv = store_reader_seek(rd, from, &seq, &data, &len);
	    rv == DOMINO_OK && n < limit;
	    rv = store_reader_next(rd, &seq, &data, &len)) {
		if (domino_event_decode(data, len, &evs[n]) == DOMINO_OK)
			n++;
	}
	store_reader_close(rd);
	answer(r, 200, "application/json");
	wbuf_printf(b, "{\"last\":%llu,\"events\":[", (unsigned long long)last);
	for (size_t i = n; i-- > 0;) { /* newest first */
		event_json(b, &evs[i]);
		if (i > 0)
			wbuf_puts(b, ",");
	}
	wbuf_puts(b, "]}\n");
	for (size_t i = 0; i < n; i++)
		domino_event_clear(&evs[i]);
	free(evs);
}

/* --- the compatibility matrix --- */

struct mcol {
	uint64_t seq;
	struct domino_event ev;
};

struct mcell {
	char state[16];   /* delivery state, "" when none */
	char status[8];   /* reported pass/fail/error, "" when none */
	char *url;        /* reported url or NULL */
};

struct matrix {
	char repo[REPO_MAX];       /* filter, "" for all */
	struct lset rows;
	struct mcol cols[MATRIX_COLS];
	size_t n_cols;
	struct mcell *cells;       /* rows.n x n_cols */
	size_t visited;
	struct store_txn *v;
};

/* Keep the MATRIX_COLS newest distinct seqs (cols sorted newest first). */
static void
mx_add(struct matrix *m, uint64_t seq)
{
	size_t i;

	for (i = 0; i < m->n_cols && m->cols[i].seq > seq; i++)
		;
	if (i < m->n_cols && m->cols[i].seq == seq)
		return;
	if (i >= MATRIX_COLS)
		return;
	if (m->n_cols < MATRIX_COLS)
		m->n_cols++;
	memmove(&m->cols[i + 1], &m->cols[i],
	    (m->n_cols - 1 - i) * sizeof(m->cols[0]));
	m->cols[i].seq = seq;
}

static int
mx_delivery(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len)
{
	struct matrix *m = arg;

	(void)listener;
	if (++m->visited > MATRIX_VISIT_MAX)
		return 1;
	if (m->repo[0] != '\0') {
		struct delivery d;
		int match;
		if (delivery_decode(data, len, &d) != DOMINO_OK)
			return 0;
		match = d.repo != NULL && strcmp(d.repo, m->repo) == 0;
		delivery_clear(&d);
		if (!match)
			return 0;
	}
	mx_add(m, seq);
	return 0;
}

/* The report's status and url into c. */
static void
mx_report(struct mcell *c, const void *data, size_t len)
{
	msgpack_unpacked u;
	const char *s;
	size_t n;

	if (msg_unpack(data, len, &u) == DOMINO_OK) {
		if (msg_str(&u.data, "status", &s, &n) == DOMINO_OK &&
		    n < sizeof(c->status)) {
			memcpy(c->status, s, n);
			c->status[n] = '\0';
		}
		if (msg_str(&u.data, "url", &s, &n) == DOMINO_OK && n > 0)
			c->url = strndup(s, n);
	}
	msgpack_unpacked_destroy(&u);
}

static void
mx_free(struct matrix *m)
{
	if (m->cells != NULL)
		for (size_t i = 0; i < m->rows.n * m->n_cols; i++)
			free(m->cells[i].url);
	free(m->cells);
	for (size_t i = 0; i < m->n_cols; i++)
		domino_event_clear(&m->cols[i].ev);
	lset_free(&m->rows);
}

static int
mx_load(const struct admin_env *env, struct store_reader *rd,
    struct matrix *m)
{
	uint64_t last = store_last_seq(env->st);
	uint64_t from = last > MATRIX_WINDOW ? last - MATRIX_WINDOW + 1 : 1;
	int rv;

	m->v = store_reader_view(rd);
	if ((rv = lset_load(m->v, &m->rows, 1)) != DOMINO_OK)
		return rv;
	for (size_t i = 0; i < m->rows.n && m->visited <= MATRIX_VISIT_MAX; i++)
		if ((rv = store_delivery_each(m->v, m->rows.v[i].name, from,
		    mx_delivery, m)) != DOMINO_OK)
			return rv;
	for (size_t j = 0; j < m->n_cols; j++) {
		const void *data;
		size_t len;
		domino_event_init(&m->cols[j].ev);
		if (store_event_get(m->v, m->cols[j].seq, &data, &len) == DOMINO_OK)
			domino_event_decode(data, len, &m->cols[j].ev);
	}
	if (m->rows.n == 0 || m->n_cols == 0)
		return DOMINO_OK;
	if ((m->cells = calloc(m->rows.n * m->n_cols, sizeof(*m->cells))) == NULL)
		return DOMINO_ENOMEM;
	for (size_t i = 0; i < m->rows.n; i++) {
		for (size_t j = 0; j < m->n_cols; j++) {
			struct mcell *c = &m->cells[i * m->n_cols + j];
			const void *data;
			size_t len;
			if (store_delivery_get(m->v, m->rows.v[i].name,
			    m->cols[j].seq, &data, &len) != DOMINO_OK)
				continue;
			delivery_state(data, len, c->state, sizeof(c->state));
			if (c->state[0] == '\0')
				snprintf(c->state, sizeof(c->state), "unknown");
			if (store_result_get(m->v, m->rows.v[i].name,
			    m->cols[j].seq, &data, &len) == DOMINO_OK)
				mx_report(c, data, len);
		}
	}
	return DOMINO_OK;
}

/* The cell's class: pass, fail, error, pending or none. */
static const char *
cell_class(const struct mcell *c)
{
	if (c->state[0] == '\0')
		return "none";
	if (strcmp(c->status, "pass") == 0 || strcmp(c->status, "fail") == 0 ||
	    strcmp(c->status, "error") == 0)
		return c->status;
	return "pending";
}

static const char *
short_ref(const char *ref)
{
	if (ref == NULL)
		return "";
	if (strncmp(ref, "refs/heads/", 11) == 0)
		return ref + 11;
	if (strncmp(ref, "refs/tags/", 10) == 0)
		return ref + 10;
	return ref;
}

/* The repo without its host: "owner/name". */
static const char *
without_host(const char *repo)
{
	const char *s = repo ? strchr(repo, '/') : NULL;

	return s != NULL && s[1] != '\0' ? s + 1 : (repo ? repo : "");
}

static const char *
base_name(const char *repo)
{
	const char *s = repo ? strrchr(repo, '/') : NULL;

	return s != NULL && s[1] != '\0' ? s + 1 : (repo ? repo : "");
}

/* Open the read transaction and load; answers the error itself. */
static int
mx_open(const struct admin_env *env, const char *uri, struct matrix *m,
    struct store_reader **rd, struct web_reply *r)
{
	memset(m, 0, sizeof(*m));
	web_query(uri, "repo", m->repo, sizeof(m->repo));
	if (store_reader_open(env->st, rd) != DOMINO_OK) {
		fail(r, 503, "cannot read the store");
		return -1;
	}
	if (mx_load(env, *rd, m) != DOMINO_OK) {
		fail(r, 500, "cannot read the deliveries");
		return -1;
	}
	return 0;
}

static void
page_api_matrix(const struct admin_env *env, const char *path,
    const char *uri, struct web_reply *r)
{
	struct matrix m;
	struct store_reader *rd = NULL;
	struct wbuf *b = &r->body;

	(void)path;
	if (mx_open(env, uri, &m, &rd, r) != 0)
		goto out;
	answer(r, 200, "application/json");
	wbuf_puts(b, "{\"repo\":");
	web_esc_json(b, m.repo[0] ? m.repo : NULL);
	wbuf_puts(b, ",\"columns\":[");
	for (size_t j = 0; j < m.n_cols; j++) {
		m.cols[j].ev.seq = m.cols[j].seq;
		if (j)
			wbuf_puts(b, ",");
		event_json(b, &m.cols[j].ev);
	}
	wbuf_printf(b, "],\"truncated\":%s,\"rows\":[",
	    m.rows.total > m.rows.n ? "true" : "false");
	for (size_t i = 0; i < m.rows.n; i++) {
		const struct lrow *l = &m.rows.v[i];
		wbuf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		web_esc_json(b, l->name);
		wbuf_printf(b, ",\"support_level\":%d,\"disabled\":%s,"
		    "\"cells\":[", l->level, l->disabled ? "true" : "false");
		for (size_t j = 0; j < m.n_cols; j++) {
			const struct mcell *c = &m.cells[i * m.n_cols + j];
			wbuf_printf(b, "%s{\"seq\":%llu,\"cell\":\"%s\",\"delivery\":",
			    j ? "," : "", (unsigned long long)m.cols[j].seq,
			    cell_class(c));
			web_esc_json(b, c->state[0] ? c->state : NULL);
			wbuf_puts(b, ",\"status\":");
			web_esc_json(b, c->status[0] ? c->status : NULL);
			wbuf_puts(b, ",\"url\":");
			web_esc_json(b, c->url);
			wbuf_puts(b, "}");
		}
		wbuf_puts(b, "]}");
	}
	wbuf_puts(b, "]}\n");
out:
	mx_free(&m);
	if (rd != NULL)
		store_reader_close(rd);
}

static void
html_head(struct wbuf *b, const char *title)
{
	wbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<title>");
	web_esc_html(b, title);
	wbuf_puts(b, "</title><link rel=\"stylesheet\" href=\"/assets/style.css\">"
	    "</head><body><header><h1><a href=\"/\">domino</a></h1><nav>"
	    "<a href=\"/\">status</a> <a href=\"/matrix\">matrix</a></nav>"
	    "</header><main>\n");
}

static void
fmt_time(int64_t ns, char *out, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(out, cap, "-");
	else
		strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void
page_matrix(const struct admin_env *env, const char *path, const char *uri,
    struct web_reply *r)
{
	struct matrix m;
	struct store_reader *rd = NULL;
	struct wbuf *b = &r->body;
	int level = -100;

	(void)path;
	if (mx_open(env, uri, &m, &rd, r) != 0)
		goto out;
	answer(r, 200, "text/html; charset=utf-8");
	r->csp = CSP_PAGE;
	html_head(b, "domino: compatibility matrix");
	wbuf_puts(b, "<h2>Compatibility matrix</h2>\n<form class=\"filter\" "
	    "method=\"get\" action=\"/matrix\"><label>upstream repo "
	    "<input name=\"repo\" size=\"40\" value=\"");
	web_esc_html(b, m.repo);
	wbuf_puts(b, "\"></label> <button>filter</button>");
	if (m.repo[0] != '\0') {
		wbuf_puts(b, " <a href=\"/matrix\">all repos</a> "
		    "<a class=\"graphlink\" href=\"/graph?repo=");
		/* the query value: percent-encode everything but unreserved */
		for (const unsigned char *p = (const unsigned char *)m.repo; *p; p++) {
			if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
				wbuf_put(b, (const char *)p, 1);
			else
				wbuf_printf(b, "%%%02X", *p);
		}
		wbuf_puts(b, "\">downstream graph</a>");
	}
	wbuf_puts(b, "</form>\n");
	if (m.n_cols == 0) {
		wbuf_puts(b, "<p class=\"empty\">No recent upstream change reached "
		    "a listener.</p>\n");
	}
	wbuf_puts(b, "<table class=\"matrix\" id=\"matrix\"><thead><tr>"
	    "<th class=\"lname\">listener</th>");
	for (size_t j = 0; j < m.n_cols; j++) {
		const struct domino_event *ev = &m.cols[j].ev;
		char when[40];
		fmt_time(ev->time, when, sizeof(when));
		wbuf_printf(b, "<th class=\"col\" data-seq=\"%llu\" title=\"",
		    (unsigned long long)m.cols[j].seq);
		web_esc_html(b, ev->repo);
		wbuf_puts(b, "@");
		web_esc_html(b, ev->ref);
		wbuf_puts(b, " by ");
		web_esc_html(b, ev->actor ? ev->actor : "-");
		wbuf_printf(b, " at %s\"><span class=\"seq\">#%llu</span>"
		    "<span class=\"repo\">", when, (unsigned long long)m.cols[j].seq);
		web_esc_html(b, without_host(ev->repo));
		wbuf_puts(b, "</span><span class=\"ref\">");
		web_esc_html(b, short_ref(ev->ref));
		if (ev->after != NULL && ev->after[0] != '\0') {
			char sha[8];
			snprintf(sha, sizeof(sha), "%.7s", ev->after);
			wbuf_puts(b, " ");
			web_esc_html(b, sha);
		}
		wbuf_puts(b, "</span></th>");
	}
	wbuf_puts(b, "</tr></thead><tbody>\n");
	for (size_t i = 0; i < m.rows.n; i++) {
		const struct lrow *l = &m.rows.v[i];
		if (l->level != level) {
			level = l->level;
			wbuf_printf(b, "<tr class=\"group\"><th colspan=\"%zu\">"
			    "level %d: %s</th></tr>\n", m.n_cols + 1, level,
			    level_name(level));
		}
		wbuf_puts(b, "<tr class=\"row\" data-listener=\"");
		web_esc_html(b, l->name);
		wbuf_printf(b, "\"><th class=\"lname%s\">",
		    l->disabled ? " disabled" : "");
		web_esc_html(b, l->name);
		wbuf_puts(b, "</th>");
		for (size_t j = 0; j < m.n_cols; j++) {
			const struct mcell *c = &m.cells[i * m.n_cols + j];
			const char *cls = cell_class(c);
			const char *text = strcmp(cls, "none") == 0 ? "\xc2\xb7" : cls;
			wbuf_printf(b, "<td class=\"cell %s\" title=\"", cls);
			if (c->state[0] != '\0') {
				wbuf_puts(b, "delivery ");
				web_esc_html(b, c->state);
				wbuf_puts(b, c->status[0] ? ", reported " : ", no report");
				web_esc_html(b, c->status);
			} else {
				wbuf_puts(b, "not affected");
			}
			wbuf_puts(b, "\">");
			if (web_url_safe(c->url)) {
				wbuf_puts(b, "<a href=\"");
				web_esc_html(b, c->url);
				wbuf_puts(b, "\" rel=\"noopener noreferrer\">");
				web_esc_html(b, text);
				wbuf_puts(b, "</a>");
			} else {
				web_esc_html(b, text);
			}
			wbuf_puts(b, "</td>");
		}
		wbuf_puts(b, "</tr>\n");
	}
	wbuf_puts(b, "</tbody></table>\n");
	if (m.rows.total > m.rows.n)
		wbuf_printf(b, "<p>Showing %zu of %zu listeners.</p>\n", m.rows.n,
		    m.rows.total);
	wbuf_puts(b, "<p class=\"legend\"><span class=\"cell pass\">pass</span> "
	    "<span class=\"cell fail\">fail</span> <span class=\"cell error\">"
	    "error</span> <span class=\"cell pending\">pending</span> (delivered "
	    "or being delivered, no report yet) <span class=\"cell none\">"
	    "\xc2\xb7</span> not affected</p>\n</main></body></html>\n");
out:
	mx_free(&m);
	if (rd != NULL)
		store_reader_close(rd);
}

/* --- the downstream graph --- */

static int
graph_walk(const struct admin_env *env, const char *uri, char *repo,
    struct match_result *mr, struct web_reply *r)
{
	struct store_reader *rd;
	unsigned depth = env->cfg != NULL ? env->cfg->graph_max_depth : 8;
	int rv;

	if (!web_query(uri, "repo", repo, REPO_MAX) || repo[0] == '\0') {
		fail(r, 400, "give ?repo=host/owner/name");
		return -1;
	}
	if (depth == 0 || depth > 64)
		depth = 64;
	if (store_reader_open(env->st, &rd) != DOMINO_OK) {
		fail(r, 503, "cannot read the store");
		return -1;
	}
	rv = match_run(store_reader_view(rd), repo, NULL, NULL, 0, depth, mr);
	if (rv == DOMINO_OK)
		match_load_disabled(store_reader_view(rd), mr);
	store_reader_close(rd);
	if (rv != DOMINO_OK) {
		fail(r, 500, "cannot walk the dependency graph");
		return -1;
	}
	return 0;
}

static void
page_graph(const struct admin_env *env, const char *path, const char *uri,
    struct web_reply *r)
{
	struct match_result mr = {0};
	char repo[REPO_MAX];

	(void)path;
	if (graph_walk(env, uri, repo, &mr, r) == 0) {
		answer(r, 200, "image/svg+xml; charset=utf-8");
		r->csp = CSP_SVG;
		web_graph_svg(&r->body, repo, mr.hits, mr.n);
	}
	match_result_clear(&mr);
}

static void
page_api_graph(const struct admin_env *env, const char *path,
    const char *uri, struct web_reply *r)
{
	struct match_result mr = {0};
	char repo[REPO_MAX];
	struct wbuf *b = &r->body;

	(void)path;
	if (graph_walk(env, uri, repo, &mr, r) == 0) {
		answer(r, 200, "application/json");
		wbuf_puts(b, "{\"repo\":");
		web_esc_json(b, repo);
		wbuf_puts(b, ",\"listeners\":[");
		for (size_t i = 0; i < mr.n; i++) {
			const struct match_hit *h = &mr.hits[i];
			wbuf_puts(b, i ? ",{\"name\":" : "{\"name\":");
			web_esc_json(b, h->name);
			wbuf_printf(b, ",\"depth\":%u,\"support_level\":%d,"
			    "\"disabled\":%s,\"provides\":", h->depth,
			    h->support_level, h->disabled ? "true" : "false");
			web_esc_json(b, h->provides);
			wbuf_puts(b, ",\"parent\":");
			web_esc_json(b, h->parent >= 0 && (size_t)h->parent < mr.n ?
			    mr.hits[h->parent].name : NULL);
			wbuf_puts(b, "}");
		}
		wbuf_puts(b, "]}\n");
	}
	match_result_clear(&mr);
}

/* --- badges --- */

struct newest {
	struct store_txn *v;
	const char *dep;
	uint64_t seq;
	char ref[256];
};

static int
newest_one(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len)
{
	struct newest *nw = arg;
	const void *dd;
	size_t dl;
	struct delivery d;

	(void)data;
	(void)len;
	if (store_delivery_get(nw->v, listener, seq, &dd, &dl) != DOMINO_OK ||
	    delivery_decode(dd, dl, &d) != DOMINO_OK)
		return 0;
	if ((nw->dep == NULL || (d.repo != NULL && strcmp(d.repo, nw->dep) == 0))
	    && seq > nw->seq) {
		nw->seq = seq;
		snprintf(nw->ref, sizeof(nw->ref), "%s", short_ref(d.ref));
	}
	delivery_clear(&d);
	return 0;
}

static int
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > LISTENER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void
page_badge(const struct admin_env *env, const char *path, const char *uri,
    struct web_reply *r)
{
	const char *name = path + strlen("/badge/"), *dot = strrchr(name, '.');
	char lname[LISTENER_NAME_MAX + 1], dep[REPO_MAX], label[REPO_MAX + 300];
	char report[8] = "";
	struct newest nw = {0};
	struct store_reader *rd = NULL;
	const struct web_status *st;
	const void *data;
	size_t len;
	int json, found;

	if (strncmp(path, "/badge/", 7) != 0 || dot == NULL ||
	    (strcmp(dot, ".svg") != 0 && strcmp(dot, ".json") != 0) ||
	    !name_ok(name, (size_t)(dot - name))) {
		fail(r, 404, "badge: /badge/LISTENER.svg or /badge/LISTENER.json");
		return;
	}
	json = strcmp(dot, ".json") == 0;
	memcpy(lname, name, (size_t)(dot - name));
	lname[dot - name] = '\0';
	nw.dep = web_query(uri, "dep", dep, sizeof(dep)) && dep[0] ? dep : NULL;
	if (store_reader_open(env->st, &rd) != DOMINO_OK) {
		fail(r, 503, "cannot read the store");
		return;
	}
	nw.v = store_reader_view(rd);
	found = store_listener_get(nw.v, lname, &data, &len) == DOMINO_OK;
	if (found && store_result_each(nw.v, lname, newest_one, &nw) == DOMINO_OK &&
	    nw.seq > 0 && store_result_get(nw.v, lname, nw.seq, &data, &len) ==
	    DOMINO_OK) {
		struct mcell c = {{0}, {0}, NULL};
		mx_report(&c, data, len);
		snprintf(report, sizeof(report), "%s", c.status);
		free(c.url);
	}
	store_reader_close(rd);
	st = web_status_of(report);
	if (!found)
		snprintf(label, sizeof(label), "%s", lname);
	else if (nw.dep == NULL)
		snprintf(label, sizeof(label), "%s", lname);
	else if (nw.ref[0] != '\0')
		snprintf(label, sizeof(label), "%s@%s", base_name(nw.dep), nw.ref);
	else
		snprintf(label, sizeof(label), "%s", base_name(nw.dep));
	answer(r, found ? 200 : 404, json ? "application/json" :
	    "image/svg+xml; charset=utf-8");
	r->cache = BADGE_CACHE;
	if (json) {
		wbuf_puts(&r->body, "{\"schemaVersion\":1,\"label\":");
		web_esc_json(&r->body, label);
		wbuf_puts(&r->body, ",\"message\":");
		web_esc_json(&r->body, found ? st->message : "not found");
		wbuf_printf(&r->body, ",\"color\":\"%s\"}\n", st->shields);
	} else {
		r->csp = CSP_SVG;
		web_badge_svg(&r->body, label, found ? st->message : "not found",
		    st->hex);
	}
}

const struct web_route web_routes[] = {
	{"/", 0, page_index},
	{"/assets/style.css", 0, page_css},
	{"/assets/app.js", 0, page_js},
	{"/api/events", 0, page_api_events},
	{"/api/listeners", 0, page_api_listeners},
	{"/api/matrix", 0, page_api_matrix},
	{"/api/graph", 0, page_api_graph},
	{"/matrix", 0, page_matrix},
	{"/graph", 0, page_graph},
	{"/badge", 1, page_badge},
	{NULL, 0, NULL},
};
