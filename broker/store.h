/* SPDX-License-Identifier: MIT */
/*
 * The durable log in LMDB: one environment in the data directory, named
 * databases `events` (seq -> event), `ids` (source NUL id -> seq, dedupe),
 * `by_repo` (repo -> seq, dupsort) and `meta`. Keys are big-endian so LMDB
 * order is numeric order.
 *
 * Writes happen only on the writer thread (store_wtxn); readers open short
 * read transactions from any thread (MDB_NOTLS). The map grows when full:
 * the writer aborts, takes the resize gate (readers hold it shared for the
 * life of a read transaction) and retries. This module does not know about
 * HTTP, forges or fan-out.
 */
#ifndef DOMINO_STORE_H
#define DOMINO_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_wtxn;
struct store_txn;

/*
 * Storage schema: 1 had dependency index entries without match records;
 * 2 has them. store_open takes either and refuses a newer one.
 */
#define STORE_SCHEMA 2

struct store_stats {
	uint64_t last_seq;  /* 0 when nothing was ever appended */
	uint64_t first_seq; /* 0 when the log is empty */
	uint64_t events;
	uint64_t map_size;  /* bytes reserved for the map */
	uint64_t used;      /* bytes in use */
	uint64_t trimmed_before; /* events below this seq were trimmed, 0 none */
};

/*
 * Open (creating) the environment in dir, which must exist. On failure
 * writes a reason into err. Returns DOMINO_OK, DOMINO_ESTORE or DOMINO_EIO.
 */
int store_open(const char *dir, struct store **out, char *err, size_t errlen);

/* Close; all transactions must be finished. store_close(NULL) is a no-op. */
void store_close(struct store *st);

int store_schema(struct store_txn *v, uint64_t *out);
int store_set_schema(struct store_wtxn *t, uint64_t schema);

/* The last committed seq (0 when none). Any thread. */
uint64_t store_last_seq(const struct store *st);

/* Counts for `stats`. Any thread. */
int store_get_stats(struct store *st, struct store_stats *out);

/* --- writer thread only --- */

int store_wbegin(struct store *st, struct store_wtxn **out);

/*
 * Append one encoded event (made by domino_event_encode) unless (source, id)
 * is already in the log. Assigns the next seq, patches it into buf, and
 * indexes it. On a duplicate, *dup is set, *seq is the first seq and nothing
 * is written. Returns DOMINO_OK, DOMINO_EFULL (map full: abort, grow, retry)
 * or DOMINO_ESTORE.
 */
int store_append(struct store_wtxn *t, const char *source, const char *id,
    char *buf, size_t len, const char *repo, size_t repo_len, uint64_t *seq,
    int *dup);

/*
 * Commit (with fsync). DOMINO_OK, DOMINO_EFULL (map full, txn is gone: grow
 * and retry) or DOMINO_ESTORE/DOMINO_EIO (e.g. disk full; nothing of the
 * transaction is kept).
 */
int store_commit(struct store_wtxn *t);
void store_abort(struct store_wtxn *t);

/* Double the map size. Only with no write transaction open. */
int store_grow(struct store *st);

/* --- readers, any thread --- */

struct store_reader;

int store_reader_open(struct store *st, struct store_reader **out);
void store_reader_close(struct store_reader *r);

/*
 * Position at the first event with seq >= from and return it; then
 * store_reader_next() returns the following ones. data points into the map
 * and stays valid until store_reader_close(). DOMINO_OK, DOMINO_ENOTFOUND
 * at the end, DOMINO_ESTORE.
 */
int store_reader_seek(struct store_reader *r, uint64_t from, uint64_t *seq,
    const void **data, size_t *len);
int store_reader_next(struct store_reader *r, uint64_t *seq,
    const void **data, size_t *len);

/* The seq stored for (source, id): DOMINO_OK or DOMINO_ENOTFOUND. */
int store_reader_find_id(struct store_reader *r, const char *source,
    const char *id, uint64_t *seq);

/* --- listeners, dependency index, deliveries --- */

/*
 * A view of an open transaction, read or write, for code that only reads
 * (the matcher runs in the writer's transaction and in readers alike).
 */
struct store_txn *store_wtxn_view(struct store_wtxn *t);
struct store_txn *store_reader_view(struct store_reader *r);

/* The stored registration of name: DOMINO_OK or DOMINO_ENOTFOUND. data
 * points into the map and lives as long as the transaction. */
int store_listener_get(struct store_txn *v, const char *name,
    const void **data, size_t *len);

/* Every listener in name order; cb returning non-zero stops. */
int store_listener_each(struct store_txn *v,
    int (*cb)(void *arg, const char *name, size_t nlen, const void *data,
    size_t len), void *arg);

int store_listener_put(struct store_wtxn *t, const char *name,
    const void *data, size_t len);
int store_listener_del(struct store_wtxn *t, const char *name);

