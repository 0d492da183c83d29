/* Multipart uploads (docs/s3.md "multipart").  An upload is a marker file
 * S3_UPLOADS<bucket>/<upload id>/upload (its inline data: the key) and one
 * file per part, .../part.<5 digits>, each an ordinary rcfs file whose
 * chunks its references keep from GC.  Complete commits one file whose chunk
 * list is the parts' lists in order (no data is copied or read), then
 * removes the part files and the marker. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "s3/s3int.h"
#include "s3/xml.h"
#include "util/log.h"
#include "util/name.h"
#include "util/sha256.h"
#include "util/xmalloc.h"

#define S3_MAX_PARTS 10000
/* Stats (Complete) and removes (Abort, after Complete) in flight per
 * request: 10,000 parts one after the other took longer than botocore's
 * 60 s read timeout, and its retry found the upload gone. */
#define S3_MPU_WINDOW 32

/* One upload found by ListMultipartUploads. */
struct s3_mpu_upload {
	char *key, *id;
	uint64_t initiated_ns;        /* ns since the epoch */
};

/* A part CompleteMultipartUpload names. */
struct s3_mpu_want {
	unsigned number;
	char etag[80];                  /* quotes and blanks dropped */
};

/* One FileRemove in flight. */
struct s3_mpu_rm {
	struct s3_mpu_op *op;
	Rcfs__FileRemove rm;
};

struct s3_mpu_op {
	struct s3_req *r;
	char *dir;                      /* S3_UPLOADS bucket/id/ */
	char *upload_id;
	unsigned part;                  /* UploadPart: its number */
	uint64_t seq;
	Rcfs__FileMeta *meta;           /* the part, or the completed object */
	char *headers;                  /* the marker's kept headers */
	/* Complete */
	struct xml_node *doc;
	struct s3_mpu_want *want;       /* [nparts], from the body */
	Rcfs__FileMeta **parts;         /* [nparts], as stat'ed */
	size_t nparts, next_stat, stats_in, stats_done;
	struct sha256 whole, md5s;
	/* UploadPartCopy */
	char *src;                      /* the source's rcfs name */
	uint64_t src_version;           /* as read */
	/* ListMultipartUploads */
	char *cursor;                   /* the next page starts after this name */
	struct s3_mpu_upload *uploads;  /* [nuploads], every upload of the bucket */
	size_t nuploads, cap_uploads, max_uploads;
	uint64_t marker_ns;             /* upload-id-marker's initiation (0: unknown) */
	/* Abort, and cleaning up after Complete */
	Rcfs__FileList list;
	char **names;                   /* the parts, then the marker */
	size_t nnames, next_rm, rm_in;
	bool complete_done;
	struct evbuffer *xml;
};

