/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: GitHub webhook bodies through forge_github's verify()
 * and normalize() (fuzz_forge.h: the first byte picks the event header,
 * content type and extra headers). Seeds: corpus/fuzz_forge_github/.
 */
#include "fuzz_forge.h"

extern const struct forge_ops forge_github;

static const char *const events[] = {
	"push", "pull_request", "create", "delete", "release", "ping",
	"workflow_run", "check_suite", "check_run", "repository_dispatch",
	"issues",
};

static const char *const extra[] = {
	"X-GitHub-Delivery", "d1", "X-Hub-Signature-256",
	"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
	NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_forge(&forge_github, "X-GitHub-Event", events,
	    sizeof(events) / sizeof(events[0]), extra, data, size);
}
