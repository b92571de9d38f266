/* SPDX-License-Identifier: MIT */
/*
 * External callback plugins; see external.h and the contract in README.md.
 *
 * The registry is a list of entries, one per executable found in the
 * plugin directory. An entry embeds its struct plugin_desc (first member),
 * so ext_deliver() finds its entry from job->desc. A rescan builds a new
 * list, keeping the entries whose file did not change; the others are
 * retired (stopped once idle, freed at exit), so a worker holding a
 * descriptor never sees it freed.
 *
 * Per entry, mu guards the process: pid, socket, in-flight count, restarts.
 * A monitor thread reaps exited plugins and stops idle ones twice a second.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "external.h"
#include "log.h"
#include "plugin.h"
#include "render.h"

extern char **environ;

#define CAPS_TIMEOUT_MS 5000          /* `capabilities` must answer within */
#define CAPS_MAX (256u * 1024)         /* its output at most */
#define START_TIMEOUT_MS 10000        /* the socket must appear within */
#define STOP_GRACE_MS 2000            /* SIGTERM, then SIGKILL */
#define IDLE_MS (300ll * 1000)        /* stop a plugin unused this long */
#define DELIVER_TIMEOUT_MS 30000      /* default per attempt */
#define DELIVER_TIMEOUT_MAX_MS (600ull * 1000)
#define BACKOFF_MAX_MS 60000
#define STABLE_MS 60000               /* up this long: forget past crashes */
#define KEYS_MAX 64
#define INSTALL_MAX (64u * 1024 * 1024)

struct ext {
	struct plugin_desc desc; /* first: job->desc points here */
	struct plugin_key keys[KEYS_MAX + 1];
	char *name, *path, *version, *summary, *declared;
	char *key_strs[2 * KEYS_MAX];
	uint64_t timeout_ms;
	int broken;
	char reason[256];
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;

	pthread_mutex_t mu;
	pid_t pid;
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int64_t last_used, started, backoff_until;
	unsigned inflight, crashes, restarts;
	char last_exit[128];
	int retired;
	struct ext *next;
};

static struct {
	pthread_mutex_t mu;      /* active, retired */
	pthread_mutex_t scan_mu; /* one rescan or install at a time */
	pthread_cond_t cv;
	struct ext *active, *retired;
	char *dir, *rundir;
	unsigned seq;
	int started, stopping;
	pthread_t mon;
} R = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.scan_mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void ext_deliver(const struct plugin_job *job, struct plugin_result *res);

static void
ext_free(struct ext *e)
{
	if (e == NULL)
		return;
	free(e->name);
	free(e->path);
	free(e->version);
	free(e->summary);
	free(e->declared);
	for (size_t i = 0; i < 2 * KEYS_MAX; i++)
		free(e->key_strs[i]);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

/* ---- spawning ------------------------------------------------------------ */

/*
 * posix_spawn path with argv; stdin /dev/null, stdout to out_fd (or the
 * broker's stderr when -1), stderr to the broker's stderr; own process
 * group, default signals, empty mask, no other descriptors.
 */
static int
spawn(const char *path, char *const argv[], int out_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	static const int sig_defaults[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP,
	    SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM};
	int e;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return ENOMEM;
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return ENOMEM;
	}
	sigemptyset(&none);
	sigemptyset(&defaults);
	for (size_t i = 0; i < sizeof(sig_defaults) / sizeof(sig_defaults[0]); i++)
		sigaddset(&defaults, sig_defaults[i]);
	e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (e == 0)
		e = posix_spawn_file_actions_adddup2(&fa, out_fd >= 0 ? out_fd : 2, 1);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	if (e == 0)
		e = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	if (e == 0)
		e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
		    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (e == 0)
		e = posix_spawnattr_setpgroup(&attr, 0);
	if (e == 0)
		e = posix_spawnattr_setsigmask(&attr, &none);
	if (e == 0)
		e = posix_spawnattr_setsigdefault(&attr, &defaults);
	if (e == 0)
		e = posix_spawn(pid, path, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return e;
}

static void
describe_status(int st, char *buf, size_t n)
{
	if (WIFEXITED(st))
		snprintf(buf, n, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, n, "stopped");
}

/* Stop pid (and its process group): SIGTERM, then SIGKILL; reaped. */
static void
kill_wait(pid_t pid)
{
	int st;
	int64_t end;

	if (pid <= 0)
		return;
	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	end = mono_ms() + STOP_GRACE_MS;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD))
			return;
		if (mono_ms() >= end)
			break;
		sleep_ms(20);
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* ---- capabilities -------------------------------------------------------- */

/* Run `path capabilities`; its stdout into *out (malloc'd). 0 or -1 with
 * the reason in why. */
