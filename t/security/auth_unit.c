/* Unit tests: the handshake, frame MACs, replay rejection, encryption, roles,
 * key files and token buckets (src/net/auth.c, frame.c, ratelimit.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <sodium.h>

#include "net/auth.h"
#include "net/frame.h"
#include "net/ratelimit.h"
#include "t/unit/check_main.h"

static struct config_client_key keys[2];
static struct auth_keyring ring;
static uint8_t api_key[AUTH_KEY_LEN];

static void setup(void);
static enum auth_step pump(struct auth_hs *from, struct evbuffer *wire, struct auth_hs *to,
    struct evbuffer *reply);
static int run_handshake(struct auth_hs *d, struct auth_hs *a);

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	memset(&ring, 0, sizeof ring);
	ring.have_cluster_key = true;
	randombytes_buf(ring.cluster_key, sizeof ring.cluster_key);
	randombytes_buf(api_key, sizeof api_key);
	keys[0].name = "ro";
	keys[0].role = AUTH_ROLE_READ_ONLY;
	randombytes_buf(keys[0].verifier, AUTH_KEY_LEN);
	keys[1].name = "rw";
	keys[1].role = AUTH_ROLE_READ_WRITE;
	auth_verifier(api_key, keys[1].verifier);
	ring.keys = keys;
	ring.nkeys = 2;
}

/* Decode one frame from wire and feed it to `to`. */
static enum auth_step
pump(struct auth_hs *from, struct evbuffer *wire, struct auth_hs *to, struct evbuffer *reply)
{
	struct frame_header h;
	ProtobufCMessage *msg = NULL;
	const char *why = NULL;
	enum auth_step st;

	(void)from;
	ck_assert_int_eq(frame_read(wire, 1 << 16, &h, &msg, &why), FRAME_OK);
	st = auth_step(to, &h, msg, reply, &why);
	protobuf_c_message_free_unpacked(msg, NULL);
	return st;
}

/* Dialler d (already started, its hello in d2a) against acceptor a:
 * 1 if both finished, 0 if either refused. */
static struct evbuffer *d2a, *a2d;

static int
run_handshake(struct auth_hs *d, struct auth_hs *a)
{
	if (pump(d, d2a, a, a2d) != AUTH_STEP_CONTINUE)          /* hello -> challenge */
		return 0;
	if (pump(a, a2d, d, d2a) != AUTH_STEP_CONTINUE)          /* challenge -> proof */
		return 0;
	if (pump(d, d2a, a, a2d) != AUTH_STEP_DONE)              /* proof -> ok */
		return 0;
	return pump(a, a2d, d, d2a) == AUTH_STEP_DONE;           /* ok */
}

START_TEST(peer_handshake)
{
	struct auth_hs d, a;

	setup();
	d2a = evbuffer_new();
	a2d = evbuffer_new();
	auth_accept_start(&a, &ring);
	auth_dial_start(&d, ring.cluster_key, true, 3, NULL, false, d2a);
	ck_assert_int_eq(run_handshake(&d, &a), 1);
	ck_assert_int_eq(a.granted, AUTH_ROLE_PEER);
	ck_assert_uint_eq(a.node_id, 3);
	/* Each side's tx is the other's rx; directions differ. */
	ck_assert_mem_eq(d.tx.mac_key, a.rx.mac_key, FRAME_KEY_LEN);
	ck_assert_mem_eq(a.tx.mac_key, d.rx.mac_key, FRAME_KEY_LEN);
	ck_assert_int_ne(memcmp(d.tx.mac_key, d.rx.mac_key, FRAME_KEY_LEN), 0);
	evbuffer_free(d2a);
	evbuffer_free(a2d);
}
END_TEST

