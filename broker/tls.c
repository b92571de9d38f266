/* SPDX-License-Identifier: MIT */
/* Server TLS configuration; see tls.h. */
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "tls.h"

static char *
slurp(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL) {
		snprintf(err, errlen, "cannot read %s", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < 1 << 20 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	if (buf == NULL)
		snprintf(err, errlen, "cannot read %s (empty or over 1 MiB)", path);
	return buf;
}

int
tls_url(const char *url)
{
	return strncmp(url, "https://", 8) == 0 || strncmp(url, "tls+tcp", 7) == 0;
}

int
tls_server_config(const struct config *cfg, struct nng_tls_config **out,
    char *err, size_t errlen)
{
	nng_tls_config *t = NULL;
	char *cert = NULL, *key = NULL;
	int rv, ret = DOMINO_EINVAL;

	*out = NULL;
	if (cfg->tls.cert == NULL)
		return DOMINO_OK;
	if (cfg->tls.key == NULL) {
		snprintf(err, errlen, "tls.key: required with tls.cert");
		return DOMINO_EINVAL;
	}
	if ((cert = slurp(cfg->tls.cert, err, errlen)) == NULL ||
	    (key = slurp(cfg->tls.key, err, errlen)) == NULL) {
		ret = DOMINO_EIO;
		goto out;
	}
	if ((rv = nng_tls_config_alloc(&t, NNG_TLS_MODE_SERVER)) != 0 ||
	    (rv = nng_tls_config_own_cert(t, cert, key, NULL)) != 0) {
		snprintf(err, errlen, "tls.cert/tls.key (%s, %s): %s", cfg->tls.cert,
		    cfg->tls.key, nng_strerror(rv));
		goto out;
	}
	if (cfg->tls.ca != NULL &&
	    ((rv = nng_tls_config_ca_file(t, cfg->tls.ca)) != 0 ||
	    (rv = nng_tls_config_auth_mode(t, NNG_TLS_AUTH_MODE_REQUIRED)) != 0)) {
		snprintf(err, errlen, "tls.ca (%s): %s", cfg->tls.ca, nng_strerror(rv));
		goto out;
	}
	*out = t;
	t = NULL;
	ret = DOMINO_OK;
out:
	if (t != NULL)
		nng_tls_config_free(t);
	if (key != NULL) {
		memset(key, 0, strlen(key));
		free(key);
	}
	free(cert);
	return ret;
}
