/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the YAML-to-msgpack conversion of registration files
 * (client/yaml.c): scalar typing (plain vs quoted), nesting, JSON input,
 * and every refusal with its "NAME:LINE: reason" message.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "domino.h"

static msgpack_unpacked u;
static void *buf;
static size_t len;

static void
setup(void)
{
	msgpack_unpacked_init(&u);
	buf = NULL;
	len = 0;
}

static void
teardown(void)
{
	msgpack_unpacked_destroy(&u);
	free(buf);
}

TestSuite(yaml, .init = setup, .fini = teardown);

/* Convert text and unpack the result into u. */
static const msgpack_object *
conv(const char *text)
{
	size_t off = 0;
	int rv = domino_yaml_to_msgpack(text, strlen(text), "t.yaml", &buf,
	    &len);

	cr_assert_eq(rv, DOMINO_OK, "%s: %s", text, domino_errmsg());
	cr_assert_eq(msgpack_unpack_next(&u, buf, len, &off),
	    MSGPACK_UNPACK_SUCCESS);
	cr_assert_eq(off, len, "one object, nothing after it");
	return &u.data;
}

/* The value of key in map m (keys are strings). */
static const msgpack_object *
get(const msgpack_object *m, const char *key)
{
	cr_assert_eq(m->type, MSGPACK_OBJECT_MAP);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		cr_assert_eq(k->type, MSGPACK_OBJECT_STR, "keys are strings");
		if (k->via.str.size == strlen(key) &&
		    memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
			return &m->via.map.ptr[i].val;
	}
	cr_assert_fail("no key %s", key);
	return NULL;
}

static void
expect_str(const msgpack_object *o, const char *s)
{
	cr_assert_eq(o->type, MSGPACK_OBJECT_STR, "type %d for %s", o->type, s);
	cr_expect_eq(o->via.str.size, strlen(s));
	cr_expect(memcmp(o->via.str.ptr, s, strlen(s)) == 0, "want %s", s);
}

/* Refused with exactly this message. */
static void
expect_err(const char *text, int code, const char *msg)
{
	int rv = domino_yaml_to_msgpack(text, strlen(text), "t.yaml", &buf,
	    &len);

	cr_expect_eq(rv, code, "%s -> %d (%s)", text, rv, domino_errmsg());
	cr_expect_null(buf);
	cr_expect_str_eq(domino_errmsg(), msg);
}

