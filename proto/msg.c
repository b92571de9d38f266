/* SPDX-License-Identifier: MIT */
/* Control message helpers; see msg.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "msg.h"

int
msg_unpack(const void *buf, size_t len, msgpack_unpacked *u)
{
	size_t used = 0, off = 0;
	int rv;

	msgpack_unpacked_init(u);
	rv = mp_check(buf, len, &mp_default_limits, &used);
	if (rv != 0)
		return rv;
	if (used != len)
		return DOMINO_EINVAL;
	if (msgpack_unpack_next(u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS)
		rv = DOMINO_EINVAL;
	else if (u->data.type != MSGPACK_OBJECT_MAP)
		rv = DOMINO_EPROTO;
	/* On failure *u holds nothing, so callers need not destroy it. */
	if (rv != DOMINO_OK)
		msgpack_unpacked_destroy(u);
	return rv;
}

const msgpack_object *
msg_get(const msgpack_object *map, const char *key)
{
	size_t n = strlen(key);

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;
		/* A zero-length str may have a NULL ptr: no memcmp then. */
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
		    (n == 0 || memcmp(k->via.str.ptr, key, n) == 0))
			return &map->via.map.ptr[i].val;
	}
	return NULL;
}

static const msgpack_object *
get(const msgpack_object *map, const char *key)
{
	const msgpack_object *v = msg_get(map, key);
	return (v == NULL || v->type == MSGPACK_OBJECT_NIL) ? NULL : v;
}

int
msg_str(const msgpack_object *map, const char *key, const char **s, size_t *n)
{
	const msgpack_object *v = get(map, key);

	if (v == NULL)
		return DOMINO_ENOTFOUND;
	if (v->type != MSGPACK_OBJECT_STR)
		return DOMINO_EPROTO;
	/* msgpack-c may leave ptr NULL for "", which callers should not see. */
	*s = v->via.str.ptr != NULL ? v->via.str.ptr : "";
	*n = v->via.str.size;
	return DOMINO_OK;
}

int
msg_strdup(const msgpack_object *map, const char *key, char **out)
{
	const char *s;
	size_t n;
	int rv = msg_str(map, key, &s, &n);

	if (rv != DOMINO_OK)
		return rv;
	if ((*out = strndup(s, n)) == NULL)
		return DOMINO_ENOMEM;
	return DOMINO_OK;
}

int
msg_u64(const msgpack_object *map, const char *key, uint64_t *v)
{
	const msgpack_object *o = get(map, key);

	if (o == NULL)
		return DOMINO_ENOTFOUND;
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return DOMINO_EPROTO;
	*v = o->via.u64;
	return DOMINO_OK;
}

int
msg_i64(const msgpack_object *map, const char *key, int64_t *v)
{
	const msgpack_object *o = get(map, key);

	if (o == NULL)
		return DOMINO_ENOTFOUND;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else
		return DOMINO_EPROTO;
	return DOMINO_OK;
}

int
msg_bool(const msgpack_object *map, const char *key, int *v)
{
	const msgpack_object *o = get(map, key);

	if (o == NULL)
		return DOMINO_ENOTFOUND;
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return DOMINO_EPROTO;
	*v = o->via.boolean;
	return DOMINO_OK;
}

int
msg_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

int
msg_pack_kstr(msgpack_packer *pk, const char *key, const char *val)
{
	return msg_pack_cstr(pk, key) | msg_pack_cstr(pk, val ? val : "");
}

int
msg_pack_ku64(msgpack_packer *pk, const char *key, uint64_t v)
{
	return msg_pack_cstr(pk, key) | msgpack_pack_uint64(pk, v);
}

int
msg_pack_ki64(msgpack_packer *pk, const char *key, int64_t v)
{
	return msg_pack_cstr(pk, key) | msgpack_pack_int64(pk, v);
}

int
msg_pack_kbool(msgpack_packer *pk, const char *key, int v)
{
	return msg_pack_cstr(pk, key) |
	    (v ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
}

void
msg_error_reply(msgpack_sbuffer *sb, int err, const char *fmt, ...)
{
	msgpack_packer pk;
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msg_pack_kbool(&pk, "ok", 0);
	msg_pack_cstr(&pk, "err");
	msgpack_pack_map(&pk, 2);
	msg_pack_kstr(&pk, "code", domino_errcode(err));
	msg_pack_kstr(&pk, "msg", text);
}
