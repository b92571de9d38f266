/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for broker/store.c on a mkdtemp LMDB directory: appending
 * and reading events, seq continuity across reopen and aborts, dedupe by
 * (source, id), reader seek/next order, the listener table, the deps
 * index (exact and glob entries), deliveries and the due index.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "match.h"
#include "store.h"

static char dir[64];
static struct store *st;

static void
setup(void)
{
	char err[256];

	strcpy(dir, "/tmp/domino-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(store_open(dir, &st, err, sizeof(err)), DOMINO_OK, "%s",
	    err);
}

static void
teardown(void)
{
	char cmd[128];

	store_close(st);
	st = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 60);

static void
reopen(void)
{
	char err[256];

	store_close(st);
	st = NULL;
	cr_assert_eq(store_open(dir, &st, err, sizeof(err)), DOMINO_OK, "%s",
	    err);
}

/* Append one event in t; returns the seq. */
static uint64_t
append(struct store_wtxn *t, const char *source, const char *id,
    const char *repo, int *dup)
{
	struct domino_event ev;
	char *buf;
	size_t len;
	uint64_t seq = 0;
	int d = -1;

	domino_event_init(&ev);
	domino_event_set(&ev.id, id, (size_t)-1);
	domino_event_set(&ev.source, source, (size_t)-1);
	domino_event_set(&ev.event, "push", (size_t)-1);
	domino_event_set(&ev.type, "push", (size_t)-1);
	domino_event_set(&ev.repo, repo, (size_t)-1);
	domino_event_set(&ev.ref, "refs/heads/main", (size_t)-1);
	ev.time = 1700000000000000000;
	cr_assert_eq(domino_event_encode(&ev, &buf, &len), DOMINO_OK);
	cr_assert_eq(store_append(t, source, id, buf, len, repo, strlen(repo),
	    &seq, &d), DOMINO_OK);
	cr_assert(d == 0 || d == 1);
	if (dup != NULL)
		*dup = d;
	free(buf);
	domino_event_clear(&ev);
	return seq;
}

/* Append and commit one event. */
static uint64_t
append1(const char *source, const char *id, const char *repo, int *dup)
{
	struct store_wtxn *t;
	uint64_t seq;

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	seq = append(t, source, id, repo, dup);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	return seq;
}

/* Decode the event at data and check its seq, id and repo. */
static void
check_event(const void *data, size_t len, uint64_t seq, const char *id,
    const char *repo)
{
	struct domino_event ev;

	cr_assert_eq(domino_event_decode(data, len, &ev), DOMINO_OK);
	cr_assert_eq(ev.seq, seq, "stored seq %llu, key %llu",
	    (unsigned long long)ev.seq, (unsigned long long)seq);
	cr_assert_str_eq(ev.id, id);
	cr_assert_str_eq(ev.repo, repo);
	domino_event_clear(&ev);
}

Test(store, empty_store)
{
	struct store_stats ss;
	struct store_reader *r;
	uint64_t seq;
	const void *d;
	size_t len;

	cr_assert_eq(store_last_seq(st), 0);
	cr_assert_eq(store_get_stats(st, &ss), DOMINO_OK);
	cr_assert_eq(ss.last_seq, 0);
	cr_assert_eq(ss.first_seq, 0);
	cr_assert_eq(ss.events, 0);
	cr_assert_gt(ss.map_size, 0);
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_reader_seek(r, 1, &seq, &d, &len), DOMINO_ENOTFOUND);
	cr_assert_eq(store_reader_find_id(r, "github", "x", &seq),
	    DOMINO_ENOTFOUND);
	store_reader_close(r);
}

