/* The S3 gateway's server: listener, request parsing, SigV4, routing,
 * errors (s3/s3.h, docs/s3.md). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
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
#include <event2/keyvalq_struct.h>

#include "http/http.h"
#include "s3/checksum.h"
#include "s3/s3int.h"
#include "s3/xml.h"
#include "util/evread.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/xmalloc.h"

#define S3_TIMEOUT_S       60           /* a request must arrive and a reply leave in this */
#define S3_MAX_HEADERS     (16 * 1024)  /* bytes of request line + headers */
#define S3_MAX_SINGLE_WRITE (1024 * 1024) /* bytes one write of a response may move */
#define S3_MAX_SINGLE_READ (256 * 1024)   /* bytes one read of a request may add */
#define S3_EVBUFFER_READ 4096             /* libevent 2.1's EVBUFFER_MAX_READ (not exported) */

static void s3_handle(struct evhttp_request *hr, void *arg);
static bool s3_parse(struct s3_req *r);
static bool s3_authenticate(struct s3_req *r);
static bool s3_decode_body(struct s3_req *r);
static void s3_route(struct s3_req *r);
static void s3_req_free(struct s3_req *r);
static void s3_common_headers(struct s3_req *r);
static void s3_sigv4_fail(struct s3_req *r, enum sigv4_err e, const char *why);
static int s3_lookup(void *arg, const char *key_id, char *secret);
static const char *s3_method(const struct s3_req *r);

/* A gateway connection's bufferevent has just read, at most
 * S3_EVBUFFER_READ bytes (libevent 2.1's evbuffer_read): if it read that
 * many, the socket may hold more, and before evhttp sees any of it this takes
 * what else is there, up to S3_MAX_SINGLE_READ, with one readv.  evhttp
 * still decides when its connection reads (this runs only when the
 * bufferevent did).  An end of file or error this read meets is met again by
 * the bufferevent's next read: a TCP FIN stays readable, and after a reset
 * reads return 0, which evhttp takes as the end as well. */
static void
s3_read_more(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	static bool inside;     /* our own read adds to in, which calls us again */
	evutil_socket_t fd;

	if (info->n_added != S3_EVBUFFER_READ || inside || (fd = bufferevent_getfd(arg)) < 0)
		return;
	inside = true;
	(void)evread(in, fd, S3_MAX_SINGLE_READ);
	inside = false;
}

/* evhttp's own bufferevents write at most 16 KiB per call (libevent's
 * default) and read at most 4 KiB: 64 system calls and loop turns for each
 * 1 MiB chunk of a GET, 256 for each 1 MiB of a PUT's body.  Its connections
 * get one that writes up to S3_MAX_SINGLE_WRITE, as rcfsd's own connections
 * do (src/net/conn.c), and reads up to S3_MAX_SINGLE_READ (s3_read_more). */
static struct bufferevent *
s3_bufferevent(struct event_base *base, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

	(void)arg;
	if (bev == NULL)
		return NULL;
	bufferevent_set_max_single_write(bev, S3_MAX_SINGLE_WRITE);
	if (evbuffer_add_cb(bufferevent_get_input(bev), s3_read_more, bev) == NULL) {
		bufferevent_free(bev);
		return NULL;
	}
	return bev;
}

