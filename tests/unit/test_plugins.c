/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the built-in callback plugins (broker/plugins/): template
 * rendering and its checks, the CloudEvents envelope, DOMINO_* variables,
 * Standard Webhooks signatures against the published reference vector,
 * SSRF address classification, every plugin's validate() messages, and
 * real deliveries: exec with /bin/sh scripts, file appends, http against a
 * tiny receiver thread on 127.0.0.1, nng against a rep0 thread.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "event.h"
#include "mpjson.h"
#include "plugins/addr.h"
#include "plugins/plugin.h"
#include "plugins/render.h"
#include "plugins/sign.h"

static struct domino_event ev;
static struct plugin_job job;
static struct mj cfg;
static int cfg_used;
static char tmpdir[64];
static const char *const via2[] = {"github.com/org/core", "github.com/org/mid"};

static void
setup(void)
{
	static const char payload[] = "{\"ref\":\"refs/heads/main\",\"x\":1}";

	signal(SIGPIPE, SIG_IGN);
	domino_event_init(&ev);
	ev.seq = 42;
	ev.time = 1714564800123456789LL;
	domino_event_set(&ev.id, "gh-delivery-1", (size_t)-1);
	domino_event_set(&ev.source, "github", (size_t)-1);
	domino_event_set(&ev.event, "push", (size_t)-1);
	domino_event_set(&ev.type, "push", (size_t)-1);
	domino_event_set(&ev.repo, "github.com/org/core", (size_t)-1);
	domino_event_set(&ev.ref, "refs/heads/main", (size_t)-1);
	domino_event_set(&ev.before, "a1b2c3", (size_t)-1);
	domino_event_set(&ev.after, "d4e5f6", (size_t)-1);
	domino_event_set(&ev.actor, "octocat", (size_t)-1);
	domino_event_set(&ev.url, "https://github.com/org/core/compare/x",
	    (size_t)-1);
	domino_event_add_depends_on(&ev, "github.com/org/lib#12");
	domino_event_add_header(&ev, "X-GitHub-Event", "push");
	domino_event_add_header(&ev, "Content-Type", "application/json");
	domino_event_add_header(&ev, "Connection", "x-not-relayed");
	ev.payload = malloc(sizeof(payload) - 1);
	memcpy(ev.payload, payload, sizeof(payload) - 1);
	ev.payload_len = sizeof(payload) - 1;

	memset(&job, 0, sizeof(job));
	job.listener = "ci";
	job.seq = 42;
	job.attempt = 2;
	job.ev = &ev;
	job.via = via2;
	job.n_via = 2;
	job.delivery_id = "dlv_42_ci";
	job.allow_private = 1;
	cfg_used = 0;
	strcpy(tmpdir, "/tmp/domino-test-plugins.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
teardown(void)
{
	char cmd[128];

	if (cfg_used)
		mj_free(&cfg);
	domino_event_clear(&ev);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)system(cmd);
	curl_global_cleanup();
}

TestSuite(plugins, .init = setup, .fini = teardown, .timeout = 60);

/* Set job.config from a printf-built JSON text. */
static const msgpack_object *
config(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const msgpack_object *
config(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (cfg_used)
		mj_free(&cfg);
	cfg_used = 1;
	job.config = mj_obj(&cfg, buf);
	cr_assert_not_null(job.config, "bad test JSON: %s", buf);
	return job.config;
}

static char *
render(const char *t)
{
	char *out = NULL;
	size_t len = 0;

	cr_assert_eq(render_template(t, strlen(t), &job, RENDER_MAX, &out,
	    &len), DOMINO_OK, "template %s", t);
	cr_assert_eq(strlen(out), len);
	return out;
}

/* Templates. */

Test(plugins, template_placeholders)
{
	char *s = render("{\"ref\":\"{{ref}}\",\"b\":\"{{short_ref}}\","
	    "\"sha\":\"{{after}}\",\"seq\":{{seq}},\"via\":\"{{ via }}\","
	    "\"who\":\"{{actor}}@{{listener}}#{{attempt}}\",\"r\":\"{{repo}}\","
	    "\"t\":\"{{type}}/{{event}}/{{source}}/{{id}}/{{delivery_id}}\","
	    "\"x\":\"{{before}} {{url}}\"}");

	cr_assert_str_eq(s, "{\"ref\":\"refs/heads/main\",\"b\":\"main\","
	    "\"sha\":\"d4e5f6\",\"seq\":42,"
	    "\"via\":\"github.com/org/core github.com/org/mid\","
	    "\"who\":\"octocat@ci#2\",\"r\":\"github.com/org/core\","
	    "\"t\":\"push/push/github/gh-delivery-1/dlv_42_ci\","
	    "\"x\":\"a1b2c3 https://github.com/org/core/compare/x\"}");
	free(s);
}

Test(plugins, template_short_ref_and_absent_values)
{
	char *s;

	domino_event_set(&ev.ref, "refs/tags/v1.2", (size_t)-1);
	domino_event_set(&ev.actor, NULL, 0);
	s = render("{{short_ref}}|{{actor}}|{{ref}}");
	cr_assert_str_eq(s, "v1.2||refs/tags/v1.2");
	free(s);
	job.n_via = 0;
	s = render("[{{via}}]");
	cr_assert_str_eq(s, "[]");
	free(s);
	s = render("");
	cr_assert_str_eq(s, "");
	free(s);
	s = render("no placeholders { } }} {x}");
	cr_assert_str_eq(s, "no placeholders { } }} {x}");
	free(s);
}

Test(plugins, template_escapes_json)
{
	char *s, wrapped[256];
	cJSON *j;

	domino_event_set(&ev.actor, "a \"quoted\" \\ name\n\r\t\x01 \xc3\xa9",
	    (size_t)-1);
	s = render("{{actor}}");
	cr_assert_str_eq(s, "a \\\"quoted\\\" \\\\ name\\n\\r\\t\\u0001 \xc3\xa9");
	snprintf(wrapped, sizeof(wrapped), "\"%s\"", s);
	j = cJSON_Parse(wrapped);
	cr_assert_not_null(j);
	cr_assert_str_eq(cJSON_GetStringValue(j), ev.actor);
	cJSON_Delete(j);
	free(s);
}

Test(plugins, template_check_rejects)
{
	char why[256];
	char *out = (char *)1;
	size_t len = 7;

	cr_assert_eq(render_template_check("{{repo}} {{ ref }}", 18, why,
	    sizeof(why)), 0);
	cr_assert_eq(render_template_check("x {{nope}} y", 12, why,
	    sizeof(why)), -1);
	cr_assert(strncmp(why, "unknown placeholder {{nope}}", 28) == 0, "%s",
	    why);
	cr_assert_eq(render_template_check("{{repo", 6, why, sizeof(why)), -1);
	cr_assert(strstr(why, "unterminated") != NULL, "%s", why);
	cr_assert_eq(render_template_check("{{}}", 4, why, sizeof(why)), -1);
	cr_assert_eq(render_template("{{nope}}", 8, &job, RENDER_MAX, &out,
	    &len), DOMINO_EINVAL);
	cr_assert_null(out);
	cr_assert_eq(len, 0);
}

Test(plugins, template_cap)
{
	char *out = NULL;
	size_t len = 0;

	cr_assert_eq(render_template("{{url}}{{url}}", 14, &job, 40, &out,
	    &len), DOMINO_ETOOBIG);
	cr_assert_null(out);
	cr_assert_eq(render_template("{{url}}", 7, &job, 40, &out, &len),
	    DOMINO_OK);
	free(out);
}

/* CloudEvents and environment. */

static const char *
jstr(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o,
	    k));
	cr_assert_not_null(s, "missing string %s", k);
	return s;
}

