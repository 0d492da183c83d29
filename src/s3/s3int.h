/* The S3 gateway's insides, shared by s3.c (server, routing, auth, errors),
 * bucket.c (buckets, listings), object.c (objects) and multipart.c
 * (multipart uploads).  Not for use outside src/s3/. */
#ifndef RCFS_S3INT_H
#define RCFS_S3INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "proto/rcfs.pb-c.h"
#include "s3/checksum.h"
#include "s3/s3.h"
#include "s3/sigv4.h"

/* Where the gateway keeps its own records in the rcfs namespace.  S3 bucket
 * names start with a letter or digit, so no bucket can be named ".s3". */
#define S3_SYS             ".s3/"
#define S3_BUCKET_MARKERS  ".s3/buckets/"   /* + bucket: made by CreateBucket */
#define S3_UPLOADS         ".s3/uploads/"   /* + bucket/upload id/: a multipart upload */
#define S3_MAX_KEYS        1000             /* objects per listing page (S3's own bound) */
#define S3_WINDOW          4                /* chunk calls in flight per request */
#define S3_SLOTS           256              /* sessions for concurrent requests */

struct s3_server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct s3_backend be;
	char *region;
	char *domain;
	unsigned active;                /* requests in progress */
	/* Sessions (exactly-once, Raft diss. §6.3): a session serves one request
	 * at a time, or a commit that arrives after a later seq of the same
	 * client id counts as a duplicate and is not applied.  A request takes
	 * a slot (client id = be.client_id + slot) for its life. */
	uint64_t slot_seq[S3_SLOTS];    /* the last seq used per slot */
	bool slot_busy[S3_SLOTS];
	uint64_t overflow;              /* one-off client ids past the slots */
	uint64_t next_id;               /* request ids */
	TAILQ_HEAD(, s3_req) reqs;
	struct s3_mpu_gc *mpu_gc;       /* removing abandoned uploads; NULL: off */
};

/* One S3 request in progress. */
struct s3_req {
	struct s3_server *s;
	struct evhttp_request *hr;
	TAILQ_ENTRY(s3_req) link;
	enum evhttp_cmd_type method;
	char *bucket;                   /* decoded; NULL for the service (GET /) */
	bool vhost;                     /* the bucket came from the Host header */
	char *key;                      /* decoded; NULL for a bucket request */
	char *name;                     /* the JSON API's file name (bucket and key unset) */
	bool json;                      /* the JSON API: errors as JSON */
	struct evkeyvalq query;         /* decoded query parameters */
	char id[17];                    /* x-amz-request-id */
	bool authed;                    /* signature verified (or auth off) */
	struct sigv4_auth auth;
	struct evbuffer *body;          /* the request body, aws-chunked framing removed */
	/* "x-amz-checksum-ALG: value\n" the body was checked against ("": none) */
	char checksum[S3_CHECKSUM_B64 + 32];
	unsigned pending;               /* backend calls in flight */
	int slot;                       /* session slot, -1 before its first commit */
	uint64_t client_id;             /* the session's client id, once it has one */
	uint64_t own_seq;               /* the seqs of a one-off client id (no slot free) */
	bool replied;
	int status;                     /* the answer's HTTP status, once replied */
	/* An internal request (hr NULL from the start): called once r is freed. */
	void (*finished)(struct s3_server *s, int status);
	void *op;                       /* the operation's state, freed by op_free */
	void (*op_free)(void *op);
	struct s3_copy_step {           /* s3_copy_commit's (borrowed from op) */
		const char *src;
		uint64_t version;
		Rcfs__FileMeta *meta;
		uint64_t seq;
		const char *doc;
		char etag[84];          /* quoted */
	} copy;
};

