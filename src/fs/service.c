/* The file service: one handler per client request type.  Each handler
 * validates its input completely before touching storage, then answers
 * exactly once (conn_reply / conn_reply_error). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "fs/chunk.h"
#include "fs/fsm.h"
#include "fs/meta.h"
#include "fs/replicate.h"
#include "node/consensus.h"
#include "node/peer.h"
#include "node/timesync.h"
#include "node/node.h"
#include "store/store.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/name.h"
#include "util/xmalloc.h"

#define SERVICE_LIST_MAX 10000    /* names per FileList page, at most */
#define SERVICE_LIST_DEFAULT 1000

static unsigned service_nreqs;    /* requests in flight (all connections) */

/* An in-flight request: holds the connection alive until it is answered. */
struct service_req {
	struct node *node;
	struct conn *conn;
	uint32_t id;
	ProtobufCMessage *msg;          /* the request, owned */
	uint64_t peer_id;               /* sender, if a peer */
	enum rcfs_metrics_op op;        /* for rcfs_client_requests_total */
	Rcfs__ErrorCode code;           /* outcome, E_OK unless service_fail() ran */
	double t0;                      /* metrics_now() at arrival */
	Rcfs__NodeStatus status;        /* for Status */
	char clock_source[128];
	int pending;                    /* sub-requests outstanding (Status) */
	void (*after_barrier)(struct service_req *r);   /* reads: run once linearizable */
};

static struct service_req *service_req_new(struct node *n, struct conn *c, uint32_t id,
    ProtobufCMessage *msg);
static void service_req_free(struct service_req *r);
static void service_fail(struct service_req *r, Rcfs__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void service_chunk_put(struct service_req *r);
static void service_chunk_put_local(void *arg, Rcfs__ErrorCode code, const char *why);
static void service_chunk_put_done(void *arg, Rcfs__ErrorCode code, const char *why,
    uint32_t replicas);
static void service_barrier_done(void *arg, Rcfs__ErrorCode code, const char *err,
    const struct fsm_result *res);
static void service_linearizable(struct service_req *r, bool serializable,
    void (*then)(struct service_req *r));
static void service_stat_read(struct service_req *r);
static void service_list_read(struct service_req *r);
static void service_chunk_get(struct service_req *r);
static void service_chunk_probe_done(void *arg, Rcfs__ErrorCode code, const char *why);
static void service_chunk_get_done(void *arg, Rcfs__ErrorCode code, const char *why,
    const uint8_t *data, size_t len);
static void service_commit(struct service_req *r);
static void service_commit_exists(void *arg, Rcfs__ErrorCode code, const char *why);
static void service_commit_done(void *arg, Rcfs__ErrorCode code, const char *err,
    const struct fsm_result *res);
static void service_stat(struct service_req *r);
static void service_stat_done(void *arg, const char *err, Rcfs__FileMeta *meta);
static void service_list(struct service_req *r);
static void service_list_done(void *arg, const char *err, Rcfs__FileMeta **metas, size_t n,
    int more);
static void service_remove(struct service_req *r);
static void service_remove_done(void *arg, Rcfs__ErrorCode code, const char *err,
    const struct fsm_result *res);
static void service_status(struct service_req *r);
static void service_status_info(struct store *st, redisReply *reply, enum store_err err, void *arg);
static void service_status_count(void *arg, const char *err, uint64_t files, uint64_t chunks);
static void service_status_finish(struct service_req *r);
static Rcfs__ErrorCode service_storage_code(const char *err);

unsigned
service_inflight(void)
{
	return service_nreqs;
}

void
service_dispatch(struct node *n, struct conn *c, const struct frame_header *h, ProtobufCMessage *msg,
    uint64_t peer_id)
{
	struct service_req *r = service_req_new(n, c, h->request_id, msg);

	r->peer_id = peer_id;
	r->op = rcfs_metrics_op_from_msg(h->type);
	if (peer_id == 0 && node_draining(n)) {
		/* SIGTERM: finish what is in flight, send newcomers elsewhere. */
		service_fail(r, RCFS__ERROR_CODE__E_UNAVAILABLE, "node %llu is shutting down",
		    (unsigned long long)node_config(n)->node_id);
		return;
	}
	switch (h->type) {
	case RCFS__MSG_TYPE__MSG_STATUS:      service_status(r); break;
	case RCFS__MSG_TYPE__MSG_CHUNK_PUT:   service_chunk_put(r); break;
	case RCFS__MSG_TYPE__MSG_CHUNK_GET:   service_chunk_get(r); break;
	case RCFS__MSG_TYPE__MSG_FILE_COMMIT: service_commit(r); break;
	case RCFS__MSG_TYPE__MSG_FILE_STAT:   service_stat(r); break;
	case RCFS__MSG_TYPE__MSG_FILE_LIST:   service_list(r); break;
	case RCFS__MSG_TYPE__MSG_FILE_REMOVE: service_remove(r); break;
	default:
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s is not a client request",
		    frame_type_name(h->type));
		break;
	}
}