Test(plugins, cloudevent_shape)
{
	char *s = NULL;
	size_t len = 0;
	cJSON *j, *d, *a;

	cr_assert_eq(render_cloudevent(&job, &s, &len), DOMINO_OK);
	cr_assert_eq(strlen(s), len);
	cr_assert_null(strchr(s, '\n'));
	j = cJSON_Parse(s);
	cr_assert_not_null(j);
	cr_assert_str_eq(jstr(j, "specversion"), "1.0");
	cr_assert_str_eq(jstr(j, "id"), "dlv_42_ci");
	cr_assert_str_eq(jstr(j, "source"), "domino://github/github.com/org/core");
	cr_assert_str_eq(jstr(j, "type"), "dev.domino.push");
	cr_assert_str_eq(jstr(j, "subject"), "refs/heads/main");
	cr_assert_str_eq(jstr(j, "time"), "2024-05-01T12:00:00.123456Z");
	cr_assert_str_eq(jstr(j, "datacontenttype"), "application/json");
	d = cJSON_GetObjectItemCaseSensitive(j, "data");
	cr_assert(cJSON_IsObject(d));
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(d, "seq")->valuedouble, 42);
	cr_assert_eq(cJSON_GetObjectItemCaseSensitive(d, "attempt")->valuedouble,
	    2);
	cr_assert_str_eq(jstr(d, "repo"), "github.com/org/core");
	cr_assert_str_eq(jstr(d, "ref"), "refs/heads/main");
	cr_assert_str_eq(jstr(d, "before"), "a1b2c3");
	cr_assert_str_eq(jstr(d, "after"), "d4e5f6");
	cr_assert_str_eq(jstr(d, "actor"), "octocat");
	cr_assert_str_eq(jstr(d, "url"), "https://github.com/org/core/compare/x");
	cr_assert_str_eq(jstr(d, "event"), "push");
	cr_assert_str_eq(jstr(d, "source"), "github");
	cr_assert_str_eq(jstr(d, "id"), "gh-delivery-1");
	cr_assert_str_eq(jstr(d, "listener"), "ci");
	a = cJSON_GetObjectItemCaseSensitive(d, "depends_on");
	cr_assert_eq(cJSON_GetArraySize(a), 1);
	cr_assert_str_eq(cJSON_GetArrayItem(a, 0)->valuestring,
	    "github.com/org/lib#12");
	a = cJSON_GetObjectItemCaseSensitive(d, "via");
	cr_assert_eq(cJSON_GetArraySize(a), 2);
	cr_assert_str_eq(cJSON_GetArrayItem(a, 1)->valuestring,
	    "github.com/org/mid");
	cJSON_Delete(j);
	free(s);
}

Test(plugins, cloudevent_without_ref_has_no_subject)
{
	char *s = NULL;
	size_t len = 0;
	cJSON *j;

	domino_event_set(&ev.ref, NULL, 0);
	ev.time = 0;
	cr_assert_eq(render_cloudevent(&job, &s, &len), DOMINO_OK);
	j = cJSON_Parse(s);
	cr_assert_null(cJSON_GetObjectItemCaseSensitive(j, "subject"));
	cr_assert_str_eq(jstr(j, "time"), "1970-01-01T00:00:00.000000Z");
	cr_assert_str_eq(jstr(cJSON_GetObjectItemCaseSensitive(j, "data"), "ref"),
	    "");
	cJSON_Delete(j);
	free(s);
}

