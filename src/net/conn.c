#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include <sodium.h>

#include "net/conn.h"
#include "util/evread.h"
#include "util/log.h"
#include "util/time.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

/* Bytes one write on a connection may move (libevent's default is 16 KiB:
 * 64 system calls and loop turns to send a 1 MiB chunk; docs/benchmarks.md).
 * Reads do not go through the bufferevent, whose evbuffer_read moves 4 KiB
 * per call in libevent 2.1: a read event of our own takes what the socket
 * holds, up to CONN_MAX_SINGLE_READ, with one readv (evread).  Not more:
 * a wakeup that completes and serves several 1 MiB frames delays the Raft
 * timers behind it (docs/design.md "Reading sockets in larger pieces"). */
#define CONN_MAX_SINGLE_WRITE (1024 * 1024)
#define CONN_MAX_SINGLE_READ (64 * 1024)

enum conn_state {
	CONN_HANDSHAKE,     /* authenticating: frames go to net/auth.c */
	CONN_READING,       /* reading and serving frames */
	CONN_PAUSED,        /* not reading: too many requests in flight or output full */
	CONN_DRAINING,      /* refused: flushing the last (Error) frame, then closing */
	CONN_CLOSED,        /* socket gone; struct lives until the last reference */
	CONN_STATE_MAX
};

struct conn {
	struct bufferevent *bev;
	enum conn_state state;
	char *peer;
	uint32_t max_frame;
	uint32_t max_inflight;
	uint32_t inflight;
	unsigned refs;
	conn_frame_cb *on_frame;
	conn_close_cb *on_close;
	conn_auth_cb *on_auth;
	void *arg;
	struct auth_hs *hs;             /* during the handshake */
	bool sealed;                    /* authenticated: tx/rx in use */
	bool by_peer;                   /* closed because the peer closed it or the socket failed */
	struct frame_seal tx, rx;
	struct event *timer;            /* slow-sender / idle checks */
	struct event *rev;              /* the socket's reads (persistent; deleted while paused) */
	struct evbuffer *in;            /* bytes read, not yet framed (the bufferevent's
	                                 * own input is frozen to anyone but itself) */
	size_t in_max;                  /* input bound: one whole frame */
	bool serve_first;               /* resumed with frames buffered: serve them before reading */
	uint32_t idle_timeout_ms, frame_timeout_ms;
	uint64_t created_ms, last_active_ms, partial_since_ms;
	char drain_reason[256];         /* why a DRAINING connection will close */
};

static void conn_set_state(struct conn *c, enum conn_state s);
static void conn_serve(struct conn *c);
static void conn_sock_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_read_enable(struct conn *c, bool on);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_update_flow(struct conn *c);
static bool conn_output_full(const struct conn *c);
static void conn_handshake_frame(struct conn *c, const struct frame_header *h,
    ProtobufCMessage *msg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_arm_timer(struct conn *c);

static const char *const conn_state_names[] = {
	"handshake", "reading", "paused", "draining", "closed"
};

/* The one setter (house rule 6): checks the transition and traces it. */
static void
conn_set_state(struct conn *c, enum conn_state s)
{
	assert(s < CONN_STATE_MAX);
	assert(c->state != CONN_CLOSED || s == CONN_CLOSED);
	if (c->state == s)
		return;
	log_debug("conn %s: %s -> %s", c->peer, conn_state_names[c->state], conn_state_names[s]);
	c->state = s;
}

struct conn *
conn_new(struct event_base *base, evutil_socket_t fd, const char *peer, uint32_t max_frame,
    uint32_t max_inflight, conn_frame_cb *on_frame, conn_close_cb *on_close, void *arg)
{
	struct conn *c = xcalloc(1, sizeof *c);

	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return NULL;
	}
	c->peer = xstrdup(peer);
	c->max_frame = max_frame;
	c->max_inflight = max_inflight;
	c->on_frame = on_frame;
	c->on_close = on_close;
	c->arg = arg;
	c->refs = 1;                    /* the socket's own reference */
	c->state = CONN_READING;
	c->created_ms = c->last_active_ms = time_mono_ms();
	c->frame_timeout_ms = 10000;
	c->timer = evtimer_new(base, conn_timer_cb, c);
	/* Never buffer more than one whole frame of input. */
	c->in_max = FRAME_HEADER_LEN + (size_t)max_frame + FRAME_TRAILER_LEN;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, conn_sock_read_cb, c);
	c->in = evbuffer_new();
	if (c->rev == NULL || c->in == NULL) {
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->in != NULL)
			evbuffer_free(c->in);
		event_free(c->timer);
		bufferevent_free(c->bev);       /* closes fd */
		free(c->peer);
		free(c);
		return NULL;
	}
	/* Tell us when output has drained to one frame. */
	bufferevent_setwatermark(c->bev, EV_WRITE, FRAME_HEADER_LEN + (size_t)max_frame, 0);
	bufferevent_set_max_single_write(c->bev, CONN_MAX_SINGLE_WRITE);
	bufferevent_setcb(c->bev, NULL, conn_write_cb, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_WRITE);
	conn_read_enable(c, true);
	conn_arm_timer(c);
	return c;
}

