/* The mover: see fs/rebalance.h. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "fs/chunk.h"
#include "fs/rebalance.h"
#include "fs/replicate.h"
#include "net/ratelimit.h"
#include "store/store.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"
#include "util/xmalloc.h"

#define REBALANCE_SCAN_COUNT 128        /* keys per SCAN step */
#define REBALANCE_IDLE_MS 10000         /* after a walk that found nothing to move */

struct rebalance {
	struct store *st;
	struct replicator *rp;
	struct event *tick_ev;
	/* The node's byte budget for moving chunks (shared with repair's
	 * copies): a handoff starts only while it is ready and is charged
	 * with the chunk's real size once done. */
	struct token_bucket *budget;
	rebalance_walk_cb *cb;
	void *arg;
	uint64_t cursor;                /* SCAN cursor; 0 with !walking: between walks */
	bool walking, scanning, restart;
	uint32_t inflight;
	uint8_t (*queue)[CHUNK_HASH_LEN];   /* chunks of this step to hand off */
	size_t qhead, qlen, qcap;
	/* this walk */
	uint64_t seen, away, walk_bytes, walk_moved;
	uint64_t seen_bytes;            /* sizes of the chunks seen this walk */
	uint64_t walk_start_ms;
	uint64_t next_walk_ms;          /* no new walk before (unless kicked) */
	struct rebalance_stats stats;
};

static void rebalance_tick(evutil_socket_t fd, short what, void *arg);
static void rebalance_scanned(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t next,
    const uint8_t (*shas)[CHUNK_HASH_LEN], size_t n, uint64_t bytes);
static void rebalance_moved(void *arg, Rcfs__ErrorCode code, const char *why, size_t bytes);
static void rebalance_walk_end(struct rebalance *rb);

struct rebalance_chunk {
	struct rebalance *rb;
	uint8_t sha[CHUNK_HASH_LEN];
};

struct rebalance *
rebalance_new(struct event_base *base, struct store *st, struct replicator *rp, uint32_t interval_ms,
    struct token_bucket *budget, rebalance_walk_cb *cb, void *arg)
{
	struct rebalance *rb = xcalloc(1, sizeof *rb);
	struct timeval tv = { interval_ms / 1000, (interval_ms % 1000) * 1000 };

	rb->st = st;
	rb->rp = rp;
	rb->cb = cb;
	rb->arg = arg;
	rb->budget = budget;
	rb->tick_ev = event_new(base, -1, EV_PERSIST, rebalance_tick, rb);
	event_add(rb->tick_ev, &tv);
	return rb;
}

void
rebalance_free(struct rebalance *rb)
{
	if (rb == NULL)
		return;
	event_free(rb->tick_ev);
	free(rb->queue);
	free(rb);
}

void
rebalance_kick(struct rebalance *rb)
{
	rb->restart = true;
}

void
rebalance_stats(const struct rebalance *rb, struct rebalance_stats *out)
{
	double rate = 0;

	*out = rb->stats;
	if (rb->walking) {
		uint64_t ms = time_mono_ms() - rb->walk_start_ms;
		uint64_t unseen = rb->stats.held > rb->seen ? rb->stats.held - rb->seen : 0;

		out->to_move = rb->away > rb->walk_moved ? rb->away - rb->walk_moved : 0;
		if (rb->seen > 0)
			out->to_move += unseen * rb->away / rb->seen;
		if (ms > 0 && rb->walk_bytes > 0)
			rate = (double)rb->walk_bytes * 1000.0 / (double)ms;
	}
	if (rate == 0)
		rate = rb->stats.rate_bps > 0 ? rb->stats.rate_bps : rb->budget->rate;
	out->to_move_bytes = rb->stats.moved > 0 ? out->to_move * (rb->stats.moved_bytes / rb->stats.moved) : 0;
	out->eta_s = out->to_move == 0 ? 0 : out->to_move_bytes > 0 && rate > 0 ?
	    (double)out->to_move_bytes / rate : -1;
}

/* Per tick: hand off queued chunks while the window and the byte budget
 * allow; with the queue empty, the next SCAN step (or a new walk). */
