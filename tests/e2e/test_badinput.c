/* SPDX-License-Identifier: MIT */
/*
 * Malformed input at volume: while one thread posts good signed webhooks,
 * others send thousands of bad requests of every kind — bad signature,
 * a body shorter than its Content-Length, wrong content type, a 64 KiB
 * header line, invalid UTF-8, JSON nested 10,000 deep, garbage instead of
 * HTTP, slowloris trickles (a byte per 100 ms) — and random bytes and
 * random msgpack on the control socket. Every good request must be
 * answered 202, the broker must still be alive at the end and exit 0 on
 * SIGTERM (under ASan/LeakSanitizer in `make test`, so a leak is a
 * failure). DOMINO_BADINPUT_ROUNDS scales the volume (torture).
 *
 * It prints one "badinput:" line of figures for tests/RELIABILITY.md.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct broker b;
static char secret[256];
static int port;
static atomic_int stop_good;
static atomic_ulong bad_sent, bad_5xx, bad_noanswer, ctl_sent;

static void
teardown(void)
{
	h_broker_cleanup(&b);
}

TestSuite(badinput, .fini = teardown, .timeout = 600);

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static int
dial(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The status of the answer, 0 when the connection closed without one,
 * -1 when none came within timeout_ms. */
static int
read_status(int fd, int timeout_ms)
{
	char buf[256];
	size_t n = 0;

	while (n < sizeof(buf) - 1) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t r;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n") != NULL)
			break;
	}
	buf[n] = '\0';
	if (strncmp(buf, "HTTP/1.", 7) != 0 || n < 12)
		return 0;
	return atoi(buf + 9);
}

/* Send one raw request; half_close shuts the write side after sending
 * (a truncated body would otherwise wait for the rest). */
static void
raw(const char *req, size_t len, int half_close)
{
	int fd = dial();
	int st;

	atomic_fetch_add(&bad_sent, 1);
	if (fd < 0) {
		atomic_fetch_add(&bad_noanswer, 1);
		return;
	}
	if (send_all(fd, req, len) == 0 && half_close)
		shutdown(fd, SHUT_WR);
	st = read_status(fd, 5000);
	if (st >= 500)
		atomic_fetch_add(&bad_5xx, 1);
	else if (st < 0)
		atomic_fetch_add(&bad_noanswer, 1);
	close(fd);
}

/* A POST to /hooks/github with the given body, headers and signature. */
static void
post(const char *ctype, const char *body, size_t len, int sign,
    const char *extra, size_t claim)
{
	char hex[65] = "00";
	size_t hcap = 1024 + (extra ? strlen(extra) : 0);
	char *head = malloc(hcap + len);
	int n;

	if (sign)
		h_hmac_hex(secret, body, len, hex);
	n = snprintf(head, hcap,
	    "POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: %s\r\nX-GitHub-Event: push\r\n"
	    "X-GitHub-Delivery: bad-%lu\r\nX-Hub-Signature-256: sha256=%s\r\n"
	    "%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    ctype, atomic_load(&bad_sent), hex, extra ? extra : "",
	    claim ? claim : len);
	memcpy(head + n, body, len);
	raw(head, (size_t)n + len, claim != 0);
	free(head);
}

static char *push_body;
static size_t push_len;

static void
bad_signature(void)
{
	post("application/json", push_body, push_len, 0, NULL, 0);
}

static void
truncated_body(void)
{
	post("application/json", push_body, push_len / 2, 1, NULL, push_len);
}

static void
wrong_content_type(void)
{
	post("text/plain", push_body, push_len, 1, NULL, 0);
}

static void
huge_header(void)
{
	size_t n = 64 * 1024;
	char *h = malloc(n + 32);

	memcpy(h, "X-Huge: ", 8);
	memset(h + 8, 'a', n);
	memcpy(h + 8 + n, "\r\n", 3);
	post("application/json", push_body, push_len, 1, h, 0);
	free(h);
}

static void
invalid_utf8(void)
{
	char *body = malloc(push_len);

	memcpy(body, push_body, push_len);
	/* Overwrite string content (inside "Hello-World") with bytes that are
	 * not UTF-8. */
	{
		char *p = strstr(body, "Hello-World");
		if (p != NULL) {
			p[0] = (char)0xff;
			p[1] = (char)0xc0;
			p[2] = (char)0x80;
			p[3] = (char)0xed;
			p[4] = (char)0xa0;
		}
	}
	post("application/json", body, push_len, 1, NULL, 0);
	free(body);
}

static void
deep_json(void)
{
	size_t depth = 10000;
	char *body = malloc(2 * depth + 1);

	memset(body, '[', depth);
	memset(body + depth, ']', depth);
	post("application/json", body, 2 * depth, 1, NULL, 0);
	free(body);
}

static void
garbage(unsigned *seed)
{
	char buf[512];
	size_t n = 1 + (size_t)rand_r(seed) % sizeof(buf);

	for (size_t i = 0; i < n; i++)
		buf[i] = (char)rand_r(seed);
	raw(buf, n, 1);
}

