/* The metadata state machine: the file table in the node's redis.
 *
 * Keys (all prefixed "rcfs:"):
 *   f:<name>    packed FileMeta          fc:<name>  chunk list, hex SHA-256s concatenated
 *   files       zset (score 0) of names, for lexicographic listing (ZRANGEBYLEX)
 *   refs        hash hex -> reference count          gc  zset hex -> ms when GC looks at it
 *   sessions    hash client id -> "seq:result:index" (index: the entry of its last command)
 *   sessweep    HSCAN cursor of the session sweep in progress (fsm.c)
 *   applied     last applied log index
 *   gchold      hash backup dump id -> ms until which GC frees nothing
 *   gc, u:<hex> (see chunk.h)
 * The Raft state's keys (rcfs:raft:*) are node/raftlog.c's.
 *
 * fsm_apply() runs one Lua script per batch, so every change and the applied
 * index it records are written atomically (one AOF record, fsynced before the
 * reply): a restart never applies an entry twice or skips one. */
#ifndef RCFS_FSM_H
#define RCFS_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/rcfs.pb-c.h"

struct store;

/* Client sessions older than this many log entries are forgotten (Raft
 * dissertation §6.3 expires sessions deterministically; so do we). */
#define FSM_SESSION_WINDOW 100000
/* The apply script deletes forgotten sessions when the applied index passes
 * a multiple of this (entries); until then they are ignored. */
#define FSM_SESSION_SWEEP (FSM_SESSION_WINDOW / 8)
/* Sessions a batch examines while a sweep runs (HSCAN's COUNT). */
#define FSM_SESSION_SWEEP_STEP 1024

/* Largest client seq accepted (2^53: the apply script compares seqs as Lua
 * numbers, doubles); larger ones are refused as bad requests. */
#define FSM_SEQ_MAX (UINT64_C(1) << 53)

/* Per-command outcome. */
struct fsm_result {
	Rcfs__ErrorCode code;   /* E_OK, E_NOT_FOUND (rm or mv of a missing name), or E_CONFLICT
	                         * (mv: src changed after the leader read it) */
	uint64_t version;       /* log index that made the change (or of the original, for a retry) */
};

/* Every callback below gets the outcome as code (E_OK, or a storage error
 * from store_result(): E_UNAVAILABLE, E_TIMEOUT, E_STORAGE_FULL, E_INTERNAL)
 * and why, a one-line cause when code is not E_OK (static or valid during
 * the call). */

/* Results of an apply: res[0..n-1] when code is E_OK; otherwise nothing
 * was applied. */
typedef void fsm_apply_cb(void *arg, Rcfs__ErrorCode code, const char *why,
    const struct fsm_result *res, size_t n);

/* Apply cmds[0..n-1], which are log entries first_index, first_index+1, ...
 * A NULL command (a Raft no-op or configuration entry) only advances the
 * applied index.  Entries at or below the stored applied index are skipped
 * (replay after a restart).  `cmds` are read during the call only.  now_ms: local wall time,
 * used only for chunk GC bookkeeping. */
void fsm_apply(struct store *st, uint64_t first_index, Rcfs__Command *const *cmds, size_t n,
    uint64_t now_ms, fsm_apply_cb *cb, void *arg);

/* A number read from the state machine (an index, a count). */
typedef void fsm_index_cb(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t index);

struct session_table;
/* Add the stored sessions to `t` (fs/session.h): each client's seq and the
 * index of its last command, from rcfs:sessions.  Sessions stored by an
 * rcfs before 2026-12 (index in a zset rcfs:sessidx) are converted first
 * (writes: rcfs:sessions, rcfs:sessidx).
 * Queued now in order with everything else on `st`; `t` must stay alive
 * until cb, which gets (arg, code, why, number of sessions read). */
void fsm_load_sessions(struct store *st, struct session_table *t, fsm_index_cb *cb, void *arg);

/* ---- the state machine as the Raft driver sees it ---------------------------------
 *
 * The driver hands committed entries over as bytes and learns, per entry,
 * whether its proposal may be answered at commit (docs/design.md,
 * "Answering at commit"); the command format and the session policy stay
 * here. */
struct fsm;

/* One committed log entry.  command: a normal entry, whose data is a packed
 * Rcfs__Command; false for no-op and configuration entries, which only
 * advance the applied index. */
struct fsm_entry {
	uint64_t index;
	bool command;
	const uint8_t *data;
	size_t len;
};

/* The bytes of a command, as proposed to the log and handed back by
 * fsm_commit: a packed Rcfs__Command, *len bytes (owned: free()). */
uint8_t *fsm_command_pack(const Rcfs__Command *c, size_t *len);

/* A state machine on `st` (borrowed).  Until fsm_load or an install, no put
 * is answered at commit. */
