/* SPDX-License-Identifier: MIT */
/* See prepare.h. */
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "event.h"
#include "prepare.h"

int
prepare_uuid(char **out)
{
	unsigned char b[16];
	char s[37];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(s, sizeof(s),
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
	return domino_event_set(out, s, (size_t)-1);
}

void
prepare_free(struct writer_events *we)
{
	if (we == NULL)
		return;
	/* Every event's bytes are in one block, which starts the first. */
	if (we->n > 0)
		free(we->ev[0].buf);
	free(we);
}

int
prepare_events(struct domino_event *evs, size_t n, const char *source,
    const uint8_t *payload, size_t payload_len, struct writer_events **out,
    char *msg, size_t msglen)
{
	struct writer_events *we;
	int64_t now = clock_now_ns();
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv = DOMINO_ENOMEM;

	/* One block for all the events: a publish of many makes one
	 * allocation, not one 8 KiB sbuffer per event (per-thread malloc
	 * arenas grew and shrank by mprotect under that churn). */
	we = calloc(1, sizeof(*we) + n * sizeof(we->ev[0]));
	if (we == NULL)
		return DOMINO_ENOMEM;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (size_t i = 0; i < n; i++) {
		struct domino_event *ev = &evs[i];
		struct writer_event *e = &we->ev[i];

		if (domino_event_set(&ev->source, source, (size_t)-1) != 0)
			goto fail;
		if (ev->id == NULL && prepare_uuid(&ev->id) != 0)
			goto fail;
		if (strlen(ev->id) > PREPARE_ID_MAX) {
			snprintf(msg, msglen, "the delivery id is longer than %d bytes",
			    PREPARE_ID_MAX);
			rv = DOMINO_EINVAL;
			goto fail;
		}
		if (ev->repo == NULL && domino_event_set(&ev->repo, "", 0) != 0)
			goto fail;
		ev->time = now;
		/* The payload is lent for encoding only. */
		ev->payload = (uint8_t *)payload;
		ev->payload_len = payload ? payload_len : 0;
		e->len = sb.size; /* the offset, until the block is final */
		rv = event_pack(&pk, ev, 1);
		ev->payload = NULL;
		ev->payload_len = 0;
		if (rv != DOMINO_OK)
			goto fail;
		e->source = ev->source;
		e->id = ev->id;
		e->repo = ev->repo;
		e->ref = ev->ref;
		e->type = ev->type;
	}
	for (size_t i = 0; i < n; i++) {
		size_t off = we->ev[i].len;
		we->ev[i].buf = sb.data + off;
		we->ev[i].len = (i + 1 < n ? we->ev[i + 1].len : sb.size) - off;
	}
	we->n = n;
	*out = we;
	return DOMINO_OK;
fail:
	if (rv == DOMINO_ENOMEM)
		snprintf(msg, msglen, "out of memory");
	msgpack_sbuffer_destroy(&sb);
	free(we);
	return rv;
}