static struct s3_mpu_op *s3_mpu_new(struct s3_req *r, const char *upload_id);
static void s3_mpu_free(void *arg);
static void s3_mpu_created(struct s3_req *r, uint64_t version);
static void s3_mpu_create_checked(struct s3_req *r);
static void s3_mpu_part_marker(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_mpu_part_stored(struct s3_req *r, Rcfs__FileMeta *meta);
static void s3_mpu_part_committed(struct s3_req *r, uint64_t version);
static void s3_mpu_complete_marker(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_mpu_complete_more(struct s3_req *r);
static void s3_mpu_complete_part(struct s3_req *r, size_t at, const Rcfs__FileMeta *m);
static void s3_mpu_complete_all(struct s3_req *r);
static void s3_mpu_completed(struct s3_req *r, uint64_t version);
static void s3_mpu_copy_marker(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_mpu_copy_source(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_mpu_complete_protected(struct s3_req *r);
static void s3_mpu_complete_relisted(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);
static void s3_mpu_list(struct s3_mpu_op *op, uint32_t limit, peer_rpc_cb *cb);
static void s3_mpu_list_dir(struct s3_mpu_op *op);
static void s3_mpu_listed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);
static void s3_mpu_remove_next(struct s3_mpu_op *op);
static void s3_mpu_removed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);
static void s3_mpu_abort_marker(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_mpu_parts_marker(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_mpu_uploads_checked(struct s3_req *r);
static void s3_mpu_uploads_marked(struct s3_req *r, const Rcfs__FileMeta *m);

static struct s3_mpu_op *
s3_mpu_new(struct s3_req *r, const char *upload_id)
{
	struct s3_mpu_op *op = xcalloc(1, sizeof *op);
	size_t len;

	if (r->op_free != NULL)
		r->op_free(r->op);
	op->r = r;
	op->upload_id = xstrdup(upload_id);
	len = strlen(S3_UPLOADS) + strlen(r->bucket) + strlen(upload_id) + 3;
	op->dir = xmalloc(len);
	snprintf(op->dir, len, "%s%s/%s/", S3_UPLOADS, r->bucket, upload_id);
	r->op = op;
	r->op_free = s3_mpu_free;
	return op;
}

static void
s3_mpu_free(void *arg)
{
	struct s3_mpu_op *op = arg;

	free(op->dir);
	free(op->upload_id);
	free(op->headers);
	free(op->cursor);
	for (size_t i = 0; i < op->nuploads; i++) {
		free(op->uploads[i].key);
		free(op->uploads[i].id);
	}
	free(op->uploads);
	free(op->src);
	s3_meta_free(op->meta);
	xml_free(op->doc);
	for (size_t i = 0; i < op->nparts; i++)
		s3_meta_free(op->parts[i]);
	free(op->parts);
	free(op->want);
	for (size_t i = 0; i < op->nnames; i++)
		free(op->names[i]);
	free(op->names);
	sha256_free(&op->whole);
	sha256_free(&op->md5s);
	if (op->xml != NULL)
		evbuffer_free(op->xml);
	free(op);
}

/* The name of a file of the upload: dir + what. */
static char *
s3_mpu_name(const struct s3_mpu_op *op, const char *what)
{
	size_t len = strlen(op->dir) + strlen(what) + 1;
	char *n = xmalloc(len);

	snprintf(n, len, "%s%s", op->dir, what);
	return n;
}

/* An upload id must be one we could have made (32 hex digits): it becomes
 * part of a file name. */
static bool
s3_mpu_id_ok(const char *id)
{
	if (strlen(id) != 32)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* Check the upload named by ?uploadId= and go on with then(r, marker). */
static void
s3_mpu_marker(struct s3_req *r, s3_stat_fn *then)
{
	const char *id = s3_query(r, "uploadId");
	struct s3_mpu_op *op;
	char *marker;

	if (id == NULL || !s3_mpu_id_ok(id)) {
		s3_fail(r, 404, "NoSuchUpload", "the specified multipart upload does not exist");
		return;
	}
	op = s3_mpu_new(r, id);
	marker = s3_mpu_name(op, "upload");
	s3_stat(r, marker, then);
	free(marker);
}

/* The marker names the key it was made for. */
static bool
s3_mpu_marker_ok(struct s3_req *r, const Rcfs__FileMeta *m)
{
	if (m == NULL || !m->has_inline_data || m->inline_data.len != strlen(r->key) ||
	    memcmp(m->inline_data.data, r->key, m->inline_data.len) != 0) {
		s3_fail(r, 404, "NoSuchUpload", "the specified multipart upload does not exist");
		return false;
	}
	return true;
}

/* ---- CreateMultipartUpload -------------------------------------------------- */

void
s3_multipart_create(struct s3_req *r)
{
	char *name = s3_name(r->bucket, r->key);
	const char *bad = name_check(name, strlen(name));

	free(name);
	if (bad != NULL) {      /* now, not after every part went up */
		s3_fail(r, 400, "InvalidArgument", "key '%s' cannot be an rcfs name: %s", r->key, bad);
		return;
	}
	s3_bucket_check(r, s3_mpu_create_checked);
}

static void
s3_mpu_create_checked(struct s3_req *r)
{
	uint8_t rnd[16];
	char id[33], *marker, *headers;
	struct s3_mpu_op *op;
	Rcfs__FileMeta *m;
	size_t hl;

	randombytes_buf(rnd, sizeof rnd);
	sigv4_hex(rnd, sizeof rnd, id);
	op = s3_mpu_new(r, id);
	marker = s3_mpu_name(op, "upload");
	m = s3_meta_new(marker, (const uint8_t *)r->key, strlen(r->key));
	free(marker);
	/* The key in a header line too: listings carry no inline data. */
	headers = s3_kept_headers_of(r);
	hl = strlen(r->key) + (headers ? strlen(headers) : 0) + 32;
	m->s3_headers = xmalloc(hl);
	snprintf(m->s3_headers, hl, "x-rcfs-key: %s\n%s", r->key, headers ? headers : "");
	free(headers);
	op->meta = m;
	s3_commit(r, m, s3_next_seq(r), s3_mpu_created);
}

static void
s3_mpu_created(struct s3_req *r, uint64_t version)
{
	struct s3_mpu_op *op = r->op;
	struct evbuffer *xml = evbuffer_new();

	(void)version;
	xml_open_doc(xml, "InitiateMultipartUploadResult");
	xml_elem(xml, "Bucket", r->bucket);
	xml_elem(xml, "Key", r->key);
	xml_elem(xml, "UploadId", op->upload_id);
	evbuffer_add_printf(xml, "</InitiateMultipartUploadResult>");
	s3_reply_xml(r, 200, xml);
}

/* ---- UploadPart ----------------------------------------------------------------- */

/* ?partNumber= is 1 to S3_MAX_PARTS.  False: r is answered. */
static bool
s3_mpu_part_number_ok(struct s3_req *r)
{
	const char *pn = s3_query(r, "partNumber");
	char *end;
	unsigned long n = strtoul(pn, &end, 10);

	if (*pn == '\0' || *end != '\0' || n < 1 || n > S3_MAX_PARTS) {
		s3_fail(r, 400, "InvalidArgument", "partNumber must be an integer from 1 to %d",
		    S3_MAX_PARTS);
		return false;
	}
	return true;
}

void
s3_multipart_part(struct s3_req *r)
{
	if (s3_mpu_part_number_ok(r))
		s3_mpu_marker(r, s3_mpu_part_marker);
}

static void
s3_mpu_part_marker(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct s3_mpu_op *op = r->op;

	if (!s3_mpu_marker_ok(r, m))
		return;
	op->part = (unsigned)strtoul(s3_query(r, "partNumber"), NULL, 10);     /* checked */
	op->seq = s3_next_seq(r);
	s3_store(r, op->seq, false, s3_mpu_part_stored);
}

static void
s3_mpu_part_stored(struct s3_req *r, Rcfs__FileMeta *meta)
{
	struct s3_mpu_op *op = r->op;
	char what[16];

	if (meta == NULL)
		return;
	snprintf(what, sizeof what, "part.%05u", op->part);
	op->meta = meta;
	meta->name = s3_mpu_name(op, what);
	s3_commit(r, meta, op->seq, s3_mpu_part_committed);
}

static void
s3_mpu_part_committed(struct s3_req *r, uint64_t version)
{
	struct s3_mpu_op *op = r->op;
	char etag[80];

	(void)version;
	snprintf(etag, sizeof etag, "\"%s\"", op->meta->etag);
	evhttp_add_header(evhttp_request_get_output_headers(r->hr), "ETag", etag);
	s3_reply_empty(r, 200);
}

/* ---- UploadPartCopy --------------------------------------------------------------- */

/* A part made of a range of another object's chunks: metadata only, as
 * CopyObject (the chunks are protected for the commit, and the source must
 * still be the one read).  So the range must start and end on the source's
 * chunk boundaries (aws-cli and boto3 copy in 8 MiB parts: multiples of
 * 1 MiB) and the source be stored in the cluster's chunk size.  The part's
 * bytes are not read: its ETag is the MD5 of its chunk hashes, and its file
 * hash that of the chunk list (sha256_of_chunks), as for a completed object. */
void
s3_multipart_part_copy(struct s3_req *r)
{
	if (s3_unconditional(r) && s3_mpu_part_number_ok(r))
		s3_mpu_marker(r, s3_mpu_copy_marker);
}

static void
s3_mpu_copy_marker(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct s3_mpu_op *op = r->op;

	if (!s3_mpu_marker_ok(r, m) || (op->src = s3_copy_source(r)) == NULL)
		return;
	op->part = (unsigned)strtoul(s3_query(r, "partNumber"), NULL, 10);     /* checked */
	s3_stat(r, op->src, s3_mpu_copy_source);
}

static void
s3_mpu_copy_source(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct s3_mpu_op *op = r->op;
	const char *range = s3_header(r, "x-amz-copy-source-range");
	uint64_t cs = r->s->be.chunk_size, first = 0, last;
	size_t from, n;
	uint8_t md5[MD5_LEN];
	char hex[2 * MD5_LEN + 1], what[16];
	struct sha256 h;

	if (m == NULL) {
		s3_fail(r, 404, "NoSuchKey", "the copy source %s does not exist", op->src);
		return;
	}
	if (!s3_copy_source_matches(r, m))
		return;
	if (m->size == 0 || m->has_inline_data || m->chunk_size != cs) {
		s3_fail(r, 501, "NotImplemented", "UploadPartCopy from an object stored inline or in "
		    "another chunk size is not implemented (copy it with CopyObject)");
		return;
	}
	last = m->size - 1;
	if (range != NULL && (sscanf(range, "bytes=%" SCNu64 "-%" SCNu64, &first, &last) != 2 ||
	    first > last || last >= m->size)) {
		s3_fail(r, 400, "InvalidArgument", "x-amz-copy-source-range must be bytes=first-last "
		    "within the source's %" PRIu64 " bytes", m->size);
		return;
	}
	if (first % cs != 0 || ((last + 1) % cs != 0 && last + 1 != m->size)) {
		s3_fail(r, 501, "NotImplemented", "a copied part must start and end on the source's "
		    "chunk boundaries (chunk_size %" PRIu64 " bytes)", cs);
		return;
	}
	from = (size_t)(first / cs);
	n = (size_t)(last / cs) + 1 - from;
	op->src_version = m->version;
	snprintf(what, sizeof what, "part.%05u", op->part);
	op->meta = xcalloc(1, sizeof *op->meta);
	rcfs__file_meta__init(op->meta);
	op->meta->name = s3_mpu_name(op, what);
	op->meta->size = last - first + 1;
	op->meta->chunk_size = (uint32_t)cs;
	op->meta->n_chunks = n;
	op->meta->chunks = xcalloc(n, sizeof *op->meta->chunks);
	op->meta->sha256.data = xmalloc(SHA256_LEN);
	op->meta->sha256.len = SHA256_LEN;
	op->meta->has_sha256_of_chunks = op->meta->sha256_of_chunks = 1;
	memset(&h, 0, sizeof h);
	sha256_init(&h);
	for (size_t i = 0; i < n; i++) {
		op->meta->chunks[i].data = xmalloc(SHA256_LEN);
		op->meta->chunks[i].len = SHA256_LEN;
		memcpy(op->meta->chunks[i].data, m->chunks[from + i].data, SHA256_LEN);
		sha256_update(&h, op->meta->chunks[i].data, SHA256_LEN);
	}
	sha256_final(&h, op->meta->sha256.data);
	md5_init(&h);
	for (size_t i = 0; i < n; i++)
		sha256_update(&h, op->meta->chunks[i].data, SHA256_LEN);
	md5_final(&h, md5);
	sigv4_hex(md5, MD5_LEN, hex);
	op->meta->etag = xstrdup(hex);
	op->seq = s3_next_seq(r);
	s3_copy_commit(r, op->src, op->src_version, op->meta, n, op->seq, "CopyPartResult", op->meta->etag);
}

/* ---- CompleteMultipartUpload -------------------------------------------------------- */

void
s3_multipart_complete(struct s3_req *r)
{
	if (s3_unconditional(r))
		s3_mpu_marker(r, s3_mpu_complete_marker);
}

/* An ETag from the body: quotes and surrounding blanks dropped. */
static void
s3_mpu_etag(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in != '\0' && n + 1 < len; in++)
		if (*in != '"' && *in != ' ' && *in != '\n' && *in != '\r' && *in != '\t')
			out[n++] = *in;
	out[n] = '\0';
}

static void
s3_mpu_complete_marker(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct s3_mpu_op *op = r->op;
	size_t len = evbuffer_get_length(r->body);
	char why[200];
	size_t count = 0;

	if (!s3_mpu_marker_ok(r, m))
		return;
	if (m->s3_headers != NULL) {    /* drop the x-rcfs-key line */
		const char *nl = strchr(m->s3_headers, '\n');
		op->headers = nl != NULL && nl[1] != '\0' ? xstrdup(nl + 1) : NULL;
	}
	op->doc = xml_parse((const char *)evbuffer_pullup(r->body, -1), len, why, sizeof why);
	if (op->doc == NULL || strcmp(op->doc->name, "CompleteMultipartUpload") != 0) {
		s3_fail(r, 400, "MalformedXML", "%s", op->doc == NULL ? why :
		    "the root is not <CompleteMultipartUpload>");
		return;
	}
	for (struct xml_node *p = xml_child(op->doc, "Part", NULL); p; p = xml_child(op->doc, "Part", p))
		count++;
	/* parts too, before any failure: s3_mpu_free frees nparts of them */
	op->want = xcalloc(count ? count : 1, sizeof *op->want);
	op->parts = xcalloc(count ? count : 1, sizeof *op->parts);
	for (struct xml_node *p = xml_child(op->doc, "Part", NULL); p; p = xml_child(op->doc, "Part", p)) {
		const char *pn = xml_child_text(p, "PartNumber"), *etag = xml_child_text(p, "ETag");
		char *e;
		unsigned long n = pn != NULL ? strtoul(pn, &e, 10) : 0;
		struct s3_mpu_want *w;

		if (pn == NULL || *e != '\0' || n < 1 || n > S3_MAX_PARTS) {
			s3_fail(r, 400, "InvalidPart", "a part number is missing or out of range");
			return;
		}
		if (op->nparts > 0 && n <= op->want[op->nparts - 1].number) {
			s3_fail(r, 400, "InvalidPartOrder", "the parts must be listed in ascending order");
			return;
		}
		w = &op->want[op->nparts++];
		w->number = (unsigned)n;
		s3_mpu_etag(etag != NULL ? etag : "", w->etag, sizeof w->etag);
	}
	if (op->nparts == 0) {
		s3_fail(r, 400, "MalformedXML", "a CompleteMultipartUpload names at least one part");
		return;
	}
	s3_mpu_complete_more(r);
}

/* Keep S3_MPU_WINDOW stats of the listed parts in flight. */
static void
s3_mpu_complete_more(struct s3_req *r)
{
	struct s3_mpu_op *op = r->op;
	char what[16], *name;

	while (!r->replied && op->next_stat < op->nparts && op->stats_in < S3_MPU_WINDOW) {
		snprintf(what, sizeof what, "part.%05u", op->want[op->next_stat].number);
		name = s3_mpu_name(op, what);
		op->stats_in++;
		s3_stat_at(r, name, op->next_stat++, s3_mpu_complete_part);
		free(name);
	}
}

static void
s3_mpu_complete_part(struct s3_req *r, size_t at, const Rcfs__FileMeta *m)
{
	struct s3_mpu_op *op = r->op;

	op->stats_in--;
	if (r->replied)
		return;
	if (m == NULL || m->etag == NULL || strcmp(op->want[at].etag, m->etag) != 0) {
		s3_fail(r, 400, "InvalidPart", "part %u was not uploaded or its ETag differs",
		    op->want[at].number);
		return;
	}
	op->parts[at] = s3_meta_copy(m);
	if (++op->stats_done < op->nparts)
		s3_mpu_complete_more(r);
	else
		s3_mpu_complete_all(r);
}

/* Every part is there: the object is their chunks in order. */
static void
s3_mpu_complete_all(struct s3_req *r)
{
	struct s3_mpu_op *op = r->op;
	uint64_t size = 0;
	size_t nchunks = 0, k = 0;
	uint8_t md5[MD5_LEN];
	char hex[2 * SHA256_LEN + 1];

	for (size_t i = 0; i + 1 < op->nparts; i++) {
		const Rcfs__FileMeta *p = op->parts[i];
		if (p->size % r->s->be.chunk_size != 0 || p->chunk_size != r->s->be.chunk_size) {
			s3_fail(r, 400, "InvalidPart", "every part but the last must be a multiple of the "
			    "cluster's chunk size (%u bytes); part %u is %" PRIu64 " bytes",
			    r->s->be.chunk_size, op->want[i].number, p->size);
			return;
		}
	}
	if (op->nparts > 1 && op->parts[op->nparts - 1]->chunk_size != r->s->be.chunk_size) {
		s3_fail(r, 400, "InvalidPart", "part %u was stored with another chunk size",
		    op->want[op->nparts - 1].number);
		return;
	}
	md5_init(&op->md5s);
	for (size_t i = 0; i < op->nparts; i++) {
		size += op->parts[i]->size;
		nchunks += op->parts[i]->n_chunks;
		if (sodium_hex2bin(md5, sizeof md5, op->parts[i]->etag, strlen(op->parts[i]->etag), NULL,
		    NULL, NULL) != 0) {
			s3_fail(r, 500, "InternalError", "part %zu has a malformed ETag", i + 1);
			return;
		}
		sha256_update(&op->md5s, md5, sizeof md5);
	}
	op->meta = xcalloc(1, sizeof *op->meta);
	rcfs__file_meta__init(op->meta);
	op->meta->name = s3_name(r->bucket, r->key);
	op->meta->size = size;
	op->meta->chunk_size = r->s->be.chunk_size;
	op->meta->n_chunks = nchunks;
	op->meta->chunks = xcalloc(nchunks ? nchunks : 1, sizeof *op->meta->chunks);
	for (size_t i = 0; i < op->nparts; i++)
		for (size_t j = 0; j < op->parts[i]->n_chunks; j++, k++) {
			op->meta->chunks[k].data = xmalloc(SHA256_LEN);
			op->meta->chunks[k].len = SHA256_LEN;
			memcpy(op->meta->chunks[k].data, op->parts[i]->chunks[j].data, SHA256_LEN);
		}
	md5_final(&op->md5s, md5);
	sigv4_hex(md5, sizeof md5, hex);
	op->meta->etag = xmalloc(80);
	snprintf(op->meta->etag, 80, "%s-%zu", hex, op->nparts);
	op->meta->s3_headers = op->headers;
	op->headers = NULL;
	/* The parts arrived out of order (often in parallel): the object's
	 * hash is its chunk list's, each chunk verified by its own
	 * (sha256_of_chunks, docs/s3.md): no byte is read back. */
	op->meta->sha256.data = xmalloc(SHA256_LEN);
	op->meta->sha256.len = SHA256_LEN;
	op->meta->has_sha256_of_chunks = op->meta->sha256_of_chunks = 1;
	sha256_init(&op->whole);
	for (size_t i = 0; i < nchunks; i++)
		sha256_update(&op->whole, op->meta->chunks[i].data, SHA256_LEN);
	sha256_final(&op->whole, op->meta->sha256.data);
	/* Only the part files keep these chunks: protect them for the commit,
	 * then see that every part is still the one read (an Abort, the
	 * expiry or a part uploaded again in between would let GC free them). */
	op->seq = s3_next_seq(r);
	s3_protect(r, op->meta->chunks, nchunks, op->seq, false, s3_mpu_complete_protected);
}

static void
s3_mpu_complete_protected(struct s3_req *r)
{
	struct s3_mpu_op *op = r->op;

	s3_mpu_list(op, S3_MAX_PARTS + 1, s3_mpu_complete_relisted);
}

static void
s3_mpu_complete_relisted(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_mpu_op *op = arg;
	struct s3_req *r = op->r;
	Rcfs__FileListResponse *resp = (Rcfs__FileListResponse *)msg;
	size_t i = 0;

	if (!s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_LIST_RESP)) {
		s3_req_done(r);
		return;
	}
	/* Both in name order: every part read must be listed, unchanged. */
	for (size_t j = 0; j < resp->n_files && i < op->nparts; j++)
		if (strcmp(resp->files[j]->name, op->parts[i]->name) == 0) {
			if (resp->files[j]->version != op->parts[i]->version)
				break;
			i++;
		}
	if (i < op->nparts)
		s3_fail(r, 409, "OperationAborted", "the upload changed while it was completed (aborted, "
		    "expired, or part %zu uploaded again)", i + 1);
	else
		s3_commit(r, op->meta, op->seq, s3_mpu_completed);
	s3_req_done(r);
}

static void
s3_mpu_completed(struct s3_req *r, uint64_t version)
{
	struct s3_mpu_op *op = r->op;
	struct evbuffer *xml = evbuffer_new();
	char etag[84], *loc;

	(void)version;
	snprintf(etag, sizeof etag, "\"%s\"", op->meta->etag);
	xml_open_doc(xml, "CompleteMultipartUploadResult");
	loc = s3_name("", r->bucket);
	xml_elem(xml, "Location", loc);
	free(loc);
	xml_elem(xml, "Bucket", r->bucket);
	xml_elem(xml, "Key", r->key);
	xml_elem(xml, "ETag", etag);
	evbuffer_add_printf(xml, "</CompleteMultipartUploadResult>");
	/* Answer after the clean-up: a client that lists uploads next must
	 * not see this one. */
	op->xml = xml;
	op->complete_done = true;
	s3_mpu_list_dir(op);
}

/* ---- removing an upload's files (Abort, and after Complete) ----------------------- */

/* List the names under op->dir (at most limit), answered to cb. */
static void
s3_mpu_list(struct s3_mpu_op *op, uint32_t limit, peer_rpc_cb *cb)
{
	rcfs__file_list__init(&op->list);
	op->list.prefix = op->dir;
	op->list.start_after = op->cursor;      /* NULL but for ListMultipartUploads */
	op->list.has_limit = 1;
	op->list.limit = limit;
	s3_call(op->r, RCFS__MSG_TYPE__MSG_FILE_LIST, &op->list.base, cb, op);
}

static void
s3_mpu_list_dir(struct s3_mpu_op *op)
{
	s3_mpu_list(op, S3_MAX_PARTS + 1, s3_mpu_listed);
}

static void
s3_mpu_listed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_mpu_op *op = arg;
	struct s3_req *r = op->r;
	Rcfs__FileListResponse *resp = (Rcfs__FileListResponse *)msg;

	if (s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_LIST_RESP)) {
		op->names = xcalloc(resp->n_files + 1, sizeof *op->names);
		/* Parts first, the marker last: an upload never loses its marker
		 * while it still has parts. */
		for (size_t i = 0; i < resp->n_files; i++)
			if (strcmp(resp->files[i]->name + strlen(op->dir), "upload") != 0)
				op->names[op->nnames++] = xstrdup(resp->files[i]->name);
		op->names[op->nnames++] = s3_mpu_name(op, "upload");
		s3_mpu_remove_next(op);
	}
	s3_req_done(r);
}

/* Keep S3_MPU_WINDOW removes of the parts in flight, then remove the
 * marker once every part is gone, then answer.  Removes carry no session:
 * they are idempotent (a retried one finds E_NOT_FOUND, which is fine), and
 * a session's seqs must be applied in order, which parallel calls do not
 * promise. */
static void
s3_mpu_remove_next(struct s3_mpu_op *op)
{
	struct s3_req *r = op->r;
	size_t nparts = op->nnames - 1;
	struct evbuffer *xml;

	while (!r->replied && op->rm_in < S3_MPU_WINDOW &&
	    (op->next_rm < nparts || (op->next_rm == nparts && op->rm_in == 0))) {
		struct s3_mpu_rm *rm = xcalloc(1, sizeof *rm);
		rm->op = op;
		rcfs__file_remove__init(&rm->rm);
		rm->rm.name = op->names[op->next_rm++];
		op->rm_in++;
		s3_call(r, RCFS__MSG_TYPE__MSG_FILE_REMOVE, &rm->rm.base, s3_mpu_removed, rm);
	}
	if (r->replied || op->next_rm < op->nnames || op->rm_in > 0)
		return;
	if (op->complete_done) {
		xml = op->xml;
		op->xml = NULL;
		s3_reply_xml(r, 200, xml);
	} else {
		s3_reply_empty(r, 204);
	}
}

static void
s3_mpu_removed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_mpu_rm *rm = arg;
	struct s3_mpu_op *op = rm->op;
	struct s3_req *r = op->r;

	(void)type;
	(void)msg;
	free(rm);
	op->rm_in--;
	if (code != RCFS__ERROR_CODE__E_OK && code != RCFS__ERROR_CODE__E_NOT_FOUND &&
	    !op->complete_done)
		s3_fail_code(r, code, why);
	else
		s3_mpu_remove_next(op); /* after Complete, what is left goes with the upload GC */
	s3_req_done(r);
}

