/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the delivery record decoder (broker/delivery.c): bytes
 * as a stored record through delivery_decode(), delivery_state() and
 * delivery_pack(). A record that decodes is re-encoded after a history
 * entry is added, and decodes again to the same state, attempt and
 * history length (capped at DELIVERY_HISTORY_MAX).
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct delivery d, back;
	char state[16];
	msgpack_sbuffer sb;
	msgpack_packer pk;

	delivery_state(data, size, state, sizeof(state));
	if (memchr(state, '\0', sizeof(state)) == NULL)
		abort();
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	(void)delivery_pack(&pk, "l", 1, data, size, 1);
	msgpack_sbuffer_destroy(&sb);
	if (delivery_decode(data, size, &d) != DOMINO_OK)
		return 0;
	(void)delivery_state_open(d.state);
	if (delivery_add_history(&d, 1, d.attempt, "retry", 500, "detail") ==
	    DOMINO_OK) {
		char *buf = NULL;
		size_t len = 0;

		if (delivery_encode(&d, &buf, &len) == DOMINO_OK) {
			if (delivery_decode(buf, len, &back) != DOMINO_OK)
				abort();
			if (strcmp(back.state, d.state) != 0 ||
			    back.attempt != d.attempt || back.n_hist != d.n_hist ||
			    back.n_hist > DELIVERY_HISTORY_MAX)
				abort();
			delivery_clear(&back);
			free(buf);
		}
	}
	delivery_clear(&d);
	return 0;
}
