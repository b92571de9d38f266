/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the event codec: outside bytes through
 * domino_event_decode(), domino_event_peek() and domino_event_view();
 * whatever decodes must re-encode, decode again to the same fields, peek
 * to the same seq, repo and ref, and view to the same time and spans. Input is never trusted to be a domino-encoded event.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domino_event ev, again;
	const char *repo, *ref;
	size_t repo_len, ref_len, len = 0;
	uint64_t seq;
	char *buf = NULL;
	struct domino_event_view v;

	/* Peek and view must hold on any input, decoded or not. */
	(void)domino_event_peek(data, size, &seq, &repo, &repo_len, &ref,
	    &ref_len);
	if (domino_event_view(data, size, &v) == DOMINO_OK &&
	    (v.len > size || v.head_len > v.len ||
	    v.payload_off + v.payload_span > v.len))
		__builtin_trap();
	if (domino_event_decode(data, size, &ev) != DOMINO_OK)
		return 0;
	if (domino_event_encode(&ev, &buf, &len) != DOMINO_OK)
		goto out;
	if (domino_event_decode(buf, len, &again) != DOMINO_OK)
		__builtin_trap();
	/* Strings with a NUL inside are cut there by the encoder (strlen),
	 * so compare as C strings. */
	if (again.seq != ev.seq || again.time != ev.time ||
	    !same(again.repo, ev.repo) || !same(again.ref, ev.ref) ||
	    !same(again.id, ev.id) || again.n_headers != ev.n_headers ||
	    again.n_depends_on != ev.n_depends_on || again.n_via != ev.n_via ||
	    again.payload_len != ev.payload_len)
		__builtin_trap();
	if (ev.payload_len > 0 &&
	    memcmp(again.payload, ev.payload, ev.payload_len) != 0)
		__builtin_trap();
	if (domino_event_peek(buf, len, &seq, &repo, &repo_len, &ref,
	    &ref_len) != DOMINO_OK || seq != ev.seq)
		__builtin_trap();
	if (repo_len != (ev.repo ? strlen(ev.repo) : 0) ||
	    ref_len != (ev.ref ? strlen(ev.ref) : 0))
		__builtin_trap();
	if (domino_event_view(buf, len, &v) != DOMINO_OK || v.time != ev.time ||
	    v.repo_len != repo_len || v.len != len ||
	    (v.payload_off != 0) != (ev.payload != NULL))
		__builtin_trap();
	domino_event_patch_seq(buf, len, seq + 1);
	if (domino_event_peek(buf, len, &seq, &repo, &repo_len, &ref,
	    &ref_len) != DOMINO_OK || seq != ev.seq + 1)
		__builtin_trap();
	domino_event_clear(&again);
out:
	free(buf);
	domino_event_clear(&ev);
	return 0;
}
