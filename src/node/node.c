#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include <sodium.h>

#include "fs/fsm.h"
#include "fs/rebalance.h"
#include "fs/gc.h"
#include "fs/repair.h"
#include "fs/replicate.h"
#include "net/auth.h"
#include "net/peer.h"
#include "net/ratelimit.h"
#include "node/ackmark.h"
#include "node/consensus.h"
#include "node/members.h"
#include "node/node.h"
#include "node/observe.h"
#include "node/service.h"
#include "node/timesync.h"
#include "store/store.h"
#include "util/log.h"
#include "util/time.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

struct node_client {
	struct node *node;
	struct conn *conn;
	uint64_t peer_id;               /* != 0 once it said PeerHello (authenticated: proved) */
	enum auth_role role;            /* what it may do (docs/security.md) */
	int key_index;                  /* its API key in cfg->client_keys, -1 if none */
	TAILQ_ENTRY(node_client) link;
};
TAILQ_HEAD(node_client_list, node_client);

struct node {
	struct event_base *base;
	const struct rcfs_config *cfg;
	struct store *store;
	struct evconnlistener *listener;
	struct node_client_list clients;
	uint32_t nclients;
	struct members *members;        /* the membership and the peer links */
	struct fsm *fsm;
	struct consensus *consensus;
	struct ackmark *ackmark;        /* the acknowledgement marker (NULL until storage is first up) */
	bool ackmark_tried;
	struct timesync *timesync;
	struct replicator *replicator;
	struct repair *repair;
	struct rebalance *rebalance;
	bool drain_reported;            /* asked the leader to remove this drained node */
	char refused_why[256];          /* last peer refusal logged (not repeated in a row) */
	struct service *service;
	struct node_parts parts;        /* what the handlers and the observer get */
	struct observe *observe;        /* borrowed: which members rewrite their AOFs */
	uint64_t aof_wait_logged;       /* the turn (ms / turn) whose wait was logged */
	struct gc *gc;                  /* chunk GC */
	struct event *force_ev;         /* --force-new-cluster: the liveness check */
	struct event *join_ev;          /* a joining node not added yet says so */
	struct auth_keyring ring;       /* auth: cluster key and API key verifiers */
	struct token_bucket req_buckets[CONFIG_MAX_CLIENT_KEYS];    /* per API key */
	struct token_bucket move_budget;        /* rebalance_rate: the mover's and repair's copies */
	struct token_bucket byte_buckets[CONFIG_MAX_CLIENT_KEYS];
	int exit_status;
	bool shutting_down;
	/* SIGTERM drain */
	bool draining;
	struct event *drain_ev;
	uint64_t drain_deadline;        /* time_mono_ms() */
	uint64_t drain_transfer;        /* time_mono_ms() of the last leadership transfer tried */
	void (*drain_done)(void *arg);
	void *drain_arg;
};

static void node_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg);
static void node_accept_error_cb(struct evconnlistener *l, void *arg);
static void node_frame_cb(struct conn *c, const struct frame_header *h, ProtobufCMessage *msg,
    void *arg);
static void node_close_cb(struct conn *c, const char *reason, void *arg);
static void node_auth_cb(struct conn *c, const struct auth_hs *hs, void *arg);
static bool node_admit(struct node_client *cl, struct conn *c, const struct frame_header *h,
    ProtobufCMessage *msg);
static void node_store_state_cb(struct store *st, bool up, const char *why, void *arg);
static void node_send_raft(void *arg, uint64_t to, const Rcfs__RaftMessage *m);
static void node_conf_changed(void *arg);
static bool node_aof_turn(void *arg);
static void node_force_check(evutil_socket_t fd, short what, void *arg);
static void node_join_check(evutil_socket_t fd, short what, void *arg);
static void node_walk_done(void *arg, const struct rebalance_stats *stats);
static bool node_peer_allowed(struct node *n, uint64_t id, uint64_t cluster_id,
    const char *address, char *why, size_t whylen);

