/* SPDX-License-Identifier: MIT */
/*
 * Live subscriptions: one nng sub0 socket and one thread per subscription.
 * The thread receives with a short timeout so it notices a stop request
 * and a silent link; it splits the topic (topic.h), matches the filter,
 * decodes the event (pre-checked by domino_event_decode) and calls the
 * user's callbacks.
 *
 * The thread keeps a cursor: the highest seq accounted for (delivered,
 * or known not to match). A start in the past, a jump in the live stream,
 * a heartbeat ahead of the cursor and a link that came back after going
 * silent are all read from the log (domino_log, same filter) up to where
 * the live stream is, so events reach on_event in seq order without a
 * gap or a duplicate. Only ranges retention trimmed are reported as gaps.
 * Durable subscriptions also batch their acks here.
 *
 * Deliberately not here: a queue between the socket and the callbacks
 * (a slow callback lets nng drop live messages; the log fills them in),
 * and any retry of a callback's own work.
 */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "domino.h"
#include "err.h"
#include "event.h"
#include "sub.h"
#include "topic.h"

#define RECV_POLL_MS 100
#define HEARTBEAT_DEFAULT_MS 2000
#define SUB_RECVBUF 8192     /* nng's maximum queue depth, in messages */
#define FILL_BATCH 500       /* events per log request when catching up */
#define RETRY_MIN_MS 200     /* catch-up retry backoff */
#define RETRY_MAX_MS 5000
#define ACK_EVERY_MS 200     /* acks are sent at most this often ... */
#define ACK_EVERY_N 100      /* ... or after this many */
#define DURABLE_NAME_MAX 128

struct domino_sub {
	domino *d;
	struct domino_sub *next; /* in d->subs, under d->mu */
	nng_socket sock;
	pthread_t thr;
	char *url;
	struct topic_filter filter;
	char *filter_text;
	char *durable;
	int auto_ack;
	int no_fill;
	int with_payload;
	int heartbeat_ms;
	struct domino_sub_opts cb; /* callbacks and arg (strings unused) */

	atomic_int stop;           /* unsubscribe asked */
	atomic_uint_least64_t last_delivered;

	pthread_mutex_t mu;        /* guards the fields below */
	pthread_cond_t cv;
	nng_dialer dialer;         /* replaced when the link is re-dialled */
	int started;               /* *out is set: callbacks may run */
	int ready;                 /* link up and catch-up done */
	int done;                  /* the thread has left its loop */
	int self_free;             /* unsubscribed from a callback */
	uint64_t ack_want;         /* highest seq acknowledged by the user */
	uint64_t ack_sent;         /* highest seq the broker has */
	int ack_create;            /* the cursor must be created (at ack_want) */
	unsigned ack_n;            /* acks since the last send */
	uint64_t ack_t;            /* when the oldest unsent ack came, ms */

