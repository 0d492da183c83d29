/* The file service (node/service.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/chunk.h"
#include "fs/fsm.h"
#include "fs/gc.h"
#include "fs/meta.h"
#include "fs/replicate.h"
#include "net/peer.h"
#include "node/consensus.h"
#include "node/members.h"
#include "node/service.h"
#include "node/status.h"
#include "node/timesync.h"
#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "node/metrics.h"
#include "util/metrics.h"
#include "util/name.h"
#include "util/time.h"
#include "util/xmalloc.h"

#define SERVICE_LIST_MAX 10000    /* names per FileList page, at most */
#define SERVICE_LIST_DEFAULT 1000

struct service {
	struct node_parts p;
	unsigned nreqs;                 /* requests in flight (all connections) */
	bool draining;
	/* The last backup dump (BackupGet): served in slices for a while. */
	struct {
		uint64_t id, index, term;
		uint8_t *data;
		size_t len;
		uint64_t expires_ms;    /* time_mono_ms() */
	} dump;
};

#define SERVICE_DUMP_KEEP_MS 60000      /* a backup dump outlives its last slice by this */
#define SERVICE_HOLD_LEASE_MS (10 * 60 * 1000)  /* a backup's GC hold, unless renewed */

/* An in-flight request: holds the connection alive until it is answered. */
struct service_req {
	struct service *svc;
	struct conn *conn;
	uint32_t id;
	ProtobufCMessage *msg;          /* the request, owned */
	uint64_t peer_id;               /* sender, if a peer */
	enum rcfs_metrics_op op;        /* for rcfs_client_requests_total */
	Rcfs__ErrorCode code;           /* outcome, E_OK unless service_fail() ran */
	double t0;                      /* metrics_now() at arrival */
	void (*after_barrier)(struct service_req *r);   /* reads: run once linearizable */
	/* A call from inside this node (service_call) instead of a connection:
	 * the answer goes to local_cb; msg is the caller's (borrowed). */
	peer_rpc_cb *local_cb;
	void *local_arg;
};

static struct service_req *service_req_new(struct service *svc, struct conn *c, uint32_t id,
    ProtobufCMessage *msg);
static void service_req_free(struct service_req *r);
static void service_member(struct service_req *r);
static void service_backup(struct service_req *r);
static void service_gc(struct service_req *r);
static void service_chunk_protect(struct service_req *r);
static void service_fail(struct service_req *r, Rcfs__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void service_chunk_put(struct service_req *r);
static void service_chunk_put_local(void *arg, Rcfs__ErrorCode code, const char *why);
static void service_chunk_put_done(void *arg, Rcfs__ErrorCode code, const char *why,
    uint32_t replicas);
static void service_barrier_done(void *arg, Rcfs__ErrorCode code, const char *why,
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
static void service_commit_done(void *arg, Rcfs__ErrorCode code, const char *why,
    const struct fsm_result *res);
static void service_stat(struct service_req *r);
static void service_stat_done(void *arg, Rcfs__ErrorCode code, const char *why,
    Rcfs__FileMeta *meta);
static void service_list(struct service_req *r);
static void service_list_done(void *arg, Rcfs__ErrorCode code, const char *why,
    Rcfs__FileMeta **metas, size_t n, int more);
static void service_remove(struct service_req *r);
static void service_rename(struct service_req *r);
static void service_rename_read(struct service_req *r);
static void service_rename_stat(void *arg, Rcfs__ErrorCode code, const char *why,
    Rcfs__FileMeta *meta);
static void service_rename_done(void *arg, Rcfs__ErrorCode code, const char *why,
    const struct fsm_result *res);
static void service_remove_done(void *arg, Rcfs__ErrorCode code, const char *why,
    const struct fsm_result *res);
static void service_status(struct service_req *r);
static void service_status_gathered(void *arg, Rcfs__NodeStatus *s);
static void service_reply(struct service_req *r, uint8_t type, const ProtobufCMessage *msg);

struct service *
service_new(const struct node_parts *parts)
{
	struct service *svc = xcalloc(1, sizeof *svc);

	svc->p = *parts;
	return svc;
}

void
service_free(struct service *svc)
{
	if (svc == NULL)
		return;
	free(svc->dump.data);
	free(svc);
}

unsigned
service_inflight(const struct service *svc)
{
	return svc->nreqs;
}

void
service_set_draining(struct service *svc, bool draining)
{
	svc->draining = draining;
}

void
service_dispatch(struct service *svc, struct conn *c, const struct frame_header *h,
    ProtobufCMessage *msg, uint64_t peer_id)
{
	struct service_req *r = service_req_new(svc, c, h->request_id, msg);

	r->peer_id = peer_id;
	r->op = rcfs_metrics_op_from_msg(h->type);
	if (peer_id == 0 && svc->draining) {
		/* SIGTERM: finish what is in flight, send newcomers elsewhere. */
		service_fail(r, RCFS__ERROR_CODE__E_UNAVAILABLE, "node %llu is shutting down",
		    (unsigned long long)svc->p.cfg->node_id);
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
	case RCFS__MSG_TYPE__MSG_FILE_RENAME: service_rename(r); break;
	case RCFS__MSG_TYPE__MSG_MEMBER:      service_member(r); break;
	case RCFS__MSG_TYPE__MSG_BACKUP_GET:  service_backup(r); break;
	case RCFS__MSG_TYPE__MSG_GC:          service_gc(r); break;
	case RCFS__MSG_TYPE__MSG_CHUNK_PROTECT: service_chunk_protect(r); break;
	default:
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s is not a client request",
		    frame_type_name(h->type));
		break;
	}
}

void
service_call(struct service *svc, uint8_t type, ProtobufCMessage *msg, peer_rpc_cb *cb, void *arg)
{
	struct service_req *r = service_req_new(svc, NULL, 0, msg);

	r->local_cb = cb;
	r->local_arg = arg;
	r->op = rcfs_metrics_op_from_msg(type);
	switch (type) {
	case RCFS__MSG_TYPE__MSG_CHUNK_PUT:   service_chunk_put(r); break;
	case RCFS__MSG_TYPE__MSG_CHUNK_GET:   service_chunk_get(r); break;
	case RCFS__MSG_TYPE__MSG_CHUNK_PROTECT: service_chunk_protect(r); break;
	case RCFS__MSG_TYPE__MSG_FILE_COMMIT: service_commit(r); break;
	case RCFS__MSG_TYPE__MSG_FILE_STAT:   service_stat(r); break;
	case RCFS__MSG_TYPE__MSG_FILE_LIST:   service_list(r); break;
	case RCFS__MSG_TYPE__MSG_FILE_REMOVE: service_remove(r); break;
	case RCFS__MSG_TYPE__MSG_FILE_RENAME: service_rename(r); break;
	case RCFS__MSG_TYPE__MSG_STATUS:      service_status(r); break;
	default:
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s is not a call this node serves",
		    frame_type_name(type));
		break;
	}
}

