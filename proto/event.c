/* SPDX-License-Identifier: MIT */
/*
 * Event codec. Encoding writes a map16 with "seq" first as a fixed-width
 * uint64 so the writer can assign the seq in place; decoding accepts any
 * valid msgpack layout and key order and skips unknown keys.
 */
#include <msgpack.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "err.h"
#include "event.h"

void
domino_event_init(struct domino_event *ev)
{
	memset(ev, 0, sizeof(*ev));
}

static void
free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
domino_event_clear(struct domino_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->id);
	free(ev->source);
	free(ev->event);
	free(ev->type);
	free(ev->repo);
	free(ev->ref);
	free(ev->before);
	free(ev->after);
	free(ev->actor);
	free(ev->url);
	free_list(ev->depends_on, ev->n_depends_on);
	free_list(ev->via, ev->n_via);
	for (size_t i = 0; i < ev->n_headers; i++) {
		free(ev->headers[i].name);
		free(ev->headers[i].value);
	}
	free(ev->headers);
	free(ev->payload);
	memset(ev, 0, sizeof(*ev));
}

int
domino_event_set(char **member, const char *s, size_t n)
{
	char *c = NULL;

	if (s != NULL) {
		if (n == (size_t)-1)
			n = strlen(s);
		if ((c = malloc(n + 1)) == NULL)
			return DOMINO_ENOMEM;
		memcpy(c, s, n);
		c[n] = '\0';
	}
	free(*member);
	*member = c;
	return DOMINO_OK;
}

static int
list_add(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));
	char *c = NULL;

	if (nv == NULL)
		return DOMINO_ENOMEM;
	*v = nv;
	if (domino_event_set(&c, s, len) != DOMINO_OK)
		return DOMINO_ENOMEM;
	nv[(*n)++] = c;
	return DOMINO_OK;
}

int
domino_event_add_depends_on(struct domino_event *ev, const char *ref)
{
	return list_add(&ev->depends_on, &ev->n_depends_on, ref, (size_t)-1);
}

int
domino_event_add_via(struct domino_event *ev, const char *repo)
{
	return list_add(&ev->via, &ev->n_via, repo, (size_t)-1);
}

static int
header_add(struct domino_event *ev, const char *name, size_t nlen,
    const char *value, size_t vlen)
{
	struct domino_header *h;
	char *n = NULL, *v = NULL;

	h = realloc(ev->headers, (ev->n_headers + 1) * sizeof(*h));
	if (h == NULL)
		return DOMINO_ENOMEM;
	ev->headers = h;
	if (domino_event_set(&n, name, nlen) != DOMINO_OK ||
	    domino_event_set(&v, value, vlen) != DOMINO_OK) {
		free(n);
		return DOMINO_ENOMEM;
	}
	h[ev->n_headers].name = n;
	h[ev->n_headers].value = v;
	ev->n_headers++;
	return DOMINO_OK;
}

int
domino_event_add_header(struct domino_event *ev, const char *name,
    const char *value)
{
	return header_add(ev, name, (size_t)-1, value ? value : "", (size_t)-1);
}

const char *
domino_event_header(const struct domino_event *ev, const char *name)
{
	for (size_t i = 0; i < ev->n_headers; i++)
		if (strcasecmp(ev->headers[i].name, name) == 0)
			return ev->headers[i].value;
	return NULL;
}

/* Packing helpers. msgpack-c's pack functions only fail on a write error,
 * and the sbuffer write only fails on ENOMEM, so the status is OR-ed. */
static int
pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

static int
pack_kv(msgpack_packer *pk, const char *k, const char *v)
{
	return pack_str(pk, k) | pack_str(pk, v);
}

static int
pack_list(msgpack_packer *pk, const char *k, char **v, size_t n)
{
	int rv = pack_str(pk, k) | msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		rv |= pack_str(pk, v[i]);
	return rv;
}

static int
pack_fixed_u64(msgpack_packer *pk, uint64_t v)
{
	unsigned char b[9];

	b[0] = 0xcf;
	for (int i = 0; i < 8; i++)
		b[1 + i] = (unsigned char)(v >> (56 - 8 * i));
	return pk->callback(pk->data, (const char *)b, sizeof(b));
}

