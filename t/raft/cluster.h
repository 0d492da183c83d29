/* In-memory Raft cluster fixture: simulated time, a simulated network
 * (partitions, one-way cuts, drop, duplicate, delay, reorder), simulated
 * storage with asynchronous writes (crash loses unacknowledged writes),
 * a toy state machine, and invariant checkers (Raft Figure 3) run after
 * every step. */
#ifndef RCFS_T_RAFT_CLUSTER_H
#define RCFS_T_RAFT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

#define CL_MAX 8

struct cl_write {
	uint64_t at, seq;
	bool hs_changed;
	struct raft_hard_state hs;
	bool has_snap;
	struct raft_snapshot_meta snap;
	uint8_t *snap_data;
	size_t snap_len;
	struct raft_entry *ents;
	size_t n_ents;
};

struct cl_node {
	uint64_t id;
	bool exists, up;
	struct raft *r;
	struct raft_config cfg;
	/* durable storage */
	struct raft_hard_state hs;
	struct raft_snapshot_meta snap;
	uint8_t *snap_data;
	size_t snap_len;
	struct raft_entry *log; /* snap.index+1 .. */
	size_t n_log, cap_log;
	bool bootstrap; /* founding member */
	uint64_t incarnation; /* of its storage: 0 for a founder's first */
	/* storage writes in flight */
	struct cl_write *writes;
	size_t n_writes, cap_writes;
	uint32_t persist_delay_ms;
	bool persist_hold; /* complete no write until cleared */
	/* state machine (volatile, rebuilt from the snapshot on restart) */
	uint64_t sm_index, sm_hash;
	/* lazy_snapshots: the state machine is durable storage, so a snapshot
	 * taken by raft_compact() has no bytes; its state (the hash after
	 * snap.index) is what the durable state machine held then */
	uint64_t ckpt_hash;
	/* lazy_snapshots: a dump of the state machine in flight, as rcfsd's
	 * Lua dump: taken at (dump_index, dump_hash) when asked, handed to the
	 * core at dump_at (after compactions, installs or a step-down may
	 * have happened); a crash loses it */
	bool dump_pending;
	uint64_t dump_at, dump_index, dump_hash;
	/* observed */
	int ready_role;  /* as its last Ready told it: never stale after cl_process */
	uint64_t ready_leader;
	uint64_t last_leader_term_checked;
	uint64_t n_applied;
};

struct cl_msg {
	uint64_t at, order;
	struct raft_message m;
};

struct cl_read {
	uint64_t ctx, node, min_index;
	int done; /* 0 pending, 1 served, 2 failed */
	uint64_t index;
};

struct cluster;
/* Called for every message sent; return false to drop it.  It may edit
 * the (shallow) message, e.g. trim its entries. */
typedef bool (*cl_filter_fn)(struct cluster *c, struct raft_message *m,
                             void *arg);

struct cluster {
	int n; /* slots in use; node i has id i + 1 */
	struct cl_node nodes[CL_MAX];
	struct raft_config base;
	struct raft_conf bootstrap;
	uint64_t now, rng, order;
	uint32_t tick_ms;

	/* network */
	struct cl_msg *net;
	size_t n_net, cap_net;
	bool cut[CL_MAX][CL_MAX]; /* cut[from][to] */
	uint32_t drop_pm, dup_pm;  /* per mille */
	uint32_t delay_min, delay_max;
	cl_filter_fn filter;
	void *filter_arg;
	uint64_t sent, delivered;

	/* checker state */
	bool failed;
	char fail_msg[512];
	uint64_t *leader_of_term;
	size_t cap_terms;
	uint64_t *committed_term; /* by index, 0 = unknown */
	uint64_t *chain;          /* sm hash after index */
	size_t cap_idx;
	uint64_t max_applied;
	struct cl_lm { uint64_t index, term, hash, prev; } *lm;
	size_t cap_lm, n_lm;
	/* proposals: id -> applied index (0 = never seen applied) */
	uint64_t *acked;
	size_t cap_acked;
	uint64_t next_prop;
	/* reads */
	struct cl_read *reads;
	size_t n_reads, cap_reads;
	uint64_t reads_served, reads_failed;
	uint64_t snaps_taken, snaps_installed, crashes, leader_changes;
	uint64_t wipes, truncations, admits;
	/* Compact with raft_compact() (no bytes) and serialize only when the
	 * core asks (Ready snapshot_data_wanted), as rcfsd does. */
	bool lazy_snapshots;
	uint64_t snaps_data_asked;
	bool verbose;
	uint64_t trace_from; /* RAFT_TRACE=ms: print deliveries from then */
};

