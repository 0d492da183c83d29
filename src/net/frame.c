#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "net/frame.h"
#include "util/be.h"
#include "util/xmalloc.h"

static void frame_tag(const struct frame_seal *s, const uint8_t *hdr, const uint8_t *seq,
    const uint8_t *payload, size_t len, uint8_t *tag);
static void frame_crypt(const struct frame_seal *s, uint64_t seq, uint8_t *payload, size_t len);

/* Message types and their payloads: the one table both directions use. */
static const struct {
	uint8_t type;
	const char *name;
	const ProtobufCMessageDescriptor *desc;
} frame_types[] = {
	{ RCFS__MSG_TYPE__MSG_ERROR, "Error", &rcfs__error__descriptor },
	{ RCFS__MSG_TYPE__MSG_STATUS, "Status", &rcfs__status_request__descriptor },
	{ RCFS__MSG_TYPE__MSG_STATUS_RESP, "StatusResponse", &rcfs__status_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_CHUNK_PUT, "ChunkPut", &rcfs__chunk_put__descriptor },
	{ RCFS__MSG_TYPE__MSG_CHUNK_PUT_RESP, "ChunkPutResponse", &rcfs__chunk_put_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_CHUNK_GET, "ChunkGet", &rcfs__chunk_get__descriptor },
	{ RCFS__MSG_TYPE__MSG_CHUNK_GET_RESP, "ChunkGetResponse", &rcfs__chunk_get_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_COMMIT, "FileCommit", &rcfs__file_commit__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_COMMIT_RESP, "FileCommitResponse", &rcfs__file_commit_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_STAT, "FileStat", &rcfs__file_stat__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_STAT_RESP, "FileStatResponse", &rcfs__file_stat_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_LIST, "FileList", &rcfs__file_list__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_LIST_RESP, "FileListResponse", &rcfs__file_list_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_REMOVE, "FileRemove", &rcfs__file_remove__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_REMOVE_RESP, "FileRemoveResponse", &rcfs__file_remove_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_RENAME, "FileRename", &rcfs__file_rename__descriptor },
	{ RCFS__MSG_TYPE__MSG_FILE_RENAME_RESP, "FileRenameResponse", &rcfs__file_rename_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_MEMBER, "MemberRequest", &rcfs__member_request__descriptor },
	{ RCFS__MSG_TYPE__MSG_MEMBER_RESP, "MemberResponse", &rcfs__member_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_BACKUP_GET, "BackupGet", &rcfs__backup_get__descriptor },
	{ RCFS__MSG_TYPE__MSG_BACKUP_GET_RESP, "BackupGetResponse", &rcfs__backup_get_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_GC, "GcRequest", &rcfs__gc_request__descriptor },
	{ RCFS__MSG_TYPE__MSG_CHUNK_PROTECT, "ChunkProtect", &rcfs__chunk_protect__descriptor },
	{ RCFS__MSG_TYPE__MSG_CHUNK_PROTECT_RESP, "ChunkProtectResponse",
	    &rcfs__chunk_protect_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_GC_RESP, "GcResponse", &rcfs__gc_response__descriptor },
	{ RCFS__MSG_TYPE__MSG_PEER_HELLO, "PeerHello", &rcfs__peer_hello__descriptor },
	{ RCFS__MSG_TYPE__MSG_RAFT, "RaftMessage", &rcfs__raft_message__descriptor },
	{ RCFS__MSG_TYPE__MSG_AUTH_HELLO, "AuthHello", &rcfs__auth_hello__descriptor },
	{ RCFS__MSG_TYPE__MSG_AUTH_CHALLENGE, "AuthChallenge", &rcfs__auth_challenge__descriptor },
	{ RCFS__MSG_TYPE__MSG_AUTH_PROOF, "AuthProof", &rcfs__auth_proof__descriptor },
	{ RCFS__MSG_TYPE__MSG_AUTH_OK, "AuthOk", &rcfs__auth_ok__descriptor },
};

