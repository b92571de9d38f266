/* SPDX-License-Identifier: MIT */
/*
 * Delivery records: one per (listener, event), stored under
 * `deliveries[listener NUL seq]` as a msgpack map {state, attempt, next,
 * created, via, repo, ref, type, history}. This module encodes and reads
 * them; the state machine that advances them is the delivery engine.
 */
#ifndef DOMINO_DELIVERY_H
#define DOMINO_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

struct msgpack_packer;

/* A new `pending` record, due at now. *buf is malloc'd. */
int delivery_new(const char *const *via, size_t n_via, const char *repo,
    const char *ref, const char *type, int64_t now, char **buf, size_t *len);

/*
 * Pack a stored record for a reply as {listener, seq, state, attempt,
 * next, created, via, repo, ref, type}. DOMINO_EPROTO for a record that
 * does not decode.
 */
int delivery_pack(struct msgpack_packer *pk, const char *listener,
    uint64_t seq, const void *rec, size_t len, int with_history);

/* The state string of a stored record into buf ("" when unreadable). */
void delivery_state(const void *rec, size_t len, char *buf, size_t cap);

/* History entries kept per delivery (the oldest are dropped). */
#define DELIVERY_HISTORY_MAX 50

struct delivery_hist {
	int64_t time;
	unsigned attempt;
	char *what;   /* "ok", "retry", "fail", "gone", "retry by admin", ... */
	int status;   /* HTTP status or exit code, -1 none */
	char *detail; /* plugin answer or operator reason */
};

/* A record decoded for the engine to change. */
struct delivery {
	char state[16];
	unsigned attempt;
	int64_t next;     /* due time (ns) when pending/failed/in_flight */
	int64_t created;
	char **via;
	size_t n_via;
	char *repo, *ref, *type;
	struct delivery_hist *hist;
	size_t n_hist;
};

int delivery_decode(const void *rec, size_t len, struct delivery *out);
int delivery_encode(const struct delivery *d, char **buf, size_t *len);
void delivery_clear(struct delivery *d);

/* Append a history entry (copies the strings; detail may be NULL). */
int delivery_add_history(struct delivery *d, int64_t time, unsigned attempt,
    const char *what, int status, const char *detail);

struct store_wtxn;

/*
 * Read and decode the record of (listener, seq) in a write transaction;
 * DOMINO_ENOTFOUND when there is none. Store it back, encoded, without
 * touching the due index (its caller keeps `next` and the due key equal).
 */
int delivery_load(struct store_wtxn *t, const char *listener, uint64_t seq,
    struct delivery *out);
int delivery_store(struct store_wtxn *t, const char *listener, uint64_t seq,
    const struct delivery *d);

/* Whether state is one the engine may still dispatch. */
int delivery_state_open(const char *state);

#endif
