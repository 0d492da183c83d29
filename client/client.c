#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "client/client.h"
#include "util/config.h"
#include "util/evread.h"
#include "util/xmalloc.h"

#define CLIENT_MAX_PAYLOAD (80u * 1024 * 1024)

static int client_connect_one(struct client *cl, const char *addr, char *why, size_t whylen,
    bool *definite);
static int client_wait(int fd, short events, uint64_t deadline);
static void client_use_node(struct client *cl, const char *addr);
static int client_count_reachable(struct client *cl);
static int client_handshake(struct client *cl, char *why, size_t whylen);

uint64_t
client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
client_fail(struct client *cl, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cl->last_err, sizeof cl->last_err, fmt, ap);
	va_end(ap);
	if (cl->silent)
		return code;
	if (cl->json) {
		/* --json: the error is one JSON object on stderr (stdout keeps
		 * only results): {"error":..., "code":EXIT, "op":..., "name":...}. */
		fprintf(stderr, "{\"error\":");
		client_json_str(stderr, cl->last_err);
		fprintf(stderr, ",\"code\":%d", code);
		if (cl->op != NULL) {
			fprintf(stderr, ",\"op\":");
			client_json_str(stderr, cl->op);
		}
		if (cl->target != NULL) {
			fprintf(stderr, ",\"name\":");
			client_json_str(stderr, cl->target);
		}
		fprintf(stderr, "}\n");
		return code;
	}
	fprintf(stderr, "rcfs: ");
	if (cl->op)
		fprintf(stderr, "%s%s%s: ", cl->op, cl->target ? " " : "", cl->target ? cl->target : "");
	fprintf(stderr, "%s\n", cl->last_err);
	return code;
}

int
client_run_names(struct client *cl, const struct client_cmd *cmd, int nopts, int argc, char **argv)
{
	int operands = cl->operands, rv;
	bool literal = cl->literal;

	cl->operands = nopts;
	cl->literal = true;
	rv = cmd->exec(cl, argc, argv);
	cl->operands = operands;
	cl->literal = literal;
	return rv;
}

bool
client_is_option(const struct client *cl, int i, const char *arg)
{
	return i < cl->operands && arg[0] == '-' && arg[1] != '\0';
}

int
client_exit_code(Rcfs__ErrorCode code)
{
	switch (code) {
	case RCFS__ERROR_CODE__E_OK: return EX_RCFS_OK;
	case RCFS__ERROR_CODE__E_NOT_FOUND: return EX_RCFS_NOTFOUND;
	case RCFS__ERROR_CODE__E_BAD_REQUEST: return EX_RCFS_USAGE;
	case RCFS__ERROR_CODE__E_UNAVAILABLE:
	case RCFS__ERROR_CODE__E_NO_QUORUM:
	case RCFS__ERROR_CODE__E_NOT_LEADER:
	case RCFS__ERROR_CODE__E_TIMEOUT: return EX_RCFS_UNAVAILABLE;
	case RCFS__ERROR_CODE__E_RATE_LIMITED: return EX_RCFS_RATE_LIMITED;
	case RCFS__ERROR_CODE__E_INTEGRITY: return EX_RCFS_INTEGRITY;
	case RCFS__ERROR_CODE__E_AUTH: return EX_RCFS_AUTH;
	case RCFS__ERROR_CODE__E_STORAGE_FULL: return EX_RCFS_FULL;
	case RCFS__ERROR_CODE__E_REFUSED: return EX_RCFS_REFUSED;
	case RCFS__ERROR_CODE__E_CONFLICT: return EX_RCFS_ERROR;
	default: return EX_RCFS_ERROR;
	}
}

/* Wait until fd is ready for `events` or the deadline passes: 1 ready, 0 timeout, -1 error. */
static int
client_wait(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = client_now_ms();
		struct pollfd pfd = { fd, events, 0 };
		int rv;

		if (now >= deadline)
			return 0;
		rv = poll(&pfd, 1, (int)(deadline - now));
		if (rv < 0 && errno == EINTR)
			continue;
		return rv < 0 ? -1 : rv;
	}
}

/* When one try on the connected node gives up (see client_attempt_ms). */
static uint64_t
client_try_deadline(const struct client *cl)
{
	return client_now_ms() + (uint64_t)(cl->attempt_ms > 0 ? cl->attempt_ms : cl->timeout_ms);
}

