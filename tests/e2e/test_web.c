/* SPDX-License-Identifier: MIT */
/*
 * The status page, the compatibility matrix and the badges end to end in
 * a real browser: the real dominod with a small chain of listeners
 * (registered with the CLI, `file` callbacks), published events and
 * reported results, then headless Chromium renders /, /matrix and a badge
 * and the test checks the DOM it built (figures filled in by the page's
 * JavaScript, listener names, pass/fail cells, a repo named with a
 * <script> tag shown as text). Screenshots go to $DOMINO_BUILD/e2e-web/.
 * Without /usr/bin/chromium (tools/install-deps --browser installs it) the
 * browser test is skipped; the HTTP checks still run.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CHROMIUM "/usr/bin/chromium"
#define EVIL "github.com/x/<script>alert(1)</script>"
#define EVIL_TEXT "github.com/x/&lt;script&gt;alert(1)&lt;/script&gt;"

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
	if (b.pid > 0)
		cr_assert_eq(h_broker_stop(&b), 0, "dominod did not exit 0");
	h_broker_cleanup(&b);
}

TestSuite(web, .init = setup, .fini = teardown, .timeout = 90);

static void
cli(const char *const *argv)
{
	char *out = NULL;
	int st = h_cli(&b, argv, &out);

	cr_assert_eq(st, 0, "domino %s %s failed: %s", argv[0], argv[1],
	    out ? out : "");
	free(out);
}

static void
listener(const char *name, const char *deps, const char *provides,
    int level)
{
	char path[400], yaml[2048];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.yaml", b.dir, name);
	snprintf(yaml, sizeof(yaml), "name: %s\ndepends_on: %s\n%s%s%s"
	    "callback:\n  plugin: file\n  config:\n    path: %s/%s.jsonl\n"
	    "support_level: %d\n", name, deps, provides ? "provides: " : "",
	    provides ? provides : "", provides ? "\n" : "", b.dir, name, level);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(yaml, f);
	fclose(f);
	cli((const char *const[]){"register", path, NULL});
}

static void
report(const char *name, const char *seq, const char *status,
    const char *url)
{
	cli((const char *const[]){"report", "--listener", name, "--seq", seq,
	    "--status", status, "--url", url, NULL});
}

/* The chain core <- b <- c, plus d on core and c on the evil repo. */
static void
populate(void)
{
	listener("b", "[{repo: github.com/example/core, ref: main}]",
	    "github.com/example/b", 1);
	listener("c", "[github.com/example/b, \"" EVIL "\"]",
	    "github.com/example/c", 2);
	listener("d", "[github.com/example/core]", NULL, 3);
	cli((const char *const[]){"publish", "--repo", "github.com/example/core",
	    "--ref", "main", "--actor", "alice", "--after",
	    "76ae82b9d6f5b2c7e3a6c9b2f1e0d4a3b2c1d0e9", "--id", "core-1", NULL});
	cli((const char *const[]){"publish", "--repo", EVIL, "--ref", "main",
	    "--actor", "<b>eve</b>", "--id", "evil-1", NULL});
	report("b", "1", "pass", "https://ci.example/b/1");
	report("c", "1", "fail", "https://ci.example/c/1");
	report("d", "1", "error", "javascript:alert(1)");
}

static char *
get(const char *path, long want)
{
	char url[600], *body = NULL;
	long st;

	snprintf(url, sizeof(url), "%s%s", b.admin, path);
	st = h_get(url, &body);
	cr_assert_eq(st, want, "GET %s: %ld %s", path, st, body ? body : "");
	cr_assert_not_null(body);
	return body;
}

static void
has(const char *hay, const char *needle, const char *what)
{
	cr_assert(strstr(hay, needle) != NULL, "%s: no '%s' in:\n%s", what,
	    needle, hay);
}

static void
hasnt(const char *hay, const char *needle, const char *what)
{
	cr_assert(strstr(hay, needle) == NULL, "%s: '%s' found in:\n%s", what,
	    needle, hay);
}

