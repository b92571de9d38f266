/* SPDX-License-Identifier: MIT */
/*
 * Disk full: the broker's data directory on an 8 MiB tmpfs (needs root and
 * mount(2); skipped with a message otherwise). A 2 MiB filler file is put
 * there first. Large signed webhooks are posted until ingest answers 503;
 * the answer must say why (the disk is full), every event acknowledged
 * before must still read back after a restart, and once the filler is
 * deleted ingest must work again without a restart.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"

#define PAD (256 * 1024)

static struct broker b;
static char secret[256];
static char *body;
static size_t body_len;
static int mounted;

TestSuite(diskfull, .timeout = 300);

static long
post_big(const char *id, char **resp)
{
	char hmac[65], sig[128], del[160], url[256];
	const char *hdrs[] = {"Content-Type: application/json",
	    "X-GitHub-Event: push", sig, del, NULL};

	h_hmac_hex(secret, body, body_len, hmac);
	snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hmac);
	snprintf(del, sizeof(del), "X-GitHub-Delivery: %s", id);
	snprintf(url, sizeof(url), "%s/hooks/github", b.http);
	return h_post(url, hdrs, body, body_len, resp);
}

static int
count_event(void *arg, const struct domino_event *ev)
{
	uint64_t *n = arg;

	(void)ev;
	(*n)++;
	return 0;
}

static uint64_t
log_count(void)
{
	domino *d;
	struct domino_opts o = {.control = b.control, .token = b.token};
	uint64_t n = 0;

	cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
	cr_assert_eq(domino_log(d, NULL, count_event, &n, NULL), DOMINO_OK, "%s",
	    domino_errmsg());
	domino_close(d);
	return n;
}

static void
teardown(void)
{
	if (b.pid > 0)
		h_broker_kill(&b);
	if (mounted)
		umount2(b.data, MNT_DETACH);
	free(body);
	h_broker_cleanup(&b);
}

Test(diskfull, full_disk_answers_503_loses_nothing_and_recovers,
    .fini = teardown)
{
	char cmd[1400], filler[400], id[64], *resp = NULL, *fixture;
	size_t flen;
	FILE *f;
	long st = 0;
	int acked = 0, full_at = -1;
	uint64_t n;

	if (geteuid() != 0) {
		cr_skip_test("disk-full test skipped: needs root to mount a "
		    "small tmpfs (running as uid %d)", (int)geteuid());
	}
	cr_assert_eq(h_broker_start(&b, NULL), 0);
	cr_assert_eq(h_source_secret(&b, "github", secret, sizeof(secret)), 0);
	cr_assert_eq(h_broker_stop(&b), 0);
	/* Move the fresh data dir (secrets, token, empty log) onto a tmpfs. */
	snprintf(cmd, sizeof(cmd), "mv %s %s.orig && mkdir %s", b.data, b.data,
	    b.data);
	cr_assert_eq(system(cmd), 0);
	if (mount("tmpfs", b.data, "tmpfs", 0, "size=8m,mode=0700") != 0) {
		cr_skip_test("disk-full test skipped: mount -t tmpfs failed: %s "
		    "(no CAP_SYS_ADMIN in this container?)", strerror(errno));
	}
	mounted = 1;
	snprintf(cmd, sizeof(cmd), "cp -a %s.orig/. %s/", b.data, b.data);
	cr_assert_eq(system(cmd), 0);
	snprintf(filler, sizeof(filler), "%s/filler", b.data);
	snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s bs=1M count=2 "
	    "status=none", filler);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(h_broker_restart(&b), 0, "no restart on the tmpfs");

	fixture = h_read_file(h_fixture_path("github/push.json"), &flen);
	cr_assert_not_null(fixture);
	/* Trailing whitespace keeps it valid JSON and makes it big. */
	body_len = flen + PAD;
	body = malloc(body_len);
	memcpy(body, fixture, flen);
	memset(body + flen, ' ', PAD);
	free(fixture);

	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "big-%d", i);
		free(resp);
		resp = NULL;
		st = post_big(id, &resp);
		if (st == 202) {
			acked++;
			continue;
		}
		full_at = i;
		break;
	}
	cr_assert_eq(st, 503, "after %d events: status %ld, body %s", acked, st,
	    resp ? resp : "");
	cr_assert_gt(acked, 0);
	printf("diskfull: acknowledged=%d before 503 at request %d: %s\n", acked,
	    full_at, resp);
	fflush(stdout);
	cr_assert_eq(kill(b.pid, 0), 0, "the broker died on a full disk");
	/* Nothing acknowledged is lost while full. */
	cr_assert_eq(log_count(), (uint64_t)acked);

	/* Free the space: ingest works again, without a restart. */
	cr_assert_eq(unlink(filler), 0);
	for (int i = 0; i < 50; i++) {
		free(resp);
		resp = NULL;
		st = post_big("after-free", &resp);
		if (st == 202)
			break;
		usleep(200000);
	}
	cr_assert_eq(st, 202, "after freeing space: status %ld, body %s", st,
	    resp ? resp : "");
	acked++;

	/* And everything is still there after a restart. */
	cr_assert_eq(h_broker_stop(&b), 0);
	cr_assert_eq(h_broker_restart(&b), 0);
	n = log_count();
	cr_assert_eq(n, (uint64_t)acked, "%llu events in the log, %d acknowledged",
	    (unsigned long long)n, acked);
	/* The reason is checked last, so a vague message does not hide the
	 * checks above. */
	cr_expect(resp != NULL, "no body");
	free(resp);
	resp = NULL;
	{
		/* Fill again to read the 503 body once more and check its words. */
		f = fopen(filler, "w");
		cr_assert_not_null(f);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s bs=1M count=8 "
		    "status=none 2>/dev/null", filler);
		(void)system(cmd);
		for (int i = 0; i < 50; i++) {
			snprintf(id, sizeof(id), "again-%d", i);
			free(resp);
			resp = NULL;
			st = post_big(id, &resp);
			if (st != 202)
				break;
		}
		cr_assert_eq(st, 503);
		cr_expect(strstr(resp, "space") != NULL || strstr(resp, "full") != NULL,
		    "the 503 does not say the disk is full: %s", resp);
		free(resp);
	}
	cr_assert_eq(h_broker_stop(&b), 0);
}
