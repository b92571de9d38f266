/* SPDX-License-Identifier: MIT */
/*
 * Bounded, allocation-free pre-check of msgpack bytes from the network.
 *
 * msgpack-c trusts the element counts in map and array headers, so a few
 * bytes can make msgpack_unpack*() allocate gigabytes. Every msgpack buffer
 * from outside passes mp_check() first: each declared count must fit in the
 * bytes that are left (every element takes at least one byte), nesting and
 * the total number of elements are capped. It does not decode anything.
 */
#ifndef DOMINO_CHECK_H
#define DOMINO_CHECK_H

#include <stddef.h>
#include <stdint.h>

struct mp_limits {
	size_t max_depth; /* nesting of maps/arrays, e.g. 32 */
	size_t max_elems; /* all values and keys together, e.g. 1 << 20 */
};

/* Limits used for events and control messages. */
extern const struct mp_limits mp_default_limits;

/*
 * Check that buf[0..len) starts with exactly one complete msgpack object
 * within the limits. *used (may be NULL) gets its size. Trailing bytes are
 * allowed; callers that want exactly one object compare *used with len.
 * Returns DOMINO_OK, DOMINO_ETRUNC (ends early), DOMINO_ETOOBIG (a limit or
 * an impossible count), or DOMINO_EINVAL (the reserved byte 0xc1).
 */
int mp_check(const void *buf, size_t len, const struct mp_limits *lim,
    size_t *used);

/*
 * Allocation-free reading of msgpack that passed mp_check(): a cursor over
 * the bytes. Each mp_rd_* reads one value of the type it names and returns
 * 0, or returns -1 and leaves the cursor where it was (the caller may then
 * mp_rd_skip() the value). Strings point into the buffer, not NUL-ended.
 */
struct mp_rd {
	const uint8_t *p;
	size_t len, pos;
};

/*
 * Check buf (mp_check with lim) and start r at its first object, bounded
 * to it. Returns what mp_check returns. With lim NULL, for bytes domino
 * wrote and validated itself, r covers all of buf unchecked: every read
 * stays within it, but a value cut short only shows when it is reached.
 */
int mp_rd_init(struct mp_rd *r, const void *buf, size_t len,
    const struct mp_limits *lim);
int mp_rd_map(struct mp_rd *r, uint64_t *n);
int mp_rd_array(struct mp_rd *r, uint64_t *n);
int mp_rd_str(struct mp_rd *r, const char **s, size_t *n);
int mp_rd_int(struct mp_rd *r, int64_t *v);  /* any int that fits int64 */
int mp_rd_uint(struct mp_rd *r, uint64_t *v); /* any int form, value >= 0 */
int mp_rd_bool(struct mp_rd *r, int *b);
int mp_rd_bin(struct mp_rd *r, const void **s, size_t *n);
int mp_rd_nil(struct mp_rd *r);
/* Step over one whole value, whatever its type. */
int mp_rd_skip(struct mp_rd *r);

/* Whether s[0..n) is the C string k. */
static inline int
mp_rd_is(const char *s, size_t n, const char *k)
{
	size_t i = 0;
	for (; i < n && k[i] != '\0'; i++)
		if (s[i] != k[i])
			return 0;
	return i == n && k[i] == '\0';
}

#endif
