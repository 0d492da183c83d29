/* Internal state of the Raft core, shared by its source files only. */
#ifndef RCFS_RAFT_INT_H
#define RCFS_RAFT_INT_H

#include "raft/raft.h"

#define RAFT_MAX_CTX 1024
#define RAFT_TRANSFER_CTX "transfer"
#define RAFT_TRANSFER_CTX_LEN 8

struct raft_progress {
	uint64_t id;
	bool voter;
	int state;           /* enum raft_progress_state */
	uint64_t match, next;
	bool probe_sent;     /* PROBE: a message is out, wait for an answer */
	uint64_t *inflight;  /* REPLICATE: ring of last indexes of messages */
	uint32_t in_start, in_count;
	uint64_t last_resp_ms; /* age of its last answer */
	bool heard;            /* it answered since this progress was made */
	uint64_t incarnation;  /* it answers with (starts as the recorded one) */
	uint64_t read_acked;   /* highest ReadIndex round it confirmed */
	uint64_t snap_index;   /* SNAPSHOT: snapshot being sent */
	uint64_t snap_offset;  /* SNAPSHOT: next byte to send */
	uint64_t snap_wait_ms; /* SNAPSHOT: since the last chunk went out */
};

struct raft_qmsg {
	struct raft_message m;
	void *arena;       /* owns every buffer m points to */
	uint64_t need_seq; /* released once acked_seq >= need_seq */
};

struct raft_read {
	uint64_t index;
	uint64_t round;  /* heartbeat round confirming it, 0 = not started */
	bool confirmed;
	bool taken; /* handed out in the current Ready */
	int status;
	uint8_t *ctx;
	size_t ctx_len;
};

struct raft_persist_rec {
	uint64_t seq;
	uint64_t index, term; /* last entry (or snapshot) in that batch */
};

struct raft {
	struct raft_config cfg;
	uint64_t id;
	uint64_t rng;

	/* persistent state, Raft Figure 2 */
	uint64_t term, vote, commit;
	struct raft_hard_state hs_out; /* last hard state put in a Ready */

	int role;
	uint64_t leader;
	int rd_role;         /* role and leader as the last Ready handed them */
	uint64_t rd_leader;  /* out: a change makes a Ready of its own */

	/* log: entries snap_index+1 .. snap_index+n_ents */
	struct raft_entry *ents;
	size_t n_ents, cap_ents;
	uint64_t log_start;     /* index of ents[0] - 1 (compaction point) */
	uint64_t log_start_term;
	uint64_t unstable_from; /* first index not yet handed out in a Ready */
	uint64_t stable;        /* durable prefix of the current log */

	/* latest snapshot */
	struct raft_snapshot_meta snap;
	uint8_t *snap_data;
	size_t snap_len;
	bool snap_has_data;     /* snap_data/snap_len are the snapshot's bytes
	                           (false after raft_compact(): none held) */
	bool snap_out;          /* installed snapshot to hand out in a Ready */
	bool snap_wanted, snap_asked;
	bool snap_data_wanted;  /* a follower needs bytes the core lacks */

	/* InstallSnapshot assembly on a follower */
	uint8_t *in_buf;
	size_t in_len, in_cap;
	uint64_t in_index, in_term;

	/* configuration: latest in the log (Dissertation §4.1) */
	struct raft_conf conf;
	uint64_t conf_index;
	uint64_t refused_incarnation; /* messages not counted: incarnation */

	/* progress, leader only; one per server of conf */
	struct raft_progress prs[RAFT_MAX_SERVERS];
	uint32_t n_prs;

	/* timers (ms) */
	uint64_t election_elapsed, election_timeout;
	/* terms begun since a leader was last heard from: the election
	 * timeout doubles with each after the first, up to
	 * 2^cfg.election_backoff_max times (saturates there) */
	uint32_t leaderless_terms;
	uint64_t heartbeat_elapsed;

	/* votes of the current (pre-)campaign */
	uint64_t votes_id[RAFT_MAX_SERVERS];
	int8_t votes_val[RAFT_MAX_SERVERS];
	uint32_t n_votes;

	/* leadership transfer */
	uint64_t transferee;
	uint64_t transfer_elapsed;

	/* persistence tracking */
	uint64_t issued_seq, acked_seq;
	struct raft_persist_rec *recs;
	size_t n_recs, cap_recs;

	/* application */
	uint64_t applied;  /* as told by raft_applied() */
	uint64_t applying; /* highest index handed out in rd.committed */

	/* outgoing messages */
	struct raft_qmsg *msgs;
	size_t n_msgs, cap_msgs;

	/* ReadIndex */
	struct raft_read *reads;
	size_t n_reads, cap_reads;
	uint64_t read_round;

	/* Ready scratch (valid until advance) */
	struct raft_message *rd_msgs;
	size_t rd_n_msgs, rd_cap_msgs;
	struct raft_read_state *rd_reads;
	size_t rd_n_reads;
	size_t rd_cap_reads;
	size_t rd_done_reads; /* reads to drop from the front on advance */
	uint64_t rd_applying, rd_unstable_to;
	bool rd_taken;
};

/* raft.c */
uint64_t raft_rand(struct raft *r);
void raft_reset_election_timer(struct raft *r);
/* Queues a message; need_persist: hold until the current state is durable.
 * The message's buffers are copied into one arena. */
int raft_send(struct raft *r, const struct raft_message *m, bool need_persist);
uint32_t raft_quorum(const struct raft *r);

