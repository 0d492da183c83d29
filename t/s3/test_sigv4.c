/* SigV4 for S3: AWS's published example requests (Amazon S3 API Reference,
 * "Signature Calculations for the Authorization Header: Transferring Payload
 * in a Single Chunk", "... Using Query Parameters", "... Transferring Payload
 * in Multiple Chunks"), sigv4_sign round trips, and refusal of hostile input
 * (run under ASan/UBSan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "s3/sigv4.h"
#include "unit/check_main.h"

/* The credentials, bucket and time of every AWS example. */
#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SCOPE "20130524/us-east-1/s3/aws4_request"
#define CRED "Credential=" AKID "/" SCOPE
#define HOST "examplebucket.s3.amazonaws.com"
#define DATE "20130524T000000Z"
#define T0 ((int64_t)1369353600)        /* 2013-05-24T00:00:00Z */
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* "Example: GET Object" (the first 10 bytes of test.txt). */
#define GET_SIG "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
#define GET_SIGNED "host;range;x-amz-content-sha256;x-amz-date"
/* "Example: PUT Object" (test$file.text, REDUCED_REDUNDANCY). */
#define PUT_SIG "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
#define PUT_BODY "Welcome to Amazon S3."
#define PUT_SHA "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
/* "Example: GET Bucket Lifecycle" and "Example: Get Bucket (List Objects)". */
#define LIFECYCLE_SIG "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
#define LIST_SIG "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
/* Query-string authentication: "Example" (presigned GET of test.txt, 86400 s). */
#define PRESIGN_SIG "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
#define PRESIGN_QUERY "X-Amz-Algorithm=AWS4-HMAC-SHA256" \
	"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" \
	"&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host"
/* Chunked upload: "Example: PUT Object" (66560 bytes of 'a' in 64 KiB chunks). */
#define SEED_SIG "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define CHUNK1_SIG "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define CHUNK2_SIG "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define CHUNK3_SIG "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
#define STREAM_SIGNED "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;" \
	"x-amz-decoded-content-length;x-amz-storage-class"

#define MAX_HEADERS 80
#define FEED(str, piece) feed_in_pieces((const uint8_t *)(str), strlen(str), (piece), &s, \
	&chunks, &done)

/* A request under construction: headers copied, the target borrowed. */
struct req {
	struct sigv4_header h[MAX_HEADERS];
	char *store[MAX_HEADERS][2];
	struct sigv4_request rq;
};

/* Decoded aws-chunked payload. */
struct sink {
	uint8_t *buf;
	size_t len, cap;
};

static char why[256];
static struct sigv4_auth auth;

static int lookup(void *arg, const char *key_id, char *secret);
static int lookup_none(void *arg, const char *key_id, char *secret);
static void req_init(struct req *r, const char *method, const char *uri);
static void req_add(struct req *r, const char *name, const char *value);
static void req_free(struct req *r);
static void req_get_object(struct req *r, const char *authorization);
static void req_put_object(struct req *r, const char *uri);
static void req_bucket(struct req *r, const char *uri, const char *sig);
static void req_stream(struct req *r);
static enum sigv4_err verify_at(struct req *r, int64_t now);
static enum sigv4_err get_object_with(const char *authorization);
static enum sigv4_err presigned_at(const char *uri, const char *host, int64_t now);
static void sink_emit(void *arg, const uint8_t *data, size_t len);
static char *stream_body(size_t *len);
static int feed_in_pieces(const uint8_t *body, size_t len, size_t piece, struct sink *s,
    unsigned *chunks, bool *done);
static enum sigv4_err round_trip(const char *sign_uri, const char *verify_uri);
static enum sigv4_err meta_round_trip(const char *sign_value, const char *verify1,
    const char *verify2);
static uint32_t rnd(void);

static int
lookup(void *arg, const char *key_id, char *secret)
{
	(void)arg;
	if (strcmp(key_id, AKID) == 0) {
		strcpy(secret, SECRET);
		return 0;
	}
	if (strcmp(key_id, "rcfs-key-1") == 0) {
		strcpy(secret, "s3cr3t with spaces/+=");
		return 0;
	}
	return -1;
}

static int
lookup_none(void *arg, const char *key_id, char *secret)
{
	(void)arg;
	(void)key_id;
	(void)secret;
	return -1;
}

static void
req_init(struct req *r, const char *method, const char *uri)
{
	memset(r, 0, sizeof *r);
	r->rq.method = method;
	r->rq.uri = uri;
	r->rq.headers = r->h;
}

static void
req_add(struct req *r, const char *name, const char *value)
{
	size_t n = r->rq.n_headers;

	ck_assert_uint_lt(n, MAX_HEADERS);
	r->store[n][0] = strdup(name);
	r->store[n][1] = strdup(value);
	r->h[n].name = r->store[n][0];
	r->h[n].value = r->store[n][1];
	r->rq.n_headers++;
}

static void
req_free(struct req *r)
{
	for (size_t i = 0; i < r->rq.n_headers; i++) {
		free(r->store[i][0]);
		free(r->store[i][1]);
	}
	r->rq.n_headers = 0;
}

/* "Example: GET Object" with the given Authorization (NULL: none). */
static void
req_get_object(struct req *r, const char *authorization)
{
	req_init(r, "GET", "/test.txt");
	req_add(r, "Host", HOST);
	req_add(r, "Range", "bytes=0-9");
	req_add(r, "x-amz-content-sha256", EMPTY_SHA);
	req_add(r, "x-amz-date", DATE);
	if (authorization != NULL)
		req_add(r, "Authorization", authorization);
}

/* "Example: PUT Object", the path as uri. */
static void
req_put_object(struct req *r, const char *uri)
{
	req_init(r, "PUT", uri);
	req_add(r, "Host", HOST);
	req_add(r, "Date", "Fri, 24 May 2013 00:00:00 GMT");
	req_add(r, "Authorization", "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=date;host;"
	    "x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=" PUT_SIG);
	req_add(r, "x-amz-date", DATE);
	req_add(r, "x-amz-storage-class", "REDUCED_REDUNDANCY");
	req_add(r, "x-amz-content-sha256", PUT_SHA);
}

/* "Example: GET Bucket Lifecycle" / "(List Objects)": uri and signature. */
static void
req_bucket(struct req *r, const char *uri, const char *sig)
{
	char a[512];

	snprintf(a, sizeof a, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;x-amz-content-sha256;"
	    "x-amz-date,Signature=%s", sig);
	req_init(r, "GET", uri);
	req_add(r, "Host", HOST);
	req_add(r, "x-amz-date", DATE);
	req_add(r, "x-amz-content-sha256", EMPTY_SHA);
	req_add(r, "Authorization", a);
}

