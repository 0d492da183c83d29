/* This node's own status, gathered one way for the Status request
 * (node/service.c) and the observer's refresh (node/observe.c). */
#ifndef RCFS_STATUS_H
#define RCFS_STATUS_H

#include "node/parts.h"
#include "proto/rcfs.pb-c.h"

/* s: this node's status (valid during the call): Raft figures, storage up,
 * clock; when storage is up also files, chunks (distinct referenced),
 * used_memory and maxmemory (bytes), each where its read succeeded. */
typedef void status_cb(void *arg, Rcfs__NodeStatus *s);

/* Gather it; cb runs once, later or (storage down) now. */
void status_gather(const struct node_parts *p, status_cb *cb, void *arg);

#endif
