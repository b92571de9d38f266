/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for proto/err.c: every code has a sentence and a wire code,
 * wire codes map back, and out-of-range codes still get safe strings.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "err.h"

Test(err, every_code_has_strings)
{
	for (int i = 0; i < DOMINO_ERR_COUNT; i++) {
		const char *s = domino_strerror(i);
		const char *c = domino_errcode(i);

		cr_assert_not_null(s, "code %d", i);
		cr_assert_not_null(c, "code %d", i);
		cr_assert_str_neq(s, "unknown error", "code %d", i);
		cr_assert_gt(strlen(s), 3, "code %d", i);
		cr_assert_gt(strlen(c), 1, "code %d", i);
		/* Wire codes are stable identifiers: lower case and '_'. */
		cr_assert_eq(strspn(c, "abcdefghijklmnopqrstuvwxyz_"),
		    strlen(c), "code %d: '%s'", i, c);
	}
}

Test(err, sentences_are_distinct)
{
	for (int i = 0; i < DOMINO_ERR_COUNT; i++)
		for (int j = i + 1; j < DOMINO_ERR_COUNT; j++)
			cr_assert_str_neq(domino_strerror(i),
			    domino_strerror(j), "%d and %d", i, j);
}

Test(err, from_code_round_trip)
{
	for (int i = 1; i < DOMINO_ERR_COUNT; i++) {
		const char *c = domino_errcode(i);
		int back = domino_err_from_code(c);

		/* Several codes share a wire code ("invalid"); the round trip
		 * must land on a code with the same wire string. */
		cr_assert_str_eq(domino_errcode(back), c, "code %d -> %s -> %d",
		    i, c, back);
	}
	cr_assert_eq(domino_err_from_code("invalid"), DOMINO_EINVAL);
	cr_assert_eq(domino_err_from_code("unauthorized"), DOMINO_EUNAUTH);
	cr_assert_eq(domino_err_from_code("not_found"), DOMINO_ENOTFOUND);
	cr_assert_eq(domino_err_from_code("conflict"), DOMINO_ECONFLICT);
	cr_assert_eq(domino_err_from_code("unavailable"), DOMINO_EUNAVAIL);
}

Test(err, unknown_codes)
{
	cr_assert_str_eq(domino_strerror(-1), "unknown error");
	cr_assert_str_eq(domino_strerror(DOMINO_ERR_COUNT), "unknown error");
	cr_assert_str_eq(domino_strerror(1 << 20), "unknown error");
	cr_assert_str_eq(domino_errcode(-1), "internal");
	cr_assert_str_eq(domino_errcode(DOMINO_ERR_COUNT), "internal");
	cr_assert_eq(domino_err_from_code(NULL), DOMINO_EREMOTE);
	cr_assert_eq(domino_err_from_code("no_such_code"), DOMINO_EREMOTE);
	cr_assert_eq(domino_err_from_code(""), DOMINO_EREMOTE);
	/* "ok" is not an error a reply can carry. */
	cr_assert_eq(domino_err_from_code("ok"), DOMINO_EREMOTE);
}

Test(err, ok_is_zero)
{
	cr_assert_eq(DOMINO_OK, 0);
	cr_assert_str_eq(domino_errcode(DOMINO_OK), "ok");
}
