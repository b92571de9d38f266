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
	/* PEM file of the CA that signed the broker's certificate, for
	 * tls+tcp:// control and pub addresses; NULL: the system has none
	 * configured and TLS dials fail verification. */
	const char *ca_file;
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

/* How often the broker answered webhooks of one source with one HTTP
 * status (a member of struct domino_stats). */
struct domino_ingest_count {
	char *source;       /* "unknown" for a source that does not exist */
	unsigned status;    /* HTTP status answered */
	uint64_t count;
};

/* The state of one external callback plugin (a member of domino_stats). */
struct domino_plugin_state {
	char *name;
	char *state;        /* broken, stopped, running, restarting */
	char *reason;       /* why broken, or the last exit; "" when none */
	uint64_t restarts;
};

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
	/* The delivery engine since the broker started. */
	struct {
		uint64_t in_flight;  /* attempts running now */
		uint64_t dispatched; /* attempts started */
		uint64_t ok;
		uint64_t retried;    /* answers that scheduled another attempt */
		uint64_t dead;       /* deliveries that ran out of attempts */
	} deliveries;
	uint64_t trimmed_before; /* retention trimmed every seq below; 0: none */
	struct {
		uint64_t trimmed;     /* events trimmed since start */
		uint64_t held_back;   /* due for trimming but still needed by an
		                       * open delivery or a cursor */
		uint64_t held_by_seq; /* the oldest seq still needed; 0: none */
	} retention;
	/* Webhook answers since start, one per (source, HTTP status), in the
	 * broker's order. */
	struct domino_ingest_count *ingest;
	size_t n_ingest;
	/* External callback plugins found in the plugin directory. */
	struct domino_plugin_state *plugins;
	size_t n_plugins;
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
	/* Optional: called with domino_log()'s arg, before the events that
	 * follow, when the broker says seqs [from, to] were trimmed by
	 * retention; first is the oldest seq the log still holds. The walk
	 * goes on from there. */
	void (*on_gone)(void *arg, uint64_t from, uint64_t to, uint64_t first);
};

/*
 * Read the durable log in seq order: sends `log` requests in batches,
 * following the broker's `next`/`more`, and calls cb once per event. The
 * request for the next batch is sent before cb sees this batch's events,
 * so the broker reads it meanwhile; a walk that stops early abandons it.
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
	/*
	 * Where the subscription starts (the first of these that is set):
	 *  - durable names a cursor that exists: after its seq (below);
	 *  - from = N > 0: the log from seq N (1 means "all");
	 *  - since = T > 0: the first event received at or after T (unix ns);
	 *  - none: "new", events committed after the link came up.
	 * A start in the past is read from the log in batches through the
	 * control socket, then the subscription goes on live without a gap
	 * or a duplicate (live events already read are skipped).
	 */
	uint64_t from;
	/* Non-zero: events keep their raw payload (live events always carry
	 * it on the wire; without this flag it is dropped before on_event). */
	int with_payload;
	/* The broker's heartbeat period; 0: 2000 ms. The link counts as dead
	 * after three periods without any message: the library dials again,
	 * reads what it missed from the log and goes on. */
	int heartbeat_ms;

	/*
	 * Callbacks, all called on the subscription's own thread, one at a
	 * time, events in seq order. They may call any libdomino function,
	 * including domino_unsubscribe() on this very subscription (the
	 * subscription is then freed once the callback returns). A slow
	 * callback costs nothing but time: live messages nng drops meanwhile
	 * are read back from the log.
	 */
	/* Required. Each matching event, borrowed for the call. Returning
	 * non-zero stops the subscription: no more callbacks (and, with
	 * auto_ack, this event is not acknowledged); the caller still calls
	 * domino_unsubscribe(). */
	domino_event_fn on_event;
	/* Optional. Each heartbeat, with the broker's last committed seq. */
	void (*on_heartbeat)(void *arg, uint64_t seq);
	/* Optional. Seqs [from, to] could not be delivered and are skipped:
	 * retention trimmed them from the log before they were read. Every
	 * other jump in the live stream (nng dropped messages for a slow
	 * subscriber, a dead link) is filled from the log before the next
	 * live event and is not reported. */
	void (*on_gap)(void *arg, uint64_t from, uint64_t to);
	/* Optional. The link went dead (up = 0: no message for three
	 * heartbeat periods) or came back and the catch-up is done (up = 1;
	 * not called the first time — use domino_sub_wait_ready()). */
	void (*on_link)(void *arg, int up);
	void *arg;

	/* See `from`: unix ns. */
	int64_t since;
	/*
	 * A durable consumer: the broker keeps the cursor of this name (1 to
	 * 128 bytes). When it exists the subscription starts after its seq,
	 * whatever from/since say; when it does not, the subscription starts
	 * as from/since/"new" say and creates the cursor at once, just
	 * before its start point — so a durable consumer that is stopped
	 * before its first event still gets, on restart, everything
	 * committed since it first connected. Acknowledgements
	 * (domino_sub_ack(), or auto_ack) move the cursor; they are sent in
	 * batches (at most every 200 ms or 100 acks) and on
	 * domino_unsubscribe(). Retention never trims past a cursor, so an
	 * abandoned durable name pins the log (the protocol has no operation
	 * to remove a cursor yet).
	 */
	const char *durable;
	/* With durable: non-zero acknowledges each event once on_event has
	 * returned 0 — and, at heartbeats, the seqs after it that did not
	 * match the filter, so a quiet filter does not pin the log. */
	int auto_ack;
	/* Non-zero: do not fill jumps in the live stream from the log but
	 * report them through on_gap (with a filter the range may hold no
	 * matching event), and after a dead link go on live without reading
	 * what was missed. For measuring the fan-out itself. */
	int no_fill;
};

