/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of libdomino's text helpers (client/fmt.c) that the `domino`
 * CLI prints with: number and time parsing, the one-line event format, and
 * the JSON forms of an event and of the stats.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domino.h"
#include "fmt.h"

#define NS INT64_C(1000000000)

static void
utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

TestSuite(fmt, .init = utc);

Test(fmt, parse_u64)
{
	uint64_t v = 0;

	cr_expect_eq(domino_fmt_parse_u64("0", &v), DOMINO_OK);
	cr_expect_eq(v, 0);
	cr_expect_eq(domino_fmt_parse_u64("18446744073709551615", &v),
	    DOMINO_OK);
	cr_expect_eq(v, UINT64_MAX);
	cr_expect_eq(domino_fmt_parse_u64("18446744073709551616", &v),
	    DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_u64("-1", &v), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_u64(" 1", &v), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_u64("12x", &v), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_u64("", &v), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_u64(NULL, &v), DOMINO_EINVAL);
}

Test(fmt, parse_time_rfc3339)
{
	int64_t t = 0;

	cr_assert_eq(domino_fmt_parse_time("2026-11-21T12:00:00Z", 0, &t),
	    DOMINO_OK);
	cr_expect_eq(t, INT64_C(1795262400) * NS);
	cr_assert_eq(domino_fmt_parse_time("2026-11-21 12:00:00.25Z", 0, &t),
	    DOMINO_OK);
	cr_expect_eq(t, INT64_C(1795262400) * NS + NS / 4);
	cr_assert_eq(domino_fmt_parse_time("2026-11-21T14:00:00+02:00", 0,
	    &t), DOMINO_OK);
	cr_expect_eq(t, INT64_C(1795262400) * NS);
	cr_assert_eq(domino_fmt_parse_time("2026-11-21T11:30:00-00:30", 0,
	    &t), DOMINO_OK);
	cr_expect_eq(t, INT64_C(1795262400) * NS);
	cr_assert_eq(domino_fmt_parse_time("2026-11-21", 0, &t), DOMINO_OK);
	cr_expect_eq(t, INT64_C(1795219200) * NS);
	/* No zone: local time, which the suite sets to UTC. */
	cr_assert_eq(domino_fmt_parse_time("2026-11-21T12:00", 0, &t),
	    DOMINO_OK);
	cr_expect_eq(t, INT64_C(1795262400) * NS);

	cr_expect_eq(domino_fmt_parse_time("2026-13-01", 0, &t),
	    DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_time("2026-11-21T25:00:00Z", 0, &t),
	    DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_time("2026-11-21T12:00:00Zjunk", 0,
	    &t), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_time("2026-11-21T12:00:00.Z", 0, &t),
	    DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_time("2026-1-21", 0, &t),
	    DOMINO_EINVAL);
}

Test(fmt, parse_time_unix_and_relative)
{
	int64_t now = INT64_C(1795262400) * NS, t = 0;

	cr_assert_eq(domino_fmt_parse_time("1795262400", now, &t), DOMINO_OK);
	cr_expect_eq(t, now);
	cr_assert_eq(domino_fmt_parse_time("90s", now, &t), DOMINO_OK);
	cr_expect_eq(t, now - 90 * NS);
	cr_assert_eq(domino_fmt_parse_time("30m", now, &t), DOMINO_OK);
	cr_expect_eq(t, now - 1800 * NS);
	cr_assert_eq(domino_fmt_parse_time("1h", now, &t), DOMINO_OK);
	cr_expect_eq(t, now - 3600 * NS);
	cr_assert_eq(domino_fmt_parse_time("2d", now, &t), DOMINO_OK);
	cr_expect_eq(t, now - 2 * 86400 * NS);
	cr_assert_eq(domino_fmt_parse_time("1w", now, &t), DOMINO_OK);
	cr_expect_eq(t, now - 7 * 86400 * NS);
	/* Older than the epoch clamps to 0 rather than going negative. */
	cr_assert_eq(domino_fmt_parse_time("3000w", now, &t), DOMINO_OK);
	cr_expect_eq(t, 0);

	cr_expect_eq(domino_fmt_parse_time("h", now, &t), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_time("5y", now, &t), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_time("-5m", now, &t), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_time("", now, &t), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_time("99999999999999999999s", now, &t),
	    DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_parse_time("99999999999", now, &t),
	    DOMINO_EINVAL);
}

