/* SPDX-License-Identifier: MIT */
/*
 * Replay, catch-up, durable consumers, relay and retention end to end,
 * through the real dominod: a subscriber restarted after 10,000 events
 * gets exactly those, a frozen broker (SIGSTOP) is survived through the
 * heartbeat without gap or duplicate, durable cursors resume, listener
 * replay creates exactly the deliveries it should, relay repeats a signed
 * GitHub webhook byte for byte, and retention trims, holds back, and says
 * which range is gone.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"
#include "receiver.h"

#define FAST_CONFIG "heartbeat: 100ms\n"
#define RETENTION_CONFIG "heartbeat: 100ms\n" \
	"retention:\n  max_events: 10\n  interval: 100ms\n"
#define CATCHUP_EVENTS 10000
#define PUBLISHERS 4

static struct broker b;
static domino *d;

static void
open_client(void)
{
	struct domino_opts o = {.control = b.control, .token = b.token,
	    .timeout_ms = 20000};

	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
}

static void
setup(void)
{
	cr_assert_eq(h_broker_start(&b, FAST_CONFIG), 0, "dominod did not start");
	open_client();
}

static void
setup_retention(void)
{
	cr_assert_eq(h_broker_start(&b, RETENTION_CONFIG), 0,
	    "dominod did not start");
	open_client();
}

static void
teardown(void)
{
	domino_close(d);
	d = NULL;
	h_broker_cleanup(&b);
}

TestSuite(replay, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(retention, .init = setup_retention, .fini = teardown,
    .timeout = 120);

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static uint64_t
publish(const char *repo)
{
	struct domino_publish_args a = {.repo = repo, .ref = "main"};
	struct domino_published p = {0};
	uint64_t seq;

	cr_assert_eq(domino_publish(d, &a, &p), DOMINO_OK, "%s",
	    domino_errmsg());
	seq = p.seq;
	domino_published_clear(&p);
	return seq;
}

/* What a domino_log walk saw; stops (returns 1) at seq stop_at. */
struct walk {
	uint64_t n, last, stop_at, bad;
	const char *repo; /* every event must be of it, when set */
};

static int
walk_cb(void *arg, const struct domino_event *ev)
{
	struct walk *w = arg;

	if (ev->seq <= w->last || ev->repo == NULL ||
	    (w->repo != NULL && strcmp(ev->repo, w->repo) != 0) ||
	    ev->payload != NULL || ev->id == NULL || ev->time == 0)
		w->bad++;
	w->last = ev->seq;
	w->n++;
	return w->stop_at != 0 && ev->seq >= w->stop_at;
}

/* domino_log asks for the next page while it works through one: every
 * way a walk can end (the log's end, a limit, a callback that stops, a
 * filter, a refused query) leaves the right events, next and handle. */