/* Answer r with msg (of frame type `type`): on its connection, or to the
 * local caller. */
static void
service_reply(struct service_req *r, uint8_t type, const ProtobufCMessage *msg)
{
	if (r->local_cb != NULL)
		r->local_cb(r->local_arg, RCFS__ERROR_CODE__E_OK, NULL, type, (ProtobufCMessage *)msg);
	else
		conn_reply(r->conn, type, r->id, msg);
}

static struct service_req *
service_req_new(struct service *svc, struct conn *c, uint32_t id, ProtobufCMessage *msg)
{
	struct service_req *r = xcalloc(1, sizeof *r);

	r->svc = svc;
	r->conn = c;
	r->id = id;
	r->msg = msg;
	r->t0 = metrics_now();
	svc->nreqs++;
	if (c != NULL)
		conn_ref(c);
	return r;
}

static void
service_req_free(struct service_req *r)
{
	/* Client requests only: replica traffic between nodes is not a client's. */
	if (r->peer_id == 0)
		metrics_rcfs_request(&rcfs_metrics, r->op, rcfs_metrics_result_from_code(r->code), r->t0);
	r->svc->nreqs--;
	if (r->conn != NULL)
		conn_unref(r->conn);
	if (r->msg != NULL && r->local_cb == NULL)
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
	if (r->local_cb != NULL) {      /* the caller asks consensus for the leader */
		r->local_cb(r->local_arg, code, why, RCFS__MSG_TYPE__MSG_ERROR, NULL);
	} else if (code == RCFS__ERROR_CODE__E_NOT_LEADER) {
		/* Tell the client where to go (etcd and Redis Cluster do too). */
		struct consensus *cs = r->svc->p.consensus;
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

/* Propose cmd to the log; done(r, ...) gets the outcome. */
static void
service_propose(struct service_req *r, const Rcfs__Command *cmd, consensus_cb *done)
{
	size_t len;
	uint8_t *data = fsm_command_pack(cmd, &len);

	consensus_propose(r->svc->p.consensus, data, len, done, r);
	free(data);
}

/* ---- chunks ---------------------------------------------------------------- */

/* An upload for client `uploader`'s commit `seq` arriving now: protected
 * from GC until that commit is applied, for gc_grace_ms at most.  A copy
 * that names no client (repair's and the mover's copies, old clients) is
 * protected for gc_grace_ms only where no file references the chunk yet
 * (fs/chunk.h): no commit ends that. */
static struct chunk_upload
service_upload(const struct service *svc, uint64_t uploader, uint64_t seq)
{
	struct chunk_upload up;

	up.uploader = uploader;
	up.seq = uploader != 0 ? seq : 0;
	up.until_ms = time_real_ms() + svc->p.cfg->gc_grace_ms;
	return up;
}

static bool
service_self_draining(const struct service *svc)
{
	const struct member *self = members_find(svc->p.members, svc->p.cfg->node_id);

	return self != NULL && ((self->tag & MEMBER_TAG_DRAINING) || self->leaving);
}

static void
service_chunk_put(struct service_req *r)
{
	Rcfs__ChunkPut *m = (Rcfs__ChunkPut *)r->msg;
	uint8_t sha[CHUNK_HASH_LEN];
	struct chunk_upload up;

	if (m->sha256.len != CHUNK_HASH_LEN) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "chunk hash must be 32 bytes (SHA-256)");
		return;
	}
	if (m->has_have && m->have && !m->replica) {
		if (m->data.len != 0) {
			service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "a ChunkPut with have carries no data");
			return;
		}
		up = service_upload(r->svc, m->client_id, m->seq);
		replicator_have(r->svc->p.replicator, m->sha256.data, &up, service_chunk_put_done, r);
		return;
	}
	if (m->data.len > r->svc->p.cfg->chunk_size) {
		service_fail(r, RCFS__ERROR_CODE__E_TOO_LARGE, "chunk of %zu bytes is above chunk_size %u",
		    m->data.len, r->svc->p.cfg->chunk_size);
		return;
	}
	/* A call from inside the node (the S3 gateway) hashed the data itself,
	 * from the bytes it hands over: hashing them again proves nothing. */
	if (r->local_cb != NULL)
		memcpy(sha, m->sha256.data, CHUNK_HASH_LEN);
	else
		chunk_hash(m->data.data, m->data.len, sha);
	if (r->local_cb == NULL && sodium_memcmp(sha, m->sha256.data, CHUNK_HASH_LEN) != 0) {
		service_fail(r, RCFS__ERROR_CODE__E_INTEGRITY, "chunk data does not match its SHA-256");
		return;
	}
	if (m->replica && r->peer_id != 0 && service_self_draining(r->svc)) {
		/* A coordinator that has not seen the drain yet: this copy would
		 * outlive the drain's last walk. */
		service_fail(r, RCFS__ERROR_CODE__E_UNAVAILABLE, "node %llu is draining: it takes no new "
		    "chunks", (unsigned long long)r->svc->p.cfg->node_id);
		return;
	}
	if (m->replica && r->peer_id != 0 && !store_is_up(r->svc->p.store)) {
		service_fail(r, RCFS__ERROR_CODE__E_UNAVAILABLE, "storage unavailable: %s",
		    store_last_error(r->svc->p.store));
		return;
	}
	/* The callee copies the data before returning; the request may even be
	 * answered (and r freed) before it returns: r is not touched after. */
	bool borrowed = r->local_cb != NULL;
	r->msg = NULL;
	up = service_upload(r->svc, m->client_id, m->seq);
	if (m->replica && r->peer_id != 0 && m->repair)
		up.until_ms = 0;        /* a file references it: no protection (chunk.h) */
	if (m->replica && r->peer_id != 0)     /* a replica write from a peer: here only */
		chunk_put(r->svc->p.store, sha, m->data.data, m->data.len, &up, service_chunk_put_local, r);
	else
		replicator_put(r->svc->p.replicator, sha, m->data.data, m->data.len, &up,
		    service_chunk_put_done, r);
	if (!borrowed)
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

	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	resp.has_replicas = 1;
	resp.replicas = replicas;
	service_reply(r, RCFS__MSG_TYPE__MSG_CHUNK_PUT_RESP, &resp.base);
	service_req_free(r);
}

