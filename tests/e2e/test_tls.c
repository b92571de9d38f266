/* SPDX-License-Identifier: MIT */
/*
 * TLS end to end: a CA and a server certificate made with openssl, the
 * real dominod with https:// ingest and admin and tls+tcp:// control and
 * PUB; signed webhooks over HTTPS, the CLI and a subscriber with the CA,
 * and a client without the CA refused.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"

static struct broker b;
static char dir[256], ca[300];

static void
make_certs(void)
{
	char cmd[4096];

	snprintf(dir, sizeof(dir), "/tmp/domino-tls-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
	    "cd %s && "
	    "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
	    "-days 2 -subj /CN=domino-test-ca >/dev/null 2>&1 && "
	    "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
	    "-subj /CN=127.0.0.1 >/dev/null 2>&1 && "
	    "printf 'subjectAltName=DNS:127.0.0.1,IP:127.0.0.1\\n' > ext.cnf && "
	    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	    "-out server.pem -days 2 -extfile ext.cnf >/dev/null 2>&1", dir);
	cr_assert_eq(system(cmd), 0, "openssl could not make the test certificates");
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
}

static void
setup(void)
{
	char cfg[1024];

	make_certs();
	h_tls_ca = ca;
	snprintf(cfg, sizeof(cfg), "heartbeat: 100ms\ntls:\n  cert: %s/server.pem\n"
	    "  key: %s/server.key\n", dir, dir);
	cr_assert_eq(h_broker_start(&b, cfg), 0, "dominod did not start with TLS");
}

static void
teardown(void)
{
	char cmd[400];

	h_broker_cleanup(&b);
	h_tls_ca = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

TestSuite(tls, .init = setup, .fini = teardown, .timeout = 90);

static int got;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int
on_event(void *arg, const struct domino_event *ev)
{
	(void)arg;
	(void)ev;
	pthread_mutex_lock(&mu);
	got++;
	pthread_mutex_unlock(&mu);
	return 0;
}

Test(tls, https_ingest_tls_control_and_pub_with_the_ca)
{
	char secret[256], url[300], *out = NULL;
	struct domino_opts o = {0};
	struct domino_sub_opts so = {.on_event = on_event, .heartbeat_ms = 100};
	domino *d;
	domino_sub *s;

	cr_assert(strncmp(b.http, "https://", 8) == 0, "%s", b.http);
	cr_assert(strncmp(b.control, "tls+tcp://", 10) == 0, "%s", b.control);
	/* The CLI over tls+tcp with the CA (DOMINO_CA from the harness). */
	cr_assert_eq(h_source_secret(&b, "github", secret, sizeof(secret)), 0);

	o.control = b.control;
	o.token = b.token;
	o.ca_file = ca;
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
	cr_assert_eq(domino_subscribe(d, &so, &s), DOMINO_OK, "%s", domino_errmsg());
	cr_assert_eq(domino_sub_wait_ready(s, 10000), DOMINO_OK);

	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push", "tls-1", NULL), 202);
	for (int i = 0; i < 100; i++) {
		int n;
		pthread_mutex_lock(&mu);
		n = got;
		pthread_mutex_unlock(&mu);
		if (n >= 1)
			break;
		usleep(50000);
	}
	cr_assert_geq(got, 1, "no event over the TLS PUB socket");
	domino_unsubscribe(s);
	domino_close(d);

	snprintf(url, sizeof(url), "%s/healthz", b.admin);
	cr_assert_eq(h_get(url, &out), 200, "admin over https: %s", out);
	free(out);
}

Test(tls, a_client_without_the_ca_is_refused)
{
	struct domino_opts o = {0};
	struct domino_stats st;
	domino *d = NULL;
	int rv;

	o.control = b.control;
	o.token = b.token;
	o.timeout_ms = 2000;
	rv = domino_open(&d, &o);
	if (rv == DOMINO_OK) {
		/* The dial may be lazy: the first call must fail. */
		rv = domino_stats(d, &st);
		if (rv == DOMINO_OK)
			domino_stats_clear(&st);
		domino_close(d);
	}
	cr_assert_neq(rv, DOMINO_OK, "a client without the CA was served");
	{
		char *resp = NULL;
		const char *saved = h_tls_ca;
		char url[300];
		long st2;
		h_tls_ca = NULL; /* curl with only the system CAs */
		snprintf(url, sizeof(url), "%s/healthz", b.admin);
		st2 = h_get(url, &resp);
		h_tls_ca = saved;
		free(resp);
		cr_assert_eq(st2, 0, "https without the CA answered %ld", st2);
	}
}