/* ---- AbortMultipartUpload --------------------------------------------------------- */

void
s3_multipart_abort(struct s3_req *r)
{
	s3_mpu_marker(r, s3_mpu_abort_marker);
}

static void
s3_mpu_abort_marker(struct s3_req *r, const Rcfs__FileMeta *m)
{
	if (!s3_mpu_marker_ok(r, m))
		return;
	s3_mpu_list_dir(r->op);
}

/* ---- ListParts ----------------------------------------------------------------------- */

static void
s3_mpu_parts_listed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_mpu_op *op = arg;
	struct s3_req *r = op->r;
	Rcfs__FileListResponse *resp = (Rcfs__FileListResponse *)msg;
	struct evbuffer *xml;
	char when[40], etag[84];

	if (!s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_LIST_RESP)) {
		s3_req_done(r);
		return;
	}
	xml = evbuffer_new();
	xml_open_doc(xml, "ListPartsResult");
	xml_elem(xml, "Bucket", r->bucket);
	xml_elem(xml, "Key", r->key);
	xml_elem(xml, "UploadId", op->upload_id);
	xml_elem(xml, "IsTruncated", "false");
	for (size_t i = 0; i < resp->n_files; i++) {
		const Rcfs__FileMeta *f = resp->files[i];
		const char *what = f->name + strlen(op->dir);
		if (strncmp(what, "part.", 5) != 0)
			continue;
		evbuffer_add_printf(xml, "<Part>");
		xml_elem_u64(xml, "PartNumber", strtoull(what + 5, NULL, 10));
		s3_time_iso(f->mtime_ns, when, sizeof when);
		xml_elem(xml, "LastModified", when);
		snprintf(etag, sizeof etag, "\"%s\"", f->etag ? f->etag : "");
		xml_elem(xml, "ETag", etag);
		xml_elem_u64(xml, "Size", f->size);
		evbuffer_add_printf(xml, "</Part>");
	}
	evbuffer_add_printf(xml, "</ListPartsResult>");
	s3_reply_xml(r, 200, xml);
	s3_req_done(r);
}

