/* SPDX-License-Identifier: MIT */
/*
 * The writer thread; see writer.h. The queue's mutex guards only the queue
 * itself, never persistent state: all LMDB writes happen on this thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "delivery.h"
#include "err.h"
#include "fanout.h"
#include "log.h"
#include "match.h"
#include "store.h"
#include "writer.h"

struct writer {
	struct store *st;
	struct fanout *fo;
	uint32_t batch_max, queue_max, graph_depth;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wcmd *head, *tail;
	uint32_t len;
	int stopping, joined;
	/*
	 * Committed commands wait here for the completer thread, which
	 * publishes their events and answers them while this thread is
	 * already applying and syncing the next batch. Guarded by cmu.
	 */
	pthread_t cthread;
	pthread_mutex_t cmu;
	pthread_cond_t ccv;
	struct wcmd *chead, *ctail;
	int cstopping;
	struct fanout_batch *fb; /* the completer's */
	void (*hook)(void *arg);
	void *hook_arg;
	struct writer_stats stats;
	/* Writer-thread-only match counters, folded into stats per batch. */
	uint64_t m_events, m_hits, m_ns;
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

const uint64_t writer_commit_bounds_us[WRITER_COMMIT_BUCKETS - 1] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 100000, 1000000,
};

/* How far back coalescing looks for a pending delivery to supersede. */
#define COALESCE_WINDOW 10000

struct supersede {
	const char *repo, *ref;
	uint64_t *seqs;
	size_t n, cap;
};

static int
find_superseded(void *arg, const char *listener, uint64_t seq,
    const void *data, size_t len)
{
	struct supersede *s = arg;
	struct delivery r;

	(void)listener;
	if (delivery_decode(data, len, &r) != DOMINO_OK)
		return 0;
	if (strcmp(r.state, "pending") == 0 && strcmp(r.repo, s->repo) == 0 &&
	    strcmp(r.ref, s->ref ? s->ref : "") == 0) {
		if (s->n == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 8;
			uint64_t *v = realloc(s->seqs, cap * sizeof(*v));
			if (v == NULL) {
				delivery_clear(&r);
				return 1;
			}
			s->seqs = v;
			s->cap = cap;
		}
		s->seqs[s->n++] = seq;
	}
	delivery_clear(&r);
	return 0;
}

/*
 * Coalescing: a newer event for the same repo@ref supersedes deliveries
 * still pending for it, because a downstream CI only needs to test the
 * newest upstream commit. The superseded record says by which seq.
 */
static int
coalesce(struct store_wtxn *t, const char *listener, const struct writer_event *e,
    int64_t now)
{
	struct supersede s = {.repo = e->repo, .ref = e->ref};
	uint64_t from = e->seq > COALESCE_WINDOW ? e->seq - COALESCE_WINDOW : 0;
	char why[64];
	int rv;

	rv = store_delivery_each(store_wtxn_view(t), listener, from,
	    find_superseded, &s);
	snprintf(why, sizeof(why), "superseded by seq %llu",
	    (unsigned long long)e->seq);
	for (size_t i = 0; rv == DOMINO_OK && i < s.n; i++) {
		const void *data;
		size_t len;
		struct delivery r;
		char *buf;

		if (s.seqs[i] == e->seq ||
		    store_delivery_get(store_wtxn_view(t), listener, s.seqs[i],
		    &data, &len) != DOMINO_OK ||
		    delivery_decode(data, len, &r) != DOMINO_OK)
			continue;
		rv = store_due_del(t, (uint64_t)r.next, listener, s.seqs[i]);
		snprintf(r.state, sizeof(r.state), "superseded");
		r.next = 0;
		if (rv == DOMINO_OK)
			rv = delivery_add_history(&r, now, r.attempt, "superseded", -1, why);
		if (rv == DOMINO_OK && (rv = delivery_encode(&r, &buf, &len)) == DOMINO_OK) {
			rv = store_delivery_put(t, listener, s.seqs[i], buf, len, 0);
			free(buf);
		}
		delivery_clear(&r);
	}
	free(s.seqs);
	return rv;
}

/* Create the delivery records of one new event from its walk (same
 * transaction). */
