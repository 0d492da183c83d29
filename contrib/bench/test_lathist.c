/* Unit test of the load generator's latency histogram (TAP): percentiles of known
 * distributions are within the bucket's relative error of the exact ones. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lathist.h"

static int failed, n;

static void
ok(int cond, const char *what, double got, double want)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s (got %.1f, want %.1f)\n", cond ? "" : "not ", n, what, got, want);
}

/* |got - want| <= want / LATHIST_SUB (+0.5 for the integer buckets) */
static int
close_to(double got, double want)
{
	return fabs(got - want) <= want / LATHIST_SUB + 0.5;
}

int
main(void)
{
	static struct lathist h, a, b;
	double p;

	lathist_init(&h);
	ok(lathist_percentile(&h, 50) == 0, "empty histogram gives 0", lathist_percentile(&h, 50), 0);

	/* 1..100000 us once each: the p-th percentile is p * 1000 us. */
	for (uint64_t v = 1; v <= 100000; v++)
		lathist_add(&h, v);
	p = lathist_percentile(&h, 50);
	ok(close_to(p, 50000), "uniform p50", p, 50000);
	p = lathist_percentile(&h, 90);
	ok(close_to(p, 90000), "uniform p90", p, 90000);
	p = lathist_percentile(&h, 99);
	ok(close_to(p, 99000), "uniform p99", p, 99000);
	p = lathist_percentile(&h, 100);
	ok(p == 100000, "p100 is the exact maximum", p, 100000);
	ok(h.min_us == 1 && h.count == 100000, "min and count exact", (double)h.min_us, 1);

	/* Small values are exact. */
	lathist_init(&h);
	for (int i = 0; i < 99; i++)
		lathist_add(&h, 7);
	lathist_add(&h, 5000000);
	p = lathist_percentile(&h, 99);
	ok(p == 7, "99 of 100 at 7 us: p99 = 7", p, 7);
	p = lathist_percentile(&h, 99.5);
	ok(close_to(p, 5000000), "outlier is p99.5", p, 5000000);

	/* Merging two halves equals adding everything to one. */
	lathist_init(&a);
	lathist_init(&b);
	for (uint64_t v = 1; v <= 20000; v++)
		lathist_add(v % 2 ? &a : &b, v * 37 % 100003);
	lathist_merge(&a, &b);
	lathist_init(&h);
	for (uint64_t v = 1; v <= 20000; v++)
		lathist_add(&h, v * 37 % 100003);
	ok(lathist_percentile(&a, 90) == lathist_percentile(&h, 90) && a.count == h.count
	    && a.max_us == h.max_us && a.min_us == h.min_us, "merge == single histogram",
	    lathist_percentile(&a, 90), lathist_percentile(&h, 90));

	/* Huge values do not overflow the bucket array. */
	lathist_add(&h, UINT64_MAX / 2);
	ok(lathist_percentile(&h, 100) == (double)(UINT64_MAX / 2), "huge value kept as max",
	    lathist_percentile(&h, 100), (double)(UINT64_MAX / 2));

	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
