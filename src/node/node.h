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
struct metrics;

struct node *node_new(struct event_base *base, const struct rcfs_config *cfg, char *err,
    size_t errlen);
void node_free(struct node *n);
/* Stop accepting, close connections; the loop then exits when idle. */
void node_shutdown(struct node *n);
/* Start the HTTP endpoint (if cfg->http_listen) and the metrics refresh
 * (src/node/observe.h); reg may be NULL.  Returns 0, or -1 with a message in
 * err[errlen] (the HTTP address could not be bound). */
int node_observe(struct node *n, struct metrics *reg, char *err, size_t errlen);
/* The bound HTTP port, 0 without an endpoint. */
unsigned node_http_port(const struct node *n);
/* Whether the node serves (redis up, raft state loaded, a leader known); on
 * false why[whylen] says why. */
bool node_healthy(struct node *n, char *why, size_t whylen);
struct event_base *node_base(struct node *n);
/* Graceful stop (SIGTERM): stop accepting connections, refuse new client
 * requests (E_UNAVAILABLE, so clients go to another node), hand leadership
 * to the most up-to-date voter (Raft dissertation §3.10), and call done(arg)
 * once no request is in flight and this node no longer leads, or after
 * cfg->drain_timeout_ms.  The caller then calls node_shutdown(). */
void node_drain(struct node *n, void (*done)(void *arg), void *arg);
bool node_draining(const struct node *n);
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
/* Requests (client and peer) being served now, for the SIGTERM drain. */
unsigned service_inflight(void);

#endif
