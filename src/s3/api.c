/* The original design's JSON API (docs/s3.md "JSON API"), on the node's HTTP
 * endpoint beside /metrics and the dashboard:
 *
 *   GET|PUT|DELETE /api/kv/KEY       a small value, the file kv/KEY;
 *                                    PUT body {"value": "..."}
 *   GET  /api/files[?prefix=P&after=A&limit=N]   a page of the file list
 *   GET  /api/files/NAME              the file (Range works as for S3)
 *   PUT  /api/files/NAME              store the body as NAME (the dashboard's upload)
 *   DELETE /api/files/NAME
 *   GET  /api/files/NAME/metadata     size, sha256, version, chunks and their homes
 *
 * It shares the S3 gateway's machinery (s3_store, s3_commit, s3_stat, the
 * streaming GET); answers are JSON, errors {"error": CODE, "message": ...}. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http/json.h"
#include "s3/s3int.h"
#include "util/xmalloc.h"

#define API_LIST_DEFAULT 1000

static void api_route(struct s3_req *r, const char *path, bool may_write);
static void api_kv_got(struct s3_req *r, const Rcfs__FileMeta *m);
static void api_kv_put(struct s3_req *r);
static void api_remove(struct s3_req *r);
static void api_removed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);
static void api_list(struct s3_req *r);
static void api_listed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type,
    ProtobufCMessage *msg);
static void api_meta_got(struct s3_req *r, const Rcfs__FileMeta *m);
static void api_reply(struct s3_req *r, int status, struct evbuffer *json);
static int api_json_value(const char *in, size_t len, char **value, size_t *vlen);

void
s3_api(struct s3_server *s, struct evhttp_request *hr, bool may_write)
{
	struct s3_req *r = s3_req_new(s, hr);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(hr);
	const char *raw = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	char *path;
	size_t len;

	r->json = true;
	r->authed = true;
	path = raw != NULL ? evhttp_uridecode(raw, 0, &len) : NULL;
	if (path == NULL || strlen(path) != len)
		s3_fail(r, 400, "InvalidURI", "the path does not decode (or holds a NUL byte)");
	else if (q != NULL && s3_parse_query(q, &r->query) != 0)
		s3_fail(r, 400, "InvalidURI", "the query string does not parse");
	else
		api_route(r, path, may_write);
	free(path);
	s3_req_done(r);
}

static void
api_route(struct s3_req *r, const char *path, bool may_write)
{
	bool get = r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD;
	bool put = r->method == EVHTTP_REQ_PUT, del = r->method == EVHTTP_REQ_DELETE;
	size_t len = strlen(path);

	if ((put || del) && !may_write) {
		s3_fail(r, 403, "AccessDenied", "this key is read-only");
		return;
	}
	if (!get && !put && !del) {
		s3_fail(r, 405, "MethodNotAllowed", "GET, HEAD, PUT or DELETE");
		return;
	}
	r->body = evbuffer_new();
	evbuffer_add_buffer(r->body, evhttp_request_get_input_buffer(r->hr));
	if (strncmp(path, "/api/kv/", 8) == 0 && path[8] != '\0') {
		r->name = s3_name("kv", path + 8);
		if (get)
			s3_stat(r, r->name, api_kv_got);
		else if (put)
			api_kv_put(r);
		else
			api_remove(r);
	} else if (strcmp(path, "/api/files") == 0 || strcmp(path, "/api/files/") == 0) {
		if (get)
			api_list(r);
		else
			s3_fail(r, 405, "MethodNotAllowed", "GET lists the files");
	} else if (strncmp(path, "/api/files/", 11) == 0 && len > 20 &&
	    strcmp(path + len - 9, "/metadata") == 0 && get) {
		r->name = xstrndup(path + 11, len - 11 - 9);
		s3_stat(r, r->name, api_meta_got);
	} else if (strncmp(path, "/api/files/", 11) == 0 && path[11] != '\0') {
		r->name = xstrdup(path + 11);
		if (get)
			s3_object_get(r, r->method == EVHTTP_REQ_HEAD);
		else if (put)
			s3_object_store(r);
		else
			api_remove(r);
	} else {
		s3_fail(r, 404, "NotFound", "no such API route (docs/s3.md \"JSON API\")");
	}
}

/* ---- answers --------------------------------------------------------------------- */

