/* SPDX-License-Identifier: MIT */
/*
 * The admin HTTP listener (default 127.0.0.1:8703): GET /healthz (JSON per
 * component, 503 with the reason when degraded), /metrics (Prometheus text
 * format) and /api/status (JSON), plus the web pages of web/pages.h
 * (status page, JSON under /api/, /matrix, /graph, /badge/). It reads
 * state, never changes it, and never shows a secret or a payload.
 */
#ifndef DOMINO_ADMIN_H
#define DOMINO_ADMIN_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct store;
struct writer;
struct ingest;
struct fanout;
struct deliver;
struct retention;
struct admin;
struct nng_tls_config;

/* What the endpoints read; every pointer outlives the admin listener. */
struct admin_env {
	const struct config *cfg;
	struct store *st;
	struct writer *w;
	struct ingest *in;
	struct fanout *fo;
	struct deliver *dl;
	struct retention *ret;
	int64_t started_ns;
	struct nng_tls_config *tls; /* for an https:// admin URL, or NULL */
};

int admin_open(const char *url, const struct admin_env *env,
    struct admin **out, char **bound, char *err, size_t errlen);

void admin_close(struct admin *a);

#endif
