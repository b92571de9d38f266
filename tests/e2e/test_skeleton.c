/* SPDX-License-Identifier: MIT */
/*
 * The walking skeleton end to end: the real dominod on loopback, signed
 * GitHub webhooks over HTTP, live events through libdomino and the CLI,
 * dedupe, every kind of bad input, and the log across restarts and a crash.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"

#define FAST_CONFIG "heartbeat: 100ms\n"

static struct broker b;
static char secret[256];

static void
setup(void)
{
	cr_assert_eq(h_broker_start(&b, FAST_CONFIG), 0, "dominod did not start");
	cr_assert_eq(h_source_secret(&b, "github", secret, sizeof(secret)), 0,
	    "domino secret github failed");
	cr_assert_gt(strlen(secret), 16);
}

static void
teardown(void)
{
	h_broker_cleanup(&b);
}

TestSuite(skeleton, .init = setup, .fini = teardown, .timeout = 120);

static long
seq_of(const char *resp)
{
	const char *p = resp ? strstr(resp, "\"seq\":") : NULL;
	return p ? strtol(p + 6, NULL, 10) : -1;
}

Test(skeleton, push_is_acknowledged_with_seq_after_commit)
{
	char *resp = NULL;
	long st = h_post_github(&b, secret, "github/push.json", "push",
	    "d-1", &resp);

	cr_assert_eq(st, 202, "status %ld body %s", st, resp);
	cr_assert_eq(seq_of(resp), 1, "body %s", resp);
	cr_assert(strstr(resp, "\"id\":\"d-1\"") != NULL, "body %s", resp);
	free(resp);
	st = h_post_github(&b, secret, "github/push-tag.json", "push", "d-2",
	    &resp);
	cr_assert_eq(st, 202);
	cr_assert_eq(seq_of(resp), 2);
	free(resp);
}

Test(skeleton, redelivery_is_answered_200_with_first_seq)
{
	char *resp = NULL;
	char *out = NULL;
	const char *argv[] = {"log", "--json", NULL};

	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push",
	    "same", NULL), 202);
	cr_assert_eq(h_post_github(&b, secret, "github/ping.json", "ping",
	    "other", NULL), 202);
	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push",
	    "same", &resp), 200);
	cr_assert_eq(seq_of(resp), 1, "body %s", resp);
	cr_assert(strstr(resp, "duplicate") != NULL);
	free(resp);
	cr_assert_eq(h_cli(&b, argv, &out), 0);
	/* Two events stored, not three. */
	{
		int lines = 0;
		for (char *p = out; *p; p++)
			lines += *p == '\n';
		cr_assert_eq(lines, 2, "log: %s", out);
	}
	free(out);
}

struct seen {
	pthread_mutex_t mu;
	int n;
	char repo[256], ref[256], type[64];
	uint64_t seq;
};

static int
on_event(void *arg, const struct domino_event *ev)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->mu);
	s->n++;
	s->seq = ev->seq;
	snprintf(s->repo, sizeof(s->repo), "%s", ev->repo ? ev->repo : "");
	snprintf(s->ref, sizeof(s->ref), "%s", ev->ref ? ev->ref : "");
	snprintf(s->type, sizeof(s->type), "%s", ev->type ? ev->type : "");
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int
wait_seen(struct seen *s, int n)
{
	for (int i = 0; i < 100; i++) {
		int got;
		pthread_mutex_lock(&s->mu);
		got = s->n;
		pthread_mutex_unlock(&s->mu);
		if (got >= n)
			return got;
		usleep(50000);
	}
	return s->n;
}

Test(skeleton, live_events_reach_a_libdomino_subscriber_with_filter)
{
	struct domino_opts o = {.control = b.control, .token = b.token};
	struct seen all = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct seen main_only = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct domino_sub_opts so = {.on_event = on_event, .arg = &all,
	    .heartbeat_ms = 100};
	struct domino_sub_opts fo = {.on_event = on_event, .arg = &main_only,
	    .heartbeat_ms = 100,
	    .filter = "github.com/bradrydzewski/*@refs/tags/*"};
	domino *d;
	domino_sub *s1, *s2;

	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
	cr_assert_eq(domino_subscribe(d, &so, &s1), DOMINO_OK, "%s", domino_errmsg());
	cr_assert_eq(domino_subscribe(d, &fo, &s2), DOMINO_OK, "%s", domino_errmsg());
	cr_assert_eq(domino_sub_wait_ready(s1, 10000), DOMINO_OK);
	cr_assert_eq(domino_sub_wait_ready(s2, 10000), DOMINO_OK);

	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push",
	    "live-1", NULL), 202);
	cr_assert_eq(h_post_github(&b, secret, "github/push-tag.json", "push",
	    "live-2", NULL), 202);
	cr_assert_eq(wait_seen(&all, 2), 2);
	cr_assert_eq(all.seq, 2);
	cr_assert_eq(wait_seen(&main_only, 1), 1);
	usleep(300000);
	cr_assert_eq(main_only.n, 1, "the filter let a branch push through");
	cr_assert_str_eq(main_only.ref, "refs/tags/v0.0.1");
	cr_assert_str_eq(main_only.type, "tag");
	domino_unsubscribe(s1);
	domino_unsubscribe(s2);
	domino_close(d);
}

