/*
 * rcfs Raft core: a pure, deterministic Raft state machine.
 *
 * No sockets, timers, clocks, storage or randomness live in here: the
 * embedding node feeds inputs (tick, step, propose, ...) and drains
 * outputs through a Ready batch, in the style of etcd/raft.  Section
 * references are to the Raft paper ("Raft §5.x", Ongaro & Ousterhout,
 * USENIX ATC 2014) and to Ongaro's dissertation ("Dissertation §x.y",
 * Stanford 2014).  docs/raft.md explains the design decisions.
 *
 * Threading: a struct raft is not thread safe; call it from one thread.
 *
 * Calling contract (see docs/raft.md "Ready/advance"):
 *
 *     raft_tick / raft_step / raft_propose / ...      (inputs, any order)
 *     if (raft_has_ready(r)) {
 *         raft_ready(r, &rd);          // take the batch
 *         ... start persisting rd.hs / rd.snapshot / rd.entries,
 *         ... send rd.messages, apply rd.committed, serve rd.reads
 *         raft_advance(r, &rd);        // no other raft_* call in between
 *     }
 *     later, when the write of batch rd.seq is durable:
 *         raft_persisted(r, rd.seq);   // releases held messages
 *     when the state machine has applied up to index i:
 *         raft_applied(r, i);
 *
 * Errors: every int-returning function returns 0 (RAFT_OK) or a positive
 * RAFT_E* code; raft_strerror() names it.  Out of memory is RAFT_ENOMEM and
 * never aborts; after RAFT_ENOMEM from raft_step() the message counts as
 * dropped (Raft tolerates message loss) and the state stays safe.
 */
#ifndef RCFS_RAFT_H
#define RCFS_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of servers (voters + learners) in one configuration. */
#define RAFT_MAX_SERVERS 16
/* Largest address a configuration records for a server, with its NUL. */
#define RAFT_ADDR_MAX 64
/* Removed ids a configuration remembers (the oldest are forgotten first). */
#define RAFT_MAX_REMOVED 32
/* Largest raft_conf_encode() output: header, every server with the longest
 * address, the removed ids. */
#define RAFT_CONF_MAX_BYTES (12 + RAFT_MAX_SERVERS * (19 + RAFT_ADDR_MAX) + 4 + \
	RAFT_MAX_REMOVED * 8)

enum raft_error {
	RAFT_OK = 0,
	RAFT_ENOMEM,       /* out of memory; the call had no effect */
	RAFT_EINVAL,       /* invalid argument or restored state */
	RAFT_ENOTLEADER,   /* only the leader can do this (see raft_leader()) */
	RAFT_ETRANSFER,    /* leadership transfer in progress: proposal dropped */
	RAFT_ECONFPENDING, /* a configuration change is not yet committed, or no
	                      entry of the current term is committed yet */
	RAFT_ENOTFOUND,    /* no such server in the configuration */
	RAFT_EEXIST,       /* server already in the configuration */
	RAFT_ECATCHUP,     /* learner has not caught up: retry later */
	RAFT_ECOMPACTED,   /* index is below the first index in memory */
	RAFT_EUNAVAIL,     /* index is above the last log index */
	RAFT_ETOOBIG,      /* configuration would exceed RAFT_MAX_SERVERS */
	RAFT_ECORRUPT,     /* undecodable configuration bytes */
	RAFT_ESTATE,       /* call out of order (e.g. stale seq, no such index) */
	RAFT_EREMOVED,     /* the id was removed from the cluster: never again */
	RAFT_ERROR_MAX
};

/* Static English text for a RAFT_E* code (never NULL). */
const char *raft_strerror(int err);

enum raft_role {
	RAFT_FOLLOWER = 0,
	RAFT_PRECANDIDATE, /* PreVote phase, Dissertation §9.6: term not bumped */
	RAFT_CANDIDATE,
	RAFT_LEADER,
};
const char *raft_role_name(int role);

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 0,      /* application command */
	RAFT_ENTRY_NOOP = 1,        /* appended by a new leader, Raft §5.4.2/§8 */
	RAFT_ENTRY_CONF_CHANGE = 2, /* data = raft_conf_encode() of the new
	                               configuration, Dissertation §4.1 */
};

