/* The node: owns the event loop's objects (listener, client connections,
 * storage, timers) and routes frames to the file service.
 *
 * Metadata changes go through node_propose(): commands proposed during one
 * loop iteration are applied as one batch (group commit).  Until the Raft core
 * is wired in (issue 4), a single node is its own log: it numbers entries
 * after the stored applied index and applies them directly. */
#ifndef RCFS_NODE_H
#define RCFS_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "fs/fsm.h"
#include "net/conn.h"
#include "util/config.h"

struct event_base;
struct store;
struct node;

/* A proposal finished.  err NULL: res is the outcome; else err is a one-line
 * cause and code the error class (E_UNAVAILABLE, E_TIMEOUT, ...). */
typedef void node_propose_cb(void *arg, Rcfs__ErrorCode code, const char *err,
    const struct fsm_result *res);

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

/* Propose a metadata command (copied: the caller keeps ownership of cmd). */
void node_propose(struct node *n, const Rcfs__Command *cmd, node_propose_cb *cb, void *arg);

/* src/fs/service.c: handle one client request frame (takes ownership of msg). */
void service_dispatch(struct node *n, struct conn *c, const struct frame_header *h,
    ProtobufCMessage *msg);

#endif
