/* SPDX-License-Identifier: MIT */
/*
 * The nng callback plugin: send the msgpack event (the wire format of
 * proto/README.md) to the listener's rep0 socket with a fresh req0 socket,
 * and let the reply decide. A reply is a msgpack map {result: "ok" |
 * "retry" | "fail" | "gone", detail: str}, or text starting with one of
 * those words; an empty reply is ok. No connection or no reply within the
 * timeout is a retry.
 *
 * It does not keep sockets between attempts (simple and always correct
 * after the peer restarts), and never resends a request by itself: the
 * delivery engine owns retries.
 */
#include <ctype.h>
#include <msgpack.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "err.h"
#include "event.h"
#include "msg.h"
#include "pconf.h"
#include "plugin.h"

#define NNG_TIMEOUT_DEFAULT_MS 5000
#define NNG_TIMEOUT_MAX_MS (5u * 60 * 1000)
#define NNG_ADDRESS_MAX 1024
/* Largest reply read. */
#define NNG_REPLY_MAX (64 * 1024)

static const struct plugin_key nng_keys[] = {
	{"address", 1, 0, "nng URL the listener serves with a rep0 socket (tcp://, ipc://, ws://, ...)"},
	{"timeout", 0, 0, "like 5s (default 5s): connect, send and reply together"},
	{NULL, 0, 0, NULL},
};