int
client_attempt_ms(const struct client *cl)
{
	int ms = cl->timeout_ms / 4;

	ms = ms < 2000 ? 2000 : ms > 5000 ? 5000 : ms;
	return ms < cl->timeout_ms ? ms : cl->timeout_ms;
}

bool
client_retryable(int code)
{
	return code == EX_RCFS_UNAVAILABLE;
}

int
client_stream_recover(struct client *cl, uint64_t *retry_until, bool silent, int rv,
    int (*resend)(struct client *cl, void *arg), void *arg)
{
	char why[sizeof cl->last_err];
	uint32_t backoff = 20;

	for (;;) {
		uint64_t now = client_now_ms();

		if (!client_retryable(rv))
			break;
		if (*retry_until == 0)
			*retry_until = now + (uint64_t)cl->timeout_ms;
		if (now + backoff >= *retry_until)
			break;
		if (cl->verbose)
			fprintf(stderr, "rcfs: %s: %s; trying the next node\n", cl->nodes[cl->node],
			    cl->last_err);
		usleep(backoff * 1000);
		backoff = backoff * 2 > 500 ? 500 : backoff * 2;
		client_disconnect(cl);          /* client_connect starts after this node */
		if ((rv = resend(cl, arg)) == 0)
			return 0;
	}
	snprintf(why, sizeof why, "%s", cl->last_err);
	cl->silent = silent;
	return client_fail(cl, rv, "%s", why);
}

static int
client_connect_one(struct client *cl, const char *addr, char *why, size_t whylen, bool *definite)
{
	char host[256], port[8];
	uint16_t p;
	struct addrinfo hints, *res = NULL, *ai;
	uint64_t deadline = client_try_deadline(cl);
	int fd = -1, rv, one = 1;

	*definite = true;       /* until a try fails in a way that may pass */
	if (config_split_hostport(addr, host, sizeof host, &p) != 0) {
		snprintf(why, whylen, "%s: not host:port", addr);
		return -1;
	}
	snprintf(port, sizeof port, "%u", p);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if ((rv = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, whylen, "%s: %s", addr, gai_strerror(rv));
		*definite = rv != EAI_AGAIN;
		return -1;
	}
	snprintf(why, whylen, "%s: unreachable", addr);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int err = 0;
		socklen_t len = sizeof err;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
			snprintf(why, whylen, "%s: %s", addr, strerror(errno));
			*definite = *definite && errno == ECONNREFUSED;
			close(fd);
			fd = -1;
			continue;
		}
		rv = client_wait(fd, POLLOUT, deadline);
		if (rv <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			snprintf(why, whylen, "%s: %s", addr, rv == 0 ? "connect timed out"
			    : strerror(err ? err : errno));
			*definite = *definite && rv > 0 && err == ECONNREFUSED;
			close(fd);
			fd = -1;
			continue;
		}
		break;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Run the handshake of net/auth.h on the fresh connection cl->fd (blocking,
 * bounded by the timeout).  0, or -1 with why (and cl->auth_err if the node
 * or the proofs refused us: a definite failure, not worth another node). */
static int
client_handshake(struct client *cl, char *why, size_t whylen)
{
	struct auth_hs hs;
	struct evbuffer *out = evbuffer_new();
	uint64_t deadline = client_try_deadline(cl);
	int rv = -1;

	auth_dial_start(&hs, cl->verifier, false, 0, cl->key_id, cl->encrypt, out);
	for (;;) {
		struct frame_header h;
		ProtobufCMessage *msg = NULL;
		const char *err = NULL;
		enum frame_status fs;
		enum auth_step st;

		while (evbuffer_get_length(out) > 0) {
			int n = evbuffer_write(out, cl->fd);
			if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
			    client_wait(cl->fd, POLLOUT, deadline) > 0)
				continue;
			if (n <= 0) {
				snprintf(why, whylen, "%s: connection lost during the handshake",
				    cl->nodes[cl->node]);
				goto out;
			}
		}
		fs = frame_read(cl->in, 1 << 16, &h, &msg, &err);
		if (fs == FRAME_BAD) {
			snprintf(why, whylen, "%s: bad handshake frame: %s", cl->nodes[cl->node], err);
			goto out;
		}
		if (fs == FRAME_NEED_MORE) {
			int w = client_wait(cl->fd, POLLIN, deadline);
			if (w <= 0 || evread(cl->in, cl->fd, 1 << 16) <= 0) {
				if (w > 0 && (errno == EINTR || errno == EAGAIN))
					continue;
				snprintf(why, whylen, "%s: %s during the handshake", cl->nodes[cl->node],
				    w == 0 ? "timed out" : "connection lost");
				goto out;
			}
			continue;
		}
		st = auth_step(&hs, &h, msg, out, &err);
		protobuf_c_message_free_unpacked(msg, NULL);
		if (st == AUTH_STEP_FAIL) {
			snprintf(cl->auth_err, sizeof cl->auth_err, "%s: %s", cl->nodes[cl->node], err);
			snprintf(why, whylen, "%s", cl->auth_err);
			goto out;
		}
		if (st == AUTH_STEP_DONE) {
			cl->tx = hs.tx;
			cl->rx = hs.rx;
			cl->sealed = true;
			if (cl->verbose)
				fprintf(stderr, "rcfs: %s: authenticated (%s%s)\n", cl->nodes[cl->node],
				    auth_role_name(hs.granted), hs.encrypt ? ", encrypted" : "");
			rv = 0;
			goto out;
		}
	}
