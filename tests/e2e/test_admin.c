/* SPDX-License-Identifier: MIT */
/*
 * The admin listener end to end: /healthz, /api/status and /metrics of the
 * real dominod, with counters checked against what the test sent.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
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
		domino_sub *s1, *s2;
		cr_assert_eq(domino_subscribe(d, &so, &s1), DOMINO_OK);
		cr_assert_eq(domino_sub_wait_ready(s1, 5000), DOMINO_OK);
		cr_assert_eq(domino_subscribe(d, &so, &s2), DOMINO_OK);
		usleep(500000);
		{
			char url[300], *m = NULL;
			snprintf(url, sizeof(url), "%s/metrics", b.admin);
			cr_assert_eq(h_get(url, &m), 200);
			cr_assert_eq(metric(m, "domino_subscribers"), 1,
			    "a second subscriber got through max_subscribers: 1");
			free(m);
		}
		domino_unsubscribe(s2);
		domino_unsubscribe(s1);
	}
	domino_close(d);
}
