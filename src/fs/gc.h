/* Chunk GC: deletes this node's chunks that no file references and no upload
 * protects (fs/chunk.h, fs/fsm.c's GC script, docs/design.md "GC").
 *
 * A pass runs every interval_ms (1 s by default: a pass with nothing due is
 * one ZRANGEBYSCORE) and at once again while it found a full batch, so a
 * removed file's space is back within about a second of the rm being
 * applied.  Every GC_CENSUS_MS a pass also counts the unreferenced chunks it
 * keeps (for status: "waiting for GC"). */
#ifndef RCFS_GC_H
#define RCFS_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/fsm.h"

struct event_base;
struct store;
struct gc;

#define GC_BATCH      1000      /* chunks examined per pass */
#define GC_CENSUS_MS  30000     /* a census at most this often (ms) */

/* What GC knows, for status and metrics. */
struct gc_stats {
	uint64_t waiting;               /* unreferenced chunks kept, at the last census less deleted since */
	uint64_t waiting_bytes;
	bool census_done;               /* waiting* are known */
	uint64_t held_until_ms;         /* a backup hold was in force until then at the last pass */
	uint64_t deleted, deleted_bytes;        /* since start */
};

struct gc *gc_new(struct event_base *base, struct store *st, uint32_t interval_ms);
void gc_free(struct gc *gc);
void gc_stats(const struct gc *gc, struct gc_stats *out);
/* rcfs gc: passes now, until nothing due is left, then a census; cb gets the
 * total deleted and the census (res valid during the call).  One at a time
 * per caller is enough; concurrent calls each run their own passes. */
void gc_run(struct gc *gc, fsm_gc_cb *cb, void *arg);

#endif
