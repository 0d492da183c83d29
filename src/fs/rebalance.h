/* The mover: rebalance after a membership change, and drain (docs/design.md,
 * "Rebalance and drain").
 *
 * Each node walks the chunks stored in its own redis (chunk_scan) and hands
 * every chunk it is not a home of to the chunk's N homes
 * (replicator_handoff: copied, verified, confirmed, then deleted here).
 * Nothing is planned centrally, so a leader change costs nothing and a
 * restarted node resumes with its next walk; a draining member is a home of
 * nothing, so its walk empties it.  Bounded: at most REBALANCE_INFLIGHT
 * chunks in flight and the node's byte budget (`rebalance_rate` bytes/s,
 * shared with repair's copies: replicator_set_copy_budget), charged with each
 * chunk's size; client traffic is never queued behind it beyond that. */
#ifndef RCFS_REBALANCE_H
#define RCFS_REBALANCE_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct store;
struct replicator;
struct rebalance;
struct token_bucket;

#define REBALANCE_INFLIGHT 4

struct rebalance_stats {
	uint64_t held;          /* chunks stored here, as of the last complete walk (less moved since) */
	uint64_t held_bytes;    /* ... their bytes (the sum of the chunks' sizes) */
	uint64_t to_move;       /* of those, chunks this node is not a home of */
	uint64_t moved;         /* chunks handed off and deleted here, since start */
	uint64_t moved_bytes;
	uint64_t walks;         /* complete walks */
	double rate_bps;        /* bytes/s handed off over the last complete walk */
	/* Live estimates (rebalance_stats): mid-walk, to_move counts what this
	 * walk found and has not moved yet plus the unseen rest of the store at
	 * the walk's proportion so far. */
	uint64_t to_move_bytes; /* to_move x the mean size of the chunks moved (0: none moved yet) */
	double eta_s;           /* to_move_bytes / the current rate; < 0: unknown */
};

/* A walk ended: stats as they are now. */
typedef void rebalance_walk_cb(void *arg, const struct rebalance_stats *stats);

/* Every interval_ms, the next step of the walk (or a new walk); a handoff
 * starts only while budget (bytes) is ready and is charged with the bytes it
 * read and sent.  Borrowed: st, rp, budget. */
struct rebalance *rebalance_new(struct event_base *base, struct store *st, struct replicator *rp,
    uint32_t interval_ms, struct token_bucket *budget, rebalance_walk_cb *cb, void *arg);
void rebalance_free(struct rebalance *rb);
/* The membership changed: start a new walk at the next step. */
void rebalance_kick(struct rebalance *rb);
/* Stats as of now, with the live estimates above. */
void rebalance_stats(const struct rebalance *rb, struct rebalance_stats *out);

#endif
