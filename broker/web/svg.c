/* SPDX-License-Identifier: MIT */
/*
 * Badge and graph SVG; see svg.h.
 */
#include <stdlib.h>
#include <string.h>

#include "esc.h"
#include "match.h"
#include "svg.h"

#define BADGE_TEXT_MAX 64
#define NODE_W 210
#define NODE_H 46
#define COL_W 270
#define ROW_H 62
#define PAD 20
#define NODE_CHARS 28
/* Deeper hits share the last column; match bounds depth at 64 anyway. */
#define MAX_COLS 65

static const struct web_status statuses[] = {
	{"pass", "passing", "#4c1", "brightgreen"},
	{"fail", "failing", "#e05d44", "red"},
	{"error", "error", "#fe7d37", "orange"},
	{"", "unknown", "#9f9f9f", "lightgrey"},
};

const struct web_status *
web_status_of(const char *report)
{
	for (size_t i = 0; report != NULL && i < 3; i++)
		if (strcmp(report, statuses[i].report) == 0)
			return &statuses[i];
	return &statuses[3];
}

static unsigned
char_width(unsigned char c)
{
	if (c >= 0x80)
		return (c & 0xc0) == 0x80 ? 0 : 8; /* one per code point */
	if (strchr("ijl.,:;!|'` ", c) != NULL)
		return 4;
	if (strchr("frtI()[]{}/\\-", c) != NULL)
		return 5;
	if (strchr("mwMW@%", c) != NULL)
		return 11;
	if (c >= 'A' && c <= 'Z')
		return 8;
	return 7;
}

unsigned
web_text_width(const char *s)
{
	unsigned w = 0;

	for (; s != NULL && *s; s++)
		w += char_width((unsigned char)*s);
	return w;
}

/* Copy at most max code points of s into out, with "..." when cut; never
 * splits a UTF-8 sequence. */
static void
cut(const char *s, size_t max, char *out, size_t cap)
{
	size_t i = 0, cps = 0, o = 0;

	if (s == NULL)
		s = "";
	while (s[i] != '\0' && cps < max) {
		size_t len = 1;
		while (((unsigned char)s[i + len] & 0xc0) == 0x80)
			len++;
		if (o + len + 4 > cap)
			break;
		memcpy(out + o, s + i, len);
		o += len;
		i += len;
		cps++;
	}
	if (s[i] != '\0') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

void
web_badge_svg(struct wbuf *b, const char *label, const char *message,
    const char *hex)
{
	char l[BADGE_TEXT_MAX * 4 + 8], m[BADGE_TEXT_MAX * 4 + 8];
	unsigned lw, mw;

	cut(label, BADGE_TEXT_MAX, l, sizeof(l));
	cut(message, BADGE_TEXT_MAX, m, sizeof(m));
	lw = web_text_width(l) + 12;
	mw = web_text_width(m) + 12;
	wbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
	    "height=\"20\" role=\"img\" aria-label=\"", lw + mw);
	web_esc_html(b, l);
	wbuf_puts(b, ": ");
	web_esc_html(b, m);
	wbuf_puts(b, "\"><title>");
	web_esc_html(b, l);
	wbuf_puts(b, ": ");
	web_esc_html(b, m);
	wbuf_printf(b, "</title><linearGradient id=\"s\" x2=\"0\" y2=\"100%%\">"
	    "<stop offset=\"0\" stop-color=\"#bbb\" stop-opacity=\".1\"/>"
	    "<stop offset=\"1\" stop-opacity=\".1\"/></linearGradient>"
	    "<clipPath id=\"r\"><rect width=\"%u\" height=\"20\" rx=\"3\" "
	    "fill=\"#fff\"/></clipPath><g clip-path=\"url(#r)\">"
	    "<rect width=\"%u\" height=\"20\" fill=\"#555\"/>"
	    "<rect x=\"%u\" width=\"%u\" height=\"20\" fill=\"", lw + mw, lw,
	    lw, mw);
	web_esc_html(b, hex);
	wbuf_printf(b, "\"/><rect width=\"%u\" height=\"20\" fill=\"url(#s)\"/>"
	    "</g><g fill=\"#fff\" text-anchor=\"middle\" font-family=\"Verdana,"
	    "Geneva,DejaVu Sans,sans-serif\" font-size=\"11\">", lw + mw);
	wbuf_printf(b, "<text x=\"%u\" y=\"15\" fill=\"#010101\" "
	    "fill-opacity=\".3\">", lw / 2);
	web_esc_html(b, l);
	wbuf_printf(b, "</text><text x=\"%u\" y=\"14\">", lw / 2);
	web_esc_html(b, l);
	wbuf_printf(b, "</text><text x=\"%u\" y=\"15\" fill=\"#010101\" "
	    "fill-opacity=\".3\">", lw + mw / 2);
	web_esc_html(b, m);
	wbuf_printf(b, "</text><text x=\"%u\" y=\"14\">", lw + mw / 2);
	web_esc_html(b, m);
	wbuf_puts(b, "</text></g></svg>\n");
}

static const char *
level_colour(int level)
{
	static const char *const c[] = {"#b31d28", "#d15704", "#0366d6",
	    "#6a737d"};

	return level >= 0 && level <= 3 ? c[level] : c[3];
}