static struct service_req *
service_req_new(struct node *n, struct conn *c, uint32_t id, ProtobufCMessage *msg)
{
	struct service_req *r = xcalloc(1, sizeof *r);

	r->node = n;
	r->conn = c;
	r->id = id;
	r->msg = msg;
	r->t0 = metrics_now();
	service_nreqs++;
	conn_ref(c);
	return r;
}

static void
service_req_free(struct service_req *r)
{
	/* Client requests only: replica traffic between nodes is not a client's. */
	if (r->peer_id == 0)
		metrics_rcfs_request(&rcfs_metrics, r->op, rcfs_metrics_result_from_code(r->code), r->t0);
	service_nreqs--;
	conn_unref(r->conn);
	if (r->msg != NULL)
		protobuf_c_message_free_unpacked(r->msg, NULL);
	free(r);
}

static void
service_fail(struct service_req *r, Rcfs__ErrorCode code, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	r->code = code;
	if (code == RCFS__ERROR_CODE__E_NOT_LEADER) {
		/* Tell the client where to go (etcd and Redis Cluster do too). */
		struct consensus *cs = node_consensus(r->node);
		Rcfs__Error e = RCFS__ERROR__INIT;
		e.code = code;
		e.message = why;
		if (consensus_leader(cs) != 0) {
			e.has_leader_id = 1;
			e.leader_id = consensus_leader(cs);
			e.leader_address = (char *)consensus_leader_address(cs);
		}
		conn_reply(r->conn, RCFS__MSG_TYPE__MSG_ERROR, r->id, &e.base);
	} else {
		conn_reply_error(r->conn, r->id, code, why);
	}
	service_req_free(r);
}

static Rcfs__ErrorCode
service_storage_code(const char *err)
{
	if (strcmp(err, "storage full") == 0)
		return RCFS__ERROR_CODE__E_STORAGE_FULL;
	if (strcmp(err, "storage timed out") == 0)
		return RCFS__ERROR_CODE__E_TIMEOUT;
	if (strncmp(err, "storage", 7) == 0)
		return RCFS__ERROR_CODE__E_UNAVAILABLE;
	return RCFS__ERROR_CODE__E_INTERNAL;
}

/* ---- chunks ---------------------------------------------------------------- */

