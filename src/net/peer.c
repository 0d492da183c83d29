#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include <sodium.h>

#include "net/auth.h"
#include "net/conn.h"
#include "net/peer.h"
#include "util/config.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define PEER_BACKOFF_MIN_MS 100
#define PEER_BACKOFF_MAX_MS 2000

struct peer_call {
	struct peer *peer;
	struct conn *conn;              /* the link it was sent on (identity only) */
	uint32_t id;
	peer_rpc_cb *cb;
	void *arg;
	struct event *ev;               /* timeout, or deferred failure */
	Rcfs__ErrorCode fail_code;
	const char *fail_why;
	TAILQ_ENTRY(peer_call) link;
};
TAILQ_HEAD(peer_call_list, peer_call);

struct peer {
	struct event_base *base;
	uint64_t self_id;
	char *cluster;
	uint64_t id;
	char *address;
	struct sockaddr_storage sa;
	int salen;
	bool resolved;
	uint32_t max_frame;
	uint32_t rpc_timeout_ms;
	/* Two links (peer.h): Raft messages never queue behind chunk data. */
	struct peer_link {
		struct conn *conn;      /* NULL while disconnected */
		bool connected;         /* our hello is sent (after auth, if on) */
	} link[PEER_LINKS];
	struct event *redial_ev;
	uint32_t backoff_ms;
	uint32_t next_id;
	struct peer_call_list calls;
	bool freeing;
};

enum { PEER_LINK_RAFT, PEER_LINK_BULK };

static void peer_dial(struct peer *p);
static int peer_dial_link(struct peer *p, int i);
static struct peer_link *peer_link_of(struct peer *p, const struct conn *c);
static void peer_redial_cb(evutil_socket_t fd, short what, void *arg);
static void peer_schedule_redial(struct peer *p);
static void peer_frame_cb(struct conn *c, const struct frame_header *h, ProtobufCMessage *msg,
    void *arg);
static void peer_close_cb(struct conn *c, const char *reason, void *arg);
static void peer_call_event(evutil_socket_t fd, short what, void *arg);
static void peer_call_finish(struct peer_call *call, Rcfs__ErrorCode code, const char *err,
    uint8_t type, ProtobufCMessage *msg);
static void peer_fail_all(struct peer *p, const struct conn *c, const char *why);
static void peer_auth_cb(struct conn *c, const struct auth_hs *hs, void *arg);
static void peer_say_hello(struct peer *p, struct peer_link *l);

/* docs/security.md: set once by the node before any peer exists. */
static bool peer_auth_on, peer_auth_encrypt;
static uint64_t peer_cluster_id;        /* in every PeerHello; 0: not known yet */
static char *peer_self_address;         /* in every PeerHello */

void
peer_set_self_address(const char *address)
{
	free(peer_self_address);
	peer_self_address = address != NULL ? strdup(address) : NULL;
}

void
peer_set_cluster_id(uint64_t cluster_id)
{
	peer_cluster_id = cluster_id;
}
static uint8_t peer_cluster_key[AUTH_KEY_LEN];

void
peer_set_auth(const uint8_t *cluster_key, bool encrypt)
{
	peer_auth_on = cluster_key != NULL;
	peer_auth_encrypt = encrypt;
	if (cluster_key != NULL)
		memcpy(peer_cluster_key, cluster_key, AUTH_KEY_LEN);
	else
		sodium_memzero(peer_cluster_key, sizeof peer_cluster_key);
}

struct peer *
peer_new(struct event_base *base, uint64_t self_id, const char *cluster, uint64_t id,
    const char *address, uint32_t max_frame, uint32_t rpc_timeout_ms)
{
	struct peer *p = xcalloc(1, sizeof *p);
	struct evutil_addrinfo hints, *ai = NULL;
	char host[256], port[8];
	uint16_t pn;

	p->base = base;
	p->self_id = self_id;
	p->cluster = xstrdup(cluster);
	p->id = id;
	p->address = xstrdup(address);
	p->max_frame = max_frame;
	p->rpc_timeout_ms = rpc_timeout_ms;
	p->backoff_ms = PEER_BACKOFF_MIN_MS;
	p->redial_ev = evtimer_new(base, peer_redial_cb, p);
	TAILQ_INIT(&p->calls);
	/* Resolve once, at start (before the loop runs). */
	if (config_split_hostport(address, host, sizeof host, &pn) == 0) {
		memset(&hints, 0, sizeof hints);
		hints.ai_socktype = SOCK_STREAM;
		snprintf(port, sizeof port, "%u", pn);
		if (evutil_getaddrinfo(host, port, &hints, &ai) == 0 && ai != NULL) {
			memcpy(&p->sa, ai->ai_addr, ai->ai_addrlen);
			p->salen = (int)ai->ai_addrlen;
			p->resolved = true;
			evutil_freeaddrinfo(ai);
		}
	}
	if (!p->resolved)
		log_err("peer %llu: cannot resolve %s", (unsigned long long)id, address);
	peer_dial(p);
	return p;
}

