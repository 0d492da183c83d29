/* Chunk placement (rendezvous hashing) and N/W quorum writes, first-good-copy
 * reads.  See src/fs/replicate.c. */
#ifndef RCFS_REPLICATE_H
#define RCFS_REPLICATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/rcfs.pb-c.h"

#define REP_MAX_NODES 16

struct store;
struct token_bucket;
struct peer;
struct replicator;
struct chunk_upload;

/* replicas: durable copies made (>= W on success). */
typedef void rep_put_cb(void *arg, Rcfs__ErrorCode code, const char *why, uint32_t replicas);
/* data/len valid during the call only; verified against the chunk's SHA-256. */
typedef void rep_get_cb(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data,
    size_t len);

/* A member as placement sees it. */
struct rep_member {
	uint64_t id;
	struct peer *peer;      /* link to it (borrowed); NULL for this node */
	bool takes;             /* a home candidate: takes new chunks (not draining, not a learner) */
};

/* For node `self`, alone until replicator_set_members.  replicas = N,
 * write_quorum = W. */
struct replicator *replicator_new(struct store *st, uint64_t self, uint32_t replicas,
    uint32_t write_quorum);
void replicator_free(struct replicator *rp);
/* The members now (copied; the links are borrowed until the next call).
 * Operations in flight find their members' links again by id.  known:
 * the list follows the Raft configuration (not a config file's address
 * book); until it does, this node counts itself a home of nothing and
 * hands nothing off. */
void replicator_set_members(struct replicator *rp, const struct rep_member *m, uint32_t n,
    bool known);
/* Whether the members follow the Raft configuration (see above). */
bool replicator_placement_known(const struct replicator *rp);
/* How many members placement knows (this node included). */
uint32_t replicator_members(const struct replicator *rp);

/* Store a chunk on the first N reachable nodes in its rendezvous order (here
 * protected as up says; peers protect it for up->uploader by their own
 * gc_grace_ms); cb
 * once W have it durably (E_OK) or once that can no longer happen
 * (E_NO_QUORUM with "stored on k of N replicas (need W)").  data is copied
 * before return. */
void replicator_put(struct replicator *rp, const uint8_t *sha, const uint8_t *data, size_t len,
    const struct chunk_upload *up, rep_put_cb *cb, void *arg);
/* Fetch a chunk: this node's copy first if it is a home of the chunk, then
 * every other reachable node in rendezvous order, until a copy verifies.
 * reader_verifies: the caller hashes the data itself (a client's ChunkGet
 * with client_verifies): this node sends its own copy unhashed and does not
 * re-hash a peer's (which the peer verified). */
void replicator_get(struct replicator *rp, const uint8_t *sha, bool reader_verifies, rep_get_cb *cb,
    void *arg);
/* Whether this node is the first reachable home of the chunk (it then takes
 * charge of repairing it). */
bool replicator_is_primary(struct replicator *rp, const uint8_t *sha);
/* Make sure every reachable home holds the chunk: probe each, fetch a good
 * copy from anywhere if some lack it, push it to them.  cb's replicas = copies
 * made (0 if none were missing); E_RATE_LIMITED if copies were needed but
 * the copy budget was spent (nothing done: try again later). */
/* A repair's outcome: copies made and their bytes (copies x the chunk's size). */
typedef void rep_repair_cb(void *arg, Rcfs__ErrorCode code, const char *why, uint32_t copies,
    uint64_t bytes);
void replicator_repair(struct replicator *rp, const uint8_t *sha, rep_repair_cb *cb, void *arg);
/* A client's put without data (ChunkPut.have): whether the cluster already
 * holds the chunk.  Probes every reachable home, protecting the chunk from GC
 * for the uploader where a verified copy is (up: a commit that references it
 * follows); copies a good copy, from anywhere, to the homes
 * lacking one.  cb as for replicator_put, replicas = homes holding it:
 * E_OK if at least W (answered as soon as W homes confirmed: the copies go
 * on); E_NOT_FOUND if no home that answered holds a verified copy and none
 * elsewhere could be fetched; else E_NO_QUORUM (also as soon as the homes
 * still to answer cannot make W).  Either way the client sends the data. */
void replicator_have(struct replicator *rp, const uint8_t *sha, const struct chunk_upload *up,
    rep_put_cb *cb, void *arg);
/* ChunkProtect: protect shas[0..n-1] from GC as up says (up->until_ms 0:
 * release: end up->uploader's protection, GC looks at them at now_ms) here
 * and, unless local_only, on every reachable member (where a put may have
 * stored them, stand-ins included).  cb (may be NULL) once every member
 * asked has answered (replicas: how many did). */
void replicator_protect(struct replicator *rp, const ProtobufCBinaryData *shas, size_t n,
    const struct chunk_upload *up, uint64_t now_ms, bool local_only, rep_put_cb *cb, void *arg);
/* Bound repair's copies by a byte budget (borrowed; the node shares it with
 * the mover): a repair that must copy starts only while budget is ready,
 * charged estimate bytes per copy until the chunk's size is known. */
void replicator_set_copy_budget(struct replicator *rp, struct token_bucket *budget, size_t estimate);
/* Whether a copy could start now (no budget set, or it is ready). */
bool replicator_copy_budget_ready(struct replicator *rp);
/* The N home nodes of a chunk (rendezvous order over the members that take
 * chunks, reachable or not) into ids[max]; returns how many. */
uint32_t replicator_home(struct replicator *rp, const uint8_t *sha, uint64_t *ids, uint32_t max);
/* Whether this node is one of the chunk's N homes. */
bool replicator_is_home(struct replicator *rp, const uint8_t *sha);
/* Rebalance and drain: hand this node's copy of a chunk it is not a home
 * of to the N homes (each must confirm a verified copy and count itself a
 * home; a home lacking one gets this node's verified copy), then delete it
 * here.  cb: E_OK once deleted, otherwise the
 * copy is kept and why says which home did not confirm.  bytes: the
 * chunk's size (0 if it could not be read). */
typedef void rep_handoff_cb(void *arg, Rcfs__ErrorCode code, const char *why, size_t bytes);
void replicator_handoff(struct replicator *rp, const uint8_t *sha, rep_handoff_cb *cb, void *arg);

#endif
