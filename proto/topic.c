/* SPDX-License-Identifier: MIT */
/*
 * Topic framing and filters; see topic.h. Glob matching uses fnmatch(3)
 * without FNM_PATHNAME so '*' also crosses '/' (an org-wide "github.com/org/\*"
 * covers nested GitLab groups).
 */
#include <fnmatch.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "err.h"
#include "topic.h"

#define FILTER_MAX 1024

size_t
topic_header_len(const char *repo, size_t repo_len, const char *ref,
    size_t ref_len)
{
	(void)repo;
	(void)ref;
	return repo_len + 1 + ref_len + 1;
}

void
topic_header_write(char *buf, const char *repo, size_t repo_len,
    const char *ref, size_t ref_len)
{
	memcpy(buf, repo, repo_len);
	buf[repo_len] = '\0';
	memcpy(buf + repo_len + 1, ref, ref_len);
	buf[repo_len + 1 + ref_len] = '\0';
}

int
topic_split(const void *msg, size_t len, int *is_heartbeat, const char **repo,
    const char **ref, const void **body, size_t *body_len)
{
	const char *p = msg, *z1, *z2;

	*is_heartbeat = 0;
	if (len == 0)
		return DOMINO_EPROTO;
	if (p[0] == '\0') {
		*is_heartbeat = 1;
		*repo = *ref = "";
		*body = p + 1;
		*body_len = len - 1;
		return DOMINO_OK;
	}
	if ((z1 = memchr(p, '\0', len)) == NULL)
		return DOMINO_EPROTO;
	z2 = memchr(z1 + 1, '\0', len - (size_t)(z1 + 1 - p));
	if (z2 == NULL)
		return DOMINO_EPROTO;
	*repo = p;
	*ref = z1 + 1;
	*body = z2 + 1;
	*body_len = len - (size_t)(z2 + 1 - p);
	return DOMINO_OK;
}

size_t
topic_heartbeat(char *buf, size_t cap, uint64_t seq, int64_t time_ns)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "seq", 3);
	msgpack_pack_uint64(&pk, seq);
	msgpack_pack_str_with_body(&pk, "time", 4);
	msgpack_pack_int64(&pk, time_ns);
	if (sb.size + 1 <= cap) {
		buf[0] = '\0';
		memcpy(buf + 1, sb.data, sb.size);
		n = sb.size + 1;
	}
	msgpack_sbuffer_destroy(&sb);
	return n;
}

size_t
topic_batch_header(char *buf, uint32_t n)
{
	buf[0] = (char)0xdd;
	buf[1] = (char)(n >> 24);
	buf[2] = (char)(n >> 16);
	buf[3] = (char)(n >> 8);
	buf[4] = (char)n;
	return TOPIC_BATCH_HEADER;
}

int
topic_events(const void *body, size_t len,
    int (*cb)(void *arg, const void *ev, size_t len), void *arg)
{
	const uint8_t *p = body;
	struct mp_rd r;
	uint64_t n;

	if (len == 0)
		return DOMINO_EPROTO;
	if (!((p[0] & 0xf0) == 0x90 || p[0] == 0xdc || p[0] == 0xdd))
		return (void)cb(arg, body, len), DOMINO_OK;
	/* A batch: checked whole once, so the walk below cannot fail half
	 * way; each event is then the caller's to decode. */
	if (mp_rd_init(&r, body, len, &mp_default_limits) != DOMINO_OK ||
	    mp_rd_array(&r, &n) != 0 || n == 0)
		return DOMINO_EPROTO;
	for (uint64_t i = 0; i < n; i++) {
		size_t at = r.pos;
		if (mp_rd_skip(&r) != 0)
			return DOMINO_EPROTO;
		if (cb(arg, p + at, r.pos - at) != 0)
			break;
	}
	return DOMINO_OK;
}

int
topic_heartbeat_parse(const void *body, size_t len, uint64_t *seq)
{
	msgpack_unpacked u;
	size_t used, off = 0;
	int rv = DOMINO_EPROTO;

	if (mp_check(body, len, &mp_default_limits, &used) != DOMINO_OK)
		return DOMINO_EPROTO;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, body, used, &off) == MSGPACK_UNPACK_SUCCESS &&
	    u.data.type == MSGPACK_OBJECT_MAP) {
		for (uint32_t i = 0; i < u.data.via.map.size; i++) {
			msgpack_object *k = &u.data.via.map.ptr[i].key;
			msgpack_object *v = &u.data.via.map.ptr[i].val;
			if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 3 &&
			    memcmp(k->via.str.ptr, "seq", 3) == 0 &&
			    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
				*seq = v->via.u64;
				rv = DOMINO_OK;
			}
		}
	}
	msgpack_unpacked_destroy(&u);
	return rv;
}

/* Bytes before the first glob character. A backslash counts as one:
 * fnmatch() reads backslash-star as a literal '*', so the subscribed
 * bytes must stop before the backslash. */
static size_t
literal_len(const char *s)
{
	return strcspn(s, "*?[\\");
}

int
topic_filter_parse(const char *text, struct topic_filter *f)
{
	const char *at;

	f->repo = f->ref = NULL;
	if (text == NULL || *text == '\0')
		return DOMINO_OK;
	if (strlen(text) > FILTER_MAX)
		return DOMINO_EINVAL;
	at = strchr(text, '@');
	if (at == text)
		return DOMINO_EINVAL;
	if (at != NULL) {
		f->repo = strndup(text, (size_t)(at - text));
		f->ref = strdup(at + 1);
		if (f->repo == NULL || f->ref == NULL) {
			topic_filter_clear(f);
			return DOMINO_ENOMEM;
		}
		if (*f->ref == '\0') {
			free(f->ref);
			f->ref = NULL;
		}
	} else if ((f->repo = strdup(text)) == NULL) {
		return DOMINO_ENOMEM;
	}
	return DOMINO_OK;
}

void
topic_filter_clear(struct topic_filter *f)
{
	free(f->repo);
	free(f->ref);
	f->repo = f->ref = NULL;
}

static int
is_org_prefix(const char *repo)
{
	size_t n = strlen(repo);
	return n > 0 && repo[n - 1] == '/' && literal_len(repo) == n;
}

size_t
topic_filter_prefix(const struct topic_filter *f, char *buf, size_t cap)
{
	size_t n, m;

	if (f->repo == NULL || *f->repo == '\0')
		return 0;
	n = literal_len(f->repo);
	if (n > cap)
		n = cap;
	memcpy(buf, f->repo, n);
	/* A whole repo name: close it with NUL so "org/core" skips "org/core2". */
	if (f->repo[n] != '\0' || is_org_prefix(f->repo) || n + 1 > cap)
		return n;
	buf[n++] = '\0';
	if (f->ref == NULL)
		return n;
	m = literal_len(f->ref);
	if (n + m > cap)
		return n;
	memcpy(buf + n, f->ref, m);
	n += m;
	if (f->ref[m] == '\0' && n + 1 <= cap)
		buf[n++] = '\0';
	return n;
}

int
topic_filter_match(const struct topic_filter *f, const char *repo,
    const char *ref)
{
	if (f->repo != NULL && *f->repo != '\0') {
		if (is_org_prefix(f->repo)) {
			if (strncmp(repo, f->repo, strlen(f->repo)) != 0)
				return 0;
		} else if (fnmatch(f->repo, repo, 0) != 0) {
			return 0;
		}
	}
	if (f->ref != NULL && fnmatch(f->ref, ref ? ref : "", 0) != 0)
		return 0;
	return 1;
}
