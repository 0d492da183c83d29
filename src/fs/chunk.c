#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/chunk.h"
#include "store/store.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/xmalloc.h"

struct chunk_call {
	union {
		chunk_done_cb *done;
		chunk_data_cb *data;
	} cb;
	void *arg;
	uint8_t sha[CHUNK_HASH_LEN];
	size_t n;
	bool unverified;                /* chunk_read: the reader hashes it */
};

static void chunk_put_reply(struct store *st, redisReply *r, enum store_err err, void *arg);
static void chunk_done_reply(struct store *st, redisReply *r, enum store_err err, void *arg);
static void chunk_get_reply(struct store *st, redisReply *r, enum store_err err, void *arg);
static void chunk_exist_reply(struct store *st, redisReply *r, enum store_err err, void *arg);
static void chunk_drop_reply(struct store *st, redisReply *r, enum store_err err, void *arg);

void
chunk_hash(const uint8_t *data, size_t len, uint8_t *out)
{
	sha256(out, data, len);
}

void
chunk_key(const uint8_t *sha, char *key)
{
	memcpy(key, "rcfs:c:", 7);
	sodium_bin2hex(key + 7, 65, sha, CHUNK_HASH_LEN);
}

/* Protect a chunk for an upload.  ARGV: hex, "uploader:seq", until ms.  The
 * hash expires with its latest protection (PEXPIREAT NX sets a first
 * expiry, GT only moves it later); the GC set entry is looked at once that
 * protection is over.  An anonymous copy ("0:0") of a chunk a file here
 * references needs none.  allow-oom: a full node must still protect (the
 * writes are a few bytes; GC is what frees it). */
static const char chunk_protect_lua[] =
"#!lua flags=allow-oom\n"
"if ARGV[2] == '0:0' and redis.call('HEXISTS', 'rcfs:refs', ARGV[1]) == 1 then return 0 end\n"
"local k = 'rcfs:u:' .. ARGV[1]\n"
"redis.call('HSET', k, ARGV[2], ARGV[3])\n"
"redis.call('PEXPIREAT', k, ARGV[3], 'NX')\n"
"redis.call('PEXPIREAT', k, ARGV[3], 'GT')\n"
"redis.call('ZADD', 'rcfs:gc', 'GT', ARGV[3], ARGV[1])\n"
"return 1\n";

/* A copy was stored.  ARGV: hex.  It is not corrupt here any more; and GC
 * may have looked (chunk absent: entry dropped) between its entry and the
 * SET, which can wait in the window: a copy without an entry would never be
 * collected (NX: an entry, a protection's end, stays).  allow-oom: the SET
 * itself may have filled the node. */
static const char chunk_stored_lua[] =
"#!lua flags=allow-oom\n"
"redis.call('SREM', 'rcfs:corrupt', ARGV[1])\n"
"redis.call('ZADD', 'rcfs:gc', 'NX', 0, ARGV[1])\n"
"return 1\n";

static void
chunk_protect_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	const char *why = NULL;

	(void)st; (void)arg;
	if (store_result(r, err, &why) != RCFS__ERROR_CODE__E_OK)
		log_warn("chunk GC protection not updated: %s", why);
}

static void
chunk_protect(struct store *st, const char *hex, const struct chunk_upload *up)
{
	if (up->until_ms == 0) {        /* no protection: only make sure GC sees it */
		store_commandf(st, NULL, NULL, "ZADD rcfs:gc NX 0 %s", hex);
		return;
	}
	store_commandf(st, chunk_protect_reply, NULL, "EVAL %s 0 %s %" PRIu64 ":%" PRIu64 " %" PRIu64,
	    chunk_protect_lua, hex, up->uploader, up->seq, up->until_ms);
}

