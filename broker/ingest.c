/* SPDX-License-Identifier: MIT */
/*
 * Ingest; see ingest.h. The handler does not collect the body through nng
 * (which answers 400 for an oversized body): it checks Content-Length first,
 * answers 413 with "Connection: close" without reading, and otherwise reads
 * the body itself with a deadline so a slow sender cannot pin memory.
 * Nothing here blocks an nng thread: the answer is sent from the writer's
 * done callback.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "forge/forge.h"
#include "forge/jarena.h"
#include "ingest.h"
#include "log.h"
#include "prepare.h"
#include "writer.h"

#define BODY_TIMEOUT_MS 30000

struct ireq;

/* The answers counted per source, in this order. */
static const uint16_t counted[] = {200, 202, 400, 401, 404, 405, 411, 413,
	415, 422, 429, 503};
#define N_COUNTED (sizeof(counted) / sizeof(counted[0]))

struct ingest {
	/* Swapped whole on SIGHUP; a request keeps the one it started with
	 * (main keeps replaced configs until exit). */
	const struct config *_Atomic cfg;
	struct writer *w;
	nng_http_server *srv;
	nng_http_handler *h;
	pthread_mutex_t mu; /* guards the list of requests in progress */
	pthread_cond_t cv;
	struct ireq *live;
	int closing;
	_Atomic uint64_t accepted, duplicates, refused;
	/* per-source token buckets for limits.rate, under mu */
	struct {
		double tokens;
		int64_t last_ns;
	} bucket[SRC_COUNT];
	/* [source][answer]; the extra source row is "unknown source" */
	_Atomic uint64_t answers[SRC_COUNT + 1][N_COUNTED];
};

static void
count(struct ingest *in, const char *source, uint16_t status)
{
	int src = SRC_COUNT;

	for (int i = 0; source != NULL && i < SRC_COUNT; i++)
		if (strcmp(config_source_name(i), source) == 0)
			src = i;
	for (size_t i = 0; i < N_COUNTED; i++)
		if (counted[i] == status)
			atomic_fetch_add(&in->answers[src][i], 1);
}

struct ireq {
	struct ireq *prev, *next;
	struct ingest *in;
	nng_aio *srv_aio; /* the server's callback aio, finished by us */
	nng_aio *rd_aio;
	nng_http_req *req;
	nng_http_conn *conn;
	const struct forge_ops *forge;
	const struct config *cfg;
	const struct source_config *src;
	char *query;
	uint8_t *body;
	size_t len;
	struct forge_out out;
};

/* nng 1.5 lacks reason phrases for some statuses we answer. */
static const char *
reason(uint16_t status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return NULL;
	}
}

/* Seconds a 429 asks the sender to wait; 0 sends no Retry-After. */
static void
reply_with(nng_aio *aio, uint16_t status, const char *json, int close,
    unsigned retry_after);

static void
reply(nng_aio *aio, uint16_t status, const char *json, int close)
{
	reply_with(aio, status, json, close, 0);
}

static void
reply_with(nng_aio *aio, uint16_t status, const char *json, int close,
    unsigned retry_after)
{
	nng_http_res *res;

	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, status);
	if (reason(status) != NULL)
		nng_http_res_set_reason(res, reason(status));
	nng_http_res_set_header(res, "Content-Type", "application/json");
	if (close)
		nng_http_res_set_header(res, "Connection", "close");
	if (retry_after > 0) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", retry_after);
		nng_http_res_set_header(res, "Retry-After", ra);
	}
	if (nng_http_res_copy_data(res, json, strlen(json)) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static void
reply_error(struct ingest *in, nng_aio *aio, uint16_t status,
    const char *code, const char *msg, const char *source, const char *id,
    int close)
{
	cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
	char *s;

	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "msg", msg);
	s = cJSON_PrintUnformatted(root);
	/* Counted before the answer: a client that reads /metrics after its
	 * answer finds its request there. */
	atomic_fetch_add(&in->refused, 1);
	count(in, source, status);
	reply(aio, status, s ? s : "{\"error\":{\"code\":\"internal\"}}", close);
	cJSON_free(s);
	cJSON_Delete(root);
	log_msg(LOG_WARN, "ingest: refused status=%u code=%s source=%s id=\"%.64s\" msg=\"%s\"",
	    status, code, source ? source : "-", id ? id : "-", msg);
}

