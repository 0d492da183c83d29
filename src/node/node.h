/* The node: owns the event loop's objects (listener, client and peer
 * connections, storage, the Raft driver, timers) and routes frames: PeerHello
 * and RaftMessage to the Raft driver (src/node/consensus.c), everything else
 * to the file service (src/fs/service.c).  A node without peers is a cluster
 * of one: the same Raft code path, with itself as the only voter. */
#ifndef RCFS_NODE_H
#define RCFS_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/fsm.h"
#include "node/consensus.h"
#include "net/conn.h"
#include "util/config.h"

struct event_base;
struct store;
struct node;

/* Create the node: binds the listen address (returns NULL with a message in
 * err[errlen] if it cannot), connects to redis.  The config is borrowed. */
struct node *node_new(struct event_base *base, const struct rcfs_config *cfg, char *err,
    size_t errlen);
void node_free(struct node *n);
/* Stop accepting, close connections; the loop then exits when idle. */
void node_shutdown(struct node *n);
/* Nonzero exit status requested by the node (e.g. unsafe redis at start). */
int node_exit_status(const struct node *n);

struct store *node_store(struct node *n);
const struct rcfs_config *node_config(const struct node *n);
bool node_ready(const struct node *n);
uint64_t node_applied_index(const struct node *n);
uint64_t node_now_ms(void);   /* wall clock, ms since the epoch */

struct consensus *node_consensus(struct node *n);
struct replicator *node_replicator(struct node *n);
struct timesync *node_timesync(struct node *n);
/* The connection to cfg->peers[i] (NULL for this node or out of range). */
struct peer *node_peer(struct node *n, unsigned i);

/* src/fs/service.c: handle one request frame (takes ownership of msg).
 * peer_id: the sending node if the connection said PeerHello, else 0. */
void service_dispatch(struct node *n, struct conn *c, const struct frame_header *h,
    ProtobufCMessage *msg, uint64_t peer_id);

#endif
