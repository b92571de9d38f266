/* SPDX-License-Identifier: MIT */
/*
 * The `publish` and `ingest` control operations of libdomino: a hand-made
 * event, or a forge body that did not arrive over HTTP, stored by the
 * broker and answered after the commit. This file builds the requests and
 * reads the {seq, id, duplicate, events} answer; it does not read files or
 * split streams into lines (the caller does).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "domino.h"
#include "err.h"
#include "msg.h"

void
domino_published_clear(struct domino_published *p)
{
	if (p == NULL)
		return;
	free(p->id);
	for (size_t i = 0; i < p->n_events; i++)
		free(p->events[i].id);
	free(p->events);
	memset(p, 0, sizeof(*p));
}

static int
read_one(const msgpack_object *m, struct domino_published_event *e)
{
	int rv = msg_u64(m, "seq", &e->seq);

	if (rv == DOMINO_OK)
		rv = msg_strdup(m, "id", &e->id);
	if (rv == DOMINO_OK && msg_bool(m, "duplicate", &e->duplicate) !=
	    DOMINO_OK)
		e->duplicate = 0;
	return rv;
}

/* Read the publish/ingest answer; an old broker without `events` gets a
 * one-element list made of the top-level fields. */
static int
read_published(const msgpack_object *root, struct domino_published *out)
{
	const msgpack_object *evs = msg_get(root, "events");
	struct domino_published_event top = {0};
	int rv;

	rv = read_one(root, &top);
	if (rv != DOMINO_OK)
		goto out;
	out->seq = top.seq;
	out->duplicate = top.duplicate;
	out->id = strdup(top.id);
	if (out->id == NULL) {
		rv = DOMINO_ENOMEM;
		goto out;
	}
	if (evs == NULL || evs->type != MSGPACK_OBJECT_ARRAY ||
	    evs->via.array.size == 0) {
		out->events = calloc(1, sizeof(*out->events));
		if (out->events == NULL) {
			rv = DOMINO_ENOMEM;
			goto out;
		}
		out->events[0] = top;
		out->n_events = 1;
		top.id = NULL;
		goto out;
	}
	out->events = calloc(evs->via.array.size, sizeof(*out->events));
	if (out->events == NULL) {
		rv = DOMINO_ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < evs->via.array.size; i++) {
		rv = read_one(&evs->via.array.ptr[i], &out->events[i]);
		if (rv != DOMINO_OK) {
			free(out->events[i].id);
			out->events[i].id = NULL;
			goto out;
		}
		out->n_events++;
	}
out:
	free(top.id);
	return rv;
}

/* Send the request in sb and read the answer into out. */
static int
call_published(domino *d, msgpack_sbuffer *sb, struct domino_published *out,
    const char *op)
{
	struct conn_reply r;
	int rv;

	rv = conn_rpc(d, sb, &r);
	if (rv != DOMINO_OK)
		return rv;
	rv = read_published(r.root, out);
	conn_reply_free(&r);
	if (rv != DOMINO_OK) {
		domino_published_clear(out);
		conn_err(rv == DOMINO_ENOMEM ? rv : DOMINO_EPROTO,
		    "malformed %s reply from the broker", op);
		rv = rv == DOMINO_ENOMEM ? rv : DOMINO_EPROTO;
	}
	return rv;
}

static int
set(const char *s)
{
	return s != NULL && *s != '\0';
}

/* Pack a's fields as one event map; a->repo is set (checked by the
 * caller). */
static void
pack_event(msgpack_packer *pk, const struct domino_publish_args *a,
    int as_request, domino *d)
{
	static const char *const keys[] = {"repo", "ref", "type", "before",
	    "after", "actor", "url", "id", "event"};
	const char *vals[9];
	size_t n = 0;

	vals[0] = a->repo; vals[1] = a->ref; vals[2] = a->type;
	vals[3] = a->before; vals[4] = a->after; vals[5] = a->actor;
	vals[6] = a->url; vals[7] = a->id; vals[8] = a->event;
	for (size_t i = 0; i < 9; i++)
		n += set(vals[i]);
	n += a->n_depends_on > 0;
	if (as_request)
		conn_req_begin(d, pk, "publish", n);
	else
		msgpack_pack_map(pk, n);
	for (size_t i = 0; i < 9; i++)
		if (set(vals[i]))
			msg_pack_kstr(pk, keys[i], vals[i]);
	if (a->n_depends_on > 0) {
		msg_pack_cstr(pk, "depends_on");
		msgpack_pack_array(pk, a->n_depends_on);
		for (size_t i = 0; i < a->n_depends_on; i++)
			msg_pack_cstr(pk, a->depends_on[i] ?
			    a->depends_on[i] : "");
	}
}