static const char *
env_get(char **env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

Test(plugins, env_list)
{
	static const char *const want[][2] = {
		{"DOMINO_SEQ", "42"}, {"DOMINO_REPO", "github.com/org/core"},
		{"DOMINO_REF", "refs/heads/main"}, {"DOMINO_TYPE", "push"},
		{"DOMINO_BEFORE", "a1b2c3"}, {"DOMINO_AFTER", "d4e5f6"},
		{"DOMINO_ACTOR", "octocat"},
		{"DOMINO_URL", "https://github.com/org/core/compare/x"},
		{"DOMINO_SOURCE", "github"}, {"DOMINO_EVENT", "push"},
		{"DOMINO_EVENT_ID", "gh-delivery-1"}, {"DOMINO_LISTENER", "ci"},
		{"DOMINO_VIA", "github.com/org/core github.com/org/mid"},
		{"DOMINO_ATTEMPT", "2"}, {"DOMINO_DELIVERY_ID", "dlv_42_ci"},
	};
	char **env = NULL;
	size_t n = 0;

	cr_assert_eq(render_env(&job, &env, &n), DOMINO_OK);
	cr_assert_eq(n, sizeof(want) / sizeof(want[0]));
	cr_assert_null(env[n]);
	for (size_t i = 0; i < n; i++) {
		const char *v = env_get(env, want[i][0]);
		cr_assert_not_null(v, "%s missing", want[i][0]);
		cr_assert_str_eq(v, want[i][1], "%s", want[i][0]);
	}
	render_env_free(env);
	render_env_free(NULL);
}

/* Standard Webhooks signatures. */

/* The reference example of the Standard Webhooks libraries. */
#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TIMESTAMP 1614265330
#define SW_PAYLOAD "{\"test\": 2432232314}"
#define SW_EXPECTED "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static struct pstr
ps(const char *s)
{
	return (struct pstr){s, strlen(s)};
}

Test(plugins, sign_reference_vector)
{
	struct pstr k = ps(SW_SECRET);
	char out[SIGN_HEADER_MAX];

	cr_assert_eq(sign_header(&k, 1, SW_MSG_ID, SW_TIMESTAMP, SW_PAYLOAD,
	    strlen(SW_PAYLOAD), out, sizeof(out)), DOMINO_OK);
	cr_assert_str_eq(out, SW_EXPECTED);
}

Test(plugins, sign_raw_and_rotated_secrets)
{
	struct pstr keys[2] = {ps("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
	    ps(SW_SECRET)};
	char out[SIGN_HEADER_MAX], why[128];
	const char *sp;

	/* Without whsec_ the text itself is the key: another signature. */
	cr_assert_eq(sign_header(keys, 2, SW_MSG_ID, SW_TIMESTAMP, SW_PAYLOAD,
	    strlen(SW_PAYLOAD), out, sizeof(out)), DOMINO_OK);
	sp = strchr(out, ' ');
	cr_assert_not_null(sp, "%s", out);
	cr_assert_str_eq(sp + 1, SW_EXPECTED);
	cr_assert(strncmp(out, "v1,", 3) == 0);
	cr_assert_eq((size_t)(sp - out), strlen(SW_EXPECTED));
	cr_assert(strncmp(out, SW_EXPECTED, strlen(SW_EXPECTED)) != 0);
	/* Unpadded base64 after whsec_ is accepted too. */
	cr_assert_eq(sign_secret_check(ps("whsec_YWJj"), why, sizeof(why)), 0);
	cr_assert_eq(sign_secret_check(ps("whsec_YWI"), why, sizeof(why)), 0);
	cr_assert_eq(sign_secret_check(ps("whsec_!!!"), why, sizeof(why)), -1);
	cr_assert_eq(sign_secret_check(ps("whsec_"), why, sizeof(why)), -1);
	cr_assert_eq(sign_secret_check(ps(""), why, sizeof(why)), -1);
	cr_assert_eq(sign_header(keys, 0, "x", 1, "", 0, out, sizeof(out)),
	    DOMINO_EINVAL);
	cr_assert_eq(sign_header(keys, 2, "x", 1, "", 0, out, 20),
	    DOMINO_ETOOBIG);
}

/* SSRF. */

static const char *
classify(const char *ip)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};

	if (inet_pton(AF_INET, ip, &a4.sin_addr) == 1)
		return addr_forbidden((struct sockaddr *)&a4, sizeof(a4));
	cr_assert_eq(inet_pton(AF_INET6, ip, &a6.sin6_addr), 1, "%s", ip);
	return addr_forbidden((struct sockaddr *)&a6, sizeof(a6));
}

Test(plugins, ssrf_classification)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1",
		"172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"100.127.255.255", "0.0.0.0", "0.1.2.3", "224.0.0.1",
		"255.255.255.255", "::1", "::", "fe80::1", "febf::1", "fc00::1",
		"fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"64:ff9b::a9fe:a9fe", "2002:c0a8:0101::1", "ff02::1", "fec0::1",
	};
	static const char *const good[] = {
		"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1",
		"192.169.0.1", "100.63.255.255", "100.128.0.0", "169.253.1.1",
		"11.0.0.1", "2606:4700:4700::1111", "2001:db8::1",
		"::ffff:8.8.8.8", "2002:0808:0808::1", "fe7f::1",
	};
	struct sockaddr_un_like {
		sa_family_t f;
		char p[20];
	} un = {.f = AF_UNIX};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not_null(classify(bad[i]), "%s allowed", bad[i]);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_null(classify(good[i]), "%s refused: %s", good[i],
		    classify(good[i]));
	cr_assert_str_eq(classify("127.0.0.1"), "a loopback address");
	cr_assert_not_null(addr_forbidden((struct sockaddr *)&un, sizeof(un)));
}

/* validate(). */

static void
expect_invalid(const char *plugin, const char *want_prefix,
    const char *json)
{
	const struct plugin_desc *d = plugin_find(plugin);
	char err[512] = "";
	struct mj m;
	const msgpack_object *o = mj_obj(&m, json);

	cr_assert_not_null(d);
	cr_assert_not_null(o, "bad test JSON %s", json);
	cr_assert_eq(d->validate(o, err, sizeof(err)), -1, "%s accepted %s",
	    plugin, json);
	cr_assert(strncmp(err, want_prefix, strlen(want_prefix)) == 0,
	    "%s: got \"%s\", want \"%s...\"", json, err, want_prefix);
	mj_free(&m);
}

static void
expect_valid(const char *plugin, const char *json)
{
	const struct plugin_desc *d = plugin_find(plugin);
	char err[512] = "";
	struct mj m;
	const msgpack_object *o = mj_obj(&m, json);

	cr_assert_not_null(o, "bad test JSON %s", json);
	cr_assert_eq(d->validate(o, err, sizeof(err)), 0, "%s: %s", json, err);
	mj_free(&m);
}

Test(plugins, table)
{
	cr_assert_not_null(plugin_find("http"));
	cr_assert_not_null(plugin_find("exec"));
	cr_assert_not_null(plugin_find("nng"));
	cr_assert_not_null(plugin_find("file"));
	cr_assert_null(plugin_find("smtp"));
	for (size_t i = 0; plugin_builtin[i] != NULL; i++) {
		cr_assert_not_null(plugin_builtin[i]->validate);
		cr_assert_not_null(plugin_builtin[i]->deliver);
	}
	cr_assert(plugin_key_find(plugin_find("http"), "secret", 6)->secret);
}

