/* SPDX-License-Identifier: MIT */
/*
 * Live fan-out on an nng pub0 socket: each committed event is sent once as
 * `repo NUL ref NUL event`, or, with the consecutive events of the same
 * topic committed together, as one `repo NUL ref NUL [event, ...]`; a
 * heartbeat carrying the last committed seq goes out every heartbeat
 * period. Lossy by design (nng drops for slow subscribers); subscribers
 * fill gaps from the log. A batch costs pub0 one message per subscriber
 * instead of one per event and subscriber: under load, most of the cost.
 */
#ifndef DOMINO_FANOUT_H
#define DOMINO_FANOUT_H

#include <stddef.h>
#include <stdint.h>

struct fanout;
struct store;
struct nng_tls_config;

/*
 * Listen on url. The heartbeat reads the last seq from st. A subscriber
 * past max_subscribers (0: no limit) is disconnected at once. A tls+tcp://
 * url uses tls (the server configuration; NULL is then an error). *bound gets
 * the actual address (port 0 resolved), malloc'd. Returns DOMINO_OK or
 * DOMINO_ETRANSPORT with a reason in err.
 */
int fanout_open(const char *url, struct store *st, uint32_t heartbeat_ms,
    uint64_t max_subscribers, struct nng_tls_config *tls, struct fanout **out,
    char **bound, char *err, size_t errlen);

#define FANOUT_BATCH_EVENTS 256
#define FANOUT_BATCH_BYTES (256 * 1024)

/* Committed events on their way out, in seq order; zero it to start. */
struct fanout_batch {
	const char *repo, *ref;
	size_t repo_len, ref_len;
	struct {
		const void *p;
		size_t len;
	} ev[FANOUT_BATCH_EVENTS];
	size_t n, bytes;
};

/*
 * Add one committed event to b, sending what b held first when the topic
 * differs or b is full. ev (and repo, ref) must stay valid until the next
 * fanout_flush. Never blocks.
 */
void fanout_add(struct fanout *f, struct fanout_batch *b, const char *repo,
    size_t repo_len, const char *ref, size_t ref_len, const void *ev,
    size_t len);

/* Send what b holds: one event as itself, more as a batch. */
void fanout_flush(struct fanout *f, struct fanout_batch *b);

/* Events sent so far, and subscribers connected now (for stats). */
uint64_t fanout_sent(const struct fanout *f);
uint64_t fanout_subscribers(const struct fanout *f);

void fanout_close(struct fanout *f);

#endif