static void
api_reply(struct s3_req *r, int status, struct evbuffer *json)
{
	if (r->replied || r->hr == NULL) {
		evbuffer_free(json);
		return;
	}
	r->replied = true;
	evbuffer_add(json, "\n", 1);
	evhttp_add_header(evhttp_request_get_output_headers(r->hr), "Content-Type", "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(r->hr), "Cache-Control", "no-store");
	evhttp_send_reply(r->hr, status, NULL, json);
	r->hr = NULL;
	evbuffer_free(json);
}

void
s3_api_error(struct s3_req *r, int status, const char *code, const char *msg)
{
	struct evbuffer *b = evbuffer_new();
	struct json_writer w;

	json_init(&w, b);
	json_object_begin(&w);
	json_kv_string(&w, "error", code);
	json_kv_string(&w, "message", msg);
	json_object_end(&w);
	api_reply(r, status, b);
}

/* A file's metadata as JSON fields (inside an object). */
static void
api_meta_fields(struct json_writer *w, const Rcfs__FileMeta *m)
{
	char hex[2 * 32 + 1], etag[80];

	json_kv_string(w, "name", m->name);
	json_kv_uint(w, "size", m->size);
	if (m->sha256.len == 32) {
		sigv4_hex(m->sha256.data, 32, hex);
		json_kv_string(w, "sha256", hex);
	}
	if (m->has_version)
		json_kv_uint(w, "version", m->version);
	if (m->has_mtime_ns)
		json_kv_uint(w, "mtime_ns", m->mtime_ns);
	s3_etag(m, etag, sizeof etag);
	json_kv_string(w, "etag", etag);
}

void
s3_api_stored(struct s3_req *r, const Rcfs__FileMeta *meta, uint64_t version)
{
	struct evbuffer *b = evbuffer_new();
	struct json_writer w;

	json_init(&w, b);
	json_object_begin(&w);
	api_meta_fields(&w, meta);
	json_kv_uint(&w, "version", version);
	json_object_end(&w);
	api_reply(r, 200, b);
}

/* ---- kv ---------------------------------------------------------------------------- */

static void
api_kv_got(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct evbuffer *b;
	struct json_writer w;
	char *value;

	if (m == NULL) {
		s3_fail(r, 404, "NoSuchKey", "no such key");
		return;
	}
	if (!m->has_inline_data) {
		s3_fail(r, 409, "NotAValue", "%s is a file of %" PRIu64 " bytes: GET /api/files/%s",
		    r->name, m->size, r->name);
		return;
	}
	value = xstrndup((const char *)m->inline_data.data, m->inline_data.len);
	if (strlen(value) != m->inline_data.len) {
		free(value);
		s3_fail(r, 409, "NotAValue", "the value holds a NUL byte: GET /api/files/%s", r->name);
		return;
	}
	b = evbuffer_new();
	json_init(&w, b);
	json_object_begin(&w);
	json_kv_string(&w, "key", r->name + 3);
	json_kv_string(&w, "value", value);
	json_kv_uint(&w, "version", m->version);
	json_object_end(&w);
	free(value);
	api_reply(r, 200, b);
}

static void
api_kv_put(struct s3_req *r)
{
	size_t len = evbuffer_get_length(r->body), vlen;
	char *value;

	if (api_json_value((const char *)evbuffer_pullup(r->body, -1), len, &value, &vlen) != 0) {
		s3_fail(r, 400, "MalformedJSON", "the body must be {\"value\": \"...\"}");
		return;
	}
	evbuffer_drain(r->body, len);
	evbuffer_add(r->body, value, vlen);
	free(value);
	s3_object_store(r);
}

/* ---- remove ------------------------------------------------------------------------- */

static void
api_remove(struct s3_req *r)
{
	Rcfs__FileRemove *rm = xcalloc(1, sizeof *rm);

	rcfs__file_remove__init(rm);
	rm->name = r->name;
	rm->has_client_id = rm->has_seq = 1;
	rm->seq = s3_next_seq(r);
	rm->client_id = r->client_id;
	r->op = rm;
	r->op_free = free;
	s3_call(r, RCFS__MSG_TYPE__MSG_FILE_REMOVE, &rm->base, api_removed, r);
}

static void
api_removed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type, ProtobufCMessage *msg)
{
	struct s3_req *r = arg;
	struct evbuffer *b;
	struct json_writer w;

	if (s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_REMOVE_RESP)) {
		b = evbuffer_new();
		json_init(&w, b);
		json_object_begin(&w);
		json_kv_string(&w, "name", r->name);
		json_kv_bool(&w, "deleted", true);
		json_kv_uint(&w, "version", ((Rcfs__FileRemoveResponse *)msg)->version);
		json_object_end(&w);
		api_reply(r, 200, b);
	}
	s3_req_done(r);
}

