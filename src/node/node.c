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

#include "node/node.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct node_client {
	struct node *node;
	struct conn *conn;
	TAILQ_ENTRY(node_client) link;
};
TAILQ_HEAD(node_client_list, node_client);

struct node_proposal {
	Rcfs__Command *cmd;             /* deep copy, owned */
	node_propose_cb *cb;
	void *arg;
	TAILQ_ENTRY(node_proposal) link;
};
TAILQ_HEAD(node_proposal_list, node_proposal);

/* One batch handed to the state machine. */
struct node_batch {
	struct node *node;
	size_t n;
	struct node_proposal **props;
};

struct node {
	struct event_base *base;
	const struct rcfs_config *cfg;
	struct store *store;
	struct evconnlistener *listener;
	struct node_client_list clients;
	uint32_t nclients;
	bool loaded;                    /* applied index read from storage */
	bool loading;
	uint64_t applied_index;         /* highest index applied (single-node log) */
	uint64_t last_index;            /* highest index handed out */
	struct node_proposal_list proposals;
	struct event *propose_ev;       /* flushes proposals once per loop iteration */
	struct event *gc_ev;            /* chunk GC cron */
	int exit_status;
	bool shutting_down;
};

static void node_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg);
static void node_accept_error_cb(struct evconnlistener *l, void *arg);
static void node_frame_cb(struct conn *c, const struct frame_header *h, ProtobufCMessage *msg,
    void *arg);
static void node_close_cb(struct conn *c, const char *reason, void *arg);
static void node_store_state_cb(struct store *st, bool up, const char *why, void *arg);
static void node_loaded_cb(void *arg, const char *err, uint64_t index);
static void node_flush_proposals(evutil_socket_t fd, short what, void *arg);
static void node_applied_cb(void *arg, const char *err, const struct fsm_result *res, size_t n);
static void node_gc_cb(evutil_socket_t fd, short what, void *arg);
static void node_gc_done(void *arg, const char *err, uint64_t deleted);

uint64_t
node_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct node *
node_new(struct event_base *base, const struct rcfs_config *cfg, char *err, size_t errlen)
{
	struct node *n = xcalloc(1, sizeof *n);
	struct evutil_addrinfo hints, *ai = NULL;
	char host[256], port[8];
	uint16_t p;
	struct timeval tv;
	int rv;

	n->base = base;
	n->cfg = cfg;
	TAILQ_INIT(&n->clients);
	TAILQ_INIT(&n->proposals);

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

	n->propose_ev = event_new(base, -1, 0, node_flush_proposals, n);
	n->gc_ev = event_new(base, -1, EV_PERSIST, node_gc_cb, n);
	tv.tv_sec = cfg->gc_interval_ms / 1000;
	tv.tv_usec = (cfg->gc_interval_ms % 1000) * 1000;
	event_add(n->gc_ev, &tv);

	n->store = store_new(base, cfg->redis, cfg->redis_timeout_ms, cfg->storage_window,
	    cfg->allow_unsafe_storage);
	store_set_state_cb(n->store, node_store_state_cb, n);
	store_start(n->store);
	log_info("listening on %s, storage %s, chunk size %u bytes", cfg->listen, cfg->redis,
	    cfg->chunk_size);
	return n;
}

struct store *
node_store(struct node *n)
{
	return n->store;
}

const struct rcfs_config *
node_config(const struct node *n)
{
	return n->cfg;
}

bool
node_ready(const struct node *n)
{
	return n->loaded && store_is_up(n->store);
}

uint64_t
node_applied_index(const struct node *n)
{
	return n->applied_index;
}

int
node_exit_status(const struct node *n)
{
	return n->exit_status;
}

