/* rcfs-load: a load generator for an rcfs cluster, speaking the wire protocol
 * (docs/protocol.md) over few pipelined connections from one libevent loop.
 *
 *   rcfs-load put|get [options]
 *
 * C concurrent "clients" each run one operation at a time, as the CLI does:
 *   put  a file of --size bytes: inline in FileCommit when it fits (<= the
 *        node's inline_max and below chunk_size), else ChunkPut per chunk (up
 *        to --window in flight per client, every chunk distinct: a run nonce,
 *        op number and chunk index are stamped into it) then FileCommit.
 *        Chunk and whole-file SHA-256 are computed per op, like `rcfs put`
 *        (a one-chunk file's hash is its chunk's: hashed once).
 *   get  FileStat (linearizable: ReadIndex on the leader), then ChunkGet of
 *        every chunk (window in flight), each chunk's SHA-256 verified and
 *        the whole file's too, like `rcfs get`.  The files are written first
 *        (--keys of them, untimed) and read round-robin.
 *   failover  find the leader, SIGKILL its PID (--pids, in --nodes order), then
 *        every --probe-ms start a probe put (a 256 B inline FileCommit) at a
 *        surviving node, following E_NOT_LEADER redirects to live nodes;
 *        reports the time from the kill to the first acknowledged probe.
 * Clients share --conns connections (default ceil(C/16)), all to the leader,
 * which the generator finds with Status and follows on E_NOT_LEADER.
 * Prints one JSON line: ops, errors, seconds, ops/s, MB/s, p50/p90/p99/max ms
 * (a log-linear histogram, lathist.h), the same fields as etcdload's.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <sodium.h>

#include "net/frame.h"
#include "util/evread.h"
#include "util/sha256.h"
#include "util/xmalloc.h"
#include "lathist.h"

#define LOAD_MAX_WINDOW 64
#define LOAD_MAX_FRAME  (64u << 20)      /* accept any response the node may send */

enum load_mode { MODE_PUT, MODE_GET, MODE_FAILOVER };

/* One request in flight for a client. */
struct load_slot {
	uint32_t id;                     /* request id, 0 = free */
	size_t chunk;                    /* chunk index */
	Rcfs__ChunkGetResponse *resp;    /* get: arrived out of order, not yet hashed */
};

struct load;

/* A connection shared by several clients.  Request ids carry the client:
 * id = (client index + 1) << 16 | sequence (16 bits). */
struct lconn {
	struct load *ld;
	struct bufferevent *bev;        /* writes; reads go through rev (evread) */
	struct event *rev;
	int idx;
	bool up;
};

/* A client's state machine: IDLE -> (CHUNKS ->) COMMIT|STAT -> (CHUNKS ->) IDLE. */
enum lclient_state { LC_IDLE, LC_PUT_CHUNKS, LC_PUT_COMMIT, LC_GET_STAT, LC_GET_CHUNKS };

struct lclient {
	struct load *ld;
	int idx;
	struct lconn *conn;
	enum lclient_state state;
	uint16_t seq;
	uint64_t op;                     /* operation number (names, chunk stamps) */
	uint64_t t0_us;
	struct load_slot slot[LOAD_MAX_WINDOW];
	int inflight;
	size_t nchunks, next_send, next_done;
	uint8_t *buf;                    /* chunk content, chunk_size bytes */
	uint8_t *hashes;                 /* put: 32 B per chunk; get: unused */
	size_t hashes_cap;
	struct sha256 whole;             /* zeroed with the client */
	Rcfs__FileMeta *meta;            /* get: the stat result */
	char name[256];
	struct event *retry;             /* restart (or resume) the op after a redirect */
	/* A put goes on after a redirect where it was, as the CLI's does: the
	 * chunks in flight are sent again, the commit too. */
	enum lclient_state resume;       /* LC_PUT_CHUNKS / LC_PUT_COMMIT; LC_IDLE: restart */
	uint8_t file_sha[32];            /* put: the file's SHA-256, once every chunk was sent */
	bool file_sha_done;
	/* (client id, seq) make a commit apply at most once; the node expects
	 * each client id's seqs in order, so every client has its own. */
	uint64_t client_id, client_seq;
};

struct load {
	struct event_base *base;
	enum load_mode mode;
	char *nodes[16];
	int nnodes;
	char leader[128];
	int clients, conns, window;
	uint64_t size, total, warmup, keys;
	double max_seconds;
	const char *prefix, *label;
	bool quiet;
	uint32_t chunk_size, inline_max;
	uint8_t nonce[8];
	uint64_t client_id;              /* first client's id; client i has +i */
	struct lconn *conn;
	struct lclient *cl;
	/* the current phase */
	bool timed;
	bool get_phase;                  /* get mode: clients read (else they populate) */
	uint64_t issued, limit;
	uint64_t deadline_us;
	int busy;
	uint64_t errors, redirects;
	struct lathist hist;
	uint64_t bytes;
	char errmsg[256];
};

