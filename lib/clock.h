/* clock.h: monotonic time for timeouts, backoff and rate limits. */
#ifndef HNV_CLOCK_H
#define HNV_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t hnv_mono_ms(void);
/* Microseconds of CLOCK_MONOTONIC: for durations summed over many short
 * steps. */
int64_t hnv_mono_us(void);
/* Milliseconds of CLOCK_MONOTONIC_COARSE: cheaper, a tick (1-4 ms) coarse;
 * for per-packet use. */
int64_t hnv_mono_coarse_ms(void);

#endif