/* Check the arguments of event i locally. */
static int
check_args(const struct domino_publish_args *a, size_t i, size_t n)
{
	if (a->n_depends_on > 0 && a->depends_on == NULL)
		return conn_err(DOMINO_EINVAL, "domino_publish: invalid argument");
	if (!set(a->repo))
		return n > 1 ? conn_err(DOMINO_EINVAL, "event %zu: publish needs "
		    "a repo (host/owner/name)", i) : conn_err(DOMINO_EINVAL,
		    "publish needs a repo (host/owner/name)");
	return DOMINO_OK;
}

/* Begin a publish request in the `events` form; n events follow. */
static void
events_begin(domino *d, msgpack_packer *pk, size_t n)
{
	conn_req_begin(d, pk, "publish", 1);
	msg_pack_cstr(pk, "events");
	msgpack_pack_array(pk, n);
}

/*
 * Send the request of n events in sb (which this destroys) and read the
 * answer, one entry per event, into out.
 */
static int
events_call(domino *d, msgpack_sbuffer *sb, size_t n,
    struct domino_published *out)
{
	int rv = call_published(d, sb, out, "publish");

	msgpack_sbuffer_destroy(sb);
	if (rv == DOMINO_OK && out->n_events != n) {
		domino_published_clear(out);
		rv = conn_err(DOMINO_EPROTO, "the broker answered for a "
		    "different number of events than were published");
	}
	return conn_err_default(rv);
}

/*
 * Concurrent domino_publish() calls on one handle share requests, the way
 * a database group-commits. A caller queues its event; when fewer than
 * PUBQ_INFLIGHT publish requests are in flight it leads: it takes the
 * queued events (up to DOMINO_PUBLISH_MAX and MSG_BATCH_BYTES, its own among
 * them unless the queue is longer), sends them as one request and hands
 * each waiter its answer. Callers that arrive while requests are in flight
 * wait and go together in the next one. A lone caller sends at once, as
 * before; fifty threads on one handle pay one round trip and one commit
 * per batch instead of one each. Two requests in flight keep the broker's
 * writer busy: one commits while the next is on its way.
 */
#define PUBQ_INFLIGHT 2
/* The broker's longest delivery id (broker/prepare.h). */
#define PUB_ID_MAX 256

enum { PW_QUEUED, PW_TAKEN, PW_DONE };

struct pub_waiter {
	const struct domino_publish_args *a;
	struct domino_published *out;
	size_t size;         /* the event's encoded size, about */
	pthread_cond_t cv;
	int state;
	int waiting;         /* asleep on cv, not leading a request */
	int rv;
	char err[512];       /* the error text for the waiter's thread */
	struct pub_waiter *next;
};

/* An upper bound of the encoded size of a's event in a batch. */
static size_t
event_size(const struct domino_publish_args *a)
{
	const char *vals[] = {a->repo, a->ref, a->type, a->before, a->after,
	    a->actor, a->url, a->id, a->event};
	size_t n = 16;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		n += vals[i] ? strlen(vals[i]) + 24 : 0;
	for (size_t i = 0; i < a->n_depends_on; i++)
		n += (a->depends_on[i] ? strlen(a->depends_on[i]) : 0) + 8;
	return n;
}

static void
waiter_fail(struct pub_waiter *w, int rv, const char *msg)
{
	w->rv = rv;
	snprintf(w->err, sizeof(w->err), "%s", msg);
}

/* Give w the i-th event of a batch answer. */
static void
waiter_answer(struct pub_waiter *w, struct domino_published_event *e)
{
	struct domino_published *o = w->out;

	o->events = calloc(1, sizeof(*o->events));
	o->id = strdup(e->id);
	if (o->events == NULL || o->id == NULL) {
		domino_published_clear(o);
		waiter_fail(w, DOMINO_ENOMEM, "out of memory");
		return;
	}
	o->seq = e->seq;
	o->duplicate = e->duplicate;
	o->events[0] = *e;
	o->n_events = 1;
	e->id = NULL;
	w->rv = DOMINO_OK;
}

/*
 * The index a refused batch names ("events[3]: ..."), and in *rest the
 * reason after it; -1 when the refusal is not about one event.
 */
static long
refused_index(const char *msg, size_t n, const char **rest)
{
	char *end;
	unsigned long i;

	if (strncmp(msg, "events[", 7) != 0)
		return -1;
	i = strtoul(msg + 7, &end, 10);
	if (end == msg + 7 || strncmp(end, "]: ", 3) != 0 || i >= n)
		return -1;
	*rest = end + 3;
	return (long)i;
}