static uint64_t now_us(void);
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void load_connect(struct load *ld, struct lconn *c);
static void load_read_cb(struct bufferevent *bev, void *arg);
static void load_sock_read_cb(evutil_socket_t fd, short what, void *arg);
static void load_event_cb(struct bufferevent *bev, short what, void *arg);
static void load_frame(struct load *ld, const struct frame_header *h, ProtobufCMessage *msg);
static void client_next(struct lclient *c);
static void client_start(struct lclient *c);
static void client_finish(struct lclient *c, bool ok);
static void client_reset(struct lclient *c);
static uint32_t client_send(struct lclient *c, uint8_t type, const ProtobufCMessage *msg);
static uint32_t client_put_chunk(struct lclient *c, size_t i);
static void client_put_fill(struct lclient *c);
static void client_put_commit(struct lclient *c);
static void client_get_fill(struct lclient *c);
static void client_get_drain(struct lclient *c);
static void client_retry_cb(evutil_socket_t fd, short what, void *arg);
static void load_redirect(struct load *ld, struct lconn *conn, const Rcfs__Error *e);
static void load_find_leader(struct load *ld);
static void run_phase(struct load *ld, uint64_t ops, bool timed, bool get_phase);
static void usage(void) __attribute__((noreturn));
static int run_failover(struct load *ld, const char *pids, int probe_ms, double max_seconds);

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rcfs-load: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- connections ---------------------------------------------------------------- */

static void
load_connect(struct load *ld, struct lconn *c)
{
	struct sockaddr_storage ss;
	int sslen = (int)sizeof ss;

	if (c->rev)
		event_free(c->rev);
	c->rev = NULL;
	if (c->bev)
		bufferevent_free(c->bev);
	if (evutil_parse_sockaddr_port(ld->leader, (struct sockaddr *)&ss, &sslen) != 0)
		die("bad address %s", ld->leader);
	c->bev = bufferevent_socket_new(ld->base, -1, BEV_OPT_CLOSE_ON_FREE);
	/* Large writes, as rcfsd's connections (src/net/conn.c). */
	bufferevent_set_max_single_write(c->bev, 1 << 20);
	bufferevent_setcb(c->bev, load_read_cb, NULL, load_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, sslen) != 0)
		die("connect %s failed", ld->leader);
	c->up = true;
}

static void
load_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct lconn *c = arg;
	struct load *ld = c->ld;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		evutil_socket_t fd = bufferevent_getfd(c->bev);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		/* Reads as the CLI does them, up to 1 MiB per call (libevent
		 * 2.1's own reads move 4 KiB). */
		bufferevent_disable(c->bev, EV_READ);
		c->rev = event_new(ld->base, fd, EV_READ | EV_PERSIST, load_sock_read_cb, c);
		event_add(c->rev, NULL);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* Lost the node (killed, restarted): find the leader again and
		 * restart every operation of this connection's clients. */
		if (!ld->quiet)
			fprintf(stderr, "rcfs-load: connection %d to %s lost, reconnecting\n", c->idx, ld->leader);
		load_redirect(ld, c, NULL);
	}
}

static void
load_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lconn *c = arg;
	struct bufferevent *bev = c->bev;
	int n = evread(bufferevent_get_input(bev), fd, 1 << 20);

	(void)what;
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		load_event_cb(bev, n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR, c);   /* may free us */
	else if (n > 0)
		load_read_cb(bev, c);
}

static void
load_read_cb(struct bufferevent *bev, void *arg)
{
	struct lconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct frame_header h;
		ProtobufCMessage *msg = NULL;
		const char *why;
		enum frame_status st = frame_read(in, LOAD_MAX_FRAME, &h, &msg, &why);

		if (st == FRAME_NEED_MORE)
			return;
		if (st == FRAME_BAD)
			die("bad frame from %s: %s", c->ld->leader, why);
		load_frame(c->ld, &h, msg);
		/* the connection may have been replaced by a redirect */
		if (c->bev != bev)
			return;
	}
}

/* Every client of `conn` loses its operation; the connection is rebuilt to
 * the leader named by e (or the one Status finds) and the operations restart
 * shortly (a redirect is not an error: the CLI retries it too). */
static void
load_redirect(struct load *ld, struct lconn *conn, const Rcfs__Error *e)
{
	struct timeval tv = { 0, 20000 };

	ld->redirects++;
	if (e && e->leader_address && e->leader_address[0])
		snprintf(ld->leader, sizeof ld->leader, "%s", e->leader_address);
	else
		load_find_leader(ld);
	load_connect(ld, conn);
	for (int i = 0; i < ld->clients; i++) {
		struct lclient *c = &ld->cl[i];
		if (c->conn != conn || c->state == LC_IDLE)
			continue;
		/* IDLE until the retry: answers on the old connection are stale */
		c->resume = c->state == LC_PUT_CHUNKS || c->state == LC_PUT_COMMIT ? c->state : LC_IDLE;
		if (c->resume == LC_IDLE)
			client_reset(c);
		c->state = LC_IDLE;
		evtimer_add(c->retry, &tv);
	}
}