struct node *
node_new(struct event_base *base, const struct rcfs_config *cfg, char *err, size_t errlen)
{
	struct node *n = xcalloc(1, sizeof *n);
	struct evutil_addrinfo hints, *ai = NULL;
	char host[256], port[8];
	uint16_t p;
	int rv;

	n->base = base;
	n->cfg = cfg;
	TAILQ_INIT(&n->clients);

	/* Authentication (docs/security.md): the key file is read, and its mode
	 * checked, before anything listens. */
	if (cfg->auth) {
		if (auth_key_load(cfg->cluster_key_file, n->ring.cluster_key, err, errlen) != 0) {
			free(n);
			return NULL;
		}
		n->ring.have_cluster_key = true;
		n->ring.keys = cfg->client_keys;
		n->ring.nkeys = cfg->nclient_keys;
		n->ring.encrypt = cfg->encrypt;
		for (unsigned i = 0; i < cfg->nclient_keys; i++) {
			ratelimit_init(&n->req_buckets[i], cfg->client_keys[i].rate_requests, 1,
			    ratelimit_now_ns());
			ratelimit_init(&n->byte_buckets[i], cfg->client_keys[i].rate_bytes, cfg->max_frame,
			    ratelimit_now_ns());
		}
		peer_set_auth(n->ring.cluster_key, cfg->encrypt);
		log_info("authentication on: cluster key %s, %u API keys%s", cfg->cluster_key_file,
		    cfg->nclient_keys, cfg->encrypt ? ", payloads encrypted" : "");
	} else {
		peer_set_auth(NULL, false);
		log_warn("authentication is OFF (auth = false): anyone who can reach %s can read, "
		    "write and forge Raft messages; use only for local trials", cfg->listen);
	}

	/* Resolve the listen address once, before the loop runs. */
	config_split_hostport(cfg->listen, host, sizeof host, &p);
	snprintf(port, sizeof port, "%u", p);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE;
	if ((rv = evutil_getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "listen %s: %s", cfg->listen, evutil_gai_strerror(rv));
		free(n);
		return NULL;
	}
	n->listener = evconnlistener_new_bind(base, node_accept_cb, n,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128, ai->ai_addr,
	    (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (n->listener == NULL) {
		snprintf(err, errlen, "listen %s: %s", cfg->listen,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		free(n);
		return NULL;
	}
	evconnlistener_set_error_cb(n->listener, node_accept_error_cb);

	n->store = store_new(base, cfg->redis, cfg->redis_timeout_ms, cfg->storage_window,
	    cfg->allow_unsafe_storage);
	store_set_state_cb(n->store, node_store_state_cb, n);
	store_set_aof_turns(n->store, cfg->aof_rewrite_busy_growth, node_aof_turn, n);
	store_set_aof_policy(n->store, cfg->aof_rewrite_growth, cfg->aof_rewrite_min_bytes,
	    cfg->aof_rewrite_quiet_ms);
	n->gc = gc_new(base, n->store, cfg->gc_interval_ms);
	n->members = members_new(base, cfg);
	peer_set_self_address(cfg->listen);
	n->timesync = timesync_new(base, cfg, n->store);
	n->fsm = fsm_new(n->store);
	n->consensus = consensus_new(base, cfg, n->store, n->fsm, node_send_raft, n, n->timesync,
	    n->members);
	consensus_set_conf_cb(n->consensus, node_conf_changed, n);
	n->replicator = replicator_new(n->store, cfg->node_id, cfg->replicas, cfg->write_quorum);
	ratelimit_init(&n->move_budget, cfg->rebalance_rate, cfg->chunk_size, ratelimit_now_ns());
	replicator_set_copy_budget(n->replicator, &n->move_budget, cfg->chunk_size);
	n->repair = repair_new(base, n->store, n->replicator, cfg->repair_interval_ms, cfg->repair_files);
	n->rebalance = rebalance_new(base, n->store, n->replicator, 50, &n->move_budget,
	    node_walk_done, n);
	node_conf_changed(n);
	{
		struct timeval jtv = { 10, 0 };
		n->join_ev = evtimer_new(base, node_join_check, n);
		evtimer_add(n->join_ev, &jtv);
	}
	if (cfg->force_new_cluster) {
		/* Refused while another member answers: a live cluster must
		 * not be split.  The peer links dial every member meanwhile. */
		struct timeval ftv = { 0, 0 };
		uint32_t ms = 8 * cfg->election_timeout_ms + 500;
		ftv.tv_sec = ms / 1000;
		ftv.tv_usec = (ms % 1000) * 1000;
		consensus_hold(n->consensus, true);
		n->force_ev = evtimer_new(base, node_force_check, n);
		evtimer_add(n->force_ev, &ftv);
		log_warn("--force-new-cluster: checking for %u ms that no other member answers", ms);
	}
	n->parts.base = base;
	n->parts.cfg = cfg;
	n->parts.store = n->store;
	n->parts.consensus = n->consensus;
	n->parts.replicator = n->replicator;
	n->parts.timesync = n->timesync;
	n->parts.members = n->members;
	n->parts.rebalance = n->rebalance;
	n->parts.repair = n->repair;
	n->parts.gc = n->gc;
	n->service = service_new(&n->parts);
	store_start(n->store);
	log_info("listening on %s, storage %s, chunk size %u bytes", cfg->listen, cfg->redis,
	    cfg->chunk_size);
	return n;
}

void
node_set_observe(struct node *n, struct observe *o)
{
	n->observe = o;
}

const struct node_parts *
node_parts(const struct node *n)
{
	return &n->parts;
}

struct service *
node_service(const struct node *n)
{
	return n->service;
}

bool
node_ready(const struct node *n)
{
	return consensus_running(n->consensus) && store_is_up(n->store);
}

int
node_exit_status(const struct node *n)
{
	return n->exit_status;
}

/* Open the acknowledgement marker (node/ackmark.h) once, where ack_file
 * says or beside the AOF, and hand it to the driver.  A node that cannot
 * keep one does not start (exit 3), as for redis's own durability; with
 * allow_unsafe_storage it keeps none. */
static bool
node_open_ackmark(struct node *n, struct store *st)
{
	char path[600], err[700];

	n->ackmark_tried = true;
	if (n->cfg->allow_unsafe_storage) {
		/* redis itself may lose acknowledged writes then: every redis
		 * crash would look like a cut tail. */
		log_info("allow_unsafe_storage: no acknowledgement marker");
		return true;
	}
	if (n->cfg->ack_file != NULL)
		snprintf(path, sizeof path, "%s", n->cfg->ack_file);
	else if (store_dir(st)[0] != '\0')
		snprintf(path, sizeof path, "%s/rcfs-ack", store_dir(st));
	else
		snprintf(path, sizeof path, "rcfs-ack");
	if ((n->ackmark = ackmark_open(n->base, path, err, sizeof err)) != NULL) {
		consensus_set_ackmark(n->consensus, n->ackmark);
		log_info("acknowledgement marker: %s", path);
		return true;
	}
	log_err("%s (set ack_file, or let rcfsd write redis's dir)", err);
	fprintf(stderr, "rcfsd: %s (set ack_file, or let rcfsd write redis's dir)\n", err);
	n->exit_status = 3;
	event_base_loopexit(n->base, NULL);
	return false;
}

static void
node_store_state_cb(struct store *st, bool up, const char *why, void *arg)
{
	struct node *n = arg;

	if (up) {
		log_info("storage up: %s", n->cfg->redis);
		if (!n->ackmark_tried && !node_open_ackmark(n, st))
			return;
		timesync_storage_up(n->timesync);      /* HLC restored before anything is stamped */
		consensus_storage_up(n->consensus);
		return;
	}
	if (store_is_unsafe(st) && !consensus_running(n->consensus)) {
		/* Refuse to start on storage that could lose acknowledged data. */
		log_err("%s", why);
		fprintf(stderr, "rcfsd: %s\n", why);
		n->exit_status = 3;
		event_base_loopexit(n->base, NULL);
		return;
	}
	log_warn("storage down: %s", why);
}

static void
node_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct node *n = arg;
	struct node_client *cl;
	char peer[128] = "?";
	int one = 1;

	(void)l; (void)salen;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)sa;
		evutil_inet_ntop(AF_INET, &sin->sin_addr, peer, sizeof peer);
		snprintf(peer + strlen(peer), sizeof peer - strlen(peer), ":%u", ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
		peer[0] = '[';
		evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, peer + 1, sizeof peer - 1);
		snprintf(peer + strlen(peer), sizeof peer - strlen(peer), "]:%u", ntohs(sin6->sin6_port));
	}
	if (n->nclients >= n->cfg->max_connections) {
		/* Make room by dropping the oldest connection that has not
		 * authenticated yet: a flood of unauthenticated sockets cannot
		 * lock out clients that hold a key. */
		struct node_client *old;
		TAILQ_FOREACH(old, &n->clients, link)
			if (conn_in_handshake(old->conn))
				break;
		if (old == NULL) {
			log_warn("refusing connection from %s: max_connections (%u) reached", peer,
			    n->cfg->max_connections);
			evutil_closesocket(fd);
			return;
		}
		conn_close(old->conn, "max_connections reached: dropping the oldest unauthenticated connection");
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	cl = xcalloc(1, sizeof *cl);
	cl->node = n;
	cl->key_index = -1;
	cl->role = n->cfg->auth ? AUTH_ROLE_NONE : AUTH_ROLE_ADMIN;
	cl->conn = conn_new(n->base, fd, peer, n->cfg->max_frame, n->cfg->max_inflight, node_frame_cb,
	    node_close_cb, cl);
	if (cl->conn == NULL) {
		free(cl);
		return;
	}
	conn_set_timeouts(cl->conn, n->cfg->idle_timeout_ms, n->cfg->frame_timeout_ms);
	if (n->cfg->auth)
		conn_auth_accept(cl->conn, &n->ring, node_auth_cb);
	TAILQ_INSERT_TAIL(&n->clients, cl, link);
	n->nclients++;
}

static void
node_accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)l; (void)arg;
	/* EMFILE and friends: log and keep the listener; libevent retries. */
	log_warn("accept: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* The handshake finished: a peer proved the cluster key, or a client its API key. */
static void
node_auth_cb(struct conn *c, const struct auth_hs *hs, void *arg)
{
	struct node_client *cl = arg;
	const struct rcfs_config *cfg = cl->node->cfg;

	cl->role = hs->granted;
	if (hs->granted == AUTH_ROLE_PEER) {
		char why[256];
		/* A non-member may still be one this node's configuration does not
		 * know yet: its PeerHello decides (node_peer_allowed). */
		if (!node_peer_allowed(cl->node, hs->node_id, 0, "", why, sizeof why)) {
			conn_close(c, NULL);    /* node_peer_allowed logged why */
			return;
		}
		cl->peer_id = hs->node_id;
		conn_set_timeouts(c, 0, cfg->frame_timeout_ms);    /* peers may be quiet */
		log_debug("peer %llu authenticated from %s", (unsigned long long)hs->node_id, conn_peer(c));
		return;
	}
	cl->key_index = hs->key_index;
	log_debug("client %s authenticated with key '%s' (%s)", conn_peer(c),
	    cfg->client_keys[hs->key_index].name, auth_role_name(hs->granted));
}

/* Authorization and rate limiting of one request (docs/security.md).  Returns
 * false after answering it (msg freed). */
static bool
node_admit(struct node_client *cl, struct conn *c, const struct frame_header *h,
    ProtobufCMessage *msg)
{
	const struct rcfs_config *cfg = cl->node->cfg;
	const struct config_client_key *k;
	char why[256];
	uint64_t now;

	if (!cfg->auth || cl->role == AUTH_ROLE_PEER)
		return true;
	if (h->type == RCFS__MSG_TYPE__MSG_PEER_HELLO || h->type == RCFS__MSG_TYPE__MSG_RAFT) {
		protobuf_c_message_free_unpacked(msg, NULL);
		conn_close(c, "Raft traffic from a client connection");
		return false;
	}
	/* Client request types the role does not cover (anything else is not a
	 * client request at all: the service answers E_BAD_REQUEST). */
	if (!auth_role_allows(cl->role, h->type) && auth_role_allows(AUTH_ROLE_ADMIN, h->type)) {
		k = cl->key_index >= 0 ? &cfg->client_keys[cl->key_index] : NULL;
		snprintf(why, sizeof why, "permission denied: key '%s' (%s) may not send %s",
		    k ? k->name : "?", auth_role_name(cl->role), frame_type_name(h->type));
		protobuf_c_message_free_unpacked(msg, NULL);
		conn_reply_error(c, h->request_id, RCFS__ERROR_CODE__E_AUTH, why);
		return false;
	}
	if (cl->key_index < 0)
		return true;
	k = &cfg->client_keys[cl->key_index];
	now = ratelimit_now_ns();
	if (!ratelimit_take(&cl->node->req_buckets[cl->key_index], 1, now)) {
		snprintf(why, sizeof why, "rate limited: key '%s' exceeds %u requests/s", k->name,
		    k->rate_requests);
	} else if (!ratelimit_take(&cl->node->byte_buckets[cl->key_index], h->length, now)) {
		snprintf(why, sizeof why, "rate limited: key '%s' exceeds %u bytes/s", k->name,
		    k->rate_bytes);
	} else {
		return true;
	}
	protobuf_c_message_free_unpacked(msg, NULL);
	conn_reply_error(c, h->request_id, RCFS__ERROR_CODE__E_RATE_LIMITED, why);
	return false;
}

static void
node_frame_cb(struct conn *c, const struct frame_header *h, ProtobufCMessage *msg, void *arg)
{
	struct node_client *cl = arg;

	if (h->flags & FRAME_F_RESPONSE) {
		/* Nobody answers us on a connection they dialled. */
		protobuf_c_message_free_unpacked(msg, NULL);
		conn_close(c, "unexpected response frame");
		return;
	}
	if (!node_admit(cl, c, h, msg))
		return;
	switch (h->type) {
	case RCFS__MSG_TYPE__MSG_PEER_HELLO: {
		Rcfs__PeerHello *hello = (Rcfs__PeerHello *)msg;
		const char *cluster = hello->cluster ? hello->cluster : "";
		const struct member *mb;
		char why[256];
		bool ok = node_peer_allowed(cl->node, hello->node_id,
		    hello->has_cluster_id ? hello->cluster_id : 0, hello->address, why, sizeof why);

		/* Authenticated: the hello must name the node that proved the key. */
		if (ok && cl->node->cfg->auth && hello->node_id != cl->peer_id) {
			ok = false;
			log_warn("closing connection from %s: PeerHello names node %llu, not the node that "
			    "authenticated", conn_peer(c), (unsigned long long)hello->node_id);
		}
		if (ok && strcmp(cluster, cl->node->cfg->cluster_name) != 0) {
			ok = false;
			log_warn("closing connection from %s: PeerHello from node %llu of cluster '%s', not "
			    "'%s'", conn_peer(c), (unsigned long long)hello->node_id, cluster,
			    cl->node->cfg->cluster_name);
		}
		if (!ok) {
			protobuf_c_message_free_unpacked(msg, NULL);
			conn_close(c, NULL);    /* logged once (node_peer_allowed) or here */
			return;
		}
		cl->peer_id = hello->node_id;
		if ((mb = members_find(cl->node->members, hello->node_id)) != NULL && mb->peer != NULL)
			peer_kick(mb->peer);
		if (!cl->node->cfg->auth)
			conn_set_timeouts(c, 0, cl->node->cfg->frame_timeout_ms);  /* peers may be quiet */
		log_debug("peer %llu connected from %s", (unsigned long long)cl->peer_id, conn_peer(c));
		protobuf_c_message_free_unpacked(msg, NULL);
		conn_reply_none(c);     /* a hello is not answered */
		return;
	}
	case RCFS__MSG_TYPE__MSG_RAFT:
		if (cl->peer_id == 0 || ((Rcfs__RaftMessage *)msg)->from != cl->peer_id) {
			protobuf_c_message_free_unpacked(msg, NULL);
			conn_close(c, "Raft message from a connection that is not its peer's");
			return;
		}
		consensus_receive(cl->node->consensus, (Rcfs__RaftMessage *)msg);
		protobuf_c_message_free_unpacked(msg, NULL);
		conn_reply_none(c);
		return;
	default:
		service_dispatch(cl->node->service, c, h, msg, cl->peer_id);
	}
}

static void
node_close_cb(struct conn *c, const char *reason, void *arg)
{
	struct node_client *cl = arg;

	(void)reason;
	/* A peer's process that dies closes its connections at once: if it
	 * led, do not wait out an election timeout to replace it.  Only a
	 * close by the peer (EOF, reset) says so, not one of ours. */
	if (cl->peer_id != 0 && !cl->node->shutting_down && conn_closed_by_peer(c))
		consensus_peer_down(cl->node->consensus, cl->peer_id);
	TAILQ_REMOVE(&cl->node->clients, cl, link);
	cl->node->nclients--;
	free(cl);
}

/* The Raft driver's messages go out on the peer link to their member. */
static void
node_send_raft(void *arg, uint64_t to, const Rcfs__RaftMessage *m)
{
	struct node *n = arg;
	const struct member *mb = members_find(n->members, to);

	if (mb != NULL && mb->peer != NULL)
		peer_send(mb->peer, RCFS__MSG_TYPE__MSG_RAFT, &m->base);
}

/* Whether node id may open a peer connection to this node (cluster_id: the
 * one its hello carries, 0 if none; address: where it listens, "" before
 * its hello, NULL if it did not say).  A node of another cluster and a
 * removed id are refused with a log line (each refusal once in a row).  A
 * node this node's configuration does not name is accepted if it says
 * where it listens: this node may be the stale one (members_note_peer). */
static bool
node_peer_allowed(struct node *n, uint64_t id, uint64_t cluster_id, const char *address,
    char *why, size_t whylen)
{
	uint64_t ours = members_cluster_id(n->members);

	if (cluster_id != 0 && ours != 0 && cluster_id != ours) {
		snprintf(why, whylen, "node %llu belongs to another cluster (cluster id %016llx, ours "
		    "%016llx) and is refused", (unsigned long long)id, (unsigned long long)cluster_id,
		    (unsigned long long)ours);
	} else if (id == n->cfg->node_id) {
		snprintf(why, whylen, "peer claims this node's own id %llu", (unsigned long long)id);
	} else if (members_was_removed(n->members, id)) {
		snprintf(why, whylen, "node %llu was removed from this cluster and is refused: a removed "
		    "id is never accepted again (wipe its storage and add it under a new id)",
		    (unsigned long long)id);
	} else if (members_find(n->members, id) == NULL &&
	    !(address != NULL && (address[0] == '\0' || members_note_peer(n->members, id, address)))) {
		snprintf(why, whylen, "node %llu is not a member of this cluster (add it first: rcfs "
		    "member add)", (unsigned long long)id);
	} else {
		return true;
	}
	if (strcmp(n->refused_why, why) != 0)
		log_warn("refusing a peer connection: %s", why);
	snprintf(n->refused_why, sizeof n->refused_why, "%s", why);
	return false;
}

/* Ten seconds in, a node that still knows no configuration was never added
 * (or cannot reach the members): say what to do, once. */
static void
node_join_check(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	(void)fd; (void)what;
	if (!members_configured(n->members) && consensus_running(n->consensus))
		log_warn("members: no configuration received yet: either this node was never added "
		    "(add it from any member with `rcfs member add %llu %s`; the members refuse it "
		    "until then) or no leader has reached it", (unsigned long long)n->cfg->node_id,
		    n->cfg->listen);
}

static void
node_force_check(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	(void)fd; (void)what;
	for (uint32_t i = 0; i < members_count(n->members); i++) {
		const struct member *mb = members_at(n->members, i);
		if (mb->peer != NULL && peer_connected(mb->peer)) {
			char why[256];
			snprintf(why, sizeof why, "--force-new-cluster refused: node %llu at %s answers, so "
			    "the cluster is not gone (start this node without the flag)",
			    (unsigned long long)mb->id, mb->address);
			log_err("%s", why);
			fprintf(stderr, "rcfsd: %s\n", why);
			n->exit_status = 4;
			event_base_loopexit(n->base, NULL);
			return;
		}
	}
	consensus_force_new_cluster(n->consensus);
	consensus_hold(n->consensus, false);
}

/* The membership changed: placement, the mover, metrics. */
static void
node_conf_changed(void *arg)
{
	struct node *n = arg;
	struct rep_member rm[REP_MAX_NODES];
	uint32_t count = 0, roles[3] = { 0, 0, 0 }, draining = 0;
	const struct member *self = members_find(n->members, n->cfg->node_id);

	for (uint32_t i = 0; i < members_count(n->members) && count < REP_MAX_NODES; i++) {
		const struct member *mb = members_at(n->members, i);
		roles[mb->role]++;
		draining += (mb->tag & MEMBER_TAG_DRAINING) != 0;
		rm[count].id = mb->id;
		rm[count].peer = mb->peer;
		rm[count].takes = member_takes_chunks(mb);
		count++;
	}
	replicator_set_members(n->replicator, rm, count, members_configured(n->members));
	rebalance_kick(n->rebalance);
	metrics_set(rcfs_metrics.member_voters, roles[MEMBER_VOTER]);
	metrics_set(rcfs_metrics.member_learners, roles[MEMBER_LEARNER]);
	metrics_set(rcfs_metrics.member_storage, roles[MEMBER_STORAGE]);
	metrics_set(rcfs_metrics.member_draining, draining);
	if (self == NULL || !(self->tag & MEMBER_TAG_DRAINING))
		n->drain_reported = false;
	if (members_configured(n->members) && self == NULL &&
	    members_was_removed(n->members, n->cfg->node_id))
		log_warn("members: this node was removed from the cluster: it takes no part any more; "
		    "stop it (its storage must not be reused under id %llu)",
		    (unsigned long long)n->cfg->node_id);
}

/* A node's place in node_aof_turn's order: the members with a lower id. */
static uint32_t
node_aof_rank(const struct node *n, uint64_t id)
{
	uint32_t rank = 0;

	for (uint32_t i = 0; i < members_count(n->members); i++)
		rank += members_at(n->members, i)->id < id;
	return rank;
}

/* store_aof_turn_fn.  The members take turns of aof_rewrite_turn_ms on
 * the node's measured clock (timesync: NTP keeps the hosts within
 * milliseconds of each other), in id order, and start a rewrite under load
 * only in the first half of their own, and only while no other member is
 * rewriting (its status says so, node/observe.c): a rewrite longer than
 * half a turn (33 s for 1.5 GiB was measured) would otherwise overlap the
 * next member's.  A clock far off only makes two rewrites overlap, as they
 * did without turns.  A leader whose turn is next hands leadership over in
 * the second half of the turn before (its storage stalls every commit; a
 * follower's only its own acknowledgements), so it rewrites as a follower:
 * handing over in its own turn, it missed the window.  It hands over to
 * the voter whose next turn is furthest away (with 3 voters, the one whose
 * turn ended last), never to one whose turn is due (it would hand on at
 * once: three hand-overs in 2 s were seen), and waits while that voter
 * still rewrites; to the most up-to-date voter, two nodes passed
 * leadership back and forth at every turn.  With 2 voters the other one is
 * taken; with no voter that can take over, it rewrites as the leader.  In
 * the second half of its own turn it keeps leadership: it would not
 * rewrite before its next turn anyway. */
static bool
node_aof_turn(void *arg)
{
	struct node *n = arg;
	uint64_t turn = n->cfg->aof_rewrite_turn_ms, self = n->cfg->node_id;
	uint64_t now = (uint64_t)timesync_now_ns(n->timesync) / 1000000u;
	uint32_t count = members_count(n->members), rank = node_aof_rank(n, self), slot;
	const struct member *to = NULL;
	const char *as_leader = NULL;   /* why it rewrites as the leader */
	bool mine, next, first_half;

	if (members_find(n->members, self) == NULL)
		rank = count++;         /* not a member yet: after them */
	if (count == 0)
		return false;
	slot = (uint32_t)((now / turn) % count);
	mine = slot == rank;
	next = (slot + 1) % count == rank;
	first_half = now % turn < turn / 2;
	if (consensus_is_leader(n->consensus) && ((mine && first_half) || (next && !first_half))) {
		uint32_t best = 0;
		bool to_due = false, to_busy = false;
		for (uint32_t i = 0; i < members_count(n->members); i++) {
			const struct member *m = members_at(n->members, i);
			uint32_t d = (node_aof_rank(n, m->id) + count - slot) % count, score;
			/* due: it would hand leadership on at once */
			bool due = d == 0 || (d == 1 && !first_half), busy = observe_rewriting(n->observe, m->id);
			if (m->role != MEMBER_VOTER || m->id == self)
				continue;
			score = (due ? 0 : 2 * count) + (busy ? 0 : count) + d;
			if (to == NULL || score > best) {
				to = m;
				best = score;
				to_due = due;
				to_busy = busy;
			}
		}
		/* The one to take over still rewrites: wait for its end (ours
		 * could not start before it anyway). */
		if (to != NULL && !to_due && to_busy)
			return false;
		if (to != NULL) {
			int rv = consensus_move_leader(n->consensus, to->id, "its AOF rewrite is due in its turn");
			/* RAFT_ENOTLEADER: the core stepped down and the node
			 * hears of it at its next Ready; look again at the
			 * next check, as a follower. */
			if (rv == RAFT_OK || rv == RAFT_ETRANSFER || rv == RAFT_ENOTLEADER)
				return false;
			as_leader = raft_strerror(rv);
		} else {
			as_leader = "no other voter";
		}
		/* no other voter, or the one chosen cannot take over (not
		 * admitted): rewrite as the leader, in the turn */
	}
	if (!mine || !first_half)
		return false;
	for (uint32_t i = 0; i < members_count(n->members); i++) {
		const struct member *m = members_at(n->members, i);
		if (m->id != self && observe_rewriting(n->observe, m->id)) {
			if (n->aof_wait_logged != now / turn) {
				n->aof_wait_logged = now / turn;
				log_info("redis: AOF rewrite waits in this node's turn: node %llu is still "
				    "rewriting", (unsigned long long)m->id);
			}
			return false;
		}
	}
	if (as_leader != NULL)
		log_info("redis: AOF rewrite as the leader: leadership could not be handed over (%s)", as_leader);
	return true;
}

static void
node_drain_reported(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	struct node *n = arg;

	(void)type; (void)msg;
	if (code == RCFS__ERROR_CODE__E_OK) {
		log_info("members: drained: the leader removes this node from the configuration");
	} else {
		log_info("members: drained, but the leader did not remove this node yet (%s): "
		    "asking again after the next walk", err ? err : "error");
		n->drain_reported = false;
	}
}

static void
node_self_removed(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_result *res)
{
	struct node *n = arg;

	(void)res;
	if (code != RCFS__ERROR_CODE__E_OK) {
		log_info("members: removing this drained node did not commit (%s): trying again", why);
		n->drain_reported = false;
	}
}

/* A walk of the mover ended.  A draining member that holds no chunk any
 * more asks the leader to remove it (rcfs member remove, docs/operations.md). */
static void
node_walk_done(void *arg, const struct rebalance_stats *stats)
{
	struct node *n = arg;
	const struct member *self = members_find(n->members, n->cfg->node_id);
	const struct member *leader;
	Rcfs__MemberRequest req = RCFS__MEMBER_REQUEST__INIT;

	if (self == NULL || !(self->tag & MEMBER_TAG_DRAINING) || stats->held > 0 ||
	    n->drain_reported)
		return;
	if (consensus_is_leader(n->consensus)) {
		/* The leader drained itself: it removes itself, and steps down
		 * once that is committed (Raft dissertation §4.2.2). */
		struct raft_server srv;
		uint64_t index;
		unsigned up, needed;
		int rv;

		memset(&srv, 0, sizeof srv);
		srv.id = n->cfg->node_id;
		if (self->role == MEMBER_VOTER &&
		    !consensus_keeps_quorum_without(n->consensus, srv.id, &up, &needed)) {
			log_warn("members: drained, but removing this leader would leave %u reachable "
			    "voter(s), fewer than %u: waiting", up, needed);
			return;
		}
		rv = consensus_change_member(n->consensus, RAFT_CONF_REMOVE, &srv, node_self_removed, n,
		    &index);
		if (rv == RAFT_OK) {
			n->drain_reported = true;
			log_info("members: drained: removing this node (the leader), configuration entry %"
			    PRIu64, index);
		}
		return;
	}
	leader = members_find(n->members, consensus_leader(n->consensus));
	if (leader == NULL || leader->peer == NULL)
		return;
	n->drain_reported = true;
	req.has_op = 1;
	req.op = RCFS__MEMBER_OP__MEMBER_REMOVE;
	req.has_id = 1;
	req.id = n->cfg->node_id;
	req.has_drained = req.drained = 1;
	peer_rpc(leader->peer, RCFS__MSG_TYPE__MSG_MEMBER, &req.base, node_drain_reported, n);
}

void
node_shutdown(struct node *n)
{
	struct node_client *cl;

	if (n->shutting_down)
		return;
	n->shutting_down = true;
	log_info("shutting down");
	if (n->drain_ev != NULL)
		event_del(n->drain_ev);
	if (n->listener) {
		evconnlistener_free(n->listener);
		n->listener = NULL;
	}
	while ((cl = TAILQ_FIRST(&n->clients)) != NULL)
		conn_close(cl->conn, NULL);     /* node_close_cb unlinks it */
}

static void
node_drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	/* Waiting on a handover only makes sense if some voter can take it. */
	bool leads = consensus_active_voters(n->consensus) > 0;
	unsigned busy = service_inflight(n->service);

	(void)fd; (void)what;
	if (leads && time_mono_ms() - n->drain_transfer > 2 * (uint64_t)n->cfg->election_timeout_ms) {
		/* A transfer is abandoned after an election timeout: try again. */
		n->drain_transfer = time_mono_ms();
		consensus_transfer_leadership(n->consensus);
	}
	if (busy > 0 || leads) {
		if (time_mono_ms() < n->drain_deadline) {
			struct timeval tv = { 0, 20 * 1000 };
			evtimer_add(n->drain_ev, &tv);
			return;
		}
		log_warn("drain: gave up after %u ms (%u requests in flight%s)", n->cfg->drain_timeout_ms,
		    busy, leads ? ", still the leader" : "");
	} else {
		log_info("drain: done");
	}
	n->drain_done(n->drain_arg);
}