static void
rebalance_tick(evutil_socket_t fd, short what, void *arg)
{
	struct rebalance *rb = arg;

	(void)fd; (void)what;
	if (rb->scanning || !store_is_up(rb->st) || !replicator_placement_known(rb->rp))
		return;
	while (rb->qhead < rb->qlen && rb->inflight < REBALANCE_INFLIGHT &&
	    ratelimit_ready(rb->budget, ratelimit_now_ns())) {
		struct rebalance_chunk *rc = xcalloc(1, sizeof *rc);
		rc->rb = rb;
		memcpy(rc->sha, rb->queue[rb->qhead++], CHUNK_HASH_LEN);
		rb->inflight++;
		replicator_handoff(rb->rp, rc->sha, rebalance_moved, rc);
	}
	if (rb->qhead < rb->qlen || rb->inflight > 0)
		return;
	rb->qhead = rb->qlen = 0;
	if (rb->walking && rb->cursor == 0 && !rb->restart) {
		rebalance_walk_end(rb);
		return;
	}
	if (!rb->walking && !rb->restart && time_mono_ms() < rb->next_walk_ms)
		return;
	if (!rb->walking || rb->restart) {
		rb->walking = true;
		rb->restart = false;
		rb->cursor = 0;
		rb->seen = rb->away = rb->walk_bytes = rb->walk_moved = rb->seen_bytes = 0;
		rb->walk_start_ms = time_mono_ms();
	}
	rb->scanning = true;
	chunk_scan(rb->st, rb->cursor, REBALANCE_SCAN_COUNT, rebalance_scanned, rb);
}

static void
rebalance_scanned(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t next,
    const uint8_t (*shas)[CHUNK_HASH_LEN], size_t n, uint64_t bytes)
{
	struct rebalance *rb = arg;

	rb->scanning = false;
	if (code != RCFS__ERROR_CODE__E_OK) {
		log_debug("rebalance: scan: %s", why);
		return;
	}
	rb->cursor = next;
	rb->seen += n;
	rb->seen_bytes += bytes;
	for (size_t i = 0; i < n; i++) {
		if (replicator_is_home(rb->rp, shas[i]))
			continue;
		rb->away++;
		if (rb->qlen == rb->qcap) {
			rb->qcap = rb->qcap ? 2 * rb->qcap : 64;
			rb->queue = xrealloc(rb->queue, rb->qcap * sizeof *rb->queue);
		}
		memcpy(rb->queue[rb->qlen++], shas[i], CHUNK_HASH_LEN);
	}
	if (next == 0 && rb->qlen == 0)
		rebalance_walk_end(rb);
}

static void
rebalance_moved(void *arg, Rcfs__ErrorCode code, const char *why, size_t bytes)
{
	struct rebalance_chunk *rc = arg;
	struct rebalance *rb = rc->rb;
	char hex[65];

	rb->inflight--;
	ratelimit_charge(rb->budget, (double)bytes, ratelimit_now_ns());  /* read and sent, moved or not */
	sodium_bin2hex(hex, sizeof hex, rc->sha, CHUNK_HASH_LEN);
	if (code == RCFS__ERROR_CODE__E_OK) {
		rb->stats.moved++;
		rb->stats.moved_bytes += bytes;
		rb->walk_bytes += bytes;
		rb->walk_moved++;
		if (rb->stats.held > 0)
			rb->stats.held--;
		rb->stats.held_bytes = rb->stats.held_bytes > bytes ? rb->stats.held_bytes - bytes : 0;
		if (rb->stats.to_move > 0)
			rb->stats.to_move--;
		metrics_inc(rcfs_metrics.rebalance_moved);
		metrics_add(rcfs_metrics.rebalance_moved_bytes, bytes);
		log_debug("rebalance: chunk %.16s… handed to its homes", hex);
	} else {
		log_debug("rebalance: chunk %.16s… kept: %s", hex, why ? why : "failed");
	}
	free(rc);
}

/* A walk is complete: every chunk here was seen, and handed off if it could be. */
static void
rebalance_walk_end(struct rebalance *rb)
{
	uint64_t ms = time_mono_ms() - rb->walk_start_ms, left;
	uint64_t moved_this_walk = rb->walk_moved;   /* no longer here */

	rb->walking = false;
	rb->cursor = 0;
	/* Settled: walk again later (a membership change kicks at once). */
	rb->next_walk_ms = rb->away == 0 ? time_mono_ms() + REBALANCE_IDLE_MS : 0;
	left = rb->away > moved_this_walk ? rb->away - moved_this_walk : 0;
	rb->stats.held = rb->seen > moved_this_walk ? rb->seen - moved_this_walk : 0;
	rb->stats.held_bytes = rb->seen_bytes > rb->walk_bytes ? rb->seen_bytes - rb->walk_bytes : 0;
	rb->stats.to_move = left;
	rb->stats.walks++;
	rb->stats.rate_bps = ms > 0 ? (double)rb->walk_bytes * 1000.0 / (double)ms : 0;
	metrics_set(rcfs_metrics.rebalance_pending, (double)left);
	metrics_set(rcfs_metrics.chunks_held, (double)rb->stats.held);
	if (rb->away > 0)
		log_info("rebalance: walk done: %" PRIu64 " chunks here, %" PRIu64 " handed to their "
		    "homes, %" PRIu64 " still to move", rb->stats.held, moved_this_walk, left);
	if (rb->cb != NULL)
		rb->cb(rb->arg, &rb->stats);
}
