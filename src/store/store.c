#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/util.h>
#include <hiredis/async.h>

#include "store/store.h"
#include "util/config.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"
#include "util/xmalloc.h"

#define STORE_BACKOFF_MIN_MS 50
#define STORE_BACKOFF_MAX_MS 2000

enum store_state { STORE_DOWN, STORE_CONNECTING, STORE_CHECKING, STORE_UP, STORE_STATE_MAX };

struct store_req {
	struct store *st;
	store_cb *cb;
	void *arg;
	struct event *ev;           /* timeout timer; also used to deliver deferred errors */
	enum store_err defer_err;   /* != STORE_OK: deliver this when ev fires */
	bool delivered;             /* the user callback has run */
	bool in_hiredis;            /* hiredis holds it as privdata */
	bool deferred;              /* on st->deferred: its failure is due from the loop */
	bool large;
	double t0;                  /* metrics_now() when sent to redis; 0: never sent */
	char *cmd;                  /* formatted command(s), until sent */
	long long cmdlen;
	size_t *parts;              /* a group: the length of each command in cmd */
	size_t nparts;              /* 0: cmd is one command */
	TAILQ_ENTRY(store_req) link; /* on st->waiting while the window is full */
};
TAILQ_HEAD(store_req_list, store_req);

#define STORE_AOF_CHECK_MS 2000        /* quiet-time AOF rewrite: how often to look */
#define STORE_AOF_QUIET_BYTES (256 * 1024)      /* AOF growth that still counts as quiet */
#define STORE_AOF_FAILED_WAIT_MS (10 * 60 * 1000) /* after a failed rewrite: leave it to redis */
#define STORE_AOF_OVERDUE_BYTES (4ull << 30)    /* past this growth (and 2 x busy %), out of turn */
/* Under load, at least this many times aof_min_bytes of growth (1 GiB by
 * default): every rewrite writes the whole dataset while writes wait for
 * fsyncs on the same disk, and rewrites from 64 MiB on (a fresh node's
 * base is 0) came one after the other during a 1 GiB put
 * (docs/benchmarks.md). */
#define STORE_AOF_BUSY_MIN_FACTOR 16

struct store {
	struct event_base *base;
	char *addr;
	char host[256];
	uint16_t port;
	bool is_unix;
	uint32_t timeout_ms;
	uint32_t window;
	bool allow_unsafe;
	redisAsyncContext *ac;
	enum store_state state;
	bool ever_up;
	uint32_t backoff_ms;
	struct event *reconnect_ev;
	struct event *recheck_ev;       /* redis still loading its AOF: ask again */
	struct store_req_list waiting;
	struct store_req_list deferred; /* failures to deliver from the loop (fail_later) */
	uint32_t large_inflight;
	store_state_cb *state_cb;
	void *state_arg;
	char why[512];
	char dir[512];          /* redis's working directory, from the last check ("" unknown) */
	bool freeing;
	bool unsafe;
	/* AOF rewrites in a lull (store_set_aof_policy) */
	struct event *aof_ev;
	uint32_t aof_growth_pct, aof_quiet_ms;
	uint64_t aof_min_bytes;
	uint64_t quiet_since_ms;        /* monotonic: the AOF has hardly grown since */
	uint64_t aof_failed_ms;         /* monotonic: when a failed rewrite was seen (0: none) */
	uint64_t quiet_size;            /* its size then */
	bool aof_asking;                /* an INFO persistence is out */
	/* rewrites under load, in turns (store_set_aof_turns) */
	uint32_t aof_busy_pct;
	store_aof_turn_fn *aof_turn;
	void *aof_turn_arg;
	uint64_t aof_started_ms;        /* monotonic: when rcfsd asked for the running rewrite (0: none) */
	bool aof_rewriting;             /* the last INFO found a rewrite running or scheduled */
	uint64_t aof_dataset;           /* redis's used_memory_dataset at the last look (bytes) */
};

static void store_set_state(struct store *st, enum store_state s, const char *why);
static void store_connect(struct store *st);
static void store_schedule_reconnect(struct store *st);
static void store_reconnect_cb(evutil_socket_t fd, short what, void *arg);
static void store_on_connect(const redisAsyncContext *ac, int status);
static void store_on_disconnect(const redisAsyncContext *ac, int status);
static void store_on_check(redisAsyncContext *ac, void *r, void *privdata);
static void store_on_reply(redisAsyncContext *ac, void *r, void *privdata);
static void store_on_loading(redisAsyncContext *ac, void *r, void *privdata);
static void store_recheck_cb(evutil_socket_t fd, short what, void *arg);
static void store_req_event(evutil_socket_t fd, short what, void *arg);
static void store_req_deliver(struct store_req *req, redisReply *reply, enum store_err err);
static void store_req_maybe_free(struct store_req *req);
static void store_req_fail_later(struct store_req *req, enum store_err err);
static void store_submit(struct store_req *req);
static uint64_t store_info_field(const char *info, const char *name);
static void store_send(struct store_req *req);
static void store_pump(struct store *st);
static void store_fail_waiting(struct store *st, enum store_err err);