void
s3_multipart_list_parts(struct s3_req *r)
{
	s3_mpu_marker(r, s3_mpu_parts_marker);
}

static void
s3_mpu_parts_marker(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct s3_mpu_op *op = r->op;

	if (!s3_mpu_marker_ok(r, m))
		return;
	s3_mpu_list(op, S3_MAX_PARTS + 1, s3_mpu_parts_listed);
}

/* ---- ListMultipartUploads ---------------------------------------------------------------- */

/* S3's order: by key, then by initiation time (the upload id breaks ties:
 * ours are random). */
static int
s3_mpu_upload_cmp(const void *a, const void *b)
{
	const struct s3_mpu_upload *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	if (x->initiated_ns != y->initiated_ns)
		return x->initiated_ns < y->initiated_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Whether u comes after the request's markers: keys after key-marker, and
 * with upload-id-marker also that key's uploads after that upload in
 * s3_mpu_upload_cmp's order (op->marker_ns: its initiation, 0 if it is
 * gone, which lists that key's uploads again rather than skip one). */
static bool
s3_mpu_upload_after(struct s3_req *r, const struct s3_mpu_upload *u)
{
	const struct s3_mpu_op *op = r->op;
	const char *key_marker = s3_query(r, "key-marker"), *id_marker = s3_query(r, "upload-id-marker");
	struct s3_mpu_upload marker;
	int c;

	if (key_marker == NULL)
		return true;
	c = strcmp(u->key, key_marker);
	if (c != 0 || id_marker == NULL)
		return c > 0;
	marker = (struct s3_mpu_upload){ .key = (char *)key_marker, .id = (char *)id_marker,
	    .initiated_ns = op->marker_ns };
	return s3_mpu_upload_cmp(u, &marker) > 0;
}

/* Keep only the max_uploads + 1 first uploads gathered so far (the page,
 * and whether more follow): memory stays that of one page. */
static void
s3_mpu_uploads_trim(struct s3_mpu_op *op)
{
	size_t keep = op->max_uploads + 1;

	if (op->nuploads <= keep)
		return;
	qsort(op->uploads, op->nuploads, sizeof *op->uploads, s3_mpu_upload_cmp);
	for (size_t i = keep; i < op->nuploads; i++) {
		free(op->uploads[i].key);
		free(op->uploads[i].id);
	}
	op->nuploads = keep;
}

/* Every marker's upload after the request's markers is gathered first
 * (only the first max_uploads + 1 kept): S3 lists in key order, and the
 * markers sit in upload id order (the part files in between are skipped,
 * each page starting past an upload's parts).  Then the page is the
 * first of them in order. */
static void
s3_mpu_uploads_listed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_mpu_op *op = arg;
	struct s3_req *r = op->r;
	Rcfs__FileListResponse *resp = (Rcfs__FileListResponse *)msg;
	const char *prefix = s3_query(r, "prefix");
	const struct s3_mpu_upload *last = NULL;
	char when[40];
	bool more = false;
	size_t listed = 0;

	if (!s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_LIST_RESP)) {
		s3_req_done(r);
		return;
	}
	for (size_t i = 0; i < resp->n_files; i++) {
		const Rcfs__FileMeta *f = resp->files[i];
		const char *id = f->name + strlen(op->dir), *slash = strchr(id, '/');
		const char *key = f->s3_headers != NULL && strncmp(f->s3_headers, "x-rcfs-key: ", 12) == 0 ?
		    f->s3_headers + 12 : NULL;
		size_t klen = key != NULL ? strcspn(key, "\n") : 0;
		struct s3_mpu_upload u;
		if (slash == NULL || strcmp(slash, "/upload") != 0 || key == NULL ||
		    (prefix != NULL && (klen < strlen(prefix) || strncmp(key, prefix, strlen(prefix)) != 0)))
			continue;
		u = (struct s3_mpu_upload){
			.key = xstrndup(key, klen), .id = xstrndup(id, (size_t)(slash - id)),
			.initiated_ns = f->mtime_ns,
		};
		if (!s3_mpu_upload_after(r, &u)) {
			free(u.key);
			free(u.id);
			continue;
		}
		if (op->nuploads == op->cap_uploads)
			s3_mpu_uploads_trim(op);
		if (op->nuploads == op->cap_uploads) {
			op->cap_uploads = op->cap_uploads != 0 ? 2 * op->cap_uploads : 16;
			op->uploads = xrealloc(op->uploads, op->cap_uploads * sizeof *op->uploads);
		}
		op->uploads[op->nuploads++] = u;
	}
	if (resp->has_more && resp->more && resp->n_files > 0) {
		const char *lastname = resp->files[resp->n_files - 1]->name, *id = lastname + strlen(op->dir);
		const char *slash = strchr(id, '/');
		free(op->cursor);
		if (slash != NULL && strncmp(slash, "/part.", 6) == 0) {
			/* past this upload's parts: its marker ("upload") is next */
			size_t len = (size_t)(slash - lastname) + 7;
			op->cursor = xmalloc(len + 1);
			memcpy(op->cursor, lastname, len - 1);
			op->cursor[len - 1] = '\xff';
			op->cursor[len] = '\0';
		} else {
			op->cursor = xstrdup(lastname);
		}
		op->list.start_after = op->cursor;
		s3_call(r, RCFS__MSG_TYPE__MSG_FILE_LIST, &op->list.base, s3_mpu_uploads_listed, op);
		s3_req_done(r);
		return;
	}
	if (op->nuploads > 0)
		qsort(op->uploads, op->nuploads, sizeof *op->uploads, s3_mpu_upload_cmp);
	for (size_t i = 0; i < op->nuploads; i++) {
		const struct s3_mpu_upload *u = &op->uploads[i];
		if (listed == op->max_uploads) {
			/* with max-uploads=0 there is no marker to go on from */
			more = listed > 0;
			break;
		}
		evbuffer_add_printf(op->xml, "<Upload>");
		xml_elem(op->xml, "Key", u->key);
		xml_elem(op->xml, "UploadId", u->id);
		s3_time_iso(u->initiated_ns, when, sizeof when);
		xml_elem(op->xml, "Initiated", when);
		evbuffer_add_printf(op->xml, "<StorageClass>STANDARD</StorageClass></Upload>");
		last = u;
		listed++;
	}
	xml_elem(op->xml, "IsTruncated", more ? "true" : "false");
	if (more) {
		xml_elem(op->xml, "NextKeyMarker", last->key);
		xml_elem(op->xml, "NextUploadIdMarker", last->id);
	}
	evbuffer_add_printf(op->xml, "</ListMultipartUploadsResult>");
	s3_reply_xml(r, 200, op->xml);
	op->xml = NULL;
	s3_req_done(r);
}