void
chunk_put(struct store *st, const uint8_t *sha, const uint8_t *data, size_t len,
    const struct chunk_upload *up, chunk_done_cb *cb, void *arg)
{
	struct chunk_call *call = xcalloc(1, sizeof *call);
	char key[72], hex[65];
	const char *argv[3];
	size_t argvlen[3];

	chunk_key(sha, key);
	sodium_bin2hex(hex, sizeof hex, sha, CHUNK_HASH_LEN);
	/* GC entry first: if we crash between the two, GC finds no chunk and
	 * just drops the entry; the other order could leak an orphan forever.
	 * The SET may wait in the window while GC runs and drops the entry of
	 * a copy not there yet: chunk_put_reply adds it again. */
	chunk_protect(st, hex, up);
	argv[0] = "SET"; argvlen[0] = 3;
	argv[1] = key; argvlen[1] = strlen(key);
	argv[2] = (const char *)data; argvlen[2] = len;
	call->cb.done = cb;
	call->arg = arg;
	memcpy(call->sha, sha, CHUNK_HASH_LEN);
	store_command(st, STORE_LARGE, chunk_put_reply, call, 3, argv, argvlen);
}

/* End one upload's protection and have GC look now.  ARGV: hex,
 * "uploader:seq", now ms.  allow-oom: a refused put on a full node releases
 * what it stored (a plain ZADD is refused over maxmemory). */
static const char chunk_release_lua[] =
"#!lua flags=allow-oom\n"
"redis.call('HDEL', 'rcfs:u:' .. ARGV[1], ARGV[2])\n"
"redis.call('ZADD', 'rcfs:gc', ARGV[3], ARGV[1])\n"
"return 1\n";

void
chunk_release(struct store *st, const uint8_t *sha, const struct chunk_upload *up, uint64_t now_ms)
{
	char hex[65];

	sodium_bin2hex(hex, sizeof hex, sha, CHUNK_HASH_LEN);
	store_commandf(st, chunk_protect_reply, NULL, "EVAL %s 0 %s %" PRIu64 ":%" PRIu64 " %" PRIu64,
	    chunk_release_lua, hex, up->uploader, up->seq, now_ms);
}

void
chunk_touch(struct store *st, const uint8_t *sha, const struct chunk_upload *up)
{
	char hex[65];

	sodium_bin2hex(hex, sizeof hex, sha, CHUNK_HASH_LEN);
	chunk_protect(st, hex, up);
}

/* A probe reads the copy and verifies it: repair doubles as a scrubber. */
struct chunk_probe_call {
	chunk_done_cb *cb;
	void *arg;
};

static void
chunk_probe_read(void *arg, Rcfs__ErrorCode code, const char *why, const uint8_t *data, size_t len)
{
	struct chunk_probe_call *pc = arg;

	(void)data; (void)len;
	if (code == RCFS__ERROR_CODE__E_INTEGRITY)
		pc->cb(pc->arg, RCFS__ERROR_CODE__E_NOT_FOUND, "stored copy is corrupt");
	else
		pc->cb(pc->arg, code, why);
	free(pc);
}

void
chunk_probe(struct store *st, const uint8_t *sha, chunk_done_cb *cb, void *arg)
{
	struct chunk_probe_call *pc = xcalloc(1, sizeof *pc);

	pc->cb = cb;
	pc->arg = arg;
	chunk_get(st, sha, chunk_probe_read, pc);
}

static void
chunk_put_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct chunk_call *call = arg;
	const char *why = NULL;
	char hex[65];

	if (store_result(r, err, &why) == RCFS__ERROR_CODE__E_OK) {
		/* A good copy is stored now: it is no longer corrupt here.  (Large
		 * SETs may wait in the window, so this must follow the reply.) */
		sodium_bin2hex(hex, sizeof hex, call->sha, CHUNK_HASH_LEN);
		store_commandf(st, chunk_protect_reply, NULL, "EVAL %s 0 %s", chunk_stored_lua, hex);
	}
	chunk_done_reply(st, r, err, call);
}

static void
chunk_fetch(struct store *st, const uint8_t *sha, bool verify, chunk_data_cb *cb, void *arg)
{
	struct chunk_call *call = xcalloc(1, sizeof *call);
	char key[72];

	chunk_key(sha, key);
	memcpy(call->sha, sha, CHUNK_HASH_LEN);
	call->cb.data = cb;
	call->arg = arg;
	call->unverified = !verify;
	store_commandf(st, chunk_get_reply, call, "GET %s", key);
}