static const char *const store_state_names[] = { "down", "connecting", "checking", "up" };

struct store *
store_new(struct event_base *base, const char *addr, uint32_t timeout_ms, uint32_t window,
    bool allow_unsafe)
{
	struct store *st = xcalloc(1, sizeof *st);

	st->base = base;
	st->addr = xstrdup(addr);
	if (strncmp(addr, "unix:", 5) == 0) {
		st->is_unix = true;
	} else if (config_split_hostport(addr, st->host, sizeof st->host, &st->port) != 0) {
		/* config validation guarantees the form; be safe anyway */
		snprintf(st->host, sizeof st->host, "127.0.0.1");
		st->port = 6379;
	}
	st->timeout_ms = timeout_ms;
	st->window = window ? window : 1;
	st->allow_unsafe = allow_unsafe;
	st->backoff_ms = STORE_BACKOFF_MIN_MS;
	st->reconnect_ev = evtimer_new(base, store_reconnect_cb, st);
	st->recheck_ev = evtimer_new(base, store_recheck_cb, st);
	TAILQ_INIT(&st->waiting);
	TAILQ_INIT(&st->deferred);
	snprintf(st->why, sizeof st->why, "not connected yet");
	return st;
}

void
store_set_state_cb(struct store *st, store_state_cb *cb, void *arg)
{
	st->state_cb = cb;
	st->state_arg = arg;
}

bool
store_is_up(const struct store *st)
{
	return st->state == STORE_UP;
}

bool
store_is_unsafe(const struct store *st)
{
	return st->unsafe;
}

const char *
store_dir(const struct store *st)
{
	return st->dir;
}

const char *
store_last_error(const struct store *st)
{
	return st->why;
}

/* The one setter for the connection state (house rule 6): traces every
 * transition and tells the owner when the store goes up or down. */
static void
store_set_state(struct store *st, enum store_state s, const char *why)
{
	enum store_state old = st->state;

	if (why != NULL)
		snprintf(st->why, sizeof st->why, "%s", why);
	if (old == s)
		return;
	st->state = s;
	metrics_set(rcfs_metrics.redis_up, s == STORE_UP);
	log_debug("store %s: %s -> %s%s%s", st->addr, store_state_names[old], store_state_names[s],
	    why ? ": " : "", why ? why : "");
	if (s == STORE_UP) {
		st->ever_up = true;
		st->backoff_ms = STORE_BACKOFF_MIN_MS;
		if (st->state_cb)
			st->state_cb(st, true, NULL, st->state_arg);
	} else if (old == STORE_UP || s == STORE_DOWN) {
		/* Nothing known about a redis we lost: the next INFO tells. */
		st->aof_rewriting = false;
		st->aof_dataset = 0;
		store_fail_waiting(st, STORE_ELOST);
		if (st->state_cb && !st->freeing)
			st->state_cb(st, false, st->why, st->state_arg);
	}
}

void
store_start(struct store *st)
{
	store_connect(st);
}

/* ---- the event adapter -------------------------------------------------------- */

/* hiredis 0.14's libevent adapter (adapters/libevent.h) registers a one-shot
 * read event: after every read, of at most 16 KiB (redisBufferRead's stack
 * buffer), hiredis re-adds it, an epoll_ctl to delete the descriptor and one
 * to add it back: three system calls and a turn of the loop per 16 KiB, 192
 * for a 1 MiB GET.  This one keeps the read event persistent (hiredis's
 * re-add is then a no-op) and reads on while the socket holds data, up to
 * STORE_READ_BURST reads (64 KiB) per wakeup: more let one callback hash and
 * serve several 1 MiB replies while heartbeats wait (with 128, elections under
 * a large put in sanitizer builds).  Writes are as in hiredis's adapter. */
#define STORE_READ_BURST 4

struct store_ev {
	redisAsyncContext *ac;
	struct event *rev, *wev;
	bool *alive;                    /* set by store_ev_read while it runs */
};

static void
store_ev_read(evutil_socket_t fd, short what, void *arg)
{
	struct store_ev *e = arg;
	redisAsyncContext *ac = e->ac;
	bool alive = true;

	(void)what;
	e->alive = &alive;
	for (int i = 0; i < STORE_READ_BURST; i++) {
		int ready = 0;

		redisAsyncHandleRead(ac);
		/* A reply callback may have freed the context, and e with it. */
		if (!alive)
			return;
		if (ioctl(fd, FIONREAD, &ready) != 0 || ready <= 0)
			break;
	}
	e->alive = NULL;
}

static void
store_ev_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	redisAsyncHandleWrite(((struct store_ev *)arg)->ac);
}

static void
store_ev_add_read(void *arg)
{
	event_add(((struct store_ev *)arg)->rev, NULL);
}

static void
store_ev_del_read(void *arg)
{
	event_del(((struct store_ev *)arg)->rev);
}

static void
store_ev_add_write(void *arg)
{
	event_add(((struct store_ev *)arg)->wev, NULL);
}

static void
store_ev_del_write(void *arg)
{
	event_del(((struct store_ev *)arg)->wev);
}

