/* The node: owns the event loop's objects (listener, client and peer
 * connections, storage, the state machine, the Raft driver, the request
 * handlers, timers) and routes frames: PeerHello and RaftMessage to the Raft
 * driver (node/consensus.h), everything else to the request handlers
 * (node/service.h).  A node without peers is a cluster of one: the same
 * Raft code path, with itself as the only voter. */
#ifndef RCFS_NODE_H
#define RCFS_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "node/parts.h"
#include "util/config.h"

struct event_base;
struct node;
struct observe;
struct service;

/* Create the node: binds the listen address, connects to redis.  The config
 * is borrowed and must outlive the node.  Returns NULL with a one-line
 * message in err[errlen] if it cannot (key file, listen address). */
struct node *node_new(struct event_base *base, const struct rcfs_config *cfg, char *err,
    size_t errlen);
/* node_shutdown, then free everything; pending storage callbacks run first. */
void node_free(struct node *n);
/* Stop accepting, close connections; the loop then exits when idle. */
void node_shutdown(struct node *n);
/* The node's parts, for its observer (node/observe.h). */
const struct node_parts *node_parts(const struct node *n);
/* Give the node its observer (borrowed; outlives the node): the AOF turns
 * ask it which members are rewriting. */
void node_set_observe(struct node *n, struct observe *o);
/* The node's request handlers (node/service.h). */
struct service *node_service(const struct node *n);
/* Graceful stop (SIGTERM): stop accepting connections, refuse new client
 * requests (E_UNAVAILABLE, so clients go to another node), hand leadership
 * to the most up-to-date voter (Raft dissertation §3.10), and call done(arg)
 * once no request is in flight and this node no longer leads, or after
 * cfg->drain_timeout_ms.  The caller then calls node_shutdown(). */
void node_drain(struct node *n, void (*done)(void *arg), void *arg);
bool node_draining(const struct node *n);
/* Whether the node can serve: redis up and the Raft state loaded. */
bool node_ready(const struct node *n);
/* Nonzero exit status requested by the node (e.g. unsafe redis at start). */
int node_exit_status(const struct node *n);

#endif
