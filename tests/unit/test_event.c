/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for proto/event.c: encode/decode round trips, the fixed seq
 * slot, peek, and rejects (wrong types, truncation, garbage). Decoding
 * must accept any key order and skip unknown keys.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"

static void
fill(struct domino_event *ev)
{
	static const uint8_t body[] = {'{', '}', 0, 0xff, '\n'};

	domino_event_init(ev);
	ev->seq = 0x0102030405060708ull;
	ev->time = 1700000000123456789;
	cr_assert_eq(domino_event_set(&ev->id, "72d3162e-cc78", (size_t)-1), 0);
	cr_assert_eq(domino_event_set(&ev->source, "github", (size_t)-1), 0);
	cr_assert_eq(domino_event_set(&ev->event, "push", (size_t)-1), 0);
	cr_assert_eq(domino_event_set(&ev->type, "push", (size_t)-1), 0);
	cr_assert_eq(domino_event_set(&ev->repo, "github.com/org/core",
	    (size_t)-1), 0);
	cr_assert_eq(domino_event_set(&ev->ref, "refs/heads/main", (size_t)-1),
	    0);
	cr_assert_eq(domino_event_set(&ev->before, "a1b2c3", (size_t)-1), 0);
	cr_assert_eq(domino_event_set(&ev->after, "d4e5f6", (size_t)-1), 0);
	cr_assert_eq(domino_event_set(&ev->actor, "octocat", (size_t)-1), 0);
	cr_assert_eq(domino_event_set(&ev->url,
	    "https://github.com/org/core/compare/a1b2c3...d4e5f6", (size_t)-1),
	    0);
	cr_assert_eq(domino_event_add_depends_on(ev, "github.com/org/lib#12"),
	    0);
	cr_assert_eq(domino_event_add_depends_on(ev, "gitlab.com/g/x!3"), 0);
	cr_assert_eq(domino_event_add_via(ev, "github.com/org/mid"), 0);
	cr_assert_eq(domino_event_add_via(ev, "github.com/org/top"), 0);
	cr_assert_eq(domino_event_add_header(ev, "X-GitHub-Event", "push"), 0);
	cr_assert_eq(domino_event_add_header(ev, "X-GitHub-Delivery",
	    "72d3162e-cc78"), 0);
	ev->payload = malloc(sizeof(body));
	memcpy(ev->payload, body, sizeof(body));
	ev->payload_len = sizeof(body);
}

static void
assert_same_str(const char *a, const char *b, const char *what)
{
	if (a == NULL || b == NULL)
		cr_assert(a == b, "%s: %s vs %s", what, a ? a : "NULL",
		    b ? b : "NULL");
	else
		cr_assert_str_eq(a, b, "%s", what);
}

static void
assert_same(const struct domino_event *a, const struct domino_event *b)
{
	cr_assert_eq(a->seq, b->seq);
	cr_assert_eq(a->time, b->time);
	assert_same_str(a->id, b->id, "id");
	assert_same_str(a->source, b->source, "source");
	assert_same_str(a->event, b->event, "event");
	assert_same_str(a->type, b->type, "type");
	assert_same_str(a->repo, b->repo, "repo");
	assert_same_str(a->ref, b->ref, "ref");
	assert_same_str(a->before, b->before, "before");
	assert_same_str(a->after, b->after, "after");
	assert_same_str(a->actor, b->actor, "actor");
	assert_same_str(a->url, b->url, "url");
	cr_assert_eq(a->n_depends_on, b->n_depends_on);
	for (size_t i = 0; i < a->n_depends_on; i++)
		cr_assert_str_eq(a->depends_on[i], b->depends_on[i]);
	cr_assert_eq(a->n_via, b->n_via);
	for (size_t i = 0; i < a->n_via; i++)
		cr_assert_str_eq(a->via[i], b->via[i]);
	cr_assert_eq(a->n_headers, b->n_headers);
	for (size_t i = 0; i < a->n_headers; i++) {
		cr_assert_str_eq(a->headers[i].name, b->headers[i].name);
		cr_assert_str_eq(a->headers[i].value, b->headers[i].value);
	}
	cr_assert_eq(a->payload_len, b->payload_len);
	if (a->payload_len > 0)
		cr_assert_eq(memcmp(a->payload, b->payload, a->payload_len), 0);
	cr_assert_eq(a->payload == NULL, b->payload == NULL);
}