Test(plugins, validate_http)
{
	expect_valid("http", "{\"url\":\"https://ci.example.com/hook\"}");
	expect_valid("http", "{\"url\":\"http://h:8080/x?y=1\",\"format\":\"raw\","
	    "\"timeout\":\"1m\",\"secret\":[\"old\",\"" SW_SECRET "\"],"
	    "\"headers\":{\"Authorization\":\"Bearer t\",\"X-Ref\":\"{{ref}}\"}}");
	expect_valid("http", "{\"url\":\"https://api.github.com/repos/o/r/dispatches\","
	    "\"format\":\"template\",\"timeout\":30,"
	    "\"template\":\"{\\\"event_type\\\":\\\"{{repo}}\\\"}\"}");
	expect_invalid("http", "callback.config.url: required", "{}");
	expect_invalid("http", "callback.config.url: must start with http",
	    "{\"url\":\"ftp://x/y\"}");
	expect_invalid("http", "callback.config.url: must start with http",
	    "{\"url\":\"ci.example.com/hook\"}");
	expect_invalid("http", "callback.config.url: not a valid",
	    "{\"url\":\"http:///nohost\"}");
	expect_invalid("http", "callback.config.url: has a space",
	    "{\"url\":\"http://h/a b\"}");
	expect_invalid("http", "callback.config.url: must be a string",
	    "{\"url\":5}");
	expect_invalid("http", "callback.config.format: must be event, raw or "
	    "template", "{\"url\":\"http://h/\",\"format\":\"xml\"}");
	expect_invalid("http", "callback.config.template: required with format",
	    "{\"url\":\"http://h/\",\"format\":\"template\"}");
	expect_invalid("http", "callback.config.template: unknown placeholder "
	    "{{x}}", "{\"url\":\"http://h/\",\"format\":\"template\","
	    "\"template\":\"{{repo}} {{x}}\"}");
	expect_invalid("http", "callback.config.template: only used with",
	    "{\"url\":\"http://h/\",\"template\":\"{{repo}}\"}");
	expect_invalid("http", "callback.config.timeout: 'soon' is not a "
	    "duration", "{\"url\":\"http://h/\",\"timeout\":\"soon\"}");
	expect_invalid("http", "callback.config.timeout: at most",
	    "{\"url\":\"http://h/\",\"timeout\":\"2h\"}");
	expect_invalid("http", "callback.config.timeout: must be more than 0",
	    "{\"url\":\"http://h/\",\"timeout\":\"0s\"}");
	expect_invalid("http", "callback.config.headers: must be a map",
	    "{\"url\":\"http://h/\",\"headers\":[\"a\"]}");
	expect_invalid("http", "callback.config.headers.X-A: must be a string",
	    "{\"url\":\"http://h/\",\"headers\":{\"X-A\":1}}");
	expect_invalid("http", "callback.config.headers.X-A: unknown "
	    "placeholder {{nope}}", "{\"url\":\"http://h/\","
	    "\"headers\":{\"X-A\":\"{{nope}}\"}}");
	expect_invalid("http", "callback.config.headers.X-A: at most",
	    "{\"url\":\"http://h/\",\"headers\":{\"X-A\":\"a\\r\\nB: c\"}}");
	expect_invalid("http", "callback.config.headers: 'Bad Name' is not",
	    "{\"url\":\"http://h/\",\"headers\":{\"Bad Name\":\"v\"}}");
	expect_invalid("http", "callback.config.headers.Content-Length: set by",
	    "{\"url\":\"http://h/\",\"headers\":{\"Content-Length\":\"1\"}}");
	expect_invalid("http", "callback.config.headers.webhook-signature: set",
	    "{\"url\":\"http://h/\",\"headers\":{\"webhook-signature\":\"1\"}}");
	expect_invalid("http", "callback.config.secret: must be a string or",
	    "{\"url\":\"http://h/\",\"secret\":7}");
	expect_invalid("http", "callback.config.secret: must be a string or",
	    "{\"url\":\"http://h/\",\"secret\":[]}");
	expect_invalid("http", "callback.config.secret[1]: a whsec_ secret",
	    "{\"url\":\"http://h/\",\"secret\":[\"ok\",\"whsec_%%%\"]}");
	expect_invalid("http", "callback.config.secret: must be 1 to",
	    "{\"url\":\"http://h/\",\"secret\":\"\"}");
}

Test(plugins, validate_exec)
{
	expect_valid("exec", "{\"command\":\"/bin/true\"}");
	expect_valid("exec", "{\"command\":\"make\",\"args\":[\"-C\",\"x\"],"
	    "\"timeout\":\"2h\",\"env\":{\"CI\":\"1\",\"PATH\":\"/bin\"}}");
	expect_invalid("exec", "callback.config.command: required", "{}");
	expect_invalid("exec", "callback.config.command: must be",
	    "{\"command\":\"\"}");
	expect_invalid("exec", "callback.config.args: must be a list",
	    "{\"command\":\"x\",\"args\":\"-v\"}");
	expect_invalid("exec", "callback.config.args[1]: must be a string",
	    "{\"command\":\"x\",\"args\":[\"a\",2]}");
	expect_invalid("exec", "callback.config.timeout: 'x' is not",
	    "{\"command\":\"x\",\"timeout\":\"x\"}");
	/* A value quoted in the message cannot break it over lines. */
	expect_invalid("exec", "callback.config.timeout: '500?s' is not",
	    "{\"command\":\"x\",\"timeout\":\"500\\ns\"}");
	expect_invalid("exec", "callback.config.env: must be a map",
	    "{\"command\":\"x\",\"env\":[]}");
	expect_invalid("exec", "callback.config.env: names must be",
	    "{\"command\":\"x\",\"env\":{\"A-B\":\"1\"}}");
	expect_invalid("exec", "callback.config.env.DOMINO_REPO: DOMINO_* "
	    "variables", "{\"command\":\"x\",\"env\":{\"DOMINO_REPO\":\"1\"}}");
	expect_invalid("exec", "callback.config.env.A: must be a string",
	    "{\"command\":\"x\",\"env\":{\"A\":1}}");
}

