/* SPDX-License-Identifier: MIT */
/*
 * Webhook ingest on nng's HTTP server: POST /hooks/<source>. Reads the body
 * up to limits.max_body (413 before reading more), lets the source's forge
 * verify and normalize it, encodes each event once, queues them on the
 * writer, and answers 202 {"seq", "id"} only after the commit (200 with the
 * first seq for a redelivered id). Every refusal is a JSON body
 * {"error": {"code", "msg"}} and is logged once with the delivery id.
 */
#ifndef DOMINO_INGEST_H
#define DOMINO_INGEST_H

#include <stdint.h>

struct config;
struct writer;
struct ingest;
struct nng_tls_config;

struct ingest_stats {
	uint64_t accepted, duplicates, refused;
};

/*
 * Listen on cfg->listen.http (https:// uses tls, which must then be set).
 * cfg must outlive the ingest. *bound gets the
 * actual URL (malloc'd). DOMINO_OK or DOMINO_ETRANSPORT with err filled.
 */
int ingest_open(const struct config *cfg, struct writer *w,
    struct nng_tls_config *tls, struct ingest **out, char **bound, char *err,
    size_t errlen);

void ingest_get_stats(struct ingest *in, struct ingest_stats *out);

/*
 * Use cfg (sources, limits, store_payload) for requests from now on. The
 * previous config must stay valid until ingest_close: requests in progress
 * keep using it.
 */
void ingest_set_config(struct ingest *in, const struct config *cfg);

/* Call cb for every (source, HTTP answer) counted so far with its count;
 * requests to an unknown source are counted as source "unknown". */
void ingest_each_count(struct ingest *in,
    void (*cb)(void *arg, const char *source, unsigned status, uint64_t n),
    void *arg);

/*
 * Stop taking requests (new ones get 503), cancel body reads, and wait up
 * to timeout_ms for requests queued on the writer to be answered. The
 * writer must still run.
 */
void ingest_quiesce(struct ingest *in, int timeout_ms);

/* Stop the HTTP server and free. After ingest_quiesce and writer_stop. */
void ingest_close(struct ingest *in);

#endif
