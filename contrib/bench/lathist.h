/* Latency histogram for the load generator: log-linear buckets over
 * microseconds (each power of two split into LATHIST_SUB linear sub-buckets), so
 * any recorded value is known to within 1/LATHIST_SUB (1.6 %) relative error,
 * with constant memory whatever the run length.  Exact count, sum, min, max.
 * The scheme is the one HdrHistogram popularized (G. Tene); this is a small
 * independent implementation. */
#ifndef RCFS_BENCH_LATHIST_H
#define RCFS_BENCH_LATHIST_H

#include <stdint.h>

#define LATHIST_SUB_BITS 6
#define LATHIST_SUB      (1u << LATHIST_SUB_BITS)          /* linear sub-buckets per octave */
#define LATHIST_OCTAVES  40                              /* values up to 2^46 us */
#define LATHIST_BUCKETS  (LATHIST_SUB + LATHIST_OCTAVES * LATHIST_SUB)

/* A histogram of durations in microseconds.  Zero-initialize or lathist_init(). */
struct lathist {
	uint64_t count;
	uint64_t sum_us;
	uint64_t min_us, max_us;
	uint64_t bucket[LATHIST_BUCKETS];
};

/* Empty the histogram. */
void lathist_init(struct lathist *h);
/* Record one value (microseconds). */
void lathist_add(struct lathist *h, uint64_t us);
/* Add every value of `from` into `to`. */
void lathist_merge(struct lathist *to, const struct lathist *from);
/* The p-th percentile (0 < p <= 100) in microseconds: the smallest value v
 * such that at least p % of the recorded values are <= v, reported as the
 * midpoint of v's bucket and clamped to [min, max] (so p = 100 is the exact
 * maximum).  0 for an empty histogram. */
double lathist_percentile(const struct lathist *h, double p);

#endif
