/* SPDX-License-Identifier: MIT */
/*
 * libdomino: the client library of the domino change-notification broker.
 *
 * A program opens a handle on the broker's control socket (nng req0) and
 * uses it for request/reply operations (stats, the durable log, source
 * secrets) and to open live subscriptions on the broker's fan-out socket
 * (nng pub0). Events are struct domino_event (event.h); every status code is
 * an enum domino_err (err.h). The wire protocol is proto/README.md.
 *
 * What this library deliberately does not do: it never prints (it hands
 * its log lines to a callback you give it), never calls exit() or installs
 * signal handlers, and keeps no global state except the per-thread error
 * text behind domino_errmsg().
 *
 * Conventions that hold for every function below:
 *
 *  - Status codes: functions that can fail return DOMINO_OK (0) or an enum
 *    domino_err code. After a failure, domino_errmsg() on the same thread
 *    returns a sentence for a person: the broker's own err.msg when the
 *    broker answered {ok: false}, else a local description ("cannot connect
 *    to tcp://127.0.0.1:8702: Connection refused").
 *  - Error replies: when the broker answers {ok: false, err: {code, msg}},
 *    the function returns domino_err_from_code(code): DOMINO_EUNAUTH,
 *    DOMINO_ENOTFOUND, DOMINO_EINVAL, DOMINO_ECONFLICT, DOMINO_EUNAVAIL,
 *    DOMINO_ETOOBIG, DOMINO_ESTORE, DOMINO_EINTERNAL, or DOMINO_EREMOTE for a
 *    code this version of the library does not know.
 *  - Local failures: DOMINO_EINVAL (bad argument), DOMINO_ENOMEM,
 *    DOMINO_ETRANSPORT (nng failed: cannot dial, connection lost),
 *    DOMINO_ETIMEDOUT (no reply within the handle's timeout), DOMINO_EPROTO
 *    (the reply is not what the protocol says), DOMINO_ECLOSED.
 *  - Ownership: results returned through out-parameters belong to the
 *    caller only when the function returns DOMINO_OK; on failure the
 *    out-parameters are left zeroed/NULL and nothing needs freeing. Strings
 *    passed in are copied if they are kept; the caller may free them once
 *    the call returns.
 *  - Threads: a domino handle may be used by several threads at once (each
 *    control call runs on its own nng context). domino_close() must not
 *    race with other calls on the same handle.
 *  - Option structs: zero-initialize them ({0}) and set what you need;
 *    zero always means "the default", so new fields can be appended.
 */
#ifndef DOMINO_H
#define DOMINO_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DOMINO_CONTROL_DEFAULT "tcp://127.0.0.1:8702"
#define DOMINO_TIMEOUT_DEFAULT 10000 /* ms, control calls */

/* Levels handed to the log callback (lower is more severe). */
enum domino_log_level {
	DOMINO_LOG_ERROR = 0,
	DOMINO_LOG_WARN = 1,
	DOMINO_LOG_INFO = 2,
	DOMINO_LOG_DEBUG = 3
};

/* An open connection to one broker. Opaque. */
typedef struct domino domino;

/* One live subscription. Opaque. */
typedef struct domino_sub domino_sub;

/*
 * The log callback: called with one line of text (no trailing newline, no
 * payloads or secrets), possibly from a library thread and from several
 * threads at once. msg lives for the call. The callback must not call back
 * into libdomino.
 */
typedef void (*domino_log_fn)(void *arg, int level, const char *msg);

/*
 * The event callback used by domino_log() and subscriptions. ev and
 * everything it points to is borrowed: it lives for the duration of the
 * call; copy what you keep. Return 0 to go on, non-zero to stop.
 */
typedef int (*domino_event_fn)(void *arg, const struct domino_event *ev);

struct domino_opts {
	/* Control address (nng URL); NULL: DOMINO_CONTROL_DEFAULT. */
	const char *control;
	/* Fan-out address; NULL: learnt from the broker's stats reply
	 * (listen.pub) on the first domino_subscribe(). A wildcard host
	 * (0.0.0.0, ::) there is replaced by the control address's host. */
	const char *pub;
	/* Admin or listener token sent with every request; NULL sends none. */
	const char *token;
	/* Per control call, send and receive together; 0: the default,
	 * negative: wait forever. */
	int timeout_ms;
	/* Optional logger; NULL: the library stays silent. */
	domino_log_fn log;
	void *log_arg;
	/* Only lines at this level or more severe reach log; 0 means
	 * DOMINO_LOG_INFO. */
	int log_level;
};

