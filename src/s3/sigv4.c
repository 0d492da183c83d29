/* AWS Signature Version 4 for S3 (sigv4.h): the canonical request, string to
 * sign, signing key and signature of the Authorization-header and presigned
 * forms, and the chunk signatures of aws-chunked bodies.
 *
 * Every input is bounded (SIGV4_URI_MAX, SIGV4_PARAMS_MAX, ...) and refused as
 * SIGV4_MALFORMED beyond the bounds.  The canonical request is never held in
 * memory: it is hashed as it is produced, by the same code for verification
 * (sigv4_verify) and signing (sigv4_sign). */
#include "s3/sigv4.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "util/xmalloc.h"

#define SIGV4_ALGORITHM         "AWS4-HMAC-SHA256"
#define SIGV4_CHUNK_ALGORITHM   "AWS4-HMAC-SHA256-PAYLOAD"
#define SIGV4_TRAILER_ALGORITHM "AWS4-HMAC-SHA256-TRAILER"
#define SIGV4_TERMINATOR        "aws4_request"
#define SIGV4_SERVICE           "s3"
#define SIGV4_UNSIGNED          "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#define SIGV4_URI_MAX           8192    /* bytes of the request target */
#define SIGV4_PARAMS_MAX        100     /* query parameters */
#define SIGV4_SIGNED_MAX        64      /* signed headers */
#define SIGV4_SIGNED_LEN_MAX    1024    /* bytes of the SignedHeaders list */
#define SIGV4_AUTH_MAX          4096    /* bytes of the Authorization header */
#define SIGV4_METHOD_MAX        32      /* bytes of the method */
#define SIGV4_REGION_MAX        64      /* bytes of the credential scope's region */
#define SIGV4_EXPIRES_MAX       604800  /* X-Amz-Expires: seven days */
#define SIGV4_CHUNK_LINE_MAX    256     /* bytes of an aws-chunked chunk header line */
#define SIGV4_TIME_MAX          INT64_C(253402300799)   /* 9999-12-31T23:59:59Z */

/* sigv4_chunked.state */
enum {
	CHUNK_HEADER = 0,       /* reading "hex-size;chunk-signature=sig\r\n" */
	CHUNK_DATA,             /* d->left bytes of data still to come */
	CHUNK_DATA_CR,          /* the data's "\r\n" */
	CHUNK_DATA_LF,
	CHUNK_FINAL_CR,         /* the final (zero-size) chunk's "\r\n" */
	CHUNK_FINAL_LF,
	CHUNK_TRAILER,          /* reading a trailer line "name:value\r\n" (or the empty last one) */
	CHUNK_DONE,             /* the final chunk verified; nothing may follow */
	CHUNK_FAILED_MALFORMED, /* refused: every later call says so again */
	CHUNK_FAILED_MISMATCH,
};


/* One query parameter of the request target. */
struct sigv4_param {
	char *name;             /* percent-encoded the canonical way */
	char *value;            /* likewise */
	char *dvalue;           /* percent-decoded (NUL-terminated) */
	bool dvalue_nul;        /* the decoded value holds a NUL byte */
};

/* The request target, split and put in canonical form. */
struct sigv4_target {
	char *path;             /* the canonical URI */
	struct sigv4_param param[SIGV4_PARAMS_MAX];
	size_t n_param;         /* sorted by name, then value */
};

/* The SignedHeaders list: names borrowed from list[0..len-1]. */
struct sigv4_signed {
	const char *list;
	size_t len;
	const char *name[SIGV4_SIGNED_MAX];
	size_t name_len[SIGV4_SIGNED_MAX];
	size_t n;
};

/* The fields of the Authorization header or of the presigned query. */
struct sigv4_fields {
	const char *credential, *signed_headers, *signature, *date, *expires;
	size_t credential_len, signed_headers_len, signature_len, date_len, expires_len;
};

static void why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool is_unreserved(unsigned char c);
static int hex_value(unsigned char c);
static bool hex_decode32(const char *s, size_t len, uint8_t out[32]);
static void trim(const char **s, size_t *len);
static bool is_space(unsigned char c);
static bool is_tchar_lower(unsigned char c);
static const char *header_find(const struct sigv4_request *rq, const char *name, int *count);
static bool uri_normalize(const char *s, size_t len, bool path, char *out, size_t *outlen);
static bool uri_decode(const char *s, size_t len, char *out, size_t *outlen);
static int param_cmp(const void *a, const void *b);
static enum sigv4_err target_parse(const char *uri, struct sigv4_target *t, char *why,
    size_t whylen);
static void target_free(struct sigv4_target *t);
static const struct sigv4_param *target_param(const struct sigv4_target *t, const char *name,
    int *count);
static enum sigv4_err signed_parse(const char *list, size_t len, struct sigv4_signed *sl,
    char *why, size_t whylen);
static void sha_put(crypto_hash_sha256_state *sha, const char *s, size_t len);
static void sha_puts(crypto_hash_sha256_state *sha, const char *s);
static enum sigv4_err canonical_headers(crypto_hash_sha256_state *sha,
    const struct sigv4_request *rq, const struct sigv4_signed *sl, char *why, size_t whylen);
static enum sigv4_err canonical_request_hash(const struct sigv4_request *rq,
    const struct sigv4_target *t, bool presigned, const struct sigv4_signed *sl,
    const char *payload_hash, uint8_t hash[32], char *why, size_t whylen);
static void hmac(uint8_t out[32], const uint8_t *key, size_t keylen, const char *msg, size_t len);
static void signing_key(const char *secret, size_t secret_len, const char *scope, uint8_t out[32]);
static void request_signature(const uint8_t key[32], const char *amz_date, const char *scope,
    const uint8_t creq_hash[32], uint8_t sig[32]);
static enum sigv4_err amz_headers_signed(const struct sigv4_request *rq, const struct sigv4_signed *sl,
    bool presigned, char *why, size_t whylen);
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
static bool digits(const char *s, size_t n, unsigned *v);
static bool civil_time(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
    int64_t *t);
static bool amz_date_parse(const char *s, size_t len, int64_t *t);
static bool http_date_parse(const char *s, size_t len, char amz[17], int64_t *t);
static enum sigv4_err credential_parse(const char *s, size_t len, struct sigv4_auth *a,
    char *why, size_t whylen);
static bool payload_hash_ok(const char *s, size_t len);
static int payload_hash_take(struct sigv4_auth *a, const char *v, size_t n, char *why, size_t whylen);
static enum sigv4_err auth_header_parse(const char *v, size_t len, struct sigv4_fields *f,
    char *why, size_t whylen);
static enum sigv4_err presigned_parse(const struct sigv4_target *t, struct sigv4_fields *f,
    char *why, size_t whylen);
static enum sigv4_err verify(const struct sigv4_request *rq, const struct sigv4_target *t,
    int64_t now_s, sigv4_lookup_fn *lookup, void *arg, struct sigv4_auth *a, char *why,
    size_t whylen);
static int chunked_fail(struct sigv4_chunked *d, int err, char *why, size_t whylen,
    const char *msg);
