/* SPDX-License-Identifier: MIT */
/*
 * The helpers all forges share (broker/forge/forge.c): repo URL
 * canonicalization, Depends-On scanning, token and HMAC compares, query
 * parsing, body parsing and JSON paths. Per-forge behaviour is in
 * test_forge_<name>.c.
 */
#include <cjson/cJSON.h>

#include "forge_test.h"

static void
repo_is(const char *url, const char *want)
{
	char *got = forge_repo_from_url(url);

	expect_str(got, want, url ? url : "(null)");
	free(got);
}

Test(forge_repo, canonical_forms)
{
	repo_is("https://github.com/Codertocat/Hello-World",
	    "github.com/Codertocat/Hello-World");
	repo_is("http://github.com/o/r", "github.com/o/r");
	repo_is("https://GitHub.COM/Org/Repo.git", "github.com/Org/Repo");
	repo_is("https://user:pw@Host.Example:8443/a/b/", "host.example/a/b");
	repo_is("https://token@github.com/o/r.git", "github.com/o/r");
	repo_is("git@github.com:org/repo.git", "github.com/org/repo");
	repo_is("ssh://git@gitlab.example.com:2222/group/sub/proj.git",
	    "gitlab.example.com/group/sub/proj");
	repo_is("github.com/org/repo", "github.com/org/repo");
	repo_is("localhost:3000/example/example", "localhost/example/example");
	repo_is("https://h.example/a/b?tab=readme#top", "h.example/a/b");
	repo_is("https://h.example//a//b//", "h.example/a/b");
	repo_is("https://[::1]:3000/o/r", "[::1]/o/r");
}

Test(forge_repo, nested_gitlab_groups)
{
	repo_is("https://gitlab.com/testing/packit/hello-there",
	    "gitlab.com/testing/packit/hello-there");
	repo_is("https://GitLab.com/a/b/c/d.git", "gitlab.com/a/b/c/d");
}

Test(forge_repo, not_a_repo)
{
	repo_is(NULL, NULL);
	repo_is("", NULL);
	repo_is("https://github.com", NULL);
	repo_is("https://github.com/", NULL);
	repo_is("https:///o/r", NULL);
	repo_is("/just/a/path", NULL);
}

Test(forge_repo, url_host)
{
	char *h = forge_url_host("https://Review.Example.ORG:8443/c/x/+/1");

	expect_str(h, "review.example.org", "host");
	free(h);
	cr_assert_null(forge_url_host(NULL));
	cr_assert_null(forge_url_host("/c/x"));
}

Test(forge_depends_on, lines_cases_and_duplicates)
{
	struct domino_event ev;

	domino_event_init(&ev);
	cr_assert_eq(forge_scan_depends_on(&ev,
	    "Title\n\nDepends-On: https://github.com/o/lib/pull/1\r\n"
	    "  depends-on:   I0123456789abcdef  \n"
	    "DEPENDS-ON: https://github.com/o/lib/pull/1\n"
	    "Not-Depends-On: x\n"
	    "Depends-On:\n"
	    "text Depends-On: inline is not a trailer\n"
	    "Depends-On: gerrit.example.org/c/core/+/5"), 0);
	cr_assert_eq(ev.n_depends_on, 3);
	expect_str(ev.depends_on[0], "https://github.com/o/lib/pull/1", "0");
	expect_str(ev.depends_on[1], "I0123456789abcdef", "1");
	expect_str(ev.depends_on[2], "gerrit.example.org/c/core/+/5", "2");
	domino_event_clear(&ev);
}

Test(forge_depends_on, bounded)
{
	struct domino_event ev;
	char text[64 * 40];
	size_t o = 0;

	for (int i = 0; i < 60; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    "Depends-On: r%d\n", i);
	domino_event_init(&ev);
	cr_assert_eq(forge_scan_depends_on(&ev, text), 0);
	cr_assert_eq(ev.n_depends_on, 32);
	domino_event_clear(&ev);
}

Test(forge_token, constant_time_equality)
{
	cr_assert(forge_token_ok("s3cret", "s3cret"));
	cr_assert_not(forge_token_ok("s3cret", "s3cre"));
	cr_assert_not(forge_token_ok("s3cret", "s3cret "));
	cr_assert_not(forge_token_ok("s3cret", NULL));
	cr_assert_not(forge_token_ok(NULL, "x"));
	cr_assert_not(forge_token_ok("", ""), "an empty token accepts no one");
}