void
chunk_get(struct store *st, const uint8_t *sha, chunk_data_cb *cb, void *arg)
{
	chunk_fetch(st, sha, true, cb, arg);
}

void
chunk_read(struct store *st, const uint8_t *sha, chunk_data_cb *cb, void *arg)
{
	chunk_fetch(st, sha, false, cb, arg);
}

static void
chunk_get_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct chunk_call *call = arg;
	chunk_data_cb *cb = call->cb.data;
	const char *why = NULL;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	uint8_t got[CHUNK_HASH_LEN];

	if (code != RCFS__ERROR_CODE__E_OK) {
		cb(call->arg, code, why, NULL, 0);
	} else if (r->type != REDIS_REPLY_STRING) {
		cb(call->arg, RCFS__ERROR_CODE__E_NOT_FOUND, "no such chunk", NULL, 0);
	} else if (call->unverified) {
		cb(call->arg, RCFS__ERROR_CODE__E_OK, NULL, (const uint8_t *)r->str, r->len);
	} else {
		chunk_hash((const uint8_t *)r->str, r->len, got);
		if (sodium_memcmp(got, call->sha, CHUNK_HASH_LEN) != 0) {
			/* Mark it: probes then report it missing, so repair
			 * overwrites it with a good copy (which clears the mark).
			 * The bytes are kept for a post-mortem. */
			char hex[65];
			sodium_bin2hex(hex, sizeof hex, call->sha, CHUNK_HASH_LEN);
			store_commandf(st, NULL, NULL, "SADD rcfs:corrupt %s", hex);
			cb(call->arg, RCFS__ERROR_CODE__E_INTEGRITY, "stored chunk does not match its SHA-256",
			    NULL, 0);
		}
		else
			cb(call->arg, RCFS__ERROR_CODE__E_OK, NULL, (const uint8_t *)r->str, r->len);
	}
	free(call);
}

void
chunk_exist_all(struct store *st, const ProtobufCBinaryData *shas, size_t n, chunk_done_cb *cb,
    void *arg)
{
	struct chunk_call *call = xcalloc(1, sizeof *call);
	const char **argv = xcalloc(n + 1, sizeof *argv);
	size_t *argvlen = xcalloc(n + 1, sizeof *argvlen);
	char *keys = xmalloc(n * 72 + 1);

	argv[0] = "EXISTS";
	argvlen[0] = 6;
	for (size_t i = 0; i < n; i++) {
		chunk_key(shas[i].data, keys + 72 * i);
		argv[i + 1] = keys + 72 * i;
		argvlen[i + 1] = 71;
	}
	call->cb.done = cb;
	call->arg = arg;
	call->n = n;
	store_command(st, 0, chunk_exist_reply, call, (int)n + 1, argv, argvlen);
	free(keys);
	free(argv);
	free(argvlen);
}

static void
chunk_exist_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct chunk_call *call = arg;
	chunk_done_cb *cb = call->cb.done;
	const char *why = NULL;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	char msg[96];

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && r->type == REDIS_REPLY_INTEGER &&
	    (size_t)r->integer != call->n) {
		snprintf(msg, sizeof msg, "%zu of %zu chunks are not stored", call->n - (size_t)r->integer,
		    call->n);
		cb(call->arg, RCFS__ERROR_CODE__E_NOT_FOUND, msg);
	} else {
		cb(call->arg, code, why);
	}
	free(call);
}

/* A write's reply: the caller's done callback with the outcome. */
static void
chunk_done_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct chunk_call *call = arg;
	const char *why = NULL;
	Rcfs__ErrorCode code = store_result(r, err, &why);

	(void)st;
	call->cb.done(call->arg, code, why);
	free(call);
}

/* Drop a copy, unless an upload here protects it and ARGV[2] is "0".
 * ARGV: hex, protected_ok.  Returns 1 if dropped, 0 if kept. */
static const char chunk_drop_lua[] =
"if ARGV[2] == '0' and redis.call('EXISTS', 'rcfs:u:' .. ARGV[1]) == 1 then return 0 end\n"
"redis.call('DEL', 'rcfs:c:' .. ARGV[1])\n"
"return 1\n";

