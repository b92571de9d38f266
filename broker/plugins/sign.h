/* SPDX-License-Identifier: MIT */
/*
 * Standard Webhooks signatures (https://www.standardwebhooks.com/) for
 * outgoing requests: webhook-signature is a space-separated list of
 * "v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>", one per
 * configured secret, so a receiver can rotate secrets. A secret written
 * "whsec_<base64>" signs with the decoded bytes, any other string with its
 * own bytes. Key bytes live on the stack for one call and are wiped.
 *
 * It does not verify signatures (receivers do) or choose the timestamp.
 */
#ifndef DOMINO_PLUGINS_SIGN_H
#define DOMINO_PLUGINS_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "pconf.h"

/* Most secrets per listener, and the longest one as configured. */
#define SIGN_SECRETS_MAX 8
#define SIGN_SECRET_MAX 512

/* Room for a webhook-signature value with SIGN_SECRETS_MAX entries. */
#define SIGN_HEADER_MAX (SIGN_SECRETS_MAX * 48 + 1)

/*
 * Whether a configured secret is usable: non-empty, at most
 * SIGN_SECRET_MAX bytes, a whsec_ one valid base64 of a non-empty key.
 * 0, or -1 with a reason in why.
 */
int sign_secret_check(struct pstr secret, char *why, size_t whylen);

/*
 * The webhook-signature value for body, signed with each of n secrets, in
 * out (cap bytes, NUL-terminated). DOMINO_OK, DOMINO_EINVAL (a secret that
 * sign_secret_check() rejects, or n outside 1..SIGN_SECRETS_MAX),
 * DOMINO_ETOOBIG (out too small) or DOMINO_EINTERNAL (libcrypto failed).
 * Thread-safe.
 */
int sign_header(const struct pstr *secrets, size_t n, const char *msg_id,
    int64_t timestamp, const void *body, size_t len, char *out, size_t cap);

#endif
