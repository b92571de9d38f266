/* SPDX-License-Identifier: MIT */
/*
 * External callback plugins end to end: the real dominod with a plugin
 * directory holding the example contrib/plugins/chat-notify (Python), a
 * broken executable and a plugin that never answers. Checks capabilities,
 * schema validation at registration, deliveries through the plugin, a
 * killed plugin restarted, a hung one costing a timeout and a retry,
 * reload, install from file:// with right and wrong SHA-256, and that a
 * secret value never reaches the LMDB files, logs or CLI output.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <msgpack.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domino.h"
#include "harness.h"

#define SECRET "s3cr3t-T0KEN-never-shown-9f2c"

static struct broker b;
static domino *d;
static char tdir[64], pdir[256], logpath[300], outpath[300], src[1024];
static int saved_err = -1;

static void
write_script(const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", pdir, name);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, 0755);
}

static void
copy_file(const char *from, const char *to)
{
	size_t n;
	char *t = h_read_file(from, &n);
	FILE *f;

	cr_assert_not_null(t, "cannot read %s", from);
	f = fopen(to, "w");
	cr_assert_not_null(f);
	fwrite(t, 1, n, f);
	fclose(f);
	chmod(to, 0755);
	free(t);
}

static const char sleepy[] =
    "#!/bin/sh\n"
    "if [ \"$1\" = capabilities ]; then\n"
    "  echo '{\"name\":\"sleepy\",\"version\":\"0.1\",\"api\":1,"
    "\"capabilities\":[\"deliver\"],\"timeout\":1,\"config\":{}}'\n"
    "  exit 0\nfi\n"
    "exec python3 -c '\n"
    "import json, socket, sys, time\n"
    "loc = json.loads(sys.argv[3])[\"location\"]\n"
    "s = socket.socket(socket.AF_UNIX); s.bind(loc); s.listen(16)\n"
    "conns = []\n"
    "while True:\n"
    "    c, _ = s.accept(); conns.append(c)\n"
    "' \"$@\"\n";

static void
setup(void)
{
	char cfg[600], tmpl[] = "/tmp/dpx-XXXXXX";
	int fd;

	cr_assert_not_null(realpath("contrib/plugins/chat-notify/chat-notify",
	    src), "run from the source tree");
	cr_assert_not_null(mkdtemp(tmpl));
	snprintf(tdir, sizeof(tdir), "%s", tmpl);
	snprintf(pdir, sizeof(pdir), "%s/plugins", tmpl);
	mkdir(pdir, 0755);
	snprintf(logpath, sizeof(logpath), "%s/broker.log", tmpl);
	snprintf(outpath, sizeof(outpath), "%s/chat.jsonl", tmpl);
	{
		char to[512];
		snprintf(to, sizeof(to), "%s/chat-notify", pdir);
		copy_file(src, to);
	}
	write_script("broken", "#!/bin/sh\necho 'this is not json'\n");
	write_script("sleepy", sleepy);
	write_script("notes.txt.not-exec", "plain\n");
	{
		char p[512];
		snprintf(p, sizeof(p), "%s/notes.txt.not-exec", pdir);
		chmod(p, 0644);
	}
	/* Capture the broker's log (it inherits stderr), at debug level. */
	setenv("DOMINO_TEST_LOG", "1", 1);
	fflush(stderr);
	saved_err = dup(2);
	fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
	dup2(fd, 2);
	close(fd);
	snprintf(cfg, sizeof(cfg), "heartbeat: 100ms\nplugins:\n  dir: %s\n", pdir);
	cr_assert_eq(h_broker_start(&b, cfg), 0);
	{
		struct domino_opts o = {.control = b.control, .token = b.token};
		cr_assert_eq(domino_open(&d, &o), DOMINO_OK, "%s", domino_errmsg());
	}
}