Test(event, round_trip_full)
{
	struct domino_event a, b;
	char *buf = NULL;
	size_t len = 0;

	fill(&a);
	cr_assert_eq(domino_event_encode(&a, &buf, &len), DOMINO_OK);
	cr_assert_not_null(buf);
	cr_assert_gt(len, 100, "encoded length %zu", len);
	cr_assert_eq(domino_event_decode(buf, len, &b), DOMINO_OK);
	assert_same(&a, &b);
	cr_assert_str_eq(domino_event_header(&b, "x-github-event"), "push");
	cr_assert_null(domino_event_header(&b, "X-Missing"));
	free(buf);
	domino_event_clear(&a);
	domino_event_clear(&b);
}

Test(event, round_trip_minimal)
{
	struct domino_event a, b;
	char *buf = NULL;
	size_t len = 0;

	domino_event_init(&a);
	cr_assert_eq(domino_event_encode(&a, &buf, &len), DOMINO_OK);
	cr_assert_gt(len, DOMINO_EVENT_SEQ_OFFSET + 8);
	cr_assert_eq(domino_event_decode(buf, len, &b), DOMINO_OK);
	assert_same(&a, &b);
	free(buf);
	domino_event_clear(&b);

	/* A negative time and an empty payload survive too. */
	domino_event_init(&a);
	a.time = -5;
	a.payload = malloc(1);
	a.payload_len = 0;
	cr_assert_eq(domino_event_encode(&a, &buf, &len), DOMINO_OK);
	cr_assert_eq(domino_event_decode(buf, len, &b), DOMINO_OK);
	cr_assert_eq(b.time, -5);
	cr_assert_not_null(b.payload);
	cr_assert_eq(b.payload_len, 0);
	free(buf);
	domino_event_clear(&a);
	domino_event_clear(&b);
}

Test(event, seq_slot_and_patch)
{
	struct domino_event a, b;
	char *buf = NULL;
	size_t len = 0;

	fill(&a);
	a.seq = 0;
	cr_assert_eq(domino_event_encode(&a, &buf, &len), DOMINO_OK);
	/* map16, "seq", then 0xcf and 8 big-endian bytes. */
	cr_assert_eq((uint8_t)buf[0], 0xde);
	cr_assert_eq(memcmp(buf + 3, "\xa3seq", 4), 0);
	cr_assert_eq((uint8_t)buf[DOMINO_EVENT_SEQ_OFFSET - 1], 0xcf);
	domino_event_patch_seq(buf, len, 0xfedcba9876543210ull);
	cr_assert_eq((uint8_t)buf[DOMINO_EVENT_SEQ_OFFSET], 0xfe);
	cr_assert_eq(domino_event_decode(buf, len, &b), DOMINO_OK);
	cr_assert_eq(b.seq, 0xfedcba9876543210ull);
	a.seq = b.seq;
	assert_same(&a, &b);
	/* Too short a buffer is left alone. */
	domino_event_patch_seq(buf, DOMINO_EVENT_SEQ_OFFSET + 7, 1);
	cr_assert_eq((uint8_t)buf[DOMINO_EVENT_SEQ_OFFSET], 0xfe);
	free(buf);
	domino_event_clear(&a);
	domino_event_clear(&b);
}

Test(event, peek)
{
	struct domino_event a;
	char *buf = NULL;
	size_t len = 0, rl, fl;
	const char *repo, *ref;
	uint64_t seq;

	fill(&a);
	cr_assert_eq(domino_event_encode(&a, &buf, &len), DOMINO_OK);
	cr_assert_eq(domino_event_peek(buf, len, &seq, &repo, &rl, &ref, &fl),
	    DOMINO_OK);
	cr_assert_eq(seq, a.seq);
	cr_assert_eq(rl, strlen(a.repo));
	cr_assert_eq(memcmp(repo, a.repo, rl), 0);
	cr_assert_eq(fl, strlen(a.ref));
	cr_assert_eq(memcmp(ref, a.ref, fl), 0);
	/* Pointers into buf, no copies. */
	cr_assert(repo > buf && repo < buf + len);

	domino_event_patch_seq(buf, len, 77);
	cr_assert_eq(domino_event_peek(buf, len, &seq, &repo, &rl, &ref, &fl),
	    DOMINO_OK);
	cr_assert_eq(seq, 77);

	for (size_t n = 0; n < len; n++)
		cr_assert_neq(domino_event_peek(buf, n, &seq, &repo, &rl, &ref,
		    &fl), DOMINO_OK, "prefix %zu", n);
	free(buf);
	domino_event_clear(&a);

	/* No ref: empty. */
	domino_event_init(&a);
	domino_event_set(&a.repo, "h/o/n", (size_t)-1);
	cr_assert_eq(domino_event_encode(&a, &buf, &len), DOMINO_OK);
	cr_assert_eq(domino_event_peek(buf, len, &seq, &repo, &rl, &ref, &fl),
	    DOMINO_OK);
	cr_assert_eq(rl, 5);
	cr_assert_eq(fl, 0);
	free(buf);
	domino_event_clear(&a);
}

