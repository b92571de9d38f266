/* SPDX-License-Identifier: MIT */
/*
 * The admin listener end to end: /healthz, /api/status and /metrics of the
 * real dominod, with counters checked against what the test sent.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"

static struct broker b;

static void
setup(void)
{
	cr_assert_eq(h_broker_start(&b, "heartbeat: 100ms\n"), 0);
}

static void
teardown(void)
{
	h_broker_cleanup(&b);
}

TestSuite(admin, .init = setup, .fini = teardown, .timeout = 60);

/* The value of the metric line starting with name (labels included). */
static double
metric(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return -1;
}

/* Every non-comment line is `name{labels} value`. */
static void
check_exposition(const char *text)
{
	for (const char *p = text; *p; ) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > 0 && p[0] != '#') {
			const char *sp = memchr(p, ' ', len);
			char *end;
			cr_assert_not_null(sp, "line without value: %.*s", (int)len, p);
			strtod(sp + 1, &end);
			cr_assert(end == p + len, "bad value: %.*s", (int)len, p);
			cr_assert((p[0] >= 'a' && p[0] <= 'z') || p[0] == '_',
			    "bad name: %.*s", (int)len, p);
		}
		p += len + (e != NULL);
	}
}

Test(admin, healthz_status_and_metrics_match_what_was_sent)
{
	char url[300], secret[256], *body = NULL;
	long st;

	cr_assert_eq(h_source_secret(&b, "github", secret, sizeof(secret)), 0);
	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push", "m-1", NULL), 202);
	cr_assert_eq(h_post_github(&b, secret, "github/push-tag.json", "push", "m-2", NULL), 202);
	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push", "m-1", NULL), 200);
	cr_assert_eq(h_post_github(&b, "wrong", "github/push.json", "push", "m-3", NULL), 401);

	snprintf(url, sizeof(url), "%s/healthz", b.admin);
	st = h_get(url, &body);
	cr_assert_eq(st, 200, "healthz %ld: %s", st, body);
	cr_assert(strstr(body, "\"status\":\"ok\"") != NULL, "%s", body);
	cr_assert(strstr(body, "\"seq\":2") != NULL, "%s", body);
	free(body);

	snprintf(url, sizeof(url), "%s/api/status", b.admin);
	cr_assert_eq(h_get(url, &body), 200);
	cr_assert(strstr(body, "\"events\":2") != NULL, "%s", body);
	free(body);

	snprintf(url, sizeof(url), "%s/metrics", b.admin);
	cr_assert_eq(h_get(url, &body), 200);
	check_exposition(body);
	cr_assert_eq(metric(body, "domino_webhooks_total{source=\"github\",status=\"202\"}"), 2, "%s", body);
	cr_assert_eq(metric(body, "domino_webhooks_total{source=\"github\",status=\"200\"}"), 1);
	cr_assert_eq(metric(body, "domino_webhooks_total{source=\"github\",status=\"401\"}"), 1);
	cr_assert_eq(metric(body, "domino_log_seq"), 2);
	cr_assert_eq(metric(body, "domino_log_events"), 2);
	cr_assert_geq(metric(body, "domino_writer_commits_total"), 2);
	cr_assert_eq(metric(body, "domino_fanout_messages_total"), 2);
	free(body);

	snprintf(url, sizeof(url), "%s/nothing-here", b.admin);
	cr_assert_eq(h_get(url, &body), 404);
	free(body);
}

