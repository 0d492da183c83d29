/* SHA-256 (FIPS 180-4) through OpenSSL's libcrypto, which uses the CPU's SHA
 * extensions (SHA-NI) where present.  On the development VM it hashes 1 MiB
 * about ten times faster than libsodium's portable crypto_hash_sha256
 * (1.49 GB/s against 86-132 MB/s, docs/benchmarks.md), and every chunk is
 * hashed by the client and by each node that stores or serves it.
 * Out of memory is fatal (xmalloc rule); the digests are libsodium's. */
#ifndef RCFS_SHA256_H
#define RCFS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

/* An incremental hash: sha256_init, any number of sha256_update, then
 * sha256_final (which releases it), or sha256_free to abandon it.  Start
 * from a zeroed struct; init on an unfinished one restarts it. */
struct sha256 {
	void *ctx;              /* EVP_MD_CTX */
};

/* out = SHA-256 of len bytes at data. */
void sha256(uint8_t out[SHA256_LEN], const void *data, size_t len);
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);
void sha256_free(struct sha256 *s);

/* MD5 (RFC 1321) on the same handle, only for S3's ETags (clients compare
 * them with the MD5 of what they sent); never for integrity, which is
 * SHA-256's.  md5_init, then sha256_update, then md5_final (or sha256_free). */
#define MD5_LEN 16
void md5_init(struct sha256 *s);
void md5_final(struct sha256 *s, uint8_t out[MD5_LEN]);

/* SHA-1 (FIPS 180-4) likewise, only to check an S3 client's
 * x-amz-checksum-sha1 (src/s3/checksum.c). */
#define SHA1_LEN 20
void sha1_init(struct sha256 *s);
void sha1_final(struct sha256 *s, uint8_t out[SHA1_LEN]);
/* HMAC-SHA1 (RFC 2104) of data under key, only for S3's Signature Version 2
 * presigned URLs (src/s3/s3.c), which some clients still make. */
void hmac_sha1(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SHA1_LEN]);

#endif
