/* SPDX-License-Identifier: MIT */
/*
 * Retention; see retention.h. A pass is one writer command: it works out
 * the first seq to keep from the three limits, lowers it to what open
 * deliveries and durable cursors need, and deletes at most STEP events.
 * A pass that hit STEP runs again right away.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "retention.h"
#include "store.h"
#include "writer.h"

#define STEP 10000

struct retention {
	const struct config *cfg;
	struct store *st;
	struct writer *w;
	uint32_t period_ms;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, running;
	struct retention_stats stats;
};

struct trim_cmd {
	struct wcmd cmd;
	struct retention *r;
	uint64_t trimmed, held, held_by;
	int more;
	int done, status;
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static int
min_due(void *arg, uint64_t due_ns, const char *listener, uint64_t seq)
{
	uint64_t *m = arg;

	(void)due_ns;
	(void)listener;
	if (*m == 0 || seq < *m)
		*m = seq;
	return 0;
}

static int
min_cursor(void *arg, const char *name, size_t nlen, uint64_t seq)
{
	uint64_t *m = arg;

	(void)name;
	(void)nlen;
	if (*m == 0 || seq + 1 < *m)
		*m = seq + 1;
	return 0;
}

/* First seq to keep by the limits (0: nothing to trim). */
static uint64_t
wanted_before(struct retention *r, struct store_txn *v)
{
	const struct config *c = r->cfg;
	uint64_t last = store_last_seq(r->st), before = 0, first, count;
	int64_t oldest;

	if (store_oldest_time(v, &oldest, &first) != DOMINO_OK || first == 0)
		return 0;
	if (c->retention.max_events > 0 && last - first + 1 > c->retention.max_events)
		before = last - c->retention.max_events + 1;
	if (c->retention.max_age_s > 0) {
		int64_t cutoff = clock_now_ns() - (int64_t)c->retention.max_age_s * 1000000000;
		uint64_t age_before = 0;
		if (oldest < cutoff &&
		    store_seq_after_time(v, cutoff, STEP, &age_before) == DOMINO_OK &&
		    age_before > before)
			before = age_before;
	}
	count = store_events_count(v);
	if (c->retention.max_bytes > 0 && count > 0) {
		uint64_t bytes = store_events_bytes(v), avg = bytes / count + 1;
		if (bytes > c->retention.max_bytes) {
			uint64_t n = (bytes - c->retention.max_bytes) / avg + 1;
			if (first + n > before)
				before = first + n;
		}
	}
	return before;
}

static int
trim_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct trim_cmd *tc = (struct trim_cmd *)c;
	struct store_txn *v = store_wtxn_view(t);
	uint64_t before, need = 0, bytes;
	int rv;

	tc->trimmed = tc->held = tc->held_by = 0;
	tc->more = 0;
	before = wanted_before(tc->r, v);
	if (before == 0)
		return DOMINO_OK;
	if ((rv = store_due_each(v, min_due, &need)) != DOMINO_OK ||
	    (rv = store_cursor_each(v, min_cursor, &need)) != DOMINO_OK)
		return rv;
	if (need != 0 && need < before) {
		tc->held = before - need;
		tc->held_by = need;
		before = need;
	}
	rv = store_trim(t, before, STEP, &tc->trimmed, &bytes);
	tc->more = tc->trimmed == STEP;
	return rv;
}

static void
trim_committed(struct wcmd *c, int status)
{
	struct trim_cmd *tc = (struct trim_cmd *)c;

	pthread_mutex_lock(&tc->mu);
	tc->status = status;
	tc->done = 1;
	pthread_cond_signal(&tc->cv);
	pthread_mutex_unlock(&tc->mu);
}

/* One pass, waited for. Returns whether another pass is needed now. */
static int
pass(struct retention *r)
{
	struct trim_cmd tc = {.r = r};
	int more = 0;

	pthread_mutex_init(&tc.mu, NULL);
	pthread_cond_init(&tc.cv, NULL);
	tc.cmd.apply = trim_apply;
	tc.cmd.committed = trim_committed;
	if (writer_submit(r->w, &tc.cmd) == DOMINO_OK) {
		pthread_mutex_lock(&tc.mu);
		while (!tc.done)
			pthread_cond_wait(&tc.cv, &tc.mu);
		pthread_mutex_unlock(&tc.mu);
		if (tc.status == DOMINO_OK) {
			pthread_mutex_lock(&r->mu);
			r->stats.trimmed += tc.trimmed;
			r->stats.held_back = tc.held;
			r->stats.held_by_seq = tc.held_by;
			pthread_mutex_unlock(&r->mu);
			if (tc.trimmed > 0)
				log_msg(LOG_INFO, "retention: trimmed events=%llu held_back=%llu",
				    (unsigned long long)tc.trimmed,
				    (unsigned long long)tc.held);
			more = tc.more;
		}
	}
	pthread_mutex_destroy(&tc.mu);
	pthread_cond_destroy(&tc.cv);
	return more;
}

static int
has_limits(const struct config *c)
{
	return c->retention.max_age_s || c->retention.max_events ||
	    c->retention.max_bytes;
}

static void *
run(void *arg)
{
	struct retention *r = arg;

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct timespec ts;
		int more;

		pthread_mutex_unlock(&r->mu);
		more = pass(r);
		pthread_mutex_lock(&r->mu);
		if (more || r->stop)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += r->period_ms / 1000;
		ts.tv_nsec += (long)(r->period_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int
retention_start(const struct config *cfg, struct store *st, struct writer *w,
    uint32_t period_ms, struct retention **out)
{
	struct retention *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return DOMINO_ENOMEM;
	r->cfg = cfg;
	r->st = st;
	r->w = w;
	r->period_ms = period_ms ? period_ms : 60000;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (has_limits(cfg)) {
		if (pthread_create(&r->th, NULL, run, r) != 0) {
			free(r);
			return DOMINO_ENOMEM;
		}
		r->running = 1;
	}
	*out = r;
	return DOMINO_OK;
}

int
retention_run(struct retention *r)
{
	if (has_limits(r->cfg))
		while (pass(r))
			;
	return DOMINO_OK;
}

void
retention_get_stats(struct retention *r, struct retention_stats *out)
{
	pthread_mutex_lock(&r->mu);
	*out = r->stats;
	pthread_mutex_unlock(&r->mu);
}

void
retention_stop(struct retention *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (r->running)
		pthread_join(r->th, NULL);
	r->running = 0;
}

void
retention_free(struct retention *r)
{
	if (r == NULL)
		return;
	retention_stop(r);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}
