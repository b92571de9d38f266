/* SPDX-License-Identifier: MIT */
/*
 * The exec callback plugin: posix_spawn a command (no shell) in its own
 * process group with the CloudEvents JSON on stdin and the DOMINO_*
 * variables in a minimal environment (PATH and HOME from the broker, plus
 * the listener's `env`). Exit 0 is ok, 75 (EX_TEMPFAIL) retry, anything
 * else fail; the timeout kills the whole group and is a retry. The last
 * bytes of stdout+stderr go into the result. Several workers may run it at
 * once: every descriptor is close-on-exec until it is dup'ed into the
 * child, and the child is always reaped.
 *
 * It does not run a shell, pass the broker's other environment variables,
 * or let the command outlive its timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "pconf.h"
#include "plugin.h"
#include "render.h"

#define EXEC_TIMEOUT_DEFAULT_MS 30000
#define EXEC_TIMEOUT_MAX_MS (24u * 3600 * 1000)
#define EXEC_ARGS_MAX 64
#define EXEC_ARG_MAX 4096
#define EXEC_ENV_MAX 64
#define EXEC_ENV_NAME_MAX 128
#define EXEC_ENV_VALUE_MAX 8192
/* Output bytes kept for history (the tail). */
#define EXEC_TAIL 400
#define EXEC_EX_TEMPFAIL 75

static const struct plugin_key exec_keys[] = {
	{"command", 1, 0, "program to run (no shell); gets the event as JSON on stdin and DOMINO_* variables"},
	{"args", 0, 0, "list of arguments"},
	{"timeout", 0, 0, "like 30s (default 30s); the process group is killed after it"},
	/* Secret as a whole: it usually carries tokens. */
	{"env", 0, 1, "extra environment variables, a map of strings"},
	{NULL, 0, 0, NULL},
};

static int
env_name_ok(struct pstr s)
{
	if (s.n == 0 || s.n > EXEC_ENV_NAME_MAX ||
	    (s.p[0] >= '0' && s.p[0] <= '9'))
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

static int
exec_validate(const msgpack_object *cfg, char *err, size_t errlen)
{
	const msgpack_object *v;
	struct pstr s;
	uint64_t ms;
	char key[EXEC_ENV_NAME_MAX + 16];
	int r;

	r = pconf_str(cfg, "command", &s);
	if (r == 0)
		return pconf_fail(err, errlen, "command", "required");
	if (r < 0 || s.n == 0 || s.n > EXEC_ARG_MAX || pstr_has_nul(s))
		return pconf_fail(err, errlen, "command", "must be a program "
		    "name or path of 1 to %d bytes", EXEC_ARG_MAX);
	v = pconf_get(cfg, "args");
	if (v != NULL) {
		if (v->type != MSGPACK_OBJECT_ARRAY ||
		    v->via.array.size > EXEC_ARGS_MAX)
			return pconf_fail(err, errlen, "args", "must be a list of "
			    "at most %d strings", EXEC_ARGS_MAX);
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			const msgpack_object *a = &v->via.array.ptr[i];
			struct pstr as = {a->via.str.ptr ? a->via.str.ptr : "",
			    a->via.str.size};

			snprintf(key, sizeof(key), "args[%u]", i);
			if (a->type != MSGPACK_OBJECT_STR || as.n > EXEC_ARG_MAX ||
			    pstr_has_nul(as))
				return pconf_fail(err, errlen, key, "must be a "
				    "string of at most %d bytes", EXEC_ARG_MAX);
		}
	}
	if (pconf_duration_ms(cfg, "timeout", EXEC_TIMEOUT_DEFAULT_MS,
	    EXEC_TIMEOUT_MAX_MS, &ms, err, errlen) != 0)
		return -1;
	v = pconf_get(cfg, "env");
	if (v == NULL)
		return 0;
	if (v->type != MSGPACK_OBJECT_MAP || v->via.map.size > EXEC_ENV_MAX)
		return pconf_fail(err, errlen, "env", "must be a map of at most "
		    "%d names to strings", EXEC_ENV_MAX);
	for (uint32_t i = 0; i < v->via.map.size; i++) {
		const msgpack_object *k = &v->via.map.ptr[i].key;
		const msgpack_object *o = &v->via.map.ptr[i].val;
		struct pstr name = {k->via.str.ptr ? k->via.str.ptr : "",
		    k->via.str.size};
		struct pstr val = {o->via.str.ptr ? o->via.str.ptr : "",
		    o->via.str.size};

		if (k->type != MSGPACK_OBJECT_STR || !env_name_ok(name))
			return pconf_fail(err, errlen, "env", "names must be "
			    "letters, digits and _ (not starting with a digit)");
		snprintf(key, sizeof(key), "env.%.*s", (int)name.n, name.p);
		if (name.n >= 7 && memcmp(name.p, "DOMINO_", 7) == 0)
			return pconf_fail(err, errlen, key, "DOMINO_* variables "
			    "are set by domino");
		if (o->type != MSGPACK_OBJECT_STR || val.n > EXEC_ENV_VALUE_MAX ||
		    pstr_has_nul(val))
			return pconf_fail(err, errlen, key, "must be a string of "
			    "at most %d bytes", EXEC_ENV_VALUE_MAX);
	}
	return 0;
}