static int
run_capabilities(const char *path, char **out, char *why, size_t whylen)
{
	int p[2] = {-1, -1}, st = 0, rv = -1;
	pid_t pid = -1;
	char *buf = NULL;
	size_t len = 0;
	int64_t end = mono_ms() + CAPS_TIMEOUT_MS;
	char *argv[] = {(char *)path, "capabilities", NULL};
	int e;

	*out = NULL;
	if ((buf = malloc(CAPS_MAX + 1)) == NULL || pipe2(p, O_CLOEXEC) != 0) {
		snprintf(why, whylen, "out of memory or descriptors");
		goto out;
	}
	e = spawn(path, argv, p[1], &pid);
	close(p[1]);
	p[1] = -1;
	if (e != 0) {
		pid = -1;
		snprintf(why, whylen, "cannot run it: %s", strerror(e));
		goto out;
	}
	for (;;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		int64_t left = end - mono_ms();
		ssize_t r;

		if (left <= 0) {
			snprintf(why, whylen, "`capabilities` did not finish "
			    "within %d s", CAPS_TIMEOUT_MS / 1000);
			goto out;
		}
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		r = read(p[0], buf + len, CAPS_MAX - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == CAPS_MAX) {
			snprintf(why, whylen, "`capabilities` printed more than "
			    "%u bytes", CAPS_MAX);
			goto out;
		}
	}
	/* The output is complete; the process should be exiting. */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char d[64];
		describe_status(st, d, sizeof(d));
		snprintf(why, whylen, "`capabilities` %s", d);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	rv = 0;
out:
	if (pid > 0)
		kill_wait(pid);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	free(buf);
	return rv;
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static char *
dup_json_str(const cJSON *o, const char *key, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || strlen(v->valuestring) > max ||
	    !printable(v->valuestring))
		return NULL;
	return strdup(v->valuestring);
}

static int
key_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

/* Parse the capabilities JSON into e. 0 or -1 with e->reason. */
static int
parse_caps(struct ext *e, const char *text)
{
	cJSON *root = cJSON_Parse(text), *caps, *cfg, *k, *t;
	int rv = -1, has_deliver = 0;
	size_t n = 0;

	if (root == NULL || !cJSON_IsObject(root)) {
		snprintf(e->reason, sizeof(e->reason), "`capabilities` did not "
		    "print a JSON object");
		goto out;
	}
	if ((e->declared = dup_json_str(root, "name", 128)) == NULL) {
		snprintf(e->reason, sizeof(e->reason), "capabilities: name "
		    "(a string) is required");
		goto out;
	}
	if ((e->version = dup_json_str(root, "version", 64)) == NULL) {
		snprintf(e->reason, sizeof(e->reason), "capabilities: version "
		    "(a string) is required");
		goto out;
	}
	t = cJSON_GetObjectItemCaseSensitive(root, "api");
	if (!cJSON_IsNumber(t) || t->valuedouble != PLUGIN_EXT_API) {
		snprintf(e->reason, sizeof(e->reason), "capabilities: api must "
		    "be %d (the contract this broker speaks)", PLUGIN_EXT_API);
		goto out;
	}
	e->summary = dup_json_str(root, "description", 200);
	if (e->summary == NULL && (e->summary = strdup("")) == NULL)
		goto oom;
	caps = cJSON_GetObjectItemCaseSensitive(root, "capabilities");
	if (!cJSON_IsArray(caps)) {
		snprintf(e->reason, sizeof(e->reason), "capabilities: "
		    "capabilities (a list) is required");
		goto out;
	}
	cJSON_ArrayForEach(k, caps)
		if (cJSON_IsString(k) && strcmp(k->valuestring, "deliver") == 0)
			has_deliver = 1;
	if (!has_deliver) {
		snprintf(e->reason, sizeof(e->reason), "capabilities: the list "
		    "lacks \"deliver\"");
		goto out;
	}
	e->timeout_ms = DELIVER_TIMEOUT_MS;
	t = cJSON_GetObjectItemCaseSensitive(root, "timeout");
	if (t != NULL) {
		if (!cJSON_IsNumber(t) || t->valuedouble <= 0 ||
		    t->valuedouble * 1000 > (double)DELIVER_TIMEOUT_MAX_MS) {
			snprintf(e->reason, sizeof(e->reason), "capabilities: "
			    "timeout must be a number of seconds in (0, 600]");
			goto out;
		}
		e->timeout_ms = (uint64_t)(t->valuedouble * 1000);
		if (e->timeout_ms == 0)
			e->timeout_ms = 1;
	}
	cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
	if (cfg != NULL && !cJSON_IsObject(cfg)) {
		snprintf(e->reason, sizeof(e->reason), "capabilities: config "
		    "must be an object of keys");
		goto out;
	}
	cJSON_ArrayForEach(k, cfg) {
		const cJSON *req, *sec;

		if (n == KEYS_MAX) {
			snprintf(e->reason, sizeof(e->reason), "capabilities: "
			    "more than %d config keys", KEYS_MAX);
			goto out;
		}
		if (!key_name_ok(k->string) || !cJSON_IsObject(k)) {
			snprintf(e->reason, sizeof(e->reason), "capabilities: "
			    "config.%.64s: keys are [A-Za-z0-9_.-]{1,64} mapping "
			    "to {required, secret, description}", k->string);
			goto out;
		}
		req = cJSON_GetObjectItemCaseSensitive(k, "required");
		sec = cJSON_GetObjectItemCaseSensitive(k, "secret");
		if ((req != NULL && !cJSON_IsBool(req)) ||
		    (sec != NULL && !cJSON_IsBool(sec))) {
			snprintf(e->reason, sizeof(e->reason), "capabilities: "
			    "config.%s: required and secret are booleans",
			    k->string);
			goto out;
		}
		if ((e->key_strs[2 * n] = strdup(k->string)) == NULL)
			goto oom;
		e->key_strs[2 * n + 1] = dup_json_str(k, "description", 200);
		if (e->key_strs[2 * n + 1] == NULL &&
		    (e->key_strs[2 * n + 1] = strdup("")) == NULL)
			goto oom;
		e->keys[n] = (struct plugin_key){
			.name = e->key_strs[2 * n],
			.required = cJSON_IsTrue(req),
			.secret = cJSON_IsTrue(sec),
			.help = e->key_strs[2 * n + 1],
		};
		n++;
	}
	e->keys[n].name = NULL;
	rv = 0;
	goto out;
oom:
	snprintf(e->reason, sizeof(e->reason), "out of memory");
out:
	cJSON_Delete(root);
	return rv;
}

