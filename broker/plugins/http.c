/* SPDX-License-Identifier: MIT */
/*
 * The http callback plugin: one POST per delivery attempt with libcurl's
 * easy API on the calling worker thread. Bodies: `event` (CloudEvents
 * JSON), `raw` (the original webhook body with the forge's headers, a
 * relay) or `template`. Requests are signed the Standard Webhooks way when
 * a secret is set. The SSRF rule is enforced where libcurl opens each
 * socket, after DNS, so a name resolving to a private address is refused.
 *
 * Each worker thread keeps two libcurl handles, so connections to a
 * receiver are kept alive between deliveries (a new TCP connection per
 * delivery cost a third of the broker's CPU at 1,000 listeners). One handle
 * serves listeners that may reach private addresses, the other those that
 * may not: a reused connection skips the address check, so it must have
 * been opened under the same rule.
 *
 * It does not follow redirects, use proxies for listeners that may not
 * reach private addresses, or keep more of a response than the first bytes
 * of its body.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "addr.h"
#include "err.h"
#include "event.h"
#include "pconf.h"
#include "plugin.h"
#include "render.h"
#include "sign.h"
#include "version.h"

#define HTTP_TIMEOUT_DEFAULT_MS 10000
#define HTTP_TIMEOUT_MAX_MS (10u * 60 * 1000)
#define HTTP_CONNECT_MAX_MS 10000
#define HTTP_URL_MAX 4096
#define HTTP_HEADERS_MAX 32
#define HTTP_HEADER_NAME_MAX 128
#define HTTP_HEADER_VALUE_MAX 8192
/* Response bytes kept for history, and read before giving up on a body. */
#define HTTP_KEEP 400
#define HTTP_DISCARD_MAX (1u << 20)
/* Longest Retry-After honoured. */
#define HTTP_RETRY_AFTER_MAX_S (7 * 86400)

enum http_format { FMT_EVENT, FMT_RAW, FMT_TEMPLATE };

static const struct plugin_key http_keys[] = {
	{"url", 1, 0, "where to POST: http(s)://host/path"},
	{"format", 0, 0, "event (CloudEvents JSON, default), raw (the original webhook) or template"},
	{"template", 0, 0, "body with {{repo}}, {{ref}}, {{after}}, ... placeholders (format: template)"},
	{"secret", 0, 1, "Standard Webhooks signing key, or a list of keys while rotating (whsec_<base64> or text)"},
	/* Secret as a whole: it usually carries an Authorization token. */
	{"headers", 0, 1, "extra request headers, a map; values may use placeholders"},
	{"timeout", 0, 0, "per request, like 10s (default 10s)"},
	{NULL, 0, 0, NULL},
};

/* Headers never relayed or set from config: hop-by-hop ones and those
 * libcurl or the signature own. */
static const char *const reserved_headers[] = {
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "TE", "Trailer", "Trailers", "Transfer-Encoding",
	"Upgrade", "Content-Length", "Host", "Expect", "webhook-id",
	"webhook-timestamp", "webhook-signature", NULL,
};

static int
header_reserved(struct pstr name)
{
	for (size_t i = 0; reserved_headers[i] != NULL; i++)
		if (pstr_caseeq(name, reserved_headers[i]))
			return 1;
	return 0;
}

/* RFC 9110 token characters. */
static int
header_name_ok(struct pstr s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (s.n == 0 || s.n > HTTP_HEADER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != '\0' && strchr(extra, c))))
			return 0;
	}
	return 1;
}

/* No CR, LF or NUL: nothing that could end a header line early. */
static int
header_value_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return 0;
	return 1;
}

