#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "fs/chunk.h"
#include "fs/meta.h"
#include "util/name.h"

const char *
meta_check(const Rcfs__FileMeta *m, uint32_t inline_max)
{
	static char why[128];
	const char *bad;
	uint64_t want;

	if ((bad = name_check(m->name, strlen(m->name))) != NULL)
		return bad;
	if (m->sha256.len != CHUNK_HASH_LEN)
		return "file hash must be 32 bytes (SHA-256)";
	if (m->etag != NULL && strlen(m->etag) > 64)
		return "ETag longer than 64 bytes";
	if (m->s3_headers != NULL && strlen(m->s3_headers) > META_S3_HEADERS_MAX)
		return "S3 headers longer than 8 KiB";
	if (m->has_inline_data) {
		uint8_t sha[CHUNK_HASH_LEN];
		if (m->n_chunks != 0)
			return "an inline file has no chunks";
		if (m->inline_data.len != m->size)
			return "inline data length differs from size";
		if (m->size > inline_max) {
			snprintf(why, sizeof why, "inline file of %" PRIu64 " bytes is above inline_max %u",
			    m->size, inline_max);
			return why;
		}
		chunk_hash(m->inline_data.data, m->inline_data.len, sha);
		if (sodium_memcmp(sha, m->sha256.data, CHUNK_HASH_LEN) != 0)
			return "inline data does not match the file's SHA-256";
		return NULL;
	}
	if (m->chunk_size == 0 || m->chunk_size > 64u * 1024 * 1024)
		return "chunk_size out of range";
	want = m->size / m->chunk_size + (m->size % m->chunk_size != 0);
	if (m->n_chunks != want) {
		snprintf(why, sizeof why, "%zu chunks listed, %" PRIu64 " expected for %" PRIu64 " bytes",
		    m->n_chunks, want, m->size);
		return why;
	}
	for (size_t i = 0; i < m->n_chunks; i++)
		if (m->chunks[i].len != CHUNK_HASH_LEN)
			return "every chunk hash must be 32 bytes (SHA-256)";
	return NULL;
}

