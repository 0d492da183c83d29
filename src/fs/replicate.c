/* Chunk placement and quorum: every chunk lives on N nodes chosen by
 * rendezvous (highest random weight) hashing; a put is acknowledged once W of
 * them stored it durably; a get takes the first good copy in placement order.
 *
 * Placement skips unreachable nodes (the next node in rendezvous order takes
 * the copy), so N copies are made whenever N nodes are up and a put succeeds
 * whenever W are; repair moves copies back to their home nodes later. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/chunk.h"
#include "fs/replicate.h"
#include "net/peer.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct rep_node {
	uint64_t id;
	struct peer *peer;              /* NULL: this node */
	uint64_t score;
};

struct rep_put {
	struct replicator *rp;
	rep_put_cb *cb;
	void *arg;
	uint32_t targets, ok, failed;
	bool answered;
	char last_err[200];
};

struct rep_get {
	struct replicator *rp;
	rep_get_cb *cb;
	void *arg;
	uint8_t sha[CHUNK_HASH_LEN];
	struct rep_node order[REP_MAX_NODES];
	uint32_t n, next;
	uint32_t not_found, corrupt;
	char last_err[200];
};

struct replicator {
	struct store *st;
	uint64_t self;
	struct rep_node nodes[REP_MAX_NODES];
	uint32_t n;
	uint32_t replicas, write_quorum;
};

static uint64_t rep_mix(uint64_t x);
static uint32_t rep_order(struct replicator *rp, const uint8_t *sha, struct rep_node *out);
static bool rep_available(const struct replicator *rp, const struct rep_node *n);
static void rep_put_local_done(void *arg, Rcfs__ErrorCode code, const char *why);
static void rep_put_peer_done(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg);
static void rep_put_result(struct rep_put *op, Rcfs__ErrorCode code, const char *why);
static void rep_get_next(struct rep_get *op);
static void rep_get_local_done(void *arg, Rcfs__ErrorCode code, const char *why,
    const uint8_t *data, size_t len);
static void rep_get_peer_done(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg);

/* splitmix64 finalizer: a good 64-bit mix. */
static uint64_t
rep_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

struct replicator *
replicator_new(struct store *st, uint64_t self, const uint64_t *ids, struct peer **peers,
    uint32_t n, uint32_t replicas, uint32_t write_quorum)
{
	struct replicator *rp = xcalloc(1, sizeof *rp);

	rp->st = st;
	rp->self = self;
	rp->n = n < REP_MAX_NODES ? n : REP_MAX_NODES;
	for (uint32_t i = 0; i < rp->n; i++) {
		rp->nodes[i].id = ids[i];
		rp->nodes[i].peer = peers[i];
	}
	rp->replicas = replicas;
	rp->write_quorum = write_quorum;
	return rp;
}

void
replicator_free(struct replicator *rp)
{
	free(rp);
}