/* Wire message types; the node maps them 1:1 onto RaftMessage.type. */
enum raft_msg_type {
	RAFT_MSG_NONE = 0,
	RAFT_MSG_VOTE = 1,           /* RequestVote, Raft Figure 2 */
	RAFT_MSG_VOTE_RESP = 2,
	RAFT_MSG_PREVOTE = 3,        /* Dissertation §9.6 */
	RAFT_MSG_PREVOTE_RESP = 4,
	RAFT_MSG_APPEND = 5,         /* AppendEntries carrying entries */
	RAFT_MSG_APPEND_RESP = 6,
	RAFT_MSG_HEARTBEAT = 7,      /* AppendEntries without entries, no
	                                consistency check; carries commit and
	                                the ReadIndex round in context */
	RAFT_MSG_HEARTBEAT_RESP = 8,
	RAFT_MSG_SNAPSHOT = 9,       /* InstallSnapshot chunk, Raft §7 */
	RAFT_MSG_SNAPSHOT_RESP = 10,
	RAFT_MSG_TIMEOUT_NOW = 11,   /* Dissertation §3.10 */
	RAFT_MSG_TYPE_MAX
};
const char *raft_msg_type_name(uint32_t type);

/* A log entry.  In everything the core hands out, data is owned by the core
 * and valid until the next raft_advance(); in everything handed in, it is
 * owned by the caller and copied by the core. */
struct raft_entry {
	uint64_t term;
	uint64_t index;
	uint32_t type; /* enum raft_entry_type */
	uint8_t *data;
	size_t len;
};

/* One flat message, mapped 1:1 onto the protobuf RaftMessage.  Which fields
 * are meaningful depends on type (docs/raft.md "Messages"). */
struct raft_message {
	uint32_t type; /* enum raft_msg_type */
	uint64_t from, to, term;
	uint64_t from_incarnation; /* the sender's storage incarnation */
	uint64_t log_term;  /* VOTE/PREVOTE: last log term; APPEND: prev term */
	uint64_t index;     /* VOTE/PREVOTE: last log index; APPEND: prev index;
	                       *_RESP: highest index acknowledged (or probed) */
	struct raft_entry *entries;
	size_t n_entries;
	uint64_t commit;    /* leader commit index */
	bool reject;
	uint64_t reject_hint; /* APPEND_RESP: conflict index; SNAPSHOT_RESP:
	                         byte offset to resume from */
	uint64_t hint_term;   /* APPEND_RESP: term at reject_hint */
	uint8_t *context;     /* HEARTBEAT(_RESP): ReadIndex round; VOTE:
	                         "transfer" marker */
	size_t context_len;
	uint64_t snapshot_index, snapshot_term;
	uint8_t *snapshot_conf; /* raft_conf_encode() bytes */
	size_t snapshot_conf_len;
	uint64_t offset;    /* SNAPSHOT(_RESP): byte offset of this chunk */
	uint8_t *data;      /* SNAPSHOT: chunk bytes */
	size_t data_len;
	bool done;          /* SNAPSHOT: last chunk; SNAPSHOT_RESP: installed */
};

/* A cluster configuration (Dissertation §4.1: one server added or removed
 * at a time).  Learners receive the log but neither vote nor count.
 *
 * Each server is recorded with the incarnation of its storage: a server
 * whose storage was lost (wiped, replaced) comes back with a new
 * incarnation, and until a configuration records that one it is not
 * admitted: it never campaigns or grants a vote, and no server counts its
 * vote, its acknowledgements or its heartbeat answers (a server that forgot
 * what it acknowledged would break the commit rule; docs/raft.md,
 * "Incarnations").  0 is the founding incarnation: the bootstrap
 * configuration names the founders without one, and a founder's first
 * storage runs as 0; every later storage draws a random nonzero one. */
