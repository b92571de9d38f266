/* SPDX-License-Identifier: MIT */
/*
 * Output buffers and escaping for the admin web pages: a capped growing
 * buffer (curl's dynbuf), HTML/XML text and attribute escaping, JSON
 * strings, and reading one parameter out of a request's query string. It
 * knows nothing about the store or HTTP; every function here is pure so
 * tests/unit/test_web.c can check it byte for byte.
 */
#ifndef DOMINO_WEB_ESC_H
#define DOMINO_WEB_ESC_H

#include <stddef.h>

/* Largest page or JSON document the admin listener renders. */
#define WBUF_MAX (8u << 20)

/*
 * A growing NUL-terminated buffer with a cap. Zero-initialise it (max 0
 * means WBUF_MAX). Appends past the cap or a failed allocation set `bad`
 * and are ignored from then on; check it once at the end. Free p with
 * free().
 */
struct wbuf {
	char *p;
	size_t n, cap, max;
	int bad;
};

void wbuf_put(struct wbuf *b, const char *s, size_t n);
void wbuf_puts(struct wbuf *b, const char *s);
void wbuf_printf(struct wbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void wbuf_free(struct wbuf *b);

/*
 * Append s as HTML/XML text or attribute value: & < > " ' become entities,
 * control characters other than tab/newline are dropped (XML 1.0 forbids
 * them). NULL appends nothing. The same output is valid in HTML and SVG.
 */
void web_esc_html(struct wbuf *b, const char *s);

/*
 * Append s as a JSON string with its quotes. Besides the required escapes,
 * < > & become \u003c \u003e \u0026 so the text is inert inside HTML, and
 * bytes that are not valid UTF-8 become U+FFFD. NULL appends null.
 */
void web_esc_json(struct wbuf *b, const char *s);

/*
 * Copy the value of query parameter name in uri (the part after '?'),
 * percent- and '+'-decoded, into out. Returns 1 when found (and it fit in
 * cap with its NUL and held no NUL byte), 0 otherwise ("" in out).
 */
int web_query(const char *uri, const char *name, char *out, size_t cap);

/*
 * Whether url may be used as a link target: http, https or file scheme
 * only, so a reported "javascript:" URL never becomes a link.
 */
int web_url_safe(const char *url);

#endif
