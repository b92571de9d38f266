/* SPDX-License-Identifier: MIT */
/*
 * Relay in libdomino: re-post an event's original webhook (raw body, kept
 * forge headers) to another URL with libcurl, optionally re-signed with a
 * local secret the way the event's forge signs. One request, no retry and
 * no queue: the caller (e.g. `domino relay`) decides when an event counts
 * as delivered. Nothing here prints; libcurl's own error text becomes
 * domino_errmsg().
 */
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "domino.h"
#include "err.h"

#define RELAY_TIMEOUT_DEFAULT 10000
#define HEADER_LINE_MAX 8192

/* Headers never copied from the original request: the transport's own
 * (curl writes Host and Content-Length for this request), hop-by-hop
 * ones (RFC 9110 7.6.1) and the forge's signatures, which belong to the
 * original secret. */
static const char *const dropped[] = {
	"Host", "Content-Length", "Connection", "Keep-Alive",
	"Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
	"TE", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
	"X-Hub-Signature", "X-Hub-Signature-256", "X-Gitea-Signature",
	"X-Forgejo-Signature", "X-Gogs-Signature", "X-Gitlab-Token",
	"Authorization", NULL,
};

static int
is_dropped(const char *name)
{
	for (size_t i = 0; dropped[i] != NULL; i++)
		if (strcasecmp(dropped[i], name) == 0)
			return 1;
	return 0;
}

/* Add "name: value" to *list; 0 or -1 (no memory, or a line that would
 * break the request: CR or LF inside). */
static int
add_header(struct curl_slist **list, const char *name, const char *value)
{
	char line[HEADER_LINE_MAX];
	struct curl_slist *l;
	int n;

	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return 0; /* not a header we can repeat; leave it out */
	n = snprintf(line, sizeof(line), "%s: %s", name, value);
	if (n < 0 || (size_t)n >= sizeof(line))
		return 0;
	l = curl_slist_append(*list, line);
	if (l == NULL)
		return -1;
	*list = l;
	return 0;
}

static void
hmac_hex(const char *secret, const uint8_t *body, size_t len, char *hex)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
	    strlen(secret));
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, 2 * sizeof(mac) + 1, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

/* The signature headers of ev's forge for secret. */
static int
sign(struct curl_slist **list, const struct domino_event *ev,
    const char *secret)
{
	const char *src = ev->source ? ev->source : "";
	char hex[2 * crypto_auth_hmacsha256_BYTES + 1], val[80];
	int rv = 0;

	if (strcmp(src, "gitlab") == 0)
		return add_header(list, "X-Gitlab-Token", secret);
	hmac_hex(secret, ev->payload, ev->payload_len, hex);
	snprintf(val, sizeof(val), "sha256=%s", hex);
	if (strcmp(src, "bitbucket") == 0)
		return add_header(list, "X-Hub-Signature", val);
	rv = add_header(list, "X-Hub-Signature-256", val);
	if (rv == 0 && strcmp(src, "gitea") == 0)
		rv = add_header(list, "X-Gitea-Signature", hex);
	return rv;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

int
domino_relay_post(const struct domino_relay_opts *o,
    const struct domino_event *ev, long *status)
{
	struct curl_slist *hl = NULL;
	CURL *c = NULL;
	CURLcode cc;
	char cerr[CURL_ERROR_SIZE] = "";
	int rv = DOMINO_OK, have_ctype = 0;

	conn_err_clear();
	if (status != NULL)
		*status = 0;
	if (o == NULL || o->url == NULL || *o->url == '\0' || ev == NULL ||
	    status == NULL)
		return conn_err(DOMINO_EINVAL,
		    "domino_relay_post: a URL and an event are needed");
	if (ev->payload == NULL)
		return conn_err(DOMINO_EINVAL, "event %llu carries no payload "
		    "(subscribe or read the log with payloads; events made "
		    "by `publish` have none)", (unsigned long long)ev->seq);
	if (o->secret != NULL && sodium_init() < 0)
		return conn_err(DOMINO_ENOMEM, "libsodium cannot start");
	for (size_t i = 0; i < ev->n_headers && rv == DOMINO_OK; i++) {
		const struct domino_header *h = &ev->headers[i];

		if (h->name == NULL || h->value == NULL || is_dropped(h->name))
			continue;
		have_ctype |= strcasecmp(h->name, "Content-Type") == 0;
		if (add_header(&hl, h->name, h->value) != 0)
			rv = DOMINO_ENOMEM;
	}
	/* curl would add its own Content-Type for a POST body, and an empty
	 * Expect keeps it from waiting for "100 Continue" on large bodies. */
	if (rv == DOMINO_OK && !have_ctype &&
	    add_header(&hl, "Content-Type", "application/json") != 0)
		rv = DOMINO_ENOMEM;
	if (rv == DOMINO_OK && add_header(&hl, "Expect", "") != 0)
		rv = DOMINO_ENOMEM;
	if (rv == DOMINO_OK && o->secret != NULL && *o->secret != '\0' &&
	    sign(&hl, ev, o->secret) != 0)
		rv = DOMINO_ENOMEM;
	if (rv != DOMINO_OK) {
		rv = conn_err(rv, "out of memory");
		goto out;
	}
	c = curl_easy_init();
	if (c == NULL) {
		rv = conn_err(DOMINO_ENOMEM, "cannot start a curl handle");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, o->url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)ev->payload);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)ev->payload_len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    (long)(o->timeout_ms > 0 ? o->timeout_ms : RELAY_TIMEOUT_DEFAULT));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	cc = curl_easy_perform(c);
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		rv = conn_err(DOMINO_ETIMEDOUT, "%s: %s", o->url,
		    *cerr ? cerr : curl_easy_strerror(cc));
		goto out;
	}
	if (cc == CURLE_OUT_OF_MEMORY) {
		rv = conn_err(DOMINO_ENOMEM, "out of memory");
		goto out;
	}
	if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL) {
		rv = conn_err(DOMINO_EINVAL, "%s: %s", o->url,
		    *cerr ? cerr : curl_easy_strerror(cc));
		goto out;
	}
	if (cc != CURLE_OK) {
		rv = conn_err(DOMINO_ETRANSPORT, "%s: %s", o->url,
		    *cerr ? cerr : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
out:
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_slist_free_all(hl);
	return conn_err_default(rv);
}
