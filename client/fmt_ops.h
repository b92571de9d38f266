/* SPDX-License-Identifier: MIT */
/*
 * Text forms of the operator answers, for the `domino` CLI and other
 * programs that show them to people: a delivery's history, the
 * revalidation results of an upstream event (grouped by support level)
 * and of a listener (per dependency), the webhook answer counters of
 * `stats`, and the support-level labels. Pure functions (no I/O),
 * thread-safe; local times use the C library's time zone.
 *
 * Return codes follow domino.h: DOMINO_OK, DOMINO_EINVAL (NULL input, or
 * text that is not the JSON expected), DOMINO_ENOMEM. Strings returned
 * through char **out are malloc'd, NUL-terminated and owned by the caller
 * (free()); *out is NULL on failure. Multi-line texts end with '\n'.
 */
#ifndef DOMINO_FMT_OPS_H
#define DOMINO_FMT_OPS_H

#include "domino.h"

/*
 * The label of a support level: 0 "core", 1 "required for release",
 * 2 "not required", 3 "third party"; NULL for any other level. Static
 * strings.
 */
const char *domino_fmt_support_level(unsigned level);

/*
 * A delivery's history as a table indented by two spaces, with a title
 * line: TIME ATTEMPT WHAT STATUS DETAIL. Times are local
 * ("2026-11-21 12:41:33"), a status of -1 and an absent detail are "-",
 * control characters in the detail (an output tail's newlines) become
 * spaces. No history (v->n_history 0) gives "  (no history)\n".
 */
int domino_fmt_history_table(const struct domino_delivery *v, char **out);

/*
 * The JSON text of domino_results() for an event (listener NULL) as
 * groups by support level, most important first, each listener with the
 * state of its delivery, its reported status ("unknown" when it has not
 * answered) and the report's url; then a summary line:
 *
 *     LISTENER  DELIVERY  STATUS   URL
 *   core (level 0)
 *     app       ok        pass     https://ci.example/runs/7
 *   required for release (level 1)
 *     lib-b     dead      unknown  -
 *   1 pass, 0 fail, 1 not answered
 *
 * "N error" joins the summary when a listener reported an error. No
 * listener gives "no listener got seq N\n".
 */
int domino_fmt_results_event(const char *json, char **out);

/*
 * The JSON text of domino_results() for a listener as a table of its
 * newest report per upstream repo, ordered by repo: REPO SEQ STATUS
 * REPORTED URL. No report gives "no reports from NAME\n".
 */
int domino_fmt_results_listener(const char *json, char **out);

/*
 * The webhook answer counters of st as a table, one row per source (in
 * the broker's order) and one column per HTTP status (ascending):
 *
 *   SOURCE  202  401
 *   github    3    1
 *   gitlab    1    -
 *
 * Cells without answers are "-". No counters give "" (an empty string).
 */
int domino_fmt_ingest_table(const struct domino_stats *st, char **out);

#endif