Test(yaml, plain_scalars_are_typed)
{
	const msgpack_object *m = conv(
	    "u: 42\n"
	    "big: 18446744073709551615\n"
	    "neg: -7\n"
	    "plus: +3\n"
	    "t: true\n"
	    "f: False\n"
	    "n1: null\n"
	    "n2: ~\n"
	    "n3:\n"
	    "s: hello world\n"
	    "yes: yes\n"
	    "float: 1.5\n"
	    "hex: 0x1f\n"
	    "dur: 5s\n"
	    "repo: github.com/org/*\n");

	cr_expect_eq(get(m, "u")->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	cr_expect_eq(get(m, "u")->via.u64, 42);
	cr_expect_eq(get(m, "big")->via.u64, UINT64_MAX);
	cr_expect_eq(get(m, "neg")->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	cr_expect_eq(get(m, "neg")->via.i64, -7);
	cr_expect_eq(get(m, "plus")->via.u64, 3);
	cr_expect_eq(get(m, "t")->type, MSGPACK_OBJECT_BOOLEAN);
	cr_expect(get(m, "t")->via.boolean);
	cr_expect_eq(get(m, "f")->type, MSGPACK_OBJECT_BOOLEAN);
	cr_expect(!get(m, "f")->via.boolean);
	cr_expect_eq(get(m, "n1")->type, MSGPACK_OBJECT_NIL);
	cr_expect_eq(get(m, "n2")->type, MSGPACK_OBJECT_NIL);
	cr_expect_eq(get(m, "n3")->type, MSGPACK_OBJECT_NIL);
	expect_str(get(m, "s"), "hello world");
	/* YAML 1.2: yes is a string, and so is what is not a decimal int. */
	expect_str(get(m, "yes"), "yes");
	expect_str(get(m, "float"), "1.5");
	expect_str(get(m, "hex"), "0x1f");
	expect_str(get(m, "dur"), "5s");
	expect_str(get(m, "repo"), "github.com/org/*");
}

Test(yaml, quoted_and_tagged_scalars_stay_strings)
{
	const msgpack_object *m = conv(
	    "a: \"42\"\n"
	    "b: 'true'\n"
	    "c: !!str 7\n"
	    "d: \"\"\n"
	    "e: |\n"
	    "  12\n"
	    "f: ! 5\n"
	    "7: number key\n");

	expect_str(get(m, "a"), "42");
	expect_str(get(m, "b"), "true");
	expect_str(get(m, "c"), "7");
	expect_str(get(m, "d"), "");
	expect_str(get(m, "e"), "12\n");
	expect_str(get(m, "f"), "5");
	expect_str(get(m, "7"), "number key");
}

Test(yaml, nesting)
{
	const msgpack_object *m = conv(
	    "name: plugin-b\n"
	    "depends_on:\n"
	    "  - github.com/org/core\n"
	    "  - repo: github.com/org/lib\n"
	    "    ref: main\n"
	    "    types: [push, tag]\n"
	    "callback: {plugin: file, config: {path: /tmp/x}}\n"
	    "retry:\n"
	    "  schedule: [1s, 5s]\n"
	    "  max_attempts: 3\n"
	    "empty_map: {}\n"
	    "empty_list: []\n");
	const msgpack_object *deps = get(m, "depends_on"), *d1, *types;

	cr_assert_eq(m->via.map.size, 6);
	expect_str(get(m, "name"), "plugin-b");
	cr_assert_eq(deps->type, MSGPACK_OBJECT_ARRAY);
	cr_assert_eq(deps->via.array.size, 2);
	expect_str(&deps->via.array.ptr[0], "github.com/org/core");
	d1 = &deps->via.array.ptr[1];
	expect_str(get(d1, "ref"), "main");
	types = get(d1, "types");
	cr_assert_eq(types->via.array.size, 2);
	expect_str(&types->via.array.ptr[1], "tag");
	expect_str(get(get(get(m, "callback"), "config"), "path"), "/tmp/x");
	cr_expect_eq(get(get(m, "retry"), "max_attempts")->via.u64, 3);
	cr_expect_eq(get(m, "empty_map")->via.map.size, 0);
	cr_expect_eq(get(m, "empty_list")->type, MSGPACK_OBJECT_ARRAY);
	cr_expect_eq(get(m, "empty_list")->via.array.size, 0);
}

Test(yaml, json_input)
{
	const msgpack_object *m = conv(
	    "{\"name\": \"x\", \"support_level\": 1, \"coalesce\": false,\n"
	    " \"depends_on\": [\"github.com/o/a\"], \"labels\": null,\n"
	    " \"s\": \"1\"}");

	expect_str(get(m, "name"), "x");
	cr_expect_eq(get(m, "support_level")->via.u64, 1);
	cr_expect_eq(get(m, "coalesce")->type, MSGPACK_OBJECT_BOOLEAN);
	cr_expect_eq(get(m, "labels")->type, MSGPACK_OBJECT_NIL);
	expect_str(get(m, "s"), "1");
}

Test(yaml, scalar_and_list_documents)
{
	const msgpack_object *o = conv("--- [1, two]\n...\n");

	cr_assert_eq(o->type, MSGPACK_OBJECT_ARRAY);
	cr_expect_eq(o->via.array.ptr[0].via.u64, 1);
	expect_str(&o->via.array.ptr[1], "two");
}

Test(yaml, refusals_name_the_line)
{
	expect_err("a: 1\nb: &x 2\n", DOMINO_EINVAL,
	    "t.yaml:2: anchors (&x) are not supported; write the value out");
	expect_err("a: 1\nb: *x\n", DOMINO_EINVAL,
	    "t.yaml:2: aliases (*x) are not supported; write the value out");
	expect_err("a: 1\n---\nb: 2\n", DOMINO_EINVAL,
	    "t.yaml:2: more than one document (one listener per file)");
	expect_err("name: a\nx: 1\nname: b\n", DOMINO_EINVAL,
	    "t.yaml:3: duplicate key 'name' (first at line 1)");
	expect_err("m:\n  k: 1\n  \"k\": 2\n", DOMINO_EINVAL,
	    "t.yaml:3: duplicate key 'k' (first at line 2)");
	expect_err("\"a\\nb\": 1\n\"a\\nb\": 2\n", DOMINO_EINVAL,
	    "t.yaml:2: duplicate key 'a?b' (first at line 1)");
	expect_err("? [a]\n: 1\n", DOMINO_EINVAL,
	    "t.yaml:1: a key must be a plain value, not a list or a map");
	expect_err("a: !!int 5\n", DOMINO_EINVAL,
	    "t.yaml:1: tag tag:yaml.org,2002:int is not supported");
	expect_err("a: 18446744073709551616\n", DOMINO_EINVAL,
	    "t.yaml:1: integer 18446744073709551616 does not fit in 64 bits "
	    "(quote it to keep it as text)");
	expect_err("a: -9223372036854775809\n", DOMINO_EINVAL,
	    "t.yaml:1: integer -9223372036854775809 does not fit in 64 bits "
	    "(quote it to keep it as text)");
	expect_err("", DOMINO_EINVAL, "t.yaml:1: empty: no YAML document");
	expect_err("# only a comment\n", DOMINO_EINVAL,
	    "t.yaml:1: empty: no YAML document");
}

Test(yaml, syntax_errors_name_the_line)
{
	int rv;

	rv = domino_yaml_to_msgpack("a: 1\nb: [1, 2\nc: 3\n", 19, "f.yaml",
	    &buf, &len);
	cr_expect_eq(rv, DOMINO_EINVAL);
	cr_expect(strncmp(domino_errmsg(), "f.yaml:", 7) == 0, "%s",
	    domino_errmsg());
	rv = domino_yaml_to_msgpack("a: 1\n  b: 2\n", 12, NULL, &buf, &len);
	cr_expect_eq(rv, DOMINO_EINVAL);
	cr_expect_str_eq(domino_errmsg(), "input:2: mapping values are not "
	    "allowed in this context");
}

Test(yaml, depth_limit)
{
	char text[512] = "";

	/* 32 levels are fine, 33 are not. */
	for (int i = 0; i < 32; i++)
		strcat(text, "[");
	for (int i = 0; i < 32; i++)
		strcat(text, "]");
	conv(text);
	msgpack_unpacked_destroy(&u);
	msgpack_unpacked_init(&u);
	free(buf);
	buf = NULL;
	strcpy(text, "x: 1\na: ");
	for (int i = 0; i < 33; i++)
		strcat(text, "[");
	for (int i = 0; i < 33; i++)
		strcat(text, "]");
	expect_err(text, DOMINO_EINVAL,
	    "t.yaml:2: nested deeper than 32 levels");
}

Test(yaml, bad_arguments)
{
	cr_expect_eq(domino_yaml_to_msgpack("a", 1, NULL, NULL, &len),
	    DOMINO_EINVAL);
	cr_expect_eq(domino_yaml_to_msgpack(NULL, 3, NULL, &buf, &len),
	    DOMINO_EINVAL);
	cr_expect_eq(domino_yaml_to_msgpack("a", (size_t)17 << 20, NULL, &buf,
	    &len), DOMINO_ETOOBIG);
}

Test(yaml, registration_pack_matches_yaml)
{
	const char *types[] = {"push"};
	struct domino_dep deps[] = {
		{.repo = "github.com/org/core"},
		{.repo = "github.com/org/lib", .ref = "main", .types = types,
		    .n_types = 1},
	};
	struct domino_kv cfg[] = {{"path", "/tmp/x"}};
	struct domino_kv labels[] = {{"team", "build"}};
	struct domino_registration r = {
		.name = "b", .depends_on = deps, .n_depends_on = 2,
		.provides = "github.com/org/b", .plugin = "file",
		.config = cfg, .n_config = 1, .has_support_level = 1,
		.support_level = 0, .labels = labels, .n_labels = 1,
	};
	void *packed = NULL;
	size_t plen = 0;
	const msgpack_object *m;
	char *j1 = NULL, *j2 = NULL;

	cr_assert_eq(domino_registration_pack(&r, &packed, &plen), DOMINO_OK);
	m = conv("name: b\n"
	    "depends_on:\n"
	    "  - github.com/org/core\n"
	    "  - {repo: github.com/org/lib, ref: main, types: [push]}\n"
	    "provides: github.com/org/b\n"
	    "callback: {plugin: file, config: {path: /tmp/x}}\n"
	    "support_level: 0\n"
	    "labels: {team: build}\n");
	cr_assert_not_null(m);
	cr_assert_eq(domino_msgpack_to_json(packed, plen, 0, &j1), DOMINO_OK);
	cr_assert_eq(domino_msgpack_to_json(buf, len, 0, &j2), DOMINO_OK);
	cr_expect_str_eq(j1, j2);
	free(j1);
	free(j2);
	free(packed);

	r.plugin = NULL;
	cr_expect_eq(domino_registration_pack(&r, &packed, &plen),
	    DOMINO_EINVAL);
	cr_expect_str_eq(domino_errmsg(), "callback.plugin: required");
	r.plugin = "file";
	r.n_depends_on = 0;
	cr_expect_eq(domino_registration_pack(&r, &packed, &plen),
	    DOMINO_EINVAL);
	cr_expect_null(packed);
}

Test(yaml, msgpack_to_json)
{
	char *j = NULL;

	conv("s: \"a\\\"b\\n\"\nu: 18446744073709551615\nn: -1\nl: [true, null]\n"
	    "m: {k: v}\n");
	cr_assert_eq(domino_msgpack_to_json(buf, len, 0, &j), DOMINO_OK);
	cr_expect_str_eq(j, "{\"s\":\"a\\\"b\\n\",\"u\":18446744073709551615,"
	    "\"n\":-1,\"l\":[true,null],\"m\":{\"k\":\"v\"}}");
	free(j);
	cr_assert_eq(domino_msgpack_to_json(buf, len, 1, &j), DOMINO_OK);
	cr_expect(strstr(j, "\n  \"l\": [\n    true,\n    null\n  ],") != NULL,
	    "%s", j);
	free(j);
	/* An array that claims three elements and has none. */
	cr_expect_neq(domino_msgpack_to_json("\x93", 1, 0, &j), DOMINO_OK);
	cr_expect_null(j);
}
