/* SPDX-License-Identifier: MIT */
/*
 * The admin web renderers: the capped buffer, HTML/XML and JSON escaping,
 * query parameters, link schemes, the status badge and the downstream
 * graph SVG (broker/web/esc.c, broker/web/svg.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "web/esc.h"
#include "web/svg.h"

static char *
html(const char *s)
{
	struct wbuf b = {0};

	web_esc_html(&b, s);
	cr_assert(!b.bad);
	return b.p ? b.p : strdup("");
}

static char *
json(const char *s)
{
	struct wbuf b = {0};

	web_esc_json(&b, s);
	cr_assert(!b.bad);
	return b.p;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

Test(web, html_escapes_markup_and_quotes)
{
	char *s = html("github.com/x/<script>alert('1')</script>&\"q\"");

	cr_assert_str_eq(s, "github.com/x/&lt;script&gt;alert(&#39;1&#39;)"
	    "&lt;/script&gt;&amp;&quot;q&quot;");
	free(s);
	s = html("plain text, ünïcode stays");
	cr_assert_str_eq(s, "plain text, ünïcode stays");
	free(s);
	s = html("bell\a esc\x1b tab\tnl\n");
	cr_assert_str_eq(s, "bell esc tab\tnl\n", "control bytes are dropped");
	free(s);
	s = html("");
	cr_assert_str_eq(s, "");
	free(s);
	s = html(NULL);
	cr_assert_str_eq(s, "");
	free(s);
}

Test(web, json_escapes_quotes_controls_markup_and_bad_utf8)
{
	char *s = json("a\"b\\c\nd\x01</script>&");

	cr_assert_str_eq(s, "\"a\\\"b\\\\c\\nd\\u0001\\u003c/script\\u003e"
	    "\\u0026\"");
	free(s);
	s = json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	cr_assert_str_eq(s, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	free(s);
	/* a lone continuation byte, an overlong '/', a surrogate, a cut
	 * sequence at the end */
	s = json("x\x80y\xc0\xafz\xed\xa0\x80w\xe2\x82");
	cr_assert_str_eq(s, "\"x\\ufffdy\\ufffd\\ufffdz\\ufffd\\ufffd\\ufffdw"
	    "\\ufffd\\ufffd\"");
	free(s);
	s = json(NULL);
	cr_assert_str_eq(s, "null");
	free(s);
}

Test(web, wbuf_is_capped)
{
	struct wbuf b = {.max = 16};

	wbuf_puts(&b, "0123456789");
	cr_assert(!b.bad);
	wbuf_printf(&b, "%s", "abcdefghij");
	cr_assert(b.bad, "past the cap");
	cr_assert_str_eq(b.p, "0123456789", "nothing partial was appended");
	wbuf_puts(&b, "x");
	cr_assert_eq(b.n, 10);
	wbuf_free(&b);
	wbuf_free(&b);
}

Test(web, query_parameters)
{
	char v[64];

	cr_assert(web_query("/matrix?repo=github.com%2Fx%2F%3Cscript%3E&n=1",
	    "repo", v, sizeof(v)));
	cr_assert_str_eq(v, "github.com/x/<script>");
	cr_assert(web_query("/x?a=1&limit=20", "limit", v, sizeof(v)));
	cr_assert_str_eq(v, "20");
	cr_assert(web_query("/x?q=a+b%20c", "q", v, sizeof(v)));
	cr_assert_str_eq(v, "a b c");
	cr_assert(web_query("/x?flag&y=2", "flag", v, sizeof(v)));
	cr_assert_str_eq(v, "");
	cr_assert(web_query("/x?bad=%zz%4", "bad", v, sizeof(v)));
	cr_assert_str_eq(v, "%zz%4", "malformed escapes stay as they are");
	cr_assert_not(web_query("/x?repository=1", "repo", v, sizeof(v)));
	cr_assert_not(web_query("/x", "repo", v, sizeof(v)));
	cr_assert_not(web_query("/x?nul=a%00b", "nul", v, sizeof(v)));
	cr_assert_not(web_query("/x?long=0123456789", "long", v, 8));
	cr_assert_str_eq(v, "");
	cr_assert(web_query("/x?a=1#frag", "a", v, sizeof(v)));
	cr_assert_str_eq(v, "1");
}

Test(web, only_safe_link_schemes)
{
	cr_assert(web_url_safe("https://ci.example/1"));
	cr_assert(web_url_safe("HTTP://ci.example/1"));
	cr_assert(web_url_safe("file:///tmp/ci.log"));
	cr_assert_not(web_url_safe("javascript:alert(1)"));
	cr_assert_not(web_url_safe(" javascript:alert(1)"));
	cr_assert_not(web_url_safe("data:text/html,<b>"));
	cr_assert_not(web_url_safe(""));
	cr_assert_not(web_url_safe(NULL));
}

Test(web, status_table)
{
	cr_assert_str_eq(web_status_of("pass")->message, "passing");
	cr_assert_str_eq(web_status_of("pass")->shields, "brightgreen");
	cr_assert_str_eq(web_status_of("fail")->message, "failing");
	cr_assert_str_eq(web_status_of("fail")->shields, "red");
	cr_assert_str_eq(web_status_of("error")->message, "error");
	cr_assert_str_eq(web_status_of("")->message, "unknown");
	cr_assert_str_eq(web_status_of("bogus")->message, "unknown");
	cr_assert_str_eq(web_status_of(NULL)->shields, "lightgrey");
}