struct s3_server *
s3_new(struct event_base *base, const char *listen, const struct s3_backend *be, char *err,
    size_t errlen)
{
	struct s3_server *s = xcalloc(1, sizeof *s);
	unsigned port;

	s->base = base;
	s->be = *be;
	s->region = be->region != NULL ? xstrdup(be->region) : NULL;
	s->be.region = s->region;
	s->domain = be->domain != NULL ? xstrdup(be->domain) : NULL;
	s->be.domain = s->domain;
	TAILQ_INIT(&s->reqs);
	if ((s->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		s3_free(s);
		return NULL;
	}
	/* Every method reaches s3_handle, which answers what S3 would. */
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_timeout(s->http, S3_TIMEOUT_S);
	evhttp_set_max_headers_size(s->http, S3_MAX_HEADERS);
	/* aws-chunked framing adds ~90 bytes per 64 KiB chunk on top of the body. */
	evhttp_set_max_body_size(s->http, (ev_ssize_t)be->max_body + be->max_body / 512 + 4096);
	evhttp_set_gencb(s->http, s3_handle, s);
	evhttp_set_bevcb(s->http, s3_bufferevent, NULL);
	if (listen != NULL && (s->sock = http_bind(s->http, listen, &port, err, errlen)) == NULL) {
		s3_free(s);
		return NULL;
	}
	s3_mpu_gc_start(s);
	return s;
}

void
s3_free(struct s3_server *s)
{
	struct s3_req *r;

	if (s == NULL)
		return;
	s3_mpu_gc_stop(s);
	/* Requests whose backend calls never came back (the node is gone). */
	while ((r = TAILQ_FIRST(&s->reqs)) != NULL) {
		r->hr = NULL;           /* evhttp_free frees it */
		s3_req_free(r);
	}
	if (s->http != NULL)
		evhttp_free(s->http);
	free(s->region);
	free(s->domain);
	free(s);
}

unsigned
s3_port(const struct s3_server *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	if (s->sock == NULL)
		return 0;
	if (getsockname(evhttp_bound_socket_get_fd(s->sock), (struct sockaddr *)&ss, &sl) != 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
}

uint64_t
s3_next_seq(struct s3_req *r)
{
	struct s3_server *s = r->s;

	if (r->slot < 0 && r->client_id == 0) {
		for (int i = 0; i < S3_SLOTS && r->slot < 0; i++)
			if (!s->slot_busy[i]) {
				s->slot_busy[i] = true;
				r->slot = i;
			}
		r->client_id = s->be.client_id + (r->slot >= 0 ? (uint64_t)r->slot :
		    S3_SLOTS + ++s->overflow);  /* a fresh session: seq 1 is new */
	}
	return r->slot >= 0 ? ++s->slot_seq[r->slot] : ++r->own_seq;
}

/* ---- a request's life ---------------------------------------------------- */

struct s3_req *
s3_req_new(struct s3_server *s, struct evhttp_request *hr)
{
	struct s3_req *r = xcalloc(1, sizeof *r);

	r->s = s;
	r->hr = hr;
	r->method = hr != NULL ? evhttp_request_get_command(hr) : EVHTTP_REQ_GET;
	TAILQ_INIT(&r->query);
	snprintf(r->id, sizeof r->id, "%016" PRIX64, ++s->next_id ^ s->be.client_id);
	TAILQ_INSERT_TAIL(&s->reqs, r, link);
	s->active++;
	r->pending = 1;         /* the caller's hold: s3_req_done when it is through */
	r->slot = -1;
	return r;
}

static void
s3_handle(struct evhttp_request *hr, void *arg)
{
	struct s3_server *s = arg;
	struct s3_req *r = s3_req_new(s, hr);

	if (s->active > s->be.max_conns)
		s3_fail(r, 503, "SlowDown", "more than %u requests in progress on this node; "
		    "retry later", s->be.max_conns);
	else if (s3_parse(r) && s3_authenticate(r) && s3_decode_body(r))
		s3_route(r);
	s3_req_done(r);
}

void
s3_req_done(struct s3_req *r)
{
	if (--r->pending > 0)
		return;
	if (!r->replied)
		s3_fail(r, 500, "InternalError", "the request ended without an answer");
	s3_req_free(r);
}

static void
s3_req_free(struct s3_req *r)
{
	struct s3_server *s = r->s;
	void (*finished)(struct s3_server *, int) = r->finished;
	int status = r->status;

	TAILQ_REMOVE(&r->s->reqs, r, link);
	r->s->active--;
	if (r->slot >= 0)
		r->s->slot_busy[r->slot] = false;
	if (r->op_free != NULL)
		r->op_free(r->op);
	evhttp_clear_headers(&r->query);
	if (r->body != NULL)
		evbuffer_free(r->body);
	free(r->bucket);
	free(r->key);
	free(r->name);
	free(r);
	if (finished != NULL)
		finished(s, status);
}

void
s3_call(struct s3_req *r, uint8_t type, ProtobufCMessage *msg, peer_rpc_cb *cb, void *arg)
{
	r->pending++;
	r->s->be.call(r->s->be.arg, type, msg, cb, arg);
}

const char *
s3_query(const struct s3_req *r, const char *name)
{
	return evhttp_find_header(&r->query, name);
}

const char *
s3_header(const struct s3_req *r, const char *name)
{
	return r->hr != NULL ? evhttp_find_header(evhttp_request_get_input_headers(r->hr), name) : NULL;
}

char *
s3_name(const char *bucket, const char *key)
{
	size_t bl = strlen(bucket), kl = strlen(key);
	char *n = xmalloc(bl + kl + 2);

	memcpy(n, bucket, bl);
	n[bl] = '/';
	memcpy(n + bl + 1, key, kl + 1);
	return n;
}

/* Parse "a=1&b&c=x%20y" into q (names and values percent-decoded; a name
 * without '=' gets the value "").  evhttp_parse_query_str refuses names
 * without a value, which S3 uses for sub-resources (?uploads, ?delete). */
int
s3_parse_query(const char *qs, struct evkeyvalq *q)
{
	char *copy = xstrdup(qs), *save = NULL, *kv;
	int rv = 0;

	for (kv = strtok_r(copy, "&", &save); kv != NULL && rv == 0; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '='), *k, *v;
		size_t kl, vl;
		if (eq != NULL)
			*eq = '\0';
		k = evhttp_uridecode(kv, 0, &kl);
		v = evhttp_uridecode(eq != NULL ? eq + 1 : "", 0, &vl);
		if (k == NULL || v == NULL || strlen(k) != kl || strlen(v) != vl || kl == 0 ||
		    evhttp_add_header(q, k, v) != 0)
			rv = -1;
		free(k);
		free(v);
	}
	free(copy);
	return rv;
}

char *
s3_req_name(const struct s3_req *r)
{
	return r->name != NULL ? xstrdup(r->name) : s3_name(r->bucket, r->key);
}

/* Virtual-host style: the bucket of a Host header "BUCKET.<s3_domain>[:port]"
 * (compared without case), or NULL (path style: the Host is the domain
 * itself, another name, or s3_domain is unset). */
static char *
s3_vhost_bucket(const struct s3_req *r)
{
	const char *domain = r->s->be.domain, *host = s3_header(r, "Host"), *colon;
	size_t hl, dl;

	if (domain == NULL || host == NULL)
		return NULL;
	colon = strrchr(host, ':');
	hl = colon != NULL && strchr(colon, ']') == NULL ? (size_t)(colon - host) : strlen(host);
	dl = strlen(domain);
	if (hl < dl + 2 || host[hl - dl - 1] != '.' || strncasecmp(host + hl - dl, domain, dl) != 0)
		return NULL;
	return xstrndup(host, hl - dl - 1);   /* checked by the caller */
}

/* Split the path into bucket and key (path style: /bucket/key; virtual-host
 * style: the bucket from the Host, the key the whole path) and parse the
 * query.  False: r is answered. */

static bool
s3_parse(struct s3_req *r)
{
	const char *uri = evhttp_request_get_uri(r->hr);
	const char *q = strchr(uri, '?');
	size_t plen = q != NULL ? (size_t)(q - uri) : strlen(uri);
	char *path, *decoded, *slash, *vhost;
	size_t dlen;

	if (plen == 0 || uri[0] != '/') {
		s3_fail(r, 400, "InvalidURI", "the request target must be an absolute path");
		return false;
	}
	path = xmalloc(plen + 1);
	memcpy(path, uri, plen);
	path[plen] = '\0';
	decoded = evhttp_uridecode(path, 0, &dlen);
	free(path);
	if (decoded == NULL || strlen(decoded) != dlen) {
		free(decoded);
		s3_fail(r, 400, "InvalidURI", "the path does not decode (or holds a NUL byte)");
		return false;
	}
	if (q != NULL && s3_parse_query(q + 1, &r->query) != 0) {
		free(decoded);
		s3_fail(r, 400, "InvalidURI", "the query string does not parse");
		return false;
	}
	if ((vhost = s3_vhost_bucket(r)) != NULL) {
		for (char *c = vhost; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		r->bucket = vhost;
		r->vhost = true;
		if (!s3_bucket_name_ok(vhost)) {
			free(decoded);
			s3_fail(r, 400, "InvalidBucketName", "the Host header names no valid bucket "
			    "before s3_domain");
			return false;
		}
		if (decoded[1] != '\0')
			r->key = xstrdup(decoded + 1);
	} else if (decoded[1] != '\0') {
		slash = strchr(decoded + 1, '/');
		if (slash != NULL) {
			r->bucket = xstrndup(decoded + 1, (size_t)(slash - decoded - 1));
			if (slash[1] != '\0')
				r->key = xstrdup(slash + 1);
		} else {
			r->bucket = xstrdup(decoded + 1);
		}
	}
	free(decoded);
	if (r->bucket != NULL && (r->bucket[0] == '\0' || r->bucket[0] == '.' ||
	    strlen(r->bucket) > 63)) {
		s3_fail(r, 400, "InvalidBucketName", "bucket names are 1 to 63 characters and start "
		    "with a letter or digit");
		return false;
	}
	return true;
}

static const char *
s3_method(const struct s3_req *r)
{
	switch (r->method) {
	case EVHTTP_REQ_GET:     return "GET";
	case EVHTTP_REQ_HEAD:    return "HEAD";
	case EVHTTP_REQ_PUT:     return "PUT";
	case EVHTTP_REQ_POST:    return "POST";
	case EVHTTP_REQ_DELETE:  return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default:                 return "PATCH";
	}
}

static int
s3_lookup(void *arg, const char *key_id, char *secret)
{
	struct s3_req *r = arg;
	enum s3_access access;

	return r->s->be.lookup(r->s->be.arg, key_id, secret, &access);
}

static int
s3_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A Signature Version 2 presigned URL (AWSAccessKeyId, Expires, Signature
 * in the query; AWS S3 Developer Guide, "Signing and authenticating REST
 * requests"), which boto3 before 1.36 and s3cmd signurl still make:
 * Signature = base64(HMAC-SHA1(secret, method \n Content-MD5 \n
 * Content-Type \n Expires \n x-amz-* headers resource)).  Only the query
 * form: a V2 Authorization header is refused.  False: r is answered. */
static bool
s3_sigv2_presigned(struct s3_req *r)
{
	static const char *const subres[] = {
		"acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber",
		"policy", "requestPayment", "response-cache-control", "response-content-disposition",
		"response-content-encoding", "response-content-language", "response-content-type",
		"response-expires", "restore", "tagging", "torrent", "uploadId", "uploads", "versionId",
		"versioning", "versions", "website",
	};
	const char *key = s3_query(r, "AWSAccessKeyId"), *expires = s3_query(r, "Expires");
	const char *given = s3_query(r, "Signature"), *uri = evhttp_request_get_uri(r->hr);
	const char *md5 = s3_header(r, "Content-MD5"), *type = s3_header(r, "Content-Type");
	struct evbuffer *sts = evbuffer_new();
	struct evkeyval *kv;
	char secret[SIGV4_SECRET_MAX], *amz[64], b64[64], *end;
	uint8_t mac[SHA1_LEN];
	enum s3_access access = S3_ACCESS_NONE;
	size_t namz = 0, plen = strcspn(uri, "?");
	int64_t now = r->s->be.now_ms(r->s->be.arg) / 1000;
	unsigned long long exp = strtoull(expires, &end, 10);
	const char *sep = "?";
	bool ok;

	if (*expires == '\0' || *end != '\0' || strlen(key) > SIGV4_KEY_ID_MAX) {
		evbuffer_free(sts);
		s3_fail(r, 400, "AuthorizationQueryParametersError", "Expires must be seconds since "
		    "the epoch");
		return false;
	}
	if ((int64_t)exp < now || (int64_t)exp - now > 7 * 86400) {
		evbuffer_free(sts);
		s3_fail(r, 403, "AccessDenied", (int64_t)exp < now ? "the presigned request has expired" :
		    "a presigned request may be valid for at most seven days");
		return false;
	}
	evbuffer_add_printf(sts, "%s\n%s\n%s\n%s\n", s3_method(r), md5 ? md5 : "", type ? type : "",
	    expires);
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(r->hr), next) {
		if (strncasecmp(kv->key, "x-amz-", 6) != 0 || namz == sizeof amz / sizeof amz[0])
			continue;
		size_t n = strlen(kv->key) + strlen(kv->value) + 2;
		amz[namz] = xmalloc(n);
		snprintf(amz[namz], n, "%s:%s", kv->key, kv->value);
		for (char *c = amz[namz]; *c != ':'; c++)
			*c = (char)tolower((unsigned char)*c);
		namz++;
	}
	qsort(amz, namz, sizeof amz[0], s3_str_cmp);
	for (size_t i = 0; i < namz; i++) {
		evbuffer_add_printf(sts, "%s\n", amz[i]);
		free(amz[i]);
	}
	if (r->vhost)
		evbuffer_add_printf(sts, "/%s", r->bucket);
	evbuffer_add(sts, uri, plen);
	for (size_t i = 0; i < sizeof subres / sizeof subres[0]; i++) {    /* sorted */
		const char *v = s3_query(r, subres[i]);
		if (v == NULL)
			continue;
		evbuffer_add_printf(sts, "%s%s%s%s", sep, subres[i], *v ? "=" : "", v);
		sep = "&";
	}
	ok = r->s->be.lookup(r->s->be.arg, key, secret, &access) == 0;
	if (ok) {
		size_t n = evbuffer_get_length(sts);
		hmac_sha1(secret, strnlen(secret, sizeof secret), evbuffer_pullup(sts, -1), n, mac);
		sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
		ok = strlen(given) == strlen(b64) && sodium_memcmp(given, b64, strlen(b64)) == 0;
	}
	sodium_memzero(secret, sizeof secret);
	evbuffer_free(sts);
	if (!ok) {
		s3_fail(r, 403, access == S3_ACCESS_NONE ? "InvalidAccessKeyId" : "SignatureDoesNotMatch",
		    "the Signature Version 2 presigned URL does not verify");
		return false;
	}
	snprintf(r->auth.key_id, sizeof r->auth.key_id, "%s", key);
	r->auth.presigned = true;
	snprintf(r->auth.payload_hash, sizeof r->auth.payload_hash, "UNSIGNED-PAYLOAD");
	if (access < S3_ACCESS_WRITE && r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_HEAD) {
		s3_fail(r, 403, "AccessDenied", "key %s is read-only", key);
		return false;
	}
	r->authed = true;
	return true;
}

/* Verify the signature and the key's rights.  False: r is answered. */
static bool
s3_authenticate(struct s3_req *r)
{
	struct evkeyvalq *hdrs = evhttp_request_get_input_headers(r->hr);
	struct sigv4_header h[64];
	struct sigv4_request rq;
	struct evkeyval *kv;
	enum sigv4_err e;
	enum s3_access access = S3_ACCESS_NONE;
	char why[256], secret[SIGV4_SECRET_MAX];
	size_t n = 0;
	const char *region;

	if (!r->s->be.auth) {
		r->authed = true;
		return true;
	}
	if (s3_query(r, "AWSAccessKeyId") != NULL && s3_query(r, "Signature") != NULL &&
	    s3_query(r, "Expires") != NULL && s3_header(r, "Authorization") == NULL)
		return s3_sigv2_presigned(r);
	TAILQ_FOREACH(kv, hdrs, next) {
		if (n == sizeof h / sizeof h[0]) {
			s3_fail(r, 400, "RequestHeaderSectionTooLarge", "more than %zu headers", n);
			return false;
		}
		h[n].name = kv->key;
		h[n++].value = kv->value;
	}
	rq.method = s3_method(r);
	rq.uri = evhttp_request_get_uri(r->hr);
	rq.headers = h;
	rq.n_headers = n;
	e = sigv4_verify(&rq, r->s->be.now_ms(r->s->be.arg) / 1000, s3_lookup, r, &r->auth, why,
	    sizeof why);
	if (e != SIGV4_OK) {
		s3_sigv4_fail(r, e, why);
		return false;
	}
	/* The scope names the region: "date/region/s3/aws4_request". */
	region = strchr(r->auth.scope, '/');
	if (r->s->region != NULL && (region == NULL || strncmp(region + 1, r->s->region,
	    strlen(r->s->region)) != 0 || region[1 + strlen(r->s->region)] != '/')) {
		s3_fail(r, 400, "AuthorizationHeaderMalformed", "the credential scope must name region "
		    "'%s'", r->s->region);
		return false;
	}
	if (r->s->be.lookup(r->s->be.arg, r->auth.key_id, secret, &access) != 0)
		access = S3_ACCESS_NONE;
	sodium_memzero(secret, sizeof secret);
	if (access == S3_ACCESS_NONE) {
		s3_fail(r, 403, "InvalidAccessKeyId", "access key id %s is not known", r->auth.key_id);
		return false;
	}
	if (access < S3_ACCESS_WRITE && r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_HEAD) {
		s3_fail(r, 403, "AccessDenied", "key %s is read-only", r->auth.key_id);
		return false;
	}
	r->authed = true;
	return true;
}

static void
s3_sigv4_fail(struct s3_req *r, enum sigv4_err e, const char *why)
{
	switch (e) {
	case SIGV4_MISSING:     s3_fail(r, 403, "AccessDenied", "%s", why); break;
	case SIGV4_UNSUPPORTED: s3_fail(r, 400, "InvalidRequest", "%s (use AWS Signature Version 4)",
	    why); break;
	case SIGV4_UNKNOWN_KEY: s3_fail(r, 403, "InvalidAccessKeyId", "%s", why); break;
	case SIGV4_SKEWED:      s3_fail(r, 403, "RequestTimeTooSkewed", "%s", why); break;
	case SIGV4_EXPIRED:     s3_fail(r, 403, "AccessDenied", "%s", why); break;
	case SIGV4_MISMATCH:    s3_fail(r, 403, "SignatureDoesNotMatch", "%s", why); break;
	default:                s3_fail(r, 400, "AuthorizationHeaderMalformed", "%s", why); break;
	}
}

static void
s3_body_emit(void *arg, const uint8_t *data, size_t len)
{
	evbuffer_add(arg, data, len);
}

/* A body that s3_store does not take (all but a PUT of an object or a
 * part) is checked against a signed payload hash here: a captured POST
 * ?delete or Complete must not be replayable with another body.  False: r
 * is answered. */
static bool
s3_body_hash_ok(struct s3_req *r, const char *ph)
{
	uint8_t sha[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];
	size_t len = evbuffer_get_length(r->body);

	if (ph == NULL || strlen(ph) != 2 * SHA256_LEN ||
	    (r->method == EVHTTP_REQ_PUT && r->key != NULL && s3_header(r, "x-amz-copy-source") == NULL))
		return true;
	sha256(sha, len > 0 ? evbuffer_pullup(r->body, -1) : (const uint8_t *)"", len);
	sigv4_hex(sha, SHA256_LEN, hex);
	if (strcasecmp(hex, ph) != 0) {
		s3_fail(r, 400, "XAmzContentSHA256Mismatch", "the body's SHA-256 is %s", hex);
		return false;
	}
	return true;
}

void
s3_checksum_checked(struct s3_req *r, enum s3_checksum_alg alg, const char *value)
{
	snprintf(r->checksum, sizeof r->checksum, "%s: %s\n", s3_checksum_header(alg), value);
	if (r->hr != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(r->hr), s3_checksum_header(alg), value);
}

/* The decoded body's length against x-amz-decoded-content-length (NULL:
 * not sent).  False: r is answered. */
static bool
s3_decoded_len_ok(struct s3_req *r, const char *decoded_len)
{
	if (decoded_len != NULL && strtoull(decoded_len, NULL, 10) != evbuffer_get_length(r->body)) {
		s3_fail(r, 400, "IncompleteBody", "x-amz-decoded-content-length is %s, the body decoded "
		    "to %zu bytes", decoded_len, evbuffer_get_length(r->body));
		return false;
	}
	return true;
}

/* The checksum algorithm x-amz-trailer names for a body with a trailer;
 * S3_CHECKSUM_NONE (r answered) if it names none we know. */
static enum s3_checksum_alg
s3_trailer_alg(struct s3_req *r, const char *mode)
{
	const char *trailer = s3_header(r, "x-amz-trailer");
	enum s3_checksum_alg alg = trailer != NULL ? s3_checksum_alg_of(trailer) : S3_CHECKSUM_NONE;

	if (alg == S3_CHECKSUM_NONE)
		s3_fail(r, 400, "InvalidRequest", "%s needs x-amz-trailer naming one x-amz-checksum-* "
		    "header", mode);
	return alg;
}

/* The decoded body against its trailer: value (NULL: missing) must be the
 * body's checksum by alg, and x-amz-decoded-content-length (if sent) its
 * length.  The checksum is answered in the response.  False: r is
 * answered. */
static bool
s3_trailer_ok(struct s3_req *r, enum s3_checksum_alg alg, const char *value, const char *decoded_len)
{
	const char *trailer = s3_header(r, "x-amz-trailer");
	char got[S3_CHECKSUM_B64];
	struct s3_checksum ck;
	struct evbuffer_iovec *v;
	int nv;

	if (value == NULL) {
		s3_fail(r, 400, "IncompleteBody", "the aws-chunked body has no %s trailer", trailer);
		return false;
	}
	s3_checksum_init(&ck, alg);
	nv = evbuffer_peek(r->body, -1, NULL, NULL, 0);
	v = xcalloc(nv > 0 ? (size_t)nv : 1, sizeof *v);
	nv = evbuffer_peek(r->body, -1, NULL, v, nv);
	for (int i = 0; i < nv; i++)
		s3_checksum_update(&ck, v[i].iov_base, v[i].iov_len);
	free(v);
	s3_checksum_final(&ck, got);
	if (strcmp(got, value) != 0) {
		s3_fail(r, 400, "BadDigest", "the %s trailer did not match the calculated checksum", trailer);
		return false;
	}
	s3_checksum_checked(r, alg, got);
	return s3_decoded_len_ok(r, decoded_len);
}

/* The value of trailer line "name:value" (name as x-amz-trailer says,
 * any case; blanks after the colon skipped) in line[len], as a new
 * string, or NULL if the line is another trailer. */
static char *
s3_trailer_value(struct s3_req *r, const char *line, size_t len)
{
	const char *trailer = s3_header(r, "x-amz-trailer"), *colon = memchr(line, ':', len), *v;

	if (colon == NULL || (size_t)(colon - line) != strlen(trailer) ||
	    strncasecmp(line, trailer, strlen(trailer)) != 0)
		return NULL;
	for (v = colon + 1; v < line + len && *v == ' '; v++)
		;
	return xstrndup(v, (size_t)(line + len - v));
}

/* An unsigned aws-chunked body with a trailing checksum
 * (STREAMING-UNSIGNED-PAYLOAD-TRAILER, which boto3 1.36+ and aws-cli 2.23+
 * send over HTTPS, so through a TLS-terminating proxy): "hex-size\r\n
 * data\r\n" ..., "0\r\n", then the trailer "x-amz-checksum-ALG:value\r\n"
 * named by x-amz-trailer, then "\r\n".  The checksum is the body's only
 * integrity check: it must be there and match.  False: r is answered. */
static bool
s3_decode_trailer(struct s3_req *r, struct evbuffer *in, const char *decoded_len)
{
	enum s3_checksum_alg alg = s3_trailer_alg(r, "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
	char *line, *end, *value = NULL;
	unsigned long long size;
	size_t n;
	bool ok;

	if (alg == S3_CHECKSUM_NONE)
		return false;
	for (;;) {
		if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT)) == NULL)
			goto incomplete;
		errno = 0;
		size = strtoull(line, &end, 16);
		if (end == line || *end != '\0' || errno != 0 || size > r->s->be.max_body) {
			free(line);
			s3_fail(r, 400, "InvalidChunkSizeError", "a chunk header is not a hex size (at most "
			    "s3_max_body)");
			return false;
		}
		free(line);
		if (size == 0)
			break;
		if (evbuffer_get_length(in) < size + 2 ||
		    evbuffer_get_length(r->body) + size > r->s->be.max_body)
			goto incomplete;
		evbuffer_remove_buffer(in, r->body, (size_t)size);
		if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT)) == NULL || n != 0) {
			free(line);
			goto incomplete;
		}
		free(line);
	}
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT)) != NULL && n > 0) {
		if (value == NULL)
			value = s3_trailer_value(r, line, n);
		free(line);
	}
	if (line == NULL || evbuffer_get_length(in) != 0 || value == NULL) {
		free(line);
		free(value);
		goto incomplete;
	}
	free(line);
	ok = s3_trailer_ok(r, alg, value, decoded_len);
	free(value);
	return ok;
