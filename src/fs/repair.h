/* Repair: a background scan that brings every referenced chunk back to its N
 * home nodes (rendezvous order) after a node returns, a write went to a
 * stand-in node, or a copy was found missing or corrupt.
 *
 * Each node walks the file table in name order, a few files per tick
 * (rate-limited), and takes charge of the chunks for which it is the first
 * reachable home: it makes sure it holds a copy (fetching one from any
 * replica if not) and that every other reachable home does (probe, then push).
 * Idempotent: two nodes repairing the same chunk only rewrite identical
 * bytes. */
#ifndef RCFS_REPAIR_H
#define RCFS_REPAIR_H

#include <stdint.h>

struct event_base;
struct store;
struct replicator;
struct repair;

/* interval_ms: scan period; files_per_tick: files examined per period. */
struct repair *repair_new(struct event_base *base, struct store *st, struct replicator *rp,
    uint32_t interval_ms, uint32_t files_per_tick);
void repair_free(struct repair *rep);
/* Chunk copies made since start (for status and tests). */
uint64_t repair_copies_made(const struct repair *rep);

/* Repair progress, for status (docs/operations.md). */
struct repair_stats {
	uint64_t last_short;    /* chunks short of copies in the last complete pass (this node's share) */
	uint64_t last_unfixed;  /* ... of those, still short at its end (a copy failed) */
	uint64_t pass_fixed;    /* of the current pass: chunks given the copies they lacked */
	uint64_t pass_bytes;    /* ... and the bytes those copies took */
	double rate_bps;        /* pass_bytes over the current pass's time */
	double eta_s;           /* estimate: (last_short - pass_fixed) x mean bytes / rate; < 0 unknown */
};
void repair_stats(const struct repair *rep, struct repair_stats *out);

#endif
