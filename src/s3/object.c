/* Objects: PutObject, GetObject/HeadObject (ranges, conditions),
 * DeleteObject, DeleteObjects, CopyObject, and the store/commit/stat steps
 * that multipart.c shares (docs/s3.md). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "s3/checksum.h"
#include "s3/s3int.h"
#include "s3/xml.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/xmalloc.h"

#define S3_GET_BACKLOG (4u << 20)       /* bytes queued on a connection before fetching waits */
#define S3_RECHECK_MS 100               /* ... and how often it is looked at while waiting */

/* Bytes of kept headers a commit may carry (fs/meta.c's
 * META_S3_HEADERS_MAX; the gateway does not depend on fs/). */
#define S3_HEADERS_MAX 8192

/* Headers kept with an object and given back on GET/HEAD. */
static const char *const s3_kept_headers[] = {
	"Content-Type", "Content-Encoding", "Content-Disposition", "Content-Language",
	"Cache-Control", "Expires",
};

/* A header an object may keep: one of s3_kept_headers or x-amz-meta-*. */
static bool
s3_kept_header(const char *name)
{
	for (size_t i = 0; i < sizeof s3_kept_headers / sizeof s3_kept_headers[0]; i++)
		if (strcasecmp(name, s3_kept_headers[i]) == 0)
			return true;
	return strncasecmp(name, "x-amz-meta-", 11) == 0 && name[11] != '\0';
}

/* The stored checksum line of headers ("x-amz-checksum-ALG: value"), as
 * a new string with its "\n", or NULL if there is none. */
static char *
s3_stored_checksum(const char *headers)
{
	for (const char *l = headers, *e; l != NULL && *l != '\0'; l = e + 1) {
		const char *colon = strchr(l, ':');
		if ((e = strchr(l, '\n')) == NULL)
			break;
		if (colon != NULL && colon < e && strncasecmp(l, "x-amz-checksum-", 15) == 0) {
			char *name = xstrndup(l, (size_t)(colon - l));
			bool ours = s3_checksum_alg_of(name) != S3_CHECKSUM_NONE;
			free(name);
			if (ours)
				return xstrndup(l, (size_t)(e - l + 1));
		}
	}
	return NULL;
}

/* Append line ("name: value\n") to *headers (a string or NULL). */
static void
s3_headers_add(char **headers, const char *line)
{
	size_t len = (*headers != NULL ? strlen(*headers) : 0) + strlen(line) + 1;
	char *h = xmalloc(len);

	snprintf(h, len, "%s%s", *headers != NULL ? *headers : "", line);
	free(*headers);
	*headers = h;
}

/* Keep the checksum the request's body was checked against with meta's
 * headers, for GET and HEAD with x-amz-checksum-mode: ENABLED; not if the
 * headers would pass their limit (fs/meta.c: the object is then stored
 * without it rather than refused). */
static void
s3_keep_checksum(struct s3_req *r, Rcfs__FileMeta *meta)
{
	if (r->checksum[0] != '\0' &&
	    (meta->s3_headers != NULL ? strlen(meta->s3_headers) : 0) + strlen(r->checksum) <= S3_HEADERS_MAX)
		s3_headers_add(&meta->s3_headers, r->checksum);
}

/* GetObject's response-content-type=... and the like: the header is the
 * query's, not the stored one. */
static void
s3_response_overrides(struct s3_req *r, struct evkeyvalq *out)
{
	static const char *const over[][2] = {
		{ "response-content-type", "Content-Type" },
		{ "response-content-language", "Content-Language" },
		{ "response-expires", "Expires" },
		{ "response-cache-control", "Cache-Control" },
		{ "response-content-disposition", "Content-Disposition" },
		{ "response-content-encoding", "Content-Encoding" },
	};

	for (size_t i = 0; i < sizeof over / sizeof over[0]; i++) {
		const char *v = s3_query(r, over[i][0]);
		if (v == NULL || strpbrk(v, "\r\n") != NULL)
			continue;
		evhttp_remove_header(out, over[i][1]);
		evhttp_add_header(out, over[i][1], v);
	}
}

bool
s3_unconditional(struct s3_req *r)
{
	static const char *const conds[] = { "If-Match", "If-None-Match" };

	for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++)
		if (s3_header(r, conds[i]) != NULL) {
			s3_fail(r, 501, "NotImplemented", "conditional writes (%s) are not implemented",
			    conds[i]);
			return false;
		}
	return true;
}

/* ---- metas ------------------------------------------------------------------ */

Rcfs__FileMeta *
s3_meta_new(const char *name, const uint8_t *data, size_t len)
{
	Rcfs__FileMeta *m = xcalloc(1, sizeof *m);

	rcfs__file_meta__init(m);
	m->name = xstrdup(name);
	m->size = len;
	m->chunk_size = 1;
	m->sha256.data = xmalloc(SHA256_LEN);
	m->sha256.len = SHA256_LEN;
	sha256(m->sha256.data, data, len);
	m->has_inline_data = 1;
	m->inline_data.data = xmalloc(len ? len : 1);
	memcpy(m->inline_data.data, data, len);
	m->inline_data.len = len;
	return m;
}

Rcfs__FileMeta *
s3_meta_copy(const Rcfs__FileMeta *m)
{
	size_t len = rcfs__file_meta__get_packed_size(m);
	uint8_t *buf = xmalloc(len ? len : 1);
	Rcfs__FileMeta *c;

	rcfs__file_meta__pack(m, buf);
	c = rcfs__file_meta__unpack(NULL, len, buf);
	free(buf);
	if (c == NULL)
		abort();        /* we packed it: out of memory */
	return c;
}

void
s3_meta_free(Rcfs__FileMeta *m)
{
	if (m != NULL)
		rcfs__file_meta__free_unpacked(m, NULL);   /* every field is malloc'ed */
}

/* ---- stat and commit ---------------------------------------------------------- */

struct s3_stat_op {
	struct s3_req *r;
	Rcfs__FileStat req;
	char *name;
	s3_stat_fn *then;
	s3_stat_at_fn *then_at;         /* instead of then, with at */
	size_t at;
	s3_committed_fn *committed;
	Rcfs__FileCommit commit;
};