static int chunk_header(struct sigv4_chunked *d, char *why, size_t whylen);
static bool chunk_verify(struct sigv4_chunked *d, const uint8_t sha[32]);

static void
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* RFC 3986 unreserved: kept as is by the SigV4 URI encoding. */
static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '.' || c == '~';
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 64 hex digits (either case) into 32 bytes. */
static bool
hex_decode32(const char *s, size_t len, uint8_t out[32])
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < 32; i++) {
		int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Drop leading and trailing spaces and tabs from s[0..*len-1]. */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/* A character of an HTTP header name (RFC 7230 tchar), lowercase. */
static bool
is_tchar_lower(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The value of header `name` (any case), or NULL; *count says how many there are. */
static const char *
header_find(const struct sigv4_request *rq, const char *name, int *count)
{
	const char *v = NULL;

	*count = 0;
	for (size_t i = 0; i < rq->n_headers; i++) {
		if (rq->headers[i].name != NULL && rq->headers[i].value != NULL &&
		    strcasecmp(rq->headers[i].name, name) == 0) {
			if (v == NULL)
				v = rq->headers[i].value;
			(*count)++;
		}
	}
	return v;
}

/* Put s[0..len-1] in canonical form into out (3 * len + 1 bytes): its %XX
 * escapes decoded, then each byte encoded the SigV4 way (unreserved bytes as
 * they are, '/' as it is in a path, any other byte as %XX in uppercase).  An
 * escaped slash (%2F) stays escaped in a path, as the client signed it.
 * False if an escape is broken. */
static bool
uri_normalize(const char *s, size_t len, bool path, char *out, size_t *outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return false;
			hi = hex_value((unsigned char)s[i + 1]);
			lo = hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (is_unreserved(c)) {
				out[o++] = (char)c;
				continue;
			}
		} else if (is_unreserved(c) || (path && c == '/')) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
	*outlen = o;
	return true;
}

/* Percent-decode s[0..len-1] into out (len + 1 bytes).  False if an escape is broken. */
static bool
uri_decode(const char *s, size_t len, char *out, size_t *outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (len - i < 3)
				return false;
			hi = hex_value((unsigned char)s[i + 1]);
			lo = hex_value((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	*outlen = o;
	return true;
}

/* The canonical query's order: by encoded name, then encoded value. */
static int
param_cmp(const void *a, const void *b)
{
	const struct sigv4_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Split rq->uri into its canonical URI and its query parameters (sorted). */
static enum sigv4_err
target_parse(const char *uri, struct sigv4_target *t, char *why, size_t whylen)
{
	const char *path, *q, *end;
	size_t ulen, plen, outlen;

	memset(t, 0, sizeof *t);
	if (uri == NULL || (ulen = strnlen(uri, SIGV4_URI_MAX + 1)) > SIGV4_URI_MAX) {
		why_set(why, whylen, "the request target is missing or longer than %d bytes",
		    SIGV4_URI_MAX);
		return SIGV4_MALFORMED;
	}
	end = uri + ulen;
	path = uri;
	/* absolute-form (RFC 7230 5.3.2): the path starts after the authority */
	if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
		path = strstr(uri, "://") + 3;
		path += strcspn(path, "/?");
	} else if (uri[0] != '/') {
		why_set(why, whylen, "the request target does not start with '/'");
		return SIGV4_MALFORMED;
	}
	q = memchr(path, '?', (size_t)(end - path));
	plen = (size_t)((q != NULL ? q : end) - path);
	t->path = xmalloc(3 * plen + 2);
	if (plen == 0) {
		strcpy(t->path, "/");
	} else if (!uri_normalize(path, plen, true, t->path, &outlen)) {
		why_set(why, whylen, "broken percent-encoding in the request path");
		target_free(t);
		return SIGV4_MALFORMED;
	}
	for (const char *p = q != NULL ? q + 1 : end; p < end; ) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
		const char *pend = amp != NULL ? amp : end;
		size_t nlen, vlen, dlen;
		struct sigv4_param *pp;
		char *block;

		if (pend == p) {                        /* "&&" or a trailing '&' */
			p = pend + 1;
			continue;
		}
		if (t->n_param == SIGV4_PARAMS_MAX) {
			why_set(why, whylen, "more than %d query parameters", SIGV4_PARAMS_MAX);
			target_free(t);
			return SIGV4_MALFORMED;
		}
		eq = memchr(p, '=', (size_t)(pend - p));
		nlen = (size_t)((eq != NULL ? eq : pend) - p);
		vlen = eq != NULL ? (size_t)(pend - eq - 1) : 0;
		block = xmalloc(3 * nlen + 1 + 3 * vlen + 1 + vlen + 1);
		pp = &t->param[t->n_param++];
		pp->name = block;
		pp->value = block + 3 * nlen + 1;
		pp->dvalue = pp->value + 3 * vlen + 1;
		if (!uri_normalize(p, nlen, false, pp->name, &outlen) ||
		    !uri_normalize(eq != NULL ? eq + 1 : pend, vlen, false, pp->value, &outlen) ||
		    !uri_decode(eq != NULL ? eq + 1 : pend, vlen, pp->dvalue, &dlen)) {
			why_set(why, whylen, "broken percent-encoding in the query string");
			target_free(t);
			return SIGV4_MALFORMED;
		}
		pp->dvalue_nul = strlen(pp->dvalue) != dlen;
		p = pend + 1;
	}
	qsort(t->param, t->n_param, sizeof t->param[0], param_cmp);
	return SIGV4_OK;
}

static void
target_free(struct sigv4_target *t)
{
	free(t->path);
	t->path = NULL;
	for (size_t i = 0; i < t->n_param; i++)
		free(t->param[i].name);         /* one block per parameter */
	t->n_param = 0;
}

/* Query parameter `name` (exact, as encoded), or NULL; *count: how many. */
static const struct sigv4_param *
target_param(const struct sigv4_target *t, const char *name, int *count)
{
	const struct sigv4_param *found = NULL;

	*count = 0;
	for (size_t i = 0; i < t->n_param; i++) {
		if (strcmp(t->param[i].name, name) == 0) {
			if (found == NULL)
				found = &t->param[i];
			(*count)++;
		}
	}
	return found;
}

/* Check the SignedHeaders list: lowercase names, strictly ascending, host
 * among them. */
static enum sigv4_err
signed_parse(const char *list, size_t len, struct sigv4_signed *sl, char *why, size_t whylen)
{
	bool host = false;

	memset(sl, 0, sizeof *sl);
	sl->list = list;
	sl->len = len;
	if (len == 0 || len > SIGV4_SIGNED_LEN_MAX) {
		why_set(why, whylen, "SignedHeaders is empty or longer than %d bytes",
		    SIGV4_SIGNED_LEN_MAX);
		return SIGV4_MALFORMED;
	}
	for (size_t i = 0; i <= len; ) {
		size_t j = i;

		while (j < len && list[j] != ';') {
			if (!is_tchar_lower((unsigned char)list[j])) {
				why_set(why, whylen, "SignedHeaders must be lowercase header names "
				    "separated by ';'");
				return SIGV4_MALFORMED;
			}
			j++;
		}
		if (j == i) {
			why_set(why, whylen, "SignedHeaders has an empty name");
			return SIGV4_MALFORMED;
		}
		if (sl->n == SIGV4_SIGNED_MAX) {
			why_set(why, whylen, "more than %d signed headers", SIGV4_SIGNED_MAX);
			return SIGV4_MALFORMED;
		}
		if (sl->n > 0) {
			size_t pl = sl->name_len[sl->n - 1], m = pl < j - i ? pl : j - i;
			int c = memcmp(sl->name[sl->n - 1], list + i, m);

			if (c > 0 || (c == 0 && pl >= j - i)) {
				why_set(why, whylen, "SignedHeaders must be sorted and without "
				    "duplicates");
				return SIGV4_MALFORMED;
			}
		}
		sl->name[sl->n] = list + i;
		sl->name_len[sl->n++] = j - i;
		if (j - i == 4 && memcmp(list + i, "host", 4) == 0)
			host = true;
		i = j + 1;
	}
	if (!host) {
		why_set(why, whylen, "host must be a signed header");
		return SIGV4_MALFORMED;
	}
	return SIGV4_OK;
}

static void
sha_put(crypto_hash_sha256_state *sha, const char *s, size_t len)
{
	crypto_hash_sha256_update(sha, (const unsigned char *)s, len);
}

static void
sha_puts(crypto_hash_sha256_state *sha, const char *s)
{
	sha_put(sha, s, strlen(s));
}

/* Hash the canonical headers: "name:value\n" for each signed header, values
 * trimmed with inner runs of spaces collapsed, repeated headers joined by ','. */
static enum sigv4_err
canonical_headers(crypto_hash_sha256_state *sha, const struct sigv4_request *rq,
    const struct sigv4_signed *sl, char *why, size_t whylen)
{
	for (size_t k = 0; k < sl->n; k++) {
		bool found = false;

		sha_put(sha, sl->name[k], sl->name_len[k]);
		sha_put(sha, ":", 1);
		for (size_t i = 0; i < rq->n_headers; i++) {
			const char *name = rq->headers[i].name, *v = rq->headers[i].value;
			size_t vlen, run;

			if (name == NULL || v == NULL || strlen(name) != sl->name_len[k] ||
			    strncasecmp(name, sl->name[k], sl->name_len[k]) != 0)
				continue;
			if (found)
				sha_put(sha, ",", 1);
			found = true;
			vlen = strlen(v);
			trim(&v, &vlen);
			for (size_t j = 0; j < vlen; j += run) {
				unsigned char c = (unsigned char)v[j];

				if ((c < 0x20 && c != '\t') || c == 0x7f) {
					why_set(why, whylen, "signed header %.*s has a control character",
					    (int)sl->name_len[k], sl->name[k]);
					return SIGV4_MALFORMED;
				}
				if (is_space(c)) {
					for (run = 1; j + run < vlen && is_space((unsigned char)v[j + run]);
					    run++)
						;
					sha_put(sha, " ", 1);
				} else {
					for (run = 1; j + run < vlen && !is_space((unsigned char)v[j + run]) &&
					    (unsigned char)v[j + run] >= 0x20 && v[j + run] != 0x7f; run++)
						;
					sha_put(sha, v + j, run);
				}
			}
		}
		if (!found) {
			why_set(why, whylen, "signed header %.*s is not in the request",
			    (int)sl->name_len[k], sl->name[k]);
			return SIGV4_MALFORMED;
		}
		sha_put(sha, "\n", 1);
	}
	return SIGV4_OK;
}

/* SHA-256 of the canonical request: method, canonical URI, canonical query
 * (without X-Amz-Signature when presigned), canonical headers, signed headers
 * and payload hash, separated by newlines. */
static enum sigv4_err
canonical_request_hash(const struct sigv4_request *rq, const struct sigv4_target *t,
    bool presigned, const struct sigv4_signed *sl, const char *payload_hash, uint8_t hash[32],
    char *why, size_t whylen)
{
	crypto_hash_sha256_state sha;
	enum sigv4_err e;
	size_t mlen;
	bool first = true;

	mlen = rq->method != NULL ? strnlen(rq->method, SIGV4_METHOD_MAX + 1) : 0;
	if (mlen == 0 || mlen > SIGV4_METHOD_MAX) {
		why_set(why, whylen, "the method is empty or too long");
		return SIGV4_MALFORMED;
	}
	for (size_t i = 0; i < mlen; i++) {
		if (!is_tchar_lower((unsigned char)rq->method[i]) &&
		    !(rq->method[i] >= 'A' && rq->method[i] <= 'Z')) {
			why_set(why, whylen, "the method is not a token");
			return SIGV4_MALFORMED;
		}
	}
	crypto_hash_sha256_init(&sha);
	sha_put(&sha, rq->method, mlen);
	sha_put(&sha, "\n", 1);
	sha_puts(&sha, t->path);
	sha_put(&sha, "\n", 1);
	for (size_t i = 0; i < t->n_param; i++) {
		if (presigned && strcmp(t->param[i].name, "X-Amz-Signature") == 0)
			continue;
		if (!first)
			sha_put(&sha, "&", 1);
		first = false;
		sha_puts(&sha, t->param[i].name);
		sha_put(&sha, "=", 1);
		sha_puts(&sha, t->param[i].value);
	}
	sha_put(&sha, "\n", 1);
	if ((e = canonical_headers(&sha, rq, sl, why, whylen)) != SIGV4_OK)
		return e;
	sha_put(&sha, "\n", 1);
	sha_put(&sha, sl->list, sl->len);
	sha_put(&sha, "\n", 1);
	sha_puts(&sha, payload_hash);
	crypto_hash_sha256_final(&sha, hash);
	return SIGV4_OK;
}

static void
hmac(uint8_t out[32], const uint8_t *key, size_t keylen, const char *msg, size_t len)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

/* The signing key: HMAC chain from "AWS4" + secret through the credential
 * scope's date, region, service and "aws4_request" (scope checked already). */
static void
signing_key(const char *secret, size_t secret_len, const char *scope, uint8_t out[32])
{
	uint8_t k[4 + SIGV4_SECRET_MAX], cur[32];
	const char *p = scope;
	size_t klen = 4 + secret_len;

	memcpy(k, "AWS4", 4);
	memcpy(k + 4, secret, secret_len);
	for (int i = 0; i < 4; i++) {
		size_t n = strcspn(p, "/");

		hmac(cur, i == 0 ? k : out, i == 0 ? klen : 32, p, n);
		memcpy(out, cur, 32);
		p += n + (p[n] == '/');
	}
	sodium_memzero(k, sizeof k);
	sodium_memzero(cur, sizeof cur);
}

/* HMAC(signing key, string to sign) with the string to sign
 * "AWS4-HMAC-SHA256\n" amz_date "\n" scope "\n" hex(canonical request hash). */
static void
request_signature(const uint8_t key[32], const char *amz_date, const char *scope,
    const uint8_t creq_hash[32], uint8_t sig[32])
{
	crypto_auth_hmacsha256_state st;
	char hex[65];

	sigv4_hex(creq_hash, 32, hex);
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)SIGV4_ALGORITHM "\n",
	    sizeof SIGV4_ALGORITHM);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)amz_date, strlen(amz_date));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)scope, strlen(scope));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)hex, 64);
	crypto_auth_hmacsha256_final(&st, sig);
	sodium_memzero(&st, sizeof st);
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The n decimal digits s[0..n-1] into *v. */
static bool
digits(const char *s, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return true;
}