out:
	auth_hs_clear(&hs);
	evbuffer_free(out);
	return rv;
}

int
client_connect(struct client *cl)
{
	char why[512] = "no nodes configured (use -n HOST:PORT, RCFS_NODES or a config file)";
	int reachable = 0, definite = 0;

	client_disconnect(cl);
	if (cl->in == NULL)
		cl->in = evbuffer_new();
	cl->auth_err[0] = '\0';
	for (int i = 0; i < cl->nnodes; i++) {
		int k = (cl->node + 1 + i) % cl->nnodes;
		bool sure;
		int fd = client_connect_one(cl, cl->nodes[k], why, sizeof why, &sure);
		if (fd >= 0) {
			cl->fd = fd;
			cl->node = k;
			if (cl->have_key && client_handshake(cl, why, sizeof why) != 0) {
				client_disconnect(cl);
				if (cl->auth_err[0] != '\0')
					return client_fail(cl, EX_RCFS_AUTH, "%s", cl->auth_err);
				continue;
			}
			reachable = 1;
			break;
		}
		definite += sure;
		if (cl->verbose)
			fprintf(stderr, "rcfs: %s\n", why);
	}
	/* Every node refused, does not resolve, or is no address: waiting
	 * would not change that (a node being restarted refuses too, but not
	 * all of them at once). */
	cl->refused = !reachable && cl->nnodes > 0 && definite == cl->nnodes;
	if (!reachable && cl->nnodes == 1)
		return client_fail(cl, EX_RCFS_UNAVAILABLE, "%s", why);
	if (!reachable)
		return client_fail(cl, EX_RCFS_UNAVAILABLE, "no node reachable (%d tried; last: %s)",
		    cl->nnodes, why);
	return 0;
}

int
client_load_key(struct client *cl, const char *path)
{
	uint8_t key[AUTH_KEY_LEN];
	char err[512];

	if (auth_key_load(path, key, err, sizeof err) != 0) {
		fprintf(stderr, "rcfs: key file %s\n", err);
		return EX_RCFS_AUTH;
	}
	auth_verifier(key, cl->verifier);
	auth_key_id(cl->verifier, cl->key_id);
	sodium_memzero(key, sizeof key);
	cl->have_key = true;
	return 0;
}

void
client_disconnect(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	cl->sealed = false;
	sodium_memzero(&cl->tx, sizeof cl->tx);
	sodium_memzero(&cl->rx, sizeof cl->rx);
	if (cl->in)
		evbuffer_drain(cl->in, evbuffer_get_length(cl->in));
}

uint32_t
client_send(struct client *cl, uint8_t type, const ProtobufCMessage *msg)
{
	struct evbuffer *out = evbuffer_new();
	uint32_t id = ++cl->next_id;
	uint64_t deadline = client_try_deadline(cl);

	if (id == 0)
		id = ++cl->next_id;
	frame_write_sealed(out, cl->sealed ? &cl->tx : NULL, type, 0, id, msg);
	while (evbuffer_get_length(out) > 0) {
		int n = evbuffer_write(out, cl->fd);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (client_wait(cl->fd, POLLOUT, deadline) <= 0) {
				id = 0;
				break;
			}
			continue;
		}
		if (n <= 0) {
			id = 0;
			break;
		}
	}
	evbuffer_free(out);
	return id;
}