/*
 * Start a subscription: resolve its start point (a durable cursor, or the
 * seq of `since`, through the control socket), dial the fan-out socket,
 * subscribe, and start the subscription's thread which decodes each
 * message (bounded pre-check first) and calls the callbacks.
 *
 * o:   the options; they and their strings are copied.
 * out: receives the subscription on success (free with
 *      domino_unsubscribe()). *out is written before the first callback
 *      can run, so a callback may read it (e.g. through arg) to
 *      unsubscribe.
 *
 * The pub address comes from domino_opts.pub, or from a `stats` call on the
 * first subscription (cached in d). With the "new" start, events committed
 * before the link is up are not seen; wait with domino_sub_wait_ready().
 *
 * Returns DOMINO_OK, DOMINO_EINVAL (no on_event, bad filter, bad durable
 * name), DOMINO_ETRANSPORT (cannot dial), DOMINO_ENOMEM, or what the
 * control calls return (domino_stats() when the pub address has to be
 * learnt, domino_cursor() for durable, domino_log() for since).
 * Thread-safe. d must stay open while the subscription exists.
 */
int domino_subscribe(domino *d, const struct domino_sub_opts *o,
    domino_sub **out);

/*
 * Wait until the subscription's link is proven up — the first message
 * (normally a heartbeat) has arrived — and the catch-up from its start
 * point is done. Then every event committed afterwards reaches on_event.
 *
 * timeout_ms: negative waits forever.
 *
 * Returns DOMINO_OK, DOMINO_ETIMEDOUT (also while the catch-up cannot
 * reach the broker; it keeps trying), or DOMINO_ECLOSED when the
 * subscription has stopped (on_event returned non-zero, or the broker
 * refused the catch-up for good — a bad filter, a bad token; the reason
 * went to the log callback). Thread-safe; not from the subscription's own
 * callbacks.
 */
int domino_sub_wait_ready(domino_sub *s, int timeout_ms);

/*
 * The highest seq handed to on_event so far (0 before the first). Thread-
 * safe.
 */
uint64_t domino_sub_last_seq(domino_sub *s);

/*
 * Acknowledge the events of a durable subscription up to seq (it is done
 * with them): the cursor moves there with the next batch of acks. An ack
 * lower than an earlier one is ignored (a cursor never moves back).
 *
 * Returns DOMINO_OK, or DOMINO_EINVAL when s is not durable. Thread-safe,
 * also from the subscription's callbacks; never blocks on the network.
 */
int domino_sub_ack(domino_sub *s, uint64_t seq);

