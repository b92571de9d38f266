/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the text forms of listener answers (client/fmt_listener.c)
 * from fixed inputs: the impact tree, Graphviz and JSON, the deliveries
 * table and JSON lines, the listeners table and the YAML-ish listener.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "domino.h"
#include "fmt_listener.h"

static char *out;

static void
utc(void)
{
	setenv("TZ", "UTC", 1);
	out = NULL;
}

static void
done(void)
{
	free(out);
}

TestSuite(fmtl, .init = utc, .fini = done);

static char *core[] = {"github.com/org/core"};
static char *core_b[] = {"github.com/org/core", "github.com/org/b"};
static char *core_b_c[] = {"github.com/org/core", "github.com/org/b",
    "github.com/org/c"};

/* core <- b <- c <- e, core <- d; b at level 1, c 2, d 3, e 0. */
static struct domino_impact_hit hits[] = {
	{.name = "plugin-b", .depth = 1, .support_level = 1,
	    .provides = "github.com/org/b", .via = core, .n_via = 1},
	{.name = "plugin-d", .depth = 1, .support_level = 3, .via = core,
	    .n_via = 1},
	{.name = "plugin-c", .depth = 2, .support_level = 2,
	    .provides = "github.com/org/c", .parent = "plugin-b",
	    .via = core_b, .n_via = 2},
	{.name = "plugin-e", .depth = 3, .support_level = 0,
	    .parent = "plugin-c", .disabled = 1, .via = core_b_c, .n_via = 3},
};

static struct domino_impact im = {.repo = "github.com/org/core",
    .hits = hits, .n = 4};

Test(fmtl, impact_tree)
{
	cr_assert_eq(domino_fmt_impact_tree(&im, &out), DOMINO_OK);
	cr_expect_str_eq(out,
	    "github.com/org/core\n"
	    "├── plugin-b  (level 1, provides github.com/org/b)\n"
	    "│   └── plugin-c  (level 2, provides github.com/org/c)\n"
	    "│       └── plugin-e  (level 0, disabled)\n"
	    "└── plugin-d  (level 3)\n");
}

Test(fmtl, impact_tree_filtered_and_empty)
{
	/* Filtered to level <= 1: plugin-e's parent plugin-c is not there. */
	struct domino_impact_hit f[] = {hits[0], hits[3]};
	struct domino_impact fi = {.repo = "github.com/org/core", .hits = f,
	    .n = 2};
	struct domino_impact none = {.repo = "github.com/org/x"};

	cr_assert_eq(domino_fmt_impact_tree(&fi, &out), DOMINO_OK);
	cr_expect_str_eq(out,
	    "github.com/org/core\n"
	    "├── plugin-b  (level 1, provides github.com/org/b)\n"
	    "└── plugin-e  (level 0, through plugin-c, disabled)\n");
	free(out);
	cr_assert_eq(domino_fmt_impact_tree(&none, &out), DOMINO_OK);
	cr_expect_str_eq(out, "github.com/org/x\n(no listener is reached)\n");
}

Test(fmtl, impact_dot)
{
	cr_assert_eq(domino_fmt_impact_dot(&im, &out), DOMINO_OK);
	cr_expect_str_eq(out,
	    "digraph impact {\n"
	    "\trankdir=LR;\n"
	    "\t\"github.com/org/core\" [shape=box];\n"
	    "\t\"plugin-b\" [shape=ellipse, label=\"plugin-b\\nlevel 1\"];\n"
	    "\t\"github.com/org/core\" -> \"plugin-b\" [label=\"depth 1\"];\n"
	    "\t\"github.com/org/b\" [shape=box];\n"
	    "\t\"plugin-b\" -> \"github.com/org/b\" [label=\"provides\", "
	    "style=dotted];\n"
	    "\t\"plugin-d\" [shape=ellipse, label=\"plugin-d\\nlevel 3\"];\n"
	    "\t\"github.com/org/core\" -> \"plugin-d\" [label=\"depth 1\"];\n"
	    "\t\"plugin-c\" [shape=ellipse, label=\"plugin-c\\nlevel 2\"];\n"
	    "\t\"github.com/org/b\" -> \"plugin-c\" [label=\"depth 2\"];\n"
	    "\t\"github.com/org/c\" [shape=box];\n"
	    "\t\"plugin-c\" -> \"github.com/org/c\" [label=\"provides\", "
	    "style=dotted];\n"
	    "\t\"plugin-e\" [shape=ellipse, label=\"plugin-e\\nlevel 0\", "
	    "style=dashed];\n"
	    "\t\"github.com/org/c\" -> \"plugin-e\" [label=\"depth 3\"];\n"
	    "}\n");
}

Test(fmtl, impact_json)
{
	struct domino_impact one = {.repo = "r", .hits = hits + 2, .n = 1};

	cr_assert_eq(domino_fmt_impact_json(&one, &out), DOMINO_OK);
	cr_expect_str_eq(out, "[{\"name\":\"plugin-c\",\"depth\":2,"
	    "\"support_level\":2,\"disabled\":false,"
	    "\"provides\":\"github.com/org/c\",\"parent\":\"plugin-b\","
	    "\"via\":[\"github.com/org/core\",\"github.com/org/b\"]}]\n");
	free(out);
	one.n = 0;
	cr_assert_eq(domino_fmt_impact_json(&one, &out), DOMINO_OK);
	cr_expect_str_eq(out, "[]\n");
}