/* log.c */
uint64_t raft_log_last(const struct raft *r);
uint64_t raft_log_last_term(const struct raft *r);
/* term at index; returns false if unknown (compacted or beyond). */
bool raft_log_term(const struct raft *r, uint64_t index, uint64_t *term);
struct raft_entry *raft_log_get(const struct raft *r, uint64_t index);
/* Appends copies; RAFT_ENOMEM leaves the log unchanged. */
int raft_log_append(struct raft *r, const struct raft_entry *e, size_t n);
void raft_log_truncate(struct raft *r, uint64_t from);
void raft_log_compact(struct raft *r, uint64_t upto);
void raft_log_reset(struct raft *r, uint64_t index, uint64_t term);
void raft_log_free(struct raft *r);
bool raft_log_up_to_date(const struct raft *r, uint64_t index, uint64_t term);
/* Largest index <= index whose term <= term (fast backtracking). */
uint64_t raft_log_conflict_by_term(const struct raft *r, uint64_t index,
                                   uint64_t term);
int raft_log_reserve(struct raft *r, size_t extra);

/* progress.c */
struct raft_progress *raft_progress_get(struct raft *r, uint64_t id);
/* Whether the configuration records the incarnation pr answers with. */
bool raft_progress_admitted(const struct raft *r, const struct raft_progress *pr);
/* A response from pr's server carried `incarnation`: on a change, its
 * progress restarts (its storage is not what it acknowledged before). */
void raft_progress_saw(struct raft *r, struct raft_progress *pr, uint64_t incarnation);
/* An answer from pr's server came: its age restarts. */
void raft_progress_heard(struct raft_progress *pr);
/* Whether this server may campaign and grant votes: the configuration
 * records it with its own incarnation (or, not being in it, it has a
 * configuration at all: a removed server, as before). */
bool raft_self_admitted(const struct raft *r);
/* Whether the configuration records `incarnation` for id (true for a
 * server it does not hold). */
bool raft_conf_admits(const struct raft_conf *conf, uint64_t id, uint64_t incarnation);
int raft_progress_reset_all(struct raft *r);
int raft_progress_sync_conf(struct raft *r);
void raft_progress_free_all(struct raft *r);
void raft_progress_become_probe(struct raft_progress *pr);
void raft_progress_become_replicate(struct raft_progress *pr);
void raft_progress_become_snapshot(struct raft_progress *pr, uint64_t index);
bool raft_progress_inflight_full(const struct raft *r,
                                 const struct raft_progress *pr);
void raft_progress_inflight_add(const struct raft *r, struct raft_progress *pr,
                                uint64_t last);
void raft_progress_inflight_free_to(const struct raft *r,
                                    struct raft_progress *pr, uint64_t index);
bool raft_progress_paused(const struct raft *r, const struct raft_progress *pr);

/* election.c */
void raft_become_follower(struct raft *r, uint64_t term, uint64_t leader);
void raft_become_leader(struct raft *r);
void raft_campaign(struct raft *r, bool pre, bool transfer);
bool raft_promotable(const struct raft *r);
bool raft_in_lease(const struct raft *r);
int raft_step_vote(struct raft *r, const struct raft_message *m);
int raft_step_vote_resp(struct raft *r, const struct raft_message *m);
void raft_tick_election(struct raft *r, uint32_t ms);

/* replication.c */
int raft_send_append(struct raft *r, struct raft_progress *pr, bool allow_empty);
void raft_bcast_append(struct raft *r);
void raft_bcast_heartbeat(struct raft *r);
int raft_step_append(struct raft *r, const struct raft_message *m);
int raft_step_append_resp(struct raft *r, const struct raft_message *m);
void raft_after_match(struct raft *r, struct raft_progress *pr);
int raft_step_heartbeat(struct raft *r, const struct raft_message *m);
int raft_step_heartbeat_resp(struct raft *r, const struct raft_message *m);
bool raft_maybe_commit(struct raft *r);
int raft_append_local(struct raft *r, uint32_t type, const void *data,
                      size_t len);
void raft_tick_leader(struct raft *r, uint32_t ms);

/* snapshot.c */
int raft_send_snapshot_chunk(struct raft *r, struct raft_progress *pr);
int raft_step_snapshot(struct raft *r, const struct raft_message *m);
int raft_step_snapshot_resp(struct raft *r, const struct raft_message *m);
void raft_snapshot_free(struct raft *r);
void raft_maybe_want_snapshot(struct raft *r);

/* membership.c */
void raft_conf_recompute(struct raft *r);
void raft_conf_apply_entry(struct raft *r, const struct raft_entry *e);
void raft_conf_on_commit(struct raft *r);
bool raft_conf_at(const struct raft *r, uint64_t index, struct raft_conf *out);

/* readindex.c */
void raft_reads_on_leader_commit(struct raft *r);
/* Reads past step 1 whose heartbeat round has not started; start it (one
 * round for all of them: raft_ready() does, so reads batch per Ready). */
bool raft_reads_unstarted(const struct raft *r);
void raft_reads_start(struct raft *r);
void raft_reads_check(struct raft *r);
void raft_reads_fail_pending(struct raft *r);
void raft_reads_free(struct raft *r);
void raft_reads_on_heartbeat_resp(struct raft *r, struct raft_progress *pr,
                                  const struct raft_message *m);
bool raft_reads_round_ctx(const struct raft *r, uint8_t ctx[8]);

#endif