/*
 * Stop the subscription and free it. When it returns (from any other
 * thread), no callback of s is running and none will run, and the
 * pending acks of a durable subscription were sent (a failure to send
 * them goes to the log callback). NULL is a no-op. It closes the socket
 * before joining the thread and the thread polls a stop flag, so it
 * returns within a few hundred milliseconds when neither a callback nor a
 * control call (bounded by the handle's timeout) is running.
 */
void domino_unsubscribe(domino_sub *s);

/* ------------------------------------------------------------------------
 * Durable consumers, listener replay and relay (proto/README.md, `ack`,
 * `cursor`, `replay`).
 */

/*
 * The seq a durable consumer has acknowledged: the `cursor` operation.
 *
 * name: the consumer's name (1 to 128 bytes).
 * seq:  receives the cursor on success (0 on failure).
 *
 * Returns DOMINO_OK, DOMINO_ENOTFOUND (no consumer of that name ever
 * acknowledged anything), DOMINO_EINVAL (bad name), or a local failure.
 * Thread-safe.
 */
int domino_cursor(domino *d, const char *name, uint64_t *seq);

/*
 * Move a durable consumer's cursor to seq: the `ack` operation. It creates
 * the cursor when there is none; a cursor never moves back, so a late or
 * repeated ack is harmless.
 *
 * Returns DOMINO_OK, DOMINO_EINVAL (bad name, or seq past the end of the
 * log), DOMINO_EUNAVAIL, or a local failure. Thread-safe.
 */
int domino_ack(domino *d, const char *name, uint64_t seq);

/* What domino_replay() re-delivers. Zero-initialize. */
struct domino_replay_query {
	const char *listener; /* required */
	uint64_t from;        /* first seq; 0: the oldest */
	uint64_t to;          /* last seq, inclusive; 0: the newest */
	int64_t since, until; /* unix ns, received in [since, until); 0: no bound */
	int force;            /* re-deliver events already delivered `ok` */
};

/* The running total of domino_replay(). */
struct domino_replay_result {
	uint64_t created;     /* new deliveries */
	uint64_t skipped;     /* already open, or ok (without force) */
	uint64_t scanned;     /* events of the range read */
	uint64_t next;        /* the seq the next request would start at */
	uint64_t last;        /* the end of the range (broker's last seq when
	                       * the replay started, or `to`) */
	uint64_t first;       /* the oldest seq in the log */
	uint64_t gone_from, gone_to; /* part of the range retention trimmed;
	                       * 0, 0: none */
	int more;             /* 0 once the whole range was handled */
};

/*
 * Operator re-delivery: for every event of the range that reaches the
 * listener through its dependency graph (directly or transitively) the
 * broker creates a new pending delivery, unless one is open already or
 * one was `ok` (without force). Sends `replay` requests of at most 1000
 * events each until the range is done.
 *
 * progress: optional, called after each request with the running total
 *      (and once before the first with zeros and gone/first set);
 *      returning non-zero stops early (not an error: out->more stays 1).
 * out: the total, also after a failure part-way (then it says how far it
 *      got: out->next).
 *
 * Returns DOMINO_OK, DOMINO_ENOTFOUND (no such listener), DOMINO_EINVAL,
 * DOMINO_EUNAUTH, DOMINO_EUNAVAIL, or a local failure. Thread-safe.
 */
int domino_replay(domino *d, const struct domino_replay_query *q,
    int (*progress)(void *arg, const struct domino_replay_result *r),
    void *arg, struct domino_replay_result *out);

/* Options of domino_relay_post(). Zero-initialize. */
struct domino_relay_opts {
	const char *url;      /* required: http(s)://... */
	/* Optional: re-sign for the receiver as the event's forge signs:
	 * github and gitea X-Hub-Signature-256 (gitea also
	 * X-Gitea-Signature), bitbucket X-Hub-Signature, gitlab
	 * X-Gitlab-Token; other sources get X-Hub-Signature-256. */
	const char *secret;
	int timeout_ms;       /* the whole request; 0: 10000 */
};