void
node_drain(struct node *n, void (*done)(void *arg), void *arg)
{
	if (n->draining || n->shutting_down)
		return;
	n->draining = true;
	service_set_draining(n->service, true);
	n->drain_done = done;
	n->drain_arg = arg;
	n->drain_deadline = time_mono_ms() + n->cfg->drain_timeout_ms;
	log_info("draining: no new connections or client requests; finishing those in flight");
	if (n->listener) {
		evconnlistener_free(n->listener);
		n->listener = NULL;
	}
	if (!consensus_is_leader(n->consensus))
		log_info("drain: not the leader, no handover needed");
	n->drain_ev = evtimer_new(n->base, node_drain_check, n);
	node_drain_check(-1, 0, n);
}

bool
node_draining(const struct node *n)
{
	return n->draining;
}

void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	node_shutdown(n);
	/* Pending storage callbacks run first, while every owner is alive (a
	 * repair scan or a persist in flight must not land in freed memory). */
	store_close(n->store);
	ackmark_cancel(n->ackmark);     /* as store_close: the driver's waiters fail now */
	consensus_free(n->consensus);   /* fails pending proposals and reads */
	ackmark_free(n->ackmark);       /* after the driver: its waiters are dropped */
	fsm_free(n->fsm);
	members_free(n->members);       /* fails the calls in flight on its links */
	peer_set_self_address(NULL);
	rebalance_free(n->rebalance);
	repair_free(n->repair);
	gc_free(n->gc);
	timesync_free(n->timesync);
	replicator_free(n->replicator);
	service_free(n->service);       /* last: the failures above answer through it */
	store_free(n->store);           /* drops what was issued after the close */
	if (n->drain_ev != NULL)
		event_free(n->drain_ev);
	if (n->force_ev != NULL)
		event_free(n->force_ev);
	event_free(n->join_ev);
	sodium_memzero(&n->ring, sizeof n->ring);
	free(n);
}