static void
store_ev_cleanup(void *arg)
{
	struct store_ev *e = arg;

	if (e->alive != NULL)
		*e->alive = false;
	event_free(e->rev);
	event_free(e->wev);
	free(e);
}

static void
store_ev_attach(redisAsyncContext *ac, struct event_base *base)
{
	struct store_ev *e = xcalloc(1, sizeof *e);

	e->ac = ac;
	e->rev = event_new(base, ac->c.fd, EV_READ | EV_PERSIST, store_ev_read, e);
	e->wev = event_new(base, ac->c.fd, EV_WRITE, store_ev_write, e);
	ac->ev.addRead = store_ev_add_read;
	ac->ev.delRead = store_ev_del_read;
	ac->ev.addWrite = store_ev_add_write;
	ac->ev.delWrite = store_ev_del_write;
	ac->ev.cleanup = store_ev_cleanup;
	ac->ev.data = e;
	event_add(e->rev, NULL);
	event_add(e->wev, NULL);
}

static void
store_connect(struct store *st)
{
	redisAsyncContext *ac;
	char why[300];

	if (st->is_unix)
		ac = redisAsyncConnectUnix(st->addr + 5);
	else
		ac = redisAsyncConnect(st->host, st->port);
	if (ac == NULL || ac->err) {
		snprintf(why, sizeof why, "redis %s: %s", st->addr, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		store_set_state(st, STORE_DOWN, why);
		store_schedule_reconnect(st);
		return;
	}
	ac->data = st;
	st->ac = ac;
	store_ev_attach(ac, st->base);
	redisAsyncSetConnectCallback(ac, store_on_connect);
	redisAsyncSetDisconnectCallback(ac, store_on_disconnect);
	store_set_state(st, STORE_CONNECTING, NULL);
}

static void
store_schedule_reconnect(struct store *st)
{
	struct timeval tv;
	uint32_t ms, jitter = 0;

	if (st->freeing)
		return;
	/* Exponential backoff with +-25% jitter, capped. */
	evutil_secure_rng_get_bytes(&jitter, sizeof jitter);
	ms = st->backoff_ms * 3 / 4 + jitter % (st->backoff_ms / 2 + 1);
	st->backoff_ms = st->backoff_ms * 2 > STORE_BACKOFF_MAX_MS ? STORE_BACKOFF_MAX_MS
	    : st->backoff_ms * 2;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(st->reconnect_ev, &tv);
}

static void
store_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	store_connect(arg);
}

/* hiredis 0.14 keeps every command in one output buffer and, after each
 * partial write, moves what is left to the buffer's start (sdsrange): with
 * storage_window 1 MiB SETs queued and the default ~200 KB socket buffer,
 * each write moved megabytes, quadratic in the bytes queued (a third of the
 * leader's CPU on 1 MiB puts, docs/benchmarks.md).  A socket buffer that
 * holds the window takes each SET in one write.  The kernel caps it at
 * net.core.wmem_max (4 MiB on Debian); failing is harmless. */
#define STORE_SNDBUF (4 * 1024 * 1024)

static void
store_grow_sndbuf(int fd)
{
	int want = STORE_SNDBUF;

	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
}

static void
store_on_connect(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;
	char why[300];

	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback, without calling
		 * the disconnect callback: forget it now. */
		snprintf(why, sizeof why, "redis %s: %s", st->addr, ac->errstr);
		st->ac = NULL;
		store_set_state(st, STORE_DOWN, why);
		store_schedule_reconnect(st);
		return;
	}
	store_grow_sndbuf(ac->c.fd);
	store_set_state(st, STORE_CHECKING, NULL);
	redisAsyncCommand(st->ac, store_on_check, st, "CONFIG GET *");
}

static void
store_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct store *st = ac->data;
	char why[300];

	(void)status;
	snprintf(why, sizeof why, "redis %s: connection lost%s%s", st->addr,
	    ac->errstr[0] ? ": " : "", ac->errstr);
	st->ac = NULL;
	store_set_state(st, STORE_DOWN, why);
	store_schedule_reconnect(st);
}

/* Durability checks: acknowledged data must survive a power cut, and nothing
 * stored may ever be evicted (the original prototype ran allkeys-lru). */