static void
s3_stat_got(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type, ProtobufCMessage *msg)
{
	struct s3_stat_op *op = arg;
	struct s3_req *r = op->r;

	const Rcfs__FileMeta *m = NULL;

	if (code == RCFS__ERROR_CODE__E_NOT_FOUND ||
	    s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_STAT_RESP)) {
		if (code == RCFS__ERROR_CODE__E_OK)
			m = ((Rcfs__FileStatResponse *)msg)->meta;
		if (op->then_at != NULL)
			op->then_at(r, op->at, m);
		else
			op->then(r, m);
	}
	free(op->name);
	free(op);
	s3_req_done(r);
}

static void
s3_stat_start(struct s3_req *r, const char *name, s3_stat_fn *then, s3_stat_at_fn *then_at,
    size_t at)
{
	struct s3_stat_op *op = xcalloc(1, sizeof *op);

	op->r = r;
	op->name = xstrdup(name);
	op->then = then;
	op->then_at = then_at;
	op->at = at;
	rcfs__file_stat__init(&op->req);
	op->req.name = op->name;
	s3_call(r, RCFS__MSG_TYPE__MSG_FILE_STAT, &op->req.base, s3_stat_got, op);
}

void
s3_stat(struct s3_req *r, const char *name, s3_stat_fn *then)
{
	s3_stat_start(r, name, then, NULL, 0);
}

void
s3_stat_at(struct s3_req *r, const char *name, size_t at, s3_stat_at_fn *then)
{
	s3_stat_start(r, name, NULL, then, at);
}

static void
s3_commit_got(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type, ProtobufCMessage *msg)
{
	struct s3_stat_op *op = arg;
	struct s3_req *r = op->r;

	if (s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_COMMIT_RESP))
		op->committed(r, ((Rcfs__FileCommitResponse *)msg)->version);
	free(op);
	s3_req_done(r);
}

void
s3_commit(struct s3_req *r, Rcfs__FileMeta *meta, uint64_t seq, s3_committed_fn *then)
{
	struct s3_stat_op *op = xcalloc(1, sizeof *op);

	op->r = r;
	op->committed = then;
	rcfs__file_commit__init(&op->commit);
	op->commit.meta = meta;
	op->commit.has_client_id = op->commit.has_seq = 1;
	op->commit.client_id = r->client_id;     /* seq came from s3_next_seq(r) */
	op->commit.seq = seq;
	s3_call(r, RCFS__MSG_TYPE__MSG_FILE_COMMIT, &op->commit.base, s3_commit_got, op);
}

/* ---- storing a body ------------------------------------------------------------- */

struct s3_store_op;

/* One ChunkPut in flight. */
struct s3_chunk_put {
	struct s3_store_op *op;
	Rcfs__ChunkPut put;
	uint8_t sha[SHA256_LEN];
	uint8_t *data;
};

struct s3_store_op {
	struct s3_req *r;
	uint64_t seq;
	s3_stored_fn *done;
	Rcfs__FileMeta *meta;
	size_t next, inflight;
	bool in_more;                   /* s3_store_more is on the stack */
	Rcfs__ErrorCode code;           /* the first failure */
	char why[256];
	struct sha256 whole, md5;
	struct s3_checksum ck;          /* the client's x-amz-checksum-*, if it sent one */
	char *ck_want;                  /* its value */
};

static void s3_store_more(struct s3_store_op *op);
static void s3_store_end(struct s3_store_op *op);
static void s3_chunk_stored(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);

char *
s3_kept_headers_of(struct s3_req *r)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->hr);
	struct evbuffer *b = evbuffer_new();
	struct evkeyval *kv;
	char *out = NULL;
	size_t len;

	for (size_t i = 0; i < sizeof s3_kept_headers / sizeof s3_kept_headers[0]; i++) {
		const char *v = evhttp_find_header(in, s3_kept_headers[i]);
		if (v == NULL || strpbrk(v, "\r\n") != NULL)
			continue;
		if (strcasecmp(s3_kept_headers[i], "Content-Encoding") == 0) {
			/* aws-chunked is the request's framing, gone once decoded (S3
			 * drops it too): keep the other codings, if any. */
			char *codings = xstrdup(v), *save = NULL;
			const char *sep = "";
			struct evbuffer *kept = evbuffer_new();
			for (char *c = strtok_r(codings, ", ", &save); c; c = strtok_r(NULL, ", ", &save))
				if (strcasecmp(c, "aws-chunked") != 0) {
					evbuffer_add_printf(kept, "%s%s", sep, c);
					sep = ",";
				}
			if (evbuffer_get_length(kept) > 0) {
				evbuffer_add_printf(b, "Content-Encoding: ");
				evbuffer_add_buffer(b, kept);
				evbuffer_add_printf(b, "\n");
			}
			evbuffer_free(kept);
			free(codings);
			continue;
		}
		evbuffer_add_printf(b, "%s: %s\n", s3_kept_headers[i], v);
	}
	TAILQ_FOREACH(kv, in, next)
		if (strncasecmp(kv->key, "x-amz-meta-", 11) == 0 && strpbrk(kv->value, "\r\n") == NULL)
			evbuffer_add_printf(b, "%s: %s\n", kv->key, kv->value);
	len = evbuffer_get_length(b);
	if (len > 0) {
		out = xmalloc(len + 1);
		evbuffer_remove(b, out, len);
		out[len] = '\0';
	}
	evbuffer_free(b);
	return out;
}

/* The one x-amz-checksum-ALG header of the request into *alg and *value
 * (S3_CHECKSUM_NONE: none).  False: r is answered (an algorithm S3 does not
 * have, or more than one). */
static bool
s3_checksum_wanted(struct s3_req *r, enum s3_checksum_alg *alg, const char **value)
{
	struct evkeyval *kv;

	*alg = S3_CHECKSUM_NONE;
	*value = NULL;
	if (r->hr == NULL)
		return true;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(r->hr), next) {
		enum s3_checksum_alg a;
		if (strncasecmp(kv->key, "x-amz-checksum-", 15) != 0 ||
		    strcasecmp(kv->key, "x-amz-checksum-type") == 0)
			continue;
		if ((a = s3_checksum_alg_of(kv->key)) == S3_CHECKSUM_NONE) {
			s3_fail(r, 400, "InvalidRequest", "%s names no checksum algorithm S3 has", kv->key);
			return false;
		}
		if (*alg != S3_CHECKSUM_NONE) {
			s3_fail(r, 400, "InvalidRequest", "expecting a single x-amz-checksum- header, "
			    "multiple checksum types are not allowed");
			return false;
		}
		*alg = a;
		*value = kv->value;
	}
	return true;
}

