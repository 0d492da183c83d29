/* The S3-compatible gateway (docs/s3.md): Amazon S3's REST API on evhttp,
 * over the node's event_base, mapped onto rcfs files.  A bucket is the first
 * component of a file name, a key the rest: object "2024/a.jpg" of bucket
 * "photos" is the file "photos/2024/a.jpg".
 *
 * The gateway is a client of the cluster inside the node: it splits bodies
 * into chunks, stores them (ChunkPut) and commits files (FileCommit), reads
 * them back (FileStat, ChunkGet), all through backend->call, which the node
 * answers itself or forwards to the leader.  It knows nothing else of the
 * node. */
#ifndef RCFS_S3_H
#define RCFS_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/peer.h"
#include "s3/sigv4.h"

struct event_base;
struct s3_server;

/* What a key may do (docs/security.md roles). */
enum s3_access {
	S3_ACCESS_NONE = 0,
	S3_ACCESS_READ,         /* GET, HEAD, listings */
	S3_ACCESS_WRITE,        /* ... and PUT, POST, DELETE */
};

/* The node as the gateway sees it (copied by s3_new; arg is borrowed). */
struct s3_backend {
	/* Run a client request of frame type `type` (msg borrowed until cb)
	 * against the cluster; cb as for peer_rpc, exactly once. */
	void (*call)(void *arg, uint8_t type, ProtobufCMessage *msg, peer_rpc_cb *cb, void *cb_arg);
	/* SigV4 secrets: as sigv4_lookup_fn, plus what the key may do in *access. */
	int (*lookup)(void *arg, const char *key_id, char *secret, enum s3_access *access);
	/* The N homes of a chunk (placement) into ids[max]; how many. */
	uint32_t (*homes)(void *arg, const uint8_t *sha256, uint64_t *ids, uint32_t max);
	/* The node's measured clock: ms since the epoch (docs/clock.md). */
	int64_t (*now_ms)(void *arg);
	/* This node is the Raft leader: the cluster-wide chores (removing
	 * abandoned multipart uploads) run there only. */
	bool (*leader)(void *arg);
	void *arg;
	bool auth;                      /* requests must be signed (SigV4) */
	const char *region;             /* signatures must name it; NULL: any (copied) */
	const char *domain;             /* virtual-host style under it; NULL: none (copied) */
	uint32_t upload_expiry_ms;      /* multipart uploads older than this go; 0: never */
	uint64_t client_id;             /* the gateway's client id for exactly-once commits */
	uint32_t chunk_size;            /* bytes per chunk of stored objects */
	uint32_t inline_max;            /* objects up to this size are stored inline */
	uint32_t max_body;              /* bytes of one request body */
	uint32_t max_conns;             /* connections with a request in progress */
};

/* Listen on "host:port" (numeric; port 0 picks one, see s3_port), or on
 * nothing if listen is NULL (the JSON API only).  Returns NULL with one
 * line in err[errlen] on failure. */
struct s3_server *s3_new(struct event_base *base, const char *listen, const struct s3_backend *be,
    char *err, size_t errlen);
/* Close the listener and every connection; requests in flight are
 * abandoned (their backend calls finish into nothing).  NULL is fine. */
void s3_free(struct s3_server *s);
/* The bound TCP port (0 if none). */
unsigned s3_port(const struct s3_server *s);

/* The original design's JSON API on the node's HTTP endpoint (docs/s3.md
 * "JSON API"): answer req, a request under /api/; may_write: the caller's
 * credentials allow PUT and DELETE. */
struct evhttp_request;
void s3_api(struct s3_server *s, struct evhttp_request *req, bool may_write);

#endif