static void *
bad_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	const char *env = getenv("DOMINO_BADINPUT_ROUNDS");
	int rounds = env ? atoi(env) : 100;

	for (int i = 0; i < rounds; i++) {
		bad_signature();
		truncated_body();
		wrong_content_type();
		huge_header();
		invalid_utf8();
		deep_json();
		for (int k = 0; k < 4; k++)
			garbage(&seed);
	}
	return NULL;
}

/* A few connections that send their request a byte every 100 ms. */
static void *
slowloris_thread(void *arg)
{
	const char *req = "POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nX-GitHub-Event: push\r\n";
	int fds[8];
	size_t len = strlen(req);

	(void)arg;
	for (int i = 0; i < 8; i++)
		fds[i] = dial();
	atomic_fetch_add(&bad_sent, 8);
	for (size_t k = 0; k < len && k < 40; k++) {
		for (int i = 0; i < 8; i++)
			if (fds[i] >= 0 && send(fds[i], req + k, 1, MSG_NOSIGNAL) != 1) {
				close(fds[i]);
				fds[i] = -1;
			}
		sleep_ms(100);
	}
	for (int i = 0; i < 8; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

/* Random bytes, and random msgpack maps, on the control socket. */
static void *
control_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	const char *env = getenv("DOMINO_BADINPUT_ROUNDS");
	int rounds = (env ? atoi(env) : 100) * 5;
	nng_socket s;

	if (nng_req0_open(&s) != 0)
		return NULL;
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000);
	if (nng_dial(s, b.control, NULL, 0) != 0) {
		nng_close(s);
		return NULL;
	}
	for (int i = 0; i < rounds; i++) {
		unsigned char buf[256];
		size_t n = 1 + (size_t)rand_r(&seed) % sizeof(buf);
		char *reply = NULL;
		size_t rl = 0;

		for (size_t k = 0; k < n; k++)
			buf[k] = (unsigned char)rand_r(&seed);
		if (i % 2 == 0) {
			/* A map header with a huge count, or deep arrays. */
			if (i % 4 == 0) {
				buf[0] = 0xdf;
				buf[1] = buf[2] = buf[3] = buf[4] = 0xff;
			} else {
				memset(buf, 0x91, n);
			}
		}
		atomic_fetch_add(&ctl_sent, 1);
		if (nng_send(s, buf, n, 0) != 0)
			continue;
		if (nng_recv(s, &reply, &rl, NNG_FLAG_ALLOC) == 0)
			nng_free(reply, rl);
	}
	nng_close(s);
	return NULL;
}

struct good {
	unsigned long sent, ok;
	long last_status;
	char last_resp[256];
};

static void *
good_thread(void *arg)
{
	struct good *g = arg;

	while (!atomic_load(&stop_good)) {
		char id[64], *resp = NULL;
		long st;

		snprintf(id, sizeof(id), "good-%lu", g->sent);
		st = h_post_github(&b, secret, "github/push.json", "push", id, &resp);
		g->sent++;
		if (st == 202) {
			g->ok++;
		} else {
			g->last_status = st;
			snprintf(g->last_resp, sizeof(g->last_resp), "%s",
			    resp ? resp : "");
		}
		free(resp);
	}
	return NULL;
}

Test(badinput, thousands_of_bad_requests_leave_good_traffic_alone)
{
	pthread_t bad[3], slow, ctl[2], good;
	struct good g = {0};
	time_t t0 = time(NULL);
	int rc;

	cr_assert_eq(h_broker_start(&b, NULL), 0);
	cr_assert_eq(h_source_secret(&b, "github", secret, sizeof(secret)), 0);
	port = atoi(strrchr(b.http, ':') + 1);
	push_body = h_read_file(h_fixture_path("github/push.json"), &push_len);
	cr_assert_not_null(push_body);

	pthread_create(&good, NULL, good_thread, &g);
	pthread_create(&slow, NULL, slowloris_thread, NULL);
	for (int i = 0; i < 3; i++)
		pthread_create(&bad[i], NULL, bad_thread, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < 2; i++)
		pthread_create(&ctl[i], NULL, control_thread,
		    (void *)(uintptr_t)(100 + i));
	for (int i = 0; i < 3; i++)
		pthread_join(bad[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(ctl[i], NULL);
	pthread_join(slow, NULL);
	atomic_store(&stop_good, 1);
	pthread_join(good, NULL);
	free(push_body);

	printf("badinput: bad_http=%lu bad_http_5xx=%lu bad_http_unanswered=%lu "
	    "bad_control=%lu good=%lu good_202=%lu seconds=%ld\n",
	    atomic_load(&bad_sent), atomic_load(&bad_5xx),
	    atomic_load(&bad_noanswer), atomic_load(&ctl_sent), g.sent, g.ok,
	    (long)(time(NULL) - t0));
	fflush(stdout);
	cr_assert_eq(kill(b.pid, 0), 0, "the broker died");
	cr_assert_gt(g.sent, 0);
	cr_assert_eq(g.ok, g.sent, "%lu of %lu good requests answered 202 "
	    "(last: %ld %s)", g.ok, g.sent, g.last_status, g.last_resp);
	cr_assert_eq(atomic_load(&bad_5xx), 0, "bad requests answered 5xx");
	rc = h_broker_stop(&b);
	cr_assert_eq(rc, 0, "dominod exited with %d after SIGTERM (a sanitizer "
	    "report would be above)", rc);
	h_broker_cleanup(&b);
}
