/* SPDX-License-Identifier: MIT */
/*
 * The one writer thread. Every mutation of persistent state is a command on
 * one bounded queue; the writer takes up to batch_max commands, applies them
 * in one LMDB transaction, commits once (group commit), and hands the batch
 * to a completer thread which, in queue order, publishes committed events
 * and calls each command's committed(); meanwhile the writer already applies
 * the next batch. Nothing is acknowledged before its commit is on disk.
 */
#ifndef DOMINO_WRITER_H
#define DOMINO_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_wtxn;
struct fanout;
struct writer;

/*
 * A command. apply() runs on the writer thread inside the batch's
 * transaction and must either write everything or nothing for this command
 * (a refused command returns its error without writing). It may be called
 * again after a map resize, so it recomputes everything it sets.
 * committed() runs after the commit (status DOMINO_OK) or after a failed
 * commit (the error); the command's owner frees it there.
 */
struct wcmd {
	struct wcmd *next;
	int (*apply)(struct wcmd *c, struct store_wtxn *t);
	void (*committed)(struct wcmd *c, int status);
	int status; /* apply()'s result */
};

/* One encoded event for writer_events. */
struct writer_event {
	char *buf;         /* the encoded event; seq patched in place */
	size_t len;
	const char *source;
	const char *id;
	const char *repo, *ref, *type;
	uint64_t seq;      /* out: assigned (or first, when dup) */
	int dup;           /* out: already in the log */
	uint32_t matched;  /* out: delivery records created */
};

/*
 * A command appending n events atomically (one webhook may carry several).
 * Each new event is matched against the dependency graph in the same
 * transaction and gets its delivery records there. The writer publishes
 * each new event after the commit, then calls done.
 */
struct writer_events {
	struct wcmd cmd;
	struct writer *writer; /* set by writer_submit_events */
	void (*done)(struct writer_events *we, int status);
	void *arg;
	size_t n;
	struct writer_event ev[];
};

/* Histogram bucket bounds (upper, inclusive) for writer metrics. */
#define WRITER_BATCH_BUCKETS 9   /* 1 2 4 8 16 32 64 128 +Inf */
#define WRITER_COMMIT_BUCKETS 10 /* 100us .. 1s, +Inf */
extern const uint64_t writer_commit_bounds_us[WRITER_COMMIT_BUCKETS - 1];

struct writer_stats {
	uint64_t commits, commands, queued, queue_max;
	uint64_t batch_max_seen;
	uint64_t batch_hist[WRITER_BATCH_BUCKETS];   /* commands per commit */
	uint64_t commit_hist[WRITER_COMMIT_BUCKETS]; /* commit latency */
	uint64_t commit_us_sum;
	uint64_t failed_commits;
	/* Dependency-graph matching of new events: match_run's CPU time. */
	uint64_t match_events, match_hits, match_ns_sum;
};

/*
 * Start the writer thread. fanout may be NULL (no live publishing, e.g.
 * in unit tests). graph_depth bounds transitive matching. Returns
 * DOMINO_OK or DOMINO_ENOMEM.
 */
int writer_start(struct store *st, struct fanout *fo, uint32_t batch_max,
    uint32_t queue_max, uint32_t graph_depth, struct writer **out);

/*
 * Queue a command. Ownership passes to the writer only on DOMINO_OK; then
 * committed() is called exactly once. DOMINO_EUNAVAIL when the queue is full
 * or the writer is stopping.
 */
int writer_submit(struct writer *w, struct wcmd *c);

/* Queue an events command (sets its apply/committed). */
int writer_submit_events(struct writer *w, struct writer_events *we);

void writer_get_stats(struct writer *w, struct writer_stats *out);

/*
 * Call fn(arg) on the completer thread after committed batches (the
 * delivery engine uses it to look for new due deliveries). Set it before
 * submitting commands that need it; not thread-safe against a running
 * batch otherwise.
 */
void writer_set_hook(struct writer *w, void (*fn)(void *arg), void *arg);

/*
 * Refuse new commands (writer_submit answers DOMINO_EUNAVAIL from now on),
 * apply everything queued and join the thread. writer_stop(NULL) is a no-op.
 */
void writer_stop(struct writer *w);

/* Free a stopped writer. writer_free(NULL) is a no-op. */
void writer_free(struct writer *w);

#endif
