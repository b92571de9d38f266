/* SPDX-License-Identifier: MIT */
/*
 * msgpack to JSON text, for callers of libdomino that show broker replies
 * to people or hand them to scripts (domino_msgpack_to_json in domino.h,
 * the listener operations). Integers are written exactly — cJSON would
 * round unix-nanosecond times through a double. It does not parse JSON.
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "domino.h"
#include "err.h"
#include "json.h"
#include "msg.h"

void
json_put_str(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

void
json_put_cstr(FILE *f, const char *s)
{
	if (s == NULL)
		fputs("null", f);
	else
		json_put_str(f, s, strlen(s));
}

static void
put_base64(FILE *f, const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	fputc('"', f);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		fputc(tab[(v >> 18) & 63], f);
		fputc(tab[(v >> 12) & 63], f);
		fputc(i + 1 < n ? tab[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? tab[v & 63] : '=', f);
	}
	fputc('"', f);
}

static void
indent(FILE *f, int pretty, int level)
{
	if (!pretty)
		return;
	fputc('\n', f);
	for (int i = 0; i < level; i++)
		fputs("  ", f);
}

static void
put_obj(FILE *f, const msgpack_object *o, int pretty, int level)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", f);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(f, "%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		fprintf(f, "%.17g", o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		json_put_str(f, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		put_base64(f, (const unsigned char *)o->via.bin.ptr,
		    o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i > 0)
				fputc(',', f);
			indent(f, pretty, level + 1);
			put_obj(f, &o->via.array.ptr[i], pretty, level + 1);
		}
		if (o->via.array.size > 0)
			indent(f, pretty, level);
		fputc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		fputc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;

			if (i > 0)
				fputc(',', f);
			indent(f, pretty, level + 1);
			if (k->type == MSGPACK_OBJECT_STR) {
				put_obj(f, k, 0, 0);
			} else {
				/* JSON keys are strings: quote the key's
				 * own JSON text. */
				char *kt = NULL;
				size_t kl = 0;
				FILE *kf = open_memstream(&kt, &kl);
				if (kf != NULL) {
					put_obj(kf, k, 0, 0);
					fclose(kf);
				}
				json_put_str(f, kt ? kt : "", kt ? kl : 0);
				free(kt);
			}
			fputs(pretty ? ": " : ":", f);
			put_obj(f, &o->via.map.ptr[i].val, pretty, level + 1);
		}
		if (o->via.map.size > 0)
			indent(f, pretty, level);
		fputc('}', f);
		break;
	default:
		fputs("null", f);
		break;
	}
}

void
json_put_object(FILE *f, const msgpack_object *o, int pretty)
{
	put_obj(f, o, pretty, 0);
}

int
json_finish(FILE *f, char **buf, size_t *len, char **out)
{
	int bad = ferror(f);

	(void)len;
	if (fclose(f) != 0)
		bad = 1;
	if (bad || *buf == NULL) {
		free(*buf);
		*buf = NULL;
		*out = NULL;
		return DOMINO_ENOMEM;
	}
	*out = *buf;
	*buf = NULL;
	return DOMINO_OK;
}

int
domino_msgpack_to_json(const void *buf, size_t len, int pretty, char **out)
{
	msgpack_unpacked u;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f;
	int rv;

	conn_err_clear();
	if (out != NULL)
		*out = NULL;
	if (buf == NULL || out == NULL)
		return conn_err(DOMINO_EINVAL,
		    "domino_msgpack_to_json: invalid argument");
	rv = msg_unpack(buf, len, &u);
	if (rv != DOMINO_OK)
		return conn_err(rv, "not one msgpack map (%s)",
		    domino_strerror(rv));
	f = open_memstream(&text, &tlen);
	if (f == NULL) {
		rv = conn_err(DOMINO_ENOMEM, "out of memory");
		goto out;
	}
	json_put_object(f, &u.data, pretty);
	rv = json_finish(f, &text, &tlen, out);
	if (rv != DOMINO_OK)
		conn_err(rv, "out of memory");
out:
	msgpack_unpacked_destroy(&u);
	return rv;
}