static void
write_config(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

Test(admin, sighup_reloads_secrets_and_keeps_the_old_config_on_a_bad_file)
{
	char cfg[512];
	int ok = 0;

	h_broker_cleanup(&b);
	cr_assert_eq(h_broker_start(&b, "sources:\n  github: {secret: \"first-secret-value\"}\n"), 0);
	cr_assert_eq(h_post_github(&b, "first-secret-value", "github/push.json", "push", "h-1", NULL), 202);

	snprintf(cfg, sizeof(cfg), "sources:\n  github: {secret: \"second-secret-value\"}\n"
	    "  gitlab: {token: \"gl-token-for-tests\"}\n");
	write_config(b.config, cfg);
	kill(b.pid, SIGHUP);
	for (int i = 0; i < 100 && !ok; i++) {
		char id[32];
		snprintf(id, sizeof(id), "h-2-%d", i);
		ok = h_post_github(&b, "second-secret-value", "github/push.json",
		    "push", id, NULL) == 202;
		if (!ok)
			usleep(50000);
	}
	cr_assert(ok, "the new secret was never accepted");
	cr_assert_eq(h_post_github(&b, "first-secret-value", "github/push.json", "push", "h-3", NULL), 401);

	/* A bad file: refused, the running config stays. */
	write_config(b.config, "sources:\n  github: {secret: 42\n");
	kill(b.pid, SIGHUP);
	usleep(300000);
	cr_assert_eq(h_post_github(&b, "second-secret-value", "github/push.json", "push", "h-4", NULL), 202);
	write_config(b.config, "no_such_key: 1\n");
	kill(b.pid, SIGHUP);
	usleep(300000);
	cr_assert_eq(h_post_github(&b, "second-secret-value", "github/push.json", "push", "h-5", NULL), 202);
	cr_assert_eq(h_broker_stop(&b), 0);
}

/*
 * Connect to the pub address as a sub0 peer by hand, speaking only the SP
 * header, and return what the broker did: 1 when it closed the connection
 * within 5 s, 0 when it kept it. A second libdomino subscriber would do
 * as well, but its nng dialer redials every 100 ms while the broker keeps
 * refusing, and closing a socket amid that churn trips a race inside
 * libnng 1.5.2 (a panic, or leaked pipes) now and then.
 */
static int
refused_raw_subscriber(const char *pub)
{
	/* nng's TCP header: NUL "SP" NUL, protocol sub0 (0x21), two NULs. */
	static const unsigned char hdr[8] = {0, 'S', 'P', 0, 0, 0x21, 0, 0};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 5};
	unsigned char buf[64];
	int port = 0, fd, closed = 0;
	time_t deadline;
	ssize_t n;

	cr_assert_eq(sscanf(pub, "tcp://127.0.0.1:%d", &port), 1, "%s", pub);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_geq(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL), (ssize_t)sizeof(hdr));
	/* The broker's own header may come first, then the end. A broker
	 * that kept the peer would send heartbeats: give up after 5 s. */
	deadline = time(NULL) + 5;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 && time(NULL) < deadline)
		;
	closed = n == 0 || (n < 0 && errno == ECONNRESET);
	close(fd);
	return closed;
}

static int
ignore(void *arg, const struct domino_event *ev)
{
	(void)arg;
	(void)ev;
	return 0;
}

Test(admin, limits_rate_listeners_and_subscribers)
{
	struct domino_opts o = {0};
	domino *d;
	char *resp = NULL;
	long st[1];

	h_broker_cleanup(&b);
	cr_assert_eq(h_broker_start(&b, "heartbeat: 100ms\nlimits:\n  rate: 1\n"
	    "  burst: 2\n  max_listeners: 2\n  max_subscribers: 1\n"), 0);
	{
		char secret[256], id[32];
		int limited = 0;
		cr_assert_eq(h_source_secret(&b, "github", secret, sizeof(secret)), 0);
		/* A burst of 2 at 1/s: within six quick posts at least one is
		 * refused, however slow this machine is. */
		for (int i = 0; i < 6 && !limited; i++) {
			snprintf(id, sizeof(id), "r-%d", i);
			free(resp);
			resp = NULL;
			st[0] = h_post_github(&b, secret, "github/push.json", "push", id, &resp);
			cr_assert(st[0] == 202 || st[0] == 429, "status %ld", st[0]);
			limited = st[0] == 429;
		}
		cr_assert(limited, "no 429 in six posts at limits.rate: 1");
		cr_assert(strstr(resp, "rate_limited") != NULL, "%s", resp);
	}
	free(resp);

	o.control = b.control;
	o.token = b.token;
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK);
	for (int i = 0; i < 3; i++) {
		char yaml[400];
		struct domino_registered r = {0};
		void *map = NULL;
		size_t len = 0;
		int rv;
		snprintf(yaml, sizeof(yaml), "name: l%d\ndepends_on: [github.com/a/b]\n"
		    "callback: {plugin: http, config: {url: \"https://ci.example.com/\"}}\n", i);
		cr_assert_eq(domino_yaml_to_msgpack(yaml, strlen(yaml), "t.yaml", &map, &len),
		    DOMINO_OK, "%s", domino_errmsg());
		rv = domino_register(d, map, len, 0, &r);
		if (i < 2)
			cr_assert_eq(rv, DOMINO_OK, "%s", domino_errmsg());
		else
			cr_assert_eq(rv, DOMINO_ECONFLICT, "third listener: %s", domino_errmsg());
		domino_registered_clear(&r);
		free(map);
	}
	{
		struct domino_sub_opts so = {.on_event = ignore, .heartbeat_ms = 100};
		domino_sub *s1;
		cr_assert_eq(domino_subscribe(d, &so, &s1), DOMINO_OK);
		cr_assert_eq(domino_sub_wait_ready(s1, 5000), DOMINO_OK);
		cr_assert(refused_raw_subscriber(b.pub),
		    "a second subscriber was not disconnected at max_subscribers: 1");
		{
			/* The refused peer is uncounted when nng is done with
			 * its pipe, a moment after the close. */
			char url[300], *m = NULL;
			double n = -1;
			snprintf(url, sizeof(url), "%s/metrics", b.admin);
			for (int i = 0; i < 50 && n != 1; i++) {
				if (i > 0)
					usleep(100000);
				cr_assert_eq(h_get(url, &m), 200);
				n = metric(m, "domino_subscribers");
				free(m);
				m = NULL;
			}
			cr_assert_eq(n, 1,
			    "a second subscriber got through max_subscribers: 1");
		}
		domino_unsubscribe(s1);
	}
	domino_close(d);
}

