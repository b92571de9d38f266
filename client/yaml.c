/* SPDX-License-Identifier: MIT */
/*
 * YAML (and JSON, which YAML reads too) to msgpack, for registration files
 * (domino_yaml_to_msgpack in domino.h). A generic conversion on libyaml's
 * event parser: it knows nothing of listeners — the broker validates the
 * map and names the field. It keeps YAML's surprises out: no anchors or
 * aliases, no tags beyond !!str, one document, no duplicate keys, and only
 * plain scalars are typed (decimal integers, true/false, null), so a
 * quoted "1" stays a string and `yes` is the string "yes". Every refusal
 * names the input and the line.
 */
#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "conn.h"
#include "domino.h"
#include "err.h"

#define YAML_INPUT_MAX (16u * 1024 * 1024)
#define YAML_DEPTH_MAX 32
#define YAML_NODES_MAX (1u << 20)
#define TAG_STR "tag:yaml.org,2002:str"

enum ykind { Y_NIL, Y_BOOL, Y_UINT, Y_INT, Y_STR, Y_SEQ, Y_MAP };

struct ynode {
	enum ykind kind;
	size_t line;
	char *s;              /* scalar text (all scalars, for keys) */
	size_t len;
	int b;
	uint64_t u;
	int64_t i;
	struct ynode **kids;  /* Y_SEQ: items; Y_MAP: key, value, key, ... */
	size_t n, cap;
};

struct yconv {
	const char *name;
	struct ynode *root;
	struct ynode *stack[YAML_DEPTH_MAX + 1];
	int depth;
	size_t nodes;
	int docs;
	int err;              /* set once: the first error wins */
};

static int
fail(struct yconv *c, size_t line, int err, const char *fmt, const char *arg)
{
	if (c->err == 0) {
		char what[256];

		snprintf(what, sizeof(what), fmt, arg ? arg : "");
		conn_err(err, "%s:%zu: %s", c->name, line, what);
		c->err = err;
	}
	return c->err;
}

static void
node_free(struct ynode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->s);
	free(n);
}

static struct ynode *
node_new(struct yconv *c, enum ykind kind, size_t line)
{
	struct ynode *n;

	if (++c->nodes > YAML_NODES_MAX) {
		fail(c, line, DOMINO_ETOOBIG, "more than 2^20 values%s", NULL);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		fail(c, line, DOMINO_ENOMEM, "out of memory%s", NULL);
		return NULL;
	}
	n->kind = kind;
	n->line = line;
	return n;
}

/* Attach n to the open collection, or make it the document's root. */
static int
attach(struct yconv *c, struct ynode *n)
{
	struct ynode *p;

	if (c->depth == 0) {
		c->root = n;
		return 0;
	}
	p = c->stack[c->depth - 1];
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct ynode **k = realloc(p->kids, cap * sizeof(*k));

		if (k == NULL) {
			node_free(n);
			return fail(c, n->line, DOMINO_ENOMEM, "out of memory%s",
			    NULL);
		}
		p->kids = k;
		p->cap = cap;
	}
	p->kids[p->n++] = n;
	return 0;
}