static int
name_ok(const char *s)
{
	return key_name_ok(s) && s[0] != '.';
}

/* A new entry for path (file name name): capabilities asked; broken with a
 * reason when anything is wrong. NULL only when out of memory. */
static struct ext *
probe(const char *name, const char *path, const struct stat *st)
{
	struct ext *e = calloc(1, sizeof(*e));
	char *text = NULL;

	if (e == NULL)
		return NULL;
	pthread_mutex_init(&e->mu, NULL);
	e->name = strdup(name);
	e->path = strdup(path);
	if (e->name == NULL || e->path == NULL) {
		ext_free(e);
		return NULL;
	}
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->mtime = st->st_mtim;
	e->size = st->st_size;
	e->desc.name = e->name;
	e->desc.keys = e->keys;
	e->desc.deliver = ext_deliver;
	e->broken = 1;
	if (!name_ok(name)) {
		snprintf(e->reason, sizeof(e->reason), "the file name is not a "
		    "plugin name ([A-Za-z0-9_.-], at most 64)");
		return e;
	}
	for (size_t i = 0; plugin_builtin[i] != NULL; i++) {
		if (strcmp(plugin_builtin[i]->name, name) == 0) {
			snprintf(e->reason, sizeof(e->reason), "the name is "
			    "taken by a built-in plugin");
			return e;
		}
	}
	if (run_capabilities(path, &text, e->reason, sizeof(e->reason)) != 0)
		return e;
	if (parse_caps(e, text) == 0) {
		e->broken = 0;
		e->reason[0] = '\0';
		e->desc.summary = e->summary;
	}
	free(text);
	return e;
}

/* ---- discovery ----------------------------------------------------------- */

static int
same_file(const struct ext *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino &&
	    e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
	    e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
rescan(unsigned *n_ok, unsigned *n_broken)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	struct ext *head = NULL, **tail = &head, *old, *next;
	unsigned ok = 0, bad = 0;

	pthread_mutex_lock(&R.scan_mu);
	if ((d = opendir(R.dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char **nn;
			if (de->d_name[0] == '.')
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				if ((nn = realloc(names, cap * sizeof(*names))) == NULL)
					break;
				names = nn;
			}
			if ((names[n] = strdup(de->d_name)) == NULL)
				break;
			n++;
		}
		closedir(d);
	} else if (errno != ENOENT) {
		log_msg(LOG_WARN, "plugins: cannot read %s: %s", R.dir,
		    strerror(errno));
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		struct ext *e = NULL, **pp;

		if (snprintf(path, sizeof(path), "%s/%s", R.dir, names[i]) >=
		    (int)sizeof(path) || stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode) || access(path, X_OK) != 0)
			continue;
		/* Reuse an unchanged, working entry (with its process). */
		pthread_mutex_lock(&R.mu);
		for (pp = &R.active; *pp != NULL; pp = &(*pp)->next) {
			if (strcmp((*pp)->name, names[i]) == 0 &&
			    !(*pp)->broken && same_file(*pp, &st)) {
				e = *pp;
				*pp = e->next;
				e->next = NULL;
				break;
			}
		}
		pthread_mutex_unlock(&R.mu);
		if (e == NULL) {
			e = probe(names[i], path, &st);
			if (e == NULL)
				continue;
			if (e->broken)
				log_msg(LOG_WARN, "plugin %s is broken: %s",
				    e->name, e->reason);
			else
				log_msg(LOG_INFO, "plugin %s %s found (%s)",
				    e->name, e->version, e->path);
		}
		if (e->broken)
			bad++;
		else
			ok++;
		*tail = e;
		tail = &e->next;
	}
	pthread_mutex_lock(&R.mu);
	old = R.active;
	R.active = head;
	for (; old != NULL; old = next) {
		next = old->next;
		if (old->broken && old->pid == 0) {
			ext_free(old); /* no worker ever got it */
			continue;
		}
		pthread_mutex_lock(&old->mu);
		old->retired = 1;
		pthread_mutex_unlock(&old->mu);
		old->next = R.retired;
		R.retired = old;
	}
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	pthread_mutex_unlock(&R.scan_mu);
	if (n_ok != NULL)
		*n_ok = ok;
	if (n_broken != NULL)
		*n_broken = bad;
}

