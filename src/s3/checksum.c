/* S3's additional checksums (s3/checksum.h).  The CRCs are the reflected,
 * table-driven form (one table per polynomial, built on first use): the
 * checks are only computed when a client sends one. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "s3/checksum.h"

#define CRC32_POLY      0xEDB88320u                     /* 0x04C11DB7 reflected */
#define CRC32C_POLY     0x82F63B78u                     /* 0x1EDC6F41 reflected */
#define CRC64NVME_POLY  0x9A6C9329AC4BC9B5ull           /* 0xAD93D23594C93659 reflected */

static const char *const s3_checksum_names[] = {
	[S3_CHECKSUM_CRC32] = "x-amz-checksum-crc32",
	[S3_CHECKSUM_CRC32C] = "x-amz-checksum-crc32c",
	[S3_CHECKSUM_CRC64NVME] = "x-amz-checksum-crc64nvme",
	[S3_CHECKSUM_SHA1] = "x-amz-checksum-sha1",
	[S3_CHECKSUM_SHA256] = "x-amz-checksum-sha256",
};

static uint64_t crc_table[S3_CHECKSUM_CRC64NVME + 1][256];
static bool crc_table_ready[S3_CHECKSUM_CRC64NVME + 1];

enum s3_checksum_alg
s3_checksum_alg_of(const char *header)
{
	for (int a = S3_CHECKSUM_CRC32; a <= S3_CHECKSUM_SHA256; a++)
		if (strcasecmp(header, s3_checksum_names[a]) == 0)
			return (enum s3_checksum_alg)a;
	return S3_CHECKSUM_NONE;
}

const char *
s3_checksum_header(enum s3_checksum_alg alg)
{
	return alg >= S3_CHECKSUM_CRC32 && alg <= S3_CHECKSUM_SHA256 ? s3_checksum_names[alg] : "";
}

static const uint64_t *
s3_crc_table(enum s3_checksum_alg alg)
{
	uint64_t poly = alg == S3_CHECKSUM_CRC32 ? CRC32_POLY : alg == S3_CHECKSUM_CRC32C ? CRC32C_POLY :
	    CRC64NVME_POLY;

	if (!crc_table_ready[alg]) {
		for (unsigned i = 0; i < 256; i++) {
			uint64_t v = i;
			for (int k = 0; k < 8; k++)
				v = v & 1 ? v >> 1 ^ poly : v >> 1;
			crc_table[alg][i] = v;
		}
		crc_table_ready[alg] = true;
	}
	return crc_table[alg];
}

void
s3_checksum_init(struct s3_checksum *c, enum s3_checksum_alg alg)
{
	memset(c, 0, sizeof *c);
	c->alg = alg;
	c->crc = alg == S3_CHECKSUM_CRC64NVME ? ~0ull : 0xFFFFFFFFu;
	if (alg == S3_CHECKSUM_SHA1)
		sha1_init(&c->md);
	else if (alg == S3_CHECKSUM_SHA256)
		sha256_init(&c->md);
}

void
s3_checksum_update(struct s3_checksum *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	const uint64_t *t;
	uint64_t crc = c->crc;

	switch (c->alg) {
	case S3_CHECKSUM_SHA1:
	case S3_CHECKSUM_SHA256:
		sha256_update(&c->md, data, len);
		return;
	case S3_CHECKSUM_NONE:
		return;
	default:
		t = s3_crc_table(c->alg);
		for (size_t i = 0; i < len; i++)
			crc = t[(crc ^ p[i]) & 0xFF] ^ crc >> 8;
		c->crc = crc;
	}
}

void
s3_checksum_final(struct s3_checksum *c, char out[S3_CHECKSUM_B64])
{
	uint8_t d[SHA256_LEN];
	size_t n = 0;

	switch (c->alg) {
	case S3_CHECKSUM_SHA1:
		sha1_final(&c->md, d);
		n = SHA1_LEN;
		break;
	case S3_CHECKSUM_SHA256:
		sha256_final(&c->md, d);
		n = SHA256_LEN;
		break;
	case S3_CHECKSUM_NONE:
		break;
	default:
		n = c->alg == S3_CHECKSUM_CRC64NVME ? 8 : 4;
		c->crc = ~c->crc & (n == 8 ? ~0ull : 0xFFFFFFFFu);
		for (size_t i = 0; i < n; i++)
			d[i] = (uint8_t)(c->crc >> 8 * (n - 1 - i));
	}
	sodium_bin2base64(out, S3_CHECKSUM_B64, d, n, sodium_base64_VARIANT_ORIGINAL);
}
