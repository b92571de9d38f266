/* SPDX-License-Identifier: MIT */
/*
 * Shared by the forge unit tests (test_forge_<name>.c): a fake HTTP
 * request with a header table, fixture loading from the shared webhook
 * fixtures, HMAC signing, and a check of one fixture's normalized event
 * against expected values. Header-only (static inline) so each test stays
 * one self-contained binary.
 */
#ifndef DOMINO_FORGE_TEST_H
#define DOMINO_FORGE_TEST_H

#include <criterion/criterion.h>
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "forge/forge.h"

#define TREQ_MAX_HEADERS 16

struct treq {
	struct forge_req req;
	const char *name[TREQ_MAX_HEADERS];
	const char *value[TREQ_MAX_HEADERS];
	size_t n;
	char *owned; /* a loaded fixture body */
};

static inline const char *
treq_lookup(void *ctx, const char *name)
{
	struct treq *t = ctx;

	for (size_t i = 0; i < t->n; i++)
		if (strcasecmp(t->name[i], name) == 0)
			return t->value[i];
	return NULL;
}

static inline void
treq_init(struct treq *t, const char *content_type, const void *body,
    size_t len)
{
	memset(t, 0, sizeof(*t));
	t->req.method = "POST";
	t->req.content_type = content_type;
	t->req.body = body;
	t->req.len = len;
	t->req.header = treq_lookup;
	t->req.ctx = t;
}

static inline void
treq_set(struct treq *t, const char *name, const char *value)
{
	cr_assert_lt(t->n, TREQ_MAX_HEADERS);
	t->name[t->n] = name;
	t->value[t->n] = value;
	t->n++;
}

static inline void
treq_free(struct treq *t)
{
	free(t->owned);
	t->owned = NULL;
}

/* Path of a fixture: $DOMINO_FIXTURES or ../shared/fixtures/webhooks. */
static inline char *
fixture_load(const char *forge, const char *file, size_t *len)
{
	const char *dir = getenv("DOMINO_FIXTURES");
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	if (dir == NULL)
		dir = "../shared/fixtures/webhooks";
	snprintf(path, sizeof(path), "%s/%s/%s", dir, forge, file);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open fixture %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A request carrying a fixture as its body. */
static inline void
treq_fixture(struct treq *t, const char *forge, const char *file,
    const char *content_type)
{
	size_t len;
	char *body = fixture_load(forge, file, &len);

	treq_init(t, content_type, body, len);
	t->owned = body;
}

/* "prefix" + lowercase hex HMAC-SHA256(secret, body) into out. */
static inline void
sign_hex(const char *secret, const void *body, size_t len,
    const char *prefix, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t o;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), body, len, md, &n);
	o = (size_t)snprintf(out, size, "%s", prefix ? prefix : "");
	for (unsigned int i = 0; i < n && o + 2 < size; i++, o += 2)
		snprintf(out + o, size - o, "%02x", md[i]);
}

/* "payload=" + the body urlencoded, as a form-type hook sends it. */
static inline char *
form_encode(const char *body, size_t len, size_t *out_len)
{
	static const char hex[] = "0123456789ABCDEF";
	char *s = malloc(8 + 3 * len + 1);
	size_t o = 0;

	cr_assert_not_null(s);
	o += (size_t)sprintf(s, "payload=");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)body[i];

		if (c == ' ') {
			s[o++] = '+';
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (c != 0 && strchr("-_.~", c) != NULL)) {
			s[o++] = (char)c;
		} else {
			s[o++] = '%';
			s[o++] = hex[c >> 4];
			s[o++] = hex[c & 15];
		}
	}
	s[o] = '\0';
	*out_len = o;
	return s;
}

#define expect_str(got, want, what) do { \
	const char *g_ = (got), *w_ = (want); \
	if (w_ == NULL) \
		cr_assert_null(g_, "%s: expected NULL, got \"%s\"", what, g_); \
	else { \
		cr_assert_not_null(g_, "%s: expected \"%s\", got NULL", what, \
		    w_); \
		cr_assert_str_eq(g_, w_, "%s: expected \"%s\", got \"%s\"", \
		    what, w_, g_); \
	} \
} while (0)

/* What a fixture must normalize to. */
struct expect {
	const char *event, *type, *repo, *ref, *before, *after, *actor;
};

static inline void
expect_event(const struct domino_event *ev, const struct expect *e,
    const char *file)
{
	char what[160];

#define F(m) (snprintf(what, sizeof(what), "%s: " #m, file), what)
	expect_str(ev->event, e->event, F(event));
	expect_str(ev->type, e->type, F(type));
	expect_str(ev->repo, e->repo, F(repo));
	expect_str(ev->ref, e->ref, F(ref));
	expect_str(ev->before, e->before, F(before));
	expect_str(ev->after, e->after, F(after));
	expect_str(ev->actor, e->actor, F(actor));
#undef F
}

/* Normalize req with ops and expect success with n events. */
static inline void
normalize_ok(const struct forge_ops *ops, struct treq *t,
    struct forge_out *out, size_t n)
{
	struct forge_err err = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ops->normalize(&t->req, out, &err);
	cr_assert_eq(rc, 0, "normalize failed: %d %s %s", err.status,
	    err.code, err.msg);
	cr_assert_eq(out->n, n, "expected %zu events, got %zu", n, out->n);
}

/* Normalize req and expect a refusal with status and code. */
static inline void
normalize_fails(const struct forge_ops *ops, struct treq *t, int status,
    const char *code, const char *msg_has)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct forge_err err = {0};
	int rc;

	cr_assert_not_null(out);
	rc = ops->normalize(&t->req, out, &err);
	forge_out_clear(out);
	free(out);
	cr_assert_eq(rc, -1, "expected a refusal (%s)", code);
	cr_assert_eq(err.status, status, "status %d, want %d (%s: %s)",
	    err.status, status, err.code, err.msg);
	cr_assert_str_eq(err.code, code, "code %s, want %s (%s)", err.code,
	    code, err.msg);
	if (msg_has != NULL)
		cr_assert_not_null(strstr(err.msg, msg_has),
		    "message \"%s\" does not name \"%s\"", err.msg, msg_has);
}

/* Verify req and expect status (0 for success) and code. */
static inline void
verify_is(const struct forge_ops *ops, struct treq *t,
    const struct forge_cred *cred, int status, const char *code)
{
	struct forge_err err = {0};
	int rc = ops->verify(&t->req, cred, &err);

	if (status == 0) {
		cr_assert_eq(rc, 0, "verify refused: %s %s", err.code, err.msg);
		return;
	}
	cr_assert_eq(rc, -1, "verify accepted, want %s", code);
	cr_assert_eq(err.status, status);
	cr_assert_str_eq(err.code, code, "code %s, want %s (%s)", err.code,
	    code, err.msg);
}

/*
 * One fixture through normalize, with the event header hdr set (when not
 * NULL), and its one event compared with e.
 */
static inline void
check_fixture(const struct forge_ops *ops, const char *forge,
    const char *file, const char *hdr, const char *hdr_value,
    const struct expect *e)
{
	struct forge_out *out = calloc(1, sizeof(*out));
	struct treq t;

	cr_assert_not_null(out);
	treq_fixture(&t, forge, file, "application/json");
	if (hdr != NULL)
		treq_set(&t, hdr, hdr_value);
	normalize_ok(ops, &t, out, 1);
	expect_event(&out->ev[0], e, file);
	forge_out_clear(out);
	free(out);
	treq_free(&t);
}

#endif
