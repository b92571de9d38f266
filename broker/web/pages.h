/* SPDX-License-Identifier: MIT */
/*
 * The admin listener's web pages and their JSON: the status page and its
 * assets, /api/events, /api/listeners, the compatibility matrix
 * (/matrix, /api/matrix), the downstream graph (/graph SVG, /api/graph)
 * and status badges (/badge/NAME.svg|.json). Each page reads the store in
 * one short read transaction and renders into a web_reply; admin.c owns
 * the HTTP side. Read-only: nothing here changes state, and no callback
 * config, token or payload is ever rendered.
 */
#ifndef DOMINO_WEB_PAGES_H
#define DOMINO_WEB_PAGES_H

#include "esc.h"

struct admin_env;

/* What a page answers; body is freed by the caller (wbuf_free). */
struct web_reply {
	unsigned status;
	const char *type;       /* Content-Type */
	const char *cache;      /* Cache-Control */
	const char *csp;        /* Content-Security-Policy */
	const char *text;       /* a static body instead of body, or NULL */
	struct wbuf body;
};

/* A page: path is the request path, uri the whole request target. */
typedef void (*web_page_fn)(const struct admin_env *env, const char *path,
    const char *uri, struct web_reply *r);

struct web_route {
	const char *path;
	int tree;          /* also serves everything under path */
	web_page_fn fn;
};

/* Every route the pages serve, ended by {NULL}. */
extern const struct web_route web_routes[];

#endif
