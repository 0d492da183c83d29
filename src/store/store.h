/* Async access to the node's own redis-server (hiredis 0.14 + libevent adapter).
 *
 * hiredis 0.14 has no command timeouts and no reconnect, so this module adds
 * both: every command has its own timer, and a lost connection is replaced by a
 * new context after an exponential backoff with jitter.  Every callback runs
 * exactly once and never from inside store_command() (no re-entrancy).
 *
 * Large writes (chunk SETs) go through a small window (storage_window): redis
 * with appendfsync always collapses under many large SETs in flight. */
#ifndef RCFS_STORE_H
#define RCFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

struct event_base;
struct store;

enum store_err {
	STORE_OK = 0,
	STORE_EDOWN,        /* not connected: failed fast without sending */
	STORE_ETIMEOUT,     /* no reply within redis_timeout_ms (the command may still run) */
	STORE_ELOST,        /* connection lost before the reply */
	STORE_EUNSAFE,      /* redis is configured unsafely (see store_on_state) */
};

/* A reply callback.  On STORE_OK `reply` is valid only during the call (hiredis
 * frees it afterwards: copy out what you keep); it may be REDIS_REPLY_ERROR.
 * Otherwise `reply` is NULL. */
typedef void store_cb(struct store *st, redisReply *reply, enum store_err err, void *arg);

/* Called on every connection state change.  `why` is a one-line reason when
 * going down (static or valid only during the call). */
typedef void store_state_cb(struct store *st, bool up, const char *why, void *arg);

#define STORE_LARGE 0x1     /* command carries a large value: use the window */

/* Create a store for `addr` ("unix:/path" or "host:port").  timeout_ms: per
 * command; window: large commands in flight; allow_unsafe: skip the durability
 * checks (appendonly yes, appendfsync always, maxmemory-policy noeviction). */
struct store *store_new(struct event_base *base, const char *addr, uint32_t timeout_ms,
    uint32_t window, bool allow_unsafe);
void store_set_state_cb(struct store *st, store_state_cb *cb, void *arg);
/* Start connecting (asynchronously). */
void store_start(struct store *st);
bool store_is_up(const struct store *st);
/* True while the last check found redis configured unsafely. */
bool store_is_unsafe(const struct store *st);
/* Last reason the store went down (static string or internal buffer). */
const char *store_last_error(const struct store *st);

/* Send one command given as argv/argvlen (binary-safe).  The callback always
 * runs later, exactly once.  The arguments are copied before return. */
void store_command(struct store *st, int flags, store_cb *cb, void *arg, int argc,
    const char **argv, const size_t *argvlen);
/* printf-style variant for small commands (hiredis format, %b for binary). */
void store_commandf(struct store *st, store_cb *cb, void *arg, const char *fmt, ...);

/* Disconnect for good: every pending callback runs now with STORE_ELOST
 * while its owner is still alive; later commands fail (their callbacks are
 * dropped by store_free).  Idempotent. */
void store_close(struct store *st);
/* store_close, then free.  Commands issued after the close never call back. */
void store_free(struct store *st);

/* Map a redis error reply to a short cause: "storage full" for OOM, else its text. */
const char *store_reply_error(const redisReply *r);
bool store_reply_is_oom(const redisReply *r);

#endif