static void
teardown(void)
{
	char cmd[700];

	domino_close(d);
	h_broker_cleanup(&b);
	if (saved_err >= 0) {
		dup2(saved_err, 2);
		close(saved_err);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

TestSuite(external, .init = setup, .fini = teardown, .timeout = 120);

/* ---- raw control requests ------------------------------------------------ */

static void
kstr(msgpack_packer *pk, const char *k, const char *v)
{
	msgpack_pack_str_with_body(pk, k, strlen(k));
	msgpack_pack_str_with_body(pk, v, strlen(v));
}

static void
key(msgpack_packer *pk, const char *k)
{
	msgpack_pack_str_with_body(pk, k, strlen(k));
}

static const msgpack_object *
get(const msgpack_object *m, const char *k)
{
	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++)
		if (m->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR &&
		    m->via.map.ptr[i].key.via.str.size == strlen(k) &&
		    memcmp(m->via.map.ptr[i].key.via.str.ptr, k, strlen(k)) == 0)
			return &m->via.map.ptr[i].val;
	return NULL;
}

/* Send sb; 1 when the reply says ok. The error message into err. */
static int
call(msgpack_sbuffer *sb, msgpack_unpacked *u, char **buf, char *err,
    size_t errlen)
{
	void *reply = NULL;
	size_t rlen = 0, off = 0;
	const msgpack_object *ok, *e, *m;

	cr_assert_eq(domino_call(d, sb->data, sb->size, &reply, &rlen), DOMINO_OK,
	    "%s", domino_errmsg());
	msgpack_sbuffer_destroy(sb);
	msgpack_unpacked_init(u);
	cr_assert_eq(msgpack_unpack_next(u, reply, rlen, &off), MSGPACK_UNPACK_SUCCESS);
	*buf = reply;
	ok = get(&u->data, "ok");
	if (err != NULL) {
		err[0] = '\0';
		e = get(&u->data, "err");
		m = get(e, "msg");
		if (m != NULL && m->type == MSGPACK_OBJECT_STR)
			snprintf(err, errlen, "%.*s", (int)m->via.str.size,
			    m->via.str.ptr);
	}
	return ok != NULL && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean;
}

static void
begin(msgpack_sbuffer *sb, msgpack_packer *pk, const char *op, size_t nargs)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(pk, 2 + nargs);
	kstr(pk, "op", op);
	kstr(pk, "token", b.token);
}

/* Register name on github.com/acme/core with plugin and string config
 * pairs; 0, or -1 with the broker's message in err. */
static int
reg(const char *name, const char *plugin, const char *const *cfg,
    int max_attempts, char *err, size_t errlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	char *buf;
	size_t n = 0;
	int ok;

	for (; cfg[n] != NULL; n += 2)
		;
	begin(&sb, &pk, "register", 1);
	key(&pk, "listener");
	msgpack_pack_map(&pk, 4);
	kstr(&pk, "name", name);
	key(&pk, "depends_on");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_str_with_body(&pk, "github.com/acme/core", 20);
	key(&pk, "callback");
	msgpack_pack_map(&pk, 2);
	kstr(&pk, "plugin", plugin);
	key(&pk, "config");
	msgpack_pack_map(&pk, n / 2);
	for (size_t i = 0; i < n; i += 2)
		kstr(&pk, cfg[i], cfg[i + 1]);
	key(&pk, "retry");
	msgpack_pack_map(&pk, 2);
	key(&pk, "schedule");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_str_with_body(&pk, "0s", 2);
	msgpack_pack_str_with_body(&pk, "150ms", 5);
	key(&pk, "max_attempts");
	msgpack_pack_uint32(&pk, (uint32_t)max_attempts);
	ok = call(&sb, &u, &buf, err, errlen);
	msgpack_unpacked_destroy(&u);
	free(buf);
	return ok ? 0 : -1;
}

static uint64_t
publish(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	char *buf;
	uint64_t seq;

	begin(&sb, &pk, "publish", 3);
	kstr(&pk, "repo", "github.com/acme/core");
	kstr(&pk, "ref", "refs/heads/main");
	kstr(&pk, "after", "0123456789abcdef0123456789abcdef01234567");
	cr_assert(call(&sb, &u, &buf, NULL, 0));
	seq = get(&u.data, "seq")->via.u64;
	msgpack_unpacked_destroy(&u);
	free(buf);
	return seq;
}

