/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the callback template renderer (broker/plugins/render.c).
 * The input is "ACTOR\nTEMPLATE" (without a newline, all of it is the
 * template): the first part becomes the event's actor, so values with
 * quotes, control bytes and broken UTF-8 get escaped. Checks beyond "no
 * crash, no leak, no UB": render_template() accepts exactly the templates
 * render_template_check() accepts; a rendered {{actor}} inside quotes
 * parses as a JSON string equal to the actor; output never holds a raw
 * CR or LF that the template did not have.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "plugins/plugin.h"
#include "plugins/render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
count_breaks(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += s[i] == '\r' || s[i] == '\n';
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const uint8_t *nl = memchr(data, '\n', size);
	const char *tpl = in;
	size_t tlen = size, alen, olen = 0;
	static const char *const via[] = {"a/b/c", "d/e/f"};
	struct domino_event ev;
	struct plugin_job job;
	char why[256], *out = NULL, *q;
	int ok, rv;

	domino_event_init(&ev);
	if (nl != NULL) {
		alen = (size_t)(nl - data);
		/* A C string stops at NUL: keep the actor free of them. */
		if (memchr(data, '\0', alen) == NULL &&
		    domino_event_set(&ev.actor, in, alen) != DOMINO_OK)
			abort();
		tpl = (const char *)nl + 1;
		tlen = size - alen - 1;
	}
	domino_event_set(&ev.repo, "github.com/org/core", (size_t)-1);
	domino_event_set(&ev.ref, "refs/heads/main", (size_t)-1);
	memset(&job, 0, sizeof(job));
	job.ev = &ev;
	job.listener = "l";
	job.delivery_id = "d";
	job.via = via;
	job.n_via = 2;
	job.seq = 18446744073709551615ull;

	ok = render_template_check(tpl, tlen, why, sizeof(why)) == 0;
	if (!ok && (why[0] == '\0' || strlen(why) >= sizeof(why)))
		__builtin_trap();
	rv = render_template(tpl, tlen, &job, 1u << 20, &out, &olen);
	if (ok && rv != DOMINO_OK && rv != DOMINO_ETOOBIG && rv != DOMINO_ENOMEM)
		__builtin_trap();
	if (!ok && rv != DOMINO_EINVAL)
		__builtin_trap();
	if (rv == DOMINO_OK) {
		if (out == NULL || strlen(out) > olen ||
		    count_breaks(out, olen) != count_breaks(tpl, tlen))
			__builtin_trap();
	} else if (out != NULL) {
		__builtin_trap();
	}
	free(out);
	out = NULL;

	if (ev.actor != NULL && render_template("\"{{actor}}\"", 11, &job,
	    1u << 20, &out, &olen) == DOMINO_OK) {
		cJSON *j = cJSON_ParseWithLength(out, olen);

		q = cJSON_GetStringValue(j);
		if (q == NULL || strcmp(q, ev.actor) != 0)
			__builtin_trap();
		cJSON_Delete(j);
		free(out);
	}
	domino_event_clear(&ev);
	return 0;
}
