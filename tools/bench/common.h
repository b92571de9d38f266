/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the benchmark drivers (tools/bench/bench_*.c): clocks,
 * pacing, latency samples, waiting for subscribers to drain, and the
 * one-line result every driver prints.
 *
 * A driver prints exactly one line starting with "RESULT " on stdout, made
 * of key=value pairs; tools/bench reads the key it was told to. Everything
 * else goes to stderr. Deliberately no JSON here: the orchestrator owns the
 * table and build/bench.json.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic and wall clocks in ns (wall: what travels inside a message). */
int64_t mono_ns(void);
int64_t wall_ns(void);
void sleep_until_mono(int64_t t);
void sleep_ms(int ms);

/*
 * Paced senders: conc threads each send every period_ns, the whole run
 * starting at t0. Returns when sender idx sends first: the phases are
 * spread over one period, so the aggregate rate is steady rather than
 * conc sends in one burst every period.
 */
int64_t pace_first(int64_t t0, int64_t period_ns, int idx, int conc);

/* The mode: the first argument that is not an option or its value (every
 * option takes one value). "" when none. */
const char *arg_mode(int argc, char **argv);

/* "--name value" from argv, else def. */
const char *arg_str(int argc, char **argv, const char *name, const char *def);
long arg_long(int argc, char **argv, const char *name, long def);

/* A growable array of latency samples in ns (one per thread, no locks). */
struct lat {
	int64_t *v;
	size_t n, cap;
};
void lat_add(struct lat *l, int64_t ns);
void lat_merge(struct lat *dst, const struct lat *src);
/* Sorts l; q in [0,1]; returns the sample in µs (0 when empty). */
double lat_quantile_us(struct lat *l, double q);
void lat_free(struct lat *l);

/*
 * Wait until total(subs, k), the deliveries k subscribers counted so far,
 * reaches expected or stops moving for 1 s: what is still missing then is
 * lost.
 */
void drain(uint64_t (*total)(void *subs, int k), void *subs, int k,
    uint64_t expected);

/* Print "RESULT key=value ..." (fmt without the prefix) and flush. */
void result(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Die with a message on stderr (drivers are short-lived tools). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Fill buf with n printable bytes (payload filler). */
void fill(char *buf, size_t n);

/* Big-endian u64 into/out of the first 8 bytes of a payload. */
void put64(void *p, uint64_t v);
uint64_t get64(const void *p);

#endif