Test(skeleton, cli_tail_prints_live_events)
{
	char cmd[1024], line[4096] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd),
	    "DOMINO_CONTROL='%s' DOMINO_TOKEN='%s' timeout 30 %s tail --json --count 1",
	    b.control, b.token, h_bin("domino"));
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	/* tail waits for the link before reading; give it a moment, then post
	 * until it has printed (a post before its link is up is not seen). */
	for (int i = 0; i < 50; i++) {
		char id[32];
		snprintf(id, sizeof(id), "tail-%d", i);
		usleep(200000);
		cr_assert_eq(h_post_github(&b, secret, "github/push.json",
		    "push", id, NULL), 202);
		if (fgets(line, sizeof(line), p) != NULL)
			break;
	}
	cr_assert_eq(pclose(p), 0);
	cr_assert(strstr(line, "\"repo\"") != NULL, "line: %s", line);
	cr_assert(strstr(line, "refs/heads/") != NULL, "line: %s", line);
}

Test(skeleton, log_survives_restart_and_sequence_continues)
{
	const char *argv[] = {"log", NULL};
	char *out = NULL, *resp = NULL;

	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push", "r-1", NULL), 202);
	cr_assert_eq(h_post_github(&b, secret, "github/push-tag.json", "push", "r-2", NULL), 202);
	cr_assert_eq(h_broker_stop(&b), 0, "dominod did not exit 0 on SIGTERM");
	cr_assert_eq(h_broker_restart(&b), 0);
	cr_assert_eq(h_cli(&b, argv, &out), 0);
	cr_assert(strstr(out, "refs/heads/") != NULL, "log: %s", out);
	cr_assert(strstr(out, "refs/tags/v0.0.1") != NULL, "log: %s", out);
	free(out);
	cr_assert_eq(h_post_github(&b, secret, "github/ping.json", "ping", "r-3", &resp), 202);
	cr_assert_eq(seq_of(resp), 3, "body %s", resp);
	free(resp);
	/* A redelivery after the restart is still recognised. */
	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push", "r-1", &resp), 200);
	cr_assert_eq(seq_of(resp), 1);
	free(resp);
}

static int
count_cb(void *arg, const struct domino_event *ev)
{
	(void)ev;
	(*(int *)arg)++;
	return 0;
}

Test(skeleton, acknowledged_events_survive_sigkill)
{
	struct domino_opts o = {0};
	domino *d;
	int n = 0;

	for (int i = 0; i < 20; i++) {
		char id[32];
		snprintf(id, sizeof(id), "k-%d", i);
		cr_assert_eq(h_post_github(&b, secret, "github/push.json",
		    "push", id, NULL), 202);
	}
	h_broker_kill(&b);
	cr_assert_eq(h_broker_restart(&b), 0);
	o.control = b.control;
	o.token = b.token;
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK);
	cr_assert_eq(domino_log(d, NULL, count_cb, &n, NULL), DOMINO_OK, "%s",
	    domino_errmsg());
	cr_assert_eq(n, 20);
	domino_close(d);
}

static void
expect_error(long st, long want, const char *resp, const char *code)
{
	cr_assert_eq(st, want, "status %ld, body %s", st, resp);
	cr_assert(resp != NULL && strstr(resp, "\"error\"") != NULL, "body %s", resp);
	if (code != NULL)
		cr_assert(strstr(resp, code) != NULL, "want code %s in %s", code, resp);
}