/* All nodes, highest rendezvous weight for this chunk first. */
static uint32_t
rep_order(struct replicator *rp, const uint8_t *sha, struct rep_node *out)
{
	uint64_t key;

	memcpy(&key, sha, sizeof key);
	for (uint32_t i = 0; i < rp->n; i++) {
		out[i] = rp->nodes[i];
		out[i].score = rep_mix(key ^ rep_mix(rp->nodes[i].id));
	}
	for (uint32_t i = 1; i < rp->n; i++)    /* insertion sort, n <= 16 */
		for (uint32_t j = i; j > 0 && out[j].score > out[j - 1].score; j--) {
			struct rep_node t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return rp->n;
}

uint32_t
replicator_home(struct replicator *rp, const uint8_t *sha, uint64_t *ids, uint32_t max)
{
	struct rep_node order[REP_MAX_NODES];
	uint32_t n = rep_order(rp, sha, order), k = 0;

	for (uint32_t i = 0; i < n && k < max && k < rp->replicas; i++)
		ids[k++] = order[i].id;
	return k;
}

static bool
rep_available(const struct replicator *rp, const struct rep_node *n)
{
	return n->peer == NULL ? store_is_up(rp->st) : peer_connected(n->peer);
}

/* ---- put ------------------------------------------------------------------------ */

void
replicator_put(struct replicator *rp, const uint8_t *sha, const uint8_t *data, size_t len,
    uint64_t now_ms, rep_put_cb *cb, void *arg)
{
	struct rep_node order[REP_MAX_NODES], chosen[REP_MAX_NODES];
	uint32_t n = rep_order(rp, sha, order), k = 0, up = 0;
	struct rep_put *op;
	char why[200];

	for (uint32_t i = 0; i < n; i++)
		if (rep_available(rp, &order[i])) {
			up++;
			if (k < rp->replicas)
				chosen[k++] = order[i];
		}
	if (k < rp->write_quorum) {
		snprintf(why, sizeof why, "no quorum: %u of %u nodes reachable (need %u)", up, n,
		    rp->write_quorum);
		cb(arg, RCFS__ERROR_CODE__E_NO_QUORUM, why, 0);
		return;
	}
	op = xcalloc(1, sizeof *op);
	op->rp = rp;
	op->cb = cb;
	op->arg = arg;
	op->targets = k;
	for (uint32_t i = 0; i < k; i++) {
		if (chosen[i].peer == NULL) {
			chunk_put(rp->st, sha, data, len, now_ms, rep_put_local_done, op);
		} else {
			Rcfs__ChunkPut req = RCFS__CHUNK_PUT__INIT;
			req.sha256.data = (uint8_t *)sha;
			req.sha256.len = CHUNK_HASH_LEN;
			req.data.data = (uint8_t *)data;
			req.data.len = len;
			req.has_replica = req.replica = 1;
			peer_rpc(chosen[i].peer, RCFS__MSG_TYPE__MSG_CHUNK_PUT, &req.base, rep_put_peer_done, op);
		}
	}
}

static void
rep_put_local_done(void *arg, Rcfs__ErrorCode code, const char *why)
{
	rep_put_result(arg, code, why);
}

static void
rep_put_peer_done(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	(void)type; (void)msg;
	rep_put_result(arg, code, err);
}

static void
rep_put_result(struct rep_put *op, Rcfs__ErrorCode code, const char *why)
{
	struct replicator *rp = op->rp;
	char msg[300];

	if (code == RCFS__ERROR_CODE__E_OK) {
		op->ok++;
	} else {
		op->failed++;
		snprintf(op->last_err, sizeof op->last_err, "%s", why ? why : "error");
	}
	if (!op->answered && op->ok >= rp->write_quorum) {
		op->answered = true;
		op->cb(op->arg, RCFS__ERROR_CODE__E_OK, NULL, op->ok);
	} else if (!op->answered && op->ok + (op->targets - op->ok - op->failed) < rp->write_quorum) {
		op->answered = true;
		if (rp->write_quorum == 1 && op->targets == 1 && code != RCFS__ERROR_CODE__E_OK) {
			op->cb(op->arg, code, op->last_err, op->ok);  /* one copy: its own error */
		} else {
			snprintf(msg, sizeof msg, "no quorum: stored on %u of %u replicas (need %u): %s",
			    op->ok, op->targets, rp->write_quorum, op->last_err);
			op->cb(op->arg, code == RCFS__ERROR_CODE__E_STORAGE_FULL ? code
			    : RCFS__ERROR_CODE__E_NO_QUORUM, msg, op->ok);
		}
	}
	if (op->ok + op->failed == op->targets)
		free(op);
}

/* ---- get ------------------------------------------------------------------------- */

void
replicator_get(struct replicator *rp, const uint8_t *sha, rep_get_cb *cb, void *arg)
{
	struct rep_get *op = xcalloc(1, sizeof *op);

	op->rp = rp;
	op->cb = cb;
	op->arg = arg;
	memcpy(op->sha, sha, CHUNK_HASH_LEN);
	op->n = rep_order(rp, sha, op->order);
	/* Local copy first when this node is a home of the chunk: no hop. */
	for (uint32_t i = 1; i < op->n && i < rp->replicas; i++)
		if (op->order[i].peer == NULL) {
			struct rep_node t = op->order[i];
			memmove(&op->order[1], &op->order[0], i * sizeof op->order[0]);
			op->order[0] = t;
			break;
		}
	snprintf(op->last_err, sizeof op->last_err, "no replica answered");
	rep_get_next(op);
}

static void
rep_get_next(struct rep_get *op)
{
	char msg[300];

	while (op->next < op->n) {
		struct rep_node *nd = &op->order[op->next++];
		if (!rep_available(op->rp, nd))
			continue;
		if (nd->peer == NULL) {
			chunk_get(op->rp->st, op->sha, rep_get_local_done, op);
		} else {
			Rcfs__ChunkGet req = RCFS__CHUNK_GET__INIT;
			req.sha256.data = op->sha;
			req.sha256.len = CHUNK_HASH_LEN;
			req.has_local = req.local = 1;
			peer_rpc(nd->peer, RCFS__MSG_TYPE__MSG_CHUNK_GET, &req.base, rep_get_peer_done, op);
		}
		return;
	}
	/* No good copy anywhere we could reach. */
	if (op->corrupt > 0 && op->not_found + op->corrupt == op->n) {
		op->cb(op->arg, RCFS__ERROR_CODE__E_INTEGRITY, "every copy of the chunk fails its SHA-256 check", NULL, 0);
	} else if (op->not_found + op->corrupt == op->n) {
		op->cb(op->arg, RCFS__ERROR_CODE__E_NOT_FOUND, "no such chunk", NULL, 0);
	} else {
		snprintf(msg, sizeof msg, "chunk unavailable: %u of %u nodes answered: %s",
		    op->not_found + op->corrupt, op->n, op->last_err);
		op->cb(op->arg, RCFS__ERROR_CODE__E_UNAVAILABLE, msg, NULL, 0);
	}
	free(op);
}

static void
rep_get_local_done(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data,
    size_t len)
{
	struct rep_get *op = arg;

	if (code == RCFS__ERROR_CODE__E_OK) {
		op->cb(op->arg, code, NULL, data, len);
		free(op);
		return;
	}
	if (code == RCFS__ERROR_CODE__E_NOT_FOUND)
		op->not_found++;
	else if (code == RCFS__ERROR_CODE__E_INTEGRITY)
		op->corrupt++;
	snprintf(op->last_err, sizeof op->last_err, "%s", why ? why : "error");
	rep_get_next(op);
}

static void
rep_get_peer_done(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	struct rep_get *op = arg;
	uint8_t sha[CHUNK_HASH_LEN];

	if (code == RCFS__ERROR_CODE__E_OK && type == RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP) {
		Rcfs__ChunkGetResponse *r = (Rcfs__ChunkGetResponse *)msg;
		/* Trust no one: verify the peer's copy too. */
		chunk_hash(r->data.data, r->data.len, sha);
		if (sodium_memcmp(sha, op->sha, CHUNK_HASH_LEN) == 0) {
			op->cb(op->arg, code, NULL, r->data.data, r->data.len);
			free(op);
			return;
		}
		code = RCFS__ERROR_CODE__E_INTEGRITY;
		err = "peer sent a chunk that does not match its SHA-256";
	}
	if (code == RCFS__ERROR_CODE__E_NOT_FOUND)
		op->not_found++;
	else if (code == RCFS__ERROR_CODE__E_INTEGRITY)
		op->corrupt++;
	snprintf(op->last_err, sizeof op->last_err, "%s", err ? err : "error");
	rep_get_next(op);
}

/* ---- repair ----------------------------------------------------------------------- */

struct rep_repair {
	struct replicator *rp;
	uint8_t sha[CHUNK_HASH_LEN];
	struct rep_node homes[REP_MAX_NODES];
	bool missing[REP_MAX_NODES];
	uint32_t n, pending, copies;
	rep_put_cb *cb;
	void *arg;
};

static void rep_repair_probed(struct rep_repair *op);
static void rep_repair_local_probe(void *arg, Rcfs__ErrorCode code, const char *why);
static void rep_repair_peer_probe(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg);
static void rep_repair_got(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data,
    size_t len);
static void rep_repair_stored(void *arg, Rcfs__ErrorCode code, const char *why);
static void rep_repair_peer_stored(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg);
static void rep_repair_finish(struct rep_repair *op);

/* Per-probe context: which home answered. */
struct rep_probe {
	struct rep_repair *op;
	uint32_t i;
};

bool
replicator_is_primary(struct replicator *rp, const uint8_t *sha)
{
	struct rep_node order[REP_MAX_NODES];
	uint32_t n = rep_order(rp, sha, order);

	for (uint32_t i = 0; i < n && i < rp->replicas; i++)
		if (rep_available(rp, &order[i]))
			return order[i].peer == NULL;
	return false;
}

void
replicator_repair(struct replicator *rp, const uint8_t *sha, rep_put_cb *cb, void *arg)
{
	struct rep_repair *op = xcalloc(1, sizeof *op);
	struct rep_node order[REP_MAX_NODES];
	uint32_t n = rep_order(rp, sha, order);

	op->rp = rp;
	op->cb = cb;
	op->arg = arg;
	memcpy(op->sha, sha, CHUNK_HASH_LEN);
	for (uint32_t i = 0; i < n && i < rp->replicas; i++)
		if (rep_available(rp, &order[i]))
			op->homes[op->n++] = order[i];
	op->pending = op->n + 1;        /* +1: held until every probe is sent */
	for (uint32_t i = 0; i < op->n; i++) {
		struct rep_probe *pr = xcalloc(1, sizeof *pr);
		pr->op = op;
		pr->i = i;
		if (op->homes[i].peer == NULL) {
			chunk_probe(rp->st, op->sha, rep_repair_local_probe, pr);
		} else {
			Rcfs__ChunkGet req = RCFS__CHUNK_GET__INIT;
			req.sha256.data = op->sha;
			req.sha256.len = CHUNK_HASH_LEN;
			req.has_local = req.local = req.has_probe = req.probe = 1;
			peer_rpc(op->homes[i].peer, RCFS__MSG_TYPE__MSG_CHUNK_GET, &req.base,
			    rep_repair_peer_probe, pr);
		}
	}
	if (--op->pending == 0)
		rep_repair_probed(op);
}

static void
rep_repair_local_probe(void *arg, Rcfs__ErrorCode code, const char *why)
{
	struct rep_probe *pr = arg;
	struct rep_repair *op = pr->op;

	(void)why;
	op->missing[pr->i] = code == RCFS__ERROR_CODE__E_NOT_FOUND;
	free(pr);
	if (--op->pending == 0)
		rep_repair_probed(op);
}

static void
rep_repair_peer_probe(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	(void)err; (void)type; (void)msg;
	rep_repair_local_probe(arg, code, NULL);
}

static void
rep_repair_probed(struct rep_repair *op)
{
	bool any = false;

	for (uint32_t i = 0; i < op->n; i++)
		any |= op->missing[i];
	if (!any) {
		rep_repair_finish(op);
		return;
	}
	replicator_get(op->rp, op->sha, rep_repair_got, op);
}

static void
rep_repair_got(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data, size_t len)
{
	struct rep_repair *op = arg;

	if (code != RCFS__ERROR_CODE__E_OK) {
		op->cb(op->arg, code, why, 0);
		free(op);
		return;
	}
	op->pending = 1;
	for (uint32_t i = 0; i < op->n; i++) {
		if (!op->missing[i])
			continue;
		op->pending++;
		if (op->homes[i].peer == NULL) {
			chunk_put(op->rp->st, op->sha, data, len, 0, rep_repair_stored, op);
		} else {
			Rcfs__ChunkPut req = RCFS__CHUNK_PUT__INIT;
			req.sha256.data = op->sha;
			req.sha256.len = CHUNK_HASH_LEN;
			req.data.data = (uint8_t *)data;
			req.data.len = len;
			req.has_replica = req.replica = 1;
			peer_rpc(op->homes[i].peer, RCFS__MSG_TYPE__MSG_CHUNK_PUT, &req.base,
			    rep_repair_peer_stored, op);
		}
	}
	if (--op->pending == 0)
		rep_repair_finish(op);
}

static void
rep_repair_stored(void *arg, Rcfs__ErrorCode code, const char *why)
{
	struct rep_repair *op = arg;

	(void)why;
	if (code == RCFS__ERROR_CODE__E_OK)
		op->copies++;
	if (--op->pending == 0)
		rep_repair_finish(op);
}

static void
rep_repair_peer_stored(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	(void)type; (void)msg;
	rep_repair_stored(arg, code, err);
}

static void
rep_repair_finish(struct rep_repair *op)
{
	op->cb(op->arg, RCFS__ERROR_CODE__E_OK, NULL, op->copies);
	free(op);
}
