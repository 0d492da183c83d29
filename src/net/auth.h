/* Authentication: keys, roles and the connection handshake (docs/security.md).
 *
 * Pure: no sockets, no event loop.  The handshake is a state machine fed one
 * decoded frame at a time; it appends the frames to send to an evbuffer.  Both
 * the node (src/net/conn.c, through bufferevents) and the blocking CLI
 * (client/client.c) drive it, and t/fuzz/ feeds it random frames.
 *
 *   dialler                                   acceptor
 *   AuthHello{role, nonce_d, node_id|key_id} ->
 *                          <- AuthChallenge{nonce_a, proof_a = HMAC(K, "acceptor" || T)}
 *   AuthProof{proof_d = HMAC(K, "dialler" || T)} ->
 *                          <- AuthOk{role}           (then only MACed frames)
 *
 * K is the cluster key (role peer) or the verifier of the client's API key
 * (role client); T is a BLAKE2b hash of every handshake field; HMAC is
 * HMAC-SHA512-256 (crypto_auth).  Both sides then derive the per-direction
 * session keys from K and T (crypto_kdf), so frames of one connection can
 * never be replayed on another. */
#ifndef RCFS_AUTH_H
#define RCFS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/frame.h"
#include "util/config.h"

struct evbuffer;

#define AUTH_KEY_LEN    CONFIG_KEY_LEN  /* 32: cluster keys, API keys, verifiers */
#define AUTH_NONCE_LEN  32
#define AUTH_KEY_ID_MAX 64      /* bytes of an API key's name */

/* What an authenticated connection may do (docs/security.md "roles"). */
enum auth_role {
	AUTH_ROLE_NONE = 0,     /* not authenticated */
	AUTH_ROLE_READ_ONLY,    /* Status, FileStat, FileList, ChunkGet */
	AUTH_ROLE_READ_WRITE,   /* ... and ChunkPut, FileCommit, FileRemove */
	AUTH_ROLE_ADMIN,        /* every client request */
	AUTH_ROLE_PEER,         /* a cluster member: client requests, Raft, replicas */
	AUTH_ROLE_MAX
};

/* Everything the acceptor side needs (owned by the node's config). */
struct auth_keyring {
	bool have_cluster_key;
	uint8_t cluster_key[AUTH_KEY_LEN];
	const struct config_client_key *keys;   /* API keys (role: enum auth_role) */
	unsigned nkeys;
	bool encrypt;                   /* insist on encrypted payloads */
};

enum auth_hs_state {
	AUTH_HS_DIAL_SENT_HELLO,        /* dialler: waiting for AuthChallenge */
	AUTH_HS_DIAL_SENT_PROOF,        /* dialler: waiting for AuthOk */
	AUTH_HS_ACCEPT_WAIT_HELLO,      /* acceptor: waiting for AuthHello */
	AUTH_HS_ACCEPT_WAIT_PROOF,      /* acceptor: waiting for AuthProof */
	AUTH_HS_DONE,                   /* session keys ready */
	AUTH_HS_FAILED,
	AUTH_HS_STATE_MAX
};

/* One handshake in progress. */
struct auth_hs {
	enum auth_hs_state state;
	const struct auth_keyring *ring;        /* acceptor only */
	uint8_t key[AUTH_KEY_LEN];              /* K */
	uint8_t nonce_d[AUTH_NONCE_LEN], nonce_a[AUTH_NONCE_LEN];
	uint8_t transcript[32];                 /* T */
	int role_wire;                          /* Rcfs__AuthRole asked for */
	uint64_t node_id;                       /* peer: the dialler's node id */
	char key_id[AUTH_KEY_ID_MAX + 1];       /* client: the API key's name */
	int key_index;                          /* acceptor: index in ring->keys, -1 if none */
	bool key_known;                         /* acceptor: key_id named a configured key */
	bool want_encrypt, encrypt;
	enum auth_role granted;                 /* when DONE */
	char reason[200];                       /* dialler: the node's refusal */
	struct frame_seal tx, rx;               /* when DONE: this side's directions */
};

/* Result of one handshake step. */
enum auth_step {
	AUTH_STEP_CONTINUE,     /* more frames needed */
	AUTH_STEP_DONE,         /* authenticated: hs->tx/rx/granted are set */
	AUTH_STEP_FAIL          /* refused: *why says why; an Error frame may be in out */
};

/* Start a handshake as the dialler with key K (the cluster key for a peer, the
 * verifier of the API key for a client): appends AuthHello to out.  For a
 * peer, node_id is ours; for a client, key_id names the key. */
void auth_dial_start(struct auth_hs *hs, const uint8_t *key, bool peer, uint64_t node_id,
    const char *key_id, bool encrypt, struct evbuffer *out);
/* Start a handshake as the acceptor (nothing is sent until AuthHello). */
void auth_accept_start(struct auth_hs *hs, const struct auth_keyring *ring);
/* Feed one frame received during the handshake (h, msg as decoded by
 * frame_read; msg stays the caller's).  Appends the reply, if any, to out. */
enum auth_step auth_step(struct auth_hs *hs, const struct frame_header *h,
    const ProtobufCMessage *msg, struct evbuffer *out, const char **why);
/* Wipe keys and nonces. */
void auth_hs_clear(struct auth_hs *hs);

/* verifier = BLAKE2b-256(message "rcfs-api-verifier-v1", key = API key): what
 * nodes store instead of the key (docs/security.md says what that implies). */
void auth_verifier(const uint8_t *key, uint8_t *verifier);

/* The name a client presents for its key: 16 hex digits of
 * BLAKE2b-128(message "rcfs-key-id-v1", key = verifier), NUL-terminated in
 * out[AUTH_KEY_ID_LEN + 1].  Derived, so a client needs only its key file. */
#define AUTH_KEY_ID_LEN 32
void auth_key_id(const uint8_t *verifier, char *out);

/* The S3 secret access key of API key `verifier` (docs/security.md "S3"):
 * 64 hex digits of BLAKE2b-256(message "rcfs-s3-secret-v1", key =
 * verifier), NUL-terminated in out[AUTH_S3_SECRET_LEN + 1].  Its access key
 * id is auth_key_id(verifier).  Derived from the verifier, so nodes know it
 * without the key, and a client computes it from its key file. */
#define AUTH_S3_SECRET_LEN 64
void auth_s3_secret(const uint8_t *verifier, char *out);
/* The API key among keys[0..n-1] whose access key id is key_id: its index,
 * with its S3 secret in secret[AUTH_S3_SECRET_LEN + 1]; -1 if none. */
int auth_s3_find(const struct config_client_key *keys, unsigned n, const char *key_id, char *secret);

/* Read a key file: 64 hex digits (optionally followed by a newline), as written
 * by `rcfs keygen`.  Refuses a file that group or others may access.  Returns
 * 0, or -1 with one line in err[errlen]. */
int auth_key_load(const char *path, uint8_t *key, char *err, size_t errlen);
/* Parse 64 hex digits into key[AUTH_KEY_LEN]: 0 or -1. */
int auth_hex_parse(const char *hex, uint8_t *key);

/* Role names used in configuration files: "read-only", "read-write",
 * "admin", "peer".  auth_role_parse returns AUTH_ROLE_NONE if unknown. */
const char *auth_role_name(enum auth_role role);
enum auth_role auth_role_parse(const char *name);
/* Whether role may send a request of frame type `type`. */
bool auth_role_allows(enum auth_role role, uint8_t type);

#endif
