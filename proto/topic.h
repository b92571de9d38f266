/* SPDX-License-Identifier: MIT */
/*
 * PUB message framing and subscription filters.
 *
 * A live message is `repo NUL ref NUL` followed by the msgpack event, or
 * by a msgpack array of events (a batch: consecutive events of one topic,
 * sent as one message); a heartbeat is a single NUL followed by a msgpack
 * map {seq, time}. nng
 * subscriptions are byte prefixes, so a filter "github.com/org/" (an org),
 * "github.com/org/core" (one repo), "github.com/org/core@refs/heads/main"
 * (one ref) or a glob (a star in the org, repo or ref part) becomes the longest
 * literal prefix for nng plus a full match on the receiving side.
 */
#ifndef DOMINO_TOPIC_H
#define DOMINO_TOPIC_H

#include <stddef.h>
#include <stdint.h>

/* Bytes the header `repo NUL ref NUL` takes. */
size_t topic_header_len(const char *repo, size_t repo_len, const char *ref,
    size_t ref_len);

/* Write the header into buf (topic_header_len() bytes). */
void topic_header_write(char *buf, const char *repo, size_t repo_len,
    const char *ref, size_t ref_len);

/*
 * Split a received message. For an event, *repo and *ref are NUL-terminated
 * inside msg and *body is the msgpack event. Returns DOMINO_OK,
 * DOMINO_EPROTO when the framing is wrong. *is_heartbeat is set when the
 * message is a heartbeat; then *body is its msgpack map.
 */
int topic_split(const void *msg, size_t len, int *is_heartbeat,
    const char **repo, const char **ref, const void **body, size_t *body_len);

/* A batch body starts with an array32 header of n events. */
#define TOPIC_BATCH_HEADER 5
size_t topic_batch_header(char *buf, uint32_t n);

/*
 * Call cb with the bytes of each event in a received body: the one event,
 * or each event of a batch, in order, until cb returns non-zero. The
 * events themselves are not checked here. Returns DOMINO_OK, or
 * DOMINO_EPROTO when a batch's framing is wrong (then cb was not called).
 */
int topic_events(const void *body, size_t len,
    int (*cb)(void *arg, const void *ev, size_t len), void *arg);

/* Encode a heartbeat message into buf (cap >= 32); returns its length. */
size_t topic_heartbeat(char *buf, size_t cap, uint64_t seq, int64_t time_ns);

/* Parse a heartbeat body; DOMINO_OK or DOMINO_EPROTO. */
int topic_heartbeat_parse(const void *body, size_t len, uint64_t *seq);

/*
 * A parsed subscription filter: "REPO[@REF]" where either part may hold
 * glob characters (* ? [). An empty filter matches everything. A repo
 * without glob characters that does not end in '/' names exactly one repo.
 */
struct topic_filter {
	char *repo; /* NULL or "" for any */
	char *ref;  /* NULL for any */
};

/* Parse text into *f (free with topic_filter_clear). DOMINO_EINVAL on an
 * empty repo before '@' or an over-long filter. */
int topic_filter_parse(const char *text, struct topic_filter *f);
void topic_filter_clear(struct topic_filter *f);

/*
 * The nng subscription prefix for f: written to buf (not NUL-terminated),
 * length returned. cap must be at least strlen(repo)+strlen(ref)+2.
 */
size_t topic_filter_prefix(const struct topic_filter *f, char *buf,
    size_t cap);

/* Whether repo/ref match f exactly (globs, org prefixes). */
int topic_filter_match(const struct topic_filter *f, const char *repo,
    const char *ref);

#endif