static int
nng_validate(const msgpack_object *cfg, char *err, size_t errlen)
{
	struct pstr s;
	nng_url *u = NULL;
	char *addr = NULL;
	uint64_t ms;
	int r, rv = -1;

	r = pconf_str(cfg, "address", &s);
	if (r == 0)
		return pconf_fail(err, errlen, "address", "required");
	if (r < 0 || s.n == 0 || s.n > NNG_ADDRESS_MAX || pstr_has_nul(s))
		return pconf_fail(err, errlen, "address", "must be an nng URL "
		    "of at most %d bytes, like tcp://host:port", NNG_ADDRESS_MAX);
	addr = strndup(s.p, s.n);
	if (addr == NULL)
		return pconf_fail(err, errlen, "address", "out of memory");
	if (nng_url_parse(&u, addr) != 0 || u->u_scheme == NULL ||
	    u->u_scheme[0] == '\0') {
		pconf_fail(err, errlen, "address", "'%.100s' is not an nng URL "
		    "(like tcp://host:port or ipc:///path)", addr);
		goto out;
	}
	if (pconf_duration_ms(cfg, "timeout", NNG_TIMEOUT_DEFAULT_MS,
	    NNG_TIMEOUT_MAX_MS, &ms, err, errlen) != 0)
		goto out;
	rv = 0;
out:
	if (u != NULL)
		nng_url_free(u);
	free(addr);
	return rv;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy text for history: control bytes become spaces. */
static void
put_text(char *dst, size_t cap, const char *prefix, const char *s, size_t n)
{
	size_t k;

	snprintf(dst, cap, "%s", prefix);
	k = strlen(dst);
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[k++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	dst[k] = '\0';
}

/* The outcome word at the start of s (n bytes), or -1. */
static int
outcome_word(const char *s, size_t n)
{
	static const struct {
		const char *w;
		enum plugin_outcome o;
	} words[] = {
		{"ok", PLUGIN_OK}, {"retry", PLUGIN_RETRY},
		{"fail", PLUGIN_FAIL}, {"gone", PLUGIN_GONE},
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t wl = strlen(words[i].w);
		if (n >= wl && strncasecmp(s, words[i].w, wl) == 0 &&
		    (n == wl || !isalnum((unsigned char)s[wl])))
			return (int)words[i].o;
	}
	return -1;
}

/* Decide from the reply bytes. */
static void
judge_reply(const char *buf, size_t len, struct plugin_result *res)
{
	msgpack_unpacked u;
	struct pstr r, d;
	size_t i = 0;
	int o;

	if (len == 0) {
		res->outcome = PLUGIN_OK;
		snprintf(res->detail, sizeof(res->detail), "empty reply");
		return;
	}
	if (msg_unpack(buf, len, &u) == DOMINO_OK) {
		o = -1;
		if (pconf_str(&u.data, "result", &r) == 1 && r.n <= 5)
			o = outcome_word(r.p, r.n);
		if (o < 0) {
			res->outcome = PLUGIN_FAIL;
			snprintf(res->detail, sizeof(res->detail), "reply map "
			    "without result: ok, retry, fail or gone");
		} else {
			res->outcome = (enum plugin_outcome)o;
			if (pconf_str(&u.data, "detail", &d) == 1)
				put_text(res->detail, sizeof(res->detail), "",
				    d.p, d.n);
			else
				put_text(res->detail, sizeof(res->detail), "",
				    r.p, r.n);
		}
		msgpack_unpacked_destroy(&u);
		return;
	}
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	o = outcome_word(buf + i, len - i);
	if (o < 0) {
		res->outcome = PLUGIN_FAIL;
		put_text(res->detail, sizeof(res->detail), "unrecognized reply "
		    "(want ok, retry or fail): ", buf, len);
		return;
	}
	res->outcome = (enum plugin_outcome)o;
	put_text(res->detail, sizeof(res->detail), "", buf + i, len - i);
}

static void
nng_deliver(const struct plugin_job *job, struct plugin_result *res)
{
	struct domino_event ev = *job->ev;
	nng_socket s = NNG_SOCKET_INITIALIZER;
	int opened = 0, rv;
	char *addr = NULL, *msg = NULL, *reply = NULL;
	size_t len = 0, rlen = 0;
	uint64_t timeout_ms;
	int64_t deadline, left;

	res->outcome = PLUGIN_FAIL;
	res->status = -1;
	res->retry_after_ms = -1;
	res->detail[0] = '\0';
	addr = pconf_strdup(job->config, "address");
	if (addr == NULL) {
		snprintf(res->detail, sizeof(res->detail),
		    "callback.config.address: missing or not a string");
		goto out;
	}
	if (pconf_duration_ms(job->config, "timeout", NNG_TIMEOUT_DEFAULT_MS,
	    NNG_TIMEOUT_MAX_MS, &timeout_ms, res->detail,
	    sizeof(res->detail)) != 0)
		goto out;
	deadline = now_ms() + (int64_t)timeout_ms;
	/* The job's via chain is what this listener should see. The copy
	 * only borrows the event's members; encode does not change them. */
	if (job->n_via > 0 && job->via != NULL) {
		ev.via = (char **)(uintptr_t)job->via;
		ev.n_via = job->n_via;
	}
	rv = domino_event_encode(&ev, &msg, &len);
	if (rv != DOMINO_OK) {
		snprintf(res->detail, sizeof(res->detail), "cannot encode the "
		    "event: %s", domino_strerror(rv));
		res->outcome = rv == DOMINO_ENOMEM ? PLUGIN_RETRY : PLUGIN_FAIL;
		goto out;
	}

	res->outcome = PLUGIN_RETRY;
	rv = nng_req0_open(&s);
	if (rv != 0) {
		snprintf(res->detail, sizeof(res->detail), "nng_req0_open: %s",
		    nng_strerror(rv));
		goto out;
	}
	opened = 1;
	(void)nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	(void)nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 50);
	(void)nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 500);
	(void)nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, NNG_REPLY_MAX);
	/* Non-blocking: a dial that hangs (a black-holed TCP address) must
	 * not outlive the timeout; the send below waits for the connection. */
	rv = nng_dial(s, addr, NULL, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		snprintf(res->detail, sizeof(res->detail), "dial %.200s: %s",
		    addr, nng_strerror(rv));
		if (rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP)
			res->outcome = PLUGIN_FAIL;
		goto out;
	}
	left = deadline - now_ms();
	(void)nng_socket_set_ms(s, NNG_OPT_SENDTIMEO,
	    (nng_duration)(left > 0 ? left : 1));
	rv = nng_send(s, msg, len, 0);
	if (rv != 0) {
		snprintf(res->detail, sizeof(res->detail), "%s %.200s: %s",
		    rv == NNG_ETIMEDOUT ? "no connection to" : "send to",
		    addr, rv == NNG_ETIMEDOUT ? "timed out" : nng_strerror(rv));
		goto out;
	}
	left = deadline - now_ms();
	(void)nng_socket_set_ms(s, NNG_OPT_RECVTIMEO,
	    (nng_duration)(left > 0 ? left : 1));
	rv = nng_recv(s, &reply, &rlen, NNG_FLAG_ALLOC);
	if (rv != 0) {
		reply = NULL;
		snprintf(res->detail, sizeof(res->detail), "%s %.200s: %s",
		    rv == NNG_ETIMEDOUT ? "no reply from" : "receive from",
		    addr, rv == NNG_ETIMEDOUT ? "timed out" : nng_strerror(rv));
		goto out;
	}
	judge_reply(reply, rlen, res);
out:
	if (reply != NULL)
		nng_free(reply, rlen);
	if (opened)
		nng_close(s);
	free(msg);
	free(addr);
}

const struct plugin_desc plugin_nng = {
	.name = "nng",
	.summary = "send the msgpack event to an nng rep0 address",
	.keys = nng_keys,
	.validate = nng_validate,
	.deliver = nng_deliver,
};
