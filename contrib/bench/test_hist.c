/* Unit test of the load generator's histogram (TAP): percentiles of known
 * distributions are within the bucket's relative error of the exact ones. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hist.h"

static int failed, n;

static void
ok(int cond, const char *what, double got, double want)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s (got %.1f, want %.1f)\n", cond ? "" : "not ", n, what, got, want);
}

/* |got - want| <= want / HIST_SUB (+0.5 for the integer buckets) */
static int
close_to(double got, double want)
{
	return fabs(got - want) <= want / HIST_SUB + 0.5;
}

int
main(void)
{
	static struct hist h, a, b;
	double p;

	hist_init(&h);
	ok(hist_percentile(&h, 50) == 0, "empty histogram gives 0", hist_percentile(&h, 50), 0);

	/* 1..100000 us once each: the p-th percentile is p * 1000 us. */
	for (uint64_t v = 1; v <= 100000; v++)
		hist_add(&h, v);
	p = hist_percentile(&h, 50);
	ok(close_to(p, 50000), "uniform p50", p, 50000);
	p = hist_percentile(&h, 90);
	ok(close_to(p, 90000), "uniform p90", p, 90000);
	p = hist_percentile(&h, 99);
	ok(close_to(p, 99000), "uniform p99", p, 99000);
	p = hist_percentile(&h, 100);
	ok(p == 100000, "p100 is the exact maximum", p, 100000);
	ok(h.min_us == 1 && h.count == 100000, "min and count exact", (double)h.min_us, 1);

	/* Small values are exact. */
	hist_init(&h);
	for (int i = 0; i < 99; i++)
		hist_add(&h, 7);
	hist_add(&h, 5000000);
	p = hist_percentile(&h, 99);
	ok(p == 7, "99 of 100 at 7 us: p99 = 7", p, 7);
	p = hist_percentile(&h, 99.5);
	ok(close_to(p, 5000000), "outlier is p99.5", p, 5000000);

	/* Merging two halves equals adding everything to one. */
	hist_init(&a);
	hist_init(&b);
	for (uint64_t v = 1; v <= 20000; v++)
		hist_add(v % 2 ? &a : &b, v * 37 % 100003);
	hist_merge(&a, &b);
	hist_init(&h);
	for (uint64_t v = 1; v <= 20000; v++)
		hist_add(&h, v * 37 % 100003);
	ok(hist_percentile(&a, 90) == hist_percentile(&h, 90) && a.count == h.count
	    && a.max_us == h.max_us && a.min_us == h.min_us, "merge == single histogram",
	    hist_percentile(&a, 90), hist_percentile(&h, 90));

	/* Huge values do not overflow the bucket array. */
	hist_add(&h, UINT64_MAX / 2);
	ok(hist_percentile(&h, 100) == (double)(UINT64_MAX / 2), "huge value kept as max",
	    hist_percentile(&h, 100), (double)(UINT64_MAX / 2));

	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