Test(skeleton, bad_input_gets_precise_answers_and_stores_nothing)
{
	char url[512], *resp = NULL, sig[128], hmac[65];
	const char *body = "{\"zen\":\"x\"}";
	struct domino_opts o = {.control = b.control, .token = b.token};
	struct domino_stats ss;
	domino *d;
	long st;

	snprintf(url, sizeof(url), "%s/hooks/github", b.http);
	{ /* wrong signature */
		const char *h[] = {"Content-Type: application/json",
		    "X-GitHub-Event: ping", "X-GitHub-Delivery: bad-1",
		    "X-Hub-Signature-256: sha256=0000000000000000000000000000000000000000000000000000000000000000",
		    NULL};
		st = h_post(url, h, body, strlen(body), &resp);
		expect_error(st, 401, resp, NULL);
		free(resp);
	}
	{ /* missing signature */
		const char *h[] = {"Content-Type: application/json",
		    "X-GitHub-Event: ping", NULL};
		st = h_post(url, h, body, strlen(body), &resp);
		expect_error(st, 401, resp, NULL);
		free(resp);
	}
	{ /* not JSON */
		const char *bad = "hello";
		const char *h[4] = {"Content-Type: text/plain", "X-GitHub-Event: ping", sig, NULL};
		h_hmac_hex(secret, bad, strlen(bad), hmac);
		snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hmac);
		st = h_post(url, h, bad, strlen(bad), &resp);
		expect_error(st, 415, resp, NULL);
		free(resp);
	}
	{ /* malformed JSON */
		const char *bad = "{\"zen\": ";
		const char *h[4] = {"Content-Type: application/json", "X-GitHub-Event: ping", sig, NULL};
		h_hmac_hex(secret, bad, strlen(bad), hmac);
		snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hmac);
		st = h_post(url, h, bad, strlen(bad), &resp);
		expect_error(st, 400, resp, NULL);
		free(resp);
	}
	{ /* a push without what a push needs */
		const char *bad = "{\"ref\": \"refs/heads/main\"}";
		const char *h[4] = {"Content-Type: application/json", "X-GitHub-Event: push", sig, NULL};
		h_hmac_hex(secret, bad, strlen(bad), hmac);
		snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hmac);
		st = h_post(url, h, bad, strlen(bad), &resp);
		expect_error(st, 422, resp, NULL);
		free(resp);
	}
	{ /* over the size limit: refused from the header alone */
		const char *h[] = {"Content-Type: application/json",
		    "X-GitHub-Event: push", "Content-Length: 999999999999", NULL};
		st = h_post(url, h, "{}", 2, &resp);
		expect_error(st, 413, resp, "too_large");
		free(resp);
	}
	{ /* unknown source */
		char u2[512];
		snprintf(u2, sizeof(u2), "%s/hooks/nosuchforge", b.http);
		st = h_post(u2, NULL, body, strlen(body), &resp);
		expect_error(st, 404, resp, NULL);
		free(resp);
	}
	{ /* wrong method */
		st = h_request(&b, "GET", "/hooks/github", NULL, NULL, 0, &resp);
		expect_error(st, 405, resp, NULL);
		free(resp);
	}
	/* Nothing was stored, and the broker still serves. */
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK);
	cr_assert_eq(domino_stats(d, &ss), DOMINO_OK, "%s", domino_errmsg());
	cr_assert_eq(ss.events, 0);
	domino_stats_clear(&ss);
	domino_close(d);
	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push",
	    "after-bad", NULL), 202);
}

static int
raw_control(struct broker *br, const void *msg, size_t len, char *reply,
    size_t cap)
{
	nng_socket s;
	char *buf = NULL;
	size_t n = 0;
	int rv;

	if ((rv = nng_req0_open(&s)) != 0)
		return rv;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
	if ((rv = nng_dial(s, br->control, NULL, 0)) == 0 &&
	    (rv = nng_send(s, (void *)msg, len, 0)) == 0 &&
	    (rv = nng_recv(s, &buf, &n, NNG_FLAG_ALLOC)) == 0) {
		size_t m = n < cap - 1 ? n : cap - 1;
		for (size_t i = 0; i < m; i++) /* keep strings searchable */
			reply[i] = buf[i] ? buf[i] : ' ';
		reply[m] = '\0';
		nng_free(buf, n);
	}
	nng_close(s);
	return rv;
}

Test(skeleton, control_rejects_malformed_msgpack_without_crashing)
{
	/* array32 claiming 4 billion elements in 5 bytes */
	const unsigned char huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
	/* a map nested 100 deep */
	unsigned char deep[101];
	const unsigned char garbage[] = {0xc1, 0x00, 0x13};
	char reply[1024];

	memset(deep, 0x81, 100);
	deep[100] = 0xc0;
	cr_assert_eq(raw_control(&b, huge, sizeof(huge), reply, sizeof(reply)), 0);
	cr_assert(strstr(reply, "invalid") != NULL, "reply: %s", reply);
	cr_assert_eq(raw_control(&b, deep, sizeof(deep), reply, sizeof(reply)), 0);
	cr_assert(strstr(reply, "invalid") != NULL, "reply: %s", reply);
	cr_assert_eq(raw_control(&b, garbage, sizeof(garbage), reply, sizeof(reply)), 0);
	cr_assert(strstr(reply, "invalid") != NULL, "reply: %s", reply);
	{ /* a good request with a wrong token */
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 2);
		msgpack_pack_str_with_body(&pk, "op", 2);
		msgpack_pack_str_with_body(&pk, "stats", 5);
		msgpack_pack_str_with_body(&pk, "token", 5);
		msgpack_pack_str_with_body(&pk, "nope", 4);
		cr_assert_eq(raw_control(&b, sb.data, sb.size, reply, sizeof(reply)), 0);
		cr_assert(strstr(reply, "unauthorized") != NULL, "reply: %s", reply);
		msgpack_sbuffer_destroy(&sb);
	}
	/* Still serving. */
	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push",
	    "after-garbage", NULL), 202);
}