/* ---- list ------------------------------------------------------------------------------ */

static void
api_list(struct s3_req *r)
{
	Rcfs__FileList *l = xcalloc(1, sizeof *l);
	const char *limit = s3_query(r, "limit");

	rcfs__file_list__init(l);
	l->prefix = (char *)s3_query(r, "prefix");
	l->start_after = (char *)s3_query(r, "after");
	l->has_limit = 1;
	l->limit = limit != NULL ? (uint32_t)strtoul(limit, NULL, 10) : API_LIST_DEFAULT;
	if (l->limit == 0 || l->limit > 10000)
		l->limit = API_LIST_DEFAULT;
	r->op = l;
	r->op_free = free;
	s3_call(r, RCFS__MSG_TYPE__MSG_FILE_LIST, &l->base, api_listed, r);
}

static void
api_listed(void *arg, Rcfs__ErrorCode code, const char *why, uint8_t type, ProtobufCMessage *msg)
{
	struct s3_req *r = arg;
	Rcfs__FileListResponse *resp = (Rcfs__FileListResponse *)msg;
	struct evbuffer *b;
	struct json_writer w;

	if (!s3_answered(r, code, why, type, RCFS__MSG_TYPE__MSG_FILE_LIST_RESP)) {
		s3_req_done(r);
		return;
	}
	b = evbuffer_new();
	json_init(&w, b);
	json_object_begin(&w);
	json_key(&w, "files");
	json_array_begin(&w);
	for (size_t i = 0; i < resp->n_files; i++) {
		json_object_begin(&w);
		api_meta_fields(&w, resp->files[i]);
		json_object_end(&w);
	}
	json_array_end(&w);
	json_kv_bool(&w, "more", resp->has_more && resp->more);
	json_object_end(&w);
	api_reply(r, 200, b);
	s3_req_done(r);
}

/* ---- metadata ----------------------------------------------------------------------------- */

static void
api_meta_got(struct s3_req *r, const Rcfs__FileMeta *m)
{
	struct evbuffer *b;
	struct json_writer w;
	char hex[65];
	uint64_t homes[16];

	if (m == NULL) {
		s3_fail(r, 404, "NoSuchKey", "no such file");
		return;
	}
	b = evbuffer_new();
	json_init(&w, b);
	json_object_begin(&w);
	api_meta_fields(&w, m);
	json_kv_uint(&w, "chunk_size", m->chunk_size);
	json_kv_bool(&w, "inline", m->has_inline_data);
	json_key(&w, "chunks");
	json_array_begin(&w);
	for (size_t i = 0; i < m->n_chunks; i++) {
		uint64_t off = (uint64_t)i * m->chunk_size;
		uint32_t n = r->s->be.homes != NULL ? r->s->be.homes(r->s->be.arg, m->chunks[i].data,
		    homes, 16) : 0;
		json_object_begin(&w);
		json_kv_uint(&w, "index", i);
		sigv4_hex(m->chunks[i].data, m->chunks[i].len < 32 ? m->chunks[i].len : 32, hex);
		json_kv_string(&w, "sha256", hex);
		json_kv_uint(&w, "size", m->size - off < m->chunk_size ? m->size - off : m->chunk_size);
		json_key(&w, "nodes");
		json_array_begin(&w);
		for (uint32_t k = 0; k < n; k++)
			json_uint(&w, homes[k]);
		json_array_end(&w);
		json_object_end(&w);
	}
	json_array_end(&w);
	json_object_end(&w);
	api_reply(r, 200, b);
}

/* ---- the one JSON body this API reads ------------------------------------------------------ */

/* Exactly four hex digits at p (the caller made sure they are in the
 * buffer) into *v; -1 otherwise (sscanf's %4x would take blanks and signs,
 * and read on past an unterminated body). */