Test(event, peek_rejects)
{
	static const unsigned char not_map[] = {0x91, 0x01};
	static const unsigned char int_key[] = {0x81, 0x01, 0x02};
	static const unsigned char neg_seq[] = {0x81, 0xa3, 's', 'e', 'q',
		0xff};
	static const unsigned char int_repo[] = {0x81, 0xa4, 'r', 'e', 'p', 'o',
		0x05};
	static const unsigned char small_seq[] = {0x82, 0xa3, 's', 'e', 'q',
		0x07, 0xa3, 'r', 'e', 'f', 0xa1, 'x'};
	uint64_t seq;
	const char *repo, *ref;
	size_t rl, fl;

	cr_assert_eq(domino_event_peek(not_map, sizeof(not_map), &seq, &repo,
	    &rl, &ref, &fl), DOMINO_EPROTO);
	cr_assert_eq(domino_event_peek(int_key, sizeof(int_key), &seq, &repo,
	    &rl, &ref, &fl), DOMINO_EPROTO);
	cr_assert_eq(domino_event_peek(neg_seq, sizeof(neg_seq), &seq, &repo,
	    &rl, &ref, &fl), DOMINO_EPROTO);
	cr_assert_eq(domino_event_peek(int_repo, sizeof(int_repo), &seq, &repo,
	    &rl, &ref, &fl), DOMINO_EPROTO);
	/* Hand-packed, fixint seq: still readable. */
	cr_assert_eq(domino_event_peek(small_seq, sizeof(small_seq), &seq,
	    &repo, &rl, &ref, &fl), DOMINO_OK);
	cr_assert_eq(seq, 7);
	cr_assert_eq(fl, 1);
	cr_assert_eq(rl, 0);
}

/* Pack a map by hand for the decode tests. */
static msgpack_sbuffer sb;
static msgpack_packer pk;

static void
setup(void)
{
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
}

static void
teardown(void)
{
	msgpack_sbuffer_destroy(&sb);
}

static void
key(const char *k)
{
	msgpack_pack_str_with_body(&pk, k, strlen(k));
}

Test(event, unknown_keys_and_any_order, .init = setup, .fini = teardown)
{
	struct domino_event ev;

	msgpack_pack_map(&pk, 7);
	key("future");
	msgpack_pack_map(&pk, 1);
	key("nested");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_nil(&pk);
	msgpack_pack_double(&pk, 1.5);
	key("repo");
	key("github.com/a/b");
	key("v");
	msgpack_pack_uint8(&pk, 1);
	key("seq");
	msgpack_pack_uint8(&pk, 9); /* not the fixed-width form */
	msgpack_pack_int(&pk, 12);  /* an integer key: skipped */
	msgpack_pack_true(&pk);
	key("ref");
	msgpack_pack_nil(&pk);      /* nil string: absent */
	key("payload");
	key("as a string");         /* str accepted for payload */
	cr_assert_eq(domino_event_decode(sb.data, sb.size, &ev), DOMINO_OK);
	cr_assert_eq(ev.seq, 9);
	cr_assert_str_eq(ev.repo, "github.com/a/b");
	cr_assert_null(ev.ref);
	cr_assert_eq(ev.payload_len, 11);
	cr_assert_eq(memcmp(ev.payload, "as a string", 11), 0);
	domino_event_clear(&ev);
}

