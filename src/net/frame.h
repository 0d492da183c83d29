/* Frame codec: the fixed header and protobuf payload of every rcfs message,
 * independent of any transport (house rule 7).  docs/protocol.md is the spec.
 *
 *  0      4    5    6        8            12           16
 *  | "RCFS" |ver |type| flags  | request id | payload len | payload (protobuf) |
 *
 * All header integers are big-endian.  */
#ifndef RCFS_FRAME_H
#define RCFS_FRAME_H

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

/* Append one frame (header + packed msg) to `out`.  `msg` may be NULL for an
 * empty payload.  Returns the number of bytes appended. */
size_t frame_write(struct evbuffer *out, uint8_t type, uint16_t flags, uint32_t request_id,
    const ProtobufCMessage *msg);

/* Append an Error response frame for request_id. */
size_t frame_write_error(struct evbuffer *out, uint32_t request_id, Rcfs__ErrorCode code,
    const char *message);

#endif
