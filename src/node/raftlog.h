/* The Raft state in the node's redis: the one module that reads or writes
 * the rcfs:raft:* keys (docs/design.md, "Raft in the node").
 *
 *   rcfs:raft:hs    hash  term, vote, commit                 (hard state)
 *   rcfs:raft:log   hash  log index -> packed RaftEntry       (entries after the snapshot)
 *   rcfs:raft:snap  hash  index, term, conf [, data]          (the last snapshot's metadata;
 *                         data only for an installed snapshot: a node's own
 *                         snapshot is its state machine in redis)
 *
 * Every write is one store group (MULTI/EXEC), so a crash leaves each
 * whole or absent, and the large-command window can neither split nor
 * reorder it.  The module tracks which log indexes are stored, so that an
 * overwrite deletes the old suffix and a compaction the covered prefix. */
#ifndef RCFS_RAFTLOG_H
#define RCFS_RAFTLOG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/rcfs.pb-c.h"
#include "raft/raft.h"
#include "store/store.h"

struct raftlog;

/* A Raft state persisted on `st` (borrowed). */
struct raftlog *raftlog_new(struct store *st);
void raftlog_free(struct raftlog *rl);

/* Load the persisted state into *rs, ready for raft_new(): hard state,
 * snapshot metadata (and bytes, when stored), and the entries after the
 * snapshot, consecutive (a hole is logged and the log cut there).  rs->applied
 * and rs->bootstrap are the caller's.  Three reads, queued now in order with
 * everything else on the store.  On E_OK the caller owns what rs points to:
 * release it with raftlog_restore_free().  On failure rs is empty. */
typedef void raftlog_load_cb(void *arg, Rcfs__ErrorCode code, const char *why,
    struct raft_restore *rs);
void raftlog_load(struct raftlog *rl, raftlog_load_cb *cb, void *arg);
void raftlog_restore_free(struct raft_restore *rs);

/* Persist a Ready: the hard state (NULL if unchanged) and entries e[0..n-1]
 * (replacing every stored entry from e[0].index on), as one group.  cb runs
 * once redis has it (durable: appendfsync always). */
void raftlog_append(struct raftlog *rl, const struct raft_hard_state *hs, const struct raft_entry *e,
    size_t n, store_group_cb *cb, void *arg);

/* The core compacted its log up to meta->index (raft_compact or a snapshot
 * taken for a follower): store the snapshot metadata, without bytes, and
 * delete the entries it covers, as one group.  Fire and forget: a failure
 * leaves the older snapshot and extra entries, which a restart skips. */
void raftlog_compact(struct raftlog *rl, const struct raft_snapshot_meta *meta);

/* Add to `g` the Raft state's part of installing a snapshot from the
 * leader: the whole log goes, and the snapshot (metadata and its bytes
 * data[0..len-1]) is stored.  The caller adds the state machine's part
 * (fsm_snapshot_install) to the same group. */
void raftlog_install(struct raftlog *rl, struct store_group *g, const struct raft_snapshot_meta *meta,
    const uint8_t *data, size_t len);

/* Lowest and highest log index stored (first > last: none). */
uint64_t raftlog_first(const struct raftlog *rl);
uint64_t raftlog_last(const struct raftlog *rl);

#endif
