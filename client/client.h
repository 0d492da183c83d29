/* rcfs: the command-line client.  One blocking connection at a time, framed
 * exactly like the node's (src/net/frame.h), with pipelined requests. */
#ifndef RCFS_CLIENT_H
#define RCFS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "net/auth.h"
#include "net/frame.h"

/* Exit codes (documented in rcfs(1) and docs/protocol.md). */
enum {
	EX_RCFS_OK = 0,
	EX_RCFS_ERROR = 1,         /* anything else: internal error, bad request */
	EX_RCFS_USAGE = 2,         /* bad arguments or invalid name */
	EX_RCFS_NOTFOUND = 3,      /* no such file */
	EX_RCFS_UNAVAILABLE = 4,   /* no node reachable, no quorum/leader, timeout */
	EX_RCFS_INTEGRITY = 5,     /* a hash did not match: nothing corrupt was written */
	EX_RCFS_AUTH = 6,          /* authentication or authorization failure */
	EX_RCFS_FULL = 7,          /* storage full */
	EX_RCFS_LOCAL = 8,         /* local file could not be read or written */
	EX_RCFS_RATE_LIMITED = 9,  /* the node's rate limit for our key was hit */
	EX_RCFS_REFUSED = 10,      /* the cluster refused a membership change or a leadership
	                            * move (see the message), or a restore into a cluster
	                            * that holds files */
};

#define CLIENT_MAX_NODES 16

struct client {
	char *nodes[CLIENT_MAX_NODES];  /* "host:port" */
	int nnodes;
	int timeout_ms;                 /* per request: connect, or wait for a reply */
	int attempt_ms;                 /* while > 0: one try on one node (connect, send, a reply)
	                                 * waits at most this; set by callers whose requests
	                                 * are quick (hello) or slow (member, backup) */
	bool json;
	bool quiet;
	bool verbose;
	bool serializable;
	bool silent;                    /* client_fail prints nothing */
	int fd;                         /* -1: not connected */
	int node;                       /* index of the connected node */
	struct evbuffer *in;
	uint32_t next_id;
	uint64_t client_id;             /* random per invocation (dedup of retries) */
	uint64_t seq;
	/* from the node's StatusResponse */
	uint32_t chunk_size, max_frame, inline_max;
	/* authentication (docs/security.md) */
	bool have_key;
	uint8_t verifier[AUTH_KEY_LEN];         /* K for the handshake */
	char key_id[AUTH_KEY_ID_LEN + 1];
	bool encrypt;
	bool sealed;                            /* this connection is authenticated */
	struct frame_seal tx, rx;
	char auth_err[256];                     /* why the last handshake failed */
	bool refused;                           /* the last client_connect: every node failed for
						   good (refused, does not resolve, not host:port) */
	char last_err[1024];                    /* client_fail's last message (silent or not) */
	int operands;                   /* argv[operands..] of the command are names ("--") */
	bool literal;                   /* names are not patterns (a glob's matches) */
	/* the current command, for error lines: "rcfs: put x: ..." */
	const char *op;
	const char *target;
};

/* A command (tmux style): name, usage, handler. */
struct client_cmd {
	const char *name;
	const char *usage;
	int (*exec)(struct client *cl, int argc, char **argv);
	bool h_option;          /* -h is one of its options (ls -h), not help: --help only */
};

extern const struct client_cmd cmd_put_entry, cmd_get_entry, cmd_ls_entry, cmd_rm_entry,
    cmd_stat_entry, cmd_status_entry, cmd_member_entry, cmd_snapshot_entry, cmd_health_entry,
    cmd_cat_entry, cmd_cp_entry, cmd_mv_entry, cmd_du_entry, cmd_gc_entry;

/* `rcfs keygen FILE`: write a new key (client/keygen.c); needs no node. */
int keygen_main(int argc, char **argv);
/* Load an API key file into cl (verifier and key id).  0 or an exit code
 * after printing the error line. */
int client_load_key(struct client *cl, const char *path);

/* Run cmd on names this client produced (a tree's files, a pattern's
 * matches): argv[0..nopts) are options, the rest names, never patterns.
 * cl->operands and cl->literal are restored.  cmd's exit code. */
int client_run_names(struct client *cl, const struct client_cmd *cmd, int nopts, int argc,
    char **argv);
/* Whether argument i of the command (argv after its name) may be an option:
 * it starts with '-', is not "-" alone, and comes before "--". */
bool client_is_option(const struct client *cl, int i, const char *arg);

