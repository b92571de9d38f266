/* SPDX-License-Identifier: MIT */
/*
 * Generic forge: plain normalized-field bodies, CloudEvents structured
 * and binary mode, token and HMAC verification, and the refusals. There
 * are no published fixtures for this source; the bodies are written here.
 */
#include "forge_test.h"

extern const struct forge_ops forge_generic;

/* Normalize body with up to two extra headers; out is checked by caller. */
static void
run(const char *ct, const char *body, const char *h1, const char *v1,
    const char *h2, const char *v2, struct forge_out *out)
{
	struct treq t;

	treq_init(&t, ct, body, strlen(body));
	if (h1 != NULL)
		treq_set(&t, h1, v1);
	if (h2 != NULL)
		treq_set(&t, h2, v2);
	normalize_ok(&forge_generic, &t, out, 1);
}

Test(generic, plain_defaults)
{
	struct forge_out *out = calloc(1, sizeof(*out));

	run("application/json", "{\"repo\":\"https://GitHub.com/org/core.git\","
	    "\"ref\":\"main\",\"after\":\"abc\",\"actor\":\"ci\"}",
	    "X-Domino-Delivery", "d-1", NULL, NULL, out);
	expect_event(&out->ev[0], &(struct expect){"push", "push",
	    "github.com/org/core", "refs/heads/main", NULL, "abc", "ci"},
	    "plain");
	expect_str(out->ev[0].id, "d-1", "id from X-Domino-Delivery");
	forge_out_clear(out);
	free(out);
}

Test(generic, plain_all_fields)
{
	struct forge_out *out = calloc(1, sizeof(*out));

	run(NULL, "{\"repo\":\"example.org/team/lib\",\"ref\":\"v1.2\","
	    "\"type\":\"tag\",\"before\":\"a\",\"after\":\"b\",\"actor\":\"me\","
	    "\"url\":\"https://example.org/team/lib/tags/v1.2\",\"event\":"
	    "\"nightly\",\"id\":\"x-9\",\"depends_on\":[\"example.org/team/base\"]}",
	    "X-Domino-Delivery", "ignored", NULL, NULL, out);
	expect_event(&out->ev[0], &(struct expect){"nightly", "tag",
	    "example.org/team/lib", "refs/tags/v1.2", "a", "b", "me"}, "all");
	expect_str(out->ev[0].id, "x-9", "id from the body");
	expect_str(out->ev[0].url, "https://example.org/team/lib/tags/v1.2",
	    "url");
	cr_assert_eq(out->ev[0].n_depends_on, 1);
	expect_str(out->ev[0].depends_on[0], "example.org/team/base", "dep");
	forge_out_clear(out);
	free(out);
}

Test(generic, cloudevents_structured)
{
	struct forge_out *out = calloc(1, sizeof(*out));

	run("application/cloudevents+json", "{\"specversion\":\"1.0\","
	    "\"id\":\"ce-1\",\"source\":\"https://github.com/org/core\","
	    "\"type\":\"dev.cdevents.change.merged.0.1.1\",\"subject\":"
	    "\"refs/heads/main\",\"data\":{\"after\":\"abc\"}}",
	    NULL, NULL, NULL, NULL, out);
	expect_event(&out->ev[0], &(struct expect){
	    "dev.cdevents.change.merged.0.1.1", "pr.merge",
	    "github.com/org/core", "refs/heads/main", NULL, "abc", NULL}, "ce");
	expect_str(out->ev[0].id, "ce-1", "id");
	forge_out_clear(out);

	run("application/cloudevents+json; charset=utf-8",
	    "{\"specversion\":\"1.0\",\"id\":\"ce-2\",\"source\":\"/ci/42\","
	    "\"type\":\"com.example.build.finished\",\"data\":{\"repo\":"
	    "\"git.example.com/a/b\",\"ref\":\"refs/heads/dev\"}}",
	    NULL, NULL, NULL, NULL, out);
	expect_event(&out->ev[0], &(struct expect){"com.example.build.finished",
	    "other", "git.example.com/a/b", "refs/heads/dev", NULL, NULL, NULL},
	    "ce other");
	forge_out_clear(out);

	/* An envelope without a type (found by the fuzzer) is "other". */
	run(NULL, "{\"specversion\":\"1.0\",\"data\":{\"repo\":"
	    "\"github.com/o/r\"}}", NULL, NULL, NULL, NULL, out);
	expect_str(out->ev[0].type, "other", "no ce type");
	expect_str(out->ev[0].event, "other", "event falls back to the type");
	forge_out_clear(out);
	free(out);
}

