/* Fuzz target: decoding and validating client requests.  The first input
 * byte picks the request type, the rest is its payload.  What the node does
 * before touching storage runs here: protobuf decoding, the role check, and
 * the validation rules (names: util/name.c; file metadata: fs/meta.c; chunk
 * hash and size limits). */
#include <string.h>

#include <sodium.h>

#include "fs/meta.h"
#include "net/auth.h"
#include "net/frame.h"
#include "util/name.h"
#include "t/fuzz/fuzz.h"

static const uint8_t fuzz_types[] = {
	RCFS__MSG_TYPE__MSG_STATUS, RCFS__MSG_TYPE__MSG_CHUNK_PUT, RCFS__MSG_TYPE__MSG_CHUNK_GET,
	RCFS__MSG_TYPE__MSG_FILE_COMMIT, RCFS__MSG_TYPE__MSG_FILE_STAT, RCFS__MSG_TYPE__MSG_FILE_LIST,
	RCFS__MSG_TYPE__MSG_FILE_REMOVE, RCFS__MSG_TYPE__MSG_PEER_HELLO, RCFS__MSG_TYPE__MSG_RAFT,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t type;
	ProtobufCMessage *msg;
	uint8_t sha[32];

	if (size < 1 || sodium_init() < 0)
		return 0;
	type = fuzz_types[data[0] % sizeof fuzz_types];
	msg = protobuf_c_message_unpack(frame_descriptor(type), NULL, size - 1, data + 1);
	if (msg == NULL)
		return 0;
	for (int r = AUTH_ROLE_NONE; r < AUTH_ROLE_MAX; r++)
		(void)auth_role_allows((enum auth_role)r, type);
	switch (type) {
	case RCFS__MSG_TYPE__MSG_CHUNK_PUT: {
		Rcfs__ChunkPut *m = (Rcfs__ChunkPut *)msg;
		if (m->sha256.len == 32 && m->data.len <= 1 << 20) {
			crypto_hash_sha256(sha, m->data.data, m->data.len);
			if (sodium_memcmp(sha, m->sha256.data, 32) == 0)
				sha[0] ^= 1;    /* a match: nothing to do, but use the result */
		}
		break;
	}
	case RCFS__MSG_TYPE__MSG_FILE_COMMIT:
		(void)meta_check(((Rcfs__FileCommit *)msg)->meta, 65536);
		break;
	case RCFS__MSG_TYPE__MSG_FILE_STAT: {
		const char *n = ((Rcfs__FileStat *)msg)->name;
		(void)name_check(n, strlen(n));
		break;
	}
	case RCFS__MSG_TYPE__MSG_FILE_REMOVE: {
		const char *n = ((Rcfs__FileRemove *)msg)->name;
		(void)name_check(n, strlen(n));
		break;
	}
	case RCFS__MSG_TYPE__MSG_FILE_LIST: {
		Rcfs__FileList *m = (Rcfs__FileList *)msg;
		if (m->prefix)
			(void)strlen(m->prefix);
		if (m->start_after)
			(void)strlen(m->start_after);
		break;
	}
	default:
		break;
	}
	protobuf_c_message_free_unpacked(msg, NULL);
	return 0;
}