Test(event, empty_strings_stay_empty, .init = setup, .fini = teardown)
{
	struct domino_event ev, again;
	char *buf = NULL;
	size_t len = 0;

	/* msgpack-c hands out a NULL ptr for some empty strings. */
	msgpack_pack_map(&pk, 4);
	key("");
	msgpack_pack_nil(&pk);
	key("ref");
	key("");
	key("depends_on");
	msgpack_pack_array(&pk, 1);
	key("");
	key("headers");
	msgpack_pack_map(&pk, 1);
	key("");
	key("");
	cr_assert_eq(domino_event_decode(sb.data, sb.size, &ev), DOMINO_OK);
	cr_assert_not_null(ev.ref);
	cr_assert_str_eq(ev.ref, "");
	cr_assert_eq(ev.n_depends_on, 1);
	cr_assert_str_eq(ev.depends_on[0], "");
	cr_assert_eq(ev.n_headers, 1);
	cr_assert_str_eq(ev.headers[0].name, "");
	cr_assert_str_eq(domino_event_header(&ev, ""), "");
	cr_assert_eq(domino_event_encode(&ev, &buf, &len), DOMINO_OK);
	cr_assert_eq(domino_event_decode(buf, len, &again), DOMINO_OK);
	assert_same(&ev, &again);
	free(buf);
	domino_event_clear(&ev);
	domino_event_clear(&again);
}

Test(event, repeated_keys_do_not_leak, .init = setup, .fini = teardown)
{
	struct domino_event ev;

	msgpack_pack_map(&pk, 4);
	key("payload");
	msgpack_pack_bin_with_body(&pk, "one", 3);
	key("payload");
	msgpack_pack_bin_with_body(&pk, "second", 6);
	key("id");
	key("a");
	key("id");
	key("b");
	cr_assert_eq(domino_event_decode(sb.data, sb.size, &ev), DOMINO_OK);
	cr_assert_eq(ev.payload_len, 6);
	cr_assert_eq(memcmp(ev.payload, "second", 6), 0);
	cr_assert_str_eq(ev.id, "b");
	domino_event_clear(&ev);
}

/* One-key map {k: <value packed by f>} must be refused with EPROTO. */
static void
expect_proto(const char *k, void (*f)(void))
{
	struct domino_event ev;

	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 2);
	key("id");
	key("x"); /* something allocated before the bad field */
	key(k);
	f();
	cr_assert_eq(domino_event_decode(sb.data, sb.size, &ev), DOMINO_EPROTO,
	    "key %s", k);
	/* Left zeroed on failure. */
	cr_assert_null(ev.id);
	cr_assert_eq(ev.n_headers, 0);
	cr_assert_null(ev.payload);
}

static void
p_int(void)
{
	msgpack_pack_int(&pk, 5);
}

static void
p_neg(void)
{
	msgpack_pack_int(&pk, -5);
}

static void
p_str(void)
{
	key("text");
}

static void
p_huge_uint(void)
{
	msgpack_pack_uint64(&pk, UINT64_MAX);
}

static void
p_array_of_int(void)
{
	msgpack_pack_array(&pk, 2);
	key("ok");
	msgpack_pack_int(&pk, 1);
}

static void
p_map_int_value(void)
{
	msgpack_pack_map(&pk, 2);
	key("X-A");
	key("a");
	key("X-B");
	msgpack_pack_int(&pk, 1);
}

static void
p_bool(void)
{
	msgpack_pack_true(&pk);
}

Test(event, wrong_types, .init = setup, .fini = teardown)
{
	static const char *const strs[] = {"id", "source", "event", "type",
		"repo", "ref", "before", "after", "actor", "url"};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		expect_proto(strs[i], p_int);
	expect_proto("seq", p_str);
	expect_proto("seq", p_neg);
	expect_proto("time", p_str);
	expect_proto("time", p_huge_uint);
	expect_proto("depends_on", p_str);
	expect_proto("depends_on", p_array_of_int);
	expect_proto("via", p_array_of_int);
	expect_proto("headers", p_array_of_int);
	expect_proto("headers", p_map_int_value);
	expect_proto("payload", p_bool);
}

Test(event, not_a_map, .init = setup, .fini = teardown)
{
	struct domino_event ev;

	msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	cr_assert_eq(domino_event_decode(sb.data, sb.size, &ev), DOMINO_EPROTO);
	msgpack_sbuffer_clear(&sb);
	key("just a string");
	cr_assert_eq(domino_event_decode(sb.data, sb.size, &ev), DOMINO_EPROTO);
}

