/* SPDX-License-Identifier: MIT */
/*
 * Text forms of the listener operations' answers, for the `domino` CLI and
 * other programs that show them to people or to scripts: the impact tree,
 * Graphviz and JSON; delivery records as a table or JSON lines; the
 * listener list as a table; a listener as YAML-ish text. Pure functions
 * (no I/O), thread-safe.
 *
 * Return codes follow domino.h: DOMINO_OK, DOMINO_EINVAL (bad input, e.g.
 * text that is not the JSON expected), DOMINO_ENOMEM. Strings returned
 * through char **out are malloc'd, NUL-terminated and owned by the caller
 * (free()); *out is NULL on failure. Multi-line texts end with '\n'.
 */
#ifndef DOMINO_FMT_LISTENER_H
#define DOMINO_FMT_LISTENER_H

#include "domino.h"

/*
 * The impact as a tree under the changed repo, each listener under the one
 * it is reached through, in the broker's (breadth-first) order:
 *
 *   github.com/org/core
 *   ├── plugin-b  (level 1, provides github.com/org/b)
 *   │   └── plugin-c  (level 2, provides github.com/org/c)
 *   └── plugin-d  (level 3)
 *
 * A listener whose parent is not in the list (filtered out by support
 * level) hangs under the repo with "through PARENT". No listener gives
 * the repo and "(no listener is reached)".
 */
int domino_fmt_impact_tree(const struct domino_impact *im, char **out);

/*
 * The impact as a Graphviz digraph: repos are boxes, listeners ellipses
 * (dashed when disabled) labelled with their support level; an edge
 * "depth N" from the repo whose change reaches a listener to it, and an
 * edge "provides" from a listener to the repo it provides.
 */
int domino_fmt_impact_dot(const struct domino_impact *im, char **out);

/* The impact's listeners as a JSON array (the `impact` reply's
 * `listeners`), one line plus '\n'. */
int domino_fmt_impact_json(const struct domino_impact *im, char **out);

/*
 * Delivery records as a table with a title line: LISTENER SEQ STATE
 * ATTEMPT REPO REF VIA, the via chain joined with " -> ", absent
 * fields "-". Columns are as wide as their widest cell.
 */
int domino_fmt_deliveries_table(const struct domino_deliveries *dl,
    char **out);

/* One delivery record as a compact JSON object (no newline), with the
 * wire field names; times are exact integers. "history" (an array of
 * {time, attempt, what, status, detail?}) is there when v->history is. */
int domino_fmt_delivery_json(const struct domino_delivery *v, char **out);

/*
 * The JSON text of domino_listeners() as a table with a title line:
 * NAME LEVEL PROVIDES DEPENDS_ON PLUGIN. depends_on entries are written
 * "repo[@ref][ (type,...)]", the first three then "+N more"; a disabled
 * listener's name is followed by " (disabled)".
 */
int domino_fmt_listeners_table(const char *json, char **out);

/*
 * JSON text (e.g. from domino_listener()) as YAML block text: maps as
 * "key: value", lists as "- item", strings quoted only when YAML would
 * read them as something else. The keys created, updated and
 * failing_since, when they are numbers, are unix ns and are written as
 * local times "2026-11-21 12:41:33" (0 as "-").
 */
int domino_fmt_json_yaml(const char *json, char **out);

#endif
