/* A framed connection: reads frames with the codec
 * (net/frame.h), hands each to the owner, and sends replies (a bufferevent
 * for output; input through a read event of its own, docs/design.md).
 *
 * Backpressure: at most max_inflight requests are being served at once and the
 * output buffer is bounded (2 frames); past either limit the connection stops
 * reading until replies drain, so a client can never make the node buffer
 * without bound.  Memory per connection <= (max_inflight + 3) * max_frame.
 *
 * Lifetime: requests hold a reference (conn_ref); a closed connection is freed
 * when its last reference goes (never while a callback may still use it).
 *
 * Authentication (docs/security.md): after conn_auth_accept() or
 * conn_auth_dial() the connection runs the handshake of net/auth.h first
 * (frames go to the state machine, not to the owner), then MACs every frame
 * both ways; a frame with a bad MAC or sequence closes it.
 *
 * Slow or idle senders: a started frame (and the handshake) must complete
 * within frame_timeout_ms; a connection with nothing in flight for
 * idle_timeout_ms is closed (conn_set_timeouts). */
#ifndef RCFS_CONN_H
#define RCFS_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/util.h>

#include "net/auth.h"
#include "net/frame.h"

struct event_base;
struct conn;

/* A frame arrived.  The callee owns msg (free with
 * protobuf_c_message_free_unpacked(msg, NULL)).  For a request (no
 * FRAME_F_RESPONSE flag) it must eventually call conn_reply() or
 * conn_reply_error() exactly once with h->request_id. */
typedef void conn_frame_cb(struct conn *c, const struct frame_header *h, ProtobufCMessage *msg,
    void *arg);
/* The connection closed (reason: one line).  Called once. */
typedef void conn_close_cb(struct conn *c, const char *reason, void *arg);
/* The handshake finished: hs says who the other side is (granted role, peer
 * node id, client key index).  Frames flow from now on. */
typedef void conn_auth_cb(struct conn *c, const struct auth_hs *hs, void *arg);

struct conn *conn_new(struct event_base *base, evutil_socket_t fd, const char *peer,
    uint32_t max_frame, uint32_t max_inflight, conn_frame_cb *on_frame, conn_close_cb *on_close,
    void *arg);
void conn_ref(struct conn *c);
void conn_unref(struct conn *c);
const char *conn_peer(const struct conn *c);

/* Require the handshake as the acceptor (call right after conn_new).  The
 * ring is borrowed and must outlive the connection. */
void conn_auth_accept(struct conn *c, const struct auth_keyring *ring, conn_auth_cb *cb);
/* Run the handshake as the dialler with key K (the cluster key), as node
 * node_id (call right after conn_new).  Frames sent before it completes are
 * dropped: owners wait for cb. */
void conn_auth_dial(struct conn *c, const uint8_t *key, uint64_t node_id, bool encrypt,
    conn_auth_cb *cb);
/* Whether the connection closed because the peer closed it (EOF) or the
 * socket failed (reset), not by a decision of this side; valid in on_close. */
bool conn_closed_by_peer(const struct conn *c);
/* Whether frames flow (no handshake pending or failed). */
bool conn_ready(const struct conn *c);
/* Whether the handshake is still pending (such connections are the first to
 * go when max_connections is reached). */
bool conn_in_handshake(const struct conn *c);
/* Timeouts in ms (0: none).  Defaults: no idle timeout, 10 s frame timeout. */
void conn_set_timeouts(struct conn *c, uint32_t idle_timeout_ms, uint32_t frame_timeout_ms);

/* Answer request `request_id` (a no-op on a closed connection). */
void conn_reply(struct conn *c, uint8_t type, uint32_t request_id, const ProtobufCMessage *msg);
void conn_reply_error(struct conn *c, uint32_t request_id, Rcfs__ErrorCode code, const char *why);
/* A request frame that is not answered (PeerHello, RaftMessage): release
 * its in-flight slot. */
void conn_reply_none(struct conn *c);
/* Send a one-way frame (not a reply). */
void conn_send(struct conn *c, uint8_t type, uint32_t request_id, const ProtobufCMessage *msg);
/* Close now, logging reason; pending replies are dropped. */
void conn_close(struct conn *c, const char *reason);

#endif