Test(event, truncated_and_garbage)
{
	struct domino_event a, b;
	char *buf = NULL;
	size_t len = 0;
	static const unsigned char garbage[] = {0xc1, 0x00, 0x01};
	static const unsigned char bomb[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
	unsigned char deep[64];

	memset(deep, 0x91, sizeof(deep) - 1); /* 63 nested arrays */
	deep[sizeof(deep) - 1] = 0xc0;
	fill(&a);
	cr_assert_eq(domino_event_encode(&a, &buf, &len), DOMINO_OK);
	for (size_t n = 0; n < len; n++) {
		int rv = domino_event_decode(buf, n, &b);
		cr_assert(rv == DOMINO_ETRUNC || rv == DOMINO_ETOOBIG,
		    "prefix %zu of %zu gave %d", n, len, rv);
		cr_assert_null(b.repo);
	}
	free(buf);
	domino_event_clear(&a);

	cr_assert_eq(domino_event_decode(garbage, sizeof(garbage), &b),
	    DOMINO_EINVAL);
	cr_assert_eq(domino_event_decode(bomb, sizeof(bomb), &b),
	    DOMINO_ETOOBIG);
	cr_assert_eq(domino_event_decode(deep, sizeof(deep), &b),
	    DOMINO_ETOOBIG);
	cr_assert_eq(domino_event_decode("", 0, &b), DOMINO_ETRUNC);
}

Test(event, setters)
{
	struct domino_event ev;

	domino_event_init(&ev);
	cr_assert_eq(domino_event_set(&ev.repo, "abcdef", 3), DOMINO_OK);
	cr_assert_str_eq(ev.repo, "abc");
	cr_assert_eq(domino_event_set(&ev.repo, "xyz", (size_t)-1), DOMINO_OK);
	cr_assert_str_eq(ev.repo, "xyz");
	cr_assert_eq(domino_event_set(&ev.repo, NULL, 0), DOMINO_OK);
	cr_assert_null(ev.repo);
	cr_assert_eq(domino_event_add_header(&ev, "X-Empty", NULL), DOMINO_OK);
	cr_assert_str_eq(domino_event_header(&ev, "x-empty"), "");
	domino_event_clear(&ev);
	domino_event_clear(&ev);
	domino_event_clear(NULL);
}

/*
 * The view's payload span: copying around it gives the same bytes as
 * encoding the event without its payload, which is what `log` sends.
 */
Test(event, view_strips_payload_like_a_reencode)
{
	struct domino_event a, b;
	struct domino_event_view v;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char *buf = NULL;
	size_t len = 0;

	fill(&a);
	a.time = -5; /* negative times read back too */
	cr_assert_not_null(a.payload);
	cr_assert_eq(domino_event_encode(&a, &buf, &len), DOMINO_OK);
	cr_assert_eq(domino_event_view(buf, len, &v), DOMINO_OK);
	cr_assert_eq(v.time, -5);
	cr_assert_eq(v.repo_len, strlen(a.repo));
	cr_assert_eq(memcmp(v.repo, a.repo, v.repo_len), 0);
	cr_assert_eq(v.ref_len, strlen(a.ref));
	cr_assert_eq(v.len, len);
	cr_assert_gt(v.payload_off, v.head_len);
	cr_assert_leq(v.payload_off + v.payload_span, len);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (size_t)v.n_keys - 1);
	msgpack_sbuffer_write(&sb, buf + v.head_len, v.payload_off - v.head_len);
	msgpack_sbuffer_write(&sb, buf + v.payload_off + v.payload_span,
	    len - v.payload_off - v.payload_span);
	cr_assert_eq(domino_event_decode(sb.data, sb.size, &b), DOMINO_OK);
	cr_assert_null(b.payload);
	cr_assert_str_eq(b.repo, a.repo);
	cr_assert_str_eq(b.url, a.url);
	cr_assert_eq(b.seq, a.seq);
	cr_assert_eq(b.time, -5);
	domino_event_clear(&b);
	msgpack_sbuffer_destroy(&sb);

	for (size_t n = 0; n < len; n++)
		cr_assert_neq(domino_event_view(buf, n, &v), DOMINO_OK,
		    "prefix %zu", n);
	free(buf);
	domino_event_clear(&a);

	/* No payload: no span. */
	domino_event_init(&a);
	domino_event_set(&a.repo, "h/o/n", (size_t)-1);
	cr_assert_eq(domino_event_encode(&a, &buf, &len), DOMINO_OK);
	cr_assert_eq(domino_event_view(buf, len, &v), DOMINO_OK);
	cr_assert_eq(v.payload_off, 0);
	cr_assert_eq(v.ref_len, 0);
	free(buf);
	domino_event_clear(&a);
}
