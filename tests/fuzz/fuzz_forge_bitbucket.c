/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: Bitbucket Cloud webhook bodies through forge_bitbucket's verify()
 * and normalize() (fuzz_forge.h: the first byte picks the event header,
 * content type and extra headers). Seeds: corpus/fuzz_forge_bitbucket/.
 */
#include "fuzz_forge.h"

extern const struct forge_ops forge_bitbucket;

static const char *const events[] = {
	"repo:push", "pullrequest:created", "pullrequest:updated",
	"pullrequest:fulfilled", "pullrequest:rejected",
	"pullrequest:approved", "repo:commit_status_updated",
};

static const char *const extra[] = {
	"X-Request-UUID", "{u}", "X-Hub-Signature", "sha256=00",
	NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_forge(&forge_bitbucket, "X-Event-Key", events,
	    sizeof(events) / sizeof(events[0]), extra, data, size);
}