/* Seconds since the epoch of a UTC calendar time, if it exists. */
static bool
civil_time(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s, int64_t *t)
{
	static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || s > 59)
		return false;
	*t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return true;
}

/* "YYYYMMDDTHHMMSSZ" into seconds since the epoch. */
static bool
amz_date_parse(const char *s, size_t len, int64_t *t)
{
	unsigned y, mo, d, h, mi, sec;

	return len == 16 && s[8] == 'T' && s[15] == 'Z' && digits(s, 4, &y) &&
	    digits(s + 4, 2, &mo) && digits(s + 6, 2, &d) && digits(s + 9, 2, &h) &&
	    digits(s + 11, 2, &mi) && digits(s + 13, 2, &sec) && civil_time(y, mo, d, h, mi, sec, t);
}

/* An RFC 1123 date ("Fri, 24 May 2013 00:00:00 GMT") into seconds since the
 * epoch and its "YYYYMMDDTHHMMSSZ" form. */
static bool
http_date_parse(const char *s, size_t len, char amz[17], int64_t *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	static const char days[] = "MonTueWedThuFriSatSun";
	unsigned y, mo = 0, d, h, mi, sec;
	bool day = false;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
	    memcmp(s + 26, "GMT", 3) != 0)
		return false;
	for (unsigned i = 0; i < 7; i++)
		if (memcmp(s, days + 3 * i, 3) == 0)
			day = true;
	for (unsigned i = 0; i < 12; i++)
		if (memcmp(s + 8, months + 3 * i, 3) == 0)
			mo = i + 1;
	if (!day || mo == 0 || !digits(s + 5, 2, &d) || !digits(s + 12, 4, &y) || !digits(s + 17, 2, &h) ||
	    !digits(s + 20, 2, &mi) || !digits(s + 23, 2, &sec) ||
	    !civil_time(y, mo, d, h, mi, sec, t))
		return false;
	snprintf(amz, 17, "%04u%02u%02uT%02u%02u%02uZ", y % 10000, mo % 100, d % 100, h % 100,
	    mi % 100, sec % 100);
	return true;
}

