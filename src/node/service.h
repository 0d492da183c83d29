/* The file service: one handler per client request (ChunkPut, ChunkGet,
 * FileCommit, FileStat, FileList, FileRemove, Status).  Each validates its
 * input completely before touching storage, then answers exactly once
 * (conn_reply / conn_reply_error).  Replica traffic from peers (ChunkPut and
 * ChunkGet with replica/local set) goes through the same handlers. */
#ifndef RCFS_SERVICE_H
#define RCFS_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "net/conn.h"
#include "net/peer.h"
#include "node/parts.h"

struct service;

/* Handlers over `parts` (copied; what it points to is borrowed). */
struct service *service_new(const struct node_parts *parts);
void service_free(struct service *svc);
/* Handle one request frame (takes ownership of msg).  peer_id: the sending
 * node if the connection said PeerHello, else 0. */
void service_dispatch(struct service *svc, struct conn *c, const struct frame_header *h,
    ProtobufCMessage *msg, uint64_t peer_id);
/* Serve a request made inside this node (the S3 gateway) as a client's
 * request of frame type `type`: ChunkPut, ChunkGet, ChunkProtect,
 * FileCommit, FileStat, FileList, FileRemove, FileRename or Status.  msg is
 * borrowed and must stay valid until cb runs.  cb runs exactly once, perhaps
 * before service_call returns, with the response (msg valid during the call
 * only) or the failure (E_NOT_LEADER: ask consensus where the leader is). */
void service_call(struct service *svc, uint8_t type, ProtobufCMessage *msg, peer_rpc_cb *cb,
    void *arg);
/* Requests (client and peer) being served now, for the SIGTERM drain. */
unsigned service_inflight(const struct service *svc);
/* Draining (SIGTERM): new client requests are refused with E_UNAVAILABLE so
 * clients go to another node; peers' requests are still served. */
void service_set_draining(struct service *svc, bool draining);

#endif
