/* Buckets and listings (docs/s3.md "mapping").  A bucket exists while a
 * marker file S3_BUCKET_MARKERS<bucket> (CreateBucket) or any file under
 * "<bucket>/" exists. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "s3/s3int.h"
#include "s3/xml.h"
#include "util/xmalloc.h"

/* A listing in progress: FileList pages until enough is gathered. */
struct s3_lister {
	struct s3_req *r;
	Rcfs__FileList req;
	char *prefix;                   /* rcfs name prefix */
	char *cursor;                   /* start_after of the next page */
	void (*page)(struct s3_lister *l, Rcfs__FileMeta **files, size_t n, bool more);
	/* ListObjects */
	bool v2, url;
	const char *s3prefix, *delimiter;
	size_t bucket_len;
	unsigned max, count;
	bool truncated;
	char *last;                     /* the last key or common prefix returned */
	struct evbuffer *contents, *prefixes;
	/* ListBuckets */
	struct s3_bucket_seen { char *name; uint64_t mtime_ns; } *names;
	size_t nnames;
	bool markers_done;
	/* bucket checks */
	void (*then)(struct s3_req *r);
	/* DeleteBucket */
	Rcfs__FileRemove rm;
};

static struct s3_lister *s3_lister_new(struct s3_req *r, const char *prefix, const char *cursor);
static void s3_lister_free(void *arg);
static void s3_lister_next(struct s3_lister *l);
static void s3_lister_got(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);
static void s3_buckets_page(struct s3_lister *l, Rcfs__FileMeta **files, size_t n, bool more);
static void s3_objects_page(struct s3_lister *l, Rcfs__FileMeta **files, size_t n, bool more);
static void s3_objects_reply(struct s3_lister *l);
static void s3_objects_reply_r(struct s3_req *r);
static void s3_check_page(struct s3_lister *l, Rcfs__FileMeta **files, size_t n, bool more);
static void s3_check_marker(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_create_marker(struct s3_req *r, const Rcfs__FileMeta *m);
static void s3_created(struct s3_req *r, uint64_t version);
static void s3_delete_page(struct s3_lister *l, Rcfs__FileMeta **files, size_t n, bool more);
static void s3_delete_removed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);
static void s3_head_ok(struct s3_req *r);
static void s3_location_ok(struct s3_req *r);
static void s3_xml_key(struct evbuffer *out, const char *tag, const char *s, bool url);

static struct s3_lister *
s3_lister_new(struct s3_req *r, const char *prefix, const char *cursor)
{
	struct s3_lister *l = xcalloc(1, sizeof *l);

	l->r = r;
	l->prefix = xstrdup(prefix);
	l->cursor = xstrdup(cursor);
	r->op = l;
	r->op_free = s3_lister_free;
	return l;
}

static void
s3_lister_free(void *arg)
{
	struct s3_lister *l = arg;

	free(l->prefix);
	free(l->cursor);
	free(l->last);
	if (l->contents != NULL)
		evbuffer_free(l->contents);
	if (l->prefixes != NULL)
		evbuffer_free(l->prefixes);
	for (size_t i = 0; i < l->nnames; i++)
		free(l->names[i].name);
	free(l->names);
	free(l);
}

/* Ask for the page after l->cursor (at most limit names). */
static void
s3_lister_page(struct s3_lister *l, uint32_t limit)
{
	rcfs__file_list__init(&l->req);
	l->req.prefix = l->prefix;
	l->req.start_after = l->cursor;
	l->req.has_limit = 1;
	l->req.limit = limit;
	s3_call(l->r, RCFS__MSG_TYPE__MSG_FILE_LIST, &l->req.base, s3_lister_got, l);
}

static void
s3_lister_next(struct s3_lister *l)
{
	s3_lister_page(l, S3_MAX_KEYS);
}

static void
s3_lister_got(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type, ProtobufCMessage *msg)
{
	struct s3_lister *l = arg;
	struct s3_req *r = l->r;
	Rcfs__FileListResponse *resp = (Rcfs__FileListResponse *)msg;

	if (s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_LIST_RESP))
		l->page(l, resp->files, resp->n_files, resp->has_more && resp->more);
	s3_req_done(r);
}

/* Move the cursor to just after every name that starts with p: no UTF-8
 * name holds the byte 0xff. */
