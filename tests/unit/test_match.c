/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for broker/match.c (the dependency graph walk) on a real
 * store in a mkdtemp LMDB directory: direct and transitive matches,
 * shortest chains, diamonds, cycles, the depth bound, ref/type filters on
 * direct matches only, globs and org prefixes, and 10,000 listeners. The
 * last tests go through the writer: registry commands and an events
 * command that creates `pending` delivery records in its own transaction.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery.h"
#include "err.h"
#include "event.h"
#include "listener.h"
#include "match.h"
#include "mpjson.h"
#include "msg.h"
#include "registry.h"
#include "store.h"
#include "writer.h"

static char dir[64];
static struct store *st;

static void
rm_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
}

static void
setup(void)
{
	char err[256];

	strcpy(dir, "/tmp/domino-match-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(store_open(dir, &st, err, sizeof(err)), DOMINO_OK, "%s",
	    err);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	rm_dir();
}

TestSuite(match, .init = setup, .fini = teardown, .timeout = 120);

/* Parse a registration; the test fails on a refusal. */
static void
parse_reg(const char *json, struct listener *l)
{
	struct mj m;
	const msgpack_object *o = mj_obj(&m, json);
	char err[256] = "";

	cr_assert_not_null(o, "bad test JSON: %s", json);
	cr_assert_eq(listener_parse(o, l, err, sizeof(err)), DOMINO_OK,
	    "refused: %s (%s)", err, json);
	mj_free(&m);
}

/* Store a listener and its index entries in t, as registry.c does. */
static void
put_listener(struct store_wtxn *t, struct listener *l)
{
	char *buf;
	size_t len;

	l->created = l->updated = 1;
	cr_assert_eq(listener_encode(l, &buf, &len), DOMINO_OK);
	cr_assert_eq(store_listener_put(t, l->name, buf, len), DOMINO_OK);
	free(buf);
	cr_assert_eq(registry_index(t, l, 1), DOMINO_OK);
}

static int
strip_one(void *arg, const char *name, size_t nlen, const void *data,
    size_t len)
{
	struct store_wtxn *t = arg;
	struct listener l;

	(void)name;
	(void)nlen;
	cr_assert_eq(listener_decode(data, len, &l), DOMINO_OK);
	cr_assert_eq(registry_index(t, &l, 0), DOMINO_OK);
	for (size_t i = 0; i < l.n_deps; i++)
		cr_assert_eq(store_dep_put(t, l.deps[i].repo, l.deps[i].glob,
		    l.name, (unsigned)i, NULL, 0), DOMINO_OK);
	listener_clear(&l);
	return 0;
}

/* Rewrite every index entry without its match record, as a schema 1
 * store has them; stale entries stay as they are. */
static void
strip_records(void)
{
	struct store_wtxn *t;

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	cr_assert_eq(store_listener_each(store_wtxn_view(t), strip_one, t),
	    DOMINO_OK);
	cr_assert_eq(store_set_schema(t, 1), DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);
}

/*
 * Register listeners directly in one transaction. Each spec is
 * "name|provides|dep1,dep2,..." (provides may be empty); a dep may carry a
 * filter as repo@ref#type.
 */
static void
reg(const char *const *specs)
{
	struct store_wtxn *t;

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	for (size_t i = 0; specs[i] != NULL; i++) {
		char name[128], prov[256], deps[1024], json[4096];
		size_t off = 0;
		struct listener l;
		char *save = NULL;

		cr_assert_eq(sscanf(specs[i], "%127[^|]|%255[^|]|%1023s", name,
		    prov, deps) == 3 || (sscanf(specs[i], "%127[^|]||%1023s",
		    name, deps) == 2 && (prov[0] = '\0', 1)), 1, "spec %s",
		    specs[i]);
		off += (size_t)snprintf(json + off, sizeof(json) - off,
		    "{\"name\": \"%s\", \"depends_on\": [", name);
		for (char *d = strtok_r(deps, ",", &save); d != NULL;
		    d = strtok_r(NULL, ",", &save)) {
			char *at = strchr(d, '@'), *hash = strchr(d, '#');
			if (hash)
				*hash++ = '\0';
			if (at)
				*at++ = '\0';
			off += (size_t)snprintf(json + off, sizeof(json) - off,
			    "%s{\"repo\": \"%s\"", json[off - 1] == '[' ? "" : ", ",
			    d);
			if (at)
				off += (size_t)snprintf(json + off,
				    sizeof(json) - off, ", \"ref\": \"%s\"", at);
			if (hash)
				off += (size_t)snprintf(json + off,
				    sizeof(json) - off, ", \"types\": [\"%s\"]", hash);
			off += (size_t)snprintf(json + off, sizeof(json) - off, "}");
		}
		off += (size_t)snprintf(json + off, sizeof(json) - off, "]");
		if (prov[0] != '\0')
			off += (size_t)snprintf(json + off, sizeof(json) - off,
			    ", \"provides\": \"%s\"", prov);
		snprintf(json + off, sizeof(json) - off, ", \"callback\": "
		    "{\"plugin\": \"file\", \"config\": {\"path\": \"/tmp/x\"}}}");
		parse_reg(json, &l);
		put_listener(t, &l);
		listener_clear(&l);
	}
	cr_assert_eq(store_commit(t), DOMINO_OK);
}

/* Walk from repo in a read transaction. */
static void
walk(const char *repo, const char *ref, const char *type, int filters,
    unsigned depth, struct match_result *mr)
{
	struct store_reader *r;

	memset(mr, 0, sizeof(*mr));
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(match_run(store_reader_view(r), repo, ref, type, filters,
	    depth, mr), DOMINO_OK);
	store_reader_close(r);
}

