/* SPDX-License-Identifier: MIT */
/*
 * Control operations on the event log: stats, log, secret, publish and
 * ingest (proto/README.md). publish and ingest answer after the commit.
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "config.h"
#include "control.h"
#include "deliver.h"
#include "err.h"
#include "event.h"
#include "forge/forge.h"
#include "ingest.h"
#include "log.h"
#include "msg.h"
#include "ops.h"
#include "plugins/external.h"
#include "prepare.h"
#include "retention.h"
#include "store.h"
#include "topic.h"
#include "version.h"
#include "writer.h"

#define LOG_LIMIT_DEFAULT 100
#define LOG_LIMIT_MAX 1000
#define LOG_REPLY_BYTES (8u * 1024 * 1024)
#define LOG_SCAN_MAX 100000 /* events looked at per request */

struct counts {
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n;
};

static void
count_one(void *arg, const char *source, unsigned status, uint64_t n)
{
	struct counts *c = arg;

	msgpack_pack_map(&c->pk, 3);
	msg_pack_kstr(&c->pk, "source", source);
	msg_pack_ku64(&c->pk, "status", status);
	msg_pack_ku64(&c->pk, "count", n);
	c->n++;
}

static void
plugin_one(void *arg, const struct plugin_ext_info *info)
{
	struct counts *c = arg;

	msgpack_pack_map(&c->pk, 4);
	msg_pack_kstr(&c->pk, "name", info->name);
	msg_pack_kstr(&c->pk, "state", info->state);
	msg_pack_kstr(&c->pk, "reason", info->reason);
	msg_pack_ku64(&c->pk, "restarts", info->restarts);
	c->n++;
}

int
op_stats(struct call *call)
{
	const struct control_env *e = call->env;
	struct store_stats ss;
	msgpack_packer *pk = &call->pk;
	int n = 0;

	if (store_get_stats(e->st, &ss) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ESTORE, "cannot read the store");
		return OP_DONE;
	}
	msgpack_pack_map(pk, 13);
	msg_pack_kbool(pk, "ok", 1);
	{
		struct counts c = {.n = 0};
		msgpack_sbuffer_init(&c.sb);
		msgpack_packer_init(&c.pk, &c.sb, msgpack_sbuffer_write);
		plugins_health(plugin_one, &c);
		msg_pack_cstr(pk, "plugins");
		msgpack_pack_array(pk, c.n);
		msgpack_sbuffer_write(call->sb, c.sb.data, c.sb.size);
		msgpack_sbuffer_destroy(&c.sb);
	}
	msg_pack_kstr(pk, "version", DOMINO_VERSION);
	msg_pack_ku64(pk, "trimmed_before", ss.trimmed_before);
	{
		struct retention_stats rs = {0};
		if (e->ret != NULL)
			retention_get_stats(e->ret, &rs);
		msg_pack_cstr(pk, "retention");
		msgpack_pack_map(pk, 3);
		msg_pack_ku64(pk, "trimmed", rs.trimmed);
		msg_pack_ku64(pk, "held_back", rs.held_back);
		msg_pack_ku64(pk, "held_by_seq", rs.held_by_seq);
	}
	{
		struct deliver_stats ds = {0};
		if (e->dl != NULL)
			deliver_get_stats(e->dl, &ds);
		msg_pack_cstr(pk, "deliveries");
		msgpack_pack_map(pk, 5);
		msg_pack_ku64(pk, "in_flight", ds.in_flight);
		msg_pack_ku64(pk, "dispatched", ds.dispatched);
		msg_pack_ku64(pk, "ok", ds.ok);
		msg_pack_ku64(pk, "retried", ds.retried);
		msg_pack_ku64(pk, "dead", ds.dead);
	}
	{
		struct counts c = {.n = 0};
		msgpack_sbuffer_init(&c.sb);
		msgpack_packer_init(&c.pk, &c.sb, msgpack_sbuffer_write);
		if (e->in != NULL)
			ingest_each_count(e->in, count_one, &c);
		msg_pack_cstr(pk, "ingest");
		msgpack_pack_array(pk, c.n);
		msgpack_sbuffer_write(call->sb, c.sb.data, c.sb.size);
		msgpack_sbuffer_destroy(&c.sb);
	}
	msg_pack_ku64(pk, "seq", ss.last_seq);
	msg_pack_ku64(pk, "first_seq", ss.first_seq);
	msg_pack_ku64(pk, "events", ss.events);
	msg_pack_ku64(pk, "uptime_ms",
	    (uint64_t)(clock_now_ns() - e->started_ns) / 1000000);
	msg_pack_cstr(pk, "listen");
	msgpack_pack_map(pk, 4);
	msg_pack_kstr(pk, "http", e->http);
	msg_pack_kstr(pk, "pub", e->pub);
	msg_pack_kstr(pk, "control", e->control);
	msg_pack_kstr(pk, "admin", e->admin);
	msg_pack_cstr(pk, "sources");
	for (int i = 0; i < SRC_COUNT; i++)
		n += e->cfg->sources[i].enabled;
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < SRC_COUNT; i++)
		if (e->cfg->sources[i].enabled)
			msg_pack_cstr(pk, config_source_name(i));
	return OP_DONE;
}



