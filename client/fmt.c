/* SPDX-License-Identifier: MIT */
/*
 * Text forms of events and stats, and parsing of times and numbers given
 * on a command line; see fmt.h. JSON goes through cJSON, with 64-bit
 * integers written as raw numbers because cJSON keeps numbers as doubles.
 * Nothing here does I/O.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "fmt.h"

#define NS_PER_S INT64_C(1000000000)

int
domino_fmt_parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return DOMINO_EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return DOMINO_EINVAL;
	*out = v;
	return DOMINO_OK;
}

/* Read exactly n digits at *p into *v. */
static int
digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

/* "YYYY-MM-DD[(T| )HH:MM[:SS][.frac][Z|(+|-)HH:MM]]" */
static int
parse_rfc3339(const char *s, int64_t *out_ns)
{
	const char *p = s;
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, sec = 0, zone = 0, utc = 1;
	int64_t frac = 0, t;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d))
		return DOMINO_EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return DOMINO_EINVAL;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return DOMINO_EINVAL;
			if (*p == '.') {
				int64_t scale = NS_PER_S / 10;
				p++;
				if (!isdigit((unsigned char)*p))
					return DOMINO_EINVAL;
				for (; isdigit((unsigned char)*p); p++) {
					frac += (*p - '0') * scale;
					scale /= 10;
				}
			}
		}
		utc = 0;
		if (*p == 'Z' || *p == 'z') {
			utc = 1;
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, zh, zm;
			if (digits(&p, 2, &zh) || *p++ != ':' ||
			    digits(&p, 2, &zm) || zh > 23 || zm > 59)
				return DOMINO_EINVAL;
			zone = sign * (zh * 3600 + zm * 60);
			utc = 1;
		}
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return DOMINO_EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	t = utc ? (int64_t)timegm(&tm) : (int64_t)mktime(&tm);
	if (t == -1 && !(y == 1969 && mo == 12 && d == 31))
		return DOMINO_EINVAL;
	t -= zone;
	if (t < 0 || t > INT64_MAX / NS_PER_S - 1)
		return DOMINO_EINVAL;
	*out_ns = t * NS_PER_S + frac;
	return DOMINO_OK;
}

int
domino_fmt_parse_time(const char *s, int64_t now_ns, int64_t *out_ns)
{
	size_t n;
	uint64_t v, unit;
	char num[32];

	if (s == NULL || *s == '\0')
		return DOMINO_EINVAL;
	n = strlen(s);
	if (n > 4 && s[4] == '-')
		return parse_rfc3339(s, out_ns);
	if (domino_fmt_parse_u64(s, &v) == DOMINO_OK) {
		if (v > (uint64_t)(INT64_MAX / NS_PER_S))
			return DOMINO_EINVAL;
		*out_ns = (int64_t)v * NS_PER_S;
		return DOMINO_OK;
	}
	switch (s[n - 1]) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 7 * 86400;
		break;
	default:
		return DOMINO_EINVAL;
	}
	if (n - 1 >= sizeof(num))
		return DOMINO_EINVAL;
	memcpy(num, s, n - 1);
	num[n - 1] = '\0';
	if (domino_fmt_parse_u64(num, &v) != DOMINO_OK ||
	    v > (uint64_t)(INT64_MAX / NS_PER_S) / unit)
		return DOMINO_EINVAL;
	*out_ns = now_ns - (int64_t)(v * unit) * NS_PER_S;
	if (*out_ns < 0)
		*out_ns = 0;
	return DOMINO_OK;
}

char *
domino_fmt_time(int64_t ns, char *buf, size_t cap)
{
	time_t t = (time_t)(ns / NS_PER_S);
	struct tm tm;

	if (cap == 0)
		return buf;
	if (ns == 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, cap, "-");
	return buf;
}

char *
domino_fmt_duration(uint64_t ms, char *buf, size_t cap)
{
	static const struct {
		uint64_t s;
		const char *u;
	} units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
	uint64_t s = ms / 1000;
	size_t len = 0;

	if (cap == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t q = s / units[i].s;
		int w;
		if (q == 0)
			continue;
		s %= units[i].s;
		w = snprintf(buf + len, cap - len, "%s%" PRIu64 "%s",
		    len ? " " : "", q, units[i].u);
		if (w < 0 || (size_t)w >= cap - len)
			return buf;
		len += (size_t)w;
	}
	if (len == 0)
		snprintf(buf, cap, "0s");
	return buf;
}