/* A 429: like reply_error, with Retry-After, closing the connection (the
 * body was not read). */
static void
reply_error_ra(struct ingest *in, nng_aio *aio, uint16_t status,
    const char *code, const char *msg, const char *source, unsigned wait)
{
	cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
	char *s;

	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "msg", msg);
	s = cJSON_PrintUnformatted(root);
	atomic_fetch_add(&in->refused, 1);
	count(in, source, status);
	reply_with(aio, status, s ? s : "{\"error\":{\"code\":\"rate_limited\"}}", 1,
	    wait);
	cJSON_free(s);
	cJSON_Delete(root);
	log_msg(LOG_DEBUG, "ingest: rate limited source=%s", source);
}

/*
 * Take a token from source's bucket (limits.rate per second, limits.burst
 * deep). Returns 0, or the seconds to wait before one is available.
 */
static unsigned
rate_take(struct ingest *in, const struct config *cfg, int src)
{
	struct timespec ts;
	int64_t now;
	double rate = (double)cfg->limits.rate, burst = (double)cfg->limits.burst;
	unsigned wait = 0;

	if (cfg->limits.rate == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	pthread_mutex_lock(&in->mu);
	if (in->bucket[src].last_ns == 0)
		in->bucket[src].tokens = burst;
	else
		in->bucket[src].tokens += (double)(now - in->bucket[src].last_ns) /
		    1e9 * rate;
	if (in->bucket[src].tokens > burst)
		in->bucket[src].tokens = burst;
	in->bucket[src].last_ns = now;
	if (in->bucket[src].tokens >= 1)
		in->bucket[src].tokens -= 1;
	else
		wait = (unsigned)((1 - in->bucket[src].tokens) / rate) + 1;
	pthread_mutex_unlock(&in->mu);
	return wait;
}

/* Track r unless the ingest is closing; returns 0 when tracked. */
static int
live_add(struct ireq *r)
{
	struct ingest *in = r->in;
	int closing;

	pthread_mutex_lock(&in->mu);
	closing = in->closing;
	if (!closing) {
		r->next = in->live;
		if (in->live != NULL)
			in->live->prev = r;
		in->live = r;
	}
	pthread_mutex_unlock(&in->mu);
	return closing ? -1 : 0;
}

static void
ireq_free(struct ireq *r)
{
	struct ingest *in = r->in;

	pthread_mutex_lock(&in->mu);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else if (in->live == r)
		in->live = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
	/* Often called from rd_aio's own callback, where nng_aio_free would
	 * wait for itself: reap frees it once the callback has returned. */
	nng_aio_reap(r->rd_aio);
	forge_out_clear(&r->out);
	free(r->query);
	free(r->body);
	free(r);
}

static const char *
req_header(void *ctx, const char *name)
{
	return nng_http_req_get_header(ctx, name);
}

static void
events_done(struct writer_events *we, int status)
{
	struct ireq *r = we->arg;
	struct ingest *in = r->in;
	const char *source = r->forge->name;

	if (status != DOMINO_OK) {
		/* Say why, so an operator reading the forge's delivery log
		 * knows whether to wait or to free disk space. */
		const char *code = "store", *msg =
		    "the event could not be stored; it was not accepted, retry later";

		if (status == DOMINO_EUNAVAIL) {
			code = "unavailable";
		} else if (status == DOMINO_EIO || status == DOMINO_EFULL) {
			code = "disk_full";
			msg = "the event could not be stored: the data directory's "
			    "disk is full or failing (no space left on device); it was "
			    "not accepted, retry later";
		}
		reply_error(in, r->srv_aio, 503, code, msg, source, we->ev[0].id, 0);
	} else {
		cJSON *root = cJSON_CreateObject();
		int all_dup = 1;
		char *s;

		for (size_t i = 0; i < we->n; i++)
			all_dup &= we->ev[i].dup;
		cJSON_AddNumberToObject(root, "seq", (double)we->ev[0].seq);
		cJSON_AddStringToObject(root, "id", we->ev[0].id);
		if (all_dup)
			cJSON_AddBoolToObject(root, "duplicate", 1);
		if (we->n > 1) {
			cJSON *arr = cJSON_AddArrayToObject(root, "events");
			for (size_t i = 0; i < we->n; i++) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddNumberToObject(o, "seq", (double)we->ev[i].seq);
				cJSON_AddStringToObject(o, "id", we->ev[i].id);
				cJSON_AddItemToArray(arr, o);
			}
		}
		s = cJSON_PrintUnformatted(root);
		atomic_fetch_add(all_dup ? &in->duplicates : &in->accepted, 1);
		count(in, source, all_dup ? 200 : 202);
		reply(r->srv_aio, all_dup ? 200 : 202, s ? s : "{}", 0);
		cJSON_free(s);
		cJSON_Delete(root);
		for (size_t i = 0; i < we->n; i++)
			log_msg(LOG_INFO, "ingest: %s seq=%llu source=%s type=%s repo=%s id=\"%.64s\"",
			    we->ev[i].dup ? "duplicate" : "stored",
			    (unsigned long long)we->ev[i].seq, source,
			    r->out.ev[i].type, we->ev[i].repo, we->ev[i].id);
	}
	prepare_free(we);
	ireq_free(r);
}

