/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the client's reading of `log` replies (client/logpage.c)
 * as domino_log() does it: outside bytes as a reply, then every event of
 * an accepted page read with event_read() until one is malformed. The
 * page may only point inside the reply.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "logpage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	uint8_t *buf = malloc(size ? size : 1);
	struct log_page p;
	int rv;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	rv = log_page_parse(buf, size, &p);
	if (rv == DOMINO_OK) {
		if (p.n > size || p.evs.pos > p.evs.len || p.evs.len > size)
			abort();
		for (uint64_t i = 0; i < p.n; i++) {
			struct domino_event ev;
			if (event_read(&p.evs, &ev) != DOMINO_OK)
				break; /* domino_log stops at a bad event too */
			domino_event_clear(&ev);
			if (p.evs.pos > p.evs.len)
				abort();
		}
	} else if (rv != DOMINO_EREMOTE && rv != DOMINO_EPROTO) {
		abort();
	}
	free(buf);
	return 0;
}
