/* S3's "additional checksums" of a request body (x-amz-checksum-ALG headers,
 * AWS S3 User Guide "Checking object integrity"): CRC-32 (ISO-HDLC, zlib's),
 * CRC-32C (Castagnoli), CRC-64/NVME, SHA-1 and SHA-256, each sent as the
 * base64 of its big-endian value.  boto3 1.36 and aws-cli 2.23 send a CRC-32
 * with every PutObject and UploadPart over plain HTTP by default. */
#ifndef RCFS_S3_CHECKSUM_H
#define RCFS_S3_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "util/sha256.h"

enum s3_checksum_alg {
	S3_CHECKSUM_NONE = 0,
	S3_CHECKSUM_CRC32,
	S3_CHECKSUM_CRC32C,
	S3_CHECKSUM_CRC64NVME,
	S3_CHECKSUM_SHA1,
	S3_CHECKSUM_SHA256,
};

/* One running checksum: s3_checksum_init, s3_checksum_update any number of
 * times, s3_checksum_final (which releases it). */
struct s3_checksum {
	enum s3_checksum_alg alg;
	uint64_t crc;
	struct sha256 md;               /* SHA-1 / SHA-256 */
};

/* The algorithm a header name names ("x-amz-checksum-crc32", any case), or
 * S3_CHECKSUM_NONE for another name. */
enum s3_checksum_alg s3_checksum_alg_of(const char *header);
/* The header name of alg ("x-amz-checksum-crc32", ...). */
const char *s3_checksum_header(enum s3_checksum_alg alg);

void s3_checksum_init(struct s3_checksum *c, enum s3_checksum_alg alg);
void s3_checksum_update(struct s3_checksum *c, const void *data, size_t len);
/* The value as S3 sends it (base64 of the big-endian digest) into
 * out[S3_CHECKSUM_B64], NUL-terminated. */
#define S3_CHECKSUM_B64 48
void s3_checksum_final(struct s3_checksum *c, char out[S3_CHECKSUM_B64]);

#endif