/*
 * Send the n waiters of list as one request, without the queue lock, and
 * give each its answer; the settled are appended to *done (their state is
 * the caller's to set, under the lock). The broker stores all of a request
 * or nothing, so when it refuses one event, that waiter gets the refusal
 * and the others go to *again, to be sent once more. Returns 1 when the
 * request was refused as a whole for a reason that names no event (its
 * shape or size): then every waiter is in *again, to be sent alone.
 */
static int
send_batch(domino *d, struct pub_waiter *list, size_t n,
    struct pub_waiter ***done, struct pub_waiter **again)
{
	struct domino_published res = {0};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct pub_waiter *w, **tail = again;
	const char *why = NULL;
	long bad = -1;
	size_t i;
	int rv, split;

	*again = NULL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (n == 1) {
		pack_event(&pk, list->a, 1, d);
		rv = call_published(d, &sb, list->out, "publish");
		msgpack_sbuffer_destroy(&sb);
		list->rv = conn_err_default(rv);
		if (rv != DOMINO_OK)
			snprintf(list->err, sizeof(list->err), "%s",
			    conn_errmsg());
		**done = list;
		*done = &list->next;
		return 0;
	}
	events_begin(d, &pk, n);
	for (w = list; w != NULL; w = w->next)
		pack_event(&pk, w->a, 0, d);
	rv = events_call(d, &sb, n, &res);
	if (rv == DOMINO_EINVAL)
		bad = refused_index(conn_errmsg(), n, &why);
	/* A refusal stored nothing, so sending again cannot store twice; a
	 * reply that makes no sense (EPROTO) may follow a commit: not sent
	 * again. */
	split = bad < 0 && (rv == DOMINO_EINVAL || rv == DOMINO_ETOOBIG);
	for (w = list, i = 0; w != NULL; i++) {
		struct pub_waiter *next = w->next;
		int resend = split || (bad >= 0 && (long)i != bad);

		w->next = NULL;
		if (rv == DOMINO_OK)
			waiter_answer(w, &res.events[i]);
		else if ((long)i == bad)
			waiter_fail(w, rv, why);
		else if (!resend)
			waiter_fail(w, rv, conn_errmsg());
		if (resend) {
			*tail = w;
			tail = &w->next;
		} else {
			**done = w;
			*done = &w->next;
		}
		w = next;
	}
	if (rv == DOMINO_OK)
		domino_published_clear(&res);
	return split;
}

/*
 * Send list (n waiters) and whatever must be sent again, until every
 * waiter of it is settled; they end up in *done. Each round settles at
 * least one waiter, and no new caller joins, so this ends.
 */
static void
send_all(domino *d, struct pub_waiter *list, size_t n,
    struct pub_waiter **done)
{
	struct pub_waiter **dt = done, *again, *rest;
	int split = send_batch(d, list, n, &dt, &again);

	while (again != NULL) {
		if (split) {
			rest = again->next;
			again->next = NULL;
			send_batch(d, again, 1, &dt, &again);
			again = rest;
			continue;
		}
		for (n = 0, rest = again; rest != NULL; rest = rest->next)
			n++;
		split = send_batch(d, again, n, &dt, &again);
	}
}

/*
 * Wake the first queued caller that sleeps, to lead the next request. The
 * head itself may be a caller busy leading, whose own event did not fit in
 * its batch: a signal to it would be lost while a slot stays free.
 */
static void
wake_next(domino *d)
{
	for (struct pub_waiter *w = d->pq_head; w != NULL; w = w->next)
		if (w->waiting) {
			pthread_cond_signal(&w->cv);
			return;
		}
}

/*
 * Lead one request: take queued waiters, send them, settle them and wake
 * them, then wake a queued caller to lead the next. Called and returns
 * with pq_mu held.
 */