static struct domino_delivery dels[] = {
	{.listener = "plugin-b", .seq = 7, .state = "pending", .attempt = 0,
	    .created = INT64_C(1763726400000000001), .via = core, .n_via = 1,
	    .repo = "github.com/org/core", .ref = "refs/heads/main",
	    .type = "push"},
	{.listener = "plugin-c", .seq = 12, .state = "failed", .attempt = 3,
	    .via = core_b, .n_via = 2, .repo = "github.com/org/core"},
};

Test(fmtl, deliveries_table)
{
	struct domino_deliveries dl = {.v = dels, .n = 2};

	cr_assert_eq(domino_fmt_deliveries_table(&dl, &out), DOMINO_OK);
	cr_expect_str_eq(out,
	    "LISTENER  SEQ  STATE    ATTEMPT  REPO                 REF    "
	    "          VIA\n"
	    "plugin-b    7  pending        0  github.com/org/core  "
	    "refs/heads/main  github.com/org/core\n"
	    "plugin-c   12  failed         3  github.com/org/core  -      "
	    "          github.com/org/core -> github.com/org/b\n");
}

Test(fmtl, delivery_json)
{
	cr_assert_eq(domino_fmt_delivery_json(&dels[0], &out), DOMINO_OK);
	cr_expect_str_eq(out, "{\"listener\":\"plugin-b\",\"seq\":7,"
	    "\"state\":\"pending\",\"attempt\":0,\"next\":0,"
	    "\"created\":1763726400000000001,"
	    "\"via\":[\"github.com/org/core\"],\"repo\":\"github.com/org/core\","
	    "\"ref\":\"refs/heads/main\",\"type\":\"push\"}");
}

Test(fmtl, listeners_table)
{
	const char *json = "[{\"name\":\"a\",\"depends_on\":[\"github.com/o/x\","
	    "{\"repo\":\"github.com/o/y\",\"ref\":\"refs/heads/main\","
	    "\"types\":[\"push\",\"tag\"]},\"github.com/o/z\",\"github.com/o/w\"],"
	    "\"support_level\":0,\"created\":1,\"updated\":2,\"disabled\":false,"
	    "\"plugin\":\"file\"},"
	    "{\"name\":\"bb\",\"depends_on\":[\"github.com/o/a\"],"
	    "\"provides\":\"github.com/o/b\",\"support_level\":2,"
	    "\"disabled\":true,\"plugin\":\"http\"}]";

	cr_assert_eq(domino_fmt_listeners_table(json, &out), DOMINO_OK);
	/* Columns as wide as their widest cell, LEVEL right-aligned. */
	cr_expect_str_eq(out,
	    "NAME           LEVEL  PROVIDES        DEPENDS_ON            "
	    "                                                            "
	    " PLUGIN\n"
	    "a                  0  -               github.com/o/x, github"
	    ".com/o/y@refs/heads/main (push,tag), github.com/o/z +1 more "
	    " file\n"
	    "bb (disabled)      2  github.com/o/b  github.com/o/a        "
	    "                                                            "
	    " http\n");
	free(out);
	out = NULL;
	cr_expect_eq(domino_fmt_listeners_table("{}", &out), DOMINO_EINVAL);
	cr_expect_eq(domino_fmt_listeners_table("[", &out), DOMINO_EINVAL);
}

Test(fmtl, json_yaml)
{
	const char *json = "{\"name\":\"b\",\"depends_on\":[\"github.com/o/a\","
	    "{\"repo\":\"github.com/o/c\",\"types\":[\"push\"]}],"
	    "\"support_level\":1,\"labels\":{\"team\":\"x y\",\"n\":\"42\"},"
	    "\"created\":1763726400000000000,\"updated\":0,\"disabled\":false,"
	    "\"callback\":{\"plugin\":\"http\",\"config\":{\"url\":"
	    "\"https://ci/x\",\"secret\":\"***\"}},\"retry\":{},\"coalesce\":"
	    "false}";

	cr_assert_eq(domino_fmt_json_yaml(json, &out), DOMINO_OK);
	cr_expect_str_eq(out,
	    "name: b\n"
	    "depends_on:\n"
	    "  - github.com/o/a\n"
	    "  - repo: github.com/o/c\n"
	    "    types:\n"
	    "      - push\n"
	    "support_level: 1\n"
	    "labels:\n"
	    "  team: x y\n"
	    "  n: \"42\"\n"
	    "created: 2025-11-21 12:00:00\n"
	    "updated: -\n"
	    "disabled: false\n"
	    "callback:\n"
	    "  plugin: http\n"
	    "  config:\n"
	    "    url: https://ci/x\n"
	    "    secret: \"***\"\n"
	    "retry: {}\n"
	    "coalesce: false\n");
	free(out);
	out = NULL;
	cr_expect_eq(domino_fmt_json_yaml("{", &out), DOMINO_EINVAL);
}