Test(replay, paged_log_walks_end_where_they_should)
{
	struct domino_log_query q = {.batch = 7};
	struct walk w = {0};
	uint64_t next = 0;

	for (int i = 0; i < 100; i++)
		publish(i % 4 == 0 ? "github.com/acme/core" : "github.com/acme/other");

	cr_assert_eq(domino_log(d, &q, walk_cb, &w, &next), DOMINO_OK, "%s",
	    domino_errmsg());
	cr_assert_eq(w.n, 100);
	cr_assert_eq(w.bad, 0);
	cr_assert_eq(next, 101);

	w = (struct walk){0};
	q = (struct domino_log_query){.batch = 7, .from = 3, .limit = 20};
	cr_assert_eq(domino_log(d, &q, walk_cb, &w, &next), DOMINO_OK);
	cr_assert_eq(w.n, 20);
	cr_assert_eq(w.last, 22);
	cr_assert_eq(next, 23);

	/* Stopped inside a page while the next one is on its way. */
	w = (struct walk){.stop_at = 30};
	q = (struct domino_log_query){.batch = 7};
	cr_assert_eq(domino_log(d, &q, walk_cb, &w, &next), DOMINO_OK);
	cr_assert_eq(w.n, 30);
	cr_assert_eq(next, 31);

	/* A filter: pages skip what does not match; next is past the end. */
	w = (struct walk){.repo = "github.com/acme/core"};
	q = (struct domino_log_query){.batch = 3, .filter = "github.com/acme/core"};
	cr_assert_eq(domino_log(d, &q, walk_cb, &w, &next), DOMINO_OK);
	cr_assert_eq(w.n, 25);
	cr_assert_eq(w.bad, 0);
	cr_assert_eq(next, 101);

	/* A refused query is the broker's own error, and the handle works
	 * on after it. */
	w = (struct walk){0};
	q = (struct domino_log_query){.filter = "@refs/heads/main"};
	cr_assert_eq(domino_log(d, &q, walk_cb, &w, NULL), DOMINO_EINVAL);
	cr_assert(strstr(domino_errmsg(), "filter must be REPO") != NULL, "%s",
	    domino_errmsg());
	cr_assert_eq(w.n, 0);
	q = (struct domino_log_query){.from = 100};
	cr_assert_eq(domino_log(d, &q, walk_cb, &w, &next), DOMINO_OK);
	cr_assert_eq(w.n, 1);
	cr_assert_eq(next, 101);
}

/* What a subscriber saw. */
struct rec {
	pthread_mutex_t mu;
	uint64_t *seqs;
	size_t n, cap;
	uint64_t gap_from, gap_to, gaps;
	int down, up;
};

#define REC_INIT {.mu = PTHREAD_MUTEX_INITIALIZER}

static int
rec_event(void *arg, const struct domino_event *ev)
{
	struct rec *r = arg;

	pthread_mutex_lock(&r->mu);
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 1024;
		r->seqs = realloc(r->seqs, r->cap * sizeof(*r->seqs));
	}
	r->seqs[r->n++] = ev->seq;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static void
rec_gap(void *arg, uint64_t from, uint64_t to)
{
	struct rec *r = arg;

	pthread_mutex_lock(&r->mu);
	if (r->gaps == 0)
		r->gap_from = from;
	r->gap_to = to;
	r->gaps += to - from + 1;
	pthread_mutex_unlock(&r->mu);
}

static void
rec_link(void *arg, int up)
{
	struct rec *r = arg;

	pthread_mutex_lock(&r->mu);
	if (up)
		r->up++;
	else
		r->down++;
	pthread_mutex_unlock(&r->mu);
}

static size_t
rec_count(struct rec *r)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* Wait until r saw n events (timeout_ms); the count. */
static size_t
rec_wait(struct rec *r, size_t n, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 20) {
		if (rec_count(r) >= n)
			break;
		sleep_ms(20);
	}
	return rec_count(r);
}

/* r saw exactly the seqs from..to, in order. */
static void
rec_expect(struct rec *r, uint64_t from, uint64_t to)
{
	pthread_mutex_lock(&r->mu);
	cr_assert_eq(r->n, to - from + 1, "saw %zu events, want %llu (%llu..%llu)",
	    r->n, (unsigned long long)(to - from + 1), (unsigned long long)from,
	    (unsigned long long)to);
	for (size_t i = 0; i < r->n; i++)
		cr_assert_eq(r->seqs[i], from + i, "event %zu is seq %llu, want %llu",
		    i, (unsigned long long)r->seqs[i],
		    (unsigned long long)(from + i));
	pthread_mutex_unlock(&r->mu);
}

static void
rec_clear(struct rec *r)
{
	free(r->seqs);
	r->seqs = NULL;
	r->n = r->cap = 0;
}