/* The chunked upload example's request (its seed signature). */
static void
req_stream(struct req *r)
{
	req_init(r, "PUT", "/examplebucket/chunkObject.txt");
	req_add(r, "Host", "s3.amazonaws.com");
	req_add(r, "x-amz-date", DATE);
	req_add(r, "x-amz-storage-class", "REDUCED_REDUNDANCY");
	req_add(r, "Authorization", "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" STREAM_SIGNED
	    ",Signature=" SEED_SIG);
	req_add(r, "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
	req_add(r, "Content-Encoding", "aws-chunked");
	req_add(r, "x-amz-decoded-content-length", "66560");
	req_add(r, "Content-Length", "66824");
}

static enum sigv4_err
verify_at(struct req *r, int64_t now)
{
	enum sigv4_err e;

	why[0] = '\0';
	e = sigv4_verify(&r->rq, now, lookup, NULL, &auth, why, sizeof why);
	ck_assert_msg(e == SIGV4_OK || (why[0] != '\0' && strchr(why, '\n') == NULL),
	    "refusal %d without a one-line why", (int)e);
	ck_assert_msg(strstr(why, SECRET) == NULL, "the why shows the secret");
	return e;
}

static enum sigv4_err
get_object_with(const char *authorization)
{
	struct req r;
	enum sigv4_err e;

	req_get_object(&r, authorization);
	e = verify_at(&r, T0);
	req_free(&r);
	return e;
}

static enum sigv4_err
presigned_at(const char *uri, const char *host, int64_t now)
{
	struct req r;
	enum sigv4_err e;

	req_init(&r, "GET", uri);
	if (host != NULL)
		req_add(&r, "Host", host);
	e = verify_at(&r, now);
	req_free(&r);
	return e;
}

static void
sink_emit(void *arg, const uint8_t *data, size_t len)
{
	struct sink *s = arg;

	ck_assert_uint_le(len, s->cap - s->len);
	memcpy(s->buf + s->len, data, len);
	s->len += len;
}

/* The example's aws-chunked body (66824 bytes, the example's Content-Length). */
static char *
stream_body(size_t *len)
{
	char *b = malloc(70000), *p = b;

	p += sprintf(p, "10000;chunk-signature=" CHUNK1_SIG "\r\n");
	memset(p, 'a', 65536);
	p += 65536;
	p += sprintf(p, "\r\n400;chunk-signature=" CHUNK2_SIG "\r\n");
	memset(p, 'a', 1024);
	p += 1024;
	p += sprintf(p, "\r\n0;chunk-signature=" CHUNK3_SIG "\r\n\r\n");
	*len = (size_t)(p - b);
	return b;
}

/* Decode body in pieces of `piece` bytes with the example's seed signature. */
static int
feed_in_pieces(const uint8_t *body, size_t len, size_t piece, struct sink *s, unsigned *chunks,
    bool *done)
{
	struct sigv4_chunked d;
	struct req r;
	int rv = 0;

	req_stream(&r);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	req_free(&r);
	sigv4_chunked_init(&d, &auth, 1 << 20);
	*chunks = 0;
	for (size_t off = 0; off < len && rv == 0; off += piece) {
		size_t n = len - off < piece ? len - off : piece;

		rv = sigv4_chunked_feed(&d, body + off, n, sink_emit, s, chunks, why, sizeof why);
	}
	*done = d.done;
	sigv4_chunked_free(&d);
	return rv;
}

/* Sign a GET of sign_uri with sigv4_sign, then verify the same request sent
 * as verify_uri. */
static enum sigv4_err
round_trip(const char *sign_uri, const char *verify_uri)
{
	struct req r;
	char a[512];
	enum sigv4_err e;

	req_init(&r, "GET", sign_uri);
	req_add(&r, "Host", "localhost:9000");
	req_add(&r, "x-amz-content-sha256", "UNSIGNED-PAYLOAD");
	req_add(&r, "X-Amz-Date", DATE);
	ck_assert_int_eq(sigv4_sign(&r.rq, "rcfs-key-1", "s3cr3t with spaces/+=", "rcfs", DATE,
	    "host;x-amz-content-sha256;x-amz-date", "UNSIGNED-PAYLOAD", a, sizeof a), 0);
	req_add(&r, "Authorization", a);
	r.rq.uri = verify_uri;
	e = verify_at(&r, T0 + 60);
	req_free(&r);
	return e;
}

/* Sign a PUT with x-amz-meta-a: sign_value, then verify it sent with
 * X-Amz-Meta-A: verify1 (and a second one, verify2, unless NULL). */
static enum sigv4_err
meta_round_trip(const char *sign_value, const char *verify1, const char *verify2)
{
	struct req r;
	char a[512];
	enum sigv4_err e;

	req_init(&r, "PUT", "/bucket/key");
	req_add(&r, "Host", "localhost");
	req_add(&r, "x-amz-content-sha256", EMPTY_SHA);
	req_add(&r, "x-amz-date", DATE);
	req_add(&r, "x-amz-meta-a", sign_value);
	ck_assert_int_eq(sigv4_sign(&r.rq, AKID, SECRET, "us-east-1", DATE,
	    "host;x-amz-content-sha256;x-amz-date;x-amz-meta-a", EMPTY_SHA, a, sizeof a), 0);
	req_free(&r);
	req_init(&r, "PUT", "/bucket/key");
	req_add(&r, "X-Amz-Meta-A", verify1);
	req_add(&r, "Host", "localhost");
	req_add(&r, "Authorization", a);
	if (verify2 != NULL)
		req_add(&r, "x-amz-meta-A", verify2);
	req_add(&r, "x-amz-content-sha256", EMPTY_SHA);
	req_add(&r, "x-amz-date", DATE);
	e = verify_at(&r, T0);
	req_free(&r);
	return e;
}

/* xorshift32: a fixed sequence, so failures repeat. */
static uint32_t
rnd(void)
{
	static uint32_t x = 2463534242u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

START_TEST(test_get_object)
{
	struct req r;

	req_get_object(&r, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature="
	    GET_SIG);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	ck_assert(!auth.presigned);
	ck_assert_str_eq(auth.key_id, AKID);
	ck_assert_str_eq(auth.amz_date, DATE);
	ck_assert_str_eq(auth.scope, SCOPE);
	ck_assert_str_eq(auth.signature, GET_SIG);
	ck_assert_str_eq(auth.payload_hash, EMPTY_SHA);
	/* within the allowed skew either way */
	ck_assert_int_eq(verify_at(&r, T0 + 15 * 60), SIGV4_OK);
	ck_assert_int_eq(verify_at(&r, T0 - 15 * 60), SIGV4_OK);
	ck_assert_int_eq(verify_at(&r, T0 + 16 * 60), SIGV4_SKEWED);
	ck_assert_int_eq(verify_at(&r, T0 - 16 * 60), SIGV4_SKEWED);
	ck_assert_int_eq(verify_at(&r, INT64_MIN), SIGV4_SKEWED);
	ck_assert_int_eq(verify_at(&r, INT64_MAX), SIGV4_SKEWED);
	ck_assert_int_eq(sigv4_verify(&r.rq, T0, lookup_none, NULL, &auth, why, sizeof why),
	    SIGV4_UNKNOWN_KEY);
	ck_assert_ptr_nonnull(strstr(why, AKID));
	ck_assert_int_eq(auth.key_id[0], '\0');        /* not filled on refusal */
	/* header names in any case, values with surrounding blanks */
	r.store[1][0][0] = 'r';
	strcpy(r.store[0][0], "HOST");
	free(r.store[1][1]);
	r.store[1][1] = strdup("  bytes=0-9\t ");
	r.h[1].value = r.store[1][1];
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	req_free(&r);
}
END_TEST

START_TEST(test_get_object_changed)
{
	struct req r;
	char a[512];

	req_get_object(&r, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature="
	    GET_SIG);
	free(r.store[1][1]);
	r.store[1][1] = strdup("bytes=0-10");
	r.h[1].value = r.store[1][1];
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MISMATCH);
	/* the why names neither the secret nor the signature that would match */
	r.rq.n_headers--;
	ck_assert_int_eq(sigv4_sign(&r.rq, AKID, SECRET, "us-east-1", DATE, GET_SIGNED, EMPTY_SHA,
	    a, sizeof a), 0);
	r.rq.n_headers++;
	ck_assert_ptr_null(strstr(why, strstr(a, "Signature=") + 10));
	ck_assert_ptr_nonnull(strstr(why, "does not match"));
	req_free(&r);

	/* another path, method, or an added query parameter */
	req_get_object(&r, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature="
	    GET_SIG);
	r.rq.uri = "/test.txt2";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MISMATCH);
	r.rq.uri = "/test.txt?x=1";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MISMATCH);
	r.rq.uri = "/test.txt";
	r.rq.method = "HEAD";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MISMATCH);
	req_free(&r);
}
END_TEST

