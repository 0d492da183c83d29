/* mkseeds DIR: write the seed corpus of every fuzz target into DIR/<target>/
 * (t/fuzz/corpus/ holds its output plus what fuzzing found).  Seeds are
 * well-formed frames and payloads, so the fuzzers start from valid
 * structure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "net/auth.h"
#include "net/frame.h"

static const char *seed_dir;

static void seed_write(const char *target, const char *name, struct evbuffer *b);
static void seed_payload(const char *target, const char *name, uint8_t sel, const ProtobufCMessage *m);

static void
seed_write(const char *target, const char *name, struct evbuffer *b)
{
	char path[4096];
	FILE *f;
	size_t n = evbuffer_get_length(b);

	snprintf(path, sizeof path, "%s/%s", seed_dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/seed-%s", seed_dir, target, name);
	f = fopen(path, "wb");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fwrite(evbuffer_pullup(b, (ev_ssize_t)n), 1, n, f);
	fclose(f);
	evbuffer_drain(b, n);
}

/* fuzz_request input: a selector byte, then the payload. */
static void
seed_payload(const char *target, const char *name, uint8_t sel, const ProtobufCMessage *m)
{
	struct evbuffer *b = evbuffer_new();
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *p = malloc(n + 1);

	p[0] = sel;
	protobuf_c_message_pack(m, p + 1);
	evbuffer_add(b, p, n + 1);
	seed_write(target, name, b);
	free(p);
	evbuffer_free(b);
}

