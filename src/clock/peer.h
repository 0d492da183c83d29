/* Clock offsets between cluster peers, measured on the node's own RPCs with
 * the RFC 5905 §8 on-wire method: the request carries T1 (our send time),
 * the peer stamps T2 (its receive) and T3 (its send) into the reply, we take
 * T4 on receipt.  Each peer has a clock filter (filter.h); the cluster skew
 * is the largest pairwise disagreement between any two clocks, ours
 * included (offset 0), and raises an alarm past max_offset.
 *
 * Both sides should use the same clock for the stamps -- the sampler's
 * corrected clock_now_ns(), which is also what the HLC reads -- so the skew
 * is what HLC timestamps across the cluster actually see.  Pure. */
#ifndef RCFS_CLOCK_PEER_H
#define RCFS_CLOCK_PEER_H
#include <stdbool.h>
#include <stdint.h>

#include "clock/filter.h"

struct clock_peers;

struct clock_skew {
	int64_t skew;       /* max over pairs |theta_a - theta_b| (self: 0) */
	int64_t bound;      /* same, widened by each side's delay / 2: a
			     * bound on the true skew */
	uint64_t hi_peer;   /* peer with the largest offset (0: self) */
	uint64_t lo_peer;   /* peer with the smallest offset (0: self) */
	int npeers;         /* peers with at least one sample */
	bool alarm;         /* skew > max_offset */
};

/* offset = ((T2 - T1) + (T3 - T4)) / 2, delay = (T4 - T1) - (T3 - T2) */
void clock_peer_measure(int64_t t1, int64_t t2, int64_t t3, int64_t t4,
			int64_t *offset, int64_t *delay);

/* max_offset: alarm threshold for the skew, ns. */
struct clock_peers *clock_peers_create(int64_t max_offset);
void clock_peers_destroy(struct clock_peers *p);
/* Feed one exchange with peer `id` (non-zero).  The sample is timed at T4;
 * returns the filter's code (CLOCK_ESTALE for a non-increasing T4). */
int clock_peers_add(struct clock_peers *p, uint64_t id, int64_t t1, int64_t t2,
		    int64_t t3, int64_t t4);
/* Filtered estimate for one peer; CLOCK_ENOSOURCE if unknown. */
int clock_peers_get(const struct clock_peers *p, uint64_t id, int64_t now,
		    struct clock_filter_estimate *e);
void clock_peers_remove(struct clock_peers *p, uint64_t id);
void clock_peers_skew(const struct clock_peers *p, int64_t now, struct clock_skew *s);

#endif
