/* SPDX-License-Identifier: MIT */
/*
 * Crash under load: tools/loadgen posts signed GitHub webhooks over many
 * connections while the broker is SIGKILLed at random moments and
 * restarted in place, DOMINO_CRASH_CYCLES times (3 here, 20 and more in
 * `make torture`). Afterwards, through the control socket: every delivery
 * id loadgen saw acknowledged is in the log exactly once, with the seq it
 * was acknowledged with; the seqs run 1..last without a gap; a listener
 * registered before the load got one delivery per event and every one of
 * them completes; and after the last restart the live stream carries
 * exactly what was acknowledged.
 *
 * It prints one "crash:" line of figures for tests/RELIABILITY.md.
 */
#include <criterion/criterion.h>
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

#define LISTENER "crash-audit"
#define REPO "github.com/Codertocat/Hello-World"

static struct broker b;
static char secret[256];

static void
teardown(void)
{
	/* After a failed assertion too: a broker left running would keep
	 * run-tests' output pipe open. */
	h_broker_cleanup(&b);
}

TestSuite(crash, .fini = teardown, .timeout = 900);

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Start loadgen against the broker's current address; its pid. */
static pid_t
loadgen_start(const char *out, const char *prefix, double seconds, int conns)
{
	char secs[32], nconns[16], log[600];
	pid_t pid;

	snprintf(secs, sizeof(secs), "%.2f", seconds);
	snprintf(nconns, sizeof(nconns), "%d", conns);
	snprintf(log, sizeof(log), "%s/loadgen.log", b.dir);
	pid = fork();
	if (pid == 0) {
		FILE *f = freopen(log, "a", stderr);
		const char *args[] = {h_bin("loadgen"), "--url", b.http, "--secret",
		    secret, "--fixture", h_fixture_path("github/push.json"),
		    "--conns", nconns, "--seconds", secs, "--out", out,
		    "--id-prefix", prefix, NULL};

		(void)f;
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	return pid;
}

static int
loadgen_wait(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

struct logmap {
	char **id;     /* id[seq], 1-based */
	size_t cap;
	uint64_t n;    /* events seen */
	uint64_t last; /* highest seq */
	uint64_t out_of_order;
};

static int
on_log(void *arg, const struct domino_event *ev)
{
	struct logmap *m = arg;

	if (ev->seq >= m->cap) {
		size_t nc = (ev->seq + 1) * 2;
		char **np = realloc(m->id, nc * sizeof(*np));

		cr_assert_not_null(np);
		memset(np + m->cap, 0, (nc - m->cap) * sizeof(*np));
		m->id = np;
		m->cap = nc;
	}
	if (ev->seq <= m->last)
		m->out_of_order++;
	cr_assert_null(m->id[ev->seq], "seq %llu read twice",
	    (unsigned long long)ev->seq);
	m->id[ev->seq] = strdup(ev->id ? ev->id : "");
	m->n++;
	m->last = ev->seq;
	return 0;
}

static int
cmp_str(const void *a, const void *b2)
{
	return strcmp(*(char *const *)a, *(char *const *)b2);
}

static void
register_listener(domino *d)
{
	char path[600];
	struct domino_dep dep = {.repo = REPO};
	struct domino_kv cfg[1];
	struct domino_registration r = {.name = LISTENER, .depends_on = &dep,
	    .n_depends_on = 1, .plugin = "file", .config = cfg, .n_config = 1};
	struct domino_registered out = {0};
	void *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/deliveries.jsonl", b.dir);
	cfg[0].key = "path";
	cfg[0].value = path;
	cr_assert_eq(domino_registration_pack(&r, &buf, &len), DOMINO_OK);
	cr_assert_eq(domino_register(d, buf, len, 0, &out), DOMINO_OK, "%s",
	    domino_errmsg());
	free(buf);
	domino_registered_clear(&out);
}

/* Count the listener's deliveries (all) and those `ok`; also check there
 * is exactly one per seq 1..last. */
static void
count_deliveries(domino *d, uint64_t last, uint64_t *all, uint64_t *ok,
    uint64_t *missing)
{
	uint64_t from = 1, expect = 1;

	*all = *ok = *missing = 0;
	for (;;) {
		struct domino_deliveries_query q = {.listener = LISTENER,
		    .from = from, .limit = 1000};
		struct domino_deliveries dl = {0};

		cr_assert_eq(domino_deliveries(d, &q, &dl), DOMINO_OK, "%s",
		    domino_errmsg());
		for (size_t i = 0; i < dl.n; i++) {
			cr_assert_geq(dl.v[i].seq, expect, "delivery seq %llu twice",
			    (unsigned long long)dl.v[i].seq);
			*missing += dl.v[i].seq - expect;
			expect = dl.v[i].seq + 1;
			(*all)++;
			*ok += strcmp(dl.v[i].state, "ok") == 0;
		}
		if (dl.n == 0 || !dl.more) {
			domino_deliveries_clear(&dl);
			break;
		}
		from = dl.v[dl.n - 1].seq + 1;
		domino_deliveries_clear(&dl);
	}
	if (expect <= last)
		*missing += last + 1 - expect;
}

struct live {
	pthread_mutex_t mu;
	uint64_t n, first, last, bad_order;
};

static int
on_live(void *arg, const struct domino_event *ev)
{
	struct live *l = arg;

	pthread_mutex_lock(&l->mu);
	if (l->n == 0)
		l->first = ev->seq;
	else if (ev->seq != l->last + 1)
		l->bad_order++;
	l->last = ev->seq;
	l->n++;
	pthread_mutex_unlock(&l->mu);
	return 0;
}

Test(crash, sigkill_under_load_loses_nothing)
{
	const char *env = getenv("DOMINO_CRASH_CYCLES");
	int cycles = env ? atoi(env) : 3;
	char acks[600], prefix[64], line[512];
	domino *d = NULL;
	struct domino_opts o = {0};
	struct logmap m = {0};
	FILE *f;
	uint64_t n_acks = 0, lost = 0, wrong_seq = 0, dup_ids = 0;
	uint64_t all, ok, missing;
	uint64_t live_acked = 0;
	struct live lv = {.mu = PTHREAD_MUTEX_INITIALIZER};
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	time_t t0 = time(NULL);

	if (env != NULL && getenv("DOMINO_CRASH_SEED") != NULL)
		seed = (unsigned)atoi(getenv("DOMINO_CRASH_SEED"));
	srand(seed);
	cr_assert_eq(h_broker_start(&b, "heartbeat: 100ms\n"), 0);
	cr_assert_eq(h_source_secret(&b, "github", secret, sizeof(secret)), 0);
	snprintf(acks, sizeof(acks), "%s/acks.txt", b.dir);
	o.control = b.control;
	o.token = b.token;
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
	register_listener(d);
	domino_close(d);

	for (int c = 0; c < cycles; c++) {
		/* Kill somewhere between 0.3 s and 1.5 s into the run; the
		 * last 0.4 s of the run hammer a dead port. */
		int kill_ms = 300 + rand() % 1200;
		pid_t lg;

		snprintf(prefix, sizeof(prefix), "c%d-%u", c, seed);
		lg = loadgen_start(acks, prefix, kill_ms / 1000.0 + 0.4, 8);
		cr_assert_gt(lg, 0);
		sleep_ms(kill_ms);
		h_broker_kill(&b);
		cr_assert_eq(loadgen_wait(lg), 0, "loadgen failed in cycle %d "
		    "(see %s/loadgen.log)", c, b.dir);
		cr_assert_eq(h_broker_restart(&b), 0, "restart %d failed", c + 1);
	}

	/* After the last restart: the live stream carries exactly what is
	 * acknowledged now. */
	o.control = b.control;
	o.token = b.token;
	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
	{
		struct domino_sub_opts so = {.on_event = on_live, .arg = &lv,
		    .heartbeat_ms = 100};
		domino_sub *s;
		char live_acks[600];
		pid_t lg;

		snprintf(live_acks, sizeof(live_acks), "%s/live-acks.txt", b.dir);
		cr_assert_eq(domino_subscribe(d, &so, &s), DOMINO_OK, "%s",
		    domino_errmsg());
		cr_assert_eq(domino_sub_wait_ready(s, 10000), DOMINO_OK);
		snprintf(prefix, sizeof(prefix), "live-%u", seed);
		lg = loadgen_start(live_acks, prefix, 1.0, 4);
		cr_assert_eq(loadgen_wait(lg), 0);
		f = fopen(live_acks, "r");
		cr_assert_not_null(f);
		while (fgets(line, sizeof(line), f) != NULL)
			live_acked++;
		fclose(f);
		for (int i = 0; i < 100; i++) {
			struct domino_stats st = {0};
			int done;

			cr_assert_eq(domino_stats(d, &st), DOMINO_OK);
			pthread_mutex_lock(&lv.mu);
			done = lv.last >= st.seq;
			pthread_mutex_unlock(&lv.mu);
			domino_stats_clear(&st);
			if (done)
				break;
			sleep_ms(100);
		}
		domino_unsubscribe(s);
		cr_assert_eq(lv.bad_order, 0, "live stream out of order");
		cr_assert_eq(lv.n, live_acked, "live stream saw %llu events, "
		    "%llu acknowledged", (unsigned long long)lv.n,
		    (unsigned long long)live_acked);
	}
	/* The acks of the live phase go into the same check. */
	{
		char cmd[1400];
		snprintf(cmd, sizeof(cmd), "cat %s/live-acks.txt >> %s", b.dir, acks);
		cr_assert_eq(system(cmd), 0);
	}

	cr_assert_eq(domino_log(d, NULL, on_log, &m, NULL), DOMINO_OK, "%s",
	    domino_errmsg());
	cr_assert_eq(m.out_of_order, 0);
	for (uint64_t s = 1; s <= m.last; s++)
		cr_assert_not_null(m.id[s], "seq %llu missing from the log (last %llu)",
		    (unsigned long long)s, (unsigned long long)m.last);
	cr_assert_eq(m.n, m.last, "%llu events for seqs 1..%llu",
	    (unsigned long long)m.n, (unsigned long long)m.last);

	/* Every id at most once in the log. */
	{
		char **ids = malloc((m.n + 1) * sizeof(*ids));
		uint64_t k = 0;

		for (uint64_t s = 1; s <= m.last; s++)
			ids[k++] = m.id[s];
		qsort(ids, k, sizeof(*ids), cmp_str);
		for (uint64_t i = 1; i < k; i++)
			dup_ids += strcmp(ids[i - 1], ids[i]) == 0;
		free(ids);
	}

	f = fopen(acks, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		char id[256];
		unsigned long long seq;

		if (sscanf(line, "%255s %llu", id, &seq) != 2)
			continue;
		n_acks++;
		if (seq == 0 || seq > m.last || m.id[seq] == NULL)
			lost++;
		else if (strcmp(m.id[seq], id) != 0)
			wrong_seq++;
	}
	fclose(f);

	/* Every event reaches the listener, and every delivery completes:
	 * wait as long as deliveries keep completing (torture runs make tens
	 * of thousands), and give up after 20 s without progress. */
	{
		uint64_t prev = 0;
		time_t progress = time(NULL);

		for (;;) {
			count_deliveries(d, m.last, &all, &ok, &missing);
			if (ok == all && missing == 0)
				break;
			if (ok > prev) {
				prev = ok;
				progress = time(NULL);
			} else if (time(NULL) - progress > 20) {
				break;
			}
			sleep_ms(200);
		}
	}

	printf("crash: cycles=%d seed=%u events_acknowledged=%llu "
	    "events_in_log=%llu lost=%llu wrong_seq=%llu duplicate_ids=%llu "
	    "deliveries=%llu ok=%llu missing=%llu live=%llu seconds=%ld\n",
	    cycles, seed, (unsigned long long)n_acks, (unsigned long long)m.n,
	    (unsigned long long)lost, (unsigned long long)wrong_seq,
	    (unsigned long long)dup_ids, (unsigned long long)all,
	    (unsigned long long)ok, (unsigned long long)missing,
	    (unsigned long long)live_acked, (long)(time(NULL) - t0));
	fflush(stdout);
	cr_assert_gt(n_acks, 0, "loadgen got no acknowledgement at all");
	cr_assert_eq(lost, 0, "%llu acknowledged events lost", (unsigned long long)lost);
	cr_assert_eq(wrong_seq, 0, "%llu acknowledged with another seq",
	    (unsigned long long)wrong_seq);
	cr_assert_eq(dup_ids, 0, "%llu delivery ids stored twice",
	    (unsigned long long)dup_ids);
	cr_assert_eq(missing, 0, "%llu events without a delivery",
	    (unsigned long long)missing);
	cr_assert_eq(ok, all, "%llu of %llu deliveries ok",
	    (unsigned long long)ok, (unsigned long long)all);

	for (uint64_t s = 0; s < m.cap; s++)
		free(m.id[s]);
	free(m.id);
	domino_close(d);
	cr_assert_eq(h_broker_stop(&b), 0, "the broker did not exit cleanly");
	h_broker_cleanup(&b);
}
