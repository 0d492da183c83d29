#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "net/frame.h"
#include "util/xmalloc.h"

static void frame_put32(uint8_t *p, uint32_t v);
static uint32_t frame_get32(const uint8_t *p);

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
	{ RCFS__MSG_TYPE__MSG_PEER_HELLO, "PeerHello", &rcfs__peer_hello__descriptor },
	{ RCFS__MSG_TYPE__MSG_RAFT, "RaftMessage", &rcfs__raft_message__descriptor },
};

static void
frame_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t
frame_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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
	frame_put32(out + 8, h->request_id);
	frame_put32(out + 12, h->length);
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
	h->request_id = frame_get32(in + 8);
	h->length = frame_get32(in + 12);
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
	uint8_t hdr[FRAME_HEADER_LEN];
	const uint8_t *payload;

	if (evbuffer_get_length(in) < FRAME_HEADER_LEN)
		return FRAME_NEED_MORE;
	if (evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr)
		return FRAME_NEED_MORE;
	if (frame_header_decode(hdr, h, max_payload, why) != 0)
		return FRAME_BAD;
	if (evbuffer_get_length(in) < FRAME_HEADER_LEN + (size_t)h->length)
		return FRAME_NEED_MORE;
	/* The length is checked: make the payload contiguous and unpack it. */
	payload = evbuffer_pullup(in, FRAME_HEADER_LEN + (ev_ssize_t)h->length);
	if (payload == NULL) {
		*why = "cannot linearize payload";
		return FRAME_BAD;
	}
	*msg = protobuf_c_message_unpack(frame_descriptor(h->type), NULL, h->length,
	    payload + FRAME_HEADER_LEN);
	if (*msg == NULL) {
		*why = "undecodable payload";
		return FRAME_BAD;
	}
	evbuffer_drain(in, FRAME_HEADER_LEN + (size_t)h->length);
	return FRAME_OK;
}

size_t
frame_write(struct evbuffer *out, uint8_t type, uint16_t flags, uint32_t request_id,
    const ProtobufCMessage *msg)
{
	struct frame_header h = { FRAME_VERSION, type, flags, request_id, 0 };
	struct evbuffer_iovec v;
	size_t len = msg ? protobuf_c_message_get_packed_size(msg) : 0;
	uint8_t *p;

	/* Reserve header + payload in one contiguous extent and pack in place. */
	if (evbuffer_reserve_space(out, (ev_ssize_t)(FRAME_HEADER_LEN + len), &v, 1) < 1)
		abort();
	p = v.iov_base;
	h.length = (uint32_t)len;
	frame_header_encode(p, &h);
	if (msg)
		protobuf_c_message_pack(msg, p + FRAME_HEADER_LEN);
	v.iov_len = FRAME_HEADER_LEN + len;
	evbuffer_commit_space(out, &v, 1);
	return v.iov_len;
}

size_t
frame_write_error(struct evbuffer *out, uint32_t request_id, Rcfs__ErrorCode code,
    const char *message)
{
	Rcfs__Error e = RCFS__ERROR__INIT;

	e.code = code;
	e.message = (char *)message;
	return frame_write(out, RCFS__MSG_TYPE__MSG_ERROR, FRAME_F_RESPONSE, request_id, &e.base);
}