static long
hit(const struct match_result *mr, const char *name)
{
	long found = -1;

	for (size_t i = 0; i < mr->n; i++) {
		if (strcmp(mr->hits[i].name, name) == 0) {
			cr_assert_eq(found, -1, "%s reached twice", name);
			found = (long)i;
		}
	}
	return found;
}

/* Assert name was reached at depth with the via chain (comma-separated). */
static void
expect(const struct match_result *mr, const char *repo, const char *name,
    unsigned depth, const char *via_csv)
{
	long i = hit(mr, name);
	const char **via;
	size_t n;
	char got[2048] = "";

	cr_assert_geq(i, 0, "%s not reached", name);
	cr_assert_eq(mr->hits[i].depth, depth, "%s at depth %u, want %u", name,
	    mr->hits[i].depth, depth);
	cr_assert_eq(match_via(mr, (size_t)i, repo, &via, &n), DOMINO_OK);
	for (size_t k = 0; k < n; k++) {
		strcat(got, k ? "," : "");
		strcat(got, via[k] ? via[k] : "(null)");
	}
	free(via);
	cr_assert_eq(n, depth, "via of %s has %zu entries: %s", name, n, got);
	cr_assert_str_eq(got, via_csv, "via of %s", name);
	/* The parent is the hit one level up, and comes earlier (BFS). */
	if (depth == 1) {
		cr_assert_eq(mr->hits[i].parent, -1);
	} else {
		long p = mr->hits[i].parent;
		cr_assert(p >= 0 && p < i, "%s: parent %ld", name, p);
		cr_assert_eq(mr->hits[p].depth, depth - 1);
	}
}

static void
expect_breadth_first(const struct match_result *mr)
{
	for (size_t i = 1; i < mr->n; i++)
		cr_assert_leq(mr->hits[i - 1].depth, mr->hits[i].depth,
		    "hit %zu (%s) at depth %u after depth %u", i,
		    mr->hits[i].name, mr->hits[i].depth, mr->hits[i - 1].depth);
}

#define A "github.com/o/a"
#define RB "github.com/o/b"
#define RC "github.com/o/c"
#define RD "github.com/o/d"