static void
s3_lister_skip(struct s3_lister *l, const char *p, size_t len)
{
	free(l->cursor);
	l->cursor = xmalloc(len + 2);
	memcpy(l->cursor, p, len);
	l->cursor[len] = '\xff';
	l->cursor[len + 1] = '\0';
}

static void
s3_lister_set_cursor(struct s3_lister *l, const char *name)
{
	free(l->cursor);
	l->cursor = xstrdup(name);
}

/* ---- ListBuckets ---------------------------------------------------------- */

static void
s3_bucket_add(struct s3_lister *l, const char *name, size_t len, uint64_t mtime)
{
	for (size_t i = 0; i < l->nnames; i++)
		if (strlen(l->names[i].name) == len && memcmp(l->names[i].name, name, len) == 0)
			return;
	l->names = xrealloc(l->names, (l->nnames + 1) * sizeof *l->names);
	l->names[l->nnames].name = xstrndup(name, len);
	l->names[l->nnames++].mtime_ns = mtime;
}

static int
s3_bucket_cmp(const void *a, const void *b)
{
	return strcmp(((const struct s3_bucket_seen *)a)->name, ((const struct s3_bucket_seen *)b)->name);
}

/* Markers first (prefix S3_BUCKET_MARKERS), then the top-level names: one
 * page per bucket, skipping what is under it. */
void
s3_list_buckets(struct s3_req *r)
{
	struct s3_lister *l = s3_lister_new(r, S3_BUCKET_MARKERS, "");

	l->page = s3_buckets_page;
	s3_lister_next(l);
}

static void
s3_buckets_page(struct s3_lister *l, Rcfs__FileMeta **files, size_t n, bool more)
{
	struct evbuffer *xml;
	char when[40];

	for (size_t i = 0; i < n; i++) {
		const char *name = files[i]->name;
		if (!l->markers_done) {
			const char *b = name + strlen(S3_BUCKET_MARKERS);
			s3_bucket_add(l, b, strlen(b), files[i]->mtime_ns);
			s3_lister_set_cursor(l, name);
			continue;
		}
		const char *slash = strchr(name, '/');
		if (slash == NULL) {            /* a top-level file is in no bucket */
			s3_lister_set_cursor(l, name);
			continue;
		}
		if (name[0] != '.')             /* .s3/ and the like are no buckets */
			s3_bucket_add(l, name, (size_t)(slash - name), files[i]->mtime_ns);
		s3_lister_skip(l, name, (size_t)(slash - name + 1));
		s3_lister_page(l, 16);          /* the next bucket's first name */
		return;
	}
	if (more) {
		s3_lister_next(l);
		return;
	}
	if (!l->markers_done) {
		l->markers_done = true;
		free(l->prefix);
		l->prefix = xstrdup("");
		s3_lister_set_cursor(l, "");
		s3_lister_page(l, 16);
		return;
	}
	if (l->nnames > 1)      /* names is NULL with no bucket */
		qsort(l->names, l->nnames, sizeof *l->names, s3_bucket_cmp);
	xml = evbuffer_new();
	xml_open_doc(xml, "ListAllMyBucketsResult");
	evbuffer_add_printf(xml, "<Owner><ID>rcfs</ID><DisplayName>rcfs</DisplayName></Owner><Buckets>");
	for (size_t i = 0; i < l->nnames; i++) {
		evbuffer_add_printf(xml, "<Bucket>");
		xml_elem(xml, "Name", l->names[i].name);
		s3_time_iso(l->names[i].mtime_ns, when, sizeof when);
		xml_elem(xml, "CreationDate", when);
		evbuffer_add_printf(xml, "</Bucket>");
	}
	evbuffer_add_printf(xml, "</Buckets></ListAllMyBucketsResult>");
	s3_reply_xml(l->r, 200, xml);
}

/* ---- bucket existence ------------------------------------------------------ */

void
s3_bucket_check(struct s3_req *r, void (*then)(struct s3_req *r))
{
	char *marker = s3_name(".s3/buckets", r->bucket);
	struct s3_lister *l = r->op_free == s3_lister_free ? r->op : s3_lister_new(r, "", "");

	l->then = then;
	s3_stat(r, marker, s3_check_marker);
	free(marker);
}

