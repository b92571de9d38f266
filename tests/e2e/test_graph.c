/* SPDX-License-Identifier: MIT */
/*
 * Listeners and the dependency graph end to end, through the real dominod
 * and libdomino's raw control calls: a chain A <- B <- C and a diamond,
 * the pending deliveries and their `via` after a publish, `impact`,
 * listener tokens confined to their own listener, bad registrations
 * refused with the field named, 10,000 listeners with an event matched
 * correctly among them, and a store of an older schema upgraded (a newer
 * one refused).
 */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"
#include "mpjson.h"
#include "msg.h"

static struct broker b;
static domino *d;

static void
setup(void)
{
	struct domino_opts o = {0};

	cr_assert_eq(h_broker_start(&b, "heartbeat: 100ms\n"), 0,
	    "dominod did not start");
	o.control = b.control;
	o.token = b.token;
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
}

static void
teardown(void)
{
	domino_close(d);
	d = NULL;
	if (b.pid > 0) /* a failed test may have left it stopped */
		cr_assert_eq(h_broker_stop(&b), 0,
		    "dominod did not exit 0 on SIGTERM");
	h_broker_cleanup(&b);
}

TestSuite(graph, .init = setup, .fini = teardown, .timeout = 180);

/* A control reply, unpacked. */
struct reply {
	void *buf;
	size_t len;
	msgpack_unpacked u;
	const msgpack_object *o;
	char text[8192];
};

static void
reply_free(struct reply *r)
{
	msgpack_unpacked_destroy(&r->u);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* Send a JSON request (token included by the caller) on handle h. */
static int
call_on(domino *h, struct reply *r, const char *json)
{
	msgpack_sbuffer sb;
	size_t off = 0;
	int rv;

	memset(r, 0, sizeof(*r));
	msgpack_unpacked_init(&r->u);
	msgpack_sbuffer_init(&sb);
	if (mj_build(&sb, json) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return -1;
	}
	rv = domino_call(h, sb.data, sb.size, &r->buf, &r->len);
	msgpack_sbuffer_destroy(&sb);
	if (rv != DOMINO_OK)
		return rv;
	if (msgpack_unpack_next(&r->u, r->buf, r->len, &off) !=
	    MSGPACK_UNPACK_SUCCESS)
		return -1;
	r->o = &r->u.data;
	mj_text(r->o, r->text, sizeof(r->text));
	return 0;
}

/* printf-style request on the shared handle; the test fails on a
 * transport error. */
static void
callf(struct reply *r, const char *fmt, ...)
{
	char json[16384];
	va_list ap;
	int rv;

	va_start(ap, fmt);
	vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	rv = call_on(d, r, json);
	cr_assert_eq(rv, 0, "call failed (%d %s): %s", rv, domino_errmsg(), json);
}

static int
is_ok(const struct reply *r)
{
	int ok = 0;

	return msg_bool(r->o, "ok", &ok) == DOMINO_OK && ok;
}

static int
str_is(const msgpack_object *o, const char *s)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(s) &&
	    memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static const char *
err_code(const struct reply *r, char *buf, size_t cap)
{
	const char *s;
	size_t n;

	buf[0] = '\0';
	if (msg_str(msg_get(r->o, "err"), "code", &s, &n) == DOMINO_OK)
		snprintf(buf, cap, "%.*s", (int)n, s);
	return buf;
}

static const char *
err_msg(const struct reply *r, char *buf, size_t cap)
{
	const char *s;
	size_t n;

	buf[0] = '\0';
	if (msg_str(msg_get(r->o, "err"), "msg", &s, &n) == DOMINO_OK)
		snprintf(buf, cap, "%.*s", (int)n, s);
	return buf;
}

static void
expect_ok(const struct reply *r)
{
	cr_assert(is_ok(r), "not ok: %s", r->text);
}

static void
expect_err(const struct reply *r, const char *code)
{
	char c[64];

	cr_assert_not(is_ok(r), "ok, want %s: %s", code, r->text);
	cr_assert_str_eq(err_code(r, c, sizeof(c)), code, "%s", r->text);
}

/* A file callback writing under the broker's temp dir. */
static const char *
file_cb(void)
{
	static char cb[600];

	snprintf(cb, sizeof(cb), "\"callback\": {\"plugin\": \"file\", "
	    "\"config\": {\"path\": \"%s/out.jsonl\"}}", b.dir);
	return cb;
}

/* An http callback: what a listener token may register for itself. */
static const char *
http_cb(void)
{
	return "\"callback\": {\"plugin\": \"http\", "
	    "\"config\": {\"url\": \"https://ci.example.com/hook\"}}";
}

/* Register with the admin token; returns the listener's token (static). */
static const char *
reg_admin(const char *name, const char *deps_json, const char *provides,
    int level)
{
	static char tok[160];
	struct reply r;
	char prov[300] = "";
	const char *s;
	size_t n;

	if (provides != NULL)
		snprintf(prov, sizeof(prov), ", \"provides\": \"%s\"", provides);
	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"listener\": "
	    "{\"name\": \"%s\", \"depends_on\": %s%s, \"support_level\": %d, "
	    "%s}}", b.token, name, deps_json, prov, level, file_cb());
	expect_ok(&r);
	cr_assert(str_is(msg_get(r.o, "name"), name), "%s", r.text);
	cr_assert_eq(msg_str(r.o, "token", &s, &n), DOMINO_OK,
	    "no token on creation: %s", r.text);
	cr_assert(n > 16 && n < sizeof(tok), "%s", r.text);
	memcpy(tok, s, n);
	tok[n] = '\0';
	{
		int created = 0;
		cr_assert_eq(msg_bool(r.o, "created", &created), DOMINO_OK);
		cr_assert(created, "%s", r.text);
	}
	reply_free(&r);
	return tok;
}

static uint64_t
publish(const char *repo, const char *ref)
{
	struct reply r;
	uint64_t seq = 0;

	callf(&r, "{\"op\": \"publish\", \"token\": \"%s\", \"repo\": \"%s\", "
	    "\"ref\": \"%s\"}", b.token, repo, ref);
	expect_ok(&r);
	cr_assert_eq(msg_u64(r.o, "seq", &seq), DOMINO_OK, "%s", r.text);
	reply_free(&r);
	return seq;
}