/* Creates n founding voters (ids 1..n) with base config (seed mixed in). */
void cl_init(struct cluster *c, int n, uint64_t seed);
void cl_init_cfg(struct cluster *c, int n, uint64_t seed,
                 const struct raft_config *base);
void cl_free(struct cluster *c);

/* Adds an empty server (not in any configuration); returns its id. */
uint64_t cl_add_node(struct cluster *c);

struct cl_node *cl_node(struct cluster *c, uint64_t id);
struct raft *cl_raft(struct cluster *c, uint64_t id);

/* Advances time by one tick (tick_ms) and runs everything due. */
void cl_step(struct cluster *c);
void cl_run(struct cluster *c, uint64_t ms);
/* Runs until a single leader is known to every up voter of its term (max
 * ms); returns its id or 0. */
uint64_t cl_wait_leader(struct cluster *c, uint64_t max_ms);
/* The up leader with the highest term, 0 if none. */
uint64_t cl_leader(struct cluster *c);
/* Runs until every up member's applied index reaches index. */
bool cl_wait_applied(struct cluster *c, uint64_t index, uint64_t max_ms);

/* Proposes a fresh unique payload on node id; returns raft_propose's code;
 * *index gets the entry index. */
int cl_propose(struct cluster *c, uint64_t id, uint64_t *index);
/* Issues a ReadIndex on node id; returns the read's slot via *slot. */
int cl_read(struct cluster *c, uint64_t id, size_t *slot);

void cl_crash(struct cluster *c, uint64_t id);
/* Crashes id and replaces its durable state: hard state (term, vote,
 * commit) and a log of n entries with the given terms at indexes 1..n
 * (8-byte payloads).  cl_restart() boots it from there. */
void cl_set_state(struct cluster *c, uint64_t id, uint64_t term,
                  uint64_t vote, uint64_t commit, const uint64_t *terms,
                  size_t n);
/* Whether id's log has exactly terms[0..n) at indexes 1..n. */
bool cl_log_is(struct cluster *c, uint64_t id, const uint64_t *terms,
               size_t n);
void cl_restart(struct cluster *c, uint64_t id);
/* Amnesia: crashes id and loses its storage (an operator's rm -rf, a
 * replaced disk); cl_restart() then boots it empty, not as a founder, with
 * a new incarnation, as rcfsd does on storage without Raft state. */
void cl_wipe(struct cluster *c, uint64_t id);
/* A lost tail: crashes id and keeps only the first `keep` entries after its
 * snapshot (its hard state otherwise as it was, the commit index cut to the
 * log); cl_restart() boots it with a new incarnation, as rcfsd does when
 * its acknowledgement marker shows the loss (docs/raft.md). */
void cl_truncate(struct cluster *c, uint64_t id, size_t keep);
/* The leader's side of re-admission, as rcfsd's driver does it: ask the
 * core to record the incarnation of every server that answers with another
 * one (it refuses until that server caught up). */
void cl_admit(struct cluster *c);
/* Cuts (or heals) every link to and from id. */
void cl_isolate(struct cluster *c, uint64_t id, bool cut);
void cl_cut(struct cluster *c, uint64_t from, uint64_t to, bool cut);
void cl_heal(struct cluster *c);
/* Drops messages in flight. */
void cl_flush_net(struct cluster *c);

/* Runs the Ready loop of node id now (also done by cl_step). */
void cl_process(struct cluster *c, uint64_t id);
/* Completes every due storage write now. */
void cl_complete_writes(struct cluster *c, uint64_t id, bool all);

void cl_fail(struct cluster *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Runs the global invariant checks (also done by cl_step). */
void cl_check(struct cluster *c);

uint64_t cl_rand(struct cluster *c);

#endif