/* tag = HMAC-SHA512-256(mac_key, header || seq || payload as sent). */
static void
frame_tag(const struct frame_seal *s, const uint8_t *hdr, const uint8_t *seq, const uint8_t *payload,
    size_t len, uint8_t *tag)
{
	crypto_auth_hmacsha512256_state st;

	crypto_auth_hmacsha512256_init(&st, s->mac_key, sizeof s->mac_key);
	crypto_auth_hmacsha512256_update(&st, hdr, FRAME_HEADER_LEN);
	crypto_auth_hmacsha512256_update(&st, seq, FRAME_SEQ_LEN);
	crypto_auth_hmacsha512256_update(&st, payload, len);
	crypto_auth_hmacsha512256_final(&st, tag);
}

/* XChaCha20 in place; the nonce is the sequence number, unique per key
 * (each direction of each connection has its own key). */
static void
frame_crypt(const struct frame_seal *s, uint64_t seq, uint8_t *payload, size_t len)
{
	uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES] = { 0 };

	be_put64(nonce, seq);
	crypto_stream_xchacha20_xor(payload, payload, len, nonce, s->enc_key);
}

const ProtobufCMessageDescriptor *
frame_descriptor(uint8_t type)
{
	for (size_t i = 0; i < sizeof frame_types / sizeof frame_types[0]; i++)
		if (frame_types[i].type == type)
			return frame_types[i].desc;
	return NULL;
}

const char *
frame_type_name(uint8_t type)
{
	for (size_t i = 0; i < sizeof frame_types / sizeof frame_types[0]; i++)
		if (frame_types[i].type == type)
			return frame_types[i].name;
	return "?";
}

void
frame_header_encode(uint8_t *out, const struct frame_header *h)
{
	memcpy(out, FRAME_MAGIC, 4);
	out[4] = h->version;
	out[5] = h->type;
	out[6] = (uint8_t)(h->flags >> 8);
	out[7] = (uint8_t)h->flags;
	be_put32(out + 8, h->request_id);
	be_put32(out + 12, h->length);
}

int
frame_header_decode(const uint8_t *in, struct frame_header *h, uint32_t max_payload,
    const char **why)
{
	if (memcmp(in, FRAME_MAGIC, 4) != 0) {
		*why = "bad magic";
		return -1;
	}
	h->version = in[4];
	h->type = in[5];
	h->flags = (uint16_t)(in[6] << 8 | in[7]);
	h->request_id = be_get32(in + 8);
	h->length = be_get32(in + 12);
	if (h->version != FRAME_VERSION) {
		*why = "unsupported protocol version";
		return -1;
	}
	if (frame_descriptor(h->type) == NULL) {
		*why = "unknown message type";
		return -1;
	}
	if (h->length > max_payload) {
		*why = "payload length above the maximum frame size";
		return -1;
	}
	return 0;
}

enum frame_status
frame_read(struct evbuffer *in, uint32_t max_payload, struct frame_header *h,
    ProtobufCMessage **msg, const char **why)
{
	return frame_read_sealed(in, max_payload, NULL, h, msg, why);
}

enum frame_status
frame_read_sealed(struct evbuffer *in, uint32_t max_payload, struct frame_seal *rx,
    struct frame_header *h, ProtobufCMessage **msg, const char **why)
{
	uint8_t hdr[FRAME_HEADER_LEN], tag[FRAME_TAG_LEN];
	uint8_t *frame, *payload = NULL;
	size_t total;
	uint64_t seq = 0;

