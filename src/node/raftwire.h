/* The wire form of a Raft message (proto RaftMessage) to the core's
 * struct raft_message: one conversion for the node and the fuzzer. */
#ifndef RCFS_RAFTWIRE_H
#define RCFS_RAFTWIRE_H

#include "proto/rcfs.pb-c.h"
#include "raft/raft.h"

/* Fill *m from pm.  Byte fields point into pm (valid while pm lives); the
 * entries array is allocated: the caller frees m->entries (NULL when
 * there are none).  Out of memory is fatal (xmalloc). */
void raftwire_from_pb(const Rcfs__RaftMessage *pm, struct raft_message *m);

#endif