/* Verify, normalize, encode and queue. Answers on every failure path. */
static void
process(struct ireq *r)
{
	struct ingest *in = r->in;
	struct forge_req fr = {
		.method = nng_http_req_get_method(r->req),
		.query = r->query,
		.content_type = nng_http_req_get_header(r->req, "Content-Type"),
		.body = r->body,
		.len = r->len,
		.header = req_header,
		.ctx = r->req,
	};
	struct forge_cred cred = {r->src->secret, r->src->token};
	struct forge_err fe = {0};
	struct writer_events *we = NULL;
	char msg[256];
	int rv;

	rv = r->forge->verify(&fr, &cred, &fe);
	if (rv == 0) {
		/* normalize deletes every cJSON tree it makes before it
		 * returns; what it keeps is copied out with malloc. */
		jarena_begin();
		rv = r->forge->normalize(&fr, &r->out, &fe);
		jarena_end();
	}
	if (rv != 0) {
		reply_error(in, r->srv_aio, (uint16_t)fe.status, fe.code, fe.msg,
		    r->forge->name, r->out.n ? r->out.ev[0].id : NULL, 0);
		goto fail;
	}
	if (r->out.n == 0) {
		reply_error(in, r->srv_aio, 422, "no_event",
		    "the request carries no event", r->forge->name, NULL, 0);
		goto fail;
	}
	rv = prepare_events(r->out.ev, r->out.n, r->forge->name,
	    r->cfg->store_payload ? r->body : NULL, r->len, &we, msg,
	    sizeof(msg));
	if (rv != DOMINO_OK) {
		reply_error(in, r->srv_aio, rv == DOMINO_EINVAL ? 400 : 503,
		    rv == DOMINO_EINVAL ? "bad_id" : "no_memory", msg,
		    r->forge->name, NULL, 0);
		goto fail;
	}
	we->done = events_done;
	we->arg = r;
	if (writer_submit_events(in->w, we) != DOMINO_OK) {
		reply_error(in, r->srv_aio, 503, "unavailable",
		    "the broker is busy or shutting down; retry later",
		    r->forge->name, r->out.ev[0].id, 0);
		prepare_free(we);
		goto fail;
	}
	return;
fail:
	ireq_free(r);
}

static void
read_done(void *arg)
{
	struct ireq *r = arg;
	int rv = nng_aio_result(r->rd_aio);

	if (rv != 0) {
		log_msg(LOG_WARN, "ingest: body not received source=%s err=\"%s\"",
		    r->forge->name, nng_strerror(rv));
		atomic_fetch_add(&r->in->refused, 1);
		nng_aio_finish(r->srv_aio, rv); /* hard close */
		ireq_free(r);
		return;
	}
	process(r);
}