static void
client_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lclient *c = arg;

	(void)fd, (void)what;
	if (c->resume == LC_PUT_COMMIT) {
		c->resume = LC_IDLE;
		client_put_commit(c);
	} else if (c->resume == LC_PUT_CHUNKS) {
		/* the chunks in flight again, on the new connection */
		c->resume = LC_IDLE;
		c->state = LC_PUT_CHUNKS;
		for (int k = 0; k < LOAD_MAX_WINDOW; k++)
			if (c->slot[k].id != 0)
				c->slot[k].id = client_put_chunk(c, c->slot[k].chunk);
	} else {
		client_start(c);
	}
}

/* ---- Status: find the leader (blocking, before and between phases only) ---- */

/* A blocking request/response on a fresh connection (Status before a run,
 * failover probes), bounded by timeout_ms.  Returns 0 with *out (the response
 * frame's message, caller frees) and *type, or -1 if the node could not be
 * reached or did not answer in time. */
static int
blocking_call(const char *addr, uint8_t type, const ProtobufCMessage *req, int timeout_ms,
    uint8_t *rtype, ProtobufCMessage **out)
{
	struct sockaddr_storage ss;
	int sslen = (int)sizeof ss, fd, rv = -1;
	struct evbuffer *b = evbuffer_new();
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;
	int one = 1;

	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sslen) != 0)
		die("bad address %s", addr);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&ss, (socklen_t)sslen) != 0)
		goto out;
	frame_write(b, type, 0, 1, req);
	while (evbuffer_get_length(b) > 0)
		if (evbuffer_write(b, fd) <= 0)
			goto out;
	while (now_us() < deadline) {
		struct frame_header h;
		ProtobufCMessage *msg;
		const char *why;
		enum frame_status st = frame_read(b, LOAD_MAX_FRAME, &h, &msg, &why);
		if (st == FRAME_OK) {
			*rtype = h.type;
			*out = msg;
			rv = 0;
			break;
		}
		if (st == FRAME_BAD || evbuffer_read(b, fd, 65536) <= 0)
			break;
	}
out:
	close(fd);
	evbuffer_free(b);
	return rv;
}

static int
status_call(const char *addr, Rcfs__StatusResponse **out)
{
	ProtobufCMessage *msg;
	uint8_t type;

	if (blocking_call(addr, RCFS__MSG_TYPE__MSG_STATUS, NULL, 2000, &type, &msg) != 0)
		return -1;
	if (type != RCFS__MSG_TYPE__MSG_STATUS_RESP) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return -1;
	}
	*out = (Rcfs__StatusResponse *)msg;
	return 0;
}

/* Ask the nodes in turn until one names a leader; bounded at 10 s. */
static void
load_find_leader(struct load *ld)
{
	uint64_t deadline = now_us() + 10000000;

	while (now_us() < deadline) {
		for (int i = 0; i < ld->nnodes; i++) {
			Rcfs__StatusResponse *r = NULL;
			if (status_call(ld->nodes[i], &r) != 0)
				continue;
			if (ld->chunk_size == 0 && r->has_chunk_size) {
				ld->chunk_size = r->chunk_size;
				ld->inline_max = r->has_inline_max ? r->inline_max : 0;
			}
			for (size_t k = 0; r->n_nodes > 0 && k < r->n_nodes; k++) {
				Rcfs__NodeStatus *ns = r->nodes[k];
				if (ns->role && strcmp(ns->role, "leader") == 0 && ns->address) {
					snprintf(ld->leader, sizeof ld->leader, "%s", ns->address);
					rcfs__status_response__free_unpacked(r, NULL);
					return;
				}
			}
			rcfs__status_response__free_unpacked(r, NULL);
		}
		struct timespec ts = { 0, 20000000 };
		nanosleep(&ts, NULL);
	}
	die("no leader found within 10 s");
}

/* ---- clients --------------------------------------------------------------------- */

static uint32_t
client_send(struct lclient *c, uint8_t type, const ProtobufCMessage *msg)
{
	uint32_t id;

	if (++c->seq == 0)
		c->seq = 1;
	id = ((uint32_t)(c->idx + 1) << 16) | c->seq;
	frame_write(bufferevent_get_output(c->conn->bev), type, 0, id, msg);
	return id;
}

static void
client_reset(struct lclient *c)
{
	for (int k = 0; k < LOAD_MAX_WINDOW; k++) {
		if (c->slot[k].resp)
			rcfs__chunk_get_response__free_unpacked(c->slot[k].resp, NULL);
		c->slot[k].resp = NULL;
		c->slot[k].id = 0;
	}
	c->inflight = 0;
	sha256_free(&c->whole);
	if (c->meta) {
		rcfs__file_meta__free_unpacked(c->meta, NULL);
		c->meta = NULL;
	}
}

/* Take the next operation of the phase, if any is left. */
static void
client_next(struct lclient *c)
{
	struct load *ld = c->ld;

	if (ld->issued >= ld->limit || (ld->timed && now_us() >= ld->deadline_us)) {
		c->state = LC_IDLE;
		if (--ld->busy == 0)
			event_base_loopexit(ld->base, NULL);
		return;
	}
	c->op = ld->issued++;
	client_start(c);
}