START_TEST(test_authorization_forms)
{
	/* the separators real clients send */
	ck_assert_int_eq(get_object_with("AWS4-HMAC-SHA256 " CRED ", SignedHeaders=" GET_SIGNED
	    ", Signature=" GET_SIG), SIGV4_OK);
	ck_assert_int_eq(get_object_with("  AWS4-HMAC-SHA256   " CRED " ,SignedHeaders=" GET_SIGNED
	    " , Signature=" GET_SIG "  "), SIGV4_OK);
	ck_assert_int_eq(get_object_with("AWS4-HMAC-SHA256 Signature=" GET_SIG ",SignedHeaders="
	    GET_SIGNED "," CRED), SIGV4_OK);
	ck_assert_int_eq(get_object_with(NULL), SIGV4_MISSING);
	ck_assert_int_eq(get_object_with("AWS " AKID ":frJIUN8DYpKDtOLCwo//yllqDzg="),
	    SIGV4_UNSUPPORTED);
	ck_assert_int_eq(get_object_with("AWS4-ECDSA-P256-SHA256 " CRED ",SignedHeaders="
	    GET_SIGNED ",Signature=" GET_SIG), SIGV4_UNSUPPORTED);
	ck_assert_int_eq(get_object_with("Bearer \x01\x7f"), SIGV4_UNSUPPORTED);
	for (const char *w = why; *w != '\0'; w++)
		ck_assert(*w >= 0x20 && *w < 0x7f);
}
END_TEST

START_TEST(test_malformed)
{
	static const char *bad[] = {
		"",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 ",
		"AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/s3,SignedHeaders="
		    GET_SIGNED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/s3/aws4_request/x,"
		    "SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 Credential=" AKID "/20130525/us-east-1/s3/aws4_request,"
		    "SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 Credential=" AKID "/2013052/us-east-1/s3/aws4_request,"
		    "SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/ec2/aws4_request,"
		    "SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 Credential=" AKID "/20130524//s3/aws4_request,"
		    "SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request,"
		    "SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 Credential=,SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED,
		"AWS4-HMAC-SHA256 " CRED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG ",Foo=1",
		"AWS4-HMAC-SHA256 " CRED "," CRED ",SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature=" GET_SIG "0",
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature=f0e8bd",
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature="
		    "g0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=range;x-amz-content-sha256;x-amz-date,"
		    "Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=range;host;x-amz-content-sha256;x-amz-date,"
		    "Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;host;range;x-amz-content-sha256;"
		    "x-amz-date,Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=Host;range;x-amz-content-sha256;x-amz-date,"
		    "Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;;x-amz-date,Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;x-amz-content-sha256;x-amz-date;"
		    "x-amz-meta-absent,Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 " CRED ",SignedHeaders=,Signature=" GET_SIG,
		"AWS4-HMAC-SHA256 Credential" AKID,
	};
	struct req r;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(get_object_with(bad[i]) == SIGV4_MALFORMED, "accepted [%zu] %s", i,
		    bad[i]);

	/* no x-amz-content-sha256 */
	req_init(&r, "GET", "/test.txt");
	req_add(&r, "Host", HOST);
	req_add(&r, "Range", "bytes=0-9");
	req_add(&r, "x-amz-date", DATE);
	req_add(&r, "Authorization", "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host;range;"
	    "x-amz-date,Signature=" GET_SIG);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	ck_assert_ptr_nonnull(strstr(why, "x-amz-content-sha256"));
	req_free(&r);

	/* a broken or missing date, two Authorization headers, both auth forms */
	req_get_object(&r, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature="
	    GET_SIG);
	strcpy(r.store[3][1], "2013-05-24T0000Z");
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	strcpy(r.store[3][1], "20130532T000000Z");
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	strcpy(r.store[3][0], "x-amz-datf");
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	req_free(&r);
	req_get_object(&r, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature="
	    GET_SIG);
	req_add(&r, "Authorization", "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED
	    ",Signature=" GET_SIG);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	r.rq.n_headers--;
	r.rq.uri = "/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=86400&X-Amz-Signature=" PRESIGN_SIG;
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	r.rq.n_headers++;
	req_free(&r);
}
END_TEST

