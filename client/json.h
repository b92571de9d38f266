/* SPDX-License-Identifier: MIT */
/*
 * Internal to libdomino: writing JSON text to a stdio stream (usually an
 * open_memstream) — string escaping and a msgpack object to JSON. Used by
 * json.c's public converter, the listener operations and their text forms.
 * Not installed; the public API is domino.h.
 */
#ifndef DOMINO_JSON_H
#define DOMINO_JSON_H

#include <msgpack.h>
#include <stdio.h>

/* Write s (n bytes) as a quoted JSON string: quotes, backslashes and
 * control characters escaped, other bytes (UTF-8) as they are. */
void json_put_str(FILE *f, const char *s, size_t n);

/* The same for a NUL-terminated string; NULL writes null. */
void json_put_cstr(FILE *f, const char *s);

/*
 * Write o as JSON: maps become objects (a key that is not a string is
 * written as its JSON text in quotes), integers exactly, bin as a base64
 * string, ext as null. pretty: indent by two spaces per level (0: compact).
 */
void json_put_object(FILE *f, const msgpack_object *o, int pretty);

/* Close the memstream f and hand its text to *out; DOMINO_ENOMEM (and
 * *out NULL) when a write failed. buf/len are open_memstream's. */
int json_finish(FILE *f, char **buf, size_t *len, char **out);

#endif
