/* A Raft message between the core's struct raft_message and its wire form
 * (proto RaftMessage): one conversion each way, for the node and the fuzzer. */
#ifndef RCFS_RAFTWIRE_H
#define RCFS_RAFTWIRE_H

#include "proto/rcfs.pb-c.h"
#include "raft/raft.h"

/* Fill *m from pm.  Byte fields point into pm (valid while pm lives); the
 * entries array is allocated: the caller frees m->entries (NULL when
 * there are none).  Out of memory is fatal (xmalloc). */
void raftwire_from_pb(const Rcfs__RaftMessage *pm, struct raft_message *m);

/* The wire form of a message, with the arrays it points to. */
struct raftwire_pb {
	Rcfs__RaftMessage msg;
	Rcfs__RaftEntry *ents;
	Rcfs__RaftEntry **eptrs;
};
/* Fill *pb from m.  Byte fields point into m (valid while m lives); release
 * with raftwire_pb_free(). */
void raftwire_to_pb(const struct raft_message *m, struct raftwire_pb *pb);
void raftwire_pb_free(struct raftwire_pb *pb);

#endif