START_TEST(test_put_object)
{
	struct req r;
	uint8_t sha[32];
	char hex[65], a[512];

	crypto_hash_sha256(sha, (const uint8_t *)PUT_BODY, strlen(PUT_BODY));
	sigv4_hex(sha, 32, hex);
	ck_assert_str_eq(hex, PUT_SHA);
	req_put_object(&r, "/test%24file.text");
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	ck_assert_str_eq(auth.payload_hash, PUT_SHA);
	ck_assert_str_eq(auth.signature, PUT_SIG);
	/* '$' sent unescaped or in lowercase hex is the same canonical URI */
	r.rq.uri = "/test$file.text";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	r.rq.uri = "/test%24file%2etext";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	r.rq.uri = "http://" HOST "/test%24file.text";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	r.rq.uri = "/test%24file.text";
	/* sigv4_sign reproduces the example's signature from the request */
	memmove(&r.h[2], &r.h[3], 3 * sizeof r.h[0]);
	r.rq.n_headers--;
	ck_assert_int_eq(sigv4_sign(&r.rq, AKID, SECRET, "us-east-1", DATE,
	    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", PUT_SHA, a, sizeof a),
	    0);
	ck_assert_str_eq(a, "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=date;host;"
	    "x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=" PUT_SIG);
	r.rq.n_headers++;
	req_free(&r);
}
END_TEST

START_TEST(test_bucket_queries)
{
	struct req r;

	req_bucket(&r, "/?lifecycle", LIFECYCLE_SIG);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	r.rq.uri = "/?lifecycle=";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	r.rq.uri = "/?lifecycle=x";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MISMATCH);
	r.rq.uri = "/";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MISMATCH);
	req_free(&r);

	req_bucket(&r, "/?max-keys=2&prefix=J", LIST_SIG);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	r.rq.uri = "/?prefix=J&max-keys=2";               /* sorted by name */
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	r.rq.uri = "/?prefix=%4a&&max-keys=2&";           /* decoded, empty pieces skipped */
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	r.rq.uri = "/?max-keys=2&prefix=j";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MISMATCH);
	req_free(&r);
}
END_TEST

START_TEST(test_presigned)
{
	static const char *uri = "/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=86400"
	    "&X-Amz-Signature=" PRESIGN_SIG;

	ck_assert_int_eq(presigned_at(uri, HOST, T0), SIGV4_OK);
	ck_assert(auth.presigned);
	ck_assert_str_eq(auth.key_id, AKID);
	ck_assert_str_eq(auth.scope, SCOPE);
	ck_assert_str_eq(auth.payload_hash, "UNSIGNED-PAYLOAD");
	ck_assert_str_eq(auth.signature, PRESIGN_SIG);
	ck_assert_int_eq(presigned_at(uri, HOST, T0 + 86400), SIGV4_OK);
	ck_assert_int_eq(presigned_at(uri, HOST, T0 + 86401), SIGV4_EXPIRED);
	ck_assert_int_eq(presigned_at(uri, HOST, T0 - 15 * 60), SIGV4_OK);
	ck_assert_int_eq(presigned_at(uri, HOST, T0 - 16 * 60), SIGV4_SKEWED);
	ck_assert_int_eq(presigned_at(uri, "other.s3.amazonaws.com", T0), SIGV4_MISMATCH);
	ck_assert_int_eq(presigned_at(uri, NULL, T0), SIGV4_MALFORMED);
	/* parameter order does not matter; the signature may come first */
	ck_assert_int_eq(presigned_at("/test.txt?X-Amz-Signature=" PRESIGN_SIG
	    "&X-Amz-Expires=86400&" PRESIGN_QUERY, HOST, T0), SIGV4_OK);
	ck_assert_int_eq(presigned_at("/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=86400"
	    "&X-Amz-Signature=" PRESIGN_SIG "&x=1", HOST, T0), SIGV4_MISMATCH);
	ck_assert_int_eq(presigned_at("/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=86401"
	    "&X-Amz-Signature=" PRESIGN_SIG, HOST, T0), SIGV4_MISMATCH);
	ck_assert_int_eq(presigned_at("/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=86400"
	    "&X-Amz-Signature=" GET_SIG, HOST, T0), SIGV4_MISMATCH);
	ck_assert_int_eq(presigned_at("/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=0"
	    "&X-Amz-Signature=" PRESIGN_SIG, HOST, T0), SIGV4_MALFORMED);
	ck_assert_int_eq(presigned_at("/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=604801"
	    "&X-Amz-Signature=" PRESIGN_SIG, HOST, T0), SIGV4_MALFORMED);
	ck_assert_int_eq(presigned_at("/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=1e3"
	    "&X-Amz-Signature=" PRESIGN_SIG, HOST, T0), SIGV4_MALFORMED);
	ck_assert_int_eq(presigned_at("/test.txt?" PRESIGN_QUERY "&X-Amz-Signature=" PRESIGN_SIG,
	    HOST, T0), SIGV4_MALFORMED);
	ck_assert_int_eq(presigned_at("/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=86400"
	    "&X-Amz-Expires=86400&X-Amz-Signature=" PRESIGN_SIG, HOST, T0), SIGV4_MALFORMED);
	ck_assert_int_eq(presigned_at("/test.txt?" PRESIGN_QUERY "&X-Amz-Expires=86400", HOST, T0),
	    SIGV4_MALFORMED);
	ck_assert_int_eq(presigned_at("/test.txt?X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256"
	    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
	    "&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=86400"
	    "&X-Amz-Signature=" PRESIGN_SIG, HOST, T0), SIGV4_UNSUPPORTED);
	ck_assert_int_eq(presigned_at("/test.txt?AWSAccessKeyId=" AKID "&Expires=1369440000"
	    "&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D", HOST, T0), SIGV4_UNSUPPORTED);
	ck_assert_int_eq(presigned_at("/test.txt?response-content-type=text/plain", HOST, T0),
	    SIGV4_MISSING);
	ck_assert_int_eq(presigned_at("/test.txt?X-Amz-Credential=%00", HOST, T0),
	    SIGV4_MALFORMED);
	ck_assert_int_eq(auth.key_id[0], '\0');
}
END_TEST