/* The deliveries array of a reply. */
static const msgpack_object *
dl_array(const struct reply *r)
{
	const msgpack_object *a = msg_get(r->o, "deliveries");

	cr_assert(a != NULL && a->type == MSGPACK_OBJECT_ARRAY, "%s", r->text);
	return a;
}

/* Check a delivery record: listener, seq, a known state, via. */
static void
check_delivery(const msgpack_object *e, const char *listener, uint64_t seq,
    const char *const *via, size_t n_via, const char *text)
{
	static const char *const states[] = {"pending", "in_flight", "ok",
	    "failed", "dead", NULL};
	const msgpack_object *v = msg_get(e, "via"), *state = msg_get(e, "state");
	uint64_t s = 0;
	int known = 0;

	cr_assert(str_is(msg_get(e, "listener"), listener), "%s", text);
	cr_assert_eq(msg_u64(e, "seq", &s), DOMINO_OK, "%s", text);
	cr_assert_eq(s, seq, "%s", text);
	for (size_t i = 0; states[i] != NULL; i++)
		known |= str_is(state, states[i]);
	/* Created pending; the delivery engine may already have moved it. */
	cr_assert(known, "state: %s", text);
	cr_assert(v != NULL && v->type == MSGPACK_OBJECT_ARRAY, "%s", text);
	cr_assert_eq(v->via.array.size, n_via, "via of %s: %s", listener, text);
	for (size_t i = 0; i < n_via; i++)
		cr_assert(str_is(&v->via.array.ptr[i], via[i]),
		    "via[%zu] of %s is not %s: %s", i, listener, via[i], text);
	cr_assert_not_null(msg_get(e, "created"), "%s", text);
	cr_assert(str_is(msg_get(e, "type"), "push"), "%s", text);
}

#define RA "github.com/org/a"
#define RB "github.com/org/b"
#define RC "github.com/org/c"

Test(graph, chain_publish_creates_deliveries_with_via)
{
	struct reply r;
	uint64_t seq;

	reg_admin("B", "[\"" RA "\"]", RB, 1);
	reg_admin("C", "[{\"repo\": \"" RB "\", \"ref\": \"main\"}]", RC, 2);
	seq = publish(RA, "main");
	cr_assert_eq(seq, 1);

	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\"}", b.token);
	expect_ok(&r);
	{
		const msgpack_object *a = dl_array(&r);
		const char *vb[] = {RA}, *vc[] = {RA, RB};
		cr_assert_eq(a->via.array.size, 2, "%s", r.text);
		/* ordered by listener then seq */
		check_delivery(&a->via.array.ptr[0], "B", seq, vb, 1, r.text);
		check_delivery(&a->via.array.ptr[1], "C", seq, vc, 2, r.text);
		cr_assert(str_is(msg_get(&a->via.array.ptr[0], "repo"), RA));
		cr_assert(str_is(msg_get(&a->via.array.ptr[0], "ref"),
		    "refs/heads/main"), "%s", r.text);
	}
	reply_free(&r);

	/* One listener's deliveries, and the pending filter. */
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"listener\": "
	    "\"C\"}", b.token);
	expect_ok(&r);
	cr_assert_eq(dl_array(&r)->via.array.size, 1, "%s", r.text);
	reply_free(&r);
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"state\": "
	    "\"sleeping\"}", b.token);
	expect_err(&r, "invalid");
	reply_free(&r);

	/* Another branch of a: B hears it (no filter), C is still reached
	 * through B, because filters apply to direct matches only. */
	seq = publish(RA, "dev");
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"listener\": "
	    "\"C\", \"from\": %llu}", b.token, (unsigned long long)seq);
	expect_ok(&r);
	cr_assert_eq(dl_array(&r)->via.array.size, 1, "%s", r.text);
	reply_free(&r);
	/* A push on b itself to dev: C's ref filter applies (direct). */
	seq = publish(RB, "dev");
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"listener\": "
	    "\"C\", \"from\": %llu}", b.token, (unsigned long long)seq);
	expect_ok(&r);
	cr_assert_eq(dl_array(&r)->via.array.size, 0, "%s", r.text);
	reply_free(&r);

	/* Unregistering removes the listener and its deliveries. */
	callf(&r, "{\"op\": \"unregister\", \"token\": \"%s\", \"name\": \"C\"}",
	    b.token);
	expect_ok(&r);
	{
		uint64_t n = 0;
		cr_assert_eq(msg_u64(r.o, "deliveries_removed", &n), DOMINO_OK);
		cr_assert_eq(n, 2, "%s", r.text);
	}
	reply_free(&r);
	callf(&r, "{\"op\": \"listener\", \"token\": \"%s\", \"name\": \"C\"}",
	    b.token);
	expect_err(&r, "not_found");
	reply_free(&r);
	callf(&r, "{\"op\": \"unregister\", \"token\": \"%s\", \"name\": \"C\"}",
	    b.token);
	expect_err(&r, "not_found");
	reply_free(&r);
}

Test(graph, diamond_reaches_the_bottom_once)
{
	struct reply r;
	uint64_t seq;

	reg_admin("top-b", "[\"github.com/dia/a\"]", "github.com/dia/b", 2);
	reg_admin("top-c", "[\"github.com/dia/a\"]", "github.com/dia/c", 2);
	reg_admin("bottom", "[\"github.com/dia/b\", \"github.com/dia/c\"]",
	    NULL, 0);
	seq = publish("github.com/dia/a", "main");
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"listener\": "
	    "\"bottom\"}", b.token);
	expect_ok(&r);
	{
		const msgpack_object *a = dl_array(&r), *v;
		cr_assert_eq(a->via.array.size, 1, "reached twice? %s", r.text);
		v = msg_get(&a->via.array.ptr[0], "via");
		cr_assert_eq(v->via.array.size, 2, "%s", r.text);
		cr_assert(str_is(&v->via.array.ptr[0], "github.com/dia/a"));
		cr_assert(str_is(&v->via.array.ptr[1], "github.com/dia/b") ||
		    str_is(&v->via.array.ptr[1], "github.com/dia/c"), "%s", r.text);
		{
			uint64_t s = 0;
			msg_u64(&a->via.array.ptr[0], "seq", &s);
			cr_assert_eq(s, seq);
		}
	}
	reply_free(&r);
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\"}", b.token);
	expect_ok(&r);
	cr_assert_eq(dl_array(&r)->via.array.size, 3, "%s", r.text);
	reply_free(&r);
}