Test(web, badge_svg)
{
	struct wbuf b = {0};
	const struct web_status *st = web_status_of("pass");
	unsigned w;

	web_badge_svg(&b, "core@main", st->message, st->hex);
	cr_assert(!b.bad);
	cr_assert(strncmp(b.p, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0, "%s", b.p);
	cr_assert(strstr(b.p, "aria-label=\"core@main: passing\"") != NULL, "%s", b.p);
	cr_assert(strstr(b.p, "<title>core@main: passing</title>") != NULL);
	cr_assert(strstr(b.p, "fill=\"#4c1\"") != NULL);
	cr_assert_eq(count(b.p, ">core@main</text>"), 2, "text and its shadow");
	cr_assert_eq(count(b.p, ">passing</text>"), 2);
	/* the total width is the two halves: label, then message */
	cr_assert_eq(sscanf(strstr(b.p, "width=\""), "width=\"%u\"", &w), 1);
	cr_assert_eq(w, web_text_width("core@main") + 12 +
	    web_text_width("passing") + 12);
	cr_assert(strstr(b.p, "</svg>") != NULL);
	wbuf_free(&b);

	/* escaped, and cut to 64 characters */
	web_badge_svg(&b, "<script>alert(1)</script>", "x\"y", "#9f9f9f");
	cr_assert(strstr(b.p, "<script") == NULL, "%s", b.p);
	cr_assert(strstr(b.p, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
	cr_assert(strstr(b.p, "x&quot;y") != NULL);
	wbuf_free(&b);
	{
		char longl[200];
		memset(longl, 'a', sizeof(longl) - 1);
		longl[sizeof(longl) - 1] = '\0';
		web_badge_svg(&b, longl, "ok", "#4c1");
		cr_assert(strstr(b.p, "aaa...</text>") != NULL);
		cr_assert(strstr(b.p, longl) == NULL);
		wbuf_free(&b);
	}
	/* a cut never splits a UTF-8 sequence */
	{
		char s[300] = "";
		for (int i = 0; i < 80; i++)
			strcat(s, "\xc3\xa9");
		web_badge_svg(&b, s, "ok", "#4c1");
		cr_assert(strstr(b.p, "\xc3\xa9...") != NULL);
		wbuf_free(&b);
	}
}

static struct match_hit
hit(const char *name, const char *provides, unsigned depth, int level,
    long parent, int disabled)
{
	struct match_hit h = {0};

	h.name = (char *)name;
	h.provides = (char *)provides;
	h.depth = depth;
	h.support_level = level;
	h.parent = parent;
	h.disabled = disabled;
	return h;
}

Test(web, graph_svg_layers_by_depth)
{
	struct match_hit hits[4];
	struct wbuf b = {0};
	const char *p;
	unsigned x, y;

	hits[0] = hit("b", "github.com/example/b", 1, 1, -1, 0);
	hits[1] = hit("d", NULL, 1, 3, -1, 1);
	hits[2] = hit("c", "github.com/example/c", 2, 2, 0, 0);
	hits[3] = hit("e", NULL, 3, 0, 2, 0);
	web_graph_svg(&b, "github.com/example/core", hits, 4);
	cr_assert(!b.bad);
	cr_assert(strncmp(b.p, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
	cr_assert_eq(count(b.p, "<path class=\"edge\""), 4, "one edge per hit");
	cr_assert_eq(count(b.p, "<g class=\"listener"), 4);
	cr_assert_eq(count(b.p, "<g class=\"repo\""), 1);
	cr_assert_eq(count(b.p, "<g class=\"listener disabled\""), 1);
	cr_assert(strstr(b.p, "stroke-dasharray") != NULL, "disabled is dashed");
	cr_assert(strstr(b.p, "<title>c (level 2, not required, provides "
	    "github.com/example/c)</title>") != NULL, "%s", b.p);
	/* 4 columns (repo + depths 1..3): 20 + 3*270 + 210 + 20; 2 rows:
	 * 20 + 62 + 46 + 20 */
	cr_assert(strstr(b.p, "width=\"1060\" height=\"148\"") != NULL, "%s", b.p);
	/* c (depth 2) sits in the third column, e in the fourth */
	p = strstr(b.p, "<title>c (");
	cr_assert_not_null(p);
	cr_assert_eq(sscanf(strstr(p, "<rect"), "<rect x=\"%u\" y=\"%u\"", &x, &y), 2);
	cr_assert_eq(x, 20 + 2 * 270);
	cr_assert_eq(y, 20);
	p = strstr(b.p, "<title>d (");
	cr_assert_eq(sscanf(strstr(p, "<rect"), "<rect x=\"%u\" y=\"%u\"", &x, &y), 2);
	cr_assert_eq(x, 20 + 270);
	cr_assert_eq(y, 20 + 62, "second in its column");
	/* the edge to c starts at b's right side and ends at c's left */
	cr_assert(strstr(b.p, "d=\"M500 43 C") != NULL, "%s", b.p);
	cr_assert(strstr(b.p, " 560 43\"") != NULL);
	cr_assert(strstr(b.p, "</svg>") != NULL);
	wbuf_free(&b);
}

Test(web, graph_svg_escapes_and_handles_no_hits)
{
	struct match_hit h = hit("x", "github.com/a/<img src=x onerror=alert(1)>",
	    1, 2, -1, 0);
	struct wbuf b = {0};

	web_graph_svg(&b, "github.com/x/<script>alert(1)</script>", &h, 1);
	cr_assert(!b.bad);
	cr_assert(strstr(b.p, "<script") == NULL, "%s", b.p);
	cr_assert(strstr(b.p, "<img") == NULL);
	cr_assert(strstr(b.p, "&lt;script&gt;") != NULL);
	wbuf_free(&b);

	web_graph_svg(&b, "github.com/lonely/repo", NULL, 0);
	cr_assert(!b.bad);
	cr_assert_eq(count(b.p, "<path"), 0);
	cr_assert(strstr(b.p, ">github.com/lonely/repo</text>") != NULL, "%s", b.p);
	wbuf_free(&b);
}