static void
s3_check_marker(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct s3_lister *l = r->op;
	char *prefix;

	if (m != NULL) {
		l->then(r);
		return;
	}
	prefix = s3_name(r->bucket, "");
	free(l->prefix);
	l->prefix = prefix;
	free(l->cursor);        /* a listing's cursor may be past every name */
	l->cursor = xstrdup("");
	l->page = s3_check_page;
	s3_lister_page(l, 1);
}

static void
s3_check_page(struct s3_lister *l, Rcfs__FileMeta **files, size_t n, bool more)
{
	(void)files;
	(void)more;
	if (n == 0)
		s3_fail(l->r, 404, "NoSuchBucket", "bucket %s does not exist", l->r->bucket);
	else
		l->then(l->r);
}

/* ---- CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation ------------- */

bool
s3_bucket_name_ok(const char *b)
{
	size_t len = strlen(b);

	if (len < 3 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = b[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && ((c != '.' && c != '-') || i == 0 || i == len - 1))
			return false;
	}
	return strstr(b, "..") == NULL;
}

void
s3_bucket_create(struct s3_req *r)
{
	char *marker;

	if (!s3_bucket_name_ok(r->bucket)) {
		s3_fail(r, 400, "InvalidBucketName", "bucket names are 3 to 63 characters of a-z, 0-9, "
		    "'.' and '-', starting and ending with a letter or digit");
		return;
	}
	marker = s3_name(".s3/buckets", r->bucket);
	s3_stat(r, marker, s3_create_marker);
	free(marker);
}

static void
s3_create_marker(struct s3_req *r, const Rcfs__FileMeta *m)
{
	Rcfs__FileMeta *mk;
	char *name;

	if (m != NULL) {
		s3_fail(r, 409, "BucketAlreadyOwnedByYou", "bucket %s exists", r->bucket);
		return;
	}
	name = s3_name(".s3/buckets", r->bucket);
	mk = s3_meta_new(name, (const uint8_t *)"", 0);
	free(name);
	r->op = mk;
	r->op_free = (void (*)(void *))s3_meta_free;
	s3_commit(r, mk, s3_next_seq(r), s3_created);
}

static void
s3_created(struct s3_req *r, uint64_t version)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->hr);
	char *loc = s3_name("", r->bucket);

	(void)version;
	evhttp_add_header(out, "Location", loc);
	free(loc);
	s3_reply_empty(r, 200);
}

void
s3_bucket_head(struct s3_req *r)
{
	s3_bucket_check(r, s3_head_ok);
}

static void
s3_head_ok(struct s3_req *r)
{
	if (r->s->region != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(r->hr), "x-amz-bucket-region",
		    r->s->region);
	s3_reply_empty(r, 200);
}

void
s3_bucket_location(struct s3_req *r)
{
	s3_bucket_check(r, s3_location_ok);
}

static void
s3_location_ok(struct s3_req *r)
{
	struct evbuffer *xml = evbuffer_new();

	xml_open_doc(xml, "LocationConstraint");
	if (r->s->region != NULL && strcmp(r->s->region, "us-east-1") != 0)
		xml_escape(xml, r->s->region, strlen(r->s->region));
	evbuffer_add_printf(xml, "</LocationConstraint>");
	s3_reply_xml(r, 200, xml);
}

/* ---- ACLs: rcfs has none, so every bucket and object is its owner's ---- */

/* GetBucketAcl / GetObjectAcl answer the one ACL rcfs has (the canned
 * "private": the requester's key has FULL_CONTROL), as clients that show or
 * copy ACLs (s3cmd info, s3cmd cp) need one; PutBucketAcl / PutObjectAcl
 * accept only that ACL (x-amz-acl: private, or no grant at all). */
static void
s3_acl_reply(struct s3_req *r)
{
	struct evbuffer *xml = evbuffer_new();
	const char *owner = r->auth.key_id[0] != '\0' ? r->auth.key_id : "rcfs";

	xml_open_doc(xml, "AccessControlPolicy");
	evbuffer_add_printf(xml, "<Owner>");
	xml_elem(xml, "ID", owner);
	xml_elem(xml, "DisplayName", owner);
	evbuffer_add_printf(xml, "</Owner><AccessControlList><Grant><Grantee "
	    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">");
	xml_elem(xml, "ID", owner);
	xml_elem(xml, "DisplayName", owner);
	evbuffer_add_printf(xml, "</Grantee><Permission>FULL_CONTROL</Permission></Grant>"
	    "</AccessControlList></AccessControlPolicy>");
	s3_reply_xml(r, 200, xml);
}