Test(store, append_read_in_order)
{
	struct store_wtxn *t;
	struct store_reader *r;
	uint64_t seq;
	const void *d;
	size_t len;
	char id[16];

	/* Three in one transaction, then seven one by one. */
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	for (int i = 1; i <= 3; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		cr_assert_eq(append(t, "github", id, "github.com/o/r", NULL),
		    (uint64_t)i);
	}
	cr_assert_eq(store_last_seq(st), 0, "visible before the commit");
	cr_assert_eq(store_commit(t), DOMINO_OK);
	cr_assert_eq(store_last_seq(st), 3);
	for (int i = 4; i <= 10; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		cr_assert_eq(append1("github", id, "github.com/o/r", NULL),
		    (uint64_t)i);
	}
	cr_assert_eq(store_last_seq(st), 10);

	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	/* seek 0 lands on the first; next walks in seq order to the end. */
	cr_assert_eq(store_reader_seek(r, 0, &seq, &d, &len), DOMINO_OK);
	cr_assert_eq(seq, 1);
	check_event(d, len, 1, "id-1", "github.com/o/r");
	for (uint64_t want = 2; want <= 10; want++) {
		cr_assert_eq(store_reader_next(r, &seq, &d, &len), DOMINO_OK);
		cr_assert_eq(seq, want);
		snprintf(id, sizeof(id), "id-%llu", (unsigned long long)want);
		check_event(d, len, want, id, "github.com/o/r");
	}
	cr_assert_eq(store_reader_next(r, &seq, &d, &len), DOMINO_ENOTFOUND);
	/* seek into the middle, and past the end. */
	cr_assert_eq(store_reader_seek(r, 7, &seq, &d, &len), DOMINO_OK);
	cr_assert_eq(seq, 7);
	cr_assert_eq(store_reader_next(r, &seq, &d, &len), DOMINO_OK);
	cr_assert_eq(seq, 8);
	cr_assert_eq(store_reader_seek(r, 11, &seq, &d, &len), DOMINO_ENOTFOUND);
	/* Big-endian keys: 256 sorts after 255, not after 1 (checked below
	 * with more events). */
	cr_assert_eq(store_reader_find_id(r, "github", "id-5", &seq), DOMINO_OK);
	cr_assert_eq(seq, 5);
	store_reader_close(r);
	{
		struct store_stats ss;
		cr_assert_eq(store_get_stats(st, &ss), DOMINO_OK);
		cr_assert_eq(ss.events, 10);
		cr_assert_eq(ss.first_seq, 1);
		cr_assert_eq(ss.last_seq, 10);
		cr_assert_gt(ss.used, 0);
	}
}

Test(store, numeric_order_past_255)
{
	struct store_wtxn *t;
	struct store_reader *r;
	uint64_t seq, prev = 0;
	const void *d;
	size_t len;
	int n = 0;

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	for (int i = 1; i <= 600; i++) {
		char id[16];
		snprintf(id, sizeof(id), "n-%d", i);
		append(t, "generic", id, "github.com/o/r", NULL);
	}
	cr_assert_eq(store_commit(t), DOMINO_OK);
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	for (int rv = store_reader_seek(r, 1, &seq, &d, &len); rv == DOMINO_OK;
	    rv = store_reader_next(r, &seq, &d, &len)) {
		cr_assert_eq(seq, prev + 1);
		prev = seq;
		n++;
	}
	cr_assert_eq(n, 600);
	cr_assert_eq(store_reader_seek(r, 256, &seq, &d, &len), DOMINO_OK);
	cr_assert_eq(seq, 256);
	check_event(d, len, 256, "n-256", "github.com/o/r");
	store_reader_close(r);
}

Test(store, dedupe_by_source_and_id)
{
	int dup = -1;
	uint64_t s1, s2, s3, s4;

	s1 = append1("github", "same", "github.com/o/r", &dup);
	cr_assert_eq(dup, 0);
	s2 = append1("github", "other", "github.com/o/r", &dup);
	cr_assert_eq(dup, 0);
	s3 = append1("github", "same", "github.com/o/changed", &dup);
	cr_assert_eq(dup, 1, "a redelivery was stored again");
	cr_assert_eq(s3, s1, "a duplicate answers the first seq");
	/* The same id from another source is another event. */
	s4 = append1("gitlab", "same", "gitlab.com/o/r", &dup);
	cr_assert_eq(dup, 0);
	cr_assert_eq(s1, 1);
	cr_assert_eq(s2, 2);
	cr_assert_eq(s4, 3, "the duplicate consumed a seq");
	cr_assert_eq(store_last_seq(st), 3);
	/* Inside one transaction too. */
	{
		struct store_wtxn *t;
		uint64_t a, b;
		cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
		a = append(t, "gitea", "x", "gitea.com/o/r", &dup);
		cr_assert_eq(dup, 0);
		b = append(t, "gitea", "x", "gitea.com/o/r", &dup);
		cr_assert_eq(dup, 1);
		cr_assert_eq(a, b);
		cr_assert_eq(store_commit(t), DOMINO_OK);
		cr_assert_eq(a, 4);
	}
	/* Survives a reopen. */
	reopen();
	s3 = append1("github", "same", "github.com/o/r", &dup);
	cr_assert_eq(dup, 1);
	cr_assert_eq(s3, 1);
}

