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

struct store_stats {
	uint64_t last_seq;  /* 0 when nothing was ever appended */
	uint64_t first_seq; /* 0 when the log is empty */
	uint64_t events;
	uint64_t map_size;  /* bytes reserved for the map */
	uint64_t used;      /* bytes in use */
};

/*
 * Open (creating) the environment in dir, which must exist. On failure
 * writes a reason into err. Returns DOMINO_OK, DOMINO_ESTORE or DOMINO_EIO.
 */
int store_open(const char *dir, struct store **out, char *err, size_t errlen);

/* Close; all transactions must be finished. store_close(NULL) is a no-op. */
void store_close(struct store *st);

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

#endif
