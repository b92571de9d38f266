/* SPDX-License-Identifier: MIT */
/*
 * The delivery engine: makes every delivery record reach its listener at
 * least once. A dispatcher thread walks the `due` index, claims due
 * deliveries (state in_flight, through the writer), and hands them to a pool
 * of worker threads that call the listener's callback plugin; each answer
 * goes back through the writer as a state change with a history entry:
 * ok, failed with the next attempt scheduled (backoff with jitter,
 * Retry-After honoured), or dead after the policy's last attempt. A slow or
 * dead listener only uses its own in-flight slots (default 4).
 *
 * After a restart, deliveries left in_flight are made due again before
 * dispatching starts, so nothing is lost; an `ok` that was committed is
 * never delivered again.
 */
#ifndef DOMINO_DELIVER_H
#define DOMINO_DELIVER_H

#include <stdint.h>

struct config;
struct store;
struct writer;
struct deliver;

/* Delivery latency buckets (seconds from the event's arrival to its ok). */
#define DELIVER_LAT_BUCKETS 11
extern const double deliver_lat_bounds_s[DELIVER_LAT_BUCKETS - 1];
#define DELIVER_PLUGINS_MAX 16

struct deliver_stats {
	uint64_t dispatched, ok, retried, dead;
	uint32_t in_flight;
	uint64_t lat_hist[DELIVER_LAT_BUCKETS];
	double lat_sum_s;
	/* outcomes per plugin (the first DELIVER_PLUGINS_MAX names seen) */
	struct {
		char name[64];
		uint64_t ok, retried, dead;
	} plugin[DELIVER_PLUGINS_MAX];
	int n_plugins;
};

/*
 * Recover deliveries left in flight, then start the dispatcher and
 * workers. The writer must be running. DOMINO_OK or an error.
 */
int deliver_start(const struct config *cfg, struct store *st,
    struct writer *w, struct deliver **out);

/* Wake the dispatcher (new or changed deliveries were committed). Any
 * thread; cheap. */
void deliver_kick(void *d);

void deliver_get_stats(struct deliver *d, struct deliver_stats *out);

/*
 * Stop dispatching; let deliveries already running finish (each plugin has
 * its own timeout) and queue their results on the writer; join the
 * threads. Deliveries claimed but not started stay in_flight in the store
 * and are recovered on the next start. The writer must still run.
 */
void deliver_stop(struct deliver *d);

/* Free after deliver_stop and after the writer has stopped. */
void deliver_free(struct deliver *d);

/*
 * The retry schedule: the delay (ms) before attempt number attempts+1
 * after `attempts` failed ones, or -1 when the policy has no attempt left.
 * retry is the listener's `retry` map (msgpack) or NULL for the default.
 * Exposed for tests; jitter is ±10 % (none on a zero delay).
 */
int64_t deliver_backoff_ms(const char *retry, size_t retry_len,
    unsigned attempts, int jitter);

#endif
