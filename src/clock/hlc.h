/* Hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks
 * and Consistent Snapshots in Globally Distributed Databases", 2014; the
 * variant CockroachDB uses).
 *
 * Layout of a timestamp (uint64_t, compares as an integer):
 *
 *     63                              16 15            0
 *    +----------------------------------+---------------+
 *    |  l: physical milliseconds since  |  c: logical   |
 *    |  the Unix epoch (48 bits, ~8900 y)|  counter (16) |
 *    +----------------------------------+---------------+
 *
 * Milliseconds (not microseconds) so that 48 bits last for millennia and
 * 65536 events per ms can share one physical value.  If c would overflow
 * it carries into l: the timestamp then runs ahead of physical time by at
 * most 1 ms per 65536 events, which the paper's bound on c makes rare, and
 * it stays strictly monotonic.
 *
 * Physical time is injected (a callback returning Unix ns), so tests drive
 * it.  Correctness (monotonicity, happened-before) never depends on the
 * physical clock being right; a wrong clock only makes timestamps less
 * close to real time. */
#ifndef RCFS_CLOCK_HLC_H
#define RCFS_CLOCK_HLC_H
#include <stdbool.h>
#include <stdint.h>

typedef uint64_t hlc_ts;

#define HLC_LOGICAL_BITS 16
#define HLC_LOGICAL_MASK ((1ULL << HLC_LOGICAL_BITS) - 1)
#define HLC_MAKE(ms, c) (((uint64_t)(ms) << HLC_LOGICAL_BITS) | ((uint64_t)(c) & HLC_LOGICAL_MASK))
#define HLC_PHYS_MS(ts) ((uint64_t)(ts) >> HLC_LOGICAL_BITS)
#define HLC_LOGICAL(ts) ((uint64_t)(ts) & HLC_LOGICAL_MASK)

/* Physical clock: Unix time in ns (e.g. clock_now_ns() of the sampler, or
 * CLOCK_REALTIME). */
typedef int64_t (*hlc_physical_fn)(void *arg);

struct hlc;

/* max_offset_ms: a received timestamp more than this ahead of our physical
 * clock is refused by hlc_update() (CockroachDB's max offset guard; 0
 * disables it).  window_ms: how far ahead hlc_high_water() promises, i.e.
 * longer than the interval at which the caller persists it. */
struct hlc *hlc_create(hlc_physical_fn phys, void *arg, uint64_t max_offset_ms,
		       uint64_t window_ms);
void hlc_destroy(struct hlc *h);

/* Timestamp for a local or send event (paper, Figure 5, "send or local
 * event"): l = max(l, pt); c = (l unchanged) ? c + 1 : 0. */
hlc_ts hlc_now(struct hlc *h);
/* Receive event with the sender's timestamp m: l = max(l, m.l, pt), c as in
 * the paper.  On success *out (if not NULL) is the new timestamp, which is
 * greater than both the previous one and m.  CLOCK_ERANGE (clock
 * unchanged) if m is more than max_offset_ms ahead of physical time. */
int hlc_update(struct hlc *h, hlc_ts m, hlc_ts *out);
/* Last timestamp issued, without advancing. */
hlc_ts hlc_last(const struct hlc *h);

/* Persistence across restarts.  hlc_high_water() returns an upper bound
 * U = max(last, pt) + window that the caller must make durable; timestamps
 * issued afterwards stay below U as long as the caller persists again
 * before the window runs out.  At start, hlc_restore(U) makes every later
 * timestamp greater than U, so the clock never goes backwards across a
 * restart even if the wall clock did.  hlc_high_water_exceeded() turns true
 * when a timestamp above the last promise was issued: persist now. */
hlc_ts hlc_high_water(struct hlc *h);
void hlc_restore(struct hlc *h, hlc_ts high_water);
bool hlc_high_water_exceeded(const struct hlc *h);

#endif