/* "AKID/YYYYMMDD/region/s3/aws4_request" into a->key_id and a->scope. */
static enum sigv4_err
credential_parse(const char *s, size_t len, struct sigv4_auth *a, char *why, size_t whylen)
{
	const char *part[5];
	size_t plen[5], n = 0, i = 0;
	unsigned v;

	while (n < 5) {
		size_t j = i;

		while (j < len && s[j] != '/')
			j++;
		part[n] = s + i;
		plen[n++] = j - i;
		if (j == len)
			break;
		i = j + 1;
	}
	if (n != 5 || part[4] + plen[4] != s + len) {
		why_set(why, whylen, "the credential must be "
		    "access-key-id/YYYYMMDD/region/s3/aws4_request");
		return SIGV4_MALFORMED;
	}
	if (plen[0] == 0 || plen[0] > SIGV4_KEY_ID_MAX) {
		why_set(why, whylen, "the access key id is empty or longer than %d bytes",
		    SIGV4_KEY_ID_MAX);
		return SIGV4_MALFORMED;
	}
	for (i = 0; i < plen[0]; i++) {
		unsigned char c = (unsigned char)part[0][i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == ',' || c == ';') {
			why_set(why, whylen, "the access key id has a forbidden character");
			return SIGV4_MALFORMED;
		}
	}
	if (plen[1] != 8 || !digits(part[1], 8, &v)) {
		why_set(why, whylen, "the credential's date must be YYYYMMDD");
		return SIGV4_MALFORMED;
	}
	if (plen[2] == 0 || plen[2] > SIGV4_REGION_MAX) {
		why_set(why, whylen, "the credential's region is empty or too long");
		return SIGV4_MALFORMED;
	}
	for (i = 0; i < plen[2]; i++) {
		unsigned char c = (unsigned char)part[2][i];

		if (!is_unreserved(c) || c == '~') {
			why_set(why, whylen, "the credential's region has a forbidden character");
			return SIGV4_MALFORMED;
		}
	}
	if (plen[3] != strlen(SIGV4_SERVICE) || memcmp(part[3], SIGV4_SERVICE, plen[3]) != 0) {
		why_set(why, whylen, "the credential's service must be s3");
		return SIGV4_MALFORMED;
	}
	if (plen[4] != strlen(SIGV4_TERMINATOR) || memcmp(part[4], SIGV4_TERMINATOR, plen[4]) != 0) {
		why_set(why, whylen, "the credential must end with aws4_request");
		return SIGV4_MALFORMED;
	}
	memcpy(a->key_id, part[0], plen[0]);
	a->key_id[plen[0]] = '\0';
	/* 8 + 1 + 64 + 1 + 2 + 1 + 12 <= SIGV4_SCOPE_MAX */
	memcpy(a->scope, part[1], (size_t)(s + len - part[1]));
	a->scope[s + len - part[1]] = '\0';
	return SIGV4_OK;
}

