/* SPDX-License-Identifier: MIT */
/*
 * Delivery engine; see deliver.h. The mutex guards only the in-memory job
 * lists and counters; every change to a delivery record is a writer
 * command (claim, result, recover), applied in the writer's transaction.
 */
#include <msgpack.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "deliver.h"
#include "delivery.h"
#include "err.h"
#include "event.h"
#include "listener.h"
#include "log.h"
#include "msg.h"
#include "plugins/plugin.h"
#include "secrets.h"
#include "store.h"
#include "writer.h"

#define LEASE_NS (600ll * 1000000000) /* longer than any plugin timeout */
#define MAX_DELAY_MS (7ll * 86400 * 1000) /* longest wait between attempts */
#define WALK_MAX 200000               /* due entries walked per pass */
#define SKIP_MAX 64                   /* listeners remembered as blocked per pass */
#define GONE_MAX 256                  /* trimmed-event deliveries closed per pass */
#define MAX_WORKERS 1024
/*
 * Jobs claimed per worker at most. Claiming ahead keeps every worker busy
 * while a claim or a result waits for its commit; with one job per worker,
 * workers idled through two commits per delivery. A queued job is flying
 * (no later pass takes it), so its lease never lapses while it waits.
 */
#define CLAIM_AHEAD 4

const double deliver_lat_bounds_s[DELIVER_LAT_BUCKETS - 1] = {
	0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 3600,
};

static const int64_t default_schedule_ms[] = {
	0, 5000, 300000, 1800000, 7200000, 18000000, 36000000, 50400000,
	72000000, 86400000,
};

struct job {
	struct job *next;   /* claim list, then worker queue */
	struct job *fnext;  /* flying list */
	struct deliver *d;
	char listener[LISTENER_NAME_MAX + 1];
	uint64_t seq;
	unsigned attempt;   /* the attempt being made, from 1 */
	int64_t due;        /* due key it was claimed from */
	int64_t lease;      /* due key while in flight */
	int cancelled;      /* the record was closed meanwhile */
	struct domino_event ev;
	char **via;
	size_t n_via;
	char *config;       /* callback.config, msgpack */
	size_t config_len;
	char *retry;        /* retry policy, msgpack or NULL */
	size_t retry_len;
	msgpack_unpacked cfg;
	const struct plugin_desc *pd;
	int allow_private;
	char delivery_id[LISTENER_NAME_MAX + 32];
	struct plugin_result res;
};

struct deliver {
	const struct config *cfg;
	struct store *st;
	struct writer *w;
	pthread_t dispatcher;
	pthread_t *workers;
	uint32_t nworkers;
	pthread_mutex_t mu;
	pthread_cond_t dcv;  /* dispatcher: kicked or stopping */
	pthread_cond_t wcv;  /* workers: a job is queued or stopping */
	struct job *queue, *queue_tail; /* claimed, waiting for a worker */
	struct job *flying;  /* every job between claim and result commit */
	uint32_t n_flying;
	int kicked, stopping, stopped, dispatcher_started;
	struct deliver_stats stats;
};

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	domino_event_clear(&j->ev);
	for (size_t i = 0; i < j->n_via; i++)
		free(j->via[i]);
	free(j->via);
	free(j->config);
	free(j->retry);
	msgpack_unpacked_destroy(&j->cfg);
	free(j);
}

/* Under d->mu. */
static struct job *
flying_find(struct deliver *d, const char *listener, uint64_t seq,
    uint32_t *per_listener)
{
	struct job *hit = NULL;

	*per_listener = 0;
	for (struct job *j = d->flying; j != NULL; j = j->fnext) {
		if (strcmp(j->listener, listener) != 0)
			continue;
		(*per_listener)++;
		if (j->seq == seq)
			hit = j;
	}
	return hit;
}

/* Under d->mu: take j off the flying list. */
static void
flying_remove(struct deliver *d, struct job *j)
{
	for (struct job **p = &d->flying; *p != NULL; p = &(*p)->fnext) {
		if (*p == j) {
			*p = j->fnext;
			d->n_flying--;
			return;
		}
	}
}

void
deliver_kick(void *arg)
{
	struct deliver *d = arg;

	pthread_mutex_lock(&d->mu);
	d->kicked = 1;
	pthread_cond_signal(&d->dcv);
	pthread_mutex_unlock(&d->mu);
}

/* ---- retry policy ------------------------------------------------------ */

