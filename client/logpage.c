/* SPDX-License-Identifier: MIT */
/* log_page_parse(); see logpage.h. */
#include <string.h>

#include "err.h"
#include "logpage.h"

/* "gone": [from, to] */
static int
read_gone(struct mp_rd *r, struct log_page *p)
{
	size_t at = r->pos;
	uint64_t n;

	if (mp_rd_array(r, &n) == 0 && n == 2 && mp_rd_uint(r, &p->gone[0]) == 0 &&
	    mp_rd_uint(r, &p->gone[1]) == 0) {
		p->has_gone = 1;
		return 0;
	}
	r->pos = at; /* the caller skips the value whole */
	return -1;
}

int
log_page_parse(const void *buf, size_t len, struct log_page *p)
{
	struct mp_rd r;
	uint64_t n;
	int ok = -1, has_next = 0, have_evs = 0;

	memset(p, 0, sizeof(*p));
	/* One object and nothing after it, as for every other reply. */
	if (mp_rd_init(&r, buf, len, &mp_default_limits) != DOMINO_OK ||
	    r.len != len || mp_rd_map(&r, &n) != 0)
		return DOMINO_EPROTO;
	for (uint64_t i = 0; i < n; i++) {
		const char *k;
		size_t kn;
		int got = -1;

		if (mp_rd_str(&r, &k, &kn) != 0)
			return DOMINO_EPROTO;
		if (mp_rd_is(k, kn, "ok")) {
			got = mp_rd_bool(&r, &ok);
		} else if (mp_rd_is(k, kn, "next")) {
			if ((got = mp_rd_uint(&r, &p->next)) == 0)
				has_next = 1;
		} else if (mp_rd_is(k, kn, "more")) {
			got = mp_rd_bool(&r, &p->more);
		} else if (mp_rd_is(k, kn, "first")) {
			got = mp_rd_uint(&r, &p->first);
		} else if (mp_rd_is(k, kn, "gone")) {
			got = read_gone(&r, p);
		} else if (mp_rd_is(k, kn, "events") && !have_evs) {
			if (mp_rd_nil(&r) == 0) {
				got = 0;
			} else if (mp_rd_array(&r, &p->n) == 0) {
				p->evs = r;
				have_evs = 1;
				/* No second walk over the events when the keys
				 * that matter came first (domino sends them so). */
				if (ok == 1 && has_next && i + 1 == n)
					return DOMINO_OK;
				for (uint64_t j = 0; j < p->n; j++)
					if (mp_rd_skip(&r) != 0)
						return DOMINO_EPROTO;
				got = 0;
			} else {
				return DOMINO_EPROTO;
			}
		}
		if (got != 0 && mp_rd_skip(&r) != 0)
			return DOMINO_EPROTO;
	}
	if (ok == 0)
		return DOMINO_EREMOTE;
	return ok == 1 && has_next ? DOMINO_OK : DOMINO_EPROTO;
}
