/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: Gitea/Forgejo webhook bodies through forge_gitea's verify()
 * and normalize() (fuzz_forge.h: the first byte picks the event header,
 * content type and extra headers). Seeds: corpus/fuzz_forge_gitea/.
 */
#include "fuzz_forge.h"

extern const struct forge_ops forge_gitea;

static const char *const events[] = {
	"push", "pull_request", "create", "delete", "release",
	"pull_request_approved", "issues",
};

static const char *const extra[] = {
	"X-Forgejo-Event", "pull_request", "X-Gitea-Event-Type",
	"pull_request_sync", "X-Gitea-Delivery", "d1", "X-Gitea-Signature",
	"757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
	NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_forge(&forge_gitea, "X-Gitea-Event", events,
	    sizeof(events) / sizeof(events[0]), extra, data, size);
}