static void
service_chunk_protected(void *arg, Rcfs__ErrorCode code, const char *why, uint32_t replicas)
{
	struct service_req *r = arg;
	Rcfs__ChunkProtectResponse resp = RCFS__CHUNK_PROTECT_RESPONSE__INIT;

	(void)replicas;
	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "chunks not protected everywhere: %s", why);
		return;
	}
	service_reply(r, RCFS__MSG_TYPE__MSG_CHUNK_PROTECT_RESP, &resp.base);
	service_req_free(r);
}

/* ChunkProtect: a release is answered at once; a protection once every
 * reachable member has it (rcfs cp then checks its source is unchanged). */
static void
service_chunk_protect(struct service_req *r)
{
	Rcfs__ChunkProtect *m = (Rcfs__ChunkProtect *)r->msg;
	struct chunk_upload up = service_upload(r->svc, m->client_id, m->seq);
	bool release = m->has_release && m->release, here_only = m->replica && r->peer_id != 0;

	for (size_t i = 0; i < m->n_sha256; i++)
		if (m->sha256[i].len != CHUNK_HASH_LEN) {
			service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "chunk hash must be 32 bytes (SHA-256)");
			return;
		}
	if (m->client_id == 0) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "ChunkProtect names no client");
		return;
	}
	if (release)
		up.until_ms = 0;
	replicator_protect(r->svc->p.replicator, m->sha256, m->n_sha256, &up, time_real_ms(), here_only,
	    release ? NULL : service_chunk_protected, r);
	if (release)
		service_chunk_protected(r, RCFS__ERROR_CODE__E_OK, NULL, 0);
}

static void
service_chunk_get(struct service_req *r)
{
	Rcfs__ChunkGet *m = (Rcfs__ChunkGet *)r->msg;

	if (m->sha256.len != CHUNK_HASH_LEN) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "chunk hash must be 32 bytes (SHA-256)");
		return;
	}
	if (m->local && m->probe) {    /* is it stored here? (repair, stat -v, a put's have) */
		if (m->touch) {
			struct chunk_upload touch = service_upload(r->svc, m->client_id, m->seq);
			chunk_touch(r->svc->p.store, m->sha256.data, &touch);
		}
		chunk_probe(r->svc->p.store, m->sha256.data, service_chunk_probe_done, r);
	}
	else if (m->local && r->peer_id != 0)
		chunk_get(r->svc->p.store, m->sha256.data, service_chunk_get_done, r);
	else
		replicator_get(r->svc->p.replicator, m->sha256.data, m->client_verifies && r->peer_id == 0,
		    service_chunk_get_done, r);
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
	Rcfs__ChunkGet *m = (Rcfs__ChunkGet *)r->msg;

	if (m->probe && m->local) {     /* the mover asks: do you count yourself a home? */
		resp.has_home = 1;
		resp.home = replicator_is_home(r->svc->p.replicator, m->sha256.data);
	}
	if (code == RCFS__ERROR_CODE__E_INTEGRITY && ((Rcfs__ChunkGet *)r->msg)->local) {
		char hex[65];
		sodium_bin2hex(hex, sizeof hex, ((Rcfs__ChunkGet *)r->msg)->sha256.data, CHUNK_HASH_LEN);
		log_err("chunk %s is corrupt in storage", hex);
	}
	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	resp.data.data = (uint8_t *)data;
	resp.data.len = len;
	service_reply(r, RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP, &resp.base);
	service_req_free(r);
}

/* ---- files --------------------------------------------------------------- */

static void
service_commit(struct service_req *r)
{
	Rcfs__FileCommit *m = (Rcfs__FileCommit *)r->msg;
	const char *bad = meta_check(m->meta, r->svc->p.cfg->inline_max);

	if (bad != NULL) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s", bad);
		return;
	}
	if (m->has_seq && m->seq > FSM_SEQ_MAX) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "seq %llu is above 2^53",
		    (unsigned long long)m->seq);
		return;
	}
	if (!m->meta->has_mtime_ns) {
		m->meta->has_mtime_ns = 1;
		m->meta->mtime_ns = (uint64_t)timesync_now_ns(r->svc->p.timesync);
	}
	/* No file becomes visible before all of its chunks are stored.  A
	 * single node checks its store; in a cluster the coordinators' W-quorum
	 * acknowledgements, which the client waited for, are the evidence. */
	if (m->meta->n_chunks > 0 && r->svc->p.cfg->npeers == 0)
		chunk_exist_all(r->svc->p.store, m->meta->chunks, m->meta->n_chunks,
		    service_commit_exists, r);
	else
		service_commit_exists(r, RCFS__ERROR_CODE__E_OK, NULL);
}

