/* The metadata state machine: the file table in the node's redis.
 *
 * Keys (all prefixed "rcfs:"):
 *   f:<name>    packed FileMeta          fc:<name>  chunk list, hex SHA-256s concatenated
 *   files       zset (score 0) of names, for lexicographic listing (ZRANGEBYLEX)
 *   refs        hash hex -> reference count          gc  zset hex -> ms when unreferenced
 *   sessions    hash client id -> "seq:result"       sessidx  zset client id -> log index
 *   applied     last applied log index
 *
 * fsm_apply() runs one Lua script per batch, so every change and the applied
 * index it records are written atomically (one AOF record, fsynced before the
 * reply): a restart never applies an entry twice or skips one. */
#ifndef RCFS_FSM_H
#define RCFS_FSM_H

#include <stddef.h>
#include <stdint.h>

#include "proto/rcfs.pb-c.h"

struct store;

/* Client sessions older than this many log entries are forgotten (Raft
 * dissertation §6.3 expires sessions deterministically; so do we). */
#define FSM_SESSION_WINDOW 100000

/* Largest client seq accepted (2^53: the apply script compares seqs as Lua
 * numbers, doubles); larger ones are refused as bad requests. */
#define FSM_SEQ_MAX (UINT64_C(1) << 53)

/* Per-command outcome. */
struct fsm_result {
	Rcfs__ErrorCode code;   /* E_OK or E_NOT_FOUND (rm of a missing name) */
	uint64_t version;       /* log index that made the change (or of the original, for a retry) */
};

/* err: 0, or a one-line cause (static / valid during the call) when the batch
 * could not be applied (redis down, full, ...): then nothing was applied. */
typedef void fsm_apply_cb(void *arg, const char *err, const struct fsm_result *res, size_t n);

/* Apply cmds[0..n-1], which are log entries first_index, first_index+1, ...
 * A NULL command (a Raft no-op or configuration entry) only advances the
 * applied index.  Entries at or below the stored applied index are skipped
 * (replay after a restart).  `cmds` are read during the call only.  now_ms: local wall time,
 * used only for chunk GC bookkeeping. */
void fsm_apply(struct store *st, uint64_t first_index, Rcfs__Command *const *cmds, size_t n,
    uint64_t now_ms, fsm_apply_cb *cb, void *arg);

/* Read the applied index.  cb gets (arg, err, index). */
typedef void fsm_index_cb(void *arg, const char *err, uint64_t index);
void fsm_load_applied(struct store *st, fsm_index_cb *cb, void *arg);

struct session_table;
/* Add the stored sessions to `t` (fs/session.h): each client's seq from
 * rcfs:sessions, the index of its last command from rcfs:sessidx.  Two
 * reads, queued now in order with everything else on `st`; `t` must stay
 * alive until cb, which gets (arg, err, number of sessions read).  A
 * session without an index (the apply script writes both together) is
 * never forgotten by `t`, as redis never expires it. */
void fsm_load_sessions(struct store *st, struct session_table *t, fsm_index_cb *cb, void *arg);

/* Look a file up.  meta is NULL with err NULL if there is no such file; the
 * callee owns meta (free with rcfs__file_meta__free_unpacked(meta, NULL)). */
typedef void fsm_stat_cb(void *arg, const char *err, Rcfs__FileMeta *meta);
void fsm_stat(struct store *st, const char *name, fsm_stat_cb *cb, void *arg);

/* List up to `limit` files whose names start with `prefix` and sort after
 * `after` (both may be ""), in byte order.  metas[] and its entries are owned
 * by the callee (free each with rcfs__file_meta__free_unpacked, then metas). */
typedef void fsm_list_cb(void *arg, const char *err, Rcfs__FileMeta **metas, size_t n, int more);
void fsm_list(struct store *st, const char *prefix, const char *after, uint32_t limit,
    fsm_list_cb *cb, void *arg);

/* Count files and chunks.  cb gets (arg, err, files, chunks). */
typedef void fsm_count_cb(void *arg, const char *err, uint64_t files, uint64_t chunks);
void fsm_count(struct store *st, fsm_count_cb *cb, void *arg);

/* Delete up to `max` unreferenced chunks that have been unreferenced (or last
 * written) for at least grace_ms.  cb gets (arg, err, number deleted). */
void fsm_gc(struct store *st, uint64_t now_ms, uint64_t grace_ms, uint32_t max,
    fsm_index_cb *cb, void *arg);

/* Snapshots of the state machine (Raft §7).  For a dump, cb gets the applied
 * index it reflects and the packed Snapshot message (valid during the call);
 * for an install, only err.  The install replaces the file table, the
 * sessions, the applied index, the raft log (deleted) and the stored raft
 * snapshot (rcfs:raft:snap: index, term, conf, data) in one atomic script;
 * chunks no longer referenced become GC candidates. */
typedef void fsm_snapshot_cb(void *arg, const char *err, uint64_t index, const uint8_t *data,
    size_t len);
void fsm_snapshot_dump(struct store *st, fsm_snapshot_cb *cb, void *arg);
void fsm_snapshot_install(struct store *st, uint64_t index, uint64_t term, const uint8_t *conf,
    size_t conf_len, const uint8_t *data, size_t len, uint64_t now_ms, fsm_snapshot_cb *cb,
    void *arg);

#endif