/*
 * Dependency index: key (a repo, or a glob pattern) -> value (listener
 * name NUL entry index [match record]). Globs live under keys starting
 * with 0x01 so they can be walked as one small list. The match record is
 * opaque here (listener.c writes and reads it); it lets the graph walk
 * decide without reading the listener. A record that would make the value
 * too long for LMDB (511 bytes) is left out, and so is it in entries
 * written before it existed: matching then reads the listener.
 */
struct store_dep {
	const char *pattern;  /* the key: repo, or glob without its marker */
	size_t pattern_len;
	const char *name;     /* NUL-ended */
	unsigned idx;         /* which of the listener's depends_on */
	const void *rec;      /* match record, rec_len 0 when absent */
	size_t rec_len;
};

int store_dep_put(struct store_wtxn *t, const char *pattern, int glob,
    const char *name, unsigned idx, const void *rec, size_t rec_len);
/* Removes the entry of name and idx, whatever record it carries. */
int store_dep_del(struct store_wtxn *t, const char *pattern, int glob,
    const char *name, unsigned idx);

/* Listeners depending exactly on repo; cb returning non-zero stops. The
 * entry's pointers live as long as the transaction. */
int store_dep_exact(struct store_txn *v, const char *repo,
    int (*cb)(void *arg, const struct store_dep *d), void *arg);

/* Every glob entry, as store_dep_exact. */
int store_dep_globs(struct store_txn *v,
    int (*cb)(void *arg, const struct store_dep *d), void *arg);

/*
 * Deliveries: key listener NUL seq -> record; the `due` index orders them
 * by next attempt time (ns).
 */
int store_delivery_put(struct store_wtxn *t, const char *listener,
    uint64_t seq, const void *data, size_t len, uint64_t due_ns);

/* Delete every delivery of listener (and its due entries). */
int store_delivery_del_listener(struct store_wtxn *t, const char *listener,
    uint64_t *count);

/*
 * Deliveries in key order, of one listener (or all when listener is NULL),
 * starting at seq from. cb returning non-zero stops.
 */
int store_delivery_each(struct store_txn *v, const char *listener,
    uint64_t from,
    int (*cb)(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len), void *arg);

/* One delivery record: DOMINO_OK or DOMINO_ENOTFOUND. */
int store_delivery_get(struct store_txn *v, const char *listener,
    uint64_t seq, const void **data, size_t *len);

/* Add / remove one entry of the due index. */
int store_due_put(struct store_wtxn *t, uint64_t due_ns, const char *listener,
    uint64_t seq);
int store_due_del(struct store_wtxn *t, uint64_t due_ns, const char *listener,
    uint64_t seq);

/*
 * The due index in time order; cb gets (due_ns, listener, seq) and returns
 * non-zero to stop.
 */
int store_due_each(struct store_txn *v,
    int (*cb)(void *arg, uint64_t due_ns, const char *listener, uint64_t seq),
    void *arg);

/* Entries in the due index (open deliveries) and listeners. */
uint64_t store_due_count(struct store_txn *v);
uint64_t store_listener_count(struct store_txn *v);

/* One event by seq: DOMINO_OK or DOMINO_ENOTFOUND. */
int store_event_get(struct store_txn *v, uint64_t seq, const void **data,
    size_t *len);

/* Revalidation results: key listener NUL seq -> report map. */
int store_result_put(struct store_wtxn *t, const char *listener, uint64_t seq,
    const void *data, size_t len);
int store_result_get(struct store_txn *v, const char *listener, uint64_t seq,
    const void **data, size_t *len);
/* Delete every report of listener. */
int store_result_del_listener(struct store_wtxn *t, const char *listener);
int store_result_each(struct store_txn *v, const char *listener,
    int (*cb)(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len), void *arg);

/* Durable consumer cursors: name -> last acknowledged seq. */
int store_cursor_get(struct store_txn *v, const char *name, uint64_t *seq);
int store_cursor_put(struct store_wtxn *t, const char *name, uint64_t seq);
int store_cursor_del(struct store_wtxn *t, const char *name);
int store_cursor_each(struct store_txn *v,
    int (*cb)(void *arg, const char *name, size_t nlen, uint64_t seq),
    void *arg);

/*
 * Retention: delete events with seq < before (and their ids and by_repo
 * index entries), at most max of them, oldest first. *trimmed gets how many
 * went, *bytes their size. The first seq still kept is remembered in meta
 * (store_get_stats reports it as trimmed_before).
 */
int store_trim(struct store_wtxn *t, uint64_t before, uint64_t max,
    uint64_t *trimmed, uint64_t *bytes);

/* Received time (ns) of the oldest event, 0 when empty. */
int store_oldest_time(struct store_txn *v, int64_t *time_ns, uint64_t *seq);

/* Bytes the events database takes (pages in use), and its count. */
uint64_t store_events_bytes(struct store_txn *v);
uint64_t store_events_count(struct store_txn *v);

/*
 * Walk from the oldest event while events are older than cutoff_ns (at
 * most max_scan); *before gets the first seq not older (or past the scan).
 */
int store_seq_after_time(struct store_txn *v, int64_t cutoff_ns,
    uint64_t max_scan, uint64_t *before);

#endif