/* A duration in a retry schedule: an integer (ms) or a string like "5s". */
static int
sched_ms(const msgpack_object *o, int64_t *ms)
{
	char buf[32];
	uint64_t v;

	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (o->via.u64 > (uint64_t)MAX_DELAY_MS)
			return -1;
		*ms = (int64_t)o->via.u64;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= sizeof(buf))
		return -1;
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	if (config_parse_duration_ms(buf, &v) != DOMINO_OK || v > MAX_DELAY_MS)
		return -1;
	*ms = (int64_t)v;
	return 0;
}

static uint32_t
policy_per_listener(const char *retry, size_t len, uint32_t dflt)
{
	msgpack_unpacked u;
	uint64_t v = dflt;

	if (retry != NULL && msg_unpack(retry, len, &u) == DOMINO_OK)
		msg_u64(&u.data, "max_in_flight", &v);
	if (retry != NULL)
		msgpack_unpacked_destroy(&u);
	return v > 0 && v < 1024 ? (uint32_t)v : dflt;
}

int64_t
deliver_backoff_ms(const char *retry, size_t retry_len, unsigned attempts,
    int jitter)
{
	int64_t sched[64];
	size_t n = sizeof(default_schedule_ms) / sizeof(default_schedule_ms[0]);
	uint64_t max = 0;
	int64_t delay;
	msgpack_unpacked u;

	memcpy(sched, default_schedule_ms, sizeof(default_schedule_ms));
	if (retry != NULL && msg_unpack(retry, retry_len, &u) == DOMINO_OK) {
		const msgpack_object *s = msg_get(&u.data, "schedule");
		if (s != NULL && s->type == MSGPACK_OBJECT_ARRAY &&
		    s->via.array.size > 0 && s->via.array.size <= 64) {
			size_t k = 0;
			for (uint32_t i = 0; i < s->via.array.size; i++)
				if (sched_ms(&s->via.array.ptr[i], &sched[k]) == 0)
					k++;
			if (k > 0)
				n = k;
		}
		msg_u64(&u.data, "max_attempts", &max);
	}
	if (retry != NULL)
		msgpack_unpacked_destroy(&u);
	if (max == 0)
		max = n;
	if (attempts >= max)
		return -1;
	/* sched[k] is the wait before attempt k+1; past its end, the last. */
	delay = sched[attempts < n ? attempts : n - 1];
	if (jitter && delay > 0) {
		int64_t span = delay / 10;
		if (span > 0)
			delay += (int64_t)randombytes_uniform((uint32_t)(span * 2 >
			    UINT32_MAX ? UINT32_MAX : span * 2)) - span;
	}
	return delay;
}

/* ---- writer commands --------------------------------------------------- */

/* Claim: the jobs of one dispatcher pass become in_flight. */
struct claim_cmd {
	struct wcmd cmd;
	struct deliver *d;
	struct job *jobs; /* linked through ->next */
};

static int
claim_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct claim_cmd *cc = (struct claim_cmd *)c;
	int64_t now = clock_now_ns();

	for (struct job *j = cc->jobs; j != NULL; j = j->next) {
		struct delivery r;
		int rv;

		j->cancelled = 0;
		rv = delivery_load(t, j->listener, j->seq, &r);
		if (rv == DOMINO_ENOTFOUND || (rv == DOMINO_OK &&
		    (!delivery_state_open(r.state) || r.next != j->due))) {
			/* Resolved, removed or rescheduled meanwhile. */
			if (rv == DOMINO_OK)
				delivery_clear(&r);
			j->cancelled = 1;
			continue;
		}
		if (rv != DOMINO_OK)
			return rv;
		snprintf(r.state, sizeof(r.state), "in_flight");
		r.attempt = j->attempt;
		j->lease = now + LEASE_NS;
		r.next = j->lease;
		rv = store_due_del(t, (uint64_t)j->due, j->listener, j->seq);
		if (rv == DOMINO_OK)
			rv = store_due_put(t, (uint64_t)j->lease, j->listener, j->seq);
		if (rv == DOMINO_OK)
			rv = delivery_store(t, j->listener, j->seq, &r);
		delivery_clear(&r);
		if (rv != DOMINO_OK)
			return rv;
	}
	return DOMINO_OK;
}

