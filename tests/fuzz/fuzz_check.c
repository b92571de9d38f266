/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the bounded msgpack pre-check alone (proto/check.c):
 * mp_check() must never read past len, and whatever it accepts must be
 * safe to hand to msgpack-c — so an accepted prefix is unpacked, and the
 * unpacker must agree on its size. Tight limits are tried as well as the
 * default ones. The mp_rd_* cursor reader walks the same bytes unchecked,
 * trying every reader at each step: no read may leave the buffer.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read buf value by value with whichever reader takes the next byte. */
static void
walk(const uint8_t *buf, size_t size)
{
	struct mp_rd r;

	mp_rd_init(&r, buf, size, NULL);
	while (r.pos < r.len) {
		const char *s;
		const void *b;
		size_t n, at = r.pos;
		uint64_t u;
		int64_t i;
		int t;

		if (mp_rd_str(&r, &s, &n) == 0) {
			if (s + n > (const char *)buf + size)
				abort();
		} else if (mp_rd_bin(&r, &b, &n) == 0) {
			if ((const uint8_t *)b + n > buf + size)
				abort();
		} else if (mp_rd_map(&r, &u) != 0 && mp_rd_array(&r, &u) != 0 &&
		    mp_rd_uint(&r, &u) != 0 && mp_rd_int(&r, &i) != 0 &&
		    mp_rd_bool(&r, &t) != 0 && mp_rd_nil(&r) != 0) {
			if (r.pos != at)
				abort(); /* a refused read moved the cursor */
			if (mp_rd_skip(&r) != 0)
				break;
		}
		if (r.pos <= at || r.pos > r.len)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mp_limits tight = {.max_depth = 2, .max_elems = 8};
	size_t used = 0, used2 = 0;
	int rv;

	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	uint8_t *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	(void)mp_check(buf, size, &tight, NULL);
	rv = mp_check(buf, size, &mp_default_limits, &used);
	if (rv == DOMINO_OK) {
		msgpack_unpacked u;
		size_t off = 0;

		if (used == 0 || used > size)
			abort();
		msgpack_unpacked_init(&u);
		if (msgpack_unpack_next(&u, (const char *)buf, used, &off) !=
		    MSGPACK_UNPACK_SUCCESS || off != used)
			abort();
		msgpack_unpacked_destroy(&u);
		/* Checking the same object again gives the same size. */
		if (mp_check(buf, used, &mp_default_limits, &used2) != DOMINO_OK ||
		    used2 != used)
			abort();
	}
	walk(buf, size);
	free(buf);
	return 0;
}
