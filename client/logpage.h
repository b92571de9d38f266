/* SPDX-License-Identifier: MIT */
/*
 * Internal to libdomino: a `log` reply read in place. The reply comes from
 * the network, so it passes the bounded pre-check first; the events stay
 * bytes until the caller reads each with event_read(). No object tree is
 * built (a page holds up to 1,000 events).
 */
#ifndef DOMINO_LOGPAGE_H
#define DOMINO_LOGPAGE_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"

struct log_page {
	uint64_t next, first, gone[2], n; /* n: events in evs */
	int more, has_gone;
	struct mp_rd evs; /* at the first event */
};

/*
 * Read the reply buf[0..len) into p (which points into buf). Returns
 * DOMINO_OK for {ok: true, next, ...}, DOMINO_EREMOTE for {ok: false}
 * (the caller reads the error from the reply) and DOMINO_EPROTO for
 * anything else.
 */
int log_page_parse(const void *buf, size_t len, struct log_page *p);

#endif