static const char *
or_dash(const char *s)
{
	return (s != NULL && *s != '\0') ? s : "-";
}

int
domino_fmt_event_line(const struct domino_event *ev, char **out)
{
	char seq[24], tbuf[32], shas[20];
	int n;

	*out = NULL;
	if (ev == NULL) {
		n = asprintf(out, "%6s  %-19s  %-9s  %-12s  %-28s  %-18s  "
		    "%-16s  %s", "SEQ", "TIME", "SOURCE", "TYPE", "REPO", "REF",
		    "BEFORE..AFTER", "ACTOR");
		if (n < 0) {
			*out = NULL;
			return DOMINO_ENOMEM;
		}
		return DOMINO_OK;
	}
	snprintf(seq, sizeof(seq), "%" PRIu64, ev->seq);
	domino_fmt_time(ev->time, tbuf, sizeof(tbuf));
	if ((ev->before == NULL || *ev->before == '\0') &&
	    (ev->after == NULL || *ev->after == '\0'))
		snprintf(shas, sizeof(shas), "-");
	else
		snprintf(shas, sizeof(shas), "%.7s..%.7s", or_dash(ev->before),
		    or_dash(ev->after));
	n = asprintf(out, "%6s  %-19s  %-9s  %-12s  %-28s  %-18s  %-16s  %s",
	    seq, tbuf, or_dash(ev->source), or_dash(ev->type),
	    or_dash(ev->repo), or_dash(ev->ref), shas, or_dash(ev->actor));
	if (n < 0) {
		*out = NULL;
		return DOMINO_ENOMEM;
	}
	return DOMINO_OK;
}

/* Add a uint64/int64 as an exact JSON number. */
static int
add_u64(cJSON *o, const char *k, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	return cJSON_AddRawToObject(o, k, num) != NULL;
}

static int
add_i64(cJSON *o, const char *k, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	return cJSON_AddRawToObject(o, k, num) != NULL;
}

/* Add s unless it is absent. */
static int
add_str(cJSON *o, const char *k, const char *s)
{
	return s == NULL || cJSON_AddStringToObject(o, k, s) != NULL;
}

static int
add_list(cJSON *o, const char *k, char **v, size_t n)
{
	cJSON *a;

	if (n == 0)
		return 1;
	a = cJSON_AddArrayToObject(o, k);
	if (a == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateString(v[i] ? v[i] : "");
		if (s == NULL || !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			return 0;
		}
	}
	return 1;
}

static char *
base64(const uint8_t *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *q = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*q++ = tab[(v >> 18) & 63];
		*q++ = tab[(v >> 12) & 63];
		*q++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*q++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*q = '\0';
	return out;
}

static int
add_payload(cJSON *o, const uint8_t *p, size_t n)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts((const char *)p, n, &end, 0);
	char *b;
	int ok;

	if (j != NULL) {
		while (end < (const char *)p + n && isspace((unsigned char)*end))
			end++;
		if (end == (const char *)p + n) {
			ok = cJSON_AddItemToObject(o, "payload", j);
			if (!ok)
				cJSON_Delete(j);
			return ok;
		}
		cJSON_Delete(j);
	}
	b = base64(p, n);
	if (b == NULL)
		return 0;
	ok = cJSON_AddStringToObject(o, "payload_base64", b) != NULL;
	free(b);
	return ok;
}

static int
print(cJSON *o, char **out)
{
	*out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return *out != NULL ? DOMINO_OK : DOMINO_ENOMEM;
}