	if (evbuffer_get_length(in) < FRAME_HEADER_LEN)
		return FRAME_NEED_MORE;
	if (evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr)
		return FRAME_NEED_MORE;
	if (frame_header_decode(hdr, h, max_payload, why) != 0)
		return FRAME_BAD;
	if (rx == NULL && (h->flags & (FRAME_F_MAC | FRAME_F_SEALED))) {
		*why = "MAC trailer on a connection without an authenticated session";
		return FRAME_BAD;
	}
	if (rx != NULL && !(h->flags & FRAME_F_MAC)) {
		*why = "frame without MAC on an authenticated connection";
		return FRAME_BAD;
	}
	if (rx != NULL && ((h->flags & FRAME_F_SEALED) != 0) != rx->encrypt) {
		*why = rx->encrypt ? "plaintext frame on an encrypted connection"
		    : "encrypted frame on a plaintext connection";
		return FRAME_BAD;
	}
	total = FRAME_HEADER_LEN + (size_t)h->length + (rx != NULL ? FRAME_TRAILER_LEN : 0);
	if (evbuffer_get_length(in) < total)
		return FRAME_NEED_MORE;
	/* The length is checked: make the frame contiguous. */
	frame = evbuffer_pullup(in, (ev_ssize_t)total);
	if (frame == NULL) {
		*why = "cannot linearize payload";
		return FRAME_BAD;
	}
	if (rx != NULL) {
		const uint8_t *trailer = frame + FRAME_HEADER_LEN + h->length;
		seq = be_get64(trailer);
		frame_tag(rx, frame, trailer, frame + FRAME_HEADER_LEN, h->length, tag);
		if (sodium_memcmp(tag, trailer + FRAME_SEQ_LEN, FRAME_TAG_LEN) != 0) {
			*why = "bad MAC (forged or altered frame)";
			return FRAME_BAD;
		}
		if (seq != rx->seq + 1) {
			*why = "out-of-sequence frame (replayed or reordered)";
			return FRAME_BAD;
		}
		if (rx->encrypt && h->length > 0) {
			payload = xmalloc(h->length);
			memcpy(payload, frame + FRAME_HEADER_LEN, h->length);
			frame_crypt(rx, seq, payload, h->length);
		}
	}
	*msg = protobuf_c_message_unpack(frame_descriptor(h->type), NULL, h->length,
	    payload != NULL ? payload : frame + FRAME_HEADER_LEN);
	if (payload != NULL) {
		sodium_memzero(payload, h->length);
		free(payload);
	}
	if (*msg == NULL) {
		*why = "undecodable payload";
		return FRAME_BAD;
	}
	if (rx != NULL)
		rx->seq = seq;
	evbuffer_drain(in, total);
	return FRAME_OK;
}

size_t
frame_write(struct evbuffer *out, uint8_t type, uint16_t flags, uint32_t request_id,
    const ProtobufCMessage *msg)
{
	return frame_write_sealed(out, NULL, type, flags, request_id, msg);
}

size_t
frame_write_sealed(struct evbuffer *out, struct frame_seal *tx, uint8_t type, uint16_t flags,
    uint32_t request_id, const ProtobufCMessage *msg)
{
	struct frame_header h = { FRAME_VERSION, type, flags, request_id, 0 };
	struct evbuffer_iovec v;
	size_t len = msg ? protobuf_c_message_get_packed_size(msg) : 0;
	size_t total = FRAME_HEADER_LEN + len + (tx != NULL ? FRAME_TRAILER_LEN : 0);
	uint8_t *p;

	if (tx != NULL)
		h.flags |= FRAME_F_MAC | (tx->encrypt ? FRAME_F_SEALED : 0);
	/* Reserve the whole frame in one contiguous extent and pack in place. */
	if (evbuffer_reserve_space(out, (ev_ssize_t)total, &v, 1) < 1)
		abort();
	p = v.iov_base;
	h.length = (uint32_t)len;
	frame_header_encode(p, &h);
	if (msg)
		protobuf_c_message_pack(msg, p + FRAME_HEADER_LEN);
	if (tx != NULL) {
		uint8_t *trailer = p + FRAME_HEADER_LEN + len;
		tx->seq++;
		be_put64(trailer, tx->seq);
		if (tx->encrypt)
			frame_crypt(tx, tx->seq, p + FRAME_HEADER_LEN, len);
		frame_tag(tx, p, trailer, p + FRAME_HEADER_LEN, len, trailer + FRAME_SEQ_LEN);
	}
	v.iov_len = total;
	evbuffer_commit_space(out, &v, 1);
	return v.iov_len;
}

size_t
frame_write_error(struct evbuffer *out, uint32_t request_id, Rcfs__ErrorCode code,
    const char *message)
{
	return frame_write_error_sealed(out, NULL, request_id, code, message);
}

size_t
frame_write_error_sealed(struct evbuffer *out, struct frame_seal *tx, uint32_t request_id,
    Rcfs__ErrorCode code, const char *message)
{
	Rcfs__Error e = RCFS__ERROR__INIT;

	e.code = code;
	e.message = (char *)message;
	return frame_write_sealed(out, tx, RCFS__MSG_TYPE__MSG_ERROR, FRAME_F_RESPONSE, request_id,
	    &e.base);
}
