/* SPDX-License-Identifier: MIT */
/* End-to-end harness; see harness.h. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

const char *h_tls_ca;

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

const char *
h_bin(const char *name)
{
	static __thread char path[512];
	const char *b = getenv("DOMINO_BUILD");

	snprintf(path, sizeof(path), "%s/%s", b ? b : "build", name);
	return path;
}

const char *
h_fixture_path(const char *rel)
{
	static __thread char path[1024];
	const char *f = getenv("DOMINO_FIXTURES");

	snprintf(path, sizeof(path), "%s/%s",
	    f ? f : "../shared/fixtures/webhooks", rel);
	return path;
}

char *
h_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf != NULL) {
		buf[n] = '\0';
		if (len != NULL)
			*len = (size_t)n;
	}
	return buf;
}

static int
spawn(struct broker *b)
{
	char ready[400];
	const char *args[24];
	int n = 0;

	snprintf(ready, sizeof(ready), "%s/ready.json", b->dir);
	unlink(ready);
	if (getenv("DOMINO_VALGRIND") != NULL) {
		args[n++] = "valgrind";
		args[n++] = "--leak-check=full";
		args[n++] = "--error-exitcode=99";
	}
	args[n++] = h_bin("dominod");
	args[n++] = "--data";
	args[n++] = b->data;
	args[n++] = "--http";
	args[n++] = h_tls_ca ? "https://127.0.0.1:0" : "http://127.0.0.1:0";
	args[n++] = "--pub";
	args[n++] = h_tls_ca ? "tls+tcp://127.0.0.1:0" : "tcp://127.0.0.1:0";
	args[n++] = "--control";
	args[n++] = h_tls_ca ? "tls+tcp://127.0.0.1:0" : "tcp://127.0.0.1:0";
	args[n++] = "--admin";
	args[n++] = h_tls_ca ? "https://127.0.0.1:0" : "http://127.0.0.1:0";
	args[n++] = "--ready-file";
	args[n++] = ready;
	args[n++] = "--log-level";
	args[n++] = getenv("DOMINO_TEST_LOG") ? "debug" : "error";
	if (b->config[0] != '\0') {
		args[n++] = "--config";
		args[n++] = b->config;
	}
	args[n] = NULL;

	b->pid = fork();
	if (b->pid < 0)
		return -1;
	if (b->pid == 0) {
		/* A broker never outlives its test: a leftover one would hold
		 * the runner's output pipe open and stall the whole run. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execvp(args[0], (char *const *)args);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		int st;
		char *txt;
		cJSON *j;

		if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
			b->pid = 0;
			return -1;
		}
		if ((txt = h_read_file(ready, NULL)) == NULL) {
			sleep_ms(50);
			continue;
		}
		j = cJSON_Parse(txt);
		free(txt);
		if (j == NULL)
			return -1;
		snprintf(b->http, sizeof(b->http), "%s", cJSON_GetObjectItem(j, "http")->valuestring);
		snprintf(b->pub, sizeof(b->pub), "%s", cJSON_GetObjectItem(j, "pub")->valuestring);
		snprintf(b->control, sizeof(b->control), "%s", cJSON_GetObjectItem(j, "control")->valuestring);
		snprintf(b->admin, sizeof(b->admin), "%s", cJSON_GetObjectItem(j, "admin")->valuestring);
		cJSON_Delete(j);
		{
			char tp[400];
			char *tok;
			snprintf(tp, sizeof(tp), "%s/admin.token", b->data);
			tok = h_read_file(tp, NULL);
			if (tok == NULL)
				return -1;
			tok[strcspn(tok, "\r\n")] = '\0';
			snprintf(b->token, sizeof(b->token), "%s", tok);
			free(tok);
		}
		return 0;
	}
	return -1;
}

int
h_broker_start(struct broker *b, const char *config_yaml)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->dir, sizeof(b->dir), "/tmp/domino-e2e-XXXXXX");
	if (mkdtemp(b->dir) == NULL)
		return -1;
	snprintf(b->data, sizeof(b->data), "%s/data", b->dir);
	if (config_yaml != NULL) {
		FILE *f;
		snprintf(b->config, sizeof(b->config), "%s/config.yaml", b->dir);
		if ((f = fopen(b->config, "w")) == NULL)
			return -1;
		fputs(config_yaml, f);
		fclose(f);
	}
	return spawn(b);
}

int
h_broker_restart(struct broker *b)
{
	return spawn(b);
}

int
h_broker_stop(struct broker *b)
{
	int st;

	if (b->pid <= 0)
		return -1;
	kill(b->pid, SIGTERM);
	for (int i = 0; i < 400; i++) {
		if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
			b->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		sleep_ms(50);
	}
	h_broker_kill(b);
	return -1;
}

void
h_broker_kill(struct broker *b)
{
	if (b->pid <= 0)
		return;
	kill(b->pid, SIGKILL);
	waitpid(b->pid, NULL, 0);
	b->pid = 0;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
h_broker_cleanup(struct broker *b)
{
	if (b->pid > 0)
		h_broker_stop(b);
	if (b->dir[0] != '\0')
		nftw(b->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
h_hmac_hex(const char *secret, const void *body, size_t len, char *out)
{
	unsigned char mac[32];
	unsigned int ml = sizeof(mac);

	HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, mac, &ml);
	for (unsigned i = 0; i < ml; i++)
		sprintf(out + 2 * i, "%02x", mac[i]);
	out[64] = '\0';
}

struct buf {
	char *p;
	size_t n;
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *np = realloc(b->p, b->n + n + 1);

	if (np == NULL)
		return 0;
	memcpy(np + b->n, ptr, n);
	b->n += n;
	np[b->n] = '\0';
	b->p = np;
	return n;
}

static long
request(const char *method, const char *url, const char *const *headers,
    const void *body, size_t len, char **resp)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf rb = {0};
	long status = 0;

	if (c == NULL)
		return 0;
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &rb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (h_tls_ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, h_tls_ca);
	if (getenv("DOMINO_TEST_CURL_VERBOSE") != NULL)
		curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	if (resp != NULL)
		*resp = rb.p;
	else
		free(rb.p);
	return status;
}

long
h_post(const char *url, const char *const *headers, const void *body,
    size_t len, char **resp)
{
	return request("POST", url, headers, body, len, resp);
}

long
h_get(const char *url, char **resp)
{
	return request("GET", url, NULL, NULL, 0, resp);
}

long
h_request(struct broker *b, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len, char **resp)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", b->http, path);
	return request(method, url, headers, body, len, resp);
}

long
h_post_github(struct broker *b, const char *secret, const char *fixture,
    const char *event, const char *delivery, char **resp)
{
	char url[512], sig[128], hmac[65], ev[128], del[160];
	size_t len;
	char *body = h_read_file(h_fixture_path(fixture), &len);
	long st;

	if (body == NULL)
		return -1;
	h_hmac_hex(secret, body, len, hmac);
	snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hmac);
	snprintf(ev, sizeof(ev), "X-GitHub-Event: %s", event);
	snprintf(del, sizeof(del), "X-GitHub-Delivery: %s", delivery);
	{
		const char *hdrs[] = {"Content-Type: application/json", sig, ev,
		    del, NULL};
		snprintf(url, sizeof(url), "%s/hooks/github", b->http);
		st = h_post(url, hdrs, body, len, resp);
	}
	free(body);
	return st;
}

int
h_source_secret(struct broker *b, const char *source, char *out, size_t cap)
{
	const char *argv[] = {"secret", source, NULL};
	char *o = NULL;
	int rc = h_cli(b, argv, &o);

	if (rc != 0 || o == NULL) {
		free(o);
		return -1;
	}
	o[strcspn(o, "\r\n")] = '\0';
	snprintf(out, cap, "%s", o);
	free(o);
	return 0;
}

int
h_cli(struct broker *b, const char *const *argv, char **out)
{
	int pfd[2], st = -1;
	pid_t pid;
	struct buf ob = {0};
	const char *args[64];
	int n = 0;
	time_t deadline = time(NULL) + 30;

	args[n++] = h_bin("domino");
	for (size_t i = 0; argv[i] != NULL && n < 62; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	if (pipe(pfd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		setenv("DOMINO_CONTROL", b->control, 1);
		setenv("DOMINO_TOKEN", b->token, 1);
		setenv("DOMINO_DATA", b->data, 1);
		if (h_tls_ca != NULL)
			setenv("DOMINO_CA", h_tls_ca, 1);
		execv(args[0], (char *const *)args);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		char tmp[4096];
		ssize_t r;

		if (time(NULL) > deadline) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, 200) <= 0)
			continue;
		r = read(pfd[0], tmp, sizeof(tmp));
		if (r <= 0)
			break;
		collect(tmp, 1, (size_t)r, &ob);
	}
	close(pfd[0]);
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && time(NULL) <= deadline)
		st = WEXITSTATUS(st);
	else
		st = -1;
	if (out != NULL)
		*out = ob.p ? ob.p : strdup("");
	else
		free(ob.p);
	return st;
}