	/* Thread-only state. */
	uint64_t cursor;           /* highest seq accounted for */
	int have_cursor;
	int behind;                /* the log must be read before live goes on */
	int halt;                  /* a callback asked to stop, or fatal error */
	uint64_t fill_upto;        /* fill_cb stops past this seq */
	uint64_t hb_mark;          /* the broker's seq at the last heartbeat */
	uint64_t gaps;             /* seqs reported through on_gap */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Acks. -------------------------------------------------------------- */

static void
ack_record(struct domino_sub *s, uint64_t seq)
{
	pthread_mutex_lock(&s->mu);
	if (seq > s->ack_want) {
		s->ack_want = seq;
		if (s->ack_n == 0)
			s->ack_t = now_ms();
		s->ack_n++;
	}
	pthread_mutex_unlock(&s->mu);
}

/* The cursor does not exist yet: create it at seq, the subscription's
 * start, so a restart resumes from there even before the first ack. */
static void
ack_create(struct domino_sub *s, uint64_t seq)
{
	pthread_mutex_lock(&s->mu);
	s->ack_create = 1;
	if (seq > s->ack_want)
		s->ack_want = seq;
	s->ack_t = 0; /* due now */
	s->ack_n++;
	pthread_mutex_unlock(&s->mu);
}

/* Send the newest ack when one is due (always with force). Failures are
 * logged and retried with the next batch. */
static void
ack_flush(struct domino_sub *s, int force)
{
	uint64_t want, t = now_ms();
	int due, rv;

	if (s->durable == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	want = s->ack_want;
	due = (want > s->ack_sent || s->ack_create) && s->ack_n > 0 &&
	    (force || s->ack_n >= ACK_EVERY_N || t - s->ack_t >= ACK_EVERY_MS);
	pthread_mutex_unlock(&s->mu);
	if (!due)
		return;
	rv = domino_ack(s->d, s->durable, want);
	pthread_mutex_lock(&s->mu);
	if (rv == DOMINO_OK) {
		if (want > s->ack_sent)
			s->ack_sent = want;
		s->ack_create = 0;
		s->ack_n = s->ack_want > want;
		s->ack_t = t;
	} else {
		s->ack_t = t; /* try again with the next batch */
	}
	pthread_mutex_unlock(&s->mu);
	if (rv != DOMINO_OK)
		conn_logf(s->d, force ? DOMINO_LOG_ERROR : DOMINO_LOG_WARN,
		    "durable %s: cannot acknowledge seq %llu: %s", s->durable,
		    (unsigned long long)want, domino_errmsg());
}

/* Delivery. ---------------------------------------------------------- */

/* Hand ev (seq > cursor) to on_event and move the cursor; 1 when the
 * subscription must stop. */
static int
emit(struct domino_sub *s, const struct domino_event *ev)
{
	int r;

	s->cursor = ev->seq;
	s->have_cursor = 1;
	r = s->cb.on_event(s->cb.arg, ev);
	if (r == 0) {
		atomic_store(&s->last_delivered, ev->seq);
		if (s->auto_ack && s->durable != NULL)
			ack_record(s, ev->seq);
	}
	if (r != 0 || atomic_load(&s->stop))
		s->halt = 1;
	ack_flush(s, 0);
	return s->halt;
}

static void
report_gap(struct domino_sub *s, uint64_t from, uint64_t to)
{
	s->gaps += to - from + 1;
	if (s->cb.on_gap != NULL)
		s->cb.on_gap(s->cb.arg, from, to);
}

static void
fill_gone(void *arg, uint64_t from, uint64_t to, uint64_t first)
{
	struct domino_sub *s = arg;

	(void)first;
	if (s->have_cursor && from <= s->cursor)
		from = s->cursor + 1;
	if (to > s->fill_upto)
		to = s->fill_upto;
	if (from > to)
		return;
	conn_logf(s->d, DOMINO_LOG_WARN, "events %llu..%llu were trimmed "
	    "from the log before this subscriber read them",
	    (unsigned long long)from, (unsigned long long)to);
	report_gap(s, from, to);
	s->cursor = to;
	s->have_cursor = 1;
}

static int
fill_cb(void *arg, const struct domino_event *ev)
{
	struct domino_sub *s = arg;

	if (s->halt || atomic_load(&s->stop) || ev->seq > s->fill_upto)
		return 1;
	if (ev->seq <= s->cursor)
		return 0;
	return emit(s, ev);
}

/*
 * Read the log after the cursor and deliver what matches, up to seq upto
 * (0: to the end of the log). On success everything up to there is
 * accounted for. Returns DOMINO_OK (also when a callback stopped: see
 * s->halt) or why the log could not be read.
 */
static int
fill(struct domino_sub *s, uint64_t upto)
{
	struct domino_log_query q = {0};
	uint64_t next = 0;
	int rv;

	q.from = s->cursor + 1;
	q.filter = s->filter_text;
	q.with_payload = s->with_payload;
	q.batch = FILL_BATCH;
	q.on_gone = fill_gone;
	if (upto != 0 && s->filter_text == NULL)
		q.limit = upto - s->cursor; /* the seqs are contiguous */
	s->fill_upto = upto != 0 ? upto : UINT64_MAX;
	rv = domino_log(s->d, &q, fill_cb, s, &next);
	if (rv != DOMINO_OK || s->halt)
		return rv;
	if (upto == 0)
		upto = next - 1;
	if (upto > s->cursor)
		s->cursor = upto;
	return DOMINO_OK;
}

/* Errors that reading again will not cure. */
static int
fatal(int rv)
{
	return rv == DOMINO_EINVAL || rv == DOMINO_EUNAUTH ||
	    rv == DOMINO_ENOTFOUND || rv == DOMINO_EPROTO ||
	    rv == DOMINO_ETOOBIG;
}

/* Catch up to the end of the log. 0 done, 1 still behind (retry at
 * *retry_at), -1 stop. */
static int
catch_up(struct domino_sub *s, uint64_t *retry_at, uint64_t *backoff)
{
	uint64_t from = s->cursor + 1;
	int rv;

	rv = fill(s, 0);
	if (s->halt)
		return -1;
	if (rv == DOMINO_OK) {
		if (*backoff > 0 || s->cursor >= from)
			conn_logf(s->d, DOMINO_LOG_DEBUG, "caught up from the "
			    "log: seq %llu..%llu", (unsigned long long)from,
			    (unsigned long long)s->cursor);
		*backoff = 0;
		s->behind = 0;
		return 0;
	}
	if (fatal(rv)) {
		conn_logf(s->d, DOMINO_LOG_ERROR, "subscription: cannot read "
		    "the log from seq %llu: %s", (unsigned long long)from,
		    domino_errmsg());
		s->halt = 1;
		return -1;
	}
	*backoff = *backoff == 0 ? RETRY_MIN_MS : *backoff * 2;
	if (*backoff > RETRY_MAX_MS)
		*backoff = RETRY_MAX_MS;
	*retry_at = now_ms() + *backoff;
	conn_logf(s->d, DOMINO_LOG_WARN, "subscription: cannot read the log "
	    "from seq %llu (%s); trying again in %llu ms",
	    (unsigned long long)from, domino_errmsg(),
	    (unsigned long long)*backoff);
	return 1;
}

/* A fill in the middle of the live stream failed: drop live events until
 * a catch-up from the cursor succeeds. */
static void
fell_behind(struct domino_sub *s, int rv)
{
	if (fatal(rv)) {
		conn_logf(s->d, DOMINO_LOG_ERROR, "subscription: cannot read "
		    "the log: %s", domino_errmsg());
		s->halt = 1;
		return;
	}
	conn_logf(s->d, DOMINO_LOG_WARN, "subscription: cannot fill a gap "
	    "after seq %llu from the log (%s); catching up later",
	    (unsigned long long)s->cursor, domino_errmsg());
	s->behind = 1;
}

/* The first message of a subscription that starts with new events. */
static void
start_new(struct domino_sub *s, uint64_t seq)
{
	s->cursor = seq;
	s->have_cursor = 1;
	if (s->durable != NULL)
		ack_create(s, seq);
}

static void
handle_heartbeat(struct domino_sub *s, const void *body, size_t blen)
{
	uint64_t seq = 0;
	int rv;

	if (topic_heartbeat_parse(body, blen, &seq) != DOMINO_OK) {
		conn_logf(s->d, DOMINO_LOG_WARN, "dropped a malformed heartbeat");
		return;
	}
	if (s->cb.on_heartbeat != NULL)
		s->cb.on_heartbeat(s->cb.arg, seq);
	if (atomic_load(&s->stop)) {
		s->halt = 1;
		return;
	}
	if (!s->have_cursor) {
		start_new(s, seq);
		return;
	}
	/* Events up to the previous heartbeat's seq had a whole period to
	 * arrive live; what is still missing was dropped (or, with a
	 * filter, did not match): read it from the log. */
	if (!s->no_fill && !s->behind && s->hb_mark > s->cursor) {
		rv = fill(s, s->hb_mark);
		if (rv != DOMINO_OK)
			fell_behind(s, rv);
	}
	/* Everything up to the cursor was delivered (and acknowledged) or
	 * did not match: move the durable cursor there too, or a filter
	 * that rarely matches would pin the log at its last match. */
	if (s->auto_ack && s->durable != NULL && !s->behind && !s->halt)
		ack_record(s, s->cursor);
	s->hb_mark = seq;
}

static void
handle_event(struct domino_sub *s, struct domino_event *ev)
{
	int rv;

	if (s->behind || ev->seq == 0)
		return; /* the catch-up will read it from the log */
	if (!s->have_cursor)
		start_new(s, ev->seq - 1);
	if (ev->seq <= s->cursor)
		return; /* read from the log already, or a duplicate */
	if (ev->seq > s->cursor + 1) {
		if (s->no_fill) {
			report_gap(s, s->cursor + 1, ev->seq - 1);
		} else {
			rv = fill(s, ev->seq - 1);
			if (rv != DOMINO_OK) {
				fell_behind(s, rv);
				return;
			}
			if (s->halt)
				return;
		}
	}
	if (!s->with_payload) {
		free(ev->payload);
		ev->payload = NULL;
		ev->payload_len = 0;
	}
	emit(s, ev);
}

/* One event of a live message; non-zero stops the message's walk. */
static int
live_event(void *arg, const void *buf, size_t len)
{
	struct domino_sub *s = arg;
	struct domino_event ev;
	int rv = domino_event_decode(buf, len, &ev);

	if (rv != DOMINO_OK) {
		conn_logf(s->d, DOMINO_LOG_WARN,
		    "dropped a malformed live event: %s", domino_strerror(rv));
		return 0;
	}
	handle_event(s, &ev);
	domino_event_clear(&ev);
	return s->halt;
}

/* Handle one received message; s->halt says when to stop. */
static void
handle(struct domino_sub *s, nng_msg *m)
{
	const char *repo, *ref;
	const void *body;
	size_t blen;
	int hb;

	if (topic_split(nng_msg_body(m), nng_msg_len(m), &hb, &repo, &ref,
	    &body, &blen) != DOMINO_OK) {
		conn_logf(s->d, DOMINO_LOG_WARN,
		    "dropped a live message with bad framing (%zu bytes)",
		    nng_msg_len(m));
		return;
	}
	if (hb) {
		handle_heartbeat(s, body, blen);
		return;
	}
	if (!topic_filter_match(&s->filter, repo, ref))
		return;
	if (topic_events(body, blen, live_event, s) != DOMINO_OK)
		conn_logf(s->d, DOMINO_LOG_WARN,
		    "dropped a live batch with bad framing repo=%s", repo);
}

/* The thread. -------------------------------------------------------- */

static void
set_ready(struct domino_sub *s)
{
	pthread_mutex_lock(&s->mu);
	s->ready = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void
set_started(struct domino_sub *s)
{
	pthread_mutex_lock(&s->mu);
	s->started = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void
sub_free(struct domino_sub *s)
{
	topic_filter_clear(&s->filter);
	free(s->filter_text);
	free(s->durable);
	free(s->url);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* A silent link may be a dead TCP connection nng does not know about
 * (a NAT that forgot it, a peer that froze): drop it and dial anew. The
 * socket keeps its subscriptions. */
static void
redial(struct domino_sub *s)
{
	nng_dialer nd;
	int nrv = 0;

	pthread_mutex_lock(&s->mu);
	if (!atomic_load(&s->stop)) {
		nng_dialer_close(s->dialer);
		nrv = conn_dial(s->sock, s->url, s->d->ca_file,
		    NNG_FLAG_NONBLOCK, &nd);
		if (nrv == 0)
			s->dialer = nd;
	}
	pthread_mutex_unlock(&s->mu);
	if (nrv != 0)
		conn_logf(s->d, DOMINO_LOG_WARN, "cannot dial %s again: %s",
		    s->url, nng_strerror(nrv));
}

static void *
sub_thread(void *arg)
{
	struct domino_sub *s = arg;
	uint64_t heard = now_ms(), redialled = 0, retry_at = 0, backoff = 0;
	uint64_t dead_after = 3 * (uint64_t)s->heartbeat_ms;
	int linked = 0, ever_up = 0, announce = 0, ready = 0, self_free;

	/* A callback may unsubscribe with the pointer domino_subscribe()
	 * stores in *out; make sure it is there first. */
	pthread_mutex_lock(&s->mu);
	while (!s->started)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	while (!atomic_load(&s->stop) && !s->halt) {
		nng_msg *m = NULL;
		uint64_t t;
		int nrv;

		ack_flush(s, 0);
		if (linked && s->behind && now_ms() >= retry_at) {
			if (catch_up(s, &retry_at, &backoff) < 0)
				break;
			heard = now_ms();
		}
		if (linked && !s->behind && s->have_cursor) {
			if (!ready) {
				ready = 1;
				set_ready(s);
			}
			if (announce) {
				announce = 0;
				conn_logf(s->d, DOMINO_LOG_INFO, "fan-out link up "
				    "again; caught up to seq %llu",
				    (unsigned long long)s->cursor);
				if (s->cb.on_link != NULL)
					s->cb.on_link(s->cb.arg, 1);
			}
		}
		nrv = nng_recvmsg(s->sock, &m, 0);
		if (nrv == NNG_ETIMEDOUT) {
			t = now_ms();
			if (linked && t - heard > dead_after) {
				linked = 0;
				announce = 0;
				redialled = t;
				conn_logf(s->d, DOMINO_LOG_WARN,
				    "fan-out link dead: nothing heard for "
				    "%llu ms; dialling again",
				    (unsigned long long)dead_after);
				if (s->cb.on_link != NULL)
					s->cb.on_link(s->cb.arg, 0);
				redial(s);
			} else if (!linked && ever_up &&
			    t - redialled > dead_after) {
				redialled = t;
				redial(s);
			}
			continue;
		}
		if (nrv == NNG_ECLOSED)
			break;
		if (nrv != 0) {
			conn_logf(s->d, DOMINO_LOG_WARN, "fan-out receive: %s",
			    nng_strerror(nrv));
			continue;
		}
		if (!linked) {
			linked = 1;
			if (ever_up && !s->no_fill && s->have_cursor) {
				/* Whatever was published meanwhile is in the
				 * log: read it before going on live. */
				s->behind = 1;
				retry_at = 0;
				announce = 1;
			} else if (ever_up) {
				announce = 1;
			}
			ever_up = 1;
			s->hb_mark = 0;
			if (s->behind && catch_up(s, &retry_at, &backoff) < 0) {
				nng_msg_free(m);
				break;
			}
		}
		handle(s, m);
		nng_msg_free(m);
		heard = now_ms();
	}
	pthread_mutex_lock(&s->mu);
	s->done = 1;
	self_free = s->self_free;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (self_free) {
		/* domino_unsubscribe() was called from one of our callbacks:
		 * nobody will join us, so clean up here. */
		nng_dialer_close(s->dialer);
		/* No logging: the handle may be closed by now. */
		conn_close_socket(NULL, s->sock, "subscription");
		pthread_detach(pthread_self());
		sub_free(s);
	}
	return NULL;
}
/* Copy pub into *out, replacing a wildcard host (0.0.0.0, ::, *) by the
 * host of the control address, since the broker reports what it bound. */
static int
pub_address(const char *pub, const char *control, char **out)
{
	static const char *const wild[] = {"0.0.0.0", "*", "[::]", "", NULL};
	const char *h = strstr(pub, "://"), *port, *ch, *cport;
	size_t hl, cl;
	char *u;
	int i;

	*out = NULL;
	if (h == NULL || strncmp(pub, "tcp", 3) != 0)
		goto copy;
	h += 3;
	port = strrchr(h, ':');
	if (port == NULL)
		goto copy;
	hl = (size_t)(port - h);
	for (i = 0; wild[i] != NULL; i++)
		if (strlen(wild[i]) == hl && strncmp(h, wild[i], hl) == 0)
			break;
	if (wild[i] == NULL)
		goto copy;
	ch = strstr(control, "://");
	if (ch == NULL || strncmp(control, "tcp", 3) != 0)
		goto copy;
	ch += 3;
	cport = strrchr(ch, ':');
	if (cport == NULL)
		goto copy;
	cl = (size_t)(cport - ch);
	for (i = 0; wild[i] != NULL; i++)
		if (strlen(wild[i]) == cl && strncmp(ch, wild[i], cl) == 0)
			goto copy;
	u = malloc(strlen(pub) + cl + 1);
	if (u == NULL)
		return DOMINO_ENOMEM;
	memcpy(u, pub, (size_t)(h - pub));
	memcpy(u + (h - pub), ch, cl);
	strcpy(u + (h - pub) + cl, port);
	*out = u;
	return DOMINO_OK;
copy:
	*out = strdup(pub);
	return *out ? DOMINO_OK : DOMINO_ENOMEM;
}

/* The fan-out address, asking the broker the first time. *url is a copy. */
static int
resolve_pub(domino *d, char **url)
{
	struct domino_stats st;
	char *p = NULL;
	int rv;

	*url = NULL;
	pthread_mutex_lock(&d->mu);
	if (d->pub != NULL)
		*url = strdup(d->pub);
	pthread_mutex_unlock(&d->mu);
	if (*url != NULL)
		return DOMINO_OK;
	rv = domino_stats(d, &st);
	if (rv != DOMINO_OK)
		return rv;
	if (st.listen_pub == NULL) {
		domino_stats_clear(&st);
		return conn_err(DOMINO_EPROTO,
		    "the broker's stats do not name its pub address");
	}
	rv = pub_address(st.listen_pub, d->control, &p);
	domino_stats_clear(&st);
	if (rv != DOMINO_OK)
		return conn_err(rv, "out of memory");
	pthread_mutex_lock(&d->mu);
	if (d->pub == NULL)
		d->pub = strdup(p);
	pthread_mutex_unlock(&d->mu);
	*url = p;
	return DOMINO_OK;
}


static int
sub_socket(struct domino_sub *s)
{
	char prefix[2100];
	size_t n;
	int nrv;

	nrv = nng_sub0_open(&s->sock);
	if (nrv != 0)
		return conn_nng_err(nrv, "cannot open a sub0 socket");
	n = topic_filter_prefix(&s->filter, prefix, sizeof(prefix));
	nrv = nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, prefix, n);
	/* Heartbeats (topic NUL) are needed to know the link is alive. */
	if (nrv == 0 && n > 0)
		nrv = nng_socket_set(s->sock, NNG_OPT_SUB_SUBSCRIBE, "", 1);
	if (nrv == 0)
		nrv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
		    CONN_RECV_MAX);
	if (nrv == 0)
		nrv = nng_socket_set_int(s->sock, NNG_OPT_RECVBUF, SUB_RECVBUF);
	if (nrv == 0)
		nrv = nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO,
		    RECV_POLL_MS);
	if (nrv == 0)
		nrv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 100);
	if (nrv == 0)
		nrv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 2000);
	if (nrv != 0) {
		nng_close(s->sock);
		return conn_nng_err(nrv, "cannot set subscription options");
	}
	nrv = conn_dial(s->sock, s->url, s->d->ca_file, 0, &s->dialer);
	if (nrv != 0) {
		char what[300];
		snprintf(what, sizeof(what), "cannot connect to %.256s", s->url);
		nng_close(s->sock);
		return conn_nng_err(nrv, what);
	}
	return DOMINO_OK;
}