/* (Re)start operation c->op. */
static void
client_start(struct lclient *c)
{
	struct load *ld = c->ld;

	c->t0_us = now_us();
	c->next_send = c->next_done = 0;
	c->inflight = 0;
	c->file_sha_done = false;
	if (!ld->get_phase) {
		snprintf(c->name, sizeof c->name, "%s%llu", ld->prefix, (unsigned long long)c->op);
		if (ld->size <= ld->inline_max && ld->size < ld->chunk_size) {
			c->nchunks = 0;
			client_put_commit(c);
			return;
		}
		c->nchunks = (size_t)((ld->size + ld->chunk_size - 1) / ld->chunk_size);
		if (c->nchunks * 32 > c->hashes_cap) {
			c->hashes_cap = c->nchunks * 32;
			c->hashes = xrealloc(c->hashes, c->hashes_cap);
		}
		sha256_init(&c->whole);
		c->state = LC_PUT_CHUNKS;
		client_put_fill(c);
	} else {
		Rcfs__FileStat req = RCFS__FILE_STAT__INIT;
		snprintf(c->name, sizeof c->name, "%s%llu", ld->prefix,
		    (unsigned long long)(c->op % ld->keys));
		req.name = c->name;
		c->state = LC_GET_STAT;
		c->slot[0].id = client_send(c, RCFS__MSG_TYPE__MSG_FILE_STAT, &req.base);
		c->inflight = 1;
	}
}

static void
client_finish(struct lclient *c, bool ok)
{
	struct load *ld = c->ld;

	if (ok && ld->timed) {
		lathist_add(&ld->hist, now_us() - c->t0_us);
		ld->bytes += ld->size;
	}
	if (!ok)
		ld->errors++;
	client_reset(c);
	client_next(c);
}

/* Chunk i of this op: the shared random content with (nonce, op, i) at its
 * start, so no two chunks of a run are equal (no dedup). */
static size_t
client_chunk(struct lclient *c, size_t i)
{
	struct load *ld = c->ld;
	uint64_t off = (uint64_t)i * ld->chunk_size;
	size_t len = (size_t)(ld->size - off < ld->chunk_size ? ld->size - off : ld->chunk_size);
	uint64_t stamp[2] = { c->op, i };

	memcpy(c->buf, ld->nonce, 8);
	memcpy(c->buf + 8, stamp, sizeof stamp);
	return len;
}

/* Send chunk i (its hash already in c->hashes); the request id. */
static uint32_t
client_put_chunk(struct lclient *c, size_t i)
{
	Rcfs__ChunkPut req = RCFS__CHUNK_PUT__INIT;
	size_t len = client_chunk(c, i);

	req.sha256.data = c->hashes + 32 * i;
	req.sha256.len = 32;
	req.data.data = c->buf;
	req.data.len = len;
	return client_send(c, RCFS__MSG_TYPE__MSG_CHUNK_PUT, &req.base);
}

static void
client_put_fill(struct lclient *c)
{
	struct load *ld = c->ld;

	while (c->next_send < c->nchunks && c->inflight < ld->window) {
		size_t i = c->next_send++, len = client_chunk(c, i);
		int k;

		sha256(c->hashes + 32 * i, c->buf, len);
		if (c->nchunks > 1)         /* one chunk: the file's hash is the chunk's */
			sha256_update(&c->whole, c->buf, len);
		for (k = 0; c->slot[k].id != 0; k++)
			;
		c->slot[k].id = client_put_chunk(c, i);
		c->slot[k].chunk = i;
		c->inflight++;
	}
}

static void
client_put_commit(struct lclient *c)
{
	struct load *ld = c->ld;
	Rcfs__FileMeta meta = RCFS__FILE_META__INIT;
	Rcfs__FileCommit req = RCFS__FILE_COMMIT__INIT;
	ProtobufCBinaryData *chunks = NULL;
	uint8_t sha[32];

	meta.name = c->name;
	meta.size = ld->size;
	meta.chunk_size = ld->chunk_size;
	if (c->nchunks == 0) {
		size_t len = client_chunk(c, 0);
		sha256(sha, c->buf, len);
		meta.has_inline_data = 1;
		meta.inline_data.data = c->buf;
		meta.inline_data.len = len;
	} else {
		if (!c->file_sha_done) {    /* once: a resumed commit is sent again */
			if (c->nchunks > 1)
				sha256_final(&c->whole, c->file_sha);
			else
				memcpy(c->file_sha, c->hashes, 32);
			c->file_sha_done = true;
		}
		memcpy(sha, c->file_sha, 32);
		chunks = xcalloc(c->nchunks, sizeof *chunks);
		for (size_t i = 0; i < c->nchunks; i++) {
			chunks[i].data = c->hashes + 32 * i;
			chunks[i].len = 32;
		}
		meta.chunks = chunks;
		meta.n_chunks = c->nchunks;
	}
	meta.sha256.data = sha;
	meta.sha256.len = 32;
	req.meta = &meta;
	req.has_client_id = req.has_seq = 1;
	req.client_id = c->client_id;
	req.seq = ++c->client_seq;
	c->state = LC_PUT_COMMIT;
	c->slot[0].id = client_send(c, RCFS__MSG_TYPE__MSG_FILE_COMMIT, &req.base);
	c->inflight = 1;
	free(chunks);
}