static void
node_store_state_cb(struct store *st, bool up, const char *why, void *arg)
{
	struct node *n = arg;

	if (up) {
		log_info("storage up: %s", n->cfg->redis);
		if (!n->loaded && !n->loading) {
			n->loading = true;
			fsm_load_applied(st, node_loaded_cb, n);
		}
		return;
	}
	if (store_is_unsafe(st) && !n->loaded) {
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
node_loaded_cb(void *arg, const char *err, uint64_t index)
{
	struct node *n = arg;

	n->loading = false;
	if (err != NULL) {
		log_warn("cannot read the applied index: %s (will retry on reconnect)", err);
		return;
	}
	n->loaded = true;
	n->applied_index = n->last_index = index;
	log_info("ready: applied index %llu", (unsigned long long)index);
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
		log_warn("refusing connection from %s: max_connections (%u) reached", peer,
		    n->cfg->max_connections);
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	cl = xcalloc(1, sizeof *cl);
	cl->node = n;
	cl->conn = conn_new(n->base, fd, peer, n->cfg->max_frame, n->cfg->max_inflight, node_frame_cb,
	    node_close_cb, cl);
	if (cl->conn == NULL) {
		free(cl);
		return;
	}
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

static void
node_frame_cb(struct conn *c, const struct frame_header *h, ProtobufCMessage *msg, void *arg)
{
	struct node_client *cl = arg;

	if (h->flags & FRAME_F_RESPONSE) {
		/* Clients never answer us. */
		protobuf_c_message_free_unpacked(msg, NULL);
		conn_close(c, "unexpected response frame");
		return;
	}
	service_dispatch(cl->node, c, h, msg);
}

static void
node_close_cb(struct conn *c, const char *reason, void *arg)
{
	struct node_client *cl = arg;

	(void)c; (void)reason;
	TAILQ_REMOVE(&cl->node->clients, cl, link);
	cl->node->nclients--;
	free(cl);
}

void
node_propose(struct node *n, const Rcfs__Command *cmd, node_propose_cb *cb, void *arg)
{
	struct node_proposal *p;
	size_t len;
	uint8_t *buf;

	if (!node_ready(n)) {
		char why[600];
		snprintf(why, sizeof why, "storage unavailable: %s", store_last_error(n->store));
		cb(arg, RCFS__ERROR_CODE__E_UNAVAILABLE, why, NULL);
		return;
	}
	/* Deep copy through the codec: the entry is exactly what a log would hold. */
	len = rcfs__command__get_packed_size(cmd);
	buf = xmalloc(len);
	rcfs__command__pack(cmd, buf);
	p = xcalloc(1, sizeof *p);
	p->cmd = rcfs__command__unpack(NULL, len, buf);
	free(buf);
	if (p->cmd == NULL)
		abort();
	p->cb = cb;
	p->arg = arg;
	TAILQ_INSERT_TAIL(&n->proposals, p, link);
	event_active(n->propose_ev, EV_TIMEOUT, 0);
}

/* Once per loop iteration: every command proposed in it goes to storage as one
 * batch (one script run, one fsync): group commit. */
static void
node_flush_proposals(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	struct node_batch *b;
	struct node_proposal *p;
	Rcfs__Command **cmds;
	size_t count = 0, i = 0;

	(void)fd; (void)what;
	TAILQ_FOREACH(p, &n->proposals, link)
		count++;
	if (count == 0)
		return;
	b = xcalloc(1, sizeof *b);
	b->node = n;
	b->n = count;
	b->props = xcalloc(count, sizeof *b->props);
	cmds = xcalloc(count, sizeof *cmds);
	while ((p = TAILQ_FIRST(&n->proposals)) != NULL) {
		TAILQ_REMOVE(&n->proposals, p, link);
		b->props[i] = p;
		cmds[i] = p->cmd;
		i++;
	}
	fsm_apply(n->store, n->last_index + 1, cmds, count, node_now_ms(), node_applied_cb, b);
	n->last_index += count;
	free(cmds);
}

static void
node_applied_cb(void *arg, const char *err, const struct fsm_result *res, size_t count)
{
	struct node_batch *b = arg;

	for (size_t i = 0; i < b->n; i++) {
		struct node_proposal *p = b->props[i];
		if (err != NULL) {
			Rcfs__ErrorCode code = strcmp(err, "storage full") == 0 ? RCFS__ERROR_CODE__E_STORAGE_FULL
			    : strcmp(err, "storage timed out") == 0 ? RCFS__ERROR_CODE__E_TIMEOUT
			    : RCFS__ERROR_CODE__E_UNAVAILABLE;
			p->cb(p->arg, code, err, NULL);
		} else {
			if (i < count && res[i].version > b->node->applied_index)
				b->node->applied_index = res[i].version;
			p->cb(p->arg, RCFS__ERROR_CODE__E_OK, NULL, i < count ? &res[i] : NULL);
		}
		rcfs__command__free_unpacked(p->cmd, NULL);
		free(p);
	}
	if (err == NULL && b->n > 0 && b->node->applied_index < b->node->last_index)
		b->node->applied_index = b->node->last_index;
	free(b->props);
	free(b);
}

static void
node_gc_cb(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	(void)fd; (void)what;
	if (store_is_up(n->store))
		fsm_gc(n->store, node_now_ms(), n->cfg->gc_grace_ms, 1000, node_gc_done, n);
}

static void
node_gc_done(void *arg, const char *err, uint64_t deleted)
{
	(void)arg;
	if (err != NULL)
		log_warn("chunk GC: %s", err);
	else if (deleted > 0)
		log_info("chunk GC: deleted %llu unreferenced chunks", (unsigned long long)deleted);
}

void
node_shutdown(struct node *n)
{
	struct node_client *cl;

	if (n->shutting_down)
		return;
	n->shutting_down = true;
	log_info("shutting down");
	if (n->listener) {
		evconnlistener_free(n->listener);
		n->listener = NULL;
	}
	while ((cl = TAILQ_FIRST(&n->clients)) != NULL)
		conn_close(cl->conn, NULL);     /* node_close_cb unlinks it */
	event_del(n->gc_ev);
}

void
node_free(struct node *n)
{
	struct node_proposal *p;

	if (n == NULL)
		return;
	node_shutdown(n);
	store_free(n->store);           /* pending callbacks run with STORE_ELOST */
	while ((p = TAILQ_FIRST(&n->proposals)) != NULL) {
		TAILQ_REMOVE(&n->proposals, p, link);
		p->cb(p->arg, RCFS__ERROR_CODE__E_UNAVAILABLE, "node is shutting down", NULL);
		rcfs__command__free_unpacked(p->cmd, NULL);
		free(p);
	}
	event_free(n->propose_ev);
	event_free(n->gc_ev);
	free(n);
}