Test(web, api_graph_and_badges_over_http)
{
	char *s;

	populate();
	s = get("/api/events?limit=5", 200);
	has(s, "\"seq\":2", "events");
	has(s, "\\u003cscript\\u003e", "events escape <");
	hasnt(s, "<script", "events");
	hasnt(s, "payload", "events");
	free(s);
	s = get("/api/listeners", 200);
	has(s, "\"name\":\"b\"", "listeners");
	hasnt(s, "jsonl", "listeners never show the callback config");
	free(s);
	s = get("/api/matrix", 200);
	has(s, "\"cell\":\"pass\",\"delivery\":\"ok\"", "matrix");
	has(s, "\"cell\":\"none\"", "matrix");
	free(s);
	s = get("/badge/b.json", 200);
	cr_assert_str_eq(s, "{\"schemaVersion\":1,\"label\":\"b\",\"message\":"
	    "\"passing\",\"color\":\"brightgreen\"}\n");
	free(s);
	s = get("/badge/c.json?dep=github.com/example/core", 200);
	cr_assert_str_eq(s, "{\"schemaVersion\":1,\"label\":\"core@main\","
	    "\"message\":\"failing\",\"color\":\"red\"}\n");
	free(s);
	s = get("/badge/c.json?dep=github.com%2Fx%2F%3Cscript%3Ealert(1)%3C%2Fscript%3E", 200);
	has(s, "\"message\":\"unknown\"", "no report for that dep");
	/* the label is the repo's last path part, escaped */
	has(s, "\"label\":\"script\\u003e\"", "label");
	free(s);
	s = get("/badge/d.svg", 200);
	has(s, "aria-label=\"d: error\"", "badge");
	free(s);
	s = get("/badge/nobody.svg", 404);
	has(s, "not found", "badge");
	free(s);
	s = get("/badge/..%2Fx.svg", 404);
	free(s);
	s = get("/graph?repo=github.com/example/core", 200);
	has(s, "<svg", "graph");
	has(s, ">b</text>", "graph");
	has(s, ">c</text>", "graph");
	has(s, ">d</text>", "graph");
	cr_assert_eq(strstr(s, "<path class=\"edge\"") != NULL, 1);
	free(s);
	s = get("/graph?repo=" "github.com%2Fx%2F%3Cscript%3Ealert(1)%3C%2Fscript%3E", 200);
	has(s, EVIL_TEXT, "graph escapes the repo");
	hasnt(s, "<script", "graph");
	free(s);
	s = get("/api/graph?repo=github.com/example/core", 200);
	has(s, "\"name\":\"c\",\"depth\":2", "api graph");
	has(s, "\"parent\":\"b\"", "api graph");
	free(s);
	s = get("/graph", 400);
	free(s);
}

/* Run chromium with args and the URL; its stdout into *out. */
static int
chromium(const char *url, const char *extra, const char *extra2, char **out)
{
	char prof[400], outp[400], profarg[420];
	const char *argv[24];
	int n = 0, st = -1, fd;
	pid_t pid;
	time_t deadline = time(NULL) + 30;
	size_t len;

	snprintf(prof, sizeof(prof), "%s/chromium", b.dir);
	snprintf(profarg, sizeof(profarg), "--user-data-dir=%s", prof);
	snprintf(outp, sizeof(outp), "%s/chromium.out", b.dir);
	argv[n++] = CHROMIUM;
	argv[n++] = "--headless";
	argv[n++] = "--no-sandbox";
	argv[n++] = "--disable-gpu";
	argv[n++] = "--disable-quic";
	argv[n++] = "--no-first-run";
	argv[n++] = "--disable-background-networking";
	argv[n++] = "--disable-component-update";
	argv[n++] = "--disable-sync";
	argv[n++] = "--disable-dev-shm-usage";
	argv[n++] = profarg;
	/* let the page's fetches and timers run before the DOM is taken */
	argv[n++] = "--virtual-time-budget=5000";
	if (extra != NULL)
		argv[n++] = extra;
	if (extra2 != NULL)
		argv[n++] = extra2;
	argv[n++] = url;
	argv[n] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 2);
		setpgid(0, 0);
		execv(CHROMIUM, (char *const *)argv);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (time(NULL) > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			cr_assert_fail("chromium timed out on %s", url);
		}
		usleep(50000);
	}
	if (out != NULL)
		*out = h_read_file(outp, &len);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *
dom(const char *path)
{
	char url[600], *out = NULL;
	int st;

	snprintf(url, sizeof(url), "%s%s", b.admin, path);
	st = chromium(url, "--dump-dom", NULL, &out);
	cr_assert_eq(st, 0, "chromium exited %d on %s", st, path);
	cr_assert_not_null(out);
	return out;
}

static void
screenshot(const char *path, const char *file)
{
	char dir[400], shot[500], arg[520], url[600];
	const char *build = getenv("DOMINO_BUILD");
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s/e2e-web", build ? build : "build");
	mkdir(dir, 0755);
	snprintf(shot, sizeof(shot), "%s/%s", dir, file);
	snprintf(arg, sizeof(arg), "--screenshot=%s", shot);
	snprintf(url, sizeof(url), "%s%s", b.admin, path);
	unlink(shot);
	cr_assert_eq(chromium(url, arg, "--window-size=1280,900", NULL), 0);
	cr_assert_eq(stat(shot, &sb), 0, "no screenshot %s", shot);
	cr_assert_gt(sb.st_size, 1000);
}

Test(web, browser_renders_status_matrix_and_badge)
{
	char *s;

	if (access(CHROMIUM, X_OK) != 0) {
		cr_skip_test("%s is missing: run tools/install-deps --browser "
		    "(make test does) to run the browser test", CHROMIUM);
	}
	populate();

	/* The status page: everything below is filled in by its JavaScript. */
	s = dom("/");
	has(s, "data-loaded=\"1\"", "status page JS ran");
	has(s, "id=\"seq\">2<", "last seq");
	has(s, "id=\"nlisteners\">3<", "listeners figure");
	has(s, "id=\"backlog\">", "backlog");
	has(s, "class=\"health ok\">ok<", "health");
	has(s, "<td class=\"repo wrap\">" EVIL_TEXT "</td>", "evil repo as text");
	has(s, "&lt;b&gt;eve&lt;/b&gt;", "actor as text");
	hasnt(s, "<script>alert", "no injected element");
	hasnt(s, "<b>eve", "no injected element");
	has(s, "<a href=\"/badge/b.svg\">b</a>", "listener b");
	has(s, "<a href=\"/badge/c.svg\">c</a>", "listener c");
	has(s, "<a href=\"/badge/d.svg\">d</a>", "listener d");
	has(s, "1 required", "support level");
	free(s);

	/* The matrix, server-rendered. */
	s = dom("/matrix");
	has(s, "<tr class=\"group\"><th colspan=\"3\">level 1: required for "
	    "release</th></tr>", "group per level");
	has(s, "level 3: third party", "group per level");
	has(s, "<td class=\"cell pass\" title=\"delivery ok, reported pass\">"
	    "<a href=\"https://ci.example/b/1\" rel=\"noopener noreferrer\">"
	    "pass</a></td>", "b passed seq 1, linked");
	has(s, "<a href=\"https://ci.example/c/1\" rel=\"noopener noreferrer\">"
	    "fail</a>", "c failed seq 1");
	has(s, "<td class=\"cell error\" title=\"delivery ok, reported error\">"
	    "error</td>", "d: error, its javascript: url not linked");
	hasnt(s, "javascript:", "no javascript: link");
	has(s, "<td class=\"cell pending\" title=\"delivery ok, no report\">"
	    "pending</td>", "c has seq 2 without a report");
	has(s, "<td class=\"cell none\" title=\"not affected\">", "b not affected by seq 2");
	has(s, "x/&lt;script&gt;alert(1)&lt;/script&gt;", "evil column as text");
	hasnt(s, "<script>alert", "no injected element");
	free(s);
	s = dom("/matrix?repo=github.com%2Fexample%2Fcore");
	has(s, "data-seq=\"1\"", "filtered");
	hasnt(s, "data-seq=\"2\"", "filtered out");
	has(s, "value=\"github.com/example/core\"", "filter kept in the form");
	free(s);

	/* A badge, as the browser parses the SVG. */
	s = dom("/badge/b.svg");
	has(s, "<title>b: passing</title>", "badge");
	has(s, "fill=\"#4c1\"", "badge colour");
	free(s);

	screenshot("/", "status.png");
	screenshot("/matrix", "matrix.png");
	screenshot("/graph?repo=github.com/example/core", "graph.png");
}