void
s3_multipart_list_uploads(struct s3_req *r)
{
	s3_bucket_check(r, s3_mpu_uploads_checked);
}

static void
s3_mpu_uploads_checked(struct s3_req *r)
{
	struct s3_mpu_op *op = s3_mpu_new(r, "");
	const char *maxs = s3_query(r, "max-uploads"), *id_marker = s3_query(r, "upload-id-marker");
	char *end;
	long max = maxs != NULL ? strtol(maxs, &end, 10) : S3_MAX_KEYS;

	if (maxs != NULL && (*maxs == '\0' || *end != '\0' || max < 0)) {
		s3_fail(r, 400, "InvalidArgument", "max-uploads must be an integer >= 0");
		return;
	}
	op->max_uploads = max > S3_MAX_KEYS ? S3_MAX_KEYS : (size_t)max;
	/* dir is S3_UPLOADS bucket// here: list S3_UPLOADS bucket/ instead. */
	op->dir[strlen(op->dir) - 1] = '\0';
	op->xml = evbuffer_new();
	xml_open_doc(op->xml, "ListMultipartUploadsResult");
	xml_elem(op->xml, "Bucket", r->bucket);
	xml_elem(op->xml, "KeyMarker", s3_query(r, "key-marker") != NULL ? s3_query(r, "key-marker") : "");
	xml_elem(op->xml, "UploadIdMarker",
	    s3_query(r, "upload-id-marker") != NULL ? s3_query(r, "upload-id-marker") : "");
	xml_elem_u64(op->xml, "MaxUploads", op->max_uploads);
	if (s3_query(r, "key-marker") != NULL && id_marker != NULL && s3_mpu_id_ok(id_marker)) {
		/* where that upload sits: its initiation */
		size_t len = strlen(op->dir) + strlen(id_marker) + sizeof "/upload";
		char *name = xmalloc(len);
		snprintf(name, len, "%s%s/upload", op->dir, id_marker);
		s3_stat(r, name, s3_mpu_uploads_marked);
		free(name);
		return;
	}
	s3_mpu_list(op, S3_MAX_KEYS, s3_mpu_uploads_listed);
}