int
client_recv_frame(struct client *cl, struct frame_header *h, ProtobufCMessage **msg)
{
	uint64_t deadline = client_try_deadline(cl);

	for (;;) {
		const char *why = NULL;
		enum frame_status fs = frame_read_sealed(cl->in, CLIENT_MAX_PAYLOAD,
		    cl->sealed ? &cl->rx : NULL, h, msg, &why);

		if (fs == FRAME_BAD)
			return client_fail(cl, EX_RCFS_ERROR, "bad frame from %s: %s", cl->nodes[cl->node], why);
		if (fs == FRAME_OK)
			return 0;
		int rv = client_wait(cl->fd, POLLIN, deadline);
		if (rv == 0)
			return client_fail(cl, EX_RCFS_UNAVAILABLE, "timed out after %d ms waiting for %s",
			    cl->attempt_ms > 0 ? cl->attempt_ms : cl->timeout_ms, cl->nodes[cl->node]);
		if (rv < 0 || evread(cl->in, cl->fd, 1 << 20) <= 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return client_fail(cl, EX_RCFS_UNAVAILABLE, "connection to %s lost",
			    cl->nodes[cl->node]);
		}
	}
}

int
client_check(struct client *cl, const struct frame_header *h, ProtobufCMessage **msg,
    uint8_t want_type)
{
	if (h->type == RCFS__MSG_TYPE__MSG_ERROR) {
		Rcfs__Error *e = (Rcfs__Error *)*msg;
		int code = client_exit_code(e->code);
		client_fail(cl, code, "%s", e->message ? e->message : "error");
		protobuf_c_message_free_unpacked(*msg, NULL);
		*msg = NULL;
		return code;
	}
	if (h->type != want_type) {
		protobuf_c_message_free_unpacked(*msg, NULL);
		*msg = NULL;
		return client_fail(cl, EX_RCFS_ERROR, "unexpected %s from %s", frame_type_name(h->type),
		    cl->nodes[cl->node]);
	}
	return 0;
}

int
client_recv(struct client *cl, uint32_t id, uint8_t want_type, ProtobufCMessage **msg)
{
	struct frame_header h;
	int rv = client_recv_frame(cl, &h, msg);

	if (rv != 0)
		return rv;
	if (h.request_id != id) {
		protobuf_c_message_free_unpacked(*msg, NULL);
		*msg = NULL;
		return client_fail(cl, EX_RCFS_ERROR, "response to an unknown request from %s",
		    cl->nodes[cl->node]);
	}
	return client_check(cl, &h, msg, want_type);
}

/* Switch to the node at addr (adding it to the list if it is new). */
static void
client_use_node(struct client *cl, const char *addr)
{
	int k;

	for (k = 0; k < cl->nnodes; k++)
		if (strcmp(cl->nodes[k], addr) == 0)
			break;
	if (k == cl->nnodes) {
		if (cl->nnodes == CLIENT_MAX_NODES)
			return;
		cl->nodes[cl->nnodes++] = xstrdup(addr);
	}
	/* client_connect starts after cl->node. */
	cl->node = (k + cl->nnodes - 1) % cl->nnodes;
}

/* How many configured nodes accept a connection now. */
static int
client_count_reachable(struct client *cl)
{
	int n = 0, saved = cl->attempt_ms;

	cl->attempt_ms = 1000;          /* a count, not a wait: 1 s a node at most */
	for (int i = 0; i < cl->nnodes; i++) {
		char why[256];
		bool sure;
		int fd = client_connect_one(cl, cl->nodes[i], why, sizeof why, &sure);
		if (fd >= 0) {
			close(fd);
			n++;
		}
	}
	cl->attempt_ms = saved;
	return n;
}

