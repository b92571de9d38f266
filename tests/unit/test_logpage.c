/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for client/logpage.c: a `log` reply is read in place, with
 * the keys in any order, an error reply told apart from a malformed one,
 * and every cut of a valid reply refused.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "logpage.h"
#include "msg.h"

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

TestSuite(logpage, .init = setup, .fini = teardown);

static void
pack_events(uint64_t from, uint64_t n)
{
	msg_pack_cstr(&pk, "events");
	msgpack_pack_array(&pk, n);
	for (uint64_t i = 0; i < n; i++) {
		msgpack_pack_map(&pk, 2);
		msg_pack_ku64(&pk, "seq", from + i);
		msg_pack_kstr(&pk, "repo", "github.com/a/b");
	}
}

Test(logpage, keys_in_any_order)
{
	struct log_page p;
	struct domino_event ev;

	/* As domino sends it: next and more before the events. */
	msgpack_pack_map(&pk, 5);
	msg_pack_kbool(&pk, "ok", 1);
	msg_pack_ku64(&pk, "first", 1);
	msg_pack_ku64(&pk, "next", 4);
	msg_pack_kbool(&pk, "more", 1);
	pack_events(1, 3);
	cr_assert_eq(log_page_parse(sb.data, sb.size, &p), DOMINO_OK);
	cr_assert_eq(p.n, 3);
	cr_assert_eq(p.next, 4);
	cr_assert(p.more);
	cr_assert_not(p.has_gone);
	for (uint64_t i = 0; i < 3; i++) {
		cr_assert_eq(event_read(&p.evs, &ev), DOMINO_OK);
		cr_assert_eq(ev.seq, i + 1);
		cr_assert_str_eq(ev.repo, "github.com/a/b");
		domino_event_clear(&ev);
	}
	for (size_t cut = 0; cut < sb.size; cut++)
		cr_assert_eq(log_page_parse(sb.data, cut, &p), DOMINO_EPROTO,
		    "cut at %zu of %zu accepted", cut, sb.size);

	/* Events first, gone after them. */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 6);
	pack_events(21, 2);
	msg_pack_kbool(&pk, "ok", 1);
	msg_pack_cstr(&pk, "gone");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, 5);
	msgpack_pack_uint64(&pk, 20);
	msg_pack_ku64(&pk, "first", 21);
	msg_pack_ku64(&pk, "next", 23);
	msg_pack_kbool(&pk, "more", 0);
	cr_assert_eq(log_page_parse(sb.data, sb.size, &p), DOMINO_OK);
	cr_assert_eq(p.n, 2);
	cr_assert_eq(p.next, 23);
	cr_assert_not(p.more);
	cr_assert(p.has_gone);
	cr_assert_eq(p.gone[0], 5);
	cr_assert_eq(p.gone[1], 20);
	cr_assert_eq(p.first, 21);
	cr_assert_eq(event_read(&p.evs, &ev), DOMINO_OK);
	cr_assert_eq(ev.seq, 21);
	domino_event_clear(&ev);
}

Test(logpage, errors_and_malformed_replies)
{
	struct log_page p;

	msgpack_pack_map(&pk, 2);
	msg_pack_kbool(&pk, "ok", 0);
	msg_pack_cstr(&pk, "err");
	msgpack_pack_map(&pk, 1);
	msg_pack_kstr(&pk, "code", "invalid");
	cr_assert_eq(log_page_parse(sb.data, sb.size, &p), DOMINO_EREMOTE);

	/* ok without next, next without ok, events not a list. */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 1);
	msg_pack_kbool(&pk, "ok", 1);
	cr_assert_eq(log_page_parse(sb.data, sb.size, &p), DOMINO_EPROTO);
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 1);
	msg_pack_ku64(&pk, "next", 1);
	cr_assert_eq(log_page_parse(sb.data, sb.size, &p), DOMINO_EPROTO);
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 3);
	msg_pack_kbool(&pk, "ok", 1);
	msg_pack_ku64(&pk, "next", 1);
	msg_pack_kstr(&pk, "events", "none");
	cr_assert_eq(log_page_parse(sb.data, sb.size, &p), DOMINO_EPROTO);
	/* An array header that promises more than the bytes hold. */
	cr_assert_eq(log_page_parse("\x83\xa2ok\xc3\xa4next\x01\xa6" "events\xdd\x7f\xff\xff\xff",
	    23, &p), DOMINO_EPROTO);
	cr_assert_eq(log_page_parse("", 0, &p), DOMINO_EPROTO);

	/* A gone that is not [from, to] is ignored, as before, and the keys
	 * after it are still read; a byte after the map is refused. */
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, 4);
	msg_pack_kbool(&pk, "ok", 1);
	msg_pack_cstr(&pk, "gone");
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_uint64(&pk, 3);
	msg_pack_ku64(&pk, "next", 9);
	msg_pack_kbool(&pk, "more", 1);
	cr_assert_eq(log_page_parse(sb.data, sb.size, &p), DOMINO_OK);
	cr_assert_not(p.has_gone);
	cr_assert_eq(p.next, 9);
	cr_assert(p.more);
	msgpack_pack_nil(&pk);
	cr_assert_eq(log_page_parse(sb.data, sb.size, &p), DOMINO_EPROTO);
}
