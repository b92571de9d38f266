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

#endif
