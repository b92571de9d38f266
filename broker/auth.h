/* SPDX-License-Identifier: MIT */
/*
 * Control-socket authentication. The admin token lives in
 * <data>/admin.token (mode 0600), generated on first start; in memory it is
 * kept in sodium_malloc'd memory. Compares are constant time. Listener
 * tokens (stored hashed) join here when listeners exist.
 */
#ifndef DOMINO_AUTH_H
#define DOMINO_AUTH_H

#include <stddef.h>

struct auth;

/*
 * Load or create the admin token in data_dir. Refuses a token file that
 * group or others can read. DOMINO_OK, or DOMINO_EIO with a reason in err.
 */
int auth_open(const char *data_dir, struct auth **out, char *err,
    size_t errlen);

/* Whether token (len bytes) is the admin token. Constant time. */
int auth_is_admin(const struct auth *a, const char *token, size_t len);

/* Path of the admin token file (for the start-up banner). */
const char *auth_token_path(const struct auth *a);

void auth_close(struct auth *a);

/*
 * Read a small secret file into a NUL-terminated, whitespace-trimmed
 * sodium_malloc'd buffer (sodium_free it). Refuses files readable by group
 * or others. Shared with config's sources file.
 */
int auth_read_secret_file(const char *path, char **out, char *err,
    size_t errlen);

#endif