static void
handle(nng_aio *aio)
{
	struct ingest *in = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
	const struct config *cfg = atomic_load(&in->cfg);
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *uri = nng_http_req_get_uri(req), *name, *q, *cl;
	char forge_name[32];
	const struct forge_ops *forge = NULL;
	const struct source_config *src = NULL;
	unsigned long long len = 0;
	struct ireq *r;
	size_t nl;

	name = uri + strlen("/hooks");
	if (*name == '/')
		name++;
	nl = strcspn(name, "/?");
	q = strchr(name, '?');
	if (nl < sizeof(forge_name) && name[nl] != '/') {
		memcpy(forge_name, name, nl);
		forge_name[nl] = '\0';
		forge = forge_find(forge_name);
	}
	for (int i = 0; forge != NULL && i < SRC_COUNT; i++)
		if (strcmp(config_source_name(i), forge->name) == 0 &&
		    cfg->sources[i].enabled)
			src = &cfg->sources[i];
	if (src == NULL) {
		reply_error(in, aio, 404, "unknown_source",
		    "no such source; use /hooks/<github|gitlab|gitea|bitbucket|gerrit|generic> "
		    "and enable it in the config", NULL, NULL, 1);
		return;
	}
	if (strcmp(nng_http_req_get_method(req), "POST") != 0) {
		reply_error(in, aio, 405, "method_not_allowed",
		    "webhooks are delivered with POST", forge->name, NULL, 1);
		return;
	}
	{
		unsigned wait = rate_take(in, cfg, (int)(src - cfg->sources));
		if (wait > 0) {
			char msg[160];
			snprintf(msg, sizeof(msg), "more than %llu webhooks/s from %s "
			    "(limits.rate); retry after %u s",
			    (unsigned long long)cfg->limits.rate, forge->name, wait);
			reply_error_ra(in, aio, 429, "rate_limited", msg, forge->name,
			    wait);
			return;
		}
	}
	if (nng_http_req_get_header(req, "Transfer-Encoding") != NULL) {
		reply_error(in, aio, 411, "length_required",
		    "send the body with a Content-Length header (chunked bodies are not accepted)",
		    forge->name, NULL, 1);
		return;
	}
	if ((cl = nng_http_req_get_header(req, "Content-Length")) != NULL) {
		char *end;
		len = strtoull(cl, &end, 10);
		if (end == cl || *end != '\0') {
			reply_error(in, aio, 400, "bad_length",
			    "Content-Length is not a number", forge->name, NULL, 1);
			return;
		}
	}
	if (len > cfg->limits.max_body) {
		char msg[160];
		snprintf(msg, sizeof(msg), "the body is %llu bytes; the limit is %llu (limits.max_body)",
		    len, (unsigned long long)cfg->limits.max_body);
		reply_error(in, aio, 413, "too_large", msg, forge->name, NULL, 1);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	r->in = in;
	r->cfg = cfg;
	r->srv_aio = aio;
	r->req = req;
	r->conn = nng_aio_get_input(aio, 2);
	r->forge = forge;
	r->src = src;
	r->len = (size_t)len;
	if ((q != NULL && (r->query = strdup(q + 1)) == NULL) ||
	    (r->body = malloc(r->len + 1)) == NULL ||
	    nng_aio_alloc(&r->rd_aio, read_done, r) != 0) {
		free(r->query);
		free(r->body);
		free(r);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	r->body[r->len] = '\0';
	if (live_add(r) != 0) {
		nng_aio_free(r->rd_aio);
		free(r->query);
		free(r->body);
		free(r);
		reply_error(in, aio, 503, "unavailable", "the broker is shutting down",
		    forge->name, NULL, 1);
		return;
	}
	if (r->len == 0) {
		process(r);
		return;
	}
	{
		nng_iov iov = {.iov_buf = r->body, .iov_len = r->len};
		nng_aio_set_iov(r->rd_aio, 1, &iov);
		nng_aio_set_timeout(r->rd_aio, BODY_TIMEOUT_MS);
		nng_http_conn_read_all(r->conn, r->rd_aio);
	}
}

int
ingest_open(const struct config *cfg, struct writer *w,
    struct nng_tls_config *tls, struct ingest **out, char **bound, char *err,
    size_t errlen)
{
	struct ingest *in;
	nng_url *url = NULL;
	nng_sockaddr sa;
	int rv;

	if ((in = calloc(1, sizeof(*in))) == NULL)
		return DOMINO_ENOMEM;
	jarena_install();
	in->cfg = cfg;
	in->w = w;
	pthread_mutex_init(&in->mu, NULL);
	pthread_cond_init(&in->cv, NULL);
	if ((rv = nng_url_parse(&url, cfg->listen.http)) != 0 ||
	    (rv = nng_http_server_hold(&in->srv, url)) != 0)
		goto fail;
	if ((rv = nng_http_handler_alloc(&in->h, "/hooks", handle)) != 0)
		goto fail;
	nng_http_handler_set_method(in->h, NULL);
	nng_http_handler_set_tree(in->h);
	nng_http_handler_collect_body(in->h, false, 0);
	nng_http_handler_set_data(in->h, in, NULL);
	if ((rv = nng_http_server_add_handler(in->srv, in->h)) != 0) {
		nng_http_handler_free(in->h);
		goto fail;
	}
	if (strcmp(url->u_scheme, "https") == 0 &&
	    (tls == NULL || (rv = nng_http_server_set_tls(in->srv, tls)) != 0)) {
		if (tls == NULL)
			rv = NNG_ENOTSUP;
		goto fail;
	}
	if ((rv = nng_http_server_start(in->srv)) != 0)
		goto fail;
	*bound = NULL;
	if (nng_http_server_get_addr(in->srv, &sa) == 0 &&
	    sa.s_family == NNG_AF_INET) {
		uint16_t port = ntohs(sa.s_in.sa_port);
		if (asprintf(bound, "%s://%s:%u", url->u_scheme, url->u_hostname,
		    port) < 0)
			*bound = NULL;
	}
	if (*bound == NULL)
		*bound = strdup(cfg->listen.http);
	nng_url_free(url);
	*out = in;
	return DOMINO_OK;
fail:
	snprintf(err, errlen, "cannot serve webhooks on %s: %s",
	    cfg->listen.http, rv == NNG_ENOTSUP && tls == NULL ? "an https URL "
	    "needs tls.cert and tls.key in the config" : nng_strerror(rv));
	if (in->srv != NULL)
		nng_http_server_release(in->srv);
	if (url != NULL)
		nng_url_free(url);
	pthread_mutex_destroy(&in->mu);
	pthread_cond_destroy(&in->cv);
	free(in);
	return DOMINO_ETRANSPORT;
}

void
ingest_get_stats(struct ingest *in, struct ingest_stats *out)
{
	out->accepted = atomic_load(&in->accepted);
	out->duplicates = atomic_load(&in->duplicates);
	out->refused = atomic_load(&in->refused);
}

void
ingest_each_count(struct ingest *in,
    void (*cb)(void *arg, const char *source, unsigned status, uint64_t n),
    void *arg)
{
	for (int s = 0; s <= SRC_COUNT; s++)
		for (size_t i = 0; i < N_COUNTED; i++) {
			uint64_t n = atomic_load(&in->answers[s][i]);
			if (n > 0)
				cb(arg, s < SRC_COUNT ? config_source_name(s) :
				    "unknown", counted[i], n);
		}
}

void
ingest_set_config(struct ingest *in, const struct config *cfg)
{
	atomic_store(&in->cfg, cfg);
}

void
ingest_quiesce(struct ingest *in, int timeout_ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&in->mu);
	in->closing = 1;
	for (struct ireq *r = in->live; r != NULL; r = r->next)
		nng_aio_cancel(r->rd_aio);
	while (in->live != NULL)
		if (pthread_cond_timedwait(&in->cv, &in->mu, &dl) != 0)
			break;
	pthread_mutex_unlock(&in->mu);
}

void
ingest_close(struct ingest *in)
{
	if (in == NULL)
		return;
	nng_http_server_stop(in->srv);
	/* A request aborted by the stop still frees itself (ireq_free is the
	 * last thing to touch in): wait for them all. */
	pthread_mutex_lock(&in->mu);
	while (in->live != NULL)
		pthread_cond_wait(&in->cv, &in->mu);
	pthread_mutex_unlock(&in->mu);
	nng_http_server_release(in->srv);
	pthread_mutex_destroy(&in->mu);
	pthread_cond_destroy(&in->cv);
	free(in);
}
