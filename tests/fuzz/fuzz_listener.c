/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the registration loader: outside bytes as the listener
 * map of a `register` request (msg_unpack(), then listener_parse()), and
 * as a stored record (listener_decode(), listener_decode_match()) and as
 * an index entry's match record (listener_match_from_rec()). A
 * registration that parses is encoded, decoded back to the same name,
 * plugin and dependencies (and the same repo and filters per matching
 * view, from the record and from its index record alike), and packed for
 * a reply; a refusal has a one-line message.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "listener.h"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The index record of dependency i accepts what the stored record does. */
static int
same_view(const struct listener *l, size_t i, const char *buf, size_t len)
{
	static const char *refs[] = {NULL, "refs/heads/main", "refs/tags/v1"};
	static const char *types[] = {NULL, "push", "tag"};
	const struct listener_dep *d = &l->deps[i];
	struct listener_match a, b;
	char *rec;
	size_t rlen;
	int same = 1;

	if (listener_match_rec(l, i, &rec, &rlen) != DOMINO_OK)
		return 1; /* out of memory */
	if (listener_decode_match(buf, len, i, &a) != DOMINO_OK ||
	    listener_match_from_rec(l->name, d->repo, strlen(d->repo), rec,
	    rlen, &b) != DOMINO_OK || a.support_level != b.support_level ||
	    a.coalesce != b.coalesce || a.provides_len != b.provides_len)
		same = 0;
	for (size_t f = 0; same && f < 3; f++)
		for (size_t t = 0; same && t < 3; t++)
			same = listener_match_accepts(&a, d->repo, 1, refs[f],
			    types[t]) == listener_match_accepts(&b, d->repo, 1,
			    refs[f], types[t]);
	free(rec);
	return same;
}

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
	{
		struct listener_match m;
		if (listener_match_from_rec("n", "github.com/a/*", 14, data, size,
		    &m) == DOMINO_OK) {
			if ((m.provides && m.provides + m.provides_len >
			    (const char *)data + size) ||
			    (m.ref && m.ref + m.ref_len > (const char *)data + size) ||
			    (m.types && (const uint8_t *)m.types + m.types_len >
			    data + size))
				abort();
			(void)listener_match_accepts(&m, "github.com/a/b", 1,
			    "refs/heads/main", "push");
		}
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
				if (!same_view(&l, i, buf, len))
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