static const char *
level_name(int level)
{
	static const char *const n[] = {"core", "required", "not required",
	    "third party"};

	return level >= 0 && level <= 3 ? n[level] : "unknown";
}

/* One box with two lines of text and a <title>. */
static void
node(struct wbuf *b, unsigned x, unsigned y, const char *cls,
    const char *stroke, int dashed, const char *line1, const char *line2,
    const char *title)
{
	char l1[NODE_CHARS * 4 + 8], l2[NODE_CHARS * 4 + 8];

	cut(line1, NODE_CHARS, l1, sizeof(l1));
	cut(line2, NODE_CHARS + 4, l2, sizeof(l2));
	wbuf_printf(b, "<g class=\"%s\"><title>", cls);
	web_esc_html(b, title);
	wbuf_printf(b, "</title><rect x=\"%u\" y=\"%u\" width=\"%u\" "
	    "height=\"%u\" rx=\"6\" fill=\"%s\" stroke=\"%s\" "
	    "stroke-width=\"2\"%s/>", x, y, NODE_W, NODE_H,
	    dashed ? "#f3f3f3" : "#fff", stroke,
	    dashed ? " stroke-dasharray=\"5 3\"" : "");
	wbuf_printf(b, "<text x=\"%u\" y=\"%u\" font-weight=\"bold\">",
	    x + 10, y + 19);
	web_esc_html(b, l1);
	wbuf_puts(b, "</text>");
	if (line2 != NULL && line2[0] != '\0') {
		wbuf_printf(b, "<text x=\"%u\" y=\"%u\" font-size=\"11\" "
		    "fill=\"#555\">", x + 10, y + 36);
		web_esc_html(b, l2);
		wbuf_puts(b, "</text>");
	}
	wbuf_puts(b, "</g>\n");
}

void
web_graph_svg(struct wbuf *b, const char *repo, const struct match_hit *hits,
    size_t n)
{
	unsigned rows[MAX_COLS] = {0}, *row = NULL, max_rows = 1, cols = 1;
	unsigned w, h;

	if (n > 0 && (row = calloc(n, sizeof(*row))) == NULL) {
		b->bad = 1;
		return;
	}
	rows[0] = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = hits[i].depth < MAX_COLS ? hits[i].depth : MAX_COLS - 1;
		row[i] = rows[d]++;
		if (rows[d] > max_rows)
			max_rows = rows[d];
		if (d + 1 > cols)
			cols = d + 1;
	}
	w = 2 * PAD + (cols - 1) * COL_W + NODE_W;
	h = 2 * PAD + (max_rows - 1) * ROW_H + NODE_H;
	wbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" "
	    "height=\"%u\" viewBox=\"0 0 %u %u\" role=\"img\" font-family=\""
	    "DejaVu Sans,Verdana,sans-serif\" font-size=\"13\"><title>"
	    "downstream of ", w, h, w, h);
	web_esc_html(b, repo);
	wbuf_puts(b, "</title>\n");
	/* Edges first, so boxes cover their ends. */
	for (size_t i = 0; i < n; i++) {
		long p = hits[i].parent;
		unsigned d = hits[i].depth < MAX_COLS ? hits[i].depth : MAX_COLS - 1;
		unsigned pd = 0, pr = 0, x1, y1, x2, y2;
		if (p >= 0 && (size_t)p < n) {
			pd = hits[p].depth < MAX_COLS ? hits[p].depth : MAX_COLS - 1;
			pr = row[p];
		}
		x1 = PAD + pd * COL_W + NODE_W;
		y1 = PAD + pr * ROW_H + NODE_H / 2;
		x2 = PAD + d * COL_W;
		y2 = PAD + row[i] * ROW_H + NODE_H / 2;
		wbuf_printf(b, "<path class=\"edge\" d=\"M%u %u C%u %u %u %u %u %u\" "
		    "fill=\"none\" stroke=\"#999\" stroke-width=\"1.5\"/>\n",
		    x1, y1, (x1 + x2) / 2, y1, (x1 + x2) / 2, y2, x2, y2);
	}
	node(b, PAD, PAD, "repo", "#24292e", 0, repo, "changed repo", repo);
	for (size_t i = 0; i < n; i++) {
		const struct match_hit *hit = &hits[i];
		unsigned d = hit->depth < MAX_COLS ? hit->depth : MAX_COLS - 1;
		struct wbuf l2 = {.max = 4096}, t = {.max = 4096};
		wbuf_printf(&l2, "level %d%s%s", hit->support_level,
		    hit->provides ? " \xc2\xb7 " : "",
		    hit->provides ? hit->provides : "");
		wbuf_printf(&t, "%s (level %d, %s%s%s%s)", hit->name,
		    hit->support_level, level_name(hit->support_level),
		    hit->provides ? ", provides " : "",
		    hit->provides ? hit->provides : "",
		    hit->disabled ? ", disabled" : "");
		node(b, PAD + d * COL_W, PAD + row[i] * ROW_H,
		    hit->disabled ? "listener disabled" : "listener",
		    level_colour(hit->support_level), hit->disabled, hit->name,
		    l2.bad ? "" : l2.p, t.bad ? hit->name : t.p);
		wbuf_free(&l2);
		wbuf_free(&t);
	}
	wbuf_puts(b, "</svg>\n");
	free(row);
}