void
conn_auth_accept(struct conn *c, const struct auth_keyring *ring, conn_auth_cb *cb)
{
	c->hs = xcalloc(1, sizeof *c->hs);
	auth_accept_start(c->hs, ring);
	c->on_auth = cb;
	conn_set_state(c, CONN_HANDSHAKE);
}

void
conn_auth_dial(struct conn *c, const uint8_t *key, uint64_t node_id, bool encrypt, conn_auth_cb *cb)
{
	c->hs = xcalloc(1, sizeof *c->hs);
	auth_dial_start(c->hs, key, true, node_id, NULL, encrypt, bufferevent_get_output(c->bev));
	c->on_auth = cb;
	conn_set_state(c, CONN_HANDSHAKE);
}

bool
conn_closed_by_peer(const struct conn *c)
{
	return c->by_peer;
}

bool
conn_ready(const struct conn *c)
{
	return c->state == CONN_READING || c->state == CONN_PAUSED;
}

bool
conn_in_handshake(const struct conn *c)
{
	return c->state == CONN_HANDSHAKE;
}

void
conn_set_timeouts(struct conn *c, uint32_t idle_timeout_ms, uint32_t frame_timeout_ms)
{
	c->idle_timeout_ms = idle_timeout_ms;
	c->frame_timeout_ms = frame_timeout_ms;
	if (c->state != CONN_CLOSED)
		conn_arm_timer(c);
}

/* Check the deadlines a few times per timeout period (at most once a second). */
static void
conn_arm_timer(struct conn *c)
{
	uint32_t ms = 1000;
	struct timeval tv;

	if (c->frame_timeout_ms > 0 && c->frame_timeout_ms / 4 < ms)
		ms = c->frame_timeout_ms / 4 > 10 ? c->frame_timeout_ms / 4 : 10;
	if (c->idle_timeout_ms > 0 && c->idle_timeout_ms / 4 < ms)
		ms = c->idle_timeout_ms / 4 > 10 ? c->idle_timeout_ms / 4 : 10;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	uint64_t now = time_mono_ms();
	char why[128];

	(void)fd; (void)what;
	if (c->state == CONN_CLOSED)
		return;
	if ((c->state == CONN_HANDSHAKE || c->state == CONN_DRAINING) && c->frame_timeout_ms > 0 &&
	    now - c->created_ms > c->frame_timeout_ms) {
		snprintf(why, sizeof why, "handshake not completed within %u ms", c->frame_timeout_ms);
		conn_close(c, c->state == CONN_DRAINING ? c->drain_reason : why);
		return;
	}
	if ((c->state == CONN_READING || c->state == CONN_HANDSHAKE) && c->partial_since_ms != 0 &&
	    c->frame_timeout_ms > 0 && now - c->partial_since_ms > c->frame_timeout_ms) {
		snprintf(why, sizeof why, "slow sender: frame incomplete after %u ms", c->frame_timeout_ms);
		conn_close(c, why);
		return;
	}
	if (c->idle_timeout_ms > 0 && c->inflight == 0 && c->state == CONN_READING &&
	    evbuffer_get_length(c->in) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 &&
	    now - c->last_active_ms > c->idle_timeout_ms) {
		snprintf(why, sizeof why, "idle for %u ms", c->idle_timeout_ms);
		conn_close(c, why);
		return;
	}
	conn_arm_timer(c);
}