/*
 * Re-post an event's original webhook the way the forge sent it: the raw
 * body (ev->payload, so subscribe or read the log with payloads) with its
 * kept forge headers (ev->headers, Content-Type among them; Host,
 * Content-Length, hop-by-hop and signature headers are not copied), one
 * HTTP POST with libcurl. The library does not retry: a caller that
 * wants every event delivered retries until a 2xx (and acks only then).
 *
 * status: receives the HTTP status of the answer (0 when there was none).
 *
 * Returns DOMINO_OK once an answer came, whatever its status;
 * DOMINO_EINVAL (no url, no payload), DOMINO_ETRANSPORT (cannot connect,
 * the connection broke), DOMINO_ETIMEDOUT, DOMINO_ENOMEM. Thread-safe;
 * it uses curl_easy_init(), so a threaded program calls
 * curl_global_init() first.
 */
int domino_relay_post(const struct domino_relay_opts *o,
    const struct domino_event *ev, long *status);

/* ------------------------------------------------------------------------
 * Publishing by hand, and ingesting bodies that did not come over HTTP.
 * Both need the admin token and answer after the event is committed.
 */

/* A name/value pair: headers, labels, callback config. Borrowed. */
struct domino_kv {
	const char *key;
	const char *value;
};

/* The arguments of domino_publish(). Zero-initialize; NULL/0 is "absent". */
struct domino_publish_args {
	const char *repo;    /* required, host/owner/name */
	const char *ref;     /* full ref; a short name "main" becomes refs/heads/main */
	const char *type;    /* a normalized type (push, tag, ...); NULL: push */
	const char *before, *after, *actor, *url;
	const char *id;      /* delivery id, the dedupe key; NULL: a UUID */
	const char *event;   /* the "forge event name"; NULL: "publish" */
	const char *const *depends_on; /* n_depends_on strings */
	size_t n_depends_on;
};

/* One event stored (or found already stored) by publish or ingest. */
struct domino_published_event {
	uint64_t seq;
	char *id;
	int duplicate;       /* the id was already in the log: nothing stored */
};

/* The answer of domino_publish() and domino_ingest(). */
struct domino_published {
	uint64_t seq;        /* seq of the first event */
	char *id;            /* id of the first event */
	int duplicate;       /* every event was a duplicate */
	struct domino_published_event *events; /* all of them, in order */
	size_t n_events;     /* >= 1 */
};

/* Free every member of p and zero it. Safe on a zeroed struct or NULL. */
void domino_published_clear(struct domino_published *p);

/*
 * Store a hand-made event (source "generic"): the `publish` operation.
 *
 * a:   the event; its strings are sent, not kept.
 * out: filled on success (domino_published_clear()); zeroed on failure.
 *
 * Returns DOMINO_OK (also for a duplicate id: see out->duplicate),
 * DOMINO_EINVAL (no repo locally, or the broker names the bad argument:
 * unknown type, repo not host/owner/name), DOMINO_EUNAUTH, DOMINO_EUNAVAIL
 * (busy or shutting down: nothing was stored, retry), or a local failure.
 *
 * Thread-safe, and built for it: calls that meet on one handle while
 * earlier ones are in flight go out together as one request (one round
 * trip, one commit; up to 64 KiB of events), each still answered and
 * refused on its own. So a call may take longer than the handle's
 * timeout: it can wait for the requests before its own, and its request
 * is sent again when the broker refuses another caller's event in it.
 */
int domino_publish(domino *d, const struct domino_publish_args *a,
    struct domino_published *out);

/* Events in one domino_publish_many() (the broker's limit). */
#define DOMINO_PUBLISH_MAX 1000

/*
 * Store n hand-made events in one request: one commit for all of them
 * (all are stored or none), one answer listing each in order, and live
 * subscribers get consecutive events of one repo@ref as one message. For
 * relays and imports, where one request per event would cost a round trip
 * and a commit each. A duplicate id among them is reported per event.
 *
 * Returns as domino_publish(); DOMINO_EINVAL names the bad event
 * ("events[3]: ..."), DOMINO_ETOOBIG when n > DOMINO_PUBLISH_MAX.
 * Thread-safe.
 */
int domino_publish_many(domino *d, const struct domino_publish_args *a,
    size_t n, struct domino_published *out);

/* The arguments of domino_ingest(). */
struct domino_ingest_args {
	const char *source;  /* forge: github, gitlab, gitea, bitbucket, gerrit, generic */
	const void *body;    /* the webhook body (JSON), len bytes */
	size_t len;
	const struct domino_kv *headers; /* optional forge headers, n_headers */
	size_t n_headers;
};

