/* SPDX-License-Identifier: MIT */
/*
 * The forge registry and the helpers every forge shares: signature and
 * token checks (constant time, OpenSSL libcrypto), body parsing (cJSON,
 * JSON or GitHub/Gitea's form-encoded "payload="), repo URL
 * canonicalization and Depends-On scanning. Nothing here knows a forge's
 * payload; the forges' own files do. Nothing here logs: errors go back in
 * a struct forge_err for ingest to answer and count.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "forge.h"

extern const struct forge_ops forge_github;
extern const struct forge_ops forge_gitlab;
extern const struct forge_ops forge_gitea;
extern const struct forge_ops forge_bitbucket;
extern const struct forge_ops forge_gerrit;
extern const struct forge_ops forge_generic;

const struct forge_ops *const forge_all[] = {
	&forge_github,
	&forge_gitlab,
	&forge_gitea,
	&forge_bitbucket,
	&forge_gerrit,
	&forge_generic,
	NULL,
};

/* A PR description is not a dependency list: bound what one may add. */
#define DEPENDS_ON_MAX 32

const struct forge_ops *
forge_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; forge_all[i] != NULL; i++)
		if (strcmp(forge_all[i]->name, name) == 0)
			return forge_all[i];
	return NULL;
}

void
forge_out_clear(struct forge_out *out)
{
	for (size_t i = 0; i < out->n; i++)
		domino_event_clear(&out->ev[i]);
	out->n = 0;
}

struct domino_event *
forge_out_next(struct forge_out *out)
{
	struct domino_event *ev;

	if (out->n >= FORGE_MAX_EVENTS)
		return NULL;
	ev = &out->ev[out->n++];
	domino_event_init(ev);
	return ev;
}