static void
s3_mpu_uploads_marked(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct s3_mpu_op *op = r->op;

	op->marker_ns = m != NULL ? m->mtime_ns : 0;
	s3_mpu_list(op, S3_MAX_KEYS, s3_mpu_uploads_listed);
}

/* ---- removing abandoned uploads ------------------------------------------------- */

/* An upload found older than the expiry (key NULL: parts whose marker is
 * gone, all older than the expiry). */
struct s3_mpu_expired {
	char *bucket, *id, *key;
};

/* The upload directory whose files the pass is walking (name order: its
 * parts, then its marker), carried from one page to the next. */
struct s3_mpu_gc_dir {
	char *dir;                      /* S3_UPLOADS bucket/id/, or NULL */
	bool marker;                    /* its marker was listed */
	bool parts;                     /* it has parts */
	int64_t newest_ms;              /* its newest part's mtime */
};

struct s3_mpu_gc {
	struct event *timer;
	bool running;                   /* a pass is under way */
	char *cursor;                   /* the pass lists on after this name; NULL: from the start */
	Rcfs__FileList list;            /* the page being listed */
	struct s3_mpu_expired *todo;    /* the page's expired uploads */
	size_t ntodo, next;
	struct s3_mpu_gc_dir cur;
	uint64_t removed;               /* uploads removed by this pass */
	uint64_t orphans;               /* of which parts without a marker */
};

