/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for proto/topic.c: PUB framing (header write and split),
 * heartbeats, batches of events, and subscription filters (parse, nng prefix, full match)
 * for an org prefix, one repo, repo@ref and globs.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "err.h"
#include "topic.h"

Test(topic, header_write_split)
{
	const char *repo = "github.com/org/core", *ref = "refs/heads/main";
	const char body[] = {(char)0x81, (char)0xa1, 'a', 0x01};
	char msg[128];
	size_t hl = topic_header_len(repo, strlen(repo), ref, strlen(ref));
	const char *r, *f;
	const void *b;
	size_t bl;
	int hb = -1;

	cr_assert_eq(hl, strlen(repo) + strlen(ref) + 2);
	topic_header_write(msg, repo, strlen(repo), ref, strlen(ref));
	cr_assert_eq(msg[strlen(repo)], '\0');
	cr_assert_eq(msg[hl - 1], '\0');
	memcpy(msg + hl, body, sizeof(body));
	cr_assert_eq(topic_split(msg, hl + sizeof(body), &hb, &r, &f, &b, &bl),
	    DOMINO_OK);
	cr_assert_eq(hb, 0);
	cr_assert_str_eq(r, repo);
	cr_assert_str_eq(f, ref);
	cr_assert_eq(bl, sizeof(body));
	cr_assert_eq(memcmp(b, body, bl), 0);
	cr_assert_eq(b, msg + hl);
}

Test(topic, empty_ref_and_empty_body)
{
	char msg[64];
	size_t hl = topic_header_len("h/o/r", 5, "", 0);
	const char *r, *f;
	const void *b;
	size_t bl;
	int hb;

	topic_header_write(msg, "h/o/r", 5, "", 0);
	cr_assert_eq(hl, 7);
	cr_assert_eq(topic_split(msg, hl, &hb, &r, &f, &b, &bl), DOMINO_OK);
	cr_assert_str_eq(r, "h/o/r");
	cr_assert_str_eq(f, "");
	cr_assert_eq(bl, 0);
}

Test(topic, split_rejects_bad_framing)
{
	const char *r, *f;
	const void *b;
	size_t bl;
	int hb;

	cr_assert_eq(topic_split("", 0, &hb, &r, &f, &b, &bl), DOMINO_EPROTO);
	cr_assert_eq(topic_split("repo", 4, &hb, &r, &f, &b, &bl),
	    DOMINO_EPROTO);
	cr_assert_eq(topic_split("repo\0ref", 8, &hb, &r, &f, &b, &bl),
	    DOMINO_EPROTO);
	/* Only one NUL right at the end. */
	cr_assert_eq(topic_split("repo\0", 5, &hb, &r, &f, &b, &bl),
	    DOMINO_EPROTO);
}

Test(topic, heartbeat_round_trip)
{
	char buf[64];
	size_t n = topic_heartbeat(buf, sizeof(buf), 123456789012ull, -1);
	const char *r, *f;
	const void *b;
	size_t bl;
	int hb = 0;
	uint64_t seq = 0;

	cr_assert_gt(n, 1);
	cr_assert_leq(n, 32, "a heartbeat fits the documented 32 bytes");
	cr_assert_eq(buf[0], '\0');
	cr_assert_eq(topic_split(buf, n, &hb, &r, &f, &b, &bl), DOMINO_OK);
	cr_assert_eq(hb, 1);
	cr_assert_str_eq(r, "");
	cr_assert_eq(topic_heartbeat_parse(b, bl, &seq), DOMINO_OK);
	cr_assert_eq(seq, 123456789012ull);

	n = topic_heartbeat(buf, sizeof(buf), UINT64_MAX, INT64_MAX);
	cr_assert_leq(n, 32);
	cr_assert_eq(topic_heartbeat_parse(buf + 1, n - 1, &seq), DOMINO_OK);
	cr_assert_eq(seq, UINT64_MAX);

	/* Too small a buffer: nothing written. */
	cr_assert_eq(topic_heartbeat(buf, 4, 1, 1), 0);
}