Test(store, seq_continues_after_reopen_and_abort)
{
	struct store_wtxn *t;
	struct store_reader *r;
	uint64_t seq;
	const void *d;
	size_t len;

	append1("github", "a", "github.com/o/r", NULL);
	append1("github", "b", "github.com/o/r", NULL);
	reopen();
	cr_assert_eq(store_last_seq(st), 2);
	cr_assert_eq(append1("github", "c", "github.com/o/r", NULL), 3);
	/* An aborted append leaves no gap and no id behind. */
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(append(t, "github", "gone", "github.com/o/r", NULL), 4);
	store_abort(t);
	store_abort(NULL);
	cr_assert_eq(store_last_seq(st), 3);
	cr_assert_eq(append1("github", "d", "github.com/o/r", NULL), 4);
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_reader_find_id(r, "github", "gone", &seq),
	    DOMINO_ENOTFOUND);
	cr_assert_eq(store_reader_seek(r, 4, &seq, &d, &len), DOMINO_OK);
	check_event(d, len, 4, "d", "github.com/o/r");
	store_reader_close(r);
	reopen();
	cr_assert_eq(store_last_seq(st), 4);
	cr_assert_eq(append1("github", "e", "github.com/o/r", NULL), 5);
}

Test(store, a_reader_sees_a_snapshot)
{
	struct store_reader *r;
	uint64_t seq;
	const void *d;
	size_t len;

	append1("github", "a", "github.com/o/r", NULL);
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	append1("github", "b", "github.com/o/r", NULL);
	cr_assert_eq(store_reader_seek(r, 1, &seq, &d, &len), DOMINO_OK);
	cr_assert_eq(store_reader_next(r, &seq, &d, &len), DOMINO_ENOTFOUND,
	    "an open reader saw a later commit");
	store_reader_close(r);
}

/* --- listeners ---------------------------------------------------------- */

struct names {
	char s[16][32];
	int n;
};

static int
name_cb(void *arg, const char *name, size_t nlen, const void *data,
    size_t len)
{
	struct names *ns = arg;

	cr_assert_lt(ns->n, 16);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(data, "val", 3);
	snprintf(ns->s[ns->n++], 32, "%.*s", (int)nlen, name);
	return 0;
}

Test(store, listeners_put_get_each_del)
{
	struct store_wtxn *t;
	struct store_reader *r;
	struct names ns = {0};
	const void *d;
	size_t len;

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_listener_put(t, "zeta", "val", 3), DOMINO_OK);
	cr_assert_eq(store_listener_put(t, "alpha", "val", 3), DOMINO_OK);
	cr_assert_eq(store_listener_put(t, "mid", "old", 3), DOMINO_OK);
	cr_assert_eq(store_listener_put(t, "mid", "val", 3), DOMINO_OK);
	/* Visible inside the writing transaction. */
	cr_assert_eq(store_listener_get(store_wtxn_view(t), "mid", &d, &len),
	    DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_listener_each(store_reader_view(r), name_cb, &ns),
	    DOMINO_OK);
	cr_assert_eq(ns.n, 3);
	cr_assert_str_eq(ns.s[0], "alpha");
	cr_assert_str_eq(ns.s[1], "mid");
	cr_assert_str_eq(ns.s[2], "zeta");
	cr_assert_eq(store_listener_get(store_reader_view(r), "mid", &d, &len),
	    DOMINO_OK);
	cr_assert_eq(len, 3);
	cr_assert_arr_eq(d, "val", 3);
	cr_assert_eq(store_listener_get(store_reader_view(r), "mi", &d, &len),
	    DOMINO_ENOTFOUND);
	store_reader_close(r);
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_listener_del(t, "mid"), DOMINO_OK);
	cr_assert_eq(store_listener_del(t, "mid"), DOMINO_ENOTFOUND);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	reopen();
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	ns.n = 0;
	cr_assert_eq(store_listener_each(store_reader_view(r), name_cb, &ns),
	    DOMINO_OK);
	cr_assert_eq(ns.n, 2);
	store_reader_close(r);
}

