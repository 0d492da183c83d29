/* Selection, cluster and combine algorithms of RFC 5905 §11.2 (select.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "clock/select.h"
#include "util/xmalloc.h"

struct endpoint {
	int64_t val;
	int type;   /* -1 lower edge, 0 midpoint, +1 upper edge */
};

static int endpoint_cmp(const void *a, const void *b);
static int intersect(const struct clock_candidate *c, int n, struct clock_selection *out);

int64_t
clock_root_distance(int64_t root_delay, int64_t root_disp, int64_t delay,
		    int64_t disp, int64_t jitter, int64_t age)
{
	int64_t d = root_delay + delay;

	if (d < CLOCK_MINDISP)
		d = CLOCK_MINDISP;
	return d / 2 + root_disp + disp + clock_phi(age) + jitter;
}

static int
endpoint_cmp(const void *a, const void *b)
{
	const struct endpoint *x = a, *y = b;

	if (x->val != y->val)
		return x->val < y->val ? -1 : 1;
	/* At equal values lower edges come first, so touching intervals
	 * intersect. */
	return x->type - y->type;
}

/* §11.2.1: find the smallest number of falsetickers `allow` (< n/2) such
 * that an interval [low, high] is contained in at least n - allow
 * correctness intervals [theta - lambda, theta + lambda], with at most
 * `allow` midpoints outside it. */
static int
intersect(const struct clock_candidate *c, int n, struct clock_selection *out)
{
	struct endpoint *ep = xcalloc((size_t)(3 * n), sizeof(*ep));
	int i, allow, found, chime, ok = 0;
	int64_t low = 0, high = 0;

	for (i = 0; i < n; i++) {
		ep[3 * i] = (struct endpoint){ c[i].offset - c[i].distance, -1 };
		ep[3 * i + 1] = (struct endpoint){ c[i].offset, 0 };
		ep[3 * i + 2] = (struct endpoint){ c[i].offset + c[i].distance, +1 };
	}
	qsort(ep, (size_t)(3 * n), sizeof(*ep), endpoint_cmp);
	for (allow = 0; 2 * allow < n; allow++) {
		found = 0;
		chime = 0;
		low = INT64_MAX;
		high = INT64_MIN;
		for (i = 0; i < 3 * n; i++) {
			chime -= ep[i].type;
			if (chime >= n - allow) {
				low = ep[i].val;
				break;
			}
			if (ep[i].type == 0)
				found++;
		}
		chime = 0;
		for (i = 3 * n - 1; i >= 0; i--) {
			chime += ep[i].type;
			if (chime >= n - allow) {
				high = ep[i].val;
				break;
			}
			if (ep[i].type == 0)
				found++;
		}
		/* More midpoints outside than falsetickers allowed: the
		 * interval would contain a falseticker's midpoint. */
		if (found > allow)
			continue;
		if (low <= high) {
			ok = 1;
			break;
		}
	}
	free(ep);
	if (!ok)
		return CLOCK_ENOSOURCE;
	out->low = low;
	out->high = high;
	out->allow = allow;
	return CLOCK_OK;
}

int
clock_select(struct clock_candidate *c, int n, struct clock_selection *out)
{
	int *surv, ns = 0, i, j, k, best;
	int64_t min_jit;
	double max_phi, phi, w, sw = 0, swo = 0, sq;
	int rv;

	memset(out, 0, sizeof(*out));
	out->syspeer = -1;
	for (i = 0; i < n; i++)
		c[i].status = CLOCK_CAND_FALSETICKER;
	if (n <= 0)
		return CLOCK_ENOSOURCE;
	rv = intersect(c, n, out);
	if (rv != CLOCK_OK)
		return rv;
	/* Truechimers: midpoint inside the intersection (A.5.5.1). */
	surv = xcalloc((size_t)n, sizeof(*surv));
	for (i = 0; i < n; i++) {
		if (c[i].offset >= out->low && c[i].offset <= out->high) {
			c[i].status = CLOCK_CAND_SURVIVOR;
			surv[ns++] = i;
		}
	}
	/* §11.2.2 cluster algorithm: while more than NMIN survive, drop the
	 * one with the largest selection jitter phi, unless phi is already
	 * below the smallest peer jitter (pruning would not help). */
	while (ns > CLOCK_NMIN) {
		max_phi = -1;
		k = 0;
		min_jit = INT64_MAX;
		for (i = 0; i < ns; i++) {
			sq = 0;
			for (j = 0; j < ns; j++) {
				double d = (double)(c[surv[i]].offset - c[surv[j]].offset);

				sq += d * d;
			}
			phi = sqrt(sq / (ns - 1));
			if (phi > max_phi) {
				max_phi = phi;
				k = i;
			}
			if (c[surv[i]].jitter < min_jit)
				min_jit = c[surv[i]].jitter;
		}
		if (max_phi <= (double)min_jit)
			break;
		c[surv[k]].status = CLOCK_CAND_OUTLIER;
		surv[k] = surv[--ns];
	}
	/* System peer: lowest metric MAXDIST * stratum + lambda (A.5.5.1). */
	best = surv[0];
	for (i = 1; i < ns; i++) {
		int s = surv[i];
		__int128 ms = (__int128)CLOCK_MAXDIST * c[s].stratum + c[s].distance;
		__int128 mb = (__int128)CLOCK_MAXDIST * c[best].stratum + c[best].distance;

		if (ms < mb)
			best = s;
	}
	c[best].status = CLOCK_CAND_SYSPEER;
	/* §11.2.3 combine: weights 1 / lambda. */
	for (i = 0; i < ns; i++) {
		int s = surv[i];
		int64_t lam = c[s].distance > 0 ? c[s].distance : 1;

		w = 1.0 / (double)lam;
		sw += w;
		swo += w * (double)c[s].offset;
	}
	out->offset = (int64_t)(swo / sw);
	sq = 0;
	for (i = 0; i < ns; i++) {
		int s = surv[i];
		double d = (double)(c[s].offset - c[best].offset);

		sq += d * d / (double)(c[s].distance > 0 ? c[s].distance : 1) / sw;
	}
	out->jitter = (int64_t)sqrt(sq);
	out->distance = c[best].distance;
	out->error = c[best].distance + llabs(out->offset - c[best].offset);
	out->nsurvivors = ns;
	out->syspeer = best;
	free(surv);
	return CLOCK_OK;
}