/*
 * Run a forge's normalizer on a body that did not arrive over HTTP (one
 * line of Gerrit's stream-events, a saved webhook): the `ingest`
 * operation. The admin token stands in for the webhook signature. A body
 * may yield several events (a Bitbucket push of several refs).
 *
 * Returns DOMINO_OK, DOMINO_EINVAL with the forge's reason in
 * domino_errmsg() (not JSON, a field missing) — nothing was stored then —,
 * DOMINO_ENOTFOUND (no such forge), DOMINO_EUNAUTH, DOMINO_EUNAVAIL,
 * DOMINO_ETOOBIG, or a local failure. Thread-safe.
 */
int domino_ingest(domino *d, const struct domino_ingest_args *a,
    struct domino_published *out);

/* ------------------------------------------------------------------------
 * Listeners: registrations of what a downstream project depends on and how
 * to call it back (proto/README.md, "Listeners"). The registration itself
 * is a msgpack map, so anything the broker accepts can be sent; build one
 * with domino_registration_pack() or domino_yaml_to_msgpack().
 */

/* One depends_on entry. ref and types are optional (NULL / 0). */
struct domino_dep {
	const char *repo;    /* host/owner/name, a glob, or "host/org/" */
	const char *ref;     /* ref glob; "main" means refs/heads/main */
	const char *const *types; /* event types, n_types of them */
	size_t n_types;
};

/* A registration for domino_registration_pack(). Zero-initialize; every
 * pointer is borrowed for the call. */
struct domino_registration {
	const char *name;                     /* required */
	const struct domino_dep *depends_on;  /* required, n_depends_on >= 1 */
	size_t n_depends_on;
	const char *provides;                 /* optional */
	const char *plugin;                   /* required: http, exec, nng, file */
	const struct domino_kv *config;       /* callback config, string values */
	size_t n_config;
	int has_support_level;                /* 0: the broker's default (2) */
	unsigned support_level;               /* 0 core .. 3 third party */
	const struct domino_kv *labels;
	size_t n_labels;
	int coalesce;
};

/*
 * Encode r as the registration map of the `register` operation. Only
 * presence is checked here (name, a depends_on, plugin); the broker
 * validates the rest and names the field it refuses.
 *
 * out, len: a malloc'd buffer (free()) and its size, on success.
 *
 * Returns DOMINO_OK, DOMINO_EINVAL (with domino_errmsg() naming what is
 * missing), DOMINO_ENOMEM. Pure and thread-safe.
 */
int domino_registration_pack(const struct domino_registration *r,
    void **out, size_t *len);

/*
 * Convert a YAML (or JSON) document to msgpack, generically: mappings
 * become maps with string keys, sequences arrays, scalars strings, except
 * plain (unquoted) scalars that read as a decimal integer (uint, or int
 * when negative), true/false (bool) or null/~/nothing (nil). A "!!str" tag
 * keeps a scalar a string. Refused, with domino_errmsg() saying
 * "NAME:LINE: reason": a YAML syntax error, anchors and aliases, other
 * tags, more than one document, duplicate keys, a key that is not a
 * scalar, nesting deeper than 32, more than 2^20 nodes, an integer that
 * does not fit 64 bits, and an empty input.
 *
 * text, len: the document (not necessarily NUL-terminated); at most
 *      16 MiB.
 * name: what to call the input in messages (a file name); NULL: "input".
 * out, olen: a malloc'd msgpack buffer (free()) and its size, on success.
 *
 * Returns DOMINO_OK, DOMINO_EINVAL, DOMINO_ETOOBIG, DOMINO_ENOMEM. Pure
 * and thread-safe.
 */
int domino_yaml_to_msgpack(const char *text, size_t len, const char *name,
    void **out, size_t *olen);

/*
 * Write a msgpack map (e.g. a registration, or a reply of domino_call())
 * as JSON text: integers exact, bin as base64, ext as null. The input
 * passes the same bounded check as every message from the network.
 *
 * pretty: non-zero indents by two spaces; 0 writes one line.
 * out: a malloc'd NUL-terminated string (free()) on success.
 *
 * Returns DOMINO_OK, DOMINO_EINVAL / DOMINO_ETRUNC / DOMINO_ETOOBIG (not
 * one well-formed msgpack value within the limits), DOMINO_EPROTO (not a
 * map), DOMINO_ENOMEM. Pure and thread-safe.
 */
