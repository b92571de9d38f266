/* SPDX-License-Identifier: MIT */
/*
 * Rendering a delivery attempt into what plugins send: CloudEvents JSON,
 * DOMINO_* environment variables, and {{placeholder}} templates; see
 * render.h for the exact shapes. Pure functions with capped buffers.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "event.h"
#include "pconf.h"
#include "plugin.h"
#include "render.h"

/* A growing byte buffer that refuses to pass max bytes. */
struct rbuf {
	char *p;
	size_t len, cap, max;
};

static int
rbuf_add(struct rbuf *b, const char *s, size_t n)
{
	size_t want, cap;
	char *p;

	if (n > b->max - b->len)
		return DOMINO_ETOOBIG;
	want = b->len + n + 1;
	if (want > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < want)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return DOMINO_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return DOMINO_OK;
}

/* Append s JSON-string-escaped, without quotes. */
static int
rbuf_add_escaped(struct rbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;
	char esc[8];
	size_t en;
	int rv;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		rv = rbuf_add(b, s + run, i - run);
		if (rv != DOMINO_OK)
			return rv;
		run = i + 1;
		esc[0] = '\\';
		en = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			en = 6;
		}
		rv = rbuf_add(b, esc, en);
		if (rv != DOMINO_OK)
			return rv;
	}
	return rbuf_add(b, s + run, n - run);
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* The via chain: the job's when it has one, else the event's. */
static void
via_of(const struct plugin_job *job, const char *const **via, size_t *n)
{
	if (job->n_via > 0 && job->via != NULL) {
		*via = job->via;
		*n = job->n_via;
	} else {
		*via = (const char *const *)job->ev->via;
		*n = job->ev->via != NULL ? job->ev->n_via : 0;
	}
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

/* "2024-05-01T12:00:00.123456Z" from unix nanoseconds. */
static void
rfc3339(int64_t ns, char *buf, size_t cap)
{
	int64_t secs = ns / 1000000000, frac = ns % 1000000000;
	time_t t;
	struct tm tm;

	if (frac < 0) {
		frac += 1000000000;
		secs--;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(buf, cap, "1970-01-01T00:00:00Z");
		return;
	}
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(frac / 1000));
}