static int
since_cb(void *arg, const struct domino_event *ev)
{
	*(uint64_t *)arg = ev->seq;
	return 1;
}

/* Where the subscription starts, when that is known before the link is
 * up: a durable cursor, from, or the first event at or after since. */
static int
resolve_start(struct domino_sub *s, const struct domino_sub_opts *o)
{
	uint64_t seq = 0, next = 0;
	int rv;

	if (s->durable != NULL) {
		rv = domino_cursor(s->d, s->durable, &seq);
		if (rv == DOMINO_OK) {
			s->cursor = s->ack_want = s->ack_sent = seq;
			s->have_cursor = s->behind = 1;
			return DOMINO_OK;
		}
		if (rv != DOMINO_ENOTFOUND)
			return rv;
		conn_err_clear();
	}
	if (o->from != 0) {
		seq = o->from;
	} else if (o->since != 0) {
		struct domino_log_query q = {0};

		q.since = o->since;
		q.limit = 1;
		q.batch = 1;
		rv = domino_log(s->d, &q, since_cb, &seq, &next);
		if (rv != DOMINO_OK)
			return rv;
		if (seq == 0)
			seq = next; /* nothing that recent yet: what comes next */
	} else {
		return DOMINO_OK; /* new: known at the first message */
	}
	s->cursor = seq - 1;
	s->have_cursor = s->behind = 1;
	if (s->durable != NULL)
		ack_create(s, s->cursor);
	return DOMINO_OK;
}