/* x-amz-content-sha256: 64 hex digits or a mode such as UNSIGNED-PAYLOAD. */
static bool
payload_hash_ok(const char *s, size_t len)
{
	if (len == 0 || len >= sizeof ((struct sigv4_auth *)0)->payload_hash)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Take x-amz-content-sha256's value v (of n such headers) as a's payload
 * hash: 0, or -1 with why set. */
static int
payload_hash_take(struct sigv4_auth *a, const char *v, size_t n, char *why, size_t whylen)
{
	size_t len = strlen(v);

	trim(&v, &len);
	if (n > 1 || !payload_hash_ok(v, len)) {
		why_set(why, whylen, "x-amz-content-sha256 must be one SHA-256 in hex or a payload "
		    "mode such as UNSIGNED-PAYLOAD");
		return -1;
	}
	memcpy(a->payload_hash, v, len);
	a->payload_hash[len] = '\0';
	return 0;
}

/* The fields of "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". */
static enum sigv4_err
auth_header_parse(const char *v, size_t len, struct sigv4_fields *f, char *why, size_t whylen)
{
	size_t alg = 0, i;

	if (len > SIGV4_AUTH_MAX) {
		why_set(why, whylen, "the Authorization header is longer than %d bytes",
		    SIGV4_AUTH_MAX);
		return SIGV4_MALFORMED;
	}
	if (len >= 4 && memcmp(v, "AWS ", 4) == 0) {
		why_set(why, whylen, "AWS Signature Version 2 is not supported");
		return SIGV4_UNSUPPORTED;
	}
	while (alg < len && !is_space((unsigned char)v[alg]) && v[alg] != ',')
		alg++;
	if (alg == 0 || alg == len) {
		why_set(why, whylen, "the Authorization header is not \"AWS4-HMAC-SHA256 "
		    "Credential=..., SignedHeaders=..., Signature=...\"");
		return SIGV4_MALFORMED;
	}
	if (alg != strlen(SIGV4_ALGORITHM) || memcmp(v, SIGV4_ALGORITHM, alg) != 0) {
		why_set(why, whylen, "authorization algorithm %.*s is not supported",
		    (int)(alg < 32 ? alg : 32), v);
		for (char *w = why; w != NULL && *w != '\0'; w++)
			if ((unsigned char)*w < 0x20 || (unsigned char)*w >= 0x7f)
				*w = '?';
		return SIGV4_UNSUPPORTED;
	}
	for (i = alg; i < len; ) {
		const char **val;
		size_t *vlen, k, e;

		while (i < len && (is_space((unsigned char)v[i]) || v[i] == ','))
			i++;
		if (i == len)
			break;
		for (k = i; k < len && v[k] != '=' && v[k] != ',' && !is_space((unsigned char)v[k]); k++)
			;
		if (k == len || v[k] != '=') {
			why_set(why, whylen, "the Authorization header has a component without '='");
			return SIGV4_MALFORMED;
		}
		if (k - i == 10 && memcmp(v + i, "Credential", 10) == 0) {
			val = &f->credential;
			vlen = &f->credential_len;
		} else if (k - i == 13 && memcmp(v + i, "SignedHeaders", 13) == 0) {
			val = &f->signed_headers;
			vlen = &f->signed_headers_len;
		} else if (k - i == 9 && memcmp(v + i, "Signature", 9) == 0) {
			val = &f->signature;
			vlen = &f->signature_len;
		} else {
			why_set(why, whylen, "the Authorization header has an unknown component");
			return SIGV4_MALFORMED;
		}
		if (*val != NULL) {
			why_set(why, whylen, "the Authorization header repeats a component");
			return SIGV4_MALFORMED;
		}
		for (e = k + 1; e < len && v[e] != ',' && !is_space((unsigned char)v[e]); e++)
			;
		*val = v + k + 1;
		*vlen = e - k - 1;
		i = e;
	}
	if (f->credential == NULL || f->signed_headers == NULL || f->signature == NULL) {
		why_set(why, whylen, "the Authorization header lacks %s",
		    f->credential == NULL ? "Credential" : f->signed_headers == NULL ?
		    "SignedHeaders" : "Signature");
		return SIGV4_MALFORMED;
	}
	return SIGV4_OK;
}

/* The X-Amz-* fields of a presigned query (decoded values). */
static enum sigv4_err
presigned_parse(const struct sigv4_target *t, struct sigv4_fields *f, char *why, size_t whylen)
{
	static const char *names[] = { "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
	    "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature" };
	const struct sigv4_param *p[6];
	int count;

	for (int i = 0; i < 6; i++) {
		p[i] = target_param(t, names[i], &count);
		if (count != 1 || p[i]->dvalue_nul) {
			why_set(why, whylen, "the presigned query must have exactly one %s%s",
			    names[i], count == 1 ? " without NUL bytes" : "");
			return SIGV4_MALFORMED;
		}
	}
	if (strcmp(p[0]->dvalue, SIGV4_ALGORITHM) != 0) {
		why_set(why, whylen, "X-Amz-Algorithm must be " SIGV4_ALGORITHM);
		return SIGV4_UNSUPPORTED;
	}
	f->credential = p[1]->dvalue;
	f->credential_len = strlen(p[1]->dvalue);
	f->date = p[2]->dvalue;
	f->date_len = strlen(p[2]->dvalue);
	f->expires = p[3]->dvalue;
	f->expires_len = strlen(p[3]->dvalue);
	f->signed_headers = p[4]->dvalue;
	f->signed_headers_len = strlen(p[4]->dvalue);
	f->signature = p[5]->dvalue;
	f->signature_len = strlen(p[5]->dvalue);
	return SIGV4_OK;
}

/* sigv4_verify once the target is parsed: a is filled as far as it gets. */
static enum sigv4_err
verify(const struct sigv4_request *rq, const struct sigv4_target *t, int64_t now_s,
    sigv4_lookup_fn *lookup, void *arg, struct sigv4_auth *a, char *why, size_t whylen)
{
	struct sigv4_fields f;
	struct sigv4_signed sl;
	const char *auth, *v;
	char secret[SIGV4_SECRET_MAX + 1], hex[65];
	uint8_t given[32], creq[32], sig[32];
	int n_auth, n, n_sig, n_sig2, n_key2;
	int64_t date;
	enum sigv4_err e;
	size_t len;
	unsigned expires = 0;

	memset(&f, 0, sizeof f);
	if (now_s < 0 || now_s > SIGV4_TIME_MAX)        /* keeps the date arithmetic in range */
		now_s = now_s < 0 ? 0 : SIGV4_TIME_MAX;
	auth = header_find(rq, "Authorization", &n_auth);
	(void)target_param(t, "X-Amz-Signature", &n_sig);
	if (n_sig == 0)                 /* a half-made presigned query is malformed, not missing */
		(void)target_param(t, "X-Amz-Credential", &n_sig);
	if (n_sig == 0)
		(void)target_param(t, "X-Amz-Algorithm", &n_sig);
	if (n_auth > 1) {
		why_set(why, whylen, "more than one Authorization header");
		return SIGV4_MALFORMED;
	}
	if (n_auth == 1 && n_sig > 0) {
		why_set(why, whylen, "both an Authorization header and a presigned query");
		return SIGV4_MALFORMED;
	}
	if (n_auth == 0 && n_sig == 0) {
		target_param(t, "Signature", &n_sig2);
		target_param(t, "AWSAccessKeyId", &n_key2);
		if (n_sig2 > 0 && n_key2 > 0) {
			why_set(why, whylen, "AWS Signature Version 2 is not supported");
			return SIGV4_UNSUPPORTED;
		}
		why_set(why, whylen, "the request is not signed (no Authorization header, no "
		    "X-Amz-Signature)");
		return SIGV4_MISSING;
	}
	a->presigned = n_sig > 0;
	if (!a->presigned) {
		len = strlen(auth);
		trim(&auth, &len);
		if ((e = auth_header_parse(auth, len, &f, why, whylen)) != SIGV4_OK)
			return e;
		if ((v = header_find(rq, "x-amz-date", &n)) != NULL) {
			len = strlen(v);
			trim(&v, &len);
			if (n > 1 || !amz_date_parse(v, len, &date)) {
				why_set(why, whylen, "x-amz-date must be one YYYYMMDDTHHMMSSZ");
				return SIGV4_MALFORMED;
			}
			memcpy(a->amz_date, v, 16);
			a->amz_date[16] = '\0';
		} else if ((v = header_find(rq, "Date", &n)) != NULL) {
			len = strlen(v);
			trim(&v, &len);
			if (n > 1 || !http_date_parse(v, len, a->amz_date, &date)) {
				why_set(why, whylen, "without x-amz-date, Date must be one RFC 1123 date");
				return SIGV4_MALFORMED;
			}
		} else {
			why_set(why, whylen, "the request has neither x-amz-date nor Date");
			return SIGV4_MALFORMED;
		}
		v = header_find(rq, "x-amz-content-sha256", &n);
		if (v == NULL) {
			why_set(why, whylen, "x-amz-content-sha256 is required with an Authorization "
			    "header");
			return SIGV4_MALFORMED;
		}
		if (payload_hash_take(a, v, n, why, whylen) != 0)
			return SIGV4_MALFORMED;
	} else {
		if ((e = presigned_parse(t, &f, why, whylen)) != SIGV4_OK)
			return e;
		if (!amz_date_parse(f.date, f.date_len, &date)) {
			why_set(why, whylen, "X-Amz-Date must be YYYYMMDDTHHMMSSZ");
			return SIGV4_MALFORMED;
		}
		memcpy(a->amz_date, f.date, 16);
		a->amz_date[16] = '\0';
		if (f.expires_len == 0 || f.expires_len > 6 || !digits(f.expires, f.expires_len,
		    &expires) || expires < 1 || expires > SIGV4_EXPIRES_MAX) {
			why_set(why, whylen, "X-Amz-Expires must be 1 to %d seconds", SIGV4_EXPIRES_MAX);
			return SIGV4_MALFORMED;
		}
	}
	if ((e = credential_parse(f.credential, f.credential_len, a, why, whylen)) != SIGV4_OK)
		return e;
	if (memcmp(a->scope, a->amz_date, 8) != 0) {
		why_set(why, whylen, "the credential's date %.8s is not the request's date %.8s",
		    a->scope, a->amz_date);
		return SIGV4_MALFORMED;
	}
	if ((e = signed_parse(f.signed_headers, f.signed_headers_len, &sl, why, whylen)) != SIGV4_OK)
		return e;
	if ((e = amz_headers_signed(rq, &sl, a->presigned, why, whylen)) != SIGV4_OK)
		return e;
	if (!hex_decode32(f.signature, f.signature_len, given)) {
		why_set(why, whylen, "the signature must be 64 hex digits");
		return SIGV4_MALFORMED;
	}
	if (a->presigned) {
		/* the body's hash is signed only if its header is */
		snprintf(a->payload_hash, sizeof a->payload_hash, "%s", SIGV4_UNSIGNED);
		v = header_find(rq, "x-amz-content-sha256", &n);
		for (size_t k = 0; v != NULL && k < sl.n; k++) {
			if (sl.name_len[k] == 20 && memcmp(sl.name[k], "x-amz-content-sha256", 20) == 0) {
				if (payload_hash_take(a, v, n, why, whylen) != 0)
					return SIGV4_MALFORMED;
			}
		}
		if (date - now_s > SIGV4_SKEW_S) {
			why_set(why, whylen, "X-Amz-Date %s is %lld s ahead of the server's clock "
			    "(at most %d)", a->amz_date, (long long)(date - now_s), SIGV4_SKEW_S);
			return SIGV4_SKEWED;
		}
		if (now_s > date + (int64_t)expires) {
			why_set(why, whylen, "the presigned request expired %lld s ago",
			    (long long)(now_s - date - (int64_t)expires));
			return SIGV4_EXPIRED;
		}
	} else if (date - now_s > SIGV4_SKEW_S || now_s - date > SIGV4_SKEW_S) {
		why_set(why, whylen, "the request's date %s is %lld s from the server's clock "
		    "(at most %d)", a->amz_date, (long long)(date > now_s ? date - now_s :
		    now_s - date), SIGV4_SKEW_S);
		return SIGV4_SKEWED;
	}
	memset(secret, 0, sizeof secret);
	if (lookup == NULL || lookup(arg, a->key_id, secret) != 0) {
		sodium_memzero(secret, sizeof secret);
		why_set(why, whylen, "access key id %s is not known", a->key_id);
		return SIGV4_UNKNOWN_KEY;
	}
	signing_key(secret, strnlen(secret, SIGV4_SECRET_MAX), a->scope, a->signing_key);
	sodium_memzero(secret, sizeof secret);
	if ((e = canonical_request_hash(rq, t, a->presigned, &sl, a->payload_hash, creq, why,
	    whylen)) != SIGV4_OK)
		return e;
	request_signature(a->signing_key, a->amz_date, a->scope, creq, sig);
	if (sodium_memcmp(sig, given, 32) != 0) {
		sodium_memzero(sig, sizeof sig);
		sigv4_hex(creq, 32, hex);
		why_set(why, whylen, "the signature does not match (canonical request SHA-256 %s)",
		    hex);
		return SIGV4_MISMATCH;
	}
	sigv4_hex(sig, 32, a->signature);
	sodium_memzero(sig, sizeof sig);
	return SIGV4_OK;
}

/* Every x-amz-* header sent must be signed, as S3 requires: an unsigned one
 * (x-amz-copy-source, x-amz-metadata-directive, ...) could be added to a
 * replayed request.  A presigned request may carry an unsigned
 * x-amz-content-sha256 (then its payload is UNSIGNED-PAYLOAD). */
static enum sigv4_err
amz_headers_signed(const struct sigv4_request *rq, const struct sigv4_signed *sl, bool presigned,
    char *why, size_t whylen)
{
	for (size_t i = 0; i < rq->n_headers; i++) {
		const char *name = rq->headers[i].name;
		size_t len = strlen(name);
		bool found = false;
		if (strncasecmp(name, "x-amz-", 6) != 0 ||
		    (presigned && strcasecmp(name, "x-amz-content-sha256") == 0))
			continue;
		for (size_t k = 0; k < sl->n && !found; k++)
			found = sl->name_len[k] == len && strncasecmp(sl->name[k], name, len) == 0;
		if (!found) {
			why_set(why, whylen, "header %s is not signed (every x-amz-* header must be)", name);
			return SIGV4_MISSING;
		}
	}
	return SIGV4_OK;
}

enum sigv4_err
sigv4_verify(const struct sigv4_request *rq, int64_t now_s, sigv4_lookup_fn *lookup, void *arg,
    struct sigv4_auth *out, char *why, size_t whylen)
{
	struct sigv4_target t;
	struct sigv4_auth a;
	enum sigv4_err e;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	memset(&a, 0, sizeof a);
	if (rq == NULL || (rq->headers == NULL && rq->n_headers > 0)) {
		why_set(why, whylen, "no request");
		return SIGV4_MALFORMED;
	}
	if ((e = target_parse(rq->uri, &t, why, whylen)) == SIGV4_OK) {
		e = verify(rq, &t, now_s, lookup, arg, &a, why, whylen);
		target_free(&t);
	}
	if (out != NULL) {
		if (e == SIGV4_OK)
			*out = a;
		else
			sodium_memzero(out, sizeof *out);
	}
	sodium_memzero(&a, sizeof a);
	return e;
}

/* The next signature of a's chain: HMAC(kSigning, alg "\n" amz_date "\n"
 * scope "\n" prev "\n" tail) as 64 hex digits plus NUL in out. */
static void
chain_signature(const struct sigv4_auth *a, const char *alg, const char *prev, const char *tail,
    char *out)
{
	crypto_auth_hmacsha256_state st;
	uint8_t sig[32];

	crypto_auth_hmacsha256_init(&st, a->signing_key, sizeof a->signing_key);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)alg, strlen(alg));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)a->amz_date,
	    strnlen(a->amz_date, sizeof a->amz_date));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)a->scope,
	    strnlen(a->scope, sizeof a->scope));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)prev, strlen(prev));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)tail, strlen(tail));
	crypto_auth_hmacsha256_final(&st, sig);
	sigv4_hex(sig, 32, out);
	sodium_memzero(&st, sizeof st);
	sodium_memzero(sig, sizeof sig);
}