static void s3_mpu_gc_page(struct s3_server *s);
static void s3_mpu_gc_next(struct s3_server *s);

static void
s3_mpu_gc_todo_free(struct s3_mpu_gc *g)
{
	for (size_t i = 0; i < g->ntodo; i++) {
		free(g->todo[i].bucket);
		free(g->todo[i].id);
		free(g->todo[i].key);
	}
	free(g->todo);
	g->todo = NULL;
	g->ntodo = g->next = 0;
}

static void
s3_mpu_gc_tick(evutil_socket_t fd, short what, void *arg)
{
	struct s3_server *s = arg;
	struct s3_mpu_gc *g = s->mpu_gc;

	(void)fd;
	(void)what;
	if (g->running || !s->be.leader(s->be.arg))
		return;
	g->running = true;
	g->removed = g->orphans = 0;
	free(g->cur.dir);
	memset(&g->cur, 0, sizeof g->cur);
	s3_mpu_gc_page(s);
}

void
s3_mpu_gc_start(struct s3_server *s)
{
	uint32_t every = s->be.upload_expiry_ms / 4;
	struct timeval tv;

	if (s->be.upload_expiry_ms == 0 || s->be.leader == NULL)
		return;
	every = every < 1000 ? 1000 : every > 3600000 ? 3600000 : every;
	s->mpu_gc = xcalloc(1, sizeof *s->mpu_gc);
	s->mpu_gc->timer = event_new(s->base, -1, EV_PERSIST, s3_mpu_gc_tick, s);
	tv.tv_sec = every / 1000;
	tv.tv_usec = (suseconds_t)(every % 1000) * 1000;
	event_add(s->mpu_gc->timer, &tv);
}

void
s3_mpu_gc_stop(struct s3_server *s)
{
	struct s3_mpu_gc *g = s->mpu_gc;

	if (g == NULL)
		return;
	s->mpu_gc = NULL;       /* what is still in flight finishes into nothing */
	event_free(g->timer);
	s3_mpu_gc_todo_free(g);
	free(g->cursor);
	free(g->cur.dir);
	free(g);
}

/* A request of the gateway's own, answered to no one. */
static struct s3_req *
s3_mpu_gc_req(struct s3_server *s, enum evhttp_cmd_type method)
{
	struct s3_req *r = s3_req_new(s, NULL);

	r->method = method;
	r->authed = true;
	return r;
}

