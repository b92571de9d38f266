/* SPDX-License-Identifier: MIT */
/*
 * The forge interface: one ops table per SCM source (github, gitlab, ...),
 * each in its own file in broker/forge/, listed once in forge.c.
 *
 * A forge verifies a request (signature or token) and normalizes its body
 * into one or more events. It does not store, assign seqs, set the time,
 * the source name or the payload: ingest.c does that for every forge. It
 * never touches the network or the disk, so it is tested directly.
 */
#ifndef DOMINO_FORGE_H
#define DOMINO_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* What a forge sees of an HTTP request. */
struct forge_req {
	const char *method;       /* "POST" */
	const char *query;        /* raw query string without '?', or NULL */
	const char *content_type; /* or NULL */
	const uint8_t *body;
	size_t len;
	/* Header lookup, case-insensitive; NULL when absent. */
	const char *(*header)(void *ctx, const char *name);
	void *ctx;
};

/* A source's credentials from the config (any may be NULL). */
struct forge_cred {
	const char *secret; /* HMAC secret */
	const char *token;  /* shared token */
};

/*
 * Why a request was refused: the HTTP status to answer, a stable code
 * ("bad_signature", "not_json", "missing_field", ...) and a sentence.
 */
struct forge_err {
	int status;
	char code[32];
	char msg[256];
};

/* Events produced by one request, in order (a Bitbucket push carries several). */
#define FORGE_MAX_EVENTS 64
struct forge_out {
	struct domino_event ev[FORGE_MAX_EVENTS];
	size_t n;
};

struct forge_ops {
	const char *name; /* URL path component and event "source" */
	/*
	 * Check the signature or token. Return 0, or -1 with *err filled
	 * (status 401). All compares are constant time.
	 */
	int (*verify)(const struct forge_req *req, const struct forge_cred *cred,
	    struct forge_err *err);
	/*
	 * Parse the body once and append events to *out (already zeroed).
	 * Sets event, type, repo, ref, before, after, actor, url, depends_on,
	 * id (the delivery id when the forge sends one) and the headers worth
	 * keeping for relay. Return 0, or -1 with *err filled: 400 malformed
	 * JSON, 415 not JSON, 422 a field the event needs is missing (msg names
	 * it). On failure *out may hold partial events; the caller clears it.
	 */
	int (*normalize)(const struct forge_req *req, struct forge_out *out,
	    struct forge_err *err);
};

/* The forge named name, or NULL. */
const struct forge_ops *forge_find(const char *name);

/* All forges, NULL-terminated. */
extern const struct forge_ops *const forge_all[];

/* Free the events of *out and zero it. */
void forge_out_clear(struct forge_out *out);

/* Take the next free event of *out, or NULL when FORGE_MAX_EVENTS is reached. */
struct domino_event *forge_out_next(struct forge_out *out);

/* Fill *err; returns -1 so callers can `return forge_fail(...)`. */
int forge_fail(struct forge_err *err, int status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Helpers shared by forges (forge.c). */

/*
 * Constant-time check of HMAC-SHA256(secret, body) against hex (any case),
 * after an optional prefix such as "sha256=" which must be present when
 * given. Returns 1 when it matches.
 */
int forge_hmac_ok(const char *secret, const uint8_t *body, size_t len,
    const char *prefix, const char *got);

/* Constant-time string equality (length may leak, content does not). */
int forge_token_ok(const char *want, const char *got);

/*
 * Canonical repo "host/owner/name" from a web or clone URL: scheme, user
 * info, port and ".git" dropped, host lower-cased. Returns a malloc'd
 * string or NULL when url has no host and path.
 */
char *forge_repo_from_url(const char *url);

/*
 * Find "Depends-On: <ref>" lines (case-insensitive key) in text and add
 * each reference to ev->depends_on.
 */
int forge_scan_depends_on(struct domino_event *ev, const char *text);

/*
 * Body as JSON: accepts application/json and the form-encoded
 * "payload=<urlencoded json>" that GitHub and Gitea can send. Returns a
 * cJSON tree (cJSON_Delete it) or NULL with *err set (415/400).
 */
struct cJSON;
struct cJSON *forge_parse_json(const struct forge_req *req,
    struct forge_err *err);

/* cJSON helpers: a string at a dotted path ("repository.full_name"), or NULL. */
const char *forge_json_str(const struct cJSON *root, const char *path);

/*
 * More helpers for forge files (added with the forges themselves).
 * Setters return 0, or -1 when out of memory, so a forge can OR a run of
 * them together and check once (forge_nomem).
 */

/* Copy s into *member (NULL clears it). */
int forge_put(char **member, const char *s);

/* *member = printf(fmt, ...). */
int forge_putf(char **member, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* *member = prefix + name, or name alone when it already starts "refs/". */
int forge_put_ref(char **member, const char *prefix, const char *name);

/* 500 "no_memory"; returns -1. */
int forge_nomem(struct forge_err *err);

/* Header value or NULL; safe when req has no header callback. */
const char *forge_header(const struct forge_req *req, const char *name);

/* Keep, on ev, each header of the NULL-terminated names that is present. */
int forge_keep_headers(const struct forge_req *req, struct domino_event *ev,
    const char *const *names);

/* 1 when sha is a non-empty run of '0' (git's "no commit"). */
int forge_is_zero_sha(const char *sha);

/* Lower-cased host of a URL (no user info, no port), malloc'd, or NULL. */
char *forge_url_host(const char *url);

/* ev->repo from a URL; 422 "missing_field" naming field when unusable. */
int forge_set_repo(struct domino_event *ev, const char *url,
    const char *field, struct forge_err *err);

/* 1 when t is one of the normalized event types (push, ref.create, ...). */
int forge_type_valid(const char *t);

/*
 * Copy the urldecoded value of key from a query or form string into buf.
 * Returns 1 when found (and it fit), else 0.
 */
int forge_query_get(const char *query, const char *key, char *buf,
    size_t size);

/*
 * Verification as the forges need it. The key is the source's secret, or
 * its token when only that is set (and the other way round for token
 * forges), so a source configured with either word works. With neither:
 * 401 "no_secret_configured" - unsigned input is never accepted. source
 * names the config key in messages. forge_check_hmac reads the signature
 * from header, which must start with prefix (NULL for none).
 */
int forge_check_hmac(const struct forge_req *req,
    const struct forge_cred *cred, const char *source, const char *header,
    const char *prefix, struct forge_err *err);

/*
 * A shared token from header (when not NULL), "Authorization: Bearer T"
 * or "?token=T", compared in constant time.
 */
int forge_check_token(const struct forge_req *req,
    const struct forge_cred *cred, const char *source, const char *header,
    struct forge_err *err);

/* The node at a dotted path; a numeric part indexes an array. */
const struct cJSON *forge_json_get(const struct cJSON *root, const char *path);

/* 1 when the node at path is boolean true. */
int forge_json_true(const struct cJSON *root, const char *path);

/* A string or integer at path as text into buf; 1 when found. */
int forge_json_scalar(const struct cJSON *root, const char *path, char *buf,
    size_t size);

/*
 * GitHub-shaped bodies, shared by GitHub and Gitea/Forgejo (github.c):
 * fill ev from root for the forge event name event. fine is Gitea's
 * X-Gitea-Event-Type (or NULL).
 */
int forge_hub_body(const struct cJSON *root, const char *event,
    const char *fine, struct domino_event *ev, struct forge_err *err);

#endif
