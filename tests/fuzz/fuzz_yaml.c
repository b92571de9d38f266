/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the YAML-to-msgpack conversion of registration files
 * (client/yaml.c, domino_yaml_to_msgpack): arbitrary bytes as a YAML
 * document. What it converts must pass the bounded msgpack check every
 * network message passes and turn into JSON; a refusal is one line that
 * names the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domino.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *mp = NULL;
	size_t len = 0;
	char *json = NULL;
	int rv;

	rv = domino_yaml_to_msgpack((const char *)data, size, "fuzz.yaml", &mp,
	    &len);
	if (rv != DOMINO_OK) {
		const char *msg = domino_errmsg();
		if (mp != NULL || strncmp(msg, "fuzz.yaml:", 10) != 0 ||
		    strchr(msg, '\n') != NULL)
			__builtin_trap();
		return 0;
	}
	/* Maps pass the network check and print; other roots are refused
	 * by it (EPROTO), never crash it. */
	rv = domino_msgpack_to_json(mp, len, 1, &json);
	if (rv != DOMINO_OK && rv != DOMINO_EPROTO)
		__builtin_trap();
	free(json);
	free(mp);
	return 0;
}