static void
service_chunk_put(struct service_req *r)
{
	Rcfs__ChunkPut *m = (Rcfs__ChunkPut *)r->msg;
	uint8_t sha[CHUNK_HASH_LEN];

	if (m->sha256.len != CHUNK_HASH_LEN)
		return service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "chunk hash must be 32 bytes (SHA-256)");
	if (m->data.len > node_config(r->node)->chunk_size)
		return service_fail(r, RCFS__ERROR_CODE__E_TOO_LARGE, "chunk of %zu bytes is above chunk_size %u",
		    m->data.len, node_config(r->node)->chunk_size);
	chunk_hash(m->data.data, m->data.len, sha);
	if (sodium_memcmp(sha, m->sha256.data, CHUNK_HASH_LEN) != 0)
		return service_fail(r, RCFS__ERROR_CODE__E_INTEGRITY, "chunk data does not match its SHA-256");
	if (m->replica && r->peer_id != 0 && !store_is_up(node_store(r->node)))
		return service_fail(r, RCFS__ERROR_CODE__E_UNAVAILABLE, "storage unavailable: %s",
		    store_last_error(node_store(r->node)));
	/* The callee copies the data before returning; the request may even be
	 * answered (and r freed) before it returns: r is not touched after. */
	r->msg = NULL;
	if (m->replica && r->peer_id != 0)     /* a replica write from a peer: here only */
		chunk_put(node_store(r->node), sha, m->data.data, m->data.len, node_now_ms(),
		    service_chunk_put_local, r);
	else
		replicator_put(node_replicator(r->node), sha, m->data.data, m->data.len, node_now_ms(),
		    service_chunk_put_done, r);
	protobuf_c_message_free_unpacked(&m->base, NULL);  /* frees the chunk copy now */
}

static void
service_chunk_put_local(void *arg, Rcfs__ErrorCode code, const char *why)
{
	service_chunk_put_done(arg, code, why, 1);
}

static void
service_chunk_put_done(void *arg, Rcfs__ErrorCode code, const char *why, uint32_t replicas)
{
	struct service_req *r = arg;
	Rcfs__ChunkPutResponse resp = RCFS__CHUNK_PUT_RESPONSE__INIT;

	if (code != RCFS__ERROR_CODE__E_OK)
		return service_fail(r, code, "%s", why);
	resp.has_replicas = 1;
	resp.replicas = replicas;
	conn_reply(r->conn, RCFS__MSG_TYPE__MSG_CHUNK_PUT_RESP, r->id, &resp.base);
	service_req_free(r);
}

static void
service_chunk_get(struct service_req *r)
{
	Rcfs__ChunkGet *m = (Rcfs__ChunkGet *)r->msg;

	if (m->sha256.len != CHUNK_HASH_LEN)
		return service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "chunk hash must be 32 bytes (SHA-256)");
	if (m->local && m->probe)      /* is it stored here? (repair, stat -v) */
		chunk_probe(node_store(r->node), m->sha256.data, service_chunk_probe_done, r);
	else if (m->local && r->peer_id != 0)
		chunk_get(node_store(r->node), m->sha256.data, service_chunk_get_done, r);
	else
		replicator_get(node_replicator(r->node), m->sha256.data, service_chunk_get_done, r);
}

static void
service_chunk_probe_done(void *arg, Rcfs__ErrorCode code, const char *why)
{
	service_chunk_get_done(arg, code, code == RCFS__ERROR_CODE__E_NOT_FOUND ? "not stored here" : why,
	    (const uint8_t *)"", 0);
}

static void
service_chunk_get_done(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data,
    size_t len)
{
	struct service_req *r = arg;
	Rcfs__ChunkGetResponse resp = RCFS__CHUNK_GET_RESPONSE__INIT;

	if (code == RCFS__ERROR_CODE__E_INTEGRITY && ((Rcfs__ChunkGet *)r->msg)->local) {
		char hex[65];
		sodium_bin2hex(hex, sizeof hex, ((Rcfs__ChunkGet *)r->msg)->sha256.data, CHUNK_HASH_LEN);
		log_err("chunk %s is corrupt in storage", hex);
	}
	if (code != RCFS__ERROR_CODE__E_OK)
		return service_fail(r, code, "%s", why);
	resp.data.data = (uint8_t *)data;
	resp.data.len = len;
	conn_reply(r->conn, RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP, r->id, &resp.base);
	service_req_free(r);
}

/* ---- files --------------------------------------------------------------- */

