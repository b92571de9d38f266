/* SPDX-License-Identifier: MIT */
/*
 * mp_check(): walks msgpack bytes with an explicit stack of "elements still
 * to read" per open container. No recursion, no allocation; cost is linear
 * in the input.
 */
#include <stdint.h>

#include "check.h"
#include "err.h"

const struct mp_limits mp_default_limits = {
	.max_depth = 32,
	.max_elems = 1u << 20,
};

#define MAX_STACK 64

static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int
mp_check(const void *buf, size_t len, const struct mp_limits *lim,
    size_t *used)
{
	const uint8_t *p = buf;
	size_t pos = 0, elems = 0, depth = 0;
	uint64_t left[MAX_STACK]; /* elements left in each open container */
	size_t max_depth = lim->max_depth < MAX_STACK ? lim->max_depth : MAX_STACK;

	/* One top-level object: a virtual container of one element. */
	left[0] = 1;
	for (;;) {
		while (depth > 0 && left[depth] == 0)
			depth--;
		if (depth == 0 && left[0] == 0)
			break;
		left[depth]--;
		if (pos >= len)
			return DOMINO_ETRUNC;
		if (++elems > lim->max_elems)
			return DOMINO_ETOOBIG;

		uint8_t b = p[pos++];
		uint64_t skip = 0;  /* payload bytes after the header */
		uint64_t count = 0; /* children of a container */
		int container = 0, hdr = 0;

		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
			/* fixint, nil, bool */
		} else if (b >= 0x80 && b <= 0x8f) {
			count = (uint64_t)(b & 0x0f) * 2;
			container = 1;
		} else if (b >= 0x90 && b <= 0x9f) {
			count = b & 0x0f;
			container = 1;
		} else if (b >= 0xa0 && b <= 0xbf) {
			skip = b & 0x1f;
		} else {
			switch (b) {
			case 0xc1:
				return DOMINO_EINVAL;
			case 0xc4: case 0xd9: hdr = 1; break; /* bin8, str8 */
			case 0xc5: case 0xda: hdr = 2; break; /* bin16, str16 */
			case 0xc6: case 0xdb: hdr = 4; break; /* bin32, str32 */
			case 0xc7: hdr = 1; skip = 1; break;  /* ext8: len, type */
			case 0xc8: hdr = 2; skip = 1; break;
			case 0xc9: hdr = 4; skip = 1; break;
			case 0xca: case 0xce: case 0xd2: skip = 4; break;
			case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
			case 0xcc: case 0xd0: skip = 1; break;
			case 0xcd: case 0xd1: skip = 2; break;
			case 0xd4: skip = 2; break;  /* fixext1: type + 1 */
			case 0xd5: skip = 3; break;
			case 0xd6: skip = 5; break;
			case 0xd7: skip = 9; break;
			case 0xd8: skip = 17; break;
			case 0xdc: case 0xdd: /* array16/32 */
				container = 1;
				if (len - pos < (b == 0xdc ? 2u : 4u))
					return DOMINO_ETRUNC;
				count = be(p + pos, b == 0xdc ? 2 : 4);
				pos += b == 0xdc ? 2 : 4;
				break;
			case 0xde: case 0xdf: /* map16/32 */
				container = 1;
				if (len - pos < (b == 0xde ? 2u : 4u))
					return DOMINO_ETRUNC;
				count = be(p + pos, b == 0xde ? 2 : 4) * 2;
				pos += b == 0xde ? 2 : 4;
				break;
			default:
				return DOMINO_EINVAL;
			}
		}
		if (hdr > 0) {
			if (len - pos < (size_t)hdr)
				return DOMINO_ETRUNC;
			skip += be(p + pos, hdr);
			pos += hdr;
		}
		if (skip > len - pos)
			return DOMINO_ETRUNC;
		pos += skip;
		if (container && count > 0) {
			/* Every element takes at least one byte. */
			if (count > len - pos)
				return DOMINO_ETOOBIG;
			if (count > lim->max_elems - elems)
				return DOMINO_ETOOBIG;
			if (depth + 1 >= max_depth)
				return DOMINO_ETOOBIG;
			left[++depth] = count;
		}
	}
	if (used != NULL)
		*used = pos;
	return DOMINO_OK;
}