Test(forge_hmac, prefix_and_hex)
{
	static const char body[] = "Hello, World!";
	const char *hex = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
	char with[80];

	snprintf(with, sizeof(with), "sha256=%s", hex);
	cr_assert(forge_hmac_ok("It's a Secret to Everybody",
	    (const uint8_t *)body, strlen(body), NULL, hex));
	cr_assert(forge_hmac_ok("It's a Secret to Everybody",
	    (const uint8_t *)body, strlen(body), "sha256=", with));
	cr_assert_not(forge_hmac_ok("It's a Secret to Everybody",
	    (const uint8_t *)body, strlen(body), "sha256=", hex),
	    "the prefix is required when given");
	cr_assert_not(forge_hmac_ok("It's a Secret to Everybody",
	    (const uint8_t *)body, strlen(body) - 1, NULL, hex));
	cr_assert_not(forge_hmac_ok(NULL, (const uint8_t *)body,
	    strlen(body), NULL, hex));
}

Test(forge_query, decode_and_find)
{
	char buf[32];

	cr_assert(forge_query_get("a=1&token=a%2Bb+c&z", "token", buf,
	    sizeof(buf)));
	expect_str(buf, "a+b c", "token");
	cr_assert_not(forge_query_get("tokens=x", "token", buf, sizeof(buf)));
	cr_assert_not(forge_query_get(NULL, "token", buf, sizeof(buf)));
	cr_assert_not(forge_query_get("token=ab%00cd", "token", buf,
	    sizeof(buf)), "a NUL must not cut the token short");
	cr_assert_not(forge_query_get("token=0123456789", "token", buf, 4));
	cr_assert(forge_query_get("token=%zz", "token", buf, sizeof(buf)));
	expect_str(buf, "%zz", "stray percent");
}

static cJSON *
parse(const char *ct, const char *body, struct forge_err *err)
{
	struct treq t;

	treq_init(&t, ct, body, strlen(body));
	return forge_parse_json(&t.req, err);
}

Test(forge_parse, content_types)
{
	struct forge_err err = {0};
	cJSON *j;

	j = parse("application/cloudevents+json", "{\"a\":1}", &err);
	cr_assert_not_null(j);
	cJSON_Delete(j);
	j = parse(" application/json ; charset=utf-8", "{\"a\":1}", &err);
	cr_assert_not_null(j);
	cJSON_Delete(j);
	j = parse("", "{}", &err);
	cr_assert_not_null(j);
	cJSON_Delete(j);
	cr_assert_null(parse("application/xml", "<a/>", &err));
	cr_assert_eq(err.status, 415);
	cr_assert_str_eq(err.code, "not_json");
}

Test(forge_parse, error_position)
{
	struct forge_err err = {0};

	cr_assert_null(parse("application/json", "{\n  \"a\": tru\n}", &err));
	cr_assert_eq(err.status, 400);
	cr_assert_str_eq(err.code, "bad_json");
	cr_assert_not_null(strstr(err.msg, "line 2"), "%s", err.msg);
}

Test(forge_parse, form_payload)
{
	struct forge_err err = {0};
	cJSON *j = parse("application/x-www-form-urlencoded",
	    "x=1&payload=%7B%22a%22%3A%22b+c%22%7D", &err);

	cr_assert_not_null(j, "%s", err.msg);
	expect_str(forge_json_str(j, "a"), "b c", "a");
	cJSON_Delete(j);
}

Test(forge_json, paths)
{
	cJSON *j = cJSON_Parse("{\"a\":{\"b\":[{\"c\":\"x\"},7]},\"n\":21,"
	    "\"s\":\"21\",\"t\":true,\"big\":1e300}");
	char buf[16];

	expect_str(forge_json_str(j, "a.b.0.c"), "x", "a.b.0.c");
	cr_assert_null(forge_json_str(j, "a.b.1"));
	cr_assert_null(forge_json_str(j, "a.b.2.c"));
	cr_assert_null(forge_json_str(j, "a.x.y"));
	cr_assert(forge_json_scalar(j, "n", buf, sizeof(buf)));
	expect_str(buf, "21", "n");
	cr_assert(forge_json_scalar(j, "s", buf, sizeof(buf)));
	expect_str(buf, "21", "s");
	cr_assert(forge_json_scalar(j, "a.b.1", buf, sizeof(buf)));
	expect_str(buf, "7", "a.b.1");
	cr_assert_not(forge_json_scalar(j, "big", buf, sizeof(buf)));
	cr_assert(forge_json_true(j, "t"));
	cr_assert_not(forge_json_true(j, "n"));
	cJSON_Delete(j);
}

Test(forge_types, valid)
{
	cr_assert(forge_type_valid("change.patchset"));
	cr_assert(forge_type_valid("other"));
	cr_assert_not(forge_type_valid("pr"));
	cr_assert_not(forge_type_valid(NULL));
}

Test(forge_out, bounded)
{
	struct forge_out *out = calloc(1, sizeof(*out));

	for (int i = 0; i < FORGE_MAX_EVENTS; i++)
		cr_assert_not_null(forge_out_next(out));
	cr_assert_null(forge_out_next(out));
	forge_out_clear(out);
	cr_assert_eq(out->n, 0);
	free(out);
}