static domino_sub *
subscribe(struct rec *r, uint64_t from, const char *durable)
{
	struct domino_sub_opts so = {.on_event = rec_event, .on_gap = rec_gap,
	    .on_link = rec_link, .arg = r, .heartbeat_ms = 100, .from = from,
	    .durable = durable, .auto_ack = durable != NULL};
	domino_sub *s = NULL;

	cr_assert_eq(domino_subscribe(d, &so, &s), DOMINO_OK, "%s",
	    domino_errmsg());
	cr_assert_eq(domino_sub_wait_ready(s, 30000), DOMINO_OK, "%s",
	    domino_errmsg());
	return s;
}

struct pub_job {
	int n;
	int failed;
};

static void *
publisher(void *arg)
{
	struct pub_job *j = arg;
	struct domino_publish_args a = {.repo = "github.com/acme/busy",
	    .ref = "main"};

	for (int i = 0; i < j->n; i++) {
		struct domino_published p = {0};
		if (domino_publish(d, &a, &p) != DOMINO_OK)
			j->failed++;
		domino_published_clear(&p);
	}
	return NULL;
}

/* Publish n events from PUBLISHERS threads at once. */
static void
publish_many(int n)
{
	pthread_t t[PUBLISHERS];
	struct pub_job j[PUBLISHERS];

	for (int i = 0; i < PUBLISHERS; i++) {
		j[i].n = n / PUBLISHERS + (i < n % PUBLISHERS);
		j[i].failed = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, publisher, &j[i]), 0);
	}
	for (int i = 0; i < PUBLISHERS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(j[i].failed, 0, "publisher %d: %d failed", i,
		    j[i].failed);
	}
}

/*
 * Run the CLI with the broker's address and token in the environment,
 * stdout into *out and stderr into *err (each may be NULL). The exit
 * status; -1 after 30 s.
 */
static int
cli(const char *const *argv, char **out, char **err)
{
	char po[400], pe[400];
	const char *args[64];
	int n = 0, st = -1;
	pid_t pid;

	snprintf(po, sizeof(po), "%s/cli.out", b.dir);
	snprintf(pe, sizeof(pe), "%s/cli.err", b.dir);
	args[n++] = h_bin("domino");
	for (size_t i = 0; argv[i] != NULL && n < 62; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fo, 1);
		dup2(fe, 2);
		setenv("DOMINO_CONTROL", b.control, 1);
		setenv("DOMINO_TOKEN", b.token, 1);
		setenv("DOMINO_DATA", b.data, 1);
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	for (int t = 0; t < 30000; t += 20) {
		int ws;
		if (waitpid(pid, &ws, WNOHANG) == pid) {
			st = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
			break;
		}
		sleep_ms(20);
	}
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (out != NULL)
		*out = h_read_file(po, NULL);
	if (err != NULL)
		*err = h_read_file(pe, NULL);
	return st;
}