static void
claim_committed(struct wcmd *c, int status)
{
	struct claim_cmd *cc = (struct claim_cmd *)c;
	struct deliver *d = cc->d;
	struct job *j, *next;

	pthread_mutex_lock(&d->mu);
	for (j = cc->jobs; j != NULL; j = next) {
		next = j->next;
		j->next = NULL;
		if (status != DOMINO_OK || j->cancelled || d->stopping) {
			/* Not ours to run: forget it (a stopping broker leaves
			 * the claimed ones to recovery at the next start). */
			flying_remove(d, j);
			job_free(j);
			continue;
		}
		if (d->queue_tail != NULL)
			d->queue_tail->next = j;
		else
			d->queue = j;
		d->queue_tail = j;
		d->stats.dispatched++;
		pthread_cond_signal(&d->wcv);
	}
	pthread_mutex_unlock(&d->mu);
	free(cc);
}

/* Result: one attempt's answer becomes the record's next state. */
struct result_cmd {
	struct wcmd cmd;
	struct job *job;
	const char *outcome; /* for the log */
};

static const char *
outcome_name(enum plugin_outcome o)
{
	switch (o) {
	case PLUGIN_OK: return "ok";
	case PLUGIN_RETRY: return "retry";
	case PLUGIN_FAIL: return "fail";
	case PLUGIN_GONE: return "gone";
	}
	return "?";
}

/* Keep the listener's failing_since up to date; disable it when it has
 * failed too long or its receiver is gone. */
static int
listener_health(struct store_wtxn *t, struct deliver *d, const char *name,
    int ok, int gone, int64_t now)
{
	struct listener l;
	const void *data;
	size_t len;
	char *buf;
	int rv, change = 0;

	rv = store_listener_get(store_wtxn_view(t), name, &data, &len);
	if (rv == DOMINO_ENOTFOUND)
		return DOMINO_OK;
	if (rv != DOMINO_OK || listener_decode(data, len, &l) != DOMINO_OK)
		return rv != DOMINO_OK ? rv : DOMINO_ESTORE;
	if (ok && l.failing_since != 0) {
		l.failing_since = 0;
		change = 1;
	} else if (!ok) {
		if (l.failing_since == 0) {
			l.failing_since = now;
			change = 1;
		}
		if (!l.disabled && (gone || (d->cfg->delivery.disable_after_s > 0 &&
		    now - l.failing_since >
		    (int64_t)d->cfg->delivery.disable_after_s * 1000000000))) {
			l.disabled = 1;
			change = 1;
			log_msg(LOG_WARN, "deliver: listener disabled name=%s reason=%s",
			    name, gone ? "gone" : "failing");
		}
	}
	rv = DOMINO_OK;
	if (change && (rv = listener_encode(&l, &buf, &len)) == DOMINO_OK) {
		rv = store_listener_put(t, name, buf, len);
		free(buf);
	}
	listener_clear(&l);
	return rv;
}

static int
result_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct result_cmd *rc = (struct result_cmd *)c;
	struct job *j = rc->job;
	struct deliver *d = j->d;
	struct plugin_result *res = &j->res;
	int64_t now = clock_now_ns(), delay;
	struct delivery r;
	int rv;

	rv = delivery_load(t, j->listener, j->seq, &r);
	if (rv == DOMINO_ENOTFOUND)
		return DOMINO_OK; /* the listener was removed meanwhile */
	if (rv != DOMINO_OK)
		return rv;
	rv = delivery_add_history(&r, now, j->attempt, outcome_name(res->outcome),
	    res->status, res->detail[0] ? res->detail : NULL);
	if (rv != DOMINO_OK)
		goto out;
	if (strcmp(r.state, "in_flight") != 0 || r.attempt != j->attempt) {
		/* Resolved or retried by hand meanwhile: only the history. */
		rv = delivery_store(t, j->listener, j->seq, &r);
		goto out;
	}
	if ((rv = store_due_del(t, (uint64_t)r.next, j->listener, j->seq)) != DOMINO_OK)
		goto out;
	/* No attempt left makes a retry dead. */
	delay = res->outcome == PLUGIN_RETRY ?
	    deliver_backoff_ms(j->retry, j->retry_len, j->attempt, 1) : -1;
	if (res->outcome == PLUGIN_OK) {
		snprintf(r.state, sizeof(r.state), "ok");
		r.next = 0;
		rc->outcome = "ok";
	} else if (delay >= 0) {
		if (res->retry_after_ms > delay)
			delay = res->retry_after_ms;
		snprintf(r.state, sizeof(r.state), "failed");
		r.next = now + delay * 1000000;
		rv = store_due_put(t, (uint64_t)r.next, j->listener, j->seq);
		rc->outcome = "failed";
	} else {
		snprintf(r.state, sizeof(r.state), "dead");
		r.next = 0;
		rc->outcome = "dead";
	}
	if (rv == DOMINO_OK)
		rv = delivery_store(t, j->listener, j->seq, &r);
	if (rv == DOMINO_OK)
		rv = listener_health(t, d, j->listener, res->outcome == PLUGIN_OK,
		    res->outcome == PLUGIN_GONE, now);