/* topic_filter_match() on a view, whose strings are not NUL-terminated. */
static int
view_matches(const struct topic_filter *f, const struct domino_event_view *ev)
{
	char repo[1024], ref[1024];

	if ((f->repo == NULL || f->repo[0] == '\0') && f->ref == NULL)
		return 1;
	/* Longer than any repo or ref the broker accepts. */
	if (ev->repo_len >= sizeof(repo) || ev->ref_len >= sizeof(ref))
		return 0;
	memcpy(repo, ev->repo, ev->repo_len);
	repo[ev->repo_len] = '\0';
	memcpy(ref, ev->ref, ev->ref_len);
	ref[ev->ref_len] = '\0';
	return topic_filter_match(f, repo, ref);
}

int
op_log(struct call *call)
{
	const struct control_env *e = call->env;
	uint64_t from = 1, limit = LOG_LIMIT_DEFAULT, seq, next, count = 0, first;
	int64_t since = INT64_MIN, until = INT64_MAX;
	int with_payload = 0, more = 0, rv, werr = 0;
	struct topic_filter f = {0};
	struct store_reader *r = NULL;
	msgpack_sbuffer *sb = call->sb;
	const void *data;
	size_t len, scanned = 0, start, next_at, more_at, count_at;
	char *ftext = NULL;

	if (arg_u64(call, "from", &from) || arg_u64(call, "limit", &limit) ||
	    arg_i64(call, "since", &since) || arg_i64(call, "until", &until))
		goto out;
	if (msg_bool(call->req, "payload", &with_payload) == DOMINO_EPROTO) {
		msg_error_reply(sb, DOMINO_EINVAL, "argument payload must be a boolean");
		goto out;
	}
	rv = msg_strdup(call->req, "filter", &ftext);
	if (rv == DOMINO_EPROTO || (rv == DOMINO_OK &&
	    topic_filter_parse(ftext, &f) != DOMINO_OK)) {
		msg_error_reply(sb, DOMINO_EINVAL,
		    "argument filter must be REPO[@REF], e.g. github.com/org/repo@refs/heads/main");
		goto out;
	}
	if (limit == 0 || limit > LOG_LIMIT_MAX)
		limit = limit == 0 ? LOG_LIMIT_DEFAULT : LOG_LIMIT_MAX;
	if (from == 0)
		from = 1;
	next = from;
	if (store_reader_open(e->st, &r) != DOMINO_OK) {
		msg_error_reply(sb, DOMINO_ESTORE, "cannot read the log");
		goto out;
	}
	/* The oldest seq still kept: a range below it was trimmed. */
	if (store_reader_seek(r, 0, &first, &data, &len) != DOMINO_OK)
		first = store_last_seq(e->st) + 1;
	/* The events go straight into the reply, under an array32 header
	 * whose count is filled in at the end, like next (a fixed-width
	 * uint64) and more; those come first, so a reader can ask for the
	 * next page before it reads the events. */
	werr |= msgpack_pack_map(&call->pk, 6 + (from < first));
	werr |= msg_pack_kbool(&call->pk, "ok", 1);
	werr |= msg_pack_ku64(&call->pk, "first", first);
	if (from < first) {
		/* Say which range is gone rather than skipping it silently. */
		werr |= msg_pack_cstr(&call->pk, "gone");
		werr |= msgpack_pack_array(&call->pk, 2);
		werr |= msgpack_pack_uint64(&call->pk, from);
		werr |= msgpack_pack_uint64(&call->pk, first - 1);
	}
	werr |= msg_pack_ku64(&call->pk, "last", store_last_seq(e->st));
	werr |= msg_pack_cstr(&call->pk, "next");
	next_at = sb->size;
	werr |= msgpack_sbuffer_write(sb, "\xcf\0\0\0\0\0\0\0\0", 9);
	werr |= msg_pack_cstr(&call->pk, "more");
	more_at = sb->size;
	werr |= msgpack_pack_false(&call->pk);
	werr |= msg_pack_cstr(&call->pk, "events");
	count_at = sb->size;
	werr |= msgpack_sbuffer_write(sb, "\xdd\0\0\0\0", 5);
	start = sb->size;
	rv = store_reader_seek(r, from, &seq, &data, &len);
	while (rv == DOMINO_OK && werr == 0) {
		struct domino_event_view ev;

		if (count >= limit || sb->size - start >= LOG_REPLY_BYTES ||
		    ++scanned > LOG_SCAN_MAX) {
			more = 1;
			break;
		}
		next = seq + 1;
		if (domino_event_view(data, len, &ev) != DOMINO_OK) {
			log_msg(LOG_ERROR, "control: undecodable event in the log seq=%llu",
			    (unsigned long long)seq);
		} else if (ev.time >= since && ev.time < until &&
		    view_matches(&f, &ev)) {
			/* The stored bytes as they are, or around the payload:
			 * no decode and re-encode per event. */
			if (with_payload || ev.payload_off == 0) {
				werr |= msgpack_sbuffer_write(sb, data, ev.len);
			} else {
				werr |= msgpack_pack_map(&call->pk,
				    (size_t)ev.n_keys - 1);
				werr |= msgpack_sbuffer_write(sb, (const char *)data +
				    ev.head_len, ev.payload_off - ev.head_len);
				werr |= msgpack_sbuffer_write(sb, (const char *)data +
				    ev.payload_off + ev.payload_span, ev.len -
				    ev.payload_off - ev.payload_span);
			}
			count++;
		}
		rv = store_reader_next(r, &seq, &data, &len);
	}
	if (werr != 0) {
		/* Out of memory a write was dropped: no half-patched reply. */
		msgpack_sbuffer_clear(sb);
		msg_error_reply(sb, DOMINO_ENOMEM, "out of memory building the reply");
		goto out;
	}
	for (int i = 0; i < 8; i++)
		sb->data[next_at + 1 + i] = (char)(next >> (56 - 8 * i));
	sb->data[more_at] = more ? (char)0xc3 : (char)0xc2;
	for (int i = 0; i < 4; i++)
		sb->data[count_at + 1 + i] = (char)(count >> (24 - 8 * i));
out:
	store_reader_close(r);
	topic_filter_clear(&f);
	free(ftext);
	return OP_DONE;
}