int
forge_fail(struct forge_err *err, int status, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
forge_nomem(struct forge_err *err)
{
	return forge_fail(err, 500, "no_memory", "out of memory");
}

/* Setters. */

int
forge_put(char **member, const char *s)
{
	return domino_event_set(member, s, (size_t)-1) == 0 ? 0 : -1;
}

int
forge_putf(char **member, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	free(*member);
	*member = s;
	return 0;
}

int
forge_put_ref(char **member, const char *prefix, const char *name)
{
	if (name == NULL)
		return forge_put(member, NULL);
	if (strncmp(name, "refs/", 5) == 0)
		return forge_put(member, name);
	return forge_putf(member, "%s%s", prefix, name);
}

int
forge_is_zero_sha(const char *sha)
{
	if (sha == NULL || *sha == '\0')
		return 0;
	return sha[strspn(sha, "0")] == '\0';
}

int
forge_type_valid(const char *t)
{
	static const char *const types[] = {
		"push", "ref.create", "ref.delete", "tag", "pr.open",
		"pr.update", "pr.merge", "pr.close", "change.patchset",
		"change.merged", "release", "ping", "other", NULL,
	};

	if (t == NULL)
		return 0;
	for (size_t i = 0; types[i] != NULL; i++)
		if (strcmp(types[i], t) == 0)
			return 1;
	return 0;
}

/* Headers. */

const char *
forge_header(const struct forge_req *req, const char *name)
{
	if (req == NULL || req->header == NULL)
		return NULL;
	return req->header(req->ctx, name);
}

int
forge_keep_headers(const struct forge_req *req, struct domino_event *ev,
    const char *const *names)
{
	const char *v;

	for (size_t i = 0; names[i] != NULL; i++) {
		v = forge_header(req, names[i]);
		if (v != NULL && domino_event_add_header(ev, names[i], v) != 0)
			return -1;
	}
	return 0;
}

/* Verification. */

static int
hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
forge_hmac_ok(const char *secret, const uint8_t *body, size_t len,
    const char *prefix, const char *got)
{
	static const uint8_t empty[1];
	uint8_t want[EVP_MAX_MD_SIZE], sig[SHA256_DIGEST_LENGTH];
	unsigned int want_len = 0;
	size_t plen;

	if (secret == NULL || got == NULL)
		return 0;
	if (prefix != NULL) {
		plen = strlen(prefix);
		if (strncasecmp(got, prefix, plen) != 0)
			return 0;
		got += plen;
	}
	/* The hex is the sender's input, not a secret: decoding may branch. */
	if (strlen(got) != 2 * sizeof(sig))
		return 0;
	for (size_t i = 0; i < sizeof(sig); i++) {
		int hi = hex_nibble((unsigned char)got[2 * i]);
		int lo = hex_nibble((unsigned char)got[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return 0;
		sig[i] = (uint8_t)(hi << 4 | lo);
	}
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    body != NULL ? body : empty, len, want, &want_len) == NULL ||
	    want_len != sizeof(sig))
		return 0;
	return CRYPTO_memcmp(want, sig, sizeof(sig)) == 0;
}

int
forge_token_ok(const char *want, const char *got)
{
	uint8_t a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];

	/* An empty configured token would accept anyone who sends "". */
	if (want == NULL || got == NULL || *want == '\0')
		return 0;
	/* Comparing digests hides the length as well as the content. */
	SHA256((const unsigned char *)want, strlen(want), a);
	SHA256((const unsigned char *)got, strlen(got), b);
	return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

static const char *
pick_key(const char *first, const char *second)
{
	if (first != NULL && *first != '\0')
		return first;
	if (second != NULL && *second != '\0')
		return second;
	return NULL;
}

static int
no_key(struct forge_err *err, const char *source)
{
	return forge_fail(err, 401, "no_secret_configured",
	    "source %s has no secret: set sources.%s.secret in the config",
	    source, source);
}

int
forge_check_hmac(const struct forge_req *req, const struct forge_cred *cred,
    const char *source, const char *header, const char *prefix,
    struct forge_err *err)
{
	const char *key, *got;

	key = pick_key(cred ? cred->secret : NULL, cred ? cred->token : NULL);
	if (key == NULL)
		return no_key(err, source);
	got = forge_header(req, header);
	if (got == NULL)
		return forge_fail(err, 401, "missing_signature",
		    "no %s header: set the webhook secret on the %s side",
		    header, source);
	if (!forge_hmac_ok(key, req->body, req->len, prefix, got))
		return forge_fail(err, 401, "bad_signature",
		    "%s does not match the body: check the secret of "
		    "sources.%s", header, source);
	return 0;
}

int
forge_check_token(const struct forge_req *req, const struct forge_cred *cred,
    const char *source, const char *header, struct forge_err *err)
{
	char query[512];
	const char *key, *got = NULL, *auth;

	key = pick_key(cred ? cred->token : NULL, cred ? cred->secret : NULL);
	if (key == NULL)
		return no_key(err, source);
	if (header != NULL)
		got = forge_header(req, header);
	auth = forge_header(req, "Authorization");
	if (got == NULL && auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		got = auth + 7 + strspn(auth + 7, " ");
	if (got == NULL && forge_query_get(req->query, "token", query,
	    sizeof(query)))
		got = query;
	if (got == NULL)
		return forge_fail(err, 401, "missing_signature",
		    "no token: send %s%s, Authorization: Bearer or ?token=",
		    header ? header : "", header ? "," : "");
	if (!forge_token_ok(key, got))
		return forge_fail(err, 401, "bad_signature",
		    "the token does not match sources.%s", source);
	return 0;
}

/* URLs. */

/* Host span and path start of a URL, clone URL or bare "host/path". */
static int
url_split(const char *url, const char **host, size_t *host_len,
    const char **path)
{
	const char *s = url, *auth_end, *at, *colon, *p;

	if (url == NULL)
		return -1;
	p = strstr(s, "://");
	if (p != NULL) {
		s = p + 3;
		auth_end = s + strcspn(s, "/?#");
	} else {
		/* scp-like "git@host:owner/name": ':' before any '/' and not
		 * followed by a port number. */
		auth_end = s + strcspn(s, "/?#");
		colon = memchr(s, ':', (size_t)(auth_end - s));
		if (colon != NULL && colon[1] != '\0' &&
		    colon[1 + strspn(colon + 1, "0123456789")] != '/')
			auth_end = colon;
	}
	at = NULL;
	for (p = s; p < auth_end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL)
		s = at + 1;
	if (*s == '[') {
		p = memchr(s, ']', (size_t)(auth_end - s));
		p = p != NULL ? p + 1 : auth_end;
	} else {
		p = memchr(s, ':', (size_t)(auth_end - s));
		if (p == NULL)
			p = auth_end;
	}
	if (p == s)
		return -1;
	*host = s;
	*host_len = (size_t)(p - s);
	*path = *auth_end == ':' ? auth_end + 1 : auth_end;
	return 0;
}

char *
forge_url_host(const char *url)
{
	const char *host, *path;
	size_t n;
	char *s;

	if (url_split(url, &host, &n, &path) != 0)
		return NULL;
	s = strndup(host, n);
	for (size_t i = 0; s != NULL && s[i] != '\0'; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	return s;
}

char *
forge_repo_from_url(const char *url)
{
	const char *host, *path, *seg, *end;
	size_t host_len, len, n;
	char *out = NULL;

	if (url_split(url, &host, &host_len, &path) != 0)
		return NULL;
	end = path + strcspn(path, "?#");
	out = malloc(host_len + (size_t)(end - path) + 2);
	if (out == NULL)
		return NULL;
	for (len = 0; len < host_len; len++)
		out[len] = (char)tolower((unsigned char)host[len]);
	/* Copy the path's non-empty segments, so "//" and a trailing '/'
	 * canonicalize away. */
	for (seg = path; seg < end; seg += n + 1) {
		n = strcspn(seg, "/?#");
		if (seg + n > end)
			n = (size_t)(end - seg);
		if (n == 0)
			continue;
		out[len++] = '/';
		memcpy(out + len, seg, n);
		len += n;
	}
	if (len == host_len) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	if (len > host_len + 5 && strcasecmp(out + len - 4, ".git") == 0)
		out[len - 4] = '\0';
	return out;
}

int
forge_set_repo(struct domino_event *ev, const char *url, const char *field,
    struct forge_err *err)
{
	char *repo;

	if (url == NULL || *url == '\0')
		return forge_fail(err, 422, "missing_field",
		    "missing field %s (the repository's URL)", field);
	repo = forge_repo_from_url(url);
	if (repo == NULL)
		return forge_fail(err, 422, "missing_field",
		    "field %s is not a repository URL", field);
	free(ev->repo);
	ev->repo = repo;
	return 0;
}

/* Query and form strings. */

static size_t
url_decode(char *dst, size_t size, const char *src, size_t n)
{
	size_t o = 0;
	int hi, lo;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		hi = -1;
		lo = -1;
		if (src[i] == '%' && i + 2 < n) {
			hi = hex_nibble((unsigned char)src[i + 1]);
			lo = hex_nibble((unsigned char)src[i + 2]);
		}
		if (src[i] == '+') {
			dst[o++] = ' ';
		} else if (src[i] == '%' && hi >= 0 && lo >= 0) {
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			/* A stray '%' stays as it is, like most decoders. */
			dst[o++] = src[i];
		}
	}
	dst[o] = '\0';
	return o;
}

/* Start and length of key's raw value in a&b=c form text, or NULL. */
static const char *
form_find(const char *s, size_t len, const char *key, size_t *vlen)
{
	size_t klen = strlen(key), i = 0, n;

	while (i < len) {
		const char *amp = memchr(s + i, '&', len - i);

		n = amp != NULL ? (size_t)(amp - (s + i)) : len - i;
		if (n > klen && memcmp(s + i, key, klen) == 0 &&
		    s[i + klen] == '=') {
			*vlen = n - klen - 1;
			return s + i + klen + 1;
		}
		i += n + 1;
	}
	return NULL;
}

int
forge_query_get(const char *query, const char *key, char *buf, size_t size)
{
	const char *v;
	size_t n;

	if (query == NULL || size == 0)
		return 0;
	v = form_find(query, strlen(query), key, &n);
	if (v == NULL || n >= size)
		return 0;
	/* A decoded NUL would cut a token short: "tok%00junk" is no "tok". */
	return url_decode(buf, size, v, n) == strlen(buf);
}

/* Bodies. */

enum body_kind { BODY_JSON, BODY_FORM, BODY_OTHER };

static enum body_kind
body_kind(const char *content_type, char *media, size_t size)
{
	size_t n, i;

	media[0] = '\0';
	if (content_type == NULL)
		return BODY_JSON;
	content_type += strspn(content_type, " \t");
	n = strcspn(content_type, ";");
	while (n > 0 && isspace((unsigned char)content_type[n - 1]))
		n--;
	if (n == 0)
		return BODY_JSON;
	for (i = 0; i < n && i + 1 < size; i++)
		media[i] = (char)tolower((unsigned char)content_type[i]);
	media[i] = '\0';
	if (strcmp(media, "application/json") == 0 ||
	    strcmp(media, "text/json") == 0 ||
	    (i > 5 && strcmp(media + i - 5, "+json") == 0))
		return BODY_JSON;
	if (strcmp(media, "application/x-www-form-urlencoded") == 0)
		return BODY_FORM;
	return BODY_OTHER;
}

static void
line_col(const char *text, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

struct cJSON *
forge_parse_json(const struct forge_req *req, struct forge_err *err)
{
	char media[64], *form = NULL;
	const char *text = (const char *)req->body, *end = NULL, *v;
	size_t len = req->len, off, line, col, vlen;
	cJSON *root = NULL;

	if (text == NULL)
		len = 0;
	switch (body_kind(req->content_type, media, sizeof(media))) {
	case BODY_OTHER:
		forge_fail(err, 415, "not_json",
		    "content type %s is not JSON: send application/json",
		    media);
		goto out;
	case BODY_FORM:
		v = len > 0 ? form_find(text, len, "payload", &vlen) : NULL;
		if (v == NULL) {
			forge_fail(err, 400, "bad_json",
			    "form-encoded body has no payload= field");
			goto out;
		}
		form = malloc(vlen + 1);
		if (form == NULL) {
			forge_nomem(err);
			goto out;
		}
		len = url_decode(form, vlen + 1, v, vlen);
		text = form;
		break;
	case BODY_JSON:
		break;
	}
	if (text == NULL || len == 0) {
		forge_fail(err, 400, "bad_json", "empty body: expected JSON");
		goto out;
	}
	/* Length-bounded parse: the body is not NUL-terminated. cJSON caps
	 * nesting at CJSON_NESTING_LIMIT, so depth is bounded too. */
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	off = end != NULL && end >= text ? (size_t)(end - text) : 0;
	if (off > len)
		off = len;
	if (root == NULL) {
		line_col(text, off, &line, &col);
		forge_fail(err, 400, "bad_json",
		    "malformed JSON at line %zu column %zu (byte %zu)",
		    line, col, off);
		goto out;
	}
	while (off < len && isspace((unsigned char)text[off]))
		off++;
	if (off < len) {
		line_col(text, off, &line, &col);
		forge_fail(err, 400, "bad_json",
		    "unexpected data after the JSON value at line %zu "
		    "column %zu (byte %zu)", line, col, off);
		cJSON_Delete(root);
		root = NULL;
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		forge_fail(err, 400, "bad_json", "the body is JSON but not "
		    "an object");
		cJSON_Delete(root);
		root = NULL;
	}
out:
	free(form);
	return root;
}

const struct cJSON *
forge_json_get(const struct cJSON *root, const char *path)
{
	const cJSON *node = root;
	char part[128];
	size_t n;

	if (root == NULL || path == NULL)
		return NULL;
	while (node != NULL && *path != '\0') {
		n = strcspn(path, ".");
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		if (cJSON_IsArray(node) && n > 0 &&
		    part[strspn(part, "0123456789")] == '\0')
			node = cJSON_GetArrayItem(node, atoi(part));
		else if (cJSON_IsObject(node))
			node = cJSON_GetObjectItemCaseSensitive(node, part);
		else
			node = NULL;
		path += n;
		if (*path == '.')
			path++;
	}
	return node;
}

const char *
forge_json_str(const struct cJSON *root, const char *path)
{
	const cJSON *node = forge_json_get(root, path);

	return cJSON_IsString(node) ? node->valuestring : NULL;
}

int
forge_json_true(const struct cJSON *root, const char *path)
{
	return cJSON_IsTrue(forge_json_get(root, path));
}

int
forge_json_scalar(const struct cJSON *root, const char *path, char *buf,
    size_t size)
{
	const cJSON *node = forge_json_get(root, path);
	int n;

	if (cJSON_IsString(node))
		n = snprintf(buf, size, "%s", node->valuestring);
	else if (cJSON_IsNumber(node) && node->valuedouble >= -1e15 &&
	    node->valuedouble <= 1e15)
		n = snprintf(buf, size, "%.0f", node->valuedouble);
	else
		return 0;
	return n >= 0 && (size_t)n < size;
}

/* Depends-On. */

static int
depends_on_has(const struct domino_event *ev, const char *s, size_t n)
{
	for (size_t i = 0; i < ev->n_depends_on; i++)
		if (strlen(ev->depends_on[i]) == n &&
		    memcmp(ev->depends_on[i], s, n) == 0)
			return 1;
	return 0;
}

int
forge_scan_depends_on(struct domino_event *ev, const char *text)
{
	static const char key[] = "depends-on:";
	const char *line, *v;
	size_t n, vlen;
	char *ref = NULL;
	int rc = 0;

	for (line = text; line != NULL && *line != '\0'; line += n) {
		n = strcspn(line, "\n");
		v = line + strspn(line, " \t");
		if (line[n] == '\n')
			n++;
		if (strncasecmp(v, key, sizeof(key) - 1) != 0)
			continue;
		v += sizeof(key) - 1;
		v += strspn(v, " \t");
		vlen = strcspn(v, "\r\n");
		while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
			vlen--;
		if (vlen == 0 || depends_on_has(ev, v, vlen))
			continue;
		if (ev->n_depends_on >= DEPENDS_ON_MAX)
			break;
		ref = strndup(v, vlen);
		if (ref == NULL || domino_event_add_depends_on(ev, ref) != 0) {
			rc = -1;
			goto out;
		}
		free(ref);
		ref = NULL;
	}
out:
	free(ref);
	return rc;
}
