/* SPDX-License-Identifier: MIT */
/*
 * Reading a listener's callback.config (a msgpack map) from the built-in
 * plugins: typed lookups that tell "absent" from "wrong type", durations,
 * lists and maps of strings, and error messages that name the key the way
 * registration reports them ("callback.config.timeout: ..."). It does not
 * know any plugin's keys; the schema lives in each plugin's descriptor.
 */
#ifndef DOMINO_PLUGINS_PCONF_H
#define DOMINO_PLUGINS_PCONF_H

#include <stddef.h>
#include <stdint.h>

struct msgpack_object;

/* A borrowed string: not NUL-terminated, never a NULL pointer. */
struct pstr {
	const char *p;
	size_t n;
};

/*
 * The string value of key: 1 found (*out set), 0 absent or nil, -1 present
 * with another type.
 */
int pconf_str(const struct msgpack_object *cfg, const char *key,
    struct pstr *out);

/* A malloc'd NUL-terminated copy of the string value of key, or NULL when
 * absent, of another type, holding a NUL byte, or out of memory. */
char *pconf_strdup(const struct msgpack_object *cfg, const char *key);

/* The value of key, or NULL when absent or nil. */
const struct msgpack_object *pconf_get(const struct msgpack_object *cfg,
    const char *key);

/*
 * Duration of key in ms: a string such as "300ms", "10s", "1m30s", or a
 * number of seconds. Absent gives def. The value must be > 0 and <= max.
 * 0, or -1 with a message naming the key in err.
 */
int pconf_duration_ms(const struct msgpack_object *cfg, const char *key,
    uint64_t def, uint64_t max, uint64_t *ms, char *err, size_t errlen);

/* Whether s holds a NUL byte (such strings cannot reach C APIs). */
int pstr_has_nul(struct pstr s);

/* Whether s equals the C string c. */
int pstr_eq(struct pstr s, const char *c);

/* Whether s equals the C string c, ignoring ASCII case. */
int pstr_caseeq(struct pstr s, const char *c);

/* Up to 40 bytes of s for a message: printable ASCII, others as '?',
 * "..." when cut. Returns buf (cap >= 48 recommended). */
const char *pstr_snippet(struct pstr s, char *buf, size_t cap);

/* Write "callback.config.<key>: <message>" into err (may be NULL). -1. */
int pconf_fail(char *err, size_t errlen, const char *key, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

#endif