void
sigv4_chunk_signature(const struct sigv4_auth *a, const char *prev, const uint8_t *chunk_sha256,
    char *out)
{
	char tail[sizeof SIGV4_EMPTY_SHA256 + 65];

	memcpy(tail, SIGV4_EMPTY_SHA256 "\n", sizeof SIGV4_EMPTY_SHA256);
	sigv4_hex(chunk_sha256, 32, tail + sizeof SIGV4_EMPTY_SHA256);
	chain_signature(a, SIGV4_CHUNK_ALGORITHM, prev, tail, out);
}

void
sigv4_trailer_signature(const struct sigv4_auth *a, const char *prev, const char *trailers,
    size_t len, char *out)
{
	uint8_t sha[32];
	char hex[65];

	sha256(sha, trailers, len);
	sigv4_hex(sha, 32, hex);
	chain_signature(a, SIGV4_TRAILER_ALGORITHM, prev, hex, out);
}

int
sigv4_sign(const struct sigv4_request *rq, const char *key_id, const char *secret,
    const char *region, const char *amz_date, const char *signed_headers, const char *payload_hash,
    char *out, size_t outlen)
{
	struct sigv4_target t;
	struct sigv4_signed sl;
	struct sigv4_auth a;
	uint8_t creq[32], sig[32];
	char cred[SIGV4_KEY_ID_MAX + 1 + SIGV4_SCOPE_MAX + 1], hex[65];
	int64_t date;
	size_t slen;
	int n, rv = -1;

	if (rq == NULL || key_id == NULL || secret == NULL || region == NULL || amz_date == NULL ||
	    signed_headers == NULL || payload_hash == NULL || out == NULL ||
	    (slen = strnlen(secret, SIGV4_SECRET_MAX + 1)) > SIGV4_SECRET_MAX ||
	    !amz_date_parse(amz_date, strlen(amz_date), &date) ||
	    !payload_hash_ok(payload_hash, strlen(payload_hash)))
		return -1;
	memset(&a, 0, sizeof a);
	n = snprintf(cred, sizeof cred, "%s/%.8s/%s/" SIGV4_SERVICE "/" SIGV4_TERMINATOR, key_id,
	    amz_date, region);
	if (n < 0 || (size_t)n >= sizeof cred ||
	    credential_parse(cred, (size_t)n, &a, NULL, 0) != SIGV4_OK ||
	    signed_parse(signed_headers, strlen(signed_headers), &sl, NULL, 0) != SIGV4_OK)
		return -1;
	if (target_parse(rq->uri, &t, NULL, 0) != SIGV4_OK)
		return -1;
	if (canonical_request_hash(rq, &t, false, &sl, payload_hash, creq, NULL, 0) == SIGV4_OK) {
		signing_key(secret, slen, a.scope, a.signing_key);
		request_signature(a.signing_key, amz_date, a.scope, creq, sig);
		sigv4_hex(sig, 32, hex);
		n = snprintf(out, outlen, SIGV4_ALGORITHM " Credential=%s, SignedHeaders=%s, "
		    "Signature=%s", cred, signed_headers, hex);
		rv = n >= 0 && (size_t)n < outlen ? 0 : -1;
		sodium_memzero(sig, sizeof sig);
	}
	target_free(&t);
	sodium_memzero(&a, sizeof a);
	return rv;
}