struct raft_server {
	uint64_t id; /* never 0 */
	bool voter;
	uint64_t incarnation;
	/* Opaque to the core, carried with the server in every configuration
	 * (as etcd's ConfChange context): the application's address for it
	 * (NUL-terminated, "" if none) and a byte of its own (rcfs: role and
	 * state, node/members.h). */
	char addr[RAFT_ADDR_MAX];
	uint8_t tag;
};
struct raft_conf {
	uint32_t n;
	struct raft_server servers[RAFT_MAX_SERVERS];
	/* Opaque to the core and carried along: the application's cluster id
	 * (0: none). */
	uint64_t cluster_id;
	/* Ids removed from the cluster, newest last: raft_change_membership
	 * never adds them again (etcd likewise refuses a removed member). */
	uint32_t n_removed;
	uint64_t removed[RAFT_MAX_REMOVED];
};

/* Bytes needed by raft_conf_encode() for conf. */
size_t raft_conf_encoded_len(const struct raft_conf *conf);
/* Encodes conf into buf (cap bytes).  Returns the length written, or 0 if
 * cap is too small.  Format (v3): u32 LE count | 0x03000000, u64 LE cluster
 * id, then per server u64 LE id, u8 voter flag, u64 LE incarnation, u8 tag,
 * u8 address length and the address; then u32 LE removed count and the
 * removed ids (u64 LE).  raft_conf_decode also reads the older forms: v2
 * (u32 count, then per server u64 id, u8 voter, u64 incarnation) and v1
 * (without incarnations); they carry no address, tag, cluster id or removed
 * ids. */
size_t raft_conf_encode(const struct raft_conf *conf, uint8_t *buf, size_t cap);
/* Decodes; RAFT_ECORRUPT on malformed input (ids 0 or duplicated, too many). */
int raft_conf_decode(const uint8_t *buf, size_t len, struct raft_conf *conf);
/* Lookup helpers: index of id in conf or -1; whether id is a voter;
 * whether id was removed. */
int raft_conf_find(const struct raft_conf *conf, uint64_t id);
bool raft_conf_is_voter(const struct raft_conf *conf, uint64_t id);
bool raft_conf_was_removed(const struct raft_conf *conf, uint64_t id);

/* Persistent state, Raft Figure 2.  commit is stored too, but only along
 * with a write that happens anyway (entries, snapshot, term or vote): it
 * may trail, which is safe (Figure 2 keeps commitIndex volatile); at
 * restart the core takes max(commit, applied). */
struct raft_hard_state {
	uint64_t term;   /* currentTerm */
	uint64_t vote;   /* votedFor in term, 0 = none */
	uint64_t commit; /* commitIndex */
};

struct raft_snapshot_meta {
	uint64_t index; /* last included index, 0 = no snapshot */
	uint64_t term;  /* last included term */
	struct raft_conf conf; /* latest configuration at or before index */
};

struct raft_config {
	uint64_t id;                 /* this server, != 0 */
	uint64_t incarnation;        /* of this server's storage (0: founding) */
	uint32_t election_min_ms;    /* randomized election timeout in */
	uint32_t election_max_ms;    /*   [min, max), Raft §5.2; 150..300 */
	uint32_t heartbeat_ms;       /* leader heartbeat interval; 50 */
	uint32_t election_backoff_max; /* the election timeout doubles for
	                                each term begun without a leader after
	                                the first, at most this many times; 3
	                                (8x), at most 8; 0: no backoff
	                                (docs/raft.md, "Backoff") */
	uint64_t seed;               /* PRNG seed (splitmix64); make it differ
	                                between servers */
	bool pre_vote;               /* Dissertation §9.6; default true */
	bool check_quorum;           /* CheckQuorum, Dissertation §6.2: a leader
	                                steps down without a quorum; default
	                                true (the §4.2.3 vote lease is always
	                                on) */
	uint32_t max_inflight;       /* AppendEntries in flight per follower; 64 */
	size_t max_msg_bytes;        /* entry bytes per AppendEntries; 1 MiB
	                                (a single larger entry still goes alone) */
	uint64_t snapshot_threshold; /* ask for a snapshot when applied exceeds
	                                the last snapshot by this many entries;
	                                0 = never; default 8192 */
	uint64_t snapshot_trailing;  /* entries kept in memory after compaction
	                                for slow followers; default 512 */
	size_t snapshot_chunk_bytes; /* InstallSnapshot chunk size; 64 KiB */
};