Test(fmt, time_and_duration)
{
	char buf[64];

	cr_expect_str_eq(domino_fmt_time(INT64_C(1795262400) * NS + 5, buf,
	    sizeof(buf)), "2026-11-21 12:00:00");
	cr_expect_str_eq(domino_fmt_time(0, buf, sizeof(buf)), "-");
	cr_expect_str_eq(domino_fmt_duration(0, buf, sizeof(buf)), "0s");
	cr_expect_str_eq(domino_fmt_duration(999, buf, sizeof(buf)), "0s");
	cr_expect_str_eq(domino_fmt_duration(61000, buf, sizeof(buf)),
	    "1m 1s");
	cr_expect_str_eq(domino_fmt_duration(93784000, buf, sizeof(buf)),
	    "1d 2h 3m 4s");
	cr_expect_str_eq(domino_fmt_duration(7200000, buf, sizeof(buf)), "2h");
	/* A short buffer truncates but stays terminated. */
	cr_expect_str_eq(domino_fmt_duration(93784000, buf, 6), "1d 2h");
}

static void
sample(struct domino_event *ev)
{
	static const char body[] = "{\"ref\": \"refs/heads/main\"}\n";

	domino_event_init(ev);
	ev->seq = 42;
	ev->time = INT64_C(1795262400) * NS + 123456789;
	cr_assert_eq(domino_event_set(&ev->id, "d-1", (size_t)-1), DOMINO_OK);
	domino_event_set(&ev->source, "github", (size_t)-1);
	domino_event_set(&ev->event, "push", (size_t)-1);
	domino_event_set(&ev->type, "push", (size_t)-1);
	domino_event_set(&ev->repo, "github.com/org/core", (size_t)-1);
	domino_event_set(&ev->ref, "refs/heads/main", (size_t)-1);
	domino_event_set(&ev->before,
	    "0123456789abcdef0123456789abcdef01234567", (size_t)-1);
	domino_event_set(&ev->after,
	    "fedcba9876543210fedcba9876543210fedcba98", (size_t)-1);
	domino_event_set(&ev->actor, "octocat", (size_t)-1);
	domino_event_add_header(ev, "X-GitHub-Event", "push");
	domino_event_add_depends_on(ev, "github.com/org/lib#12");
	ev->payload = malloc(sizeof(body) - 1);
	memcpy(ev->payload, body, sizeof(body) - 1);
	ev->payload_len = sizeof(body) - 1;
}

Test(fmt, event_line)
{
	struct domino_event ev;
	char *line = NULL;

	sample(&ev);
	cr_assert_eq(domino_fmt_event_line(&ev, &line), DOMINO_OK);
	cr_expect_str_eq(line,
	    "    42  2026-11-21 12:00:00  github     push          "
	    "github.com/org/core           refs/heads/main     "
	    "0123456..fedcba9  octocat");
	free(line);

	/* Absent fields print as '-'; a ref creation has no before. */
	free(ev.before);
	ev.before = NULL;
	free(ev.actor);
	ev.actor = NULL;
	free(ev.ref);
	ev.ref = NULL;
	cr_assert_eq(domino_fmt_event_line(&ev, &line), DOMINO_OK);
	cr_expect(strstr(line, "  -                   -..fedcba9        -")
	    != NULL,
	    "got '%s'", line);
	free(line);

	free(ev.after);
	ev.after = NULL;
	cr_assert_eq(domino_fmt_event_line(&ev, &line), DOMINO_OK);
	cr_expect(strstr(line, "  -                   -                 -")
	    != NULL, "got '%s'", line);
	free(line);

	cr_assert_eq(domino_fmt_event_line(NULL, &line), DOMINO_OK);
	cr_expect(strncmp(line, "   SEQ  TIME", 12) == 0, "got '%s'", line);
	free(line);
	domino_event_clear(&ev);
}