incomplete:
	s3_fail(r, 400, "IncompleteBody", "the aws-chunked body is cut short or malformed");
	return false;
}

/* Take the body: as sent, or decoded from aws-chunked framing (each chunk's
 * signature checked, and with ...-PAYLOAD-TRAILER the trailer's signature
 * and checksum); its hash checked against x-amz-content-sha256 later
 * (s3_store).  False: r is answered. */
static bool
s3_decode_body(struct s3_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->hr);
	const char *decoded_len = s3_header(r, "x-amz-decoded-content-length"), *ph;
	enum s3_checksum_alg alg = S3_CHECKSUM_NONE;
	struct sigv4_chunked d;
	struct evbuffer_iovec v[64];
	unsigned chunks = 0;
	char why[256];
	bool trailer;
	int n;

	r->body = evbuffer_new();
	/* With auth off nothing was verified: the header says what was sent. */
	ph = r->s->be.auth ? r->auth.payload_hash : s3_header(r, "x-amz-content-sha256");
	if (ph == NULL || strncmp(ph, "STREAMING-", 10) != 0) {
		evbuffer_add_buffer(r->body, in);
		return s3_body_hash_ok(r, ph);
	}
	if (strcmp(ph, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0)
		return s3_decode_trailer(r, in, decoded_len);
	trailer = strcmp(ph, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == 0;
	if (!r->s->be.auth || (strcmp(ph, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") != 0 && !trailer)) {
		/* Never store the framing as content: refuse what is not decoded. */
		s3_fail(r, 501, "NotImplemented", "payload mode %s is not supported%s", ph,
		    r->s->be.auth ? "" : " with auth off");
		return false;
	}
	if (trailer && (alg = s3_trailer_alg(r, ph)) == S3_CHECKSUM_NONE)
		return false;
	sigv4_chunked_init(&d, &r->auth, r->s->be.max_body);
	d.with_trailer = trailer;
	while (evbuffer_get_length(in) > 0) {
		n = evbuffer_peek(in, -1, NULL, v, 64);
		if (n > 64)
			n = 64;
		size_t took = 0;
		for (int i = 0; i < n; i++) {
			int rv = sigv4_chunked_feed(&d, v[i].iov_base, v[i].iov_len, s3_body_emit, r->body,
			    &chunks, why, sizeof why);
			if (rv != 0) {
				sigv4_chunked_free(&d);
				/* a malformed body is not a malformed Authorization */
				if (rv == SIGV4_MALFORMED)
					s3_fail(r, 400, "IncompleteBody", "%s", why);
				else
					s3_sigv4_fail(r, (enum sigv4_err)rv, why);
				return false;
			}
			took += v[i].iov_len;
		}
		evbuffer_drain(in, took);
	}
	sigv4_chunked_free(&d);
	if (!d.done) {
		s3_fail(r, 400, "IncompleteBody", "the aws-chunked body ended before its final chunk");
		return false;
	}
	if (trailer) {
		char *value = NULL;
		bool ok;
		for (const char *l = d.trailers, *e; value == NULL && (e = strchr(l, '\n')) != NULL; l = e + 1)
			value = s3_trailer_value(r, l, (size_t)(e - l));
		ok = s3_trailer_ok(r, alg, value, decoded_len);
		free(value);
		return ok;
	}
	return s3_decoded_len_ok(r, decoded_len);
}

/* Query parameters that qualify an operation rather than name one: the
 * presigned X-Amz-* fields, the x-id the AWS SDKs add (x-id=PutObject),
 * GET's response-* overrides and the listings' parameters. */
static bool
s3_param(const char *name)
{
	static const char *const params[] = {
		"x-id", "AWSAccessKeyId", "Expires", "Signature", "prefix", "delimiter", "marker", "max-keys", "encoding-type", "list-type",
		"continuation-token", "start-after", "fetch-owner", "max-uploads", "key-marker",
		"upload-id-marker", "max-parts", "part-number-marker",
	};

	if (strncasecmp(name, "x-amz-", 6) == 0 || strncmp(name, "response-", 9) == 0)
		return true;
	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
		if (strcmp(name, params[i]) == 0)
			return true;
	return false;
}

/* The request's sub-resource or operation name (uploads, delete, acl,
 * tagging, versionId, ...): the first query name s3_param does not know;
 * NULL for none. */
static const char *
s3_subresource(const struct s3_req *r)
{
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, &r->query, next)
		if (!s3_param(kv->key))
			return kv->key;
	return NULL;
}

/* Which operation: method x (service | bucket | object) x sub-resource.
 * What rcfs does not implement is NotImplemented, never another operation
 * (GET ?acl is not the object's bytes). */
static void
s3_route(struct s3_req *r)
{
	const char *copy = s3_header(r, "x-amz-copy-source"), *sub = s3_subresource(r);
	const char *lt = s3_query(r, "list-type");
	bool get = r->method == EVHTTP_REQ_GET, head = r->method == EVHTTP_REQ_HEAD;
	bool put = r->method == EVHTTP_REQ_PUT, post = r->method == EVHTTP_REQ_POST;
	bool del = r->method == EVHTTP_REQ_DELETE;

	if (r->bucket == NULL) {
		if (get)
			s3_list_buckets(r);
		else
			s3_fail(r, 405, "MethodNotAllowed", "only GET is allowed on the service");
		return;
	}
	if (r->key == NULL) {
		if (sub == NULL && get && lt != NULL && strcmp(lt, "2") != 0)
			s3_fail(r, 400, "InvalidArgument", "list-type must be 2");
		else if (sub == NULL && get)
			s3_list_objects(r, lt != NULL);
		else if (sub != NULL && strcmp(sub, "uploads") == 0 && get)
			s3_multipart_list_uploads(r);
		else if (sub != NULL && strcmp(sub, "location") == 0 && get)
			s3_bucket_location(r);
		else if (sub != NULL && strcmp(sub, "acl") == 0 && (get || put))
			s3_acl(r);
		else if (sub != NULL && strcmp(sub, "delete") == 0 && post)
			s3_objects_delete(r);
		else if (sub == NULL && put)
			s3_bucket_create(r);
		else if (sub == NULL && head)
			s3_bucket_head(r);
		else if (sub == NULL && del)
			s3_bucket_delete(r);
		else
			s3_fail(r, 501, "NotImplemented", "this bucket operation%s%s is not implemented",
			    sub != NULL ? " ?" : "", sub != NULL ? sub : "");
		return;
	}
	if (s3_query(r, "uploadId") != NULL) {         /* with partNumber, in either order */
		if (put && s3_query(r, "partNumber") != NULL && copy == NULL)
			s3_multipart_part(r);
		else if (put && s3_query(r, "partNumber") != NULL)
			s3_multipart_part_copy(r);
		else if (post)
			s3_multipart_complete(r);
		else if (del)
			s3_multipart_abort(r);
		else if (get)
			s3_multipart_list_parts(r);
		else
			s3_fail(r, 501, "NotImplemented", "this multipart operation is not implemented");
		return;
	}
	if (post && sub != NULL && strcmp(sub, "uploads") == 0)
		s3_multipart_create(r);
	else if (sub != NULL && strcmp(sub, "acl") == 0 && (get || put))
		s3_acl(r);
	else if (sub != NULL && strcmp(sub, "tagging") == 0)
		s3_tagging(r);
	else if (sub != NULL)
		s3_fail(r, 501, "NotImplemented", "the object operation ?%s is not implemented", sub);
	else if (put && copy != NULL)
		s3_object_copy(r);
	else if (put)
		s3_object_put(r);
	else if (get || head)
		s3_object_get(r, head);
	else if (del)
		s3_object_delete(r);
	else
		s3_fail(r, 501, "NotImplemented", "this object operation is not implemented");
}

/* ---- answers -------------------------------------------------------------- */

static void
s3_common_headers(struct s3_req *r)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->hr);

	evhttp_add_header(out, "x-amz-request-id", r->id);
	evhttp_add_header(out, "Server", "rcfs");
}