Test(match, chain)
{
	const char *specs[] = {"B|" RB "|" A, "C|" RC "|" RB, NULL};
	struct match_result mr;

	reg(specs);
	walk(A, "refs/heads/main", "push", 1, 8, &mr);
	cr_assert_eq(mr.n, 2);
	expect(&mr, A, "B", 1, A);
	expect(&mr, A, "C", 2, A "," RB);
	cr_assert_str_eq(mr.hits[0].name, "B");
	cr_assert_str_eq(mr.hits[0].provides, RB);
	cr_assert_eq(mr.hits[0].support_level, 2);
	match_result_clear(&mr);
	/* From the middle only the rest of the chain. */
	walk(RB, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 1);
	expect(&mr, RB, "C", 1, RB);
	match_result_clear(&mr);
	/* From the end, nobody; from an unknown repo, nobody. */
	walk(RC, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
	walk("github.com/nobody/x", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
	/* An empty repo and depth 0 reach nobody. */
	walk("", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
	walk(A, NULL, NULL, 0, 0, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
}

Test(match, diamond_reaches_the_bottom_once)
{
	const char *specs[] = {"B|" RB "|" A, "C|" RC "|" A,
	    "D|" RD "|" RB "," RC, "E||" RD, NULL};
	struct match_result mr;

	reg(specs);
	walk(A, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 4);
	expect(&mr, A, "B", 1, A);
	expect(&mr, A, "C", 1, A);
	/* Reached through whichever of B and C came first; depth 2 either way. */
	cr_assert_geq(hit(&mr, "D"), 0);
	cr_assert_eq(mr.hits[hit(&mr, "D")].depth, 2);
	{
		const char **via;
		size_t n;
		cr_assert_eq(match_via(&mr, (size_t)hit(&mr, "D"), A, &via, &n), 0);
		cr_assert_eq(n, 2);
		cr_assert_str_eq(via[0], A);
		cr_assert(strcmp(via[1], RB) == 0 || strcmp(via[1], RC) == 0);
		free(via);
	}
	cr_assert_eq(mr.hits[hit(&mr, "E")].depth, 3);
	expect_breadth_first(&mr);
	match_result_clear(&mr);
}

Test(match, shortest_chain_wins)
{
	/* D depends on a directly and on c (a <- B <- C); F depends on e
	 * (far down) and on b (near). */
	const char *specs[] = {"B|" RB "|" A, "C|" RC "|" RB,
	    "D|" RD "|" RC "," A, "E|github.com/o/e|" RD,
	    "F||github.com/o/e," RB, NULL};
	struct match_result mr;

	reg(specs);
	walk(A, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 5);
	expect(&mr, A, "B", 1, A);
	expect(&mr, A, "D", 1, A);
	expect(&mr, A, "C", 2, A "," RB);
	expect(&mr, A, "F", 2, A "," RB);
	expect(&mr, A, "E", 2, A "," RD);
	expect_breadth_first(&mr);
	match_result_clear(&mr);
}

Test(match, cycles_terminate_and_reach_each_once)
{
	const char *specs[] = {"X|github.com/o/x|github.com/o/y",
	    "Y|github.com/o/y|github.com/o/x", NULL};
	const char *three[] = {"P|github.com/o/p|github.com/o/r," A,
	    "Q|github.com/o/q|github.com/o/p", "R|github.com/o/r|github.com/o/q",
	    NULL};
	struct match_result mr;

	reg(specs);
	walk("github.com/o/x", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 2);
	expect(&mr, "github.com/o/x", "Y", 1, "github.com/o/x");
	expect(&mr, "github.com/o/x", "X", 2, "github.com/o/x,github.com/o/y");
	match_result_clear(&mr);
	walk("github.com/o/y", NULL, NULL, 0, 64, &mr);
	cr_assert_eq(mr.n, 2);
	expect(&mr, "github.com/o/y", "X", 1, "github.com/o/y");
	expect(&mr, "github.com/o/y", "Y", 2, "github.com/o/y,github.com/o/x");
	match_result_clear(&mr);

	/* A three-cycle entered from outside. */
	reg(three);
	walk(A, NULL, NULL, 0, 64, &mr);
	cr_assert_eq(mr.n, 3);
	expect(&mr, A, "P", 1, A);
	expect(&mr, A, "Q", 2, A ",github.com/o/p");
	expect(&mr, A, "R", 3, A ",github.com/o/p,github.com/o/q");
	match_result_clear(&mr);
}

Test(match, depth_bound_cuts_the_walk)
{
	const char *specs[13];
	char buf[12][128];
	struct match_result mr;

	/* L1 depends on r0, provides r1; Li depends on r(i-1). */
	for (int i = 1; i <= 12; i++) {
		snprintf(buf[i - 1], sizeof(buf[i - 1]),
		    "L%02d|github.com/o/r%d|github.com/o/r%d", i, i, i - 1);
		specs[i - 1] = buf[i - 1];
	}
	specs[12] = NULL;
	reg(specs);
	walk("github.com/o/r0", NULL, NULL, 0, 1, &mr);
	cr_assert_eq(mr.n, 1);
	expect(&mr, "github.com/o/r0", "L01", 1, "github.com/o/r0");
	match_result_clear(&mr);
	walk("github.com/o/r0", NULL, NULL, 0, 3, &mr);
	cr_assert_eq(mr.n, 3);
	expect(&mr, "github.com/o/r0", "L03", 3,
	    "github.com/o/r0,github.com/o/r1,github.com/o/r2");
	cr_assert_eq(hit(&mr, "L04"), -1);
	match_result_clear(&mr);
	walk("github.com/o/r0", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 8, "default bound 8");
	cr_assert_eq(mr.hits[7].depth, 8);
	match_result_clear(&mr);
	walk("github.com/o/r0", NULL, NULL, 0, 64, &mr);
	cr_assert_eq(mr.n, 12);
	expect(&mr, "github.com/o/r0", "L12", 12,
	    "github.com/o/r0,github.com/o/r1,github.com/o/r2,github.com/o/r3,"
	    "github.com/o/r4,github.com/o/r5,github.com/o/r6,github.com/o/r7,"
	    "github.com/o/r8,github.com/o/r9,github.com/o/r10,github.com/o/r11");
	match_result_clear(&mr);
}

Test(match, filters_apply_to_direct_matches_only)
{
	/* B hears only pushes to main of a; C depends on b with a tag-only
	 * filter, which must not stop the transitive match. */
	const char *specs[] = {"B|" RB "|" A "@main#push",
	    "C||" RB "@refs/tags/*#tag", "T||" A "@refs/tags/*#tag", NULL};
	struct match_result mr;

	reg(specs);
	walk(A, "refs/heads/main", "push", 1, 8, &mr);
	cr_assert_eq(mr.n, 2);
	expect(&mr, A, "B", 1, A);
	expect(&mr, A, "C", 2, A "," RB);
	match_result_clear(&mr);
	/* Another branch: B is not reached, so neither is C. */
	walk(A, "refs/heads/dev", "push", 1, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
	/* A tag on a: only T. */
	walk(A, "refs/tags/v1", "tag", 1, 8, &mr);
	cr_assert_eq(mr.n, 1);
	expect(&mr, A, "T", 1, A);
	match_result_clear(&mr);
	/* Right ref, wrong type. */
	walk(A, "refs/heads/main", "pr.open", 1, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
	/* A push on b directly: C's own filter applies to its direct match. */
	walk(RB, "refs/heads/main", "push", 1, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
	/* Impact (no filters): everyone depending on a. */
	walk(A, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 3);
	expect(&mr, A, "B", 1, A);
	expect(&mr, A, "T", 1, A);
	expect(&mr, A, "C", 2, A "," RB);
	match_result_clear(&mr);
}

Test(match, a_listener_with_several_entries_matches_through_any)
{
	/* The first entry on a fails its filter, the second accepts. */
	const char *specs[] = {"M||" A "@dev," A "@main", NULL};
	struct match_result mr;

	reg(specs);
	walk(A, "refs/heads/main", "push", 1, 8, &mr);
	cr_assert_eq(mr.n, 1);
	expect(&mr, A, "M", 1, A);
	match_result_clear(&mr);
	walk(A, "refs/heads/other", "push", 1, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
}

Test(match, globs_and_org_prefixes)
{
	const char *specs[] = {"G||github.com/org/*", "P||github.com/org/",
	    "Q||gitlab.com/*/lib-?", "S|github.com/lib/s|github.com/org/core",
	    "H||github.com/lib/*", "N||github.com/orgx/*", NULL};
	struct match_result mr;

	reg(specs);
	walk("github.com/org/core", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 4, "G, P, S direct and H through S");
	expect(&mr, "github.com/org/core", "G", 1, "github.com/org/core");
	expect(&mr, "github.com/org/core", "P", 1, "github.com/org/core");
	expect(&mr, "github.com/org/core", "S", 1, "github.com/org/core");
	expect(&mr, "github.com/org/core", "H", 2,
	    "github.com/org/core,github.com/lib/s");
	match_result_clear(&mr);
	walk("github.com/other/core", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
	walk("gitlab.com/team/lib-x", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 1);
	expect(&mr, "gitlab.com/team/lib-x", "Q", 1, "gitlab.com/team/lib-x");
	match_result_clear(&mr);
	walk("gitlab.com/team/lib-xy", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
}

Test(match, disabled_listeners_are_reached_and_flagged)
{
	struct store_wtxn *t;
	struct listener l;
	const char *specs[] = {"C||" RB, NULL};
	struct match_result mr;

	parse_reg("{\"name\": \"B\", \"depends_on\": [\"" A "\"], \"provides\": "
	    "\"" RB "\", \"support_level\": 0, \"callback\": {\"plugin\": "
	    "\"file\", \"config\": {\"path\": \"/tmp/x\"}}}", &l);
	l.disabled = 1;
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	put_listener(t, &l);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	listener_clear(&l);
	reg(specs);
	walk(A, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 2);
	cr_assert_eq(mr.hits[hit(&mr, "B")].disabled, 0,
	    "the walk reads only the index, which does not know");
	{
		struct store_reader *r;
		cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
		match_load_disabled(store_reader_view(r), &mr);
		store_reader_close(r);
	}
	cr_assert_eq(mr.hits[hit(&mr, "B")].disabled, 1);
	cr_assert_eq(mr.hits[hit(&mr, "B")].support_level, 0);
	cr_assert_eq(mr.hits[hit(&mr, "C")].disabled, 0);
	expect(&mr, A, "C", 2, A "," RB);
	match_result_clear(&mr);
}

Test(match, stale_index_entries_are_ignored)
{
	struct store_wtxn *t;
	const char *specs[] = {"B||" A, NULL};
	struct match_result mr;

	reg(specs);
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	/* An entry for a listener that does not exist, and one pointing past
	 * the end of an existing listener's depends_on. */
	cr_assert_eq(store_dep_put(t, A, 0, "ghost", 0, NULL, 0), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, A, 0, "B", 7, NULL, 0), DOMINO_OK);
	cr_assert_eq(store_dep_put(t, "github.com/o/*", 1, "B", 3, NULL, 0),
	    DOMINO_OK);
	/* And one whose record is not one. */
	cr_assert_eq(store_dep_put(t, A, 0, "junk", 0, "\x93\x01", 2), DOMINO_OK);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	walk(A, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 1);
	expect(&mr, A, "B", 1, A);
	match_result_clear(&mr);
	walk("github.com/o/zz", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0, "an index entry whose dependency does not match");
	match_result_clear(&mr);
}

/* Hits as one comparable line each: name depth parent level coalesce
 * provides. */
static void
hits_text(const struct match_result *mr, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < mr->n && off < cap; i++) {
		const struct match_hit *h = &mr->hits[i];
		off += (size_t)snprintf(out + off, cap - off, "%s %u %ld %d %d %s\n",
		    h->name, h->depth, h->parent, h->support_level, h->coalesce,
		    h->provides ? h->provides : "-");
	}
}

Test(match, entries_without_records_walk_alike)
{
	/* Filters, globs, an org prefix, chains, a diamond, a cycle, levels
	 * and coalesce: every walk must give the same hits from the records
	 * as from the listeners (a schema 1 index). */
	const char *specs[] = {"B|" RB "|" A "@main#push", "C|" RC "|" RB,
	    "D||" RC "," RB "@refs/tags/*#tag", "E|" A "|" RD,
	    "F|" RD "|" RC, "G||github.com/o/*", "P||github.com/o/",
	    "T||" A "@refs/tags/*#tag", NULL};
	const char *q[][3] = {{A, "refs/heads/main", "push"},
	    {A, "refs/heads/dev", "push"}, {A, "refs/tags/v1", "tag"},
	    {RB, "refs/heads/main", "push"}, {RB, "refs/tags/v2", "tag"},
	    {RD, NULL, NULL}, {"github.com/o/zz", "refs/heads/x", "push"}};
	static char before[14][4096], after[4096];
	struct store_wtxn *t;
	struct listener l;
	struct match_result mr;

	reg(specs);
	parse_reg("{\"name\": \"K\", \"depends_on\": [\"" A "\"], "
	    "\"support_level\": 1, \"coalesce\": true, \"callback\": "
	    "{\"plugin\": \"file\", \"config\": {\"path\": \"/tmp/x\"}}}", &l);
	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	put_listener(t, &l);
	cr_assert_eq(store_commit(t), DOMINO_OK);
	listener_clear(&l);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			strip_records();
		for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
			for (int f = 0; f < 2; f++) {
				char *txt = pass ? after : before[i * 2 + (size_t)f];
				walk(q[i][0], q[i][1], q[i][2], f, 8, &mr);
				hits_text(&mr, txt, 4096);
				match_result_clear(&mr);
				if (pass == 1)
					cr_assert_str_eq(after, before[i * 2 + (size_t)f],
					    "walk from %s (filters %d)", q[i][0], f);
			}
		}
	}
	cr_assert_not_null(strstr(before[0], "K 1 -1 1 1 -"),
	    "level and coalesce come through: %s", before[0]);
	cr_assert_not_null(strstr(before[0], "F 3 "), "%s", before[0]);
}

Test(match, ten_thousand_listeners)
{
	struct store_wtxn *t;
	struct match_result mr;

	cr_assert_eq(store_wbegin(st, &t), DOMINO_OK);
	for (int i = 0; i < 10000; i++) {
		char json[512];
		struct listener l;
		/* Every 1000th one provides a repo others depend on. */
		char prov[64] = "";
		if (i % 1000 == 0)
			snprintf(prov, sizeof(prov), ", \"provides\": "
			    "\"github.com/down/p%05d\"", i);
		snprintf(json, sizeof(json), "{\"name\": \"l%05d\", "
		    "\"depends_on\": [\"github.com/big/r%05d\"]%s, "
		    "\"callback\": {\"plugin\": \"file\", \"config\": {\"path\": "
		    "\"/tmp/x\"}}}", i, i, prov);
		parse_reg(json, &l);
		put_listener(t, &l);
		listener_clear(&l);
	}
	/* Two listeners per provided repo, and a few globs. */
	for (int i = 0; i < 10000; i += 1000) {
		for (int k = 0; k < 2; k++) {
			char json[512];
			struct listener l;
			snprintf(json, sizeof(json), "{\"name\": \"d%05d-%d\", "
			    "\"depends_on\": [\"github.com/down/p%05d\"], "
			    "\"callback\": {\"plugin\": \"file\", \"config\": "
			    "{\"path\": \"/tmp/x\"}}}", i, k, i);
			parse_reg(json, &l);
			put_listener(t, &l);
			listener_clear(&l);
		}
	}
	cr_assert_eq(store_commit(t), DOMINO_OK);
	{
		const char *globs[] = {"glob-all||github.com/big/*",
		    "glob-r012||github.com/big/r012??", "glob-other||github.com/small/*",
		    NULL};
		reg(globs);
	}

	walk("github.com/big/r01234", "refs/heads/main", "push", 1, 8, &mr);
	cr_assert_eq(mr.n, 3, "got %zu hits", mr.n);
	expect(&mr, "github.com/big/r01234", "l01234", 1, "github.com/big/r01234");
	expect(&mr, "github.com/big/r01234", "glob-all", 1, "github.com/big/r01234");
	expect(&mr, "github.com/big/r01234", "glob-r012", 1, "github.com/big/r01234");
	match_result_clear(&mr);

	walk("github.com/big/r05000", "refs/heads/main", "push", 1, 8, &mr);
	cr_assert_eq(mr.n, 4, "got %zu hits", mr.n);
	expect(&mr, "github.com/big/r05000", "l05000", 1, "github.com/big/r05000");
	expect(&mr, "github.com/big/r05000", "glob-all", 1, "github.com/big/r05000");
	expect(&mr, "github.com/big/r05000", "d05000-0", 2,
	    "github.com/big/r05000,github.com/down/p05000");
	expect(&mr, "github.com/big/r05000", "d05000-1", 2,
	    "github.com/big/r05000,github.com/down/p05000");
	match_result_clear(&mr);

	/* Every listener depending on the glob's repos: each exact listener
	 * once (by the exact entry), through the glob listener nobody else. */
	for (int i = 0; i < 10000; i += 997) {
		char repo[64], name[16];
		snprintf(repo, sizeof(repo), "github.com/big/r%05d", i);
		snprintf(name, sizeof(name), "l%05d", i);
		walk(repo, NULL, NULL, 0, 8, &mr);
		cr_assert_geq(hit(&mr, name), 0, "%s not reached", name);
		for (size_t h = 0; h < mr.n; h++) {
			const char *n = mr.hits[h].name;
			cr_assert(strcmp(n, name) == 0 || strcmp(n, "glob-all") == 0 ||
			    strncmp(n, "glob-r012", 9) == 0 || n[0] == 'd',
			    "%s reached from %s", n, repo);
		}
		match_result_clear(&mr);
	}
	walk("github.com/nobody/x", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
}

/* --- through the writer ------------------------------------------------ */

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, status;
};

static void
wait_done(struct waiter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static void
signal_done(struct waiter *w, int status)
{
	pthread_mutex_lock(&w->mu);
	w->status = status;
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void
reg_done(struct registry_cmd *c, int status)
{
	signal_done(c->arg, status);
}

struct reg_out {
	int status, created;
	char token[128];
	char err[256];
	uint64_t removed;
};

static void
registry(struct writer *w, enum registry_op op, const char *json,
    const char *name, int must_be_new, struct reg_out *out)
{
	struct registry_cmd *c = calloc(1, sizeof(*c));
	struct waiter wt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    0, 0};

	cr_assert_not_null(c);
	c->op = op;
	if (json != NULL)
		parse_reg(json, &c->l);
	if (name != NULL)
		snprintf(c->name, sizeof(c->name), "%s", name);
	c->must_be_new = must_be_new;
	c->now = 42;
	c->done = reg_done;
	c->arg = &wt;
	cr_assert_eq(registry_submit(w, c), DOMINO_OK);
	wait_done(&wt);
	memset(out, 0, sizeof(*out));
	out->status = wt.status;
	out->created = c->created;
	out->removed = c->removed;
	snprintf(out->token, sizeof(out->token), "%s", c->token ? c->token : "");
	snprintf(out->err, sizeof(out->err), "%s", c->err);
	registry_cmd_free(c);
}

static void
ev_done(struct writer_events *we, int status)
{
	signal_done(we->arg, status);
}

/* Append one event through the writer; returns its seq. */
static uint64_t
publish(struct writer *w, const char *id, const char *repo, const char *ref,
    const char *type, int *dup, uint32_t *matched)
{
	struct domino_event ev;
	struct writer_events *we = calloc(1, sizeof(*we) +
	    sizeof(struct writer_event));
	struct waiter wt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    0, 0};
	uint64_t seq;

	domino_event_init(&ev);
	domino_event_set(&ev.id, id, (size_t)-1);
	domino_event_set(&ev.source, "generic", (size_t)-1);
	domino_event_set(&ev.event, "publish", (size_t)-1);
	domino_event_set(&ev.type, type, (size_t)-1);
	domino_event_set(&ev.repo, repo, (size_t)-1);
	if (ref != NULL)
		domino_event_set(&ev.ref, ref, (size_t)-1);
	ev.time = 1;
	cr_assert_not_null(we);
	we->n = 1;
	cr_assert_eq(domino_event_encode(&ev, &we->ev[0].buf, &we->ev[0].len),
	    DOMINO_OK);
	we->ev[0].source = "generic";
	we->ev[0].id = id;
	we->ev[0].repo = repo;
	we->ev[0].ref = ref;
	we->ev[0].type = type;
	we->done = ev_done;
	we->arg = &wt;
	cr_assert_eq(writer_submit_events(w, we), DOMINO_OK);
	wait_done(&wt);
	cr_assert_eq(wt.status, DOMINO_OK);
	seq = we->ev[0].seq;
	if (dup)
		*dup = we->ev[0].dup;
	if (matched)
		*matched = we->ev[0].matched;
	free(we->ev[0].buf);
	free(we);
	domino_event_clear(&ev);
	return seq;
}

struct dl {
	char name[64];
	uint64_t seq;
	struct delivery d;
};

struct dl_list {
	struct dl items[64];
	size_t n;
};

static int
collect(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len)
{
	struct dl_list *l = arg;

	cr_assert_lt(l->n, 64);
	snprintf(l->items[l->n].name, sizeof(l->items[l->n].name), "%s",
	    listener);
	l->items[l->n].seq = seq;
	cr_assert_eq(delivery_decode(data, len, &l->items[l->n].d), DOMINO_OK);
	l->n++;
	return 0;
}

static void
deliveries(const char *listener, struct dl_list *out)
{
	struct store_reader *r;

	memset(out, 0, sizeof(*out));
	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_delivery_each(store_reader_view(r), listener, 0,
	    collect, out), DOMINO_OK);
	store_reader_close(r);
}

static void
dl_clear(struct dl_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		delivery_clear(&l->items[i].d);
	l->n = 0;
}

struct due_ctx {
	const char *name;
	int n;
};

static int
due_one(void *arg, uint64_t due, const char *listener, uint64_t seq)
{
	struct due_ctx *c = arg;

	(void)seq;
	cr_assert_gt(due, 0);
	c->n += strcmp(listener, c->name) == 0;
	return 0;
}

/* Entries of the due index for listener. */
static int
due_count(const char *name)
{
	struct store_reader *r;
	struct due_ctx c = {name, 0};

	cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
	cr_assert_eq(store_due_each(store_reader_view(r), due_one, &c), DOMINO_OK);
	store_reader_close(r);
	return c.n;
}

#define FILE_CB ", \"callback\": {\"plugin\": \"file\", \"config\": " \
	"{\"path\": \"/tmp/x\"}}}"

Test(match, writer_creates_pending_deliveries_with_via)
{
	struct writer *w;
	struct reg_out ro;
	struct dl_list dl;
	uint32_t matched = 0;
	int dup = 0;
	uint64_t seq, seq2;

	cr_assert_eq(writer_start(st, NULL, 16, 1024, 8, &w), DOMINO_OK);
	registry(w, REGISTRY_REGISTER, "{\"name\": \"B\", \"depends_on\": "
	    "[\"" A "\"], \"provides\": \"" RB "\"" FILE_CB, NULL, 0, &ro);
	cr_assert_eq(ro.status, DOMINO_OK, "%s", ro.err);
	cr_assert_eq(ro.created, 1);
	cr_assert(strlen(ro.token) > 16, "no token on creation");
	registry(w, REGISTRY_REGISTER, "{\"name\": \"C\", \"depends_on\": "
	    "[\"" RB "\"]" FILE_CB, NULL, 0, &ro);
	cr_assert_eq(ro.status, DOMINO_OK, "%s", ro.err);

	seq = publish(w, "e-1", A, "refs/heads/main", "push", &dup, &matched);
	cr_assert_eq(seq, 1);
	cr_assert_eq(dup, 0);
	cr_assert_eq(matched, 2);
	deliveries(NULL, &dl);
	cr_assert_eq(dl.n, 2);
	cr_assert_str_eq(dl.items[0].name, "B");
	cr_assert_str_eq(dl.items[1].name, "C");
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(dl.items[i].seq, 1);
		cr_assert_str_eq(dl.items[i].d.state, "pending");
		cr_assert_eq(dl.items[i].d.attempt, 0);
		cr_assert_str_eq(dl.items[i].d.repo, A);
		cr_assert_str_eq(dl.items[i].d.ref, "refs/heads/main");
		cr_assert_str_eq(dl.items[i].d.type, "push");
		cr_assert_gt(dl.items[i].d.created, 0);
	}
	cr_assert_eq(dl.items[0].d.n_via, 1);
	cr_assert_str_eq(dl.items[0].d.via[0], A);
	cr_assert_eq(dl.items[1].d.n_via, 2);
	cr_assert_str_eq(dl.items[1].d.via[0], A);
	cr_assert_str_eq(dl.items[1].d.via[1], RB);
	dl_clear(&dl);

	/* A redelivery of the same event creates nothing new. */
	seq2 = publish(w, "e-1", A, "refs/heads/main", "push", &dup, &matched);
	cr_assert_eq(seq2, 1);
	cr_assert_eq(dup, 1);
	cr_assert_eq(matched, 0);
	deliveries(NULL, &dl);
	cr_assert_eq(dl.n, 2);
	dl_clear(&dl);

	/* An event nobody depends on: stored, no deliveries. */
	seq2 = publish(w, "e-2", "github.com/x/y", NULL, "push", &dup, &matched);
	cr_assert_eq(seq2, 2);
	cr_assert_eq(matched, 0);
	/* The due index has the two pending ones, due now. */
	cr_assert_eq(due_count("B"), 1);
	cr_assert_eq(due_count("C"), 1);
	deliveries("nobody", &dl);
	cr_assert_eq(dl.n, 0);
	writer_stop(w);
	writer_free(w);
}

/* Append n events (ids[i] on repos[i], ref main, push) in one command. */
static void
publish_n(struct writer *w, size_t n, const char *const *ids,
    const char *const *repos, uint64_t *seq, int *dup, uint32_t *matched)
{
	struct writer_events *we = calloc(1, sizeof(*we) +
	    n * sizeof(struct writer_event));
	struct waiter wt = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	    0, 0};

	cr_assert_not_null(we);
	we->n = n;
	for (size_t i = 0; i < n; i++) {
		struct domino_event ev;
		domino_event_init(&ev);
		ev.id = (char *)ids[i];
		ev.source = "generic";
		ev.event = "publish";
		ev.type = "push";
		ev.repo = (char *)repos[i];
		ev.ref = "refs/heads/main";
		ev.time = 1;
		cr_assert_eq(domino_event_encode(&ev, &we->ev[i].buf,
		    &we->ev[i].len), DOMINO_OK);
		we->ev[i].source = "generic";
		we->ev[i].id = ids[i];
		we->ev[i].repo = repos[i];
		we->ev[i].ref = "refs/heads/main";
		we->ev[i].type = "push";
	}
	we->done = ev_done;
	we->arg = &wt;
	cr_assert_eq(writer_submit_events(w, we), DOMINO_OK);
	wait_done(&wt);
	cr_assert_eq(wt.status, DOMINO_OK);
	for (size_t i = 0; i < n; i++) {
		seq[i] = we->ev[i].seq;
		dup[i] = we->ev[i].dup;
		matched[i] = we->ev[i].matched;
		free(we->ev[i].buf);
	}
	free(we);
}

Test(match, writer_command_of_several_events)
{
	/* One command: two events on a, a repeat of the first id, one
	 * nobody depends on. The coalescing listener keeps only the newest
	 * of a; the repeat makes nothing. */
	const char *ids[] = {"m-1", "m-2", "m-1", "m-3"};
	const char *repos[] = {A, A, A, "github.com/x/nobody"};
	struct writer *w;
	struct reg_out ro;
	struct dl_list dl;
	uint64_t seq[4];
	int dup[4];
	uint32_t matched[4];

	cr_assert_eq(writer_start(st, NULL, 16, 1024, 8, &w), DOMINO_OK);
	registry(w, REGISTRY_REGISTER, "{\"name\": \"B\", \"depends_on\": "
	    "[\"" A "\"]" FILE_CB, NULL, 0, &ro);
	cr_assert_eq(ro.status, DOMINO_OK, "%s", ro.err);
	registry(w, REGISTRY_REGISTER, "{\"name\": \"K\", \"coalesce\": true, "
	    "\"depends_on\": [\"" A "\"]" FILE_CB, NULL, 0, &ro);
	cr_assert_eq(ro.status, DOMINO_OK, "%s", ro.err);
	publish_n(w, 4, ids, repos, seq, dup, matched);
	cr_assert_eq(seq[0], 1);
	cr_assert_eq(seq[1], 2);
	cr_assert_eq(seq[2], 1);
	cr_assert_eq(dup[2], 1);
	cr_assert_eq(seq[3], 3);
	cr_assert_eq(matched[0], 2);
	cr_assert_eq(matched[1], 2);
	cr_assert_eq(matched[2], 0);
	cr_assert_eq(matched[3], 0);
	deliveries(NULL, &dl);
	cr_assert_eq(dl.n, 4);
	cr_assert_str_eq(dl.items[0].name, "B");
	cr_assert_str_eq(dl.items[0].d.state, "pending");
	cr_assert_str_eq(dl.items[1].name, "B");
	cr_assert_eq(dl.items[1].seq, 2);
	cr_assert_str_eq(dl.items[2].name, "K");
	cr_assert_eq(dl.items[2].seq, 1);
	cr_assert_str_eq(dl.items[2].d.state, "superseded");
	cr_assert_str_eq(dl.items[3].name, "K");
	cr_assert_str_eq(dl.items[3].d.state, "pending");
	dl_clear(&dl);
	writer_stop(w);
	writer_free(w);
}

Test(match, writer_registry_update_and_unregister)
{
	struct writer *w;
	struct reg_out ro;
	struct dl_list dl;
	struct match_result mr;
	uint32_t matched;
	char tok[128];

	cr_assert_eq(writer_start(st, NULL, 16, 1024, 8, &w), DOMINO_OK);
	registry(w, REGISTRY_REGISTER, "{\"name\": \"X\", \"depends_on\": "
	    "[\"" A "\", \"github.com/g/*\"]" FILE_CB, NULL, 0, &ro);
	cr_assert_eq(ro.status, DOMINO_OK, "%s", ro.err);
	snprintf(tok, sizeof(tok), "%s", ro.token);
	/* A second creation of the same name is a conflict that names it. */
	registry(w, REGISTRY_REGISTER, "{\"name\": \"X\", \"depends_on\": "
	    "[\"" RC "\"]" FILE_CB, NULL, 1, &ro);
	cr_assert_eq(ro.status, DOMINO_ECONFLICT);
	cr_assert(strstr(ro.err, "X") != NULL && strncmp(ro.err, "name", 4) == 0,
	    "%s", ro.err);
	/* Update: the old index entries go, the token stays. */
	registry(w, REGISTRY_REGISTER, "{\"name\": \"X\", \"depends_on\": "
	    "[\"" RC "\"]" FILE_CB, NULL, 0, &ro);
	cr_assert_eq(ro.status, DOMINO_OK, "%s", ro.err);
	cr_assert_eq(ro.created, 0);
	cr_assert_str_eq(ro.token, "", "an update without rotate_token made a token");
	walk(A, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0, "the old dependency still matches");
	match_result_clear(&mr);
	walk("github.com/g/z", NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0, "the old glob still matches");
	match_result_clear(&mr);
	walk(RC, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 1);
	match_result_clear(&mr);
	{
		struct store_reader *r;
		const void *data;
		size_t len;
		struct listener l;
		cr_assert_eq(store_reader_open(st, &r), DOMINO_OK);
		cr_assert_eq(store_listener_get(store_reader_view(r), "X", &data,
		    &len), DOMINO_OK);
		cr_assert_eq(listener_decode(data, len, &l), DOMINO_OK);
		store_reader_close(r);
		cr_assert(listener_token_ok(&l, tok, strlen(tok)),
		    "the update lost the token");
		cr_assert_eq(l.created, 42);
		listener_clear(&l);
	}

	publish(w, "u-1", RC, NULL, "push", NULL, &matched);
	publish(w, "u-2", RC, NULL, "push", NULL, &matched);
	cr_assert_eq(matched, 1);
	deliveries("X", &dl);
	cr_assert_eq(dl.n, 2);
	dl_clear(&dl);

	registry(w, REGISTRY_UNREGISTER, NULL, "X", 0, &ro);
	cr_assert_eq(ro.status, DOMINO_OK, "%s", ro.err);
	cr_assert_eq(ro.removed, 2);
	deliveries("X", &dl);
	cr_assert_eq(dl.n, 0);
	walk(RC, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 0);
	match_result_clear(&mr);
	/* The due index holds nothing of X any more. */
	cr_assert_eq(due_count("X"), 0);
	registry(w, REGISTRY_UNREGISTER, NULL, "X", 0, &ro);
	cr_assert_eq(ro.status, DOMINO_ENOTFOUND);
	cr_assert(strstr(ro.err, "X") != NULL, "%s", ro.err);
	writer_stop(w);
	writer_free(w);
}

/* A command that holds the writer until released, so that the commands
 * queued meanwhile form one batch. */
struct gate {
	struct wcmd cmd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int entered, released;
	struct waiter done;
};

static int
gate_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct gate *g = (struct gate *)c;

	(void)t;
	pthread_mutex_lock(&g->mu);
	g->entered = 1;
	pthread_cond_broadcast(&g->cv);
	while (!g->released)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return DOMINO_OK;
}

static void
gate_committed(struct wcmd *c, int status)
{
	signal_done(&((struct gate *)c)->done, status);
}

struct batch_slot {
	pthread_mutex_t *mu;
	pthread_cond_t *cv;
	int *left;
	int status;
};

static void
slot_done(struct registry_cmd *c, int status)
{
	struct batch_slot *s = c->arg;

	pthread_mutex_lock(s->mu);
	s->status = status;
	(*s->left)--;
	pthread_cond_broadcast(s->cv);
	pthread_mutex_unlock(s->mu);
	registry_cmd_free(c);
}

Test(match, many_refused_commands_in_one_batch_do_not_sink_the_others)
{
	/* 100 unregisters of names that do not exist and one good register
	 * land in one batch. Each refusal must get its own answer
	 * (not_found) and the register must commit. */
	enum { N_BAD = 100 };
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	struct batch_slot slots[N_BAD + 1];
	struct gate g = {.mu = PTHREAD_MUTEX_INITIALIZER,
	    .cv = PTHREAD_COND_INITIALIZER,
	    .done = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0}};
	struct writer *w;
	int left = N_BAD + 1;
	struct match_result mr;

	cr_assert_eq(writer_start(st, NULL, 256, 4096, 8, &w), DOMINO_OK);
	g.cmd.apply = gate_apply;
	g.cmd.committed = gate_committed;
	cr_assert_eq(writer_submit(w, &g.cmd), DOMINO_OK);
	pthread_mutex_lock(&g.mu);
	while (!g.entered)
		pthread_cond_wait(&g.cv, &g.mu);
	pthread_mutex_unlock(&g.mu);

	for (int i = 0; i <= N_BAD; i++) {
		struct registry_cmd *c = calloc(1, sizeof(*c));
		cr_assert_not_null(c);
		slots[i] = (struct batch_slot){&mu, &cv, &left, -1};
		if (i < N_BAD) {
			c->op = REGISTRY_UNREGISTER;
			snprintf(c->name, sizeof(c->name), "missing-%d", i);
		} else {
			c->op = REGISTRY_REGISTER;
			parse_reg("{\"name\": \"good\", \"depends_on\": [\"" A "\"]"
			    FILE_CB, &c->l);
		}
		c->now = 1;
		c->done = slot_done;
		c->arg = &slots[i];
		cr_assert_eq(registry_submit(w, c), DOMINO_OK);
	}
	pthread_mutex_lock(&g.mu);
	g.released = 1;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	wait_done(&g.done);
	pthread_mutex_lock(&mu);
	while (left > 0)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	writer_stop(w);
	writer_free(w);

	cr_assert_eq(g.done.status, DOMINO_OK);
	for (int i = 0; i < N_BAD; i++)
		cr_assert_eq(slots[i].status, DOMINO_ENOTFOUND,
		    "unregister %d answered %d, want not_found (%d)", i,
		    slots[i].status, DOMINO_ENOTFOUND);
	cr_assert_eq(slots[N_BAD].status, DOMINO_OK,
	    "the good register was failed with %d", slots[N_BAD].status);
	walk(A, NULL, NULL, 0, 8, &mr);
	cr_assert_eq(mr.n, 1, "the good register was not stored");
	match_result_clear(&mr);
}