static void
s3_acl_object(struct s3_req *r, const Rcfs__FileMeta *m)
{
	if (m == NULL)
		s3_fail(r, 404, "NoSuchKey", "the specified key does not exist");
	else if (r->method == EVHTTP_REQ_PUT)
		s3_reply_empty(r, 200);
	else
		s3_acl_reply(r);
}

/* GetObjectTagging: rcfs keeps no tags, so every object's tag set is empty
 * (aws-cli reads it to copy an object in parts); setting tags is
 * NotImplemented. */
static void
s3_tagging_object(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct evbuffer *xml;

	if (m == NULL) {
		s3_fail(r, 404, "NoSuchKey", "the specified key does not exist");
		return;
	}
	xml = evbuffer_new();
	xml_open_doc(xml, "Tagging");
	evbuffer_add_printf(xml, "<TagSet></TagSet></Tagging>");
	s3_reply_xml(r, 200, xml);
}

void
s3_tagging(struct s3_req *r)
{
	char *name;

	if (r->method != EVHTTP_REQ_GET || r->key == NULL) {
		s3_fail(r, 501, "NotImplemented", "rcfs keeps no tags: only GetObjectTagging (an empty set) "
		    "is implemented");
		return;
	}
	name = s3_name(r->bucket, r->key);
	s3_stat(r, name, s3_tagging_object);
	free(name);
}

static void
s3_acl_bucket(struct s3_req *r)
{
	if (r->method == EVHTTP_REQ_PUT)
		s3_reply_empty(r, 200);
	else
		s3_acl_reply(r);
}

void
s3_acl(struct s3_req *r)
{
	const char *canned = s3_header(r, "x-amz-acl");
	char *name;

	if (r->method == EVHTTP_REQ_PUT && ((canned != NULL && strcmp(canned, "private") != 0) ||
	    evbuffer_get_length(r->body) > 0 || s3_header(r, "x-amz-grant-read") != NULL ||
	    s3_header(r, "x-amz-grant-full-control") != NULL || s3_header(r, "x-amz-grant-write") != NULL ||
	    s3_header(r, "x-amz-grant-read-acp") != NULL || s3_header(r, "x-amz-grant-write-acp") != NULL)) {
		s3_fail(r, 501, "NotImplemented", "rcfs has no ACLs: only the canned ACL private is accepted");
		return;
	}
	if (r->key == NULL) {
		s3_bucket_check(r, s3_acl_bucket);
		return;
	}
	name = s3_name(r->bucket, r->key);
	s3_stat(r, name, s3_acl_object);
	free(name);
}

/* DeleteBucket: refused while an object is in it (BucketNotEmpty); then the
 * marker goes (NoSuchBucket if there was none). */
void
s3_bucket_delete(struct s3_req *r)
{
	char *prefix = s3_name(r->bucket, "");
	struct s3_lister *l = s3_lister_new(r, prefix, "");

	free(prefix);
	l->page = s3_delete_page;
	s3_lister_page(l, 1);
}

static void
s3_delete_page(struct s3_lister *l, Rcfs__FileMeta **files, size_t n, bool more)
{
	(void)files;
	(void)more;
	if (n > 0) {
		s3_fail(l->r, 409, "BucketNotEmpty", "bucket %s holds objects", l->r->bucket);
		return;
	}
	rcfs__file_remove__init(&l->rm);
	free(l->last);
	l->last = s3_name(".s3/buckets", l->r->bucket);
	l->rm.name = l->last;
	l->rm.has_client_id = l->rm.has_seq = 1;
	l->rm.seq = s3_next_seq(l->r);
	l->rm.client_id = l->r->client_id;
	s3_call(l->r, RCFS__MSG_TYPE__MSG_FILE_REMOVE, &l->rm.base, s3_delete_removed, l->r);
}

