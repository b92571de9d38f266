/* SPDX-License-Identifier: MIT */
/*
 * Every forge through the real dominod: each posts a real fixture with the
 * headers and signature (or token) that forge really sends, a live
 * subscriber receives the normalized event, a redelivery is deduplicated,
 * and `domino ingest gerrit` reads a stream-events file with a bad line.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"

static struct broker b;
static char github[128], gitlab[128], gitea[128], bitbucket[128],
    gerrit[128], generic[128];

static void
setup(void)
{
	cr_assert_eq(h_broker_start(&b, "heartbeat: 100ms\n"), 0);
	cr_assert_eq(h_source_secret(&b, "github", github, sizeof(github)), 0);
	cr_assert_eq(h_source_secret(&b, "gitlab", gitlab, sizeof(gitlab)), 0);
	cr_assert_eq(h_source_secret(&b, "gitea", gitea, sizeof(gitea)), 0);
	cr_assert_eq(h_source_secret(&b, "bitbucket", bitbucket, sizeof(bitbucket)), 0);
	cr_assert_eq(h_source_secret(&b, "gerrit", gerrit, sizeof(gerrit)), 0);
	cr_assert_eq(h_source_secret(&b, "generic", generic, sizeof(generic)), 0);
}

static void
teardown(void)
{
	h_broker_cleanup(&b);
}

TestSuite(forges, .init = setup, .fini = teardown, .timeout = 120);

struct seen {
	pthread_mutex_t mu;
	int n;
	char line[32][256]; /* "source type repo ref" */
};

static int
on_event(void *arg, const struct domino_event *ev)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->mu);
	if (s->n < 32)
		snprintf(s->line[s->n++], sizeof(s->line[0]), "%s %s %s %s",
		    ev->source, ev->type, ev->repo, ev->ref ? ev->ref : "-");
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static int
seen_has(struct seen *s, const char *want)
{
	for (int t = 0; t < 100; t++) {
		pthread_mutex_lock(&s->mu);
		for (int i = 0; i < s->n; i++) {
			if (strcmp(s->line[i], want) == 0) {
				pthread_mutex_unlock(&s->mu);
				return 1;
			}
		}
		pthread_mutex_unlock(&s->mu);
		usleep(50000);
	}
	return 0;
}

/* POST a fixture to /hooks/source with headers; {{SIG}} in a header is
 * replaced by the hex HMAC of the body with key. */
static long
post(const char *source, const char *fixture, const char *key,
    const char *const *headers, const char *query, char **resp)
{
	char url[512], hmac[65], hdr[16][300];
	const char *h[17];
	size_t len, n = 0;
	char *body = h_read_file(h_fixture_path(fixture), &len);
	long st;

	cr_assert_not_null(body, "fixture %s", fixture);
	h_hmac_hex(key, body, len, hmac);
	for (; headers[n] != NULL && n < 16; n++) {
		const char *m = strstr(headers[n], "{{SIG}}");
		if (m != NULL)
			snprintf(hdr[n], sizeof(hdr[n]), "%.*s%s%s", (int)(m - headers[n]),
			    headers[n], hmac, m + 7);
		else
			snprintf(hdr[n], sizeof(hdr[n]), "%s", headers[n]);
		h[n] = hdr[n];
	}
	h[n] = NULL;
	snprintf(url, sizeof(url), "%s/hooks/%s%s", b.http, source, query ? query : "");
	st = h_post(url, h, body, len, resp);
	free(body);
	return st;
}