int
client_list(struct client *cl, const char *prefix, client_list_cb *cb, void *arg)
{
	Rcfs__FileList req = RCFS__FILE_LIST__INIT;
	char *after = xstrdup("");
	int rv = 0;

	for (bool more = true; more && rv == 0; ) {
		Rcfs__FileListResponse *resp;

		req.prefix = (char *)prefix;
		req.start_after = after;
		req.has_limit = 1;
		req.limit = 10000;
		req.has_serializable = cl->serializable;
		req.serializable = cl->serializable;
		if ((rv = client_call(cl, RCFS__MSG_TYPE__MSG_FILE_LIST, &req.base,
		    RCFS__MSG_TYPE__MSG_FILE_LIST_RESP, (ProtobufCMessage **)&resp)) != 0)
			break;
		for (size_t i = 0; i < resp->n_files && rv == 0; i++)
			rv = cb(arg, resp->files[i]);
		more = resp->more && resp->n_files > 0;
		if (resp->n_files > 0) {
			free(after);
			after = xstrdup(resp->files[resp->n_files - 1]->name);
		}
		rcfs__file_list_response__free_unpacked(resp, NULL);
	}
	free(after);
	return rv;
}

int
client_call_patient(struct client *cl, uint8_t type, const ProtobufCMessage *req,
    uint8_t want_type, ProtobufCMessage **resp)
{
	int saved = cl->attempt_ms, rv;

	cl->attempt_ms = cl->timeout_ms;
	rv = client_call(cl, type, req, want_type, resp);
	cl->attempt_ms = saved;
	return rv;
}

/* Bits set in x. */
static int
client_bits(uint32_t x)
{
	int n = 0;

	for (; x != 0; x &= x - 1)
		n++;
	return n;
}

int
client_call(struct client *cl, uint8_t type, const ProtobufCMessage *req, uint8_t want_type,
    ProtobufCMessage **resp)
{
	uint64_t deadline = client_now_ms() + (uint64_t)cl->timeout_ms;
	int saved_attempt = cl->attempt_ms;
	uint32_t backoff = 20;
	char last[512] = "no node reachable";
	int last_code = EX_RCFS_UNAVAILABLE;
	bool silent = cl->silent, no_leader = false, said = false;
	uint32_t unavailable = 0;       /* nodes that answered "storage unavailable" (bit per node) */

	/* Retry through elections and failovers until the deadline, following
	 * the leader hints nodes give (etcd clients do the same). */
	for (;;) {
		struct frame_header h;
		uint32_t id;
		int rv;
		uint64_t now = client_now_ms();

		/* One try waits at most client_attempt_ms, or what the caller
		 * set (a request known to be slow, or a quick probe), within the
		 * deadline. */
		cl->attempt_ms = saved_attempt > 0 ? saved_attempt : client_attempt_ms(cl);
		if (deadline <= now)
			cl->attempt_ms = 1;
		else if (deadline - now < (uint64_t)cl->attempt_ms)
			cl->attempt_ms = (int)(deadline - now);
		cl->silent = true;
		rv = cl->fd >= 0 ? 0 : client_connect(cl);
		if (rv == EX_RCFS_AUTH) {
			cl->attempt_ms = saved_attempt;
			cl->silent = silent;
			return client_fail(cl, rv, "%s", cl->auth_err);
		}
		if (rv != 0 && cl->refused) {   /* no one to wait for: say why at once */
			char why[sizeof cl->last_err];
			snprintf(why, sizeof why, "%s", cl->last_err);
			cl->attempt_ms = saved_attempt;
			cl->silent = silent;
			return client_fail(cl, rv, "%s", why);
		}
		if (rv == 0) {
			id = client_send(cl, type, req);
			rv = id == 0 ? EX_RCFS_UNAVAILABLE : client_recv_frame(cl, &h, resp);
			if (rv == 0 && h.request_id != id) {
				protobuf_c_message_free_unpacked(*resp, NULL);
				rv = EX_RCFS_ERROR;
			}
		}
		cl->attempt_ms = saved_attempt;
		cl->silent = silent;
		if (rv == 0 && h.type == RCFS__MSG_TYPE__MSG_ERROR) {
			Rcfs__Error *e = (Rcfs__Error *)*resp;
			snprintf(last, sizeof last, "%s", e->message ? e->message : "error");
			last_code = client_exit_code(e->code);
			if (e->code == RCFS__ERROR_CODE__E_NOT_LEADER && e->leader_address != NULL &&
			    e->leader_address[0] != '\0') {
				client_use_node(cl, e->leader_address);
				client_disconnect(cl);
				protobuf_c_message_free_unpacked(*resp, NULL);
				*resp = NULL;
				if (client_now_ms() >= deadline)
					break;
				continue;       /* straight to the leader */
			}
			no_leader = e->code == RCFS__ERROR_CODE__E_NOT_LEADER;
			/* A node whose storage is down fails fast; we try the
			 * others, but once every node said so there is no one left
			 * to wait for.  Counted per node: a leader whose redis died
			 * is asked again through every follower's hint until a new
			 * leader is elected, and that must not end the wait. */
			unavailable = e->code == RCFS__ERROR_CODE__E_UNAVAILABLE ?
			    unavailable | 1u << cl->node : 0;
			if (client_bits(unavailable) >= cl->nnodes ||
			    (e->code != RCFS__ERROR_CODE__E_NOT_LEADER &&
			    e->code != RCFS__ERROR_CODE__E_UNAVAILABLE &&
			    e->code != RCFS__ERROR_CODE__E_NO_QUORUM)) {
				/* A definite answer: not worth retrying. */
				client_fail(cl, last_code, "%s", last);
				protobuf_c_message_free_unpacked(*resp, NULL);
				*resp = NULL;
				return last_code;
			}
			protobuf_c_message_free_unpacked(*resp, NULL);
			*resp = NULL;
			client_disconnect(cl);  /* next node */
		} else if (rv == 0) {
			if (h.type != want_type) {
				protobuf_c_message_free_unpacked(*resp, NULL);
				*resp = NULL;
				return client_fail(cl, EX_RCFS_ERROR, "unexpected %s from %s",
				    frame_type_name(h.type), cl->nodes[cl->node]);
			}
			return 0;
		} else {
			if (cl->fd >= 0)
				snprintf(last, sizeof last, "connection to %s lost", cl->nodes[cl->node]);
			last_code = EX_RCFS_UNAVAILABLE;
			client_disconnect(cl);
		}
		if (client_now_ms() + backoff >= deadline)
			break;
		/* Say early what we wait for, once, on a terminal (etcdctl
		 * only says it at the end). */
		if (!said && client_now_ms() + (uint64_t)cl->timeout_ms >= deadline + 2000 && !silent &&
		    !cl->quiet && !cl->json && isatty(STDERR_FILENO)) {
			int up = client_count_reachable(cl);
			said = true;
			fprintf(stderr, "rcfs: %s%s%s: waiting (up to %d s) for %s: %d of %d nodes reachable "
			    "(a leader needs %d)\n", cl->op ? cl->op : "", cl->target ? " " : "",
			    cl->target ? cl->target : "", cl->timeout_ms / 1000,
			    no_leader || up < cl->nnodes / 2 + 1 ? "a leader" : "the cluster", up, cl->nnodes,
			    cl->nnodes / 2 + 1);
		}
		usleep(backoff * 1000);
		backoff = backoff * 2 > 500 ? 500 : backoff * 2;
	}
	if (no_leader || last_code == EX_RCFS_UNAVAILABLE) {
		int up = client_count_reachable(cl), need = cl->nnodes / 2 + 1;
		if (up < need)
			return client_fail(cl, EX_RCFS_UNAVAILABLE, "no leader: %d of %d nodes reachable (need %d)",
			    up, cl->nnodes, need);
	}
	return client_fail(cl, last_code, "%s", last);
}

