/* SPDX-License-Identifier: MIT */
/* Delivery records; see delivery.h. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "err.h"
#include "msg.h"
#include "store.h"

int
delivery_new(const char *const *via, size_t n_via, const char *repo,
    const char *ref, const char *type, int64_t now, char **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rv = msgpack_pack_map(&pk, 9);
	rv |= msg_pack_kstr(&pk, "state", "pending");
	rv |= msg_pack_ku64(&pk, "attempt", 0);
	rv |= msg_pack_ki64(&pk, "next", now);
	rv |= msg_pack_ki64(&pk, "created", now);
	rv |= msg_pack_cstr(&pk, "via") | msgpack_pack_array(&pk, n_via);
	for (size_t i = 0; i < n_via; i++)
		rv |= msg_pack_cstr(&pk, via[i] ? via[i] : "");
	rv |= msg_pack_kstr(&pk, "repo", repo ? repo : "");
	rv |= msg_pack_kstr(&pk, "ref", ref ? ref : "");
	rv |= msg_pack_kstr(&pk, "type", type ? type : "");
	rv |= msg_pack_cstr(&pk, "history") | msgpack_pack_array(&pk, 0);
	if (rv != 0) {
		msgpack_sbuffer_destroy(&sb);
		return DOMINO_ENOMEM;
	}
	*len = sb.size;
	*buf = msgpack_sbuffer_release(&sb);
	return DOMINO_OK;
}

static const char *const public_keys[] = {"state", "attempt", "next",
	"created", "via", "repo", "ref", "type", "history", NULL};

int
delivery_pack(msgpack_packer *pk, const char *listener, uint64_t seq,
    const void *rec, size_t len, int with_history)
{
	msgpack_unpacked u;
	size_t n = 2;
	int rv;

	if (msg_unpack(rec, len, &u) != DOMINO_OK) {
		msgpack_unpacked_destroy(&u);
		return DOMINO_EPROTO;
	}
	for (size_t i = 0; public_keys[i] != NULL; i++)
		n += msg_get(&u.data, public_keys[i]) != NULL &&
		    (with_history || strcmp(public_keys[i], "history") != 0);
	rv = msgpack_pack_map(pk, n);
	rv |= msg_pack_kstr(pk, "listener", listener);
	rv |= msg_pack_ku64(pk, "seq", seq);
	for (size_t i = 0; public_keys[i] != NULL; i++) {
		const msgpack_object *v = msg_get(&u.data, public_keys[i]);
		if (!with_history && strcmp(public_keys[i], "history") == 0)
			continue;
		if (v != NULL)
			rv |= msg_pack_cstr(pk, public_keys[i]) |
			    msgpack_pack_object(pk, *v);
	}
	msgpack_unpacked_destroy(&u);
	return rv == 0 ? DOMINO_OK : DOMINO_ENOMEM;
}

void
delivery_state(const void *rec, size_t len, char *buf, size_t cap)
{
	msgpack_unpacked u;
	const char *s;
	size_t n;

	buf[0] = '\0';
	if (msg_unpack(rec, len, &u) == DOMINO_OK &&
	    msg_str(&u.data, "state", &s, &n) == DOMINO_OK && n < cap) {
		memcpy(buf, s, n);
		buf[n] = '\0';
	}
	msgpack_unpacked_destroy(&u);
}

int
delivery_state_open(const char *state)
{
	return strcmp(state, "pending") == 0 || strcmp(state, "failed") == 0 ||
	    strcmp(state, "in_flight") == 0;
}

void
delivery_clear(struct delivery *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n_via; i++)
		free(d->via[i]);
	free(d->via);
	free(d->repo);
	free(d->ref);
	free(d->type);
	for (size_t i = 0; i < d->n_hist; i++) {
		free(d->hist[i].what);
		free(d->hist[i].detail);
	}
	free(d->hist);
	memset(d, 0, sizeof(*d));
}

int
delivery_add_history(struct delivery *d, int64_t time, unsigned attempt,
    const char *what, int status, const char *detail)
{
	struct delivery_hist *h;

	if (d->n_hist >= DELIVERY_HISTORY_MAX) {
		free(d->hist[0].what);
		free(d->hist[0].detail);
		memmove(d->hist, d->hist + 1, (d->n_hist - 1) * sizeof(*h));
		d->n_hist--;
	}
	h = realloc(d->hist, (d->n_hist + 1) * sizeof(*h));
	if (h == NULL)
		return DOMINO_ENOMEM;
	d->hist = h;
	h = &d->hist[d->n_hist];
	h->time = time;
	h->attempt = attempt;
	h->status = status;
	h->what = strdup(what);
	h->detail = detail ? strndup(detail, 512) : NULL;
	if (h->what == NULL || (detail && h->detail == NULL)) {
		free(h->what);
		free(h->detail);
		return DOMINO_ENOMEM;
	}
	d->n_hist++;
	return DOMINO_OK;
}

static char *
obj_strdup(const msgpack_object *o)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return strdup("");
	return strndup(o->via.str.size ? o->via.str.ptr : "", o->via.str.size);
}

int
delivery_decode(const void *rec, size_t len, struct delivery *out)
{
	msgpack_unpacked u;
	const msgpack_object *via, *hist;
	const char *s;
	size_t n;
	uint64_t a = 0;
	int rv = DOMINO_ENOMEM;

	memset(out, 0, sizeof(*out));
	if (msg_unpack(rec, len, &u) != DOMINO_OK) {
		msgpack_unpacked_destroy(&u);
		return DOMINO_EPROTO;
	}
	if (msg_str(&u.data, "state", &s, &n) == DOMINO_OK && n < sizeof(out->state)) {
		memcpy(out->state, s, n);
		out->state[n] = '\0';
	}
	msg_u64(&u.data, "attempt", &a);
	out->attempt = (unsigned)a;
	msg_i64(&u.data, "next", &out->next);
	msg_i64(&u.data, "created", &out->created);
	out->repo = obj_strdup(msg_get(&u.data, "repo"));
	out->ref = obj_strdup(msg_get(&u.data, "ref"));
	out->type = obj_strdup(msg_get(&u.data, "type"));
	if (out->repo == NULL || out->ref == NULL || out->type == NULL)
		goto out;
	via = msg_get(&u.data, "via");
	if (via != NULL && via->type == MSGPACK_OBJECT_ARRAY && via->via.array.size > 0) {
		if ((out->via = calloc(via->via.array.size, sizeof(char *))) == NULL)
			goto out;
		for (uint32_t i = 0; i < via->via.array.size; i++) {
			if ((out->via[i] = obj_strdup(&via->via.array.ptr[i])) == NULL)
				goto out;
			out->n_via++;
		}
	}
	hist = msg_get(&u.data, "history");
	if (hist != NULL && hist->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < hist->via.array.size; i++) {
			const msgpack_object *h = &hist->via.array.ptr[i];
			int64_t t = 0, st = -1;
			uint64_t at = 0;
			char *what, *detail;
			msg_i64(h, "time", &t);
			msg_u64(h, "attempt", &at);
			msg_i64(h, "status", &st);
			what = obj_strdup(msg_get(h, "what"));
			detail = msg_get(h, "detail") ? obj_strdup(msg_get(h, "detail")) : NULL;
			if (what == NULL) {
				free(detail);
				goto out;
			}
			rv = delivery_add_history(out, t, (unsigned)at, what, (int)st, detail);
			free(what);
			free(detail);
			if (rv != DOMINO_OK)
				goto out;
		}
	}
	rv = DOMINO_OK;
out:
	msgpack_unpacked_destroy(&u);
	if (rv != DOMINO_OK)
		delivery_clear(out);
	return rv;
}

int
delivery_encode(const struct delivery *d, char **buf, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rv = msgpack_pack_map(&pk, 9);
	rv |= msg_pack_kstr(&pk, "state", d->state);
	rv |= msg_pack_ku64(&pk, "attempt", d->attempt);
	rv |= msg_pack_ki64(&pk, "next", d->next);
	rv |= msg_pack_ki64(&pk, "created", d->created);
	rv |= msg_pack_cstr(&pk, "via") | msgpack_pack_array(&pk, d->n_via);
	for (size_t i = 0; i < d->n_via; i++)
		rv |= msg_pack_cstr(&pk, d->via[i]);
	rv |= msg_pack_kstr(&pk, "repo", d->repo);
	rv |= msg_pack_kstr(&pk, "ref", d->ref);
	rv |= msg_pack_kstr(&pk, "type", d->type);
	rv |= msg_pack_cstr(&pk, "history") | msgpack_pack_array(&pk, d->n_hist);
	for (size_t i = 0; i < d->n_hist; i++) {
		const struct delivery_hist *h = &d->hist[i];
		rv |= msgpack_pack_map(&pk, 4 + (h->detail != NULL));
		rv |= msg_pack_ki64(&pk, "time", h->time);
		rv |= msg_pack_ku64(&pk, "attempt", h->attempt);
		rv |= msg_pack_kstr(&pk, "what", h->what);
		rv |= msg_pack_ki64(&pk, "status", h->status);
		if (h->detail != NULL)
			rv |= msg_pack_kstr(&pk, "detail", h->detail);
	}
	if (rv != 0) {
		msgpack_sbuffer_destroy(&sb);
		return DOMINO_ENOMEM;
	}
	*len = sb.size;
	*buf = msgpack_sbuffer_release(&sb);
	return DOMINO_OK;
}

int
delivery_load(struct store_wtxn *t, const char *listener, uint64_t seq,
    struct delivery *out)
{
	const void *data;
	size_t len;
	int rv = store_delivery_get(store_wtxn_view(t), listener, seq, &data, &len);

	if (rv != DOMINO_OK)
		return rv;
	return delivery_decode(data, len, out) == DOMINO_OK ? DOMINO_OK :
	    DOMINO_ESTORE;
}

int
delivery_store(struct store_wtxn *t, const char *listener, uint64_t seq,
    const struct delivery *d)
{
	char *buf;
	size_t len;
	int rv = delivery_encode(d, &buf, &len);

	if (rv == DOMINO_OK) {
		rv = store_delivery_put(t, listener, seq, buf, len, 0);
		free(buf);
	}
	return rv;
}
