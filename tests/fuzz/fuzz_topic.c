/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for PUB framing and subscription filters. The input is used
 * twice: as a received PUB message (topic_split, heartbeat parse, the
 * events of a body or batch: each inside the body, in order), and as
 * "FILTER\nREPO\nREF" for filter parse, prefix and match, checking the
 * property subscribers rely on: when a filter matches, the nng prefix it
 * subscribes with is a prefix of that event's topic header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copy the next '\n'-separated part of [*p, end) as a C string. */
static char *
part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p = nl ? nl + 1 : end;
	return s;
}

/* The events of a body must be inside it, each after the last. */
struct walk {
	const uint8_t *body;
	size_t len, n, end;
};

static int
each_event(void *arg, const void *ev, size_t len)
{
	struct walk *w = arg;
	const uint8_t *p = ev;

	if (p < w->body + w->end || p + len > w->body + w->len || len == 0)
		__builtin_trap();
	w->end = (size_t)(p - w->body) + len;
	w->n++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	const char *repo, *ref;
	const void *body;
	size_t body_len;
	int hb;
	uint64_t seq;
	char *ftext, *r, *f, *prefix, *header;
	struct topic_filter flt;
	size_t rl, fl, n;

	if (topic_split(data, size, &hb, &repo, &ref, &body, &body_len) ==
	    DOMINO_OK) {
		struct walk w = {body, body_len, 0, 0};
		if (hb)
			(void)topic_heartbeat_parse(body, body_len, &seq);
		else if (topic_events(body, body_len, each_event, &w) ==
		    DOMINO_OK && w.n == 0)
			__builtin_trap(); /* a body accepted with no event */
	}

	ftext = part(&p, end);
	r = part(&p, end);
	f = part(&p, end);
	if (topic_filter_parse(ftext, &flt) == DOMINO_OK) {
		rl = strlen(r);
		fl = strlen(f);
		n = (flt.repo ? strlen(flt.repo) : 0) +
		    (flt.ref ? strlen(flt.ref) : 0) + 2;
		prefix = malloc(n);
		header = malloc(rl + fl + 2);
		if (prefix == NULL || header == NULL)
			abort();
		n = topic_filter_prefix(&flt, prefix, n);
		topic_header_write(header, r, rl, f, fl);
		if (topic_filter_match(&flt, r, f) &&
		    (n > rl + fl + 2 || memcmp(header, prefix, n) != 0))
			__builtin_trap();
		free(prefix);
		free(header);
		topic_filter_clear(&flt);
	}
	free(ftext);
	free(r);
	free(f);
	return 0;
}