Test(generic, cloudevents_binary)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t;
	static const char body[] = "{\"repo\":\"github.com/org/app\","
	    "\"after\":\"f00\"}";

	treq_init(&t, "application/json", body, strlen(body));
	treq_set(&t, "ce-specversion", "1.0");
	treq_set(&t, "ce-id", "bin-7");
	treq_set(&t, "ce-type", "ref.create");
	treq_set(&t, "ce-source", "/ci");
	treq_set(&t, "ce-subject", "refs/heads/feature");
	normalize_ok(&forge_generic, &t, out, 1);
	expect_event(&out->ev[0], &(struct expect){"ref.create", "ref.create",
	    "github.com/org/app", "refs/heads/feature", NULL, "f00", NULL},
	    "binary");
	expect_str(out->ev[0].id, "bin-7", "id");
	expect_str(domino_event_header(&out->ev[0], "ce-type"), "ref.create",
	    "kept header");
	forge_out_clear(out);
	free(out);
}

static void
verify_with(const struct forge_cred *cred, const char *query,
    const char *name, const char *value, int status, const char *code)
{
	static const char body[] = "{\"repo\":\"github.com/o/r\"}";
	struct treq t;

	treq_init(&t, "application/json", body, strlen(body));
	t.req.query = query;
	if (name != NULL)
		treq_set(&t, name, value);
	verify_is(&forge_generic, &t, cred, status, code);
}

Test(generic_verify, token_and_hmac)
{
	static const char body[] = "{\"repo\":\"github.com/o/r\"}";
	struct forge_cred tok = {.token = "t0k"};
	struct forge_cred sec = {.secret = "s3c"};
	struct forge_cred none = {0};
	char sig[80];

	verify_with(&tok, NULL, "X-Domino-Token", "t0k", 0, NULL);
	verify_with(&tok, NULL, "Authorization", "Bearer t0k", 0, NULL);
	verify_with(&tok, "token=t0k", NULL, NULL, 0, NULL);
	verify_with(&tok, NULL, "X-Domino-Token", "t0kk", 401, "bad_signature");
	verify_with(&tok, NULL, NULL, NULL, 401, "missing_signature");
	sign_hex("s3c", body, strlen(body), "sha256=", sig, sizeof(sig));
	verify_with(&sec, NULL, "X-Domino-Signature", sig, 0, NULL);
	sign_hex("other", body, strlen(body), "sha256=", sig, sizeof(sig));
	verify_with(&sec, NULL, "X-Domino-Signature", sig, 401,
	    "bad_signature");
	verify_with(&none, NULL, "X-Domino-Token", "t0k", 401,
	    "no_secret_configured");
}

Test(generic_refuse, bad_input)
{
	static const struct {
		const char *body;
		int status;
		const char *code, *names;
	} cases[] = {
		{"{\"ref\":\"main\"}", 422, "missing_field", "repo"},
		{"{\"repo\":\"localhost\"}", 422, "missing_field", "repo"},
		{"{\"repo\":\"github.com/o/r\",\"type\":\"deploy\"}", 422,
		    "invalid_field", "deploy"},
		{"{\"repo\":\"github.com/o/r\",\"depends_on\":\"x\"}", 422,
		    "invalid_field", "depends_on"},
		{"{\"repo\":\"github.com/o/r\",\"depends_on\":[1]}", 422,
		    "invalid_field", "depends_on"},
		{"{\"specversion\":\"1.0\",\"id\":\"1\",\"type\":\"t\","
		    "\"source\":\"/s\",\"data_base64\":\"e30=\"}", 422,
		    "missing_field", "data"},
		{"{\"specversion\":\"1.0\",\"source\":\"/s\",\"data\":{}}", 422,
		    "missing_field", "data.repo"},
		{"{\"repo\":", 400, "bad_json", NULL},
	};
	struct treq t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		treq_init(&t, "application/json", cases[i].body,
		    strlen(cases[i].body));
		normalize_fails(&forge_generic, &t, cases[i].status,
		    cases[i].code, cases[i].names);
	}
	treq_init(&t, "application/yaml", "repo: x", 7);
	normalize_fails(&forge_generic, &t, 415, "not_json", NULL);
}
