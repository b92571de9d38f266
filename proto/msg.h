/* SPDX-License-Identifier: MIT */
/*
 * Control messages: helpers shared by the broker's control socket and
 * libdomino. A request is a msgpack map {op, token, ...args}; a reply is
 * {ok: true, ...result} or {ok: false, err: {code, msg}} (proto/README.md).
 * This module only reads and writes maps; the operations live in
 * broker/control.c and client/.
 */
#ifndef DOMINO_MSG_H
#define DOMINO_MSG_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* Largest control message either side accepts by default. */
#define MSG_MAX_DEFAULT (32u * 1024 * 1024)
/* libdomino shares concurrent publishes on one handle in requests of up to
 * this many bytes (estimated); the broker's control limit may not be set
 * under MSG_MIN, so such a request always fits. */
#define MSG_BATCH_BYTES (64u * 1024)
#define MSG_MIN (2 * MSG_BATCH_BYTES)

/*
 * Pre-check and unpack exactly one object from outside input. On success
 * *u holds it (msgpack_unpacked_destroy when done) and it references buf,
 * which must outlive *u. DOMINO_EINVAL/ETRUNC/ETOOBIG on bad input,
 * DOMINO_EPROTO when it is not a map.
 */
int msg_unpack(const void *buf, size_t len, msgpack_unpacked *u);

/* Look up a key in a map; NULL when absent or when map is not a map. */
const msgpack_object *msg_get(const msgpack_object *map, const char *key);

/*
 * Typed getters: DOMINO_OK, DOMINO_ENOTFOUND when absent (or nil), or
 * DOMINO_EPROTO when present with another type. Strings are not
 * NUL-terminated; msg_strdup returns a malloc'd copy.
 */
int msg_str(const msgpack_object *map, const char *key, const char **s,
    size_t *n);
int msg_strdup(const msgpack_object *map, const char *key, char **out);
int msg_u64(const msgpack_object *map, const char *key, uint64_t *v);
int msg_i64(const msgpack_object *map, const char *key, int64_t *v);
int msg_bool(const msgpack_object *map, const char *key, int *v);

/* Packers for "key": value pairs; they return msgpack-c's status. */
int msg_pack_cstr(msgpack_packer *pk, const char *s);
int msg_pack_kstr(msgpack_packer *pk, const char *key, const char *val);
int msg_pack_ku64(msgpack_packer *pk, const char *key, uint64_t v);
int msg_pack_ki64(msgpack_packer *pk, const char *key, int64_t v);
int msg_pack_kbool(msgpack_packer *pk, const char *key, int v);

/*
 * Write a whole error reply {ok: false, err: {code, msg}} into sb (which is
 * cleared first). code comes from domino_errcode(err).
 */
void msg_error_reply(msgpack_sbuffer *sb, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