void
s3_store(struct s3_req *r, uint64_t seq, bool may_inline, s3_stored_fn *done)
{
	struct s3_store_op *op;
	size_t size = evbuffer_get_length(r->body), cs = r->s->be.chunk_size;
	enum s3_checksum_alg alg;
	const char *want;

	if (!s3_checksum_wanted(r, &alg, &want)) {
		done(r, NULL);
		return;
	}
	op = xcalloc(1, sizeof *op);
	s3_checksum_init(&op->ck, alg);
	op->ck_want = want != NULL ? xstrdup(want) : NULL;
	op->r = r;
	op->seq = seq;
	op->done = done;
	op->code = RCFS__ERROR_CODE__E_OK;
	op->meta = xcalloc(1, sizeof *op->meta);
	rcfs__file_meta__init(op->meta);
	op->meta->size = size;
	op->meta->chunk_size = (uint32_t)cs;
	op->meta->sha256.data = xmalloc(SHA256_LEN);
	op->meta->sha256.len = SHA256_LEN;
	op->meta->s3_headers = s3_kept_headers_of(r);
	sha256_init(&op->whole);
	md5_init(&op->md5);
	if (may_inline && size <= r->s->be.inline_max) {
		op->meta->has_inline_data = 1;
		op->meta->inline_data.len = size;
		op->meta->inline_data.data = xmalloc(size ? size : 1);
		evbuffer_remove(r->body, op->meta->inline_data.data, size);
		sha256_update(&op->whole, op->meta->inline_data.data, size);
		sha256_update(&op->md5, op->meta->inline_data.data, size);
		s3_checksum_update(&op->ck, op->meta->inline_data.data, size);
		s3_store_end(op);
		return;
	}
	op->meta->n_chunks = size / cs + (size % cs != 0);
	op->meta->chunks = xcalloc(op->meta->n_chunks, sizeof *op->meta->chunks);
	r->pending++;           /* the store's own hold */
	s3_store_more(op);
}

/* Keep S3_WINDOW ChunkPuts in flight; chunks are taken from the body in
 * order, so the whole-body hashes see the bytes in order. */
static void
s3_store_more(struct s3_store_op *op)
{
	struct s3_req *r = op->r;
	size_t cs = op->meta->chunk_size;

	if (op->in_more)        /* a call answered at once: the loop below goes on */
		return;
	op->in_more = true;
	while (op->code == RCFS__ERROR_CODE__E_OK && op->inflight < S3_WINDOW &&
	    op->next < op->meta->n_chunks) {
		struct s3_chunk_put *c = xcalloc(1, sizeof *c);
		size_t len = evbuffer_get_length(r->body) < cs ? evbuffer_get_length(r->body) : cs;

		c->op = op;
		c->data = xmalloc(len ? len : 1);
		evbuffer_remove(r->body, c->data, len);
		sha256(c->sha, c->data, len);
		sha256_update(&op->whole, c->data, len);
		sha256_update(&op->md5, c->data, len);
		s3_checksum_update(&op->ck, c->data, len);
		op->meta->chunks[op->next].data = xmalloc(SHA256_LEN);
		op->meta->chunks[op->next].len = SHA256_LEN;
		memcpy(op->meta->chunks[op->next].data, c->sha, SHA256_LEN);
		op->next++;
		rcfs__chunk_put__init(&c->put);
		c->put.sha256.data = c->sha;
		c->put.sha256.len = SHA256_LEN;
		c->put.data.data = c->data;
		c->put.data.len = len;
		c->put.has_client_id = c->put.has_seq = 1;
		c->put.client_id = r->client_id;
		c->put.seq = op->seq;
		op->inflight++;
		s3_call(r, RCFS__MSG_TYPE__MSG_CHUNK_PUT, &c->put.base, s3_chunk_stored, c);
	}
	op->in_more = false;
	if (op->inflight == 0) {
		s3_store_end(op);
		s3_req_done(r);         /* the store's hold */
	}
}

static void
s3_chunk_stored(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_chunk_put *c = arg;
	struct s3_store_op *op = c->op;
	struct s3_req *r = op->r;

	(void)type;
	(void)msg;
	op->inflight--;
	if (code != RCFS__ERROR_CODE__E_OK && op->code == RCFS__ERROR_CODE__E_OK) {
		op->code = code;
		snprintf(op->why, sizeof op->why, "%s", why ? why : "chunk not stored");
	}
	free(c->data);
	free(c);
	r->pending++;           /* s3_store_more may end the store: keep r for the done below */
	s3_store_more(op);
	s3_req_done(r);
	s3_req_done(r);         /* this call's */
}

/* Every chunk is stored (or one failed): check the body's hashes, hand
 * the meta over. */