out:
	delivery_clear(&r);
	return rv;
}

static void
result_committed(struct wcmd *c, int status)
{
	struct result_cmd *rc = (struct result_cmd *)c;
	struct job *j = rc->job;
	struct deliver *d = j->d;

	if (status != DOMINO_OK)
		log_msg(LOG_ERROR, "deliver: result not stored listener=%s seq=%llu "
		    "err=\"%s\" (it stays in flight until the next start)",
		    j->listener, (unsigned long long)j->seq, domino_strerror(status));
	else
		log_msg(LOG_INFO, "deliver: %s listener=%s seq=%llu attempt=%u status=%d",
		    rc->outcome ? rc->outcome : "recorded", j->listener,
		    (unsigned long long)j->seq, j->attempt, j->res.status);
	pthread_mutex_lock(&d->mu);
	if (status == DOMINO_OK && rc->outcome != NULL) {
		int ok = strcmp(rc->outcome, "ok") == 0;
		int retried = strcmp(rc->outcome, "failed") == 0;
		int k;

		d->stats.ok += ok;
		d->stats.retried += retried;
		d->stats.dead += !ok && !retried;
		for (k = 0; k < d->stats.n_plugins; k++)
			if (strcmp(d->stats.plugin[k].name, j->pd->name) == 0)
				break;
		if (k == d->stats.n_plugins && k < DELIVER_PLUGINS_MAX)
			snprintf(d->stats.plugin[d->stats.n_plugins++].name,
			    sizeof(d->stats.plugin[0].name), "%s", j->pd->name);
		if (k < d->stats.n_plugins) {
			d->stats.plugin[k].ok += ok;
			d->stats.plugin[k].retried += retried;
			d->stats.plugin[k].dead += !ok && !retried;
		}
		if (ok) {
			double lat = (double)(clock_now_ns() - j->ev.time) / 1e9;
			int b = 0;
			while (b < DELIVER_LAT_BUCKETS - 1 && lat > deliver_lat_bounds_s[b])
				b++;
			d->stats.lat_hist[b]++;
			d->stats.lat_sum_s += lat > 0 ? lat : 0;
		}
	}
	flying_remove(d, j);
	d->kicked = 1;
	pthread_cond_signal(&d->dcv);
	pthread_mutex_unlock(&d->mu);
	job_free(j);
	free(rc);
}

/* Recover: deliveries left in flight by a previous run become due now. */
struct recover_cmd {
	struct wcmd cmd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, status;
	uint64_t recovered;
};

struct recover_scan {
	struct store_wtxn *t;
	int64_t now;
	uint64_t n;
	int rv;
	/* due entries to move, collected first: the cursor must not see its
	 * own writes */
	struct {
		uint64_t due, seq;
		char listener[LISTENER_NAME_MAX + 1];
	} *v;
	size_t nv, cap;
};

static int
recover_one(void *arg, uint64_t due_ns, const char *listener, uint64_t seq)
{
	struct recover_scan *rs = arg;

	if (strlen(listener) > LISTENER_NAME_MAX)
		return 0; /* recover_apply keeps only in_flight records */
	if (rs->nv == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		void *nv = realloc(rs->v, cap * sizeof(*rs->v));
		if (nv == NULL) {
			rs->rv = DOMINO_ENOMEM;
			return 1;
		}
		rs->v = nv;
		rs->cap = cap;
	}
	rs->v[rs->nv].due = due_ns;
	rs->v[rs->nv].seq = seq;
	snprintf(rs->v[rs->nv].listener, sizeof(rs->v[0].listener), "%s", listener);
	rs->nv++;
	return 0;
}

