/* SPDX-License-Identifier: MIT */
/*
 * Listener registrations: parsing and validating the `register` map (every
 * error names the field), the stored form in LMDB, and matching one
 * dependency entry against a repo/ref/type. It does not touch the store or
 * the graph walk (match.c).
 */
#ifndef DOMINO_LISTENER_H
#define DOMINO_LISTENER_H

#include <stddef.h>
#include <stdint.h>

#define LISTENER_NAME_MAX 128
#define LISTENER_DEPS_MAX 256
#define LISTENER_HASH_BYTES 32

struct msgpack_object;
struct msgpack_packer;

struct listener_dep {
	char *repo;    /* exact repo or glob; an org prefix gets a trailing star */
	char *ref;     /* full-ref glob, or NULL for any */
	char **types;  /* NULL for any */
	size_t n_types;
	int glob;      /* repo has glob characters */
};

struct listener {
	char *name;
	struct listener_dep *deps;
	size_t n_deps;
	char *provides;           /* or NULL */
	char *plugin;
	char *config;             /* msgpack map, as registered */
	size_t config_len;
	char *retry;              /* msgpack map or NULL */
	size_t retry_len;
	char *labels;             /* msgpack map or NULL */
	size_t labels_len;
	int support_level;        /* 0..3 */
	int coalesce;
	int disabled;
	int by_admin;             /* registered with the admin token (SSRF rule) */
	int64_t failing_since;    /* first failure since the last success, 0 */
	uint8_t token_hash[LISTENER_HASH_BYTES];
	int64_t created, updated; /* unix ns */
};

/*
 * Parse and validate a registration map. On failure returns DOMINO_EINVAL
 * with a message naming the field in err, and *out is cleared.
 */
int listener_parse(const struct msgpack_object *o, struct listener *out,
    char *err, size_t errlen);

/* Encode the stored form (registration + token hash + times) into a new
 * malloc'd buffer. */
int listener_encode(const struct listener *l, char **buf, size_t *len);

/* Decode the stored form. */
int listener_decode(const void *buf, size_t len, struct listener *out);

/*
 * What matching reads of a stored listener, as views into the stored
 * bytes (valid as long as they are): not NUL-ended, NULL when absent.
 */
struct listener_match {
	const char *name, *provides;
	size_t name_len, provides_len;
	const char *repo, *ref; /* of depends_on[idx] */
	size_t repo_len, ref_len;
	const void *types;      /* its types array (msgpack), or NULL */
	size_t types_len;
	int support_level, coalesce, disabled;
};

/*
 * Read only what matching needs from the stored form, with depends_on[idx]
 * as the dependency, allocating nothing. It skips the validation
 * listener_decode does, because the stored form was validated when it was
 * registered; matching runs it for every candidate of every event.
 * DOMINO_ENOTFOUND when there is no depends_on[idx].
 */
int listener_decode_match(const void *buf, size_t len, size_t idx,
    struct listener_match *out);

/*
 * The match record of l's dependency idx, kept in the deps index so that
 * matching need not read the listener: a malloc'd msgpack array
 * [provides, support_level, coalesce, ref, types] (nil when absent).
 * Everything in it changes only by re-registration; `disabled` is not in
 * it, because matching does not need it.
 */
int listener_match_rec(const struct listener *l, size_t idx, char **buf,
    size_t *len);

/*
 * Fill out from a record of listener_match_rec, for the listener name
 * whose dependency is pattern (the index key), as views into rec. The
 * record is domino's own, so it is read unchecked but bounded. disabled
 * is left 0. DOMINO_EPROTO when it is not such a record.
 */
int listener_match_from_rec(const char *name, const char *pattern,
    size_t pattern_len, const void *rec, size_t len,
    struct listener_match *out);

/* Whether m's dependency takes an event on repo, and with use_filters also
 * its ref and type filters (NULL ref = none). */
int listener_match_accepts(const struct listener_match *m, const char *repo,
    int use_filters, const char *ref, const char *type);

void listener_clear(struct listener *l);

/*
 * Pack the listener for a reply: full (registration with secret config
 * values as "***" plus times) or a summary.
 */
int listener_pack(struct msgpack_packer *pk, const struct listener *l,
    int full);

/* Whether dep's repo pattern matches repo. */
int listener_dep_repo_matches(const struct listener_dep *d, const char *repo);

/* Whether dep's ref and types filters accept ref/type (NULL ref = none). */
int listener_dep_filters_match(const struct listener_dep *d, const char *ref,
    const char *type);

/* Hash a token the way listeners store it. */
void listener_token_hash(const char *token, size_t len,
    uint8_t out[LISTENER_HASH_BYTES]);

/* Make a new random token (hex, malloc'd) and set l's hash of it. */
int listener_new_token(struct listener *l, char **token);

/* Whether token is l's token (constant time). */
int listener_token_ok(const struct listener *l, const char *token,
    size_t len);

#endif
