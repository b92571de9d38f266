/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: Gerrit webhook bodies through forge_gerrit's verify()
 * and normalize() (fuzz_forge.h: the first byte picks the event header,
 * content type and extra headers). Seeds: corpus/fuzz_forge_gerrit/.
 */
#include "fuzz_forge.h"

extern const struct forge_ops forge_gerrit;

/* Gerrit names its event in the body: no event header to vary. */
static const char *const events[] = {
	NULL,
};

static const char *const extra[] = {
	"X-Origin-Url", "https://Review.Example.org:8443/", "X-Gerrit-Token",
	"fuzz", "Authorization", "Bearer fuzz",
	NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_forge(&forge_gerrit, NULL, events,
	    sizeof(events) / sizeof(events[0]), extra, data, size);
}
