/* Fuzz target: the frame decoder (src/net/frame.c), plain and sealed.  The
 * input is a byte stream as it would arrive on a socket; it is decoded frame
 * by frame until the decoder wants more or refuses.  The same bytes are then
 * decoded as an authenticated stream (MAC check, sequence, decryption). */
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "net/frame.h"
#include "t/fuzz/fuzz.h"

static void fuzz_decode(const uint8_t *data, size_t size, struct frame_seal *rx);

static void
fuzz_decode(const uint8_t *data, size_t size, struct frame_seal *rx)
{
	struct evbuffer *in = evbuffer_new();

	evbuffer_add(in, data, size);
	for (;;) {
		struct frame_header h;
		ProtobufCMessage *msg = NULL;
		const char *why = NULL;
		enum frame_status fs = frame_read_sealed(in, 1 << 20, rx, &h, &msg, &why);

		if (fs != FRAME_OK)
			break;
		/* Re-encode what was accepted: it must pack again. */
		struct evbuffer *out = evbuffer_new();
		frame_write(out, h.type, h.flags & FRAME_F_RESPONSE, h.request_id, msg);
		evbuffer_free(out);
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	evbuffer_free(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_seal rx;

	if (sodium_init() < 0)
		return 0;
	fuzz_decode(data, size, NULL);
	memset(&rx, 0, sizeof rx);
	memset(rx.mac_key, 0x5a, sizeof rx.mac_key);
	memset(rx.enc_key, 0xa5, sizeof rx.enc_key);
	rx.encrypt = size > 0 && (data[0] & 1);
	fuzz_decode(data, size, &rx);
	return 0;
}
