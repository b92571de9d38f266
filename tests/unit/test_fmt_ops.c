/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the text forms of operator answers (client/fmt_ops.c)
 * from fixed inputs: support-level labels, a delivery's history table,
 * the results roll-up of an event and of a listener, the webhook counter
 * table; and the history in a delivery's JSON line (fmt_listener.c).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "domino.h"
#include "fmt_listener.h"
#include "fmt_ops.h"

static char *out;

static void
utc(void)
{
	setenv("TZ", "UTC", 1);
	out = NULL;
}

static void
done(void)
{
	free(out);
}

TestSuite(fmto, .init = utc, .fini = done);

#define T0 1763726400000000000LL /* 2025-11-21 12:00:00 UTC */

Test(fmto, support_level_labels)
{
	cr_expect_str_eq(domino_fmt_support_level(0), "core");
	cr_expect_str_eq(domino_fmt_support_level(1), "required for release");
	cr_expect_str_eq(domino_fmt_support_level(2), "not required");
	cr_expect_str_eq(domino_fmt_support_level(3), "third party");
	cr_expect_null(domino_fmt_support_level(4));
}

static struct domino_history_entry hist[] = {
	{.time = T0, .attempt = 1, .what = "fail", .status = 1,
	    .detail = "exit 1; output: broken\nbuild\n"},
	{.time = T0 + 5000000000LL, .attempt = 1, .what = "retry",
	    .status = -1, .detail = "admin"},
	{.time = T0 + 65000000000LL, .attempt = 2, .what = "ok",
	    .status = 200, .detail = NULL},
	{.time = T0 + 70000000000LL, .attempt = 2, .what = "resolved",
	    .status = -1, .detail = "admin: done by hand"},
};

Test(fmto, history_table)
{
	struct domino_delivery v = {.listener = "ci", .seq = 7, .state = "ok",
	    .history = hist, .n_history = 4};

	cr_assert_eq(domino_fmt_history_table(&v, &out), DOMINO_OK);
	cr_expect_str_eq(out,
	    "  TIME                 ATTEMPT  WHAT      STATUS  DETAIL\n"
	    "  2025-11-21 12:00:00        1  fail           1  exit 1; output: broken build\n"
	    "  2025-11-21 12:00:05        1  retry          -  admin\n"
	    "  2025-11-21 12:01:05        2  ok           200  -\n"
	    "  2025-11-21 12:01:10        2  resolved       -  admin: done by hand\n");
}

Test(fmto, history_empty_and_bad)
{
	struct domino_delivery v = {.listener = "ci", .seq = 7};

	cr_assert_eq(domino_fmt_history_table(&v, &out), DOMINO_OK);
	cr_expect_str_eq(out, "  (no history)\n");
	free(out);
	v.n_history = 2;
	cr_expect_eq(domino_fmt_history_table(&v, &out), DOMINO_EINVAL);
	cr_expect_null(out);
	cr_expect_eq(domino_fmt_history_table(NULL, &out), DOMINO_EINVAL);
}

Test(fmto, delivery_json_carries_history_when_asked)
{
	struct domino_delivery v = {.listener = "ci", .seq = 7, .state = "ok",
	    .attempt = 2, .history = hist + 1, .n_history = 2};

	cr_assert_eq(domino_fmt_delivery_json(&v, &out), DOMINO_OK);
	cr_expect(strstr(out, ",\"history\":[{\"time\":1763726405000000000,"
	    "\"attempt\":1,\"what\":\"retry\",\"status\":-1,\"detail\":"
	    "\"admin\"},{\"time\":1763726465000000000,\"attempt\":2,"
	    "\"what\":\"ok\",\"status\":200}]}") != NULL, "%s", out);
	free(out);
	v.n_history = 0;
	cr_assert_eq(domino_fmt_delivery_json(&v, &out), DOMINO_OK);
	cr_expect(strstr(out, ",\"history\":[]}") != NULL, "%s", out);
	free(out);
	v.history = NULL;
	cr_assert_eq(domino_fmt_delivery_json(&v, &out), DOMINO_OK);
	cr_expect(strstr(out, "history") == NULL, "%s", out);
}

static const char results_event[] =
    "{\"seq\":42,\"listeners\":["
    "{\"listener\":\"app\",\"support_level\":2,\"delivery\":\"ok\","
    "\"status\":\"fail\",\"report\":{\"status\":\"fail\",\"url\":"
    "\"https://ci/3\",\"detail\":\"\",\"time\":1,\"by\":\"listener app\"}},"
    "{\"listener\":\"core-lib\",\"support_level\":0,\"delivery\":\"ok\","
    "\"status\":\"pass\",\"report\":{\"status\":\"pass\",\"url\":"
    "\"https://ci/1\",\"detail\":\"\",\"time\":1,\"by\":\"admin\"}},"
    "{\"listener\":\"plugin-b\",\"support_level\":1,\"delivery\":\"dead\","
    "\"status\":\"unknown\"},"
    "{\"listener\":\"plugin-c\",\"support_level\":0,\"delivery\":"
    "\"pending\",\"status\":\"pass\",\"report\":{\"status\":\"pass\","
    "\"url\":\"\"}},"
    "{\"listener\":\"vendor\",\"support_level\":3,\"delivery\":\"ok\","
    "\"status\":\"error\",\"report\":{\"status\":\"error\"}},"
    "{\"listener\":\"odd\",\"support_level\":9,\"delivery\":\"ok\","
    "\"status\":\"unknown\"}]}";

