/* benchutil.h: what the in-process benchmarks (bench.c, steer.c) share:
 * a fixed-seed xorshift generator (the same frames every run), the
 * monotonic clock in seconds, and exiting on a failed setup step. */
#ifndef HNV_BENCHUTIL_H
#define HNV_BENCHUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rng = 88172645463325252ull;
static inline uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static inline double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* BENCH_NAME: the program's name in its messages */
static inline void die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s failed: %d\n", BENCH_NAME, what, rc);
	exit(1);
}

#endif