static int
recover_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct recover_cmd *rc = (struct recover_cmd *)c;
	struct recover_scan rs = {.t = t, .now = clock_now_ns()};
	int rv;

	rc->recovered = 0;
	rv = store_due_each(store_wtxn_view(t), recover_one, &rs);
	if (rv == DOMINO_OK)
		rv = rs.rv;
	for (size_t i = 0; rv == DOMINO_OK && i < rs.nv; i++) {
		struct delivery r;
		if (delivery_load(t, rs.v[i].listener, rs.v[i].seq, &r) != DOMINO_OK)
			continue;
		if (strcmp(r.state, "in_flight") == 0) {
			snprintf(r.state, sizeof(r.state), "pending");
			rv = delivery_add_history(&r, rs.now, r.attempt,
			    "interrupted", -1, "the broker stopped during this attempt");
			if (rv == DOMINO_OK)
				rv = store_due_del(t, rs.v[i].due, rs.v[i].listener, rs.v[i].seq);
			r.next = rs.now;
			if (rv == DOMINO_OK)
				rv = store_due_put(t, (uint64_t)r.next, rs.v[i].listener,
				    rs.v[i].seq);
			if (rv == DOMINO_OK)
				rv = delivery_store(t, rs.v[i].listener, rs.v[i].seq, &r);
			rc->recovered++;
		}
		delivery_clear(&r);
	}
	free(rs.v);
	return rv;
}

static void
recover_committed(struct wcmd *c, int status)
{
	struct recover_cmd *rc = (struct recover_cmd *)c;

	pthread_mutex_lock(&rc->mu);
	rc->done = 1;
	rc->status = status;
	pthread_cond_signal(&rc->cv);
	pthread_mutex_unlock(&rc->mu);
}

/* ---- dispatcher -------------------------------------------------------- */

struct scan {
	struct deliver *d;
	struct store_txn *v;
	int64_t now;
	int64_t next_wake;  /* earliest future due time seen, 0 none */
	uint32_t room;      /* jobs we may still start */
	uint32_t walked;
	int capped;         /* stopped at WALK_MAX */
	struct job *jobs;   /* claimed in this pass */
	/* listeners found disabled or at their in-flight limit in this pass:
	 * their other entries are passed over without decoding anything, so
	 * one listener's backlog costs little */
	char skip[SKIP_MAX][LISTENER_NAME_MAX + 1];
	int nskip;
	/* due deliveries whose event retention has trimmed: they can never
	 * be attempted, so they are closed as dead */
	struct gone {
		char listener[LISTENER_NAME_MAX + 1];
		uint64_t seq;
		int64_t due;
	} gone[GONE_MAX];
	int ngone;
};

static int
skipped(const struct scan *s, const char *name)
{
	for (int i = 0; i < s->nskip; i++)
		if (strcmp(s->skip[i], name) == 0)
			return 1;
	return 0;
}

/* Build a job for (listener, seq) due at due_ns; NULL to skip it. */
static struct job *
make_job(struct scan *s, int64_t due_ns, const char *name, uint64_t seq,
    const struct listener *l)
{
	struct job *j;
	struct delivery r;
	const void *data;
	size_t len;

	if (store_delivery_get(s->v, name, seq, &data, &len) != DOMINO_OK ||
	    delivery_decode(data, len, &r) != DOMINO_OK)
		return NULL;
	/* An in_flight record that is due and not flying is an expired
	 * lease (a lost result): it is attempted again. */
	if (!delivery_state_open(r.state)) {
		delivery_clear(&r);
		return NULL;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		delivery_clear(&r);
		return NULL;
	}
	msgpack_unpacked_init(&j->cfg);
	j->d = s->d;
	snprintf(j->listener, sizeof(j->listener), "%s", name);
	j->seq = seq;
	j->attempt = r.attempt + 1;
	j->due = due_ns;
	j->via = r.via;
	j->n_via = r.n_via;
	r.via = NULL;
	r.n_via = 0;
	delivery_clear(&r);
	snprintf(j->delivery_id, sizeof(j->delivery_id), "%s-%llu", name,
	    (unsigned long long)seq);
	j->pd = plugin_find(l->plugin);
	j->allow_private = s->d->cfg->allow_private_callbacks || l->by_admin;
	if (j->pd == NULL || j->pd->deliver == NULL ||
	    (j->config = malloc(l->config_len)) == NULL ||
	    (l->retry != NULL && (j->retry = malloc(l->retry_len)) == NULL))
		goto fail;
	memcpy(j->config, l->config, l->config_len);
	j->config_len = l->config_len;
	/* Secret values are sealed at rest; only the attempt sees them. */
	if (secrets_open_config(&j->config, &j->config_len) != DOMINO_OK) {
		log_msg(LOG_WARN, "delivery %s: a secret in callback.config does "
		    "not open with <data>/secret.key", j->delivery_id);
		goto fail;
	}
	if (l->retry != NULL) {
		memcpy(j->retry, l->retry, l->retry_len);
		j->retry_len = l->retry_len;
	}
	if (msg_unpack(j->config, j->config_len, &j->cfg) != DOMINO_OK)
		goto fail;
	if (store_event_get(s->v, seq, &data, &len) != DOMINO_OK) {
		if (s->ngone < GONE_MAX) {
			struct gone *g = &s->gone[s->ngone++];
			snprintf(g->listener, sizeof(g->listener), "%s", name);
			g->seq = seq;
			g->due = due_ns;
		}
		goto fail;
	}
	if (domino_event_decode(data, len, &j->ev) != DOMINO_OK)
		goto fail;
	return j;
fail:
	job_free(j);
	return NULL;
}

