/* SPDX-License-Identifier: MIT */
/*
 * Fan-out; see fanout.h. The send buffer is raised from nng's default 16
 * messages, which loses events even at modest bursty rates; the heartbeat
 * runs on an nng sleep aio, so there is no thread of our own.
 */
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/supplemental/tls/tls.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "fanout.h"
#include "log.h"
#include "store.h"
#include "topic.h"

#define SENDBUF 8192 /* nng's maximum queue depth */

struct fanout {
	nng_socket sock;
	nng_listener lst;
	nng_aio *hb;
	struct store *st;
	nng_duration period;
	_Atomic uint64_t sent;
	_Atomic int64_t subscribers;
	_Atomic int closing;
	uint64_t max_subscribers;
	_Atomic uint64_t refused;
};

static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct fanout *f = arg;

	if (ev == NNG_PIPE_EV_ADD_PRE) {
		/* nng fires REM_POST for every pipe that saw ADD_PRE, refused
		 * or not, so count here and uncount there. */
		if ((uint64_t)atomic_fetch_add(&f->subscribers, 1) >=
		    f->max_subscribers) {
			if (atomic_fetch_add(&f->refused, 1) % 100 == 0)
				log_msg(LOG_WARN, "fanout: subscriber refused, "
				    "limits.max_subscribers=%llu reached",
				    (unsigned long long)f->max_subscribers);
			nng_pipe_close(p);
		}
		return;
	}
	if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&f->subscribers, 1);
}

static void
heartbeat(void *arg)
{
	struct fanout *f = arg;
	char buf[64];
	size_t n;

	if (nng_aio_result(f->hb) != 0 || atomic_load(&f->closing))
		return;
	n = topic_heartbeat(buf, sizeof(buf), store_last_seq(f->st), clock_now_ns());
	if (n > 0)
		nng_send(f->sock, buf, n, NNG_FLAG_NONBLOCK);
	nng_sleep_aio(f->period, f->hb);
}

int
fanout_open(const char *url, struct store *st, uint32_t heartbeat_ms,
    uint64_t max_subscribers, struct nng_tls_config *tls, struct fanout **out,
    char **bound, char *err, size_t errlen)
{
	struct fanout *f;
	int rv, port = 0;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return DOMINO_ENOMEM;
	f->st = st;
	f->max_subscribers = max_subscribers ? max_subscribers : UINT64_MAX;
	f->period = heartbeat_ms > 0 ? (nng_duration)heartbeat_ms : 2000;
	if ((rv = nng_pub0_open(&f->sock)) != 0)
		goto fail;
	nng_socket_set_int(f->sock, NNG_OPT_SENDBUF, SENDBUF);
	nng_pipe_notify(f->sock, NNG_PIPE_EV_ADD_PRE, pipe_event, f);
	nng_pipe_notify(f->sock, NNG_PIPE_EV_REM_POST, pipe_event, f);
	if ((rv = nng_listener_create(&f->lst, f->sock, url)) != 0)
		goto fail;
	if (strncmp(url, "tls+", 4) == 0 &&
	    (tls == NULL || (rv = nng_listener_set_ptr(f->lst, NNG_OPT_TLS_CONFIG,
	    tls)) != 0)) {
		if (tls == NULL)
			rv = NNG_ENOTSUP;
		goto fail;
	}
	if ((rv = nng_listener_start(f->lst, 0)) != 0)
		goto fail;
	*bound = NULL;
	if ((strncmp(url, "tcp://", 6) == 0 || strncmp(url, "tls+tcp://", 10) == 0) &&
	    nng_listener_get_int(f->lst, NNG_OPT_TCP_BOUND_PORT, &port) == 0) {
		const char *host = strstr(url, "://") + 3, *colon = strrchr(host, ':');
		int hl = colon ? (int)(colon - host) : (int)strlen(host);
		if (asprintf(bound, "%.*s%.*s:%d", (int)(host - url), url, hl, host,
		    port) < 0)
			*bound = NULL;
	}
	if (*bound == NULL)
		*bound = strdup(url);
	if ((rv = nng_aio_alloc(&f->hb, heartbeat, f)) != 0)
		goto fail;
	nng_sleep_aio(0, f->hb);
	*out = f;
	return DOMINO_OK;
fail:
	snprintf(err, errlen, "cannot listen for subscribers on %s: %s", url,
	    rv == NNG_ENOTSUP && tls == NULL ? "a tls+ URL needs tls.cert and "
	    "tls.key in the config" : nng_strerror(rv));
	if (f->hb != NULL)
		nng_aio_free(f->hb);
	nng_close(f->sock);
	free(f);
	return DOMINO_ETRANSPORT;
}

void
fanout_flush(struct fanout *f, struct fanout_batch *b)
{
	size_t hl, at;
	nng_msg *m;

	if (b->n == 0)
		return;
	hl = topic_header_len(b->repo, b->repo_len, b->ref, b->ref_len);
	at = hl + (b->n > 1 ? TOPIC_BATCH_HEADER : 0);
	if (nng_msg_alloc(&m, at + b->bytes) != 0) {
		log_msg(LOG_WARN, "fanout: out of memory, %zu events dropped live",
		    b->n);
		b->n = b->bytes = 0;
		return;
	}
	topic_header_write(nng_msg_body(m), b->repo, b->repo_len, b->ref,
	    b->ref_len);
	if (b->n > 1)
		topic_batch_header((char *)nng_msg_body(m) + hl, (uint32_t)b->n);
	for (size_t i = 0; i < b->n; i++) {
		memcpy((char *)nng_msg_body(m) + at, b->ev[i].p, b->ev[i].len);
		at += b->ev[i].len;
	}
	if (nng_sendmsg(f->sock, m, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(m);
	else
		atomic_fetch_add(&f->sent, b->n);
	b->n = b->bytes = 0;
}

void
fanout_add(struct fanout *f, struct fanout_batch *b, const char *repo,
    size_t repo_len, const char *ref, size_t ref_len, const void *ev,
    size_t len)
{
	/* A topic starting with NUL is a heartbeat: an event without a repo
	 * goes out under "-". */
	if (repo_len == 0) {
		repo = "-";
		repo_len = 1;
	}
	if (b->n > 0 && (b->n == FANOUT_BATCH_EVENTS ||
	    b->bytes + len > FANOUT_BATCH_BYTES || repo_len != b->repo_len ||
	    ref_len != b->ref_len || memcmp(repo, b->repo, repo_len) != 0 ||
	    memcmp(ref, b->ref, ref_len) != 0))
		fanout_flush(f, b);
	if (b->n == 0) {
		b->repo = repo;
		b->repo_len = repo_len;
		b->ref = ref;
		b->ref_len = ref_len;
	}
	b->ev[b->n].p = ev;
	b->ev[b->n].len = len;
	b->n++;
	b->bytes += len;
}

uint64_t
fanout_sent(const struct fanout *f)
{
	return atomic_load(&((struct fanout *)f)->sent);
}

uint64_t
fanout_subscribers(const struct fanout *f)
{
	int64_t n = atomic_load(&((struct fanout *)f)->subscribers);
	return n > 0 ? (uint64_t)n : 0;
}

void
fanout_close(struct fanout *f)
{
	if (f == NULL)
		return;
	atomic_store(&f->closing, 1);
	nng_aio_stop(f->hb);
	nng_aio_free(f->hb);
	nng_close(f->sock);
	free(f);
}
