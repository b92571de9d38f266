/* SPDX-License-Identifier: MIT */
/*
 * Durable consumers and operator re-delivery in libdomino: the `cursor`,
 * `ack` and `replay` control operations (proto/README.md). Requests are
 * built and replies read here; batching acks of a subscription is sub.c's
 * job, and showing progress is the caller's (domino_replay() only reports
 * running totals).
 */
#include <string.h>

#include "conn.h"
#include "domino.h"
#include "err.h"
#include "msg.h"

#define CURSOR_NAME_MAX 128

static int
check_name(const char *name, const char *fn)
{
	if (name == NULL || *name == '\0' || strlen(name) > CURSOR_NAME_MAX)
		return conn_err(DOMINO_EINVAL, "%s: a consumer name of 1 to %d "
		    "bytes is needed", fn, CURSOR_NAME_MAX);
	return DOMINO_OK;
}

int
domino_cursor(domino *d, const char *name, uint64_t *seq)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn_reply r;
	int rv;

	conn_err_clear();
	if (seq != NULL)
		*seq = 0;
	if (d == NULL || seq == NULL)
		return conn_err(DOMINO_EINVAL, "domino_cursor: invalid argument");
	rv = check_name(name, "domino_cursor");
	if (rv != DOMINO_OK)
		return rv;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "cursor", 1);
	msg_pack_kstr(&pk, "name", name);
	rv = conn_rpc(d, &sb, &r);
	if (rv != DOMINO_OK)
		goto out;
	rv = msg_u64(r.root, "seq", seq);
	conn_reply_free(&r);
	if (rv != DOMINO_OK) {
		*seq = 0;
		rv = conn_err(DOMINO_EPROTO, "malformed cursor reply from the "
		    "broker");
	}
out:
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}

int
domino_ack(domino *d, const char *name, uint64_t seq)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn_reply r;
	int rv;

	conn_err_clear();
	if (d == NULL)
		return conn_err(DOMINO_EINVAL, "domino_ack: invalid argument");
	rv = check_name(name, "domino_ack");
	if (rv != DOMINO_OK)
		return rv;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "ack", 2);
	msg_pack_kstr(&pk, "name", name);
	msg_pack_ku64(&pk, "seq", seq);
	rv = conn_rpc(d, &sb, &r);
	if (rv == DOMINO_OK)
		conn_reply_free(&r);
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}

/* Which part of [from, ...] retention trimmed, asked with a one-event
 * `log` request (the `replay` answer does not say). */
static int
probe_gone(domino *d, uint64_t from, struct domino_replay_result *out)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn_reply r;
	const msgpack_object *g;
	int rv;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "log", 2);
	msg_pack_ku64(&pk, "from", from);
	msg_pack_ku64(&pk, "limit", 1);
	rv = conn_rpc(d, &sb, &r);
	if (rv != DOMINO_OK)
		goto out;
	if (msg_u64(r.root, "first", &out->first) != DOMINO_OK)
		out->first = 0;
	g = msg_get(r.root, "gone");
	if (g != NULL && g->type == MSGPACK_OBJECT_ARRAY &&
	    g->via.array.size == 2 &&
	    g->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    g->via.array.ptr[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		out->gone_from = g->via.array.ptr[0].via.u64;
		out->gone_to = g->via.array.ptr[1].via.u64;
	}
	conn_reply_free(&r);
out:
	msgpack_sbuffer_destroy(&sb);
	return rv;
}

static void
pack_replay(const domino *d, msgpack_sbuffer *sb,
    const struct domino_replay_query *q, uint64_t from)
{
	msgpack_packer pk;
	size_t n = 2;

	n += q->to != 0;
	n += q->since != 0;
	n += q->until != 0;
	n += q->force != 0;
	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "replay", n);
	msg_pack_kstr(&pk, "listener", q->listener);
	msg_pack_ku64(&pk, "from", from);
	if (q->to != 0)
		msg_pack_ku64(&pk, "to", q->to);
	if (q->since != 0)
		msg_pack_ki64(&pk, "since", q->since);
	if (q->until != 0)
		msg_pack_ki64(&pk, "until", q->until);
	if (q->force)
		msg_pack_kbool(&pk, "force", 1);
}

int
domino_replay(domino *d, const struct domino_replay_query *q,
    int (*progress)(void *arg, const struct domino_replay_result *r),
    void *arg, struct domino_replay_result *out)
{
	msgpack_sbuffer sb;
	struct conn_reply r;
	uint64_t from;
	int rv = DOMINO_OK;

	conn_err_clear();
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (d == NULL || q == NULL || out == NULL || q->listener == NULL ||
	    *q->listener == '\0')
		return conn_err(DOMINO_EINVAL,
		    "domino_replay: a listener is needed");
	from = q->from ? q->from : 1;
	out->next = from;
	out->more = 1;
	msgpack_sbuffer_init(&sb);
	rv = probe_gone(d, from, out);
	if (rv != DOMINO_OK)
		goto out;
	if (progress != NULL && progress(arg, out) != 0)
		goto out;
	for (;;) {
		uint64_t c = 0, s = 0, n = 0, next = 0, last = 0;
		int more = 0;

		pack_replay(d, &sb, q, from);
		rv = conn_rpc(d, &sb, &r);
		if (rv != DOMINO_OK)
			break;
		if (msg_u64(r.root, "next", &next) != DOMINO_OK ||
		    msg_bool(r.root, "more", &more) != DOMINO_OK) {
			conn_reply_free(&r);
			rv = conn_err(DOMINO_EPROTO,
			    "malformed replay reply from the broker");
			break;
		}
		/* Counts a broker leaves out are zero. */
		msg_u64(r.root, "created", &c);
		msg_u64(r.root, "skipped", &s);
		msg_u64(r.root, "scanned", &n);
		msg_u64(r.root, "last", &last);
		conn_reply_free(&r);
		out->created += c;
		out->skipped += s;
		out->scanned += n;
		out->last = last;
		out->more = more;
		if (next > out->next)
			out->next = next;
		if (more && next <= from) {
			rv = conn_err(DOMINO_EPROTO,
			    "replay reply says more but does not advance");
			break;
		}
		from = next;
		if (progress != NULL && progress(arg, out) != 0)
			break;
		if (!more)
			break;
	}
out:
	msgpack_sbuffer_destroy(&sb);
	return conn_err_default(rv);
}