int
op_secret(struct call *call)
{
	const struct control_env *e = call->env;
	const char *s;
	size_t n;

	if (msg_str(call->req, "source", &s, &n) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "argument source (a string) is required");
		return OP_DONE;
	}
	for (int i = 0; i < SRC_COUNT; i++) {
		const struct source_config *sc = &e->cfg->sources[i];
		const char *name = config_source_name(i);
		if (strlen(name) != n || memcmp(name, s, n) != 0)
			continue;
		if (!sc->enabled)
			break;
		msgpack_pack_map(&call->pk, 2 + (sc->secret != NULL) + (sc->token != NULL));
		msg_pack_kbool(&call->pk, "ok", 1);
		msg_pack_kstr(&call->pk, "source", name);
		if (sc->secret != NULL)
			msg_pack_kstr(&call->pk, "secret", sc->secret);
		if (sc->token != NULL)
			msg_pack_kstr(&call->pk, "token", sc->token);
		return OP_DONE;
	}
	msg_error_reply(call->sb, DOMINO_ENOTFOUND,
	    "source %.*s is not enabled on this broker", (int)n, s);
	return OP_DONE;
}

/* A publish or ingest waiting for its commit: its events are a forge's
 * (ingest) or evs (publish). */
struct pending {
	struct call *call;
	struct forge_out out;
	struct domino_event *evs;
	size_t nevs;
	uint8_t *payload;
};