/* Find name in an impact reply's listeners. */
static const msgpack_object *
impact_entry(const struct reply *r, const char *name)
{
	const msgpack_object *a = msg_get(r->o, "listeners");

	cr_assert(a != NULL && a->type == MSGPACK_OBJECT_ARRAY, "%s", r->text);
	for (uint32_t i = 0; i < a->via.array.size; i++)
		if (str_is(msg_get(&a->via.array.ptr[i], "name"), name))
			return &a->via.array.ptr[i];
	return NULL;
}

static size_t
impact_n(const struct reply *r)
{
	const msgpack_object *a = msg_get(r->o, "listeners");

	cr_assert(a != NULL && a->type == MSGPACK_OBJECT_ARRAY, "%s", r->text);
	return a->via.array.size;
}

Test(graph, impact_answers_depths_parents_and_via)
{
	struct reply r;
	const msgpack_object *e;
	uint64_t v = 0;

	reg_admin("B", "[{\"repo\": \"" RA "\", \"types\": [\"tag\"]}]", RB, 1);
	reg_admin("C", "[\"" RB "\"]", RC, 0);
	reg_admin("D", "[\"" RC "\"]", NULL, 3);
	reg_admin("other", "[\"github.com/elsewhere/x\"]", NULL, 0);

	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": \"" RA "\"}",
	    b.token);
	expect_ok(&r);
	cr_assert(str_is(msg_get(r.o, "repo"), RA), "%s", r.text);
	cr_assert_eq(impact_n(&r), 3, "%s", r.text);
	/* breadth first: B, C, D */
	{
		const msgpack_object *a = msg_get(r.o, "listeners");
		cr_assert(str_is(msg_get(&a->via.array.ptr[0], "name"), "B"));
		cr_assert(str_is(msg_get(&a->via.array.ptr[1], "name"), "C"));
		cr_assert(str_is(msg_get(&a->via.array.ptr[2], "name"), "D"));
	}
	e = impact_entry(&r, "B");
	cr_assert_eq(msg_u64(e, "depth", &v), DOMINO_OK);
	cr_assert_eq(v, 1);
	cr_assert_null(msg_get(e, "parent"), "depth 1 has no parent: %s", r.text);
	cr_assert_eq(msg_u64(e, "support_level", &v), DOMINO_OK);
	cr_assert_eq(v, 1);
	cr_assert(str_is(msg_get(e, "provides"), RB));
	e = impact_entry(&r, "C");
	cr_assert_eq(msg_u64(e, "depth", &v), DOMINO_OK);
	cr_assert_eq(v, 2);
	cr_assert(str_is(msg_get(e, "parent"), "B"), "%s", r.text);
	{
		const msgpack_object *via = msg_get(e, "via");
		cr_assert_eq(via->via.array.size, 2);
		cr_assert(str_is(&via->via.array.ptr[0], RA));
		cr_assert(str_is(&via->via.array.ptr[1], RB));
	}
	e = impact_entry(&r, "D");
	cr_assert_eq(msg_u64(e, "depth", &v), DOMINO_OK);
	cr_assert_eq(v, 3);
	cr_assert(str_is(msg_get(e, "parent"), "C"), "%s", r.text);
	cr_assert_eq(msg_get(e, "via")->via.array.size, 3);
	reply_free(&r);

	/* support_level 1: B (1) and C (0), not D (3). */
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": \"" RA "\", "
	    "\"support_level\": 1}", b.token);
	expect_ok(&r);
	cr_assert_eq(impact_n(&r), 2, "%s", r.text);
	cr_assert_null(impact_entry(&r, "D"));
	reply_free(&r);
	/* max_depth 2 cuts D. */
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": \"" RA "\", "
	    "\"max_depth\": 2}", b.token);
	expect_ok(&r);
	cr_assert_eq(impact_n(&r), 2, "%s", r.text);
	cr_assert_null(impact_entry(&r, "D"));
	reply_free(&r);
	/* From the middle. */
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": \"" RC "\"}",
	    b.token);
	expect_ok(&r);
	cr_assert_eq(impact_n(&r), 1, "%s", r.text);
	reply_free(&r);
	/* Nobody depends on it. */
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": "
	    "\"github.com/nobody/x\"}", b.token);
	expect_ok(&r);
	cr_assert_eq(impact_n(&r), 0, "%s", r.text);
	reply_free(&r);
	/* Arguments checked. */
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\"}", b.token);
	expect_err(&r, "invalid");
	reply_free(&r);
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": \"" RA "\", "
	    "\"max_depth\": \"deep\"}", b.token);
	expect_err(&r, "invalid");
	reply_free(&r);
	/* Nothing was stored by impact. */
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\"}", b.token);
	expect_ok(&r);
	cr_assert_eq(dl_array(&r)->via.array.size, 0, "%s", r.text);
	reply_free(&r);
}

