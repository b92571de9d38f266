/* SPDX-License-Identifier: MIT */
/*
 * The dependency graph walk. Given a changed repo (and, for an event, its
 * ref and type), find the listeners reached directly through the `deps`
 * index, then breadth first those depending on what a reached listener
 * `provides`. Every listener is reached once, by its shortest chain; cycles
 * are cut; depth is bounded. The cost grows with the number of listeners
 * reached (plus the short list of glob dependencies), not with the number
 * registered. It reads through a store_txn view, so the writer runs it
 * inside the event's own transaction and `impact` in a read transaction.
 */
#ifndef DOMINO_MATCH_H
#define DOMINO_MATCH_H

#include <stddef.h>

struct store_txn;

struct match_hit {
	char *name;
	char *provides;    /* or NULL */
	unsigned depth;    /* 1 = direct */
	int support_level;
	int disabled;      /* only after match_load_disabled */
	int coalesce;      /* the listener wants only the newest per repo@ref */
	long parent;       /* index of the hit it was reached through, -1 */
};

struct match_result {
	struct match_hit *hits; /* breadth-first order */
	size_t n, cap;
	/* name -> index set, private */
	long *slots;
	size_t nslots;
};

/*
 * Walk from repo. With use_filters, direct matches honour the dependency's
 * ref/type filters against ref/type (an event); without, any dependency on
 * repo counts (impact). *out must be zeroed; clear it with
 * match_result_clear. Returns DOMINO_OK, DOMINO_ENOMEM or a store error.
 */
int match_run(struct store_txn *v, const char *repo, const char *ref,
    const char *type, int use_filters, unsigned max_depth,
    struct match_result *out);

/*
 * The via chain of hit i: repo, then the provides of each listener on the
 * way. *via is a malloc'd array of pointers into r (and repo); free only
 * the array.
 */
int match_via(const struct match_result *r, size_t i, const char *repo,
    const char ***via, size_t *n);

/*
 * Fill each hit's disabled flag, which the walk leaves 0: it reads only the
 * index, and a disabled listener still gets its delivery records. For the
 * callers that show the flag (impact, the graph page).
 */
void match_load_disabled(struct store_txn *v, struct match_result *r);

void match_result_clear(struct match_result *r);

#endif