static void
service_commit_exists(void *arg, Rcfs__ErrorCode code, const char *why)
{
	struct service_req *r = arg;
	Rcfs__Command cmd = RCFS__COMMAND__INIT;

	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code == RCFS__ERROR_CODE__E_NOT_FOUND ? RCFS__ERROR_CODE__E_BAD_REQUEST
		    : code, "%s", why);
		return;
	}
	cmd.commit = (Rcfs__FileCommit *)r->msg;
	/* The version's hybrid logical clock stamp (docs/clock.md). */
	cmd.commit->meta->has_hlc = 1;
	cmd.commit->meta->hlc = timesync_hlc_now(r->svc->p.timesync);
	service_propose(r, &cmd, service_commit_done);
}

static void
service_commit_done(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_result *res)
{
	struct service_req *r = arg;
	Rcfs__FileCommitResponse resp = RCFS__FILE_COMMIT_RESPONSE__INIT;

	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	resp.version = res ? res->version : 0;
	service_reply(r, RCFS__MSG_TYPE__MSG_FILE_COMMIT_RESP, &resp.base);
	service_req_free(r);
}

static void
service_stat(struct service_req *r)
{
	Rcfs__FileStat *m = (Rcfs__FileStat *)r->msg;
	const char *bad = name_check(m->name, strlen(m->name));

	if (bad != NULL) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s", bad);
		return;
	}
	service_linearizable(r, m->serializable, service_stat_read);
}

static void
service_stat_read(struct service_req *r)
{
	fsm_stat(r->svc->p.store, ((Rcfs__FileStat *)r->msg)->name, service_stat_done, r);
}

/* Reads are linearizable (ReadIndex on the leader, Raft dissertation §6.4)
 * unless the client asked for a serializable read of this node's state. */
static void
service_linearizable(struct service_req *r, bool serializable, void (*then)(struct service_req *r))
{
	if (serializable) {
		then(r);
		return;
	}
	r->after_barrier = then;
	consensus_read_barrier(r->svc->p.consensus, service_barrier_done, r);
}

static void
service_barrier_done(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_result *res)
{
	struct service_req *r = arg;

	(void)res;
	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	r->after_barrier(r);
}

/* A file read (fsm_stat) that found the file: true; else r is answered
 * (the storage error, or "no such file") and freed. */
static bool
service_found(struct service_req *r, Rcfs__ErrorCode code, const char *why,
    const Rcfs__FileMeta *meta)
{
	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return false;
	}
	if (meta == NULL) {
		service_fail(r, RCFS__ERROR_CODE__E_NOT_FOUND, "no such file");
		return false;
	}
	return true;
}

static void
service_stat_done(void *arg, Rcfs__ErrorCode code, const char *why, Rcfs__FileMeta *meta)
{
	struct service_req *r = arg;
	Rcfs__FileStatResponse resp = RCFS__FILE_STAT_RESPONSE__INIT;

	if (!service_found(r, code, why, meta))
		return;
	resp.meta = meta;
	service_reply(r, RCFS__MSG_TYPE__MSG_FILE_STAT_RESP, &resp.base);
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
	if ((m->prefix && strlen(m->prefix) > 1024) || (m->start_after && strlen(m->start_after) > 1024)) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "prefix longer than 1024 bytes");
		return;
	}
	m->has_limit = 1;
	m->limit = limit;
	service_linearizable(r, m->serializable, service_list_read);
}

static void
service_list_read(struct service_req *r)
{
	Rcfs__FileList *m = (Rcfs__FileList *)r->msg;

	fsm_list(r->svc->p.store, m->prefix ? m->prefix : "", m->start_after ? m->start_after : "",
	    m->limit, service_list_done, r);
}

static void
service_list_done(void *arg, Rcfs__ErrorCode code, const char *why, Rcfs__FileMeta **metas,
    size_t n, int more)
{
	struct service_req *r = arg;
	Rcfs__FileListResponse resp = RCFS__FILE_LIST_RESPONSE__INIT;

	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
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
	service_reply(r, RCFS__MSG_TYPE__MSG_FILE_LIST_RESP, &resp.base);
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

	if (bad != NULL) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s", bad);
		return;
	}
	if (m->has_seq && m->seq > FSM_SEQ_MAX) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "seq %llu is above 2^53",
		    (unsigned long long)m->seq);
		return;
	}
	cmd.remove = m;
	service_propose(r, &cmd, service_remove_done);
}

static void
service_remove_done(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_result *res)
{
	struct service_req *r = arg;
	Rcfs__FileRemoveResponse resp = RCFS__FILE_REMOVE_RESPONSE__INIT;

	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	if (res == NULL || res->code == RCFS__ERROR_CODE__E_NOT_FOUND) {
		service_fail(r, RCFS__ERROR_CODE__E_NOT_FOUND, "no such file");
		return;
	}
	resp.has_version = 1;
	resp.version = res->version;
	service_reply(r, RCFS__MSG_TYPE__MSG_FILE_REMOVE_RESP, &resp.base);
	service_req_free(r);
}

/* rcfs mv: read src (linearizable), then propose one entry that moves it,
 * applied only if src is still exactly what was read (fsm.c: E_CONFLICT
 * otherwise), so a put to src that commits in between is never lost. */
static void
service_rename(struct service_req *r)
{
	Rcfs__FileRename *m = (Rcfs__FileRename *)r->msg;
	const char *bad = name_check(m->src, strlen(m->src));

	if (bad == NULL)
		bad = name_check(m->dst, strlen(m->dst));
	if (bad == NULL && strcmp(m->src, m->dst) == 0)
		bad = "source and destination are the same name";
	if (bad == NULL && m->has_seq && m->seq > FSM_SEQ_MAX)
		bad = "seq is above 2^53";
	if (bad != NULL) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "%s", bad);
		return;
	}
	service_linearizable(r, false, service_rename_read);
}

