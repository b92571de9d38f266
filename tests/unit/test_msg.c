/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for proto/msg.c: unpacking control messages (pre-checked,
 * exactly one map), the typed getters and their absent/wrong-type
 * answers, the key/value packers and the error reply shape.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <string.h>

#include "err.h"
#include "msg.h"

static msgpack_sbuffer sb;
static msgpack_packer pk;
static msgpack_unpacked u;

static void
setup(void)
{
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_unpacked_init(&u);
}

static void
teardown(void)
{
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}

TestSuite(msg, .init = setup, .fini = teardown);

static void
pack_request(void)
{
	msgpack_pack_map(&pk, 9);
	msg_pack_kstr(&pk, "op", "replay");
	msg_pack_kstr(&pk, "token", "t0k");
	msg_pack_ku64(&pk, "from", UINT64_MAX);
	msg_pack_ki64(&pk, "since", -42);
	msg_pack_ki64(&pk, "small", 7);
	msg_pack_kbool(&pk, "follow", 1);
	msg_pack_cstr(&pk, "nothing");
	msgpack_pack_nil(&pk);
	msg_pack_cstr(&pk, "list");
	msgpack_pack_array(&pk, 0);
	msg_pack_kstr(&pk, "null_str", NULL);
}

Test(msg, getters)
{
	const char *s;
	size_t n;
	char *dup = NULL;
	uint64_t v;
	int64_t i;
	int b;

	pack_request();
	cr_assert_eq(msg_unpack(sb.data, sb.size, &u), DOMINO_OK);

	cr_assert_eq(msg_str(&u.data, "op", &s, &n), DOMINO_OK);
	cr_assert_eq(n, 6);
	cr_assert_eq(memcmp(s, "replay", 6), 0);
	cr_assert_eq(msg_strdup(&u.data, "token", &dup), DOMINO_OK);
	cr_assert_str_eq(dup, "t0k");
	free(dup);
	cr_assert_eq(msg_u64(&u.data, "from", &v), DOMINO_OK);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(msg_i64(&u.data, "since", &i), DOMINO_OK);
	cr_assert_eq(i, -42);
	cr_assert_eq(msg_i64(&u.data, "small", &i), DOMINO_OK);
	cr_assert_eq(i, 7);
	cr_assert_eq(msg_u64(&u.data, "small", &v), DOMINO_OK);
	cr_assert_eq(v, 7);
	cr_assert_eq(msg_bool(&u.data, "follow", &b), DOMINO_OK);
	cr_assert_eq(b, 1);
	cr_assert_eq(msg_str(&u.data, "null_str", &s, &n), DOMINO_OK);
	cr_assert_eq(n, 0);

	/* Absent, nil: ENOTFOUND. */
	cr_assert_eq(msg_str(&u.data, "missing", &s, &n), DOMINO_ENOTFOUND);
	cr_assert_eq(msg_u64(&u.data, "nothing", &v), DOMINO_ENOTFOUND);
	cr_assert_eq(msg_strdup(&u.data, "nothing", &dup), DOMINO_ENOTFOUND);
	cr_assert_eq(msg_bool(&u.data, "missing", &b), DOMINO_ENOTFOUND);
	cr_assert_eq(msg_i64(&u.data, "missing", &i), DOMINO_ENOTFOUND);
	/* msg_get sees the nil itself. */
	cr_assert_not_null(msg_get(&u.data, "nothing"));
	cr_assert_eq(msg_get(&u.data, "nothing")->type, MSGPACK_OBJECT_NIL);
	cr_assert_null(msg_get(&u.data, "missing"));
	cr_assert_null(msg_get(NULL, "op"));
	cr_assert_null(msg_get(msg_get(&u.data, "list"), "op"));

	/* Wrong types: EPROTO. */
	cr_assert_eq(msg_str(&u.data, "from", &s, &n), DOMINO_EPROTO);
	cr_assert_eq(msg_strdup(&u.data, "list", &dup), DOMINO_EPROTO);
	cr_assert_eq(msg_u64(&u.data, "since", &v), DOMINO_EPROTO);
	cr_assert_eq(msg_u64(&u.data, "op", &v), DOMINO_EPROTO);
	cr_assert_eq(msg_i64(&u.data, "from", &i), DOMINO_EPROTO);
	cr_assert_eq(msg_i64(&u.data, "follow", &i), DOMINO_EPROTO);
	cr_assert_eq(msg_bool(&u.data, "small", &b), DOMINO_EPROTO);
}