static void
client_get_fill(struct lclient *c)
{
	struct load *ld = c->ld;

	while (c->next_send < c->meta->n_chunks && c->next_send < c->next_done + (size_t)ld->window) {
		Rcfs__ChunkGet req = RCFS__CHUNK_GET__INIT;
		struct load_slot *s = &c->slot[c->next_send % (size_t)ld->window];

		req.sha256 = c->meta->chunks[c->next_send];
		req.has_client_verifies = req.client_verifies = 1;      /* client_get_drain hashes it */
		s->id = client_send(c, RCFS__MSG_TYPE__MSG_CHUNK_GET, &req.base);
		s->chunk = c->next_send++;
		c->inflight++;
	}
}

/* Hash every chunk that arrived, in order; finish when all have. */
static void
client_get_drain(struct lclient *c)
{
	struct load *ld = c->ld;
	uint8_t sha[32];

	for (;;) {
		struct load_slot *s = &c->slot[c->next_done % (size_t)ld->window];
		if (c->next_done >= c->meta->n_chunks || s->resp == NULL)
			break;
		sha256(sha, s->resp->data.data, s->resp->data.len);
		if (c->meta->chunks[c->next_done].len != 32
		    || memcmp(sha, c->meta->chunks[c->next_done].data, 32) != 0)
			die("get %s: chunk %zu does not match its SHA-256", c->name, c->next_done);
		if (c->meta->n_chunks > 1)
			sha256_update(&c->whole, s->resp->data.data, s->resp->data.len);
		rcfs__chunk_get_response__free_unpacked(s->resp, NULL);
		s->resp = NULL;
		s->id = 0;
		c->next_done++;
	}
	if (c->next_done == c->meta->n_chunks) {
		/* One chunk: its verified hash is the file's (same bytes). */
		if (c->meta->n_chunks > 1)
			sha256_final(&c->whole, sha);
		else
			memcpy(sha, c->meta->chunks[0].data, 32);
		if (c->meta->sha256.len != 32 || memcmp(sha, c->meta->sha256.data, 32) != 0)
			die("get %s: file does not match its SHA-256", c->name);
		client_finish(c, true);
		return;
	}
	client_get_fill(c);
}