static void
service_rename_read(struct service_req *r)
{
	fsm_stat(r->svc->p.store, ((Rcfs__FileRename *)r->msg)->src, service_rename_stat, r);
}

static void
service_rename_stat(void *arg, Rcfs__ErrorCode code, const char *why, Rcfs__FileMeta *meta)
{
	struct service_req *r = arg;
	Rcfs__FileRename *m = (Rcfs__FileRename *)r->msg;
	Rcfs__Command cmd = RCFS__COMMAND__INIT;
	char *src_name;

	if (!service_found(r, code, why, meta))
		return;
	/* The entry carries src as read, renamed, with the rename's HLC; the
	 * request owns it now (freed with it).  Its version and src_hlc stay
	 * src's: fsm.c rebuilds src's stored bytes from them to compare. */
	src_name = meta->name;
	meta->name = xstrdup(m->dst);
	free(src_name);
	m->has_src_hlc = meta->has_hlc;
	m->src_hlc = meta->hlc;
	meta->has_hlc = 1;
	meta->hlc = timesync_hlc_now(r->svc->p.timesync);
	m->meta = meta;
	cmd.rename = m;
	service_propose(r, &cmd, service_rename_done);
}

static void
service_rename_done(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_result *res)
{
	struct service_req *r = arg;
	Rcfs__FileRename *m = (Rcfs__FileRename *)r->msg;
	Rcfs__FileRenameResponse resp = RCFS__FILE_RENAME_RESPONSE__INIT;

	if (code == RCFS__ERROR_CODE__E_OK && (res == NULL || res->code != RCFS__ERROR_CODE__E_OK))
		code = res == NULL ? RCFS__ERROR_CODE__E_NOT_FOUND : res->code;
	if (code == RCFS__ERROR_CODE__E_NOT_FOUND) {
		service_fail(r, code, "no such file");
		return;
	}
	if (code == RCFS__ERROR_CODE__E_CONFLICT) {
		service_fail(r, code, "%s changed while it was being moved: nothing was moved", m->src);
		return;
	}
	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	resp.has_version = 1;
	resp.version = res->version;
	service_reply(r, RCFS__MSG_TYPE__MSG_FILE_RENAME_RESP, &resp.base);
	service_req_free(r);
}

/* ---- status -------------------------------------------------------------- */

static void
service_status(struct service_req *r)
{
	status_gather(&r->svc->p, service_status_gathered, r);
}

/* This node's status first, then the other members as this node sees them
 * (ids for the CLI; match index and last contact when this node leads). */
static void
service_status_gathered(void *arg, Rcfs__NodeStatus *self)
{
	struct service_req *r = arg;
	const struct rcfs_config *cfg = r->svc->p.cfg;
	struct consensus *cs = r->svc->p.consensus;
	Rcfs__StatusResponse resp = RCFS__STATUS_RESPONSE__INIT;
	Rcfs__NodeStatus *nodes[1 + RAFT_MAX_SERVERS], peers[RAFT_MAX_SERVERS];
	size_t n = 0;

	nodes[n++] = self;
	for (uint32_t i = 0; i < members_count(r->svc->p.members); i++) {
		const struct member *mb = members_at(r->svc->p.members, i);
		Rcfs__NodeStatus *ps = &peers[n - 1];
		uint64_t match;
		int64_t contact;
		if (mb->id == cfg->node_id)
			continue;
		rcfs__node_status__init(ps);
		ps->id = mb->id;
		ps->address = (char *)mb->address;
		ps->member_role = (char *)member_role_name(mb->role);
		ps->member_state = (char *)member_state_name(mb);
		ps->has_reachable = 1;
		ps->reachable = mb->peer != NULL && peer_connected(mb->peer);
		timesync_peer_status(r->svc->p.timesync, ps->id, ps);
		if (consensus_peer_progress(cs, ps->id, &match, &contact)) {
			ps->has_match_index = 1;
			ps->match_index = match;
			if (contact >= 0) {
				ps->has_last_contact_ms = 1;
				ps->last_contact_ms = (uint64_t)contact;
			}
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
	service_reply(r, RCFS__MSG_TYPE__MSG_STATUS_RESP, &resp.base);
	service_req_free(r);
}

/* ---- membership (rcfs member, docs/operations.md) ------------------------------- */

static void
service_member_reply(struct service_req *r, const char *message, uint64_t index)
{
	struct consensus *cs = r->svc->p.consensus;
	struct members *ms = r->svc->p.members;
	Rcfs__MemberResponse resp = RCFS__MEMBER_RESPONSE__INIT;
	Rcfs__Member list[RAFT_MAX_SERVERS], *ptrs[RAFT_MAX_SERVERS];
	uint64_t commit = consensus_commit_index(cs);
	uint32_t n = members_count(ms);

	for (uint32_t i = 0; i < n; i++) {
		const struct member *mb = members_at(ms, i);
		struct raft_progress_info info;
		Rcfs__Member *m = &list[i];

		rcfs__member__init(m);
		m->id = mb->id;
		m->address = (char *)mb->address;
		m->role = (char *)member_role_name(mb->role);
		m->state = (char *)member_state_name(mb);
		m->has_reachable = m->has_incarnation = m->has_admitted = 1;
		m->incarnation = mb->incarnation;
		if (mb->id == r->svc->p.cfg->node_id) {
			m->reachable = true;
			m->admitted = consensus_admitted(cs);
		} else if (consensus_progress(cs, mb->id, &info)) {
			m->reachable = info.heard && info.recently_active;
			m->admitted = info.admitted;
			m->has_match_index = m->has_lag = 1;
			m->match_index = info.match;
			m->lag = commit > info.match ? commit - info.match : 0;
		}
		ptrs[i] = m;
	}
	resp.members = ptrs;
	resp.n_members = n;
	resp.message = (char *)message;
	resp.has_leader_id = 1;
	resp.leader_id = consensus_leader(cs);
	if (index != 0) {
		resp.has_index = 1;
		resp.index = index;
	}
	service_reply(r, RCFS__MSG_TYPE__MSG_MEMBER_RESP, &resp.base);
	service_req_free(r);
}

/* What a member request changes, kept for the answer once it is applied. */
struct service_member_change {
	struct service_req *r;
	char message[200];
	uint64_t index;
};

static void
service_member_done(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_result *res)
{
	struct service_member_change *ch = arg;

	(void)res;
	if (code != RCFS__ERROR_CODE__E_OK)
		service_fail(ch->r, code, "%s", why);
	else
		service_member_reply(ch->r, ch->message, ch->index);
	free(ch);
}

/* How many members would take chunks if id stopped taking them. */
static uint32_t
service_takers_without(const struct members *ms, uint64_t id)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < members_count(ms); i++) {
		const struct member *mb = members_at(ms, i);
		k += mb->id != id && member_takes_chunks(mb);
	}
	return k;
}

