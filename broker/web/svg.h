/* SPDX-License-Identifier: MIT */
/*
 * SVG renderers of the admin web pages: the shields-style flat status
 * badge and the layered downstream graph of a repo (the `impact` walk).
 * They take plain data and append to a wbuf, escaping every string; they
 * do not read the store (pages.c does) and need no font or Graphviz: text
 * widths are estimated from a Verdana-like table.
 */
#ifndef DOMINO_WEB_SVG_H
#define DOMINO_WEB_SVG_H

#include <stddef.h>

struct wbuf;
struct match_hit;

/* A reported status as a badge shows it. */
struct web_status {
	const char *report;  /* "pass", "fail", "error" or "" for none */
	const char *message; /* "passing", "failing", "error", "unknown" */
	const char *hex;     /* badge colour, "#4c1" ... */
	const char *shields; /* shields.io colour name */
};

/* The entry for a report status; anything unknown maps to "unknown". */
const struct web_status *web_status_of(const char *report);

/* Estimated width in pixels of s in 11 px Verdana (for layout only). */
unsigned web_text_width(const char *s);

/*
 * A flat badge "label | message" with the message on colour hex (which
 * must be a "#rgb"/"#rrggbb" constant, not outside input). label and
 * message are escaped and cut to 64 characters.
 */
void web_badge_svg(struct wbuf *b, const char *label, const char *message,
    const char *hex);

/*
 * The downstream graph of repo: the repo node at the left, each hit in the
 * column of its depth, in the order given (breadth first, as match_run
 * returns them), an edge from its parent (or the repo when parent is -1)
 * to it. Boxes are coloured by support level; disabled ones are dashed.
 * Every node has a <title> with its full text.
 */
void web_graph_svg(struct wbuf *b, const char *repo,
    const struct match_hit *hits, size_t n);

#endif