void
sigv4_chunked_init(struct sigv4_chunked *d, const struct sigv4_auth *a, size_t max_chunk)
{
	memset(d, 0, sizeof *d);
	d->auth = a;
	d->max_chunk = max_chunk;
	d->state = CHUNK_HEADER;
	if (a != NULL)
		snprintf(d->prev_sig, sizeof d->prev_sig, "%s", a->signature);
}

void
sigv4_chunked_free(struct sigv4_chunked *d)
{
	sha256_free(&d->sha);
}

/* Refuse the body for good: err (SIGV4_MALFORMED or SIGV4_MISMATCH). */
static int
chunked_fail(struct sigv4_chunked *d, int err, char *why, size_t whylen, const char *msg)
{
	d->state = err == SIGV4_MISMATCH ? CHUNK_FAILED_MISMATCH : CHUNK_FAILED_MALFORMED;
	why_set(why, whylen, "aws-chunked body: %s", msg);
	return err;
}

/* Parse the chunk header line in d->line: "hex-size;chunk-signature=<64 hex>". */
static int
chunk_header(struct sigv4_chunked *d, char *why, size_t whylen)
{
	static const char ext[] = ";chunk-signature=";
	size_t i = 0, n = d->line_len;
	uint64_t size = 0;
	uint8_t sig[32];

	while (i < n && i < 16 && hex_value((unsigned char)d->line[i]) >= 0)
		size = size << 4 | (uint64_t)hex_value((unsigned char)d->line[i++]);
	if (i == 0 || n - i != sizeof ext - 1 + 64 || memcmp(d->line + i, ext, sizeof ext - 1) != 0 ||
	    !hex_decode32(d->line + i + sizeof ext - 1, 64, sig))
		return chunked_fail(d, SIGV4_MALFORMED, why, whylen, "a chunk header is not "
		    "\"hex-size;chunk-signature=<64 hex digits>\"");
	if (size > d->max_chunk) {
		why_set(why, whylen, "aws-chunked body: a chunk of %llu bytes is over the limit "
		    "(%zu)", (unsigned long long)size, d->max_chunk);
		d->state = CHUNK_FAILED_MALFORMED;
		return SIGV4_MALFORMED;
	}
	sigv4_hex(sig, 32, d->chunk_sig);
	d->line_len = 0;
	d->left = size;
	if (size == 0) {
		d->state = CHUNK_FINAL_CR;
		return 0;
	}
	sha256_init(&d->sha);
	d->state = CHUNK_DATA;
	return 0;
}

/* Check the current chunk's announced signature against the chain; it
 * becomes the previous signature of the next chunk. */
static bool
chunk_verify(struct sigv4_chunked *d, const uint8_t sha[32])
{
	char expect[65];

	sigv4_chunk_signature(d->auth, d->prev_sig, sha, expect);
	if (sodium_memcmp(expect, d->chunk_sig, 64) != 0)
		return false;
	memcpy(d->prev_sig, expect, sizeof d->prev_sig);
	return true;
}

