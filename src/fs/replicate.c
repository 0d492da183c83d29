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
#include "net/ratelimit.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* A member in a chunk's rendezvous order.  Operations keep ids, never
 * peer pointers: a link may close while they wait (rep_peer() finds the
 * current one). */
struct rep_node {
	uint64_t id;
	bool takes;                     /* a home candidate (takes new chunks) */
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
	bool reader_verifies;           /* replicator_get's: no hashing here */
	char last_err[200];
};

struct replicator {
	struct store *st;
	uint64_t self;
	struct rep_member nodes[REP_MAX_NODES];
	uint32_t n;
	uint32_t replicas, write_quorum;
	bool known;                     /* members follow the Raft configuration */
	uint64_t epoch;                 /* bumped by every replicator_set_members */
	struct token_bucket *copy_budget;   /* repair's copies (NULL: unbounded) */
	size_t copy_estimate;           /* bytes charged per copy before its size is known */
};

static uint64_t rep_mix(uint64_t x);
static struct peer *rep_peer(const struct replicator *rp, uint64_t id);
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
replicator_new(struct store *st, uint64_t self, uint32_t replicas, uint32_t write_quorum)
{
	struct replicator *rp = xcalloc(1, sizeof *rp);

	rp->st = st;
	rp->self = self;
	rp->nodes[0].id = self;
	rp->nodes[0].takes = true;
	rp->n = 1;
	rp->replicas = replicas;
	rp->write_quorum = write_quorum;
	return rp;
}

void
replicator_set_members(struct replicator *rp, const struct rep_member *m, uint32_t n, bool known)
{
	rp->n = n < REP_MAX_NODES ? n : REP_MAX_NODES;
	memcpy(rp->nodes, m, rp->n * sizeof *m);
	rp->known = known;
	rp->epoch++;
}

bool
replicator_placement_known(const struct replicator *rp)
{
	return rp->known;
}

uint32_t
replicator_members(const struct replicator *rp)
{
	return rp->n;
}

void
replicator_free(struct replicator *rp)
{
	free(rp);
}

/* The current link to member id; NULL for this node or one that left. */
static struct peer *
rep_peer(const struct replicator *rp, uint64_t id)
{
	for (uint32_t i = 0; i < rp->n; i++)
		if (rp->nodes[i].id == id)
			return rp->nodes[i].peer;
	return NULL;
}

/* All members in the chunk's rendezvous order (highest random weight
 * first), those that take chunks before those that do not (draining and
 * learners: a copy may still sit there). */
