/* SPDX-License-Identifier: MIT */
/*
 * Shared body of the forge fuzz targets (fuzz_forge_<name>.c): the first
 * input byte picks the event header value, the content type and whether
 * extra headers are sent; the rest is the request body, fed to the
 * forge's normalize() and, with a fixed credential, to verify(). Header
 * only (static), so each target stays one file for libFuzzer.
 */
#ifndef DOMINO_FUZZ_FORGE_H
#define DOMINO_FUZZ_FORGE_H

#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "forge/forge.h"

#define FUZZ_HDR_MAX 12

struct fuzz_hdrs {
	const char *name[FUZZ_HDR_MAX];
	const char *value[FUZZ_HDR_MAX];
	size_t n;
};

static const char *
fuzz_header(void *ctx, const char *name)
{
	const struct fuzz_hdrs *h = ctx;

	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

static void
fuzz_hdr_add(struct fuzz_hdrs *h, const char *name, const char *value)
{
	if (h->n < FUZZ_HDR_MAX) {
		h->name[h->n] = name;
		h->value[h->n] = value;
		h->n++;
	}
}

/*
 * Run one input. events lists values for the header named hdr (hdr may be
 * NULL); extra is a NULL-terminated list of name, value pairs sent when
 * the selector's top bit is set.
 */
static int
fuzz_forge(const struct forge_ops *ops, const char *hdr,
    const char *const *events, size_t n_events, const char *const *extra,
    const uint8_t *data, size_t size)
{
	/* Too big for a fuzzer's stack frame budget; one input at a time. */
	static struct forge_out out;
	struct forge_cred cred = {.secret = "fuzz", .token = "fuzz"};
	struct forge_err err;
	struct fuzz_hdrs h = {0};
	struct forge_req req = {0};
	uint8_t sel;

	if (size < 1)
		return 0;
	sel = data[0];
	if (hdr != NULL && n_events > 0)
		fuzz_hdr_add(&h, hdr, events[(sel & 0x1f) % n_events]);
	for (size_t i = 0; (sel & 0x80) && extra != NULL && extra[i]; i += 2)
		fuzz_hdr_add(&h, extra[i], extra[i + 1]);
	req.method = "POST";
	req.query = (sel & 0x20) ? "token=fuzz&x=%41" : NULL;
	req.content_type = (sel & 0x40) ? "application/x-www-form-urlencoded" :
	    "application/json; charset=utf-8";
	req.body = data + 1;
	req.len = size - 1;
	req.header = fuzz_header;
	req.ctx = &h;
	ops->verify(&req, &cred, &err);
	ops->normalize(&req, &out, &err);
	forge_out_clear(&out);
	return 0;
}

#endif