/* Fills cfg with the defaults above (id 0, seed 0: set them). */
void raft_config_init(struct raft_config *cfg);

/* What the node restored from storage (all pointers borrowed: the core
 * copies what it needs before raft_new returns). */
struct raft_restore {
	struct raft_hard_state hs;
	struct raft_snapshot_meta snapshot; /* index 0 = none */
	const uint8_t *snapshot_data;       /* the snapshot bytes, kept by the
	                                       core to send to slow followers;
	                                       NULL: none (raft_compact), asked
	                                       for when needed */
	size_t snapshot_len;
	const struct raft_entry *entries;   /* indexes snapshot.index+1 ..,
	                                       consecutive, terms ascending */
	size_t n_entries;
	uint64_t applied; /* what the state machine already reflects (>=
	                     snapshot.index; 0 = snapshot.index) */
	/* Fresh cluster: the initial configuration, used as the configuration
	 * "at index 0" when neither the snapshot nor the log has one.  Every
	 * founding server must pass the same list; a server joining an existing
	 * cluster passes NULL (it waits to be added, Dissertation §4.2.1). */
	const struct raft_conf *bootstrap;
};

struct raft;

/* Creates a core from cfg and restored state (restore may be NULL for an
 * empty, unconfigured server).  *out is owned by the caller; free it with
 * raft_free().  Errors: RAFT_EINVAL (bad cfg or inconsistent restore),
 * RAFT_ENOMEM. */
int raft_new(const struct raft_config *cfg, const struct raft_restore *restore,
             struct raft **out);
void raft_free(struct raft *r);

/* ---- inputs ------------------------------------------------------------ */

/* Advances the logical clock by ms milliseconds (drives election timeouts,
 * heartbeats, CheckQuorum, transfer timeouts and snapshot resends). */
void raft_tick(struct raft *r, uint32_t ms);

/* Feeds a received message (to == this id).  The core copies what it keeps.
 * Errors: RAFT_EINVAL (malformed: wrong to, unknown type), RAFT_ENOMEM. */
int raft_step(struct raft *r, const struct raft_message *m);

/* A hint from the transport that server id went away (its connections
 * closed: a process that dies closes its sockets at once, long before an
 * election timeout).  If id is this follower's leader, the follower forgets
 * it, which ends its lease (§4.2.3: it grants pre-votes again), and
 * campaigns after rank * election_min_ms / 2, rank being its place by id
 * among the other voters (rank 0: at once), so that the survivors of a
 * crashed leader do not split their votes; the delay is longer than a
 * heartbeat interval, so after a wrong hint only rank 0 campaigns.
 * Anything else is ignored.  Only liveness rests on the hint: with PreVote,
 * a wrong one (the leader lives, one link dropped) costs a pre-vote the
 * others refuse, never a term (without PreVote, rank 0's campaign raises
 * the term and deposes the leader, as any spurious election timeout
 * would). */
void raft_peer_down(struct raft *r, uint64_t id);

/* Leader only: appends a NORMAL entry holding a copy of data.  On success
 * *index and *term (either may be NULL) name the entry: it is committed
 * once an applied entry has that index and term; if the entry at that index
 * comes out with another term, the proposal was lost.  Errors:
 * RAFT_ENOTLEADER, RAFT_ETRANSFER (Dissertation §3.10: proposals are
 * refused during a transfer), RAFT_ENOMEM. */
