/* Authentication handshake, key files and roles: see auth.h and
 * docs/security.md for the protocol and its reasons. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "net/auth.h"

#define AUTH_LABEL_ACCEPTOR "rcfs-auth-acceptor"
#define AUTH_LABEL_DIALLER  "rcfs-auth-dialler"
#define AUTH_KDF_CONTEXT    "rcfssess"          /* crypto_kdf: exactly 8 bytes */

static void auth_transcript(struct auth_hs *hs);
static void auth_proof(const struct auth_hs *hs, const char *label, uint8_t *out);
static bool auth_proof_ok(const struct auth_hs *hs, const char *label, const uint8_t *proof,
    size_t len);
static void auth_derive(struct auth_hs *hs, bool dialler);
static enum auth_step auth_fail(struct auth_hs *hs, const struct frame_header *h,
    struct evbuffer *out, const char *reason, const char **why);
static enum auth_step auth_accept_hello(struct auth_hs *hs, const struct frame_header *h,
    const Rcfs__AuthHello *m, struct evbuffer *out, const char **why);
static enum auth_step auth_accept_proof(struct auth_hs *hs, const struct frame_header *h,
    const Rcfs__AuthProof *m, struct evbuffer *out, const char **why);
static enum auth_step auth_dial_challenge(struct auth_hs *hs, const Rcfs__AuthChallenge *m,
    struct evbuffer *out, const char **why);

static const char *const auth_role_names[AUTH_ROLE_MAX] = {
	"none", "read-only", "read-write", "admin", "peer"
};

/* T = BLAKE2b-256("rcfs-auth-v1" || role || node_id || len(key_id) || key_id ||
 *                 want_encrypt || nonce_d || nonce_a || encrypt). */
static void
auth_transcript(struct auth_hs *hs)
{
	crypto_generichash_state st;
	uint8_t b[8];
	size_t idlen = strlen(hs->key_id);

	crypto_generichash_init(&st, NULL, 0, sizeof hs->transcript);
	crypto_generichash_update(&st, (const uint8_t *)"rcfs-auth-v1", 12);
	b[0] = (uint8_t)hs->role_wire;
	crypto_generichash_update(&st, b, 1);
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(hs->node_id >> (56 - 8 * i));
	crypto_generichash_update(&st, b, 8);
	b[0] = (uint8_t)idlen;
	crypto_generichash_update(&st, b, 1);
	crypto_generichash_update(&st, (const uint8_t *)hs->key_id, idlen);
	b[0] = hs->want_encrypt;
	crypto_generichash_update(&st, b, 1);
	crypto_generichash_update(&st, hs->nonce_d, sizeof hs->nonce_d);
	crypto_generichash_update(&st, hs->nonce_a, sizeof hs->nonce_a);
	b[0] = hs->encrypt;
	crypto_generichash_update(&st, b, 1);
	crypto_generichash_final(&st, hs->transcript, sizeof hs->transcript);
}

/* proof = HMAC-SHA512-256(K, label || T): the labels keep one side's proof
 * from being reflected as the other's. */
static void
auth_proof(const struct auth_hs *hs, const char *label, uint8_t *out)
{
	crypto_auth_hmacsha512256_state st;

	crypto_auth_hmacsha512256_init(&st, hs->key, sizeof hs->key);
	crypto_auth_hmacsha512256_update(&st, (const uint8_t *)label, strlen(label));
	crypto_auth_hmacsha512256_update(&st, hs->transcript, sizeof hs->transcript);
	crypto_auth_hmacsha512256_final(&st, out);
}

static bool
auth_proof_ok(const struct auth_hs *hs, const char *label, const uint8_t *proof, size_t len)
{
	uint8_t want[crypto_auth_hmacsha512256_BYTES];
	bool ok;

	if (len != sizeof want)
		return false;
	auth_proof(hs, label, want);
	ok = sodium_memcmp(want, proof, sizeof want) == 0;
	sodium_memzero(want, sizeof want);
	return ok;
}

/* Session keys: master = BLAKE2b-256(T, key = K); four subkeys (crypto_kdf):
 * 1/2 MAC/encryption dialler->acceptor, 3/4 acceptor->dialler. */
