/* SPDX-License-Identifier: MIT */
/*
 * Graph walk; see match.h. A candidate is judged by the match record in
 * its `deps` index entry, read in place, so the walk touches only the
 * index (one cursor run per repo reached), not the listeners; a name set
 * keeps each listener to one hit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "listener.h"
#include "match.h"
#include "store.h"

static uint64_t
fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static long
set_find(const struct match_result *r, const char *name)
{
	if (r->nslots == 0)
		return -1;
	for (size_t i = fnv(name) & (r->nslots - 1);; i = (i + 1) & (r->nslots - 1)) {
		long s = r->slots[i];
		if (s < 0)
			return -1;
		if (strcmp(r->hits[s].name, name) == 0)
			return s;
	}
}

static int
set_grow(struct match_result *r)
{
	size_t n = r->nslots ? r->nslots * 2 : 64;
	long *s = malloc(n * sizeof(*s));

	if (s == NULL)
		return DOMINO_ENOMEM;
	for (size_t i = 0; i < n; i++)
		s[i] = -1;
	for (size_t h = 0; h < r->n; h++) {
		size_t i = fnv(r->hits[h].name) & (n - 1);
		while (s[i] >= 0)
			i = (i + 1) & (n - 1);
		s[i] = (long)h;
	}
	free(r->slots);
	r->slots = s;
	r->nslots = n;
	return DOMINO_OK;
}

static int
add_hit(struct match_result *r, const struct listener_match *l, unsigned depth,
    long parent)
{
	struct match_hit *h;
	size_t i;

	if (r->n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct match_hit *nh = realloc(r->hits, cap * sizeof(*nh));
		if (nh == NULL)
			return DOMINO_ENOMEM;
		r->hits = nh;
		r->cap = cap;
	}
	if ((r->n + 1) * 2 > r->nslots && set_grow(r) != DOMINO_OK)
		return DOMINO_ENOMEM;
	h = &r->hits[r->n];
	memset(h, 0, sizeof(*h));
	h->name = strndup(l->name, l->name_len);
	h->provides = l->provides ? strndup(l->provides, l->provides_len) : NULL;
	if (h->name == NULL || (l->provides && h->provides == NULL)) {
		free(h->name);
		free(h->provides);
		return DOMINO_ENOMEM;
	}
	h->depth = depth;
	h->support_level = l->support_level;
	h->coalesce = l->coalesce;
	h->parent = parent;
	for (i = fnv(h->name) & (r->nslots - 1); r->slots[i] >= 0;
	    i = (i + 1) & (r->nslots - 1))
		;
	r->slots[i] = (long)r->n;
	r->n++;
	return DOMINO_OK;
}

/*
 * Glob dependencies, read once per walk rather than once per step. The
 * entries point into the map: the walk makes no writes, so they stay valid
 * in a write transaction too.
 */
struct globs {
	struct store_dep *v;
	size_t n, cap;
	int rv;
};

static int
collect_glob(void *arg, const struct store_dep *d)
{
	struct globs *g = arg;

	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct store_dep *v = realloc(g->v, cap * sizeof(*v));
		if (v == NULL) {
			g->rv = DOMINO_ENOMEM;
			return 1;
		}
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n++] = *d;
	return 0;
}

/* One step of the walk: candidates depending on `target`. */
struct step {
	struct store_txn *v;
	struct match_result *r;
	const struct globs *globs;
	const char *target, *ref, *type;
	int use_filters;
	unsigned depth;
	long parent;
	int rv;
};

/* What matching needs of d's listener: from the index entry's record,
 * else (an entry without one) from the listener itself. */
static int
candidate(struct store_txn *v, const struct store_dep *d,
    struct listener_match *l)
{
	const void *data;
	size_t len;

	if (d->rec_len > 0)
		return listener_match_from_rec(d->name, d->pattern,
		    d->pattern_len, d->rec, d->rec_len, l);
	if (store_listener_get(v, d->name, &data, &len) != DOMINO_OK)
		return DOMINO_ENOTFOUND; /* a listener being removed */
	return listener_decode_match(data, len, d->idx, l);
}

static int
consider(void *arg, const struct store_dep *d)
{
	struct step *s = arg;
	struct listener_match l;

	if (set_find(s->r, d->name) >= 0)
		return 0;
	if (candidate(s->v, d, &l) != DOMINO_OK)
		return 0;
	if (listener_match_accepts(&l, s->target, s->use_filters, s->ref, s->type))
		s->rv = add_hit(s->r, &l, s->depth, s->parent);
	return s->rv != DOMINO_OK;
}

static int
step(struct step *s)
{
	int rv = store_dep_exact(s->v, s->target, consider, s);

	for (size_t i = 0; rv == DOMINO_OK && s->rv == DOMINO_OK &&
	    i < s->globs->n; i++)
		consider(s, &s->globs->v[i]);
	return rv != DOMINO_OK ? rv : s->rv;
}

int
match_run(struct store_txn *v, const char *repo, const char *ref,
    const char *type, int use_filters, unsigned max_depth,
    struct match_result *out)
{
	struct globs g = {NULL, 0, 0, DOMINO_OK};
	struct step s = {v, out, &g, repo, ref, type, use_filters, 1, -1,
	    DOMINO_OK};
	int rv;

	if (max_depth == 0 || repo == NULL || *repo == '\0')
		return DOMINO_OK;
	rv = store_dep_globs(v, collect_glob, &g);
	if (rv == DOMINO_OK)
		rv = g.rv;
	if (rv == DOMINO_OK)
		rv = step(&s);
	/* Breadth first: hits are appended in depth order. */
	for (size_t i = 0; rv == DOMINO_OK && i < out->n; i++) {
		struct match_hit *h = &out->hits[i];
		struct step t;
		char *target;

		if (h->provides == NULL || h->depth >= max_depth)
			continue;
		/* A copy: the step appends hits, which may move h. Filters
		 * apply to direct matches only; the provided repo itself did
		 * not change. */
		if ((target = strdup(h->provides)) == NULL) {
			rv = DOMINO_ENOMEM;
			break;
		}
		t = (struct step){v, out, &g, target, NULL, NULL, 0,
		    h->depth + 1, (long)i, DOMINO_OK};
		rv = step(&t);
		free(target);
	}
	free(g.v);
	return rv;
}

int
match_via(const struct match_result *r, size_t i, const char *repo,
    const char ***via, size_t *n)
{
	unsigned d = r->hits[i].depth;
	const char **v = malloc((d > 0 ? d : 1) * sizeof(*v));
	long p = r->hits[i].parent;

	if (v == NULL)
		return DOMINO_ENOMEM;
	v[0] = repo;
	for (unsigned k = d - 1; k >= 1 && p >= 0; k--) {
		v[k] = r->hits[p].provides;
		p = r->hits[p].parent;
	}
	*via = v;
	*n = d;
	return DOMINO_OK;
}

void
match_load_disabled(struct store_txn *v, struct match_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct listener_match m;
		const void *data;
		size_t len;

		if (store_listener_get(v, r->hits[i].name, &data, &len) == DOMINO_OK &&
		    listener_decode_match(data, len, 0, &m) != DOMINO_EPROTO)
			r->hits[i].disabled = m.disabled;
	}
}

void
match_result_clear(struct match_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->hits[i].name);
		free(r->hits[i].provides);
	}
	free(r->hits);
	free(r->slots);
	memset(r, 0, sizeof(*r));
}
