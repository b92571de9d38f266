/* SPDX-License-Identifier: MIT */
/*
 * The delivery engine end to end: the real dominod, listeners registered
 * over the control socket, events published, and real receivers on
 * loopback (an HTTP server in a thread, a file, commands run by exec).
 * Checks retries with history, signatures, 410, manual retry/resolve,
 * report/results, and that a SIGKILL loses nothing.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"
#include "receiver.h"

static struct broker b;
static domino *d;
static int reg_coalesce; /* the next reg() asks for coalescing */

static void
connect_client(void)
{
	struct domino_opts o = {.control = b.control, .token = b.token};
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
}

static void
setup(void)
{
	cr_assert_eq(h_broker_start(&b, "heartbeat: 100ms\n"), 0);
	connect_client();
}

static void
teardown(void)
{
	domino_close(d);
	h_broker_cleanup(&b);
}

TestSuite(deliver, .init = setup, .fini = teardown, .timeout = 120);

static void
kstr(msgpack_packer *pk, const char *k, const char *v)
{
	msgpack_pack_str_with_body(pk, k, strlen(k));
	msgpack_pack_str_with_body(pk, v, strlen(v));
}

static void
key(msgpack_packer *pk, const char *k)
{
	msgpack_pack_str_with_body(pk, k, strlen(k));
}

/* Send the request in sb; the reply is unpacked into *u (destroy it). */
static int
call(msgpack_sbuffer *sb, msgpack_unpacked *u, char **buf)
{
	void *reply = NULL;
	size_t rlen = 0, off = 0;
	const msgpack_object *ok;

	cr_assert_eq(domino_call(d, sb->data, sb->size, &reply, &rlen), DOMINO_OK,
	    "%s", domino_errmsg());
	msgpack_sbuffer_destroy(sb);
	msgpack_unpacked_init(u);
	cr_assert_eq(msgpack_unpack_next(u, reply, rlen, &off), MSGPACK_UNPACK_SUCCESS);
	*buf = reply;
	for (uint32_t i = 0; i < u->data.via.map.size; i++) {
		ok = &u->data.via.map.ptr[i].val;
		if (u->data.via.map.ptr[i].key.via.str.size == 2 &&
		    memcmp(u->data.via.map.ptr[i].key.via.str.ptr, "ok", 2) == 0)
			return ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
	}
	return 0;
}

static const msgpack_object *
get(const msgpack_object *m, const char *k)
{
	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++)
		if (m->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR &&
		    m->via.map.ptr[i].key.via.str.size == strlen(k) &&
		    memcmp(m->via.map.ptr[i].key.via.str.ptr, k, strlen(k)) == 0)
			return &m->via.map.ptr[i].val;
	return NULL;
}

static int
str_is(const msgpack_object *o, const char *s)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(s) && memcmp(o->via.str.ptr, s, strlen(s)) == 0;
}

static void
begin(msgpack_sbuffer *sb, msgpack_packer *pk, const char *op, size_t nargs)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(pk, 2 + nargs);
	kstr(pk, "op", op);
	kstr(pk, "token", b.token);
}

/*
 * Register name depending on repo with plugin and a config given as
 * key/value string pairs (NULL-terminated); retry schedule of 150 ms
 * steps, max_attempts attempts. Returns the listener token (static).
 */
static const char *
reg(const char *name, const char *repo, const char *plugin,
    const char *const *cfg, const char *args_list, int max_attempts)
{
	static char token[128];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	char *buf;
	size_t n = 0;

	for (; cfg[n] != NULL; n += 2)
		;
	begin(&sb, &pk, "register", 1);
	key(&pk, "listener");
	msgpack_pack_map(&pk, 4 + (reg_coalesce != 0));
	if (reg_coalesce) {
		key(&pk, "coalesce");
		msgpack_pack_true(&pk);
		reg_coalesce = 0;
	}
	kstr(&pk, "name", name);
	key(&pk, "depends_on");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str_with_body(&pk, repo, strlen(repo));
	key(&pk, "callback");
	msgpack_pack_map(&pk, 2);
	kstr(&pk, "plugin", plugin);
	key(&pk, "config");
	msgpack_pack_map(&pk, n / 2 + (args_list != NULL));
	for (size_t i = 0; i < n; i += 2)
		kstr(&pk, cfg[i], cfg[i + 1]);
	if (args_list != NULL) {
		key(&pk, "args");
		msgpack_pack_array(&pk, 2);
		msgpack_pack_str_with_body(&pk, "-c", 2);
		msgpack_pack_str_with_body(&pk, args_list, strlen(args_list));
	}
	key(&pk, "retry");
	msgpack_pack_map(&pk, 2);
	key(&pk, "schedule");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_str_with_body(&pk, "0s", 2);
	msgpack_pack_str_with_body(&pk, "150ms", 5);
	key(&pk, "max_attempts");
	msgpack_pack_uint32(&pk, (uint32_t)max_attempts);
	cr_assert(call(&sb, &u, &buf), "register %s failed", name);
	{
		const msgpack_object *t = get(&u.data, "token");
		cr_assert_not_null(t);
		snprintf(token, sizeof(token), "%.*s", (int)t->via.str.size, t->via.str.ptr);
	}
	msgpack_unpacked_destroy(&u);
	free(buf);
	return token;
}