/*
 * Open a handle and dial the control socket.
 *
 * out:  receives the handle on success (free with domino_close()).
 * opts: may be NULL for all defaults; it and its strings are copied.
 *
 * The dial is synchronous, so a broker that is not listening is reported
 * here (DOMINO_ETRANSPORT, "cannot connect to URL: Connection refused")
 * rather than on the first call. Once connected, nng reconnects by itself
 * when the broker restarts; calls made meanwhile wait up to their timeout.
 * No request is sent by domino_open().
 *
 * Returns DOMINO_OK, DOMINO_EINVAL (bad URL), DOMINO_ETRANSPORT,
 * DOMINO_ENOMEM. Thread-safe (no shared state).
 */
int domino_open(domino **out, const struct domino_opts *opts);

/*
 * Close every subscription still open on d (as domino_unsubscribe() would),
 * then the control socket, and free d. NULL is a no-op. No other call may
 * be running on d, nor start after it.
 */
void domino_close(domino *d);

/*
 * The text of the last failure of a libdomino call made by the calling
 * thread; "" when the last call succeeded or set none. The string is
 * thread-local, owned by the library and valid until the next libdomino
 * call on this thread. Never NULL.
 */
const char *domino_errmsg(void);

/*
 * Raw control call: send req (len bytes, one msgpack map {op, ...}; the
 * handle's token is NOT added — put it in the map yourself) and return the
 * reply bytes unchanged in *reply (malloc'd, caller frees with free()) and
 * *rlen. The reply is not interpreted: an {ok: false} answer still returns
 * DOMINO_OK. Replies over 32 MiB are refused by the transport.
 *
 * Returns DOMINO_OK, DOMINO_EINVAL, DOMINO_ETRANSPORT, DOMINO_ETIMEDOUT,
 * DOMINO_ENOMEM. Thread-safe.
 */
int domino_call(domino *d, const void *req, size_t len, void **reply,
    size_t *rlen);

/* The answer of the `stats` operation. */
struct domino_stats {
	char *version;      /* broker version; may be NULL */
	uint64_t seq;       /* last committed seq, 0 when the log is empty */
	uint64_t first_seq; /* oldest seq still in the log, 0 when empty */
	uint64_t events;    /* events in the log */
	uint64_t uptime_ms;
	/* Bound addresses; each may be NULL when the broker did not say. */
	char *listen_http;
	char *listen_pub;
	char *listen_control;
	char *listen_admin;
	char **sources;     /* enabled sources */
	size_t n_sources;
};

/*
 * Ask the broker for its statistics.
 *
 * out: filled on success; every string in it is malloc'd and owned by the
 *      caller, released with domino_stats_clear(). Zeroed on failure.
 *
 * Returns DOMINO_OK, a broker error (DOMINO_EUNAUTH, ...) or a local
 * failure (see the top of this file). Thread-safe.
 */
int domino_stats(domino *d, struct domino_stats *out);

/* Free every member of st and zero it. Safe on a zeroed struct or NULL. */
void domino_stats_clear(struct domino_stats *st);

/* What domino_log() reads. Zero-initialize; 0/NULL fields are defaults. */
struct domino_log_query {
	uint64_t from;       /* first seq; 0 means 1 (the oldest) */
	uint64_t limit;      /* events wanted in total; 0: all to the end */
	const char *filter;  /* "REPO[@REF]" with globs, "host/org/"; NULL: all */
	int64_t since;       /* unix ns, only events received at or after; 0: no bound */
	int64_t until;       /* unix ns, only events received before; 0: no bound */
	int with_payload;    /* non-zero: events carry their raw payload */
	uint32_t batch;      /* events per request; 0: 100 (the broker caps
	                      * it at 1000 and at 8 MiB per reply) */
};

/*
 * Read the durable log in seq order: sends `log` requests in batches,
 * following the broker's `next`/`more`, and calls cb once per event.
 *
 * q:    the query; NULL reads the whole log.
 * cb:   called on the calling thread with a borrowed event (see
 *       domino_event_fn); returning non-zero stops the walk early, which
 *       is not an error.
 * next: may be NULL; receives the seq to resume from (one past the last
 *       event handed to cb, or the broker's `next` when the walk reached
 *       the end). Set on success and when a later batch fails, so a
 *       caller can resume after a transport error.
 *
 * Returns DOMINO_OK (the end was reached, limit events were seen, or cb
 * asked to stop), a broker error (DOMINO_EINVAL for a bad filter, ...) or
 * a local failure. Events already passed to cb stay passed. Thread-safe;
 * cb may call other libdomino functions on d.
 */
int domino_log(domino *d, const struct domino_log_query *q,
    domino_event_fn cb, void *arg, uint64_t *next);

