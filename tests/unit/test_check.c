/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for proto/check.c, the bounded pre-check every msgpack buffer
 * from outside passes: every msgpack type is accepted, every truncation is
 * refused, and counts that could make msgpack-c allocate are refused
 * before anything is allocated.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "event.h"

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

TestSuite(check, .init = setup, .fini = teardown);

/* The packed buffer must be one complete object, and every proper prefix
 * of it must be refused. */
static void
expect_whole(const char *what)
{
	size_t used = 0;
	int rv = mp_check(sb.data, sb.size, &mp_default_limits, &used);

	cr_assert_eq(rv, DOMINO_OK, "%s: %s", what, domino_strerror(rv));
	cr_assert_eq(used, sb.size, "%s: used %zu of %zu", what, used, sb.size);
	for (size_t n = 0; n < sb.size; n++) {
		rv = mp_check(sb.data, n, &mp_default_limits, NULL);
		cr_assert(rv == DOMINO_ETRUNC || rv == DOMINO_ETOOBIG,
		    "%s: prefix %zu of %zu gave %d", what, n, sb.size, rv);
	}
	msgpack_sbuffer_clear(&sb);
}

static char big[70000];

Test(check, scalars)
{
	msgpack_pack_nil(&pk);
	expect_whole("nil");
	msgpack_pack_true(&pk);
	expect_whole("true");
	msgpack_pack_false(&pk);
	expect_whole("false");
	msgpack_pack_fix_uint8(&pk, 5); /* forced uint8, not fixint */
	expect_whole("uint8");
	msgpack_pack_uint8(&pk, 5);
	expect_whole("positive fixint");
	msgpack_pack_fix_uint16(&pk, 500);
	expect_whole("uint16");
	msgpack_pack_fix_uint32(&pk, 70000);
	expect_whole("uint32");
	msgpack_pack_fix_uint64(&pk, UINT64_MAX);
	expect_whole("uint64");
	msgpack_pack_int8(&pk, -3);
	expect_whole("negative fixint");
	msgpack_pack_fix_int8(&pk, -100);
	expect_whole("int8");
	msgpack_pack_fix_int16(&pk, -1000);
	expect_whole("int16");
	msgpack_pack_fix_int32(&pk, -100000);
	expect_whole("int32");
	msgpack_pack_fix_int64(&pk, INT64_MIN);
	expect_whole("int64");
	msgpack_pack_float(&pk, 1.5f);
	expect_whole("float32");
	msgpack_pack_double(&pk, 2.5);
	expect_whole("float64");
}

Test(check, strings_and_bins)
{
	static const size_t sizes[] = {0, 1, 31, 32, 255, 256, 65535, 65536};

	memset(big, 'x', sizeof(big));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		msgpack_pack_str(&pk, sizes[i]);
		msgpack_pack_str_body(&pk, big, sizes[i]);
		if (sizes[i] <= 256) {
			expect_whole("str");
		} else {
			/* Long: check the whole, and a few prefixes only. */
			cr_assert_eq(mp_check(sb.data, sb.size,
			    &mp_default_limits, NULL), DOMINO_OK);
			cr_assert_eq(mp_check(sb.data, sb.size - 1,
			    &mp_default_limits, NULL), DOMINO_ETRUNC);
			cr_assert_eq(mp_check(sb.data, 3, &mp_default_limits,
			    NULL), DOMINO_ETRUNC);
			msgpack_sbuffer_clear(&sb);
		}
		msgpack_pack_bin(&pk, sizes[i]);
		msgpack_pack_bin_body(&pk, big, sizes[i]);
		if (sizes[i] <= 256) {
			expect_whole("bin");
		} else {
			cr_assert_eq(mp_check(sb.data, sb.size,
			    &mp_default_limits, NULL), DOMINO_OK);
			cr_assert_eq(mp_check(sb.data, sb.size - 1,
			    &mp_default_limits, NULL), DOMINO_ETRUNC);
			msgpack_sbuffer_clear(&sb);
		}
	}
}