int
event_pack(msgpack_packer *pk, const struct domino_event *ev, int with_payload)
{
	const char *strs[][2] = {
		{"id", ev->id}, {"source", ev->source}, {"event", ev->event},
		{"type", ev->type}, {"repo", ev->repo}, {"ref", ev->ref},
		{"before", ev->before}, {"after", ev->after},
		{"actor", ev->actor}, {"url", ev->url},
	};
	size_t n = 3; /* seq, v, time */
	int rv;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		n += strs[i][1] != NULL;
	n += ev->n_depends_on > 0;
	n += ev->n_via > 0;
	n += ev->n_headers > 0;
	n += with_payload && ev->payload != NULL;

	/* Always map16, so "seq" sits at a fixed offset. */
	{
		unsigned char h[3] = {0xde, (unsigned char)(n >> 8),
		    (unsigned char)n};
		rv = pk->callback(pk->data, (const char *)h, 3);
	}
	rv |= pack_str(pk, "seq") | pack_fixed_u64(pk, ev->seq);
	rv |= pack_str(pk, "v") | msgpack_pack_uint8(pk, DOMINO_EVENT_VERSION);
	rv |= pack_str(pk, "time") | msgpack_pack_int64(pk, ev->time);
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (strs[i][1] != NULL)
			rv |= pack_kv(pk, strs[i][0], strs[i][1]);
	if (ev->n_depends_on > 0)
		rv |= pack_list(pk, "depends_on", ev->depends_on,
		    ev->n_depends_on);
	if (ev->n_via > 0)
		rv |= pack_list(pk, "via", ev->via, ev->n_via);
	if (ev->n_headers > 0) {
		rv |= pack_str(pk, "headers") | msgpack_pack_map(pk, ev->n_headers);
		for (size_t i = 0; i < ev->n_headers; i++)
			rv |= pack_kv(pk, ev->headers[i].name,
			    ev->headers[i].value);
	}
	if (with_payload && ev->payload != NULL)
		rv |= pack_str(pk, "payload") |
		    msgpack_pack_bin(pk, ev->payload_len) |
		    msgpack_pack_bin_body(pk, ev->payload, ev->payload_len);
	return rv == 0 ? DOMINO_OK : DOMINO_ENOMEM;
}

int
domino_event_encode(const struct domino_event *ev, char **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rv = event_pack(&pk, ev, 1);
	if (rv != DOMINO_OK) {
		msgpack_sbuffer_destroy(&sb);
		return rv;
	}
	/* release() zeroes sb.size, so read it first. */
	*len = sb.size;
	*buf = msgpack_sbuffer_release(&sb);
	return DOMINO_OK;
}

void
domino_event_patch_seq(char *buf, size_t len, uint64_t seq)
{
	if (len < DOMINO_EVENT_SEQ_OFFSET + 8)
		return;
	for (int i = 0; i < 8; i++)
		buf[DOMINO_EVENT_SEQ_OFFSET + i] = (char)(seq >> (56 - 8 * i));
}

/* The string members, by key. */
static char **
str_member(struct domino_event *ev, const char *k, size_t n)
{
	static const struct {
		const char *key;
		size_t off;
	} members[] = {
		{"id", offsetof(struct domino_event, id)},
		{"source", offsetof(struct domino_event, source)},
		{"event", offsetof(struct domino_event, event)},
		{"type", offsetof(struct domino_event, type)},
		{"repo", offsetof(struct domino_event, repo)},
		{"ref", offsetof(struct domino_event, ref)},
		{"before", offsetof(struct domino_event, before)},
		{"after", offsetof(struct domino_event, after)},
		{"actor", offsetof(struct domino_event, actor)},
		{"url", offsetof(struct domino_event, url)},
	};

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (mp_rd_is(k, n, members[i].key))
			return (char **)((char *)ev + members[i].off);
	return NULL;
}

/* An array of strings, appended to the list v of n. */
static int
read_list(struct mp_rd *r, char ***v, size_t *n)
{
	uint64_t c;

	if (mp_rd_array(r, &c) != 0)
		return DOMINO_EPROTO;
	for (uint64_t i = 0; i < c; i++) {
		const char *s;
		size_t sn;
		if (mp_rd_str(r, &s, &sn) != 0)
			return DOMINO_EPROTO;
		if (list_add(v, n, s, sn) != 0)
			return DOMINO_ENOMEM;
	}
	return DOMINO_OK;
}

static int
read_headers(struct mp_rd *r, struct domino_event *out)
{
	uint64_t c;

	if (mp_rd_map(r, &c) != 0)
		return DOMINO_EPROTO;
	for (uint64_t i = 0; i < c; i++) {
		const char *k, *v;
		size_t kn, vn;
		int rv;
		if (mp_rd_str(r, &k, &kn) != 0 || mp_rd_str(r, &v, &vn) != 0)
			return DOMINO_EPROTO;
		if ((rv = header_add(out, k, kn, v, vn)) != DOMINO_OK)
			return rv;
	}
	return DOMINO_OK;
}

static int
read_payload(struct mp_rd *r, struct domino_event *out)
{
	const void *p;
	const char *s;
	size_t n;

	if (mp_rd_str(r, &s, &n) == 0)
		p = s;
	else if (mp_rd_bin(r, &p, &n) != 0)
		return DOMINO_EPROTO;
	/* A repeated key replaces the earlier value. */
	free(out->payload);
	out->payload_len = 0;
	if ((out->payload = malloc(n ? n : 1)) == NULL)
		return DOMINO_ENOMEM;
	memcpy(out->payload, p, n);
	out->payload_len = n;
	return DOMINO_OK;
}