static void
store_on_check(redisAsyncContext *ac, void *r, void *privdata)
{
	struct store *st = privdata;
	redisReply *reply = r;
	const char *aof = NULL, *fsync = NULL, *policy = NULL;
	char why[300];

	(void)ac;
	if (reply == NULL)
		return;         /* disconnected: the disconnect callback handles it */
	if (reply->type != REDIS_REPLY_ARRAY) {
		snprintf(why, sizeof why, "redis %s: CONFIG GET failed: %s", st->addr,
		    reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		goto unsafe;
	}
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		const char *k = reply->element[i]->str, *v = reply->element[i + 1]->str;
		if (k == NULL || v == NULL)
			continue;
		if (strcmp(k, "appendonly") == 0) aof = v;
		else if (strcmp(k, "appendfsync") == 0) fsync = v;
		else if (strcmp(k, "maxmemory-policy") == 0) policy = v;
		else if (strcmp(k, "dir") == 0) snprintf(st->dir, sizeof st->dir, "%s", v);
	}
	if (!st->allow_unsafe) {
		if (aof == NULL || strcmp(aof, "yes") != 0) {
			snprintf(why, sizeof why, "redis %s: appendonly is '%s', need 'yes' "
			    "(or set allow_unsafe_storage = true)", st->addr, aof ? aof : "?");
			goto unsafe;
		}
		if (fsync == NULL || strcmp(fsync, "always") != 0) {
			snprintf(why, sizeof why, "redis %s: appendfsync is '%s', need 'always' "
			    "(or set allow_unsafe_storage = true)", st->addr, fsync ? fsync : "?");
			goto unsafe;
		}
		if (policy == NULL || strcmp(policy, "noeviction") != 0) {
			snprintf(why, sizeof why, "redis %s: maxmemory-policy is '%s', need 'noeviction' "
			    "(or set allow_unsafe_storage = true)", st->addr, policy ? policy : "?");
			goto unsafe;
		}
	}
	st->unsafe = false;
	/* Not up while redis replays its AOF: it would answer -LOADING.  Redis
	 * 7.0 takes several INFO sections; older ones refuse (see below). */
	redisAsyncCommand(st->ac, store_on_loading, st, "INFO server persistence");
	return;
unsafe:
	st->unsafe = true;
	snprintf(st->why, sizeof st->why, "%s", why);
	/* Stay down; the owner decides whether this is fatal (at start it is). */
	if (st->state_cb)
		st->state_cb(st, false, why, st->state_arg);
	if (st->ac) {
		redisAsyncDisconnect(st->ac);   /* -> store_on_disconnect -> retry */
	}
}

static void
store_on_loading(redisAsyncContext *ac, void *r, void *privdata)
{
	struct store *st = privdata;
	redisReply *reply = r;
	struct timeval tv = { 0, 100 * 1000 };

	(void)ac;
	if (reply == NULL)
		return;         /* disconnected: handled by the disconnect callback */
	if (reply->type != REDIS_REPLY_STRING || strstr(reply->str, "redis_version:") == NULL ||
	    atoi(strstr(reply->str, "redis_version:") + 14) < 7) {
		/* The chunk GC scripts use ZADD GT, PEXPIREAT NX/GT and script
		 * flags (fs/chunk.c, fs/fsm.c): 7.0 or later. */
		char why[300];
		const char *v = reply->type == REDIS_REPLY_STRING ? strstr(reply->str, "redis_version:") : NULL;
		snprintf(why, sizeof why, "redis %s is version %.*s: rcfsd needs redis 7.0 or later", st->addr,
		    v != NULL ? (int)strcspn(v + 14, "\r\n") : 9, v != NULL ? v + 14 : "before 7.0");
		st->unsafe = true;
		snprintf(st->why, sizeof st->why, "%s", why);
		if (st->state_cb)
			st->state_cb(st, false, why, st->state_arg);
		if (st->ac)
			redisAsyncDisconnect(st->ac);
		return;
	}
	if (reply->type == REDIS_REPLY_STRING && strstr(reply->str, "loading:1") != NULL) {
		snprintf(st->why, sizeof st->why, "redis %s is loading its data", st->addr);
		evtimer_add(st->recheck_ev, &tv);
		return;
	}
	store_set_state(st, STORE_UP, NULL);
	store_pump(st);
}

static void
store_recheck_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	(void)fd; (void)what;
	if (st->ac != NULL && st->state == STORE_CHECKING)
		redisAsyncCommand(st->ac, store_on_loading, st, "INFO server persistence");
}

void
store_command(struct store *st, int flags, store_cb *cb, void *arg, int argc, const char **argv,
    const size_t *argvlen)
{
	struct store_req *req = xcalloc(1, sizeof *req);

	req->st = st;
	req->cb = cb;
	req->arg = arg;
	req->large = (flags & STORE_LARGE) != 0;
	req->ev = evtimer_new(st->base, store_req_event, req);
	req->cmdlen = redisFormatCommandArgv(&req->cmd, argc, argv, argvlen);
	if (req->cmdlen < 0)
		abort();        /* only fails on out-of-memory */
	store_submit(req);
}

void
store_commandf(struct store *st, store_cb *cb, void *arg, const char *fmt, ...)
{
	struct store_req *req = xcalloc(1, sizeof *req);
	va_list ap;

	req->st = st;
	req->cb = cb;
	req->arg = arg;
	req->ev = evtimer_new(st->base, store_req_event, req);
	va_start(ap, fmt);
	req->cmdlen = redisvFormatCommand(&req->cmd, fmt, ap);
	va_end(ap);
	if (req->cmdlen < 0)
		abort();
	store_submit(req);
}

