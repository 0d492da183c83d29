/* Async access to the node's own redis-server (hiredis 0.14 + an event adapter of
 * its own, store.c).
 * redisReply does not leave the modules that own redis keys (this one,
 * fs/chunk.c, fs/fsm.c, node/raftlog.c); everyone else gets error codes.
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

#include "proto/rcfs.pb-c.h"

struct event_base;
struct store;
struct store_group;

enum store_err {
	STORE_OK = 0,
	STORE_EDOWN,        /* not connected: failed fast without sending */
	STORE_ETIMEOUT,     /* no reply within redis_timeout_ms (the command may still run) */
	STORE_ELOST,        /* connection lost before the reply */
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
/* redis's working directory (where its AOF is), as its CONFIG GET said at
 * the last connection; "" before that.  Owned by st. */
const char *store_dir(const struct store *st);
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

/* The one storage-error path: what a command's outcome means to a client.
 * E_OK (*why NULL) if the command ran and its reply is not an error;
 * otherwise E_STORAGE_FULL ("storage full": redis refused with OOM),
 * E_TIMEOUT ("storage timed out"), E_UNAVAILABLE ("storage unavailable",
 * "storage connection lost") or E_INTERNAL (redis's own error text).  *why
 * is static or points into r: valid during the reply callback only. */
Rcfs__ErrorCode store_result(const redisReply *r, enum store_err err, const char **why);

/* A group: commands sent as one MULTI ... EXEC, so redis applies them
 * together and writes them to the AOF as one transaction.  The group is one
 * unit for the large-command window: never split, never reordered inside.
 * Build with store_group_new/add/addf, then hand it to store_group_send,
 * which takes ownership. */
struct store_group *store_group_new(void);
/* Append one command (argv/argvlen, binary-safe; copied now). */
void store_group_add(struct store_group *g, int argc, const char **argv, const size_t *argvlen);
/* printf-style variant (hiredis format, %b for binary). */
void store_group_addf(struct store_group *g, const char *fmt, ...);
/* Make the group fail as a whole with code/why (static or copied), without
 * sending anything: for a part that could not be built. */
void store_group_fail(struct store_group *g, Rcfs__ErrorCode code, const char *why);
/* Number of commands added (MULTI and EXEC not counted). */
size_t store_group_size(const struct store_group *g);

/* The outcome of a group, through store_result: E_OK only if EXEC ran and
 * no command in it answered an error (redis runs the others even then: a
 * caller treats any failure as "unknown what was written"). */
typedef void store_group_cb(void *arg, Rcfs__ErrorCode code, const char *why);
/* Send g (flags: STORE_LARGE to use the window).  cb (may be NULL) runs
 * exactly once, later. */
void store_group_send(struct store *st, struct store_group *g, int flags, store_group_cb *cb,
    void *arg);

/* GET of a key holding a decimal integer.  cb gets (arg, code, why, value,
 * found); found is false for a missing key (value 0). */
typedef void store_uint_cb(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t value,
    bool found);
void store_get_uint(struct store *st, const char *key, store_uint_cb *cb, void *arg);

/* Rewrite the AOF (BGREWRITEAOF) when it is quiet: checked every 2 s, once
 * the AOF has grown by less than 256 KiB for quiet_ms (no write traffic to
 * speak of), has grown growth_pct % over its size after the last rewrite
 * and by min_bytes at least, and no rewrite runs.  A rewrite forks redis and competes with
 * writes for the disk (puts halve during one: docs/benchmarks.md), so doing
 * it in a lull keeps it off busy periods; under continuous writes see
 * store_set_aof_turns, and redis's own auto-aof-rewrite is the backstop.
 * growth_pct 0: off. */
void store_set_aof_policy(struct store *st, uint32_t growth_pct, uint64_t min_bytes,
    uint32_t quiet_ms);

/* Whether this node may start an AOF rewrite under load now. */
typedef bool store_aof_turn_fn(void *arg);
/* Rewrites under continuous writes, taken in turns: at a check (every 2 s)
 * that finds the AOF grown since the last one, by busy_growth_pct % and
 * store_set_aof_policy's min_bytes over its size after the last rewrite,
 * the store asks turn(arg) and rewrites if it answers true.  Every copy of
 * a chunk is written to N AOFs at once, so without turns their rewrites
 * coincide (docs/design.md "AOF rewrites").  Past twice busy_growth_pct
 * and 4 GiB of growth it rewrites out of turn (its turns did not come: a
 * leader that could not hand over, a clock far off).  Call before
 * store_set_aof_policy; busy_growth_pct 0 or turn NULL: no rewrites under
 * load (but redis's own auto-aof-rewrite, if its config sets one). */
void store_set_aof_turns(struct store *st, uint32_t busy_growth_pct, store_aof_turn_fn *turn,
    void *arg);

/* Whether redis was rewriting its AOF at the last check (every 2 s, only
 * with store_set_aof_policy or _turns set; a rewrite rcfsd asks for
 * counts from the asking). */
bool store_aof_rewriting(const struct store *st);

/* redis's memory figures (INFO memory): used_memory and maxmemory in bytes
 * (maxmemory 0: no limit). */
typedef void store_memory_cb(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t used,
    uint64_t max);
void store_memory(struct store *st, store_memory_cb *cb, void *arg);

#endif
