/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the config loader: arbitrary bytes as a YAML config,
 * through libcyaml, the value parsers and the key/line finder used for
 * error messages. It loads from memory (config_load_data), so it never
 * touches the disk; sources.yaml handling is not fuzzed here.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512];
	uint64_t v;
	int rv;

	rv = config_load_data((const char *)data, size, "fuzz.yaml", &cfg, err,
	    sizeof(err));
	/* An error message is always one NUL-terminated line. */
	if (rv != DOMINO_OK && (memchr(err, '\0', sizeof(err)) == NULL ||
	    strchr(err, '\n') != NULL))
		__builtin_trap();
	config_free(&cfg);

	/* The scalar parsers on the same bytes, when they are a C string. */
	if (size < 64 && memchr(data, '\0', size) != NULL) {
		(void)config_parse_size((const char *)data, &v);
		(void)config_parse_duration((const char *)data, &v);
		(void)config_parse_duration_ms((const char *)data, &v);
	}
	return 0;
}
