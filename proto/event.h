/* SPDX-License-Identifier: MIT */
/*
 * The normalized domino event and its msgpack codec.
 *
 * On the wire an event is a msgpack map with string keys (proto/README.md).
 * Unknown keys are skipped on decode so the format can grow. This module
 * does not verify outside input by itself: domino_event_decode() runs the
 * bounded pre-check (check.h) first, event_from_object() expects an object
 * that already passed it.
 */
#ifndef DOMINO_EVENT_H
#define DOMINO_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define DOMINO_EVENT_VERSION 1

struct domino_header {
	char *name;
	char *value;
};

/*
 * Every string member is NUL-terminated heap memory owned by the event, or
 * NULL when absent. domino_event_clear() frees them all.
 */
struct domino_event {
	uint64_t seq;      /* broker-assigned, strictly increasing */
	char *id;          /* source's delivery id, or a generated UUID */
	int64_t time;      /* received, unix nanoseconds */
	char *source;      /* github, gitlab, gitea, bitbucket, gerrit, generic */
	char *event;       /* the forge's own event name */
	char *type;        /* normalized type: push, ref.create, tag, ... */
	char *repo;        /* host/owner/name */
	char *ref;         /* refs/heads/main, may be NULL */
	char *before;
	char *after;
	char *actor;
	char *url;
	char **depends_on; /* Depends-On: references */
	size_t n_depends_on;
	char **via;        /* transitive chain, on deliveries */
	size_t n_via;
	struct domino_header *headers;
	size_t n_headers;
	uint8_t *payload;  /* the raw body as received */
	size_t payload_len;
};

/* Zero an event. */
void domino_event_init(struct domino_event *ev);

/* Free every member and zero the event. Safe on a zeroed event. */
void domino_event_clear(struct domino_event *ev);

/*
 * Set a string member to a copy of s (n bytes, or strlen(s) when n is
 * (size_t)-1); NULL s clears it. Returns DOMINO_OK or DOMINO_ENOMEM.
 */
int domino_event_set(char **member, const char *s, size_t n);

/* Append a copy of a header / a depends_on / a via entry. */
int domino_event_add_header(struct domino_event *ev, const char *name,
    const char *value);
int domino_event_add_depends_on(struct domino_event *ev, const char *ref);
int domino_event_add_via(struct domino_event *ev, const char *repo);

/* Value of a kept header (case-insensitive name), or NULL. */
const char *domino_event_header(const struct domino_event *ev,
    const char *name);

/*
 * Encode ev into a new malloc'd buffer. On success *buf (free with free())
 * and *len are set. The seq is always written as a fixed 9-byte uint64 at
 * DOMINO_EVENT_SEQ_OFFSET, so a writer can assign it in place
 * (domino_event_patch_seq) without re-encoding.
 */
int domino_event_encode(const struct domino_event *ev, char **buf,
    size_t *len);

/* Offset of the 8 big-endian seq bytes in an encoded event. */
#define DOMINO_EVENT_SEQ_OFFSET 8

/* Overwrite the seq of a buffer made by domino_event_encode(). */
void domino_event_patch_seq(char *buf, size_t len, uint64_t seq);

/*
 * Decode one event from outside input of len bytes: runs the bounded
 * pre-check, then unpacks. On success *out owns its members (the caller
 * calls domino_event_clear). On failure *out is left zeroed.
 * Returns DOMINO_OK, DOMINO_EINVAL/ETRUNC/ETOOBIG (bad input), DOMINO_EPROTO
 * (not a map, or a field of the wrong type) or DOMINO_ENOMEM.
 */
int domino_event_decode(const void *buf, size_t len, struct domino_event *out);

/*
 * Read the seq, repo and ref of an encoded event without allocating.
 * repo/ref point into buf and are not NUL-terminated. Used by the writer and
 * the store's index on their hot paths.
 */
int domino_event_peek(const void *buf, size_t len, uint64_t *seq,
    const char **repo, size_t *repo_len, const char **ref, size_t *ref_len);

/* Internal to domino (proto, broker, client): msgpack-level pieces. */
struct msgpack_object;
struct msgpack_packer;

/* Fill *out from a decoded msgpack map (already pre-checked). */
int event_from_object(const struct msgpack_object *o, struct domino_event *out);

/* Pack ev as a map; with_payload false leaves the payload out. */
int event_pack(struct msgpack_packer *pk, const struct domino_event *ev,
    int with_payload);

#endif