Test(graph, listener_tokens_reach_only_their_own_listener)
{
	struct reply r;
	char tb[160], tc[160], rotated[160];
	const char *s;
	size_t n;

	snprintf(tb, sizeof(tb), "%s", reg_admin("B", "[\"" RA "\"]", RB, 2));
	snprintf(tc, sizeof(tc), "%s", reg_admin("C", "[\"" RB "\"]", NULL, 2));
	cr_assert_str_neq(tb, tc);
	publish(RA, "main");

	/* Its own listener and deliveries: yes. */
	callf(&r, "{\"op\": \"listener\", \"token\": \"%s\", \"name\": \"B\"}", tb);
	expect_ok(&r);
	cr_assert(str_is(msg_get(msg_get(r.o, "listener"), "name"), "B"), "%s",
	    r.text);
	/* No token material in the answer. */
	cr_assert_null(memmem(r.buf, r.len, tb, strlen(tb)));
	cr_assert_null(msg_get(msg_get(r.o, "listener"), "token_hash"), "%s",
	    r.text);
	reply_free(&r);
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"listener\": "
	    "\"B\"}", tb);
	expect_ok(&r);
	cr_assert_eq(dl_array(&r)->via.array.size, 1, "%s", r.text);
	reply_free(&r);

	/* Another's: no. */
	callf(&r, "{\"op\": \"listener\", \"token\": \"%s\", \"name\": \"C\"}", tb);
	expect_err(&r, "unauthorized");
	reply_free(&r);
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"listener\": "
	    "\"C\"}", tb);
	expect_err(&r, "unauthorized");
	reply_free(&r);
	/* Naming itself to pass the check and another in the argument. */
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"name\": \"B\", "
	    "\"listener\": \"C\"}", tb);
	expect_err(&r, "unauthorized");
	reply_free(&r);
	callf(&r, "{\"op\": \"unregister\", \"token\": \"%s\", \"name\": \"C\"}", tb);
	expect_err(&r, "unauthorized");
	reply_free(&r);
	/* Re-registering another's name with one's own token. */
	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"listener\": "
	    "{\"name\": \"C\", \"depends_on\": [\"github.com/evil/x\"], %s}}",
	    tb, http_cb());
	cr_assert_not(is_ok(&r), "%s", r.text);
	{
		char c[64];
		err_code(&r, c, sizeof(c));
		cr_assert(strcmp(c, "unauthorized") == 0 ||
		    strcmp(c, "conflict") == 0, "%s", r.text);
	}
	reply_free(&r);
	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"name\": \"B\", "
	    "\"listener\": {\"name\": \"C\", \"depends_on\": "
	    "[\"github.com/evil/x\"], %s}}", tb, http_cb());
	cr_assert_not(is_ok(&r), "%s", r.text);
	reply_free(&r);
	/* C is unchanged. */
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": "
	    "\"github.com/evil/x\"}", b.token);
	expect_ok(&r);
	cr_assert_eq(impact_n(&r), 0, "C was re-registered: %s", r.text);
	reply_free(&r);
	/* A listener token may not set up a callback acting on the host. */
	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"name\": \"B\", "
	    "\"listener\": {\"name\": \"B\", \"depends_on\": [\"" RA "\"], %s}}",
	    tb, file_cb());
	expect_err(&r, "unauthorized");
	reply_free(&r);
	/* Creating a new listener needs the admin token. */
	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"listener\": "
	    "{\"name\": \"fresh\", \"depends_on\": [\"" RA "\"], %s}}", tb,
	    http_cb());
	cr_assert_not(is_ok(&r), "%s", r.text);
	reply_free(&r);
	/* Admin-only ops. */
	callf(&r, "{\"op\": \"listeners\", \"token\": \"%s\", \"name\": \"B\"}", tb);
	expect_err(&r, "unauthorized");
	reply_free(&r);
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"name\": \"B\", "
	    "\"repo\": \"" RA "\"}", tb);
	expect_err(&r, "unauthorized");
	reply_free(&r);
	callf(&r, "{\"op\": \"publish\", \"token\": \"%s\", \"name\": \"B\", "
	    "\"repo\": \"" RA "\"}", tb);
	expect_err(&r, "unauthorized");
	reply_free(&r);
	/* A wrong token, and none. */
	callf(&r, "{\"op\": \"listener\", \"token\": \"dlt_0000\", \"name\": \"B\"}");
	expect_err(&r, "unauthorized");
	reply_free(&r);
	callf(&r, "{\"op\": \"listener\", \"name\": \"B\"}");
	expect_err(&r, "unauthorized");
	reply_free(&r);

	/* Updating itself with its own token: no new token, deps change. */
	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"listener\": "
	    "{\"name\": \"B\", \"depends_on\": [\"" RA "\", "
	    "\"github.com/org/extra\"], \"provides\": \"" RB "\", %s}}", tb,
	    http_cb());
	expect_ok(&r);
	{
		int created = 1;
		cr_assert_eq(msg_bool(r.o, "created", &created), DOMINO_OK);
		cr_assert_not(created, "%s", r.text);
		cr_assert_null(msg_get(r.o, "token"), "an update answered a token: %s",
		    r.text);
	}
	reply_free(&r);
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": "
	    "\"github.com/org/extra\"}", b.token);
	expect_ok(&r);
	cr_assert_eq(impact_n(&r), 2, "B then C: %s", r.text);
	reply_free(&r);

	/* Rotating: the new token works, the old one no longer does. */
	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"rotate_token\": "
	    "true, \"listener\": {\"name\": \"B\", \"depends_on\": [\"" RA "\"], "
	    "\"provides\": \"" RB "\", %s}}", tb, http_cb());
	expect_ok(&r);
	cr_assert_eq(msg_str(r.o, "token", &s, &n), DOMINO_OK, "%s", r.text);
	cr_assert_lt(n, sizeof(rotated));
	memcpy(rotated, s, n);
	rotated[n] = '\0';
	cr_assert_str_neq(rotated, tb);
	reply_free(&r);
	callf(&r, "{\"op\": \"listener\", \"token\": \"%s\", \"name\": \"B\"}", tb);
	expect_err(&r, "unauthorized");
	reply_free(&r);
	callf(&r, "{\"op\": \"listener\", \"token\": \"%s\", \"name\": \"B\"}",
	    rotated);
	expect_ok(&r);
	reply_free(&r);
	/* C's token still works for C, and may unregister it. */
	callf(&r, "{\"op\": \"unregister\", \"token\": \"%s\", \"name\": \"C\"}", tc);
	expect_ok(&r);
	reply_free(&r);
}