static void
pending_free(struct pending *p)
{
	forge_out_clear(&p->out);
	for (size_t i = 0; i < p->nevs; i++)
		domino_event_clear(&p->evs[i]);
	free(p->evs);
	free(p->payload);
	free(p);
}

static void
publish_done(struct writer_events *we, int status)
{
	struct pending *p = we->arg;
	struct call *call = p->call;
	msgpack_packer *pk = &call->pk;
	int all_dup = 1;

	if (status != DOMINO_OK) {
		msg_error_reply(call->sb, status == DOMINO_EUNAVAIL ?
		    DOMINO_EUNAVAIL : DOMINO_ESTORE,
		    "the event could not be stored (%s); it was not accepted",
		    domino_strerror(status));
	} else {
		for (size_t i = 0; i < we->n; i++)
			all_dup &= we->ev[i].dup;
		msgpack_pack_map(pk, 5);
		msg_pack_kbool(pk, "ok", 1);
		msg_pack_ku64(pk, "seq", we->ev[0].seq);
		msg_pack_kstr(pk, "id", we->ev[0].id);
		msg_pack_kbool(pk, "duplicate", all_dup);
		msg_pack_cstr(pk, "events");
		msgpack_pack_array(pk, we->n);
		for (size_t i = 0; i < we->n; i++) {
			msgpack_pack_map(pk, 3);
			msg_pack_ku64(pk, "seq", we->ev[i].seq);
			msg_pack_kstr(pk, "id", we->ev[i].id);
			msg_pack_kbool(pk, "duplicate", we->ev[i].dup);
			log_msg(LOG_INFO, "control: %s seq=%llu source=%s repo=%s id=\"%.64s\"",
			    we->ev[i].dup ? "duplicate" : "stored",
			    (unsigned long long)we->ev[i].seq, we->ev[i].source,
			    we->ev[i].repo, we->ev[i].id);
		}
	}
	prepare_free(we);
	pending_free(p);
	call_finish(call);
}

/* Queue p->out's events; answers and frees p on failure. */
static int
submit_pending(struct pending *p, const char *source)
{
	struct call *call = p->call;
	struct writer_events *we;
	char msg[256];
	int rv;

	rv = prepare_events(p->evs ? p->evs : p->out.ev,
	    p->evs ? p->nevs : p->out.n, source, p->payload,
	    p->payload ? strlen((char *)p->payload) : 0, &we, msg, sizeof(msg));
	if (rv != DOMINO_OK) {
		msg_error_reply(call->sb, rv, "%s", msg);
		pending_free(p);
		return OP_DONE;
	}
	we->done = publish_done;
	we->arg = p;
	if (writer_submit_events(call->env->w, we) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_EUNAVAIL,
		    "the broker is busy or shutting down; retry later");
		prepare_free(we);
		pending_free(p);
		return OP_DONE;
	}
	return OP_PENDING;
}

/* Events in one publish request (domino.h's DOMINO_PUBLISH_MAX). */
#define PUBLISH_BATCH_MAX 1000

static const char *const event_types[] = {
	"push", "ref.create", "ref.delete", "tag", "pr.open", "pr.update",
	"pr.merge", "pr.close", "change.patchset", "change.merged", "release",
	"ping", "other", NULL,
};

/*
 * Read one hand-made event from map m into ev. On a refusal, the reason
 * (naming the argument, prefixed with where) is in err.
 */