/* Print "rcfs: OP TARGET: message" to stderr and return `code`. */
int client_fail(struct client *cl, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Exit code for a node error code. */
int client_exit_code(Rcfs__ErrorCode code);

/* Connect to the first reachable node (in order, starting after the last one
 * tried).  Returns 0 or an exit code after printing the error line. */
int client_connect(struct client *cl);
void client_disconnect(struct client *cl);
/* Send a request; returns its request id.  Returns 0 on a write failure. */
uint32_t client_send(struct client *cl, uint8_t type, const ProtobufCMessage *msg);
/* Wait for the response to request `id` (responses to other ids are an error:
 * callers pipeline in order).  On success *msg is the payload (free with
 * protobuf_c_message_free_unpacked) and *type its message type.  Returns 0 or
 * an exit code after printing the error line; a node Error is reported with
 * its message. */
int client_recv(struct client *cl, uint32_t id, uint8_t want_type, ProtobufCMessage **msg);
/* Read the next frame, whatever its request id (for pipelined streams). */
int client_recv_frame(struct client *cl, struct frame_header *h, ProtobufCMessage **msg);
/* Turn an Error frame or a wrong type into an error line and exit code
 * (freeing *msg); 0 if *msg is a `want_type`. */
int client_check(struct client *cl, const struct frame_header *h, ProtobufCMessage **msg,
    uint8_t want_type);
/* Every file whose name starts with prefix, in name order, page by page
 * (FileList, linearizable unless --serializable): cb(arg, meta) for each,
 * meta valid during the call; a nonzero return from cb stops the walk and
 * is returned.  0, or an exit code after saying why. */
typedef int client_list_cb(void *arg, const Rcfs__FileMeta *meta);
int client_list(struct client *cl, const char *prefix, client_list_cb *cb, void *arg);
/* The tree forms (client/cmd-tree.c): put -r LOCALDIR PREFIX, get -r PREFIX
 * LOCALDIR, rm -r PREFIX.  PREFIX is a directory: "p" means "p/". */
int tree_put(struct client *cl, const char *dir, const char *prefix);
int tree_get(struct client *cl, const char *prefix, const char *dir, bool no_clobber);
int tree_rm(struct client *cl, const char *prefix);
/* Whether a NAME is a pattern (*, ? or [), and its matches in name order
 * (owned: tree_glob_free); no match is exit 3, said. */
bool tree_is_glob(const char *name);
int tree_glob(struct client *cl, const char *pattern, size_t *n, char ***names);
void tree_glob_free(size_t n, char **names);
/* client_call for a request that may legitimately take long to answer (a
 * membership change waits for its commit, a backup slice for a dump): one
 * try waits up to the whole timeout instead of client_attempt_ms. */
int client_call_patient(struct client *cl, uint8_t type, const ProtobufCMessage *req,
    uint8_t want_type, ProtobufCMessage **resp);
/* One request and its response. */
int client_call(struct client *cl, uint8_t type, const ProtobufCMessage *req, uint8_t want_type,
    ProtobufCMessage **resp);
/* How long one try on one node may wait in a path that retries on the next
 * node (client_call, put's chunk stream): a quarter of the timeout, within
 * 2..5 s, never more than the timeout. So a node that hangs (stopped, or its
 * link down: no RST) costs one try, not the whole timeout. */
int client_attempt_ms(const struct client *cl);
/* A stream (put's or get's chunks) failed a try with rv: if rv is worth
 * another node and *retry_until (set to now + timeout at the first failure
 * since the stream last made progress; the caller zeroes it on progress)
 * allows, back off, move to the next node and call resend(cl, arg), which
 * sends again what was not answered (0 on success); until one works.  0, or
 * the final error, said with the caller's `silent` restored. */
int client_stream_recover(struct client *cl, uint64_t *retry_until, bool silent, int rv,
    int (*resend)(struct client *cl, void *arg), void *arg);
/* Whether an exit code is worth another node: unavailable (connection lost or
 * timed out, storage down, no leader or quorum yet, shutting down). */
bool client_retryable(int code);

/* One node's own status (node at addr only, one try, at most timeout_ms, no
 * error line): 0 with *resp (free with rcfs__status_response__free_unpacked),
 * or the exit code (EX_RCFS_AUTH when it refused our key). */
int client_ask_status(const struct client *cl, const char *addr, int timeout_ms,
    Rcfs__StatusResponse **resp);
/* The same for any request: the node at addr only, one try, at most
 * timeout_ms, no error line; 0 with *resp (free with
 * protobuf_c_message_free_unpacked), or the exit code with the cause in
 * why[whylen] (why may be NULL). */
int client_ask_node(const struct client *cl, const char *addr, int timeout_ms, uint8_t type,
    const ProtobufCMessage *req, uint8_t want_type, ProtobufCMessage **resp, char *why,
    size_t whylen);
/* Fetch the node's limits (chunk size, inline max) into cl. */
int client_hello(struct client *cl);

/* JSON string output (escaped). */
void client_json_str(FILE *f, const char *s);
/* Monotonic ms. */
uint64_t client_now_ms(void);

/* Progress on stderr when it is a TTY (and not -q): bytes, rate, ETA. */
/* bytes in binary units into buf: "512 B", "7.6 MiB"; compact as ls -h
 * prints them: "512", "7.6M", "42G".  Returns buf. */
const char *client_size(char *buf, size_t len, uint64_t bytes, bool compact);
/* The progress line of put and get, on stderr when it is a terminal and
 * not -q: "put big.iso  [#######.......]  48%  2.0/4.2 GiB  105.3 MiB/s
 * ETA 21s", redrawn at most every 200 ms; progress_end clears it, and
 * progress_summary leaves "put big.iso: 4.2 GiB in 41.0 s, 105.3 MiB/s" (and
 * ", 1.0 GiB already stored" when a put found chunks the cluster had). */
struct progress {
	bool on, drawn;
	const char *op, *name;          /* borrowed from the client */
	uint64_t total;                 /* bytes; 0 = unknown */
	uint64_t done;
	uint64_t stored;                /* of done: bytes the cluster held already (not sent) */
	uint64_t start_ms, last_ms;
};
void progress_start(struct progress *p, struct client *cl, uint64_t total);
void progress_add(struct progress *p, uint64_t bytes);
void progress_end(struct progress *p);
void progress_summary(struct progress *p);

#endif
