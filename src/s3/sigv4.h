/* AWS Signature Version 4 for S3 requests: verification of the Authorization
 * header and of presigned query strings, and the per-chunk signatures of
 * aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
 *
 * Sources: AWS General Reference "Signature Version 4 signing process";
 * Amazon S3 API Reference "Authenticating Requests (AWS Signature Version 4)":
 * "Signature Calculations for the Authorization Header", "... Using Query
 * Parameters", "... Transferring Payload in Multiple Chunks".
 *
 * Pure: no I/O, no clock (the caller passes now), no allocation kept after a
 * call returns.  HMAC-SHA-256 and SHA-256 come from libsodium. */
#ifndef RCFS_SIGV4_H
#define RCFS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/sha256.h"

#define SIGV4_SKEW_S        (15 * 60)  /* a signature's date may be this far from now (s) */
#define SIGV4_KEY_ID_MAX    128        /* bytes of an access key id */
#define SIGV4_SECRET_MAX    128        /* a secret access key's buffer, NUL included */
#define SIGV4_SCOPE_MAX     160        /* "YYYYMMDD/region/service/aws4_request" */

/* Why a request is refused; each maps to one S3 error code (s3_sigv4_code). */
enum sigv4_err {
	SIGV4_OK = 0,
	SIGV4_MISSING,          /* neither Authorization nor X-Amz-Signature: AccessDenied */
	SIGV4_MALFORMED,        /* unparsable header or query fields: AuthorizationHeaderMalformed
	                         * (AuthorizationQueryParametersError when presigned) */
	SIGV4_UNSUPPORTED,      /* another algorithm (AWS SigV2, ...): NotImplemented */
	SIGV4_UNKNOWN_KEY,      /* the lookup does not know the access key id: InvalidAccessKeyId */
	SIGV4_SKEWED,           /* X-Amz-Date more than SIGV4_SKEW_S from now: RequestTimeTooSkewed */
	SIGV4_EXPIRED,          /* presigned and past X-Amz-Expires: AccessDenied */
	SIGV4_MISMATCH,         /* wrong signature: SignatureDoesNotMatch */
	SIGV4_ERR_MAX
};

/* One request header as received (name in any case, value untrimmed). */
struct sigv4_header {
	const char *name;
	const char *value;
};

/* A request as the verifier sees it (everything borrowed). */
struct sigv4_request {
	const char *method;             /* "GET", "PUT", ... */
	const char *uri;                /* the request target as received: percent-encoded path,
	                                 * then "?query" if any */
	const struct sigv4_header *headers;
	size_t n_headers;
};

/* The secret of access key id `key_id`: copy it NUL-terminated into
 * secret[SIGV4_SECRET_MAX] and return 0, or return -1 if the key is unknown. */
typedef int sigv4_lookup_fn(void *arg, const char *key_id, char *secret);

/* A verified request's credentials, kept to check the chunk signatures of an
 * aws-chunked body that follows. */
struct sigv4_auth {
	bool presigned;                         /* from the query string */
	char key_id[SIGV4_KEY_ID_MAX + 1];
	char amz_date[17];                      /* "YYYYMMDDTHHMMSSZ" */
	char scope[SIGV4_SCOPE_MAX + 1];        /* "YYYYMMDD/region/service/aws4_request" */
	uint8_t signing_key[32];                /* kSigning (derived from the secret) */
	char signature[65];                     /* the request's (seed) signature, hex */
	/* x-amz-content-sha256 as sent: 64 hex digits, "UNSIGNED-PAYLOAD",
	 * "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", ...; for a presigned request
	 * "UNSIGNED-PAYLOAD" unless x-amz-content-sha256 is a signed header. */
	char payload_hash[72];
};

/* Verify rq's signature at now_s (seconds since the epoch), finding secrets
 * through lookup.  Header form: Authorization "AWS4-HMAC-SHA256
 * Credential=..., SignedHeaders=..., Signature=..." with X-Amz-Date (or
 * Date) and x-amz-content-sha256 as the payload hash.  Query form
 * (presigned): X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders,
 * -Signature; the payload hash is UNSIGNED-PAYLOAD (or a signed
 * x-amz-content-sha256).  On SIGV4_OK *out is
 * filled; otherwise why[whylen] says what was wrong (one line, no secrets).
 * The body's hash itself is the caller's to compare with out->payload_hash. */