static int
scan_one(void *arg, uint64_t due_ns, const char *name, uint64_t seq)
{
	struct scan *s = arg;
	struct deliver *d = s->d;
	struct listener l;
	const void *data;
	size_t len;
	uint32_t mine;
	struct job *j;
	int busy;

	if ((int64_t)due_ns > s->now) {
		s->next_wake = (int64_t)due_ns;
		return 1;
	}
	if (++s->walked > WALK_MAX) {
		s->capped = 1;
		return 1;
	}
	if (s->room == 0)
		return 1;
	if (skipped(s, name))
		return 0;
	if (store_listener_get(s->v, name, &data, &len) != DOMINO_OK ||
	    listener_decode(data, len, &l) != DOMINO_OK)
		return 0;
	pthread_mutex_lock(&d->mu);
	busy = flying_find(d, name, seq, &mine) != NULL;
	for (struct job *p = s->jobs; p != NULL; p = p->next)
		mine += strcmp(p->listener, name) == 0;
	pthread_mutex_unlock(&d->mu);
	if (l.disabled || mine >= policy_per_listener(l.retry, l.retry_len,
	    d->cfg->delivery.per_listener)) {
		if (s->nskip < SKIP_MAX)
			snprintf(s->skip[s->nskip++], sizeof(s->skip[0]), "%s", name);
		listener_clear(&l);
		return 0;
	}
	if (busy) {
		listener_clear(&l);
		return 0;
	}
	j = make_job(s, (int64_t)due_ns, name, seq, &l);
	listener_clear(&l);
	if (j != NULL) {
		j->next = s->jobs;
		s->jobs = j;
		s->room--;
	}
	return 0;
}

/* Close deliveries whose event is gone: dead, with the reason. */
struct bury_cmd {
	struct wcmd cmd;
	int n;
	struct gone v[GONE_MAX];
};

static int
bury_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct bury_cmd *bc = (struct bury_cmd *)c;
	int64_t now = clock_now_ns();
	int rv = DOMINO_OK;

	for (int i = 0; rv == DOMINO_OK && i < bc->n; i++) {
		struct delivery r;
		if (delivery_load(t, bc->v[i].listener, bc->v[i].seq, &r) != DOMINO_OK)
			continue;
		if (delivery_state_open(r.state) && r.next == bc->v[i].due) {
			rv = store_due_del(t, (uint64_t)r.next, bc->v[i].listener,
			    bc->v[i].seq);
			snprintf(r.state, sizeof(r.state), "dead");
			r.next = 0;
			if (rv == DOMINO_OK)
				rv = delivery_add_history(&r, now, r.attempt, "gone", -1,
				    "the event was trimmed by retention before it "
				    "could be delivered");
			if (rv == DOMINO_OK)
				rv = delivery_store(t, bc->v[i].listener, bc->v[i].seq, &r);
		}
		delivery_clear(&r);
	}
	return rv;
}

static void
bury_committed(struct wcmd *c, int status)
{
	struct bury_cmd *bc = (struct bury_cmd *)c;

	if (status == DOMINO_OK)
		log_msg(LOG_WARN, "deliver: %d deliveries closed as dead: their "
		    "event was trimmed", bc->n);
	free(bc);
}

static void
bury(struct deliver *d, const struct scan *s)
{
	struct bury_cmd *bc;

	if (s->ngone == 0 || (bc = calloc(1, sizeof(*bc))) == NULL)
		return;
	bc->n = s->ngone;
	memcpy(bc->v, s->gone, (size_t)s->ngone * sizeof(s->gone[0]));
	bc->cmd.apply = bury_apply;
	bc->cmd.committed = bury_committed;
	if (writer_submit(d->w, &bc->cmd) != DOMINO_OK)
		free(bc);
}

