/* The Raft driver: wires the pure core (src/raft/) to storage, peers and the
 * metadata state machine.  See docs/design.md "Raft in the node".
 *
 *  - Durability before speech (Raft Figure 2): each Ready's hard state and
 *    entries go to redis as one MULTI/EXEC (node/raftlog.h; group commit:
 *    one per loop iteration); raft_persisted() is called only when redis
 *    acknowledged it, and the core releases vote grants and AppendEntries
 *    acks only then.  What redis then holds goes to the acknowledgement
 *    marker (node/ackmark.h), checked at the next load.
 *  - Committed entries go to the state machine as bytes, in log order
 *    (fsm_commit, the apply hook): it says which proposals may be answered
 *    at commit, and applies them, writing the applied index atomically with
 *    the changes.  The driver knows nothing of the command format.
 *  - A failed persistence or apply is treated like a crash: the core is
 *    dropped and rebuilt from redis when storage is back. */
#ifndef RCFS_CONSENSUS_H
#define RCFS_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fsm.h"
#include "proto/rcfs.pb-c.h"
#include "util/config.h"

struct event_base;
struct store;
struct peer;
struct consensus;
struct metrics;

/* Outcome of a proposal or a read barrier.  code E_OK: res (proposals only)
 * is the state machine's result.  E_NOT_LEADER: retry at the leader (err
 * says which); the command may still have been committed if it was
 * proposed (retries are deduplicated by client id and seq). */
typedef void consensus_cb(void *arg, Rcfs__ErrorCode code, const char *err,
    const struct fsm_result *res);

struct timesync;
struct members;
struct raft_server;
struct raft_progress_info;
/* The membership changed (members already follows it). */
typedef void consensus_conf_fn(void *arg);
/* How the driver sends a Raft message m to member `to` (one-way; m and
 * what it points to are valid during the call only). */
typedef void consensus_send_fn(void *arg, uint64_t to, const Rcfs__RaftMessage *m);

/* A driver for this node (cfg->node_id).  Borrowed, all outliving it: st,
 * the node's redis (the driver owns the rcfs:raft:* keys through
 * node/raftlog.h); sm, the state machine on st; ts, which stamps and reads
 * the clock fields of Raft messages (HLC, peer offsets).  send(send_arg,
 * ...) carries messages to the other members; members (borrowed) is kept
 * following the latest configuration.  Starts stopped: see
 * consensus_storage_up(). */
struct consensus *consensus_new(struct event_base *base, const struct rcfs_config *cfg,
    struct store *st, struct fsm *sm, consensus_send_fn *send, void *send_arg,
    struct timesync *ts, struct members *members);
struct ackmark;
/* Keep the acknowledgement marker am (borrowed, outliving cs; node/ackmark.h):
 * checked at every load, written with every Ready once redis has it.  Call
 * before the first consensus_storage_up(); without it the driver keeps
 * none. */
void consensus_set_ackmark(struct consensus *cs, struct ackmark *am);
/* cb(arg) after every change of the membership. */
void consensus_set_conf_cb(struct consensus *cs, consensus_conf_fn *cb, void *arg);
void consensus_free(struct consensus *cs);
/* Storage is up: load the persistent state and start (no-op if running,
 * deferred while held). */
void consensus_storage_up(struct consensus *cs);
/* Hold the start (true) until released (false): rcfsd --force-new-cluster
 * first checks that no other member answers. */
void consensus_hold(struct consensus *cs, bool hold);
/* At the next load, rewrite the membership to this node alone as the only
 * voter, keeping every entry it holds (etcd's --force-new-cluster): a
 * configuration entry is appended after its log, the other members are
 * recorded as removed.  Once. */
void consensus_force_new_cluster(struct consensus *cs);
bool consensus_running(const struct consensus *cs);

/* A RaftMessage arrived from a peer. */
void consensus_receive(struct consensus *cs, const Rcfs__RaftMessage *m);
/* A connection peer id dialled to us closed (raft_peer_down: if id is our
 * leader, a process that died, campaign without waiting out the election
 * timeout). */
void consensus_peer_down(struct consensus *cs, uint64_t id);

