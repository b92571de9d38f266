/* SPDX-License-Identifier: MIT */
/*
 * TLS for the listeners: one nng server TLS configuration built from the
 * config's `tls: {cert, key, ca}` (nng's TLS engine, mbedTLS in Debian),
 * used by every listener whose URL asks for it (https://, tls+tcp://).
 * With `ca`, clients must present a certificate signed by it.
 */
#ifndef DOMINO_TLS_H
#define DOMINO_TLS_H

#include <stddef.h>

struct config;
struct nng_tls_config;

/*
 * Build the server configuration into *out, or leave *out NULL when the
 * config has no tls.cert. DOMINO_OK, or DOMINO_EINVAL/EIO with err naming
 * the file and the reason.
 */
int tls_server_config(const struct config *cfg, struct nng_tls_config **out,
    char *err, size_t errlen);

/* Whether url asks for TLS (https:// or tls+tcp://). */
int tls_url(const char *url);

#endif
