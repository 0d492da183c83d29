/* Frame codec: the fixed header and protobuf payload of every rcfs message,
 * independent of any transport (house rule 7).  docs/protocol.md is the spec.
 *
 *  0      4    5    6        8            12           16
 *  | "RCFS" |ver |type| flags  | request id | payload len | payload (protobuf) | [trailer] |
 *
 * All header integers are big-endian.  On an authenticated connection
 * (docs/security.md) every frame has FRAME_F_MAC and a 40-byte trailer not
 * counted in the payload length: an 8-byte sequence number and a 32-byte
 * HMAC-SHA512-256 tag over header, sequence and payload.  With FRAME_F_SEALED
 * the payload is also encrypted (XChaCha20, encrypt-then-MAC).  */
#ifndef RCFS_FRAME_H
#define RCFS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/rcfs.pb-c.h"

struct evbuffer;

#define FRAME_MAGIC        "RCFS"
#define FRAME_VERSION      1
#define FRAME_HEADER_LEN   16

/* Header flags. */
#define FRAME_F_RESPONSE   0x0001   /* this frame answers request_id */
#define FRAME_F_MAC        0x0002   /* a sequence + MAC trailer follows the payload */
#define FRAME_F_SEALED     0x0004   /* the payload is encrypted (needs FRAME_F_MAC) */

#define FRAME_SEQ_LEN      8
#define FRAME_TAG_LEN      32       /* crypto_auth_hmacsha512256_BYTES */
#define FRAME_TRAILER_LEN  (FRAME_SEQ_LEN + FRAME_TAG_LEN)
#define FRAME_KEY_LEN      32

/* One direction of an authenticated connection: its keys (derived by the
 * handshake, src/net/auth.c) and the last sequence number sent or accepted.
 * Sequences start at 1 and must be strictly consecutive. */
struct frame_seal {
	uint8_t mac_key[FRAME_KEY_LEN];   /* HMAC-SHA512-256 key */
	uint8_t enc_key[FRAME_KEY_LEN];   /* XChaCha20 key, used if encrypt */
	bool encrypt;
	uint64_t seq;
};

/* A decoded header. */
struct frame_header {
	uint8_t  version;
	uint8_t  type;          /* Rcfs__MsgType */
	uint16_t flags;
	uint32_t request_id;
	uint32_t length;        /* payload bytes */
};

/* Result of frame_read(). */
enum frame_status {
	FRAME_OK = 0,           /* one whole frame was removed from the buffer */
	FRAME_NEED_MORE,        /* not a whole frame yet: nothing consumed */
	FRAME_BAD               /* protocol violation: close the connection */
};

/* Encode a header into out[FRAME_HEADER_LEN]. */
void frame_header_encode(uint8_t *out, const struct frame_header *h);

/* Decode and check a header from in[FRAME_HEADER_LEN]: magic, version, a known
 * message type, and length <= max_payload (bytes).  Returns 0, or -1 with
 * *why set to a static reason. */
int frame_header_decode(const uint8_t *in, struct frame_header *h, uint32_t max_payload,
    const char **why);

/* Protobuf descriptor for a message type, or NULL if the type is unknown. */
const ProtobufCMessageDescriptor *frame_descriptor(uint8_t type);
/* Human-readable name of a message type ("FileCommit"), "?" if unknown. */
const char *frame_type_name(uint8_t type);

/* Take one frame from the front of `in`.  On FRAME_OK, fills *h and *msg with
 * the unpacked payload (caller frees with protobuf_c_message_free_unpacked(*msg,
 * NULL)).  The header is checked before any payload byte is buffered for
 * unpacking, so no allocation ever follows an unchecked length.  On FRAME_BAD,
 * *why says why (static string); the buffer is left as it was. */
enum frame_status frame_read(struct evbuffer *in, uint32_t max_payload, struct frame_header *h,
    ProtobufCMessage **msg, const char **why);

/* frame_read() for an authenticated connection: when rx is not NULL the frame
 * must carry FRAME_F_MAC, sequence rx->seq + 1 and a valid tag (checked
 * before the payload is unpacked; decrypted if FRAME_F_SEALED); rx->seq then
 * advances.  When rx is NULL a frame with FRAME_F_MAC is refused.  Forged,
 * altered, replayed or reordered frames are FRAME_BAD. */
enum frame_status frame_read_sealed(struct evbuffer *in, uint32_t max_payload, struct frame_seal *rx,
    struct frame_header *h, ProtobufCMessage **msg, const char **why);

/* frame_write() for an authenticated connection (tx may be NULL: plain frame).
 * Uses sequence ++tx->seq. */
size_t frame_write_sealed(struct evbuffer *out, struct frame_seal *tx, uint8_t type, uint16_t flags,
    uint32_t request_id, const ProtobufCMessage *msg);
/* Error frame through frame_write_sealed(). */
size_t frame_write_error_sealed(struct evbuffer *out, struct frame_seal *tx, uint32_t request_id,
    Rcfs__ErrorCode code, const char *message);

/* Append one frame (header + packed msg) to `out`.  `msg` may be NULL for an
 * empty payload.  Returns the number of bytes appended. */
size_t frame_write(struct evbuffer *out, uint8_t type, uint16_t flags, uint32_t request_id,
    const ProtobufCMessage *msg);

/* Append an Error response frame for request_id. */
size_t frame_write_error(struct evbuffer *out, uint32_t request_id, Rcfs__ErrorCode code,
    const char *message);

#endif