static void
service_commit(struct service_req *r)
{
	Rcfs__FileCommit *m = (Rcfs__FileCommit *)r->msg;
	const char *bad = meta_check(m->meta, node_config(r->node)->inline_max);

	if (bad != NULL)
		return service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s", bad);
	if (m->has_seq && m->seq > FSM_SEQ_MAX)
		return service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "seq %llu is above 2^53",
		    (unsigned long long)m->seq);
	if (!m->meta->has_mtime_ns) {
		m->meta->has_mtime_ns = 1;
		m->meta->mtime_ns = (uint64_t)timesync_now_ns(node_timesync(r->node));
	}
	/* No file becomes visible before all of its chunks are stored.  A
	 * single node checks its store; in a cluster the coordinators' W-quorum
	 * acknowledgements, which the client waited for, are the evidence. */
	if (m->meta->n_chunks > 0 && node_config(r->node)->npeers == 0)
		chunk_exist_all(node_store(r->node), m->meta->chunks, m->meta->n_chunks,
		    service_commit_exists, r);
	else
		service_commit_exists(r, RCFS__ERROR_CODE__E_OK, NULL);
}

static void
service_commit_exists(void *arg, Rcfs__ErrorCode code, const char *why)
{
	struct service_req *r = arg;
	Rcfs__Command cmd = RCFS__COMMAND__INIT;

	if (code != RCFS__ERROR_CODE__E_OK)
		return service_fail(r, code == RCFS__ERROR_CODE__E_NOT_FOUND ? RCFS__ERROR_CODE__E_BAD_REQUEST
		    : code, "%s", why);
	cmd.commit = (Rcfs__FileCommit *)r->msg;
	/* The version's hybrid logical clock stamp (docs/clock.md). */
	cmd.commit->meta->has_hlc = 1;
	cmd.commit->meta->hlc = timesync_hlc_now(node_timesync(r->node));
	consensus_propose(node_consensus(r->node), &cmd, service_commit_done, r);
}

static void
service_commit_done(void *arg, Rcfs__ErrorCode code, const char *err, const struct fsm_result *res)
{
	struct service_req *r = arg;
	Rcfs__FileCommitResponse resp = RCFS__FILE_COMMIT_RESPONSE__INIT;

	if (code != RCFS__ERROR_CODE__E_OK)
		return service_fail(r, code, "%s", err);
	resp.version = res ? res->version : 0;
	conn_reply(r->conn, RCFS__MSG_TYPE__MSG_FILE_COMMIT_RESP, r->id, &resp.base);
	service_req_free(r);
}

static void
service_stat(struct service_req *r)
{
	Rcfs__FileStat *m = (Rcfs__FileStat *)r->msg;
	const char *bad = name_check(m->name, strlen(m->name));

	if (bad != NULL)
		return service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s", bad);
	service_linearizable(r, m->serializable, service_stat_read);
}

static void
service_stat_read(struct service_req *r)
{
	fsm_stat(node_store(r->node), ((Rcfs__FileStat *)r->msg)->name, service_stat_done, r);
}

/* Reads are linearizable (ReadIndex on the leader, Raft dissertation §6.4)
 * unless the client asked for a serializable read of this node's state. */
static void
service_linearizable(struct service_req *r, bool serializable, void (*then)(struct service_req *r))
{
	if (serializable)
		return then(r);
	r->after_barrier = then;
	consensus_read_barrier(node_consensus(r->node), service_barrier_done, r);
}

static void
service_barrier_done(void *arg, Rcfs__ErrorCode code, const char *err, const struct fsm_result *res)
{
	struct service_req *r = arg;

	(void)res;
	if (code != RCFS__ERROR_CODE__E_OK)
		return service_fail(r, code, "%s", err);
	r->after_barrier(r);
}

static void
service_stat_done(void *arg, const char *err, Rcfs__FileMeta *meta)
{
	struct service_req *r = arg;
	Rcfs__FileStatResponse resp = RCFS__FILE_STAT_RESPONSE__INIT;

	if (err != NULL)
		return service_fail(r, service_storage_code(err), "%s", err);
	if (meta == NULL)
		return service_fail(r, RCFS__ERROR_CODE__E_NOT_FOUND, "no such file");
	resp.meta = meta;
	conn_reply(r->conn, RCFS__MSG_TYPE__MSG_FILE_STAT_RESP, r->id, &resp.base);
	rcfs__file_meta__free_unpacked(meta, NULL);
	service_req_free(r);
}