int
client_hello(struct client *cl)
{
	Rcfs__StatusRequest req = RCFS__STATUS_REQUEST__INIT;
	Rcfs__StatusResponse *resp;
	int rv, saved = cl->attempt_ms;

	/* Any node will do, and a status answers in milliseconds unless the
	 * node's redis stalls (the answer waits for it): 1 s a try. */
	cl->attempt_ms = 1000;
	rv = client_call(cl, RCFS__MSG_TYPE__MSG_STATUS, &req.base, RCFS__MSG_TYPE__MSG_STATUS_RESP,
	    (ProtobufCMessage **)&resp);
	cl->attempt_ms = saved;
	if (rv != 0)
		return rv;
	cl->chunk_size = resp->has_chunk_size ? resp->chunk_size : 4u << 20;
	cl->max_frame = resp->has_max_frame ? resp->max_frame : cl->chunk_size + 65536;
	cl->inline_max = resp->has_inline_max ? resp->inline_max : 0;
	rcfs__status_response__free_unpacked(resp, NULL);
	return 0;
}

void
client_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void
progress_start(struct progress *p, struct client *cl, uint64_t total)
{
	memset(p, 0, sizeof *p);
	p->on = !cl->quiet && isatty(STDERR_FILENO);
	p->op = cl->op ? cl->op : "";
	p->name = cl->target ? cl->target : "";
	p->total = total;
	p->start_ms = p->last_ms = client_now_ms();
}