static int
deliveries_of(struct store_wtxn *t, struct writer_event *e,
    const struct match_result *mr, int64_t now)
{
	int rv = DOMINO_OK;

	e->matched = 0;
	for (size_t i = 0; rv == DOMINO_OK && i < mr->n; i++) {
		const char **via;
		size_t nv, len;
		char *rec;

		/* A disabled listener still gets its records: they wait as
		 * its backlog until it is enabled. */
		if ((rv = match_via(mr, i, e->repo, &via, &nv)) != DOMINO_OK)
			break;
		rv = delivery_new(via, nv, e->repo, e->ref, e->type, now, &rec,
		    &len);
		free(via);
		if (rv != DOMINO_OK)
			break;
		rv = store_delivery_put(t, mr->hits[i].name, e->seq, rec, len,
		    (uint64_t)now);
		free(rec);
		if (rv == DOMINO_OK && mr->hits[i].coalesce)
			rv = coalesce(t, mr->hits[i].name, e, now);
		e->matched++;
	}
	return rv;
}

/*
 * Append a command's events, walk the graph for the new ones, then create
 * their delivery records, in event order. The walks read only the
 * listener index, which neither appends nor deliveries change, so doing
 * them together changes nothing but the cost of timing them: the thread
 * CPU clock is a system call that takes the run-queue lock, and per event
 * it cost the writer a third of its time on batched publishes.
 */
static int
events_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct writer_events *we = (struct writer_events *)c;
	struct writer *w = we->writer;
	struct match_result one = {0}, *mr = &one;
	int64_t now = clock_now_ns(), cpu;
	int rv = DOMINO_OK;
	size_t walked = 0;

	for (size_t i = 0; rv == DOMINO_OK && i < we->n; i++) {
		struct writer_event *e = &we->ev[i];
		rv = store_append(t, e->source, e->id, e->buf, e->len,
		    e->repo, strlen(e->repo), &e->seq, &e->dup);
		e->matched = 0;
	}
	if (rv != DOMINO_OK)
		return rv;
	if (we->n > 1 && (mr = calloc(we->n, sizeof(*mr))) == NULL)
		return DOMINO_ENOMEM;
	cpu = clock_thread_cpu_ns();
	for (size_t i = 0; rv == DOMINO_OK && i < we->n; i++) {
		struct writer_event *e = &we->ev[i];
		if (e->dup)
			continue;
		rv = match_run(store_wtxn_view(t), e->repo, e->ref, e->type, 1,
		    w->graph_depth, &mr[i]);
		w->m_hits += mr[i].n;
		walked++;
	}
	w->m_ns += (uint64_t)(clock_thread_cpu_ns() - cpu);
	w->m_events += walked;
	for (size_t i = 0; rv == DOMINO_OK && i < we->n; i++)
		if (!we->ev[i].dup)
			rv = deliveries_of(t, &we->ev[i], &mr[i], now);
	for (size_t i = 0; i < we->n; i++)
		match_result_clear(&mr[i]);
	if (mr != &one)
		free(mr);
	return rv;
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
	we->writer = w;
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
	int rv, grows = 0;

	/*
	 * A refusal drops one more command from the batch for good, so
	 * refusals end after at most one retry per command; only map growth
	 * needs a bound.
	 */
	for (;;) {
		int redo = 0;

		if ((rv = store_wbegin(w->st, &t)) != DOMINO_OK)
			return rv;
		/* Match figures count the attempt that commits, not retries. */
		w->m_events = w->m_hits = w->m_ns = 0;
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
		if (++grows > 64)
			return DOMINO_ESTORE;
		for (struct wcmd *c = batch; c != NULL; c = c->next)
			if (c->status == DOMINO_EFULL)
				c->status = -1;
		if ((rv = store_grow(w->st)) != DOMINO_OK)
			return rv;
	}
}

static void
publish(struct writer *w, struct wcmd *c, struct fanout_batch *b)
{
	struct writer_events *we = (struct writer_events *)c;

	if (c->apply != events_apply || w->fo == NULL)
		return;
	for (size_t i = 0; i < we->n; i++) {
		struct writer_event *e = &we->ev[i];
		if (!e->dup)
			fanout_add(w->fo, b, e->repo, strlen(e->repo),
			    e->ref ? e->ref : "", e->ref ? strlen(e->ref) : 0,
			    e->buf, e->len);
	}
}

/* Hand a committed batch (first..last, in queue order) to the completer. */
static void
complete(struct writer *w, struct wcmd *first, struct wcmd *last)
{
	pthread_mutex_lock(&w->cmu);
	if (w->ctail != NULL)
		w->ctail->next = first;
	else
		w->chead = first;
	w->ctail = last;
	pthread_cond_signal(&w->ccv);
	pthread_mutex_unlock(&w->cmu);
}

/* Tell the completer to end once its queue is empty, and wait for it. */
static void
stop_completer(struct writer *w)
{
	pthread_mutex_lock(&w->cmu);
	w->cstopping = 1;
	pthread_cond_signal(&w->ccv);
	pthread_mutex_unlock(&w->cmu);
	pthread_join(w->cthread, NULL);
}

