/* Token buckets for per-key rate limiting (docs/security.md "limits").
 *
 * A bucket holds up to `burst` tokens and refills at `rate` tokens per second;
 * a request takes 1 token from the request bucket and its payload size from
 * the byte bucket.  Time is passed in (CLOCK_MONOTONIC ns) so tests and
 * fuzzers drive it. */
#ifndef RCFS_RATELIMIT_H
#define RCFS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket {
	double rate;            /* tokens per second; 0 = unlimited */
	double burst;           /* capacity, tokens */
	double tokens;
	uint64_t last_ns;
};

/* A full bucket of `rate` tokens per second and one second of burst (but at
 * least `min_burst`, so one maximal request always fits). */
void ratelimit_init(struct token_bucket *b, uint32_t rate, uint32_t min_burst, uint64_t now_ns);
/* Take n tokens if there are that many (true), else take nothing (false). */
bool ratelimit_take(struct token_bucket *b, double n, uint64_t now_ns);
/* Whether the bucket holds any token (refilled to now_ns): for work whose
 * cost is known only once done, which starts while ready and is charged
 * afterwards (ratelimit_charge).  Always true when unlimited. */
bool ratelimit_ready(struct token_bucket *b, uint64_t now_ns);
/* Take n tokens unconditionally: the bucket may go into debt, which the
 * refill pays back before it is ready again; a negative n refunds. */
void ratelimit_charge(struct token_bucket *b, double n, uint64_t now_ns);
/* Monotonic clock, ns. */
uint64_t ratelimit_now_ns(void);

#endif