/* ---- s3.c ---- */
/* A request of s, held once (release with s3_req_done). */
struct s3_req *s3_req_new(struct s3_server *s, struct evhttp_request *hr);
/* Parse "a=1&b&c=x%20y" into q (decoded; a name alone gets "").  0 or -1. */
int s3_parse_query(const char *qs, struct evkeyvalq *q);
/* Answer with an S3 error document (no body for HEAD) and end r. */
void s3_fail(struct s3_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The body matched value, its checksum by alg (from a header or a
 * trailer): S3 answers it, and the object keeps it (r->checksum). */
void s3_checksum_checked(struct s3_req *r, enum s3_checksum_alg alg, const char *value);
/* Answer a failed backend call: the rcfs code as the matching S3 error. */
void s3_fail_code(struct s3_req *r, Rcfs__ErrorCode code, const char *why);
/* A backend call's answer: true if it is `want`; otherwise r is answered
 * with the failure (an unexpected type as InternalError). */
bool s3_answered(struct s3_req *r, Rcfs__ErrorCode code, const char *why, uint8_t type,
    uint8_t want);
/* Answer with status, an XML body (taken) and end r. */
void s3_reply_xml(struct s3_req *r, int status, struct evbuffer *xml);
/* Answer with status and no body and end r. */
void s3_reply_empty(struct s3_req *r, int status);
/* End r once nothing is in flight: free it if it has been answered. */
void s3_req_done(struct s3_req *r);
/* A query parameter, or NULL. */
const char *s3_query(const struct s3_req *r, const char *name);
/* A request header, or NULL. */
const char *s3_header(const struct s3_req *r, const char *name);
/* Start a backend call for r (counted in r->pending). */
void s3_call(struct s3_req *r, uint8_t type, ProtobufCMessage *msg, peer_rpc_cb *cb, void *arg);
/* The rcfs file name of bucket/key into a new string. */
char *s3_name(const char *bucket, const char *key);
/* The file r names (r->name, else bucket/key), a new string. */
char *s3_req_name(const struct s3_req *r);
/* Format ns since the epoch as ISO 8601 (listings) or RFC 1123 (headers). */
void s3_time_iso(uint64_t ns, char *out, size_t len);
void s3_time_http(uint64_t ns, char *out, size_t len);
/* The ETag of a file, without quotes: its stored ETag, else its SHA-256 in
 * hex (files put with the CLI). */
void s3_etag(const Rcfs__FileMeta *m, char *out, size_t len);
/* A new commit seq in r's session (taken at its first commit); its client
 * id is then r->client_id, for every ChunkPut, ChunkProtect, FileCommit and
 * FileRemove of that commit. */
uint64_t s3_next_seq(struct s3_req *r);

/* ---- bucket.c ---- */
void s3_list_buckets(struct s3_req *r);
void s3_bucket_create(struct s3_req *r);
void s3_bucket_head(struct s3_req *r);
void s3_bucket_delete(struct s3_req *r);
void s3_bucket_location(struct s3_req *r);
void s3_acl(struct s3_req *r);
void s3_tagging(struct s3_req *r);
void s3_list_objects(struct s3_req *r, bool v2);
/* Check that r->bucket exists, then run then(r) (or answer NoSuchBucket). */
void s3_bucket_check(struct s3_req *r, void (*then)(struct s3_req *r));
/* S3's rules: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit. */
bool s3_bucket_name_ok(const char *b);

/* ---- object.c ---- */
void s3_object_put(struct s3_req *r);
/* PutObject once the bucket is known to exist (or for the JSON API). */
void s3_object_store(struct s3_req *r);
void s3_object_get(struct s3_req *r, bool head);
void s3_object_delete(struct s3_req *r);
void s3_objects_delete(struct s3_req *r);
void s3_object_copy(struct s3_req *r);
/* The end of a copy (CopyObject, UploadPartCopy): meta names n chunks of
 * the copy source src, read at version.  Protect them for the commit of
 * seq, check that src is still at version (it referenced them when they
 * were protected, so GC cannot have freed them: else 409
 * OperationAborted), commit meta, and answer the XML document `doc`
 * (CopyObjectResult, CopyPartResult) with LastModified and ETag `etag`
 * (unquoted).  src, meta and doc are borrowed until r is answered. */
void s3_copy_commit(struct s3_req *r, const char *src, uint64_t version, Rcfs__FileMeta *meta,
    size_t n, uint64_t seq, const char *doc, const char *etag);
/* The rcfs name x-amz-copy-source names (decoded "bucket/key"; the caller
 * frees it), or NULL with r answered. */
char *s3_copy_source(struct s3_req *r);
/* A write without If-Match or If-None-Match: conditional writes are not
 * implemented (checked apart from the commit they would be a race, not a
 * condition).  False: r is answered. */
bool s3_unconditional(struct s3_req *r);
/* Whether the copy source m (as stat'ed) meets the request's
 * x-amz-copy-source-if-match, -if-none-match, -if-modified-since and
 * -if-unmodified-since (RFC 7232 §6 order, as S3).  False: r is answered
 * 412 PreconditionFailed.  The copy then re-stats the source and commits
 * only if its version is still the one checked, so the condition holds at
 * the copy's linearization point. */
bool s3_copy_source_matches(struct s3_req *r, const Rcfs__FileMeta *m);

/* Store r->body as chunks for commit `seq` (ChunkPut with the gateway's
 * client id), computing the ETag (MD5) and SHA-256; then done(r, meta)
 * with meta filled but for the name (owned by the caller from then on:
 * free with s3_meta_free), or done(r, NULL) after answering r with the
 * failure. */
typedef void s3_stored_fn(struct s3_req *r, Rcfs__FileMeta *meta);
void s3_store(struct s3_req *r, uint64_t seq, bool may_inline, s3_stored_fn *done);
/* Commit meta under name with seq; then(r, version) on success, else r is
 * answered with the failure.  meta is borrowed until then. */
typedef void s3_committed_fn(struct s3_req *r, uint64_t version);
void s3_commit(struct s3_req *r, Rcfs__FileMeta *meta, uint64_t seq, s3_committed_fn *then);
/* Protect n chunks from GC for the commit of seq (ChunkProtect, in
 * batches; chunks are copied), then then(r); a failure answers r instead.
 * release: end such a protection (no commit follows); then may be NULL. */
typedef void s3_protected_fn(struct s3_req *r);
void s3_protect(struct s3_req *r, const ProtobufCBinaryData *chunks, size_t n, uint64_t seq, bool release,
    s3_protected_fn *then);
/* Stat name (linearizable): then(r, meta) with meta (the callee's, valid
 * during the call) or NULL if there is no such file; a failure answers r. */
typedef void s3_stat_fn(struct s3_req *r, const Rcfs__FileMeta *meta);
void s3_stat(struct s3_req *r, const char *name, s3_stat_fn *then);
/* s3_stat for one of several stats in flight: then(r, at, meta) tells
 * which.  A stat that fails answers r and does not call then; the others
 * still call then with what they found: check r->replied. */
typedef void s3_stat_at_fn(struct s3_req *r, size_t at, const Rcfs__FileMeta *meta);
void s3_stat_at(struct s3_req *r, const char *name, size_t at, s3_stat_at_fn *then);
/* The request headers an object keeps (Content-Type, x-amz-meta-*, ...),
 * as "name: value\n" lines in a new string (NULL if none). */
char *s3_kept_headers_of(struct s3_req *r);
/* A new meta for name holding data[len] inline (a copy). */
Rcfs__FileMeta *s3_meta_new(const char *name, const uint8_t *data, size_t len);
/* A deep copy of m. */
Rcfs__FileMeta *s3_meta_copy(const Rcfs__FileMeta *m);
/* Free a meta made by s3_store, s3_meta_new or s3_meta_copy. */
void s3_meta_free(Rcfs__FileMeta *m);

/* ---- api.c ---- */
/* The JSON answer to a file stored through the API. */
void s3_api_stored(struct s3_req *r, const Rcfs__FileMeta *meta, uint64_t version);
/* A JSON error document {"error": code, "message": ...}. */
void s3_api_error(struct s3_req *r, int status, const char *code, const char *msg);

/* ---- multipart.c ---- */
void s3_multipart_create(struct s3_req *r);
void s3_multipart_part(struct s3_req *r);
void s3_multipart_part_copy(struct s3_req *r);
void s3_multipart_complete(struct s3_req *r);
void s3_multipart_abort(struct s3_req *r);
void s3_multipart_list_parts(struct s3_req *r);
void s3_multipart_list_uploads(struct s3_req *r);
/* Remove multipart uploads older than be.upload_expiry_ms, on the leader,
 * every quarter of that (1 s to 1 h): s3_mpu_gc_start from s3_new,
 * s3_mpu_gc_stop from s3_free. */
void s3_mpu_gc_start(struct s3_server *s);
void s3_mpu_gc_stop(struct s3_server *s);

#endif