static uint32_t
rep_order(struct replicator *rp, const uint8_t *sha, struct rep_node *out)
{
	uint64_t key;

	memcpy(&key, sha, sizeof key);
	for (uint32_t i = 0; i < rp->n; i++) {
		out[i].id = rp->nodes[i].id;
		out[i].takes = rp->nodes[i].takes;
		out[i].score = rep_mix(key ^ rep_mix(rp->nodes[i].id));
	}
	for (uint32_t i = 1; i < rp->n; i++)    /* insertion sort, n <= 16 */
		for (uint32_t j = i; j > 0 && (out[j].takes > out[j - 1].takes ||
		    (out[j].takes == out[j - 1].takes && out[j].score > out[j - 1].score)); j--) {
			struct rep_node t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return rp->n;
}

/* How many of order's first members are homes: N takers at most. */
static uint32_t
rep_homes(const struct replicator *rp, const struct rep_node *order, uint32_t n)
{
	uint32_t k = 0;

	while (k < n && k < rp->replicas && order[k].takes)
		k++;
	return k;
}

uint32_t
replicator_home(struct replicator *rp, const uint8_t *sha, uint64_t *ids, uint32_t max)
{
	struct rep_node order[REP_MAX_NODES];
	uint32_t n = rep_order(rp, sha, order), homes = rep_homes(rp, order, n), k = 0;

	for (uint32_t i = 0; i < homes && k < max; i++)
		ids[k++] = order[i].id;
	return k;
}

bool
replicator_is_home(struct replicator *rp, const uint8_t *sha)
{
	struct rep_node order[REP_MAX_NODES];
	uint32_t n, homes;

	if (!rp->known)
		return false;   /* never confirm a handoff from an address book's view */
	n = rep_order(rp, sha, order);
	homes = rep_homes(rp, order, n);

	for (uint32_t i = 0; i < homes; i++)
		if (order[i].id == rp->self)
			return true;
	return false;
}

static bool
rep_available(const struct replicator *rp, const struct rep_node *n)
{
	struct peer *p;

	if (n->id == rp->self)
		return store_is_up(rp->st);
	p = rep_peer(rp, n->id);
	return p != NULL && peer_connected(p);
}

/* ---- put ------------------------------------------------------------------------ */

void
replicator_put(struct replicator *rp, const uint8_t *sha, const uint8_t *data, size_t len,
    const struct chunk_upload *up_, rep_put_cb *cb, void *arg)
{
	struct rep_node order[REP_MAX_NODES], chosen[REP_MAX_NODES];
	uint32_t n = rep_order(rp, sha, order), k = 0, up = 0;
	struct rep_put *op;
	char why[200];

	for (uint32_t i = 0; i < n; i++)
		if (order[i].takes && rep_available(rp, &order[i])) {
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
		if (chosen[i].id == rp->self) {
			chunk_put(rp->st, sha, data, len, up_, rep_put_local_done, op);
		} else {
			Rcfs__ChunkPut req = RCFS__CHUNK_PUT__INIT;
			req.sha256.data = (uint8_t *)sha;
			req.sha256.len = CHUNK_HASH_LEN;
			req.data.data = (uint8_t *)data;
			req.data.len = len;
			req.has_replica = req.replica = 1;
			req.has_client_id = req.has_seq = up_->uploader != 0;
			req.client_id = up_->uploader;
			req.seq = up_->seq;
			peer_rpc(rep_peer(rp, chosen[i].id), RCFS__MSG_TYPE__MSG_CHUNK_PUT, &req.base,
			    rep_put_peer_done, op);
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
replicator_get(struct replicator *rp, const uint8_t *sha, bool reader_verifies, rep_get_cb *cb,
    void *arg)
{
	struct rep_get *op = xcalloc(1, sizeof *op);

	op->rp = rp;
	op->reader_verifies = reader_verifies;
	op->cb = cb;
	op->arg = arg;
	memcpy(op->sha, sha, CHUNK_HASH_LEN);
	op->n = rep_order(rp, sha, op->order);
	/* Local copy first when this node is a home of the chunk: no hop. */
	for (uint32_t i = 1; i < rep_homes(rp, op->order, op->n); i++)
		if (op->order[i].id == rp->self) {
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
		if (nd->id == op->rp->self && op->reader_verifies) {
			chunk_read(op->rp->st, op->sha, rep_get_local_done, op);
		} else if (nd->id == op->rp->self) {
			chunk_get(op->rp->st, op->sha, rep_get_local_done, op);
		} else {
			Rcfs__ChunkGet req = RCFS__CHUNK_GET__INIT;
			req.sha256.data = op->sha;
			req.sha256.len = CHUNK_HASH_LEN;
			req.has_local = req.local = 1;
			peer_rpc(rep_peer(op->rp, nd->id), RCFS__MSG_TYPE__MSG_CHUNK_GET, &req.base,
			    rep_get_peer_done, op);
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
		/* Trust no one: verify the peer's copy too (unless the reader
		 * does: the peer verified its own copy before sending it). */
		if (!op->reader_verifies)
			chunk_hash(r->data.data, r->data.len, sha);
		if (op->reader_verifies || sodium_memcmp(sha, op->sha, CHUNK_HASH_LEN) == 0) {
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

/* ---- protect ---------------------------------------------------------------------- */

struct rep_protect {
	rep_put_cb *cb;
	void *arg;
	uint32_t pending, ok, failed;
	char last_err[200];
};

static void
rep_protect_answered(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	struct rep_protect *op = arg;

	(void)type; (void)msg;
	if (code == RCFS__ERROR_CODE__E_OK) {
		op->ok++;
	} else {
		op->failed++;
		snprintf(op->last_err, sizeof op->last_err, "%s", err ? err : "error");
	}
	if (--op->pending > 0)
		return;
	if (op->cb != NULL && op->failed > 0)
		op->cb(op->arg, RCFS__ERROR_CODE__E_UNAVAILABLE, op->last_err, op->ok);
	else if (op->cb != NULL)
		op->cb(op->arg, RCFS__ERROR_CODE__E_OK, NULL, op->ok);
	free(op);
}

void
replicator_protect(struct replicator *rp, const ProtobufCBinaryData *shas, size_t n,
    const struct chunk_upload *up, uint64_t now_ms, bool local_only, rep_put_cb *cb, void *arg)
{
	Rcfs__ChunkProtect req = RCFS__CHUNK_PROTECT__INIT;
	struct rep_protect *op = xcalloc(1, sizeof *op);

	op->cb = cb;
	op->arg = arg;
	op->pending = 1;                /* held until every request is sent */
	for (size_t i = 0; i < n; i++) {
		if (shas[i].len != CHUNK_HASH_LEN)
			continue;
		if (up->until_ms == 0)
			chunk_release(rp->st, shas[i].data, up, now_ms);
		else
			chunk_touch(rp->st, shas[i].data, up);
	}
	req.sha256 = (ProtobufCBinaryData *)shas;
	req.n_sha256 = n;
	req.client_id = up->uploader;
	req.has_seq = 1;
	req.seq = up->seq;
	req.has_replica = req.replica = 1;
	req.has_release = req.release = up->until_ms == 0;
	for (uint32_t i = 0; !local_only && i < rp->n; i++) {
		struct peer *p = rp->nodes[i].id != rp->self ? rp->nodes[i].peer : NULL;
		if (p != NULL && peer_connected(p)) {
			op->pending++;
			peer_rpc(p, RCFS__MSG_TYPE__MSG_CHUNK_PROTECT, &req.base, rep_protect_answered, op);
		}
	}
	/* This node's commands are queued on its store ahead of anything the
	 * caller does next: it counts as done if the store is up. */
	rep_protect_answered(op, store_is_up(rp->st) ? RCFS__ERROR_CODE__E_OK
	    : RCFS__ERROR_CODE__E_UNAVAILABLE, "storage unavailable", 0, NULL);
}

/* ---- repair ----------------------------------------------------------------------- */

struct rep_repair {
	struct replicator *rp;
	uint8_t sha[CHUNK_HASH_LEN];
	struct rep_node homes[REP_MAX_NODES];
	bool missing[REP_MAX_NODES];
	uint32_t n, pending, copies, nmissing;
	double charged;                 /* bytes charged to the copy budget ahead */
	size_t len;                     /* the chunk's size, once read */
	rep_repair_cb *cb;
	void *arg;
	/* replicator_have: a client's put without data.  Probes and copies
	 * protect the chunk for the uploader (up), no copy budget.  Repair:
	 * up is zero (its copies are of referenced chunks). */
	rep_put_cb *have_cb;
	struct chunk_upload up;
	uint32_t held;                  /* homes whose probe found a verified copy */
	uint32_t unprobed;              /* probes not answered yet */
	bool answered;                  /* have_cb ran (at W holders, the copies go on) */
	bool answered_ok;
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
static void rep_repair_start(struct replicator *rp, struct rep_repair *op, const uint8_t *sha);

/* Per-probe context: which home answered. */
struct rep_probe {
	struct rep_repair *op;
	uint32_t i;
};

bool
replicator_is_primary(struct replicator *rp, const uint8_t *sha)
{
	struct rep_node order[REP_MAX_NODES];
	uint32_t n = rep_order(rp, sha, order), homes = rep_homes(rp, order, n);

	for (uint32_t i = 0; i < homes; i++)
		if (rep_available(rp, &order[i]))
			return order[i].id == rp->self;
	return false;
}

void
replicator_repair(struct replicator *rp, const uint8_t *sha, rep_repair_cb *cb, void *arg)
{
	struct rep_repair *op = xcalloc(1, sizeof *op);

	op->cb = cb;
	op->arg = arg;
	rep_repair_start(rp, op, sha);
}

void
replicator_have(struct replicator *rp, const uint8_t *sha, const struct chunk_upload *up,
    rep_put_cb *cb, void *arg)
{
	struct rep_repair *op = xcalloc(1, sizeof *op);

	op->have_cb = cb;
	op->arg = arg;
	op->up = *up;
	rep_repair_start(rp, op, sha);
}

/* Probe every reachable home of sha (repair and have). */
static void
rep_repair_start(struct replicator *rp, struct rep_repair *op, const uint8_t *sha)
{
	struct rep_node order[REP_MAX_NODES];
	uint32_t n = rep_order(rp, sha, order), homes = rep_homes(rp, order, n);

	op->rp = rp;
	memcpy(op->sha, sha, CHUNK_HASH_LEN);
	for (uint32_t i = 0; i < homes; i++)
		if (rep_available(rp, &order[i]))
			op->homes[op->n++] = order[i];
	op->unprobed = op->n;
	op->pending = op->n + 1;        /* +1: held until every probe is sent */
	for (uint32_t i = 0; i < op->n; i++) {
		struct rep_probe *pr = xcalloc(1, sizeof *pr);
		pr->op = op;
		pr->i = i;
		if (op->homes[i].id == rp->self) {
			if (op->have_cb != NULL)
				chunk_touch(rp->st, op->sha, &op->up);
			chunk_probe(rp->st, op->sha, rep_repair_local_probe, pr);
		} else {
			Rcfs__ChunkGet req = RCFS__CHUNK_GET__INIT;
			req.sha256.data = op->sha;
			req.sha256.len = CHUNK_HASH_LEN;
			req.has_local = req.local = req.has_probe = req.probe = 1;
			req.has_touch = req.touch = op->have_cb != NULL;
			req.has_client_id = req.has_seq = op->have_cb != NULL && op->up.uploader != 0;
			req.client_id = op->up.uploader;
			req.seq = op->up.seq;
			peer_rpc(rep_peer(rp, op->homes[i].id), RCFS__MSG_TYPE__MSG_CHUNK_GET, &req.base,
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
	op->held += code == RCFS__ERROR_CODE__E_OK;
	op->unprobed--;
	free(pr);
	/* As a put answers at W: a home that hangs does not hold the client
	 * up, either way (if W can no longer be reached, the client sends the
	 * data to the homes that answer). */
	if (op->have_cb != NULL && !op->answered && op->held >= op->rp->write_quorum) {
		op->answered = op->answered_ok = true;
		op->have_cb(op->arg, RCFS__ERROR_CODE__E_OK, NULL, op->held);
	} else if (op->have_cb != NULL && !op->answered && op->held + op->unprobed < op->rp->write_quorum &&
	    op->unprobed > 0) {
		op->answered = true;
		op->have_cb(op->arg, op->held == 0 ? RCFS__ERROR_CODE__E_NOT_FOUND : RCFS__ERROR_CODE__E_NO_QUORUM,
		    "not held by W homes that answer", op->held);
	}
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

void
replicator_set_copy_budget(struct replicator *rp, struct token_bucket *budget, size_t estimate)
{
	rp->copy_budget = budget;
	rp->copy_estimate = estimate;
}

bool
replicator_copy_budget_ready(struct replicator *rp)
{
	return rp->copy_budget == NULL || ratelimit_ready(rp->copy_budget, ratelimit_now_ns());
}

/* Copies start only while the copy budget is ready, charged ahead with the
 * estimate (so that the repairs probed in one tick cannot all pass at once)
 * and settled to the real size once the chunk is read. */
static void
rep_repair_probed(struct rep_repair *op)
{
	struct replicator *rp = op->rp;

	for (uint32_t i = 0; i < op->n; i++)
		op->nmissing += op->missing[i];
	if (op->answered && !op->answered_ok) {
		free(op);               /* the client sends the data */
		return;
	}
	if (op->nmissing == 0) {
		rep_repair_finish(op);
		return;
	}
	if (rp->copy_budget != NULL && op->have_cb == NULL) {
		uint64_t now = ratelimit_now_ns();
		if (!ratelimit_ready(rp->copy_budget, now)) {
			op->cb(op->arg, RCFS__ERROR_CODE__E_RATE_LIMITED, "copy budget spent", 0, 0);
			free(op);
			return;
		}
		op->charged = (double)rp->copy_estimate * op->nmissing;
		ratelimit_charge(rp->copy_budget, op->charged, now);
	}
	replicator_get(rp, op->sha, false, rep_repair_got, op);
}

static void
rep_repair_got(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data, size_t len)
{
	struct rep_repair *op = arg;
	double cost = code == RCFS__ERROR_CODE__E_OK ? (double)len * op->nmissing : 0;

	if (op->rp->copy_budget != NULL && op->have_cb == NULL)
		ratelimit_charge(op->rp->copy_budget, cost - op->charged, ratelimit_now_ns());
	if (code != RCFS__ERROR_CODE__E_OK && op->have_cb != NULL) {
		rep_repair_finish(op);          /* the homes that hold it (none: E_NOT_FOUND) */
		return;
	}
	if (code != RCFS__ERROR_CODE__E_OK) {
		op->cb(op->arg, code, why, 0, 0);
		free(op);
		return;
	}
	op->len = len;
	op->pending = 1;
	for (uint32_t i = 0; i < op->n; i++) {
		bool self = op->homes[i].id == op->rp->self;

		/* A home that is no longer a member gets no copy. */
		if (!op->missing[i] || (!self && rep_peer(op->rp, op->homes[i].id) == NULL))
			continue;
		op->pending++;
		if (self) {
			chunk_put(op->rp->st, op->sha, data, len, &op->up, rep_repair_stored, op);
		} else {
			Rcfs__ChunkPut req = RCFS__CHUNK_PUT__INIT;
			req.sha256.data = op->sha;
			req.sha256.len = CHUNK_HASH_LEN;
			req.data.data = (uint8_t *)data;
			req.data.len = len;
			req.has_replica = req.replica = 1;
			req.has_client_id = req.has_seq = op->up.uploader != 0;
			req.client_id = op->up.uploader;
			req.seq = op->up.seq;
			req.has_repair = req.repair = op->have_cb == NULL;
			peer_rpc(rep_peer(op->rp, op->homes[i].id), RCFS__MSG_TYPE__MSG_CHUNK_PUT, &req.base,
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
	uint32_t holders = op->held + op->copies;
	char why[120];

	if (op->answered) {
		/* answered at W already */
	} else if (op->have_cb == NULL) {
		op->cb(op->arg, RCFS__ERROR_CODE__E_OK, NULL, op->copies, (uint64_t)op->copies * op->len);
	} else if (holders >= op->rp->write_quorum) {
		op->have_cb(op->arg, RCFS__ERROR_CODE__E_OK, NULL, holders);
	} else {
		snprintf(why, sizeof why, "no quorum: held by %u of %u replicas (need %u)", holders,
		    op->rp->replicas, op->rp->write_quorum);
		op->have_cb(op->arg, holders == 0 ? RCFS__ERROR_CODE__E_NOT_FOUND : RCFS__ERROR_CODE__E_NO_QUORUM,
		    why, holders);
	}
	free(op);
}

/* ---- handoff (rebalance, drain) -------------------------------------------------- */

/* This node's copy of a chunk it is not a home of goes to the homes, then
 * away: each home is probed (it must hold a copy that verifies and count
 * itself a home of the chunk), given this node's verified copy if it lacks
 * one and probed again; only when all N homes confirmed is the local copy
 * deleted.  So the mover never leaves a chunk with fewer than N verified
 * copies, and two nodes that disagree about the membership cannot hand a
 * chunk to each other and both drop it (a node that does not count itself a
 * home never confirms). */
struct rep_handoff {
	struct replicator *rp;
	uint8_t sha[CHUNK_HASH_LEN];
	uint64_t homes[REP_MAX_NODES];
	uint32_t n, pending, confirmed, pushed;
	uint8_t *data;
	size_t len;
	uint64_t epoch;                 /* rp->epoch when it started */
	bool protected;                 /* an upload protects the copy here: so must the homes */
	rep_handoff_cb *cb;
	void *arg;
	char why[200];
};

struct rep_handoff_step {
	struct rep_handoff *op;
	uint64_t home;
	bool pushed;                    /* the copy was pushed: this is the second probe */
};

static void rep_handoff_checked(void *arg, Rcfs__ErrorCode code, const char *why);
static void rep_handoff_got(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data,
    size_t len);
static void rep_handoff_probe(struct rep_handoff *op, uint64_t home, bool pushed);
static void rep_handoff_probed(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg);
static void rep_handoff_pushed(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg);
static void rep_handoff_step_done(struct rep_handoff *op);
static void rep_handoff_dropped(void *arg, Rcfs__ErrorCode code, const char *why);

void
replicator_handoff(struct replicator *rp, const uint8_t *sha, rep_handoff_cb *cb, void *arg)
{
	struct rep_handoff *op;
	struct rep_node order[REP_MAX_NODES];
	uint32_t n = rep_order(rp, sha, order), homes = rep_homes(rp, order, n);

	if (!rp->known) {
		cb(arg, RCFS__ERROR_CODE__E_UNAVAILABLE, "the membership is not known yet", 0);
		return;
	}
	if (homes < rp->replicas) {
		cb(arg, RCFS__ERROR_CODE__E_UNAVAILABLE, "fewer members take chunks than N", 0);
		return;
	}
	for (uint32_t i = 0; i < homes; i++)
		if (order[i].id == rp->self) {
			cb(arg, RCFS__ERROR_CODE__E_UNAVAILABLE, "this node is a home of the chunk", 0);
			return;
		}
	op = xcalloc(1, sizeof *op);
	op->rp = rp;
	op->cb = cb;
	op->arg = arg;
	op->epoch = rp->epoch;
	memcpy(op->sha, sha, CHUNK_HASH_LEN);
	for (uint32_t i = 0; i < homes; i++)
		op->homes[op->n++] = order[i].id;
	chunk_protected(rp->st, sha, rep_handoff_checked, op);
}

/* A copy an upload protects here (its commit may not be applied anywhere
 * yet) is handed off with a protection: the probes ask each home to protect
 * its copy for gc_grace_ms, even one that a file there references (which
 * an rm could unreference before the upload's commit). */
static void
rep_handoff_checked(void *arg, Rcfs__ErrorCode code, const char *why)
{
	struct rep_handoff *op = arg;

	if (code != RCFS__ERROR_CODE__E_OK && code != RCFS__ERROR_CODE__E_NOT_FOUND) {
		op->cb(op->arg, code, why, 0);
		free(op);
		return;
	}
	op->protected = code == RCFS__ERROR_CODE__E_OK;
	chunk_get(op->rp->st, op->sha, rep_handoff_got, op);
}

static void
rep_handoff_got(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data, size_t len)
{
	struct rep_handoff *op = arg;

	if (code != RCFS__ERROR_CODE__E_OK) {
		/* Gone already (GC), or corrupt here: the scrubber's business. */
		op->cb(op->arg, code, why, 0);
		free(op);
		return;
	}
	op->data = xmalloc(len ? len : 1);
	memcpy(op->data, data, len);
	op->len = len;
	op->pending = op->n + 1;
	for (uint32_t i = 0; i < op->n; i++)
		rep_handoff_probe(op, op->homes[i], false);
	rep_handoff_step_done(op);
}

static void
rep_handoff_probe(struct rep_handoff *op, uint64_t home, bool pushed)
{
	struct peer *p = rep_peer(op->rp, home);
	struct rep_handoff_step *st;
	Rcfs__ChunkGet req = RCFS__CHUNK_GET__INIT;

	if (p == NULL || !peer_connected(p)) {
		snprintf(op->why, sizeof op->why, "home %" PRIu64 " is unreachable", home);
		rep_handoff_step_done(op);
		return;
	}
	st = xcalloc(1, sizeof *st);
	st->op = op;
	st->home = home;
	st->pushed = pushed;
	req.sha256.data = op->sha;
	req.sha256.len = CHUNK_HASH_LEN;
	req.has_local = req.local = req.has_probe = req.probe = 1;
	if (op->protected) {            /* this node's id as the uploader: never "0:0" */
		req.has_touch = req.touch = 1;
		req.has_client_id = 1;
		req.client_id = op->rp->self;
		req.has_seq = 1;
		req.seq = 0;
	}
	peer_rpc(p, RCFS__MSG_TYPE__MSG_CHUNK_GET, &req.base, rep_handoff_probed, st);
}

static void
rep_handoff_probed(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	struct rep_handoff_step *st = arg;
	struct rep_handoff *op = st->op;
	struct peer *p;

	if (code == RCFS__ERROR_CODE__E_OK && type == RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP) {
		if (((Rcfs__ChunkGetResponse *)msg)->home)
			op->confirmed++;
		else
			snprintf(op->why, sizeof op->why, "node %" PRIu64 " does not count itself a home yet",
			    st->home);
	} else if (code == RCFS__ERROR_CODE__E_NOT_FOUND && !st->pushed &&
	    (p = rep_peer(op->rp, st->home)) != NULL) {
		Rcfs__ChunkPut req = RCFS__CHUNK_PUT__INIT;
		req.sha256.data = op->sha;
		req.sha256.len = CHUNK_HASH_LEN;
		req.data.data = op->data;
		req.data.len = op->len;
		req.has_replica = req.replica = 1;
		peer_rpc(p, RCFS__MSG_TYPE__MSG_CHUNK_PUT, &req.base, rep_handoff_pushed, st);
		return;
	} else {
		snprintf(op->why, sizeof op->why, "node %" PRIu64 ": %s", st->home, err ? err : "error");
	}
	free(st);
	rep_handoff_step_done(op);
}

static void
rep_handoff_pushed(void *arg, Rcfs__ErrorCode code, const char *err, uint8_t type,
    ProtobufCMessage *msg)
{
	struct rep_handoff_step *st = arg;
	struct rep_handoff *op = st->op;

	(void)type; (void)msg;
	if (code == RCFS__ERROR_CODE__E_OK) {
		op->pushed++;
		rep_handoff_probe(op, st->home, true);  /* confirm: verified, and a home */
	} else {
		snprintf(op->why, sizeof op->why, "copy to node %" PRIu64 ": %s", st->home,
		    err ? err : "error");
		rep_handoff_step_done(op);
	}
	free(st);
}

static void
rep_handoff_step_done(struct rep_handoff *op)
{
	if (--op->pending > 0)
		return;
	free(op->data);
	op->data = NULL;
	/* The membership may have changed while the homes were probed (they
	 * answered for another view): then nothing is dropped now, the next
	 * walk decides again.  Checked here, right before the DEL is queued,
	 * so no later probe of this node can be answered from the copy. */
	if (op->confirmed == op->n && (op->epoch != op->rp->epoch || replicator_is_home(op->rp, op->sha)))
		snprintf(op->why, sizeof op->why, "the membership changed during the handoff");
	else if (op->confirmed == op->n) {
		chunk_drop(op->rp->st, op->sha, op->protected, rep_handoff_dropped, op);
		return;
	}
	op->cb(op->arg, RCFS__ERROR_CODE__E_UNAVAILABLE, op->why, op->len);
	free(op);
}

static void
rep_handoff_dropped(void *arg, Rcfs__ErrorCode code, const char *why)
{
	struct rep_handoff *op = arg;

	if (code == RCFS__ERROR_CODE__E_OK && op->pushed > 0)
		log_debug("rebalance: %u copies made before the handoff", op->pushed);
	op->cb(op->arg, code, why, op->len);
	free(op);
}
