/* SPDX-License-Identifier: MIT */
/*
 * log_write(): formats once into a stack buffer and writes the line with one
 * write(2), so lines from several threads do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int log_level_now = LOG_INFO;
static int log_json;

static const char *const names[] = {"error", "warn", "info", "debug"};

int
log_setup(const char *level, const char *format)
{
	int found = 0;

	if (level != NULL) {
		for (int i = 0; i <= LOG_DEBUG; i++) {
			if (strcmp(level, names[i]) == 0) {
				log_level_now = i;
				found = 1;
			}
		}
		if (!found)
			return -1;
	}
	if (format != NULL) {
		if (strcmp(format, "json") == 0)
			log_json = 1;
		else if (strcmp(format, "human") == 0)
			log_json = 0;
		else
			return -1;
	}
	return 0;
}

/* Append s to out as a JSON string body (no quotes). */
static size_t
json_esc(char *out, size_t cap, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < len && n + 7 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	return n;
}

static size_t
to_json(char *out, size_t cap, const char *ts, int level, const char *msg)
{
	size_t n = 0;
	const char *p = msg, *words;
	size_t wl;

	n += (size_t)snprintf(out, cap, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"",
	    ts, names[level]);
	/* The message is the text before the first key=value token. */
	words = p;
	for (;;) {
		const char *sp = strchr(p, ' ');
		const char *tok_end = sp ? sp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(tok_end - p));
		if (eq != NULL || *p == '\0')
			break;
		p = sp ? sp + 1 : tok_end;
		if (sp == NULL)
			break;
	}
	wl = (size_t)(p - words);
	while (wl > 0 && words[wl - 1] == ' ')
		wl--;
	n = json_esc(out, cap, n, words, wl);
	if (n + 2 < cap)
		out[n++] = '"';
	while (*p != '\0' && n + 8 < cap) {
		const char *eq = strchr(p, '=');
		const char *v, *end;
		if (eq == NULL)
			break;
		v = eq + 1;
		if (*v == '"') {
			v++;
			end = strchr(v, '"');
			if (end == NULL)
				end = v + strlen(v);
		} else {
			end = strchr(v, ' ');
			if (end == NULL)
				end = v + strlen(v);
		}
		out[n++] = ',';
		out[n++] = '"';
		n = json_esc(out, cap, n, p, (size_t)(eq - p));
		out[n++] = '"';
		out[n++] = ':';
		out[n++] = '"';
		n = json_esc(out, cap, n, v, (size_t)(end - v));
		if (n + 2 < cap)
			out[n++] = '"';
		p = *end == '"' ? end + 1 : end;
		while (*p == ' ')
			p++;
	}
	if (n + 2 < cap)
		out[n++] = '}';
	return n;
}

void
log_write(int level, const char *fmt, ...)
{
	char msg[1024], line[3072], ts[40];
	struct timespec now;
	struct tm tm;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
	if (log_json)
		n = to_json(line, sizeof(line) - 1, ts, level, msg);
	else
		n = (size_t)snprintf(line, sizeof(line) - 1, "%s %-5s %s", ts,
		    names[level], msg);
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}
