/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: GitLab webhook bodies through forge_gitlab's verify()
 * and normalize() (fuzz_forge.h: the first byte picks the event header,
 * content type and extra headers). Seeds: corpus/fuzz_forge_gitlab/.
 */
#include "fuzz_forge.h"

extern const struct forge_ops forge_gitlab;

static const char *const events[] = {
	"Push Hook", "Tag Push Hook", "Merge Request Hook", "Pipeline Hook",
	"System Hook", "Note Hook",
};

static const char *const extra[] = {
	"X-Gitlab-Token", "fuzz", "X-Gitlab-Event-UUID", "u1",
	"Idempotency-Key", "k1",
	NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_forge(&forge_gitlab, "X-Gitlab-Event", events,
	    sizeof(events) / sizeof(events[0]), extra, data, size);
}
