/* The cluster's members as this node knows them, and the peer links to
 * them (docs/design.md, "Membership").
 *
 * The membership is Raft state: every configuration entry records each
 * member's id, address, voting flag, storage incarnation and a tag byte
 * with its rcfs role and state (MEMBER_TAG_*).  This module follows the
 * latest configuration in the log (members_update) and keeps one peer link
 * (net/peer.h) per other member.  The config file's `peers` list is only
 * the address book used before any configuration is known: a founder's
 * bootstrap, or a joining node waiting for the leader (etcd's
 * --initial-cluster). */
#ifndef RCFS_MEMBERS_H
#define RCFS_MEMBERS_H

#include <stdbool.h>
#include <stdint.h>

#include "raft/raft.h"

struct event_base;
struct rcfs_config;
struct peer;
struct members;

/* Tag bits (struct raft_server.tag), opaque to the Raft core. */
#define MEMBER_TAG_STORAGE  0x01  /* non-voting member that stores chunks; never promoted */
#define MEMBER_TAG_DRAINING 0x02  /* takes no new chunks; removed once they are elsewhere */
#define MEMBER_TAG_PROMOTE  0x04  /* learner the leader promotes once caught up (add --voter) */

enum member_role {
	MEMBER_VOTER,           /* votes, stores chunks */
	MEMBER_LEARNER,         /* catching up to become a voter; stores no chunks yet */
	MEMBER_STORAGE,         /* never votes, stores chunks */
};

struct member {
	uint64_t id;
	bool leaving;                   /* only in the committed configuration: being removed */
	char address[RAFT_ADDR_MAX];    /* "host:port" */
	enum member_role role;
	uint8_t tag;                    /* MEMBER_TAG_* */
	uint64_t incarnation;           /* recorded for its storage */
	struct peer *peer;              /* link to it; NULL for this node */
	uint64_t noted_ms;              /* a noted peer (not in the configuration): since when */
	bool noted_warned;              /* ... and whether it was said that it is still not a member */
};

/* A table started from cfg's address book (borrowed; outlives it).  Peer
 * links are created on base. */
struct members *members_new(struct event_base *base, const struct rcfs_config *cfg);
void members_free(struct members *m);

/* Follow configuration conf, the latest in the log (an empty one keeps the
 * address book), and committed, the latest committed one: the table holds
 * the members of both (one leaving by an uncommitted entry stays reachable
 * until that entry commits: a leader removing itself must hear the acks),
 * roles come from conf, and the removed ids and the cluster id from
 * committed only (an uncommitted entry may yet be undone).  Links to new
 * members are created, links to members gone from both closed (on the next
 * loop iteration, so that no caller's callback runs inside this one).
 * Returns true if the set of members, a role, a state or an address changed. */
bool members_update(struct members *m, const struct raft_conf *conf,
    const struct raft_conf *committed);

/* The members, this node included when it is one; valid until the next
 * members_update. */
uint32_t members_count(const struct members *m);
const struct member *members_at(const struct members *m, uint32_t i);
/* Member id, or NULL.  Also finds a peer noted by members_note_peer. */
const struct member *members_find(const struct members *m, uint64_t id);
/* A peer of this cluster (not removed) that is not in the configuration
 * this node follows said hello from `address`: this node's configuration
 * may be stale (it was down while members changed, and the peer is the new
 * leader).  Keep a link to it, so that replies reach it, until it shows up
 * in the configuration.  Returns the record, or NULL if none can be kept. */
const struct member *members_note_peer(struct members *m, uint64_t id, const char *address);
/* Whether id was removed from the cluster (it is never accepted again). */
bool members_was_removed(const struct members *m, uint64_t id);
/* The cluster id of the configuration followed (0: none known yet). */
uint64_t members_cluster_id(const struct members *m);
/* Whether a configuration has been followed (false: the address book). */
bool members_configured(const struct members *m);

/* Whether a member takes new chunks: a voter or storage node, not draining,
 * not leaving. */
bool member_takes_chunks(const struct member *mb);
/* "voter", "learner", "storage"; "active" or "draining". */
const char *member_role_name(enum member_role role);
const char *member_state_name(const struct member *mb);

/* The configuration a founder starts from: every configured peer (or this
 * node alone) as a voter with its address; no cluster id yet (the first
 * leader draws it at random and records it with a configuration entry). */
void members_bootstrap_conf(const struct rcfs_config *cfg, struct raft_conf *out);

#endif