static void
service_member(struct service_req *r)
{
	Rcfs__MemberRequest *m = (Rcfs__MemberRequest *)r->msg;
	struct consensus *cs = r->svc->p.consensus;
	const struct rcfs_config *cfg = r->svc->p.cfg;
	struct members *ms = r->svc->p.members;
	const struct member *mb = m->has_id ? members_find(ms, m->id) : NULL;
	struct service_member_change *ch;
	/* "Drained" is believed only from the member itself, and only while
	 * it drains: anyone else must drain it or say --force. */
	bool drained = m->drained && r->peer_id == m->id && mb != NULL && !mb->leaving &&
	    (mb->tag & MEMBER_TAG_DRAINING);
	struct raft_server srv;
	unsigned up, needed;
	char host[256];
	uint16_t port;
	int op = 0, rv;

	if (!consensus_is_leader(cs)) {
		service_fail(r, RCFS__ERROR_CODE__E_NOT_LEADER, "node %llu is not the leader",
		    (unsigned long long)cfg->node_id);
		return;
	}
	if (!m->has_op || m->op == RCFS__MEMBER_OP__MEMBER_LIST) {
		service_member_reply(r, NULL, 0);
		return;
	}
	ch = xcalloc(1, sizeof *ch);
	ch->r = r;
	memset(&srv, 0, sizeof srv);
	srv.id = m->id;
	if (m->op != RCFS__MEMBER_OP__MEMBER_MOVE_LEADER && (!m->has_id || m->id == 0)) {
		free(ch);
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "a member id is a number >= 1");
		return;
	}
	/* A member being removed (only in the committed configuration) or a
	 * peer merely noted (members_note_peer) is not a member to change. */
	if (mb != NULL && mb->leaving)
		mb = NULL;
	if (m->op != RCFS__MEMBER_OP__MEMBER_ADD && m->op != RCFS__MEMBER_OP__MEMBER_MOVE_LEADER &&
	    mb == NULL) {
		free(ch);
		service_fail(r, RCFS__ERROR_CODE__E_NOT_FOUND, "node %llu is not a member%s",
		    (unsigned long long)m->id, members_was_removed(ms, m->id) ? " (it was removed)" : "");
		return;
	}
	switch (m->op) {
	case RCFS__MEMBER_OP__MEMBER_ADD: {
		const char *role = m->role != NULL ? m->role : "learner";
		if (m->address == NULL || strlen(m->address) >= RAFT_ADDR_MAX ||
		    config_split_hostport(m->address, host, sizeof host, &port) != 0) {
			free(ch);
			service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "member address must be HOST:PORT "
			    "(at most %d bytes)", RAFT_ADDR_MAX - 1);
			return;
		}
		if (strcmp(role, "learner") == 0) {
			srv.tag = 0;
		} else if (strcmp(role, "voter") == 0) {
			srv.tag = MEMBER_TAG_PROMOTE;
		} else if (strcmp(role, "storage") == 0) {
			srv.tag = MEMBER_TAG_STORAGE;
		} else {
			free(ch);
			service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "member role must be learner, voter "
			    "or storage, not '%s'", role);
			return;
		}
		snprintf(srv.addr, sizeof srv.addr, "%s", m->address);
		if (mb != NULL && strcmp(mb->address, m->address) == 0 &&
		    ((srv.tag & MEMBER_TAG_STORAGE) != 0) == (mb->role == MEMBER_STORAGE)) {
			/* The same add again (a client retrying after the leader
			 * changed under it): it took effect. */
			free(ch);
			service_member_reply(r, "already a member at that address", 0);
			return;
		}
		op = RAFT_CONF_ADD_LEARNER;
		snprintf(ch->message, sizeof ch->message, "node %llu added as %s at %s%s",
		    (unsigned long long)m->id, strcmp(role, "voter") == 0 ? "learner" : role, m->address,
		    strcmp(role, "voter") == 0 ? "; promoted to voter once it has caught up" : "");
		break;
	}
	case RCFS__MEMBER_OP__MEMBER_PROMOTE:
		if (mb->role == MEMBER_STORAGE) {
			free(ch);
			service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "node %llu is a storage node: storage "
			    "nodes never vote (remove it, then add it again as a learner)",
			    (unsigned long long)m->id);
			return;
		}
		op = RAFT_CONF_PROMOTE;
		snprintf(ch->message, sizeof ch->message, "node %llu promoted to voter",
		    (unsigned long long)m->id);
		break;
	case RCFS__MEMBER_OP__MEMBER_REMOVE:
		if (mb->role == MEMBER_VOTER) {
			unsigned voters = 0;
			for (uint32_t i = 0; i < members_count(ms); i++)
				voters += members_at(ms, i)->role == MEMBER_VOTER;
			if (voters <= 1) {
				free(ch);
				service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "node %llu is the last voter: a "
				    "cluster cannot remove its last voter", (unsigned long long)m->id);
				return;
			}
			if (!m->force && !consensus_keeps_quorum_without(cs, m->id, &up, &needed)) {
				free(ch);
				service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "removing node %llu would leave %u "
				    "reachable voter(s), fewer than the %u a quorum needs (--force removes it "
				    "anyway)", (unsigned long long)m->id, up, needed);
				return;
			}
		}
		if (!m->force && !drained && member_takes_chunks(mb)) {
			/* Drain first: its chunks go to their new homes, then
			 * it asks to be removed (node_walk_done). */
			if (service_takers_without(ms, m->id) < cfg->replicas) {
				free(ch);
				service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "removing node %llu would leave %u "
				    "member(s) that store chunks, fewer than N = %u copies (add a member first, "
				    "or --force)", (unsigned long long)m->id, service_takers_without(ms, m->id),
				    cfg->replicas);
				return;
			}
			if (mb->id != cfg->node_id && (mb->peer == NULL || !peer_connected(mb->peer))) {
				free(ch);
				service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "node %llu is unreachable, so its "
				    "chunks cannot be drained (--force removes it at once; repair then restores "
				    "N copies from the others)", (unsigned long long)m->id);
				return;
			}
			op = RAFT_CONF_SET_TAG;
			srv.tag = mb->tag | MEMBER_TAG_DRAINING;
			snprintf(ch->message, sizeof ch->message, "node %llu is draining: its chunks move to "
			    "their other homes, then it is removed (rcfs member list shows it)",
			    (unsigned long long)m->id);
			break;
		}
		if (!m->force && !drained && (mb->tag & MEMBER_TAG_DRAINING)) {
			free(ch);
			service_member_reply(r, "draining already: it is removed once its chunks are elsewhere",
			    0);
			return;
		}
		op = RAFT_CONF_REMOVE;
		snprintf(ch->message, sizeof ch->message, "node %llu removed%s", (unsigned long long)m->id,
		    drained ? " (drained)" : m->force && member_takes_chunks(mb)
		    ? " at once: repair restores N copies of its chunks from the others" : "");
		break;
	case RCFS__MEMBER_OP__MEMBER_MOVE_LEADER:
		free(ch);
		rv = consensus_move_leader(cs, m->has_id ? m->id : 0, "rcfs member move-leader");
		if (rv == RAFT_OK) {
			service_member_reply(r, "leadership transfer started", 0);
		} else if (rv == RAFT_ENOTFOUND || rv == RAFT_ECATCHUP || rv == RAFT_ETRANSFER) {
			service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "cannot move the leadership: %s",
			    rv == RAFT_ENOTFOUND ? "the target is not another voter (or no voter is up to date)"
			    : rv == RAFT_ECATCHUP ? "the target has not been admitted yet"
			    : "a transfer is under way already");
		} else {
			service_fail(r, RCFS__ERROR_CODE__E_NOT_LEADER, "not the leader any more");
		}
		return;
	default:
		free(ch);
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "unknown member operation %d", (int)m->op);
		return;
	}
	rv = consensus_change_member(cs, op, &srv, service_member_done, ch, &ch->index);
	if (rv == RAFT_OK) {
		log_info("members: %s (configuration entry %" PRIu64 ")", ch->message, ch->index);
		return;
	}
	free(ch);
	switch (rv) {
	case RAFT_ENOTLEADER:
	case RAFT_ETRANSFER:
		service_fail(r, RCFS__ERROR_CODE__E_NOT_LEADER, "not the leader any more");
		break;
	case RAFT_ECONFPENDING:
		service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "another membership change is in progress "
		    "(one at a time): retry in a moment");
		break;
	case RAFT_ECATCHUP: {
		struct raft_progress_info info;
		uint64_t commit = consensus_commit_index(cs), lag = 0;
		if (consensus_progress(cs, m->id, &info) && commit > info.match)
			lag = commit - info.match;
		service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "node %llu is still catching up: %llu "
		    "entries behind", (unsigned long long)m->id, (unsigned long long)lag);
		break;
	}
	case RAFT_EEXIST:
		service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "node %llu is %s already",
		    (unsigned long long)m->id, op == RAFT_CONF_PROMOTE ? "a voter" : "a member");
		break;
	case RAFT_EREMOVED:
		service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "node %llu was removed from this cluster: a "
		    "removed id is never used again (add the machine under a new id)",
		    (unsigned long long)m->id);
		break;
	case RAFT_ETOOBIG:
		service_fail(r, RCFS__ERROR_CODE__E_REFUSED, "a cluster has at most %d members",
		    RAFT_MAX_SERVERS);
		break;
	case RAFT_ENOTFOUND:
		service_fail(r, RCFS__ERROR_CODE__E_NOT_FOUND, "node %llu is not a member",
		    (unsigned long long)m->id);
		break;
	default:
		service_fail(r, RCFS__ERROR_CODE__E_INTERNAL, "membership change: %s", raft_strerror(rv));
	}
}

