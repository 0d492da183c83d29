/* The Raft state in the node's redis: the one module that reads or writes
 * the rcfs:raft:* keys (docs/design.md, "Raft in the node").
 *
 *   rcfs:raft:hs    hash  term, vote, commit                 (hard state)
 *                         incarnation                        (of this storage: docs/raft.md)
 *                         check                              (BLAKE2b-128 of the four, hex)
 *                         writes                             (groups written: counts up with
 *                                                             every append, install and
 *                                                             incarnation; what the
 *                                                             acknowledgement marker compares)
 *   rcfs:raft:log   hash  log index -> packed RaftEntry       (entries after the snapshot;
 *                         with its checksum, the field encoded last)
 *   rcfs:raft:snap  hash  index, term, conf [, data]          (the last snapshot's metadata;
 *                         data only for an installed snapshot: a node's own
 *                         snapshot is its state machine in redis; before the
 *                         first snapshot, index 0 and the founders' conf)
 *
 * Every write is one store group (MULTI/EXEC), so a crash leaves each
 * whole or absent, and the large-command window can neither split nor
 * reorder it.  The module tracks which log indexes are stored, so that an
 * overwrite deletes the old suffix and a compaction the covered prefix. */
#ifndef RCFS_RAFTLOG_H
#define RCFS_RAFTLOG_H

#include <stdbool.h>
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
 * snapshot, consecutive.  Damage (an entry that does not decode, is stored
 * under another index or fails its checksum; a hole; a hard state that
 * fails its checksum) is not an error: the log is cut before it (the hard
 * state zeroed) and raftlog_damage() says what was found.  rs->applied
 * and rs->bootstrap are the caller's.  Three reads, queued now in order with
 * everything else on the store.  On E_OK the caller owns what rs points to:
 * release it with raftlog_restore_free().  On failure rs is empty. */
typedef void raftlog_load_cb(void *arg, Rcfs__ErrorCode code, const char *why,
    struct raft_restore *rs);
void raftlog_load(struct raftlog *rl, raftlog_load_cb *cb, void *arg);
void raftlog_restore_free(struct raft_restore *rs);

/* After a load: whether storage held no Raft state at all (no hard state,
 * snapshot or entry): a new storage, or one that was lost. */
bool raftlog_empty(const struct raftlog *rl);
/* After a load: what damage it found (a static description), or NULL. */
const char *raftlog_damage(const struct raftlog *rl);
/* After a load: the acknowledgement marker (node/ackmark.h) shows that the
 * stored state lost a tail it had acknowledged (why: what differs).  From
 * now on raftlog_damage() says so, as for damage found by the load, and the
 * hard state written next is raised to term and vote if they are newer. */
void raftlog_tail_lost(struct raftlog *rl, const char *why, uint64_t term, uint64_t vote);
/* After a load or raftlog_set_incarnation: the incarnation stored with the
 * hard state in *incarnation; false if none is (a storage written before
 * incarnations existed, or an empty one). */
bool raftlog_incarnation(const struct raftlog *rl, uint64_t *incarnation);
/* After a load: the founders' configuration stored at index 0 (until the
 * first snapshot replaces it) in *conf; false if none is stored. */
bool raftlog_boot_conf(const struct raftlog *rl, struct raft_conf *conf);
/* Store conf as the configuration at index 0: call only while no snapshot
 * is stored.  cb as for raftlog_set_incarnation (may be NULL). */
void raftlog_set_boot_conf(struct raftlog *rl, const struct raft_conf *conf, store_group_cb *cb,
    void *arg);
/* Store this storage's incarnation with the hard state, and delete what a
 * damaged load left out of the log; cb once redis has it (durable).  Done
 * before the core starts, on a storage without one or a damaged one. */
void raftlog_set_incarnation(struct raftlog *rl, uint64_t incarnation, store_group_cb *cb, void *arg);

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

/* The groups written to this storage so far (after a load: as stored; then
 * counting each append, install and incarnation written since).  A storage
 * that lost a tail of its AOF counts fewer than it had: the acknowledgement
 * marker (node/ackmark.h) records this number. */
uint64_t raftlog_writes(const struct raftlog *rl);
/* Lowest and highest log index stored (first > last: none). */
uint64_t raftlog_first(const struct raftlog *rl);
uint64_t raftlog_last(const struct raftlog *rl);

#endif