/* Propose a command for the state machine: data[0..len-1], copied (packed
 * with fsm_command_pack; the driver treats it as bytes).  cb runs once:
 * when the entry is committed and the state machine says its outcome is
 * known then (fsm_commit), else once it is applied here, or when it
 * fails. */
void consensus_propose(struct consensus *cs, const uint8_t *data, size_t len, consensus_cb *cb,
    void *arg);
/* Linearizable read barrier, Raft dissertation §6.4 (ReadIndex): cb(E_OK)
 * once this node is confirmed leader and has applied everything committed
 * when the read arrived. */
void consensus_read_barrier(struct consensus *cs, consensus_cb *cb, void *arg);

/* Status. role: "leader", "follower", "candidate", "precandidate", "learner" or
 * "starting". */
const char *consensus_role(const struct consensus *cs);
bool consensus_is_leader(const struct consensus *cs);
/* A Ready is being handled: proposals and reads are answered on this stack,
 * and an answer's callback must not propose or read (cs_settle); a caller
 * that would has to wait for the loop. */
bool consensus_in_ready(const struct consensus *cs);
uint64_t consensus_term(const struct consensus *cs);
uint64_t consensus_leader(const struct consensus *cs);
uint64_t consensus_commit_index(const struct consensus *cs);
uint64_t consensus_applied_index(const struct consensus *cs);
/* The last index in this node's log (0 when not running). */
uint64_t consensus_last_index(const struct consensus *cs);
/* This node's storage incarnation, and whether the configuration records it
 * (false also while not running).  docs/raft.md, "Incarnations". */
uint64_t consensus_incarnation(const struct consensus *cs);
bool consensus_admitted(const struct consensus *cs);
/* The leader's view of peer id: match index, ms since last contact (-1 if
 * it has not answered this leader).  Returns false if not leader or unknown. */
bool consensus_peer_progress(const struct consensus *cs, uint64_t id, uint64_t *match,
    int64_t *last_contact_ms);
/* Register rcfs_raft_peer_match_index{peer} and rcfs_raft_peer_lag_entries{peer}
 * for every other member (read at scrape time, leader only) and publish the
 * current role.  Returns false on a registration clash (a bug). */
bool consensus_register_metrics(struct consensus *cs, struct metrics *reg);
/* Leader only: change one member (raft_change_server(): op RAFT_CONF_*,
 * srv's id, address and tag), Dissertation §4.1.  Returns RAFT_OK with the
 * configuration entry's log index in *index, and cb runs once the entry is
 * applied here (E_OK) or fails (E_NOT_LEADER, E_UNAVAILABLE); otherwise the
 * raft error (RAFT_ENOTLEADER when not running or not leader,
 * RAFT_ECONFPENDING, RAFT_ECATCHUP, RAFT_EEXIST, RAFT_EREMOVED, ...) and cb
 * never runs. */
int consensus_change_member(struct consensus *cs, int op, const struct raft_server *srv,
    consensus_cb *cb, void *arg, uint64_t *index);
/* Leader only: whether the voters other than id that answered this leader
 * within an election timeout (this node counts) still form a quorum of the
 * voters other than id (etcd's strict reconfiguration check); right after
 * an election, until their first answers, it says no.  *reachable and
 * *needed say how many there are and how many it takes. */
bool consensus_keeps_quorum_without(const struct consensus *cs, uint64_t id, unsigned *reachable,
    unsigned *needed);
/* Leader only: the core's view of member id; false if unknown or not leader. */
bool consensus_progress(const struct consensus *cs, uint64_t id, struct raft_progress_info *info);
/* Leader only: hand leadership to voter id (0: the most up-to-date),
 * Raft dissertation §3.10; why goes into the log line.  Returns a raft
 * error (RAFT_OK: under way). */
int consensus_move_leader(struct consensus *cs, uint64_t id, const char *why);
/* Leader only: start handing leadership to the most up-to-date voter
 * (TimeoutNow, Raft dissertation §3.10).  Returns false if not leader, no
 * other voter, or a transfer is already under way. */
bool consensus_transfer_leadership(struct consensus *cs);
/* Leader only: other voters that answered within the election timeout
 * (0 when not leader). */
unsigned consensus_active_voters(const struct consensus *cs);
/* Leader's address, or NULL if unknown or self. */
const char *consensus_leader_address(const struct consensus *cs);

#endif