void
conn_ref(struct conn *c)
{
	c->refs++;
}

void
conn_unref(struct conn *c)
{
	assert(c->refs > 0);
	if (--c->refs > 0)
		return;
	assert(c->state == CONN_CLOSED);
	sodium_memzero(&c->tx, sizeof c->tx);
	sodium_memzero(&c->rx, sizeof c->rx);
	free(c->peer);
	free(c);
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

static bool
conn_output_full(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    2 * (FRAME_HEADER_LEN + (size_t)c->max_frame);
}

/* Pause or resume reading according to the two limits. */
static void
conn_update_flow(struct conn *c)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->inflight >= c->max_inflight || conn_output_full(c)) {
		if (c->state == CONN_READING) {
			conn_read_enable(c, false);
			conn_set_state(c, CONN_PAUSED);
		}
	} else if (c->state == CONN_PAUSED) {
		conn_set_state(c, CONN_READING);
		conn_read_enable(c, true);
		/* Frames may already be buffered: serve them from the loop, never
		 * on the stack of whoever replied (a reply can come from inside
		 * the Raft driver's Ready handling, where no new request may
		 * start).  conn_close's event_free drops the pending callback. */
		if (evbuffer_get_length(c->in) > 0) {
			c->serve_first = true;
			event_active(c->rev, EV_READ, 0);
		}
	}
}

/* A frame received during the handshake. */
static void
conn_handshake_frame(struct conn *c, const struct frame_header *h, ProtobufCMessage *msg)
{
	const char *why = NULL;
	enum auth_step st = auth_step(c->hs, h, msg, bufferevent_get_output(c->bev), &why);
	char reason[256];

	protobuf_c_message_free_unpacked(msg, NULL);
	if (st == AUTH_STEP_CONTINUE)
		return;
	if (st == AUTH_STEP_FAIL) {
		snprintf(reason, sizeof reason, "%s", why);
		auth_hs_clear(c->hs);
		free(c->hs);
		c->hs = NULL;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
			conn_close(c, reason);
			return;
		}
		/* Let the Error frame out, then close (conn_write_cb). */
		snprintf(c->drain_reason, sizeof c->drain_reason, "%s", reason);
		conn_read_enable(c, false);
		conn_set_state(c, CONN_DRAINING);
		return;
	}
	{
		struct auth_hs *hs = c->hs;     /* ours now: on_auth may close c */
		c->hs = NULL;
		c->tx = hs->tx;
		c->rx = hs->rx;
		c->sealed = true;
		conn_set_state(c, CONN_READING);
		if (c->on_auth)
			c->on_auth(c, hs, c->arg);
		auth_hs_clear(hs);
		free(hs);
	}
}

static void
conn_read_enable(struct conn *c, bool on)
{
	if (on)
		event_add(c->rev, NULL);
	else
		event_del(c->rev);
}

/* The socket is readable, or a paused connection resumed with frames
 * buffered: serve those first (a peer that closed meanwhile must not cost
 * the frames it sent before), then take what the socket holds,
 * within the one-frame input bound, and serve that.  End of stream and
 * errors go where the bufferevent's would have. */
static void
conn_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)what;
	conn_ref(c);
	if (c->serve_first) {
		c->serve_first = false;
		conn_serve(c);
	}
	if ((c->state == CONN_READING || c->state == CONN_HANDSHAKE) &&
	    evbuffer_get_length(c->in) < c->in_max) {
		size_t room = c->in_max - evbuffer_get_length(c->in);
		int n = evread(c->in, fd, room < CONN_MAX_SINGLE_READ ? room : CONN_MAX_SINGLE_READ);

		if (n > 0)
			conn_serve(c);
		else if (n < 0 && errno == ENOMEM)
			conn_close(c, "out of memory for input");
		else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			conn_event_cb(c->bev, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), c);
	}
	conn_unref(c);
}