static void *
run(void *arg)
{
	struct writer *w = arg;

	for (;;) {
		struct wcmd *batch, *last, *c;
		uint32_t n = 0;
		int64_t t0;
		uint64_t us;
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
		t0 = clock_now_ns();
		rv = apply_batch(w, batch);
		us = (uint64_t)(clock_now_ns() - t0) / 1000;
		pthread_mutex_lock(&w->mu);
		w->stats.commits++;
		w->stats.commands += n;
		w->stats.failed_commits += rv != DOMINO_OK;
		w->stats.match_events += w->m_events;
		w->stats.match_hits += w->m_hits;
		w->stats.match_ns_sum += w->m_ns;
		w->m_events = w->m_hits = w->m_ns = 0;
		if (n > w->stats.batch_max_seen)
			w->stats.batch_max_seen = n;
		{
			size_t b = 0;
			while (b < WRITER_BATCH_BUCKETS - 1 && n > (1u << b))
				b++;
			w->stats.batch_hist[b]++;
			b = 0;
			while (b < WRITER_COMMIT_BUCKETS - 1 &&
			    us > writer_commit_bounds_us[b])
				b++;
			w->stats.commit_hist[b]++;
			w->stats.commit_us_sum += us;
		}
		pthread_mutex_unlock(&w->mu);
		for (c = batch; c != NULL; c = c->next)
			if (rv != DOMINO_OK)
				c->status = rv;
		complete(w, batch, last);
	}
	return NULL;
}

/*
 * The completer: in commit order, publish the committed events live, then
 * call each command's committed(). One thread, so subscribers see events
 * in seq order. Everything committed since it last looked goes out
 * together, so runs of one topic make one message.
 */
static void *
completer(void *arg)
{
	struct writer *w = arg;
	struct fanout_batch *b = w->fb;

	for (;;) {
		struct wcmd *c, *first, *next;
		int any_ok = 0;

		pthread_mutex_lock(&w->cmu);
		while (w->chead == NULL && !w->cstopping)
			pthread_cond_wait(&w->ccv, &w->cmu);
		c = w->chead;
		w->chead = w->ctail = NULL;
		pthread_mutex_unlock(&w->cmu);
		if (c == NULL)
			break;
		for (first = c; c != NULL; c = c->next) {
			if (c->status == DOMINO_OK) {
				publish(w, c, b);
				any_ok = 1;
			}
		}
		if (w->fo != NULL)
			fanout_flush(w->fo, b);
		for (c = first; c != NULL; c = next) {
			next = c->next;
			c->committed(c, c->status);
		}
		pthread_mutex_lock(&w->mu);
		if (w->hook != NULL && any_ok)
			w->hook(w->hook_arg);
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

int
writer_start(struct store *st, struct fanout *fo, uint32_t batch_max,
    uint32_t queue_max, uint32_t graph_depth, struct writer **out)
{
	struct writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return DOMINO_ENOMEM;
	w->st = st;
	w->fo = fo;
	w->batch_max = batch_max > 0 ? batch_max : 256;
	w->queue_max = queue_max > 0 ? queue_max : 65536;
	w->graph_depth = graph_depth > 0 ? graph_depth : 8;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_mutex_init(&w->cmu, NULL);
	pthread_cond_init(&w->ccv, NULL);
	if ((w->fb = calloc(1, sizeof(*w->fb))) == NULL ||
	    pthread_create(&w->cthread, NULL, completer, w) != 0)
		goto fail;
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		stop_completer(w);
		goto fail;
	}
	*out = w;
	return DOMINO_OK;
fail:
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->cmu);
	pthread_cond_destroy(&w->ccv);
	free(w->fb);
	free(w);
	return DOMINO_ENOMEM;
}

void
writer_set_hook(struct writer *w, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&w->mu);
	w->hook = fn;
	w->hook_arg = arg;
	pthread_mutex_unlock(&w->mu);
}

void
writer_get_stats(struct writer *w, struct writer_stats *out)
{
	pthread_mutex_lock(&w->mu);
	*out = w->stats;
	out->queued = w->len;
	out->queue_max = w->queue_max;
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
	if (joined)
		return;
	pthread_join(w->thread, NULL);
	/* The writer has handed over its last batch; let the completer
	 * answer it, then end. */
	stop_completer(w);
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	writer_stop(w);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->cmu);
	pthread_cond_destroy(&w->ccv);
	free(w->fb);
	free(w);
}