Test(plugins, validate_nng_and_file)
{
	expect_valid("nng", "{\"address\":\"tcp://127.0.0.1:5555\"}");
	expect_valid("nng", "{\"address\":\"ipc:///run/x.sock\",\"timeout\":"
	    "\"500ms\"}");
	expect_invalid("nng", "callback.config.address: required", "{}");
	expect_invalid("nng", "callback.config.address: 'nonsense' is not an "
	    "nng URL", "{\"address\":\"nonsense\"}");
	expect_invalid("nng", "callback.config.timeout: at most",
	    "{\"address\":\"tcp://h:1\",\"timeout\":\"1h\"}");
	expect_valid("file", "{\"path\":\"/var/log/domino/events.jsonl\"}");
	expect_invalid("file", "callback.config.path: required", "{}");
	expect_invalid("file", "callback.config.path: must be absolute",
	    "{\"path\":\"events.jsonl\"}");
	expect_invalid("file", "callback.config.path: names a directory",
	    "{\"path\":\"/tmp/\"}");
	expect_invalid("file", "callback.config.path: must be a path",
	    "{\"path\":[]}");
}

/* exec. */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run /bin/sh -c script with optional extra config JSON members. */
static void
run_sh(const char *script, const char *extra, struct plugin_result *res)
{
	cJSON *s = cJSON_CreateString(script);
	char *q = cJSON_PrintUnformatted(s);

	config("{\"command\":\"/bin/sh\",\"args\":[\"-c\",%s]%s%s}", q,
	    extra ? "," : "", extra ? extra : "");
	cJSON_free(q);
	cJSON_Delete(s);
	cr_assert_eq(plugin_exec.validate(job.config, NULL, 0), 0);
	memset(res, 0x5a, sizeof(*res));
	plugin_exec.deliver(&job, res);
}