static int
get_format(const msgpack_object *cfg, enum http_format *fmt, char *err,
    size_t errlen)
{
	struct pstr s;
	int r = pconf_str(cfg, "format", &s);

	*fmt = FMT_EVENT;
	if (r == 0)
		return 0;
	if (r > 0 && pstr_eq(s, "event"))
		return 0;
	if (r > 0 && pstr_eq(s, "raw")) {
		*fmt = FMT_RAW;
		return 0;
	}
	if (r > 0 && pstr_eq(s, "template")) {
		*fmt = FMT_TEMPLATE;
		return 0;
	}
	return pconf_fail(err, errlen, "format",
	    "must be event, raw or template");
}

/* The configured secrets: 0 (*n may be 0), or -1 naming the bad one. */
static int
get_secrets(const msgpack_object *cfg, struct pstr *out, size_t *n,
    char *err, size_t errlen)
{
	const msgpack_object *v = pconf_get(cfg, "secret");
	char why[160], key[32];

	*n = 0;
	if (v == NULL)
		return 0;
	if (v->type == MSGPACK_OBJECT_STR) {
		out[0].p = v->via.str.ptr != NULL ? v->via.str.ptr : "";
		out[0].n = v->via.str.size;
		if (sign_secret_check(out[0], why, sizeof(why)) != 0)
			return pconf_fail(err, errlen, "secret", "%s", why);
		*n = 1;
		return 0;
	}
	if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0 ||
	    v->via.array.size > SIGN_SECRETS_MAX)
		return pconf_fail(err, errlen, "secret", "must be a string or a "
		    "list of 1 to %d strings", SIGN_SECRETS_MAX);
	for (uint32_t i = 0; i < v->via.array.size; i++) {
		const msgpack_object *e = &v->via.array.ptr[i];

		snprintf(key, sizeof(key), "secret[%u]", i);
		if (e->type != MSGPACK_OBJECT_STR)
			return pconf_fail(err, errlen, key, "must be a string");
		out[i].p = e->via.str.ptr != NULL ? e->via.str.ptr : "";
		out[i].n = e->via.str.size;
		if (sign_secret_check(out[i], why, sizeof(why)) != 0)
			return pconf_fail(err, errlen, key, "%s", why);
	}
	*n = v->via.array.size;
	return 0;
}

