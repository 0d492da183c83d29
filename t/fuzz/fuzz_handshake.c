/* Fuzz target: the authentication handshake (src/net/auth.c), both roles.
 * The input is a stream of frames fed, one decoded frame at a time, to an
 * acceptor (with a cluster key and one API key) and to a dialler; whatever
 * they answer is discarded.  Neither may crash, and neither may reach
 * AUTH_STEP_DONE: the fuzzer does not know the keys. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "net/auth.h"
#include "t/fuzz/fuzz.h"

static struct config_client_key fuzz_keys[1];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_keyring ring;
	struct auth_hs acc, dial;
	struct evbuffer *in, *out;
	uint8_t key[AUTH_KEY_LEN];
	bool acc_live = true, dial_live = true;

	if (sodium_init() < 0)
		return 0;
	memset(&ring, 0, sizeof ring);
	ring.have_cluster_key = true;
	memset(ring.cluster_key, 0x11, sizeof ring.cluster_key);
	fuzz_keys[0].name = "fuzz";
	fuzz_keys[0].role = AUTH_ROLE_READ_WRITE;
	memset(fuzz_keys[0].verifier, 0x22, sizeof fuzz_keys[0].verifier);
	ring.keys = fuzz_keys;
	ring.nkeys = 1;
	ring.encrypt = size > 0 && (data[0] & 0x80);
	memset(key, 0x33, sizeof key);

	in = evbuffer_new();
	out = evbuffer_new();
	evbuffer_add(in, data, size);
	auth_accept_start(&acc, &ring);
	auth_dial_start(&dial, key, size > 1 && (data[1] & 1), 7, "0123", false, out);
	while (acc_live || dial_live) {
		struct frame_header h;
		ProtobufCMessage *msg = NULL;
		const char *why = NULL;

		if (frame_read(in, 1 << 16, &h, &msg, &why) != FRAME_OK)
			break;
		if (acc_live) {
			enum auth_step st = auth_step(&acc, &h, msg, out, &why);
			if (st == AUTH_STEP_DONE)
				abort();        /* authenticated without the key */
			acc_live = st == AUTH_STEP_CONTINUE;
		}
		if (dial_live) {
			enum auth_step st = auth_step(&dial, &h, msg, out, &why);
			if (st == AUTH_STEP_DONE)
				abort();
			dial_live = st == AUTH_STEP_CONTINUE;
		}
		protobuf_c_message_free_unpacked(msg, NULL);
		evbuffer_drain(out, evbuffer_get_length(out));
	}
	auth_hs_clear(&acc);
	auth_hs_clear(&dial);
	evbuffer_free(in);
	evbuffer_free(out);
	return 0;
}