Test(plugins, exec_exit_codes)
{
	struct plugin_result res;

	run_sh("echo hello; exit 0", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	cr_assert_eq(res.status, 0);
	cr_assert_eq(res.retry_after_ms, -1);
	cr_assert_str_eq(res.detail, "exit 0; output: hello ");
	run_sh("echo busy >&2; exit 75", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY);
	cr_assert_eq(res.status, 75);
	cr_assert_str_eq(res.detail, "exit 75; output: busy ");
	run_sh("exit 3", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert_eq(res.status, 3);
	cr_assert_str_eq(res.detail, "exit 3");
	run_sh("kill -SEGV $$", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert_eq(res.status, 128 + SIGSEGV);
}

Test(plugins, exec_timeout_kills_the_group)
{
	struct plugin_result res;
	int64_t t0 = mono_ms(), took;

	/* The background sleep holds the output pipe open too. */
	run_sh("sleep 10 & sleep 10", "\"timeout\":\"300ms\"", &res);
	took = mono_ms() - t0;
	cr_assert_eq(res.outcome, PLUGIN_RETRY, "%s", res.detail);
	cr_assert(took >= 250 && took < 2000, "took %lld ms", (long long)took);
	cr_assert(strstr(res.detail, "killed after the 300 ms timeout") != NULL,
	    "%s", res.detail);
}

Test(plugins, exec_stdin_and_env)
{
	struct plugin_result res;
	char script[512], path[128], buf[8192];
	FILE *f;
	size_t n;
	cJSON *j;

	setenv("DOMINO_TEST_LEAK", "leaked", 1);
	snprintf(path, sizeof(path), "%s/in.json", tmpdir);
	snprintf(script, sizeof(script), "cat > '%s'; printf '%%s|' "
	    "\"$DOMINO_SEQ\" \"$DOMINO_REPO\" \"$DOMINO_VIA\" \"$DOMINO_ATTEMPT\" "
	    "\"$DOMINO_DELIVERY_ID\" \"$EXTRA\" \"${DOMINO_TEST_LEAK-unset}\" "
	    "\"${PATH:+path}\"", path);
	run_sh(script, "\"env\":{\"EXTRA\":\"x y\"}", &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	cr_assert_str_eq(res.detail, "exit 0; output: 42|github.com/org/core|"
	    "github.com/org/core github.com/org/mid|2|dlv_42_ci|x y|unset|path|");
	f = fopen(path, "r");
	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	cr_assert_not_null(j, "stdin was: %s", buf);
	cr_assert_str_eq(jstr(j, "id"), "dlv_42_ci");
	cr_assert_str_eq(jstr(j, "specversion"), "1.0");
	cJSON_Delete(j);
}

Test(plugins, exec_not_found_and_not_executable)
{
	struct plugin_result res;
	char path[128];
	FILE *f;

	config("{\"command\":\"/nonexistent/domino-cmd\"}");
	plugin_exec.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert(strstr(res.detail, "command not found: /nonexistent/"
	    "domino-cmd") != NULL, "%s", res.detail);
	config("{\"command\":\"domino-no-such-command-anywhere\"}");
	plugin_exec.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert(strstr(res.detail, "command not found") != NULL, "%s",
	    res.detail);
	snprintf(path, sizeof(path), "%s/noexec.sh", tmpdir);
	f = fopen(path, "w");
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	chmod(path, 0644);
	config("{\"command\":\"%s\"}", path);
	plugin_exec.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert(strstr(res.detail, "not executable") != NULL, "%s",
	    res.detail);
}

Test(plugins, exec_output_tail_and_unread_stdin)
{
	struct plugin_result res;

	/* 200 KB of output, more than a pipe holds: no deadlock. */
	run_sh("i=0; while [ $i -lt 2000 ]; do echo "
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "456789012345678901234567890123456789; i=$((i+1)); done; echo END",
	    NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	cr_assert(strlen(res.detail) < sizeof(res.detail));
	cr_assert(strstr(res.detail, "END ") != NULL, "%s", res.detail);
	/* A command that never reads stdin still finishes. */
	run_sh("exec 0<&-; exit 0", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
}

static void *
exec_worker(void *arg)
{
	struct plugin_result res;
	int *fails = arg;

	for (int i = 0; i < 5; i++) {
		plugin_exec.deliver(&job, &res);
		if (res.outcome != PLUGIN_OK)
			(*fails)++;
	}
	return NULL;
}

Test(plugins, exec_concurrent)
{
	pthread_t th[4];
	int fails[4] = {0};
	int64_t t0 = mono_ms();

	config("{\"command\":\"/bin/sh\",\"args\":[\"-c\",\"cat >/dev/null\"],"
	    "\"timeout\":\"5s\"}");
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, exec_worker, &fails[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(fails[i], 0);
	}
	cr_assert(mono_ms() - t0 < 5000);
}

/* file. */

Test(plugins, file_appends_lines)
{
	struct plugin_result res;
	char path[128], line[8192];
	FILE *f;
	int lines = 0;
	struct stat st;

	snprintf(path, sizeof(path), "%s/events.jsonl", tmpdir);
	config("{\"path\":\"%s\"}", path);
	plugin_file.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	job.attempt = 3;
	plugin_file.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	cr_assert_eq(stat(path, &st), 0);
	{
		mode_t old = umask(022);

		umask(old);
		cr_assert_eq(st.st_mode & 0777, 0640 & ~old);
	}
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		cJSON *j = cJSON_Parse(line);
		cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");

		cr_assert_not_null(j);
		cr_assert_eq(cJSON_GetObjectItemCaseSensitive(d,
		    "attempt")->valuedouble, lines == 0 ? 2 : 3);
		cr_assert_eq(line[strlen(line) - 1], '\n');
		cJSON_Delete(j);
		lines++;
	}
	fclose(f);
	cr_assert_eq(lines, 2);
	/* A directory that does not exist: an I/O error, retried. */
	config("{\"path\":\"%s/missing/dir/x\"}", tmpdir);
	plugin_file.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY);
	cr_assert(strstr(res.detail, "No such file") != NULL, "%s", res.detail);
}

/* http: a one-connection-at-a-time receiver on 127.0.0.1. */

struct srv {
	int fd, port;
	pthread_t th;
	volatile int stop;
	pthread_mutex_t mu;
	char req[65536]; /* the last request, headers and body */
	size_t req_len;
	size_t body_off;
	int count;
};

static struct srv srv;

static void
srv_answer(int c, const char *path)
{
	const char *r;
	char buf[512];

	if (strcmp(path, "/ok") == 0)
		r = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine";
	else if (strcmp(path, "/retry") == 0)
		r = "HTTP/1.1 500 Internal Server Error\r\nRetry-After: 3\r\n"
		    "Content-Length: 9\r\n\r\noverload\n";
	else if (strcmp(path, "/gone") == 0)
		r = "HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n\r\n";
	else if (strcmp(path, "/moved") == 0)
		r = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\n"
		    "Content-Length: 0\r\n\r\n";
	else if (strcmp(path, "/slow") == 0) {
		usleep(1500 * 1000);
		r = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	} else if (strcmp(path, "/date") == 0) {
		time_t t = time(NULL) + 20;
		struct tm tm;
		char d[64];

		gmtime_r(&t, &tm);
		strftime(d, sizeof(d), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		snprintf(buf, sizeof(buf), "HTTP/1.1 503 Busy\r\nRetry-After: "
		    "%s\r\nContent-Length: 0\r\n\r\n", d);
		r = buf;
	} else
		r = "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope\n";
	(void)!write(c, r, strlen(r));
}

static void
srv_conn(int c)
{
	char buf[sizeof(srv.req)], path[128] = "";
	size_t n = 0, want = 0;
	char *end = NULL, *cl;
	ssize_t r;

	for (;;) {
		r = read(c, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		buf[n] = '\0';
		if (end == NULL) {
			end = strstr(buf, "\r\n\r\n");
			if (end != NULL) {
				cl = strcasestr(buf, "\r\nContent-Length:");
				want = (size_t)(end + 4 - buf) +
				    (cl ? strtoul(cl + 17, NULL, 10) : 0);
			}
		}
		if (end != NULL && n >= want)
			break;
		if (n >= sizeof(buf) - 1)
			return;
	}
	sscanf(buf, "POST %127s", path);
	pthread_mutex_lock(&srv.mu);
	memcpy(srv.req, buf, n + 1);
	srv.req_len = n;
	srv.body_off = (size_t)(end + 4 - buf);
	srv.count++;
	pthread_mutex_unlock(&srv.mu);
	srv_answer(c, path);
}

static void *
srv_main(void *arg)
{
	(void)arg;
	while (!srv.stop) {
		struct pollfd p = {.fd = srv.fd, .events = POLLIN};
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(srv.fd, NULL, NULL);
		if (c < 0)
			continue;
		srv_conn(c);
		close(c);
	}
	return NULL;
}

static void
srv_start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.mu, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(srv.fd >= 0);
	cr_assert_eq(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(srv.fd, 16), 0);
	cr_assert_eq(getsockname(srv.fd, (struct sockaddr *)&a, &al), 0);
	srv.port = ntohs(a.sin_port);
	pthread_create(&srv.th, NULL, srv_main, NULL);
}

static void
srv_stop(void)
{
	srv.stop = 1;
	pthread_join(srv.th, NULL);
	close(srv.fd);
	pthread_mutex_destroy(&srv.mu);
}

/* The value of a header in the last request, or NULL. */
static const char *
req_header(const char *name, char *out, size_t cap)
{
	char pat[128];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\r\n%s:", name);
	p = strcasestr(srv.req, pat);
	if (p == NULL || p > srv.req + srv.body_off)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	e = strstr(p, "\r\n");
	snprintf(out, cap, "%.*s", (int)(e - p), p);
	return out;
}

static void
http_post(const char *path, const char *extra, struct plugin_result *res)
{
	config("{\"url\":\"http://127.0.0.1:%d%s\"%s%s}", srv.port, path,
	    extra ? "," : "", extra ? extra : "");
	cr_assert_eq(plugin_http.validate(job.config, NULL, 0), 0);
	memset(res, 0x5a, sizeof(*res));
	plugin_http.deliver(&job, res);
}

Test(plugins, http_outcomes)
{
	struct plugin_result res;

	srv_start();
	http_post("/ok", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	cr_assert_eq(res.status, 200);
	cr_assert_eq(res.retry_after_ms, -1);
	cr_assert_str_eq(res.detail, "HTTP 200: fine");
	http_post("/retry", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY);
	cr_assert_eq(res.status, 500);
	cr_assert_eq(res.retry_after_ms, 3000);
	cr_assert_str_eq(res.detail, "HTTP 500: overload ");
	http_post("/date", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY);
	cr_assert_eq(res.status, 503);
	cr_assert(res.retry_after_ms >= 15000 && res.retry_after_ms <= 21000,
	    "%lld", (long long)res.retry_after_ms);
	http_post("/gone", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_GONE);
	cr_assert_eq(res.status, 410);
	http_post("/missing", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert_eq(res.status, 404);
	cr_assert_str_eq(res.detail, "HTTP 404: nope ");
	http_post("/moved", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert_eq(res.status, 302);
	cr_assert(strstr(res.detail, "not followed") != NULL, "%s", res.detail);
	cr_assert_eq(srv.count, 6); /* the redirect was not followed */
	http_post("/slow", "\"timeout\":\"300ms\"", &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY);
	cr_assert_eq(res.status, -1);
	cr_assert(strstr(res.detail, "timed out after 300 ms") != NULL, "%s",
	    res.detail);
	srv_stop();
}

Test(plugins, http_event_signed)
{
	struct plugin_result res;
	char v[512], ts[32], id[64], want[SIGN_HEADER_MAX];
	struct pstr k[2] = {ps(SW_SECRET), ps("plain-old-secret")};
	cJSON *j;

	srv_start();
	http_post("/ok", "\"secret\":[\"" SW_SECRET "\",\"plain-old-secret\"]",
	    &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	cr_assert_str_eq(req_header("Content-Type", v, sizeof(v)),
	    "application/cloudevents+json");
	cr_assert(strncmp(req_header("User-Agent", v, sizeof(v)), "domino/",
	    7) == 0);
	cr_assert_null(req_header("Expect", v, sizeof(v)));
	cr_assert_str_eq(req_header("webhook-id", id, sizeof(id)), "dlv_42_ci");
	cr_assert_not_null(req_header("webhook-timestamp", ts, sizeof(ts)));
	cr_assert(llabs(atoll(ts) - (long long)time(NULL)) < 60);
	cr_assert_eq(sign_header(k, 2, id, atoll(ts), srv.req + srv.body_off,
	    srv.req_len - srv.body_off, want, sizeof(want)), DOMINO_OK);
	cr_assert_str_eq(req_header("webhook-signature", v, sizeof(v)), want);
	cr_assert_not_null(strchr(v, ' '), "two signatures: %s", v);
	j = cJSON_Parse(srv.req + srv.body_off);
	cr_assert_not_null(j);
	cr_assert_str_eq(jstr(j, "id"), "dlv_42_ci");
	cJSON_Delete(j);
	srv_stop();
}

Test(plugins, http_raw_relay)
{
	struct plugin_result res;
	char v[512];

	srv_start();
	http_post("/ok", "\"format\":\"raw\",\"headers\":{\"X-Extra\":\"{{seq}}\"}",
	    &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	cr_assert_eq(srv.req_len - srv.body_off, ev.payload_len);
	cr_assert_eq(memcmp(srv.req + srv.body_off, ev.payload,
	    ev.payload_len), 0);
	cr_assert_str_eq(req_header("X-GitHub-Event", v, sizeof(v)), "push");
	cr_assert_str_eq(req_header("Content-Type", v, sizeof(v)),
	    "application/json");
	cr_assert_str_eq(req_header("X-Extra", v, sizeof(v)), "42");
	cr_assert_null(strstr(srv.req, "x-not-relayed"));
	cr_assert_null(req_header("webhook-signature", v, sizeof(v)));
	srv_stop();
}

Test(plugins, http_template)
{
	struct plugin_result res;
	char v[512];

	srv_start();
	http_post("/ok", "\"format\":\"template\",\"template\":"
	    "\"{\\\"event_type\\\":\\\"domino\\\",\\\"client_payload\\\":"
	    "{\\\"ref\\\":\\\"{{ref}}\\\",\\\"sha\\\":\\\"{{after}}\\\"}}\","
	    "\"headers\":{\"Authorization\":\"Bearer abc\",\"X-Repo\":"
	    "\"{{repo}}\",\"Accept\":\"\"}", &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	cr_assert_str_eq(srv.req + srv.body_off, "{\"event_type\":\"domino\","
	    "\"client_payload\":{\"ref\":\"refs/heads/main\",\"sha\":\"d4e5f6\"}}");
	cr_assert_str_eq(req_header("Content-Type", v, sizeof(v)),
	    "application/json");
	cr_assert_str_eq(req_header("Authorization", v, sizeof(v)), "Bearer abc");
	cr_assert_str_eq(req_header("X-Repo", v, sizeof(v)),
	    "github.com/org/core");
	cr_assert_str_eq(req_header("Accept", v, sizeof(v)), "");
	http_post("/ok", "\"format\":\"template\",\"template\":\"x\","
	    "\"headers\":{\"content-type\":\"text/plain\"}", &res);
	cr_assert_str_eq(req_header("Content-Type", v, sizeof(v)), "text/plain");
	srv_stop();
}

Test(plugins, http_ssrf_refused)
{
	struct plugin_result res;

	srv_start();
	job.allow_private = 0;
	http_post("/ok", NULL, &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert(strstr(res.detail, "refused to connect to 127.0.0.1: a "
	    "loopback address") != NULL, "%s", res.detail);
	config("{\"url\":\"http://localhost:%d/ok\"}", srv.port);
	plugin_http.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert(strstr(res.detail, "refused to connect") != NULL, "%s",
	    res.detail);
	cr_assert_eq(srv.count, 0);
	srv_stop();
}

Test(plugins, http_connection_refused_is_retry)
{
	struct plugin_result res;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	/* A port that was just free: nobody listens on it. */
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &al);
	port = ntohs(a.sin_port);
	close(fd);
	config("{\"url\":\"http://127.0.0.1:%d/\",\"timeout\":\"2s\"}", port);
	plugin_http.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY, "%s", res.detail);
	cr_assert_eq(res.status, -1);
}

/* nng: a rep0 socket in a thread answers by mode. */

enum nmode { N_EMPTY, N_MAP_RETRY, N_TEXT_FAIL, N_TEXT_OK, N_GARBAGE,
	N_SILENT, N_MAP_GONE };

struct nsrv {
	nng_socket s;
	pthread_t th;
	volatile int stop;
	volatile enum nmode mode;
	uint64_t seq;
	size_t n_via;
	int got;
	char url[160];
};

static struct nsrv ns;

static void
pack_reply(const char *result, const char *detail, msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, detail ? 2 : 1);
	msgpack_pack_str_with_body(&pk, "result", 6);
	msgpack_pack_str_with_body(&pk, result, strlen(result));
	if (detail) {
		msgpack_pack_str_with_body(&pk, "detail", 6);
		msgpack_pack_str_with_body(&pk, detail, strlen(detail));
	}
}

static void *
nsrv_main(void *arg)
{
	(void)arg;
	while (!ns.stop) {
		char *buf = NULL;
		size_t len = 0;
		struct domino_event got;
		msgpack_sbuffer sb;
		const char *text = NULL;

		if (nng_recv(ns.s, &buf, &len, NNG_FLAG_ALLOC) != 0)
			continue;
		if (domino_event_decode(buf, len, &got) == DOMINO_OK) {
			ns.seq = got.seq;
			ns.n_via = got.n_via;
			domino_event_clear(&got);
		}
		nng_free(buf, len);
		ns.got++;
		switch (ns.mode) {
		case N_EMPTY: text = ""; break;
		case N_TEXT_FAIL: text = "fail: bad config"; break;
		case N_TEXT_OK: text = "  OK thanks"; break;
		case N_GARBAGE: text = "okay?"; break;
		case N_SILENT: continue;
		case N_MAP_RETRY:
		case N_MAP_GONE:
			pack_reply(ns.mode == N_MAP_RETRY ? "retry" : "gone",
			    ns.mode == N_MAP_RETRY ? "busy, later" : NULL, &sb);
			nng_send(ns.s, sb.data, sb.size, 0);
			msgpack_sbuffer_destroy(&sb);
			continue;
		}
		nng_send(ns.s, (void *)text, strlen(text), 0);
	}
	return NULL;
}

static void
nsrv_start(void)
{
	memset(&ns, 0, sizeof(ns));
	snprintf(ns.url, sizeof(ns.url), "ipc://%s/rep.sock", tmpdir);
	cr_assert_eq(nng_rep0_open(&ns.s), 0);
	nng_socket_set_ms(ns.s, NNG_OPT_RECVTIMEO, 50);
	cr_assert_eq(nng_listen(ns.s, ns.url, NULL, 0), 0);
	pthread_create(&ns.th, NULL, nsrv_main, NULL);
}

static void
nsrv_stop(void)
{
	ns.stop = 1;
	pthread_join(ns.th, NULL);
	nng_close(ns.s);
}

static void
nng_call(enum nmode mode, const char *timeout, struct plugin_result *res)
{
	ns.mode = mode;
	config("{\"address\":\"%s\",\"timeout\":\"%s\"}", ns.url, timeout);
	cr_assert_eq(plugin_nng.validate(job.config, NULL, 0), 0);
	memset(res, 0x5a, sizeof(*res));
	plugin_nng.deliver(&job, res);
}

Test(plugins, nng_replies)
{
	struct plugin_result res;
	int64_t t0;

	nsrv_start();
	nng_call(N_EMPTY, "2s", &res);
	cr_assert_eq(res.outcome, PLUGIN_OK, "%s", res.detail);
	cr_assert_eq(res.status, -1);
	cr_assert_eq(ns.seq, 42);
	cr_assert_eq(ns.n_via, 2);
	nng_call(N_MAP_RETRY, "2s", &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY);
	cr_assert_str_eq(res.detail, "busy, later");
	nng_call(N_MAP_GONE, "2s", &res);
	cr_assert_eq(res.outcome, PLUGIN_GONE);
	nng_call(N_TEXT_FAIL, "2s", &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert_str_eq(res.detail, "fail: bad config");
	nng_call(N_TEXT_OK, "2s", &res);
	cr_assert_eq(res.outcome, PLUGIN_OK);
	nng_call(N_GARBAGE, "2s", &res);
	cr_assert_eq(res.outcome, PLUGIN_FAIL);
	cr_assert(strstr(res.detail, "unrecognized reply") != NULL, "%s",
	    res.detail);
	t0 = mono_ms();
	nng_call(N_SILENT, "300ms", &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY);
	cr_assert(strstr(res.detail, "no reply from") != NULL, "%s", res.detail);
	cr_assert(mono_ms() - t0 < 1500);
	cr_assert_eq(ns.got, 7);
	nsrv_stop();
}

Test(plugins, nng_unreachable_is_retry_within_timeout)
{
	struct plugin_result res;
	int64_t t0 = mono_ms();

	config("{\"address\":\"ipc://%s/nobody.sock\",\"timeout\":\"300ms\"}",
	    tmpdir);
	plugin_nng.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY);
	cr_assert(strstr(res.detail, "no connection to") != NULL, "%s",
	    res.detail);
	cr_assert(mono_ms() - t0 < 1500);
	/* A black-holed TCP address (TEST-NET-1) does not block longer. */
	t0 = mono_ms();
	config("{\"address\":\"tcp://192.0.2.1:9\",\"timeout\":\"300ms\"}");
	plugin_nng.deliver(&job, &res);
	cr_assert_eq(res.outcome, PLUGIN_RETRY);
	cr_assert(mono_ms() - t0 < 1500, "took %lld ms",
	    (long long)(mono_ms() - t0));
}
