/* SPDX-License-Identifier: MIT */
/*
 * Live subscriptions: one nng sub0 socket and one thread per subscription.
 * The thread receives with a short timeout so it notices a stop request
 * and a silent link; it splits the topic (topic.h), matches the filter,
 * decodes the event (pre-checked by domino_event_decode) and calls the
 * user's callbacks. Optional replay from a seq goes through domino_log()
 * once the link is proven up, so no event falls between replay and live.
 *
 * Deliberately not here (yet): filling gaps seen later from the log — a
 * jump in seq is only reported through on_gap.
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
#define SUB_RECVBUF 8192 /* nng's maximum queue depth, in messages */

struct domino_sub {
	domino *d;
	struct domino_sub *next; /* in d->subs, under d->mu */
	nng_socket sock;
	nng_dialer dialer;
	pthread_t thr;
	struct topic_filter filter;
	char *filter_text;
	uint64_t from;
	int with_payload;
	int heartbeat_ms;
	struct domino_sub_opts cb; /* callbacks and arg (filter unused) */

	atomic_int stop;           /* unsubscribe asked */
	atomic_uint_least64_t last_delivered;

	pthread_mutex_t mu;        /* guards the fields below */
	pthread_cond_t cv;
	int started;               /* *out is set: callbacks may run */
	int ready;                 /* link up and replay done */
	int done;                  /* the thread has left its loop */
	int self_free;             /* unsubscribed from a callback */