static void
s3_delete_removed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg)
{
	struct s3_req *r = arg;

	(void)type;
	(void)msg;
	if (code == RCFS__ERROR_CODE__E_NOT_FOUND)
		s3_fail(r, 404, "NoSuchBucket", "bucket %s does not exist", r->bucket);
	else if (code != RCFS__ERROR_CODE__E_OK)
		s3_fail_code(r, code, why);
	else
		s3_reply_empty(r, 204);
	s3_req_done(r);
}

/* ---- ListObjects (V1) and ListObjectsV2 ------------------------------------- */

/* Key material in a listing: URL-encoded with encoding-type=url. */
static void
s3_xml_key(struct evbuffer *out, const char *tag, const char *s, bool url)
{
	char *enc;

	if (!url) {
		xml_elem(out, tag, s);
		return;
	}
	enc = evhttp_uriencode(s, -1, 0);
	xml_elem(out, tag, enc != NULL ? enc : "");
	free(enc);
}

static int
s3_unhex(const char *hex, char **out)
{
	size_t len = strlen(hex), bin;

	*out = NULL;
	if (len % 2 != 0 || len > 2100)
		return -1;
	*out = xmalloc(len / 2 + 1);
	if (sodium_hex2bin((unsigned char *)*out, len / 2, hex, len, NULL, &bin, NULL) != 0 ||
	    bin != len / 2 || memchr(*out, '\0', bin) != NULL) {
		free(*out);
		*out = NULL;
		return -1;
	}
	(*out)[bin] = '\0';
	return 0;
}

void
s3_list_objects(struct s3_req *r, bool v2)
{
	const char *p = s3_query(r, "prefix"), *d = s3_query(r, "delimiter");
	const char *mk = s3_query(r, v2 ? "start-after" : "marker");
	const char *token = v2 ? s3_query(r, "continuation-token") : NULL;
	const char *maxs = s3_query(r, "max-keys"), *enc = s3_query(r, "encoding-type");
	char *from = NULL, *prefix, *cursor;
	struct s3_lister *l;
	char *end = NULL;
	long max = maxs != NULL ? strtol(maxs, &end, 10) : S3_MAX_KEYS;

	if (enc != NULL && strcmp(enc, "url") != 0) {
		s3_fail(r, 400, "InvalidArgument", "encoding-type must be url");
		return;
	}
	if (max < 0 || (maxs != NULL && (*maxs == '\0' || *end != '\0'))) {
		s3_fail(r, 400, "InvalidArgument", "max-keys must be an integer >= 0");
		return;
	}
	if (token != NULL && s3_unhex(token, &from) != 0) {
		s3_fail(r, 400, "InvalidArgument", "the continuation token is not one this gateway gave");
		return;
	}
	if (from == NULL && mk != NULL)
		from = xstrdup(mk);
	prefix = s3_name(r->bucket, p != NULL ? p : "");
	cursor = s3_name(r->bucket, from != NULL ? from : "");
	if (from == NULL)
		cursor[strlen(cursor) - 1] = '\0';      /* "bucket" sorts before every "bucket/..." */
	else if (token == NULL && d != NULL && d[0] != '\0' && strlen(from) >= strlen(d) &&
	    strcmp(from + strlen(from) - strlen(d), d) == 0) {
		/* A marker that is a common prefix (V1's NextMarker): past its names. */
		cursor = xrealloc(cursor, strlen(cursor) + 2);
		strcat(cursor, "\xff");
	}
	l = s3_lister_new(r, prefix, cursor);
	free(prefix);
	free(cursor);
	free(from);
	l->v2 = v2;
	l->url = enc != NULL;
	l->s3prefix = p != NULL ? p : "";
	l->delimiter = d != NULL && d[0] != '\0' ? d : NULL;
	l->bucket_len = strlen(r->bucket) + 1;
	l->max = max > S3_MAX_KEYS ? S3_MAX_KEYS : (unsigned)max;
	l->contents = evbuffer_new();
	l->prefixes = evbuffer_new();
	l->page = s3_objects_page;
	if (l->max == 0) {
		s3_bucket_check(r, s3_objects_reply_r);
		return;
	}
	s3_lister_page(l, l->max + 1);
}