static void
service_list(struct service_req *r)
{
	Rcfs__FileList *m = (Rcfs__FileList *)r->msg;
	uint32_t limit = m->has_limit && m->limit > 0 ? m->limit : SERVICE_LIST_DEFAULT;

	if (limit > SERVICE_LIST_MAX)
		limit = SERVICE_LIST_MAX;
	if ((m->prefix && strlen(m->prefix) > 1024) || (m->start_after && strlen(m->start_after) > 1024))
		return service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "prefix longer than 1024 bytes");
	m->has_limit = 1;
	m->limit = limit;
	service_linearizable(r, m->serializable, service_list_read);
}

static void
service_list_read(struct service_req *r)
{
	Rcfs__FileList *m = (Rcfs__FileList *)r->msg;

	fsm_list(node_store(r->node), m->prefix ? m->prefix : "", m->start_after ? m->start_after : "",
	    m->limit, service_list_done, r);
}

static void
service_list_done(void *arg, const char *err, Rcfs__FileMeta **metas, size_t n, int more)
{
	struct service_req *r = arg;
	Rcfs__FileListResponse resp = RCFS__FILE_LIST_RESPONSE__INIT;

	if (err != NULL)
		return service_fail(r, service_storage_code(err), "%s", err);
	/* A listing carries no chunk lists or contents. */
	size_t *saved = xcalloc(n ? n : 1, sizeof *saved);
	for (size_t i = 0; i < n; i++) {
		saved[i] = metas[i]->n_chunks;
		metas[i]->n_chunks = 0;
		metas[i]->has_inline_data = 0;
	}
	resp.files = metas;
	resp.n_files = n;
	resp.has_more = 1;
	resp.more = more != 0;
	conn_reply(r->conn, RCFS__MSG_TYPE__MSG_FILE_LIST_RESP, r->id, &resp.base);
	for (size_t i = 0; i < n; i++) {
		metas[i]->n_chunks = saved[i];   /* so free_unpacked frees them */
		rcfs__file_meta__free_unpacked(metas[i], NULL);
	}
	free(saved);
	free(metas);
	service_req_free(r);
}

static void
service_remove(struct service_req *r)
{
	Rcfs__FileRemove *m = (Rcfs__FileRemove *)r->msg;
	Rcfs__Command cmd = RCFS__COMMAND__INIT;
	const char *bad = name_check(m->name, strlen(m->name));

	if (bad != NULL)
		return service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s", bad);
	if (m->has_seq && m->seq > FSM_SEQ_MAX)
		return service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "seq %llu is above 2^53",
		    (unsigned long long)m->seq);
	cmd.remove = m;
	consensus_propose(node_consensus(r->node), &cmd, service_remove_done, r);
}

static void
service_remove_done(void *arg, Rcfs__ErrorCode code, const char *err, const struct fsm_result *res)
{
	struct service_req *r = arg;
	Rcfs__FileRemoveResponse resp = RCFS__FILE_REMOVE_RESPONSE__INIT;

	if (code != RCFS__ERROR_CODE__E_OK)
		return service_fail(r, code, "%s", err);
	if (res == NULL || res->code == RCFS__ERROR_CODE__E_NOT_FOUND)
		return service_fail(r, RCFS__ERROR_CODE__E_NOT_FOUND, "no such file");
	resp.has_version = 1;
	resp.version = res->version;
	conn_reply(r->conn, RCFS__MSG_TYPE__MSG_FILE_REMOVE_RESP, r->id, &resp.base);
	service_req_free(r);
}

/* ---- status -------------------------------------------------------------- */

