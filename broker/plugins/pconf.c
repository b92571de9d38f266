/* SPDX-License-Identifier: MIT */
/*
 * Typed reads of a callback.config map for the built-in plugins; see
 * pconf.h. Errors name the key as registration shows it to a person.
 */
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "err.h"
#include "msg.h"
#include "pconf.h"

const msgpack_object *
pconf_get(const msgpack_object *cfg, const char *key)
{
	const msgpack_object *v = msg_get(cfg, key);

	return (v == NULL || v->type == MSGPACK_OBJECT_NIL) ? NULL : v;
}

int
pconf_str(const msgpack_object *cfg, const char *key, struct pstr *out)
{
	const msgpack_object *v = pconf_get(cfg, key);

	if (v == NULL)
		return 0;
	if (v->type != MSGPACK_OBJECT_STR)
		return -1;
	/* msgpack-c may leave ptr NULL for "". */
	out->p = v->via.str.ptr != NULL ? v->via.str.ptr : "";
	out->n = v->via.str.size;
	return 1;
}

char *
pconf_strdup(const msgpack_object *cfg, const char *key)
{
	struct pstr s;
	char *c;

	if (pconf_str(cfg, key, &s) != 1 || pstr_has_nul(s))
		return NULL;
	c = malloc(s.n + 1);
	if (c == NULL)
		return NULL;
	memcpy(c, s.p, s.n);
	c[s.n] = '\0';
	return c;
}

int
pstr_has_nul(struct pstr s)
{
	return s.n > 0 && memchr(s.p, '\0', s.n) != NULL;
}

int
pstr_eq(struct pstr s, const char *c)
{
	size_t n = strlen(c);

	return s.n == n && (n == 0 || memcmp(s.p, c, n) == 0);
}

int
pstr_caseeq(struct pstr s, const char *c)
{
	size_t n = strlen(c);

	return s.n == n && (n == 0 || strncasecmp(s.p, c, n) == 0);
}

const char *
pstr_snippet(struct pstr s, char *buf, size_t cap)
{
	size_t k = 0;

	if (cap == 0)
		return buf;
	for (size_t i = 0; i < s.n && i < 40 && k + 4 < cap; i++) {
		unsigned char c = (unsigned char)s.p[i];
		buf[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (s.n > 40 && k + 4 < cap) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
	return buf;
}

int
pconf_fail(char *err, size_t errlen, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return -1;
	n = snprintf(err, errlen, "callback.config.%s: ", key);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	/* Values are quoted as given: keep the message on one line. */
	for (char *p = err; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	return -1;
}

int
pconf_duration_ms(const msgpack_object *cfg, const char *key, uint64_t def,
    uint64_t max, uint64_t *ms, char *err, size_t errlen)
{
	const msgpack_object *v = pconf_get(cfg, key);
	char buf[64];
	uint64_t val;

	if (v == NULL) {
		*ms = def;
		return 0;
	}
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 > max / 1000)
			return pconf_fail(err, errlen, key, "at most %llu s",
			    (unsigned long long)(max / 1000));
		val = v->via.u64 * 1000;
	} else if (v->type == MSGPACK_OBJECT_STR) {
		if (v->via.str.size == 0 || v->via.str.size >= sizeof(buf))
			return pconf_fail(err, errlen, key,
			    "not a duration (like 300ms, 10s, 1m)");
		memcpy(buf, v->via.str.ptr, v->via.str.size);
		buf[v->via.str.size] = '\0';
		if (strlen(buf) != v->via.str.size ||
		    config_parse_duration_ms(buf, &val) != DOMINO_OK)
			return pconf_fail(err, errlen, key,
			    "'%s' is not a duration (like 300ms, 10s, 1m)", buf);
	} else {
		return pconf_fail(err, errlen, key,
		    "must be a duration string (like 10s) or seconds");
	}
	if (val == 0)
		return pconf_fail(err, errlen, key, "must be more than 0");
	if (val > max)
		return pconf_fail(err, errlen, key, "at most %llu s",
		    (unsigned long long)(max / 1000));
	*ms = val;
	return 0;
}