static void
s3_store_end(struct s3_store_op *op)
{
	struct s3_req *r = op->r;
	const char *want_sha = s3_header(r, "x-amz-content-sha256");
	const char *want_md5 = s3_header(r, "Content-MD5");
	uint8_t md5[MD5_LEN];
	char hex[2 * SHA256_LEN + 1], b64[32], ck[S3_CHECKSUM_B64];
	Rcfs__FileMeta *meta = op->meta;

	s3_checksum_final(&op->ck, ck);
	sha256_final(&op->whole, meta->sha256.data);
	md5_final(&op->md5, md5);
	sigv4_hex(md5, MD5_LEN, hex);
	meta->etag = xstrdup(hex);
	sigv4_hex(meta->sha256.data, SHA256_LEN, hex);
	sodium_bin2base64(b64, sizeof b64, md5, MD5_LEN, sodium_base64_VARIANT_ORIGINAL);
	if (op->code != RCFS__ERROR_CODE__E_OK) {
		s3_fail_code(r, op->code, op->why);
		meta = NULL;
	} else if (want_md5 != NULL && strcmp(want_md5, b64) != 0) {
		s3_fail(r, 400, "BadDigest", "the Content-MD5 you specified did not match what we received");
		meta = NULL;
	} else if (want_sha != NULL && strlen(want_sha) == 64 && strcasecmp(want_sha, hex) != 0) {
		s3_fail(r, 400, "XAmzContentSHA256Mismatch", "the body's SHA-256 is %s", hex);
		meta = NULL;
	} else if (op->ck_want != NULL && strcmp(op->ck_want, ck) != 0) {
		s3_fail(r, 400, "BadDigest", "the %s you specified did not match the calculated "
		    "checksum", s3_checksum_header(op->ck.alg));
		meta = NULL;
	} else if (op->ck_want != NULL) {
		s3_checksum_checked(r, op->ck.alg, ck);
	}
	if (meta != NULL)
		s3_keep_checksum(r, meta);
	if (meta == NULL) {
		/* No commit will reference what was stored: let GC have it now
		 * rather than after gc_grace_ms. */
		if (op->next > 0 && !op->meta->has_inline_data)
			s3_protect(r, op->meta->chunks, op->next, op->seq, true, NULL);
		s3_meta_free(op->meta);
	}
	op->done(r, meta);
	free(op->ck_want);
	free(op);
}

/* ---- PutObject ---------------------------------------------------------------- */

struct s3_put_op {
	Rcfs__FileMeta *meta;
	uint64_t seq;
};

static void s3_put_stored(struct s3_req *r, Rcfs__FileMeta *meta);
static void s3_put_committed(struct s3_req *r, uint64_t version);

static void
s3_put_op_free(void *arg)
{
	struct s3_put_op *op = arg;

	s3_meta_free(op->meta);
	free(op);
}

void
s3_object_put(struct s3_req *r)
{
	if (!s3_unconditional(r))
		return;
	s3_bucket_check(r, s3_object_store);
}

void
s3_object_store(struct s3_req *r)
{
	struct s3_put_op *op = xcalloc(1, sizeof *op);

	if (r->op_free != NULL)
		r->op_free(r->op);
	r->op = op;
	r->op_free = s3_put_op_free;
	op->seq = s3_next_seq(r);
	s3_store(r, op->seq, true, s3_put_stored);
}

static void
s3_put_stored(struct s3_req *r, Rcfs__FileMeta *meta)
{
	struct s3_put_op *op = r->op;

	if (meta == NULL)
		return;
	op->meta = meta;
	meta->name = s3_req_name(r);
	s3_commit(r, meta, op->seq, s3_put_committed);
}

static void
s3_put_committed(struct s3_req *r, uint64_t version)
{
	struct s3_put_op *op = r->op;
	char etag[80];

	snprintf(etag, sizeof etag, "\"%s\"", op->meta->etag);
	evhttp_add_header(evhttp_request_get_output_headers(r->hr), "ETag", etag);
	if (r->json)
		s3_api_stored(r, op->meta, version);
	else
		s3_reply_empty(r, 200);
}

/* ---- GetObject / HeadObject ------------------------------------------------------- */

struct s3_get_op;

/* One chunk of a GET: fetched into data, then sent in order. */
struct s3_get_slot {
	struct s3_get_op *op;
	Rcfs__ChunkGet req;
	size_t index;
	struct evbuffer *data;          /* the chunk's bytes in range, once fetched */
	bool ready;
};

struct s3_get_op {
	struct s3_req *r;
	Rcfs__FileMeta *meta;
	uint64_t first, last;           /* the byte range, inclusive */
	size_t next_fetch, next_send, end_chunk;    /* chunk indexes; end_chunk exclusive */
	unsigned inflight;
	bool head, failed, waiting_drain, in_more;
	struct event *recheck;          /* backpressure: look at the connection again */
	struct s3_get_slot slot[S3_WINDOW];
};

static void s3_get_stat(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_get_more(struct s3_get_op *op);
static void s3_get_fetched(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);
static void s3_get_recheck(evutil_socket_t fd, short what, void *arg);
static void s3_get_finish(struct s3_get_op *op);

static void
s3_get_op_free(void *arg)
{
	struct s3_get_op *op = arg;

	for (size_t i = 0; i < S3_WINDOW; i++)
		if (op->slot[i].data != NULL)
			evbuffer_free(op->slot[i].data);
	if (op->recheck != NULL)
		event_free(op->recheck);
	s3_meta_free(op->meta);
	free(op);
}

void
s3_object_get(struct s3_req *r, bool head)
{
	struct s3_get_op *op = xcalloc(1, sizeof *op);
	char *name = s3_req_name(r);

	op->r = r;
	op->head = head;
	r->op = op;
	r->op_free = s3_get_op_free;
	s3_stat(r, name, s3_get_stat);
	free(name);
}

/* HTTP-date (RFC 7231 IMF-fixdate) to seconds, or -1. */
static int64_t
s3_parse_http_date(const char *s)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm);
}

/* Whether the ETag list `header` ("*", or quoted ETags, comma-separated)
 * names etag. */
static bool
s3_etag_matches(const char *header, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = header;

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (*p == 'W' && p[1] == '/')
			p += 2;
		const char *q = p + (*p == '"');
		if (strncmp(q, etag, el) == 0 && (q[el] == '"' || q[el] == ',' || q[el] == '\0'))
			return true;
		p = strchr(p + 1, ',');
		if (p == NULL)
			break;
	}
	return false;
}

/* The four conditions of RFC 7232 §6, in its order, on an object with
 * `etag` (unquoted) modified at mtime_s (s since the epoch).  names[] are
 * the headers to read: If-Match, If-Unmodified-Since, If-None-Match,
 * If-Modified-Since, or CopyObject's x-amz-copy-source-if-* counterparts.
 * 0 when the request goes on, 412 when one of the first two fails, and
 * `not_modified` (304 for a GET, 412 for a copy) when one of the last two
 * does.  An If-*-Since is ignored where the matching ETag header is present
 * or its date does not parse, as RFC 7232 says and S3 does. */
