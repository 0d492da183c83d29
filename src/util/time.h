/* The clocks, read one way everywhere.  Monotonic time (CLOCK_MONOTONIC)
 * for every timeout, tick and duration; wall time (CLOCK_REALTIME) only for
 * what is shown to people or stored as a timestamp, never for correctness. */
#ifndef RCFS_UTIL_TIME_H
#define RCFS_UTIL_TIME_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in ns (arbitrary origin). */
static inline uint64_t
time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Monotonic time in ms (arbitrary origin). */
static inline uint64_t
time_mono_ms(void)
{
	return time_mono_ns() / 1000000u;
}

/* Wall time in ns since the epoch. */
static inline int64_t
time_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wall time in ms since the epoch. */
static inline uint64_t
time_real_ms(void)
{
	return (uint64_t)time_real_ns() / 1000000u;
}

#endif