START_TEST(test_streaming)
{
	struct req r;
	struct sink s = { malloc(70000), 0, 70000 };
	uint8_t *body, sha[32];
	uint8_t a64k[65536];
	char sig[65];
	unsigned chunks;
	size_t len;
	bool done;

	req_stream(&r);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	ck_assert_str_eq(auth.signature, SEED_SIG);
	ck_assert_str_eq(auth.payload_hash, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
	req_free(&r);
	/* the first chunk's signature, from the seed signature */
	memset(a64k, 'a', sizeof a64k);
	crypto_hash_sha256(sha, a64k, sizeof a64k);
	sigv4_chunk_signature(&auth, auth.signature, sha, sig);
	ck_assert_str_eq(sig, CHUNK1_SIG);

	body = (uint8_t *)stream_body(&len);
	ck_assert_uint_eq(len, 66824);
	for (size_t piece = 1; piece <= len; piece = piece == 1 ? 7 : piece == 7 ? 4096 : len) {
		s.len = 0;
		ck_assert_int_eq(feed_in_pieces(body, len, piece, &s, &chunks, &done), 0);
		ck_assert_uint_eq(chunks, 3);
		ck_assert(done);
		ck_assert_uint_eq(s.len, 66560);
		ck_assert_int_eq(memcmp(s.buf, a64k, 65536), 0);
		ck_assert_int_eq(memcmp(s.buf + 65536, a64k, 1024), 0);
		if (piece == len)
			break;
	}
	free(body);
	free(s.buf);
}
END_TEST

START_TEST(test_streaming_refused)
{
	struct sink s = { malloc(70000), 0, 70000 };
	struct sigv4_chunked d;
	uint8_t *body, *b;
	unsigned chunks;
	size_t len, at2;
	bool done;

	body = (uint8_t *)stream_body(&len);
	b = malloc(len + 300);
	at2 = (size_t)((uint8_t *)strstr((char *)body + 65536, CHUNK2_SIG) - body);

	/* a flipped digit of the second chunk's signature: the first chunk passes */
	memcpy(b, body, len);
	b[at2 + 5] ^= 1;
	s.len = 0;
	ck_assert_int_eq(feed_in_pieces(b, len, len, &s, &chunks, &done), SIGV4_MISMATCH);
	ck_assert_uint_eq(chunks, 1);
	ck_assert(!done);
	/* a flipped digit of the final chunk's, fed a byte at a time */
	memcpy(b, body, len);
	b[len - 5] ^= 1;
	s.len = 0;
	ck_assert_int_eq(feed_in_pieces(b, len, 1, &s, &chunks, &done), SIGV4_MISMATCH);
	ck_assert_uint_eq(chunks, 2);
	/* a changed data byte */
	memcpy(b, body, len);
	b[1000] = 'b';
	s.len = 0;
	ck_assert_int_eq(feed_in_pieces(b, len, len, &s, &chunks, &done), SIGV4_MISMATCH);
	ck_assert_uint_eq(chunks, 0);
	/* truncated: consistent so far, not done */
	s.len = 0;
	ck_assert_int_eq(feed_in_pieces(body, len - 2, len, &s, &chunks, &done), 0);
	ck_assert(!done);
	ck_assert_uint_eq(chunks, 2);
	/* data after the final chunk */
	memcpy(b, body, len);
	b[len] = 'x';
	s.len = 0;
	ck_assert_int_eq(feed_in_pieces(b, len + 1, len + 1, &s, &chunks, &done), SIGV4_MALFORMED);
	ck_assert_uint_eq(chunks, 3);
	/* no CRLF after a chunk's data, LF alone after a header, bad sizes */
	memcpy(b, body, len);
	b[at2 - 22] = 'a';              /* the '\r' ending chunk 1's data */
	s.len = 0;
	ck_assert_int_eq(feed_in_pieces(b, len, 3, &s, &chunks, &done), SIGV4_MALFORMED);
	memcpy(b, body, len);
	b[86] = 'x';                    /* the '\r' ending the first header line */
	ck_assert_int_eq(feed_in_pieces(b, len, len, &s, &chunks, &done), SIGV4_MALFORMED);
	s.len = 0;
	ck_assert_int_eq(FEED("zz;chunk-signature=" CHUNK1_SIG "\r\n", 1000), SIGV4_MALFORMED);
	ck_assert_int_eq(FEED("10000;chunk-signature=" CHUNK1_SIG ";x=1\r\n", 1), SIGV4_MALFORMED);
	ck_assert_int_eq(FEED("10000;chunk-signature=" CHUNK1_SIG " \r\n", 1), SIGV4_MALFORMED);
	ck_assert_int_eq(FEED("10000;Chunk-Signature=" CHUNK1_SIG "\r\n", 1), SIGV4_MALFORMED);
	ck_assert_int_eq(FEED("10000\r\n", 1000), SIGV4_MALFORMED);
	ck_assert_int_eq(FEED("\r\n", 1000), SIGV4_MALFORMED);
	ck_assert_int_eq(FEED("10000000000000000000;chunk-signature=" CHUNK1_SIG "\r\n", 1000),
	    SIGV4_MALFORMED);
	ck_assert_int_eq(FEED("200000;chunk-signature=" CHUNK1_SIG "\r\n", 1000),
	    SIGV4_MALFORMED);                                           /* over max_chunk */
	ck_assert_int_eq(FEED("0;chunk-signature=" CHUNK3_SIG "\r\n\r\n", 1000),
	    SIGV4_MISMATCH);                                            /* chunks left out */
	memset(b, '0', 300);
	ck_assert_int_eq(feed_in_pieces(b, 300, 1, &s, &chunks, &done), SIGV4_MALFORMED);
	ck_assert_uint_eq(s.len, 0);

	/* over a smaller max_chunk; refused for good once refused */
	sigv4_chunked_init(&d, &auth, 1024);
	ck_assert_int_eq(sigv4_chunked_feed(&d, body, len, sink_emit, &s, &chunks, why,
	    sizeof why), SIGV4_MALFORMED);
	ck_assert_ptr_nonnull(strstr(why, "limit"));
	ck_assert_int_eq(sigv4_chunked_feed(&d, body, 1, NULL, NULL, NULL, why, sizeof why),
	    SIGV4_MALFORMED);
	sigv4_chunked_free(&d);
	free(b);
	free(body);
	free(s.buf);
}
END_TEST

/* Decode a signed body with a trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-
 * TRAILER) in pieces: "hello" in one chunk, the final chunk, the trailer
 * lines given, the trailer signature over them (with_sig), after_sig, the
 * empty last line.  The kept trailers go to kept[512]. */
static int
trailer_feed(const char *trailers, bool with_sig, const char *after_sig, size_t piece, char *kept,
    bool *done)
{
	struct sigv4_chunked d;
	struct sink s = { malloc(64), 0, 64 };
	char body[4096], c1[65], c0[65], ts[65], lines[2048];
	uint8_t sha[32];
	size_t len = 0, n = 0;
	unsigned chunks = 0;
	int rv = 0;

	crypto_hash_sha256(sha, (const uint8_t *)"hello", 5);
	sigv4_chunk_signature(&auth, auth.signature, sha, c1);
	crypto_hash_sha256(sha, (const uint8_t *)"", 0);
	sigv4_chunk_signature(&auth, c1, sha, c0);
	/* the trailer lines as signed: "name:value\n" */
	for (const char *t = trailers; *t != '\0'; t++)
		if (*t != '\r')
			lines[n++] = *t;
	lines[n] = '\0';
	sigv4_trailer_signature(&auth, c0, lines, n, ts);
	len = (size_t)snprintf(body, sizeof body, "5;chunk-signature=%s\r\nhello\r\n0;chunk-signature=%s\r\n"
	    "%s%s%s%s%s\r\n", c1, c0, trailers, with_sig ? "x-amz-trailer-signature:" : "",
	    with_sig ? ts : "", with_sig ? "\r\n" : "", after_sig);
	sigv4_chunked_init(&d, &auth, 1 << 20);
	d.with_trailer = true;
	for (size_t off = 0; off < len && rv == 0; off += piece)
		rv = sigv4_chunked_feed(&d, (const uint8_t *)body + off, len - off < piece ? len - off : piece,
		    sink_emit, &s, &chunks, why, sizeof why);
	*done = d.done;
	if (rv == 0) {
		ck_assert_uint_eq(chunks, 2);
		ck_assert_uint_eq(s.len, 5);
	}
	memcpy(kept, d.trailers, d.trailers_len + 1 < 512 ? d.trailers_len + 1 : 512);
	kept[511] = '\0';
	sigv4_chunked_free(&d);
	free(s.buf);
	return rv;
}

START_TEST(test_streaming_trailer)
{
	struct req r;
	char kept[512];
	bool done;

	req_stream(&r);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	req_free(&r);
	for (size_t piece = 1; piece <= 1000; piece *= 10) {
		ck_assert_int_eq(trailer_feed("x-amz-checksum-crc32:NhCmhg==\r\n", true, "", piece, kept, &done),
		    0);
		ck_assert(done);
		ck_assert_str_eq(kept, "x-amz-checksum-crc32:NhCmhg==\n");
	}
	/* two trailers, both kept and signed */
	ck_assert_int_eq(trailer_feed("x-amz-checksum-crc32:NhCmhg==\r\nx-amz-meta-a:b\r\n", true, "", 7, kept,
	    &done), 0);
	ck_assert_str_eq(kept, "x-amz-checksum-crc32:NhCmhg==\nx-amz-meta-a:b\n");
	/* no signature line; a trailer after it; not "name:value"; no CRLF */
	ck_assert_int_eq(trailer_feed("x-amz-checksum-crc32:NhCmhg==\r\n", false, "", 1000, kept, &done),
	    SIGV4_MALFORMED);
	ck_assert_int_eq(trailer_feed("x-amz-checksum-crc32:NhCmhg==\r\n", true, "x-a:b\r\n", 1000, kept,
	    &done), SIGV4_MALFORMED);
	ck_assert_int_eq(trailer_feed("novalue\r\n", true, "", 1000, kept, &done), SIGV4_MALFORMED);
	ck_assert_int_eq(trailer_feed("x-amz-checksum-crc32:NhCmhg==\n", true, "", 1000, kept, &done),
	    SIGV4_MALFORMED);
	ck_assert(!done);
	/* a signature of 3 digits; a trailer line of 300 bytes; 1,250 bytes of trailers */
	ck_assert_int_eq(trailer_feed("", false, "x-amz-trailer-signature:abc\r\n", 1000, kept, &done),
	    SIGV4_MALFORMED);
	{
		char big[1400];
		memset(big, 'a', sizeof big);
		memcpy(big, "x-amz-meta-a:", 13);
		memcpy(big + 300, "\r\n", 3);
		ck_assert_int_eq(trailer_feed(big, true, "", 1000, kept, &done), SIGV4_MALFORMED);
		for (int i = 0; i < 5; i++) {
			memcpy(big + 250 * i, "x-amz-meta-a:", 13);
			memset(big + 250 * i + 13, 'a', 235);
			memcpy(big + 250 * i + 248, "\r\n", 2);
		}
		big[1250] = '\0';
		ck_assert_int_eq(trailer_feed(big, true, "", 1000, kept, &done), SIGV4_MALFORMED);
		big[1000] = '\0';      /* four lines: within 1 KiB */
		ck_assert_int_eq(trailer_feed(big, true, "", 1000, kept, &done), 0);
		ck_assert(done);
	}
}
END_TEST

/* The trailer signature covers the trailer lines: one changed after signing
 * is a mismatch. */
START_TEST(test_streaming_trailer_changed)
{
	struct sigv4_chunked d;
	char c0[65], ts[65], body[1024];
	uint8_t sha[32];
	struct req r;
	int len;

	req_stream(&r);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	req_free(&r);
	crypto_hash_sha256(sha, (const uint8_t *)"", 0);
	sigv4_chunk_signature(&auth, auth.signature, sha, c0);
	sigv4_trailer_signature(&auth, c0, "x-amz-checksum-crc32:AAAAAA==\n", 30, ts);
	len = snprintf(body, sizeof body, "0;chunk-signature=%s\r\nx-amz-checksum-crc32:BAAAAA==\r\n"
	    "x-amz-trailer-signature:%s\r\n\r\n", c0, ts);
	sigv4_chunked_init(&d, &auth, 1 << 20);
	d.with_trailer = true;
	ck_assert_int_eq(sigv4_chunked_feed(&d, (const uint8_t *)body, (size_t)len, NULL, NULL, NULL, why,
	    sizeof why), SIGV4_MISMATCH);
	ck_assert(!d.done);
	sigv4_chunked_free(&d);
	/* as signed, it passes */
	body[18 + 64 + 2 + 21] = 'A';
	sigv4_chunked_init(&d, &auth, 1 << 20);
	d.with_trailer = true;
	ck_assert_int_eq(sigv4_chunked_feed(&d, (const uint8_t *)body, (size_t)len, NULL, NULL, NULL, why,
	    sizeof why), 0);
	ck_assert(d.done);
	sigv4_chunked_free(&d);
}
END_TEST

START_TEST(test_sign_round_trip)
{
	static const struct {
		const char *sign, *verify;
		enum sigv4_err want;
	} cases[] = {
		{ "/bucket/key", "/bucket/key", SIGV4_OK },
		{ "/bucket/a%20b", "/bucket/a%20b", SIGV4_OK },
		{ "/bucket/a%20b", "/bucket/a b", SIGV4_OK },
		{ "/bucket/caf%C3%A9%20%E2%82%AC%21.txt", "/bucket/caf%c3%a9%20%e2%82%ac!.txt",
		    SIGV4_OK },
		{ "/bucket/key%2Bplus", "/bucket/key+plus", SIGV4_OK },
		{ "/bucket/%7Euser/x(1)", "/bucket/~user/x%281%29", SIGV4_OK },
		{ "/bucket/a%2Fb", "/bucket/a%2fb", SIGV4_OK },
		{ "/bucket/a%2Fb", "/bucket/a/b", SIGV4_MISMATCH },
		{ "/bucket/./x/../y//z", "/bucket/./x/../y//z", SIGV4_OK },
		{ "/bucket/./x/../y", "/bucket/y", SIGV4_MISMATCH },
		{ "/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F",
		    "/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F", SIGV4_OK },
		{ "/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F",
		    "/bucket?delimiter=/&list-type=2&prefix=a/b", SIGV4_OK },
		{ "/bucket?prefix=a%20b&uploads", "/bucket?uploads=&prefix=a%20b", SIGV4_OK },
		{ "/bucket?prefix=a%20b", "/bucket?prefix=a+b", SIGV4_MISMATCH },
		{ "/bucket?a=2&a=1&b", "/bucket?b=&a=1&a=2", SIGV4_OK },
		{ "/bucket/k?partNumber=1&uploadId=x%3Dy", "/bucket/k?uploadId=x=y&partNumber=1",
		    SIGV4_OK },
		{ "/", "/?", SIGV4_OK },
		{ "http://localhost:9000", "/", SIGV4_OK },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ck_assert_msg(round_trip(cases[i].sign, cases[i].verify) == cases[i].want,
		    "[%zu] %s -> %s: %s", i, cases[i].sign, cases[i].verify, why);
}
END_TEST

/* Canonical header values: trimmed, inner blanks collapsed, repeats joined by
 * ',' in the order received. */
START_TEST(test_canonical_headers)
{
	ck_assert_int_eq(meta_round_trip("a b c", "a b c", NULL), SIGV4_OK);
	ck_assert_int_eq(meta_round_trip("a b c", "  a   b\t\tc \t", NULL), SIGV4_OK);
	ck_assert_int_eq(meta_round_trip("a b", "ab", NULL), SIGV4_MISMATCH);
	ck_assert_int_eq(meta_round_trip("1,2", "1", "2"), SIGV4_OK);
	ck_assert_int_eq(meta_round_trip("1,2", " 1 ", "\t2"), SIGV4_OK);
	ck_assert_int_eq(meta_round_trip("2,1", "1", "2"), SIGV4_MISMATCH);
	ck_assert_int_eq(meta_round_trip("1, 2", "1", "2"), SIGV4_MISMATCH);
	ck_assert_int_eq(meta_round_trip("", "", NULL), SIGV4_OK);
	ck_assert_int_eq(meta_round_trip("caf\xc3\xa9", "caf\xc3\xa9", NULL), SIGV4_OK);
}
END_TEST

START_TEST(test_sign)
{
	struct req r;
	char a[512];

	/* the GET Object example, signed: the documented Authorization header */
	req_get_object(&r, NULL);
	ck_assert_int_eq(sigv4_sign(&r.rq, AKID, SECRET, "us-east-1", DATE, GET_SIGNED, EMPTY_SHA,
	    a, sizeof a), 0);
	ck_assert_str_eq(a, "AWS4-HMAC-SHA256 " CRED ", SignedHeaders=" GET_SIGNED
	    ", Signature=" GET_SIG);
	ck_assert_int_eq(sigv4_sign(&r.rq, AKID, SECRET, "us-east-1", DATE, GET_SIGNED, EMPTY_SHA,
	    a, 100), -1);
	ck_assert_int_eq(sigv4_sign(&r.rq, AKID, SECRET, "us-east-1", DATE,
	    "host;range;x-amz-absent", EMPTY_SHA, a, sizeof a), -1);
	ck_assert_int_eq(sigv4_sign(&r.rq, AKID, SECRET, "us-east-1", "20130524", GET_SIGNED,
	    EMPTY_SHA, a, sizeof a), -1);
	ck_assert_int_eq(sigv4_sign(&r.rq, "a/b", SECRET, "us-east-1", DATE, GET_SIGNED,
	    EMPTY_SHA, a, sizeof a), -1);
	r.rq.uri = "/%zz";
	ck_assert_int_eq(sigv4_sign(&r.rq, AKID, SECRET, "us-east-1", DATE, GET_SIGNED,
	    EMPTY_SHA, a, sizeof a), -1);
	req_free(&r);

	/* Date (RFC 1123) instead of x-amz-date */
	req_init(&r, "DELETE", "/bucket/key");
	req_add(&r, "Host", "localhost");
	req_add(&r, "Date", "Sat, 25 May 2013 01:02:03 GMT");
	req_add(&r, "x-amz-content-sha256", EMPTY_SHA);
	ck_assert_int_eq(sigv4_sign(&r.rq, "rcfs-key-1", "s3cr3t with spaces/+=", "rcfs",
	    "20130525T010203Z", "date;host;x-amz-content-sha256", EMPTY_SHA, a, sizeof a), 0);
	req_add(&r, "Authorization", a);
	ck_assert_int_eq(verify_at(&r, T0 + 86400 + 3723), SIGV4_OK);
	ck_assert_str_eq(auth.amz_date, "20130525T010203Z");
	ck_assert_str_eq(auth.scope, "20130525/rcfs/s3/aws4_request");
	strcpy(r.store[1][1], "Sat, 25 May 2013 01:02:03 UTC");
	ck_assert_int_eq(verify_at(&r, T0 + 86400 + 3723), SIGV4_MALFORMED);
	strcpy(r.store[1][1], "Sat, 25 Maj 2013 01:02:03 GMT");
	ck_assert_int_eq(verify_at(&r, T0 + 86400 + 3723), SIGV4_MALFORMED);
	strcpy(r.store[1][1], "Sat, 26 May 2013 01:02:03 GMT");       /* scope date differs */
	ck_assert_int_eq(verify_at(&r, T0 + 2 * 86400 + 3723), SIGV4_MALFORMED);
	req_free(&r);
}
END_TEST

START_TEST(test_hostile)
{
	char *big = malloc(20000), *uri = malloc(20000), *p;
	char a[512];
	struct req r;

	/* a 10 KB header value, signed and unsigned */
	memset(big, 'x', 10240);
	big[10240] = '\0';
	req_get_object(&r, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED ",Signature="
	    GET_SIG);
	req_add(&r, "X-Junk", big);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	r.h[1].value = big;
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MISMATCH);
	r.h[1].value = "bytes=0-9\x01";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	r.h[1].value = r.store[1][1];
	r.h[4].value = big;                                     /* Authorization */
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	memcpy(big, "AWS4-HMAC-SHA256 Credential=", 28);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	snprintf(big, 20000, "AWS4-HMAC-SHA256 Credential=%0200d/" SCOPE ",SignedHeaders="
	    GET_SIGNED ",Signature=" GET_SIG, 7);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	p = big + sprintf(big, "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=host");
	for (int i = 0; i < 64; i++)
		p += sprintf(p, ";x-h%02d", i);
	sprintf(p, ",Signature=" GET_SIG);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	r.h[4].value = r.store[4][1];

	/* broken percent-encoding, overlong targets, too many parameters */
	static const char *bad_uris[] = { "/%", "/%G1", "/a%4", "/%%%", "/ok?x=%", "/ok?%zz=1",
	    "test.txt", "*", "" };
	for (size_t i = 0; i < sizeof bad_uris / sizeof bad_uris[0]; i++) {
		r.rq.uri = bad_uris[i];
		ck_assert_msg(verify_at(&r, T0) == SIGV4_MALFORMED, "accepted %s", bad_uris[i]);
	}
	r.rq.uri = NULL;
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	uri[0] = '/';
	memset(uri + 1, 'a', 9000);
	uri[9001] = '\0';
	r.rq.uri = uri;
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	p = uri + sprintf(uri, "/test.txt?");
	for (int i = 0; i < 1000; i++)
		p += sprintf(p, "a=%d&", i % 10);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	ck_assert_ptr_nonnull(strstr(why, "query parameters"));
	p = uri + sprintf(uri, "/test.txt?");
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "p%d=%%41%%ff&", i);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MISMATCH);
	r.rq.uri = "/test.txt";
	r.rq.method = "GET\nX";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	r.rq.method = NULL;
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_MALFORMED);
	r.rq.method = "GET";
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	ck_assert_int_eq(sigv4_verify(&r.rq, T0, NULL, NULL, NULL, NULL, 0), SIGV4_UNKNOWN_KEY);
	ck_assert_int_eq(sigv4_sign(&r.rq, AKID, SECRET, "us-east-1", DATE, GET_SIGNED, EMPTY_SHA,
	    a, sizeof a), 0);
	req_free(&r);
	free(big);
	free(uri);
}
END_TEST