/* chunk_drop's reply: a kept copy (0) is E_UNAVAILABLE, else as any write. */
static void
chunk_drop_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct chunk_call *call = arg;

	if (err == STORE_OK && r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
		call->cb.done(call->arg, RCFS__ERROR_CODE__E_UNAVAILABLE,
		    "an upload here protects it until its commit");
		free(call);
		return;
	}
	chunk_done_reply(st, r, err, arg);
}

/* A call that ends in cb, for the chunk sha (its hex into hex). */
static struct chunk_call *
chunk_done_call(const uint8_t *sha, chunk_done_cb *cb, void *arg, char hex[65])
{
	struct chunk_call *call = xcalloc(1, sizeof *call);

	sodium_bin2hex(hex, 65, sha, CHUNK_HASH_LEN);
	call->cb.done = cb;
	call->arg = arg;
	return call;
}

void
chunk_drop(struct store *st, const uint8_t *sha, bool protected_ok, chunk_done_cb *cb, void *arg)
{
	char hex[65];
	struct chunk_call *call = chunk_done_call(sha, cb, arg, hex);

	store_commandf(st, chunk_drop_reply, call, "EVAL %s 0 %s %d", chunk_drop_lua, hex, protected_ok);
}

void
chunk_protected(struct store *st, const uint8_t *sha, chunk_done_cb *cb, void *arg)
{
	char hex[65];
	struct chunk_call *call = chunk_done_call(sha, cb, arg, hex);

	call->n = 1;                    /* chunk_exist_reply: 0 of 1 is E_NOT_FOUND */
	store_commandf(st, chunk_exist_reply, call, "EXISTS rcfs:u:%s", hex);
}

struct chunk_scan_call {
	chunk_scan_cb *cb;
	void *arg;
};

/* One SCAN step with the sizes of the chunks it found.  ARGV: cursor, count. */
static const char chunk_scan_lua[] =
"local r = redis.call('SCAN', ARGV[1], 'MATCH', 'rcfs:c:*', 'COUNT', ARGV[2])\n"
"local b = 0\n"
"for _, k in ipairs(r[2]) do b = b + redis.call('STRLEN', k) end\n"
"return {r[1], r[2], b}\n";

static void
chunk_scan_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct chunk_scan_call *call = arg;
	const char *why = NULL;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	uint8_t (*shas)[CHUNK_HASH_LEN] = NULL;
	size_t n = 0;

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY ||
	    r->element[2]->type != REDIS_REPLY_INTEGER)) {
		code = RCFS__ERROR_CODE__E_INTERNAL;
		why = "unexpected reply from the scan script";
	}
	if (code != RCFS__ERROR_CODE__E_OK) {
		call->cb(call->arg, code, why, 0, NULL, 0, 0);
		free(call);
		return;
	}
	shas = xcalloc(r->element[1]->elements + 1, sizeof *shas);
	for (size_t i = 0; i < r->element[1]->elements; i++) {
		const redisReply *k = r->element[1]->element[i];
		if (k->type == REDIS_REPLY_STRING && k->len == 7 + 2 * CHUNK_HASH_LEN &&
		    sodium_hex2bin(shas[n], CHUNK_HASH_LEN, k->str + 7, 2 * CHUNK_HASH_LEN, NULL, NULL,
		    NULL) == 0)
			n++;
	}
	call->cb(call->arg, code, NULL, strtoull(r->element[0]->str, NULL, 10),
	    (const uint8_t (*)[CHUNK_HASH_LEN])shas, n,
	    r->element[2]->integer > 0 ? (uint64_t)r->element[2]->integer : 0);
	free(shas);
	free(call);
}

void
chunk_scan(struct store *st, uint64_t cursor, unsigned count, chunk_scan_cb *cb, void *arg)
{
	struct chunk_scan_call *call = xcalloc(1, sizeof *call);

	call->cb = cb;
	call->arg = arg;
	store_commandf(st, chunk_scan_reply, call, "EVAL %s 0 %" PRIu64 " %u", chunk_scan_lua, cursor,
	    count);
}