static long
healthz(char **body)
{
	char url[300];

	snprintf(url, sizeof(url), "%s/healthz", b.admin);
	return h_get(url, body);
}

static void
write_plugin(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
	chmod(path, 0755);
}

Test(admin, healthz_degrades_with_a_broken_plugin_and_recovers)
{
	char pd[300], path[400], cfg[400], *body = NULL, *out = NULL;
	long st;

	/* The broker from setup is restarted with a plugin directory that
	 * holds an executable that is not a plugin. */
	snprintf(pd, sizeof(pd), "%s/plugins", b.dir);
	cr_assert_eq(mkdir(pd, 0700), 0);
	snprintf(path, sizeof(path), "%s/flaky", pd);
	write_plugin(path, "#!/bin/sh\necho 'not json'\nexit 1\n");
	snprintf(cfg, sizeof(cfg), "heartbeat: 100ms\nplugins: {dir: %s}\n", pd);
	write_config(b.config, cfg);
	cr_assert_eq(h_broker_stop(&b), 0);
	cr_assert_eq(h_broker_restart(&b), 0);
	st = healthz(&body);
	cr_assert_eq(st, 503, "healthz %ld: %s", st, body);
	cr_assert(strstr(body, "flaky") != NULL, "%s", body);
	free(body);
	{
		const char *argv[] = {"status", NULL};
		cr_assert_eq(h_cli(&b, argv, &out), 0);
		cr_assert(strstr(out, "flaky broken") != NULL, "status: %s", out);
		free(out);
	}

	/* Fixed: it answers capabilities now; a reload picks it up. */
	write_plugin(path, "#!/bin/sh\n[ \"$1\" = capabilities ] && echo "
	    "'{\"name\":\"flaky\",\"version\":\"1\",\"api\":1,"
	    "\"capabilities\":[\"deliver\"],\"config\":{}}' && exit 0\nexit 1\n");
	{
		const char *argv[] = {"plugin", "reload", NULL};
		int rc = h_cli(&b, argv, &out);
		cr_assert_eq(rc, 0, "plugin reload: %s", out);
		free(out);
	}
	st = healthz(&body);
	cr_assert_eq(st, 200, "healthz after the fix %ld: %s", st, body);
	free(body);
}

Test(admin, metrics_count_deliveries_by_plugin_with_latency)
{
	char path[400], url[300], *body = NULL;
	struct domino_opts o = {.control = b.control, .token = b.token};
	struct domino_published pub = {0};
	struct domino_publish_args pa = {.repo = "github.com/acme/core", .ref = "main"};
	domino *d;

	cr_assert_eq(domino_open(&d, &o), DOMINO_OK);
	{
		char yaml[600];
		struct domino_registered r = {0};
		void *map = NULL;
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/out.jsonl", b.dir);
		snprintf(yaml, sizeof(yaml), "name: audit\ndepends_on: [github.com/acme/core]\n"
		    "callback: {plugin: file, config: {path: \"%s\"}}\n", path);
		cr_assert_eq(domino_yaml_to_msgpack(yaml, strlen(yaml), "t.yaml", &map, &len), DOMINO_OK);
		cr_assert_eq(domino_register(d, map, len, 0, &r), DOMINO_OK, "%s", domino_errmsg());
		domino_registered_clear(&r);
		free(map);
	}
	cr_assert_eq(domino_publish(d, &pa, &pub), DOMINO_OK, "%s", domino_errmsg());
	domino_published_clear(&pub);
	domino_close(d);
	snprintf(url, sizeof(url), "%s/metrics", b.admin);
	for (int i = 0; i < 100; i++) {
		free(body);
		body = NULL;
		cr_assert_eq(h_get(url, &body), 200);
		if (metric(body, "domino_plugin_deliveries_total{plugin=\"file\",outcome=\"ok\"}") == 1)
			break;
		usleep(50000);
	}
	check_exposition(body);
	cr_assert_eq(metric(body, "domino_plugin_deliveries_total{plugin=\"file\",outcome=\"ok\"}"), 1, "%s", body);
	cr_assert_eq(metric(body, "domino_delivery_latency_seconds_count"), 1);
	cr_assert_eq(metric(body, "domino_delivery_latency_seconds_bucket{le=\"+Inf\"}"), 1);
	free(body);
}
