/* SPDX-License-Identifier: MIT */
/*
 * The operator and listener commands end to end, through the real `domino`
 * CLI against the real dominod: listeners registered from flags and from a
 * YAML file (exec plugin), a failing one going dead, `deliveries --state`,
 * `retry --all-dead`, `resolve` with its reason in `--history`, `report`
 * with the listener's own token, the `results` roll-up, `disable` and
 * `enable`, and the new `status` counters.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define REPO "github.com/acme/lib"

static struct broker b;

static void
setup(void)
{
	cr_assert_eq(h_broker_start(&b, "heartbeat: 100ms\n"), 0,
	    "dominod did not start");
}

static void
teardown(void)
{
	h_broker_cleanup(&b);
}

TestSuite(cli_ops, .init = setup, .fini = teardown, .timeout = 60);

/* Run the CLI; its exit status, stdout in *out (always set; free it). */
static int
cli(char **out, const char *const *argv)
{
	int rc = h_cli(&b, argv, out);

	cr_assert_not_null(*out);
	return rc;
}

/* Run the CLI expecting success; returns its stdout (free it). */
static char *
cli_ok(const char *const *argv)
{
	char *out = NULL;
	int rc = cli(&out, argv);

	cr_assert_eq(rc, 0, "domino %s %s: exit %d, output:\n%s", argv[0],
	    argv[1] ? argv[1] : "", rc, out);
	return out;
}

static cJSON *
parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	cr_assert_not_null(j, "not JSON: %s", text);
	return j;
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	cr_assert(cJSON_IsNumber(v), "no number %s", key);
	return v->valuedouble;
}

/* The token of a `register --json` answer. */
static void
token_of(const char *out, char *tok, size_t cap)
{
	cJSON *j = parse(out);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "token");

	cr_assert(cJSON_IsString(t), "no token in %s", out);
	snprintf(tok, cap, "%s", t->valuestring);
	cJSON_Delete(j);
}

/* Poll `deliveries --listener L --seq S --json` until its state is want;
 * 0 when it got there within 15 s. */
static int
wait_state(const char *listener, const char *seq, const char *want)
{
	const char *argv[] = {"deliveries", "--listener", listener, "--seq",
	    seq, "--json", NULL};
	char pat[64];

	snprintf(pat, sizeof(pat), "\"state\":\"%s\"", want);
	for (int i = 0; i < 150; i++) {
		char *out = cli_ok(argv);
		int hit = strstr(out, pat) != NULL;

		free(out);
		if (hit)
			return 0;
		usleep(100 * 1000);
	}
	return -1;
}

static const char bad_yaml[] =
    "name: bad\n"
    "depends_on: [" REPO "]\n"
    "support_level: 1\n"
    "callback:\n"
    "  plugin: exec\n"
    "  config:\n"
    "    command: /bin/sh\n"
    "    args: [\"-c\", \"echo broken build >&2; exit 1\"]\n"
    "retry:\n"
    "  schedule: [\"0s\"]\n"
    "  max_attempts: 1\n";