static void
store_submit(struct store_req *req)
{
	struct store *st = req->st;
	struct timeval tv = { st->timeout_ms / 1000, (st->timeout_ms % 1000) * 1000 };

	if (st->state != STORE_UP) {
		store_req_fail_later(req, STORE_EDOWN);
		return;
	}
	evtimer_add(req->ev, &tv);
	if (req->large && st->large_inflight >= st->window) {
		TAILQ_INSERT_TAIL(&st->waiting, req, link);
		return;
	}
	if (req->large)
		st->large_inflight++;
	store_send(req);
}

/* Hand a formatted command to hiredis (which then owns the callback).  While
 * hiredis tears a context down (our callbacks run with NULL replies before
 * the disconnect callback), it refuses new commands: those fail from the
 * loop instead of being lost. */
static void
store_send(struct store_req *req)
{
	struct store *st = req->st;

	size_t off = 0, i = 0;
	bool sent = st->ac != NULL;

	req->t0 = metrics_now();
	/* A group's commands go out back to back; only the last (EXEC) has a
	 * callback.  hiredis queues a reply slot for each, so replies stay
	 * matched.  hiredis refuses commands only while its context is going
	 * away, and then refuses the EXEC too: redis drops the open MULTI. */
	for (; sent && i + 1 < req->nparts; off += req->parts[i++])
		sent = redisAsyncFormattedCommand(st->ac, NULL, NULL, req->cmd + off, req->parts[i]) == REDIS_OK;
	if (!sent || redisAsyncFormattedCommand(st->ac, store_on_reply, req, req->cmd + off,
	    (size_t)req->cmdlen - off) != REDIS_OK) {
		if (req->large && st->large_inflight > 0)
			st->large_inflight--;
		store_req_fail_later(req, STORE_ELOST);
		return;
	}
	req->in_hiredis = true;
	free(req->cmd);
	req->cmd = NULL;
}

/* Send waiting large commands while the window has room. */
static void
store_pump(struct store *st)
{
	struct store_req *req;

	while (st->state == STORE_UP && st->large_inflight < st->window &&
	    (req = TAILQ_FIRST(&st->waiting)) != NULL) {
		TAILQ_REMOVE(&st->waiting, req, link);
		st->large_inflight++;
		store_send(req);
	}
}

static void
store_fail_waiting(struct store *st, enum store_err err)
{
	struct store_req *req;

	while ((req = TAILQ_FIRST(&st->waiting)) != NULL) {
		TAILQ_REMOVE(&st->waiting, req, link);
		store_req_fail_later(req, err);
	}
}

static void
store_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct store_req *req = privdata;
	struct store *st = req->st;

	(void)ac;
	req->in_hiredis = false;
	if (req->large && st->large_inflight > 0)
		st->large_inflight--;
	if (!req->delivered)
		store_req_deliver(req, r, r ? STORE_OK : STORE_ELOST);
	store_req_maybe_free(req);
	if (!st->freeing)
		store_pump(st);
}

static void
store_req_fail_later(struct store_req *req, enum store_err err)
{
	req->defer_err = err;
	req->deferred = true;
	TAILQ_INSERT_TAIL(&req->st->deferred, req, link);
	event_active(req->ev, EV_TIMEOUT, 0);
}

static void
store_req_event(evutil_socket_t fd, short what, void *arg)
{
	struct store_req *req = arg;
	enum store_err err = req->defer_err != STORE_OK ? req->defer_err : STORE_ETIMEOUT;

	(void)fd; (void)what;
	if (req->deferred) {
		TAILQ_REMOVE(&req->st->deferred, req, link);
		req->deferred = false;
	}
	if (req->delivered)
		return;
	if (req->defer_err == STORE_OK && req->cmd != NULL && !req->in_hiredis) {
		/* Still waiting for the window (or never sent): unlink it. */
		struct store_req *w;
		TAILQ_FOREACH(w, &req->st->waiting, link)
			if (w == req) {
				TAILQ_REMOVE(&req->st->waiting, req, link);
				break;
			}
	}
	store_req_deliver(req, NULL, err);
	store_req_maybe_free(req);
}

static void
store_req_deliver(struct store_req *req, redisReply *reply, enum store_err err)
{
	req->delivered = true;
	evtimer_del(req->ev);
	if (req->t0 != 0)
		metrics_observe_since(rcfs_metrics.redis_command_duration, req->t0);
	if (err != STORE_OK || (reply != NULL && reply->type == REDIS_REPLY_ERROR))
		metrics_inc(rcfs_metrics.redis_errors);
	if (req->cb)
		req->cb(req->st, reply, err, req->arg);
}

static void
store_req_maybe_free(struct store_req *req)
{
	if (!req->delivered || req->in_hiredis)
		return;
	free(req->cmd);
	free(req->parts);
	event_free(req->ev);
	free(req);
}

void
store_close(struct store *st)
{
	if (st == NULL || st->freeing)
		return;
	st->freeing = true;
	/* Down before the pending callbacks run: an owner that reacts to a
	 * failure by reloading must see that storage is gone for good. */
	st->state = STORE_DOWN;
	if (st->ac) {
		redisAsyncContext *ac = st->ac;
		st->ac = NULL;
		redisAsyncFree(ac);     /* pending callbacks get NULL -> STORE_ELOST */
	}
	/* Waiting requests fail now, synchronously: the loop is going away. */
	while (!TAILQ_EMPTY(&st->waiting)) {
		struct store_req *req = TAILQ_FIRST(&st->waiting);
		TAILQ_REMOVE(&st->waiting, req, link);
		store_req_deliver(req, NULL, STORE_ELOST);
		store_req_maybe_free(req);
	}
}

