/* SPDX-License-Identifier: MIT */
/*
 * The normalized domino event and its msgpack codec.
 *
 * On the wire an event is a msgpack map with string keys (proto/README.md).
 * Unknown keys are skipped on decode so the format can grow. This module
 * does not verify outside input by itself: domino_event_decode() runs the
 * bounded pre-check (check.h) first, event_read() expects bytes that
 * already passed it.
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
 * What a log reader needs of an encoded event, read without allocating:
 * strings point into the buffer and are not NUL-terminated.
 */
struct domino_event_view {
	uint64_t seq;
	int64_t time;
	const char *repo, *ref;
	size_t repo_len, ref_len;
	uint64_t n_keys;     /* keys of the top-level map */
	size_t head_len;     /* bytes of the map header */
	size_t len;          /* bytes of the whole event */
	size_t payload_off;  /* where the "payload" key starts; 0: none */
	size_t payload_span; /* bytes of that key and its value */
};

/*
 * Fill *v from buf. Every read stays within buf and every skipped value is
 * bounded like domino_event_decode's pre-check, but the event is not
 * pre-checked as a whole: a malformed map fails when the bad value is
 * reached. It is for domino's own stored events. With payload_off and
 * payload_span a reader can copy the event without its payload (a new map
 * header with n_keys - 1, then the bytes around the span) instead of
 * decoding and re-encoding it.
 * Returns DOMINO_OK or DOMINO_EPROTO.
 */
int domino_event_view(const void *buf, size_t len, struct domino_event_view *v);

/*
 * The seq, repo and ref of domino_event_view(), for callers that need no
 * more. repo/ref point into buf and are not NUL-terminated. Used by the
 * writer and the store's index on their hot paths.
 */
int domino_event_peek(const void *buf, size_t len, uint64_t *seq,
    const char **repo, size_t *repo_len, const char **ref, size_t *ref_len);

/* Internal to domino (proto, broker, client): msgpack-level pieces. */
struct mp_rd;
struct msgpack_packer;

/* Read one event map at r's cursor into *out (r is over bytes that passed
 * the pre-check); on failure *out is cleared. */
int event_read(struct mp_rd *r, struct domino_event *out);

/* Pack ev as a map; with_payload false leaves the payload out. */
int event_pack(struct msgpack_packer *pk, const struct domino_event *ev,
    int with_payload);

#endif