/* Poll (up to 20 s) until delivery (listener, seq) is in state want; the
 * last attempt's detail into detail. */
static int
wait_state(const char *listener, uint64_t seq, const char *want,
    char *state, size_t cap, uint32_t *nhist, char *detail, size_t dcap)
{
	for (int i = 0; i < 400; i++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_unpacked u;
		char *buf;
		const msgpack_object *dl, *st, *h;

		begin(&sb, &pk, "deliveries", 3);
		kstr(&pk, "listener", listener);
		key(&pk, "seq");
		msgpack_pack_uint64(&pk, seq);
		key(&pk, "history");
		msgpack_pack_true(&pk);
		cr_assert(call(&sb, &u, &buf, NULL, 0));
		dl = get(&u.data, "deliveries");
		state[0] = '\0';
		*nhist = 0;
		if (dl != NULL && dl->via.array.size == 1) {
			st = get(&dl->via.array.ptr[0], "state");
			h = get(&dl->via.array.ptr[0], "history");
			snprintf(state, cap, "%.*s", (int)st->via.str.size, st->via.str.ptr);
			*nhist = h ? h->via.array.size : 0;
			if (detail != NULL && h != NULL && h->via.array.size > 0) {
				for (uint32_t k = 0; k < h->via.array.size; k++) {
					const msgpack_object *x = get(&h->via.array.ptr[k], "detail");
					if (x != NULL && x->type == MSGPACK_OBJECT_STR &&
					    x->via.str.size > 0)
						snprintf(detail, dcap, "%.*s",
						    (int)x->via.str.size, x->via.str.ptr);
				}
			}
		}
		msgpack_unpacked_destroy(&u);
		free(buf);
		if (strcmp(state, want) == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

static int
cli(const char *const *argv, char **out)
{
	return h_cli(&b, argv, out);
}

/* Whether any file under dir holds needle (binary-safe). */
static int
tree_has(const char *dir, const char *needle)
{
	DIR *dd = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (dd == NULL)
		return 0;
	while (!found && (de = readdir(dd)) != NULL) {
		char p[1024];
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (lstat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			found = tree_has(p, needle);
		} else if (S_ISREG(st.st_mode)) {
			size_t n;
			char *t = h_read_file(p, &n);
			if (t != NULL && n >= strlen(needle))
				found = memmem(t, n, needle, strlen(needle)) != NULL;
			free(t);
		}
	}
	closedir(dd);
	return found;
}

static int
plugin_pid(const char *name)
{
	const char *argv[] = {"plugins", "--describe", name, "--json", NULL};
	char *out = NULL, *p;
	int pid = 0;

	cr_assert_eq(cli(argv, &out), 0);
	p = strstr(out, "\"pid\":");
	if (p != NULL)
		pid = atoi(p + 6);
	free(out);
	return pid;
}

/* ---- tests --------------------------------------------------------------- */

Test(external, capabilities_listed_broken_ones_named_and_described)
{
	const char *list[] = {"plugins", NULL};
	const char *desc[] = {"plugins", "--describe", "chat-notify", NULL};
	char *out = NULL;

	cr_assert_eq(cli(list, &out), 0);
	cr_assert(strstr(out, "chat-notify") != NULL, "%s", out);
	cr_assert(strstr(out, "sleepy") != NULL, "%s", out);
	cr_assert(strstr(out, "http") != NULL, "%s", out);
	cr_assert(strstr(out, "broken is broken: `capabilities` did not print "
	    "a JSON object") != NULL, "%s", out);
	cr_assert(strstr(out, "not-exec") == NULL, "%s", out);
	free(out);
	cr_assert_eq(cli(desc, &out), 0);
	cr_assert(strstr(out, "chat-notify 1.0.0 (external)") != NULL, "%s", out);
	cr_assert(strstr(out, "webhook_url      required") != NULL, "%s", out);
	cr_assert(strstr(out, "token            optional secret") != NULL, "%s", out);
	free(out);
}

Test(external, registration_validated_against_the_schema)
{
	const char *no_url[] = {"channel", "#ci", NULL};
	const char *unknown[] = {"webhook_url", "file:///tmp/x", "colour", "red", NULL};
	const char *ok[] = {"webhook_url", "file:///tmp/x", NULL};
	char err[512];

	cr_assert_eq(reg("n1", "chat-notify", no_url, 3, err, sizeof(err)), -1);
	cr_assert(strstr(err, "callback.config.webhook_url: required by plugin "
	    "chat-notify") != NULL, "%s", err);
	cr_assert_eq(reg("n2", "chat-notify", unknown, 3, err, sizeof(err)), -1);
	cr_assert(strstr(err, "colour") != NULL, "%s", err);
	cr_assert_eq(reg("n3", "broken", ok, 3, err, sizeof(err)), -1);
	cr_assert(strstr(err, "plugin 'broken' is broken") != NULL, "%s", err);
	cr_assert_eq(reg("n4", "chat-notify", ok, 3, err, sizeof(err)), 0, "%s", err);
}

Test(external, delivers_restarts_after_kill_and_keeps_the_secret_sealed)
{
	char url[400], state[32], err[512], detail[512], hex[65];
	const char *cfg[] = {"webhook_url", url, "channel", "#ci", "token",
	    SECRET, NULL};
	const char *show[] = {"listener", "chat", "--json", NULL};
	const char *show2[] = {"listener", "chat", NULL};
	unsigned char h[32];
	uint32_t nh;
	uint64_t s1, s2;
	char *out = NULL, *txt;
	int pid, pid2;

	snprintf(url, sizeof(url), "file://%s", outpath);
	cr_assert_eq(reg("chat", "chat-notify", cfg, 5, err, sizeof(err)), 0, "%s", err);
	s1 = publish();
	cr_assert_eq(wait_state("chat", s1, "ok", state, sizeof(state), &nh,
	    detail, sizeof(detail)), 0, "%s %s", state, detail);
	txt = h_read_file(outpath, NULL);
	cr_assert_not_null(txt);
	cr_assert(strstr(txt, "\"channel\": \"#ci\"") != NULL, "%s", txt);
	cr_assert(strstr(txt, "github.com/acme/core: push main") != NULL, "%s", txt);
	crypto_hash_sha256(h, (const unsigned char *)SECRET, strlen(SECRET));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	cr_assert(strstr(txt, hex) != NULL, "the token did not arrive decrypted: %s", txt);
	free(txt);

	/* Kill the plugin: the next delivery starts it again. */
	pid = plugin_pid("chat-notify");
	cr_assert_gt(pid, 0);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	usleep(200000);
	s2 = publish();
	cr_assert_eq(wait_state("chat", s2, "ok", state, sizeof(state), &nh,
	    detail, sizeof(detail)), 0, "%s %s", state, detail);
	pid2 = plugin_pid("chat-notify");
	cr_assert(pid2 > 0 && pid2 != pid, "%d %d", pid, pid2);

	/* Never in the clear: the listing, the store, the log. */
	cr_assert_eq(cli(show, &out), 0);
	cr_assert(strstr(out, SECRET) == NULL);
	cr_assert(strstr(out, "\"token\":\"***\"") != NULL ||
	    strstr(out, "\"token\": \"***\"") != NULL, "%s", out);
	free(out);
	cr_assert_eq(cli(show2, &out), 0);
	cr_assert(strstr(out, SECRET) == NULL);
	free(out);
	cr_assert_eq(h_broker_stop(&b), 0);
	cr_assert_not(tree_has(b.data, SECRET), "the secret is in the data dir");
	cr_assert(tree_has(b.data, "enc:v1:"), "no sealed value in the store");
	txt = h_read_file(logpath, NULL);
	cr_assert_not_null(txt);
	cr_assert(strstr(txt, SECRET) == NULL, "the secret is in the log");
	cr_assert(strstr(txt, "plugin chat-notify started") != NULL);
	free(txt);
	{
		struct stat st;
		char kp[400];
		snprintf(kp, sizeof(kp), "%s/secret.key", b.data);
		cr_assert_eq(stat(kp, &st), 0);
		cr_assert_eq(st.st_mode & 0777, 0600);
		cr_assert_eq(st.st_size, 32);
	}
}

Test(external, a_plugin_that_hangs_costs_a_timeout_and_a_retry)
{
	char url[400], state[32], err[512], detail[512];
	const char *none[] = {NULL};
	const char *cfg[] = {"webhook_url", url, NULL};
	uint32_t nh;
	uint64_t seq;

	snprintf(url, sizeof(url), "file://%s", outpath);
	cr_assert_eq(reg("slow", "sleepy", none, 2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(reg("chat", "chat-notify", cfg, 3, err, sizeof(err)), 0, "%s", err);
	seq = publish();
	/* The other plugin is not held up by the hung one. */
	cr_assert_eq(wait_state("chat", seq, "ok", state, sizeof(state), &nh,
	    NULL, 0), 0, "%s", state);
	cr_assert_eq(wait_state("slow", seq, "dead", state, sizeof(state), &nh,
	    detail, sizeof(detail)), 0, "%s", state);
	cr_assert_geq(nh, 2);
	cr_assert(strstr(detail, "did not answer within 1000 ms") != NULL, "%s", detail);
}

Test(external, reload_picks_up_a_new_plugin)
{
	const char *reload[] = {"plugin", "reload", NULL};
	const char *desc[] = {"plugins", "--describe", "notify2", NULL};
	char to[512], *out = NULL;

	cr_assert_neq(cli(desc, &out), 0);
	free(out);
	snprintf(to, sizeof(to), "%s/notify2", pdir);
	copy_file(src, to);
	cr_assert_eq(cli(reload, &out), 0);
	cr_assert(strstr(out, "plugins rescanned: 3 working, 1 broken") != NULL, "%s", out);
	free(out);
	cr_assert_eq(cli(desc, &out), 0);
	cr_assert(strstr(out, "notify2 1.0.0") != NULL, "%s", out);
	free(out);
	/* SIGHUP rescans too. */
	unlink(to);
	kill(b.pid, SIGHUP);
	for (int i = 0; i < 100; i++) {
		out = NULL;
		if (cli(desc, &out) != 0) {
			free(out);
			return;
		}
		free(out);
		usleep(50000);
	}
	cr_assert_fail("SIGHUP did not drop notify2");
}

static int
dir_entries(const char *dir)
{
	DIR *dd = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (dd != NULL && (de = readdir(dd)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	if (dd != NULL)
		closedir(dd);
	return n;
}

Test(external, install_from_a_file_url_checks_the_sha256)
{
	char url[1100], hex[65], bad[65];
	unsigned char h[32];
	size_t n;
	char *t = h_read_file(src, &n), *out = NULL;
	const char *wrong[] = {"plugin", "install", url, "--name", "chatty",
	    "--sha256", bad, NULL};
	const char *right[] = {"plugin", "install", url, "--name", "chatty",
	    "--sha256", hex, NULL};
	const char *desc[] = {"plugins", "--describe", "chatty", NULL};
	int before = dir_entries(pdir);

	cr_assert_not_null(t);
	crypto_hash_sha256(h, (unsigned char *)t, n);
	free(t);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	memcpy(bad, hex, sizeof(bad));
	bad[0] = bad[0] == '0' ? '1' : '0';
	snprintf(url, sizeof(url), "file://%s", src);
	cr_assert_neq(cli(wrong, &out), 0);
	free(out);
	cr_assert_eq(dir_entries(pdir), before, "the failed install left a file");
	cr_assert_neq(cli(desc, &out), 0);
	free(out);
	cr_assert_eq(cli(right, &out), 0);
	cr_assert(strstr(out, "installed plugin chatty") != NULL, "%s", out);
	free(out);
	cr_assert_eq(dir_entries(pdir), before + 1);
	cr_assert_eq(cli(desc, &out), 0);
	cr_assert(strstr(out, "chatty 1.0.0 (external)") != NULL, "%s", out);
	free(out);
}