int raft_propose(struct raft *r, const void *data, size_t len,
                 uint64_t *index, uint64_t *term);

/* Linearizable read without a log write, Dissertation §6.4 (ReadIndex).
 * The leader records its commit index once an entry of its term is
 * committed (§6.4 step 1), confirms leadership with a heartbeat round
 * (step 3; the reads issued before one raft_ready() share its round) and
 * emits a raft_read_state with ctx once applied >= that index
 * (step 4).  ctx (<= 1024 bytes) is copied and returned as is.  If
 * leadership is lost before confirmation, the read comes out with status
 * RAFT_ENOTLEADER.  Errors: RAFT_ENOTLEADER, RAFT_EINVAL, RAFT_ENOMEM. */
int raft_read_index(struct raft *r, const void *ctx, size_t len);

/* Leadership transfer, Dissertation §3.10: the leader stops accepting
 * proposals, brings id up to date, then sends it TimeoutNow so that it
 * starts an election at once.  Aborted after election_min_ms.  id 0 picks
 * the most up-to-date admitted voter.  Errors: RAFT_ENOTLEADER,
 * RAFT_ENOTFOUND (not a voter, or self; id 0: no admitted voter),
 * RAFT_ECATCHUP (id is not admitted: it would not campaign),
 * RAFT_ETRANSFER (a transfer to another server is in progress). */
int raft_transfer_leadership(struct raft *r, uint64_t id);

enum raft_conf_op {
	RAFT_CONF_ADD_LEARNER = 1, /* add a non-voting server, §4.2.1 */
	RAFT_CONF_PROMOTE = 2,     /* learner -> voter, once caught up */
	RAFT_CONF_REMOVE = 3,      /* remove a voter or learner, even the
	                              leader itself (§4.2.2) */
	RAFT_CONF_ADMIT = 4,       /* record the incarnation the server now
	                              answers with, once it caught up */
	RAFT_CONF_SET_TAG = 5,     /* change the server's opaque tag only */
};

/* Leader only: appends a CONF_CHANGE entry changing one server,
 * Dissertation §4.1.  The new configuration takes effect on every server
 * as soon as the entry is in its log.  Refused (RAFT_ECONFPENDING) while
 * the previous change is uncommitted or before an entry of the current term
 * is committed (the single-server-change fix, raft-dev 2015 / §4.1 errata).
 * PROMOTE fails with RAFT_ECATCHUP unless the learner's match index has
 * reached the commit index and it answered within an election timeout;
 * ADMIT likewise for a server answering with an incarnation the
 * configuration does not record (RAFT_EEXIST if it records it already).
 * A server's progress restarts from scratch when its incarnation changes,
 * so "caught up" means caught up since its storage came back.
 * REMOVE records the id as removed; ADD_LEARNER refuses a removed id
 * (RAFT_EREMOVED).  SET_TAG changes server id's tag (RAFT_EEXIST if it has
 * it already).
 * Errors also: RAFT_ENOTLEADER, RAFT_ETRANSFER, RAFT_EEXIST, RAFT_ENOTFOUND,
 * RAFT_ETOOBIG, RAFT_EINVAL, RAFT_ENOMEM.
 *
 * srv: id, and for ADD_LEARNER the address and tag recorded with it, for
 * SET_TAG the new tag (other fields ignored).  raft_change_membership() is
 * the same with an id alone (no address, tag 0). */
int raft_change_server(struct raft *r, int op, const struct raft_server *srv,
                       uint64_t *index);
int raft_change_membership(struct raft *r, int op, uint64_t id,
                           uint64_t *index);
/* Leader only: a configuration entry that changes only the opaque cluster id
 * (the application draws it once, for example the first leader of a new
 * cluster).  Same rules and errors as raft_change_membership; RAFT_EEXIST if
 * the configuration has that id already. */