/* Random corruption of the GET Object request and of the chunked body: no
 * crash, and nothing that passes decodes to other data. */
START_TEST(test_mutations)
{
	static const char *auth_hdr = "AWS4-HMAC-SHA256 " CRED ",SignedHeaders=" GET_SIGNED
	    ",Signature=" GET_SIG;
	struct sink s = { malloc(70000), 0, 70000 };
	struct sigv4_chunked d;
	char a[512], u[64], v[64];
	uint8_t *body, *b;
	unsigned chunks;
	size_t len;
	struct req r;
	int rv;

	req_get_object(&r, auth_hdr);
	for (int i = 0; i < 3000; i++) {
		enum sigv4_err e;

		strcpy(a, auth_hdr);
		strcpy(u, "/test.txt?a=%41&b");
		strcpy(v, "bytes=0-9");
		for (int k = 1 + (int)(rnd() % 3); k > 0; k--) {
			char *t = rnd() % 3 == 0 ? a : rnd() % 2 ? u : v;
			size_t tl = strlen(t);

			t[rnd() % tl] = (char)(1 + rnd() % 255);
		}
		r.h[4].value = a;
		r.rq.uri = u;
		r.h[1].value = v;
		e = verify_at(&r, T0);
		ck_assert_int_lt(e, SIGV4_ERR_MAX);
		ck_assert_int_ne(e, SIGV4_OK);  /* the example did not sign this query */
	}
	req_free(&r);

	req_stream(&r);
	ck_assert_int_eq(verify_at(&r, T0), SIGV4_OK);
	req_free(&r);
	body = (uint8_t *)stream_body(&len);
	b = malloc(len);
	for (int i = 0; i < 300; i++) {
		memcpy(b, body, len);
		for (int k = 1 + (int)(rnd() % 2); k > 0; k--) {
			size_t at = rnd() % 2 ? rnd() % len : (rnd() % 2 ? rnd() % 100 :
			    65536 + 90 + rnd() % 200);

			b[at] = (uint8_t)rnd();
		}
		sigv4_chunked_init(&d, &auth, 1 << 20);
		s.len = 0;
		chunks = 0;
		rv = sigv4_chunked_feed(&d, b, len, sink_emit, &s, &chunks, why, sizeof why);
		sigv4_chunked_free(&d);
		ck_assert(rv == 0 || rv == SIGV4_MALFORMED || rv == SIGV4_MISMATCH);
		if (rv == 0 && d.done) {
			ck_assert_uint_eq(s.len, 66560);
			for (size_t k = 0; k < s.len; k++)
				ck_assert_int_eq(s.buf[k], 'a');
		}
	}
	free(b);
	free(body);
	free(s.buf);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sigv4");
	TCase *tc = tcase_create("sigv4");

	if (sodium_init() < 0)
		return 1;
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_get_object);
	tcase_add_test(tc, test_get_object_changed);
	tcase_add_test(tc, test_authorization_forms);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_put_object);
	tcase_add_test(tc, test_bucket_queries);
	tcase_add_test(tc, test_presigned);
	tcase_add_test(tc, test_streaming);
	tcase_add_test(tc, test_streaming_refused);
	tcase_add_test(tc, test_streaming_trailer);
	tcase_add_test(tc, test_streaming_trailer_changed);
	tcase_add_test(tc, test_sign_round_trip);
	tcase_add_test(tc, test_canonical_headers);
	tcase_add_test(tc, test_sign);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_mutations);
	suite_add_tcase(s, tc);
	return check_run(s);
}
