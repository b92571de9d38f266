/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the benchmark drivers; see common.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
sleep_until_mono(int64_t t)
{
	struct timespec ts = {t / 1000000000, t % 1000000000};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

void
sleep_ms(int ms)
{
	sleep_until_mono(mono_ns() + (int64_t)ms * 1000000);
}

int64_t
pace_first(int64_t t0, int64_t period_ns, int idx, int conc)
{
	if (conc <= 0)
		return t0;
	return t0 + period_ns * idx / conc;
}

const char *
arg_mode(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0)
			return argv[i];
		i++; /* skip the option's value */
	}
	return "";
}

const char *
arg_str(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

long
arg_long(int argc, char **argv, const char *name, long def)
{
	const char *s = arg_str(argc, argv, name, NULL);

	return s != NULL ? strtol(s, NULL, 10) : def;
}

void
lat_add(struct lat *l, int64_t ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		int64_t *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return; /* a lost sample is better than a dead driver */
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = ns;
}

void
lat_merge(struct lat *dst, const struct lat *src)
{
	for (size_t i = 0; i < src->n; i++)
		lat_add(dst, src->v[i]);
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

double
lat_quantile_us(struct lat *l, double q)
{
	size_t i;

	if (l->n == 0)
		return 0;
	qsort(l->v, l->n, sizeof(l->v[0]), cmp64);
	i = (size_t)(q * (double)(l->n - 1) + 0.5);
	return (double)l->v[i] / 1000.0;
}

void
lat_free(struct lat *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void
result(const char *fmt, ...)
{
	va_list ap;

	fputs("RESULT ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void
fill(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (char)(i % 26));
}

void
put64(void *p, uint64_t v)
{
	unsigned char *b = p;

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (56 - 8 * i));
}

uint64_t
get64(const void *p)
{
	const unsigned char *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

void
drain(uint64_t (*total)(void *subs, int k), void *subs, int k,
    uint64_t expected)
{
	uint64_t prev = 0;
	int64_t still = mono_ns();

	for (;;) {
		uint64_t n = total(subs, k);
		if (n >= expected)
			return;
		if (n != prev) {
			prev = n;
			still = mono_ns();
		} else if (mono_ns() - still > 1000000000) {
			return;
		}
		sleep_ms(10);
	}
}