/* ---- processes ----------------------------------------------------------- */

static int
sock_connects(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Note that e's process ended with status st (e->mu held). */
static void
note_exit(struct ext *e, int st)
{
	int64_t now = mono_ms(), backoff;

	describe_status(st, e->last_exit, sizeof(e->last_exit));
	if (now - e->started > STABLE_MS)
		e->crashes = 0;
	/* First exit: restart at once; then 1 s, 2 s, ... up to a minute. */
	backoff = e->crashes == 0 ? 0 : 1000ll << (e->crashes > 6 ? 6 : e->crashes - 1);
	if (backoff > BACKOFF_MAX_MS)
		backoff = BACKOFF_MAX_MS;
	e->crashes++;
	e->restarts++;
	e->backoff_until = now + backoff;
	e->pid = 0;
	unlink(e->sock);
	log_msg(LOG_WARN, "plugin %s %s; restarting on the next delivery%s",
	    e->name, e->last_exit, backoff > 0 ? " after a backoff" : "");
}

/* Whether e's process is still there (e->mu held); reaps it if not. */
static int
alive(struct ext *e)
{
	int st;
	pid_t w;

	if (e->pid <= 0)
		return 0;
	w = waitpid(e->pid, &st, WNOHANG);
	if (w == 0)
		return 1;
	if (w < 0)
		st = 0;
	note_exit(e, st);
	return 0;
}

/* Start e's process unless it runs (e->mu held). 0 or -1 with why. */
static int
ensure_running(struct ext *e, char *why, size_t whylen)
{
	char json[512], esc_id[160];
	char *argv[5];
	int64_t end;
	int err;
	size_t j = 0;

	if (alive(e))
		return 0;
	if (mono_ms() < e->backoff_until) {
		snprintf(why, whylen, "plugin %s is restarting (%s)", e->name,
		    e->last_exit);
		return -1;
	}
	if (e->sock[0] == '\0') {
		unsigned s = __atomic_add_fetch(&R.seq, 1, __ATOMIC_RELAXED);
		if (snprintf(e->sock, sizeof(e->sock), "%s/%s.sock", R.rundir,
		    e->name) >= (int)sizeof(e->sock))
			snprintf(e->sock, sizeof(e->sock), "/tmp/domino-%d-%u.sock",
			    (int)getpid(), s);
	}
	for (const char *p = e->name; *p != '\0' && j < sizeof(esc_id) - 1; p++)
		esc_id[j++] = *p; /* name_ok(): nothing to escape */
	esc_id[j] = '\0';
	snprintf(json, sizeof(json), "{\"id\": \"%s\", \"location\": \"",
	    esc_id);
	j = strlen(json);
	for (const char *p = e->sock; *p != '\0' && j < sizeof(json) - 64; p++) {
		if (*p == '"' || *p == '\\')
			json[j++] = '\\';
		json[j++] = *p;
	}
	snprintf(json + j, sizeof(json) - j, "\", \"idle_timeout\": %lld, "
	    "\"api\": %d}", IDLE_MS / 1000, PLUGIN_EXT_API);
	argv[0] = e->path;
	argv[1] = "serve";
	argv[2] = "--config";
	argv[3] = json;
	argv[4] = NULL;
	unlink(e->sock);
	if ((err = spawn(e->path, argv, -1, &e->pid)) != 0) {
		e->pid = 0;
		e->backoff_until = mono_ms() + 1000;
		snprintf(e->last_exit, sizeof(e->last_exit), "cannot start: %s",
		    strerror(err));
		snprintf(why, whylen, "plugin %s: %s", e->name, e->last_exit);
		return -1;
	}
	e->started = mono_ms();
	end = e->started + START_TIMEOUT_MS;
	for (;;) {
		if (sock_connects(e->sock))
			break;
		if (!alive(e)) {
			snprintf(why, whylen, "plugin %s %s before listening on "
			    "its socket", e->name, e->last_exit);
			return -1;
		}
		if (mono_ms() >= end) {
			kill_wait(e->pid);
			e->pid = 0;
			snprintf(e->last_exit, sizeof(e->last_exit), "did not "
			    "listen within %d s", START_TIMEOUT_MS / 1000);
			e->crashes++;
			e->restarts++;
			e->backoff_until = mono_ms() + 1000;
			snprintf(why, whylen, "plugin %s %s", e->name, e->last_exit);
			return -1;
		}
		sleep_ms(20);
	}
	log_msg(LOG_INFO, "plugin %s started pid=%d socket=%s", e->name,
	    (int)e->pid, e->sock);
	return 0;
}

static void
stop_proc(struct ext *e, const char *why)
{
	if (e->pid <= 0)
		return;
	log_msg(LOG_INFO, "plugin %s stopping pid=%d (%s)", e->name,
	    (int)e->pid, why);
	kill_wait(e->pid);
	e->pid = 0;
	unlink(e->sock);
}

static void
tend(struct ext *e, int64_t now)
{
	/* Busy (starting, or a delivery holds it): look again next round. */
	if (pthread_mutex_trylock(&e->mu) != 0)
		return;
	if (e->pid > 0 && alive(e) && e->inflight == 0) {
		if (e->retired)
			stop_proc(e, "replaced or removed");
		else if (now - e->last_used > IDLE_MS)
			stop_proc(e, "idle");
	}
	pthread_mutex_unlock(&e->mu);
}

static void *
monitor(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.mu);
	while (!R.stopping) {
		struct timespec ts;
		int64_t now = mono_ms();

		/* Entries are never freed while the monitor runs. */
		for (struct ext *e = R.active; e != NULL; e = e->next)
			tend(e, now);
		for (struct ext *e = R.retired; e != NULL; e = e->next)
			tend(e, now);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&R.cv, &R.mu, &ts);
	}
	pthread_mutex_unlock(&R.mu);
	return NULL;
}

