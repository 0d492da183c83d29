/* Outbound connections to the other cluster members.
 *
 * Each node keeps two connections to every peer (PEER_LINKS): Raft messages
 * travel one-way on the first; replica chunk RPCs (ChunkPut/ChunkGet with
 * replica/local set) are requests on the second, their responses come back
 * on it.  Separate links keep heartbeats from queueing behind megabytes of
 * chunk data (head-of-line blocking cost elections under large writes,
 * docs/benchmarks.md); etcd's rafthttp separates its streams likewise.
 * Messages from a peer arrive on the connections the peer dialled (accepted
 * by the node's listener and identified by their PeerHello).
 *
 * A lost connection is redialled after an exponential backoff (100 ms
 * doubling to 2 s, +-25% jitter); pending RPCs fail at once. */
#ifndef RCFS_PEER_H
#define RCFS_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "net/frame.h"

struct event_base;
struct peer;

#define PEER_LINKS 2    /* connections per peer: Raft, then bulk (chunk RPCs) */

/* An RPC finished.  On success (err NULL) msg is the response (type
 * resp_type; valid during the call only).  Otherwise err says why (one line),
 * and code classifies it (E_UNAVAILABLE when the peer is unreachable,
 * E_TIMEOUT, or the code the peer answered with). */
typedef void peer_rpc_cb(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t resp_type,
    ProtobufCMessage *msg);

/* Authentication for every peer connection created afterwards: the cluster
 * key (copied; NULL: auth off) and whether to encrypt payloads.  With a key,
 * a connection counts as connected only once its handshake succeeded. */
void peer_set_auth(const uint8_t *cluster_key, bool encrypt);

/* The cluster id sent in every PeerHello from now on (0: none known). */
void peer_set_cluster_id(uint64_t cluster_id);
/* This node's listen address, sent in every PeerHello (copied). */
void peer_set_self_address(const char *address);

/* Create the connection to peer `id` at "host:port" (resolved once, now).
 * self_id/cluster go in our PeerHello. */
struct peer *peer_new(struct event_base *base, uint64_t self_id, const char *cluster,
    uint64_t id, const char *address, uint32_t max_frame, uint32_t rpc_timeout_ms);
void peer_free(struct peer *p);

uint64_t peer_id(const struct peer *p);
const char *peer_address(const struct peer *p);
/* Whether the Raft connection is established (not a statement about the node's
 * health: see the last-contact figures of the Raft progress). */
bool peer_connected(const struct peer *p);

/* The peer just connected to us: if our connection to it is down, redial
 * now instead of after the backoff. */
void peer_kick(struct peer *p);
/* Send our PeerHello again on every established link, so that the peer checks
 * what changed (the cluster id) without losing the calls in flight: a peer
 * that refuses it closes the connection. A link still connecting says hello
 * with the new values anyway. */
void peer_hello_again(struct peer *p);
/* Send a one-way frame (a Raft message); dropped if not connected. */
void peer_send(struct peer *p, uint8_t type, const ProtobufCMessage *msg);
/* Send a request and call cb exactly once with its response or failure
 * (never from inside peer_rpc). */
void peer_rpc(struct peer *p, uint8_t type, const ProtobufCMessage *msg, peer_rpc_cb *cb,
    void *arg);

#endif