/* Hand every whole frame in c->in to the handshake or the owner. */
static void
conn_serve(struct conn *c)
{
	struct evbuffer *in = c->in;
	bool progress = false;

	conn_ref(c);
	c->last_active_ms = time_mono_ms();
	while (c->state == CONN_READING || c->state == CONN_HANDSHAKE) {
		struct frame_header h;
		ProtobufCMessage *msg = NULL;
		const char *why = NULL;
		enum frame_status fs = frame_read_sealed(in, c->max_frame, c->sealed ? &c->rx : NULL, &h,
		    &msg, &why);

		if (fs == FRAME_NEED_MORE)
			break;
		if (fs == FRAME_BAD) {
			conn_close(c, why);
			break;
		}
		metrics_add(rcfs_metrics.net_bytes_received, FRAME_HEADER_LEN + (uint64_t)h.length);
		progress = true;
		if (c->state == CONN_HANDSHAKE) {
			conn_handshake_frame(c, &h, msg);
			continue;
		}
		if (!(h.flags & FRAME_F_RESPONSE))
			c->inflight++;
		c->on_frame(c, &h, msg, c->arg);
		conn_update_flow(c);
	}
	/* Slow-sender clock: runs from the first byte of an incomplete frame. */
	if (c->state != CONN_CLOSED) {
		if (evbuffer_get_length(in) == 0)
			c->partial_since_ms = 0;
		else if (progress || c->partial_since_ms == 0)
			c->partial_since_ms = time_mono_ms();
	}
	conn_unref(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_DRAINING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_close(c, c->drain_reason);
		return;
	}
	conn_update_flow(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		c->by_peer = true;
		conn_close(c, NULL);
	} else if (what & BEV_EVENT_ERROR) {
		/* A socket error (refused, reset) is routine for a peer that is
		 * down: trace it, do not flood the log. */
		log_debug("connection %s: %s", c->peer,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		c->by_peer = true;
		conn_close(c, NULL);
	}
}

void
conn_close(struct conn *c, const char *reason)
{
	if (c->state == CONN_CLOSED)
		return;
	if (reason != NULL)
		log_warn("closing connection from %s: %s", c->peer, reason);
	else
		log_debug("connection from %s closed by peer", c->peer);
	conn_set_state(c, CONN_CLOSED);
	event_free(c->rev);
	c->rev = NULL;
	evbuffer_free(c->in);
	c->in = NULL;
	bufferevent_free(c->bev);
	c->bev = NULL;
	event_free(c->timer);
	c->timer = NULL;
	if (c->hs != NULL) {
		auth_hs_clear(c->hs);
		free(c->hs);
		c->hs = NULL;
	}
	if (c->on_close)
		c->on_close(c, reason ? reason : "closed by peer", c->arg);
	conn_unref(c);                  /* the socket's reference */
}

void
conn_send(struct conn *c, uint8_t type, uint32_t request_id, const ProtobufCMessage *msg)
{
	if (!conn_ready(c))
		return;
	metrics_add(rcfs_metrics.net_bytes_sent,
	    frame_write_sealed(bufferevent_get_output(c->bev), c->sealed ? &c->tx : NULL, type, 0,
	    request_id, msg));
}

void
conn_reply(struct conn *c, uint8_t type, uint32_t request_id, const ProtobufCMessage *msg)
{
	if (c->state == CONN_CLOSED)
		return;
	assert(c->inflight > 0);
	c->inflight--;
	c->last_active_ms = time_mono_ms();
	metrics_add(rcfs_metrics.net_bytes_sent,
	    frame_write_sealed(bufferevent_get_output(c->bev), c->sealed ? &c->tx : NULL, type,
	    FRAME_F_RESPONSE, request_id, msg));
	conn_update_flow(c);
}

void
conn_reply_none(struct conn *c)
{
	if (c->state == CONN_CLOSED)
		return;
	assert(c->inflight > 0);
	c->inflight--;
	conn_update_flow(c);
}

void
conn_reply_error(struct conn *c, uint32_t request_id, Rcfs__ErrorCode code, const char *why)
{
	if (c->state == CONN_CLOSED)
		return;
	assert(c->inflight > 0);
	c->inflight--;
	c->last_active_ms = time_mono_ms();
	metrics_add(rcfs_metrics.net_bytes_sent,
	    frame_write_error_sealed(bufferevent_get_output(c->bev), c->sealed ? &c->tx : NULL,
	    request_id, code, why));
	conn_update_flow(c);
}
