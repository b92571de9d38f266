/* SPDX-License-Identifier: MIT */
/*
 * Capped output buffer and escaping for the web pages; see esc.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "esc.h"

static int
grow(struct wbuf *b, size_t more)
{
	size_t max = b->max ? b->max : WBUF_MAX, cap;
	char *np;

	if (b->bad)
		return -1;
	if (more > max || b->n + more + 1 > max) {
		b->bad = 1;
		return -1;
	}
	if (b->n + more + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->n + more + 1)
		cap *= 2;
	if (cap > max)
		cap = max;
	np = realloc(b->p, cap);
	if (np == NULL) {
		b->bad = 1;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

void
wbuf_put(struct wbuf *b, const char *s, size_t n)
{
	if (grow(b, n) != 0)
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void
wbuf_puts(struct wbuf *b, const char *s)
{
	wbuf_put(b, s, strlen(s));
}

void
wbuf_printf(struct wbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->bad = 1;
		return;
	}
	if (grow(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)n;
}

void
wbuf_free(struct wbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
web_esc_html(struct wbuf *b, const char *s)
{
	const char *run;

	if (s == NULL)
		return;
	for (run = s; *s; s++) {
		const char *ent;
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default:
			ent = (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ?
			    "" : NULL;
		}
		if (ent == NULL)
			continue;
		wbuf_put(b, run, (size_t)(s - run));
		wbuf_puts(b, ent);
		run = s + 1;
	}
	wbuf_put(b, run, (size_t)(s - run));
}

/* Length of the valid UTF-8 sequence at s, 0 when it is not one. */
static size_t
utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void
web_esc_json(struct wbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL) {
		wbuf_puts(b, "null");
		return;
	}
	wbuf_puts(b, "\"");
	while (*p) {
		size_t n;
		switch (*p) {
		case '"': wbuf_puts(b, "\\\""); p++; continue;
		case '\\': wbuf_puts(b, "\\\\"); p++; continue;
		case '\n': wbuf_puts(b, "\\n"); p++; continue;
		case '\r': wbuf_puts(b, "\\r"); p++; continue;
		case '\t': wbuf_puts(b, "\\t"); p++; continue;
		case '<': case '>': case '&':
			wbuf_printf(b, "\\u%04x", *p);
			p++;
			continue;
		default:
			break;
		}
		if (*p < 0x20 || *p == 0x7f) {
			wbuf_printf(b, "\\u%04x", *p);
			p++;
			continue;
		}
		n = utf8_len(p);
		if (n == 0) {
			wbuf_puts(b, "\\ufffd");
			p++;
			continue;
		}
		wbuf_put(b, (const char *)p, n);
		p += n;
	}
	wbuf_puts(b, "\"");
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
web_query(const char *uri, const char *name, char *out, size_t cap)
{
	const char *q = uri ? strchr(uri, '?') : NULL;
	size_t nlen = strlen(name);

	if (cap > 0)
		out[0] = '\0';
	if (q == NULL || cap == 0)
		return 0;
	for (q++; *q; ) {
		const char *end = q + strcspn(q, "&#");
		const char *eq = memchr(q, '=', (size_t)(end - q));
		const char *kend = eq ? eq : end;
		if ((size_t)(kend - q) == nlen && memcmp(q, name, nlen) == 0) {
			size_t o = 0;
			for (const char *v = eq ? eq + 1 : end; v < end; v++) {
				int c = (unsigned char)*v;
				if (c == '+') {
					c = ' ';
				} else if (c == '%' && end - v > 2 &&
				    hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
					c = hexval(v[1]) << 4 | hexval(v[2]);
					v += 2;
				}
				if (c == 0 || o + 1 >= cap) {
					out[0] = '\0';
					return 0;
				}
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 1;
		}
		if (*end != '&')
			break;
		q = end + 1;
	}
	return 0;
}

int
web_url_safe(const char *url)
{
	return url != NULL && (strncasecmp(url, "https://", 8) == 0 ||
	    strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "file://", 7) == 0);
}
