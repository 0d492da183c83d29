/* The node's S3 gateway (node/gateway.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <event2/event.h>

#include "net/auth.h"
#include "node/consensus.h"
#include "node/gateway.h"
#include "node/members.h"
#include "fs/replicate.h"
#include "http/http.h"
#include "node/node.h"
#include "node/service.h"
#include "node/timesync.h"
#include "s3/s3.h"
#include "util/config.h"
#include "util/log.h"
#include "util/time.h"
#include "util/xmalloc.h"

struct gateway {
	struct node *node;
	const struct node_parts *p;
	struct s3_server *s3;
	bool closing;                   /* gateway_close: calls fail at once */
};

/* A call in flight: local first, then perhaps forwarded to the leader. */
struct gateway_call {
	struct gateway *g;
	uint8_t type;
	ProtobufCMessage *msg;          /* the caller's */
	peer_rpc_cb *cb;
	void *arg;
	uint64_t wait_until;            /* time_mono_ms(): retry while no leader is known till then */
};

/* An S3 client cannot follow a leader hint, and answering 503 during an
 * election makes it back off for seconds: a call that finds no leader is
 * tried again every GATEWAY_RETRY_MS for up to GATEWAY_ELECTION_WAIT_MS
 * (several election timeouts) before the client hears of it. */
#define GATEWAY_ELECTION_WAIT_MS 3000
#define GATEWAY_RETRY_MS 100

static void gateway_call(void *arg, uint8_t type, ProtobufCMessage *msg, peer_rpc_cb *cb,
    void *cb_arg);
static void gateway_call_later(evutil_socket_t fd, short what, void *arg);
static bool gateway_retry(struct gateway_call *c);
static void gateway_called(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t resp_type,
    ProtobufCMessage *msg);
static void gateway_forwarded(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t resp_type,
    ProtobufCMessage *msg);
static int gateway_lookup(void *arg, const char *key_id, char *secret, enum s3_access *access);
static int64_t gateway_now_ms(void *arg);
static bool gateway_leader(void *arg);
static uint32_t gateway_homes(void *arg, const uint8_t *sha256, uint64_t *ids, uint32_t max);
static void gateway_api(void *arg, struct evhttp_request *req, int access);

struct gateway *
gateway_new(struct node *n, struct http_server *http, char *err, size_t errlen)
{
	const struct node_parts *p = node_parts(n);
	const struct rcfs_config *cfg = p->cfg;
	struct s3_backend be;
	struct gateway *g;
	char why[256];

	err[0] = '\0';
	if (cfg->s3_listen == NULL && http == NULL)
		return NULL;
	g = xcalloc(1, sizeof *g);
	g->node = n;
	g->p = p;
	memset(&be, 0, sizeof be);
	be.call = gateway_call;
	be.lookup = gateway_lookup;
	be.now_ms = gateway_now_ms;
	be.homes = gateway_homes;
	be.leader = gateway_leader;
	be.arg = g;
	be.auth = cfg->auth;
	be.region = cfg->s3_region;
	be.domain = cfg->s3_domain;
	be.upload_expiry_ms = cfg->s3_upload_expiry_ms;
	/* A random id per process: a restarted gateway starts a new session. */
	be.client_id = ((uint64_t)randombytes_random() << 32 | randombytes_random()) >> 11;
	if (be.client_id == 0)
		be.client_id = 1;
	be.chunk_size = cfg->chunk_size;
	be.inline_max = cfg->inline_max;
	be.max_body = cfg->s3_max_body;
	be.max_conns = cfg->s3_max_conns;
	g->s3 = s3_new(p->base, cfg->s3_listen, &be, why, sizeof why);
	if (g->s3 == NULL) {
		snprintf(err, errlen, "s3_listen %s: %s", cfg->s3_listen, why);
		gateway_free(g);
		return NULL;
	}
	if (cfg->s3_listen != NULL)
		log_info("S3 gateway on %s, port %u%s", cfg->s3_listen, s3_port(g->s3),
		    cfg->auth ? " (SigV4 required)" : " (auth off: unsigned requests allowed)");
	if (http != NULL)
		http_set_api(http, gateway_api, g);
	return g;
}

void
gateway_close(struct gateway *g)
{
	if (g != NULL)
		g->closing = true;
}

void
gateway_free(struct gateway *g)
{
	if (g == NULL)
		return;
	s3_free(g->s3);
	free(g);
}

/* Chunk traffic is this node's to coordinate; what the leader serves goes
 * to the leader when this node is not it. */