static uint64_t
publish(const char *repo, const char *ref)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	char *buf;
	uint64_t seq;

	begin(&sb, &pk, "publish", 3);
	kstr(&pk, "repo", repo);
	kstr(&pk, "ref", ref);
	kstr(&pk, "after", "0123456789abcdef0123456789abcdef01234567");
	cr_assert(call(&sb, &u, &buf));
	seq = get(&u.data, "seq")->via.u64;
	msgpack_unpacked_destroy(&u);
	free(buf);
	return seq;
}

/* State of delivery (listener, seq) and its history length; polls until
 * the state is want (or 15 s passed). */
static int
wait_state(const char *listener, uint64_t seq, const char *want,
    char *state, size_t cap, uint32_t *nhist)
{
	for (int i = 0; i < 300; i++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_unpacked u;
		char *buf;
		const msgpack_object *dl, *st, *h;

		begin(&sb, &pk, "deliveries", 3);
		kstr(&pk, "listener", listener);
		key(&pk, "seq");
		msgpack_pack_uint64(&pk, seq);
		key(&pk, "history");
		msgpack_pack_true(&pk);
		cr_assert(call(&sb, &u, &buf));
		dl = get(&u.data, "deliveries");
		state[0] = '\0';
		*nhist = 0;
		if (dl != NULL && dl->via.array.size == 1) {
			st = get(&dl->via.array.ptr[0], "state");
			h = get(&dl->via.array.ptr[0], "history");
			snprintf(state, cap, "%.*s", (int)st->via.str.size, st->via.str.ptr);
			*nhist = h ? h->via.array.size : 0;
		}
		msgpack_unpacked_destroy(&u);
		free(buf);
		if (strcmp(state, want) == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

static void
sig_v1(const char *secret, const char *id, const char *ts, const char *body,
    size_t len, char *out, size_t cap)
{
	unsigned char mac[32];
	unsigned int ml = sizeof(mac);
	size_t ml2 = strlen(id) + strlen(ts) + len + 2;
	char *msg = malloc(ml2 + 1);

	snprintf(msg, ml2 + 1, "%s.%s.", id, ts);
	memcpy(msg + strlen(id) + strlen(ts) + 2, body, len);
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, ml2,
	    mac, &ml);
	free(msg);
	strcpy(out, "v1,");
	sodium_bin2base64(out + 3, cap - 3, mac, ml, sodium_base64_VARIANT_ORIGINAL);
}

Test(deliver, http_fails_twice_then_succeeds_with_history_and_signature)
{
	const int script[] = {500, 500, 200};
	int port;
	struct receiver *r = receiver_start(script, 3, &port);
	char url[128], state[32], v[256], id[128], ts[64], want[128], want_id[64];
	uint32_t nh;
	uint64_t seq;
	struct received q;

	cr_assert_not_null(r);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	{
		const char *cfg[] = {"url", url, "secret", "s3cret-for-tests", NULL};
		reg("ci", "github.com/acme/core", "http", cfg, NULL, 5);
	}
	seq = publish("github.com/acme/core", "main");
	cr_assert_eq(receiver_wait(r, 3, 15000), 3);
	cr_assert_eq(wait_state("ci", seq, "ok", state, sizeof(state), &nh), 0,
	    "state %s", state);
	cr_assert_eq(nh, 3, "history has %u entries", nh);
	/* The last request carries a valid Standard Webhooks signature, and
	 * its id is the same as the first attempt's. */
	cr_assert_eq(receiver_get(r, 2, &q), 0);
	cr_assert_eq(received_header(&q, "webhook-id", id, sizeof(id)), 0);
	snprintf(want_id, sizeof(want_id), "ci-%llu", (unsigned long long)seq);
	cr_assert_str_eq(id, want_id);
	cr_assert_eq(received_header(&q, "webhook-timestamp", ts, sizeof(ts)), 0);
	cr_assert_eq(received_header(&q, "webhook-signature", v, sizeof(v)), 0);
	sig_v1("s3cret-for-tests", id, ts, q.body, q.len, want, sizeof(want));
	cr_assert(strstr(v, want) != NULL, "signature %s, want %s", v, want);
	cr_assert(strstr(q.body, "github.com/acme/core") != NULL, "body %s", q.body);
	free(q.body);
	receiver_stop(r);
}

Test(deliver, gone_disables_the_listener)
{
	const int script[] = {410};
	int port;
	struct receiver *r = receiver_start(script, 1, &port);
	char url[128], state[32];
	uint32_t nh;
	uint64_t seq;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	char *buf;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	{
		const char *cfg[] = {"url", url, NULL};
		reg("gone", "github.com/acme/core", "http", cfg, NULL, 5);
	}
	seq = publish("github.com/acme/core", "main");
	cr_assert_eq(wait_state("gone", seq, "dead", state, sizeof(state), &nh), 0,
	    "state %s", state);
	begin(&sb, &pk, "listener", 1);
	kstr(&pk, "name", "gone");
	cr_assert(call(&sb, &u, &buf));
	cr_assert_eq(get(get(&u.data, "listener"), "disabled")->via.boolean, 1);
	msgpack_unpacked_destroy(&u);
	free(buf);
	receiver_stop(r);
}

Test(deliver, file_and_exec_plugins)
{
	char path[512], script[700], state[32];
	uint32_t nh;
	uint64_t s1, s2;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/out.jsonl", b.dir);
	{
		const char *cfg[] = {"path", path, NULL};
		reg("audit", "github.com/acme/*", "file", cfg, NULL, 3);
	}
	snprintf(script, sizeof(script), "cat > %s/exec-$DOMINO_SEQ.json; "
	    "test \"$DOMINO_REPO\" = github.com/acme/lib", b.dir);
	{
		const char *cfg[] = {"command", "/bin/sh", NULL};
		reg("runner", "github.com/acme/lib", "exec", cfg, script, 3);
	}
	{
		const char *cfg[] = {"command", "/bin/sh", NULL};
		reg("broken", "github.com/acme/lib", "exec", cfg, "exit 3", 3);
	}
	s1 = publish("github.com/acme/core", "main");
	s2 = publish("github.com/acme/lib", "refs/tags/v1");
	cr_assert_eq(wait_state("audit", s1, "ok", state, sizeof(state), &nh), 0, "%s", state);
	cr_assert_eq(wait_state("audit", s2, "ok", state, sizeof(state), &nh), 0, "%s", state);
	cr_assert_eq(wait_state("runner", s2, "ok", state, sizeof(state), &nh), 0, "%s", state);
	/* exit 3 is a permanent failure: dead after one attempt. */
	cr_assert_eq(wait_state("broken", s2, "dead", state, sizeof(state), &nh), 0, "%s", state);
	cr_assert_eq(nh, 1);
	text = h_read_file(path, &len);
	cr_assert_not_null(text);
	{
		int lines = 0;
		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		cr_assert_eq(lines, 2, "file: %s", text);
	}
	free(text);
	snprintf(path, sizeof(path), "%s/exec-%llu.json", b.dir, (unsigned long long)s2);
	text = h_read_file(path, &len);
	cr_assert_not_null(text, "exec got no stdin");
	cr_assert(strstr(text, "refs/tags/v1") != NULL, "stdin: %s", text);
	free(text);
}

Test(deliver, manual_retry_resolve_and_results)
{
	char state[32];
	uint32_t nh;
	uint64_t seq;
	const char *tok;
	char token[128];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	char *buf;

	{
		const char *cfg[] = {"command", "/bin/sh", NULL};
		tok = reg("flaky", "github.com/acme/core", "exec", cfg, "exit 1", 1);
		snprintf(token, sizeof(token), "%s", tok);
	}
	seq = publish("github.com/acme/core", "main");
	cr_assert_eq(wait_state("flaky", seq, "dead", state, sizeof(state), &nh), 0);
	begin(&sb, &pk, "retry", 2);
	kstr(&pk, "listener", "flaky");
	key(&pk, "all_dead");
	msgpack_pack_true(&pk);
	cr_assert(call(&sb, &u, &buf));
	cr_assert_eq(get(&u.data, "changed")->via.u64, 1);
	msgpack_unpacked_destroy(&u);
	free(buf);
	/* Fails again: two attempts in the history now (plus the retry). */
	usleep(300000);
	cr_assert_eq(wait_state("flaky", seq, "dead", state, sizeof(state), &nh), 0);
	cr_assert_eq(nh, 3, "history %u", nh);
	begin(&sb, &pk, "resolve", 3);
	kstr(&pk, "listener", "flaky");
	key(&pk, "seq");
	msgpack_pack_uint64(&pk, seq);
	kstr(&pk, "reason", "fixed upstream by hand");
	cr_assert(call(&sb, &u, &buf));
	msgpack_unpacked_destroy(&u);
	free(buf);
	cr_assert_eq(wait_state("flaky", seq, "ok", state, sizeof(state), &nh), 0);

	/* The listener reports its CI result with its own token. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6);
	kstr(&pk, "op", "report");
	kstr(&pk, "token", token);
	kstr(&pk, "listener", "flaky");
	key(&pk, "seq");
	msgpack_pack_uint64(&pk, seq);
	kstr(&pk, "status", "pass");
	kstr(&pk, "url", "https://ci.example/run/1");
	cr_assert(call(&sb, &u, &buf), "report refused");
	msgpack_unpacked_destroy(&u);
	free(buf);

	begin(&sb, &pk, "results", 1);
	key(&pk, "seq");
	msgpack_pack_uint64(&pk, seq);
	cr_assert(call(&sb, &u, &buf));
	{
		const msgpack_object *ls = get(&u.data, "listeners");
		cr_assert_eq(ls->via.array.size, 1);
		cr_assert(str_is(get(&ls->via.array.ptr[0], "status"), "pass"));
	}
	msgpack_unpacked_destroy(&u);
	free(buf);
}

Test(deliver, sigkill_while_failing_loses_nothing_and_repeats_no_ok)
{
	/* 503 for the first 6 requests, then 200. */
	const int script[] = {503, 503, 503, 503, 503, 503, 200};
	int port, n;
	struct receiver *r = receiver_start(script, 7, &port);
	char url[128], state[32];
	uint32_t nh;
	uint64_t seqs[4];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	{
		const char *cfg[] = {"url", url, NULL};
		reg("durable", "github.com/acme/core", "http", cfg, NULL, 50);
	}
	for (int i = 0; i < 4; i++)
		seqs[i] = publish("github.com/acme/core", "main");
	receiver_wait(r, 3, 10000);
	h_broker_kill(&b);
	domino_close(d);
	cr_assert_eq(h_broker_restart(&b), 0);
	connect_client();
	for (int i = 0; i < 4; i++)
		cr_assert_eq(wait_state("durable", seqs[i], "ok", state, sizeof(state),
		    &nh), 0, "seq %llu is %s", (unsigned long long)seqs[i], state);
	/* Every event got exactly one 200 and nothing after it. */
	n = receiver_count(r);
	usleep(500000);
	cr_assert_eq(receiver_count(r), n, "requests after every delivery was ok");
	cr_assert_eq(n - 6, 4, "%d requests answered 200 for 4 events", n - 6);
	receiver_stop(r);
}

static void
simple_op(const char *op, const char *k, const char *v)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	char *buf;

	begin(&sb, &pk, op, 1);
	kstr(&pk, k, v);
	cr_assert(call(&sb, &u, &buf), "%s failed", op);
	msgpack_unpacked_destroy(&u);
	free(buf);
}

Test(deliver, coalescing_supersedes_pending_deliveries_of_the_same_ref)
{
	char path[512], state[32];
	uint32_t nh;
	uint64_t s1, s2, s3, other;

	snprintf(path, sizeof(path), "%s/coalesced.jsonl", b.dir);
	reg_coalesce = 1;
	{
		const char *cfg[] = {"path", path, NULL};
		reg("latest-only", "github.com/acme/core", "file", cfg, NULL, 3);
	}
	/* Disabled, its deliveries wait as pending: the case coalescing is for. */
	simple_op("disable", "name", "latest-only");
	s1 = publish("github.com/acme/core", "main");
	other = publish("github.com/acme/core", "dev");
	s2 = publish("github.com/acme/core", "main");
	s3 = publish("github.com/acme/core", "main");
	cr_assert_eq(wait_state("latest-only", s1, "superseded", state, sizeof(state), &nh), 0, "%s", state);
	cr_assert_eq(wait_state("latest-only", s2, "superseded", state, sizeof(state), &nh), 0, "%s", state);
	cr_assert_eq(wait_state("latest-only", s3, "pending", state, sizeof(state), &nh), 0, "%s", state);
	cr_assert_eq(wait_state("latest-only", other, "pending", state, sizeof(state), &nh), 0, "%s", state);
	simple_op("enable", "name", "latest-only");
	cr_assert_eq(wait_state("latest-only", s3, "ok", state, sizeof(state), &nh), 0, "%s", state);
	cr_assert_eq(wait_state("latest-only", other, "ok", state, sizeof(state), &nh), 0, "%s", state);
}
