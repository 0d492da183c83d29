#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "net/conn.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/xmalloc.h"

enum conn_state {
	CONN_READING,       /* reading and serving frames */
	CONN_PAUSED,        /* not reading: too many requests in flight or output full */
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
	void *arg;
};

static void conn_set_state(struct conn *c, enum conn_state s);
static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);
static void conn_update_flow(struct conn *c);
static bool conn_output_full(const struct conn *c);

static const char *const conn_state_names[] = { "reading", "paused", "closed" };

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
	/* Never buffer more than one whole frame of input. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, FRAME_HEADER_LEN + (size_t)max_frame);
	/* Tell us when output has drained to one frame. */
	bufferevent_setwatermark(c->bev, EV_WRITE, FRAME_HEADER_LEN + (size_t)max_frame, 0);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
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
	free(c->peer);
	free(c);
}

bool
conn_is_open(const struct conn *c)
{
	return c->state != CONN_CLOSED;
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
			bufferevent_disable(c->bev, EV_READ);
			conn_set_state(c, CONN_PAUSED);
		}
	} else if (c->state == CONN_PAUSED) {
		conn_set_state(c, CONN_READING);
		bufferevent_enable(c->bev, EV_READ);
		/* Frames may already be buffered: serve them now. */
		conn_read_cb(c->bev, c);
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	conn_ref(c);
	while (c->state == CONN_READING) {
		struct frame_header h;
		ProtobufCMessage *msg = NULL;
		const char *why = NULL;
		enum frame_status fs = frame_read(in, c->max_frame, &h, &msg, &why);

		if (fs == FRAME_NEED_MORE)
			break;
		if (fs == FRAME_BAD) {
			conn_close(c, why);
			break;
		}
		metrics_add(rcfs_metrics.net_bytes_received, FRAME_HEADER_LEN + (uint64_t)h.length);
		if (!(h.flags & FRAME_F_RESPONSE))
			c->inflight++;
		c->on_frame(c, &h, msg, c->arg);
		conn_update_flow(c);
	}
	conn_unref(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_update_flow(arg);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		conn_close(c, NULL);
	} else if (what & BEV_EVENT_ERROR) {
		/* A socket error (refused, reset) is routine for a peer that is
		 * down: trace it, do not flood the log. */
		log_debug("connection %s: %s", c->peer,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
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
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->on_close)
		c->on_close(c, reason ? reason : "closed by peer", c->arg);
	conn_unref(c);                  /* the socket's reference */
}

void
conn_send(struct conn *c, uint8_t type, uint32_t request_id, const ProtobufCMessage *msg)
{
	if (c->state == CONN_CLOSED)
		return;
	metrics_add(rcfs_metrics.net_bytes_sent,
	    frame_write(bufferevent_get_output(c->bev), type, 0, request_id, msg));
}

void
conn_reply(struct conn *c, uint8_t type, uint32_t request_id, const ProtobufCMessage *msg)
{
	if (c->state == CONN_CLOSED)
		return;
	assert(c->inflight > 0);
	c->inflight--;
	metrics_add(rcfs_metrics.net_bytes_sent,
	    frame_write(bufferevent_get_output(c->bev), type, FRAME_F_RESPONSE, request_id, msg));
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
	metrics_add(rcfs_metrics.net_bytes_sent,
	    frame_write_error(bufferevent_get_output(c->bev), request_id, code, why));
	conn_update_flow(c);
}
