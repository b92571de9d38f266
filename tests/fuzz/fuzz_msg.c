/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for control messages: outside bytes through msg_unpack()
 * and every typed getter on the keys the control protocol uses and on the
 * message's own keys; then an error reply whose text comes from the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
probe(const msgpack_object *map, const char *key)
{
	const char *s;
	size_t n;
	char *dup = NULL;
	uint64_t u;
	int64_t i;
	int b;

	(void)msg_get(map, key);
	(void)msg_str(map, key, &s, &n);
	if (msg_strdup(map, key, &dup) == DOMINO_OK)
		free(dup);
	(void)msg_u64(map, key, &u);
	(void)msg_i64(map, key, &i);
	(void)msg_bool(map, key, &b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"op", "token", "ok", "err", "code",
		"msg", "seq", "from", "since", "limit", "name", "filter", ""};
	msgpack_unpacked u;
	msgpack_sbuffer sb;

	if (msg_unpack(data, size, &u) == DOMINO_OK) {
		const msgpack_object *err;

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			probe(&u.data, keys[k]);
		err = msg_get(&u.data, "err");
		probe(err, "code");
		probe(err, "msg");
		/* Every string key of the message, as a C string. */
		for (uint32_t k = 0; k < u.data.via.map.size && k < 64; k++) {
			const msgpack_object *key = &u.data.via.map.ptr[k].key;
			char name[64];

			if (key->type != MSGPACK_OBJECT_STR ||
			    key->via.str.size >= sizeof(name))
				continue;
			/* An empty key may come with a NULL ptr. */
			if (key->via.str.size > 0)
				memcpy(name, key->via.str.ptr,
				    key->via.str.size);
			name[key->via.str.size] = '\0';
			probe(&u.data, name);
		}
	}
	msgpack_unpacked_destroy(&u);

	msgpack_sbuffer_init(&sb);
	msg_error_reply(&sb, size % (DOMINO_ERR_COUNT + 2), "%.*s",
	    (int)(size < 600 ? size : 600), (const char *)data);
	if (msg_unpack(sb.data, sb.size, &u) != DOMINO_OK)
		__builtin_trap();
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return 0;
}
