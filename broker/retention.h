/* SPDX-License-Identifier: MIT */
/*
 * Retention: trims the oldest events of the log by age, count and size
 * (config `retention`), in bounded steps, as writer commands. It never
 * trims an event that an open delivery (pending, failed, in flight) or a
 * durable cursor still needs; what is held back is reported.
 */
#ifndef DOMINO_RETENTION_H
#define DOMINO_RETENTION_H

#include <stdint.h>

struct config;
struct store;
struct writer;
struct retention;

struct retention_stats {
	uint64_t trimmed;     /* events trimmed since start */
	uint64_t held_back;   /* events due for trimming but still needed */
	uint64_t held_by_seq; /* the oldest seq something still needs, 0 none */
};

/* Start the periodic trimming (every period_ms); a no-op thread when no
 * retention limit is set. */
int retention_start(const struct config *cfg, struct store *st,
    struct writer *w, uint32_t period_ms, struct retention **out);

/* Run one trim pass now and wait for it (tests, `domino status`). */
int retention_run(struct retention *r);

void retention_get_stats(struct retention *r, struct retention_stats *out);

/* Stop the thread (the writer must still run); stats stay readable. */
void retention_stop(struct retention *r);

/* Free (stopping first if needed). NULL is a no-op. */
void retention_free(struct retention *r);

#endif