/* Route a response to its client and advance that client's state machine. */
static void
load_frame(struct load *ld, const struct frame_header *h, ProtobufCMessage *msg)
{
	uint32_t ci = (h->request_id >> 16);
	struct lclient *c;
	int k;

	if (ci == 0 || ci > (uint32_t)ld->clients)
		die("response to unknown request id %u", h->request_id);
	c = &ld->cl[ci - 1];
	for (k = 0; k < LOAD_MAX_WINDOW; k++)
		if (c->slot[k].id == h->request_id && c->slot[k].resp == NULL)
			break;
	if (k == LOAD_MAX_WINDOW || c->state == LC_IDLE) {
		protobuf_c_message_free_unpacked(msg, NULL);   /* stale: op restarted */
		return;
	}
	if (h->type == RCFS__MSG_TYPE__MSG_ERROR) {
		Rcfs__Error *e = (Rcfs__Error *)msg;
		if (e->code == RCFS__ERROR_CODE__E_NOT_LEADER) {
			load_redirect(ld, c->conn, e);
		} else {
			snprintf(ld->errmsg, sizeof ld->errmsg, "%.100s: error %d: %.120s", c->name, (int)e->code,
			    e->message ? e->message : "");
			if (!ld->quiet && ld->errors < 5)
				fprintf(stderr, "rcfs-load: %s\n", ld->errmsg);
			client_finish(c, false);
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		return;
	}
	c->inflight--;
	switch (c->state) {
	case LC_PUT_CHUNKS:
		if (h->type != RCFS__MSG_TYPE__MSG_CHUNK_PUT_RESP)
			die("unexpected %s to ChunkPut", frame_type_name(h->type));
		c->slot[k].id = 0;
		c->next_done++;
		protobuf_c_message_free_unpacked(msg, NULL);
		if (c->next_done == c->nchunks)
			client_put_commit(c);
		else
			client_put_fill(c);
		return;
	case LC_PUT_COMMIT:
		if (h->type != RCFS__MSG_TYPE__MSG_FILE_COMMIT_RESP)
			die("unexpected %s to FileCommit", frame_type_name(h->type));
		protobuf_c_message_free_unpacked(msg, NULL);
		client_finish(c, true);
		return;
	case LC_GET_STAT: {
		Rcfs__FileStatResponse *r = (Rcfs__FileStatResponse *)msg;
		uint8_t sha[32];
		if (h->type != RCFS__MSG_TYPE__MSG_FILE_STAT_RESP)
			die("unexpected %s to FileStat", frame_type_name(h->type));
		c->slot[k].id = 0;
		c->meta = r->meta;
		r->meta = NULL;
		rcfs__file_stat_response__free_unpacked(r, NULL);
		if (c->meta->has_inline_data) {
			sha256(sha, c->meta->inline_data.data, c->meta->inline_data.len);
			if (c->meta->sha256.len != 32 || memcmp(sha, c->meta->sha256.data, 32) != 0)
				die("get %s: inline content does not match its SHA-256", c->name);
			client_finish(c, true);
			return;
		}
		sha256_init(&c->whole);
		c->state = LC_GET_CHUNKS;
		client_get_fill(c);
		return;
	}
	case LC_GET_CHUNKS:
		if (h->type != RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP)
			die("unexpected %s to ChunkGet", frame_type_name(h->type));
		c->slot[k].resp = (Rcfs__ChunkGetResponse *)msg;
		client_get_drain(c);
		return;
	case LC_IDLE:
		break;
	}
	protobuf_c_message_free_unpacked(msg, NULL);
}

/* ---- failover --------------------------------------------------------------------- */

/* One probe put through `via` (a survivor), following E_NOT_LEADER to the
 * named leader unless it is the killed node.  Returns 0 once committed. */
static int
failover_probe(struct load *ld, const char *via, const char *dead, uint64_t n)
{
	Rcfs__FileMeta meta = RCFS__FILE_META__INIT;
	Rcfs__FileCommit req = RCFS__FILE_COMMIT__INIT;
	uint8_t data[256], sha[32];
	char name[64], addr[128];
	int hops;

	memset(data, 'x', sizeof data);
	memcpy(data, &n, sizeof n);
	sha256(sha, data, sizeof data);
	snprintf(name, sizeof name, "%sp%llu", ld->prefix, (unsigned long long)n);
	meta.name = name;
	meta.size = sizeof data;
	meta.chunk_size = ld->chunk_size;
	meta.has_inline_data = 1;
	meta.inline_data.data = data;
	meta.inline_data.len = sizeof data;
	meta.sha256.data = sha;
	meta.sha256.len = 32;
	req.meta = &meta;
	req.has_client_id = req.has_seq = 1;
	req.client_id = ld->client_id;
	req.seq = n + 1;
	snprintf(addr, sizeof addr, "%s", via);
	for (hops = 0; hops < 3; hops++) {
		ProtobufCMessage *msg;
		uint8_t type;
		int rv = -1;

		if (blocking_call(addr, RCFS__MSG_TYPE__MSG_FILE_COMMIT, &req.base, 2000, &type, &msg) != 0)
			return -1;
		if (type == RCFS__MSG_TYPE__MSG_FILE_COMMIT_RESP) {
			rv = 0;
		} else if (type == RCFS__MSG_TYPE__MSG_ERROR) {
			Rcfs__Error *e = (Rcfs__Error *)msg;
			if (e->code == RCFS__ERROR_CODE__E_NOT_LEADER && e->leader_address
			    && e->leader_address[0] && strcmp(e->leader_address, dead) != 0) {
				snprintf(addr, sizeof addr, "%s", e->leader_address);
				rv = 1;
			}
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		if (rv <= 0)
			return rv;
	}
	return -1;
}

/* SIGKILL the leader, then time kill -> first acknowledged put through a
 * survivor; a new probe every probe_ms (probes are sequential: a refused or
 * redirected probe returns at once on loopback).  Prints one JSON line. */
static int
run_failover(struct load *ld, const char *pids, int probe_ms, double max_seconds)
{
	long pid[16];
	int npid = 0, li = -1, si = -1;
	char *copy = xstrdup(pids), *tok, *save;
	uint64_t t0, t_ok = 0, probes = 0, fails = 0, n = 0, next;
	Rcfs__StatusResponse *r;

	for (tok = strtok_r(copy, ",", &save); tok && npid < 16; tok = strtok_r(NULL, ",", &save))
		pid[npid++] = atol(tok);
	free(copy);
	if (npid != ld->nnodes)
		die("--pids must list one PID per --nodes entry");
	for (int i = 0; i < ld->nnodes; i++)
		if (strcmp(ld->nodes[i], ld->leader) == 0)
			li = i;
		else if (si < 0)
			si = i;
	if (li < 0 || si < 0)
		die("leader %s is not in --nodes", ld->leader);
	/* the survivor must know the leader before the kill */
	if (status_call(ld->nodes[si], &r) != 0)
		die("survivor %s does not answer", ld->nodes[si]);
	rcfs__status_response__free_unpacked(r, NULL);
	if (failover_probe(ld, ld->nodes[si], "", n++) != 0)
		die("warm put through %s failed", ld->nodes[si]);
	t0 = now_us();
	if (kill((pid_t)pid[li], SIGKILL) != 0)
		die("kill %ld: %s", pid[li], strerror(errno));
	next = t0;
	while (now_us() - t0 < (uint64_t)(max_seconds * 1e6)) {
		uint64_t now = now_us();
		if (now < next) {
			struct timespec ts = { 0, (long)(next - now) * 1000 };
			nanosleep(&ts, NULL);
		}
		next += (uint64_t)probe_ms * 1000;
		probes++;
		if (failover_probe(ld, ld->nodes[si], ld->leader, n++) == 0) {
			t_ok = now_us();
			break;
		}
		fails++;
	}
	snprintf(ld->errmsg, sizeof ld->errmsg, "%s", ld->leader);
	ld->leader[0] = '\0';
	if (t_ok) {
		/* who leads now (the survivors only) */
		for (int i = 0; i < ld->nnodes && !ld->leader[0]; i++) {
			if (i == li || status_call(ld->nodes[i], &r) != 0)
				continue;
			for (size_t k = 0; k < r->n_nodes; k++)
				if (r->nodes[k]->role && strcmp(r->nodes[k]->role, "leader") == 0
				    && r->nodes[k]->address)
					snprintf(ld->leader, sizeof ld->leader, "%s", r->nodes[k]->address);
			rcfs__status_response__free_unpacked(r, NULL);
		}
	}
	printf("{\"label\":\"%s\",\"tool\":\"rcfs-load\",\"op\":\"failover\",\"killed_leader\":\"%s\","
	    "\"killed_pid\":%ld,\"killed_index\":%d,\"probe_via\":\"%s\",\"new_leader\":\"%s\","
	    "\"recovered\":%s,\"kill_to_first_ok_put_ms\":%.3f,\"probes\":%llu,\"probe_errors\":%llu}\n",
	    ld->label, ld->errmsg, pid[li], li + 1, ld->nodes[si], ld->leader, t_ok ? "true" : "false",
	    t_ok ? (double)(t_ok - t0) / 1000.0 : 0.0, (unsigned long long)probes,
	    (unsigned long long)fails);
	return t_ok ? 0 : 5;
}

/* ---- phases ----------------------------------------------------------------------- */

/* Run `ops` operations (bounded by --max-seconds when timed) with every client. */
static void
run_phase(struct load *ld, uint64_t ops, bool timed, bool get_phase)
{
	ld->issued = 0;
	ld->limit = ops;
	ld->timed = timed;
	ld->get_phase = get_phase;
	ld->deadline_us = now_us() + (uint64_t)(ld->max_seconds * 1e6);
	ld->busy = ld->clients;
	for (int i = 0; i < ld->clients; i++)
		client_next(&ld->cl[i]);
	if (ld->busy > 0)
		event_base_dispatch(ld->base);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rcfs-load put|get --nodes H:P[,H:P...] [--clients C] [--conns N] [--size BYTES]\n"
	    "                 [--total MAX] [--max-seconds S] [--warmup W] [--keys K] [--window W]\n"
	    "                 [--prefix P] [--label L] [--quiet]\n"
	    "       rcfs-load failover --nodes H:P,... --pids PID,... [--probe-ms MS] [--max-seconds S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "clients", required_argument, NULL, 'c' },
		{ "conns", required_argument, NULL, 'C' },
		{ "size", required_argument, NULL, 's' },
		{ "total", required_argument, NULL, 'N' },
		{ "max-seconds", required_argument, NULL, 't' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "keys", required_argument, NULL, 'k' },
		{ "window", required_argument, NULL, 'W' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "label", required_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "pids", required_argument, NULL, 'P' },
		{ "probe-ms", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct load ld = { 0 };
	char *nodes = NULL, *tok, *save, *put_prefix = NULL;
	const char *pids = NULL;
	int probe_ms = 5;
	uint8_t *content;
	double secs;
	uint64_t t0;
	int o;

	xmalloc_keep_chunk_buffers();   /* as rcfsd and rcfs: no page faults per chunk */
	ld.clients = 1;
	ld.size = 256;
	ld.total = 10000;
	ld.max_seconds = 10;
	ld.warmup = 100;
	ld.keys = 1000;
	ld.window = 4;
	ld.prefix = "bench/";
	ld.label = "";
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "put") == 0)
		ld.mode = MODE_PUT;
	else if (strcmp(argv[1], "get") == 0)
		ld.mode = MODE_GET;
	else if (strcmp(argv[1], "failover") == 0)
		ld.mode = MODE_FAILOVER;
	else
		usage();
	optind = 2;
	while ((o = getopt_long(argc, argv, "n:c:C:s:N:t:w:k:W:p:l:qP:r:", opts, NULL)) != -1) {
		switch (o) {
		case 'n': nodes = optarg; break;
		case 'c': ld.clients = atoi(optarg); break;
		case 'C': ld.conns = atoi(optarg); break;
		case 's': ld.size = strtoull(optarg, NULL, 10); break;
		case 'N': ld.total = strtoull(optarg, NULL, 10); break;
		case 't': ld.max_seconds = atof(optarg); break;
		case 'w': ld.warmup = strtoull(optarg, NULL, 10); break;
		case 'k': ld.keys = strtoull(optarg, NULL, 10); break;
		case 'W': ld.window = atoi(optarg); break;
		case 'p': ld.prefix = optarg; break;
		case 'l': ld.label = optarg; break;
		case 'q': ld.quiet = true; break;
		case 'P': pids = optarg; break;
		case 'r': probe_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (nodes == NULL || ld.clients < 1 || ld.clients > 32767 || ld.window < 1
	    || ld.window > LOAD_MAX_WINDOW || ld.keys < 1 || ld.size < 1)
		usage();
	if (ld.conns <= 0)
		ld.conns = (ld.clients + 15) / 16;
	if (ld.conns > ld.clients)
		ld.conns = ld.clients;
	for (tok = strtok_r(nodes, ",", &save); tok && ld.nnodes < 16; tok = strtok_r(NULL, ",", &save))
		ld.nodes[ld.nnodes++] = tok;
	if (sodium_init() < 0)
		die("libsodium init failed");
	signal(SIGPIPE, SIG_IGN);
	randombytes_buf(ld.nonce, sizeof ld.nonce);
	randombytes_buf(&ld.client_id, sizeof ld.client_id);

	load_find_leader(&ld);
	if (ld.chunk_size == 0)
		die("the node did not say its chunk size");
	if (ld.mode == MODE_FAILOVER) {
		if (pids == NULL)
			usage();
		return run_failover(&ld, pids, probe_ms > 0 ? probe_ms : 1, ld.max_seconds);
	}
	ld.base = event_base_new();
	ld.conn = xcalloc((size_t)ld.conns, sizeof *ld.conn);
	for (int i = 0; i < ld.conns; i++) {
		ld.conn[i].ld = &ld;
		ld.conn[i].idx = i;
		load_connect(&ld, &ld.conn[i]);
	}
	/* One random chunk_size buffer per client (chunks differ only by the stamp). */
	content = xmalloc(ld.chunk_size);
	randombytes_buf(content, ld.chunk_size);
	ld.cl = xcalloc((size_t)ld.clients, sizeof *ld.cl);
	for (int i = 0; i < ld.clients; i++) {
		struct lclient *c = &ld.cl[i];
		c->ld = &ld;
		c->idx = i;
		c->conn = &ld.conn[i % ld.conns];
		c->buf = xmalloc(ld.chunk_size);
		memcpy(c->buf, content, ld.chunk_size);
		c->retry = evtimer_new(ld.base, client_retry_cb, c);
		c->client_id = ld.client_id + (uint64_t)i;
	}
	free(content);

	if (ld.mode == MODE_GET) {
		/* Write the files to read (untimed), then read them. */
		const char *prefix = ld.prefix;
		run_phase(&ld, ld.keys, false, false);
		ld.prefix = prefix;
		if (ld.errors > 0)
			die("populating %llu files failed (%llu errors): %s", (unsigned long long)ld.keys,
			    (unsigned long long)ld.errors, ld.errmsg);
	}
	if (ld.warmup > 0)
		run_phase(&ld, ld.warmup, false, ld.mode == MODE_GET);
	ld.errors = 0;
	ld.redirects = 0;
	lathist_init(&ld.hist);
	if (ld.mode == MODE_PUT) {
		/* warm-up files must not collide with timed ones */
		put_prefix = xasprintf("%st", ld.prefix);
		ld.prefix = put_prefix;
	}
	t0 = now_us();
	run_phase(&ld, ld.total, true, ld.mode == MODE_GET);
	secs = (double)(now_us() - t0) / 1e6;

	printf("{\"label\":\"%s\",\"tool\":\"rcfs-load\",\"op\":\"%s\",\"clients\":%d,\"conns\":%d,"
	    "\"size\":%llu,\"window\":%d,\"leader\":\"%s\",\"ops\":%llu,\"errors\":%llu,"
	    "\"redirects\":%llu,\"seconds\":%.3f,\"ops_per_s\":%.1f,\"MB_per_s\":%.2f,"
	    "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
	    ld.label, ld.mode == MODE_PUT ? "put" : "get", ld.clients, ld.conns,
	    (unsigned long long)ld.size, ld.window, ld.leader, (unsigned long long)ld.hist.count,
	    (unsigned long long)ld.errors, (unsigned long long)ld.redirects, secs,
	    (double)ld.hist.count / secs, (double)ld.bytes / secs / 1e6,
	    lathist_percentile(&ld.hist, 50) / 1000, lathist_percentile(&ld.hist, 90) / 1000,
	    lathist_percentile(&ld.hist, 99) / 1000, lathist_percentile(&ld.hist, 100) / 1000);

	for (int i = 0; i < ld.clients; i++) {
		client_reset(&ld.cl[i]);
		event_free(ld.cl[i].retry);
		free(ld.cl[i].buf);
		free(ld.cl[i].hashes);
	}
	for (int i = 0; i < ld.conns; i++) {
		if (ld.conn[i].rev)
			event_free(ld.conn[i].rev);
		bufferevent_free(ld.conn[i].bev);
	}
	free(ld.conn);
	free(ld.cl);
	free(put_prefix);
	event_base_free(ld.base);
	return ld.hist.count > 0 ? 0 : 1;
}