static int
read_published(const msgpack_object *m, struct domino_event *ev,
    const char *where, char *err, size_t cap)
{
	static const char *const fields[] = {"repo", "ref", "type", "before",
	    "after", "actor", "url", "id", "event"};
	char **dst[9];
	const msgpack_object *deps;
	int known = 0;

	if (m->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, cap, "%sthe event must be a map", where);
		return DOMINO_EINVAL;
	}
	dst[0] = &ev->repo; dst[1] = &ev->ref; dst[2] = &ev->type;
	dst[3] = &ev->before; dst[4] = &ev->after; dst[5] = &ev->actor;
	dst[6] = &ev->url; dst[7] = &ev->id; dst[8] = &ev->event;
	for (size_t i = 0; i < 9; i++) {
		int rv = msg_strdup(m, fields[i], dst[i]);
		if (rv == DOMINO_ENOMEM)
			return rv;
		if (rv == DOMINO_EPROTO) {
			snprintf(err, cap, "%sargument %s must be a string",
			    where, fields[i]);
			return DOMINO_EINVAL;
		}
	}
	if (ev->repo == NULL || ev->repo[0] == '\0' ||
	    strchr(ev->repo, '/') == NULL || strstr(ev->repo, "://") != NULL) {
		snprintf(err, cap, "%sargument repo is required as "
		    "host/owner/name, e.g. github.com/org/core", where);
		return DOMINO_EINVAL;
	}
	if (ev->type == NULL && domino_event_set(&ev->type, "push", 4) != 0)
		return DOMINO_ENOMEM;
	for (size_t i = 0; event_types[i] != NULL; i++)
		known |= strcmp(ev->type, event_types[i]) == 0;
	if (!known) {
		snprintf(err, cap, "%sunknown type %.64s; use push, ref.create, "
		    "ref.delete, tag, pr.open, pr.update, pr.merge, pr.close, "
		    "change.patchset, change.merged, release, ping or other",
		    where, ev->type);
		return DOMINO_EINVAL;
	}
	if (ev->event == NULL && domino_event_set(&ev->event, "publish", 7) != 0)
		return DOMINO_ENOMEM;
	if (ev->ref != NULL && ev->ref[0] != '\0' && strncmp(ev->ref, "refs/", 5) != 0) {
		/* A short branch name, as people type it. */
		char *full = NULL;
		if (asprintf(&full, "refs/heads/%s", ev->ref) < 0)
			return DOMINO_ENOMEM;
		free(ev->ref);
		ev->ref = full;
	}
	deps = msg_get(m, "depends_on");
	if (deps != NULL && deps->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < deps->via.array.size; i++) {
			const msgpack_object *d = &deps->via.array.ptr[i];
			char *s;
			int rv;
			if (d->type != MSGPACK_OBJECT_STR)
				continue;
			if ((s = strndup(d->via.str.ptr, d->via.str.size)) == NULL)
				return DOMINO_ENOMEM;
			rv = domino_event_add_depends_on(ev, s);
			free(s);
			if (rv != 0)
				return DOMINO_ENOMEM;
		}
	}
	return DOMINO_OK;
}

/*
 * publish {repo, ref?, type?, before?, after?, actor?, url?, id?, event?,
 * depends_on?}: a hand-made event with source "generic". Or publish
 * {events: [{repo, ...}, ...]}: up to PUBLISH_BATCH_MAX of them, stored in
 * one transaction (all or none) and answered once.
 */