/* Delivery. */

static void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static char *
pstrdup(struct pstr s)
{
	return strndup(s.p, s.n);
}

/* argv: command then args. NULL when out of memory or config is bad. */
static char **
make_argv(const msgpack_object *cfg)
{
	const msgpack_object *args = pconf_get(cfg, "args");
	uint32_t na = 0;
	char **argv;
	struct pstr s;

	if (args != NULL && args->type == MSGPACK_OBJECT_ARRAY)
		na = args->via.array.size;
	if (na > EXEC_ARGS_MAX)
		return NULL;
	argv = calloc(na + 2, sizeof(*argv));
	if (argv == NULL)
		return NULL;
	if (pconf_str(cfg, "command", &s) != 1 || s.n == 0 || pstr_has_nul(s))
		goto fail;
	argv[0] = pstrdup(s);
	if (argv[0] == NULL)
		goto fail;
	for (uint32_t i = 0; i < na; i++) {
		const msgpack_object *a = &args->via.array.ptr[i];

		if (a->type != MSGPACK_OBJECT_STR)
			goto fail;
		s.p = a->via.str.ptr ? a->via.str.ptr : "";
		s.n = a->via.str.size;
		if (pstr_has_nul(s))
			goto fail;
		argv[i + 1] = pstrdup(s);
		if (argv[i + 1] == NULL)
			goto fail;
	}
	return argv;
fail:
	strv_free(argv);
	return NULL;
}

/* Whether the env map of the config sets name. */
static int
env_sets(const msgpack_object *env, const char *name)
{
	for (uint32_t i = 0; env != NULL && i < env->via.map.size; i++) {
		const msgpack_object *k = &env->via.map.ptr[i].key;
		struct pstr s = {k->via.str.ptr ? k->via.str.ptr : "",
		    k->via.str.size};

		if (k->type == MSGPACK_OBJECT_STR && pstr_eq(s, name))
			return 1;
	}
	return 0;
}