int domino_msgpack_to_json(const void *buf, size_t len, int pretty,
    char **out);

/* The answer of domino_register(). */
struct domino_registered {
	char *name;
	int created;         /* 1: new listener; 0: an existing one updated */
	char *token;         /* the listener's token, only when created or
	                      * rotated (else NULL); shown once, the broker
	                      * keeps only its hash */
};

/* Free (wiping the token) every member of r and zero it. NULL is a no-op. */
void domino_registered_clear(struct domino_registered *r);

/*
 * Create or update a listener: the `register` operation.
 *
 * listener, len: the registration map (msgpack); it is sent as it is.
 * rotate_token: non-zero asks for a new token (the old one stops working).
 * out: filled on success (domino_registered_clear()); zeroed on failure.
 *
 * Updating an existing name needs the admin token or that listener's own
 * token (DOMINO_ECONFLICT otherwise). A registration the broker refuses is
 * DOMINO_EINVAL and domino_errmsg() names the field
 * ("depends_on[1].ref: ..."). A listener token may only register itself.
 * Returns DOMINO_OK, DOMINO_EINVAL, DOMINO_ECONFLICT, DOMINO_EUNAUTH,
 * DOMINO_EUNAVAIL, or a local failure. Thread-safe.
 */
int domino_register(domino *d, const void *listener, size_t len,
    int rotate_token, struct domino_registered *out);

/*
 * Remove a listener, its dependency entries and its deliveries.
 *
 * removed: may be NULL; receives how many delivery records went with it.
 *
 * Returns DOMINO_OK, DOMINO_ENOTFOUND, DOMINO_EUNAUTH (a listener token
 * naming another listener), or a local failure. Thread-safe.
 */
int domino_unregister(domino *d, const char *name, uint64_t *removed);

/*
 * Every listener, as JSON text: an array of summaries ordered by name,
 * each {name, depends_on, provides?, support_level, labels?, created,
 * updated (unix ns, exact integers), disabled, plugin}. depends_on
 * entries are strings or {repo, ref?, types?} objects.
 *
 * json: a malloc'd string (free()) on success.
 *
 * Needs the admin token. Returns DOMINO_OK, DOMINO_EUNAUTH, or a local
 * failure. Thread-safe.
 */
int domino_listeners(domino *d, char **json);

/*
 * One listener as stored, as a JSON object: the summary's fields plus
 * callback {plugin, config} — secret config values come back as "***" —,
 * retry (when set) and coalesce.
 *
 * Returns DOMINO_OK, DOMINO_ENOTFOUND, DOMINO_EUNAUTH, or a local failure.
 * Thread-safe.
 */
int domino_listener(domino *d, const char *name, char **json);

/* Options of domino_impact(). Zero-initialize. */
struct domino_impact_opts {
	unsigned max_depth;       /* 0: the broker's graph.max_depth */
	int has_support_level;    /* non-zero: filter by support_level */
	unsigned support_level;   /* only listeners at this level or more
	                           * important (<=) */
};

/* One listener reached by a change, in breadth-first order. */
struct domino_impact_hit {
	char *name;
	unsigned depth;           /* 1: depends on the repo itself */
	unsigned support_level;
	int disabled;
	char *provides;           /* NULL when it provides nothing */
	char *parent;             /* the listener it is reached through;
	                           * NULL at depth 1 */
	char **via;               /* repos from the changed one to it */
	size_t n_via;
};

struct domino_impact {
	char *repo;
	struct domino_impact_hit *hits;
	size_t n;
};

/* Free every member of im and zero it. Safe on a zeroed struct or NULL. */
void domino_impact_clear(struct domino_impact *im);

/*
 * "If repo changed, who would hear about it?" — the `impact` operation:
 * the listeners reached directly and transitively, without storing
 * anything. With a support-level filter a listener may be listed while
 * its parent is not (the parent is less important).
 *
 * o:   may be NULL for the defaults.
 * out: filled on success (domino_impact_clear()); zeroed on failure.
 *
 * Needs the admin token. Returns DOMINO_OK, DOMINO_EINVAL (no repo),
 * DOMINO_EUNAUTH, or a local failure. Thread-safe.
 */