Test(msg, empty_key_and_value)
{
	const char *s = NULL;
	size_t n = 99;
	char *dup = NULL;

	msgpack_pack_map(&pk, 2);
	msg_pack_kstr(&pk, "", "empty key");
	msg_pack_kstr(&pk, "e", "");
	cr_assert_eq(msg_unpack(sb.data, sb.size, &u), DOMINO_OK);
	cr_assert_eq(msg_str(&u.data, "", &s, &n), DOMINO_OK);
	cr_assert_eq(n, 9);
	cr_assert_eq(msg_str(&u.data, "e", &s, &n), DOMINO_OK);
	cr_assert_eq(n, 0);
	cr_assert_not_null(s);
	cr_assert_eq(msg_strdup(&u.data, "e", &dup), DOMINO_OK);
	cr_assert_str_eq(dup, "");
	free(dup);
}

Test(msg, error_reply_shape)
{
	const msgpack_object *err;
	const char *s;
	size_t n;
	int ok = 1;

	/* Left-over content is cleared first. */
	msgpack_pack_array(&pk, 3);
	msg_error_reply(&sb, DOMINO_ENOTFOUND, "no listener named %s", "ci");
	cr_assert_eq(msg_unpack(sb.data, sb.size, &u), DOMINO_OK);
	cr_assert_eq(u.data.via.map.size, 2);
	cr_assert_eq(msg_bool(&u.data, "ok", &ok), DOMINO_OK);
	cr_assert_eq(ok, 0);
	err = msg_get(&u.data, "err");
	cr_assert_not_null(err);
	cr_assert_eq(err->type, MSGPACK_OBJECT_MAP);
	cr_assert_eq(err->via.map.size, 2);
	cr_assert_eq(msg_str(err, "code", &s, &n), DOMINO_OK);
	cr_assert_eq(n, strlen("not_found"));
	cr_assert_eq(memcmp(s, "not_found", n), 0);
	cr_assert_eq(domino_err_from_code("not_found"), DOMINO_ENOTFOUND);
	cr_assert_eq(msg_str(err, "msg", &s, &n), DOMINO_OK);
	cr_assert_eq(n, strlen("no listener named ci"));
	cr_assert_eq(memcmp(s, "no listener named ci", n), 0);
}

Test(msg, error_reply_long_message_is_capped)
{
	char longer[2000];
	const char *s;
	size_t n;

	memset(longer, 'z', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	msg_error_reply(&sb, DOMINO_EINVAL, "%s", longer);
	cr_assert_eq(msg_unpack(sb.data, sb.size, &u), DOMINO_OK);
	cr_assert_eq(msg_str(msg_get(&u.data, "err"), "msg", &s, &n),
	    DOMINO_OK);
	cr_assert_lt(n, sizeof(longer) - 1);
	cr_assert_gt(n, 100);
}

Test(msg, unpack_rejects)
{
	static const unsigned char bomb[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
	static const unsigned char c1[] = {0xc1};
	static const unsigned char two[] = {0x80, 0x80};
	static const unsigned char arr[] = {0x91, 0x01};
	static const unsigned char trunc[] = {0x82, 0xa1, 'a'};

	cr_assert_eq(msg_unpack(bomb, sizeof(bomb), &u), DOMINO_ETOOBIG);
	cr_assert_eq(msg_unpack(c1, sizeof(c1), &u), DOMINO_EINVAL);
	/* Exactly one object: trailing bytes are refused. */
	cr_assert_eq(msg_unpack(two, sizeof(two), &u), DOMINO_EINVAL);
	cr_assert_eq(msg_unpack(trunc, sizeof(trunc), &u) != DOMINO_OK, 1);
	cr_assert_eq(msg_unpack("", 0, &u), DOMINO_ETRUNC);
	/* Not a map: refused, and nothing is left to destroy. */
	cr_assert_eq(msg_unpack(arr, sizeof(arr), &u), DOMINO_EPROTO);
	cr_assert_null(u.zone);
}

Test(msg, every_prefix_refused)
{
	pack_request();
	for (size_t n = 0; n < sb.size; n++) {
		int rv = msg_unpack(sb.data, n, &u);
		cr_assert_neq(rv, DOMINO_OK, "prefix %zu", n);
		msgpack_unpacked_destroy(&u);
	}
}