START_TEST(wrong_cluster_key)
{
	struct auth_hs d, a;
	uint8_t other[AUTH_KEY_LEN];

	setup();
	d2a = evbuffer_new();
	a2d = evbuffer_new();
	randombytes_buf(other, sizeof other);
	auth_accept_start(&a, &ring);
	auth_dial_start(&d, other, true, 3, NULL, false, d2a);
	ck_assert_int_eq(pump(&d, d2a, &a, a2d), AUTH_STEP_CONTINUE);
	/* The dialler sees the acceptor's proof fail and stops. */
	ck_assert_int_eq(pump(&a, a2d, &d, d2a), AUTH_STEP_FAIL);
	ck_assert_int_eq(d.state, AUTH_HS_FAILED);
	evbuffer_free(d2a);
	evbuffer_free(a2d);
}
END_TEST

START_TEST(client_key_and_unknown_key)
{
	struct auth_hs d, a;
	uint8_t v[AUTH_KEY_LEN];
	char id[AUTH_KEY_ID_LEN + 1];

	setup();
	d2a = evbuffer_new();
	a2d = evbuffer_new();
	auth_verifier(api_key, v);
	auth_key_id(v, id);
	auth_accept_start(&a, &ring);
	auth_dial_start(&d, v, false, 0, id, false, d2a);
	ck_assert_int_eq(run_handshake(&d, &a), 1);
	ck_assert_int_eq(a.granted, AUTH_ROLE_READ_WRITE);
	ck_assert_int_eq(d.granted, AUTH_ROLE_READ_WRITE);
	ck_assert_int_eq(a.key_index, 1);

	/* Unknown key id: the challenge is made with a random key. */
	evbuffer_drain(d2a, evbuffer_get_length(d2a));
	evbuffer_drain(a2d, evbuffer_get_length(a2d));
	auth_accept_start(&a, &ring);
	auth_dial_start(&d, v, false, 0, "00000000000000000000000000000000", false, d2a);
	ck_assert_int_eq(pump(&d, d2a, &a, a2d), AUTH_STEP_CONTINUE);
	ck_assert_int_eq(pump(&a, a2d, &d, d2a), AUTH_STEP_FAIL);
	evbuffer_free(d2a);
	evbuffer_free(a2d);
}
END_TEST

START_TEST(request_before_handshake)
{
	struct auth_hs a;
	struct evbuffer *w = evbuffer_new(), *r = evbuffer_new();
	struct frame_header h;
	ProtobufCMessage *msg = NULL;
	const char *why;

	setup();
	auth_accept_start(&a, &ring);
	frame_write(w, RCFS__MSG_TYPE__MSG_STATUS, 0, 42, NULL);
	ck_assert_int_eq(pump(NULL, w, &a, r), AUTH_STEP_FAIL);
	/* The refusal answers request 42 with E_AUTH. */
	ck_assert_int_eq(frame_read(r, 1 << 16, &h, &msg, &why), FRAME_OK);
	ck_assert_int_eq(h.type, RCFS__MSG_TYPE__MSG_ERROR);
	ck_assert_uint_eq(h.request_id, 42);
	ck_assert_int_eq(((Rcfs__Error *)msg)->code, RCFS__ERROR_CODE__E_AUTH);
	protobuf_c_message_free_unpacked(msg, NULL);
	evbuffer_free(w);
	evbuffer_free(r);
}
END_TEST