static int
check_url(struct pstr url, char *err, size_t errlen)
{
	CURLU *u = NULL;
	char *buf = NULL, *scheme = NULL, *host = NULL;
	int rv = -1;

	if (url.n == 0 || url.n > HTTP_URL_MAX || pstr_has_nul(url)) {
		pconf_fail(err, errlen, "url", "must be 1 to %d bytes",
		    HTTP_URL_MAX);
		goto out;
	}
	for (size_t i = 0; i < url.n; i++)
		if ((unsigned char)url.p[i] <= 0x20 || url.p[i] == 0x7f) {
			pconf_fail(err, errlen, "url", "has a space or "
			    "control character (percent-encode it)");
			goto out;
		}
	buf = strndup(url.p, url.n);
	u = curl_url();
	if (buf == NULL || u == NULL) {
		pconf_fail(err, errlen, "url", "out of memory");
		goto out;
	}
	if (strncasecmp(buf, "http://", 7) != 0 &&
	    strncasecmp(buf, "https://", 8) != 0) {
		pconf_fail(err, errlen, "url", "must start with http:// or "
		    "https://");
		goto out;
	}
	/* libcurl reads "http:///x" as host x; a person meant something
	 * else, so say so. */
	if (strchr("/?#", buf[strncasecmp(buf, "http://", 7) == 0 ? 7 : 8]) ||
	    curl_url_set(u, CURLUPART_URL, buf, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0') {
		pconf_fail(err, errlen, "url", "not a valid http(s)://host/... "
		    "URL");
		goto out;
	}
	rv = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	free(buf);
	return rv;
}

static int
check_headers(const msgpack_object *cfg, char *err, size_t errlen)
{
	const msgpack_object *h = pconf_get(cfg, "headers");
	char key[HTTP_HEADER_NAME_MAX + 16], why[256], sn[48];

	if (h == NULL)
		return 0;
	if (h->type != MSGPACK_OBJECT_MAP)
		return pconf_fail(err, errlen, "headers",
		    "must be a map of header names to strings");
	if (h->via.map.size > HTTP_HEADERS_MAX)
		return pconf_fail(err, errlen, "headers", "at most %d headers",
		    HTTP_HEADERS_MAX);
	for (uint32_t i = 0; i < h->via.map.size; i++) {
		const msgpack_object *k = &h->via.map.ptr[i].key;
		const msgpack_object *v = &h->via.map.ptr[i].val;
		struct pstr name;

		if (k->type != MSGPACK_OBJECT_STR)
			return pconf_fail(err, errlen, "headers",
			    "names must be strings");
		name.p = k->via.str.ptr != NULL ? k->via.str.ptr : "";
		name.n = k->via.str.size;
		if (!header_name_ok(name))
			return pconf_fail(err, errlen, "headers",
			    "'%s' is not a valid header name",
			    pstr_snippet(name, sn, sizeof(sn)));
		snprintf(key, sizeof(key), "headers.%.*s", (int)name.n, name.p);
		if (header_reserved(name))
			return pconf_fail(err, errlen, key, "set by domino or "
			    "libcurl, cannot be configured");
		if (v->type != MSGPACK_OBJECT_STR)
			return pconf_fail(err, errlen, key, "must be a string");
		if (v->via.str.size > HTTP_HEADER_VALUE_MAX ||
		    !header_value_ok(v->via.str.ptr, v->via.str.size))
			return pconf_fail(err, errlen, key, "at most %d bytes, "
			    "without line breaks", HTTP_HEADER_VALUE_MAX);
		if (render_template_check(v->via.str.ptr, v->via.str.size, why,
		    sizeof(why)) != 0)
			return pconf_fail(err, errlen, key, "%s", why);
	}
	return 0;
}

static int
http_validate(const msgpack_object *cfg, char *err, size_t errlen)
{
	struct pstr url, tpl, secrets[SIGN_SECRETS_MAX];
	enum http_format fmt;
	uint64_t ms;
	size_t n;
	int r;
	char why[256];

	r = pconf_str(cfg, "url", &url);
	if (r == 0)
		return pconf_fail(err, errlen, "url", "required");
	if (r < 0)
		return pconf_fail(err, errlen, "url", "must be a string");
	if (check_url(url, err, errlen) != 0 ||
	    get_format(cfg, &fmt, err, errlen) != 0)
		return -1;
	r = pconf_str(cfg, "template", &tpl);
	if (r < 0)
		return pconf_fail(err, errlen, "template", "must be a string");
	if (fmt == FMT_TEMPLATE && r == 0)
		return pconf_fail(err, errlen, "template",
		    "required with format: template");
	if (fmt != FMT_TEMPLATE && r > 0)
		return pconf_fail(err, errlen, "template",
		    "only used with format: template");
	if (r > 0 && tpl.n > RENDER_TEMPLATE_MAX)
		return pconf_fail(err, errlen, "template", "at most %u bytes",
		    RENDER_TEMPLATE_MAX);
	if (r > 0 && render_template_check(tpl.p, tpl.n, why, sizeof(why)) != 0)
		return pconf_fail(err, errlen, "template", "%s", why);
	if (pconf_duration_ms(cfg, "timeout", HTTP_TIMEOUT_DEFAULT_MS,
	    HTTP_TIMEOUT_MAX_MS, &ms, err, errlen) != 0)
		return -1;
	if (check_headers(cfg, err, errlen) != 0)
		return -1;
	return get_secrets(cfg, secrets, &n, err, errlen);
}

/* Delivery. */

struct http_call {
	int allow_private;
	const char *refused;          /* why a connect was refused */
	char refused_addr[INET6_ADDRSTRLEN];
	char keep[HTTP_KEEP];         /* first bytes of the response body */
	size_t kept, seen;
	int discarded;                /* stopped reading a huge body */
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_call *c = arg;
	size_t n = size * nmemb, take;

	take = n < HTTP_KEEP - c->kept ? n : HTTP_KEEP - c->kept;
	memcpy(c->keep + c->kept, p, take);
	c->kept += take;
	c->seen += n;
	if (c->seen > HTTP_DISCARD_MAX) {
		c->discarded = 1;
		return 0; /* abort: the status is known, the rest is noise */
	}
	return n;
}

static curl_socket_t
on_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct http_call *c = arg;
	const void *ip = NULL;
	const char *why;

	(void)purpose;
	if (!c->allow_private) {
		why = addr_forbidden(&a->addr, a->addrlen);
		if (why != NULL) {
			c->refused = why;
			if (a->family == AF_INET)
				ip = &((const struct sockaddr_in *)(const void *)
				    &a->addr)->sin_addr;
			else if (a->family == AF_INET6)
				ip = &((const struct sockaddr_in6 *)(const void *)
				    &a->addr)->sin6_addr;
			if (ip == NULL || inet_ntop(a->family, ip,
			    c->refused_addr, sizeof(c->refused_addr)) == NULL)
				snprintf(c->refused_addr,
				    sizeof(c->refused_addr), "?");
			return CURL_SOCKET_BAD;
		}
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Append "Name: value" (or "Name;" for an empty value, libcurl's way). */
static int
add_header(struct curl_slist **list, const char *name, size_t nn,
    const char *value, size_t vn)
{
	struct curl_slist *l;
	char *line;

	if (!header_value_ok(value, vn))
		return DOMINO_OK; /* never split a header line: drop it */
	line = malloc(nn + vn + 3);
	if (line == NULL)
		return DOMINO_ENOMEM;
	memcpy(line, name, nn);
	if (vn == 0) {
		line[nn] = ';';
		line[nn + 1] = '\0';
	} else {
		memcpy(line + nn, ": ", 2);
		memcpy(line + nn + 2, value, vn);
		line[nn + 2 + vn] = '\0';
	}
	l = curl_slist_append(*list, line);
	free(line);
	if (l == NULL)
		return DOMINO_ENOMEM;
	*list = l;
	return DOMINO_OK;
}

/* Whether the config's headers map sets name. */
static int
config_sets(const msgpack_object *hdrs, const char *name)
{
	if (hdrs == NULL || hdrs->type != MSGPACK_OBJECT_MAP)
		return 0;
	for (uint32_t i = 0; i < hdrs->via.map.size; i++) {
		const msgpack_object *k = &hdrs->via.map.ptr[i].key;
		struct pstr s = {k->via.str.ptr ? k->via.str.ptr : "",
		    k->via.str.size};

		if (k->type == MSGPACK_OBJECT_STR && pstr_caseeq(s, name))
			return 1;
	}
	return 0;
}

/* The request headers, except the signature. */
static int
build_headers(const struct plugin_job *job, enum http_format fmt,
    const msgpack_object *hdrs, struct curl_slist **list)
{
	const struct domino_event *ev = job->ev;
	const char *ctype = "application/json", *v;
	char *val = NULL;
	size_t vlen;
	int rv = DOMINO_OK;

	if (fmt == FMT_EVENT)
		ctype = "application/cloudevents+json";
	if (fmt == FMT_RAW) {
		v = domino_event_header(ev, "Content-Type");
		if (v != NULL && *v != '\0')
			ctype = v;
		for (size_t i = 0; rv == DOMINO_OK && i < ev->n_headers; i++) {
			const struct domino_header *h = &ev->headers[i];
			struct pstr name;

			if (h->name == NULL || h->value == NULL)
				continue;
			name.p = h->name;
			name.n = strlen(h->name);
			if (!header_name_ok(name) || header_reserved(name) ||
			    pstr_caseeq(name, "Content-Type") ||
			    config_sets(hdrs, h->name))
				continue;
			rv = add_header(list, h->name, name.n, h->value,
			    strlen(h->value));
		}
	}
	if (rv == DOMINO_OK && !config_sets(hdrs, "Content-Type"))
		rv = add_header(list, "Content-Type", 12, ctype, strlen(ctype));
	/* No "Expect: 100-continue" round trip for large bodies
	 * ("Expect:" tells libcurl to leave the header out). */
	if (rv == DOMINO_OK) {
		struct curl_slist *l = curl_slist_append(*list, "Expect:");
		if (l == NULL)
			rv = DOMINO_ENOMEM;
		else
			*list = l;
	}
	for (uint32_t i = 0; rv == DOMINO_OK && hdrs != NULL &&
	    hdrs->type == MSGPACK_OBJECT_MAP && i < hdrs->via.map.size; i++) {
		const msgpack_object *k = &hdrs->via.map.ptr[i].key;
		const msgpack_object *o = &hdrs->via.map.ptr[i].val;
		struct pstr name;

		if (k->type != MSGPACK_OBJECT_STR || o->type != MSGPACK_OBJECT_STR)
			continue;
		name.p = k->via.str.ptr != NULL ? k->via.str.ptr : "";
		name.n = k->via.str.size;
		if (!header_name_ok(name) || header_reserved(name))
			continue;
		rv = render_template(o->via.str.ptr ? o->via.str.ptr : "",
		    o->via.str.size, job, HTTP_HEADER_VALUE_MAX, &val, &vlen);
		if (rv == DOMINO_OK)
			rv = add_header(list, name.p, name.n, val, vlen);
		free(val);
		val = NULL;
	}
	return rv;
}

/* Printable text for history: control bytes become spaces. */
static void
put_detail(struct plugin_result *res, const char *prefix, const char *body,
    size_t n)
{
	size_t k;

	snprintf(res->detail, sizeof(res->detail), "%s", prefix);
	k = strlen(res->detail);
	for (size_t i = 0; i < n && k + 1 < sizeof(res->detail); i++) {
		unsigned char c = (unsigned char)body[i];
		res->detail[k++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	res->detail[k] = '\0';
}

static void
judge_status(CURL *h, long code, struct http_call *c,
    struct plugin_result *res)
{
	curl_off_t ra = 0;
	char *loc = NULL;
	char prefix[160];

	res->status = (int)code;
	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK &&
	    ra > 0)
		res->retry_after_ms = (ra > HTTP_RETRY_AFTER_MAX_S ?
		    HTTP_RETRY_AFTER_MAX_S : (int64_t)ra) * 1000;
	if (code >= 200 && code < 300)
		res->outcome = PLUGIN_OK;
	else if (code == 410)
		res->outcome = PLUGIN_GONE;
	else if (code == 408 || code == 429 || (code >= 500 && code < 600))
		res->outcome = PLUGIN_RETRY;
	else
		res->outcome = PLUGIN_FAIL;
	if (code >= 300 && code < 400 &&
	    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
	    loc != NULL)
		snprintf(prefix, sizeof(prefix), "HTTP %ld (redirect to %.100s "
		    "not followed): ", code, loc);
	else
		snprintf(prefix, sizeof(prefix), "HTTP %ld: ", code);
	put_detail(res, prefix, c->keep, c->kept);
}

static void
judge_error(CURLcode cc, const char *ebuf, uint64_t timeout_ms,
    struct http_call *c, struct plugin_result *res)
{
	const char *msg = ebuf[0] ? ebuf : curl_easy_strerror(cc);

	res->outcome = PLUGIN_RETRY;
	if (c->refused != NULL && (cc == CURLE_COULDNT_CONNECT ||
	    cc == CURLE_OPERATION_TIMEDOUT)) {
		res->outcome = PLUGIN_FAIL;
		snprintf(res->detail, sizeof(res->detail), "refused to connect "
		    "to %s: %s (this listener may not reach loopback, "
		    "link-local or private addresses)", c->refused_addr,
		    c->refused);
		return;
	}
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(res->detail, sizeof(res->detail), "timed out after "
		    "%llu ms: %.400s", (unsigned long long)timeout_ms, msg);
		return;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_BAD_CONTENT_ENCODING:
		res->outcome = PLUGIN_FAIL;
		break;
	default:
		break;
	}
	snprintf(res->detail, sizeof(res->detail), "%.450s", msg);
}

/* The calling thread's handles, freed when the thread ends. */
struct handles {
	CURL *h[2]; /* [allow_private] */
};

static pthread_key_t handles_key;
static pthread_once_t handles_once = PTHREAD_ONCE_INIT;
static int handles_ok;

static void
handles_free(void *arg)
{
	struct handles *hs = arg;

	curl_easy_cleanup(hs->h[0]);
	curl_easy_cleanup(hs->h[1]);
	free(hs);
}

static void
handles_init(void)
{
	handles_ok = pthread_key_create(&handles_key, handles_free) == 0;
}

/*
 * A handle for this thread and rule, with no options set (http_deliver
 * resets it after each use) but its connections kept; NULL when out of
 * memory.
 */
static CURL *
thread_handle(int allow_private)
{
	struct handles *hs;
	int i = allow_private != 0;

	pthread_once(&handles_once, handles_init);
	if (!handles_ok)
		return NULL;
	if ((hs = pthread_getspecific(handles_key)) == NULL) {
		if ((hs = calloc(1, sizeof(*hs))) == NULL)
			return NULL;
		if (pthread_setspecific(handles_key, hs) != 0) {
			free(hs);
			return NULL;
		}
	}
	if (hs->h[i] == NULL)
		hs->h[i] = curl_easy_init();
	return hs->h[i];
}

static void
http_deliver(const struct plugin_job *job, struct plugin_result *res)
{
	const msgpack_object *cfg = job->config;
	struct http_call call = {.allow_private = job->allow_private};
	struct pstr secrets[SIGN_SECRETS_MAX], tpl;
	struct curl_slist *hl = NULL, *l;
	enum http_format fmt;
	CURL *h = NULL;
	CURLcode cc;
	char *url = NULL, *body = NULL;
	const void *data = "";
	size_t n_secrets = 0, len = 0;
	uint64_t timeout_ms;
	char ebuf[CURL_ERROR_SIZE], sig[SIGN_HEADER_MAX], line[64 + SIGN_HEADER_MAX];
	long code = 0;
	int rv = DOMINO_OK;

	res->outcome = PLUGIN_FAIL;
	res->status = -1;
	res->retry_after_ms = -1;
	res->detail[0] = '\0';
	ebuf[0] = '\0';
	/* Checked at registration; a config that changed since is a fail. */
	url = pconf_strdup(cfg, "url");
	if (url == NULL || get_format(cfg, &fmt, res->detail,
	    sizeof(res->detail)) != 0 || pconf_duration_ms(cfg, "timeout",
	    HTTP_TIMEOUT_DEFAULT_MS, HTTP_TIMEOUT_MAX_MS, &timeout_ms,
	    res->detail, sizeof(res->detail)) != 0 || get_secrets(cfg,
	    secrets, &n_secrets, res->detail, sizeof(res->detail)) != 0) {
		if (res->detail[0] == '\0')
			snprintf(res->detail, sizeof(res->detail),
			    "callback.config.url: missing or not a string");
		goto out;
	}

	switch (fmt) {
	case FMT_RAW:
		data = job->ev->payload != NULL ? (const void *)job->ev->payload : "";
		len = job->ev->payload != NULL ? job->ev->payload_len : 0;
		break;
	case FMT_TEMPLATE:
		if (pconf_str(cfg, "template", &tpl) != 1) {
			snprintf(res->detail, sizeof(res->detail),
			    "callback.config.template: missing");
			goto out;
		}
		rv = render_template(tpl.p, tpl.n, job, RENDER_MAX, &body, &len);
		data = body;
		break;
	default:
		rv = render_cloudevent(job, &body, &len);
		data = body;
		break;
	}
	if (fmt != FMT_RAW && rv != DOMINO_OK) {
		snprintf(res->detail, sizeof(res->detail), "cannot render the "
		    "body: %s", domino_strerror(rv));
		if (rv == DOMINO_ENOMEM)
			res->outcome = PLUGIN_RETRY;
		goto out;
	}

	rv = build_headers(job, fmt, pconf_get(cfg, "headers"), &hl);
	if (rv == DOMINO_OK && n_secrets > 0) {
		int64_t now = (int64_t)time(NULL);
		const char *id = job->delivery_id ? job->delivery_id : "";

		rv = sign_header(secrets, n_secrets, id, now, data, len, sig,
		    sizeof(sig));
		if (rv == DOMINO_OK)
			rv = add_header(&hl, "webhook-id", 10, id, strlen(id));
		snprintf(line, sizeof(line), "%lld", (long long)now);
		if (rv == DOMINO_OK)
			rv = add_header(&hl, "webhook-timestamp", 17, line,
			    strlen(line));
		if (rv == DOMINO_OK)
			rv = add_header(&hl, "webhook-signature", 17, sig,
			    strlen(sig));
	}
	if (rv != DOMINO_OK) {
		snprintf(res->detail, sizeof(res->detail), "cannot build the "
		    "request: %s", domino_strerror(rv));
		res->outcome = rv == DOMINO_ENOMEM ? PLUGIN_RETRY : PLUGIN_FAIL;
		goto out;
	}
	if (fmt != FMT_RAW && !config_sets(pconf_get(cfg, "headers"),
	    "User-Agent")) {
		l = curl_slist_append(hl, "User-Agent: domino/" DOMINO_VERSION);
		if (l != NULL)
			hl = l;
	}

	h = thread_handle(job->allow_private);
	if (h == NULL) {
		snprintf(res->detail, sizeof(res->detail), "curl_easy_init failed");
		res->outcome = PLUGIN_RETRY;
		goto out;
	}
	cc = CURLE_OK;
	cc |= curl_easy_setopt(h, CURLOPT_URL, url);
	cc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	cc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	cc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	cc |= curl_easy_setopt(h, CURLOPT_POST, 1L);
	cc |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
	cc |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	cc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	cc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	cc |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(timeout_ms < HTTP_CONNECT_MAX_MS ? timeout_ms :
	    HTTP_CONNECT_MAX_MS));
	cc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	cc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, &call);
	cc |= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open);
	cc |= curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &call);
	cc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	/* A proxy would make the connect-time address check meaningless. */
	if (!job->allow_private)
		cc |= curl_easy_setopt(h, CURLOPT_PROXY, "");
	if (cc != CURLE_OK) {
		snprintf(res->detail, sizeof(res->detail), "libcurl refused an "
		    "option (too old a libcurl?)");
		goto out;
	}
	cc = curl_easy_perform(h);
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK)
		code = 0;
	if (cc == CURLE_OK || (cc == CURLE_WRITE_ERROR && call.discarded &&
	    code > 0))
		judge_status(h, code, &call, res);
	else
		judge_error(cc, ebuf, timeout_ms, &call, res);
out:
	/* The handle keeps pointers to these; leave it holding none. */
	if (h != NULL)
		curl_easy_reset(h);
	curl_slist_free_all(hl);
	free(body);
	free(url);
}

const struct plugin_desc plugin_http = {
	.name = "http",
	.summary = "POST the event to a URL",
	.keys = http_keys,
	.validate = http_validate,
	.deliver = http_deliver,
};