	/* Thread-only state. */
	uint64_t cursor;           /* highest seq accounted for */
	int have_cursor;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Report the event; 1 when the subscription must stop. */
static int
deliver(struct domino_sub *s, struct domino_event *ev)
{
	int r;

	if (s->have_cursor && ev->seq <= s->cursor)
		return 0; /* replayed already, or a duplicate */
	if (s->have_cursor && ev->seq > s->cursor + 1 && s->cb.on_gap != NULL)
		s->cb.on_gap(s->cb.arg, s->cursor + 1, ev->seq - 1);
	if (!s->with_payload) {
		free(ev->payload);
		ev->payload = NULL;
		ev->payload_len = 0;
	}
	s->cursor = ev->seq;
	s->have_cursor = 1;
	r = s->cb.on_event(s->cb.arg, ev);
	atomic_store(&s->last_delivered, ev->seq);
	return r != 0 || atomic_load(&s->stop);
}

static int
replay_cb(void *arg, const struct domino_event *ev)
{
	struct domino_sub *s = arg;

	/* The log was asked with or without payloads as the options say,
	 * so the event goes out as it is. */
	if (s->have_cursor && ev->seq <= s->cursor)
		return atomic_load(&s->stop);
	s->cursor = ev->seq;
	s->have_cursor = 1;
	if (s->cb.on_event(s->cb.arg, ev) != 0)
		return 1;
	atomic_store(&s->last_delivered, ev->seq);
	return atomic_load(&s->stop);
}

/* Replay the log from s->from; 0 to go on live, 1 to stop. */
static int
replay(struct domino_sub *s)
{
	struct domino_log_query q = {0};
	uint64_t next = 0;
	int rv;

	q.from = s->from;
	q.filter = s->filter_text;
	q.with_payload = s->with_payload;
	rv = domino_log(s->d, &q, replay_cb, s, &next);
	if (rv != DOMINO_OK) {
		conn_logf(s->d, DOMINO_LOG_ERROR,
		    "subscription replay from seq %llu failed: %s",
		    (unsigned long long)s->from, domino_errmsg());
		return 1;
	}
	if (atomic_load(&s->stop))
		return 1;
	if (s->have_cursor && s->cursor + 1 < next)
		s->cursor = next - 1;
	if (!s->have_cursor && next > 1) {
		s->cursor = next - 1;
		s->have_cursor = 1;
	}
	return 0;
}

/* Handle one received message; 1 when the subscription must stop. */
static int
handle(struct domino_sub *s, nng_msg *m)
{
	const char *repo, *ref;
	const void *body;
	size_t blen;
	int hb, rv, stop;
	struct domino_event ev;

	if (topic_split(nng_msg_body(m), nng_msg_len(m), &hb, &repo, &ref,
	    &body, &blen) != DOMINO_OK) {
		conn_logf(s->d, DOMINO_LOG_WARN,
		    "dropped a live message with bad framing (%zu bytes)",
		    nng_msg_len(m));
		return 0;
	}
	if (hb) {
		uint64_t seq = 0;
		if (topic_heartbeat_parse(body, blen, &seq) != DOMINO_OK) {
			conn_logf(s->d, DOMINO_LOG_WARN,
			    "dropped a malformed heartbeat");
			return 0;
		}
		if (s->cb.on_heartbeat != NULL)
			s->cb.on_heartbeat(s->cb.arg, seq);
		return atomic_load(&s->stop);
	}
	if (!topic_filter_match(&s->filter, repo, ref))
		return 0;
	rv = domino_event_decode(body, blen, &ev);
	if (rv != DOMINO_OK) {
		conn_logf(s->d, DOMINO_LOG_WARN,
		    "dropped a malformed live event repo=%s: %s", repo,
		    domino_strerror(rv));
		return 0;
	}
	stop = deliver(s, &ev);
	domino_event_clear(&ev);
	return stop;
}

static void
set_state(struct domino_sub *s, int ready, int done)
{
	pthread_mutex_lock(&s->mu);
	if (ready)
		s->ready = 1;
	if (done)
		s->done = 1;
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
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void *
sub_thread(void *arg)
{
	struct domino_sub *s = arg;
	uint64_t heard = now_ms(), dead_after = 3 * (uint64_t)s->heartbeat_ms;
	int up = 0, ever_up = 0, self_free;

	/* A callback may unsubscribe with the pointer domino_subscribe()
	 * stores in *out; make sure it is there first. */
	pthread_mutex_lock(&s->mu);
	while (!s->started)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	while (!atomic_load(&s->stop)) {
		nng_msg *m = NULL;
		int nrv = nng_recvmsg(s->sock, &m, 0);

		if (nrv == NNG_ETIMEDOUT) {
			if (up && now_ms() - heard > dead_after) {
				up = 0;
				conn_logf(s->d, DOMINO_LOG_WARN,
				    "fan-out link down: nothing heard for "
				    "%llu ms", (unsigned long long)dead_after);
				if (s->cb.on_link != NULL)
					s->cb.on_link(s->cb.arg, 0);
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
		heard = now_ms();
		if (!ever_up) {
			ever_up = up = 1;
			if (s->from != 0 && replay(s)) {
				nng_msg_free(m);
				break;
			}
			set_state(s, 1, 0);
		} else if (!up) {
			up = 1;
			conn_logf(s->d, DOMINO_LOG_INFO, "fan-out link up again");
			if (s->cb.on_link != NULL)
				s->cb.on_link(s->cb.arg, 1);
		}
		if (handle(s, m)) {
			nng_msg_free(m);
			break;
		}
		nng_msg_free(m);
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
sub_socket(struct domino_sub *s, const char *url)
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
	nrv = nng_dial(s->sock, url, &s->dialer, 0);
	if (nrv != 0) {
		char what[300];
		snprintf(what, sizeof(what), "cannot connect to %.256s", url);
		nng_close(s->sock);
		return conn_nng_err(nrv, what);
	}
	return DOMINO_OK;
}

int
domino_subscribe(domino *d, const struct domino_sub_opts *o, domino_sub **out)
{
	struct domino_sub *s = NULL;
	char *url = NULL;
	int rv, sock_open = 0;

	conn_err_clear();
	if (out != NULL)
		*out = NULL;
	if (d == NULL || o == NULL || out == NULL || o->on_event == NULL)
		return conn_err(DOMINO_EINVAL,
		    "domino_subscribe: handle, options and on_event needed");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return conn_err(DOMINO_ENOMEM, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->d = d;
	s->cb = *o;
	s->cb.filter = NULL;
	s->from = o->from;
	s->with_payload = o->with_payload;
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
	if (o->filter != NULL && *o->filter != '\0')
		s->filter_text = strdup(o->filter);
	if (o->filter != NULL && *o->filter != '\0' &&
	    s->filter_text == NULL) {
		rv = conn_err(DOMINO_ENOMEM, "out of memory");
		goto out;
	}
	rv = resolve_pub(d, &url);
	if (rv != DOMINO_OK)
		goto out;
	rv = sub_socket(s, url);
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
	conn_logf(d, DOMINO_LOG_DEBUG, "subscribed url=%s filter=%s", url,
	    s->filter_text ? s->filter_text : "*");
	*out = s;
	set_started(s);
	s = NULL;
out:
	free(url);
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
		    "no heartbeat from the broker's fan-out within %d ms",
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
		pthread_mutex_lock(&s->mu);
		s->self_free = 1;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	/* Close first: a receive in progress returns NNG_ECLOSED at once,
	 * and nothing waits on nng in the thread after that. */
	nng_dialer_close(s->dialer);
	conn_close_socket(s->d, s->sock, "subscription");
	pthread_join(s->thr, NULL);
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