static cJSON *
str_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < n; i++) {
		cJSON *s = cJSON_CreateString(nz(v[i]));
		if (s == NULL || !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

int
render_cloudevent(const struct plugin_job *job, char **out, size_t *len)
{
	const struct domino_event *ev = job->ev;
	cJSON *root = NULL, *data = NULL, *arr = NULL;
	const char *const *via;
	size_t n_via, srclen;
	char tbuf[96], *src = NULL, *typ = NULL, *text = NULL;
	int rv = DOMINO_ENOMEM, ok = 1;

	*out = NULL;
	*len = 0;
	via_of(job, &via, &n_via);
	srclen = strlen(nz(ev->source)) + strlen(nz(ev->repo)) + 16;
	src = malloc(srclen);
	typ = malloc(strlen(nz(ev->type)) + 16);
	root = cJSON_CreateObject();
	data = cJSON_CreateObject();
	if (src == NULL || typ == NULL || root == NULL || data == NULL)
		goto out;
	snprintf(src, srclen, "domino://%s/%s", nz(ev->source), nz(ev->repo));
	snprintf(typ, strlen(nz(ev->type)) + 16, "dev.domino.%s",
	    ev->type != NULL && *ev->type ? ev->type : "other");
	rfc3339(ev->time, tbuf, sizeof(tbuf));

	ok &= cJSON_AddStringToObject(root, "specversion", "1.0") != NULL;
	ok &= cJSON_AddStringToObject(root, "id", nz(job->delivery_id)) != NULL;
	ok &= cJSON_AddStringToObject(root, "source", src) != NULL;
	ok &= cJSON_AddStringToObject(root, "type", typ) != NULL;
	if (ev->ref != NULL && *ev->ref != '\0')
		ok &= cJSON_AddStringToObject(root, "subject", ev->ref) != NULL;
	ok &= cJSON_AddStringToObject(root, "time", tbuf) != NULL;
	ok &= cJSON_AddStringToObject(root, "datacontenttype",
	    "application/json") != NULL;

	ok &= cJSON_AddNumberToObject(data, "seq", (double)job->seq) != NULL;
	ok &= cJSON_AddStringToObject(data, "repo", nz(ev->repo)) != NULL;
	ok &= cJSON_AddStringToObject(data, "ref", nz(ev->ref)) != NULL;
	ok &= cJSON_AddStringToObject(data, "before", nz(ev->before)) != NULL;
	ok &= cJSON_AddStringToObject(data, "after", nz(ev->after)) != NULL;
	ok &= cJSON_AddStringToObject(data, "actor", nz(ev->actor)) != NULL;
	ok &= cJSON_AddStringToObject(data, "url", nz(ev->url)) != NULL;
	ok &= cJSON_AddStringToObject(data, "event", nz(ev->event)) != NULL;
	ok &= cJSON_AddStringToObject(data, "type", nz(ev->type)) != NULL;
	ok &= cJSON_AddStringToObject(data, "source", nz(ev->source)) != NULL;
	ok &= cJSON_AddStringToObject(data, "id", nz(ev->id)) != NULL;
	if (!ok)
		goto out;
	arr = str_array((const char *const *)ev->depends_on,
	    ev->depends_on != NULL ? ev->n_depends_on : 0);
	if (arr == NULL || !cJSON_AddItemToObject(data, "depends_on", arr))
		goto out;
	arr = str_array(via, n_via);
	if (arr == NULL || !cJSON_AddItemToObject(data, "via", arr))
		goto out;
	arr = NULL;
	ok &= cJSON_AddStringToObject(data, "listener", nz(job->listener)) != NULL;
	ok &= cJSON_AddNumberToObject(data, "attempt", job->attempt) != NULL;
	if (!ok || !cJSON_AddItemToObject(root, "data", data))
		goto out;
	data = NULL;
	text = cJSON_PrintUnformatted(root);
	if (text == NULL)
		goto out;
	*len = strlen(text);
	if (*len > RENDER_MAX) {
		rv = DOMINO_ETOOBIG;
		goto out;
	}
	/* Our own malloc'd copy, whatever allocator cJSON was given. */
	*out = malloc(*len + 1);
	if (*out == NULL)
		goto out;
	memcpy(*out, text, *len + 1);
	rv = DOMINO_OK;
out:
	cJSON_Delete(arr);
	cJSON_Delete(data);
	cJSON_Delete(root);
	cJSON_free(text);
	free(src);
	free(typ);
	if (rv != DOMINO_OK)
		*len = 0;
	return rv;
}

/* Environment. */

void
render_env_free(char **env)
{
	if (env == NULL)
		return;
	for (size_t i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* "NAME=" + the via chain joined by spaces, malloc'd. */
static char *
env_via(const char *name, const struct plugin_job *job)
{
	const char *const *via;
	size_t n_via, len = strlen(name) + 2;
	char *s, *p;

	via_of(job, &via, &n_via);
	for (size_t i = 0; i < n_via; i++)
		len += strlen(nz(via[i])) + 1;
	s = malloc(len);
	if (s == NULL)
		return NULL;
	p = s + sprintf(s, "%s=", name);
	for (size_t i = 0; i < n_via; i++)
		p += sprintf(p, "%s%s", i ? " " : "", nz(via[i]));
	*p = '\0';
	return s;
}

int
render_env(const struct plugin_job *job, char ***out, size_t *n)
{
	const struct domino_event *ev = job->ev;
	const struct {
		const char *name, *val;
	} vars[] = {
		{"DOMINO_REPO", ev->repo}, {"DOMINO_REF", ev->ref},
		{"DOMINO_TYPE", ev->type}, {"DOMINO_BEFORE", ev->before},
		{"DOMINO_AFTER", ev->after}, {"DOMINO_ACTOR", ev->actor},
		{"DOMINO_URL", ev->url}, {"DOMINO_SOURCE", ev->source},
		{"DOMINO_EVENT", ev->event}, {"DOMINO_EVENT_ID", ev->id},
		{"DOMINO_LISTENER", job->listener},
		{"DOMINO_DELIVERY_ID", job->delivery_id},
	};
	size_t nv = sizeof(vars) / sizeof(vars[0]), total = nv + 3, k = 0;
	char **env = calloc(total + 1, sizeof(*env));
	int rv = DOMINO_ENOMEM;

	*out = NULL;
	*n = 0;
	if (env == NULL)
		return DOMINO_ENOMEM;
	for (size_t i = 0; i < nv; i++) {
		if (asprintf(&env[k], "%s=%s", vars[i].name, nz(vars[i].val)) < 0) {
			env[k] = NULL;
			goto out;
		}
		k++;
	}
	if (asprintf(&env[k], "DOMINO_SEQ=%" PRIu64, job->seq) < 0) {
		env[k] = NULL;
		goto out;
	}
	k++;
	if (asprintf(&env[k], "DOMINO_ATTEMPT=%u", job->attempt) < 0) {
		env[k] = NULL;
		goto out;
	}
	k++;
	env[k] = env_via("DOMINO_VIA", job);
	if (env[k] == NULL)
		goto out;
	k++;
	*out = env;
	*n = k;
	env = NULL;
	rv = DOMINO_OK;
out:
	render_env_free(env);
	return rv;
}

/* Templates. */

enum ph {
	PH_REPO, PH_REF, PH_SHORT_REF, PH_BEFORE, PH_AFTER, PH_TYPE, PH_SEQ,
	PH_ACTOR, PH_URL, PH_VIA, PH_LISTENER, PH_SOURCE, PH_ID, PH_EVENT,
	PH_DELIVERY_ID, PH_ATTEMPT, PH_COUNT
};

static const char *const ph_names[PH_COUNT] = {
	"repo", "ref", "short_ref", "before", "after", "type", "seq", "actor",
	"url", "via", "listener", "source", "id", "event", "delivery_id",
	"attempt",
};

/* Longest text between the braces that could still be a name. */
#define PH_INNER_MAX 64

/*
 * Find the placeholder starting at t[i] ("{{"): its index in ph_names or -1
 * when unknown, and *end just past "}}". 0, or -1 when unterminated.
 */
static int
ph_parse(const char *t, size_t n, size_t i, int *which, size_t *end,
    size_t *in_off, size_t *in_len)
{
	size_t a = i + 2, b;

	for (b = a; b + 1 < n; b++)
		if (t[b] == '}' && t[b + 1] == '}')
			break;
	if (b + 1 >= n)
		return -1;
	*end = b + 2;
	*in_off = a;
	*in_len = b - a;
	while (a < b && (t[a] == ' ' || t[a] == '\t'))
		a++;
	while (b > a && (t[b - 1] == ' ' || t[b - 1] == '\t'))
		b--;
	*which = -1;
	if (b - a > PH_INNER_MAX)
		return 0;
	for (int k = 0; k < PH_COUNT; k++)
		if (strlen(ph_names[k]) == b - a &&
		    memcmp(ph_names[k], t + a, b - a) == 0)
			*which = k;
	return 0;
}

int
render_template_check(const char *t, size_t n, char *why, size_t whylen)
{
	size_t end, off, len;
	int which;
	char sn[48];

	for (size_t i = 0; i + 1 < n; i++) {
		if (t[i] != '{' || t[i + 1] != '{')
			continue;
		if (ph_parse(t, n, i, &which, &end, &off, &len) != 0) {
			if (why != NULL && whylen > 0)
				snprintf(why, whylen, "unterminated placeholder "
				    "at byte %zu (a {{ without }})", i);
			return -1;
		}
		if (which < 0) {
			pstr_snippet((struct pstr){t + off, len}, sn,
			    sizeof(sn));
			if (why != NULL && whylen > 0)
				snprintf(why, whylen, "unknown placeholder {{%s}} "
				    "(known: repo, ref, short_ref, before, after, "
				    "type, seq, actor, url, via, listener, source, "
				    "id, event, delivery_id, attempt)", sn);
			return -1;
		}
		i = end - 1;
	}
	return 0;
}

static int
ph_append(struct rbuf *b, int which, const struct plugin_job *job)
{
	const struct domino_event *ev = job->ev;
	const char *v = NULL;
	const char *const *via;
	size_t n_via;
	char num[32];
	int rv;

	switch (which) {
	case PH_REPO: v = ev->repo; break;
	case PH_REF: v = ev->ref; break;
	case PH_SHORT_REF: v = short_ref(ev->ref); break;
	case PH_BEFORE: v = ev->before; break;
	case PH_AFTER: v = ev->after; break;
	case PH_TYPE: v = ev->type; break;
	case PH_ACTOR: v = ev->actor; break;
	case PH_URL: v = ev->url; break;
	case PH_LISTENER: v = job->listener; break;
	case PH_SOURCE: v = ev->source; break;
	case PH_ID: v = ev->id; break;
	case PH_EVENT: v = ev->event; break;
	case PH_DELIVERY_ID: v = job->delivery_id; break;
	case PH_SEQ:
		snprintf(num, sizeof(num), "%" PRIu64, job->seq);
		v = num;
		break;
	case PH_ATTEMPT:
		snprintf(num, sizeof(num), "%u", job->attempt);
		v = num;
		break;
	case PH_VIA:
		via_of(job, &via, &n_via);
		for (size_t i = 0; i < n_via; i++) {
			rv = i ? rbuf_add(b, " ", 1) : DOMINO_OK;
			if (rv == DOMINO_OK)
				rv = rbuf_add_escaped(b, nz(via[i]),
				    strlen(nz(via[i])));
			if (rv != DOMINO_OK)
				return rv;
		}
		return DOMINO_OK;
	default:
		return DOMINO_EINVAL;
	}
	v = nz(v);
	return rbuf_add_escaped(b, v, strlen(v));
}

int
render_template(const char *t, size_t n, const struct plugin_job *job,
    size_t cap, char **out, size_t *len)
{
	struct rbuf b = {.max = cap};
	size_t run = 0, end, off, inlen;
	int which, rv;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (t[i] != '{' || t[i + 1] != '{')
			continue;
		if (ph_parse(t, n, i, &which, &end, &off, &inlen) != 0 ||
		    which < 0) {
			rv = DOMINO_EINVAL;
			goto out;
		}
		rv = rbuf_add(&b, t + run, i - run);
		if (rv == DOMINO_OK)
			rv = ph_append(&b, which, job);
		if (rv != DOMINO_OK)
			goto out;
		run = end;
		i = end - 1;
	}
	rv = rbuf_add(&b, t + run, n - run);
	if (rv != DOMINO_OK)
		goto out;
	*out = b.p;
	*len = b.len;
	b.p = NULL;
out:
	free(b.p);
	return rv;
}
