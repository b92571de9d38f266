/* SPDX-License-Identifier: MIT */
/*
 * Text helpers of libdomino for programs that show events to people or
 * hand them to scripts: the one-line event format and the JSON form used by
 * the `domino` CLI, time and number parsing for its options. All functions
 * are pure (no I/O, no global state except the C library's time zone for
 * local times) and thread-safe.
 *
 * Return codes follow domino.h: DOMINO_OK, DOMINO_EINVAL (text that does
 * not parse), DOMINO_ENOMEM. Strings returned through char **out are
 * malloc'd and owned by the caller (free()); *out is NULL on failure.
 */
#ifndef DOMINO_FMT_H
#define DOMINO_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "domino.h"

/*
 * Parse a whole decimal unsigned number ("42"); no sign, no spaces, no
 * trailing text, no overflow.
 */
int domino_fmt_parse_u64(const char *s, uint64_t *out);

/*
 * Parse a point in time into unix nanoseconds:
 *  - RFC 3339: "2026-11-21T12:00:00Z", "2026-11-21T12:00:00.5+02:00",
 *    ' ' instead of 'T' allowed; without a zone it is local time;
 *  - a date "2026-11-21" (midnight UTC);
 *  - unix seconds "1763726400";
 *  - an age relative to now_ns: "90s", "30m", "1h", "2d", "1w" ago.
 */
int domino_fmt_parse_time(const char *s, int64_t now_ns, int64_t *out_ns);

/*
 * Write ns as local time "2026-11-21 12:41:33" into buf (cap >= 20 for the
 * whole text; it is truncated otherwise). 0 gives "-". Returns buf.
 */
char *domino_fmt_time(int64_t ns, char *buf, size_t cap);

/* Write a duration as "3d 4h 5m 6s" (largest units first, zero parts
 * left out, "0s" for 0) into buf. Returns buf. */
char *domino_fmt_duration(uint64_t ms, char *buf, size_t cap);

/*
 * One line for a person, without a newline, columns aligned for usual
 * widths:
 *   seq  time  source  type  repo  ref  before7..after7  actor
 * Commit ids are cut to 7 characters; absent fields are "-". With ev NULL
 * the column titles are written instead.
 */
int domino_fmt_event_line(const struct domino_event *ev, char **out);

/*
 * The event as one compact JSON object (no newline) with the wire field
 * names: seq and time are exact JSON integers, absent strings are left
 * out, headers is an object. With with_payload, a payload that is JSON is
 * embedded as "payload"; any other payload goes to "payload_base64".
 */
int domino_fmt_event_json(const struct domino_event *ev, int with_payload,
    char **out);

/* The stats as one compact JSON object (the `stats` field names). */
int domino_fmt_stats_json(const struct domino_stats *st, char **out);

#endif
