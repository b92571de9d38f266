/* SPDX-License-Identifier: MIT */
/*
 * Standard Webhooks signing: HMAC-SHA256 with OpenSSL's EVP_MAC over
 * "<id>.<timestamp>.<body>", base64 by libsodium; see sign.h.
 */
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "sign.h"

#define KEY_MAX SIGN_SECRET_MAX

/* Decode a configured secret into key bytes. 0, or -1 when unusable. */
static int
key_decode(struct pstr s, unsigned char *key, size_t *keylen)
{
	static const int variants[] = {sodium_base64_VARIANT_ORIGINAL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING};
	const char *end;

	if (s.n == 0 || s.n > SIGN_SECRET_MAX)
		return -1;
	if (s.n < 6 || memcmp(s.p, "whsec_", 6) != 0) {
		memcpy(key, s.p, s.n);
		*keylen = s.n;
		return 0;
	}
	for (size_t i = 0; i < 2; i++)
		if (sodium_base642bin(key, KEY_MAX, s.p + 6, s.n - 6, NULL,
		    keylen, &end, variants[i]) == 0 &&
		    end == s.p + s.n && *keylen > 0)
			return 0;
	return -1;
}

int
sign_secret_check(struct pstr secret, char *why, size_t whylen)
{
	unsigned char key[KEY_MAX];
	size_t keylen = 0;
	int rv = 0;

	if (secret.n == 0 || secret.n > SIGN_SECRET_MAX) {
		snprintf(why, whylen, "must be 1 to %d bytes", SIGN_SECRET_MAX);
		rv = -1;
	} else if (key_decode(secret, key, &keylen) != 0) {
		snprintf(why, whylen, "a whsec_ secret must be followed by "
		    "base64 (whsec_<base64 of the key bytes>)");
		rv = -1;
	}
	sodium_memzero(key, sizeof(key));
	return rv;
}

/* Append "v1,<base64>" for one key to out at *pos. */
static int
sign_one(const unsigned char *key, size_t keylen, const char *msg_id,
    const char *ts, const void *body, size_t len, char *out, size_t cap,
    size_t *pos)
{
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0, need;
	int rv = DOMINO_EINTERNAL;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac == NULL)
		goto out;
	ctx = EVP_MAC_CTX_new(mac);
	if (ctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, keylen, params) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)msg_id,
	    strlen(msg_id)) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)".", 1) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)ts, strlen(ts)) ||
	    !EVP_MAC_update(ctx, (const unsigned char *)".", 1) ||
	    (len > 0 && !EVP_MAC_update(ctx, body, len)) ||
	    !EVP_MAC_final(ctx, md, &mdlen, sizeof(md)))
		goto out;
	/* " " (after the first) + "v1," + base64 + NUL */
	need = (*pos ? 1 : 0) + 3 +
	    sodium_base64_ENCODED_LEN(mdlen, sodium_base64_VARIANT_ORIGINAL);
	if (need > cap - *pos) {
		rv = DOMINO_ETOOBIG;
		goto out;
	}
	if (*pos)
		out[(*pos)++] = ' ';
	memcpy(out + *pos, "v1,", 3);
	*pos += 3;
	sodium_bin2base64(out + *pos, cap - *pos, md, mdlen,
	    sodium_base64_VARIANT_ORIGINAL);
	*pos += strlen(out + *pos);
	rv = DOMINO_OK;
out:
	sodium_memzero(md, sizeof(md));
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rv;
}

int
sign_header(const struct pstr *secrets, size_t n, const char *msg_id,
    int64_t timestamp, const void *body, size_t len, char *out, size_t cap)
{
	unsigned char key[KEY_MAX];
	size_t keylen = 0, pos = 0;
	char ts[24];
	int rv = DOMINO_OK;

	if (cap == 0)
		return DOMINO_ETOOBIG;
	out[0] = '\0';
	if (n == 0 || n > SIGN_SECRETS_MAX)
		return DOMINO_EINVAL;
	snprintf(ts, sizeof(ts), "%" PRId64, timestamp);
	for (size_t i = 0; i < n && rv == DOMINO_OK; i++) {
		if (key_decode(secrets[i], key, &keylen) != 0) {
			rv = DOMINO_EINVAL;
			break;
		}
		rv = sign_one(key, keylen, msg_id, ts, body, len, out, cap, &pos);
	}
	sodium_memzero(key, sizeof(key));
	if (rv != DOMINO_OK)
		out[0] = '\0';
	return rv;
}