Test(cli_ops, deliveries_by_hand_results_and_status)
{
	char good_tok[128], bad_tok[128], path[400], seq[24], *out;
	cJSON *j;
	FILE *f;

	/* good (level 0) from flags, bad (level 1) from YAML, third
	 * (level 3) from flags and never reporting. */
	out = cli_ok((const char *[]){"register", "--name", "good",
	    "--depends-on", REPO, "--plugin", "exec", "--config",
	    "command=/bin/true", "--support-level", "0", "--json", NULL});
	token_of(out, good_tok, sizeof(good_tok));
	free(out);
	snprintf(path, sizeof(path), "%s/bad.yaml", b.dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(bad_yaml, f);
	fclose(f);
	out = cli_ok((const char *[]){"register", path, "--json", NULL});
	token_of(out, bad_tok, sizeof(bad_tok));
	free(out);
	free(cli_ok((const char *[]){"register", "--name", "third",
	    "--depends-on", REPO, "--plugin", "exec", "--config",
	    "command=/bin/true", "--support-level", "3", NULL}));

	out = cli_ok((const char *[]){"publish", "--repo", REPO, "--ref",
	    "main", "--json", NULL});
	j = parse(out);
	snprintf(seq, sizeof(seq), "%.0f", num(j, "seq"));
	cJSON_Delete(j);
	free(out);

	/* bad fails once and is dead: `deliveries --state dead` lists it. */
	cr_assert_eq(wait_state("bad", seq, "dead"), 0, "bad never went dead");
	out = cli_ok((const char *[]){"deliveries", "--state", "dead", NULL});
	cr_expect(strstr(out, "LISTENER") != NULL && strstr(out, "bad") !=
	    NULL && strstr(out, "good") == NULL, "%s", out);
	free(out);

	/* retry --all-dead revives exactly that one; it fails again. */
	out = cli_ok((const char *[]){"retry", "--listener", "bad",
	    "--all-dead", "--json", NULL});
	j = parse(out);
	cr_expect_eq(num(j, "changed"), 1, "%s", out);
	cJSON_Delete(j);
	free(out);
	cr_assert_eq(wait_state("bad", seq, "dead"), 0);

	/* resolve: ok by hand, with who and why in the history. */
	out = cli_ok((const char *[]){"resolve", "--listener", "bad", "--seq",
	    seq, "--reason", "fixed upstream by hand", "--json", NULL});
	j = parse(out);
	cr_expect_eq(num(j, "changed"), 1, "%s", out);
	cJSON_Delete(j);
	free(out);
	out = cli_ok((const char *[]){"deliveries", "--listener", "bad",
	    "--seq", seq, "--history", NULL});
	cr_expect(strstr(out, "TIME") != NULL && strstr(out, "DETAIL") != NULL,
	    "%s", out);
	cr_expect(strstr(out, "resolved") != NULL &&
	    strstr(out, "admin: fixed upstream by hand") != NULL, "%s", out);
	cr_expect(strstr(out, "retry") != NULL && strstr(out, "fail") != NULL,
	    "%s", out);
	cr_expect(strstr(out, "broken build") != NULL, "stderr tail: %s", out);
	free(out);
	out = cli_ok((const char *[]){"deliveries", "--listener", "bad",
	    "--seq", seq, "--history", "--json", NULL});
	j = parse(out);
	{
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "history");
		const cJSON *last = cJSON_GetArrayItem(h, cJSON_GetArraySize(h) - 1);

		cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(j,
		    "state")->valuestring, "ok");
		cr_assert(cJSON_IsArray(h) && cJSON_GetArraySize(h) >= 3, "%s",
		    out);
		cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(last,
		    "what")->valuestring, "resolved");
	}
	cJSON_Delete(j);
	free(out);

	/* Reports with the listeners' own tokens; not with another's. */
	cr_assert_eq(wait_state("good", seq, "ok"), 0);
	out = cli_ok((const char *[]){"report", "--listener", "good", "--seq",
	    seq, "--status", "pass", "--url", "https://ci.example/runs/7",
	    "--token", good_tok, "--json", NULL});
	cr_expect(strstr(out, "\"status\":\"pass\"") != NULL, "%s", out);
	free(out);
	cr_expect_eq(cli(&out, (const char *[]){"report", "--listener", "good",
	    "--seq", seq, "--status", "fail", "--token", bad_tok, NULL}), 1);
	free(out);
	free(cli_ok((const char *[]){"report", "--listener", "bad", "--seq",
	    seq, "--status", "fail", "--detail", "3 tests failed",
	    "--token", bad_tok, NULL}));
	cr_expect_eq(cli(&out, (const char *[]){"report", "--listener", "good",
	    "--seq", "999", "--status", "pass", "--token", good_tok, NULL}), 1,
	    "a report needs a delivery of that seq");
	free(out);

	/* results --seq: grouped by level, with the summary. */
	out = cli_ok((const char *[]){"results", "--seq", seq, NULL});
	cr_expect(strstr(out, "core (level 0)") != NULL, "%s", out);
	cr_expect(strstr(out, "required for release (level 1)") != NULL, "%s",
	    out);
	cr_expect(strstr(out, "third party (level 3)") != NULL, "%s", out);
	cr_expect(strstr(out, "https://ci.example/runs/7") != NULL, "%s", out);
	cr_expect(strstr(out, "unknown") != NULL, "%s", out);
	cr_expect(strstr(out, "1 pass, 1 fail, 1 not answered\n") != NULL,
	    "%s", out);
	cr_expect(strstr(out, "core (level 0)") < strstr(out, "third party"),
	    "%s", out);
	free(out);
	out = cli_ok((const char *[]){"results", "--seq", seq, "--json",
	    NULL});
	j = parse(out);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j,
	    "listeners")), 3, "%s", out);
	cJSON_Delete(j);
	free(out);
	out = cli_ok((const char *[]){"results", "--listener", "good",
	    "--token", good_tok, NULL});
	cr_expect(strstr(out, REPO) != NULL && strstr(out, "pass") != NULL,
	    "%s", out);
	free(out);
	cr_expect_eq(cli(&out, (const char *[]){"results", "--seq", seq,
	    "--token", good_tok, NULL}), 1, "event roll-up is admin only");
	free(out);

	/* disable / enable. */
	out = cli_ok((const char *[]){"disable", "good", "--json", NULL});
	cr_expect(strstr(out, "\"changed\":1") != NULL, "%s", out);
	free(out);
	out = cli_ok((const char *[]){"disable", "good", NULL});
	cr_expect(strstr(out, "was already disabled") != NULL, "%s", out);
	free(out);
	out = cli_ok((const char *[]){"listeners", NULL});
	cr_expect(strstr(out, "good (disabled)") != NULL, "%s", out);
	free(out);
	cr_expect_eq(cli(&out, (const char *[]){"enable", "good", "--token",
	    good_tok, NULL}), 1, "enable needs the admin token");
	free(out);
	out = cli_ok((const char *[]){"enable", "good", NULL});
	cr_expect_str_eq(out, "listener good enabled\n");
	free(out);

	/* status: the delivery, retention and ingest counters. */
	cr_expect_eq(h_request(&b, "POST", "/hooks/nosuch", NULL, "{}", 2,
	    NULL), 404);
	out = cli_ok((const char *[]){"status", "--json", NULL});
	j = parse(out);
	{
		const cJSON *dl = cJSON_GetObjectItemCaseSensitive(j,
		    "deliveries");
		const cJSON *rt = cJSON_GetObjectItemCaseSensitive(j,
		    "retention");
		const cJSON *in = cJSON_GetObjectItemCaseSensitive(j, "ingest");

		cr_expect_geq(num(dl, "dispatched"), 4, "%s", out);
		cr_expect_geq(num(dl, "ok"), 2, "%s", out);
		cr_expect_geq(num(dl, "dead"), 2, "%s", out);
		cr_expect_geq(num(dl, "in_flight"), 0);
		cr_expect_geq(num(dl, "retried"), 0);
		cr_expect_geq(num(rt, "trimmed"), 0, "%s", out);
		cr_expect_geq(num(rt, "held_back"), 0);
		cr_expect_geq(num(rt, "held_by_seq"), 0);
		cr_expect_geq(num(j, "trimmed_before"), 0);
		cr_expect(cJSON_IsArray(in) && cJSON_GetArraySize(in) >= 1,
		    "%s", out);
		cr_expect(strstr(out, "\"source\":\"unknown\",\"status\":404,"
		    "\"count\":1") != NULL, "%s", out);
	}
	cJSON_Delete(j);
	free(out);
	out = cli_ok((const char *[]){"status", NULL});
	cr_expect(strstr(out, "deliveries ") != NULL && strstr(out,
	    " dead") != NULL, "%s", out);
	cr_expect(strstr(out, "retention ") != NULL, "%s", out);
	cr_expect(strstr(out, "ingest\n  SOURCE") != NULL && strstr(out,
	    "404") != NULL && strstr(out, "unknown") != NULL, "%s", out);
	free(out);

	cr_expect_eq(h_broker_stop(&b), 0);
}

Test(cli_ops, usage_errors_exit_2)
{
	const char *const *cases[] = {
		(const char *[]){"retry", "--listener", "x", NULL},
		(const char *[]){"retry", "--listener", "x", "--seq", "1",
		    "--all-dead", NULL},
		(const char *[]){"resolve", "--listener", "x", "--seq", "1",
		    NULL},
		(const char *[]){"report", "--listener", "x", "--seq", "1",
		    "--status", "maybe", NULL},
		(const char *[]){"results", NULL},
		(const char *[]){"results", "--seq", "0", NULL},
		(const char *[]){"enable", NULL},
		(const char *[]){"disable", "a", "b", NULL},
		(const char *[]){"deliveries", "--seq", "x", NULL},
	};
	char *out;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(cli(&out, cases[i]), 2, "case %zu (%s)", i,
		    cases[i][0]);
		free(out);
	}
	cr_expect_eq(cli(&out, (const char *[]){"enable", "nobody", NULL}), 1);
	free(out);
}
