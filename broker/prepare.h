/* SPDX-License-Identifier: MIT */
/*
 * Turn normalized events (from a forge, or from a `publish` request) into a
 * writer command: fill in source, id (a UUID when the source sent none),
 * time and payload, and encode each event once. Shared by HTTP ingest and
 * the control socket so both store exactly the same thing.
 */
#ifndef DOMINO_PREPARE_H
#define DOMINO_PREPARE_H

#include <stddef.h>
#include <stdint.h>

#include "writer.h"

struct domino_event;

/* Longest delivery id accepted (bytes). */
#define PREPARE_ID_MAX 256

/*
 * Build a writer_events command for evs[0..n). The events are completed in
 * place (source, id, time) and must outlive the command: its repo/ref/id
 * pointers borrow from them. payload (may be NULL) is encoded into every
 * event. On success *out is a new command (free with prepare_free after
 * its done callback). Returns DOMINO_OK, DOMINO_EINVAL (msg says why) or
 * DOMINO_ENOMEM.
 */
int prepare_events(struct domino_event *evs, size_t n, const char *source,
    const uint8_t *payload, size_t payload_len, struct writer_events **out,
    char *msg, size_t msglen);

/* Free a command made by prepare_events (its buffers and itself). */
void prepare_free(struct writer_events *we);

/* A random UUID v4 string into *out (malloc'd). */
int prepare_uuid(char **out);

#endif