void
store_free(struct store *st)
{
	struct store_req *req;

	if (st == NULL)
		return;
	store_close(st);
	/* Commands issued since (by callbacks of the close, or by owners being
	 * freed) only wait for a loop that will not run again: drop them
	 * without a callback, their owners are gone. */
	while ((req = TAILQ_FIRST(&st->deferred)) != NULL) {
		TAILQ_REMOVE(&st->deferred, req, link);
		free(req->cmd);
		free(req->parts);
		event_free(req->ev);
		free(req);
	}
	event_free(st->reconnect_ev);
	event_free(st->recheck_ev);
	if (st->aof_ev != NULL)
		event_free(st->aof_ev);
	free(st->addr);
	free(st);
}

/* ---- AOF rewrites: in a lull, or in turns ------------------------------------------ */

/* Whether a rewrite now would free at least a third of the AOF's cur
 * bytes.  A rewrite writes what redis holds: its dataset in memory, less
 * what memory overstates (a 1 MiB chunk takes jemalloc's 1.25 MiB size
 * class; small keys carry per-key overhead), taken as 4/5 of it.  A store
 * that only grew (new chunks, nothing replaced or removed) gains nothing
 * from a rewrite, which then costs a full write of the dataset. */
static bool
store_aof_reclaims(const struct store *st, uint64_t cur)
{
	return cur / 3 * 2 >= st->aof_dataset / 5 * 4;
}

/* Whether the AOF, cur bytes and base after the last rewrite, has grown
 * pct % and aof_min_bytes over base. */
static bool
store_aof_grown(const struct store *st, uint64_t cur, uint64_t base, uint32_t pct)
{
	return cur >= base + st->aof_min_bytes && cur * 100 >= base * (100 + (uint64_t)pct);
}

static void
store_aof_start(struct store *st, const char *when, uint64_t cur, uint64_t base, bool failed)
{
	if (failed)
		st->aof_failed_ms = time_mono_ms();
	st->quiet_since_ms = 0;
	st->aof_started_ms = time_mono_ms();
	st->aof_rewriting = true;
	log_info("redis %s: AOF rewrite %s (%llu MiB, %llu MiB after the last)", st->addr, when,
	    (unsigned long long)(cur >> 20), (unsigned long long)(base >> 20));
	store_commandf(st, NULL, NULL, "BGREWRITEAOF");
}

static void
store_aof_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	uint64_t cur, base;
	bool failed, grew;

	(void)arg;
	st->aof_asking = false;
	if (err != STORE_OK || r == NULL || r->type != REDIS_REPLY_STRING ||
	    store_info_field(r->str, "aof_enabled") != 1)
		return;
	/* For store_aof_reclaims (0 if absent: every rewrite that is due runs). */
	st->aof_dataset = store_info_field(r->str, "used_memory_dataset");
	st->aof_rewriting = store_info_field(r->str, "aof_rewrite_in_progress") != 0 ||
	    store_info_field(r->str, "aof_rewrite_scheduled") != 0;
	if (st->aof_rewriting)
		return;
	if (st->aof_started_ms != 0) {  /* the end of the rewrite rcfsd asked for */
		log_info("redis %s: AOF rewrite done after %llu ms (%s)", st->addr,
		    (unsigned long long)(time_mono_ms() - st->aof_started_ms),
		    strstr(r->str, "aof_last_bgrewrite_status:ok") != NULL ? "ok" : "failed");
		st->aof_started_ms = 0;
	}
	/* A rewrite that failed (disk full, fork refused) is asked for at most
	 * once per STORE_AOF_FAILED_WAIT_MS, not every lull: redis retries with
	 * its own backoff meanwhile. */
	failed = strstr(r->str, "aof_last_bgrewrite_status:err") != NULL;
	if (!failed) {
		st->aof_failed_ms = 0;
	} else if (st->aof_failed_ms == 0) {
		st->aof_failed_ms = time_mono_ms();
		log_warn("redis %s: the last AOF rewrite failed (see its log): asking for one at most every "
		    "%d minutes", st->addr, STORE_AOF_FAILED_WAIT_MS / 60000);
	}
	if (failed && time_mono_ms() - st->aof_failed_ms < STORE_AOF_FAILED_WAIT_MS)
		return;
	cur = store_info_field(r->str, "aof_current_size");
	base = store_info_field(r->str, "aof_base_size");
	grew = st->quiet_since_ms != 0 && (cur > st->quiet_size + STORE_AOF_QUIET_BYTES ||
	    cur < st->quiet_size);
	if (st->quiet_since_ms == 0 || grew) {
		st->quiet_since_ms = time_mono_ms();    /* writes go on: wait for a lull */
		st->quiet_size = cur;
		if (!grew || st->aof_busy_pct == 0 || !store_aof_grown(st, cur, base, st->aof_busy_pct) ||
		    cur < base + STORE_AOF_BUSY_MIN_FACTOR * st->aof_min_bytes ||
		    !store_aof_reclaims(st, cur))
			return;
		if (st->aof_turn(st->aof_turn_arg))
			store_aof_start(st, "under load, in this node's turn", cur, base, failed);
		else if (cur >= base + STORE_AOF_OVERDUE_BYTES &&
		    store_aof_grown(st, cur, base, 2 * st->aof_busy_pct))
			store_aof_start(st, "overdue, out of turn", cur, base, failed);
		return;
	}
	if (st->aof_growth_pct == 0 || time_mono_ms() - st->quiet_since_ms < st->aof_quiet_ms ||
	    !store_aof_grown(st, cur, base, st->aof_growth_pct) || !store_aof_reclaims(st, cur))
		return;
	store_aof_start(st, "while writes are quiet", cur, base, failed);
}