int raft_set_cluster_id(struct raft *r, uint64_t cluster_id, uint64_t *index);

/* The write of Ready seq (and of every earlier one) is durable.  Moves the
 * stable index, counts the leader's own log in the commit tally and
 * releases messages held until then (vote grants, AppendEntries acks).
 * Errors: RAFT_ESTATE if seq was never handed out. */
int raft_persisted(struct raft *r, uint64_t seq);

/* The state machine has applied every committed entry up to index. */
void raft_applied(struct raft *r, uint64_t index);

/* The application took a snapshot: data (len bytes, may be 0) describes the
 * state machine after applying index (<= applied).  The core copies data,
 * keeps it to send to followers (Raft §7), and compacts its in-memory log up
 * to index - trailing.  meta (may be NULL) receives index/term/conf: the
 * application persists meta (and data, if it keeps it), then may delete
 * persisted entries <= index.  Answers either Ready flag: snapshot_wanted,
 * or snapshot_data_wanted, where index may equal the current snapshot's
 * (the bytes are attached to it) or be later (a new snapshot).  Errors:
 * RAFT_ECOMPACTED (older than the current snapshot), RAFT_EUNAVAIL (index
 * beyond what was applied), RAFT_ENOMEM. */
int raft_snapshot_taken(struct raft *r, uint64_t index, const void *data,
                        size_t len, struct raft_snapshot_meta *meta);

/* Compaction without copying the state machine (answers snapshot_wanted):
 * for a state machine that is itself durable storage, its applied state
 * *is* the snapshot at index (<= applied, durable).  The core records the
 * snapshot meta without bytes and compacts like raft_snapshot_taken(); if a
 * follower later needs InstallSnapshot, the Ready asks for the bytes
 * (snapshot_data_wanted).  Same errors, minus RAFT_ENOMEM. */
int raft_compact(struct raft *r, uint64_t index,
                 struct raft_snapshot_meta *meta);

/* ---- output ------------------------------------------------------------ */

struct raft_read_state {
	uint64_t index;  /* the read index; applied >= index when emitted */
	int status;      /* 0: serve now; RAFT_ENOTLEADER: failed, retry */
	uint8_t *ctx;    /* as passed to raft_read_index() (core-owned) */
	size_t ctx_len;
};

/* One batch of work.  Everything pointed to is owned by the core and valid
 * until raft_advance(). */
struct raft_ready {
	/* Non-zero when there is something to persist (hs_changed, snapshot or
	 * entries); report durability with raft_persisted(r, seq).  Persist
	 * batches in seq order, in this order within a batch: snapshot, then
	 * entries, then hard state. */
	uint64_t seq;
	bool hs_changed;
	struct raft_hard_state hs;
	/* InstallSnapshot received from the leader (Raft §7): save snapshot
	 * meta and data, delete EVERY persisted entry, and restore the state
	 * machine from data before applying any entry of rd.committed. */
	bool has_snapshot;
	struct raft_snapshot_meta snapshot;
	const uint8_t *snapshot_data;
	size_t snapshot_len;
	/* Persist: delete every persisted entry with index >= entries[0].index,
	 * then append entries (consecutive indexes). */
	const struct raft_entry *entries;
	size_t n_entries;
	/* Send these (any order, best effort).  Already past the persistence
	 * they depend on. */
	struct raft_message *messages;
	size_t n_messages;
	/* Committed entries to apply, in order (NOOP and CONF_CHANGE included:
	 * skip them, but report them as applied). */
	const struct raft_entry *committed;
	size_t n_committed;
	/* ReadIndex results, Dissertation §6.4. */
	struct raft_read_state *reads;
	size_t n_reads;
	/* The log grew past snapshot_threshold: take a snapshot at the applied
	 * index and call raft_snapshot_taken() or raft_compact() (asked once
	 * until taken). */
	bool snapshot_wanted;
	/* A follower needs InstallSnapshot and the current snapshot has no
	 * bytes (raft_compact): serialize the state machine at the applied
	 * index and call raft_snapshot_taken().  Asked again every
	 * election_min_ms while a follower waits. */
	bool snapshot_data_wanted;
	/* Soft state.  A change of either makes a Ready by itself. */
	int role;
	uint64_t leader;
};