enum sigv4_err sigv4_verify(const struct sigv4_request *rq, int64_t now_s, sigv4_lookup_fn *lookup,
    void *arg, struct sigv4_auth *out, char *why, size_t whylen);

/* The signature of one chunk of an aws-chunked body: HMAC(kSigning,
 * "AWS4-HMAC-SHA256-PAYLOAD\n" amz_date "\n" scope "\n" prev "\n"
 * hex(SHA-256("")) "\n" hex(chunk_sha256)), as 64 hex digits plus NUL in
 * out.  prev is the previous chunk's signature (the seed signature first). */
void sigv4_chunk_signature(const struct sigv4_auth *a, const char *prev, const uint8_t *chunk_sha256,
    char *out);

/* Sign rq for tests and tools: the Authorization header value for key_id /
 * secret, region, service "s3", amz_date "YYYYMMDDTHHMMSSZ", the signed
 * header names (lowercase, ';'-separated, sorted) and the payload hash, into
 * out[outlen].  Returns 0, or -1 if out is too small. */
int sigv4_sign(const struct sigv4_request *rq, const char *key_id, const char *secret,
    const char *region, const char *amz_date, const char *signed_headers, const char *payload_hash,
    char *out, size_t outlen);

/* The signature of the trailer of an aws-chunked body
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER): HMAC(kSigning,
 * "AWS4-HMAC-SHA256-TRAILER\n" amz_date "\n" scope "\n" prev "\n"
 * hex(SHA-256(trailers))), as 64 hex digits plus NUL in out.  prev is the
 * final (zero-size) chunk's signature; trailers[len] the trailer lines as
 * "name:value\n" each. */
void sigv4_trailer_signature(const struct sigv4_auth *a, const char *prev, const char *trailers,
    size_t len, char *out);

#define SIGV4_TRAILERS_MAX 1024         /* bytes of trailer lines (without the signature's) */

/* Decoder of an aws-chunked body ("hex-size;chunk-signature=sig\r\n data
 * \r\n" ..., ending with a zero-size chunk), fed bytes as they arrive.
 * Checks each chunk's signature against the chain from a->signature.
 * With with_trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: set it
 * after init) the final chunk's header line is followed by trailer lines
 * "name:value\r\n", "x-amz-trailer-signature:sig\r\n" and "\r\n"; the
 * signature is checked and the other lines are kept in trailers.
 * Limits: a chunk header or trailer line of 256 bytes, a chunk of
 * max_chunk bytes, SIGV4_TRAILERS_MAX bytes of trailers. */
struct sigv4_chunked {
	const struct sigv4_auth *auth;  /* borrowed */
	size_t max_chunk;
	int state;                      /* private */
	char line[257];
	size_t line_len;
	uint64_t left;                  /* bytes of the current chunk still to come */
	char chunk_sig[65];             /* the signature the current chunk announced */
	char prev_sig[65];
	struct sha256 sha;              /* of the current chunk (libcrypto: SHA-NI) */
	bool done;                      /* the final (zero-size) chunk (and trailer) verified */
	bool with_trailer;
	char trailers[SIGV4_TRAILERS_MAX + 1];  /* "name:value\n" lines, NUL-terminated */
	size_t trailers_len;
	char trailer_sig[65];           /* the trailer signature announced ("" before) */
};

/* Start decoding a body signed by a (kept until the body ends); end with
 * sigv4_chunked_free, whether the body ended or not. */
void sigv4_chunked_init(struct sigv4_chunked *d, const struct sigv4_auth *a, size_t max_chunk);
void sigv4_chunked_free(struct sigv4_chunked *d);
/* Feed in[0..len-1].  Decoded payload bytes are handed to emit (which may be
 * called several times per chunk; a chunk's bytes are handed out before its
 * signature can be checked, so the caller must not act on them until the
 * chunk ends: the return value says when).  Returns 0 while consistent, or
 * SIGV4_MALFORMED / SIGV4_MISMATCH with why[whylen] filled.  *chunks_done is
 * increased by the number of chunks whose signature verified in this call. */
int sigv4_chunked_feed(struct sigv4_chunked *d, const uint8_t *in, size_t len,
    void (*emit)(void *arg, const uint8_t *data, size_t len), void *arg, unsigned *chunks_done,
    char *why, size_t whylen);

/* Lowercase hex of in[0..len-1] into out (2*len+1 bytes). */
void sigv4_hex(const uint8_t *in, size_t len, char *out);

#endif