int
op_publish(struct call *call)
{
	const msgpack_object *list = msg_get(call->req, "events");
	struct pending *p;
	char err[512], where[48] = "";
	size_t n = 1;
	int rv = DOMINO_OK;

	if (list != NULL && (list->type != MSGPACK_OBJECT_ARRAY ||
	    list->via.array.size == 0 ||
	    list->via.array.size > PUBLISH_BATCH_MAX)) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "argument events must "
		    "be a list of 1 to %d events", PUBLISH_BATCH_MAX);
		return OP_DONE;
	}
	if (list != NULL)
		n = list->via.array.size;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->evs = calloc(n, sizeof(*p->evs))) == NULL) {
		free(p);
		msg_error_reply(call->sb, DOMINO_ENOMEM, "out of memory");
		return OP_DONE;
	}
	p->call = call;
	p->nevs = n;
	for (size_t i = 0; rv == DOMINO_OK && i < n; i++) {
		if (list != NULL)
			snprintf(where, sizeof(where), "events[%zu]: ", i);
		rv = read_published(list != NULL ? &list->via.array.ptr[i] :
		    call->req, &p->evs[i], where, err, sizeof(err));
	}
	if (rv != DOMINO_OK) {
		if (rv == DOMINO_ENOMEM)
			msg_error_reply(call->sb, rv, "out of memory");
		else
			msg_error_reply(call->sb, rv, "%s", err);
		pending_free(p);
		return OP_DONE;
	}
	return submit_pending(p, "generic");
}

struct hdr_ctx {
	const msgpack_object *headers;
	char buf[8][512];
	int used;
};

static const char *
hdr_get(void *arg, const char *name)
{
	struct hdr_ctx *h = arg;
	const msgpack_object *m = h->headers;

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP || h->used >= 8)
		return NULL;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		const msgpack_object *v = &m->via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR || v->type != MSGPACK_OBJECT_STR ||
		    k->via.str.size != strlen(name) ||
		    strncasecmp(k->via.str.ptr, name, k->via.str.size) != 0 ||
		    v->via.str.size >= sizeof(h->buf[0]))
			continue;
		memcpy(h->buf[h->used], v->via.str.ptr, v->via.str.size);
		h->buf[h->used][v->via.str.size] = '\0';
		return h->buf[h->used++];
	}
	return NULL;
}

/*
 * ingest {source, body, headers?}: run a forge's normalizer on a body that
 * did not come over HTTP (Gerrit stream-events lines). The admin token
 * authenticates it, so no signature is checked.
 */
int
op_ingest(struct call *call)
{
	const struct forge_ops *forge;
	struct hdr_ctx hc = {0};
	struct forge_err fe = {0};
	struct pending *p;
	const msgpack_object *body;
	char name[32];
	const char *s;
	size_t n;

	if (msg_str(call->req, "source", &s, &n) != DOMINO_OK || n >= sizeof(name)) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "argument source (a forge name) is required");
		return OP_DONE;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	if ((forge = forge_find(name)) == NULL) {
		msg_error_reply(call->sb, DOMINO_ENOTFOUND, "no forge named %s", name);
		return OP_DONE;
	}
	body = msg_get(call->req, "body");
	if (body == NULL || (body->type != MSGPACK_OBJECT_BIN &&
	    body->type != MSGPACK_OBJECT_STR)) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "argument body (bin or str) is required");
		return OP_DONE;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		msg_error_reply(call->sb, DOMINO_ENOMEM, "out of memory");
		return OP_DONE;
	}
	p->call = call;
	n = body->type == MSGPACK_OBJECT_BIN ? body->via.bin.size : body->via.str.size;
	if ((p->payload = malloc(n + 1)) == NULL) {
		pending_free(p);
		msg_error_reply(call->sb, DOMINO_ENOMEM, "out of memory");
		return OP_DONE;
	}
	memcpy(p->payload, body->type == MSGPACK_OBJECT_BIN ? body->via.bin.ptr :
	    body->via.str.ptr, n);
	p->payload[n] = '\0';
	hc.headers = msg_get(call->req, "headers");
	{
		struct forge_req fr = {
			.method = "POST",
			.content_type = "application/json",
			.body = p->payload,
			.len = n,
			.header = hdr_get,
			.ctx = &hc,
		};
		if (forge->normalize(&fr, &p->out, &fe) != 0 || p->out.n == 0) {
			msg_error_reply(call->sb, DOMINO_EINVAL, "%s",
			    p->out.n == 0 && fe.msg[0] == '\0' ?
			    "the body carries no event" : fe.msg);
			pending_free(p);
			return OP_DONE;
		}
	}
	if (memchr(p->payload, '\0', n) != NULL) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "the body contains a NUL byte");
		pending_free(p);
		return OP_DONE;
	}
	return submit_pending(p, forge->name);
}