Test(forges, every_forge_reaches_a_subscriber_and_redeliveries_dedupe)
{
	struct domino_opts o = {.control = b.control, .token = b.token};
	struct seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct domino_sub_opts so = {.on_event = on_event, .arg = &s,
	    .heartbeat_ms = 100};
	domino *d;
	domino_sub *sub;
	char tok[300], q[300], *resp = NULL;

	cr_assert_eq(domino_open(&d, &o), DOMINO_OK);
	cr_assert_eq(domino_subscribe(d, &so, &sub), DOMINO_OK, "%s", domino_errmsg());
	cr_assert_eq(domino_sub_wait_ready(sub, 10000), DOMINO_OK);

	{
		const char *h[] = {"Content-Type: application/json",
		    "X-GitHub-Event: push", "X-GitHub-Delivery: gh-1",
		    "X-Hub-Signature-256: sha256={{SIG}}", NULL};
		cr_assert_eq(post("github", "github/push.json", github, h, NULL, NULL), 202);
		cr_assert_eq(post("github", "github/push.json", github, h, NULL, &resp), 200);
		cr_assert(strstr(resp, "duplicate") != NULL, "%s", resp);
		free(resp);
	}
	snprintf(tok, sizeof(tok), "X-Gitlab-Token: %s", gitlab);
	{
		const char *h[] = {"Content-Type: application/json",
		    "X-Gitlab-Event: Push Hook", "X-Gitlab-Event-UUID: gl-1", tok, NULL};
		cr_assert_eq(post("gitlab", "gitlab/push-9-commits.json", "", h, NULL, NULL), 202);
		cr_assert_eq(post("gitlab", "gitlab/push-9-commits.json", "", h, NULL, NULL), 200);
	}
	{
		const char *h[] = {"Content-Type: application/json",
		    "X-Gitea-Event: push", "X-Gitea-Delivery: gt-1",
		    "X-Gitea-Signature: {{SIG}}", NULL};
		cr_assert_eq(post("gitea", "gitea/push.json", gitea, h, NULL, NULL), 202);
	}
	{
		const char *h[] = {"Content-Type: application/json",
		    "X-Forgejo-Event: create", "X-Forgejo-Delivery: fj-1",
		    "X-Forgejo-Signature: {{SIG}}", NULL};
		cr_assert_eq(post("gitea", "gitea/create-tag.json", gitea, h, NULL, NULL), 202);
	}
	{
		const char *h[] = {"Content-Type: application/json",
		    "X-Event-Key: repo:push", "X-Request-UUID: bb-1",
		    "X-Hub-Signature: sha256={{SIG}}", NULL};
		cr_assert_eq(post("bitbucket", "bitbucket/repo-push.json", bitbucket, h, NULL, NULL), 202);
		cr_assert_eq(post("bitbucket", "bitbucket/repo-push.json", bitbucket, h, NULL, NULL), 200);
	}
	snprintf(q, sizeof(q), "?token=%s", gerrit);
	{
		const char *h[] = {"Content-Type: application/json; charset=utf-8",
		    "X-Origin-Url: https://review.example.org/", NULL};
		cr_assert_eq(post("gerrit", "gerrit/patchset-created.json", "", h, q, NULL), 202);
		cr_assert_eq(post("gerrit", "gerrit/patchset-created.json", "", h, q, NULL), 200);
	}
	{
		char auth[300], url[300];
		const char *body = "{\"repo\":\"ci.example.com/team/tool\",\"ref\":"
		    "\"refs/heads/main\",\"after\":\"abc123\",\"id\":\"gen-1\"}";
		const char *h[] = {"Content-Type: application/json", auth, NULL};
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", generic);
		snprintf(url, sizeof(url), "%s/hooks/generic", b.http);
		cr_assert_eq(h_post(url, h, body, strlen(body), NULL), 202);
	}
	{
		char auth[300], url[300];
		const char *body = "{\"specversion\":\"1.0\",\"id\":\"ce-1\",\"source\":"
		    "\"https://ci.example.com\",\"type\":\"com.example.build\","
		    "\"data\":{\"repo\":\"ci.example.com/team/app\",\"ref\":\"refs/tags/v2\","
		    "\"type\":\"tag\"}}";
		const char *h[] = {"Content-Type: application/cloudevents+json", auth, NULL};
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", generic);
		snprintf(url, sizeof(url), "%s/hooks/generic", b.http);
		cr_assert_eq(h_post(url, h, body, strlen(body), &resp), 202, "%s", resp);
		free(resp);
	}

	cr_assert(seen_has(&s, "gitea push try.gitea.io/gogits/hello-world refs/heads/master"),
	    "gitea push not seen");
	cr_assert(seen_has(&s, "generic push ci.example.com/team/tool refs/heads/main"));
	cr_assert(seen_has(&s, "generic tag ci.example.com/team/app refs/tags/v2"));
	{
		/* One event per source at least, nine in all (the Bitbucket
		 * push carries one change), and nothing twice. */
		int by[6] = {0};
		const char *names[] = {"github", "gitlab", "gitea", "bitbucket", "gerrit", "generic"};
		usleep(300000);
		pthread_mutex_lock(&s.mu);
		for (int i = 0; i < s.n; i++)
			for (int k = 0; k < 6; k++)
				by[k] += strncmp(s.line[i], names[k], strlen(names[k])) == 0 &&
				    s.line[i][strlen(names[k])] == ' ';
		pthread_mutex_unlock(&s.mu);
		for (int k = 0; k < 6; k++)
			cr_assert_geq(by[k], 1, "no %s event", names[k]);
		cr_assert_eq(by[2], 2, "gitea: %d", by[2]);
		cr_assert_eq(by[5], 2, "generic: %d", by[5]);
		cr_assert_eq(by[0], 1, "github twice");
		cr_assert_eq(by[1], 1, "gitlab twice");
		cr_assert_eq(by[4], 1, "gerrit twice");
	}
	domino_unsubscribe(sub);
	domino_close(d);
}

/* A compact one-line copy of a pretty-printed fixture. */
static char *
one_line(const char *fixture)
{
	char *text = h_read_file(h_fixture_path(fixture), NULL);
	cJSON *j = text ? cJSON_Parse(text) : NULL;
	char *out = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	free(text);
	cr_assert_not_null(out, "fixture %s", fixture);
	return out;
}

Test(forges, ingest_reads_gerrit_stream_events_past_a_bad_line)
{
	char path[400], *a = one_line("gerrit/change-deleted-stream-events.json"),
	    *c = one_line("gerrit/ref-updated-branch-created.json"), *out = NULL;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/stream.jsonl", b.dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "%s\n{\"type\": \"patchset-created\", \"change\": \n%s\n", a, c);
	fclose(f);
	cJSON_free(a);
	cJSON_free(c);
	{
		const char *argv[] = {"ingest", "gerrit", path, NULL};
		rc = h_cli(&b, argv, &out);
	}
	/* One line refused: exit 1, the other two stored. */
	cr_assert_eq(rc, 1, "exit %d: %s", rc, out);
	free(out);
	{
		const char *argv[] = {"log", "--json", NULL};
		int lines = 0;
		cr_assert_eq(h_cli(&b, argv, &out), 0);
		for (char *p = out; *p; p++)
			lines += *p == '\n';
		cr_assert_eq(lines, 2, "log: %s", out);
		cr_assert(strstr(out, "\"source\":\"gerrit\"") != NULL, "%s", out);
		free(out);
	}
}