/* --- deps index --------------------------------------------------------- */

struct deps_seen {
	char s[32][128];
	int n;
};

/* name#idx, then :record when the entry carries one. */
static void
seen(struct deps_seen *ds, const char *pattern, const struct store_dep *d)
{
	int n;

	cr_assert_lt(ds->n, 32);
	n = snprintf(ds->s[ds->n], 128, "%s%s%s#%u", pattern ? pattern : "",
	    pattern ? "=" : "", d->name, d->idx);
	if (d->rec_len > 0)
		snprintf(ds->s[ds->n] + n, 128 - (size_t)n, ":%.*s",
		    (int)d->rec_len, (const char *)d->rec);
	ds->n++;
}

static int
exact_cb(void *arg, const struct store_dep *d)
{
	seen(arg, NULL, d);
	return 0;
}

static int
glob_cb(void *arg, const struct store_dep *d)
{
	char pat[128];

	snprintf(pat, sizeof(pat), "%.*s", (int)d->pattern_len, d->pattern);
	seen(arg, pat, d);
	return 0;
}

static int
has(const struct deps_seen *ds, const char *s)
{
	for (int i = 0; i < ds->n; i++)
		if (strcmp(ds->s[i], s) == 0)
			return 1;
	return 0;
}

static void
exact(const char *repo, struct deps_seen *ds)
{
	struct store_reader *r;

	memset(ds, 0, sizeof(*ds));
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_dep_exact(store_reader_view(r), repo, exact_cb, ds),
	    DOMINO_OK);
	store_reader_close(r);
}

static void
globs(struct deps_seen *ds)
{
	struct store_reader *r;

	memset(ds, 0, sizeof(*ds));
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_dep_globs(store_reader_view(r), glob_cb, ds),
	    DOMINO_OK);
	store_reader_close(r);
}

Test(store, deps_exact_and_globs)
{
	struct store_wtxn *t;
	struct deps_seen ds;

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/a", 0, "L1", 0, NULL, 0), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/a", 0, "L2", 3, NULL, 0), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/a", 0, "L2", 3, NULL, 0), DOMINO_OK,
	    "a repeated put is not an error");
	cr_assert_eq(store_dep_put(t, "github.com/o/ab", 0, "L3", 0, NULL, 0), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/*", 1, "G1", 1, NULL, 0), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/*", 1, "G2", 0, NULL, 0), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "gitlab.com/[ab]*", 1, "G3", 300, NULL, 0),
	    DOMINO_OK);
	/* Keys sorting around the glob marker: a repo that starts with a
	 * low byte and one with a high one. */
	cr_assert_eq(store_dep_put(t, "0.example/o/r", 0, "L4", 0, NULL, 0), DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);

	exact("github.com/o/a", &ds);
	cr_assert_eq(ds.n, 2);
	cr_assert(has(&ds, "L1#0"));
	cr_assert(has(&ds, "L2#3"));
	exact("github.com/o/ab", &ds);
	cr_assert_eq(ds.n, 1);
	cr_assert(has(&ds, "L3#0"));
	exact("github.com/o/", &ds);
	cr_assert_eq(ds.n, 0, "a prefix of a key is not a match");
	exact("github.com/o/*", &ds);
	cr_assert_eq(ds.n, 0, "a glob entry answered an exact lookup");
	exact("", &ds);
	cr_assert_eq(ds.n, 0);

	globs(&ds);
	cr_assert_eq(ds.n, 3);
	cr_assert(has(&ds, "github.com/o/*=G1#1"));
	cr_assert(has(&ds, "github.com/o/*=G2#0"));
	cr_assert(has(&ds, "gitlab.com/[ab]*=G3#300"), "index above 255");

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_dep_del(t, "github.com/o/a", 0, "L2", 3), DOMINO_OK);
	cr_assert_eq(store_dep_del(t, "github.com/o/a", 0, "L2", 3), DOMINO_OK,
	    "deleting a missing entry is not an error");
	cr_assert_eq(store_dep_del(t, "github.com/o/a", 0, "L1", 9), DOMINO_OK);
	cr_assert_eq(store_dep_del(t, "github.com/o/*", 1, "G1", 1), DOMINO_OK);
	cr_assert_eq(store_dep_del(t, "github.com/o/*", 0, "G2", 0), DOMINO_OK,
	    "the exact key of the same text is another entry");
	cr_assert_eq(store_commit(t), DOMINO_OK);
	exact("github.com/o/a", &ds);
	cr_assert_eq(ds.n, 1);
	cr_assert(has(&ds, "L1#0"), "deleting L1#9 removed L1#0");
	globs(&ds);
	cr_assert_eq(ds.n, 2);
	cr_assert(has(&ds, "github.com/o/*=G2#0"));
	cr_assert(has(&ds, "gitlab.com/[ab]*=G3#300"));
}