static int
api_hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
		    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/* Parse a JSON string at *p (RFC 8259 §7) into out; -1 if malformed. */
static int
api_json_string(const char **p, const char *end, struct evbuffer *out)
{
	const char *s = *p;

	if (s >= end || *s != '"')
		return -1;
	for (s++; s < end && *s != '"'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			evbuffer_add(out, s, 1);
			continue;
		}
		if (++s >= end)
			return -1;
		switch (*s) {
		case '"': case '\\': case '/': evbuffer_add(out, s, 1); break;
		case 'b': evbuffer_add(out, "\b", 1); break;
		case 'f': evbuffer_add(out, "\f", 1); break;
		case 'n': evbuffer_add(out, "\n", 1); break;
		case 'r': evbuffer_add(out, "\r", 1); break;
		case 't': evbuffer_add(out, "\t", 1); break;
		case 'u': {
			unsigned cp = 0, lo = 0;
			char u8[4];
			if (end - s < 5 || api_hex4(s + 1, &cp) != 0)
				return -1;
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {     /* a surrogate pair */
				if (end - s < 7 || s[1] != '\\' || s[2] != 'u' || api_hex4(s + 3, &lo) != 0 ||
				    lo < 0xdc00 || lo >= 0xe000)
					return -1;
				s += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				return -1;
			}
			if (cp == 0)
				return -1;      /* names and values hold no NUL */
			if (cp < 0x80) {
				u8[0] = (char)cp;
				evbuffer_add(out, u8, 1);
			} else if (cp < 0x800) {
				u8[0] = (char)(0xc0 | cp >> 6);
				u8[1] = (char)(0x80 | (cp & 0x3f));
				evbuffer_add(out, u8, 2);
			} else if (cp < 0x10000) {
				u8[0] = (char)(0xe0 | cp >> 12);
				u8[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
				u8[2] = (char)(0x80 | (cp & 0x3f));
				evbuffer_add(out, u8, 3);
			} else {
				u8[0] = (char)(0xf0 | cp >> 18);
				u8[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
				u8[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
				u8[3] = (char)(0x80 | (cp & 0x3f));
				evbuffer_add(out, u8, 4);
			}
			break;
		}
		default:
			return -1;
		}
	}
	if (s >= end)
		return -1;
	*p = s + 1;
	return 0;
}

static void
api_json_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
		(*p)++;
}

/* {"value": "..."} (other string members are allowed and ignored) into a
 * new *value[*vlen]; -1 if the body is not such an object. */
static int
api_json_value(const char *in, size_t len, char **value, size_t *vlen)
{
	const char *p = in, *end = in + len;
	struct evbuffer *k = evbuffer_new(), *v = evbuffer_new(), *found = NULL;
	int rv = -1;

	api_json_ws(&p, end);
	if (p >= end || *p++ != '{')
		goto out;
	api_json_ws(&p, end);
	while (p < end && *p != '}') {
		evbuffer_drain(k, evbuffer_get_length(k));
		evbuffer_drain(v, evbuffer_get_length(v));
		if (api_json_string(&p, end, k) != 0)
			goto out;
		api_json_ws(&p, end);
		if (p >= end || *p++ != ':')
			goto out;
		api_json_ws(&p, end);
		if (api_json_string(&p, end, v) != 0)
			goto out;
		if (evbuffer_get_length(k) == 5 && memcmp(evbuffer_pullup(k, -1), "value", 5) == 0) {
			if (found != NULL)
				goto out;       /* "value" twice */
			found = evbuffer_new();
			evbuffer_add_buffer(found, v);
		}
		api_json_ws(&p, end);
		if (p < end && *p == ',') {
			p++;
			api_json_ws(&p, end);
			if (p < end && *p == '}')
				goto out;       /* a trailing comma */
		} else if (p < end && *p != '}') {
			goto out;
		}
	}
	if (p >= end || found == NULL)
		goto out;
	p++;
	api_json_ws(&p, end);
	if (p != end)
		goto out;
	*vlen = evbuffer_get_length(found);
	*value = xmalloc(*vlen + 1);
	evbuffer_remove(found, *value, *vlen);
	(*value)[*vlen] = '\0';
	rv = 0;
out:
	evbuffer_free(k);
	evbuffer_free(v);
	if (found != NULL)
		evbuffer_free(found);
	return rv;
}