static int
s3_preconditions(struct s3_req *r, const char *const names[4], const char *etag, int64_t mtime_s,
    int not_modified)
{
	const char *h;
	int64_t t;

	if ((h = s3_header(r, names[0])) != NULL) {
		if (!s3_etag_matches(h, etag))
			return 412;
	} else if ((h = s3_header(r, names[1])) != NULL && (t = s3_parse_http_date(h)) >= 0 &&
	    mtime_s > t) {
		return 412;
	}
	if ((h = s3_header(r, names[2])) != NULL) {
		if (s3_etag_matches(h, etag))
			return not_modified;
	} else if ((h = s3_header(r, names[3])) != NULL && (t = s3_parse_http_date(h)) >= 0 &&
	    mtime_s <= t) {
		return not_modified;
	}
	return 0;
}

bool
s3_copy_source_matches(struct s3_req *r, const Rcfs__FileMeta *m)
{
	static const char *const names[4] = {
		"x-amz-copy-source-if-match", "x-amz-copy-source-if-unmodified-since",
		"x-amz-copy-source-if-none-match", "x-amz-copy-source-if-modified-since",
	};
	char etag[80];

	s3_etag(m, etag, sizeof etag);
	if (s3_preconditions(r, names, etag, (int64_t)(m->mtime_ns / 1000000000u), 412) == 0)
		return true;
	s3_fail(r, 412, "PreconditionFailed", "the copy source's x-amz-copy-source-if-* "
	    "conditions do not hold (its ETag is \"%s\")", etag);
	return false;
}

/* Range "bytes=a-b" | "bytes=a-" | "bytes=-n" against size: 0 and the
 * inclusive range, 1 if there is no usable single range (whole object), -1
 * if unsatisfiable. */
static int
s3_parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
	unsigned long long a, b;
	char *end;

	if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 1;
	h += 6;
	if (*h == '-') {
		b = strtoull(h + 1, &end, 10);
		if (end == h + 1 || *end != '\0')
			return 1;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 0;
	}
	a = strtoull(h, &end, 10);
	if (end == h || *end != '-')
		return 1;
	h = end + 1;
	if (*h == '\0') {
		b = size ? size - 1 : 0;
	} else {
		b = strtoull(h, &end, 10);
		if (*end != '\0' || b < a)
			return 1;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return 0;
}

static void
s3_get_stat(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct s3_get_op *op = r->op;
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->hr);
	static const char *const names[4] = {
		"If-Match", "If-Unmodified-Since", "If-None-Match", "If-Modified-Since",
	};
	const char *range = s3_header(r, "Range");
	char etag[80], qetag[84], when[64], len[32], cr[96];
	int64_t mtime_s;
	int rv = 1, status = 200;
	const char *checksum_mode = s3_header(r, "x-amz-checksum-mode");

	if (m == NULL) {
		s3_fail(r, 404, "NoSuchKey", "the specified key does not exist");
		return;
	}
	op->meta = s3_meta_copy(m);
	s3_etag(m, etag, sizeof etag);
	snprintf(qetag, sizeof qetag, "\"%s\"", etag);
	mtime_s = (int64_t)(m->mtime_ns / 1000000000u);
	switch (s3_preconditions(r, names, etag, mtime_s, 304)) {
	case 412:
		s3_fail(r, 412, "PreconditionFailed", "If-Match or If-Unmodified-Since: the ETag is %s",
		    qetag);
		return;
	case 304:
		evhttp_add_header(out, "ETag", qetag);
		s3_reply_empty(r, 304);
		return;
	}
	op->first = 0;
	op->last = m->size ? m->size - 1 : 0;
	if (range != NULL && (rv = s3_parse_range(range, m->size, &op->first, &op->last)) < 0) {
		snprintf(cr, sizeof cr, "bytes */%" PRIu64, m->size);
		evhttp_add_header(out, "Content-Range", cr);
		s3_fail(r, 416, "InvalidRange", "the requested range is not satisfiable");
		return;
	}
	if (rv == 0) {
		status = 206;
		snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, op->first, op->last,
		    m->size);
		evhttp_add_header(out, "Content-Range", cr);
	}
	snprintf(len, sizeof len, "%" PRIu64, m->size == 0 ? 0 : op->last - op->first + 1);
	evhttp_add_header(out, "Content-Length", len);
	evhttp_add_header(out, "ETag", qetag);
	s3_time_http(m->mtime_ns, when, sizeof when);
	evhttp_add_header(out, "Last-Modified", when);
	evhttp_add_header(out, "Accept-Ranges", "bytes");
	evhttp_add_header(out, "x-amz-request-id", r->id);
	if (r->json) {
		/* The JSON API serves stored bytes on the dashboard's origin: never
		 * as a page that runs. */
		evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
		evhttp_add_header(out, "Content-Security-Policy", "sandbox");
	}
	if (m->s3_headers == NULL || strncasecmp(m->s3_headers, "Content-Type:", 13) != 0)
		evhttp_add_header(out, "Content-Type", "binary/octet-stream");
	if (m->s3_headers != NULL) {
		char *lines = xstrdup(m->s3_headers), *save = NULL;
		for (char *line = strtok_r(lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *colon = strchr(line, ':');
			if (colon == NULL || strchr(colon, '\r') != NULL)
				continue;
			*colon = '\0';
			/* Only what a PUT could have kept: the field is written by any
			 * rcfs client with write access, not only by this gateway.  The
			 * checksum is of the whole object, asked for. */
			if (s3_kept_header(line) || (s3_checksum_alg_of(line) != S3_CHECKSUM_NONE &&
			    status == 200 && checksum_mode != NULL && strcasecmp(checksum_mode, "ENABLED") == 0))
				evhttp_add_header(out, line, colon + 1 + (colon[1] == ' '));
		}
		free(lines);
	}
	s3_response_overrides(r, out);
	if (op->head || m->size == 0 || m->has_inline_data) {
		struct evbuffer *body = evbuffer_new();
		if (!op->head && m->has_inline_data && m->size > 0)
			evbuffer_add(body, m->inline_data.data + op->first, op->last - op->first + 1);
		r->replied = true;
		evhttp_send_reply(r->hr, status, NULL, body);
		r->hr = NULL;
		evbuffer_free(body);
		return;
	}
	evhttp_send_reply_start(r->hr, status, NULL);
	op->next_fetch = op->next_send = op->first / m->chunk_size;
	op->end_chunk = op->last / m->chunk_size + 1;
	r->pending++;           /* the stream's hold, until s3_get_finish */
	op->recheck = evtimer_new(r->s->base, s3_get_recheck, op);
	s3_get_more(op);
}

