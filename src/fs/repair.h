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

#endif