static void
auth_derive(struct auth_hs *hs, bool dialler)
{
	uint8_t master[crypto_kdf_KEYBYTES];
	struct frame_seal *d2a = dialler ? &hs->tx : &hs->rx;
	struct frame_seal *a2d = dialler ? &hs->rx : &hs->tx;

	crypto_generichash(master, sizeof master, hs->transcript, sizeof hs->transcript, hs->key,
	    sizeof hs->key);
	crypto_kdf_derive_from_key(d2a->mac_key, sizeof d2a->mac_key, 1, AUTH_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(d2a->enc_key, sizeof d2a->enc_key, 2, AUTH_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(a2d->mac_key, sizeof a2d->mac_key, 3, AUTH_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(a2d->enc_key, sizeof a2d->enc_key, 4, AUTH_KDF_CONTEXT, master);
	d2a->encrypt = a2d->encrypt = hs->encrypt;
	d2a->seq = a2d->seq = 0;
	sodium_memzero(master, sizeof master);
	sodium_memzero(hs->key, sizeof hs->key);
}

void
auth_dial_start(struct auth_hs *hs, const uint8_t *key, bool peer, uint64_t node_id,
    const char *key_id, bool encrypt, struct evbuffer *out)
{
	Rcfs__AuthHello m = RCFS__AUTH_HELLO__INIT;

	memset(hs, 0, sizeof *hs);
	hs->key_index = -1;
	memcpy(hs->key, key, AUTH_KEY_LEN);
	randombytes_buf(hs->nonce_d, sizeof hs->nonce_d);
	hs->role_wire = peer ? RCFS__AUTH_ROLE__AUTH_PEER : RCFS__AUTH_ROLE__AUTH_CLIENT;
	hs->node_id = peer ? node_id : 0;
	if (!peer && key_id != NULL)
		snprintf(hs->key_id, sizeof hs->key_id, "%s", key_id);
	hs->want_encrypt = encrypt;
	m.role = (Rcfs__AuthRole)hs->role_wire;
	m.nonce.data = hs->nonce_d;
	m.nonce.len = sizeof hs->nonce_d;
	if (peer) {
		m.has_node_id = 1;
		m.node_id = node_id;
	} else {
		m.key_id = hs->key_id;
	}
	if (encrypt) {
		m.has_encrypt = 1;
		m.encrypt = 1;
	}
	frame_write(out, RCFS__MSG_TYPE__MSG_AUTH_HELLO, 0, 0, &m.base);
	hs->state = AUTH_HS_DIAL_SENT_HELLO;
}

void
auth_accept_start(struct auth_hs *hs, const struct auth_keyring *ring)
{
	memset(hs, 0, sizeof *hs);
	hs->ring = ring;
	hs->key_index = -1;
	hs->state = AUTH_HS_ACCEPT_WAIT_HELLO;
}

void
auth_hs_clear(struct auth_hs *hs)
{
	sodium_memzero(hs, sizeof *hs);
}

/* Refuse: tell an acceptor's counterpart why (a plain Error frame answering
 * the request it sent), and stop. */
static enum auth_step
auth_fail(struct auth_hs *hs, const struct frame_header *h, struct evbuffer *out, const char *reason,
    const char **why)
{
	bool acceptor = hs->state == AUTH_HS_ACCEPT_WAIT_HELLO || hs->state == AUTH_HS_ACCEPT_WAIT_PROOF;

	if (acceptor && out != NULL && !(h->flags & FRAME_F_RESPONSE))
		frame_write_error(out, h->request_id, RCFS__ERROR_CODE__E_AUTH, reason);
	hs->state = AUTH_HS_FAILED;
	sodium_memzero(hs->key, sizeof hs->key);
	*why = reason;
	return AUTH_STEP_FAIL;
}

static enum auth_step
auth_accept_hello(struct auth_hs *hs, const struct frame_header *h, const Rcfs__AuthHello *m,
    struct evbuffer *out, const char **why)
{
	Rcfs__AuthChallenge c = RCFS__AUTH_CHALLENGE__INIT;
	uint8_t proof[crypto_auth_hmacsha512256_BYTES];

	if (m->nonce.len != AUTH_NONCE_LEN)
		return auth_fail(hs, h, out, "authentication failed: AuthHello nonce must be 32 bytes", why);
	memcpy(hs->nonce_d, m->nonce.data, AUTH_NONCE_LEN);
	hs->role_wire = m->role;
	hs->want_encrypt = m->has_encrypt && m->encrypt;
	if (m->role == RCFS__AUTH_ROLE__AUTH_PEER) {
		if (!hs->ring->have_cluster_key)
			return auth_fail(hs, h, out, "authentication failed: no cluster key here", why);
		if (!m->has_node_id || m->node_id == 0)
			return auth_fail(hs, h, out, "authentication failed: peer AuthHello without node_id", why);
		hs->node_id = m->node_id;
		memcpy(hs->key, hs->ring->cluster_key, AUTH_KEY_LEN);
		hs->key_known = true;
	} else if (m->role == RCFS__AUTH_ROLE__AUTH_CLIENT) {
		if (m->key_id == NULL || m->key_id[0] == '\0' || strlen(m->key_id) > AUTH_KEY_ID_MAX)
			return auth_fail(hs, h, out, "authentication failed: AuthHello needs a key id", why);
		snprintf(hs->key_id, sizeof hs->key_id, "%s", m->key_id);
		for (unsigned i = 0; i < hs->ring->nkeys; i++) {
			char id[AUTH_KEY_ID_LEN + 1];
			auth_key_id(hs->ring->keys[i].verifier, id);
			if (!hs->key_known && strcmp(id, hs->key_id) == 0) {
				hs->key_index = (int)i;
				hs->key_known = true;
				memcpy(hs->key, hs->ring->keys[i].verifier, AUTH_KEY_LEN);
			}
		}
		/* An unknown name gets a challenge under a random key: the client
		 * cannot tell it from a wrong key, so names cannot be probed. */
		if (!hs->key_known)
			randombytes_buf(hs->key, sizeof hs->key);
	} else {
		return auth_fail(hs, h, out, "authentication failed: unknown role in AuthHello", why);
	}
	hs->encrypt = hs->want_encrypt || hs->ring->encrypt;
	randombytes_buf(hs->nonce_a, sizeof hs->nonce_a);
	auth_transcript(hs);
	auth_proof(hs, AUTH_LABEL_ACCEPTOR, proof);
	c.nonce.data = hs->nonce_a;
	c.nonce.len = sizeof hs->nonce_a;
	c.proof.data = proof;
	c.proof.len = sizeof proof;
	if (hs->encrypt) {
		c.has_encrypt = 1;
		c.encrypt = 1;
	}
	frame_write(out, RCFS__MSG_TYPE__MSG_AUTH_CHALLENGE, FRAME_F_RESPONSE, h->request_id, &c.base);
	hs->state = AUTH_HS_ACCEPT_WAIT_PROOF;
	return AUTH_STEP_CONTINUE;
}

static enum auth_step
auth_accept_proof(struct auth_hs *hs, const struct frame_header *h, const Rcfs__AuthProof *m,
    struct evbuffer *out, const char **why)
{
	Rcfs__AuthOk ok = RCFS__AUTH_OK__INIT;

	if (!hs->key_known || !auth_proof_ok(hs, AUTH_LABEL_DIALLER, m->proof.data, m->proof.len))
		return auth_fail(hs, h, out, hs->role_wire == RCFS__AUTH_ROLE__AUTH_PEER
		    ? "authentication failed: wrong cluster key"
		    : "authentication failed: unknown or wrong API key", why);
	hs->granted = hs->role_wire == RCFS__AUTH_ROLE__AUTH_PEER ? AUTH_ROLE_PEER
	    : (enum auth_role)hs->ring->keys[hs->key_index].role;
	ok.role = (char *)auth_role_name(hs->granted);
	frame_write(out, RCFS__MSG_TYPE__MSG_AUTH_OK, FRAME_F_RESPONSE, h->request_id, &ok.base);
	auth_derive(hs, false);
	hs->state = AUTH_HS_DONE;
	return AUTH_STEP_DONE;
}

static enum auth_step
auth_dial_challenge(struct auth_hs *hs, const Rcfs__AuthChallenge *m, struct evbuffer *out,
    const char **why)
{
	Rcfs__AuthProof p = RCFS__AUTH_PROOF__INIT;
	uint8_t proof[crypto_auth_hmacsha512256_BYTES];

	if (m->nonce.len != AUTH_NONCE_LEN) {
		hs->state = AUTH_HS_FAILED;
		*why = "authentication failed: bad AuthChallenge";
		return AUTH_STEP_FAIL;
	}
	memcpy(hs->nonce_a, m->nonce.data, AUTH_NONCE_LEN);
	hs->encrypt = m->has_encrypt && m->encrypt;
	if (hs->want_encrypt && !hs->encrypt) {
		hs->state = AUTH_HS_FAILED;
		*why = "authentication failed: the node refused encryption";
		return AUTH_STEP_FAIL;
	}
	auth_transcript(hs);
	if (!auth_proof_ok(hs, AUTH_LABEL_ACCEPTOR, m->proof.data, m->proof.len)) {
		hs->state = AUTH_HS_FAILED;
		sodium_memzero(hs->key, sizeof hs->key);
		*why = hs->role_wire == RCFS__AUTH_ROLE__AUTH_PEER
		    ? "authentication failed: the node does not hold our cluster key"
		    : "authentication failed: the node does not know this key (wrong key or key name)";
		return AUTH_STEP_FAIL;
	}
	auth_proof(hs, AUTH_LABEL_DIALLER, proof);
	p.proof.data = proof;
	p.proof.len = sizeof proof;
	frame_write(out, RCFS__MSG_TYPE__MSG_AUTH_PROOF, 0, 0, &p.base);
	hs->state = AUTH_HS_DIAL_SENT_PROOF;
	return AUTH_STEP_CONTINUE;
}

enum auth_step
auth_step(struct auth_hs *hs, const struct frame_header *h, const ProtobufCMessage *msg,
    struct evbuffer *out, const char **why)
{
	switch (hs->state) {
	case AUTH_HS_ACCEPT_WAIT_HELLO:
		if (h->type != RCFS__MSG_TYPE__MSG_AUTH_HELLO)
			return auth_fail(hs, h, out,
			    "authentication required: this node accepts only authenticated connections "
			    "(give the client a key: --key-file or key_file in its config)", why);
		return auth_accept_hello(hs, h, (const Rcfs__AuthHello *)msg, out, why);
	case AUTH_HS_ACCEPT_WAIT_PROOF:
		if (h->type != RCFS__MSG_TYPE__MSG_AUTH_PROOF)
			return auth_fail(hs, h, out, "authentication failed: expected AuthProof", why);
		return auth_accept_proof(hs, h, (const Rcfs__AuthProof *)msg, out, why);
	case AUTH_HS_DIAL_SENT_HELLO:
	case AUTH_HS_DIAL_SENT_PROOF:
		if (h->type == RCFS__MSG_TYPE__MSG_ERROR) {
			const Rcfs__Error *e = (const Rcfs__Error *)msg;
			hs->state = AUTH_HS_FAILED;
			snprintf(hs->reason, sizeof hs->reason, "%s",
			    e->message != NULL ? e->message : "authentication failed: refused by the node");
			*why = hs->reason;
			return AUTH_STEP_FAIL;
		}
		if (hs->state == AUTH_HS_DIAL_SENT_HELLO && h->type == RCFS__MSG_TYPE__MSG_AUTH_CHALLENGE)
			return auth_dial_challenge(hs, (const Rcfs__AuthChallenge *)msg, out, why);
		if (hs->state == AUTH_HS_DIAL_SENT_PROOF && h->type == RCFS__MSG_TYPE__MSG_AUTH_OK) {
			const Rcfs__AuthOk *ok = (const Rcfs__AuthOk *)msg;
			hs->granted = ok->role != NULL ? auth_role_parse(ok->role) : AUTH_ROLE_NONE;
			auth_derive(hs, true);
			hs->state = AUTH_HS_DONE;
			return AUTH_STEP_DONE;
		}
		hs->state = AUTH_HS_FAILED;
		*why = "authentication failed: unexpected frame during the handshake";
		return AUTH_STEP_FAIL;
	default:
		*why = "authentication: handshake already finished";
		return AUTH_STEP_FAIL;
	}
}

void
auth_verifier(const uint8_t *key, uint8_t *verifier)
{
	static const char label[] = "rcfs-api-verifier-v1";

	crypto_generichash(verifier, AUTH_KEY_LEN, (const uint8_t *)label, sizeof label - 1, key,
	    AUTH_KEY_LEN);
}

void
auth_s3_secret(const uint8_t *verifier, char *out)
{
	static const char label[] = "rcfs-s3-secret-v1";
	uint8_t secret[AUTH_S3_SECRET_LEN / 2];

	crypto_generichash(secret, sizeof secret, (const uint8_t *)label, sizeof label - 1, verifier,
	    AUTH_KEY_LEN);
	sodium_bin2hex(out, AUTH_S3_SECRET_LEN + 1, secret, sizeof secret);
	sodium_memzero(secret, sizeof secret);
}

int
auth_s3_find(const struct config_client_key *keys, unsigned n, const char *key_id, char *secret)
{
	char id[AUTH_KEY_ID_LEN + 1];

	for (unsigned i = 0; i < n; i++) {
		auth_key_id(keys[i].verifier, id);
		if (strcmp(id, key_id) == 0) {
			auth_s3_secret(keys[i].verifier, secret);
			return (int)i;
		}
	}
	return -1;
}

void
auth_key_id(const uint8_t *verifier, char *out)
{
	static const char label[] = "rcfs-key-id-v1";
	uint8_t id[AUTH_KEY_ID_LEN / 2];

	crypto_generichash(id, sizeof id, (const uint8_t *)label, sizeof label - 1, verifier,
	    AUTH_KEY_LEN);
	sodium_bin2hex(out, AUTH_KEY_ID_LEN + 1, id, sizeof id);
}

int
auth_hex_parse(const char *hex, uint8_t *key)
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (strlen(hex) != 2 * AUTH_KEY_LEN)
		return -1;
	if (sodium_hex2bin(key, AUTH_KEY_LEN, hex, 2 * AUTH_KEY_LEN, NULL, &bin_len, &end) != 0 ||
	    bin_len != AUTH_KEY_LEN || *end != '\0')
		return -1;
	return 0;
}

int
auth_key_load(const char *path, uint8_t *key, char *err, size_t errlen)
{
	char buf[2 * AUTH_KEY_LEN + 3];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: mode %03o lets group or others read the key (chmod 600)",
		    path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (auth_hex_parse(buf, key) != 0) {
		sodium_memzero(buf, sizeof buf);
		snprintf(err, errlen, "%s: not a key (64 hex digits, as `rcfs keygen` writes)", path);
		return -1;
	}
	sodium_memzero(buf, sizeof buf);
	return 0;
}

const char *
auth_role_name(enum auth_role role)
{
	return role < AUTH_ROLE_MAX ? auth_role_names[role] : "?";
}

enum auth_role
auth_role_parse(const char *name)
{
	for (int r = AUTH_ROLE_READ_ONLY; r < AUTH_ROLE_MAX; r++)
		if (strcmp(name, auth_role_names[r]) == 0)
			return (enum auth_role)r;
	return AUTH_ROLE_NONE;
}

bool
auth_role_allows(enum auth_role role, uint8_t type)
{
	switch (type) {
	case RCFS__MSG_TYPE__MSG_STATUS:
	case RCFS__MSG_TYPE__MSG_CHUNK_GET:
	case RCFS__MSG_TYPE__MSG_FILE_STAT:
	case RCFS__MSG_TYPE__MSG_FILE_LIST:
	case RCFS__MSG_TYPE__MSG_BACKUP_GET:
		return role >= AUTH_ROLE_READ_ONLY;
	case RCFS__MSG_TYPE__MSG_CHUNK_PUT:
	case RCFS__MSG_TYPE__MSG_CHUNK_PROTECT:
	case RCFS__MSG_TYPE__MSG_FILE_COMMIT:
	case RCFS__MSG_TYPE__MSG_FILE_REMOVE:
	case RCFS__MSG_TYPE__MSG_FILE_RENAME:
		return role >= AUTH_ROLE_READ_WRITE;
	case RCFS__MSG_TYPE__MSG_MEMBER:
	case RCFS__MSG_TYPE__MSG_GC:
		return role == AUTH_ROLE_ADMIN || role == AUTH_ROLE_PEER;
	case RCFS__MSG_TYPE__MSG_PEER_HELLO:
	case RCFS__MSG_TYPE__MSG_RAFT:
		return role == AUTH_ROLE_PEER;
	default:
		return false;
	}
}