/* The connection's queued output, or 0 if it is gone. */
static size_t
s3_get_backlog(struct s3_get_op *op)
{
	struct evhttp_connection *evcon = op->r->hr ? evhttp_request_get_connection(op->r->hr) : NULL;

	if (evcon == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(evhttp_connection_get_bufferevent(evcon)));
}

static bool
s3_get_gone(struct s3_get_op *op)
{
	return op->r->hr == NULL || evhttp_request_get_connection(op->r->hr) == NULL;
}

static void
s3_get_written(struct evhttp_connection *evcon, void *arg)
{
	struct s3_get_op *op = arg;

	(void)evcon;
	if (op->waiting_drain) {
		op->waiting_drain = false;
		evtimer_del(op->recheck);
		s3_get_more(op);
	}
}

/* While waiting for the connection to drain: a connection that died never
 * drains, so look again every S3_RECHECK_MS. */
static void
s3_get_recheck(evutil_socket_t fd, short what, void *arg)
{
	struct s3_get_op *op = arg;

	(void)fd;
	(void)what;
	op->waiting_drain = false;
	s3_get_more(op);
}

/* Fetch ahead (S3_WINDOW chunks, while the connection's backlog is below
 * S3_GET_BACKLOG), send what is ready in order, finish at the end. */
static void
s3_get_more(struct s3_get_op *op)
{
	struct s3_req *r = op->r;

	if (op->in_more)        /* a fetch answered at once: the loop below goes on */
		return;
	if (s3_get_gone(op))
		op->failed = true;
	/* Send the chunks that are ready, in order. */
	while (!op->failed && op->next_send < op->next_fetch) {
		size_t s = op->next_send % S3_WINDOW;
		if (!op->slot[s].ready)
			break;
		evhttp_send_reply_chunk_with_cb(r->hr, op->slot[s].data, s3_get_written, op);
		op->slot[s].ready = false;
		op->next_send++;
	}
	if (op->failed || op->next_send == op->end_chunk) {
		if (op->inflight == 0)
			s3_get_finish(op);
		return;
	}
	op->in_more = true;
	while (!op->failed && op->next_fetch < op->end_chunk && op->next_fetch - op->next_send < S3_WINDOW) {
		size_t s = op->next_fetch % S3_WINDOW;
		if (s3_get_backlog(op) > S3_GET_BACKLOG) {
			op->waiting_drain = true;
			struct timeval tv = { 0, S3_RECHECK_MS * 1000 };
			evtimer_add(op->recheck, &tv);
			break;
		}
		rcfs__chunk_get__init(&op->slot[s].req);
		op->slot[s].op = op;
		op->slot[s].index = op->next_fetch;
		op->slot[s].ready = false;
		op->slot[s].req.sha256 = op->meta->chunks[op->next_fetch];
		op->next_fetch++;
		op->inflight++;
		s3_call(r, RCFS__MSG_TYPE__MSG_CHUNK_GET, &op->slot[s].req.base, s3_get_fetched,
		    &op->slot[s]);
	}
	op->in_more = false;
	/* Fetches answered at once may have made chunks ready (or failed). */
	if (op->inflight == 0 && !op->waiting_drain)
		s3_get_more(op);
}

static void
s3_get_fetched(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type, ProtobufCMessage *msg)
{
	struct s3_get_slot *slot = arg;
	struct s3_get_op *op = slot->op;
	struct s3_req *r = op->r;
	Rcfs__ChunkGetResponse *resp = (Rcfs__ChunkGetResponse *)msg;
	uint64_t cs = op->meta->chunk_size, start = slot->index * cs, from, to;

	op->inflight--;
	if (code != RCFS__ERROR_CODE__E_OK || type != RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP) {
		/* Headers are out: all a client can be told is a short body. */
		if (!op->failed)
			log_err("s3: GET %s: chunk %zu: %s (the body stops short)", op->meta->name,
			    slot->index, why ? why : "bad answer");
		op->failed = true;
	} else if (!op->failed) {
		from = op->first > start ? op->first - start : 0;
		to = op->last - start + 1 < resp->data.len ? op->last - start + 1 : resp->data.len;
		if (slot->data == NULL)
			slot->data = evbuffer_new();
		if (from < to)
			evbuffer_add(slot->data, resp->data.data + from, to - from);
		slot->ready = true;
	}
	s3_get_more(op);
	s3_req_done(r);
}

static void
s3_get_finish(struct s3_get_op *op)
{
	struct s3_req *r = op->r;

	if (r->replied)
		return;
	r->replied = true;
	if (op->recheck != NULL)
		evtimer_del(op->recheck);
	if (r->hr != NULL) {
		struct evhttp_connection *evcon = evhttp_request_get_connection(r->hr);
		if (op->failed && evcon != NULL)
			evhttp_connection_free(evcon);  /* a short body must not look complete */
		else
			evhttp_send_reply_end(r->hr);
		r->hr = NULL;
	}
	s3_req_done(r);         /* the stream's hold */
}

/* ---- DeleteObject, DeleteObjects ------------------------------------------------- */

/* Removes names one after the other; S3 answers a missing key as deleted. */
struct s3_del_op {
	struct s3_req *r;
	struct xml_node *doc;
	struct xml_node *obj;           /* DeleteObjects: the <Object> being removed */
	bool quiet;
	char *name;
	Rcfs__FileRemove rm;
	struct evbuffer *xml;
};

static void s3_del_next(struct s3_del_op *op);
static void s3_del_removed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);

static void
s3_del_op_free(void *arg)
{
	struct s3_del_op *op = arg;

	xml_free(op->doc);
	free(op->name);
	if (op->xml != NULL)
		evbuffer_free(op->xml);
	free(op);
}