static void
store_aof_tick(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	(void)fd; (void)what;
	if (st->state != STORE_UP || st->aof_asking)
		return;
	st->aof_asking = true;
	/* Two sections in one INFO: redis 7.0 on (docs/deploy.md). */
	store_commandf(st, store_aof_reply, NULL, "INFO persistence memory");
}

void
store_set_aof_policy(struct store *st, uint32_t growth_pct, uint64_t min_bytes, uint32_t quiet_ms)
{
	struct timeval tv = { STORE_AOF_CHECK_MS / 1000, (STORE_AOF_CHECK_MS % 1000) * 1000 };

	st->aof_growth_pct = growth_pct;
	st->aof_min_bytes = min_bytes;
	st->aof_quiet_ms = quiet_ms;
	if (st->aof_ev == NULL && (growth_pct > 0 || st->aof_busy_pct > 0)) {
		st->aof_ev = event_new(st->base, -1, EV_PERSIST, store_aof_tick, st);
		event_add(st->aof_ev, &tv);
	}
}

bool
store_aof_rewriting(const struct store *st)
{
	return st->state == STORE_UP && st->aof_rewriting;
}

void
store_set_aof_turns(struct store *st, uint32_t busy_growth_pct, store_aof_turn_fn *turn, void *arg)
{
	st->aof_busy_pct = turn != NULL ? busy_growth_pct : 0;
	st->aof_turn = turn;
	st->aof_turn_arg = arg;
}

Rcfs__ErrorCode
store_result(const redisReply *r, enum store_err err, const char **why)
{
	switch (err) {
	case STORE_OK:
		break;
	case STORE_EDOWN:
		*why = "storage unavailable";
		return RCFS__ERROR_CODE__E_UNAVAILABLE;
	case STORE_ETIMEOUT:
		*why = "storage timed out";
		return RCFS__ERROR_CODE__E_TIMEOUT;
	default:
		*why = "storage connection lost";
		return RCFS__ERROR_CODE__E_UNAVAILABLE;
	}
	if (r == NULL || r->type != REDIS_REPLY_ERROR) {
		*why = NULL;
		return RCFS__ERROR_CODE__E_OK;
	}
	if (r->str != NULL && strncmp(r->str, "OOM", 3) == 0) {
		*why = "storage full";
		return RCFS__ERROR_CODE__E_STORAGE_FULL;
	}
	*why = r->str != NULL ? r->str : "storage error";
	return RCFS__ERROR_CODE__E_INTERNAL;
}

/* ---- groups (MULTI ... EXEC) ---------------------------------------------------- */

struct store_group {
	char *buf;                  /* the formatted commands, MULTI first */
	size_t len, cap;
	size_t *parts;              /* length of each command in buf */
	size_t nparts, capparts;
	Rcfs__ErrorCode fail_code;  /* != E_OK: store_group_fail() was called */
	const char *fail_why;
};

static void
store_group_push(struct store_group *g, char *cmd, long long len)
{
	if (len < 0)
		abort();        /* hiredis formats fail only on out-of-memory */
	if (g->len + (size_t)len > g->cap) {
		g->cap = 2 * (g->len + (size_t)len);
		g->buf = xrealloc(g->buf, g->cap);
	}
	if (g->nparts == g->capparts) {
		g->capparts = g->capparts ? 2 * g->capparts : 8;
		g->parts = xrealloc(g->parts, g->capparts * sizeof *g->parts);
	}
	memcpy(g->buf + g->len, cmd, (size_t)len);
	g->len += (size_t)len;
	g->parts[g->nparts++] = (size_t)len;
	redisFreeCommand(cmd);
}

struct store_group *
store_group_new(void)
{
	struct store_group *g = xcalloc(1, sizeof *g);
	char *cmd;

	store_group_push(g, cmd, redisFormatCommand(&cmd, "MULTI"));
	return g;
}

void
store_group_add(struct store_group *g, int argc, const char **argv, const size_t *argvlen)
{
	char *cmd;
	long long len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);

	store_group_push(g, cmd, len);
}