/* Take byte c of a CRLF-terminated line (what it is, for the message) into
 * d->line: 1 when the line is complete (CRLF dropped, NUL-terminated), 0
 * for more, or SIGV4_MALFORMED. */
static int
line_take(struct sigv4_chunked *d, uint8_t c, const char *what, char *why, size_t whylen)
{
	char msg[64];

	if (c == '\n') {
		if (d->line_len == 0 || d->line[d->line_len - 1] != '\r') {
			snprintf(msg, sizeof msg, "%s does not end with CRLF", what);
			return chunked_fail(d, SIGV4_MALFORMED, why, whylen, msg);
		}
		d->line[--d->line_len] = '\0';
		return 1;
	}
	if (d->line_len >= SIGV4_CHUNK_LINE_MAX) {
		snprintf(msg, sizeof msg, "%s is longer than 256 bytes", what);
		return chunked_fail(d, SIGV4_MALFORMED, why, whylen, msg);
	}
	d->line[d->line_len++] = (char)c;
	return 0;
}

/* The current chunk, whose data hashed to digest, ends: its signature must
 * continue the chain.  0, or SIGV4_MISMATCH. */
static int
chunk_signed(struct sigv4_chunked *d, const uint8_t digest[32], unsigned *chunks_done, char *why,
    size_t whylen)
{
	if (!chunk_verify(d, digest))
		return chunked_fail(d, SIGV4_MISMATCH, why, whylen, "a chunk's signature does not match");
	if (chunks_done != NULL)
		(*chunks_done)++;
	return 0;
}

/* One trailer line in d->line (CRLF dropped): a trailer kept, the trailer
 * signature, or the empty last line, which checks that signature. */
static int
trailer_line(struct sigv4_chunked *d, char *why, size_t whylen)
{
	static const char sig_name[] = "x-amz-trailer-signature:";
	size_t n = d->line_len;
	uint8_t sig[32];
	char expect[65];

	d->line_len = 0;
	if (n == 0) {
		if (d->trailer_sig[0] == '\0')
			return chunked_fail(d, SIGV4_MALFORMED, why, whylen, "no x-amz-trailer-signature");
		sigv4_trailer_signature(d->auth, d->prev_sig, d->trailers, d->trailers_len, expect);
		if (sodium_memcmp(expect, d->trailer_sig, 64) != 0)
			return chunked_fail(d, SIGV4_MISMATCH, why, whylen,
			    "the trailer's signature does not match");
		d->done = true;
		d->state = CHUNK_DONE;
		return 0;
	}
	if (d->trailer_sig[0] != '\0')
		return chunked_fail(d, SIGV4_MALFORMED, why, whylen,
		    "a trailer line after x-amz-trailer-signature");
	if (n > sizeof sig_name - 1 && strncasecmp(d->line, sig_name, sizeof sig_name - 1) == 0) {
		if (n != sizeof sig_name - 1 + 64 || !hex_decode32(d->line + sizeof sig_name - 1, 64, sig))
			return chunked_fail(d, SIGV4_MALFORMED, why, whylen,
			    "x-amz-trailer-signature is not 64 hex digits");
		sigv4_hex(sig, 32, d->trailer_sig);
		return 0;
	}
	if (memchr(d->line, ':', n) == NULL || d->trailers_len + n + 1 > SIGV4_TRAILERS_MAX)
		return chunked_fail(d, SIGV4_MALFORMED, why, whylen, "a trailer line is not \"name:value\" "
		    "or the trailers are too long");
	memcpy(d->trailers + d->trailers_len, d->line, n);
	d->trailers_len += n;
	d->trailers[d->trailers_len++] = '\n';
	d->trailers[d->trailers_len] = '\0';
	return 0;
}

int
sigv4_chunked_feed(struct sigv4_chunked *d, const uint8_t *in, size_t len,
    void (*emit)(void *arg, const uint8_t *data, size_t len), void *arg, unsigned *chunks_done,
    char *why, size_t whylen)
{
	uint8_t digest[32];
	size_t i = 0;
	int rv;

	if (d->state == CHUNK_FAILED_MALFORMED || d->state == CHUNK_FAILED_MISMATCH) {
		why_set(why, whylen, "aws-chunked body: refused already");
		return d->state == CHUNK_FAILED_MISMATCH ? SIGV4_MISMATCH : SIGV4_MALFORMED;
	}
	if (d->auth == NULL)
		return chunked_fail(d, SIGV4_MALFORMED, why, whylen, "no credentials to check it");
	while (i < len) {
		uint8_t c = in[i];

		switch (d->state) {
		case CHUNK_HEADER:
			i++;
			if ((rv = line_take(d, c, "a chunk header", why, whylen)) <= 0) {
				if (rv < 0)
					return rv;
				break;
			}
			if ((rv = chunk_header(d, why, whylen)) != 0)
				return rv;
			if (d->state == CHUNK_FINAL_CR && d->with_trailer) {
				/* the trailer follows the final header line at once */
				sha256(digest, "", 0);
				if ((rv = chunk_signed(d, digest, chunks_done, why, whylen)) != 0)
					return rv;
				d->state = CHUNK_TRAILER;
			}
			break;
		case CHUNK_DATA: {
			size_t take = len - i;

			if (take > d->left)
				take = (size_t)d->left;
			sha256_update(&d->sha, in + i, take);
			if (emit != NULL)
				emit(arg, in + i, take);
			i += take;
			d->left -= take;
			if (d->left == 0)
				d->state = CHUNK_DATA_CR;
			break;
		}
		case CHUNK_DATA_CR:
		case CHUNK_FINAL_CR:
			if (c != '\r')
				return chunked_fail(d, SIGV4_MALFORMED, why, whylen,
				    "a chunk's data is not followed by CRLF");
			i++;
			d->state++;
			break;
		case CHUNK_DATA_LF:
		case CHUNK_FINAL_LF:
			if (c != '\n')
				return chunked_fail(d, SIGV4_MALFORMED, why, whylen,
				    "a chunk's data is not followed by CRLF");
			i++;
			if (d->state == CHUNK_DATA_LF) {
				sha256_final(&d->sha, digest);
			} else {
				sha256(digest, "", 0);
			}
			if ((rv = chunk_signed(d, digest, chunks_done, why, whylen)) != 0)
				return rv;
			if (d->state == CHUNK_FINAL_LF) {
				d->done = true;
				d->state = CHUNK_DONE;
			} else {
				d->state = CHUNK_HEADER;
			}
			break;
		case CHUNK_TRAILER:
			i++;
			if ((rv = line_take(d, c, "a trailer line", why, whylen)) < 0 ||
			    (rv > 0 && (rv = trailer_line(d, why, whylen)) != 0))
				return rv;
			break;
		default:        /* CHUNK_DONE */
			return chunked_fail(d, SIGV4_MALFORMED, why, whylen,
			    "data after the final chunk");
		}
	}
	return 0;
}

void
sigv4_hex(const uint8_t *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}