int
event_read(struct mp_rd *r, struct domino_event *out)
{
	uint64_t n, u;
	int rv = DOMINO_OK;

	domino_event_init(out);
	if (mp_rd_map(r, &n) != 0)
		return DOMINO_EPROTO;
	for (uint64_t i = 0; i < n && rv == DOMINO_OK; i++) {
		const char *k, *s;
		size_t kn, sn;
		char **m;

		if (mp_rd_str(r, &k, &kn) != 0) {
			/* Keys are strings; anything else is skipped. */
			if (mp_rd_skip(r) != 0 || mp_rd_skip(r) != 0)
				rv = DOMINO_EPROTO;
			continue;
		}
		if ((m = str_member(out, k, kn)) != NULL) {
			if (mp_rd_nil(r) == 0)
				rv = domino_event_set(m, NULL, 0);
			else if (mp_rd_str(r, &s, &sn) == 0)
				rv = domino_event_set(m, s, sn);
			else
				rv = DOMINO_EPROTO;
		} else if (mp_rd_is(k, kn, "seq")) {
			if (mp_rd_uint(r, &u) != 0)
				rv = DOMINO_EPROTO;
			else
				out->seq = u;
		} else if (mp_rd_is(k, kn, "time")) {
			if (mp_rd_int(r, &out->time) != 0)
				rv = DOMINO_EPROTO;
		} else if (mp_rd_is(k, kn, "depends_on")) {
			rv = read_list(r, &out->depends_on, &out->n_depends_on);
		} else if (mp_rd_is(k, kn, "via")) {
			rv = read_list(r, &out->via, &out->n_via);
		} else if (mp_rd_is(k, kn, "headers")) {
			rv = read_headers(r, out);
		} else if (mp_rd_is(k, kn, "payload")) {
			rv = read_payload(r, out);
		} else if (mp_rd_skip(r) != 0) {
			/* "v" and unknown keys are skipped. */
			rv = DOMINO_EPROTO;
		}
	}
	if (rv != DOMINO_OK)
		domino_event_clear(out);
	return rv;
}

int
domino_event_decode(const void *buf, size_t len, struct domino_event *out)
{
	struct mp_rd r;
	int rv;

	domino_event_init(out);
	if ((rv = mp_rd_init(&r, buf, len, &mp_default_limits)) != DOMINO_OK)
		return rv;
	return event_read(&r, out);
}

/* Read the header of the map buf must hold: r is left at the first key.
 * Not pre-checked as a whole (these readers serve domino's own encoded
 * events on hot paths); each value is still read within buf's bounds and
 * skipped under the default limits. */
static int
rd_map(struct mp_rd *r, const void *buf, size_t len, uint64_t *n)
{
	(void)mp_rd_init(r, buf, len, NULL);
	return mp_rd_map(r, n) == 0 ? DOMINO_OK : DOMINO_EPROTO;
}

int
domino_event_view(const void *buf, size_t len, struct domino_event_view *v)
{
	struct mp_rd r;
	uint64_t n = 0;
	int rv;

	memset(v, 0, sizeof(*v));
	v->repo = v->ref = "";
	if ((rv = rd_map(&r, buf, len, &n)) != DOMINO_OK)
		return rv;
	v->n_keys = n;
	v->head_len = r.pos;
	for (uint64_t i = 0; i < n; i++) {
		size_t at = r.pos, kn;
		const char *k;

		if (mp_rd_str(&r, &k, &kn) != 0)
			return DOMINO_EPROTO;
		if (mp_rd_is(k, kn, "seq")) {
			if (mp_rd_uint(&r, &v->seq) != 0)
				return DOMINO_EPROTO;
		} else if (mp_rd_is(k, kn, "time")) {
			if (mp_rd_int(&r, &v->time) != 0)
				return DOMINO_EPROTO;
		} else if (mp_rd_is(k, kn, "repo")) {
			if (mp_rd_str(&r, &v->repo, &v->repo_len) != 0)
				return DOMINO_EPROTO;
		} else if (mp_rd_is(k, kn, "ref")) {
			if (mp_rd_str(&r, &v->ref, &v->ref_len) != 0)
				return DOMINO_EPROTO;
		} else {
			if (mp_rd_skip(&r) != 0)
				return DOMINO_EPROTO;
			if (mp_rd_is(k, kn, "payload")) {
				v->payload_off = at;
				v->payload_span = r.pos - at;
			}
		}
	}
	v->len = r.pos;
	return DOMINO_OK;
}

int
domino_event_peek(const void *buf, size_t len, uint64_t *seq,
    const char **repo, size_t *repo_len, const char **ref, size_t *ref_len)
{
	struct domino_event_view v;
	int rv = domino_event_view(buf, len, &v);

	*seq = v.seq;
	*repo = v.repo;
	*repo_len = v.repo_len;
	*ref = v.ref;
	*ref_len = v.ref_len;
	return rv;
}