/* ---- delivery ------------------------------------------------------------ */

static void
put_str(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
put_obj(FILE *f, const msgpack_object *o, int depth)
{
	if (depth > 32) {
		fputs("null", f);
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(f, "%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		fprintf(f, "%.17g", o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		put_str(f, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i > 0)
				fputc(',', f);
			put_obj(f, &o->via.array.ptr[i], depth + 1);
		}
		fputc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		fputc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;
			if (i > 0)
				fputc(',', f);
			if (k->type == MSGPACK_OBJECT_STR)
				put_str(f, k->via.str.ptr, k->via.str.size);
			else
				fputs("\"?\"", f);
			fputc(':', f);
			put_obj(f, &o->via.map.ptr[i].val, depth + 1);
		}
		fputc('}', f);
		break;
	default:
		fputs("null", f);
	}
}

/* The body of POST /deliver; malloc'd, or NULL. */
static char *
make_body(const struct plugin_job *job, size_t *len)
{
	char *ce = NULL, *buf = NULL;
	size_t celen, n = 0;
	FILE *f;

	if (render_cloudevent(job, &ce, &celen) != DOMINO_OK)
		return NULL;
	if ((f = open_memstream(&buf, &n)) == NULL) {
		free(ce);
		return NULL;
	}
	fputs("{\"listener\":{\"name\":", f);
	put_str(f, job->listener, strlen(job->listener));
	fputs(",\"config\":", f);
	put_obj(f, job->config, 0);
	fputs("},\"event\":", f);
	fwrite(ce, 1, celen, f);
	fputs(",\"delivery_id\":", f);
	put_str(f, job->delivery_id, strlen(job->delivery_id));
	fprintf(f, ",\"attempt\":%u}", job->attempt);
	free(ce);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

struct sink {
	char buf[400];
	size_t n, total;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->total + n > (1u << 20))
		return 0;
	s->total += n;
	for (size_t i = 0; i < n && s->n < sizeof(s->buf) - 1; i++) {
		unsigned char c = (unsigned char)p[i];
		s->buf[s->n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	s->buf[s->n] = '\0';
	return n;
}

static struct ext *
current(struct ext *e)
{
	struct ext *c = NULL;

	pthread_mutex_lock(&R.mu);
	for (struct ext *x = R.active; x != NULL; x = x->next)
		if (!x->broken && strcmp(x->name, e->name) == 0)
			c = x;
	pthread_mutex_unlock(&R.mu);
	return c;
}

static void
ext_deliver(const struct plugin_job *job, struct plugin_result *res)
{
	struct ext *e = (struct ext *)job->desc;
	char sock[sizeof(e->sock)], why[256];
	char *body = NULL;
	size_t len = 0;
	CURL *c = NULL;
	struct curl_slist *h = NULL;
	struct sink sink = {.n = 0};
	CURLcode cc;
	long status = 0;

	res->outcome = PLUGIN_RETRY;
	res->status = -1;
	res->retry_after_ms = -1;
	res->detail[0] = '\0';
	if (e == NULL) {
		snprintf(res->detail, sizeof(res->detail), "no plugin descriptor");
		return;
	}
	pthread_mutex_lock(&e->mu);
	if (e->retired) {
		pthread_mutex_unlock(&e->mu);
		if ((e = current(e)) == NULL) {
			snprintf(res->detail, sizeof(res->detail), "plugin %s is "
			    "no longer installed", job->desc->name);
			return;
		}
		pthread_mutex_lock(&e->mu);
	}
	if (ensure_running(e, why, sizeof(why)) != 0) {
		pthread_mutex_unlock(&e->mu);
		snprintf(res->detail, sizeof(res->detail), "%s", why);
		return;
	}
	e->inflight++;
	e->last_used = mono_ms();
	memcpy(sock, e->sock, sizeof(sock));
	pthread_mutex_unlock(&e->mu);

	if ((body = make_body(job, &len)) == NULL ||
	    (c = curl_easy_init()) == NULL) {
		snprintf(res->detail, sizeof(res->detail), "out of memory");
		goto out;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, "http://plugin/deliver");
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (cc == CURLE_OPERATION_TIMEDOUT)
			snprintf(res->detail, sizeof(res->detail), "plugin %s "
			    "did not answer within %llu ms", e->name,
			    (unsigned long long)e->timeout_ms);
		else
			snprintf(res->detail, sizeof(res->detail), "plugin %s: "
			    "%s", e->name, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	res->status = (int)status;
	if (status >= 200 && status < 300)
		res->outcome = PLUGIN_OK;
	else if (status == 410)
		res->outcome = PLUGIN_GONE;
	else if (status >= 400 && status < 500 && status != 408 && status != 429)
		res->outcome = PLUGIN_FAIL;
	else
		res->outcome = PLUGIN_RETRY;
	snprintf(res->detail, sizeof(res->detail), "HTTP %ld: %s", status,
	    sink.buf);
out:
	curl_slist_free_all(h);
	if (c != NULL)
		curl_easy_cleanup(c);
	free(body);
	pthread_mutex_lock(&e->mu);
	e->inflight--;
	e->last_used = mono_ms();
	pthread_mutex_unlock(&e->mu);
}

/* ---- public -------------------------------------------------------------- */

int
plugin_ext_start(const char *dir, const char *data_dir, char *err,
    size_t errlen)
{
	size_t n = strlen(data_dir) + 8;

	if ((R.dir = strdup(dir)) == NULL || (R.rundir = malloc(n)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return DOMINO_ENOMEM;
	}
	snprintf(R.rundir, n, "%s/run", data_dir);
	if (mkdir(R.rundir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", R.rundir,
		    strerror(errno));
		return DOMINO_EIO;
	}
	rescan(NULL, NULL);
	if (pthread_create(&R.mon, NULL, monitor, NULL) != 0) {
		snprintf(err, errlen, "cannot start the plugin monitor thread");
		return DOMINO_ENOMEM;
	}
	R.started = 1;
	return DOMINO_OK;
}

void
plugin_ext_reload(unsigned *n_ok, unsigned *n_broken)
{
	if (R.dir == NULL) {
		if (n_ok != NULL)
			*n_ok = 0;
		if (n_broken != NULL)
			*n_broken = 0;
		return;
	}
	rescan(n_ok, n_broken);
}

static void
stop_list(struct ext *e)
{
	while (e != NULL) {
		struct ext *next = e->next;
		pthread_mutex_lock(&e->mu);
		stop_proc(e, "shutdown");
		pthread_mutex_unlock(&e->mu);
		ext_free(e);
		e = next;
	}
}

void
plugin_ext_stop(void)
{
	if (R.started) {
		pthread_mutex_lock(&R.mu);
		R.stopping = 1;
		pthread_cond_broadcast(&R.cv);
		pthread_mutex_unlock(&R.mu);
		pthread_join(R.mon, NULL);
		R.started = 0;
	}
	pthread_mutex_lock(&R.scan_mu);
	pthread_mutex_lock(&R.mu);
	stop_list(R.active);
	stop_list(R.retired);
	R.active = R.retired = NULL;
	pthread_mutex_unlock(&R.mu);
	pthread_mutex_unlock(&R.scan_mu);
	free(R.dir);
	free(R.rundir);
	R.dir = R.rundir = NULL;
}

const struct plugin_desc *
plugin_ext_find(const char *name)
{
	const struct plugin_desc *d = NULL;

	pthread_mutex_lock(&R.mu);
	for (struct ext *e = R.active; e != NULL; e = e->next)
		if (!e->broken && strcmp(e->name, name) == 0)
			d = &e->desc;
	pthread_mutex_unlock(&R.mu);
	return d;
}

int
plugin_ext_broken(const char *name, char *why, size_t whylen)
{
	int found = 0;

	pthread_mutex_lock(&R.mu);
	for (struct ext *e = R.active; e != NULL; e = e->next) {
		if (e->broken && strcmp(e->name, name) == 0) {
			snprintf(why, whylen, "%s", e->reason);
			found = 1;
		}
	}
	pthread_mutex_unlock(&R.mu);
	return found;
}

int
plugins_health(plugin_ext_cb cb, void *arg)
{
	int bad = 0;
	int64_t now = mono_ms();

	pthread_mutex_lock(&R.mu);
	for (struct ext *e = R.active; e != NULL; e = e->next) {
		struct plugin_ext_info in = {
			.name = e->name, .path = e->path,
			.version = e->version ? e->version : "",
			.summary = e->summary ? e->summary : "",
			.desc = e->broken ? NULL : &e->desc,
		};
		pthread_mutex_lock(&e->mu);
		in.pid = e->pid;
		in.restarts = e->restarts;
		if (e->broken) {
			in.state = "broken";
			in.reason = e->reason;
			bad++;
		} else if (e->pid > 0) {
			in.state = "running";
			in.reason = e->last_exit;
		} else if (e->backoff_until > now || (e->crashes > 0 &&
		    now - e->started < STABLE_MS)) {
			in.state = "restarting";
			in.reason = e->last_exit;
			bad++;
		} else {
			in.state = "stopped";
			in.reason = e->last_exit;
		}
		if (cb != NULL)
			cb(arg, &in);
		pthread_mutex_unlock(&e->mu);
	}
	pthread_mutex_unlock(&R.mu);
	return bad;
}

/* ---- install ------------------------------------------------------------- */

struct dl {
	FILE *f;
	size_t n;
	crypto_hash_sha256_state sha;
};

static size_t
on_download(char *p, size_t size, size_t nmemb, void *arg)
{
	struct dl *d = arg;
	size_t n = size * nmemb;

	if (d->n + n > INSTALL_MAX || fwrite(p, 1, n, d->f) != n)
		return 0;
	d->n += n;
	crypto_hash_sha256_update(&d->sha, (const unsigned char *)p, n);
	return n;
}

/* Run tar to unpack archive into dir. 0 or -1. */
static int
untar(const char *archive, const char *dir)
{
	char *argv[] = {"tar", "-xzf", (char *)archive, "-C", (char *)dir,
	    "--no-same-owner", NULL};
	pid_t pid;
	int st = 0;

	if (access("/bin/tar", X_OK) == 0)
		argv[0] = "/bin/tar";
	else if (access("/usr/bin/tar", X_OK) == 0)
		argv[0] = "/usr/bin/tar";
	else
		return -1;
	if (spawn(argv[0], argv, -1, &pid) != 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Remove dir and the regular files directly in it. */
static void
rm_flat(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4608];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) != 0)
			rm_flat(p);
	}
	closedir(d);
	rmdir(dir);
}

/* The one regular file in dir (its path into out). 0 or -1. */
static int
single_file(const char *dir, char *out, size_t outlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	char p[4608];
	struct stat st;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
			n = 2;
			break;
		}
		if (strlen(p) >= outlen) {
			n = 2;
			break;
		}
		memcpy(out, p, strlen(p) + 1);
		n++;
	}
	closedir(d);
	return n == 1 ? 0 : -1;
}

