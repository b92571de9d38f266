/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the registration loader: outside bytes as the listener
 * map of a `register` request (msg_unpack(), then listener_parse()), and
 * as a stored record (listener_decode(), listener_decode_match()). A
 * registration that parses is encoded, decoded back to the same name,
 * plugin and dependencies (and the same repo per matching view), and
 * packed for a reply; a refusal has a one-line message.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "listener.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msgpack_unpacked u;
	struct listener l, back;
	char err[256];

	if (listener_decode(data, size, &back) == DOMINO_OK)
		listener_clear(&back);
	for (size_t i = 0; i < 3; i++) {
		struct listener_match m;
		if (listener_decode_match(data, size, i, &m) != DOMINO_OK)
			continue;
		if (m.repo + m.repo_len > (const char *)data + size ||
		    m.name + m.name_len > (const char *)data + size)
			abort();
		(void)listener_match_accepts(&m, "github.com/a/b", 1,
		    "refs/heads/main", "push");
	}
	if (msg_unpack(data, size, &u) != DOMINO_OK) {
		msgpack_unpacked_destroy(&u);
		return 0;
	}
	err[0] = '\0';
	if (listener_parse(&u.data, &l, err, sizeof(err)) == DOMINO_OK) {
		char *buf = NULL;
		size_t len = 0;

		if (listener_encode(&l, &buf, &len) == DOMINO_OK) {
			if (listener_decode(buf, len, &back) != DOMINO_OK)
				abort();
			if (strcmp(back.name, l.name) != 0 ||
			    strcmp(back.plugin, l.plugin) != 0 ||
			    back.n_deps != l.n_deps)
				abort();
			/* The matching view reads what the full decode read. */
			for (size_t i = 0; i < l.n_deps; i++) {
				struct listener_match m;
				const char *r = l.deps[i].repo;
				if (listener_decode_match(buf, len, i, &m) != DOMINO_OK ||
				    m.repo_len != strlen(r) ||
				    memcmp(m.repo, r, m.repo_len) != 0 ||
				    listener_match_accepts(&m, r, 0, NULL, NULL) !=
				    listener_dep_repo_matches(&l.deps[i], r))
					abort();
			}
			listener_clear(&back);
			free(buf);
		}
		{
			msgpack_sbuffer sb;
			msgpack_packer pk;

			msgpack_sbuffer_init(&sb);
			msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
			(void)listener_pack(&pk, &l, 1);
			(void)listener_pack(&pk, &l, 0);
			msgpack_sbuffer_destroy(&sb);
		}
		for (size_t i = 0; i < l.n_deps; i++) {
			(void)listener_dep_repo_matches(&l.deps[i], "github.com/a/b");
			(void)listener_dep_filters_match(&l.deps[i], "refs/heads/main",
			    "push");
			(void)listener_dep_filters_match(&l.deps[i], NULL, "tag");
		}
		listener_clear(&l);
	} else {
		if (memchr(err, '\0', sizeof(err)) == NULL || strchr(err, '\n'))
			abort();
	}
	msgpack_unpacked_destroy(&u);
	return 0;
}