Test(store, deps_entries_carry_their_match_record)
{
	struct store_wtxn *t;
	struct deps_seen ds;
	char big[600];

	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/a", 0, "L1", 0, "rec-one", 7),
	    DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/a", 0, "L2", 1, NULL, 0),
	    DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/a", 0, "L3", 0, big,
	    strlen(big)), DOMINO_OK, "a record too long for LMDB is dropped");
	cr_assert_eq(store_dep_put(t, "github.com/*", 1, "G1", 2, "g", 1),
	    DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	exact("github.com/o/a", &ds);
	cr_assert_eq(ds.n, 3);
	cr_assert(has(&ds, "L1#0:rec-one"));
	cr_assert(has(&ds, "L2#1"));
	cr_assert(has(&ds, "L3#0"), "the entry is kept without its record");
	globs(&ds);
	cr_assert_eq(ds.n, 1);
	cr_assert(has(&ds, "github.com/*=G1#2:g"));

	/* Deleting by name and index takes the entry whatever record it
	 * carries, and leaves neighbours whose name starts the same. */
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/a", 0, "L1x", 0, "r", 1),
	    DOMINO_OK);
	cr_assert_eq(store_dep_del(t, "github.com/o/a", 0, "L1", 0), DOMINO_OK);
	cr_assert_eq(store_dep_del(t, "github.com/o/a", 0, "L3", 0), DOMINO_OK);
	cr_assert_eq(store_dep_del(t, "github.com/*", 1, "G1", 2), DOMINO_OK);
	cr_assert_eq(store_dep_del(t, "github.com/o/zz", 0, "L2", 1), DOMINO_OK,
	    "no such key");
	cr_assert_eq(store_commit(t), DOMINO_OK);
	exact("github.com/o/a", &ds);
	cr_assert_eq(ds.n, 2);
	cr_assert(has(&ds, "L1x#0:r"));
	cr_assert(has(&ds, "L2#1"));
	globs(&ds);
	cr_assert_eq(ds.n, 0);
}

Test(store, schema_versions)
{
	struct store_reader *r;
	struct store_wtxn *t;
	uint64_t v = 0;
	char err[256] = "";

	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_schema(store_reader_view(r), &v), DOMINO_OK);
	store_reader_close(r);
	cr_assert_eq(v, STORE_SCHEMA, "a new store starts at the current one");

	/* An older store opens (its owner upgrades it). */
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_set_schema(t, 1), DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	reopen();
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_schema(store_reader_view(r), &v), DOMINO_OK);
	store_reader_close(r);
	cr_assert_eq(v, 1, "opening does not change the schema");

	/* A newer one is refused, with a reason. */
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_set_schema(t, STORE_SCHEMA + 1), DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	store_close(st);
	st = NULL;
	cr_assert_eq(store_open(dir, &st, err, sizeof(err)), DOMINO_ESTORE);
	cr_assert_not_null(strstr(err, "newer dominod"), "%s", err);
	cr_assert_null(st);
}

Test(store, an_over_long_repo_is_simply_not_found)
{
	/* Dependencies are at most 400 characters, so a longer event repo can
	 * match nothing exactly; the lookup must say so rather than fail
	 * (LMDB refuses keys over 511 bytes). */
	char repo[700];
	struct store_reader *r;
	struct deps_seen ds = {0};
	struct match_result mr = {0};

	memset(repo, 'x', sizeof(repo) - 1);
	memcpy(repo, "github.com/o/", 13);
	repo[sizeof(repo) - 1] = '\0';
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_dep_exact(store_reader_view(r), repo, exact_cb, &ds),
	    DOMINO_OK);
	cr_assert_eq(ds.n, 0);
	cr_assert_eq(match_run(store_reader_view(r), repo, NULL, NULL, 0, 8,
	    &mr), DOMINO_OK);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
	store_reader_close(r);
	/* And an event with such a repo can be stored. */
	{
		struct store_wtxn *t;
		int dup;
		cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
		cr_assert_eq(append(t, "generic", "long", repo, &dup), 1);
		cr_assert_eq(store_commit(t), DOMINO_OK);
	}
}