/* ---- backup (rcfs snapshot save) ------------------------------------------------ */

/* One slice of the cached dump, from the request's offset. */
static void
service_backup_slice(struct service_req *r)
{
	Rcfs__BackupGet *m = (Rcfs__BackupGet *)r->msg;
	Rcfs__BackupGetResponse resp = RCFS__BACKUP_GET_RESPONSE__INIT;
	struct service *svc = r->svc;
	uint64_t off = m->has_offset ? m->offset : 0;
	size_t room = svc->p.cfg->max_frame > 8192 ? svc->p.cfg->max_frame - 4096 : 4096;

	if (off > svc->dump.len) {
		service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "offset %llu is past the dump's %zu bytes",
		    (unsigned long long)off, svc->dump.len);
		return;
	}
	svc->dump.expires_ms = time_mono_ms() + SERVICE_DUMP_KEEP_MS;
	resp.dump_id = svc->dump.id;
	resp.index = svc->dump.index;
	resp.total = svc->dump.len;
	resp.offset = off;
	resp.data.data = svc->dump.data + off;
	resp.data.len = svc->dump.len - off < room ? svc->dump.len - off : room;
	resp.has_term = 1;
	resp.term = svc->dump.term;
	if (members_cluster_id(svc->p.members) != 0) {
		resp.has_cluster_id = 1;
		resp.cluster_id = members_cluster_id(svc->p.members);
	}
	service_reply(r, RCFS__MSG_TYPE__MSG_BACKUP_GET_RESP, &resp.base);
	service_req_free(r);
}

