/* SPDX-License-Identifier: MIT */
/*
 * The control socket (nng rep0): authenticated request/reply operations
 * listed in proto/README.md. Several nng contexts serve requests at once;
 * read-only operations run against LMDB read transactions, mutations go
 * through the writer. Each message passes the bounded msgpack pre-check
 * before it is unpacked.
 */
#ifndef DOMINO_CONTROL_H
#define DOMINO_CONTROL_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct store;
struct auth;
struct writer;
struct ingest;
struct fanout;
struct deliver;
struct retention;

/* What operations may use; every pointer outlives the control socket. */
struct control_env {
	/* swapped on SIGHUP by control_set_config; replaced configs stay
	 * valid until exit */
	const struct config *_Atomic cfg;
	struct store *st;
	struct auth *auth;
	struct writer *w;
	struct ingest *in;
	struct fanout *fo;
	struct deliver *dl;
	struct retention *ret;
	const char *http, *pub, *control, *admin; /* bound addresses */
	int64_t started_ns;
};

struct control;
struct nng_tls_config;

/*
 * Listen on url. env is copied, not the things it points to; env->control
 * is replaced by the bound address, which *bound also gets (malloc'd; the
 * caller frees it after control_close).
 */
int control_open(const char *url, const struct control_env *env,
    struct nng_tls_config *tls, struct control **out, char **bound, char *err,
    size_t errlen);

/* Answer with cfg from now on (sources for `secret`, graph depth). */
void control_set_config(struct control *c, const struct config *cfg);

void control_close(struct control *c);

#endif