int domino_impact(domino *d, const char *repo,
    const struct domino_impact_opts *o, struct domino_impact *out);

/* What domino_deliveries() reads. Zero-initialize. */
struct domino_deliveries_query {
	const char *listener;  /* NULL: every listener (admin) or the token's own */
	const char *state;     /* pending, in_flight, ok, failed, dead; NULL: all */
	uint64_t from;         /* only seqs >= from; 0: all */
	uint64_t limit;        /* 0: 100; the broker caps it at 1000 */
	uint64_t seq;          /* only the deliveries of this event; 0: all */
	int history;           /* non-zero: fill each record's history */
};

/* One entry of a delivery's history: an attempt's answer or a manual
 * action (the broker keeps the last 50). */
struct domino_history_entry {
	int64_t time;          /* unix ns */
	uint64_t attempt;      /* attempts made when it happened */
	char *what;            /* an attempt's outcome ("ok", "retry",
	                        * "fail", "gone"), or an action ("retry" by
	                        * hand, "resolved", "superseded",
	                        * "interrupted"); never NULL */
	int64_t status;        /* HTTP status or exit code; -1: none */
	char *detail;          /* the first bytes of the answer, stderr tail,
	                        * error text, or who did it and why; may be
	                        * NULL */
};

/* One delivery record: a (listener, event) pair reached by matching. */
struct domino_delivery {
	char *listener;
	uint64_t seq;
	char *state;
	uint64_t attempt;      /* attempts made so far */
	int64_t next;          /* next attempt due, unix ns; 0 when none */
	int64_t created;       /* unix ns */
	char **via;            /* repos from the changed one to the listener */
	size_t n_via;
	char *repo, *ref, *type; /* of the event; each may be NULL */
	/* Oldest first; NULL unless the query asked for history (then
	 * non-NULL even when n_history is 0). */
	struct domino_history_entry *history;
	size_t n_history;
};

struct domino_deliveries {
	struct domino_delivery *v;
	size_t n;
	int more;              /* more records matched than were returned */
};

/* Free every member of dl and zero it. Safe on a zeroed struct or NULL. */
void domino_deliveries_clear(struct domino_deliveries *dl);

/*
 * Delivery records ordered by listener, then seq: the `deliveries`
 * operation (one request; narrow the query when out->more is set).
 *
 * q:   may be NULL for everything the token may see.
 * out: filled on success (domino_deliveries_clear()); zeroed on failure.
 *
 * A listener token sees only its own deliveries. Returns DOMINO_OK,
 * DOMINO_EINVAL (unknown state), DOMINO_EUNAUTH, or a local failure.
 * Thread-safe.
 */
int domino_deliveries(domino *d, const struct domino_deliveries_query *q,
    struct domino_deliveries *out);

/* ------------------------------------------------------------------------
 * Deliveries by hand, and revalidation results (proto/README.md,
 * "Deliveries"). Every change is committed by the broker before it
 * answers; who did it (admin or the listener) and why go into the
 * delivery's history. A listener token may act on its own listener only
 * (DOMINO_EUNAUTH otherwise); enable and results of an event across
 * listeners need the admin token.
 */

/*
 * Make deliveries of a listener due again: the `retry` operation. The
 * records become `pending`, due now, whatever state they were in.
 *
 * seq:     one delivery; 0: every `dead` delivery of the listener.
 * changed: may be NULL; receives how many records were revived.
 *
 * Returns DOMINO_OK (also when nothing was dead: *changed is 0),
 * DOMINO_ENOTFOUND (no delivery of seq to that listener), DOMINO_ECONFLICT
 * (that delivery is being attempted right now; wait for its answer),
 * DOMINO_EINVAL (no listener), DOMINO_EUNAUTH, DOMINO_EUNAVAIL, or a local
 * failure. Thread-safe.
 */
int domino_retry(domino *d, const char *listener, uint64_t seq,
    uint64_t *changed);