Test(check, exts)
{
	/* fixext 1, 2, 4, 8, 16 and ext 8, 16, 32. */
	static const size_t sizes[] = {1, 2, 4, 8, 16, 3, 17, 255, 256, 65536};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		msgpack_pack_ext(&pk, sizes[i], 7);
		msgpack_pack_ext_body(&pk, big, sizes[i]);
		if (sizes[i] <= 256) {
			expect_whole("ext");
		} else {
			cr_assert_eq(mp_check(sb.data, sb.size,
			    &mp_default_limits, NULL), DOMINO_OK);
			cr_assert_eq(mp_check(sb.data, sb.size - 1,
			    &mp_default_limits, NULL), DOMINO_ETRUNC);
			msgpack_sbuffer_clear(&sb);
		}
	}
}

Test(check, containers)
{
	msgpack_pack_array(&pk, 0);
	expect_whole("empty fixarray");
	msgpack_pack_map(&pk, 0);
	expect_whole("empty fixmap");
	msgpack_pack_array(&pk, 3);
	msgpack_pack_nil(&pk);
	msgpack_pack_int(&pk, 300);
	msgpack_pack_str_with_body(&pk, "abc", 3);
	expect_whole("fixarray");
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "a", 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_true(&pk);
	msgpack_pack_str_with_body(&pk, "b", 1);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_double(&pk, 1.0);
	expect_whole("fixmap nested");
	msgpack_pack_array(&pk, 20);
	for (int i = 0; i < 20; i++)
		msgpack_pack_int(&pk, i);
	expect_whole("array16");
	msgpack_pack_map(&pk, 20);
	for (int i = 0; i < 20; i++) {
		msgpack_pack_int(&pk, i);
		msgpack_pack_nil(&pk);
	}
	expect_whole("map16");
	msgpack_pack_array(&pk, 70000);
	for (int i = 0; i < 70000; i++)
		msgpack_pack_nil(&pk);
	cr_assert_eq(mp_check(sb.data, sb.size, &mp_default_limits, NULL),
	    DOMINO_OK, "array32");
	msgpack_sbuffer_clear(&sb);
}

Test(check, array32_hand_made)
{
	/* array32 of 2, map32 of 1: sizes that msgpack-c itself never picks. */
	static const unsigned char a[] = {0xdd, 0, 0, 0, 2, 0xc0, 0x01};
	static const unsigned char m[] = {0xdf, 0, 0, 0, 1, 0xa1, 'k', 0xc3};
	size_t used;

	cr_assert_eq(mp_check(a, sizeof(a), &mp_default_limits, &used),
	    DOMINO_OK);
	cr_assert_eq(used, sizeof(a));
	cr_assert_eq(mp_check(m, sizeof(m), &mp_default_limits, &used),
	    DOMINO_OK);
	cr_assert_eq(used, sizeof(m));
}

Test(check, trailing_bytes_allowed)
{
	static const unsigned char b[] = {0x92, 0x01, 0x02, 0xff, 0xff};
	size_t used = 0;

	cr_assert_eq(mp_check(b, sizeof(b), &mp_default_limits, &used),
	    DOMINO_OK);
	cr_assert_eq(used, 3);
}

Test(check, every_prefix_of_an_event)
{
	struct domino_event ev;
	char *buf = NULL;
	size_t len = 0, used;

	domino_event_init(&ev);
	ev.seq = 42;
	ev.time = 1700000000000000000;
	domino_event_set(&ev.id, "d1", (size_t)-1);
	domino_event_set(&ev.source, "github", (size_t)-1);
	domino_event_set(&ev.type, "push", (size_t)-1);
	domino_event_set(&ev.repo, "github.com/org/core", (size_t)-1);
	domino_event_set(&ev.ref, "refs/heads/main", (size_t)-1);
	domino_event_add_depends_on(&ev, "github.com/org/lib#12");
	domino_event_add_via(&ev, "github.com/org/mid");
	domino_event_add_header(&ev, "X-GitHub-Event", "push");
	ev.payload = (uint8_t *)strdup("{\"ref\":\"refs/heads/main\"}");
	ev.payload_len = strlen((char *)ev.payload);
	cr_assert_eq(domino_event_encode(&ev, &buf, &len), DOMINO_OK);
	cr_assert_gt(len, 50);
	cr_assert_eq(mp_check(buf, len, &mp_default_limits, &used), DOMINO_OK);
	cr_assert_eq(used, len);
	for (size_t n = 0; n < len; n++) {
		int rv = mp_check(buf, n, &mp_default_limits, &used);
		cr_assert(rv == DOMINO_ETRUNC || rv == DOMINO_ETOOBIG,
		    "prefix %zu of %zu gave %d", n, len, rv);
	}
	free(buf);
	domino_event_clear(&ev);
}