uint64_t
peer_id(const struct peer *p)
{
	return p->id;
}

const char *
peer_address(const struct peer *p)
{
	return p->address;
}

bool
peer_connected(const struct peer *p)
{
	return p->link[PEER_LINK_RAFT].conn != NULL && p->link[PEER_LINK_RAFT].connected;
}

/* The link whose connection is c, or NULL. */
static struct peer_link *
peer_link_of(struct peer *p, const struct conn *c)
{
	for (int i = 0; i < PEER_LINKS; i++)
		if (p->link[i].conn == c)
			return &p->link[i];
	return NULL;
}

/* Our PeerHello, then the connection carries Raft and replica traffic. */
static void
peer_say_hello(struct peer *p, struct peer_link *l)
{
	Rcfs__PeerHello hello = RCFS__PEER_HELLO__INIT;

	hello.node_id = p->self_id;
	hello.cluster = p->cluster;
	if (peer_cluster_id != 0) {
		hello.has_cluster_id = 1;
		hello.cluster_id = peer_cluster_id;
	}
	hello.address = peer_self_address;
	conn_send(l->conn, RCFS__MSG_TYPE__MSG_PEER_HELLO, 0, &hello.base);
	l->connected = true;
}

static void
peer_auth_cb(struct conn *c, const struct auth_hs *hs, void *arg)
{
	struct peer *p = arg;
	struct peer_link *l = peer_link_of(p, c);

	(void)hs;
	if (l == NULL)
		return;
	log_debug("peer %llu (%s): authenticated", (unsigned long long)p->id, p->address);
	peer_say_hello(p, l);
}

/* Dial every link that is down; one redial timer covers them all. */
static void
peer_dial(struct peer *p)
{
	bool failed = false;

	for (int i = 0; i < PEER_LINKS; i++)
		if (p->link[i].conn == NULL && peer_dial_link(p, i) != 0)
			failed = true;
	if (failed)
		peer_schedule_redial(p);
}

static int
peer_dial_link(struct peer *p, int i)
{
	struct peer_link *l = &p->link[i];
	evutil_socket_t fd;
	int one = 1;

	if (!p->resolved)
		return -1;
	fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&p->sa, (socklen_t)p->salen) != 0 && errno != EINPROGRESS) {
		log_debug("peer %llu: connect %s: %s", (unsigned long long)p->id, p->address,
		    strerror(errno));
		close(fd);
		return -1;
	}
	/* The bufferevent queues our hello until the connect completes; a
	 * refused connect surfaces as an error event, closing the conn. */
	l->conn = conn_new(p->base, fd, p->address, p->max_frame, 1024, peer_frame_cb, peer_close_cb, p);
	if (l->conn == NULL)
		return -1;
	if (peer_auth_on)
		conn_auth_dial(l->conn, peer_cluster_key, p->self_id, peer_auth_encrypt, peer_auth_cb);
	else
		peer_say_hello(p, l);
	return 0;
}

static void
peer_schedule_redial(struct peer *p)
{
	struct timeval tv;
	uint32_t ms, jitter = 0;

	if (p->freeing || evtimer_pending(p->redial_ev, NULL))
		return;
	evutil_secure_rng_get_bytes(&jitter, sizeof jitter);
	ms = p->backoff_ms * 3 / 4 + jitter % (p->backoff_ms / 2 + 1);
	p->backoff_ms = p->backoff_ms * 2 > PEER_BACKOFF_MAX_MS ? PEER_BACKOFF_MAX_MS : p->backoff_ms * 2;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->redial_ev, &tv);
}

static void
peer_redial_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	peer_dial(arg);
}

static void
peer_frame_cb(struct conn *c, const struct frame_header *h, ProtobufCMessage *msg, void *arg)
{
	struct peer *p = arg;
	struct peer_call *call;

	(void)c;
	p->backoff_ms = PEER_BACKOFF_MIN_MS;    /* it answers: healthy again */
	if (!(h->flags & FRAME_F_RESPONSE)) {
		/* Peers send requests on their own connection, never on ours. */
		protobuf_c_message_free_unpacked(msg, NULL);
		conn_close(c, "request on an outbound peer connection");
		return;
	}
	TAILQ_FOREACH(call, &p->calls, link)
		if (call->id == h->request_id)
			break;
	if (call == NULL) {
		protobuf_c_message_free_unpacked(msg, NULL);   /* timed out earlier */
		return;
	}
	if (h->type == RCFS__MSG_TYPE__MSG_ERROR) {
		Rcfs__Error *e = (Rcfs__Error *)msg;
		peer_call_finish(call, e->code, e->message ? e->message : "error", h->type, NULL);
	} else {
		peer_call_finish(call, RCFS__ERROR_CODE__E_OK, NULL, h->type, msg);
	}
	protobuf_c_message_free_unpacked(msg, NULL);
}