static struct s3_del_op *
s3_del_op_new(struct s3_req *r)
{
	struct s3_del_op *op = xcalloc(1, sizeof *op);

	op->r = r;
	r->op = op;
	r->op_free = s3_del_op_free;
	return op;
}

static void
s3_del_start(struct s3_del_op *op, const char *key)
{
	free(op->name);
	op->name = s3_name(op->r->bucket, key);
	rcfs__file_remove__init(&op->rm);
	op->rm.name = op->name;
	op->rm.has_client_id = op->rm.has_seq = 1;
	op->rm.seq = s3_next_seq(op->r);
	op->rm.client_id = op->r->client_id;
	s3_call(op->r, RCFS__MSG_TYPE__MSG_FILE_REMOVE, &op->rm.base, s3_del_removed, op);
}

void
s3_object_delete(struct s3_req *r)
{
	s3_del_start(s3_del_op_new(r), r->key);
}

static void
s3_del_removed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_del_op *op = arg;
	struct s3_req *r = op->r;

	(void)type;
	(void)msg;
	if (code == RCFS__ERROR_CODE__E_NOT_FOUND)
		code = RCFS__ERROR_CODE__E_OK;
	if (op->doc == NULL) {          /* DeleteObject */
		if (code != RCFS__ERROR_CODE__E_OK)
			s3_fail_code(r, code, why);
		else
			s3_reply_empty(r, 204);
	} else {
		const char *key = xml_child_text(op->obj, "Key");
		if (code != RCFS__ERROR_CODE__E_OK) {
			evbuffer_add_printf(op->xml, "<Error>");
			xml_elem(op->xml, "Key", key);
			xml_elem(op->xml, "Code", code == RCFS__ERROR_CODE__E_BAD_REQUEST ? "InvalidArgument" :
			    "InternalError");
			xml_elem(op->xml, "Message", why ? why : "not removed");
			evbuffer_add_printf(op->xml, "</Error>");
		} else if (!op->quiet) {
			evbuffer_add_printf(op->xml, "<Deleted>");
			xml_elem(op->xml, "Key", key);
			evbuffer_add_printf(op->xml, "</Deleted>");
		}
		op->obj = xml_child(op->doc, "Object", op->obj);
		s3_del_next(op);
	}
	s3_req_done(r);
}

/* DeleteObjects: <Delete><Quiet/>?<Object><Key/></Object>{1,1000}</Delete>. */
void
s3_objects_delete(struct s3_req *r)
{
	struct s3_del_op *op = s3_del_op_new(r);
	size_t len = evbuffer_get_length(r->body);
	const char *quiet;
	char why[200];
	unsigned n = 0;

	op->doc = xml_parse((const char *)evbuffer_pullup(r->body, -1), len, why, sizeof why);
	if (op->doc == NULL || strcmp(op->doc->name, "Delete") != 0) {
		s3_fail(r, 400, "MalformedXML", "%s", op->doc == NULL ? why : "the root is not <Delete>");
		return;
	}
	for (struct xml_node *o = xml_child(op->doc, "Object", NULL); o; o = xml_child(op->doc, "Object", o)) {
		if (xml_child_text(o, "Key") == NULL) {
			s3_fail(r, 400, "MalformedXML", "an <Object> without <Key>");
			return;
		}
		n++;
	}
	if (n == 0 || n > 1000) {
		s3_fail(r, 400, "MalformedXML", "a Delete names 1 to 1000 objects, not %u", n);
		return;
	}
	quiet = xml_child_text(op->doc, "Quiet");
	op->quiet = quiet != NULL && strcmp(quiet, "true") == 0;
	op->xml = evbuffer_new();
	xml_open_doc(op->xml, "DeleteResult");
	op->obj = xml_child(op->doc, "Object", NULL);
	s3_del_next(op);
}

static void
s3_del_next(struct s3_del_op *op)
{
	struct evbuffer *xml;

	if (op->obj != NULL) {
		s3_del_start(op, xml_child_text(op->obj, "Key"));
		return;
	}
	evbuffer_add_printf(op->xml, "</DeleteResult>");
	xml = op->xml;
	op->xml = NULL;
	s3_reply_xml(op->r, 200, xml);
}

/* ---- protecting chunks for a commit ------------------------------------------------ */

#define S3_PROTECT_BATCH 2048   /* hashes per ChunkProtect (68 KiB), as rcfs cp sends */

struct s3_protect_op {
	struct s3_req *r;
	uint8_t (*sha)[SHA256_LEN];     /* a copy of the hashes */
	ProtobufCBinaryData *bin;       /* pointing into sha */
	size_t n, next;
	uint64_t seq;
	bool release;
	s3_protected_fn *then;
	Rcfs__ChunkProtect msg;
};

static void s3_protect_next(struct s3_protect_op *op);

static void
s3_protect_free(struct s3_protect_op *op)
{
	free(op->sha);
	free(op->bin);
	free(op);
}

static void
s3_protect_answered(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_protect_op *op = arg;
	struct s3_req *r = op->r;

	(void)type;
	(void)msg;
	if (code != RCFS__ERROR_CODE__E_OK && !op->release) {
		s3_fail_code(r, code, why);
		s3_protect_free(op);
	} else {
		s3_protect_next(op);
	}
	s3_req_done(r);
}

static void
s3_protect_next(struct s3_protect_op *op)
{
	struct s3_req *r = op->r;
	size_t k = op->n - op->next < S3_PROTECT_BATCH ? op->n - op->next : S3_PROTECT_BATCH;

	if (k == 0) {
		s3_protected_fn *then = op->then;
		s3_protect_free(op);
		if (then != NULL)
			then(r);
		return;
	}
	rcfs__chunk_protect__init(&op->msg);
	op->msg.sha256 = op->bin + op->next;
	op->msg.n_sha256 = k;
	op->msg.client_id = r->client_id;
	op->msg.has_seq = 1;
	op->msg.seq = op->seq;
	op->msg.has_release = op->msg.release = op->release;
	op->next += k;
	s3_call(r, RCFS__MSG_TYPE__MSG_CHUNK_PROTECT, &op->msg.base, s3_protect_answered, op);
}