void
store_group_addf(struct store_group *g, const char *fmt, ...)
{
	char *cmd;
	long long len;
	va_list ap;

	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	store_group_push(g, cmd, len);
}

void
store_group_fail(struct store_group *g, Rcfs__ErrorCode code, const char *why)
{
	if (g->fail_code == RCFS__ERROR_CODE__E_OK) {
		g->fail_code = code;
		g->fail_why = why;
	}
}

size_t
store_group_size(const struct store_group *g)
{
	return g->nparts - 1;
}

struct store_group_call {
	store_group_cb *cb;
	void *arg;
	Rcfs__ErrorCode fail_code;
	char *fail_why;
};

static void
store_group_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct store_group_call *call = arg;
	const char *why = NULL;
	Rcfs__ErrorCode code = store_result(r, err, &why);

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && r->type != REDIS_REPLY_ARRAY) {
		code = RCFS__ERROR_CODE__E_INTERNAL;    /* EXEC aborted (nil) */
		why = "storage transaction aborted";
	}
	for (size_t i = 0; code == RCFS__ERROR_CODE__E_OK && i < r->elements; i++)
		code = store_result(r->element[i], STORE_OK, &why);
	if (call->cb != NULL)
		call->cb(call->arg, code, why);
	free(call);
}

static void
store_group_failed(evutil_socket_t fd, short what, void *arg)
{
	struct store_group_call *call = arg;

	(void)fd; (void)what;
	if (call->cb != NULL)
		call->cb(call->arg, call->fail_code, call->fail_why);
	free(call->fail_why);
	free(call);
}

void
store_group_send(struct store *st, struct store_group *g, int flags, store_group_cb *cb, void *arg)
{
	struct store_group_call *call = xcalloc(1, sizeof *call);
	struct store_req *req;
	char *cmd;

	call->cb = cb;
	call->arg = arg;
	if (g->fail_code != RCFS__ERROR_CODE__E_OK) {
		call->fail_code = g->fail_code;
		call->fail_why = xstrdup(g->fail_why);
		if (event_base_once(st->base, -1, EV_TIMEOUT, store_group_failed, call, NULL) != 0)
			abort();
	} else {
		store_group_push(g, cmd, redisFormatCommand(&cmd, "EXEC"));
		req = xcalloc(1, sizeof *req);
		req->st = st;
		req->cb = store_group_reply;
		req->arg = call;
		req->large = (flags & STORE_LARGE) != 0;
		req->ev = evtimer_new(st->base, store_req_event, req);
		req->cmd = g->buf;
		req->cmdlen = (long long)g->len;
		req->parts = g->parts;
		req->nparts = g->nparts;
		g->buf = NULL;
		g->parts = NULL;
		store_submit(req);
	}
	free(g->buf);
	free(g->parts);
	free(g);
}

/* ---- small typed reads --------------------------------------------------------- */

struct store_read_call {
	store_uint_cb *uint_cb;
	store_memory_cb *memory_cb;
	void *arg;
};

static void
store_uint_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct store_read_call *call = arg;
	const char *why = NULL;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	uint64_t v = 0;
	bool found = false;

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && r->type == REDIS_REPLY_STRING) {
		v = strtoull(r->str, NULL, 10);
		found = true;
	} else if (code == RCFS__ERROR_CODE__E_OK && r->type == REDIS_REPLY_INTEGER) {
		v = (uint64_t)r->integer;
		found = true;
	}
	call->uint_cb(call->arg, code, why, v, found);
	free(call);
}

void
store_get_uint(struct store *st, const char *key, store_uint_cb *cb, void *arg)
{
	struct store_read_call *call = xcalloc(1, sizeof *call);

	call->uint_cb = cb;
	call->arg = arg;
	store_commandf(st, store_uint_reply, call, "GET %s", key);
}

/* The value of "\nname:" in an INFO reply, 0 if absent. */
static uint64_t
store_info_field(const char *info, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = info; (p = strstr(p, name)) != NULL; p += n)
		if ((p == info || p[-1] == '\n') && p[n] == ':')
			return strtoull(p + n + 1, NULL, 10);
	return 0;
}

static void
store_memory_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct store_read_call *call = arg;
	const char *why = NULL;
	Rcfs__ErrorCode code = store_result(r, err, &why);

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && r->type != REDIS_REPLY_STRING) {
		code = RCFS__ERROR_CODE__E_INTERNAL;
		why = "unexpected reply to INFO memory";
	}
	if (code != RCFS__ERROR_CODE__E_OK)
		call->memory_cb(call->arg, code, why, 0, 0);
	else
		call->memory_cb(call->arg, code, NULL, store_info_field(r->str, "used_memory"),
		    store_info_field(r->str, "maxmemory"));
	free(call);
}

void
store_memory(struct store *st, store_memory_cb *cb, void *arg)
{
	struct store_read_call *call = xcalloc(1, sizeof *call);

	call->memory_cb = cb;
	call->arg = arg;
	store_commandf(st, store_memory_reply, call, "INFO memory");
}