int
domino_subscribe(domino *d, const struct domino_sub_opts *o, domino_sub **out)
{
	struct domino_sub *s = NULL;
	int rv, sock_open = 0;

	conn_err_clear();
	if (out != NULL)
		*out = NULL;
	if (d == NULL || o == NULL || out == NULL || o->on_event == NULL)
		return conn_err(DOMINO_EINVAL,
		    "domino_subscribe: handle, options and on_event needed");
	if (o->durable != NULL && (*o->durable == '\0' ||
	    strlen(o->durable) > DURABLE_NAME_MAX))
		return conn_err(DOMINO_EINVAL, "domino_subscribe: a durable "
		    "name has 1 to %d bytes", DURABLE_NAME_MAX);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return conn_err(DOMINO_ENOMEM, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->d = d;
	s->cb = *o;
	s->cb.filter = NULL;
	s->cb.durable = NULL;
	s->with_payload = o->with_payload;
	s->auto_ack = o->auto_ack;
	s->no_fill = o->no_fill;
	s->heartbeat_ms = o->heartbeat_ms > 0 ? o->heartbeat_ms
	    : HEARTBEAT_DEFAULT_MS;
	atomic_init(&s->stop, 0);
	atomic_init(&s->last_delivered, 0);
	rv = topic_filter_parse(o->filter, &s->filter);
	if (rv != DOMINO_OK) {
		rv = conn_err(rv, "bad filter '%.200s': want REPO[@REF]",
		    o->filter);
		goto out;
	}
	if (o->filter != NULL && *o->filter != '\0') {
		s->filter_text = strdup(o->filter);
		if (s->filter_text == NULL) {
			rv = conn_err(DOMINO_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (o->durable != NULL) {
		s->durable = strdup(o->durable);
		if (s->durable == NULL) {
			rv = conn_err(DOMINO_ENOMEM, "out of memory");
			goto out;
		}
	}
	rv = resolve_start(s, o);
	if (rv != DOMINO_OK)
		goto out;
	rv = resolve_pub(d, &s->url);
	if (rv != DOMINO_OK)
		goto out;
	rv = sub_socket(s);
	if (rv != DOMINO_OK)
		goto out;
	sock_open = 1;
	if (pthread_create(&s->thr, NULL, sub_thread, s) != 0) {
		rv = conn_err(DOMINO_ENOMEM, "cannot start a thread");
		goto out;
	}
	pthread_mutex_lock(&d->mu);
	s->next = d->subs;
	d->subs = s;
	pthread_mutex_unlock(&d->mu);
	conn_logf(d, DOMINO_LOG_DEBUG, "subscribed url=%s filter=%s start=%s",
	    s->url, s->filter_text ? s->filter_text : "*",
	    s->have_cursor ? "log" : "new");
	*out = s;
	set_started(s);
	s = NULL;
out:
	if (s != NULL) {
		if (sock_open)
			nng_close(s->sock);
		sub_free(s);
	}
	return conn_err_default(rv);
}

int
domino_sub_wait_ready(domino_sub *s, int timeout_ms)
{
	struct timespec dl;
	int rv = DOMINO_OK, wrv = 0;

	conn_err_clear();
	if (s == NULL)
		return conn_err(DOMINO_EINVAL, "no subscription");
	clock_gettime(CLOCK_REALTIME, &dl);
	if (timeout_ms >= 0) {
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&s->mu);
	while (!s->ready && !s->done && wrv == 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&s->cv, &s->mu);
		else
			wrv = pthread_cond_timedwait(&s->cv, &s->mu, &dl);
	}
	if (s->ready && !s->done)
		rv = DOMINO_OK;
	else if (s->done)
		rv = conn_err(DOMINO_ECLOSED, "the subscription has stopped");
	else
		rv = conn_err(DOMINO_ETIMEDOUT,
		    "not ready within %d ms: no heartbeat from the broker's "
		    "fan-out, or the catch-up from the log is not done",
		    timeout_ms);
	pthread_mutex_unlock(&s->mu);
	return rv;
}

uint64_t
domino_sub_last_seq(domino_sub *s)
{
	return s ? atomic_load(&s->last_delivered) : 0;
}

/* Remove s from its handle's list; 1 if it was there. */

int
domino_sub_ack(domino_sub *s, uint64_t seq)
{
	conn_err_clear();
	if (s == NULL || s->durable == NULL)
		return conn_err(DOMINO_EINVAL,
		    "domino_sub_ack: not a durable subscription");
	ack_record(s, seq);
	return DOMINO_OK;
}

/* Remove s from its handle's list; 1 if it was there. */
static int
unlink_sub(struct domino_sub *s)
{
	domino *d = s->d;
	struct domino_sub **pp;
	int found = 0;

	pthread_mutex_lock(&d->mu);
	for (pp = &d->subs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&d->mu);
	return found;
}

static void
stop_and_free(struct domino_sub *s)
{
	atomic_store(&s->stop, 1);
	if (pthread_equal(pthread_self(), s->thr)) {
		/* From a callback: the thread makes no control call once it
		 * returns (the handle may be closed by then), so the acks go
		 * now. */
		ack_flush(s, 1);
		pthread_mutex_lock(&s->mu);
		s->self_free = 1;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	/* Close first: a receive in progress returns NNG_ECLOSED at once,
	 * and nothing waits on nng in the thread after that. */
	pthread_mutex_lock(&s->mu);
	nng_dialer_close(s->dialer);
	pthread_mutex_unlock(&s->mu);
	conn_close_socket(s->d, s->sock, "subscription");
	pthread_join(s->thr, NULL);
	ack_flush(s, 1);
	sub_free(s);
}

void
domino_unsubscribe(domino_sub *s)
{
	if (s == NULL)
		return;
	unlink_sub(s);
	stop_and_free(s);
}

void
sub_close_all(domino *d)
{
	for (;;) {
		struct domino_sub *s;

		pthread_mutex_lock(&d->mu);
		s = d->subs;
		if (s != NULL)
			d->subs = s->next;
		pthread_mutex_unlock(&d->mu);
		if (s == NULL)
			break;
		conn_logf(d, DOMINO_LOG_DEBUG,
		    "closing a subscription left open at domino_close");
		stop_and_free(s);
	}
}