static int
is_int(const char *s, size_t len)
{
	size_t i = 0;

	if (len > 0 && (s[0] == '-' || s[0] == '+'))
		i = 1;
	if (i == len)
		return 0;
	for (; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
word(const char *s, size_t len, const char *w1, const char *w2,
    const char *w3)
{
	return (strlen(w1) == len && memcmp(s, w1, len) == 0) ||
	    (strlen(w2) == len && memcmp(s, w2, len) == 0) ||
	    (strlen(w3) == len && memcmp(s, w3, len) == 0);
}

/* Type a plain scalar: YAML 1.2 core schema, minus floats and non-decimal
 * integers (they stay strings). */
static int
resolve(struct yconv *c, struct ynode *n)
{
	const char *s = n->s;
	size_t len = n->len;

	if (len == 0 || word(s, len, "~", "null", "Null") ||
	    word(s, len, "NULL", "NULL", "NULL")) {
		n->kind = Y_NIL;
	} else if (word(s, len, "true", "True", "TRUE")) {
		n->kind = Y_BOOL;
		n->b = 1;
	} else if (word(s, len, "false", "False", "FALSE")) {
		n->kind = Y_BOOL;
		n->b = 0;
	} else if (is_int(s, len)) {
		char *end = NULL;

		errno = 0;
		if (s[0] == '-') {
			n->kind = Y_INT;
			n->i = strtoll(s, &end, 10);
		} else {
			n->kind = Y_UINT;
			n->u = strtoull(s[0] == '+' ? s + 1 : s, &end, 10);
		}
		if (errno == ERANGE)
			return fail(c, n->line, DOMINO_EINVAL, "integer %s does "
			    "not fit in 64 bits (quote it to keep it as text)",
			    s);
		if (n->kind == Y_INT && n->i >= 0) {
			/* "-0" */
			n->kind = Y_UINT;
			n->u = 0;
		}
	}
	return 0;
}

static int
check_node_event(struct yconv *c, const yaml_event_t *ev,
    const yaml_char_t *anchor, const yaml_char_t *tag, const char *deftag)
{
	size_t line = ev->start_mark.line + 1;

	if (anchor != NULL)
		return fail(c, line, DOMINO_EINVAL, "anchors (&%s) are not "
		    "supported; write the value out", (const char *)anchor);
	if (tag != NULL && strcmp((const char *)tag, deftag) != 0 &&
	    strcmp((const char *)tag, "!") != 0)
		return fail(c, line, DOMINO_EINVAL, "tag %s is not supported",
		    (const char *)tag);
	return 0;
}

static int
on_scalar(struct yconv *c, const yaml_event_t *ev)
{
	const yaml_char_t *tag = ev->data.scalar.tag;
	struct ynode *n;

	if (check_node_event(c, ev, ev->data.scalar.anchor, tag, TAG_STR))
		return c->err;
	n = node_new(c, Y_STR, ev->start_mark.line + 1);
	if (n == NULL)
		return c->err;
	n->len = ev->data.scalar.length;
	n->s = malloc(n->len + 1);
	if (n->s == NULL) {
		node_free(n);
		return fail(c, ev->start_mark.line + 1, DOMINO_ENOMEM,
		    "out of memory%s", NULL);
	}
	memcpy(n->s, ev->data.scalar.value, n->len);
	n->s[n->len] = '\0';
	if (tag == NULL && ev->data.scalar.plain_implicit &&
	    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    resolve(c, n) != 0) {
		node_free(n);
		return c->err;
	}
	return attach(c, n);
}

static int
on_start(struct yconv *c, const yaml_event_t *ev, enum ykind kind)
{
	int seq = kind == Y_SEQ;
	struct ynode *n;

	if (check_node_event(c, ev, seq ? ev->data.sequence_start.anchor :
	    ev->data.mapping_start.anchor, seq ? ev->data.sequence_start.tag :
	    ev->data.mapping_start.tag, seq ? "tag:yaml.org,2002:seq" :
	    "tag:yaml.org,2002:map"))
		return c->err;
	if (c->depth >= YAML_DEPTH_MAX)
		return fail(c, ev->start_mark.line + 1, DOMINO_EINVAL,
		    "nested deeper than 32 levels%s", NULL);
	n = node_new(c, kind, ev->start_mark.line + 1);
	if (n == NULL || attach(c, n) != 0)
		return c->err;
	c->stack[c->depth++] = n;
	return 0;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(const struct ynode *const *)a;
	const struct ynode *y = *(const struct ynode *const *)b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->s, y->s, n);

	if (r != 0)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Every key a scalar, none twice. */
static int
check_map(struct yconv *c, const struct ynode *m)
{
	size_t nk = m->n / 2;
	const struct ynode **keys;
	int rv = 0;

	for (size_t i = 0; i < m->n; i += 2)
		if (m->kids[i]->s == NULL)
			return fail(c, m->kids[i]->line, DOMINO_EINVAL,
			    "a key must be a plain value, not a list or a "
			    "map%s", NULL);
	if (nk < 2)
		return 0;
	keys = malloc(nk * sizeof(*keys));
	if (keys == NULL)
		return fail(c, m->line, DOMINO_ENOMEM, "out of memory%s", NULL);
	for (size_t i = 0; i < nk; i++)
		keys[i] = m->kids[2 * i];
	qsort(keys, nk, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < nk; i++) {
		if (keys[i]->len == keys[i - 1]->len &&
		    memcmp(keys[i]->s, keys[i - 1]->s, keys[i]->len) == 0) {
			char what[200], key[64];
			size_t kn = keys[i]->len < sizeof(key) - 1 ?
			    keys[i]->len : sizeof(key) - 1;

			/* The message is one line: no control characters. */
			for (size_t k = 0; k < kn; k++) {
				unsigned char ch = (unsigned char)keys[i]->s[k];
				key[k] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
			}
			key[kn] = '\0';
			snprintf(what, sizeof(what), "%s' (first at line %zu)",
			    key, keys[i - 1]->line);
			rv = fail(c, keys[i]->line, DOMINO_EINVAL,
			    "duplicate key '%s", what);
			break;
		}
	}
	free(keys);
	return rv;
}

static int
on_event(struct yconv *c, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++c->docs > 1)
			return fail(c, ev->start_mark.line + 1, DOMINO_EINVAL,
			    "more than one document (one listener per "
			    "file)%s", NULL);
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(c, ev->start_mark.line + 1, DOMINO_EINVAL,
		    "aliases (*%s) are not supported; write the value out",
		    (const char *)ev->data.alias.anchor);
	case YAML_SCALAR_EVENT:
		return on_scalar(c, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(c, ev, Y_SEQ);
	case YAML_MAPPING_START_EVENT:
		return on_start(c, ev, Y_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (c->depth == 0)
			return 0;
		c->depth--;
		if (ev->type == YAML_MAPPING_END_EVENT)
			return check_map(c, c->stack[c->depth]);
		return 0;
	default:
		return 0;
	}
}

static void
pack(msgpack_packer *pk, const struct ynode *n)
{
	switch (n->kind) {
	case Y_NIL:
		msgpack_pack_nil(pk);
		break;
	case Y_BOOL:
		if (n->b)
			msgpack_pack_true(pk);
		else
			msgpack_pack_false(pk);
		break;
	case Y_UINT:
		msgpack_pack_uint64(pk, n->u);
		break;
	case Y_INT:
		msgpack_pack_int64(pk, n->i);
		break;
	case Y_STR:
		msgpack_pack_str_with_body(pk, n->s, n->len);
		break;
	case Y_SEQ:
		msgpack_pack_array(pk, n->n);
		for (size_t i = 0; i < n->n; i++)
			pack(pk, n->kids[i]);
		break;
	case Y_MAP:
		msgpack_pack_map(pk, n->n / 2);
		for (size_t i = 0; i + 1 < n->n; i += 2) {
			/* Keys are strings, whatever they looked like. */
			msgpack_pack_str_with_body(pk, n->kids[i]->s,
			    n->kids[i]->len);
			pack(pk, n->kids[i + 1]);
		}
		break;
	}
}

int
domino_yaml_to_msgpack(const char *text, size_t len, const char *name,
    void **out, size_t *olen)
{
	struct yconv c = {.name = name ? name : "input"};
	yaml_parser_t parser;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int parser_ok = 0, done = 0, rv;

	conn_err_clear();
	if (out != NULL)
		*out = NULL;
	if (olen != NULL)
		*olen = 0;
	if ((text == NULL && len > 0) || out == NULL || olen == NULL)
		return conn_err(DOMINO_EINVAL,
		    "domino_yaml_to_msgpack: invalid argument");
	if (len > YAML_INPUT_MAX)
		return conn_err(DOMINO_ETOOBIG, "%s: over %u bytes", c.name,
		    YAML_INPUT_MAX);
	if (!yaml_parser_initialize(&parser))
		return conn_err(DOMINO_ENOMEM, "out of memory");
	parser_ok = 1;
	yaml_parser_set_input_string(&parser,
	    (const unsigned char *)(text ? text : ""), len);
	while (!done && c.err == 0) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			char what[256];

			snprintf(what, sizeof(what), "%s%s%s",
			    parser.problem ? parser.problem : "syntax error",
			    parser.context ? " " : "",
			    parser.context ? parser.context : "");
			fail(&c, parser.problem_mark.line + 1,
			    parser.error == YAML_MEMORY_ERROR ? DOMINO_ENOMEM :
			    DOMINO_EINVAL, "%s", what);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		on_event(&c, &ev);
		yaml_event_delete(&ev);
	}
	if (c.err == 0 && c.root == NULL)
		fail(&c, 1, DOMINO_EINVAL, "empty: no YAML document%s", NULL);
	if (c.err != 0) {
		rv = c.err;
		goto out;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack(&pk, c.root);
	if (sb.data == NULL) {
		msgpack_sbuffer_destroy(&sb);
		rv = conn_err(DOMINO_ENOMEM, "out of memory");
		goto out;
	}
	*olen = sb.size;
	*out = msgpack_sbuffer_release(&sb);
	rv = DOMINO_OK;
out:
	if (parser_ok)
		yaml_parser_delete(&parser);
	node_free(c.root);
	return rv;
}