static void
mac_case(bool encrypt)
{
	struct frame_seal tx, rx;
	struct evbuffer *b = evbuffer_new();
	Rcfs__FileStat st = RCFS__FILE_STAT__INIT;
	struct frame_header h;
	ProtobufCMessage *msg = NULL;
	const char *why = NULL;
	uint8_t *copy, *raw;
	size_t len;

	setup();
	memset(&tx, 0, sizeof tx);
	randombytes_buf(tx.mac_key, sizeof tx.mac_key);
	randombytes_buf(tx.enc_key, sizeof tx.enc_key);
	tx.encrypt = encrypt;
	rx = tx;
	st.name = "secret/name";
	frame_write_sealed(b, &tx, RCFS__MSG_TYPE__MSG_FILE_STAT, 0, 1, &st.base);
	len = evbuffer_get_length(b);
	copy = malloc(len);
	evbuffer_copyout(b, copy, len);
	raw = evbuffer_pullup(b, -1);
	/* Plaintext unless encrypted: tcpdump can read the name. */
	ck_assert_int_eq(memmem(raw, len, "secret/name", 11) != NULL, !encrypt);
	ck_assert_int_eq(frame_read_sealed(b, 1 << 16, &rx, &h, &msg, &why), FRAME_OK);
	ck_assert_str_eq(((Rcfs__FileStat *)msg)->name, "secret/name");
	ck_assert(h.flags & FRAME_F_MAC);
	protobuf_c_message_free_unpacked(msg, NULL);
	ck_assert_uint_eq(rx.seq, 1);

	/* Replay: the same bytes again. */
	evbuffer_add(b, copy, len);
	ck_assert_int_eq(frame_read_sealed(b, 1 << 16, &rx, &h, &msg, &why), FRAME_BAD);
	ck_assert_str_eq(why, "out-of-sequence frame (replayed or reordered)");
	evbuffer_drain(b, len);

	/* Every single-bit change anywhere in the frame is refused. */
	frame_write_sealed(b, &tx, RCFS__MSG_TYPE__MSG_FILE_STAT, 0, 2, &st.base);
	len = evbuffer_get_length(b);
	free(copy);
	copy = malloc(len);
	evbuffer_remove(b, copy, len);
	for (size_t i = 0; i < len; i++) {
		struct frame_seal r2 = rx;
		copy[i] ^= 0x04;
		evbuffer_add(b, copy, len);
		enum frame_status fs = frame_read_sealed(b, 1 << 16, &r2, &h, &msg, &why);
		ck_assert_msg(fs != FRAME_OK, "flipped bit in byte %zu accepted", i);
		evbuffer_drain(b, evbuffer_get_length(b));
		copy[i] ^= 0x04;
	}
	/* The untouched frame is still good, and a plain frame is refused. */
	evbuffer_add(b, copy, len);
	ck_assert_int_eq(frame_read_sealed(b, 1 << 16, &rx, &h, &msg, &why), FRAME_OK);
	protobuf_c_message_free_unpacked(msg, NULL);
	frame_write(b, RCFS__MSG_TYPE__MSG_STATUS, 0, 3, NULL);
	ck_assert_int_eq(frame_read_sealed(b, 1 << 16, &rx, &h, &msg, &why), FRAME_BAD);
	free(copy);
	evbuffer_free(b);
}

START_TEST(mac_and_replay)
{
	mac_case(false);
}
END_TEST

START_TEST(encrypted_frames)
{
	mac_case(true);
}
END_TEST

START_TEST(roles)
{
	ck_assert(auth_role_allows(AUTH_ROLE_READ_ONLY, RCFS__MSG_TYPE__MSG_FILE_LIST));
	ck_assert(auth_role_allows(AUTH_ROLE_READ_ONLY, RCFS__MSG_TYPE__MSG_CHUNK_GET));
	ck_assert(!auth_role_allows(AUTH_ROLE_READ_ONLY, RCFS__MSG_TYPE__MSG_CHUNK_PUT));
	ck_assert(!auth_role_allows(AUTH_ROLE_READ_ONLY, RCFS__MSG_TYPE__MSG_FILE_REMOVE));
	ck_assert(auth_role_allows(AUTH_ROLE_READ_WRITE, RCFS__MSG_TYPE__MSG_FILE_COMMIT));
	ck_assert(!auth_role_allows(AUTH_ROLE_ADMIN, RCFS__MSG_TYPE__MSG_RAFT));
	ck_assert(!auth_role_allows(AUTH_ROLE_ADMIN, RCFS__MSG_TYPE__MSG_PEER_HELLO));
	ck_assert(auth_role_allows(AUTH_ROLE_PEER, RCFS__MSG_TYPE__MSG_RAFT));
	ck_assert(!auth_role_allows(AUTH_ROLE_NONE, RCFS__MSG_TYPE__MSG_STATUS));
	ck_assert_int_eq(auth_role_parse("read-write"), AUTH_ROLE_READ_WRITE);
	ck_assert_int_eq(auth_role_parse("root"), AUTH_ROLE_NONE);
}
END_TEST

