/* SPDX-License-Identifier: MIT */
/*
 * Wall-clock time in unix nanoseconds: event times, due times, uptimes;
 * and the calling thread's CPU time, for costs that preemption on a busy
 * machine should not inflate.
 */
#ifndef DOMINO_CLOCK_H
#define DOMINO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t
clock_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