static void
service_backup_dumped(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t index,
    const uint8_t *data, size_t len)
{
	struct service_req *r = arg;
	struct service *svc = r->svc;

	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	free(svc->dump.data);
	svc->dump.data = xmalloc(len ? len : 1);
	memcpy(svc->dump.data, data, len);
	svc->dump.len = len;
	svc->dump.index = index;
	svc->dump.term = consensus_term(svc->p.consensus);
	svc->dump.id = ((Rcfs__BackupGet *)r->msg)->dump_id;    /* its GC hold's holder */
	log_info("backup: file table dumped at index %llu (%zu bytes)", (unsigned long long)index, len);
	service_backup_slice(r);
}

/* After the read barrier: what is applied here is everything committed when
 * the request arrived, so the dump is a consistent, linearizable cut. */
static void
service_backup_read(struct service_req *r)
{
	fsm_snapshot_dump(r->svc->p.store, service_backup_dumped, r);
}

/* The hold is in the log: everything the cut references stays until the
 * backup releases it (or gc_grace_ms has passed). */
static void
service_backup_held(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_result *res)
{
	struct service_req *r = arg;

	(void)res;
	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	service_linearizable(r, false, service_backup_read);
}

static void
service_backup_released(void *arg, Rcfs__ErrorCode code, const char *why,
    const struct fsm_result *res)
{
	struct service_req *r = arg;
	Rcfs__BackupGet *m = (Rcfs__BackupGet *)r->msg;
	Rcfs__BackupGetResponse resp = RCFS__BACKUP_GET_RESPONSE__INIT;

	(void)res;
	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	resp.dump_id = m->dump_id;
	service_reply(r, RCFS__MSG_TYPE__MSG_BACKUP_GET_RESP, &resp.base);
	service_req_free(r);
}

/* A new dump first puts a GC hold in the log (docs/operations.md "Back up
 * and restore": chunks of files removed after the cut stay until the backup
 * has read them): a lease of SERVICE_HOLD_LEASE_MS the backup renews while it
 * reads and releases at its end. */
static void
service_backup(struct service_req *r)
{
	Rcfs__BackupGet *m = (Rcfs__BackupGet *)r->msg;
	struct service *svc = r->svc;
	Rcfs__Command cmd = RCFS__COMMAND__INIT;
	Rcfs__GcHold hold = RCFS__GC_HOLD__INIT;

	hold.has_until_ms = hold.has_issued_ms = 1;
	hold.issued_ms = time_real_ms();
	if ((m->has_release && m->release) || (m->has_renew && m->renew)) {
		if (!m->has_dump_id || m->dump_id == 0) {
			service_fail(r, RCFS__ERROR_CODE__E_BAD_REQUEST, "release or renew names no dump");
			return;
		}
		hold.holder = m->dump_id;
		hold.until_ms = m->release ? 0 : hold.issued_ms + SERVICE_HOLD_LEASE_MS;
		cmd.gc_hold = &hold;
		service_propose(r, &cmd, service_backup_released);
		return;
	}
	if (m->has_dump_id && m->dump_id != 0) {
		if (svc->dump.data == NULL || m->dump_id != svc->dump.id ||
		    time_mono_ms() > svc->dump.expires_ms) {
			service_fail(r, RCFS__ERROR_CODE__E_NOT_FOUND, "backup dump %016llx is gone (expired, "
			    "or another leader): start the backup again", (unsigned long long)m->dump_id);
			return;
		}
		service_backup_slice(r);
		return;
	}
	m->has_dump_id = 1;
	if (m->has_holder && m->holder != 0)
		m->dump_id = m->holder;         /* the client's: a retry is the same hold */
	else
		randombytes_buf(&m->dump_id, sizeof m->dump_id);
	m->dump_id = (m->dump_id | 1) & 0x7fffffffffffffffULL;  /* never 0: 0 asks for a new dump */
	hold.holder = m->dump_id;
	hold.until_ms = hold.issued_ms + SERVICE_HOLD_LEASE_MS;
	cmd.gc_hold = &hold;
	service_propose(r, &cmd, service_backup_held);
}

/* ---- rcfs gc ------------------------------------------------------------------- */

static void
service_gc_done(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_gc_result *res)
{
	struct service_req *r = arg;
	Rcfs__GcResponse resp = RCFS__GC_RESPONSE__INIT;

	if (code != RCFS__ERROR_CODE__E_OK) {
		service_fail(r, code, "%s", why);
		return;
	}
	resp.has_deleted_chunks = resp.has_deleted_bytes = 1;
	resp.deleted_chunks = res->deleted;
	resp.deleted_bytes = res->deleted_bytes;
	resp.has_waiting_chunks = resp.has_waiting_bytes = res->waiting >= 0;
	resp.waiting_chunks = res->waiting >= 0 ? (uint64_t)res->waiting : 0;
	resp.waiting_bytes = res->waiting_bytes >= 0 ? (uint64_t)res->waiting_bytes : 0;
	resp.has_held_until_ms = res->held_until_ms != 0;
	resp.held_until_ms = res->held_until_ms;
	resp.has_node_id = 1;
	resp.node_id = r->svc->p.cfg->node_id;
	service_reply(r, RCFS__MSG_TYPE__MSG_GC_RESP, &resp.base);
	service_req_free(r);
}

static void
service_gc(struct service_req *r)
{
	if (!store_is_up(r->svc->p.store)) {
		service_fail(r, RCFS__ERROR_CODE__E_UNAVAILABLE, "storage unavailable: %s",
		    store_last_error(r->svc->p.store));
		return;
	}
	gc_run(r->svc->p.gc, service_gc_done, r);
}