static long
json_num(const char *text, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = text ? strstr(text, k) : NULL;
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

/* (a) */
Test(replay, restarted_subscriber_gets_exactly_the_missed_events)
{
	struct rec r1 = REC_INIT, r2 = REC_INIT;
	domino_sub *s;
	uint64_t last = 0, first_missed;

	s = subscribe(&r1, 0, NULL);
	for (int i = 0; i < 3; i++)
		last = publish("github.com/acme/core");
	cr_assert_eq(rec_wait(&r1, 3, 10000), 3);
	rec_expect(&r1, 1, 3);
	cr_assert_eq(domino_sub_last_seq(s), last);
	domino_unsubscribe(s);

	/* Stopped: the world goes on without it. */
	publish_many(CATCHUP_EVENTS);
	first_missed = last + 1;

	s = subscribe(&r2, first_missed, NULL);
	/* Ready means caught up: everything missed is there already. */
	rec_expect(&r2, first_missed, last + CATCHUP_EVENTS);
	for (int i = 0; i < 5; i++)
		publish("github.com/acme/core");
	cr_assert_eq(rec_wait(&r2, CATCHUP_EVENTS + 5, 10000), CATCHUP_EVENTS + 5);
	rec_expect(&r2, first_missed, last + CATCHUP_EVENTS + 5);
	cr_assert_eq(r2.gaps, 0);
	domino_unsubscribe(s);
	rec_clear(&r1);
	rec_clear(&r2);
}

/* (b) */
Test(replay, frozen_broker_is_survived_through_the_heartbeat)
{
	struct rec r = REC_INIT;
	domino_sub *s = subscribe(&r, 0, NULL);
	int down = 0;

	for (int i = 0; i < 3; i++)
		publish("github.com/acme/core");
	cr_assert_eq(rec_wait(&r, 3, 10000), 3);

	/* A silent link: the TCP connection stays, nothing comes. */
	cr_assert_eq(kill(b.pid, SIGSTOP), 0);
	for (int t = 0; t < 3000 && !down; t += 20) {
		sleep_ms(20);
		pthread_mutex_lock(&r.mu);
		down = r.down;
		pthread_mutex_unlock(&r.mu);
	}
	sleep_ms(400); /* at least one more re-dial while frozen */
	cr_assert_eq(kill(b.pid, SIGCONT), 0);
	cr_assert(down, "three silent heartbeat periods did not count as a "
	    "dead link");
	/* Published at once, while the subscriber is still dialling: some
	 * go out on no link at all and must come from the log. */
	for (int i = 0; i < 200; i++)
		publish("github.com/acme/core");
	cr_assert_eq(rec_wait(&r, 203, 15000), 203);
	sleep_ms(300);
	rec_expect(&r, 1, 203);
	cr_assert_eq(r.gaps, 0);
	pthread_mutex_lock(&r.mu);
	cr_assert_geq(r.up, 1, "the link never came back");
	pthread_mutex_unlock(&r.mu);
	domino_unsubscribe(s);
	rec_clear(&r);
}

/* (c) */
Test(replay, durable_cursor_resumes_after_the_last_ack)
{
	const char *t1[] = {"tail", "--durable", "ci", "--from", "1", "--count",
	    "3", "--json", NULL};
	const char *t2[] = {"tail", "--durable", "ci", "--count", "2", "--json",
	    NULL};
	const char *cur[] = {"cursor", "ci", NULL};
	const char *none[] = {"cursor", "nobody", NULL};
	struct rec r1 = REC_INIT, r2 = REC_INIT;
	uint64_t seq = 0;
	char *out = NULL, *err = NULL;
	domino_sub *s;

	for (int i = 0; i < 5; i++)
		publish("github.com/acme/core");
	cr_assert_eq(cli(t1, &out, NULL), 0);
	cr_assert_eq(json_num(out, "seq"), 1, "%s", out);
	cr_assert(strstr(out, "\"seq\":3") != NULL && strstr(out, "\"seq\":4") ==
	    NULL, "%s", out);
	free(out);
	cr_assert_eq(cli(cur, &out, NULL), 0);
	cr_assert_str_eq(out, "3\n");
	free(out);
	/* No --from now: the cursor says where to go on. */
	cr_assert_eq(cli(t2, &out, NULL), 0);
	cr_assert_eq(json_num(out, "seq"), 4, "%s", out);
	cr_assert(strstr(out, "\"seq\":5") != NULL, "%s", out);
	free(out);
	cr_assert_eq(domino_cursor(d, "ci", &seq), DOMINO_OK);
	cr_assert_eq(seq, 5);
	cr_assert_eq(cli(none, NULL, &err), 1);
	cr_assert(strstr(err, "no durable consumer named nobody") != NULL, "%s",
	    err);
	free(err);
	cr_assert_eq(domino_cursor(d, "nobody", &seq), DOMINO_ENOTFOUND);

	/* A new durable name starts with new events, and exists from then
	 * on: what is published while it is away is waiting for it. */
	s = subscribe(&r1, 0, "lib");
	domino_unsubscribe(s);
	cr_assert_eq(domino_cursor(d, "lib", &seq), DOMINO_OK, "%s",
	    domino_errmsg());
	cr_assert_eq(seq, 5);
	for (int i = 0; i < 3; i++)
		publish("github.com/acme/core");
	s = subscribe(&r2, 0, "lib");
	rec_expect(&r2, 6, 8);
	publish("github.com/acme/core");
	cr_assert_eq(rec_wait(&r2, 4, 10000), 4);
	domino_unsubscribe(s); /* sends the last acks */
	cr_assert_eq(domino_cursor(d, "lib", &seq), DOMINO_OK);
	cr_assert_eq(seq, 9);

	/* A filter that never matches does not pin the log: at heartbeats
	 * the cursor moves past what did not match. */
	{
		struct rec r3 = REC_INIT;
		struct domino_sub_opts so = {.on_event = rec_event,
		    .arg = &r3, .heartbeat_ms = 100, .durable = "quiet",
		    .auto_ack = 1, .filter = "github.com/acme/quiet"};
		uint64_t last = 0;

		cr_assert_eq(domino_subscribe(d, &so, &s), DOMINO_OK);
		cr_assert_eq(domino_sub_wait_ready(s, 10000), DOMINO_OK);
		for (int i = 0; i < 3; i++)
			last = publish("github.com/acme/core");
		for (int t = 0; t < 5000 && seq != last; t += 50) {
			sleep_ms(50);
			cr_assert_eq(domino_cursor(d, "quiet", &seq), DOMINO_OK);
		}
		cr_assert_eq(seq, last);
		cr_assert_eq(rec_count(&r3), 0);
		domino_unsubscribe(s);
	}
	rec_clear(&r1);
	rec_clear(&r2);
}

static void
register_file_listener(const char *name, const char *repo, const char *path)
{
	struct domino_dep dep = {.repo = repo};
	struct domino_kv cfg = {.key = "path", .value = path};
	struct domino_registration reg = {.name = name, .depends_on = &dep,
	    .n_depends_on = 1, .plugin = "file", .config = &cfg, .n_config = 1};
	struct domino_registered out = {0};
	void *buf = NULL;
	size_t len = 0;

	cr_assert_eq(domino_registration_pack(&reg, &buf, &len), DOMINO_OK);
	cr_assert_eq(domino_register(d, buf, len, 0, &out), DOMINO_OK, "%s",
	    domino_errmsg());
	domino_registered_clear(&out);
	free(buf);
}

static size_t
count_state(const char *listener, const char *state)
{
	struct domino_deliveries_query q = {.listener = listener,
	    .state = state, .limit = 1000};
	struct domino_deliveries dl = {0};
	size_t n;

	cr_assert_eq(domino_deliveries(d, &q, &dl), DOMINO_OK, "%s",
	    domino_errmsg());
	n = dl.n;
	domino_deliveries_clear(&dl);
	return n;
}

static void
wait_ok(const char *listener, size_t n)
{
	size_t got = 0;

	for (int t = 0; t < 15000 && got < n; t += 50) {
		got = count_state(listener, "ok");
		if (got < n)
			sleep_ms(50);
	}
	cr_assert_eq(got, n, "%zu deliveries ok, want %zu", got, n);
}

static size_t
file_lines(const char *path)
{
	char *text = h_read_file(path, NULL);
	size_t n = 0;

	for (char *p = text; p != NULL && *p; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/* (d) */
Test(replay, listener_replay_creates_exactly_the_expected_deliveries)
{
	const char *argv[] = {"replay", "--listener", "late", "--from", "1",
	    "--json", NULL};
	const char *force[] = {"replay", "--listener", "late", "--from", "1",
	    "--force", "--json", NULL};
	const char *part[] = {"replay", "--listener", "late", "--from", "2",
	    "--to", "3", "--force", NULL};
	char path[400], *out = NULL;

	for (int i = 0; i < 5; i++) {
		publish("github.com/acme/replayed");
		if (i % 2 == 0)
			publish("github.com/acme/other");
	}
	snprintf(path, sizeof(path), "%s/late.jsonl", b.dir);
	/* Registered after the events: nothing was delivered to it. */
	register_file_listener("late", "github.com/acme/replayed", path);
	sleep_ms(300);
	cr_assert_eq(count_state("late", NULL), 0);

	cr_assert_eq(cli(argv, &out, NULL), 0);
	cr_assert_eq(json_num(out, "created"), 5, "%s", out);
	cr_assert_eq(json_num(out, "skipped"), 0, "%s", out);
	cr_assert_eq(json_num(out, "scanned"), 8, "%s", out);
	free(out);
	wait_ok("late", 5);
	cr_assert_eq(file_lines(path), 5);

	/* Again: every one is ok already. */
	cr_assert_eq(cli(argv, &out, NULL), 0);
	cr_assert_eq(json_num(out, "created"), 0, "%s", out);
	cr_assert_eq(json_num(out, "skipped"), 5, "%s", out);
	free(out);
	sleep_ms(300);
	cr_assert_eq(file_lines(path), 5);

	/* --force delivers the ok ones again. */
	cr_assert_eq(cli(force, &out, NULL), 0);
	cr_assert_eq(json_num(out, "created"), 5, "%s", out);
	free(out);
	for (int t = 0; t < 15000 && file_lines(path) < 10; t += 50)
		sleep_ms(50);
	cr_assert_eq(file_lines(path), 10);
	wait_ok("late", 5);

	/* A part of the range, and the summary a person reads. */
	cr_assert_eq(cli(part, &out, NULL), 0);
	cr_assert(strstr(out, "replay of late, seq 2..3: 1 created, 0 skipped "
	    "(already open or ok), 2 scanned") != NULL, "%s", out);
	free(out);
}

/* (e) */
Test(replay, relay_repeats_the_original_webhook_byte_for_byte)
{
	static const int flaky[] = {500, 200};
	static const int fine[] = {200};
	struct receiver *rcv;
	struct received q;
	char secret[256], url[128], v[256], hex[65], *out = NULL;
	char *err = NULL, *fixture;
	size_t flen;
	int port;

	fixture = h_read_file(h_fixture_path("github/push.json"), &flen);
	cr_assert_not_null(fixture);
	cr_assert_eq(h_source_secret(&b, "github", secret, sizeof(secret)), 0);
	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push",
	    "relay-delivery-1", NULL), 202);

	/* A receiver that fails first: the relay retries, then goes on. */
	rcv = receiver_start(flaky, 2, &port);
	cr_assert_not_null(rcv);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	{
		const char *argv[] = {"relay", "--to", url, "--from", "1",
		    "--count", "1", NULL};
		cr_assert_eq(cli(argv, &out, &err), 0, "stderr: %s", err);
	}
	cr_assert(strstr(out, "1 github.com/") != NULL && strstr(out, " 200\n")
	    != NULL, "%s", out);
	cr_assert(strstr(err, "answered 500; retrying") != NULL, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(receiver_count(rcv), 2);
	cr_assert_eq(receiver_get(rcv, 1, &q), 0);
	cr_assert_eq(q.len, flen);
	cr_assert(memcmp(q.body, fixture, flen) == 0, "the body changed");
	cr_assert_eq(received_header(&q, "X-GitHub-Event", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "push");
	cr_assert_eq(received_header(&q, "X-GitHub-Delivery", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "relay-delivery-1");
	cr_assert_eq(received_header(&q, "Content-Type", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "application/json");
	/* The original signature belongs to the broker's secret. */
	cr_assert_neq(received_header(&q, "X-Hub-Signature-256", v, sizeof(v)), 0);
	free(q.body);
	receiver_stop(rcv);

	/* Re-signed for a local secret. */
	rcv = receiver_start(fine, 1, &port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
	{
		const char *argv[] = {"relay", "--to", url, "--from", "1",
		    "--count", "1", "--secret", "local-s3cret", "--json", NULL};
		cr_assert_eq(cli(argv, &out, NULL), 0);
	}
	cr_assert(strstr(out, "\"status\":200") != NULL, "%s", out);
	free(out);
	cr_assert_eq(receiver_get(rcv, 0, &q), 0);
	cr_assert_eq(q.len, flen);
	cr_assert(memcmp(q.body, fixture, flen) == 0);
	h_hmac_hex("local-s3cret", fixture, flen, hex);
	cr_assert_eq(received_header(&q, "X-Hub-Signature-256", v, sizeof(v)), 0);
	cr_assert(strncmp(v, "sha256=", 7) == 0 && strcmp(v + 7, hex) == 0,
	    "signature %s, want sha256=%s", v, hex);
	free(q.body);

	/* Durable: a second relay goes on after the first one's event. */
	cr_assert_eq(h_post_github(&b, secret, "github/push.json", "push",
	    "relay-delivery-2", NULL), 202);
	{
		const char *argv[] = {"relay", "--to", url, "--durable", "dev",
		    "--from", "1", "--count", "1", NULL};
		const char *again[] = {"relay", "--to", url, "--durable", "dev",
		    "--count", "1", NULL};
		uint64_t seq = 0;

		cr_assert_eq(cli(argv, &out, NULL), 0);
		cr_assert(strncmp(out, "1 ", 2) == 0, "%s", out);
		free(out);
		cr_assert_eq(domino_cursor(d, "dev", &seq), DOMINO_OK);
		cr_assert_eq(seq, 1);
		cr_assert_eq(cli(again, &out, NULL), 0);
		cr_assert(strncmp(out, "2 ", 2) == 0, "%s", out);
		free(out);
		cr_assert_eq(domino_cursor(d, "dev", &seq), DOMINO_OK);
		cr_assert_eq(seq, 2);
	}
	cr_assert_eq(receiver_get(rcv, 2, &q), 0);
	cr_assert_eq(received_header(&q, "X-GitHub-Delivery", v, sizeof(v)), 0);
	cr_assert_str_eq(v, "relay-delivery-2");
	free(q.body);
	receiver_stop(rcv);
	free(fixture);
}

static void
wait_first_seq(uint64_t want)
{
	struct domino_stats st = {0};
	uint64_t first = 0;

	for (int t = 0; t < 10000; t += 50) {
		cr_assert_eq(domino_stats(d, &st), DOMINO_OK, "%s", domino_errmsg());
		first = st.first_seq;
		domino_stats_clear(&st);
		if (first == want)
			break;
		sleep_ms(50);
	}
	cr_assert_eq(first, want, "the log starts at %llu, want %llu",
	    (unsigned long long)first, (unsigned long long)want);
}

/* (f) */
Test(retention, trims_and_holds_back)
{
	struct domino_dep dep = {.repo = "github.com/acme/held"};
	struct domino_kv cfg = {.key = "url", .value = "http://127.0.0.1:1/closed"};
	struct domino_registration reg = {.name = "held", .depends_on = &dep,
	    .n_depends_on = 1, .plugin = "http", .config = &cfg, .n_config = 1};
	struct domino_registered ro = {0};
	struct domino_stats st = {0};
	void *buf = NULL;
	size_t len = 0;

	for (int i = 0; i < 30; i++)
		publish("github.com/acme/core");
	wait_first_seq(21);

	/* A listener that cannot be reached keeps what it still needs. */
	cr_assert_eq(domino_registration_pack(&reg, &buf, &len), DOMINO_OK);
	cr_assert_eq(domino_register(d, buf, len, 0, &ro), DOMINO_OK, "%s",
	    domino_errmsg());
	domino_registered_clear(&ro);
	free(buf);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(publish("github.com/acme/held"), 31 + (uint64_t)i);
	for (int i = 0; i < 20; i++)
		publish("github.com/acme/core");
	wait_first_seq(31);
	for (int t = 0; t < 5000; t += 50) {
		cr_assert_eq(domino_stats(d, &st), DOMINO_OK);
		if (st.retention.held_back > 0)
			break;
		domino_stats_clear(&st);
		sleep_ms(50);
	}
	cr_assert_gt(st.retention.held_back, 0);
	cr_assert_eq(st.retention.held_by_seq, 31);
	cr_assert_eq(st.first_seq, 31);
	cr_assert_eq(st.seq, 53);
	domino_stats_clear(&st);
	sleep_ms(500); /* several more passes: still held */
	wait_first_seq(31);

	/* Once it is resolved the events may go. */
	for (uint64_t seq = 31; seq <= 33; seq++)
		cr_assert_eq(domino_resolve(d, "held", seq, "test", NULL),
		    DOMINO_OK, "%s", domino_errmsg());
	wait_first_seq(44);
}

static void
gone_cb(void *arg, uint64_t from, uint64_t to, uint64_t first)
{
	uint64_t *g = arg;

	g[0] = from;
	g[1] = to;
	g[2] = first;
}

static int
gone_event(void *arg, const struct domino_event *ev)
{
	uint64_t *g = arg;

	if (g[3] == 0)
		g[3] = ev->seq;
	g[4]++;
	return 0;
}

/* (g) */
Test(retention, trimmed_range_is_reported_gone)
{
	const char *logv[] = {"log", "--from", "1", "--limit", "1", NULL};
	const char *rpv[] = {"replay", "--listener", "late", "--from", "1",
	    "--json", NULL};
	struct domino_log_query q = {.from = 5, .on_gone = gone_cb};
	struct domino_replay_query rq = {.listener = "late", .from = 1};
	struct domino_replay_result rr;
	struct rec r = REC_INIT;
	uint64_t g[5] = {0};
	char path[400], *out = NULL, *err = NULL;
	domino_sub *s;

	for (int i = 0; i < 30; i++)
		publish("github.com/acme/core");
	wait_first_seq(21);

	cr_assert_eq(domino_log(d, &q, gone_event, g, NULL), DOMINO_OK);
	cr_assert_eq(g[0], 5);
	cr_assert_eq(g[1], 20);
	cr_assert_eq(g[2], 21);
	cr_assert_eq(g[3], 21);
	cr_assert_eq(g[4], 10);

	cr_assert_eq(cli(logv, &out, &err), 0);
	cr_assert(strstr(err, "events 1..20 were trimmed; the log now starts "
	    "at 21") != NULL, "%s", err);
	cr_assert(strncmp(out + strspn(out, " "), "21 ", 3) == 0, "%s", out);
	free(out);
	free(err);

	snprintf(path, sizeof(path), "%s/late.jsonl", b.dir);
	register_file_listener("late", "github.com/acme/core", path);
	cr_assert_eq(domino_replay(d, &rq, NULL, NULL, &rr), DOMINO_OK, "%s",
	    domino_errmsg());
	cr_assert_eq(rr.gone_from, 1);
	cr_assert_eq(rr.gone_to, 20);
	cr_assert_eq(rr.first, 21);
	cr_assert_eq(rr.created, 10);
	cr_assert_eq(cli(rpv, &out, &err), 0);
	cr_assert(strstr(out, "\"gone\":[1,20]") != NULL, "%s", out);
	cr_assert(strstr(err, "events 1..20 were trimmed") != NULL, "%s", err);
	free(out);
	free(err);

	/* A subscriber from seq 1 is told, then gets what is left. */
	s = subscribe(&r, 1, NULL);
	rec_expect(&r, 21, 30);
	cr_assert_eq(r.gap_from, 1);
	cr_assert_eq(r.gap_to, 20);
	cr_assert_eq(r.gaps, 20);
	domino_unsubscribe(s);
	rec_clear(&r);
}