Test(fmt, event_json)
{
	struct domino_event ev;
	char *js = NULL;

	sample(&ev);
	cr_assert_eq(domino_fmt_event_json(&ev, 0, &js), DOMINO_OK);
	cr_expect_str_eq(js,
	    "{\"seq\":42,\"id\":\"d-1\",\"time\":1795262400123456789,"
	    "\"source\":\"github\",\"event\":\"push\",\"type\":\"push\","
	    "\"repo\":\"github.com/org/core\",\"ref\":\"refs/heads/main\","
	    "\"before\":\"0123456789abcdef0123456789abcdef01234567\","
	    "\"after\":\"fedcba9876543210fedcba9876543210fedcba98\","
	    "\"actor\":\"octocat\","
	    "\"depends_on\":[\"github.com/org/lib#12\"],"
	    "\"headers\":{\"X-GitHub-Event\":\"push\"}}");
	free(js);

	/* A JSON payload is embedded as JSON. */
	cr_assert_eq(domino_fmt_event_json(&ev, 1, &js), DOMINO_OK);
	cr_expect(strstr(js, ",\"payload\":{\"ref\":\"refs/heads/main\"}}")
	    != NULL, "got %s", js);
	free(js);

	/* Anything else goes out as base64. */
	memcpy(ev.payload, "a=1&b", 5);
	ev.payload_len = 5;
	cr_assert_eq(domino_fmt_event_json(&ev, 1, &js), DOMINO_OK);
	cr_expect(strstr(js, ",\"payload_base64\":\"YT0xJmI=\"}") != NULL,
	    "got %s", js);
	free(js);
	ev.payload_len = 4;
	cr_assert_eq(domino_fmt_event_json(&ev, 1, &js), DOMINO_OK);
	cr_expect(strstr(js, "\"payload_base64\":\"YT0xJg==\"") != NULL,
	    "got %s", js);
	free(js);
	domino_event_clear(&ev);

	/* A bare event: only seq and time. */
	domino_event_init(&ev);
	ev.seq = UINT64_MAX;
	ev.time = -1;
	cr_assert_eq(domino_fmt_event_json(&ev, 1, &js), DOMINO_OK);
	cr_expect_str_eq(js, "{\"seq\":18446744073709551615,\"time\":-1}");
	free(js);
}

Test(fmt, stats_json)
{
	char *src[] = {"github", "gitlab"};
	struct domino_stats st = {
		.version = "1.0",
		.seq = 9,
		.first_seq = 1,
		.events = 9,
		.uptime_ms = 1500,
		.listen_pub = "tcp://127.0.0.1:8701",
		.sources = src,
		.n_sources = 2,
	};
	struct domino_ingest_count ic[] = {
		{.source = "github", .status = 202, .count = 8},
		{.source = "unknown", .status = 404, .count = 1},
	};
	char *js = NULL;

	cr_assert_eq(domino_fmt_stats_json(&st, &js), DOMINO_OK);
	cr_expect_str_eq(js,
	    "{\"version\":\"1.0\",\"seq\":9,\"first_seq\":1,\"events\":9,"
	    "\"uptime_ms\":1500,\"listen\":{\"pub\":\"tcp://127.0.0.1:8701\"},"
	    "\"sources\":[\"github\",\"gitlab\"],"
	    "\"deliveries\":{\"in_flight\":0,\"dispatched\":0,\"ok\":0,"
	    "\"retried\":0,\"dead\":0},\"trimmed_before\":0,"
	    "\"retention\":{\"trimmed\":0,\"held_back\":0,\"held_by_seq\":0},"
	    "\"ingest\":[]}");
	free(js);
	st.deliveries.in_flight = 1;
	st.deliveries.dispatched = 12;
	st.deliveries.ok = 9;
	st.deliveries.retried = 2;
	st.deliveries.dead = 1;
	st.trimmed_before = 40;
	st.retention.trimmed = 39;
	st.retention.held_back = 5;
	st.retention.held_by_seq = 41;
	st.ingest = ic;
	st.n_ingest = 2;
	cr_assert_eq(domino_fmt_stats_json(&st, &js), DOMINO_OK);
	cr_expect(strstr(js, "\"deliveries\":{\"in_flight\":1,\"dispatched\":12,"
	    "\"ok\":9,\"retried\":2,\"dead\":1},\"trimmed_before\":40,"
	    "\"retention\":{\"trimmed\":39,\"held_back\":5,\"held_by_seq\":41},"
	    "\"ingest\":[{\"source\":\"github\",\"status\":202,\"count\":8},"
	    "{\"source\":\"unknown\",\"status\":404,\"count\":1}]}") != NULL,
	    "%s", js);
	free(js);
}