void
s3_protect(struct s3_req *r, const ProtobufCBinaryData *chunks, size_t n, uint64_t seq, bool release,
    s3_protected_fn *then)
{
	struct s3_protect_op *op = xcalloc(1, sizeof *op);

	op->r = r;
	op->n = n;
	op->seq = seq;
	op->release = release;
	op->then = then;
	op->sha = xcalloc(n ? n : 1, sizeof *op->sha);
	op->bin = xcalloc(n ? n : 1, sizeof *op->bin);
	for (size_t i = 0; i < n; i++) {
		memcpy(op->sha[i], chunks[i].data, SHA256_LEN);
		op->bin[i].data = op->sha[i];
		op->bin[i].len = SHA256_LEN;
	}
	s3_protect_next(op);
}

/* ---- CopyObject --------------------------------------------------------------- */

/* Chunks are content-addressed: a copy commits the source's chunk list
 * under the new name (nothing is stored).  Between reading the source and
 * the commit an rm of the source could free its chunks, so they are
 * protected for this commit first, as `rcfs cp` does (docs/design.md). */
struct s3_copy_op {
	Rcfs__FileMeta *meta;
	uint64_t seq;
	uint64_t version;               /* the source's, as read */
	char *src;
};

static void s3_copy_start(struct s3_req *r);
static void s3_copy_stat(struct s3_req *r, const Rcfs__FileMeta *m);

static void
s3_copy_op_free(void *arg)
{
	struct s3_copy_op *op = arg;

	s3_meta_free(op->meta);
	free(op->src);
	free(op);
}

void
s3_object_copy(struct s3_req *r)
{
	if (!s3_unconditional(r))
		return;
	s3_bucket_check(r, s3_copy_start);      /* the destination's bucket, as PutObject's */
}

static void
s3_copy_start(struct s3_req *r)
{
	struct s3_copy_op *op;
	char *src = s3_copy_source(r);

	if (src == NULL)
		return;
	op = xcalloc(1, sizeof *op);
	if (r->op_free != NULL)
		r->op_free(r->op);
	r->op = op;
	r->op_free = s3_copy_op_free;
	op->src = src;
	s3_stat(r, op->src, s3_copy_stat);
}

char *
s3_copy_source(struct s3_req *r)
{
	const char *source = s3_header(r, "x-amz-copy-source");
	char *dec, *q, *src;
	size_t len;

	dec = source != NULL ? evhttp_uridecode(source, 0, &len) : NULL;
	if (dec == NULL || strlen(dec) != len) {
		free(dec);
		s3_fail(r, 400, "InvalidArgument", "x-amz-copy-source does not decode");
		return NULL;
	}
	if ((q = strstr(dec, "?versionId=")) != NULL)
		*q = '\0';
	src = xstrdup(dec + (dec[0] == '/'));
	free(dec);
	if (strchr(src, '/') == NULL || src[0] == '.') {
		free(src);
		s3_fail(r, 400, "InvalidArgument", "x-amz-copy-source must be bucket/key");
		return NULL;
	}
	return src;
}

static void
s3_copy_stat(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct s3_copy_op *op = r->op;
	const char *directive = s3_header(r, "x-amz-metadata-directive");
	char etag[80];

	if (m == NULL) {
		s3_fail(r, 404, "NoSuchKey", "the copy source %s does not exist", op->src);
		return;
	}
	if (!s3_copy_source_matches(r, m))
		return;
	op->meta = s3_meta_copy(m);
	op->version = m->version;
	free(op->meta->name);
	op->meta->name = s3_name(r->bucket, r->key);
	op->meta->has_version = op->meta->has_hlc = op->meta->has_mtime_ns = 0;
	if (directive != NULL && strcasecmp(directive, "REPLACE") == 0) {
		/* new headers; the same bytes, so the same checksum */
		char *ck = s3_stored_checksum(op->meta->s3_headers);
		free(op->meta->s3_headers);
		op->meta->s3_headers = s3_kept_headers_of(r);
		if (ck != NULL)
			s3_headers_add(&op->meta->s3_headers, ck);
		free(ck);
	} else if (strcmp(op->src, op->meta->name) == 0) {
		s3_fail(r, 400, "InvalidRequest", "copying an object onto itself without changing "
		    "anything (x-amz-metadata-directive: REPLACE) is not allowed");
		return;
	}
	op->seq = s3_next_seq(r);
	s3_etag(op->meta, etag, sizeof etag);
	s3_copy_commit(r, op->src, op->version, op->meta, op->meta->n_chunks, op->seq, "CopyObjectResult",
	    etag);
}

static void s3_copy_protected(struct s3_req *r);
static void s3_copy_restat(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_copy_committed(struct s3_req *r, uint64_t version);

void
s3_copy_commit(struct s3_req *r, const char *src, uint64_t version, Rcfs__FileMeta *meta, size_t n,
    uint64_t seq, const char *doc, const char *etag)
{
	r->copy.src = src;
	r->copy.version = version;
	r->copy.meta = meta;
	r->copy.seq = seq;
	r->copy.doc = doc;
	snprintf(r->copy.etag, sizeof r->copy.etag, "\"%.80s\"", etag);
	s3_protect(r, meta->chunks, n, seq, false, s3_copy_protected);
}

static void
s3_copy_protected(struct s3_req *r)
{
	s3_stat(r, r->copy.src, s3_copy_restat);
}

static void
s3_copy_restat(struct s3_req *r, const Rcfs__FileMeta *m)
{
	if (m == NULL || m->version != r->copy.version)
		s3_fail(r, 409, "OperationAborted", "the copy source %s changed while it was copied; "
		    "try again", r->copy.src);
	else
		s3_commit(r, r->copy.meta, r->copy.seq, s3_copy_committed);
}

static void
s3_copy_committed(struct s3_req *r, uint64_t version)
{
	struct evbuffer *xml = evbuffer_new();
	char when[40];

	(void)version;
	s3_time_iso((uint64_t)r->s->be.now_ms(r->s->be.arg) * 1000000u, when, sizeof when);
	xml_open_doc(xml, r->copy.doc);
	xml_elem(xml, "LastModified", when);
	xml_elem(xml, "ETag", r->copy.etag);
	evbuffer_add_printf(xml, "</%s>", r->copy.doc);
	s3_reply_xml(r, 200, xml);
}