static void
peer_close_cb(struct conn *c, const char *reason, void *arg)
{
	struct peer *p = arg;
	struct peer_link *l = peer_link_of(p, c);
	char why[256];

	if (l != NULL) {
		if (l->connected)
			log_debug("peer %llu (%s): %s connection closed: %s", (unsigned long long)p->id,
			    p->address, l == &p->link[PEER_LINK_RAFT] ? "raft" : "bulk", reason);
		l->conn = NULL;     /* conn frees itself once unreferenced */
		l->connected = false;
	}
	snprintf(why, sizeof why, "node %llu (%s) unreachable", (unsigned long long)p->id, p->address);
	peer_fail_all(p, c, why);
	peer_schedule_redial(p);
}

void
peer_kick(struct peer *p)
{
	if ((p->link[PEER_LINK_RAFT].conn != NULL && p->link[PEER_LINK_BULK].conn != NULL) || p->freeing)
		return;
	/* It just dialled us, so it is up: no point waiting out our backoff. */
	evtimer_del(p->redial_ev);
	p->backoff_ms = PEER_BACKOFF_MIN_MS;
	peer_dial(p);
}

void
peer_hello_again(struct peer *p)
{
	for (int i = 0; i < PEER_LINKS && !p->freeing; i++)
		if (p->link[i].conn != NULL && p->link[i].connected)
			peer_say_hello(p, &p->link[i]);
}

void
peer_send(struct peer *p, uint8_t type, const ProtobufCMessage *msg)
{
	struct peer_link *l = &p->link[PEER_LINK_RAFT];

	if (l->conn != NULL && l->connected)
		conn_send(l->conn, type, 0, msg);
}

void
peer_rpc(struct peer *p, uint8_t type, const ProtobufCMessage *msg, peer_rpc_cb *cb, void *arg)
{
	struct peer_call *call = xcalloc(1, sizeof *call);
	struct timeval tv = { p->rpc_timeout_ms / 1000, (p->rpc_timeout_ms % 1000) * 1000 };

	call->peer = p;
	call->conn = p->link[PEER_LINK_BULK].connected ? p->link[PEER_LINK_BULK].conn : NULL;
	call->cb = cb;
	call->arg = arg;
	call->id = ++p->next_id ? p->next_id : ++p->next_id;
	call->ev = evtimer_new(p->base, peer_call_event, call);
	TAILQ_INSERT_TAIL(&p->calls, call, link);
	if (call->conn == NULL) {
		call->fail_code = RCFS__ERROR_CODE__E_UNAVAILABLE;
		call->fail_why = "peer unreachable";
		event_active(call->ev, EV_TIMEOUT, 0);
		return;
	}
	evtimer_add(call->ev, &tv);
	conn_send(call->conn, type, call->id, msg);
}

static void
peer_call_event(evutil_socket_t fd, short what, void *arg)
{
	struct peer_call *call = arg;
	char why[256];

	(void)fd; (void)what;
	if (call->fail_why != NULL) {
		snprintf(why, sizeof why, "node %llu (%s) unreachable",
		    (unsigned long long)call->peer->id, call->peer->address);
		peer_call_finish(call, call->fail_code, why, 0, NULL);
	} else {
		snprintf(why, sizeof why, "node %llu (%s) timed out", (unsigned long long)call->peer->id,
		    call->peer->address);
		peer_call_finish(call, RCFS__ERROR_CODE__E_TIMEOUT, why, 0, NULL);
	}
}

static void
peer_call_finish(struct peer_call *call, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	TAILQ_REMOVE(&call->peer->calls, call, link);
	event_free(call->ev);
	call->cb(call->arg, code, err, type, msg);
	free(call);
}

/* Fail the pending calls sent on connection c (NULL: all of them). */
static void
peer_fail_all(struct peer *p, const struct conn *c, const char *why)
{
	struct peer_call *call, *next;

	for (call = TAILQ_FIRST(&p->calls); call != NULL; call = next) {
		next = TAILQ_NEXT(call, link);
		if (c == NULL || call->conn == c) {
			peer_call_finish(call, RCFS__ERROR_CODE__E_UNAVAILABLE, why, 0, NULL);
			next = TAILQ_FIRST(&p->calls);  /* a callback may have changed the list */
		}
	}
}

void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	p->freeing = true;
	for (int i = 0; i < PEER_LINKS; i++)
		if (p->link[i].conn != NULL)
			conn_close(p->link[i].conn, NULL);   /* -> peer_close_cb fails its calls */
	peer_fail_all(p, NULL, "shutting down");
	event_free(p->redial_ev);
	free(p->cluster);
	free(p->address);
	free(p);
}