/* Whether raft_ready() would return anything (a role or leader change
 * alone counts). */
bool raft_has_ready(const struct raft *r);
/* Takes the next batch into *rd.  Errors: RAFT_ENOMEM (nothing taken). */
int raft_ready(struct raft *r, struct raft_ready *rd);
/* Acknowledges that rd was taken: frees its messages and moves the cursors.
 * Entries and the snapshot still need raft_persisted(), committed entries
 * raft_applied(). */
void raft_advance(struct raft *r, struct raft_ready *rd);

/* ---- status ------------------------------------------------------------ */

uint64_t raft_id(const struct raft *r);
int raft_role(const struct raft *r);
/* Messages not counted because their sender's incarnation is not the one
 * the configuration records (votes refused, grants and acks ignored). */
uint64_t raft_refused_incarnation(const struct raft *r);
/* Whether this server is admitted: the configuration records it with its
 * own incarnation (raft_config.incarnation); a server with no configuration
 * at all (empty storage, not bootstrapped) is not. */
bool raft_admitted(const struct raft *r);
bool raft_is_learner(const struct raft *r); /* in conf, not a voter */
uint64_t raft_term(const struct raft *r);
uint64_t raft_vote(const struct raft *r);
uint64_t raft_leader(const struct raft *r); /* 0 = unknown */
uint64_t raft_commit_index(const struct raft *r);
uint64_t raft_applied_index(const struct raft *r);
uint64_t raft_last_index(const struct raft *r);
uint64_t raft_last_term(const struct raft *r);
uint64_t raft_first_index(const struct raft *r); /* first entry in memory */
uint64_t raft_snapshot_index(const struct raft *r);
uint64_t raft_transferee(const struct raft *r); /* 0 = no transfer */
const struct raft_conf *raft_configuration(const struct raft *r);
/* The latest configuration at or before the commit index (the committed
 * one) into *out; false if none is known. */
bool raft_committed_configuration(const struct raft *r, struct raft_conf *out);
/* Term of the entry at index (snapshot term at the snapshot index); 0 with
 * RAFT_ECOMPACTED / RAFT_EUNAVAIL in *err (may be NULL) when unknown. */
uint64_t raft_term_at(const struct raft *r, uint64_t index, int *err);
/* The entry at index, or NULL (compacted or beyond the log).  Valid until
 * the next call that changes the log. */
const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index);

enum raft_progress_state {
	RAFT_PROGRESS_PROBE = 0,     /* finding the match point, one msg */
	RAFT_PROGRESS_REPLICATE = 1, /* pipelining */
	RAFT_PROGRESS_SNAPSHOT = 2,  /* sending InstallSnapshot chunks */
};
struct raft_progress_info {
	uint64_t id;
	bool voter;
	int state;       /* enum raft_progress_state */
	uint64_t match;  /* highest index known replicated */
	uint64_t next;   /* next index to send */
	uint32_t inflight;
	bool recently_active; /* answered within election_min_ms (a new progress
	                       * counts as just answered: CheckQuorum's grace) */
	bool heard;           /* it answered since this leader made its progress */
	uint64_t last_contact_ms; /* ms since its last answer */
	uint64_t incarnation; /* the one it answers with (recorded until it
	                         answers otherwise) */
	bool admitted;        /* the configuration records that incarnation */
};
/* Leader only: progress of server id (itself included).  Errors:
 * RAFT_ENOTLEADER, RAFT_ENOTFOUND. */
int raft_progress(const struct raft *r, uint64_t id,
                  struct raft_progress_info *info);

#ifdef __cplusplus
}
#endif
#endif /* RCFS_RAFT_H */