/* One pass: claim what is due. Returns the next time to look (ns). */
static int64_t
dispatch_pass(struct deliver *d)
{
	struct store_reader *r;
	struct scan s = {.d = d, .now = clock_now_ns()};
	struct claim_cmd *cc;
	int64_t wake;

	pthread_mutex_lock(&d->mu);
	s.room = d->n_flying < d->nworkers * CLAIM_AHEAD ?
	    d->nworkers * CLAIM_AHEAD - d->n_flying : 0;
	pthread_mutex_unlock(&d->mu);
	if (s.room == 0)
		return s.now + 1000000000;
	if (store_reader_open(d->st, &r) != DOMINO_OK)
		return s.now + 1000000000;
	s.v = store_reader_view(r);
	store_due_each(s.v, scan_one, &s);
	store_reader_close(r);
	bury(d, &s);
	wake = s.next_wake ? s.next_wake : s.now + 1000000000;
	/* More may be due: look again at once, but only when this pass found
	 * work; a walk that only met blocked listeners waits for a kick. */
	if (s.jobs != NULL && (s.capped || s.room == 0))
		wake = s.now;
	if (s.jobs == NULL)
		return wake;
	if ((cc = calloc(1, sizeof(*cc))) == NULL)
		goto drop;
	cc->d = d;
	cc->jobs = s.jobs;
	cc->cmd.apply = claim_apply;
	cc->cmd.committed = claim_committed;
	/* On the flying list before the claim, so no later pass takes them. */
	pthread_mutex_lock(&d->mu);
	for (struct job *j = s.jobs; j != NULL; j = j->next) {
		j->fnext = d->flying;
		d->flying = j;
		d->n_flying++;
	}
	pthread_mutex_unlock(&d->mu);
	if (writer_submit(d->w, &cc->cmd) != DOMINO_OK) {
		pthread_mutex_lock(&d->mu);
		for (struct job *j = s.jobs; j != NULL; j = j->next)
			flying_remove(d, j);
		pthread_mutex_unlock(&d->mu);
		free(cc);
		goto drop;
	}
	return wake;
drop:
	for (struct job *j = s.jobs, *next; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	return s.now + 1000000000;
}

static void *
dispatcher(void *arg)
{
	struct deliver *d = arg;

	pthread_mutex_lock(&d->mu);
	while (!d->stopping) {
		int64_t wake;
		struct timespec ts;

		d->kicked = 0;
		pthread_mutex_unlock(&d->mu);
		wake = dispatch_pass(d);
		pthread_mutex_lock(&d->mu);
		if (d->kicked || d->stopping)
			continue;
		if (wake - clock_now_ns() > 1000000000)
			wake = clock_now_ns() + 1000000000;
		ts.tv_sec = (time_t)(wake / 1000000000);
		ts.tv_nsec = (long)(wake % 1000000000);
		while (!d->kicked && !d->stopping &&
		    pthread_cond_timedwait(&d->dcv, &d->mu, &ts) == 0)
			;
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* ---- workers ----------------------------------------------------------- */

static void
run_job(struct job *j)
{
	const char *via[64];
	size_t nv = j->n_via < 64 ? j->n_via : 64;
	struct plugin_job pj;

	for (size_t i = 0; i < nv; i++)
		via[i] = j->via[i];
	pj = (struct plugin_job){
		.listener = j->listener,
		.seq = j->seq,
		.attempt = j->attempt,
		.ev = &j->ev,
		.via = via,
		.n_via = nv,
		.config = &j->cfg.data,
		.delivery_id = j->delivery_id,
		.allow_private = j->allow_private,
		.desc = j->pd,
	};
	memset(&j->res, 0, sizeof(j->res));
	j->res.status = -1;
	j->res.retry_after_ms = -1;
	j->pd->deliver(&pj, &j->res);
	j->res.detail[sizeof(j->res.detail) - 1] = '\0';
}

static void *
worker(void *arg)
{
	struct deliver *d = arg;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		struct job *j;
		struct result_cmd *rc;

		while (d->queue == NULL && !d->stopping)
			pthread_cond_wait(&d->wcv, &d->mu);
		/* Stopping: what is queued stays in_flight in the store and is
		 * recovered at the next start, as deliver.h promises. */
		if (d->queue == NULL || d->stopping)
			break;
		j = d->queue;
		d->queue = j->next;
		if (d->queue == NULL)
			d->queue_tail = NULL;
		j->next = NULL;
		pthread_mutex_unlock(&d->mu);

		run_job(j);
		rc = calloc(1, sizeof(*rc));
		if (rc != NULL) {
			rc->job = j;
			rc->cmd.apply = result_apply;
			rc->cmd.committed = result_committed;
		}
		if (rc == NULL || writer_submit(d->w, &rc->cmd) != DOMINO_OK) {
			log_msg(LOG_ERROR, "deliver: result dropped listener=%s seq=%llu "
			    "(recovered at the next start)", j->listener,
			    (unsigned long long)j->seq);
			free(rc);
			pthread_mutex_lock(&d->mu);
			flying_remove(d, j);
			pthread_mutex_unlock(&d->mu);
			job_free(j);
		}
		pthread_mutex_lock(&d->mu);
	}
	/* Stopping: claimed jobs nobody started stay in_flight in the store. */
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

int
deliver_start(const struct config *cfg, struct store *st, struct writer *w,
    struct deliver **out)
{
	struct deliver *d;
	struct recover_cmd rc = {0};
	int rv;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return DOMINO_ENOMEM;
	d->cfg = cfg;
	d->st = st;
	d->w = w;
	d->nworkers = cfg->delivery.workers > 0 && cfg->delivery.workers <=
	    MAX_WORKERS ? cfg->delivery.workers : 16;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->dcv, NULL);
	pthread_cond_init(&d->wcv, NULL);

	pthread_mutex_init(&rc.mu, NULL);
	pthread_cond_init(&rc.cv, NULL);
	rc.cmd.apply = recover_apply;
	rc.cmd.committed = recover_committed;
	rv = writer_submit(w, &rc.cmd);
	if (rv == DOMINO_OK) {
		pthread_mutex_lock(&rc.mu);
		while (!rc.done)
			pthread_cond_wait(&rc.cv, &rc.mu);
		pthread_mutex_unlock(&rc.mu);
		rv = rc.status;
	}
	pthread_mutex_destroy(&rc.mu);
	pthread_cond_destroy(&rc.cv);
	if (rv != DOMINO_OK)
		goto fail;
	if (rc.recovered > 0)
		log_msg(LOG_INFO, "deliver: %llu interrupted deliveries are due again",
		    (unsigned long long)rc.recovered);
	if ((d->workers = calloc(d->nworkers, sizeof(pthread_t))) == NULL) {
		rv = DOMINO_ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < d->nworkers; i++) {
		if (pthread_create(&d->workers[i], NULL, worker, d) != 0) {
			d->nworkers = i;
			deliver_stop(d);
			deliver_free(d);
			return DOMINO_ENOMEM;
		}
	}
	if (pthread_create(&d->dispatcher, NULL, dispatcher, d) != 0) {
		deliver_stop(d);
		deliver_free(d);
		return DOMINO_ENOMEM;
	}
	d->dispatcher_started = 1;
	*out = d;
	return DOMINO_OK;
fail:
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->dcv);
	pthread_cond_destroy(&d->wcv);
	free(d);
	return rv;
}

void
deliver_get_stats(struct deliver *d, struct deliver_stats *out)
{
	pthread_mutex_lock(&d->mu);
	*out = d->stats;
	out->in_flight = d->n_flying;
	pthread_mutex_unlock(&d->mu);
}

void
deliver_stop(struct deliver *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	if (d->stopped) {
		pthread_mutex_unlock(&d->mu);
		return;
	}
	d->stopping = 1;
	d->stopped = 1;
	pthread_cond_broadcast(&d->dcv);
	pthread_cond_broadcast(&d->wcv);
	pthread_mutex_unlock(&d->mu);
	if (d->dispatcher_started)
		pthread_join(d->dispatcher, NULL);
	for (uint32_t i = 0; i < d->nworkers; i++)
		pthread_join(d->workers[i], NULL);
}

void
deliver_free(struct deliver *d)
{
	if (d == NULL)
		return;
	/* Jobs still queued were never started; results of started ones
	 * were committed by the (now stopped) writer and freed there. */
	for (struct job *j = d->queue, *next; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	free(d->workers);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->dcv);
	pthread_cond_destroy(&d->wcv);
	free(d);
}