/* The pass lists dir[len] (NULL: the pass ends): when that ends the
 * directory walked so far, and it had parts but no marker, all older than
 * cutoff (ms since the epoch), queue its removal.  Parts lose their marker
 * when one is committed after an Abort has listed the upload, or a removal
 * after Complete failed. */
static void
s3_mpu_gc_dir_at(struct s3_mpu_gc *g, const char *dir, size_t len, int64_t cutoff)
{
	struct s3_mpu_gc_dir *c = &g->cur;

	if (c->dir != NULL && dir != NULL && strlen(c->dir) == len && memcmp(c->dir, dir, len) == 0)
		return;
	if (c->dir != NULL && c->parts && !c->marker && c->newest_ms < cutoff) {
		const char *b = c->dir + strlen(S3_UPLOADS), *id = strchr(b, '/');
		g->todo[g->ntodo].bucket = xstrndup(b, (size_t)(id - b));
		g->todo[g->ntodo].id = xstrndup(id + 1, strlen(id + 1) - 1);
		g->todo[g->ntodo++].key = NULL;
	}
	free(c->dir);
	memset(c, 0, sizeof *c);
	if (dir != NULL)
		c->dir = xstrndup(dir, len);
}

static void
s3_mpu_gc_listed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_req *r = arg;
	struct s3_server *s = r->s;
	struct s3_mpu_gc *g = s->mpu_gc;
	Rcfs__FileListResponse *resp = (Rcfs__FileListResponse *)msg;
	bool ok = s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_LIST_RESP);
	int64_t cutoff = s->be.now_ms(s->be.arg) - (int64_t)s->be.upload_expiry_ms;

	if (ok && g != NULL) {
		free(g->cursor);
		g->cursor = resp->more && resp->n_files > 0 ?
		    xstrdup(resp->files[resp->n_files - 1]->name) : NULL;
		g->todo = xcalloc(resp->n_files + 1, sizeof *g->todo);
		/* S3_UPLOADS bucket/id/upload, with the key in its first header
		 * line, and bucket/id/part.N. */
		for (size_t i = 0; i < resp->n_files; i++) {
			const Rcfs__FileMeta *f = resp->files[i];
			const char *b = f->name + strlen(S3_UPLOADS), *id = strchr(b, '/'), *end;
			const char *key = f->s3_headers;
			if (id == NULL || (end = strchr(id + 1, '/')) == NULL)
				continue;
			s3_mpu_gc_dir_at(g, f->name, (size_t)(end + 1 - f->name), cutoff);
			if (strncmp(end, "/part.", 6) == 0) {
				int64_t ms = (int64_t)(f->mtime_ns / 1000000u);
				g->cur.parts = true;
				g->cur.newest_ms = ms > g->cur.newest_ms ? ms : g->cur.newest_ms;
				continue;
			}
			if (strcmp(end, "/upload") != 0)
				continue;
			g->cur.marker = true;
			if (key == NULL || strncmp(key, "x-rcfs-key: ", 12) != 0 ||
			    (int64_t)(f->mtime_ns / 1000000u) >= cutoff)
				continue;
			key += 12;
			g->todo[g->ntodo].bucket = xstrndup(b, (size_t)(id - b));
			g->todo[g->ntodo].id = xstrndup(id + 1, (size_t)(end - id - 1));
			g->todo[g->ntodo++].key = xstrndup(key, strcspn(key, "\n"));
		}
		if (g->cursor == NULL)          /* the pass's last page: its last directory */
			s3_mpu_gc_dir_at(g, NULL, 0, cutoff);
		s3_reply_empty(r, 200);
	}
	s3_req_done(r);
	if (g == NULL || s->mpu_gc != g)
		return;
	if (ok)
		s3_mpu_gc_next(s);
	else
		g->running = false;     /* the next tick tries again */
}

static void
s3_mpu_gc_page(struct s3_server *s)
{
	struct s3_mpu_gc *g = s->mpu_gc;
	struct s3_req *r = s3_mpu_gc_req(s, EVHTTP_REQ_GET);

	rcfs__file_list__init(&g->list);
	g->list.prefix = (char *)S3_UPLOADS;
	g->list.start_after = g->cursor;
	g->list.has_limit = 1;
	g->list.limit = S3_MAX_KEYS;
	s3_call(r, RCFS__MSG_TYPE__MSG_FILE_LIST, &g->list.base, s3_mpu_gc_listed, r);
	s3_req_done(r);
}

static void
s3_mpu_gc_aborted(struct s3_server *s, int status)
{
	struct s3_mpu_gc *g = s->mpu_gc;

	if (g == NULL)
		return;
	if (status == 204) {
		g->removed++;
		g->orphans += g->todo[g->next - 1].key == NULL;
	}
	s3_mpu_gc_next(s);
}

/* Abort the page's next expired upload as AbortMultipartUpload would, or
 * list the next page, or end the pass. */
static void
s3_mpu_gc_next(struct s3_server *s)
{
	struct s3_mpu_gc *g = s->mpu_gc;
	struct s3_mpu_expired *u;
	struct s3_req *r;

	if (g->next < g->ntodo) {
		u = &g->todo[g->next++];
		r = s3_mpu_gc_req(s, EVHTTP_REQ_DELETE);
		r->bucket = xstrdup(u->bucket);
		r->key = xstrdup(u->key != NULL ? u->key : "");
		evhttp_add_header(&r->query, "uploadId", u->id);
		r->finished = s3_mpu_gc_aborted;
		if (u->key != NULL)
			s3_multipart_abort(r);
		else            /* no marker to check: remove the parts (and no marker) */
			s3_mpu_list_dir(s3_mpu_new(r, u->id));
		s3_req_done(r);
		return;
	}
	s3_mpu_gc_todo_free(g);
	if (g->cursor != NULL) {
		s3_mpu_gc_page(s);
		return;
	}
	if (g->removed > 0)
		log_info("s3: removed %" PRIu64 " multipart upload%s older than %u ms (%" PRIu64
		    " of them parts without a marker)", g->removed, g->removed == 1 ? "" : "s",
		    s->be.upload_expiry_ms, g->orphans);
	g->running = false;
}