/*
 * Mark a delivery done by hand: the `resolve` operation. It becomes `ok`
 * and its history gets "resolved" with who did it and reason.
 *
 * seq:     required (not 0).
 * reason:  required, non-empty: why it needs no (further) attempt.
 * changed: may be NULL; receives 1.
 *
 * Returns DOMINO_OK, DOMINO_EINVAL (no listener, seq or reason),
 * DOMINO_ENOTFOUND, DOMINO_EUNAUTH, DOMINO_EUNAVAIL, or a local failure.
 * Thread-safe.
 */
int domino_resolve(domino *d, const char *listener, uint64_t seq,
    const char *reason, uint64_t *changed);

/*
 * Enable or disable a listener: the `enable` / `disable` operations. A
 * disabled listener gets no attempts but keeps its backlog, delivered once
 * it is enabled again (which also forgets how long it had been failing).
 *
 * enable:  non-zero enables (admin token), 0 disables (admin token, or the
 *          listener's own).
 * changed: may be NULL; receives 1, or 0 when it already was so.
 *
 * Returns DOMINO_OK, DOMINO_ENOTFOUND, DOMINO_EINVAL (no name),
 * DOMINO_EUNAUTH, DOMINO_EUNAVAIL, or a local failure. Thread-safe.
 */
int domino_enable(domino *d, const char *name, int enable,
    uint64_t *changed);

/*
 * Report the outcome of the work a delivery triggered (a CI run): the
 * `report` operation, normally with the listener's own token. A later
 * report of the same (listener, seq) replaces the earlier one.
 *
 * seq:    the event the listener was told about; it must have a delivery
 *         of it.
 * status: "pass", "fail" or "error".
 * url, detail: optional (NULL), e.g. the CI run's page and a short
 *         message; the broker takes at most 2 KiB and 4 KiB.
 *
 * Returns DOMINO_OK, DOMINO_EINVAL (no listener or seq, another status;
 * checked here before anything is sent), DOMINO_ENOTFOUND (no such
 * delivery), DOMINO_ETOOBIG, DOMINO_EUNAUTH, DOMINO_EUNAVAIL, or a local
 * failure. Thread-safe.
 */
int domino_report(domino *d, const char *listener, uint64_t seq,
    const char *status, const char *url, const char *detail);

/*
 * Revalidation results as JSON text: the `results` operation.
 *
 * listener NULL: the roll-up of the upstream event seq (admin token) —
 *      {"seq": N, "listeners": [{listener, support_level, delivery (its
 *      state), status ("pass", "fail", "error" or "unknown" when nothing
 *      was reported), report?}]}, where report is {status, url, detail,
 *      time (unix ns), by}.
 * listener set: its newest report per upstream repo (seq is ignored) —
 *      {"listener": NAME, "dependencies": [{repo, seq, report}]}.
 * json: a malloc'd string (free()) on success; integers are exact.
 *
 * Returns DOMINO_OK, DOMINO_EINVAL (neither a listener nor a seq),
 * DOMINO_EUNAUTH, or a local failure. Thread-safe.
 */
int domino_results(domino *d, const char *listener, uint64_t seq,
    char **json);

/*
 * Callback plugins (proto/README.md, "Plugins"; admin token), each answered
 * as a malloc'd JSON string in *json (free()):
 *
 * domino_plugins: name NULL lists every plugin, or just the one named —
 *      {"broken": N, "plugins": [{name, kind ("builtin" or "external"),
 *      summary, state (ok, broken, stopped, running, restarting), config:
 *      {KEY: {required, secret, description}}, and for external ones path,
 *      version, reason, pid, restarts}]}. DOMINO_ENOTFOUND when name names
 *      no plugin (the message says why when it is broken).
 * domino_plugin_install: download url (http, https, file), check sha256
 *      (64 hex digits) when given, run its `capabilities`, activate it as
 *      name (NULL: the name it declares) — {"name": N}. DOMINO_EINVAL with
 *      the reason (mismatch, not a plugin) otherwise; nothing is left behind.
 * domino_plugin_reload: rescan the plugin directory —
 *      {"plugins": N working, "broken": N}.
 *
 * Return DOMINO_OK or an error (domino_errmsg()). Thread-safe.
 */
int domino_plugins(domino *d, const char *name, char **json);
int domino_plugin_install(domino *d, const char *url, const char *name,
    const char *sha256, char **json);
int domino_plugin_reload(domino *d, char **json);

#ifdef __cplusplus
}
#endif

#endif
