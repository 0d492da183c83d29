/* The chunk store: immutable blobs named by their SHA-256, in the node's redis
 * under "rcfs:c:<64 hex>".  Every written chunk is protected from GC for its
 * uploader (rcfs:u:<hex>, a hash uploader -> ms, expiring with its last
 * protection) until that uploader's commit is applied or the protection's
 * time is up, and entered in the GC set (rcfs:gc, hex -> ms when GC should
 * look at it again), so a chunk that a put has uploaded and not yet committed
 * survives, while a removed file's chunks go at once (docs/design.md "GC"). */
#ifndef RCFS_CHUNK_H
#define RCFS_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/rcfs.pb-c.h"

struct store;

#define CHUNK_HASH_LEN 32   /* SHA-256 */

/* code: E_OK, or an error code with a one-line cause in why. */
typedef void chunk_done_cb(void *arg, Rcfs__ErrorCode code, const char *why);
/* data/len valid during the call only. */
typedef void chunk_data_cb(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data,
    size_t len);

/* Hash data with SHA-256 into out[32] (OpenSSL libcrypto, util/sha256.h). */
void chunk_hash(const uint8_t *data, size_t len, uint8_t *out);
/* Write the redis key of a chunk ("rcfs:c:" + hex) into key[72]. */
void chunk_key(const uint8_t *sha, char *key);

/* Who wrote a chunk, for GC: the upload protects the chunk until until_ms
 * (ms since the epoch; 0: not at all), or until the commit (client_id
 * `uploader`, seq `seq`) it is for is applied, whichever is first.  A copy
 * with no uploader (0: the mover) is protected only where no file
 * references the chunk yet (a home applying the commit late); a repair's
 * copy (until_ms 0) not at all: if its file was removed meanwhile, the next
 * GC pass takes it. */
struct chunk_upload {
	uint64_t uploader;
	uint64_t seq;
	uint64_t until_ms;
};

/* Store a chunk (data copied before return), protected as up says; the
 * callback runs once redis acknowledged the write (durable with appendfsync
 * always). */
void chunk_put(struct store *st, const uint8_t *sha, const uint8_t *data, size_t len,
    const struct chunk_upload *up, chunk_done_cb *cb, void *arg);
/* Read a chunk and verify its hash: E_NOT_FOUND if absent, E_INTEGRITY if the
 * stored bytes do not hash to `sha`. */
void chunk_get(struct store *st, const uint8_t *sha, chunk_data_cb *cb, void *arg);
/* Read a chunk without hashing it (the reader verifies it: ChunkGet's
 * client_verifies).  E_NOT_FOUND if absent. */
void chunk_read(struct store *st, const uint8_t *sha, chunk_data_cb *cb, void *arg);
/* Whether this node holds a good copy: reads and verifies it.  E_OK, or
 * E_NOT_FOUND if it is absent or corrupt (then also marked in rcfs:corrupt
 * until a good copy is written). */
void chunk_probe(struct store *st, const uint8_t *sha, chunk_done_cb *cb, void *arg);
/* A put is about to reference the chunk: protect it as up says, as if it
 * had been uploaded now.  Fire and forget, queued in order on st: touch
 * before a probe, so a chunk the probe finds is one the GC spares. */
void chunk_touch(struct store *st, const uint8_t *sha, const struct chunk_upload *up);
/* The upload's commit will not come: end up's protection of the chunk
 * (others' stay); GC looks at the chunk at its next pass (now_ms: ms since
 * the epoch).  Fire and forget. */
void chunk_release(struct store *st, const uint8_t *sha, const struct chunk_upload *up,
    uint64_t now_ms);
/* Delete this node's copy of a chunk (rebalance: once its homes hold it).
 * Unless protected_ok (the homes were asked to protect it), a copy an
 * upload here protects stays (its commit may not be applied anywhere yet)
 * and cb gets E_UNAVAILABLE. */
void chunk_drop(struct store *st, const uint8_t *sha, bool protected_ok, chunk_done_cb *cb,
    void *arg);
/* Whether an upload protects this node's copy of a chunk: cb gets E_OK if
 * one does, E_NOT_FOUND if none. */
void chunk_protected(struct store *st, const uint8_t *sha, chunk_done_cb *cb, void *arg);
/* One step of a walk over the chunks stored on this node (redis SCAN:
 * every chunk present for the whole walk is seen at least once).  cursor 0
 * starts a walk; next is 0 when it is over.  shas valid during the call;
 * bytes: the sizes of those n chunks, summed. */
typedef void chunk_scan_cb(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t next,
    const uint8_t (*shas)[CHUNK_HASH_LEN], size_t n, uint64_t bytes);
void chunk_scan(struct store *st, uint64_t cursor, unsigned count, chunk_scan_cb *cb, void *arg);
/* Check that all n chunks exist: E_OK, or E_NOT_FOUND naming how many are missing. */
void chunk_exist_all(struct store *st, const ProtobufCBinaryData *shas, size_t n,
    chunk_done_cb *cb, void *arg);

#endif