int
main(int argc, char **argv)
{
	struct evbuffer *b = evbuffer_new();
	uint8_t hash[32] = { 1 }, nonce[32] = { 2 }, data[100];
	struct frame_seal tx;
	struct auth_hs hs;
	uint8_t key[32];

	if (argc != 2 || sodium_init() < 0)
		return 2;
	seed_dir = argv[1];
	mkdir(seed_dir, 0755);
	memset(data, 'x', sizeof data);

	/* frame */
	Rcfs__FileStat st = RCFS__FILE_STAT__INIT;
	st.name = "dir/file";
	frame_write(b, RCFS__MSG_TYPE__MSG_FILE_STAT, 0, 1, &st.base);
	seed_write("frame", "stat", b);
	frame_write(b, RCFS__MSG_TYPE__MSG_STATUS, 0, 2, NULL);
	frame_write(b, RCFS__MSG_TYPE__MSG_FILE_STAT, 0, 3, &st.base);
	seed_write("frame", "two", b);
	Rcfs__ChunkPut cp = RCFS__CHUNK_PUT__INIT;
	cp.sha256.data = hash; cp.sha256.len = 32;
	cp.data.data = data; cp.data.len = sizeof data;
	frame_write(b, RCFS__MSG_TYPE__MSG_CHUNK_PUT, 0, 4, &cp.base);
	seed_write("frame", "chunkput", b);
	Rcfs__Error er = RCFS__ERROR__INIT;
	er.code = RCFS__ERROR_CODE__E_NOT_LEADER; er.message = "not leader";
	er.has_leader_id = 1; er.leader_id = 2; er.leader_address = "127.0.0.1:1";
	frame_write(b, RCFS__MSG_TYPE__MSG_ERROR, FRAME_F_RESPONSE, 4, &er.base);
	seed_write("frame", "error", b);
	memset(&tx, 0, sizeof tx);
	memset(tx.mac_key, 0x5a, sizeof tx.mac_key);
	memset(tx.enc_key, 0xa5, sizeof tx.enc_key);
	frame_write_sealed(b, &tx, RCFS__MSG_TYPE__MSG_FILE_STAT, 0, 5, &st.base);
	frame_write_sealed(b, &tx, RCFS__MSG_TYPE__MSG_STATUS, 0, 6, NULL);
	seed_write("frame", "sealed", b);       /* first byte 'R': even, plaintext MAC */

	/* handshake */
	memset(key, 0x11, sizeof key);
	auth_dial_start(&hs, key, true, 2, NULL, false, b);
	seed_write("handshake", "hello-peer", b);
	auth_dial_start(&hs, key, false, 0, "0123456789abcdef0123456789abcdef", true, b);
	Rcfs__AuthProof pr = RCFS__AUTH_PROOF__INIT;
	pr.proof.data = hash; pr.proof.len = 32;
	frame_write(b, RCFS__MSG_TYPE__MSG_AUTH_PROOF, 0, 0, &pr.base);
	seed_write("handshake", "hello-client-proof", b);
	Rcfs__AuthChallenge ch = RCFS__AUTH_CHALLENGE__INIT;
	ch.nonce.data = nonce; ch.nonce.len = 32;
	ch.proof.data = hash; ch.proof.len = 32;
	frame_write(b, RCFS__MSG_TYPE__MSG_AUTH_CHALLENGE, FRAME_F_RESPONSE, 0, &ch.base);
	Rcfs__AuthOk ok = RCFS__AUTH_OK__INIT;
	ok.role = "read-write";
	frame_write(b, RCFS__MSG_TYPE__MSG_AUTH_OK, FRAME_F_RESPONSE, 0, &ok.base);
	seed_write("handshake", "challenge-ok", b);
	frame_write(b, RCFS__MSG_TYPE__MSG_STATUS, 0, 9, NULL);
	seed_write("handshake", "no-auth", b);

	/* raft: a vote request, an append with entries, a heartbeat */
	Rcfs__RaftMessage rm = RCFS__RAFT_MESSAGE__INIT;
	Rcfs__RaftEntry e1 = RCFS__RAFT_ENTRY__INIT, e2 = RCFS__RAFT_ENTRY__INIT;
	Rcfs__RaftEntry *ents[2] = { &e1, &e2 };
	for (uint32_t t = 0; t < 16; t++) {
		char name[32];
		rm.type = t; rm.from = 2; rm.to = 1; rm.term = 1 + t % 3;
		rm.has_log_term = rm.has_index = rm.has_commit = 1;
		rm.log_term = 1; rm.index = t % 4; rm.commit = t % 2;
		e1.term = 1; e1.index = rm.index + 1; e1.type = 0;
		e1.has_data = 1; e1.data.data = data; e1.data.len = 10;
		e2.term = rm.term; e2.index = rm.index + 2; e2.type = 0;
		rm.n_entries = t % 3 == 1 ? 2 : 0;
		rm.entries = ents;
		frame_write(b, RCFS__MSG_TYPE__MSG_RAFT, 0, 0, &rm.base);
		frame_write(b, RCFS__MSG_TYPE__MSG_RAFT, 0, 0, &rm.base);
		snprintf(name, sizeof name, "type%u", t);
		seed_write("raft", name, b);
	}

	/* request: selector bytes index fuzz_request.c's table */
	Rcfs__FileMeta fm = RCFS__FILE_META__INIT;
	uint8_t *chunks[1] = { hash };
	ProtobufCBinaryData cb[1] = { { 32, hash } };
	(void)chunks;
	fm.name = "a/b"; fm.size = 3000000; fm.chunk_size = 1048576;
	fm.n_chunks = 1; fm.chunks = cb;
	fm.sha256.data = hash; fm.sha256.len = 32;
	Rcfs__FileCommit fc = RCFS__FILE_COMMIT__INIT;
	fc.meta = &fm;
	seed_payload("request", "commit", 3, &fc.base);
	fm.size = 5; fm.n_chunks = 0; fm.has_inline_data = 1;
	fm.inline_data.data = data; fm.inline_data.len = 5;
	seed_payload("request", "commit-inline", 3, &fc.base);
	seed_payload("request", "chunkput", 1, &cp.base);
	seed_payload("request", "stat", 4, &st.base);
	Rcfs__FileList fl = RCFS__FILE_LIST__INIT;
	fl.prefix = "a/"; fl.start_after = "a/b"; fl.has_limit = 1; fl.limit = 10;
	seed_payload("request", "list", 5, &fl.base);
	Rcfs__FileRemove fr = RCFS__FILE_REMOVE__INIT;
	fr.name = "../etc"; fr.has_client_id = fr.has_seq = 1; fr.client_id = 1; fr.seq = 2;
	seed_payload("request", "remove", 6, &fr.base);
	evbuffer_free(b);
	return 0;
}