void
s3_fail(struct s3_req *r, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	struct evbuffer *xml;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (r->replied)
		return;
	if (r->json) {
		s3_api_error(r, status, code, msg);
		return;
	}
	xml = evbuffer_new();
	if (r->method != EVHTTP_REQ_HEAD)
		xml_error(xml, code, msg, r->hr != NULL ? evhttp_request_get_uri(r->hr) : NULL, r->id);
	if (status >= 500)
		log_info("s3: %s %s: %s %s", s3_method(r), r->hr != NULL ? evhttp_request_get_uri(r->hr) :
		    "?", code, msg);
	s3_reply_xml(r, status, xml);
}

bool
s3_answered(struct s3_req *r, Rcfs__ErrorCode code, const char *why, uint8_t type, uint8_t want)
{
	if (code == RCFS__ERROR_CODE__E_OK && type == want)
		return true;
	s3_fail_code(r, code != RCFS__ERROR_CODE__E_OK ? code : RCFS__ERROR_CODE__E_INTERNAL,
	    code != RCFS__ERROR_CODE__E_OK ? why : "unexpected answer");
	return false;
}

void
s3_fail_code(struct s3_req *r, Rcfs__ErrorCode code, const char *why)
{
	switch (code) {
	case RCFS__ERROR_CODE__E_NOT_FOUND:
		s3_fail(r, 404, "NoSuchKey", "%s", why ? why : "no such key");
		break;
	case RCFS__ERROR_CODE__E_BAD_REQUEST:
		s3_fail(r, 400, "InvalidArgument", "%s", why ? why : "bad request");
		break;
	case RCFS__ERROR_CODE__E_TOO_LARGE:
		s3_fail(r, 400, "EntityTooLarge", "%s", why ? why : "too large");
		break;
	case RCFS__ERROR_CODE__E_RATE_LIMITED:
		s3_fail(r, 503, "SlowDown", "%s", why ? why : "rate limited");
		break;
	case RCFS__ERROR_CODE__E_AUTH:
		s3_fail(r, 403, "AccessDenied", "%s", why ? why : "access denied");
		break;
	case RCFS__ERROR_CODE__E_STORAGE_FULL:
		s3_fail(r, 507, "InsufficientStorage", "%s", why ? why : "storage full");
		break;
	case RCFS__ERROR_CODE__E_CONFLICT:
		s3_fail(r, 409, "OperationAborted", "%s", why ? why : "conflict");
		break;
	case RCFS__ERROR_CODE__E_NOT_LEADER:
	case RCFS__ERROR_CODE__E_UNAVAILABLE:
	case RCFS__ERROR_CODE__E_NO_QUORUM:
	case RCFS__ERROR_CODE__E_TIMEOUT:
		s3_fail(r, 503, "ServiceUnavailable", "%s", why ? why : "no quorum");
		break;
	default:
		s3_fail(r, 500, "InternalError", "%s", why ? why : "internal error");
		break;
	}
}

