/* SPDX-License-Identifier: MIT */
/*
 * The operator and listener operations of libdomino on deliveries
 * (proto/README.md, "Deliveries"): retry, resolve, enable/disable, report
 * and results. Each is one request; the broker commits the change before
 * it answers and keeps who did it in the delivery's history. Only what is
 * needed to form a request is checked here (the status word of a report,
 * so a CI typo fails before it reaches the network); the broker validates
 * the rest. results answers JSON text, as its maps are open ended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "domino.h"
#include "err.h"
#include "json.h"
#include "msg.h"

static int
set(const char *s)
{
	return s != NULL && *s != '\0';
}

/* Send sb (destroyed here) and read `changed` from the reply. */
static int
call_changed(domino *d, msgpack_sbuffer *sb, uint64_t *changed)
{
	struct conn_reply r;
	uint64_t n = 0;
	int rv;

	rv = conn_rpc(d, sb, &r);
	msgpack_sbuffer_destroy(sb);
	if (rv != DOMINO_OK)
		return conn_err_default(rv);
	rv = msg_u64(r.root, "changed", &n);
	conn_reply_free(&r);
	if (rv != DOMINO_OK)
		return conn_err(DOMINO_EPROTO, "the broker's reply lacks changed");
	if (changed != NULL)
		*changed = n;
	return DOMINO_OK;
}

static void
req_init(msgpack_sbuffer *sb, msgpack_packer *pk)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
}

int
domino_retry(domino *d, const char *listener, uint64_t seq,
    uint64_t *changed)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	conn_err_clear();
	if (changed != NULL)
		*changed = 0;
	if (d == NULL || !set(listener))
		return conn_err(DOMINO_EINVAL, "retry needs a listener");
	req_init(&sb, &pk);
	conn_req_begin(d, &pk, "retry", 2);
	msg_pack_kstr(&pk, "listener", listener);
	if (seq != 0)
		msg_pack_ku64(&pk, "seq", seq);
	else
		msg_pack_kbool(&pk, "all_dead", 1);
	return call_changed(d, &sb, changed);
}

int
domino_resolve(domino *d, const char *listener, uint64_t seq,
    const char *reason, uint64_t *changed)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	conn_err_clear();
	if (changed != NULL)
		*changed = 0;
	if (d == NULL || !set(listener) || seq == 0)
		return conn_err(DOMINO_EINVAL, "resolve needs a listener and a seq");
	if (!set(reason))
		return conn_err(DOMINO_EINVAL, "resolve needs a reason (why "
		    "the delivery is done by hand)");
	req_init(&sb, &pk);
	conn_req_begin(d, &pk, "resolve", 3);
	msg_pack_kstr(&pk, "listener", listener);
	msg_pack_ku64(&pk, "seq", seq);
	msg_pack_kstr(&pk, "reason", reason);
	return call_changed(d, &sb, changed);
}

int
domino_enable(domino *d, const char *name, int enable, uint64_t *changed)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	conn_err_clear();
	if (changed != NULL)
		*changed = 0;
	if (d == NULL || !set(name))
		return conn_err(DOMINO_EINVAL, "%s needs a listener name",
		    enable ? "enable" : "disable");
	req_init(&sb, &pk);
	conn_req_begin(d, &pk, enable ? "enable" : "disable", 1);
	msg_pack_kstr(&pk, "name", name);
	return call_changed(d, &sb, changed);
}

int
domino_report(domino *d, const char *listener, uint64_t seq,
    const char *status, const char *url, const char *detail)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	conn_err_clear();
	if (d == NULL || !set(listener) || seq == 0)
		return conn_err(DOMINO_EINVAL, "report needs a listener and a seq");
	if (status == NULL || (strcmp(status, "pass") != 0 &&
	    strcmp(status, "fail") != 0 && strcmp(status, "error") != 0))
		return conn_err(DOMINO_EINVAL, "status: use pass, fail or error, "
		    "not '%s'", status != NULL ? status : "");
	req_init(&sb, &pk);
	conn_req_begin(d, &pk, "report", 3 + set(url) + set(detail));
	msg_pack_kstr(&pk, "listener", listener);
	msg_pack_ku64(&pk, "seq", seq);
	msg_pack_kstr(&pk, "status", status);
	if (set(url))
		msg_pack_kstr(&pk, "url", url);
	if (set(detail))
		msg_pack_kstr(&pk, "detail", detail);
	return call_changed(d, &sb, NULL);
}

/* The reply map without its `ok` as one JSON object. */
static int
reply_json(const msgpack_object *root, char **json)
{
	const msgpack_object_map *m = &root->via.map;
	char *buf = NULL;
	size_t blen = 0;
	int first = 1;
	FILE *f = open_memstream(&buf, &blen);

	if (f == NULL)
		return conn_err(DOMINO_ENOMEM, "out of memory");
	fputc('{', f);
	for (uint32_t i = 0; i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key;

		if (k->type != MSGPACK_OBJECT_STR || (k->via.str.size == 2 &&
		    memcmp(k->via.str.ptr, "ok", 2) == 0))
			continue;
		if (!first)
			fputc(',', f);
		first = 0;
		json_put_str(f, k->via.str.ptr, k->via.str.size);
		fputc(':', f);
		json_put_object(f, &m->ptr[i].val, 0);
	}
	fputc('}', f);
	if (json_finish(f, &buf, &blen, json) != DOMINO_OK)
		return conn_err(DOMINO_ENOMEM, "out of memory");
	return DOMINO_OK;
}

int
domino_results(domino *d, const char *listener, uint64_t seq, char **json)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn_reply r;
	const char *key;
	const msgpack_object *v;
	int rv;

	conn_err_clear();
	if (json != NULL)
		*json = NULL;
	if (d == NULL || json == NULL)
		return conn_err(DOMINO_EINVAL, "domino_results: invalid argument");
	if (!set(listener) && seq == 0)
		return conn_err(DOMINO_EINVAL, "results needs a seq (an upstream "
		    "event) or a listener");
	req_init(&sb, &pk);
	conn_req_begin(d, &pk, "results", 1);
	if (set(listener))
		msg_pack_kstr(&pk, "listener", listener);
	else
		msg_pack_ku64(&pk, "seq", seq);
	rv = conn_rpc(d, &sb, &r);
	msgpack_sbuffer_destroy(&sb);
	if (rv != DOMINO_OK)
		return conn_err_default(rv);
	key = set(listener) ? "dependencies" : "listeners";
	v = msg_get(r.root, key);
	if (v == NULL || v->type != MSGPACK_OBJECT_ARRAY)
		rv = conn_err(DOMINO_EPROTO, "the broker's results reply lacks %s",
		    key);
	else
		rv = reply_json(r.root, json);
	conn_reply_free(&r);
	return rv;
}