Test(fmto, results_event_grouped_by_level)
{
	cr_assert_eq(domino_fmt_results_event(results_event, &out), DOMINO_OK);
	cr_expect_str_eq(out,
	    "  LISTENER  DELIVERY  STATUS   URL\n"
	    "core (level 0)\n"
	    "  core-lib  ok        pass     https://ci/1\n"
	    "  plugin-c  pending   pass     -\n"
	    "required for release (level 1)\n"
	    "  plugin-b  dead      unknown  -\n"
	    "not required (level 2)\n"
	    "  app       ok        fail     https://ci/3\n"
	    "third party (level 3)\n"
	    "  vendor    ok        error    -\n"
	    "other levels\n"
	    "  odd       ok        unknown  -\n"
	    "2 pass, 1 fail, 1 error, 2 not answered\n");
}

Test(fmto, results_event_summary_without_errors)
{
	static const char j[] = "{\"seq\":5,\"listeners\":["
	    "{\"listener\":\"a\",\"support_level\":1,\"delivery\":\"ok\","
	    "\"status\":\"pass\"},"
	    "{\"listener\":\"b\",\"support_level\":1,\"delivery\":\"ok\","
	    "\"status\":\"unknown\"}]}";

	cr_assert_eq(domino_fmt_results_event(j, &out), DOMINO_OK);
	cr_expect(strstr(out, "1 pass, 0 fail, 1 not answered\n") != NULL,
	    "%s", out);
	cr_expect(strstr(out, "core") == NULL, "empty groups are left out: %s",
	    out);
}

Test(fmto, results_event_empty_and_bad)
{
	cr_assert_eq(domino_fmt_results_event("{\"seq\":9,\"listeners\":[]}",
	    &out), DOMINO_OK);
	cr_expect_str_eq(out, "no listener got seq 9\n");
	free(out);
	cr_expect_eq(domino_fmt_results_event("{\"seq\":9}", &out),
	    DOMINO_EINVAL);
	cr_expect_null(out);
	cr_expect_eq(domino_fmt_results_event("not json", &out),
	    DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_results_event(NULL, &out), DOMINO_EINVAL);
}

Test(fmto, results_listener_by_repo)
{
	static const char j[] = "{\"listener\":\"app\",\"dependencies\":["
	    "{\"repo\":\"github.com/org/zlib\",\"seq\":12,\"report\":"
	    "{\"status\":\"fail\",\"url\":\"https://ci/12\",\"time\":"
	    "1763726400000000000}},"
	    "{\"repo\":\"github.com/org/core\",\"seq\":3,\"report\":"
	    "{\"status\":\"pass\",\"url\":\"\",\"time\":1763726465000000000}},"
	    "{\"repo\":\"github.com/org/gone\",\"seq\":1,\"report\":null}]}";

	cr_assert_eq(domino_fmt_results_listener(j, &out), DOMINO_OK);
	cr_expect_str_eq(out,
	    "REPO                 SEQ  STATUS   REPORTED             URL\n"
	    "github.com/org/core    3  pass     2025-11-21 12:01:05  -\n"
	    "github.com/org/gone    1  unknown  -                    -\n"
	    "github.com/org/zlib   12  fail     2025-11-21 12:00:00  https://ci/12\n");
}

Test(fmto, results_listener_empty_and_bad)
{
	cr_assert_eq(domino_fmt_results_listener("{\"listener\":\"app\","
	    "\"dependencies\":[]}", &out), DOMINO_OK);
	cr_expect_str_eq(out, "no reports from app\n");
	free(out);
	cr_expect_eq(domino_fmt_results_listener("[]", &out), DOMINO_EINVAL);
	cr_expect_null(out);
}

Test(fmto, ingest_table)
{
	struct domino_ingest_count c[] = {
		{.source = "github", .status = 202, .count = 1234},
		{.source = "github", .status = 401, .count = 2},
		{.source = "unknown", .status = 404, .count = 1},
		{.source = "gitlab", .status = 202, .count = 7},
		{.source = "github", .status = 200, .count = 3},
	};
	struct domino_stats st = {.ingest = c, .n_ingest = 5};

	cr_assert_eq(domino_fmt_ingest_table(&st, &out), DOMINO_OK);
	cr_expect_str_eq(out,
	    "SOURCE   200   202  401  404\n"
	    "github     3  1234    2    -\n"
	    "unknown    -     -    -    1\n"
	    "gitlab     -     7    -    -\n");
	free(out);
	st.n_ingest = 0;
	cr_assert_eq(domino_fmt_ingest_table(&st, &out), DOMINO_OK);
	cr_expect_str_eq(out, "");
}