/* --- deliveries and the due index ---------------------------------------- */

struct dlv {
	char name[32];
	uint64_t seq;
	char data[32];
};

struct dlvs {
	struct dlv d[32];
	int n;
	int stop_after;
};

static int
dlv_cb(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len)
{
	struct dlvs *ds = arg;

	cr_assert_lt(ds->n, 32);
	snprintf(ds->d[ds->n].name, 32, "%s", listener);
	ds->d[ds->n].seq = seq;
	snprintf(ds->d[ds->n].data, 32, "%.*s", (int)len, (const char *)data);
	ds->n++;
	return ds->stop_after > 0 && ds->n >= ds->stop_after;
}

static void
each(const char *listener, uint64_t from, struct dlvs *ds, int stop_after)
{
	struct store_reader *r;

	memset(ds, 0, sizeof(*ds));
	ds->stop_after = stop_after;
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_delivery_each(store_reader_view(r), listener, from,
	    dlv_cb, ds), DOMINO_OK);
	store_reader_close(r);
}

struct dues {
	uint64_t due[32], seq[32];
	char name[32][32];
	int n;
};

static int
due_cb(void *arg, uint64_t due_ns, const char *listener, uint64_t seq)
{
	struct dues *ds = arg;

	cr_assert_lt(ds->n, 32);
	ds->due[ds->n] = due_ns;
	ds->seq[ds->n] = seq;
	snprintf(ds->name[ds->n], 32, "%s", listener);
	ds->n++;
	return 0;
}

static void
due_all(struct dues *ds)
{
	struct store_reader *r;

	memset(ds, 0, sizeof(*ds));
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_due_each(store_reader_view(r), due_cb, ds), DOMINO_OK);
	store_reader_close(r);
}

Test(store, deliveries_put_each_get_del_listener)
{
	struct store_wtxn *t;
	struct store_reader *r;
	struct dlvs ds;
	struct dues du;
	uint64_t removed = 99;
	const void *d;
	size_t len;

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	/* "a" and "a-b" share a prefix; "b" sorts after both. 300 > 255. */
	cr_assert_eq(store_delivery_put(t, "a", 2, "a2", 2, 2000), DOMINO_OK);
	cr_assert_eq(store_delivery_put(t, "a", 300, "a300", 4, 1000), DOMINO_OK);
	cr_assert_eq(store_delivery_put(t, "a", 1, "a1", 2, 3000), DOMINO_OK);
	cr_assert_eq(store_delivery_put(t, "a-b", 1, "ab1", 3, 1500), DOMINO_OK);
	cr_assert_eq(store_delivery_put(t, "b", 7, "b7", 2, 0), DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);

	each("a", 0, &ds, 0);
	cr_assert_eq(ds.n, 3, "a's deliveries: %d", ds.n);
	cr_assert_eq(ds.d[0].seq, 1);
	cr_assert_eq(ds.d[1].seq, 2);
	cr_assert_eq(ds.d[2].seq, 300);
	cr_assert_str_eq(ds.d[2].data, "a300");
	for (int i = 0; i < 3; i++)
		cr_assert_str_eq(ds.d[i].name, "a");
	each("a", 2, &ds, 0);
	cr_assert_eq(ds.n, 2);
	cr_assert_eq(ds.d[0].seq, 2);
	each("a", 301, &ds, 0);
	cr_assert_eq(ds.n, 0, "from past the last seq of a");
	each("a-b", 0, &ds, 0);
	cr_assert_eq(ds.n, 1);
	cr_assert_str_eq(ds.d[0].data, "ab1");
	each("nobody", 0, &ds, 0);
	cr_assert_eq(ds.n, 0);
	/* All, ordered by listener then seq; the callback can stop it. */
	each(NULL, 0, &ds, 0);
	cr_assert_eq(ds.n, 5);
	cr_assert_str_eq(ds.d[0].name, "a");
	cr_assert_str_eq(ds.d[3].name, "a-b");
	cr_assert_str_eq(ds.d[4].name, "b");
	each(NULL, 2, &ds, 0);
	cr_assert_eq(ds.n, 3, "from applies to every listener");
	each(NULL, 0, &ds, 2);
	cr_assert_eq(ds.n, 2);

	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_delivery_get(store_reader_view(r), "a", 300, &d, &len),
	    DOMINO_OK);
	cr_assert_eq(len, 4);
	cr_assert_arr_eq(d, "a300", 4);
	cr_assert_eq(store_delivery_get(store_reader_view(r), "a", 3, &d, &len),
	    DOMINO_ENOTFOUND);
	store_reader_close(r);

	/* The due index, in time order; b's was put without one. */
	due_all(&du);
	cr_assert_eq(du.n, 4);
	cr_assert_eq(du.due[0], 1000);
	cr_assert_str_eq(du.name[0], "a");
	cr_assert_eq(du.seq[0], 300);
	cr_assert_eq(du.due[1], 1500);
	cr_assert_str_eq(du.name[1], "a-b");
	cr_assert_eq(du.due[3], 3000);

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_delivery_del_listener(t, "a", &removed), DOMINO_OK);
	cr_assert_eq(removed, 3);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	each("a", 0, &ds, 0);
	cr_assert_eq(ds.n, 0);
	each("a-b", 0, &ds, 0);
	cr_assert_eq(ds.n, 1, "deleting a's removed a-b's");
	each("b", 0, &ds, 0);
	cr_assert_eq(ds.n, 1);
	due_all(&du);
	cr_assert_eq(du.n, 1, "a's due entries left: %d", du.n);
	cr_assert_str_eq(du.name[0], "a-b");

	/* Nothing to delete is fine. */
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_delivery_del_listener(t, "a", &removed), DOMINO_OK);
	cr_assert_eq(removed, 0);
	cr_assert_eq(store_commit(t), DOMINO_OK);
}

