/* Log-linear latency histogram (see hist.h). */
#include <math.h>
#include <string.h>

#include "lathist.h"

static unsigned lathist_index(uint64_t v);
static void lathist_bounds(unsigned i, uint64_t *lo, uint64_t *hi);

/* Bucket of value v: below LATHIST_SUB one bucket per value; above, octave k
 * (v in [2^k, 2^(k+1))) is split into LATHIST_SUB equal parts. */
static unsigned
lathist_index(uint64_t v)
{
	unsigned k;

	if (v < LATHIST_SUB)
		return (unsigned)v;
	k = 63u - (unsigned)__builtin_clzll(v);         /* floor(log2 v) >= LATHIST_SUB_BITS */
	if (k - LATHIST_SUB_BITS >= LATHIST_OCTAVES)
		return LATHIST_BUCKETS - 1;
	return LATHIST_SUB + (k - LATHIST_SUB_BITS) * LATHIST_SUB
	    + (unsigned)((v >> (k - LATHIST_SUB_BITS)) & (LATHIST_SUB - 1));
}

/* Values [lo, hi] that fall in bucket i. */
static void
lathist_bounds(unsigned i, uint64_t *lo, uint64_t *hi)
{
	unsigned k, sub;

	if (i < LATHIST_SUB) {
		*lo = *hi = i;
		return;
	}
	k = (i - LATHIST_SUB) / LATHIST_SUB + LATHIST_SUB_BITS;
	sub = (i - LATHIST_SUB) % LATHIST_SUB;
	*lo = ((uint64_t)(LATHIST_SUB + sub)) << (k - LATHIST_SUB_BITS);
	*hi = *lo + ((uint64_t)1 << (k - LATHIST_SUB_BITS)) - 1;
}

void
lathist_init(struct lathist *h)
{
	memset(h, 0, sizeof *h);
}

void
lathist_add(struct lathist *h, uint64_t us)
{
	if (h->count == 0 || us < h->min_us)
		h->min_us = us;
	if (us > h->max_us)
		h->max_us = us;
	h->count++;
	h->sum_us += us;
	h->bucket[lathist_index(us)]++;
}

void
lathist_merge(struct lathist *to, const struct lathist *from)
{
	if (from->count == 0)
		return;
	if (to->count == 0 || from->min_us < to->min_us)
		to->min_us = from->min_us;
	if (from->max_us > to->max_us)
		to->max_us = from->max_us;
	to->count += from->count;
	to->sum_us += from->sum_us;
	for (unsigned i = 0; i < LATHIST_BUCKETS; i++)
		to->bucket[i] += from->bucket[i];
}

double
lathist_percentile(const struct lathist *h, double p)
{
	uint64_t rank, seen = 0, lo, hi;
	double v;

	if (h->count == 0)
		return 0;
	if (p >= 100)
		return (double)h->max_us;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < LATHIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			lathist_bounds(i, &lo, &hi);
			v = ((double)lo + (double)hi) / 2.0;
			if (v < (double)h->min_us)
				v = (double)h->min_us;
			if (v > (double)h->max_us)
				v = (double)h->max_us;
			return v;
		}
	}
	return (double)h->max_us;
}
