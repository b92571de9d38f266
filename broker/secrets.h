/* SPDX-License-Identifier: MIT */
/*
 * Secret values of callback configs at rest: the config keys a plugin's
 * schema marks secret are stored as "enc:v1:<base64(nonce || secretbox)>"
 * (libsodium crypto_secretbox, XSalsa20-Poly1305) of the value's msgpack
 * bytes, under a 32-byte key in <data>/secret.key (mode 0600, generated on
 * first start, held in sodium_malloc'd memory). Values are sealed at
 * registration and opened only on the delivery path. One key per process;
 * thread-safe once secrets_open() returned.
 */
#ifndef DOMINO_SECRETS_H
#define DOMINO_SECRETS_H

#include <stddef.h>

struct plugin_desc;

#define SECRETS_PREFIX "enc:v1:"

/* Load <data_dir>/secret.key, creating it when missing. DOMINO_OK, or an
 * error with a message in err (a key file of the wrong size or mode). */
int secrets_open(const char *data_dir, char *err, size_t errlen);

/* Wipe and free the key. */
void secrets_close(void);

/*
 * Replace the msgpack config map *buf (*len bytes, malloc'd) by one whose
 * values of pd's secret keys are sealed; values sealed already stay. A
 * no-op before secrets_open(). DOMINO_OK or DOMINO_ENOMEM / DOMINO_EINVAL
 * (*buf untouched on failure).
 */
int secrets_seal_config(const struct plugin_desc *pd, char **buf, size_t *len);

/*
 * Replace the msgpack config map *buf by one with every sealed value
 * opened (for deliver only). DOMINO_OK (also when nothing was sealed), or
 * DOMINO_EINVAL when a value does not open with this key (*buf untouched).
 */
int secrets_open_config(char **buf, size_t *len);

/* Whether the string s (n bytes) is a sealed value. */
int secrets_is_sealed(const char *s, size_t n);

#endif
