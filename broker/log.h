/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event of note, `what key=value ...`, to stderr.
 * Human lines by default, JSON lines with --log-format json (key=value pairs
 * become fields). The level is checked before formatting. Callers never pass
 * payloads or secrets.
 */
#ifndef DOMINO_LOG_H
#define DOMINO_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set the level and format; level/format names as in the config. Returns 0,
 * or -1 for an unknown name. Not thread-safe: call before starting threads. */
int log_setup(const char *level, const char *format);

extern int log_level_now;

void log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_msg(level, ...)                          \
	do {                                         \
		if ((level) <= log_level_now)        \
			log_write(level, __VA_ARGS__); \
	} while (0)

#endif
