/* File metadata rules. */
#ifndef RCFS_META_H
#define RCFS_META_H

#include <stdint.h>

#include "proto/rcfs.pb-c.h"

/* Bytes of FileMeta.s3_headers at most. */
#define META_S3_HEADERS_MAX 8192

/* Everything a FileCommit's metadata must satisfy before it may enter the log:
 * a valid name; a 32-byte SHA-256; either inline data (no chunks, length ==
 * size <= inline_max bytes, hashing to sha256) or exactly ceil(size /
 * chunk_size) 32-byte chunk hashes.  Returns NULL if valid, else why (a static
 * string, overwritten by the next call). */
const char *meta_check(const Rcfs__FileMeta *m, uint32_t inline_max);

#endif