/* The child's environment: config env, PATH and HOME, DOMINO_*. */
static char **
make_envp(const struct plugin_job *job)
{
	const msgpack_object *env = pconf_get(job->config, "env");
	const char *path = getenv("PATH"), *home = getenv("HOME");
	char **dom = NULL, **envp = NULL;
	size_t nd = 0, ne = 0, k = 0;

	if (env != NULL && env->type != MSGPACK_OBJECT_MAP)
		env = NULL;
	if (env != NULL)
		ne = env->via.map.size;
	if (ne > EXEC_ENV_MAX || render_env(job, &dom, &nd) != DOMINO_OK)
		goto fail;
	envp = calloc(ne + nd + 3, sizeof(*envp));
	if (envp == NULL)
		goto fail;
	for (uint32_t i = 0; i < ne; i++) {
		const msgpack_object *kk = &env->via.map.ptr[i].key;
		const msgpack_object *v = &env->via.map.ptr[i].val;
		struct pstr name = {kk->via.str.ptr ? kk->via.str.ptr : "",
		    kk->via.str.size};
		struct pstr val = {v->via.str.ptr ? v->via.str.ptr : "",
		    v->via.str.size};

		if (kk->type != MSGPACK_OBJECT_STR || v->type !=
		    MSGPACK_OBJECT_STR || !env_name_ok(name) || pstr_has_nul(val))
			continue;
		if (asprintf(&envp[k], "%.*s=%.*s", (int)name.n, name.p,
		    (int)val.n, val.p) < 0) {
			envp[k] = NULL;
			goto fail;
		}
		k++;
	}
	if (!env_sets(env, "PATH")) {
		if (asprintf(&envp[k], "PATH=%s", path != NULL ? path :
		    "/usr/local/bin:/usr/bin:/bin") < 0) {
			envp[k] = NULL;
			goto fail;
		}
		k++;
	}
	if (home != NULL && !env_sets(env, "HOME")) {
		if (asprintf(&envp[k], "HOME=%s", home) < 0) {
			envp[k] = NULL;
			goto fail;
		}
		k++;
	}
	for (size_t i = 0; i < nd; i++) {
		envp[k++] = dom[i];
		dom[i] = NULL;
	}
	free(dom);
	return envp;
fail:
	if (dom != NULL)
		for (size_t i = 0; i < nd; i++)
			free(dom[i]);
	free(dom);
	strv_free(envp);
	return NULL;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keep the last EXEC_TAIL bytes seen. */
struct tail {
	char b[EXEC_TAIL];
	size_t n;
};

static void
tail_add(struct tail *t, const char *p, size_t n)
{
	if (n >= EXEC_TAIL) {
		memcpy(t->b, p + n - EXEC_TAIL, EXEC_TAIL);
		t->n = EXEC_TAIL;
		return;
	}
	if (t->n + n > EXEC_TAIL) {
		size_t drop = t->n + n - EXEC_TAIL;
		memmove(t->b, t->b + drop, t->n - drop);
		t->n -= drop;
	}
	memcpy(t->b + t->n, p, n);
	t->n += n;
}

/* Reads per drain() call, so a chatty child cannot keep us from checking
 * the deadline. */
#define EXEC_DRAIN_READS 16

/* Read what is there now. 1 at EOF or error, 0 when more may come. */
static int
drain(int fd, struct tail *t)
{
	char buf[4096];
	ssize_t r;

	for (int i = 0; i < EXEC_DRAIN_READS; i++) {
		r = read(fd, buf, sizeof(buf));
		if (r > 0) {
			tail_add(t, buf, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return 1;
	}
	return 0;
}

static void
put_result(struct plugin_result *res, const char *what, const struct tail *t)
{
	size_t k;

	snprintf(res->detail, sizeof(res->detail), "%s%s", what,
	    t->n > 0 ? "; output: " : "");
	k = strlen(res->detail);
	for (size_t i = 0; i < t->n && k + 1 < sizeof(res->detail); i++) {
		unsigned char c = (unsigned char)t->b[i];
		res->detail[k++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	res->detail[k] = '\0';
}

static void
reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/*
 * Write the input, collect the output and wait for the child until
 * deadline. 1 when it timed out (the group was killed), else 0; the child
 * is reaped either way (*status -1 when its status was lost).
 */
static int
supervise(pid_t pid, int in, int out, const char *input, size_t len,
    int64_t deadline, struct tail *t, int *status)
{
	size_t off = 0;
	int out_open = 1;
	pid_t w;

	if (len == 0) {
		close(in);
		in = -1;
	}
	for (;;) {
		struct pollfd p[2];
		nfds_t np = 0;
		int64_t left = deadline - now_ms();
		int wait_ms;

		w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno == ECHILD) {
			/* Someone set SIGCHLD to SIG_IGN: the kernel reaped it
			 * and its status is gone. */
			*status = -1;
			break;
		}
		if (left <= 0) {
			kill(-pid, SIGKILL);
			reap(pid, status);
			if (out_open)
				(void)drain(out, t);
			if (in >= 0)
				close(in);
			return 1;
		}
		if (in >= 0)
			p[np++] = (struct pollfd){.fd = in, .events = POLLOUT};
		if (out_open)
			p[np++] = (struct pollfd){.fd = out, .events = POLLIN};
		/* Exit is noticed by polling waitpid: keep the step short once
		 * the pipes are done, a little longer while they are busy. */
		wait_ms = np > 0 ? 100 : 20;
		if (left < wait_ms)
			wait_ms = (int)left;
		if (poll(np > 0 ? p : NULL, np, wait_ms) < 0 && errno != EINTR)
			(void)poll(NULL, 0, wait_ms);
		for (nfds_t i = 0; i < np; i++) {
			if (p[i].revents == 0)
				continue;
			if (p[i].fd == out) {
				if (drain(out, t))
					out_open = 0;
				continue;
			}
			/* stdin: write what fits; a child that closed it early
			 * (EPIPE) simply does not want the rest. */
			while (off < len) {
				ssize_t r = write(in, input + off, len - off);
				if (r > 0) {
					off += (size_t)r;
					continue;
				}
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0 && (errno == EAGAIN ||
				    errno == EWOULDBLOCK))
					break;
				off = len; /* EPIPE or other: stop writing */
			}
			if (off >= len) {
				close(in);
				in = -1;
			}
		}
	}
	if (out_open)
		(void)drain(out, t);
	if (in >= 0)
		close(in);
	return 0;
}

static void
exec_deliver(const struct plugin_job *job, struct plugin_result *res)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults, pipe_set, old_mask, pending;
	int fa_ok = 0, attr_ok = 0, mask_set = 0, pipe_was_pending = 0;
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	char **argv = NULL, **envp = NULL, *input = NULL, what[160];
	size_t len = 0;
	uint64_t timeout_ms;
	struct tail tail = {.n = 0};
	pid_t pid = -1;
	int status = 0, e, timed_out;
	static const int sig_defaults[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP,
	    SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP, SIGTTIN,
	    SIGTTOU, SIGXFSZ};

	res->outcome = PLUGIN_FAIL;
	res->status = -1;
	res->retry_after_ms = -1;
	res->detail[0] = '\0';
	if (pconf_duration_ms(job->config, "timeout", EXEC_TIMEOUT_DEFAULT_MS,
	    EXEC_TIMEOUT_MAX_MS, &timeout_ms, res->detail,
	    sizeof(res->detail)) != 0)
		goto out;
	argv = make_argv(job->config);
	envp = make_envp(job);
	if (argv == NULL || envp == NULL || render_cloudevent(job, &input,
	    &len) != DOMINO_OK) {
		snprintf(res->detail, sizeof(res->detail), "cannot prepare the "
		    "command (callback.config.command/args/env, or out of memory)");
		goto out;
	}
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		snprintf(res->detail, sizeof(res->detail), "pipe: %s",
		    strerror(errno));
		res->outcome = PLUGIN_RETRY;
		goto out;
	}
	fa_ok = posix_spawn_file_actions_init(&fa) == 0;
	attr_ok = posix_spawnattr_init(&attr) == 0;
	if (!fa_ok || !attr_ok) {
		snprintf(res->detail, sizeof(res->detail), "out of memory");
		res->outcome = PLUGIN_RETRY;
		goto out;
	}
	sigemptyset(&none);
	sigemptyset(&defaults);
	for (size_t i = 0; i < sizeof(sig_defaults) / sizeof(sig_defaults[0]); i++)
		sigaddset(&defaults, sig_defaults[i]);
	if (posix_spawn_file_actions_adddup2(&fa, in[0], 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, out[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, out[1], 2) != 0 ||
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	    /* Belt and braces: no broker descriptor leaks into the command,
	     * even one another thread opened without O_CLOEXEC. */
	    posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0 ||
#endif
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(&attr, 0) != 0 ||
	    posix_spawnattr_setsigmask(&attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &defaults) != 0) {
		snprintf(res->detail, sizeof(res->detail), "cannot set up "
		    "posix_spawn");
		res->outcome = PLUGIN_RETRY;
		goto out;
	}
	/* Writing to a child that closed its stdin must not raise SIGPIPE
	 * in the broker: block it on this thread, consume it afterwards. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask) == 0) {
		mask_set = 1;
		pipe_was_pending = sigpending(&pending) == 0 &&
		    sigismember(&pending, SIGPIPE);
	}

	if (strchr(argv[0], '/') != NULL)
		e = posix_spawn(&pid, argv[0], &fa, &attr, argv, envp);
	else
		e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (e != 0) {
		pid = -1;
		if (e == ENOENT || e == ENOTDIR)
			snprintf(res->detail, sizeof(res->detail), "command not "
			    "found: %.200s", argv[0]);
		else if (e == EACCES || e == ENOEXEC || e == EPERM)
			snprintf(res->detail, sizeof(res->detail), "command not "
			    "executable: %.200s (%s)", argv[0], strerror(e));
		else {
			snprintf(res->detail, sizeof(res->detail), "cannot run "
			    "%.200s: %s", argv[0], strerror(e));
			res->outcome = PLUGIN_RETRY;
		}
		goto out;
	}
	(void)fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
	(void)fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
	timed_out = supervise(pid, in[1], out[0], input, len,
	    now_ms() + (int64_t)timeout_ms, &tail, &status);
	in[1] = -1; /* supervise closed it */
	if (timed_out) {
		res->outcome = PLUGIN_RETRY;
		snprintf(what, sizeof(what), "killed after the %llu ms timeout",
		    (unsigned long long)timeout_ms);
	} else if (status == -1) {
		res->outcome = PLUGIN_RETRY;
		snprintf(what, sizeof(what), "exit status lost (is SIGCHLD "
		    "ignored?)");
	} else if (WIFEXITED(status)) {
		res->status = WEXITSTATUS(status);
		res->outcome = res->status == 0 ? PLUGIN_OK :
		    res->status == EXEC_EX_TEMPFAIL ? PLUGIN_RETRY : PLUGIN_FAIL;
		snprintf(what, sizeof(what), "exit %d", res->status);
	} else {
		int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

		res->status = 128 + sig;
		/* Killed from outside (OOM killer, shutdown): try again. */
		res->outcome = (sig == SIGKILL || sig == SIGTERM) ?
		    PLUGIN_RETRY : PLUGIN_FAIL;
		snprintf(what, sizeof(what), "killed by signal %d", sig);
	}
	put_result(res, what, &tail);
out:
	if (mask_set) {
		struct timespec zero = {0, 0};

		if (!pipe_was_pending && sigpending(&pending) == 0 &&
		    sigismember(&pending, SIGPIPE))
			(void)sigtimedwait(&pipe_set, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	}
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	free(input);
	strv_free(argv);
	strv_free(envp);
}

const struct plugin_desc plugin_exec = {
	.name = "exec",
	.summary = "run a command with the event",
	.keys = exec_keys,
	.validate = exec_validate,
	.deliver = exec_deliver,
};