static void
service_status(struct service_req *r)
{
	const struct rcfs_config *cfg = node_config(r->node);
	struct consensus *cs = node_consensus(r->node);
	Rcfs__NodeStatus *s = &r->status;

	rcfs__node_status__init(s);
	s->id = cfg->node_id;
	s->address = cfg->listen;
	s->role = (char *)consensus_role(cs);
	s->has_term = s->has_leader_id = 1;
	s->term = consensus_term(cs);
	s->leader_id = consensus_leader(cs);
	s->has_applied_index = s->has_commit_index = 1;
	s->applied_index = consensus_applied_index(cs);
	s->commit_index = consensus_commit_index(cs);
	s->has_reachable = s->has_storage_up = 1;
	s->reachable = 1;
	s->storage_up = store_is_up(node_store(r->node));
	timesync_status(node_timesync(r->node), s, r->clock_source, sizeof r->clock_source);
	if (!s->storage_up)
		return service_status_finish(r);
	r->pending = 2;
	store_commandf(node_store(r->node), service_status_info, r, "INFO memory");
	fsm_count(node_store(r->node), service_status_count, r);
}

static void
service_status_info(struct store *st, redisReply *reply, enum store_err err, void *arg)
{
	struct service_req *r = arg;
	const char *p;

	(void)st;
	if (err == STORE_OK && reply->type == REDIS_REPLY_STRING) {
		if ((p = strstr(reply->str, "\nused_memory:")) != NULL) {
			r->status.has_used_memory = 1;
			r->status.used_memory = strtoull(p + 13, NULL, 10);
		}
		if ((p = strstr(reply->str, "\nmaxmemory:")) != NULL) {
			r->status.has_maxmemory = 1;
			r->status.maxmemory = strtoull(p + 11, NULL, 10);
		}
	}
	if (--r->pending == 0)
		service_status_finish(r);
}

static void
service_status_count(void *arg, const char *err, uint64_t files, uint64_t chunks)
{
	struct service_req *r = arg;

	if (err == NULL) {
		r->status.has_files = r->status.has_chunks = 1;
		r->status.files = files;
		r->status.chunks = chunks;
	}
	if (--r->pending == 0)
		service_status_finish(r);
}

static void
service_status_finish(struct service_req *r)
{
	const struct rcfs_config *cfg = node_config(r->node);
	struct consensus *cs = node_consensus(r->node);
	Rcfs__StatusResponse resp = RCFS__STATUS_RESPONSE__INIT;
	Rcfs__NodeStatus *nodes[1 + CONFIG_MAX_PEERS], peers[CONFIG_MAX_PEERS];
	size_t n = 0;

	nodes[n++] = &r->status;
	/* The other members as this node sees them (ids for the CLI; match
	 * index and last contact when this node leads). */
	for (unsigned i = 0; i < cfg->npeers; i++) {
		struct peer *p = node_peer(r->node, i);
		Rcfs__NodeStatus *ps = &peers[n - 1];
		uint64_t match;
		int64_t contact;
		if (cfg->peers[i].id == cfg->node_id)
			continue;
		rcfs__node_status__init(ps);
		ps->id = cfg->peers[i].id;
		ps->address = cfg->peers[i].address;
		ps->has_reachable = 1;
		ps->reachable = p != NULL && peer_connected(p);
		timesync_peer_status(node_timesync(r->node), ps->id, ps);
		if (consensus_peer_progress(cs, ps->id, &match, &contact)) {
			ps->has_match_index = ps->has_last_contact_ms = 1;
			ps->match_index = match;
			ps->last_contact_ms = contact < 0 ? 0 : (uint64_t)contact;
		}
		nodes[n++] = ps;
	}
	resp.nodes = nodes;
	resp.n_nodes = n;
	resp.has_chunk_size = resp.has_max_frame = resp.has_inline_max = 1;
	resp.chunk_size = cfg->chunk_size;
	resp.max_frame = cfg->max_frame;
	resp.inline_max = cfg->inline_max;
	resp.has_replicas = resp.has_write_quorum = resp.has_read_quorum = 1;
	resp.replicas = cfg->replicas;
	resp.write_quorum = cfg->write_quorum;
	resp.read_quorum = cfg->read_quorum;
	conn_reply(r->conn, RCFS__MSG_TYPE__MSG_STATUS_RESP, r->id, &resp.base);
	service_req_free(r);
}
