/* An in-memory upper bound of the state machine's client sessions, so that
 * the leader can answer a committed put before the state machine has applied
 * it (docs/design.md, "Answering at commit").
 *
 * The apply script (fsm.c) treats a command from client id C with sequence
 * number S at log index I as a retry iff rcfs:sessions holds a seq >= S for
 * C whose index is at least I - 1 - FSM_SESSION_WINDOW (a session it still
 * honours); otherwise it applies it, and a put then answers with its own log
 * index.  This table holds, for every client id the state machine may still
 * honour a session for, a seq at least as large as the stored one, and an
 * index at least as large as the stored one:
 *   - it starts from the stored sessions (loaded with the Raft state, or
 *     taken from an installed snapshot);
 *   - every committed entry raises its client's seq and index, in log order,
 *     before the state machine applies it;
 *   - it forgets a session only after the state machine does: the apply
 *     script stops honouring a session idle for FSM_SESSION_WINDOW entries
 *     (and deletes it some time later), this table forgets it after
 *     SESSION_FORGET_AFTER (more).
 * So a command with S above the table's seq (or from a client the table does
 * not hold) is certainly not a retry.  Pure: no I/O, no clock. */
#ifndef RCFS_SESSION_H
#define RCFS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fsm.h"

/* Entries after which this table forgets an idle session: later than the
 * state machine (FSM_SESSION_WINDOW), never earlier. */
#define SESSION_FORGET_AFTER (FSM_SESSION_WINDOW + FSM_SESSION_WINDOW / 4)

struct session_table;

/* An empty table.  Aborts on out-of-memory, like xmalloc. */
struct session_table *session_table_new(void);
void session_table_free(struct session_table *t);
/* Forget every session. */
void session_table_clear(struct session_table *t);
/* Number of sessions held. */
size_t session_table_count(const struct session_table *t);
/* True if the table holds a session for `cid`. */
bool session_table_has(const struct session_table *t, uint64_t cid);

/* A stored session: client `cid` last committed `seq` at log `index`.
 * Raises an existing session to (seq, index) where those are larger. */
void session_table_add(struct session_table *t, uint64_t cid, uint64_t seq, uint64_t index);

/* The committed entry `index` carries a command from client `cid` with
 * `seq`; entries must come in log order.  Returns true if the state machine
 * will certainly not treat it as a retry; records it either way. */
bool session_table_commit(struct session_table *t, uint64_t cid, uint64_t seq, uint64_t index);

/* The state machine has applied up to `applied`: forget sessions whose last
 * command is more than SESSION_FORGET_AFTER entries older. */
void session_table_expire(struct session_table *t, uint64_t applied);

/* Replace the table with the sessions of a packed Snapshot message (the
 * state machine's snapshot, proto/rcfs.proto).  False if it does not decode:
 * the table is then empty, and the caller must not trust it. */
bool session_table_load_snapshot(struct session_table *t, const uint8_t *data, size_t len);

#endif