const char *
client_size(char *buf, size_t len, uint64_t bytes, bool compact)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, compact ? "%llu" : "%llu B", (unsigned long long)bytes);
	else if (compact)
		snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, unit[u][0]);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

void
progress_add(struct progress *p, uint64_t bytes)
{
	uint64_t now = client_now_ms(), el;
	double rate;
	char done[32], total[32], bar[21];

	p->done += bytes;
	if (!p->on || now - p->last_ms < 200)
		return;
	p->last_ms = now;
	el = now - p->start_ms ? now - p->start_ms : 1;
	rate = (double)p->done / 1048576.0 / ((double)el / 1000.0);
	client_size(done, sizeof done, p->done, false);
	if (p->total > 0) {
		/* A file that grows while it is read goes past its size. */
		double f = p->done >= p->total ? 1.0 : (double)p->done / (double)p->total;
		double eta = rate > 0 && p->done < p->total ?
		    (double)(p->total - p->done) / 1048576.0 / rate : 0;
		int k = (int)(f * 20);
		memset(bar, '#', (size_t)k);
		memset(bar + k, '.', (size_t)(20 - k));
		bar[20] = '\0';
		fprintf(stderr, "\r%s %.30s  [%s] %3.0f%%  %s/%s  %.1f MiB/s  ETA %.0fs ", p->op, p->name,
		    bar, 100.0 * f, done, client_size(total, sizeof total, p->total, false), rate, eta);
	} else {
		fprintf(stderr, "\r%s %.30s  %s  %.1f MiB/s ", p->op, p->name, done, rate);
	}
	p->drawn = true;
}

void
progress_end(struct progress *p)
{
	if (p->drawn)
		fprintf(stderr, "\r%*s\r", 140, "");
	p->drawn = false;
}

void
progress_summary(struct progress *p)
{
	uint64_t el = client_now_ms() - p->start_ms;
	char done[32], stored[32];

	progress_end(p);
	if (!p->on)
		return;
	fprintf(stderr, "%s %s: %s in %.1f s, %.1f MiB/s%s%s%s\n", p->op, p->name,
	    client_size(done, sizeof done, p->done, false), (double)el / 1000.0,
	    el > 0 ? (double)p->done / 1048576.0 / ((double)el / 1000.0) : 0.0,
	    p->stored > 0 ? ", " : "", p->stored > 0 ? client_size(stored, sizeof stored, p->stored, false) : "",
	    p->stored > 0 ? " already stored" : "");
}

int
client_ask_status(const struct client *cl, const char *addr, int timeout_ms,
    Rcfs__StatusResponse **resp)
{
	Rcfs__StatusRequest req = RCFS__STATUS_REQUEST__INIT;
	int rv = client_ask_node(cl, addr, timeout_ms, RCFS__MSG_TYPE__MSG_STATUS, &req.base,
	    RCFS__MSG_TYPE__MSG_STATUS_RESP, (ProtobufCMessage **)resp, NULL, 0);

	if (rv == 0 && (*resp)->n_nodes == 0) {
		rcfs__status_response__free_unpacked(*resp, NULL);
		*resp = NULL;
		rv = EX_RCFS_ERROR;
	}
	return rv;
}

int
client_ask_node(const struct client *cl, const char *addr, int timeout_ms, uint8_t type,
    const ProtobufCMessage *req, uint8_t want_type, ProtobufCMessage **resp, char *why,
    size_t whylen)
{
	struct client one = *cl;
	uint32_t id;
	int rv;

	*resp = NULL;
	one.nodes[0] = (char *)addr;
	one.nnodes = 1;
	one.node = 0;
	one.fd = -1;
	one.in = NULL;
	one.silent = true;
	one.sealed = false;
	one.timeout_ms = timeout_ms < cl->timeout_ms ? timeout_ms : cl->timeout_ms;
	rv = client_connect(&one);
	if (rv == 0 && (id = client_send(&one, type, req)) != 0)
		rv = client_recv(&one, id, want_type, resp);
	else if (rv == 0)
		rv = EX_RCFS_UNAVAILABLE;
	if (rv != 0 && why != NULL)
		snprintf(why, whylen, "%s", one.last_err[0] ? one.last_err : "no answer");
	client_disconnect(&one);
	if (one.in != NULL)
		evbuffer_free(one.in);
	return rv;
}