Test(store, many_deliveries_of_one_listener_are_all_deleted)
{
	struct store_wtxn *t;
	struct dlvs ds;
	struct dues du;
	uint64_t removed = 0;

	/* Enough records to span several LMDB pages, interleaved with
	 * another listener's, to check deleting while walking. */
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	for (uint64_t s = 1; s <= 2000; s++) {
		char rec[200];
		memset(rec, 'r', sizeof(rec));
		cr_assert_eq(store_delivery_put(t, "victim", s, rec, sizeof(rec),
		    s * 10), DOMINO_OK);
		if (s % 100 == 0)
			cr_assert_eq(store_delivery_put(t, "victim2", s, "x", 1,
			    s * 10 + 1), DOMINO_OK);
	}
	cr_assert_eq(store_commit(t), DOMINO_OK);
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_delivery_del_listener(t, "victim", &removed),
	    DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	cr_assert_eq(removed, 2000);
	each("victim", 0, &ds, 0);
	cr_assert_eq(ds.n, 0);
	each("victim2", 0, &ds, 0);
	cr_assert_eq(ds.n, 20, "stopped at the cap of the test buffer? %d", ds.n);
	due_all(&du);
	cr_assert_eq(du.n, 20, "due entries left: %d", du.n);
	for (int i = 0; i < du.n; i++)
		cr_assert_str_eq(du.name[i], "victim2");
}

Test(store, due_put_del)
{
	struct store_wtxn *t;
	struct dues du;

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_due_put(t, 50, "x", 1), DOMINO_OK);
	cr_assert_eq(store_due_put(t, 10, "y", 2), DOMINO_OK);
	cr_assert_eq(store_due_put(t, 10, "x", 3), DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	due_all(&du);
	cr_assert_eq(du.n, 3);
	cr_assert_eq(du.due[0], 10);
	cr_assert_str_eq(du.name[0], "x");
	cr_assert_eq(du.seq[0], 3);
	cr_assert_str_eq(du.name[1], "y");
	cr_assert_eq(du.due[2], 50);
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_due_del(t, 10, "x", 3), DOMINO_OK);
	cr_assert_eq(store_due_del(t, 10, "x", 3), DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	due_all(&du);
	cr_assert_eq(du.n, 2);
	cr_assert_str_eq(du.name[0], "y");
}
