/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: generic and CloudEvents webhook bodies through forge_generic's verify()
 * and normalize() (fuzz_forge.h: the first byte picks the event header,
 * content type and extra headers). Seeds: corpus/fuzz_forge_generic/.
 */
#include "fuzz_forge.h"

extern const struct forge_ops forge_generic;

static const char *const events[] = {
	"push", "dev.cdevents.change.merged.0.1.1", "custom",
};

static const char *const extra[] = {
	"ce-specversion", "1.0", "ce-id", "i1", "ce-source",
	"https://github.com/o/r", "ce-subject", "refs/heads/main",
	"X-Domino-Signature", "sha256=00",
	NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_forge(&forge_generic, "ce-type", events,
	    sizeof(events) / sizeof(events[0]), extra, data, size);
}