#define CURSOR_NAME_MAX 128

static int
arg_cursor(struct call *call, char *name)
{
	const char *s;
	size_t n;

	if (msg_str(call->req, "name", &s, &n) != DOMINO_OK || n == 0 ||
	    n > CURSOR_NAME_MAX) {
		msg_error_reply(call->sb, DOMINO_EINVAL,
		    "argument name (a cursor name, 1-128 bytes) is required");
		return -1;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	return 0;
}

struct ack_cmd {
	struct wcmd cmd;
	struct call *call;
	char name[CURSOR_NAME_MAX + 1];
	uint64_t seq, now_at;
};

static int
ack_apply(struct wcmd *c, struct store_wtxn *t)
{
	struct ack_cmd *a = (struct ack_cmd *)c;
	uint64_t old = 0;
	int rv = store_cursor_get(store_wtxn_view(t), a->name, &old);

	if (rv != DOMINO_OK && rv != DOMINO_ENOTFOUND)
		return rv;
	/* A cursor only moves forward: a late or repeated ack is harmless. */
	a->now_at = a->seq > old ? a->seq : old;
	if (rv == DOMINO_ENOTFOUND || a->seq > old)
		return store_cursor_put(t, a->name, a->now_at);
	return DOMINO_OK;
}

static void
ack_committed(struct wcmd *c, int status)
{
	struct ack_cmd *a = (struct ack_cmd *)c;
	struct call *call = a->call;

	if (status != DOMINO_OK) {
		msg_error_reply(call->sb, status, "the ack could not be stored (%s)",
		    domino_strerror(status));
	} else {
		msgpack_pack_map(&call->pk, 3);
		msg_pack_kbool(&call->pk, "ok", 1);
		msg_pack_kstr(&call->pk, "name", a->name);
		msg_pack_ku64(&call->pk, "seq", a->now_at);
	}
	free(a);
	call_finish(call);
}

int
op_ack(struct call *call)
{
	struct ack_cmd *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		msg_error_reply(call->sb, DOMINO_ENOMEM, "out of memory");
		return OP_DONE;
	}
	if (arg_cursor(call, a->name) != 0 || arg_u64(call, "seq", &a->seq) != 0) {
		free(a);
		return OP_DONE;
	}
	if (a->seq > store_last_seq(call->env->st)) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "seq %llu is past the end "
		    "of the log (%llu)", (unsigned long long)a->seq,
		    (unsigned long long)store_last_seq(call->env->st));
		free(a);
		return OP_DONE;
	}
	a->call = call;
	a->cmd.apply = ack_apply;
	a->cmd.committed = ack_committed;
	if (writer_submit(call->env->w, &a->cmd) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_EUNAVAIL,
		    "the broker is busy or shutting down; retry later");
		free(a);
		return OP_DONE;
	}
	return OP_PENDING;
}

int
op_cursor(struct call *call)
{
	char name[CURSOR_NAME_MAX + 1];
	struct store_reader *r;
	uint64_t seq = 0;
	int rv;

	if (arg_cursor(call, name) != 0)
		return OP_DONE;
	if (store_reader_open(call->env->st, &r) != DOMINO_OK) {
		msg_error_reply(call->sb, DOMINO_ESTORE, "cannot read the store");
		return OP_DONE;
	}
	rv = store_cursor_get(store_reader_view(r), name, &seq);
	store_reader_close(r);
	if (rv == DOMINO_ENOTFOUND) {
		msg_error_reply(call->sb, DOMINO_ENOTFOUND, "no durable consumer "
		    "named %s (it is created by its first ack)", name);
		return OP_DONE;
	}
	if (rv != DOMINO_OK) {
		msg_error_reply(call->sb, rv, "cannot read the cursor");
		return OP_DONE;
	}
	msgpack_pack_map(&call->pk, 4);
	msg_pack_kbool(&call->pk, "ok", 1);
	msg_pack_kstr(&call->pk, "name", name);
	msg_pack_ku64(&call->pk, "seq", seq);
	msg_pack_ku64(&call->pk, "last", store_last_seq(call->env->st));
	return OP_DONE;
}
