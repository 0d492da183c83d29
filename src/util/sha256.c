/* SHA-256 through libcrypto's EVP interface (see sha256.h). */
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/log.h"
#include "util/sha256.h"

static const EVP_MD *sha256_md(void);
static void sha256_fail(const char *what) __attribute__((noreturn));
static void sha256_init_md(struct sha256 *s, const EVP_MD *md);
static void sha256_final_md(struct sha256 *s, uint8_t *out);

/* The digest, looked up once (EVP_sha256() is a static object). */
static const EVP_MD *
sha256_md(void)
{
	static const EVP_MD *md;

	if (md == NULL)
		md = EVP_sha256();
	return md;
}

static void
sha256_fail(const char *what)
{
	log_err("sha256: %s failed (out of memory?)", what);
	abort();
}

void
sha256(uint8_t out[SHA256_LEN], const void *data, size_t len)
{
	if (EVP_Digest(data, len, out, NULL, sha256_md(), NULL) != 1)
		sha256_fail("EVP_Digest");
}

static void
sha256_init_md(struct sha256 *s, const EVP_MD *md)
{
	EVP_MD_CTX *ctx = s->ctx != NULL ? s->ctx : EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		sha256_fail("EVP_DigestInit_ex");
	s->ctx = ctx;
}

void
sha256_init(struct sha256 *s)
{
	sha256_init_md(s, sha256_md());
}

void
md5_init(struct sha256 *s)
{
	sha256_init_md(s, EVP_md5());
}

void
md5_final(struct sha256 *s, uint8_t out[MD5_LEN])
{
	sha256_final_md(s, out);
}

void
sha1_init(struct sha256 *s)
{
	sha256_init_md(s, EVP_sha1());
}

void
sha1_final(struct sha256 *s, uint8_t out[SHA1_LEN])
{
	sha256_final_md(s, out);
}

void
sha256_update(struct sha256 *s, const void *data, size_t len)
{
	if (EVP_DigestUpdate(s->ctx, data, len) != 1)
		sha256_fail("EVP_DigestUpdate");
}

/* The digest (of the size its EVP_MD gives) into out, and the context freed. */
static void
sha256_final_md(struct sha256 *s, uint8_t *out)
{
	if (EVP_DigestFinal_ex(s->ctx, out, NULL) != 1)
		sha256_fail("EVP_DigestFinal_ex");
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

void
sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN])
{
	sha256_final_md(s, out);
}

void
sha256_free(struct sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);        /* NULL is fine */
	s->ctx = NULL;
}

void
hmac_sha1(const void *key, size_t keylen, const void *data, size_t len, uint8_t out[SHA1_LEN])
{
	unsigned int n = SHA1_LEN;

	if (HMAC(EVP_sha1(), key, (int)keylen, data, len, out, &n) == NULL || n != SHA1_LEN)
		sha256_fail("HMAC");
}