/*
 * Fetch the HMAC secret and/or the token configured for a source (admin
 * token needed).
 *
 * source: "github", "gitlab", ...
 * secret, token: each may be NULL when not wanted; on success each gets a
 *      malloc'd string (caller frees, and should wipe it) or NULL when the
 *      source has none of that kind.
 *
 * Returns DOMINO_OK, DOMINO_ENOTFOUND (unknown or disabled source),
 * DOMINO_EUNAUTH, or a local failure. Thread-safe.
 */
int domino_secret(domino *d, const char *source, char **secret, char **token);

/* Options of one subscription. Zero-initialize; zero fields are defaults. */
struct domino_sub_opts {
	/* "REPO[@REF]" with globs (* ? [...]), "host/org/" for an org; NULL
	 * or "" for everything. The library subscribes to the longest literal
	 * nng prefix and matches the rest itself. */
	const char *filter;
	/* 0: live events only. N > 0: once the link is up, first replay the
	 * log from seq N to the end through on_event, then go on live; live
	 * events with a seq already replayed are skipped. */
	uint64_t from;
	/* Non-zero: events keep their raw payload (live events always carry
	 * it on the wire; without this flag it is dropped before on_event). */
	int with_payload;
	/* The broker's heartbeat period; 0: 2000 ms. The link counts as down
	 * after three periods without any message. */
	int heartbeat_ms;

	/*
	 * Callbacks, all called on the subscription's own thread, one at a
	 * time, in the order the messages arrived. They may call any
	 * libdomino function, including domino_unsubscribe() on this very
	 * subscription (the subscription is then freed once the callback
	 * returns). They must not block for long: nng drops live messages
	 * for a subscriber that does not keep up (see on_gap).
	 */
	/* Required. Each matching event, borrowed for the call. Returning
	 * non-zero stops the subscription: no more callbacks; the caller
	 * still calls domino_unsubscribe(). */
	domino_event_fn on_event;
	/* Optional. Each heartbeat, with the broker's last committed seq. */
	void (*on_heartbeat)(void *arg, uint64_t seq);
	/* Optional. An event arrived with seq > last seen + 1: seqs
	 * [from, to] were not received. Without a filter that is a real
	 * loss (slow subscriber, reconnect); with a filter the range may
	 * simply hold no matching event — check with domino_log(). Only
	 * reported after the first event. */
	void (*on_gap)(void *arg, uint64_t from, uint64_t to);
	/* Optional. The link went down (up = 0: no message for three
	 * heartbeat periods) or came back (up = 1, not called for the
	 * first time the link comes up — use domino_sub_wait_ready()). */
	void (*on_link)(void *arg, int up);
	void *arg;
};

/*
 * Start a subscription: dial the fan-out socket, subscribe, and start the
 * subscription's thread which decodes each message (bounded pre-check
 * first) and calls the callbacks.
 *
 * o:   the options; they and the filter string are copied.
 * out: receives the subscription on success (free with
 *      domino_unsubscribe()).
 *
 * The pub address comes from domino_opts.pub, or from a `stats` call on the
 * first subscription (cached in d). Events published before the link is up
 * are not seen live; wait with domino_sub_wait_ready() or use o->from.
 *
 * Returns DOMINO_OK, DOMINO_EINVAL (no on_event, bad filter),
 * DOMINO_ETRANSPORT (cannot dial), DOMINO_ENOMEM, or what domino_stats()
 * returns when the pub address has to be learnt. Thread-safe. d must stay
 * open while the subscription exists.
 */
int domino_subscribe(domino *d, const struct domino_sub_opts *o,
    domino_sub **out);

/*
 * Wait until the subscription's link is proven up — the first message
 * (normally a heartbeat) has arrived — and, with o->from, the replay of the
 * log is done. Then every event committed afterwards reaches on_event
 * unless nng drops it (see on_gap).
 *
 * timeout_ms: negative waits forever.
 *
 * Returns DOMINO_OK, DOMINO_ETIMEDOUT, or DOMINO_ECLOSED when the
 * subscription has stopped (on_event returned non-zero, or its replay
 * failed; the reason went to the log callback). Thread-safe; not from the
 * subscription's own callbacks.
 */
int domino_sub_wait_ready(domino_sub *s, int timeout_ms);

/*
 * The highest seq handed to on_event so far (0 before the first). Thread-
 * safe.
 */
uint64_t domino_sub_last_seq(domino_sub *s);

/*
 * Stop the subscription and free it. When it returns (from any other
 * thread), no callback of s is running and none will run. NULL is a
 * no-op. It closes the socket before joining the thread and the thread
 * polls a stop flag, so it returns within a few hundred milliseconds even
 * when a callback is not running.
 */
void domino_unsubscribe(domino_sub *s);

#ifdef __cplusplus
}
#endif

#endif
