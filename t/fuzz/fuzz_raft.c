/* Fuzz target: the Raft message decode path.  The input is a stream of
 * RaftMessage frames (as a peer would send them); each is decoded, converted
 * exactly as src/node/consensus.c does, and stepped into a 3-voter Raft core
 * (node 1) whose Ready output is drained and acknowledged, with clock ticks in
 * between.  The core must reject nonsense with an error code, never crash. */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "net/frame.h"
#include "node/raftwire.h"
#include "raft/raft.h"
#include "t/fuzz/fuzz.h"

static void fuzz_raft_drain(struct raft *r);

static void
fuzz_raft_drain(struct raft *r)
{
	for (int i = 0; i < 8 && raft_has_ready(r); i++) {
		struct raft_ready rd;
		uint64_t seq, last = 0;
		if (raft_ready(r, &rd) != RAFT_OK)
			return;
		seq = rd.seq;
		if (rd.n_committed > 0)
			last = rd.committed[rd.n_committed - 1].index;
		raft_advance(r, &rd);
		/* Storage is instant and faithful here: durable and applied at once. */
		if (seq != 0)
			(void)raft_persisted(r, seq);
		if (last != 0)
			raft_applied(r, last);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct raft_config cfg;
	struct raft_restore rs;
	struct raft_conf boot;
	struct raft *r = NULL;
	struct evbuffer *in;

	raft_config_init(&cfg);
	cfg.id = 1;
	cfg.seed = 42;
	memset(&rs, 0, sizeof rs);
	memset(&boot, 0, sizeof boot);
	boot.n = 3;
	for (uint32_t i = 0; i < 3; i++) {
		boot.servers[i].id = i + 1;
		boot.servers[i].voter = true;
	}
	rs.bootstrap = &boot;
	if (raft_new(&cfg, &rs, &r) != RAFT_OK)
		return 0;
	in = evbuffer_new();
	evbuffer_add(in, data, size);
	for (int n = 0; n < 64; n++) {
		struct frame_header h;
		ProtobufCMessage *msg = NULL;
		const char *why;
		Rcfs__RaftMessage *pm;
		struct raft_message m;

		if (frame_read(in, 1 << 20, &h, &msg, &why) != FRAME_OK)
			break;
		if (h.type != RCFS__MSG_TYPE__MSG_RAFT) {
			protobuf_c_message_free_unpacked(msg, NULL);
			raft_tick(r, 60);
			fuzz_raft_drain(r);
			continue;
		}
		pm = (Rcfs__RaftMessage *)msg;
		raftwire_from_pb(pm, &m);
		if (m.to == 1)
			(void)raft_step(r, &m);
		free((void *)m.entries);
		protobuf_c_message_free_unpacked(msg, NULL);
		fuzz_raft_drain(r);
	}
	evbuffer_free(in);
	raft_free(r);
	return 0;
}