static void
s3_objects_page(struct s3_lister *l, Rcfs__FileMeta **files, size_t n, bool more)
{
	char when[40], etag[80];

	for (size_t i = 0; i < n; i++) {
		const char *key = files[i]->name + l->bucket_len;
		const char *rest = key + strlen(l->s3prefix), *dl;
		if (l->count == l->max) {
			l->truncated = true;
			s3_objects_reply(l);
			return;
		}
		if (l->delimiter != NULL && (dl = strstr(rest, l->delimiter)) != NULL) {
			size_t cplen = (size_t)(dl - key) + strlen(l->delimiter);
			free(l->last);
			l->last = xstrndup(key, cplen);
			evbuffer_add_printf(l->prefixes, "<CommonPrefixes>");
			s3_xml_key(l->prefixes, "Prefix", l->last, l->url);
			evbuffer_add_printf(l->prefixes, "</CommonPrefixes>");
			l->count++;
			s3_lister_skip(l, files[i]->name, l->bucket_len + cplen);
			if (l->count == l->max) {
				/* Is anything left past the prefix?  One name tells. */
				s3_lister_page(l, 1);
				l->max = l->count;      /* the next page only decides IsTruncated */
				return;
			}
			s3_lister_page(l, l->max - l->count + 1);
			return;
		}
		free(l->last);
		l->last = xstrdup(key);
		s3_lister_set_cursor(l, files[i]->name);
		evbuffer_add_printf(l->contents, "<Contents>");
		s3_xml_key(l->contents, "Key", key, l->url);
		s3_time_iso(files[i]->mtime_ns, when, sizeof when);
		xml_elem(l->contents, "LastModified", when);
		s3_etag(files[i], etag + 1, sizeof etag - 2);
		etag[0] = '"';
		strcat(etag, "\"");
		xml_elem(l->contents, "ETag", etag);
		xml_elem_u64(l->contents, "Size", files[i]->size);
		evbuffer_add_printf(l->contents, "<StorageClass>STANDARD</StorageClass></Contents>");
		l->count++;
	}
	if (more && l->count < l->max) {
		s3_lister_page(l, l->max - l->count + 1);
		return;
	}
	if (more)
		l->truncated = true;
	if (l->count == 0)     /* nothing listed: NoSuchBucket if there is no bucket */
		s3_bucket_check(l->r, s3_objects_reply_r);
	else
		s3_objects_reply(l);
}

static void
s3_objects_reply_r(struct s3_req *r)
{
	s3_objects_reply(r->op);
}

static void
s3_objects_reply(struct s3_lister *l)
{
	struct s3_req *r = l->r;
	struct evbuffer *xml;

	xml = evbuffer_new();
	xml_open_doc(xml, "ListBucketResult");
	xml_elem(xml, "Name", r->bucket);
	s3_xml_key(xml, "Prefix", l->s3prefix, l->url);
	if (l->v2) {
		xml_elem_u64(xml, "KeyCount", l->count);
		if (s3_query(r, "continuation-token") != NULL)
			xml_elem(xml, "ContinuationToken", s3_query(r, "continuation-token"));
		if (s3_query(r, "start-after") != NULL)
			s3_xml_key(xml, "StartAfter", s3_query(r, "start-after"), l->url);
	} else {
		s3_xml_key(xml, "Marker", s3_query(r, "marker") ? s3_query(r, "marker") : "", l->url);
	}
	xml_elem_u64(xml, "MaxKeys", s3_query(r, "max-keys") ? strtoull(s3_query(r, "max-keys"),
	    NULL, 10) : S3_MAX_KEYS);
	if (l->delimiter != NULL)
		s3_xml_key(xml, "Delimiter", l->delimiter, l->url);
	if (l->url)
		xml_elem(xml, "EncodingType", "url");
	xml_elem(xml, "IsTruncated", l->truncated ? "true" : "false");
	if (l->truncated && l->last != NULL) {
		if (l->v2) {   /* the cursor: past a common prefix's names too */
			const char *from = l->cursor + l->bucket_len;
			size_t len = strlen(from);
			char *hex = xmalloc(2 * len + 1);
			sigv4_hex((const uint8_t *)from, len, hex);
			xml_elem(xml, "NextContinuationToken", hex);
			free(hex);
		} else {
			s3_xml_key(xml, "NextMarker", l->last, l->url);
		}
	}
	evbuffer_add_buffer(xml, l->contents);
	evbuffer_add_buffer(xml, l->prefixes);
	evbuffer_add_printf(xml, "</ListBucketResult>");
	s3_reply_xml(r, 200, xml);
}