Test(topic, heartbeat_parse_rejects)
{
	static const unsigned char no_seq[] = {0x81, 0xa4, 't', 'i', 'm', 'e',
		0x01};
	static const unsigned char neg_seq[] = {0x81, 0xa3, 's', 'e', 'q',
		0xff};
	static const unsigned char arr[] = {0x91, 0x01};
	static const unsigned char bomb[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
	uint64_t seq;

	cr_assert_eq(topic_heartbeat_parse(no_seq, sizeof(no_seq), &seq),
	    DOMINO_EPROTO);
	cr_assert_eq(topic_heartbeat_parse(neg_seq, sizeof(neg_seq), &seq),
	    DOMINO_EPROTO);
	cr_assert_eq(topic_heartbeat_parse(arr, sizeof(arr), &seq),
	    DOMINO_EPROTO);
	cr_assert_eq(topic_heartbeat_parse(bomb, sizeof(bomb), &seq),
	    DOMINO_EPROTO);
	cr_assert_eq(topic_heartbeat_parse("", 0, &seq), DOMINO_EPROTO);
}

/* The nng prefix of a filter text, as a printable string (NUL -> '|'). */
static const char *
prefix_of(const char *text)
{
	static char out[256];
	struct topic_filter f;
	size_t n;

	cr_assert_eq(topic_filter_parse(text, &f), DOMINO_OK, "%s", text);
	n = topic_filter_prefix(&f, out, sizeof(out) - 1);
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = '|';
	out[n] = '\0';
	topic_filter_clear(&f);
	return out;
}

static int
match(const char *text, const char *repo, const char *ref)
{
	struct topic_filter f;
	int m;

	cr_assert_eq(topic_filter_parse(text, &f), DOMINO_OK, "%s", text);
	m = topic_filter_match(&f, repo, ref);
	topic_filter_clear(&f);
	return m;
}

Test(topic, filter_parse)
{
	struct topic_filter f;
	char longer[2000];

	cr_assert_eq(topic_filter_parse("", &f), DOMINO_OK);
	cr_assert_null(f.repo);
	cr_assert_null(f.ref);
	topic_filter_clear(&f);
	cr_assert_eq(topic_filter_parse(NULL, &f), DOMINO_OK);
	topic_filter_clear(&f);

	cr_assert_eq(topic_filter_parse("github.com/org/core@refs/heads/main",
	    &f), DOMINO_OK);
	cr_assert_str_eq(f.repo, "github.com/org/core");
	cr_assert_str_eq(f.ref, "refs/heads/main");
	topic_filter_clear(&f);
	cr_assert_null(f.repo);

	/* A trailing '@' means any ref. */
	cr_assert_eq(topic_filter_parse("github.com/org/core@", &f), DOMINO_OK);
	cr_assert_str_eq(f.repo, "github.com/org/core");
	cr_assert_null(f.ref);
	topic_filter_clear(&f);

	cr_assert_eq(topic_filter_parse("@refs/heads/main", &f), DOMINO_EINVAL);
	cr_assert_eq(topic_filter_parse("@", &f), DOMINO_EINVAL);
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	cr_assert_eq(topic_filter_parse(longer, &f), DOMINO_EINVAL);
}

Test(topic, filter_org_prefix)
{
	cr_assert_str_eq(prefix_of("github.com/org/"), "github.com/org/");
	cr_assert(match("github.com/org/", "github.com/org/core", "refs/x"));
	cr_assert(match("github.com/org/", "github.com/org/sub/deep", ""));
	cr_assert_not(match("github.com/org/", "github.com/org2/core", ""));
	cr_assert_not(match("github.com/org/", "github.com/or", ""));
	cr_assert_not(match("github.com/org/", "gitlab.com/org/core", ""));
}

Test(topic, filter_exact_repo)
{
	cr_assert_str_eq(prefix_of("github.com/org/core"),
	    "github.com/org/core|");
	cr_assert(match("github.com/org/core", "github.com/org/core",
	    "refs/heads/main"));
	cr_assert(match("github.com/org/core", "github.com/org/core", NULL));
	cr_assert_not(match("github.com/org/core", "github.com/org/core2",
	    "refs/heads/main"));
	cr_assert_not(match("github.com/org/core", "github.com/org/cor", ""));
}

Test(topic, filter_repo_at_ref)
{
	cr_assert_str_eq(prefix_of("github.com/org/core@refs/heads/main"),
	    "github.com/org/core|refs/heads/main|");
	cr_assert(match("github.com/org/core@refs/heads/main",
	    "github.com/org/core", "refs/heads/main"));
	cr_assert_not(match("github.com/org/core@refs/heads/main",
	    "github.com/org/core", "refs/heads/main2"));
	cr_assert_not(match("github.com/org/core@refs/heads/main",
	    "github.com/org/core", "refs/heads/dev"));
	cr_assert_not(match("github.com/org/core@refs/heads/main",
	    "github.com/org/core", NULL));
	cr_assert_not(match("github.com/org/core@refs/heads/main",
	    "github.com/org/other", "refs/heads/main"));
}

Test(topic, filter_globs)
{
	/* The prefix stops at the first glob character. */
	cr_assert_str_eq(prefix_of("github.com/*/core"), "github.com/");
	cr_assert_str_eq(prefix_of("github.com/org/core@refs/tags/*"),
	    "github.com/org/core|refs/tags/");
	cr_assert_str_eq(prefix_of("github.com/org/c?re"), "github.com/org/c");
	cr_assert_str_eq(prefix_of("github.com/org/[ab]x"), "github.com/org/");
	cr_assert_str_eq(prefix_of("*"), "");

	cr_assert(match("github.com/*/core", "github.com/org/core", ""));
	cr_assert(match("github.com/*/core", "github.com/a/b/core", ""));
	cr_assert_not(match("github.com/*/core", "github.com/org/core2", ""));
	cr_assert(match("github.com/org/core@refs/tags/*",
	    "github.com/org/core", "refs/tags/v1.0"));
	cr_assert_not(match("github.com/org/core@refs/tags/*",
	    "github.com/org/core", "refs/heads/main"));
	cr_assert(match("github.com/org/*@refs/heads/release-*",
	    "github.com/org/x", "refs/heads/release-2"));
	cr_assert(match("github.com/org/[ab]x", "github.com/org/bx", ""));
	cr_assert_not(match("github.com/org/[ab]x", "github.com/org/cx", ""));
	cr_assert(match("github.com/org/c?re", "github.com/org/core", ""));
}

Test(topic, filter_empty_matches_all)
{
	cr_assert_str_eq(prefix_of(""), "");
	cr_assert(match("", "anything/at/all", "refs/x"));
	cr_assert(match("", "a", NULL));
}

Test(topic, filter_prefix_respects_cap)
{
	struct topic_filter f;
	char buf[8];
	size_t n;

	cr_assert_eq(topic_filter_parse("github.com/org/core@refs/heads/main",
	    &f), DOMINO_OK);
	n = topic_filter_prefix(&f, buf, sizeof(buf));
	cr_assert_leq(n, sizeof(buf));
	cr_assert_eq(memcmp(buf, "github.c", n), 0);
	topic_filter_clear(&f);
}

struct seen_events {
	const void *ev[8];
	size_t len[8], n, stop_after;
};

static int
collect(void *arg, const void *ev, size_t len)
{
	struct seen_events *s = arg;

	cr_assert_lt(s->n, 8);
	s->ev[s->n] = ev;
	s->len[s->n++] = len;
	return s->stop_after != 0 && s->n == s->stop_after;
}

Test(topic, one_event_or_a_batch)
{
	/* {a: 1}, {b: "xy"}, {c: [1, 2]} */
	const char e1[] = {(char)0x81, (char)0xa1, 'a', 0x01};
	const char e2[] = {(char)0x81, (char)0xa1, 'b', (char)0xa2, 'x', 'y'};
	const char e3[] = {(char)0x81, (char)0xa1, 'c', (char)0x92, 1, 2};
	char body[64];
	size_t n = topic_batch_header(body, 3);
	struct seen_events s = {0};

	cr_assert_eq(n, TOPIC_BATCH_HEADER);
	memcpy(body + n, e1, sizeof(e1));
	n += sizeof(e1);
	memcpy(body + n, e2, sizeof(e2));
	n += sizeof(e2);
	memcpy(body + n, e3, sizeof(e3));
	n += sizeof(e3);

	cr_assert_eq(topic_events(body, n, collect, &s), DOMINO_OK);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.len[0], sizeof(e1));
	cr_assert_arr_eq(s.ev[1], e2, sizeof(e2));
	cr_assert_arr_eq(s.ev[2], e3, sizeof(e3));

	/* A single event is itself. */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(topic_events(e2, sizeof(e2), collect, &s), DOMINO_OK);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.ev[0], (const void *)e2);
	cr_assert_eq(s.len[0], sizeof(e2));

	/* The callback stops the walk. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	cr_assert_eq(topic_events(body, n, collect, &s), DOMINO_OK);
	cr_assert_eq(s.n, 2);

	/* A batch cut short, or claiming more events than it has, or none,
	 * is refused before any event is handed out. */
	for (size_t cut = 1; cut < n; cut++) {
		memset(&s, 0, sizeof(s));
		cr_assert_eq(topic_events(body, cut, collect, &s), DOMINO_EPROTO,
		    "cut at %zu", cut);
		cr_assert_eq(s.n, 0);
	}
	topic_batch_header(body, 4);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(topic_events(body, n, collect, &s), DOMINO_EPROTO);
	cr_assert_eq(s.n, 0);
	topic_batch_header(body, 0);
	cr_assert_eq(topic_events(body, TOPIC_BATCH_HEADER, collect, &s),
	    DOMINO_EPROTO);
	cr_assert_eq(topic_events(body, 0, collect, &s), DOMINO_EPROTO);
	/* A fixarray is a batch too. */
	{
		char fa[1 + sizeof(e1)] = {(char)0x91};
		memcpy(fa + 1, e1, sizeof(e1));
		memset(&s, 0, sizeof(s));
		cr_assert_eq(topic_events(fa, sizeof(fa), collect, &s), DOMINO_OK);
		cr_assert_eq(s.n, 1);
		cr_assert_eq(s.ev[0], (const void *)(fa + 1));
	}
}