static void
gateway_call(void *arg, uint8_t type, ProtobufCMessage *msg, peer_rpc_cb *cb, void *cb_arg)
{
	struct gateway *g = arg;
	struct gateway_call *c;

	if (g->closing) {
		cb(cb_arg, RCFS__ERROR_CODE__E_UNAVAILABLE, "the node is shutting down", 0, NULL);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->g = g;
	c->type = type;
	c->msg = msg;
	c->cb = cb;
	c->arg = cb_arg;
	c->wait_until = time_mono_ms() + GATEWAY_ELECTION_WAIT_MS;
	/* The gateway goes on from an answer's callback, which may run inside
	 * a Ready (a commit or a read settled there): its next call waits for
	 * the loop, as a connection's next request does (consensus.h). */
	if (consensus_in_ready(g->p->consensus) &&
	    event_base_once(g->p->base, -1, EV_TIMEOUT, gateway_call_later, c, &(struct timeval){ 0, 0 }) == 0)
		return;
	service_call(node_service(g->node), type, msg, gateway_called, c);
}

static void
gateway_call_later(evutil_socket_t fd, short what, void *arg)
{
	struct gateway_call *c = arg;

	(void)fd;
	(void)what;
	if (c->g->closing) {
		c->cb(c->arg, RCFS__ERROR_CODE__E_UNAVAILABLE, "the node is shutting down", 0, NULL);
		free(c);
		return;
	}
	service_call(node_service(c->g->node), c->type, c->msg, gateway_called, c);
}

static void
gateway_called(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t resp_type,
    ProtobufCMessage *msg)
{
	struct gateway_call *c = arg;
	const struct member *leader;

	if (code == RCFS__ERROR_CODE__E_NOT_LEADER && !c->g->closing) {
		leader = members_find(c->g->p->members, consensus_leader(c->g->p->consensus));
		if (leader != NULL && leader->peer != NULL) {
			peer_rpc(leader->peer, c->type, c->msg, gateway_forwarded, c);
			return;
		}
		if (gateway_retry(c))
			return;
	}
	c->cb(c->arg, code, err, resp_type, msg);
	free(c);
}

/* No leader to serve c (an election): try it again shortly, while c may
 * still wait.  True: it will be. */
static bool
gateway_retry(struct gateway_call *c)
{
	if (c->g->closing || time_mono_ms() >= c->wait_until)
		return false;
	return event_base_once(c->g->p->base, -1, EV_TIMEOUT, gateway_call_later, c,
	    &(struct timeval){ 0, GATEWAY_RETRY_MS * 1000 }) == 0;
}

static void
gateway_forwarded(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t resp_type,
    ProtobufCMessage *msg)
{
	struct gateway_call *c = arg;

	/* The leader it went to lost leadership, or could not be reached (it
	 * may have died: the election that follows is waited out).  A retry is
	 * safe: commits carry the gateway's session (exactly once), the rest
	 * are reads, chunk puts and removes. */
	if ((code == RCFS__ERROR_CODE__E_NOT_LEADER || code == RCFS__ERROR_CODE__E_UNAVAILABLE) &&
	    gateway_retry(c))
		return;
	c->cb(c->arg, code, err, resp_type, msg);
	free(c);
}

static int
gateway_lookup(void *arg, const char *key_id, char *secret, enum s3_access *access)
{
	struct gateway *g = arg;
	const struct rcfs_config *cfg = g->p->cfg;
	int i = auth_s3_find(cfg->client_keys, cfg->nclient_keys, key_id, secret);

	if (i < 0)
		return -1;
	*access = cfg->client_keys[i].role >= AUTH_ROLE_READ_WRITE ? S3_ACCESS_WRITE : S3_ACCESS_READ;
	return 0;
}

static uint32_t
gateway_homes(void *arg, const uint8_t *sha256, uint64_t *ids, uint32_t max)
{
	struct gateway *g = arg;

	return replicator_home(g->p->replicator, sha256, ids, max);
}

static void
gateway_api(void *arg, struct evhttp_request *req, int access)
{
	struct gateway *g = arg;

	s3_api(g->s3, req, access >= HTTP_ACCESS_WRITE);
}

static int64_t
gateway_now_ms(void *arg)
{
	struct gateway *g = arg;

	return timesync_now_ns(g->p->timesync) / 1000000;
}

static bool
gateway_leader(void *arg)
{
	struct gateway *g = arg;

	return !g->closing && consensus_is_leader(g->p->consensus);
}