Test(check, huge_counts_refused)
{
	static const unsigned char arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
	static const unsigned char map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
	static const unsigned char arr16[] = {0xdc, 0xff, 0xff, 0xc0, 0xc0};
	static const unsigned char map16[] = {0xde, 0x00, 0x03, 0xc0, 0xc0,
		0xc0, 0xc0, 0xc0};
	static const unsigned char fixarr[] = {0x9f, 0xc0};
	/* Nested: a small array holding a huge one. */
	static const unsigned char nested[] = {0x91, 0xdd, 0x7f, 0xff, 0xff,
		0xff};

	cr_assert_eq(mp_check(arr32, sizeof(arr32), &mp_default_limits, NULL),
	    DOMINO_ETOOBIG);
	cr_assert_eq(mp_check(map32, sizeof(map32), &mp_default_limits, NULL),
	    DOMINO_ETOOBIG);
	cr_assert_eq(mp_check(arr16, sizeof(arr16), &mp_default_limits, NULL),
	    DOMINO_ETOOBIG);
	/* 3 pairs need 6 elements, only 5 bytes are left. */
	cr_assert_eq(mp_check(map16, sizeof(map16), &mp_default_limits, NULL),
	    DOMINO_ETOOBIG);
	cr_assert_eq(mp_check(fixarr, sizeof(fixarr), &mp_default_limits,
	    NULL), DOMINO_ETOOBIG);
	cr_assert_eq(mp_check(nested, sizeof(nested), &mp_default_limits,
	    NULL), DOMINO_ETOOBIG);
}

Test(check, huge_lengths_are_truncation)
{
	static const unsigned char str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff,
		'a'};
	static const unsigned char bin32[] = {0xc6, 0xff, 0xff, 0xff, 0xff,
		'a'};
	static const unsigned char ext32[] = {0xc9, 0xff, 0xff, 0xff, 0xff, 1};
	static const unsigned char str8[] = {0xd9, 0x10, 'a'};

	cr_assert_eq(mp_check(str32, sizeof(str32), &mp_default_limits, NULL),
	    DOMINO_ETRUNC);
	cr_assert_eq(mp_check(bin32, sizeof(bin32), &mp_default_limits, NULL),
	    DOMINO_ETRUNC);
	cr_assert_eq(mp_check(ext32, sizeof(ext32), &mp_default_limits, NULL),
	    DOMINO_ETRUNC);
	cr_assert_eq(mp_check(str8, sizeof(str8), &mp_default_limits, NULL),
	    DOMINO_ETRUNC);
}

/* n nested one-element arrays around a nil. */
static int
nested(size_t n, const struct mp_limits *lim)
{
	unsigned char buf[1100];

	cr_assert_leq(n + 1, sizeof(buf));
	memset(buf, 0x91, n);
	buf[n] = 0xc0;
	return mp_check(buf, n + 1, lim, NULL);
}

Test(check, depth_limit)
{
	cr_assert_eq(nested(1, &mp_default_limits), DOMINO_OK);
	cr_assert_eq(nested(mp_default_limits.max_depth - 1,
	    &mp_default_limits), DOMINO_OK);
	cr_assert_eq(nested(mp_default_limits.max_depth + 1,
	    &mp_default_limits), DOMINO_ETOOBIG);
	cr_assert_eq(nested(1000, &mp_default_limits), DOMINO_ETOOBIG);

	/* A limit past the internal stack is capped, not overflowed. */
	struct mp_limits deep = {.max_depth = 10000, .max_elems = 1u << 20};
	cr_assert_eq(nested(1000, &deep), DOMINO_ETOOBIG);
	cr_assert_eq(nested(40, &deep), DOMINO_OK);

	/* Empty containers do not nest: a long flat run is fine. */
	unsigned char flat[16];
	flat[0] = 0x9f; /* fixarray of 15 empty arrays */
	memset(flat + 1, 0x90, 15);
	cr_assert_eq(mp_check(flat, 16, &mp_default_limits, NULL), DOMINO_OK);
}