Test(graph, secrets_are_masked_and_listeners_are_listed)
{
	struct reply r;
	const msgpack_object *a;

	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"listener\": "
	    "{\"name\": \"web\", \"depends_on\": [\"" RA "\"], \"labels\": "
	    "{\"team\": \"infra\"}, \"callback\": {\"plugin\": \"http\", "
	    "\"config\": {\"url\": \"https://ci.example.com/hook\", "
	    "\"secret\": \"hunter2-hunter2\"}}}}", b.token);
	expect_ok(&r);
	reply_free(&r);
	reg_admin("zz-last", "[\"" RB "\"]", NULL, 2);
	reg_admin("aa-first", "[\"" RB "\"]", NULL, 2);

	callf(&r, "{\"op\": \"listener\", \"token\": \"%s\", \"name\": \"web\"}",
	    b.token);
	expect_ok(&r);
	cr_assert_null(memmem(r.buf, r.len, "hunter2", 7), "secret leaked: %s",
	    r.text);
	cr_assert(str_is(msg_get(msg_get(msg_get(msg_get(r.o, "listener"),
	    "callback"), "config"), "secret"), "***"), "%s", r.text);
	cr_assert_not_null(msg_get(msg_get(r.o, "listener"), "created"));
	reply_free(&r);

	callf(&r, "{\"op\": \"listeners\", \"token\": \"%s\"}", b.token);
	expect_ok(&r);
	cr_assert_null(memmem(r.buf, r.len, "hunter2", 7), "secret leaked: %s",
	    r.text);
	a = msg_get(r.o, "listeners");
	cr_assert(a != NULL && a->type == MSGPACK_OBJECT_ARRAY, "%s", r.text);
	cr_assert_eq(a->via.array.size, 3, "%s", r.text);
	cr_assert(str_is(msg_get(&a->via.array.ptr[0], "name"), "aa-first"));
	cr_assert(str_is(msg_get(&a->via.array.ptr[1], "name"), "web"));
	cr_assert(str_is(msg_get(&a->via.array.ptr[2], "name"), "zz-last"));
	cr_assert(str_is(msg_get(&a->via.array.ptr[1], "plugin"), "http"));
	reply_free(&r);
}

/* The registration must be refused as invalid with field first in msg. */
static void
bad_registration(const char *listener_json, const char *field)
{
	struct reply r;
	char m[512];

	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"listener\": %s}",
	    b.token, listener_json);
	expect_err(&r, "invalid");
	err_msg(&r, m, sizeof(m));
	cr_assert(strncmp(m, field, strlen(field)) == 0 &&
	    (m[strlen(field)] == ':' || m[strlen(field)] == '.'),
	    "msg does not name %s: \"%s\"", field, m);
	reply_free(&r);
}

#define FILECB "\"callback\": {\"plugin\": \"file\", \"config\": {\"path\": \"/tmp/domino-never\"}}"

Test(graph, bad_registrations_name_the_field)
{
	struct reply r;

	bad_registration("{\"name\": \"x\", \"depends_on\": [\"" RA "\"], "
	    "\"callback\": {\"plugin\": \"smoke-signal\"}}", "callback.plugin");
	bad_registration("{\"name\": \"x\", \"depends_on\": "
	    "[\"github.com/org/[abc\"], " FILECB "}", "depends_on[0]");
	bad_registration("{\"name\": \"x\", \"depends_on\": [\"" RA "\", "
	    "{\"repo\": \"" RB "\", \"ref\": \"[\"}], " FILECB "}",
	    "depends_on[1].ref");
	bad_registration("{\"name\": \"x\", \"depends_on\": [], " FILECB "}",
	    "depends_on");
	bad_registration("{\"depends_on\": [\"" RA "\"], " FILECB "}", "name");
	bad_registration("{\"name\": \"no spaces\", \"depends_on\": [\"" RA "\"], "
	    FILECB "}", "name");
	bad_registration("{\"name\": \"x\", \"depends_on\": [\"" RA "\"], "
	    "\"provides\": \"" RA "\", " FILECB "}", "depends_on[0]");
	bad_registration("{\"name\": \"x\", \"depends_on\": [\"" RA "\"], "
	    "\"colour\": \"blue\", " FILECB "}", "colour");
	bad_registration("{\"name\": \"x\", \"depends_on\": [\"" RA "\"], "
	    "\"support_level\": 9, " FILECB "}", "support_level");
	bad_registration("{\"name\": \"x\", \"depends_on\": [{\"repo\": \"" RA
	    "\", \"types\": [\"explosion\"]}], " FILECB "}",
	    "depends_on[0].types[0]");
	bad_registration("{\"name\": \"x\", \"depends_on\": [\"" RA "\"], "
	    "\"callback\": {\"plugin\": \"http\", \"config\": {}}}",
	    "callback.config.url");
	bad_registration("{\"name\": \"x\", \"depends_on\": [\"" RA "\"], "
	    "\"callback\": {\"plugin\": \"file\", \"config\": {\"path\": \"/tmp/y\", "
	    "\"mode\": 420}}}", "callback.config.mode");
	bad_registration("\"just a string\"", "listener");
	/* No listener at all. */
	callf(&r, "{\"op\": \"register\", \"token\": \"%s\"}", b.token);
	expect_err(&r, "invalid");
	reply_free(&r);
	callf(&r, "{\"op\": \"register\", \"token\": \"%s\", \"rotate_token\": 1, "
	    "\"listener\": {\"name\": \"x\", \"depends_on\": [\"" RA "\"], "
	    FILECB "}}", b.token);
	expect_err(&r, "invalid");
	reply_free(&r);
	/* Nothing was registered. */
	callf(&r, "{\"op\": \"listeners\", \"token\": \"%s\"}", b.token);
	expect_ok(&r);
	cr_assert_eq(msg_get(r.o, "listeners")->via.array.size, 0, "%s", r.text);
	reply_free(&r);
}

Test(graph, an_event_with_an_over_long_repo_is_still_stored)
{
	/* No dependency can be longer than 400 characters, so such an event
	 * simply matches nobody; it must not fail to commit. */
	char repo[700];
	struct reply r;

	reg_admin("B", "[\"github.com/org/*\"]", NULL, 2);
	memset(repo, 'x', sizeof(repo) - 1);
	memcpy(repo, "github.com/org/", 15);
	repo[sizeof(repo) - 1] = '\0';
	callf(&r, "{\"op\": \"publish\", \"token\": \"%s\", \"repo\": \"%s\"}",
	    b.token, repo);
	expect_ok(&r);
	reply_free(&r);
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": \"%s\"}",
	    b.token, repo);
	expect_ok(&r);
	reply_free(&r);
}

