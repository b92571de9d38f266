/* SPDX-License-Identifier: MIT */
/*
 * The writer thread; see writer.h. The queue's mutex guards only the queue
 * itself, never persistent state: all LMDB writes happen on this thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "fanout.h"
#include "log.h"
#include "store.h"
#include "writer.h"

struct writer {
	struct store *st;
	struct fanout *fo;
	uint32_t batch_max, queue_max;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wcmd *head, *tail;
	uint32_t len;
	int stopping, joined;
	struct writer_stats stats;
};

int
writer_submit(struct writer *w, struct wcmd *c)
{
	int rv = DOMINO_OK;

	c->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->stopping || w->len >= w->queue_max) {
		rv = DOMINO_EUNAVAIL;
	} else {
		if (w->tail != NULL)
			w->tail->next = c;
		else
			w->head = c;
		w->tail = c;
		w->len++;
		w->stats.queued++;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return rv;
}

static int
events_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct writer_events *we = (struct writer_events *)c;

	for (size_t i = 0; i < we->n; i++) {
		struct writer_event *e = &we->ev[i];
		int rv = store_append(t, e->source, e->id, e->buf, e->len,
		    e->repo, strlen(e->repo), &e->seq, &e->dup);
		if (rv != DOMINO_OK)
			return rv;
	}
	return DOMINO_OK;
}

static void
events_committed(struct wcmd *c, int status)
{
	struct writer_events *we = (struct writer_events *)c;

	we->done(we, status);
}

int
writer_submit_events(struct writer *w, struct writer_events *we)
{
	we->cmd.apply = events_apply;
	we->cmd.committed = events_committed;
	return writer_submit(w, &we->cmd);
}

/*
 * Apply a batch in one transaction. A full map aborts, grows and retries;
 * a command whose apply() fails with another error would leave partial
 * writes in the transaction, so the whole batch is retried without it.
 */
static int
apply_batch(struct writer *w, struct wcmd *batch)
{
	struct store_wtxn *t;
	int rv;

	for (int attempt = 0; attempt < 64; attempt++) {
		int redo = 0;

		if ((rv = store_wbegin(w->st, &t)) != DOMINO_OK)
			return rv;
		for (struct wcmd *c = batch; c != NULL; c = c->next) {
			if (c->status != DOMINO_OK && c->status != -1)
				continue; /* refused in an earlier attempt */
			c->status = c->apply(c, t);
			if (c->status == DOMINO_EFULL) {
				redo = 1;
				break;
			}
			if (c->status != DOMINO_OK) {
				redo = 2;
				break;
			}
		}
		if (redo == 0) {
			rv = store_commit(t);
			if (rv != DOMINO_EFULL)
				return rv;
		} else {
			store_abort(t);
		}
		if (redo == 2)
			continue;
		for (struct wcmd *c = batch; c != NULL; c = c->next)
			if (c->status == DOMINO_EFULL)
				c->status = -1;
		if ((rv = store_grow(w->st)) != DOMINO_OK)
			return rv;
	}
	return DOMINO_ESTORE;
}

static void
publish(struct writer *w, struct wcmd *c)
{
	struct writer_events *we = (struct writer_events *)c;

	if (c->apply != events_apply || w->fo == NULL)
		return;
	for (size_t i = 0; i < we->n; i++) {
		struct writer_event *e = &we->ev[i];
		if (!e->dup)
			fanout_publish(w->fo, e->repo, strlen(e->repo),
			    e->ref ? e->ref : "", e->ref ? strlen(e->ref) : 0,
			    e->buf, e->len);
	}
}

static void *
run(void *arg)
{
	struct writer *w = arg;

	for (;;) {
		struct wcmd *batch, *last, *c, *next;
		uint32_t n = 0;
		int rv;

		pthread_mutex_lock(&w->mu);
		while (w->head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->head == NULL) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		batch = last = w->head;
		for (n = 1; n < w->batch_max && last->next != NULL; n++)
			last = last->next;
		w->head = last->next;
		if (w->head == NULL)
			w->tail = NULL;
		last->next = NULL;
		w->len -= n;
		pthread_mutex_unlock(&w->mu);

		for (c = batch; c != NULL; c = c->next)
			c->status = -1; /* not yet applied */
		rv = apply_batch(w, batch);
		pthread_mutex_lock(&w->mu);
		w->stats.commits++;
		w->stats.commands += n;
		if (n > w->stats.batch_max_seen)
			w->stats.batch_max_seen = n;
		pthread_mutex_unlock(&w->mu);
		for (c = batch; c != NULL; c = next) {
			int st = rv != DOMINO_OK ? rv : c->status;
			next = c->next;
			if (st == DOMINO_OK)
				publish(w, c);
			c->committed(c, st);
		}
	}
	return NULL;
}

int
writer_start(struct store *st, struct fanout *fo, uint32_t batch_max,
    uint32_t queue_max, struct writer **out)
{
	struct writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return DOMINO_ENOMEM;
	w->st = st;
	w->fo = fo;
	w->batch_max = batch_max > 0 ? batch_max : 256;
	w->queue_max = queue_max > 0 ? queue_max : 65536;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
		return DOMINO_ENOMEM;
	}
	*out = w;
	return DOMINO_OK;
}

void
writer_get_stats(struct writer *w, struct writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	out->queued = w->len;
	pthread_mutex_unlock(&w->mu);
}

void
writer_stop(struct writer *w)
{
	int joined;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	joined = w->joined;
	w->stopping = 1;
	w->joined = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (!joined)
		pthread_join(w->thread, NULL);
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	writer_stop(w);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