Test(check, element_limit)
{
	struct mp_limits lim = {.max_depth = 8, .max_elems = 10};
	unsigned char buf[16];

	/* An array of 9 nils is 10 elements with the array itself. */
	buf[0] = 0x99;
	memset(buf + 1, 0xc0, 9);
	cr_assert_eq(mp_check(buf, 10, &lim, NULL), DOMINO_OK);
	buf[0] = 0x9a;
	memset(buf + 1, 0xc0, 10);
	cr_assert_eq(mp_check(buf, 11, &lim, NULL), DOMINO_ETOOBIG);
}

Test(check, reserved_byte)
{
	static const unsigned char c1[] = {0xc1};
	static const unsigned char in_array[] = {0x92, 0x01, 0xc1};
	static const unsigned char as_key[] = {0x81, 0xc1, 0x01};

	cr_assert_eq(mp_check(c1, 1, &mp_default_limits, NULL), DOMINO_EINVAL);
	cr_assert_eq(mp_check(in_array, sizeof(in_array), &mp_default_limits,
	    NULL), DOMINO_EINVAL);
	cr_assert_eq(mp_check(as_key, sizeof(as_key), &mp_default_limits,
	    NULL), DOMINO_EINVAL);
}

Test(check, empty_input)
{
	size_t used = 99;

	cr_assert_eq(mp_check("", 0, &mp_default_limits, &used), DOMINO_ETRUNC);
	cr_assert_eq(mp_check(NULL, 0, &mp_default_limits, NULL),
	    DOMINO_ETRUNC);
}

/* The reader gives back what msgpack-c packed, in every width, and a read
 * of the wrong type leaves the cursor where it was. */
Test(check, reader_reads_every_width)
{
	static const int64_t ints[] = {0, 1, 127, 128, 255, 256, 65535, 65536,
	    4294967295ll, 4294967296ll, INT64_MAX, -1, -32, -33, -128, -129,
	    -32768, -32769, -2147483648ll, -2147483649ll, INT64_MIN};
	const size_t nints = sizeof(ints) / sizeof(ints[0]);
	struct mp_rd r;
	const char *s;
	size_t n, at;
	uint64_t c, u;
	int64_t v;
	int b;

	msgpack_pack_array(&pk, nints + 5);
	for (size_t i = 0; i < nints; i++)
		msgpack_pack_int64(&pk, ints[i]);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_str_with_body(&pk, big, 300);   /* str16 */
	msgpack_pack_str_with_body(&pk, big, 70000); /* str32 */
	msgpack_pack_true(&pk);
	msgpack_pack_map(&pk, 17);
	for (int i = 0; i < 17; i++) {
		msgpack_pack_int(&pk, i);
		msgpack_pack_nil(&pk);
	}
	cr_assert_eq(mp_rd_init(&r, sb.data, sb.size, &mp_default_limits), DOMINO_OK);
	cr_assert_eq(mp_rd_array(&r, &c), 0);
	cr_assert_eq(c, nints + 5);
	for (size_t i = 0; i < nints; i++) {
		at = r.pos;
		cr_assert_eq(mp_rd_str(&r, &s, &n), -1);
		cr_assert_eq(mp_rd_bool(&r, &b), -1);
		cr_assert_eq(r.pos, at, "a failed read moved the cursor");
		if (ints[i] >= 0) {
			cr_assert_eq(mp_rd_uint(&r, &u), 0);
			cr_assert_eq(u, (uint64_t)ints[i]);
			r.pos = at;
		} else {
			cr_assert_eq(mp_rd_uint(&r, &u), -1);
			cr_assert_eq(r.pos, at);
		}
		cr_assert_eq(mp_rd_int(&r, &v), 0);
		cr_assert_eq(v, ints[i], "int %zu: %lld", i, (long long)v);
	}
	cr_assert_eq(mp_rd_str(&r, &s, &n), 0);
	cr_assert(mp_rd_is(s, n, "x"));
	cr_assert_not(mp_rd_is(s, n, "xy"));
	cr_assert_not(mp_rd_is(s, n, ""));
	cr_assert_eq(mp_rd_str(&r, &s, &n), 0);
	cr_assert_eq(n, 300);
	cr_assert_eq(s, sb.data + r.pos - 300);
	cr_assert_eq(mp_rd_int(&r, &v), -1);
	cr_assert_eq(mp_rd_skip(&r), 0); /* the str32 */
	cr_assert_eq(mp_rd_bool(&r, &b), 0);
	cr_assert(b);
	cr_assert_eq(mp_rd_array(&r, &c), -1);
	cr_assert_eq(mp_rd_map(&r, &c), 0);
	cr_assert_eq(c, 17);
	for (int i = 0; i < 34; i++)
		cr_assert_eq(mp_rd_skip(&r), 0);
	cr_assert_eq(r.pos, sb.size);
	cr_assert_eq(mp_rd_skip(&r), -1);
	cr_assert_eq(mp_rd_bool(&r, &b), -1);
}