/* --- 10,000 listeners -------------------------------------------------- */

#define N_LISTENERS 10000
#define N_THREADS 16

struct reg_job {
	int from, to;
	char control[128], token[128], dir[256];
	int failures;
	char first_err[512];
};

static void *
reg_thread(void *arg)
{
	struct reg_job *j = arg;
	struct domino_opts o = {.control = j->control, .token = j->token};
	domino *h;

	if (domino_open(&h, &o) != DOMINO_OK) {
		j->failures = j->to - j->from;
		return NULL;
	}
	for (int i = j->from; i < j->to; i++) {
		char json[1024], prov[128] = "";
		struct reply r;

		if (i % 1000 == 0)
			snprintf(prov, sizeof(prov), ", \"provides\": "
			    "\"github.com/down/p%05d\"", i);
		snprintf(json, sizeof(json), "{\"op\": \"register\", \"token\": "
		    "\"%s\", \"listener\": {\"name\": \"l%05d\", \"depends_on\": "
		    "[\"github.com/big/r%05d\"]%s, \"callback\": {\"plugin\": "
		    "\"file\", \"config\": {\"path\": \"%s/big.jsonl\"}}}}",
		    j->token, i, i, prov, j->dir);
		if (call_on(h, &r, json) != 0 || !is_ok(&r)) {
			if (j->failures++ == 0)
				snprintf(j->first_err, sizeof(j->first_err), "%.500s",
				    r.o ? r.text : domino_errmsg());
		}
		reply_free(&r);
	}
	domino_close(h);
	return NULL;
}

Test(graph, ten_thousand_listeners, .timeout = 300)
{
	pthread_t th[N_THREADS];
	struct reg_job jobs[N_THREADS];
	struct reply r;
	uint64_t seq;
	int failures = 0;

	for (int t = 0; t < N_THREADS; t++) {
		memset(&jobs[t], 0, sizeof(jobs[t]));
		jobs[t].from = t * N_LISTENERS / N_THREADS;
		jobs[t].to = (t + 1) * N_LISTENERS / N_THREADS;
		snprintf(jobs[t].control, sizeof(jobs[t].control), "%s", b.control);
		snprintf(jobs[t].token, sizeof(jobs[t].token), "%s", b.token);
		snprintf(jobs[t].dir, sizeof(jobs[t].dir), "%s", b.dir);
		cr_assert_eq(pthread_create(&th[t], NULL, reg_thread, &jobs[t]), 0);
	}
	for (int t = 0; t < N_THREADS; t++) {
		pthread_join(th[t], NULL);
		if (jobs[t].failures > 0)
			cr_log_error("thread %d: %d failures, first: %s", t,
			    jobs[t].failures, jobs[t].first_err);
		failures += jobs[t].failures;
	}
	cr_assert_eq(failures, 0, "%d registrations failed", failures);
	/* Downstream of two of the providers, and a glob over all of them. */
	reg_admin("down-4000", "[\"github.com/down/p04000\"]", NULL, 1);
	reg_admin("down-7000", "[\"github.com/down/p07000\"]", NULL, 1);
	reg_admin("every-big", "[\"github.com/big/\"]", NULL, 3);

	callf(&r, "{\"op\": \"listeners\", \"token\": \"%s\"}", b.token);
	expect_ok(&r);
	cr_assert_eq(msg_get(r.o, "listeners")->via.array.size, N_LISTENERS + 3);
	reply_free(&r);

	seq = publish("github.com/big/r04000", "main");
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"limit\": 1000}",
	    b.token);
	expect_ok(&r);
	{
		const msgpack_object *a = dl_array(&r);
		const char *v1[] = {"github.com/big/r04000"};
		const char *v2[] = {"github.com/big/r04000",
		    "github.com/down/p04000"};
		int more = 1;
		cr_assert_eq(a->via.array.size, 3, "%s", r.text);
		cr_assert_eq(msg_bool(r.o, "more", &more), DOMINO_OK);
		cr_assert_not(more);
		check_delivery(&a->via.array.ptr[0], "down-4000", seq, v2, 2, r.text);
		check_delivery(&a->via.array.ptr[1], "every-big", seq, v1, 1, r.text);
		check_delivery(&a->via.array.ptr[2], "l04000", seq, v1, 1, r.text);
	}
	reply_free(&r);

	/* A repo without an exact listener: only the glob. */
	seq = publish("github.com/big/not-registered", "main");
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"from\": %llu}",
	    b.token, (unsigned long long)seq);
	expect_ok(&r);
	{
		const msgpack_object *a = dl_array(&r);
		const char *v1[] = {"github.com/big/not-registered"};
		cr_assert_eq(a->via.array.size, 1, "%s", r.text);
		check_delivery(&a->via.array.ptr[0], "every-big", seq, v1, 1, r.text);
	}
	reply_free(&r);

	/* impact agrees, for a few more. */
	for (int i = 1; i < N_LISTENERS; i += 1237) {
		char name[16];
		snprintf(name, sizeof(name), "l%05d", i);
		callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": "
		    "\"github.com/big/r%05d\"}", b.token, i);
		expect_ok(&r);
		cr_assert_eq(impact_n(&r), 2, "%s", r.text);
		cr_assert_not_null(impact_entry(&r, name), "%s", r.text);
		cr_assert_not_null(impact_entry(&r, "every-big"), "%s", r.text);
		reply_free(&r);
	}
	callf(&r, "{\"op\": \"impact\", \"token\": \"%s\", \"repo\": "
	    "\"github.com/big/r07000\"}", b.token);
	expect_ok(&r);
	cr_assert_eq(impact_n(&r), 3, "%s", r.text);
	cr_assert_not_null(impact_entry(&r, "down-7000"), "%s", r.text);
	reply_free(&r);
}