START_TEST(key_files)
{
	char dir[] = "/tmp/rcfs-auth-unit.XXXXXX", path[64], err[256];
	uint8_t k[AUTH_KEY_LEN];
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/k", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 65), 65);
	close(fd);
	ck_assert_int_eq(auth_key_load(path, k, err, sizeof err), 0);
	ck_assert_uint_eq(k[1], 0x11);
	chmod(path, 0640);
	ck_assert_int_eq(auth_key_load(path, k, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "chmod 600"));
	chmod(path, 0600);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "nothex", 6), 6);
	close(fd);
	ck_assert_int_eq(auth_key_load(path, k, err, sizeof err), -1);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(token_bucket)
{
	struct token_bucket b;
	uint64_t t = 1000000000ull;
	int ok = 0;

	ratelimit_init(&b, 10, 1, t);
	for (int i = 0; i < 100; i++)
		ok += ratelimit_take(&b, 1, t);
	ck_assert_int_eq(ok, 10);                 /* one second of burst */
	ck_assert(!ratelimit_take(&b, 1, t + 50000000ull));      /* 50 ms: half a token */
	ck_assert(ratelimit_take(&b, 1, t + 100000000ull));      /* 100 ms: one */
	ratelimit_init(&b, 0, 1, t);
	ck_assert(ratelimit_take(&b, 1e12, t));  /* 0 = unlimited */
	ratelimit_init(&b, 1000, 5000, t);
	ck_assert(ratelimit_take(&b, 5000, t));  /* one maximal request fits */
	ck_assert(!ratelimit_take(&b, 1, t));
}
END_TEST

/* Charged after the fact (the copy budget): work starts while ready, the
 * debt is paid back by the refill, a refund never exceeds the burst. */
START_TEST(token_bucket_debt)
{
	struct token_bucket b;
	uint64_t t = 1000000000ull;

	ratelimit_init(&b, 1000, 1000, t);
	ck_assert(ratelimit_ready(&b, t));
	ratelimit_charge(&b, 3000, t);                          /* 2000 in debt */
	ck_assert(!ratelimit_ready(&b, t + 1000000000ull));     /* 1 s: still 1000 short */
	ck_assert(!ratelimit_ready(&b, t + 2000000000ull));     /* 2 s: exactly 0 */
	ck_assert(ratelimit_ready(&b, t + 2001000000ull));
	ratelimit_charge(&b, -1e9, t + 2001000000ull);          /* refund: capped at the burst */
	ck_assert(ratelimit_take(&b, 1000, t + 2001000000ull));
	ck_assert(!ratelimit_ready(&b, t + 2001000000ull));
	ratelimit_init(&b, 0, 1, t);
	ratelimit_charge(&b, 1e12, t);
	ck_assert(ratelimit_ready(&b, t));                      /* 0 = unlimited */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("auth");

	tcase_add_test(tc, peer_handshake);
	tcase_add_test(tc, wrong_cluster_key);
	tcase_add_test(tc, client_key_and_unknown_key);
	tcase_add_test(tc, request_before_handshake);
	tcase_add_test(tc, mac_and_replay);
	tcase_add_test(tc, encrypted_frames);
	tcase_add_test(tc, roles);
	tcase_add_test(tc, key_files);
	tcase_add_test(tc, token_bucket);
	tcase_add_test(tc, token_bucket_debt);
	suite_add_tcase(s, tc);
	return check_run(s);
}