/* Unchecked (lim NULL), no read goes past the end of a cut buffer. */
Test(check, reader_unchecked_stays_in_bounds)
{
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "name", 4);
	msgpack_pack_str_with_body(&pk, big, 40);
	msgpack_pack_str_with_body(&pk, "n", 1);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	for (size_t cut = 0; cut < sb.size; cut++) {
		struct mp_rd r;
		const char *k, *s;
		size_t kn, sn;
		uint64_t c, u;

		cr_assert_eq(mp_rd_init(&r, sb.data, cut, NULL), DOMINO_OK);
		if (mp_rd_map(&r, &c) != 0 || mp_rd_str(&r, &k, &kn) != 0 ||
		    mp_rd_str(&r, &s, &sn) != 0)
			continue;
		cr_assert(s + sn <= sb.data + cut);
		cr_assert(mp_rd_str(&r, &k, &kn) != 0 || mp_rd_uint(&r, &u) != 0,
		    "cut %zu read a value it does not hold", cut);
	}
}

Test(check, reader_bin_nil_and_signed_non_negative)
{
	struct mp_rd r;
	const void *b;
	size_t n;
	uint64_t u;

	msgpack_pack_bin_with_body(&pk, "ab", 2);
	msgpack_pack_bin_with_body(&pk, big, 300);
	msgpack_pack_nil(&pk);
	msgpack_sbuffer_write(&sb, "\xd1\x00\x05", 3); /* int16 5 */
	msgpack_sbuffer_write(&sb, "\xd0\xff", 2);     /* int8 -1 */
	mp_rd_init(&r, sb.data, sb.size, NULL);
	cr_assert_eq(mp_rd_nil(&r), -1);
	cr_assert_eq(mp_rd_bin(&r, &b, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_arr_eq(b, "ab", 2);
	cr_assert_eq(mp_rd_bin(&r, &b, &n), 0);
	cr_assert_eq(n, 300);
	cr_assert_eq(mp_rd_bin(&r, &b, &n), -1);
	cr_assert_eq(mp_rd_nil(&r), 0);
	cr_assert_eq(mp_rd_uint(&r, &u), 0);
	cr_assert_eq(u, 5);
	cr_assert_eq(mp_rd_uint(&r, &u), -1);
	cr_assert_eq(r.pos, sb.size - 2, "a refused read moved the cursor");
	/* A bin whose length runs past the end is refused. */
	mp_rd_init(&r, "\xc4\x05" "ab", 4, NULL);
	cr_assert_eq(mp_rd_bin(&r, &b, &n), -1);
	cr_assert_eq(r.pos, 0);
}