struct fsm *fsm_new(struct store *st);
void fsm_free(struct fsm *sm);
/* Load what a restart needs: the applied index (cb's index) and the stored
 * sessions.  Three reads, queued now in order with everything else on the
 * store; nothing may write the state machine until cb. */
void fsm_load(struct fsm *sm, fsm_index_cb *cb, void *arg);
/* The state in redis is no longer known (storage lost): stop answering at
 * commit until the next fsm_load or install. */
void fsm_forget(struct fsm *sm);
/* The apply hook: e[0..n-1] are committed, in log order, each entry exactly
 * once across calls (entries at or below an earlier call's are ignored by
 * the session table).  early[0..n-1] is set now: true if the proposal of
 * e[i] may be answered at once with version e[i].index (a put that is
 * certainly not a retry).  Then the entries are applied; cb gets each
 * one's result (which, for an early entry, must be that version).  An
 * entry whose command does not decode is logged and applied as a no-op. */
void fsm_commit(struct fsm *sm, const struct fsm_entry *e, size_t n, uint64_t now_ms, bool *early,
    fsm_apply_cb *cb, void *arg);

/* Look a file up.  meta is NULL with code E_OK if there is no such file;
 * the callee owns meta (free with rcfs__file_meta__free_unpacked(meta, NULL)). */
typedef void fsm_stat_cb(void *arg, Rcfs__ErrorCode code, const char *why, Rcfs__FileMeta *meta);
void fsm_stat(struct store *st, const char *name, fsm_stat_cb *cb, void *arg);

/* List up to `limit` files whose names start with `prefix` and sort after
 * `after` (both may be ""), in byte order.  metas[] and its entries are owned
 * by the callee (free each with rcfs__file_meta__free_unpacked, then metas). */
typedef void fsm_list_cb(void *arg, Rcfs__ErrorCode code, const char *why, Rcfs__FileMeta **metas,
    size_t n, int more);
void fsm_list(struct store *st, const char *prefix, const char *after, uint32_t limit,
    fsm_list_cb *cb, void *arg);

/* Count files and distinct referenced chunks. */
typedef void fsm_count_cb(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t files,
    uint64_t chunks);
void fsm_count(struct store *st, fsm_count_cb *cb, void *arg);

/* Walk the file table for repair: up to `max` files after `cursor` (""
 * starts over).  cb gets the next cursor ("" once the walk ended) and the
 * chunks of those files as 32-byte SHA-256s, shas[0..n-1] (valid during the
 * call; a chunk shared by several files may appear more than once). */
typedef void fsm_scan_cb(void *arg, Rcfs__ErrorCode code, const char *why, const char *cursor,
    const uint8_t (*shas)[32], size_t n);
void fsm_scan_chunks(struct store *st, const char *cursor, uint32_t max, fsm_scan_cb *cb,
    void *arg);

/* One GC pass's outcome.  waiting: unreferenced chunks kept (an upload
 * protects them, or a backup hold is in force), -1 without a census. */
struct fsm_gc_result {
	uint64_t deleted, deleted_bytes;
	uint64_t held_until_ms;         /* a backup hold is in force until then; 0: none */
	int64_t waiting, waiting_bytes;
	uint64_t examined;              /* due entries looked at (max: there may be more) */
};
typedef void fsm_gc_cb(void *arg, Rcfs__ErrorCode code, const char *why,
    const struct fsm_gc_result *res);
/* Chunks counted by a census at most (the first by due time). */
#define FSM_GC_CENSUS_MAX 10000
/* Delete up to `max` due, unreferenced, unprotected chunks (see chunk.h and
 * docs/design.md "GC"); now_ms is this node's clock, ms since the epoch.
 * census: also count what is kept (O(FSM_GC_CENSUS_MAX) redis work). */
void fsm_gc(struct store *st, uint64_t now_ms, uint32_t max, bool census, fsm_gc_cb *cb, void *arg);

/* Snapshots of the state machine (Raft §7).  A dump: cb gets the applied
 * index it reflects and the packed Snapshot message (valid during the
 * call). */
typedef void fsm_snapshot_cb(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t index,
    const uint8_t *data, size_t len);
void fsm_snapshot_dump(struct store *st, fsm_snapshot_cb *cb, void *arg);
/* An install: add to `g` the script that replaces the file table, the
 * sessions and the applied index with the packed Snapshot data[0..len-1]
 * (chunks no longer referenced become GC candidates), and take the session
 * table from it.  The caller adds the Raft state's part (node/raftlog.h) to
 * the same group, so both land together.  Returns false, with `g` marked
 * failed, if data does not decode or holds the state at another index. */
struct store_group;
bool fsm_snapshot_install(struct fsm *sm, struct store_group *g, uint64_t index,
    const uint8_t *data, size_t len, uint64_t now_ms);

#endif
