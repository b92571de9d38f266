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

int
mp_rd_init(struct mp_rd *r, const void *buf, size_t len,
    const struct mp_limits *lim)
{
	size_t used = len;
	int rv = lim != NULL ? mp_check(buf, len, lim, &used) : DOMINO_OK;

	*r = (struct mp_rd){buf, rv == DOMINO_OK ? used : 0, 0};
	return rv;
}

/* A big-endian n-byte unsigned at the cursor; -1 if it is cut short. */
static int
rd_be(struct mp_rd *r, int n, uint64_t *v)
{
	if (r->len - r->pos < (size_t)n)
		return -1;
	*v = be(r->p + r->pos, n);
	r->pos += (size_t)n;
	return 0;
}

/* A container header: fix form in [lo, lo + 15], else 16/32-bit forms. */
static int
rd_count(struct mp_rd *r, uint8_t lo, uint8_t b16, uint64_t *n)
{
	size_t at = r->pos;
	uint8_t b;

	if (r->pos >= r->len)
		return -1;
	b = r->p[r->pos++];
	if (b >= lo && b <= lo + 0x0f)
		*n = b & 0x0f;
	else if (!(b == b16 && rd_be(r, 2, n) == 0) &&
	    !(b == b16 + 1 && rd_be(r, 4, n) == 0)) {
		r->pos = at;
		return -1;
	}
	return 0;
}

int
mp_rd_map(struct mp_rd *r, uint64_t *n)
{
	return rd_count(r, 0x80, 0xde, n);
}

int
mp_rd_array(struct mp_rd *r, uint64_t *n)
{
	return rd_count(r, 0x90, 0xdc, n);
}

int
mp_rd_str(struct mp_rd *r, const char **s, size_t *n)
{
	size_t at = r->pos;
	uint64_t l;
	uint8_t b;

	if (r->pos >= r->len)
		return -1;
	b = r->p[r->pos++];
	if (b >= 0xa0 && b <= 0xbf)
		l = b & 0x1f;
	else if (!(b >= 0xd9 && b <= 0xdb && rd_be(r, 1 << (b - 0xd9), &l) == 0))
		goto no;
	if (l > r->len - r->pos)
		goto no;
	*s = (const char *)r->p + r->pos;
	*n = (size_t)l;
	r->pos += (size_t)l;
	return 0;
no:
	r->pos = at;
	return -1;
}

/*
 * Any int form: a value >= 0 into *u (neg 0), a negative one into *s
 * (neg 1). Signed forms holding a value >= 0 count as such, as in
 * msgpack-c.
 */
static int
rd_intform(struct mp_rd *r, uint64_t *u, int64_t *s, int *neg)
{
	size_t at = r->pos;
	uint8_t b;

	if (r->pos >= r->len)
		return -1;
	b = r->p[r->pos++];
	*neg = 0;
	if (b <= 0x7f) {
		*u = b;
	} else if (b >= 0xe0) {
		*s = (int8_t)b;
		*neg = 1;
	} else if (b >= 0xcc && b <= 0xcf) {
		if (rd_be(r, 1 << (b - 0xcc), u) != 0)
			goto no;
	} else if (b >= 0xd0 && b <= 0xd3) {
		int n = 1 << (b - 0xd0);
		if (rd_be(r, n, u) != 0)
			goto no;
		/* Sign-extend from n bytes. */
		*s = n == 8 ? (int64_t)*u :
		    (int64_t)(*u << (64 - 8 * n)) >> (64 - 8 * n);
		if (*s >= 0)
			*u = (uint64_t)*s;
		else
			*neg = 1;
	} else {
		goto no;
	}
	return 0;
no:
	r->pos = at;
	return -1;
}

int
mp_rd_int(struct mp_rd *r, int64_t *v)
{
	size_t at = r->pos;
	uint64_t u;
	int64_t s;
	int neg;

	if (rd_intform(r, &u, &s, &neg) != 0)
		return -1;
	if (neg) {
		*v = s;
	} else if (u <= INT64_MAX) {
		*v = (int64_t)u;
	} else {
		r->pos = at;
		return -1;
	}
	return 0;
}

int
mp_rd_uint(struct mp_rd *r, uint64_t *v)
{
	size_t at = r->pos;
	uint64_t u;
	int64_t s;
	int neg;

	if (rd_intform(r, &u, &s, &neg) != 0)
		return -1;
	if (neg) {
		r->pos = at;
		return -1;
	}
	*v = u;
	return 0;
}

int
mp_rd_bin(struct mp_rd *r, const void **s, size_t *n)
{
	size_t at = r->pos;
	uint64_t l;
	uint8_t b;

	if (r->pos >= r->len)
		return -1;
	b = r->p[r->pos++];
	if (b < 0xc4 || b > 0xc6 || rd_be(r, 1 << (b - 0xc4), &l) != 0 ||
	    l > r->len - r->pos) {
		r->pos = at;
		return -1;
	}
	*s = r->p + r->pos;
	*n = (size_t)l;
	r->pos += (size_t)l;
	return 0;
}

int
mp_rd_nil(struct mp_rd *r)
{
	if (r->pos >= r->len || r->p[r->pos] != 0xc0)
		return -1;
	r->pos++;
	return 0;
}

int
mp_rd_bool(struct mp_rd *r, int *b)
{
	if (r->pos >= r->len || (r->p[r->pos] & 0xfe) != 0xc2)
		return -1;
	*b = r->p[r->pos++] == 0xc3;
	return 0;
}

int
mp_rd_skip(struct mp_rd *r)
{
	size_t used;

	if (r->pos >= r->len || mp_check(r->p + r->pos, r->len - r->pos,
	    &mp_default_limits, &used) != DOMINO_OK)
		return -1;
	r->pos += used;
	return 0;
}