Test(graph, repeated_keys_in_a_registration_are_handled)
{
	/* A msgpack map may repeat a key. Refusing (naming the field) or
	 * letting the last win are both fine; leaking the first value is not
	 * (the broker runs under LeakSanitizer: teardown checks it exits 0). */
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct reply r;
	size_t off = 0;
	char path[400];

	snprintf(path, sizeof(path), "%s/out.jsonl", b.dir);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "op", 2);
	msgpack_pack_str_with_body(&pk, "register", 8);
	msgpack_pack_str_with_body(&pk, "token", 5);
	msgpack_pack_str_with_body(&pk, b.token, strlen(b.token));
	msgpack_pack_str_with_body(&pk, "listener", 8);
	msgpack_pack_map(&pk, 6);
	msgpack_pack_str_with_body(&pk, "name", 4);
	msgpack_pack_str_with_body(&pk, "first", 5);
	msgpack_pack_str_with_body(&pk, "name", 4);
	msgpack_pack_str_with_body(&pk, "second", 6);
	msgpack_pack_str_with_body(&pk, "depends_on", 10);
	msgpack_pack_str_with_body(&pk, RA, strlen(RA));
	msgpack_pack_str_with_body(&pk, "labels", 6);
	msgpack_pack_map(&pk, 0);
	msgpack_pack_str_with_body(&pk, "labels", 6);
	msgpack_pack_map(&pk, 0);
	msgpack_pack_str_with_body(&pk, "callback", 8);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "plugin", 6);
	msgpack_pack_str_with_body(&pk, "file", 4);
	msgpack_pack_str_with_body(&pk, "config", 6);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "path", 4);
	msgpack_pack_str_with_body(&pk, path, strlen(path));
	memset(&r, 0, sizeof(r));
	msgpack_unpacked_init(&r.u);
	cr_assert_eq(domino_call(d, sb.data, sb.size, &r.buf, &r.len), DOMINO_OK);
	msgpack_sbuffer_destroy(&sb);
	cr_assert_eq(msgpack_unpack_next(&r.u, r.buf, r.len, &off),
	    MSGPACK_UNPACK_SUCCESS);
	r.o = &r.u.data;
	mj_text(r.o, r.text, sizeof(r.text));
	if (is_ok(&r)) {
		cr_assert(str_is(msg_get(r.o, "name"), "second"), "%s", r.text);
	} else {
		char m[512];
		expect_err(&r, "invalid");
		err_msg(&r, m, sizeof(m));
		cr_assert(strncmp(m, "name", 4) == 0, "%s", r.text);
	}
	reply_free(&r);
	cr_assert_eq(h_broker_stop(&b), 0,
	    "dominod did not exit 0 (a LeakSanitizer report?)");
	cr_assert_eq(h_broker_restart(&b), 0);
}

/* --- the CLI ------------------------------------------------------------- */

static int
lines_with(const char *out, const char *needle)
{
	int n = 0;

	for (const char *p = out; p != NULL && *p != '\0';) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char line[4096];
		snprintf(line, sizeof(line), "%.*s", (int)(len < 4095 ? len : 4095), p);
		n += strstr(line, needle) != NULL;
		p = e ? e + 1 : NULL;
	}
	return n;
}

Test(graph, cli_register_impact_deliveries)
{
	char yaml[400], cfg[400], *out = NULL;
	FILE *f;

	snprintf(yaml, sizeof(yaml), "%s/cli-b.yaml", b.dir);
	f = fopen(yaml, "w");
	cr_assert_not_null(f);
	fprintf(f, "name: cli-b\n"
	    "depends_on:\n"
	    "  - {repo: github.com/cli/a, ref: main}\n"
	    "provides: github.com/cli/b\n"
	    "callback: {plugin: file, config: {path: %s/cli.jsonl}}\n"
	    "support_level: 1\n", b.dir);
	fclose(f);
	{
		const char *argv[] = {"register", yaml, NULL};
		cr_assert_eq(h_cli(&b, argv, &out), 0, "register: %s", out);
		free(out);
	}
	snprintf(cfg, sizeof(cfg), "path=%s/cli.jsonl", b.dir);
	{
		const char *argv[] = {"register", "--name", "cli-c", "--depends-on",
		    "github.com/cli/b", "--plugin", "file", "--config", cfg, NULL};
		cr_assert_eq(h_cli(&b, argv, &out), 0, "register: %s", out);
		free(out);
	}
	{ /* a bad file: refused, nothing registered */
		const char *argv[] = {"register", yaml, NULL};
		f = fopen(yaml, "w");
		fprintf(f, "name: cli-bad\ndepends_on: []\n"
		    "callback: {plugin: file, config: {path: /tmp/x}}\n");
		fclose(f);
		cr_assert_neq(h_cli(&b, argv, &out), 0, "accepted: %s", out);
		free(out);
	}
	{
		const char *argv[] = {"impact", "github.com/cli/a", "--json", NULL};
		cr_assert_eq(h_cli(&b, argv, &out), 0, "%s", out);
		cr_assert(strstr(out, "\"cli-b\"") != NULL, "%s", out);
		cr_assert(strstr(out, "\"cli-c\"") != NULL, "%s", out);
		cr_assert(strstr(out, "cli-bad") == NULL, "%s", out);
		free(out);
	}
	{
		const char *argv[] = {"impact", "github.com/cli/a", "--dot", NULL};
		cr_assert_eq(h_cli(&b, argv, &out), 0, "%s", out);
		cr_assert(strstr(out, "digraph") != NULL, "%s", out);
		cr_assert(strstr(out, "cli-c") != NULL, "%s", out);
		free(out);
	}
	{
		const char *argv[] = {"impact", "github.com/cli/a", NULL};
		cr_assert_eq(h_cli(&b, argv, &out), 0, "%s", out);
		cr_assert(strstr(out, "cli-b") != NULL, "%s", out);
		cr_assert(strstr(out, "cli-c") != NULL, "%s", out);
		free(out);
	}
	publish("github.com/cli/a", "main");
	{
		const char *argv[] = {"deliveries", "--json", NULL};
		cr_assert_eq(h_cli(&b, argv, &out), 0, "%s", out);
		cr_assert_eq(lines_with(out, "\"listener\""), 2, "%s", out);
		cr_assert_eq(lines_with(out, "github.com/cli/b"), 1,
		    "one via through b: %s", out);
		free(out);
	}
}

