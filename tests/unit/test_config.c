/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for broker/config.c: defaults, a full file in block and flow
 * style, errors that name the key and the line, size and duration parsing,
 * and the generated <data>/sources.yaml. Files live in mkdtemp directories.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

static char tmpdir[64];

static void
setup(void)
{
	strcpy(tmpdir, "/tmp/domino-test-config.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	char p[512];

	if (d == NULL)
		return;
	for (;;) {
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(tmpdir);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Write text to <tmpdir>/name; returns the path in a static buffer. */
static const char *
put(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as a config file; returns the status, error in err. */
static int
load(const char *text, struct config *cfg, char *err, size_t errlen)
{
	return config_load(put("domino.yaml", text), cfg, err, errlen);
}

static void
check_defaults(const struct config *c)
{
	cr_assert_str_eq(c->data_dir, "./var/domino");
	cr_assert_str_eq(c->listen.http, "http://127.0.0.1:8700");
	cr_assert_str_eq(c->listen.pub, "tcp://127.0.0.1:8701");
	cr_assert_str_eq(c->listen.control, "tcp://127.0.0.1:8702");
	cr_assert_str_eq(c->listen.admin, "http://127.0.0.1:8703");
	cr_assert(c->sources_default);
	for (int i = 0; i < SRC_COUNT; i++) {
		cr_assert(c->sources[i].enabled);
		cr_assert_null(c->sources[i].secret);
		cr_assert_null(c->sources[i].token);
	}
	cr_assert_eq(c->limits.max_body, 25u << 20);
	cr_assert_eq(c->limits.max_control, 32u << 20);
	cr_assert_eq(c->retention.max_age_s, 0);
	cr_assert_eq(c->retention.max_events, 0);
	cr_assert_eq(c->retention.max_bytes, 0);
	cr_assert_eq(c->writer.batch_max, 256);
	cr_assert_eq(c->writer.queue_max, 65536);
	cr_assert_eq(c->heartbeat_ms, 2000);
	cr_assert(c->store_payload);
	cr_assert_str_eq(c->log_level, "info");
	cr_assert_str_eq(c->log_format, "human");
	cr_assert_str_eq(c->plugins_dir, "./var/domino/plugins");
	cr_assert(c->plugins_dir_default);
	cr_assert_not(c->allow_private_callbacks);
}

Test(config, defaults)
{
	struct config c;
	char err[256];

	cr_assert_eq(config_defaults(&c), DOMINO_OK);
	check_defaults(&c);
	config_free(&c);
	cr_assert_eq(config_load(NULL, &c, err, sizeof(err)), DOMINO_OK);
	check_defaults(&c);
	config_free(&c);
	config_free(&c); /* zeroed: a no-op */
}

Test(config, empty_file_is_defaults)
{
	struct config c;
	char err[256];

	cr_assert_eq(load("", &c, err, sizeof(err)), DOMINO_OK, "%s", err);
	check_defaults(&c);
	config_free(&c);
	cr_assert_eq(load("# only a comment\n\n", &c, err, sizeof(err)),
	    DOMINO_OK, "%s", err);
	check_defaults(&c);
	config_free(&c);
}

Test(config, source_names)
{
	cr_assert_str_eq(config_source_name(SRC_GITHUB), "github");
	cr_assert_str_eq(config_source_name(SRC_GITLAB), "gitlab");
	cr_assert_str_eq(config_source_name(SRC_GITEA), "gitea");
	cr_assert_str_eq(config_source_name(SRC_BITBUCKET), "bitbucket");
	cr_assert_str_eq(config_source_name(SRC_GERRIT), "gerrit");
	cr_assert_str_eq(config_source_name(SRC_GENERIC), "generic");
	cr_assert_null(config_source_name(SRC_COUNT));
	cr_assert_null(config_source_name((enum source_id)-1));
}

static const char full_yaml[] =
    "# every key\n"
    "data_dir: /srv/domino\n"
    "listen:\n"
    "  http: http://0.0.0.0:9000\n"
    "  pub: tcp://0.0.0.0:9001\n"
    "  control: ipc:///run/domino.ctl\n"
    "  admin: https://127.0.0.1:9003\n"
    "sources:\n"
    "  github:    {secret: \"gh-secret\"}\n"
    "  gitlab:    {token: \"gl-token\"}\n"
    "  generic:   {token: tok, secret: sec}\n"
    "limits:\n"
    "  max_body: 10MiB\n"
    "  max_control: 1MB\n"
    "retention:\n"
    "  max_age: 30d\n"
    "  max_events: 1000000\n"
    "  max_bytes: 2GiB\n"
    "writer:\n"
    "  batch_max: 128\n"
    "  queue_max: 1000\n"
    "heartbeat: 500ms\n"
    "store_payload: false\n"
    "log: {level: debug, format: json}\n"
    "plugins:\n"
    "  dir: /usr/lib/domino/plugins\n"
    "callbacks:\n"
    "  allow_private: yes\n";

Test(config, full_file)
{
	struct config c;
	char err[256];

	cr_assert_eq(load(full_yaml, &c, err, sizeof(err)), DOMINO_OK, "%s",
	    err);
	cr_assert_str_eq(c.data_dir, "/srv/domino");
	cr_assert_str_eq(c.listen.http, "http://0.0.0.0:9000");
	cr_assert_str_eq(c.listen.pub, "tcp://0.0.0.0:9001");
	cr_assert_str_eq(c.listen.control, "ipc:///run/domino.ctl");
	cr_assert_str_eq(c.listen.admin, "https://127.0.0.1:9003");
	cr_assert_not(c.sources_default);
	cr_assert(c.sources[SRC_GITHUB].enabled);
	cr_assert_str_eq(c.sources[SRC_GITHUB].secret, "gh-secret");
	cr_assert_null(c.sources[SRC_GITHUB].token);
	cr_assert(c.sources[SRC_GITLAB].enabled);
	cr_assert_str_eq(c.sources[SRC_GITLAB].token, "gl-token");
	cr_assert(c.sources[SRC_GENERIC].enabled);
	cr_assert_str_eq(c.sources[SRC_GENERIC].token, "tok");
	cr_assert_str_eq(c.sources[SRC_GENERIC].secret, "sec");
	cr_assert_not(c.sources[SRC_GITEA].enabled);
	cr_assert_not(c.sources[SRC_BITBUCKET].enabled);
	cr_assert_not(c.sources[SRC_GERRIT].enabled);
	cr_assert_eq(c.limits.max_body, 10u << 20);
	cr_assert_eq(c.limits.max_control, 1000000);
	cr_assert_eq(c.retention.max_age_s, 30 * 86400);
	cr_assert_eq(c.retention.max_events, 1000000);
	cr_assert_eq(c.retention.max_bytes, 2ull << 30);
	cr_assert_eq(c.writer.batch_max, 128);
	cr_assert_eq(c.writer.queue_max, 1000);
	cr_assert_eq(c.heartbeat_ms, 500);
	cr_assert_not(c.store_payload);
	cr_assert_str_eq(c.log_level, "debug");
	cr_assert_str_eq(c.log_format, "json");
	cr_assert_str_eq(c.plugins_dir, "/usr/lib/domino/plugins");
	cr_assert_not(c.plugins_dir_default);
	cr_assert(c.allow_private_callbacks);

	/* An explicit plugins dir stays put when --data moves data_dir. */
	cr_assert_eq(config_set_data_dir(&c, "/elsewhere"), DOMINO_OK);
	cr_assert_str_eq(c.data_dir, "/elsewhere");
	cr_assert_str_eq(c.plugins_dir, "/usr/lib/domino/plugins");
	config_free(&c);
}

Test(config, plugins_dir_follows_data_dir)
{
	struct config c;
	char err[256];

	cr_assert_eq(load("data_dir: /srv/d\n", &c, err, sizeof(err)),
	    DOMINO_OK, "%s", err);
	cr_assert_str_eq(c.plugins_dir, "/srv/d/plugins");
	cr_assert(c.sources_default);
	cr_assert_eq(config_set_data_dir(&c, "/tmp/x"), DOMINO_OK);
	cr_assert_str_eq(c.data_dir, "/tmp/x");
	cr_assert_str_eq(c.plugins_dir, "/tmp/x/plugins");
	config_free(&c);
}

Test(config, empty_sources_section_disables_all)
{
	struct config c;
	char err[256];

	cr_assert_eq(load("sources: {}\n", &c, err, sizeof(err)), DOMINO_OK,
	    "%s", err);
	cr_assert_not(c.sources_default);
	for (int i = 0; i < SRC_COUNT; i++)
		cr_assert_not(c.sources[i].enabled);
	config_free(&c);
}

/* Load bad text: must fail with rv, leave defaults, and the message must
 * contain every needle. */
static void
expect_error(const char *text, int rv, const char *needle1,
    const char *needle2)
{
	struct config c;
	char err[512];

	memset(err, 'x', sizeof(err));
	cr_assert_eq(load(text, &c, err, sizeof(err)), rv, "rv for:\n%s\n%s",
	    text, err);
	cr_assert_not_null(strstr(err, needle1), "'%s' not in '%s'", needle1,
	    err);
	if (needle2 != NULL)
		cr_assert_not_null(strstr(err, needle2), "'%s' not in '%s'",
		    needle2, err);
	cr_assert_not_null(strstr(err, "domino.yaml"), "%s", err);
	check_defaults(&c);
	config_free(&c);
}

Test(config, unknown_top_level_key)
{
	expect_error("data_dir: /x\nfoo: 1\n", DOMINO_EINVAL, "domino.yaml:2:",
	    "foo: unknown key");
}

Test(config, unknown_nested_key)
{
	expect_error("data_dir: /x\nlimits:\n  max_body: 1MiB\n  bogus: 2\n",
	    DOMINO_EINVAL, ":4:", "limits.bogus: unknown key");
	expect_error("listen: {http: http://a:1, smtp: x}\n", DOMINO_EINVAL,
	    ":1:", "listen.smtp: unknown key");
	expect_error("sources:\n  github: {secret: a}\n  svn: {token: b}\n",
	    DOMINO_EINVAL, ":3:", "sources.svn: unknown key");
	expect_error("sources:\n  github: {secret: a, pasword: b}\n",
	    DOMINO_EINVAL, ":2:", "sources.github.pasword: unknown key");
}

Test(config, unknown_key_named_like_a_value)
{
	/* "level" appears as a value first; the line is the key's. */
	expect_error("data_dir: level\nlog:\n  format: json\n  lvl: x\n",
	    DOMINO_EINVAL, ":4:", "log.lvl");
}

Test(config, bad_size)
{
	expect_error("limits:\n  max_body: 25 parsecs\n", DOMINO_EINVAL,
	    "domino.yaml:2: limits.max_body:", "25 parsecs");
	expect_error("retention: {max_bytes: -1}\n", DOMINO_EINVAL, ":1:",
	    "retention.max_bytes");
	expect_error("limits:\n  max_body: 0\n", DOMINO_EINVAL, ":2:",
	    "limits.max_body");
	/* Under the size of libdomino's shared publish requests. */
	expect_error("limits:\n  max_control: 64KiB\n", DOMINO_EINVAL,
	    "domino.yaml:2: limits.max_control:",
	    "below the minimum of 131072 bytes");
}

Test(config, bad_duration)
{
	expect_error("retention:\n  max_age: 30 days\n", DOMINO_EINVAL,
	    "domino.yaml:2: retention.max_age:", "30 days");
	expect_error("# c\n\nheartbeat: soon\n", DOMINO_EINVAL,
	    "domino.yaml:3: heartbeat:", "soon");
	expect_error("heartbeat: 2h\n", DOMINO_EINVAL, ":1:", "heartbeat");
}

Test(config, bad_values)
{
	expect_error("store_payload: maybe\n", DOMINO_EINVAL, ":1:",
	    "store_payload: 'maybe' is not true or false");
	expect_error("log:\n  level: loud\n", DOMINO_EINVAL, ":2:",
	    "log.level");
	expect_error("log:\n  format: xml\n", DOMINO_EINVAL, ":2:",
	    "log.format");
	expect_error("writer:\n  batch_max: 0\n", DOMINO_EINVAL, ":2:",
	    "writer.batch_max");
	expect_error("writer:\n  queue_max: lots\n", DOMINO_EINVAL, ":2:",
	    "writer.queue_max");
	expect_error("listen:\n  http: 127.0.0.1:8700\n", DOMINO_EINVAL, ":2:",
	    "listen.http");
	expect_error("listen:\n  pub: nowhere\n", DOMINO_EINVAL, ":2:",
	    "listen.pub");
	expect_error("data_dir: \"\"\n", DOMINO_EINVAL, ":1:", "data_dir");
	expect_error("callbacks: {allow_private: 2}\n", DOMINO_EINVAL, ":1:",
	    "callbacks.allow_private");
	expect_error("sources:\n  github: {secret: \"\"}\n", DOMINO_EINVAL,
	    ":2:", "sources.github.secret");
}

Test(config, wrong_shapes)
{
	expect_error("data_dir: x\nlimits: 5\n", DOMINO_EINVAL, ":2:",
	    "limits: expected a mapping");
	expect_error("data_dir: [a, b]\n", DOMINO_EINVAL, ":1:", "data_dir");
	expect_error("- a\n- b\n", DOMINO_EINVAL, "expected a mapping", NULL);
	expect_error("just text\n", DOMINO_EINVAL, "expected a mapping", NULL);
	expect_error("sources:\n  github:\n", DOMINO_EINVAL, "sources.github",
	    "expected a mapping");
}

Test(config, duplicate_key)
{
	expect_error("heartbeat: 1s\ndata_dir: a\nheartbeat: 2s\n",
	    DOMINO_EINVAL, ":3:", "heartbeat: duplicate key");
}

Test(config, syntax_error_has_line)
{
	expect_error("data_dir: x\nlimits:\n  max_body: 1\n bad: 2\n",
	    DOMINO_EINVAL, ":4:", "YAML syntax error");
	expect_error("data_dir: \"open\n", DOMINO_EINVAL, "YAML syntax error",
	    NULL);
	expect_error("\tdata_dir: x\n", DOMINO_EINVAL, ":1:",
	    "YAML syntax error");
}

Test(config, aliases_refused)
{
	expect_error("data_dir: &a x\nplugins: {dir: *a}\n", DOMINO_EINVAL,
	    "plugins.dir", NULL);
}

Test(config, missing_file)
{
	struct config c;
	char err[256], path[128];

	snprintf(path, sizeof(path), "%s/nope.yaml", tmpdir);
	cr_assert_eq(config_load(path, &c, err, sizeof(err)), DOMINO_EIO);
	cr_assert_not_null(strstr(err, "nope.yaml"), "%s", err);
	check_defaults(&c);
	config_free(&c);
}

Test(config, no_errbuf)
{
	struct config c;

	cr_assert_eq(load("foo: 1\n", &c, NULL, 0), DOMINO_EINVAL);
	config_free(&c);
}

Test(config, parse_size)
{
	static const struct {
		const char *in;
		uint64_t out;
	} ok[] = {
		{"0", 0}, {"1", 1}, {"1048576", 1048576}, {"1b", 1}, {"1B", 1},
		{"1k", 1024}, {"1K", 1024}, {"1KiB", 1024}, {"1kb", 1000},
		{"1KB", 1000}, {"25MiB", 25u << 20}, {"25 MiB", 25u << 20},
		{"3m", 3u << 20}, {"3MB", 3000000}, {"2g", 2ull << 30},
		{"2GB", 2000000000ull}, {"1TiB", 1ull << 40},
		{"1tb", 1000000000000ull},
		{"18446744073709551615", UINT64_MAX},
	};
	static const char *const bad[] = {
		"", " 1", "1 ", "-1", "+1", "1.5MiB", "MiB", "1 2", "1PiB",
		"1  MiB", "1MiBs", "0x10", "18446744073709551616",
		"16777216TiB", "1e6",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		cr_assert_eq(config_parse_size(ok[i].in, &v), 0, "'%s'",
		    ok[i].in);
		cr_assert_eq(v, ok[i].out, "'%s' gave %llu", ok[i].in,
		    (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(config_parse_size(bad[i], &v), 0, "'%s'", bad[i]);
	cr_assert_neq(config_parse_size(NULL, &v), 0);
}

Test(config, parse_duration)
{
	static const struct {
		const char *in;
		uint64_t s;
	} ok[] = {
		{"0", 0}, {"90", 90}, {"90s", 90}, {"5m", 300}, {"12h", 43200},
		{"30d", 2592000}, {"2w", 1209600}, {"1h30m", 5400},
		{"1d12h", 129600}, {"2000ms", 2}, {"1m0s", 60},
	};
	static const char *const bad[] = {
		"", "s", "30x", "1.5h",
		"-1s", "1 h", "h1", "500ms", "1s500", "1hh",
		"99999999999999999999", "9999999999999999w",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(config_parse_duration(ok[i].in, &v), 0, "'%s'",
		    ok[i].in);
		cr_assert_eq(v, ok[i].s, "'%s' gave %llu", ok[i].in,
		    (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(config_parse_duration(bad[i], &v), 0, "'%s'",
		    bad[i]);
	cr_assert_neq(config_parse_duration(NULL, &v), 0);

	cr_assert_eq(config_parse_duration_ms("500ms", &v), 0);
	cr_assert_eq(v, 500);
	cr_assert_eq(config_parse_duration_ms("2s", &v), 0);
	cr_assert_eq(v, 2000);
	cr_assert_eq(config_parse_duration_ms("1s500ms", &v), 0);
	cr_assert_eq(v, 1500);
	cr_assert_eq(config_parse_duration_ms("3", &v), 0);
	cr_assert_eq(v, 3000);
	cr_assert_neq(config_parse_duration_ms("18446744073709552s", &v), 0);
}

/* ---- sources.yaml ---- */

static struct config
data_config(void)
{
	struct config c;

	cr_assert_eq(config_defaults(&c), DOMINO_OK);
	cr_assert_eq(config_set_data_dir(&c, tmpdir), DOMINO_OK);
	return c;
}

static bool
is_hex64(const char *s)
{
	if (s == NULL || strlen(s) != 64)
		return false;
	return strspn(s, "0123456789abcdef") == 64;
}

Test(config, sources_file_generated_and_reloaded)
{
	struct config a = data_config(), b = data_config();
	char err[512], path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/sources.yaml", tmpdir);
	cr_assert_eq(config_load_sources_file(&a, err, sizeof(err)), DOMINO_OK,
	    "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);

	/* Each source gets the credential its forge checks by default. */
	cr_assert(is_hex64(a.sources[SRC_GITHUB].secret));
	cr_assert_null(a.sources[SRC_GITHUB].token);
	cr_assert(is_hex64(a.sources[SRC_GITLAB].token));
	cr_assert(is_hex64(a.sources[SRC_GITEA].secret));
	cr_assert(is_hex64(a.sources[SRC_BITBUCKET].secret));
	cr_assert(is_hex64(a.sources[SRC_GERRIT].token));
	cr_assert(is_hex64(a.sources[SRC_GENERIC].token));
	cr_assert_str_neq(a.sources[SRC_GITHUB].secret,
	    a.sources[SRC_GITEA].secret);

	cr_assert_eq(config_load_sources_file(&b, err, sizeof(err)), DOMINO_OK,
	    "%s", err);
	for (int i = 0; i < SRC_COUNT; i++) {
		const char *x = a.sources[i].secret ? a.sources[i].secret :
		    a.sources[i].token;
		const char *y = b.sources[i].secret ? b.sources[i].secret :
		    b.sources[i].token;
		cr_assert_str_eq(x, y, "source %d changed on reload", i);
	}
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	config_free(&a);
	config_free(&b);
}

Test(config, sources_file_group_readable_refused)
{
	struct config a = data_config(), b = data_config();
	char err[512], path[128];

	snprintf(path, sizeof(path), "%s/sources.yaml", tmpdir);
	cr_assert_eq(config_load_sources_file(&a, err, sizeof(err)), DOMINO_OK,
	    "%s", err);
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(config_load_sources_file(&b, err, sizeof(err)),
	    DOMINO_EINVAL);
	cr_assert_not_null(strstr(err, "chmod 600"), "%s", err);
	cr_assert_not_null(strstr(err, "sources.yaml"), "%s", err);
	config_free(&a);
	config_free(&b);
}

Test(config, sources_file_fills_only_what_is_missing)
{
	struct config c;
	char err[512], path[256];
	struct stat st;

	/* An existing file with one entry: kept, the rest added. */
	snprintf(path, sizeof(path), "%s",
	    put("sources.yaml", "github:\n  secret: \"mine\\\"quoted\"\n"));
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(load("sources:\n  github: {}\n  gitlab: {token: set}\n"
	    "  gerrit: {}\n", &c, err, sizeof(err)), DOMINO_OK, "%s", err);
	cr_assert_eq(config_set_data_dir(&c, tmpdir), DOMINO_OK);
	cr_assert_eq(config_load_sources_file(&c, err, sizeof(err)), DOMINO_OK,
	    "%s", err);
	cr_assert_str_eq(c.sources[SRC_GITHUB].secret, "mine\"quoted");
	cr_assert_str_eq(c.sources[SRC_GITLAB].token, "set");
	cr_assert(is_hex64(c.sources[SRC_GERRIT].token));
	/* Disabled sources get nothing in the config. */
	cr_assert_null(c.sources[SRC_GITEA].secret);
	cr_assert_null(c.sources[SRC_GITEA].token);
	config_free(&c);

	/* The rewritten file is private and still has the quoted secret. */
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	c = data_config();
	cr_assert_eq(config_load_sources_file(&c, err, sizeof(err)), DOMINO_OK,
	    "%s", err);
	cr_assert_str_eq(c.sources[SRC_GITHUB].secret, "mine\"quoted");
	cr_assert(is_hex64(c.sources[SRC_GITEA].secret));
	config_free(&c);
}

Test(config, sources_file_untouched_when_not_needed)
{
	struct config c;
	char err[512], path[128];

	cr_assert_eq(load("sources:\n  github: {secret: s}\n", &c, err,
	    sizeof(err)), DOMINO_OK, "%s", err);
	cr_assert_eq(config_set_data_dir(&c, tmpdir), DOMINO_OK);
	cr_assert_eq(config_load_sources_file(&c, err, sizeof(err)), DOMINO_OK,
	    "%s", err);
	snprintf(path, sizeof(path), "%s/sources.yaml", tmpdir);
	cr_assert_neq(access(path, F_OK), 0);
	cr_assert_str_eq(c.sources[SRC_GITHUB].secret, "s");
	config_free(&c);
}

Test(config, sources_file_bad_yaml)
{
	struct config c = data_config();
	char err[512];
	const char *path;

	path = put("sources.yaml", "github:\n  secret: a\n  colour: red\n");
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(config_load_sources_file(&c, err, sizeof(err)),
	    DOMINO_EINVAL);
	cr_assert_not_null(strstr(err, "sources.yaml:3: github.colour"), "%s",
	    err);
	config_free(&c);
}

Test(config, sources_file_unwritable_dir)
{
	struct config c;
	char err[512];

	cr_assert_eq(config_defaults(&c), DOMINO_OK);
	cr_assert_eq(config_set_data_dir(&c, "/nonexistent/domino"), DOMINO_OK);
	cr_assert_eq(config_load_sources_file(&c, err, sizeof(err)),
	    DOMINO_EIO);
	cr_assert_not_null(strstr(err, "sources.yaml"), "%s", err);
	config_free(&c);
}