static void
lead(domino *d)
{
	struct pub_waiter *list = d->pq_head, *last = NULL, *done = NULL, *w;
	size_t n = 0, bytes = 0;

	for (w = list; w != NULL && n < DOMINO_PUBLISH_MAX &&
	    (n == 0 || bytes + w->size <= MSG_BATCH_BYTES); w = w->next) {
		w->state = PW_TAKEN;
		bytes += w->size;
		last = w;
		n++;
	}
	d->pq_head = last->next;
	if (d->pq_head == NULL)
		d->pq_tail = NULL;
	last->next = NULL;
	d->pq_inflight++;
	/* A slot may still be free for the waiters this batch left out. */
	if (d->pq_inflight < PUBQ_INFLIGHT)
		wake_next(d);
	pthread_mutex_unlock(&d->pq_mu);

	send_all(d, list, n, &done);

	pthread_mutex_lock(&d->pq_mu);
	d->pq_inflight--;
	/* A settled waiter may return as soon as the lock is let go. */
	while ((w = done) != NULL) {
		done = w->next;
		w->state = PW_DONE;
		pthread_cond_signal(&w->cv);
	}
	wake_next(d);
}

int
domino_publish(domino *d, const struct domino_publish_args *a,
    struct domino_published *out)
{
	struct pub_waiter w = {0};
	int rv;

	conn_err_clear();
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (d == NULL || a == NULL || out == NULL)
		return conn_err(DOMINO_EINVAL, "domino_publish: invalid argument");
	if ((rv = check_args(a, 0, 1)) != DOMINO_OK)
		return rv;
	if (a->id != NULL && strlen(a->id) > PUB_ID_MAX)
		return conn_err(DOMINO_EINVAL, "the delivery id is longer than "
		    "%d bytes", PUB_ID_MAX);
	w.a = a;
	w.out = out;
	w.size = event_size(a);
	if (pthread_cond_init(&w.cv, NULL) != 0)
		return conn_err(DOMINO_ENOMEM, "out of memory");
	pthread_mutex_lock(&d->pq_mu);
	if (d->pq_tail != NULL)
		d->pq_tail->next = &w;
	else
		d->pq_head = &w;
	d->pq_tail = &w;
	while (w.state != PW_DONE) {
		if (w.state == PW_QUEUED && d->pq_inflight < PUBQ_INFLIGHT) {
			lead(d);
		} else {
			w.waiting = 1;
			pthread_cond_wait(&w.cv, &d->pq_mu);
			w.waiting = 0;
		}
	}
	pthread_mutex_unlock(&d->pq_mu);
	pthread_cond_destroy(&w.cv);
	/* The text this thread holds may be another caller's, from a batch
	 * it led: leave the caller's own. */
	if (w.rv != DOMINO_OK)
		conn_err(w.rv, "%s", w.err);
	else
		conn_err_clear();
	return w.rv;
}

int
domino_publish_many(domino *d, const struct domino_publish_args *a, size_t n,
    struct domino_published *out)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv;

	conn_err_clear();
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (d == NULL || a == NULL || out == NULL || n == 0)
		return conn_err(DOMINO_EINVAL,
		    "domino_publish_many: invalid argument");
	if (n > DOMINO_PUBLISH_MAX)
		return conn_err(DOMINO_ETOOBIG, "%zu events in one publish; "
		    "at most %d", n, DOMINO_PUBLISH_MAX);
	for (size_t i = 0; i < n; i++)
		if ((rv = check_args(&a[i], i, n)) != DOMINO_OK)
			return rv;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	events_begin(d, &pk, n);
	for (size_t i = 0; i < n; i++)
		pack_event(&pk, &a[i], 0, d);
	return events_call(d, &sb, n, out);
}

int
domino_ingest(domino *d, const struct domino_ingest_args *a,
    struct domino_published *out)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv;

	conn_err_clear();
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (d == NULL || a == NULL || out == NULL || !set(a->source) ||
	    (a->len > 0 && a->body == NULL) ||
	    (a->n_headers > 0 && a->headers == NULL))
		return conn_err(DOMINO_EINVAL, "domino_ingest: invalid argument");
	if (a->len > MSG_MAX_DEFAULT - 64 * 1024)
		return conn_err(DOMINO_ETOOBIG, "the body is over %u bytes",
		    MSG_MAX_DEFAULT - 64 * 1024);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "ingest", 2 + (a->n_headers > 0));
	msg_pack_kstr(&pk, "source", a->source);
	msg_pack_cstr(&pk, "body");
	msgpack_pack_bin(&pk, a->len);
	msgpack_pack_bin_body(&pk, a->body, a->len);
	if (a->n_headers > 0) {
		msg_pack_cstr(&pk, "headers");
		msgpack_pack_map(&pk, a->n_headers);
		for (size_t i = 0; i < a->n_headers; i++) {
			msg_pack_cstr(&pk, a->headers[i].key ?
			    a->headers[i].key : "");
			msg_pack_cstr(&pk, a->headers[i].value ?
			    a->headers[i].value : "");
		}
	}
	rv = call_published(d, &sb, out, "ingest");
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}
