/* Latency histogram for the load generator: log-linear buckets over
 * microseconds (each power of two split into HIST_SUB linear sub-buckets), so
 * any recorded value is known to within 1/HIST_SUB (1.6 %) relative error,
 * with constant memory whatever the run length.  Exact count, sum, min, max.
 * The scheme is the one HdrHistogram popularized (G. Tene); this is a small
 * independent implementation. */
#ifndef RCFS_BENCH_HIST_H
#define RCFS_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB      (1u << HIST_SUB_BITS)          /* linear sub-buckets per octave */
#define HIST_OCTAVES  40                              /* values up to 2^46 us */
#define HIST_BUCKETS  (HIST_SUB + HIST_OCTAVES * HIST_SUB)

/* A histogram of durations in microseconds.  Zero-initialize or hist_init(). */
struct hist {
	uint64_t count;
	uint64_t sum_us;
	uint64_t min_us, max_us;
	uint64_t bucket[HIST_BUCKETS];
};

/* Empty the histogram. */
void hist_init(struct hist *h);
/* Record one value (microseconds). */
void hist_add(struct hist *h, uint64_t us);
/* Add every value of `from` into `to`. */
void hist_merge(struct hist *to, const struct hist *from);
/* The p-th percentile (0 < p <= 100) in microseconds: the smallest value v
 * such that at least p % of the recorded values are <= v, reported as the
 * midpoint of v's bucket and clamped to [min, max] (so p = 100 is the exact
 * maximum).  0 for an empty histogram. */
double hist_percentile(const struct hist *h, double p);

#endif