void
s3_reply_xml(struct s3_req *r, int status, struct evbuffer *xml)
{
	if (r->replied) {
		evbuffer_free(xml);
		return;
	}
	r->replied = true;
	r->status = status;
	if (r->hr != NULL) {
		s3_common_headers(r);
		if (evbuffer_get_length(xml) > 0)
			evhttp_add_header(evhttp_request_get_output_headers(r->hr), "Content-Type",
			    "application/xml");
		evhttp_send_reply(r->hr, status, NULL, xml);
		r->hr = NULL;
	}
	evbuffer_free(xml);
}

void
s3_reply_empty(struct s3_req *r, int status)
{
	s3_reply_xml(r, status, evbuffer_new());
}

/* ---- formats -------------------------------------------------------------- */

void
s3_time_iso(uint64_t ns, char *out, size_t len)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03uZ", buf, (unsigned)(ns / 1000000u % 1000u));
}

void
s3_time_http(uint64_t ns, char *out, size_t len)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void
s3_etag(const Rcfs__FileMeta *m, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	if (m->etag != NULL && m->etag[0] != '\0') {
		snprintf(out, len, "%s", m->etag);
		return;
	}
	/* A file put with the CLI: its SHA-256 (64 hex digits: clients that
	 * compare an ETag with the MD5 of what they read skip one that is not
	 * 32 hex digits, docs/s3.md). */
	size_t i;
	for (i = 0; i < m->sha256.len && 2 * i + 2 < len; i++) {
		out[2 * i] = hex[m->sha256.data[i] >> 4];
		out[2 * i + 1] = hex[m->sha256.data[i] & 15];
	}
	out[2 * i] = '\0';
}