/*
 * Rewrite the stopped broker's store as schema 1 (dominod before match
 * records) left it: every `deps` value cut to name NUL index, schema 1 in
 * meta. With newer set, only the schema changes, to one past the current.
 * Returns the number of values cut.
 */
static int
store_as_schema(const char *data, uint64_t schema, int cut)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi deps, meta;
	MDB_cursor *cur;
	MDB_val k, v, mk = {6, "schema"}, mv;
	uint8_t be[8];
	struct { char k[512], v[512]; size_t kl, vl; } *keep = calloc(256,
	    sizeof(*keep));
	int n = 0;

	cr_assert_not_null(keep);
	cr_assert_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	cr_assert_eq(mdb_env_open(env, data, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "deps", MDB_DUPSORT, &deps), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	cr_assert_eq(mdb_cursor_open(txn, deps, &cur), 0);
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); cut && rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *nul = memchr(v.mv_data, '\0', v.mv_size);
		size_t head = (size_t)(nul - (const char *)v.mv_data) + 3;
		cr_assert_not_null(nul);
		cr_assert_lt(n, 256);
		cr_assert_gt(v.mv_size, head, "an entry without a match record");
		memcpy(keep[n].k, k.mv_data, k.mv_size);
		keep[n].kl = k.mv_size;
		memcpy(keep[n].v, v.mv_data, head);
		keep[n].vl = head;
		n++;
	}
	mdb_cursor_close(cur);
	if (cut)
		cr_assert_eq(mdb_drop(txn, deps, 0), 0);
	for (int i = 0; i < n; i++) {
		MDB_val a = {keep[i].kl, keep[i].k}, c = {keep[i].vl, keep[i].v};
		cr_assert_eq(mdb_put(txn, deps, &a, &c, 0), 0);
	}
	for (int i = 7; i >= 0; i--, schema >>= 8)
		be[i] = (uint8_t)schema;
	mv.mv_size = 8;
	mv.mv_data = be;
	cr_assert_eq(mdb_put(txn, meta, &mk, &mv, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(keep);
	return n;
}

/* The schema in meta, and whether every deps value has a record. */
static uint64_t
store_schema_of(const char *data, int *all_have_records)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi deps, meta;
	MDB_cursor *cur;
	MDB_val k, v, mk = {6, "schema"}, mv;
	uint64_t s = 0;

	*all_have_records = 1;
	cr_assert_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	cr_assert_eq(mdb_env_open(env, data, MDB_RDONLY, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "deps", MDB_DUPSORT, &deps), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	cr_assert_eq(mdb_get(txn, meta, &mk, &mv), 0);
	for (size_t i = 0; i < mv.mv_size; i++)
		s = s << 8 | ((const uint8_t *)mv.mv_data)[i];
	cr_assert_eq(mdb_cursor_open(txn, deps, &cur), 0);
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const char *nul = memchr(v.mv_data, '\0', v.mv_size);
		if (nul == NULL || v.mv_size <= (size_t)(nul -
		    (const char *)v.mv_data) + 3)
			*all_have_records = 0;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return s;
}

static void
restart_and_reconnect(void)
{
	struct domino_opts o = {0};

	domino_close(d);
	d = NULL;
	cr_assert_eq(h_broker_restart(&b), 0, "dominod did not start again");
	o.control = b.control;
	o.token = b.token;
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
}

Test(graph, a_schema_1_store_is_upgraded_and_matches_the_same)
{
	struct reply r;
	uint64_t seq;
	int all = 0;

	reg_admin("B", "[\"" RA "\"]", RB, 1);
	reg_admin("C", "[{\"repo\": \"" RB "\", \"ref\": \"main\"}]", RC, 2);
	reg_admin("G", "[{\"repo\": \"github.com/org/*\", \"types\": "
	    "[\"tag\"]}]", NULL, 0);
	cr_assert_eq(h_broker_stop(&b), 0);
	cr_assert_eq(store_schema_of(b.data, &all), 2);
	cr_assert(all, "a new store's index carries match records");
	cr_assert_eq(store_as_schema(b.data, 1, 1), 3);

	restart_and_reconnect();
	seq = publish(RA, "main");
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"from\": %llu}",
	    b.token, (unsigned long long)seq);
	expect_ok(&r);
	{
		const msgpack_object *a = dl_array(&r);
		const char *vb[] = {RA}, *vc[] = {RA, RB};
		/* G's type filter applies only to a direct match; through B's
		 * b, its glob reaches it. */
		cr_assert_eq(a->via.array.size, 3, "%s", r.text);
		check_delivery(&a->via.array.ptr[0], "B", seq, vb, 1, r.text);
		check_delivery(&a->via.array.ptr[1], "C", seq, vc, 2, r.text);
		check_delivery(&a->via.array.ptr[2], "G", seq, vc, 2, r.text);
	}
	reply_free(&r);
	/* The filters came through the upgrade: C's ref and G's type, on
	 * their direct matches. */
	seq = publish(RB, "dev");
	callf(&r, "{\"op\": \"deliveries\", \"token\": \"%s\", \"from\": %llu}",
	    b.token, (unsigned long long)seq);
	expect_ok(&r);
	cr_assert_eq(dl_array(&r)->via.array.size, 0, "%s", r.text);
	reply_free(&r);
	cr_assert_eq(h_broker_stop(&b), 0);
	cr_assert_eq(store_schema_of(b.data, &all), 2, "upgraded");
	cr_assert(all, "every entry rewritten with its record");

	/* A store from a newer dominod is refused, and left as it was. */
	store_as_schema(b.data, 3, 0);
	cr_assert_neq(h_broker_restart(&b), 0, "dominod opened a newer store");
	cr_assert_eq(store_schema_of(b.data, &all), 3);
}
