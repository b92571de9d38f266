/* SPDX-License-Identifier: MIT */
/*
 * Test helper: build msgpack with msgpack-c's packer from a JSON literal
 * (readable registrations and requests in tests), and unpack it back into
 * an object. Integral non-negative numbers become uints, other numbers
 * doubles. Header-only; for tests.
 */
#ifndef DOMINO_TEST_MPJSON_H
#define DOMINO_TEST_MPJSON_H

#include <cjson/cJSON.h>
#include <math.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline int
mj_pack(msgpack_packer *pk, const cJSON *j)
{
	int rv = 0;

	if (cJSON_IsNull(j))
		return msgpack_pack_nil(pk);
	if (cJSON_IsBool(j))
		return cJSON_IsTrue(j) ? msgpack_pack_true(pk) :
		    msgpack_pack_false(pk);
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;
		if (d >= 0 && floor(d) == d && d < 1.8e19)
			return msgpack_pack_uint64(pk, (uint64_t)d);
		if (floor(d) == d && d > -9.2e18)
			return msgpack_pack_int64(pk, (int64_t)d);
		return msgpack_pack_double(pk, d);
	}
	if (cJSON_IsString(j))
		return msgpack_pack_str_with_body(pk, j->valuestring,
		    strlen(j->valuestring));
	if (cJSON_IsArray(j)) {
		rv = msgpack_pack_array(pk, (size_t)cJSON_GetArraySize(j));
		for (const cJSON *e = j->child; e != NULL; e = e->next)
			rv |= mj_pack(pk, e);
		return rv;
	}
	if (cJSON_IsObject(j)) {
		rv = msgpack_pack_map(pk, (size_t)cJSON_GetArraySize(j));
		for (const cJSON *e = j->child; e != NULL; e = e->next) {
			rv |= msgpack_pack_str_with_body(pk, e->string,
			    strlen(e->string));
			rv |= mj_pack(pk, e);
		}
		return rv;
	}
	return -1;
}

/* Pack the JSON text into sb (initialized by the caller). 0 or -1. */
static inline int
mj_build(msgpack_sbuffer *sb, const char *json)
{
	msgpack_packer pk;
	cJSON *j = cJSON_Parse(json);
	int rv;

	if (j == NULL)
		return -1;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	rv = mj_pack(&pk, j);
	cJSON_Delete(j);
	return rv == 0 ? 0 : -1;
}

/* One JSON value as msgpack, unpacked: free with mj_free. */
struct mj {
	msgpack_sbuffer sb;
	msgpack_unpacked u;
	int ok;
};

static inline const msgpack_object *
mj_obj(struct mj *m, const char *json)
{
	size_t off = 0;

	msgpack_sbuffer_init(&m->sb);
	msgpack_unpacked_init(&m->u);
	m->ok = mj_build(&m->sb, json) == 0 &&
	    msgpack_unpack_next(&m->u, m->sb.data, m->sb.size, &off) ==
	    MSGPACK_UNPACK_SUCCESS;
	return m->ok ? &m->u.data : NULL;
}

static inline void
mj_free(struct mj *m)
{
	msgpack_unpacked_destroy(&m->u);
	msgpack_sbuffer_destroy(&m->sb);
}

/* Print an object into buf (for assertion messages). */
static inline const char *
mj_text(const msgpack_object *o, char *buf, size_t cap)
{
	if (o == NULL) {
		snprintf(buf, cap, "(null)");
		return buf;
	}
	if (msgpack_object_print_buffer(buf, cap, *o) < 0)
		snprintf(buf, cap, "(unprintable)");
	return buf;
}

#endif
