/* Source selection across servers (RFC 5905 §11.2): the intersection
 * algorithm (§11.2.1, after Marzullo) rejects falsetickers, the cluster
 * algorithm (§11.2.2) prunes outliers, and the combine algorithm (§11.2.3)
 * averages the survivors weighted by 1 / root distance.  Pure. */
#ifndef RCFS_CLOCK_SELECT_H
#define RCFS_CLOCK_SELECT_H
#include <stdint.h>

#define CLOCK_NMIN 3   /* §11.2.2: the cluster algorithm keeps at least 3 */

enum clock_cand_status {
	CLOCK_CAND_FALSETICKER = 0, /* outside the intersection */
	CLOCK_CAND_OUTLIER,         /* truechimer pruned by the cluster algorithm */
	CLOCK_CAND_SURVIVOR,        /* combined into the system offset */
	CLOCK_CAND_SYSPEER          /* survivor with the best metric */
};

struct clock_candidate {
	/* in */
	int64_t offset;    /* theta from the clock filter */
	int64_t distance;  /* root distance lambda: true offset in theta +- lambda */
	int64_t jitter;    /* peer jitter psi */
	int stratum;
	/* out */
	enum clock_cand_status status;
};

struct clock_selection {
	int64_t offset;    /* combined system offset (Theta) */
	int64_t error;     /* bound on |true offset - offset|: the system peer's
			    * root distance plus |offset - its offset| */
	int64_t distance;  /* root distance of the system peer */
	int64_t jitter;    /* selection jitter of the survivors */
	int64_t low, high; /* intersection interval (§11.2.1) */
	int allow;         /* falsetickers tolerated to find it */
	int nsurvivors;
	int syspeer;       /* index into the candidate array */
};

/* Root distance of a source (RFC 5905 A.5.5.2 root_dist()):
 *   lambda = max(MINDISP, Delta_r + delta) / 2 + E_r + epsilon + PHI * age + psi
 * with Delta_r/E_r the server's root delay/dispersion, delta/epsilon/psi
 * from the clock filter and age the time since its sample. */
int64_t clock_root_distance(int64_t root_delay, int64_t root_disp, int64_t delay,
			    int64_t disp, int64_t jitter, int64_t age);

/* Select among n candidates; sets every c[i].status.  CLOCK_ENOSOURCE if
 * n == 0 or no interval is shared by a majority (more than n/2) of them. */
int clock_select(struct clock_candidate *c, int n, struct clock_selection *out);

#endif