int
plugin_ext_install(const char *url, const char *name, const char *sha256,
    char *out_name, size_t out_len, char *err, size_t errlen)
{
	char tmp[4200], xdir[4200], src[4608], dst[4200];
	unsigned char digest[crypto_hash_sha256_BYTES], want[crypto_hash_sha256_BYTES];
	struct dl d = {.f = NULL};
	struct ext *e = NULL;
	struct stat st;
	CURL *c = NULL;
	CURLcode cc;
	long status = 0;
	int fd, rv = DOMINO_EINVAL, have_x = 0;
	unsigned char magic[2] = {0, 0};
	const char *final;

	tmp[0] = xdir[0] = '\0';
	if (R.dir == NULL) {
		snprintf(err, errlen, "external plugins are not enabled");
		return DOMINO_EINVAL;
	}
	if (sha256 != NULL && *sha256 != '\0' && (strlen(sha256) != 64 ||
	    sodium_hex2bin(want, sizeof(want), sha256, 64, NULL, NULL, NULL) != 0)) {
		snprintf(err, errlen, "sha256: want 64 hex digits");
		return DOMINO_EINVAL;
	}
	if (name != NULL && *name != '\0' && !name_ok(name)) {
		snprintf(err, errlen, "name: a plugin name is [A-Za-z0-9_.-], at "
		    "most 64, not starting with a dot");
		return DOMINO_EINVAL;
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "file://", 7) != 0) {
		snprintf(err, errlen, "url: http://, https:// or file:// only");
		return DOMINO_EINVAL;
	}
	pthread_mutex_lock(&R.scan_mu);
	if (mkdir(R.dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", R.dir, strerror(errno));
		rv = DOMINO_EIO;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s/.install-XXXXXX", R.dir);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || (d.f = fdopen(fd, "wb")) == NULL) {
		snprintf(err, errlen, "cannot create a file in %s: %s", R.dir,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		else
			tmp[0] = '\0';
		rv = DOMINO_EIO;
		goto out;
	}
	crypto_hash_sha256_init(&d.sha);
	if ((c = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "out of memory");
		rv = DOMINO_ENOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_download);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (fclose(d.f) != 0 && cc == CURLE_OK)
		cc = CURLE_WRITE_ERROR;
	d.f = NULL;
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "download failed: %s", curl_easy_strerror(cc));
		goto out;
	}
	if (strncmp(url, "file://", 7) != 0 && (status < 200 || status >= 300)) {
		snprintf(err, errlen, "download failed: HTTP %ld", status);
		goto out;
	}
	crypto_hash_sha256_final(&d.sha, digest);
	if (sha256 != NULL && *sha256 != '\0' &&
	    sodium_memcmp(digest, want, sizeof(want)) != 0) {
		char hex[2 * sizeof(digest) + 1];
		sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
		snprintf(err, errlen, "sha256 mismatch: the download has %s", hex);
		goto out;
	}
	/* A .tar.gz (gzip magic) holding one executable, or the executable. */
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, magic, 2) != 2)
			magic[0] = 0;
		close(fd);
	}
	snprintf(src, sizeof(src), "%s", tmp);
	if (magic[0] == 0x1f && magic[1] == 0x8b) {
		snprintf(xdir, sizeof(xdir), "%s/.unpack-XXXXXX", R.dir);
		if (mkdtemp(xdir) == NULL) {
			xdir[0] = '\0';
			snprintf(err, errlen, "cannot unpack: %s", strerror(errno));
			rv = DOMINO_EIO;
			goto out;
		}
		if (untar(tmp, xdir) != 0 || single_file(xdir, src, sizeof(src)) != 0) {
			snprintf(err, errlen, "the archive must hold exactly one "
			    "regular file (the plugin executable)");
			goto out;
		}
	}
	if (chmod(src, 0755) != 0 || stat(src, &st) != 0) {
		snprintf(err, errlen, "cannot make it executable: %s", strerror(errno));
		rv = DOMINO_EIO;
		goto out;
	}
	/* Ask it before activating; the name check runs on the final name. */
	if ((e = probe("x-install-check", src, &st)) == NULL) {
		snprintf(err, errlen, "out of memory");
		rv = DOMINO_ENOMEM;
		goto out;
	}
	if (e->broken) {
		snprintf(err, errlen, "the plugin does not work: %s", e->reason);
		goto out;
	}
	final = name != NULL && *name != '\0' ? name : e->declared;
	if (!name_ok(final)) {
		snprintf(err, errlen, "its declared name '%.64s' is not a plugin "
		    "name; give --name", final);
		goto out;
	}
	for (size_t i = 0; plugin_builtin[i] != NULL; i++) {
		if (strcmp(plugin_builtin[i]->name, final) == 0) {
			snprintf(err, errlen, "'%s' is a built-in plugin's name; "
			    "give another --name", final);
			goto out;
		}
	}
	snprintf(dst, sizeof(dst), "%s/%s", R.dir, final);
	if (rename(src, dst) != 0) {
		snprintf(err, errlen, "cannot install %s: %s", dst, strerror(errno));
		rv = DOMINO_EIO;
		goto out;
	}
	if (strcmp(src, tmp) == 0)
		tmp[0] = '\0';
	snprintf(out_name, out_len, "%s", final);
	have_x = 1;
	rv = DOMINO_OK;
out:
	if (d.f != NULL)
		fclose(d.f);
	if (c != NULL)
		curl_easy_cleanup(c);
	ext_free(e);
	if (tmp[0] != '\0')
		unlink(tmp);
	if (xdir[0] != '\0')
		rm_flat(xdir);
	pthread_mutex_unlock(&R.scan_mu);
	if (have_x) {
		log_msg(LOG_INFO, "plugin %s installed from %s", out_name, url);
		rescan(NULL, NULL);
	}
	return rv;
}