int
domino_fmt_event_json(const struct domino_event *ev, int with_payload,
    char **out)
{
	cJSON *o = cJSON_CreateObject(), *h;
	int ok;

	*out = NULL;
	if (o == NULL)
		return DOMINO_ENOMEM;
	ok = add_u64(o, "seq", ev->seq) && add_str(o, "id", ev->id) &&
	    add_i64(o, "time", ev->time) && add_str(o, "source", ev->source) &&
	    add_str(o, "event", ev->event) && add_str(o, "type", ev->type) &&
	    add_str(o, "repo", ev->repo) && add_str(o, "ref", ev->ref) &&
	    add_str(o, "before", ev->before) &&
	    add_str(o, "after", ev->after) &&
	    add_str(o, "actor", ev->actor) && add_str(o, "url", ev->url) &&
	    add_list(o, "depends_on", ev->depends_on, ev->n_depends_on) &&
	    add_list(o, "via", ev->via, ev->n_via);
	if (ok && ev->n_headers > 0) {
		h = cJSON_AddObjectToObject(o, "headers");
		ok = h != NULL;
		for (size_t i = 0; ok && i < ev->n_headers; i++)
			ok = cJSON_AddStringToObject(h, ev->headers[i].name,
			    ev->headers[i].value ? ev->headers[i].value : "")
			    != NULL;
	}
	if (ok && with_payload && ev->payload != NULL)
		ok = add_payload(o, ev->payload, ev->payload_len);
	if (!ok) {
		cJSON_Delete(o);
		return DOMINO_ENOMEM;
	}
	return print(o, out);
}

int
domino_fmt_stats_json(const struct domino_stats *st, char **out)
{
	cJSON *o = cJSON_CreateObject(), *l;
	int ok;

	*out = NULL;
	if (o == NULL)
		return DOMINO_ENOMEM;
	ok = add_str(o, "version", st->version) && add_u64(o, "seq", st->seq) &&
	    add_u64(o, "first_seq", st->first_seq) &&
	    add_u64(o, "events", st->events) &&
	    add_u64(o, "uptime_ms", st->uptime_ms);
	l = ok ? cJSON_AddObjectToObject(o, "listen") : NULL;
	ok = l != NULL && add_str(l, "http", st->listen_http) &&
	    add_str(l, "pub", st->listen_pub) &&
	    add_str(l, "control", st->listen_control) &&
	    add_str(l, "admin", st->listen_admin);
	if (ok) {
		cJSON *a = cJSON_AddArrayToObject(o, "sources");
		ok = a != NULL;
		for (size_t i = 0; ok && i < st->n_sources; i++) {
			cJSON *s = cJSON_CreateString(st->sources[i]);
			ok = s != NULL && cJSON_AddItemToArray(a, s);
			if (!ok)
				cJSON_Delete(s);
		}
	}
	l = ok ? cJSON_AddObjectToObject(o, "deliveries") : NULL;
	ok = l != NULL && add_u64(l, "in_flight", st->deliveries.in_flight) &&
	    add_u64(l, "dispatched", st->deliveries.dispatched) &&
	    add_u64(l, "ok", st->deliveries.ok) &&
	    add_u64(l, "retried", st->deliveries.retried) &&
	    add_u64(l, "dead", st->deliveries.dead) &&
	    add_u64(o, "trimmed_before", st->trimmed_before);
	l = ok ? cJSON_AddObjectToObject(o, "retention") : NULL;
	ok = l != NULL && add_u64(l, "trimmed", st->retention.trimmed) &&
	    add_u64(l, "held_back", st->retention.held_back) &&
	    add_u64(l, "held_by_seq", st->retention.held_by_seq);
	if (ok) {
		cJSON *a = cJSON_AddArrayToObject(o, "ingest");
		ok = a != NULL;
		for (size_t i = 0; ok && i < st->n_ingest; i++) {
			cJSON *c = cJSON_CreateObject();
			ok = c != NULL && cJSON_AddItemToArray(a, c);
			if (!ok) {
				cJSON_Delete(c);
				break;
			}
			ok = add_str(c, "source", st->ingest[i].source) &&
			    add_u64(c, "status", st->ingest[i].status) &&
			    add_u64(c, "count", st->ingest[i].count);
		}
	}
	if (ok && st->n_plugins > 0) {
		cJSON *a = cJSON_AddArrayToObject(o, "plugins");
		ok = a != NULL;
		for (size_t i = 0; ok && i < st->n_plugins; i++) {
			cJSON *c = cJSON_CreateObject();
			ok = c != NULL && cJSON_AddItemToArray(a, c);
			if (!ok) {
				cJSON_Delete(c);
				break;
			}
			ok = add_str(c, "name", st->plugins[i].name) &&
			    add_str(c, "state", st->plugins[i].state) &&
			    add_str(c, "reason", st->plugins[i].reason) &&
			    add_u64(c, "restarts", st->plugins[i].restarts);
		}
	}
	if (!ok) {
		cJSON_Delete(o);
		return DOMINO_ENOMEM;
	}
	return print(o, out);
}
