#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/fsm.h"
#include "fs/session.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xmalloc.h"

static void fsm_apply_reply(struct store *st, redisReply *r, enum store_err err, void *arg);
static void fsm_index_reply(struct store *st, redisReply *r, enum store_err err, void *arg);
static void fsm_stat_reply(struct store *st, redisReply *r, enum store_err err, void *arg);
static void fsm_list_reply(struct store *st, redisReply *r, enum store_err err, void *arg);
static void fsm_count_reply(struct store *st, redisReply *r, enum store_err err, void *arg);
static void fsm_scan_reply(struct store *st, redisReply *r, enum store_err err, void *arg);

/* Apply a batch.  ARGV: now_ms, n, then 9 per command:
 * kind ("put"|"rm"|"mv"|"hold"|"noop"), index, name, packed meta, chunk list
 * (hex), client id, seq, mv's source name and expected meta.  A hold's name
 * is the holder, its meta the until ms ("0": release), its chunk list the
 * leader's clock when it was proposed (holds that ended before are dropped).  A put ends the GC
 * protection its upload ("client id:seq") gave the chunks it references
 * (chunk.h).
 * Returns one integer per command: the version (log index) written, 0 for an
 * rm of a missing name, -1 for an entry already applied before a restart.
 *
 * Cost: each redis.call from Lua costs a few µs, and this script runs on every
 * node for every committed entry, so a put without chunks makes no call of
 * its own: what the batch reads is read once and what it writes is written
 * once, at the end.  `chunks` holds the chunk list of every name the batch
 * touches (one MGET), `meta` the metadata the batch gave a name (false:
 * removed; nil: ask redis, for rm and mv), `sess` every session the batch
 * touches (one HMGET).  Writing them at the end (MSET, DEL, ZADD, ZREM, HSET)
 * is equivalent to writing them in order, because every read in the batch
 * goes through these tables first.
 *
 * Seqs and indexes are stored as the decimal text they arrive in: Lua 5.1
 * prints a number >= 1e14 as "1.2345678901234e+14" (%.14g).  Seqs compare
 * as Lua numbers (doubles), exact up to FSM_SEQ_MAX.
 *
 * A session is "seq:result:index", index being the entry of its client's
 * last command.  An entry at index i treats a session whose index is below
 * i - 1 - FSM_SESSION_WINDOW as gone (the same at every node, however the
 * log is cut into batches), and so does a snapshot; what is deleted and when
 * (a sweep, FSM_SESSION_SWEEP_STEP sessions per batch, started each time
 * the applied index passes a multiple of FSM_SESSION_SWEEP) differs between
 * nodes and is never read.  fs/session.h relies on the state machine never
 * remembering a session longer than FSM_SESSION_WINDOW. */
#define FSM_STR_(x) #x
#define FSM_STR(x) FSM_STR_(x)
static const char fsm_apply_lua[] =
"local now = ARGV[1]\n"
"local applied = tonumber(redis.call('GET', 'rcfs:applied') or '0')\n"
"local first = applied\n"
"local n = tonumber(ARGV[2])\n"
"local res = {}\n"
/* Run CMD [KEY] with the (flattened) args in pieces: Lua 5.1's unpack is bounded. */
"local function bulk(cmd, key, args)\n"
"  local out = {}\n"
"  for i = 1, #args, 512 do\n"
"    local j, r = math.min(i + 511, #args)\n"
"    if key then r = redis.call(cmd, key, unpack(args, i, j)) else r = redis.call(cmd, unpack(args, i, j)) end\n"
"    if type(r) == 'table' then for _, v in ipairs(r) do out[#out + 1] = v end end\n"
"  end\n"
"  return out\n"
"end\n"
"local sess, sesslist, dirty = {}, {}, {}\n"
"local chunks, meta, had, names, namelist = {}, {}, {}, {}, {}\n"
"local function touch(name)\n"
"  if names[name] == nil then names[name] = false; namelist[#namelist + 1] = name end\n"
"end\n"
"for k = 1, n do\n"
"  local a = 3 + 9 * (k - 1)\n"
"  if tonumber(ARGV[a+1]) > applied then\n"
"    local kind, cid = ARGV[a], ARGV[a+5]\n"
"    if cid ~= '' and sess[cid] == nil then\n"
"      sess[cid] = false\n"
"      sesslist[#sesslist + 1] = cid\n"
"    end\n"
"    if kind == 'put' or kind == 'rm' or kind == 'mv' then touch(ARGV[a+2]) end\n"
"    if kind == 'mv' then touch(ARGV[a+7]) end\n"
"  end\n"
"end\n"
"if #sesslist > 0 then\n"
"  local v = bulk('HMGET', 'rcfs:sessions', sesslist)\n"
"  for i, cid in ipairs(sesslist) do sess[cid] = v[i] end\n"
"end\n"
"if #namelist > 0 then\n"
"  local keys = {}\n"
"  for i, name in ipairs(namelist) do keys[i] = 'rcfs:fc:' .. name end\n"
"  local v = bulk('MGET', nil, keys)\n"
"  for i, name in ipairs(namelist) do chunks[name] = v[i] or ''; had[name] = v[i] ~= false end\n"
"end\n"
"local function unref(h)\n"
"  if redis.call('HINCRBY', 'rcfs:refs', h, -1) <= 0 then\n"
"    redis.call('HDEL', 'rcfs:refs', h)\n"
"    redis.call('ZADD', 'rcfs:gc', now, h)\n"
"  end\n"
"end\n"
/* put and rm of one name: the chunk references follow the file table. */
"local function put(name, m, c, cid, seq)\n"
"  local old = chunks[name]\n"
"  for i = 1, #c, 64 do\n"
"    local h = string.sub(c, i, i + 63)\n"
"    redis.call('HINCRBY', 'rcfs:refs', h, 1)\n"
"    if cid ~= '' then redis.call('HDEL', 'rcfs:u:' .. h, cid .. ':' .. seq) end\n"
"  end\n"
"  for i = 1, #old, 64 do unref(string.sub(old, i, i + 63)) end\n"
"  meta[name], chunks[name], names[name] = m, c, true\n"
"end\n"
"local function rm(name)\n"
"  local old = chunks[name]\n"
"  for i = 1, #old, 64 do unref(string.sub(old, i, i + 63)) end\n"
"  meta[name], chunks[name], names[name] = false, '', false\n"
"end\n"
"local function stat(name)\n"
"  if meta[name] == nil then return redis.call('GET', 'rcfs:f:' .. name) end\n"
"  return meta[name]\n"
"end\n"
"for k = 1, n do\n"
"  local a = 3 + 9 * (k - 1)\n"
"  local kind, index, name, m, c, cid, seq = ARGV[a], tonumber(ARGV[a+1]), ARGV[a+2],\n"
"    ARGV[a+3], ARGV[a+4], ARGV[a+5], tonumber(ARGV[a+6])\n"
"  local r\n"
"  if index <= applied then\n"
"    r = -1\n"
"  elseif kind == 'noop' then\n"
"    r = 0\n"
"    applied = index\n"
"  elseif kind == 'hold' then\n"
"    local held = redis.call('HGETALL', 'rcfs:gchold')\n"
"    for i = 1, #held, 2 do\n"
"      if tonumber(held[i + 1]) < tonumber(c) then redis.call('HDEL', 'rcfs:gchold', held[i]) end\n"
"    end\n"
"    if m == '0' then redis.call('HDEL', 'rcfs:gchold', name)\n"
"    else redis.call('HSET', 'rcfs:gchold', name, m) end\n"
"    r = 0\n"
"    applied = index\n"
"  else\n"
"    local dup\n"
"    if cid ~= '' and sess[cid] then\n"
"      local sseq, sres, sidx = string.match(sess[cid], '^(%d+):(%-?%d+):(%d+)$')\n"
"      if tonumber(sseq) >= seq and tonumber(sidx) + " FSM_STR(FSM_SESSION_WINDOW) " >= index - 1 then\n"
"        dup = tonumber(sres)\n"
"      end\n"
"    end\n"
"    if dup then\n"
"      r = dup\n"
"    elseif kind == 'put' then\n"
"      put(name, m, c, cid, ARGV[a+6])\n"
"      r = index\n"
"    elseif kind == 'rm' then\n"
"      if stat(name) then rm(name); r = index else r = 0 end\n"
"    else\n"
/* mv: only if src is still exactly what the leader read (-2: it changed). */
"      local cur = stat(ARGV[a+7])\n"
"      if not cur then\n"
"        r = 0\n"
"      elseif cur ~= ARGV[a+8] then\n"
"        r = -2\n"
"      else\n"
"        put(name, m, c, '')\n"
"        rm(ARGV[a+7])\n"
"        r = index\n"
"      end\n"
"    end\n"
"    if not dup and cid ~= '' then\n"
"      sess[cid] = ARGV[a+6] .. ':' .. (r == index and ARGV[a+1] or tostring(r)) .. ':' .. ARGV[a+1]\n"
"      dirty[cid] = true\n"
"    end\n"
"    applied = index\n"
"  end\n"
"  res[k] = r\n"
"end\n"
"local set, del, add, zrem = {}, {}, {}, {}\n"
"for _, name in ipairs(namelist) do\n"
"  if names[name] then\n"
"    set[#set + 1] = 'rcfs:f:' .. name; set[#set + 1] = meta[name]\n"
"    if #chunks[name] > 0 then set[#set + 1] = 'rcfs:fc:' .. name; set[#set + 1] = chunks[name]\n"
"    elseif had[name] then del[#del + 1] = 'rcfs:fc:' .. name end\n"
"    add[#add + 1] = 0; add[#add + 1] = name\n"
"  elseif meta[name] == false then\n"
"    del[#del + 1] = 'rcfs:f:' .. name\n"
"    if had[name] then del[#del + 1] = 'rcfs:fc:' .. name end\n"
"    zrem[#zrem + 1] = name\n"
"  end\n"
"end\n"
/* Deletes first: on a full node redis refuses a script's first write that
 * needs memory, not one that frees it. */
"if #del > 0 then bulk('DEL', nil, del) end\n"
"if #zrem > 0 then bulk('ZREM', 'rcfs:files', zrem) end\n"
"if #set > 0 then bulk('MSET', nil, set) end\n"
"if #add > 0 then bulk('ZADD', 'rcfs:files', add) end\n"
"local hs = {}\n"
"for _, cid in ipairs(sesslist) do\n"
"  if dirty[cid] then hs[#hs + 1] = cid; hs[#hs + 1] = sess[cid] end\n"
"end\n"
"if #hs > 0 then bulk('HSET', 'rcfs:sessions', hs) end\n"
"redis.call('SET', 'rcfs:applied', applied)\n"
/* The sweep: FSM_SESSION_SWEEP_STEP sessions per batch from the cursor in
 * rcfs:sessweep, started when applied passes a multiple of FSM_SESSION_SWEEP. */
"local cursor = redis.call('GET', 'rcfs:sessweep')\n"
"local every = " FSM_STR(FSM_SESSION_SWEEP) "\n"
"if not cursor and math.floor(applied / every) > math.floor(first / every) then cursor = '0' end\n"
"if cursor then\n"
"  local s, gone = redis.call('HSCAN', 'rcfs:sessions', cursor, 'COUNT', " FSM_STR(FSM_SESSION_SWEEP_STEP) "), {}\n"
"  for i = 1, #s[2], 2 do\n"
"    local idx = tonumber(string.match(s[2][i + 1], ':(%d+)$') or '0')\n"
"    if idx + " FSM_STR(FSM_SESSION_WINDOW) " < applied then gone[#gone + 1] = s[2][i] end\n"
"  end\n"
"  if #gone > 0 then bulk('HDEL', 'rcfs:sessions', gone) end\n"
"  if s[1] == '0' then redis.call('DEL', 'rcfs:sessweep') else redis.call('SET', 'rcfs:sessweep', s[1]) end\n"
"end\n"
"return res\n";

/* List.  ARGV: min, max, limit+1.  Returns packed metas. */
static const char fsm_list_lua[] =
"local names = redis.call('ZRANGEBYLEX', 'rcfs:files', ARGV[1], ARGV[2], 'LIMIT', 0, ARGV[3])\n"
"local out = {}\n"
"for i, n in ipairs(names) do out[i] = redis.call('GET', 'rcfs:f:' .. n) or '' end\n"
"return out\n";

/* GC (docs/design.md "GC").  ARGV: now ms, max, census ("1": also count the
 * unreferenced chunks kept).  rcfs:gc's score is when to look at a chunk
 * again: due and referenced, it leaves the set; due, unreferenced and
 * protected by an upload (rcfs:u:<hex>, chunk.c), it is looked at again when
 * the last protection ends; else it is deleted.  While a backup hold is in
 * force (rcfs:gchold, written by the log) nothing is deleted.  Returns
 * {deleted, their bytes, hold until (0: none), waiting, their bytes, due
 * entries examined}, waiting -1 without a census.  allow-oom: on a full
 * node (over maxmemory) redis refuses a plain script's first write, and a
 * rescheduling ZADD must not stop the DELs that free it. */
static const char fsm_gc_lua[] =
"#!lua flags=allow-oom\n"
"local now, max = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
"local function latest(key)\n"
"  local m = 0\n"
"  for _, v in ipairs(redis.call('HVALS', key)) do\n"
"    local t = tonumber(v)\n"
"    if t and t > m then m = t end\n"
"  end\n"
"  return m\n"
"end\n"
"local hold = latest('rcfs:gchold')\n"
"if hold <= now then hold = 0 end\n"
"local n, bytes, seen = 0, 0, 0\n"
"if hold == 0 then\n"
"  local due = redis.call('ZRANGEBYSCORE', 'rcfs:gc', '-inf', now, 'LIMIT', 0, max)\n"
"  seen = #due\n"
"  for _, h in ipairs(due) do\n"
"    local till = 0\n"
"    if redis.call('HEXISTS', 'rcfs:refs', h) == 1 then\n"
"      redis.call('ZREM', 'rcfs:gc', h)\n"
"      till = -1\n"
"    else\n"
"      till = latest('rcfs:u:' .. h)\n"
"    end\n"
"    if till > now then\n"
"      redis.call('ZADD', 'rcfs:gc', till, h)\n"
"    elseif till >= 0 then\n"
"      local k = 'rcfs:c:' .. h\n"
"      local sz = redis.call('STRLEN', k)\n"
"      if redis.call('DEL', k) == 1 then n = n + 1; bytes = bytes + sz end\n"
"      redis.call('ZREM', 'rcfs:gc', h)\n"
"      redis.call('DEL', 'rcfs:u:' .. h)\n"
"    end\n"
"  end\n"
"end\n"
"local wn, wb = -1, -1\n"
"if ARGV[3] == '1' then\n"
"  wn, wb = 0, 0\n"
"  for _, h in ipairs(redis.call('ZRANGE', 'rcfs:gc', 0, " FSM_STR(FSM_GC_CENSUS_MAX) " - 1)) do\n"
"    if redis.call('HEXISTS', 'rcfs:refs', h) == 0 then\n"
"      local sz = redis.call('STRLEN', 'rcfs:c:' .. h)\n"
"      if sz > 0 then wn = wn + 1; wb = wb + sz end\n"
"    end\n"
"  end\n"
"end\n"
"return {n, bytes, hold, wn, wb, seen}\n";

/* One call in flight: its callback (one member set, by type) and argument. */
struct fsm_call {
	union {
		fsm_apply_cb *apply;
		fsm_index_cb *index;
		fsm_stat_cb *stat;
		fsm_list_cb *list;
		fsm_count_cb *count;
		fsm_scan_cb *scan;
		fsm_snapshot_cb *snapshot;
		fsm_gc_cb *gc;
	} cb;
	void *arg;
	size_t n;
	int more_limit;
};

static struct fsm_call *
fsm_call_new(void *arg)
{
	struct fsm_call *call = xcalloc(1, sizeof *call);

	call->arg = arg;
	return call;
}

/* A reply that ran but is not what the script returns. */
static Rcfs__ErrorCode
fsm_unexpected(const char **why, const char *what)
{
	*why = what;
	return RCFS__ERROR_CODE__E_INTERNAL;
}

/* m packed with version `version` (m itself unchanged): the bytes the file
 * table stores.  Owned by the caller. */
static uint8_t *
fsm_meta_pack(Rcfs__FileMeta *m, uint64_t version, size_t *len)
{
	uint64_t saved = m->version;
	protobuf_c_boolean saved_has = m->has_version;
	uint8_t *packed;

	m->version = version;
	m->has_version = 1;
	*len = rcfs__file_meta__get_packed_size(m);
	packed = xmalloc(*len ? *len : 1);
	rcfs__file_meta__pack(m, packed);
	m->version = saved;
	m->has_version = saved_has;
	return packed;
}

void
fsm_apply(struct store *st, uint64_t first_index, Rcfs__Command *const *cmds, size_t n,
    uint64_t now_ms, fsm_apply_cb *cb, void *arg)
{
	size_t argc = 5 + 9 * n, a = 0;
	const char **argv = xcalloc(argc, sizeof *argv);
	size_t *argvlen = xcalloc(argc, sizeof *argvlen);
	char **owned = xcalloc(argc, sizeof *owned);   /* strings to free afterwards */
	struct fsm_call *call = fsm_call_new(arg);

#define ARG_OWN(s, len) do { owned[a] = (char *)(s); argv[a] = (s); argvlen[a] = (len); a++; } while (0)
#define ARG_STR(s) do { argv[a] = (s); argvlen[a] = strlen(s); a++; } while (0)
	ARG_STR("EVAL");
	ARG_STR(fsm_apply_lua);
	ARG_STR("0");
	{ char *s = xasprintf("%" PRIu64, now_ms); ARG_OWN(s, strlen(s)); }
	{ char *s = xasprintf("%zu", n); ARG_OWN(s, strlen(s)); }
	for (size_t i = 0; i < n; i++) {
		const Rcfs__Command *c = cmds[i];
		uint64_t index = first_index + i;
		char *s;
		if (c == NULL) {
			/* Raft no-op or configuration entry: advances the applied index. */
			ARG_STR("noop");
			s = xasprintf("%" PRIu64, index); ARG_OWN(s, strlen(s));
			ARG_STR(""); ARG_STR(""); ARG_STR(""); ARG_STR(""); ARG_STR("0");
			ARG_STR(""); ARG_STR("");
		} else if (c->commit != NULL || (c->rename != NULL && c->rename->meta != NULL)) {
			/* put, or mv: dst's meta as stored, chunks as hex; for mv,
			 * src's meta exactly as the leader read it (the Lua
			 * compares it with what src holds now). */
			Rcfs__FileMeta *m = c->commit != NULL ? c->commit->meta : c->rename->meta;
			bool mv = c->commit == NULL;
			uint64_t cid = mv ? c->rename->client_id : c->commit->client_id;
			uint64_t seq = mv ? c->rename->seq : c->commit->seq;
			bool has_cid = mv ? c->rename->has_client_id : c->commit->has_client_id;
			size_t len, hexlen = m->n_chunks * 64, xlen = 0;
			char *packed, *hex, *expected = NULL;

			if (mv) {
				char *dst = m->name;
				uint64_t hlc = m->hlc;
				protobuf_c_boolean has_hlc = m->has_hlc;
				m->name = c->rename->src;
				m->hlc = c->rename->src_hlc;
				m->has_hlc = c->rename->has_src_hlc;
				expected = (char *)fsm_meta_pack(m, m->version, &xlen);
				m->name = dst;
				m->hlc = hlc;
				m->has_hlc = has_hlc;
			}
			packed = (char *)fsm_meta_pack(m, index, &len);
			hex = xmalloc(hexlen + 1);
			for (size_t k = 0; k < m->n_chunks; k++)
				sodium_bin2hex(hex + 64 * k, 65, m->chunks[k].data, 32);
			hex[hexlen] = '\0';
			ARG_STR(mv ? "mv" : "put");
			s = xasprintf("%" PRIu64, index); ARG_OWN(s, strlen(s));
			ARG_STR(m->name);
			ARG_OWN(packed, len);
			ARG_OWN(hex, hexlen);
			s = has_cid ? xasprintf("%" PRIu64, cid) : xstrdup("");
			ARG_OWN(s, strlen(s));
			s = xasprintf("%" PRIu64, seq); ARG_OWN(s, strlen(s));
			if (mv) {
				ARG_STR(c->rename->src);
				ARG_OWN(expected, xlen);
			} else {
				ARG_STR(""); ARG_STR("");
			}
		} else if (c->gc_hold != NULL) {
			ARG_STR("hold");
			s = xasprintf("%" PRIu64, index); ARG_OWN(s, strlen(s));
			s = xasprintf("%" PRIu64, c->gc_hold->holder); ARG_OWN(s, strlen(s));
			s = xasprintf("%" PRIu64, c->gc_hold->until_ms); ARG_OWN(s, strlen(s));
			s = xasprintf("%" PRIu64, c->gc_hold->issued_ms); ARG_OWN(s, strlen(s));
			ARG_STR(""); ARG_STR("0"); ARG_STR(""); ARG_STR("");
		} else {
			const Rcfs__FileRemove *r = c->remove;
			ARG_STR("rm");
			s = xasprintf("%" PRIu64, index); ARG_OWN(s, strlen(s));
			ARG_STR(r ? r->name : "");
			ARG_STR("");
			ARG_STR("");
			s = r && r->has_client_id ? xasprintf("%" PRIu64, r->client_id) : xstrdup("");
			ARG_OWN(s, strlen(s));
			s = xasprintf("%" PRIu64, r ? r->seq : 0); ARG_OWN(s, strlen(s));
			ARG_STR(""); ARG_STR("");
		}
	}
#undef ARG_OWN
#undef ARG_STR
	call->cb.apply = cb;
	call->n = n;
	store_command(st, 0, fsm_apply_reply, call, (int)a, argv, argvlen);
	for (size_t i = 0; i < a; i++)
		free(owned[i]);
	free(owned);
	free(argv);
	free(argvlen);
}

static void
fsm_apply_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct fsm_call *call = arg;
	const char *why;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	struct fsm_result *res;

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && (r->type != REDIS_REPLY_ARRAY || r->elements != call->n))
		code = fsm_unexpected(&why, "unexpected reply from the apply script");
	if (code != RCFS__ERROR_CODE__E_OK) {
		call->cb.apply(call->arg, code, why, NULL, 0);
		free(call);
		return;
	}
	res = xcalloc(call->n ? call->n : 1, sizeof *res);
	for (size_t i = 0; i < call->n; i++) {
		long long v = r->element[i]->integer;
		res[i].code = v == 0 ? RCFS__ERROR_CODE__E_NOT_FOUND : v == -2 ? RCFS__ERROR_CODE__E_CONFLICT :
		    RCFS__ERROR_CODE__E_OK;
		res[i].version = v > 0 ? (uint64_t)v : 0;
	}
	call->cb.apply(call->arg, RCFS__ERROR_CODE__E_OK, NULL, res, call->n);
	free(res);
	free(call);
}

struct fsm_sessions_load {
	struct session_table *t;
	fsm_index_cb *cb;
	void *arg;
	Rcfs__ErrorCode code;
	const char *why;
	uint64_t n;
};

/* The stored sessions as HGETALL gives them ("seq:result:index"), after
 * converting those stored by an rcfs before 2026-12 ("seq:result", the
 * index in the zset rcfs:sessidx); one the zset does not name gets index 0
 * (forgotten).  Also drop a session sweep's cursor: redis draws a new hash
 * seed at each start, so an old cursor means nothing (the next sweep starts
 * over).  allow-oom: a full node must still start (the zset's deletion
 * frees more than the values grow). */
static const char fsm_sessions_load_lua[] =
"#!lua flags=allow-oom\n"
"redis.call('DEL', 'rcfs:sessweep')\n"
"local s = redis.call('HGETALL', 'rcfs:sessions')\n"
"for i = 1, #s, 2 do\n"
"  if string.match(s[i + 1], '^%d+:%-?%d+$') then\n"
"    local idx = redis.call('ZSCORE', 'rcfs:sessidx', s[i]) or '0'\n"
"    s[i + 1] = s[i + 1] .. ':' .. string.format('%.0f', tonumber(idx))\n"
"    redis.call('HSET', 'rcfs:sessions', s[i], s[i + 1])\n"
"  end\n"
"end\n"
"redis.call('DEL', 'rcfs:sessidx')\n"
"return s\n";

static void
fsm_sessions_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct fsm_sessions_load *ld = arg;

	(void)st;
	if ((ld->code = store_result(r, err, &ld->why)) == RCFS__ERROR_CODE__E_OK &&
	    r->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			const char *v = r->element[i + 1]->str, *idx = strrchr(v, ':');
			uint64_t cid = strtoull(r->element[i]->str, NULL, 10);
			uint64_t seq = strtoull(v, NULL, 10);
			session_table_add(ld->t, cid, seq, idx != NULL ? strtoull(idx + 1, NULL, 10) : 0);
			ld->n++;
		}
	}
	ld->cb(ld->arg, ld->code, ld->why, ld->n);      /* why: r's, valid during the call */
	free(ld);
}

void
fsm_load_sessions(struct store *st, struct session_table *t, fsm_index_cb *cb, void *arg)
{
	struct fsm_sessions_load *ld = xcalloc(1, sizeof *ld);

	ld->t = t;
	ld->cb = cb;
	ld->arg = arg;
	store_commandf(st, fsm_sessions_reply, ld, "EVAL %s 0", fsm_sessions_load_lua);
}

static void
fsm_index_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct fsm_call *call = arg;
	const char *why;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	uint64_t v = 0;

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK) {
		if (r->type == REDIS_REPLY_STRING)
			v = strtoull(r->str, NULL, 10);
		else if (r->type == REDIS_REPLY_INTEGER)
			v = (uint64_t)r->integer;
	}
	call->cb.index(call->arg, code, why, v);
	free(call);
}

/* ---- the state machine as the Raft driver sees it -------------------------------- */

struct fsm {
	struct store *st;
	struct session_table *sessions; /* bound on the stored sessions (fs/session.h) */
	bool sessions_valid;            /* loaded: puts may be answered at commit */
	uint64_t sessions_index;        /* last entry recorded in it */
};

struct fsm_load {
	struct fsm *sm;
	struct session_table *t;        /* filled by the load, swapped in at the end */
	fsm_index_cb *cb;
	void *arg;
	Rcfs__ErrorCode code;
	char why[128];
	uint64_t applied;
};

uint8_t *
fsm_command_pack(const Rcfs__Command *c, size_t *len)
{
	uint8_t *buf;

	*len = rcfs__command__get_packed_size(c);
	buf = xmalloc(*len ? *len : 1);
	rcfs__command__pack(c, buf);
	return buf;
}

struct fsm *
fsm_new(struct store *st)
{
	struct fsm *sm = xcalloc(1, sizeof *sm);

	sm->st = st;
	sm->sessions = session_table_new();
	return sm;
}

void
fsm_free(struct fsm *sm)
{
	if (sm == NULL)
		return;
	session_table_free(sm->sessions);
	free(sm);
}

void
fsm_forget(struct fsm *sm)
{
	sm->sessions_valid = false;
}

static void
fsm_load_applied(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t index)
{
	struct fsm_load *ld = arg;

	ld->code = code;
	if (why != NULL)
		snprintf(ld->why, sizeof ld->why, "%s", why);
	ld->applied = index;
}

static void
fsm_load_done(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t n)
{
	struct fsm_load *ld = arg;
	struct fsm *sm = ld->sm;

	(void)n;
	if (ld->code == RCFS__ERROR_CODE__E_OK && code != RCFS__ERROR_CODE__E_OK) {
		ld->code = code;
		snprintf(ld->why, sizeof ld->why, "%s", why);
	}
	if (ld->code == RCFS__ERROR_CODE__E_OK) {
		session_table_free(sm->sessions);
		sm->sessions = ld->t;
		ld->t = NULL;
		sm->sessions_valid = true;
		sm->sessions_index = ld->applied;
	}
	ld->cb(ld->arg, ld->code, ld->code == RCFS__ERROR_CODE__E_OK ? NULL : ld->why, ld->applied);
	session_table_free(ld->t);
	free(ld);
}

void
fsm_load(struct fsm *sm, fsm_index_cb *cb, void *arg)
{
	struct fsm_load *ld = xcalloc(1, sizeof *ld);
	struct fsm_call *call = fsm_call_new(ld);

	ld->sm = sm;
	ld->t = session_table_new();
	ld->cb = cb;
	ld->arg = arg;
	call->cb.index = fsm_load_applied;
	/* In order on the one connection, and nothing writes meanwhile: the
	 * sessions match the applied index. */
	store_commandf(sm->st, fsm_index_reply, call, "GET rcfs:applied");
	fsm_load_sessions(sm->st, ld->t, fsm_load_done, ld);
}

/* Record committed command `c` (NULL: not a command) at `index` in the
 * session table; true if it is a put whose outcome is known now: applied,
 * with version = index (fs/session.h).  An rm's or mv's outcome depends on
 * the file table (0 for a missing name), so it is never known early. */
static bool
fsm_session_commit(struct fsm *sm, const Rcfs__Command *c, uint64_t index)
{
	bool is_new = true;

	if (c == NULL)
		return false;
	if (c->commit != NULL && c->commit->has_client_id)
		is_new = session_table_commit(sm->sessions, c->commit->client_id, c->commit->seq, index);
	else if (c->remove != NULL && c->remove->has_client_id)
		session_table_commit(sm->sessions, c->remove->client_id, c->remove->seq, index);
	else if (c->rename != NULL && c->rename->has_client_id)
		session_table_commit(sm->sessions, c->rename->client_id, c->rename->seq, index);
	return c->commit != NULL && is_new && sm->sessions_valid;
}

void
fsm_commit(struct fsm *sm, const struct fsm_entry *e, size_t n, uint64_t now_ms, bool *early,
    fsm_apply_cb *cb, void *arg)
{
	Rcfs__Command **cmds = xcalloc(n ? n : 1, sizeof *cmds);

	for (size_t i = 0; i < n; i++) {
		early[i] = false;
		if (e[i].command) {
			cmds[i] = rcfs__command__unpack(NULL, e[i].len, e[i].data);
			if (cmds[i] == NULL)
				log_err("raft: entry %" PRIu64 " holds an undecodable command: applied as a no-op",
				    e[i].index);
		}
		if (e[i].index > sm->sessions_index) {
			early[i] = fsm_session_commit(sm, cmds[i], e[i].index);
			sm->sessions_index = e[i].index;
		}
	}
	session_table_expire(sm->sessions, sm->sessions_index);
	if (n > 0)
		fsm_apply(sm->st, e[0].index, cmds, n, now_ms, cb, arg);
	for (size_t i = 0; i < n; i++)
		if (cmds[i] != NULL)
			rcfs__command__free_unpacked(cmds[i], NULL);
	free(cmds);
}

void
fsm_stat(struct store *st, const char *name, fsm_stat_cb *cb, void *arg)
{
	struct fsm_call *call = fsm_call_new(arg);

	call->cb.stat = cb;
	store_commandf(st, fsm_stat_reply, call, "GET rcfs:f:%b", name, strlen(name));
}

static void
fsm_stat_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct fsm_call *call = arg;
	const char *why;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	Rcfs__FileMeta *m = NULL;

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && r->type == REDIS_REPLY_STRING) {
		m = rcfs__file_meta__unpack(NULL, r->len, (const uint8_t *)r->str);
		if (m == NULL)
			code = fsm_unexpected(&why, "corrupt file metadata in storage");
	}
	call->cb.stat(call->arg, code, why, m);
	free(call);
}

void
fsm_list(struct store *st, const char *prefix, const char *after, uint32_t limit,
    fsm_list_cb *cb, void *arg)
{
	struct fsm_call *call = fsm_call_new(arg);
	char *min, *max, *lim;
	const char *argv[6];
	size_t argvlen[6];

	/* Names are UTF-8, which never contains 0xff: prefix + 0xff bounds them. */
	if (after[0] != '\0' && strcmp(after, prefix) >= 0)
		min = xasprintf("(%s", after);
	else
		min = xasprintf("[%s", prefix);
	max = prefix[0] ? xasprintf("[%s\xff", prefix) : xstrdup("+");
	lim = xasprintf("%u", limit + 1);
	argv[0] = "EVAL"; argv[1] = fsm_list_lua; argv[2] = "0";
	argv[3] = min; argv[4] = max; argv[5] = lim;
	for (int i = 0; i < 6; i++)
		argvlen[i] = strlen(argv[i]);
	call->cb.list = cb;
	call->more_limit = (int)limit;
	store_command(st, 0, fsm_list_reply, call, 6, argv, argvlen);
	free(min);
	free(max);
	free(lim);
}

static void
fsm_list_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct fsm_call *call = arg;
	const char *why;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	Rcfs__FileMeta **metas = NULL;
	size_t n = 0;
	int more = 0;

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && r->type != REDIS_REPLY_ARRAY)
		code = fsm_unexpected(&why, "unexpected reply from the list script");
	if (code == RCFS__ERROR_CODE__E_OK) {
		size_t total = r->elements;
		if (total > (size_t)call->more_limit) {
			more = 1;
			total = (size_t)call->more_limit;
		}
		metas = xcalloc(total ? total : 1, sizeof *metas);
		for (size_t i = 0; i < total; i++) {
			redisReply *e = r->element[i];
			Rcfs__FileMeta *m;
			if (e->type != REDIS_REPLY_STRING || e->len == 0)
				continue;   /* removed between the two reads: impossible in a script */
			m = rcfs__file_meta__unpack(NULL, e->len, (const uint8_t *)e->str);
			if (m != NULL)
				metas[n++] = m;
		}
	}
	call->cb.list(call->arg, code, why, metas, n, more);
	free(call);
}

void
fsm_count(struct store *st, fsm_count_cb *cb, void *arg)
{
	struct fsm_call *call = fsm_call_new(arg);
	static const char lua[] =
	    "return {redis.call('ZCARD','rcfs:files'), redis.call('HLEN','rcfs:refs')}";

	call->cb.count = cb;
	store_commandf(st, fsm_count_reply, call, "EVAL %s 0", lua);
}

static void
fsm_count_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct fsm_call *call = arg;
	const char *why;
	Rcfs__ErrorCode code = store_result(r, err, &why);

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && (r->type != REDIS_REPLY_ARRAY || r->elements != 2))
		code = fsm_unexpected(&why, "unexpected reply from the count script");
	if (code != RCFS__ERROR_CODE__E_OK)
		call->cb.count(call->arg, code, why, 0, 0);
	else
		call->cb.count(call->arg, code, NULL, (uint64_t)r->element[0]->integer,
		    (uint64_t)r->element[1]->integer);
	free(call);
}

/* The next files after ARGV[1] (exclusive; "" = from the start), at most
 * ARGV[2]: returns {last name, hex chunk list, hex chunk list, ...}. */
static const char fsm_scan_lua[] =
"local min = ARGV[1] == '' and '-' or ('(' .. ARGV[1])\n"
"local names = redis.call('ZRANGEBYLEX', 'rcfs:files', min, '+', 'LIMIT', 0, ARGV[2])\n"
"local out = { names[#names] or '' }\n"
"for _, n in ipairs(names) do out[#out + 1] = redis.call('GET', 'rcfs:fc:' .. n) or '' end\n"
"return out\n";

void
fsm_scan_chunks(struct store *st, const char *cursor, uint32_t max, fsm_scan_cb *cb, void *arg)
{
	struct fsm_call *call = fsm_call_new(arg);
	char limit[16];
	const char *argv[5];
	size_t argvlen[5];

	call->cb.scan = cb;
	snprintf(limit, sizeof limit, "%u", max);
	argv[0] = "EVAL"; argv[1] = fsm_scan_lua; argv[2] = "0";
	argv[3] = cursor; argv[4] = limit;
	for (int i = 0; i < 5; i++)
		argvlen[i] = strlen(argv[i]);
	store_command(st, 0, fsm_scan_reply, call, 5, argv, argvlen);
}

static void
fsm_scan_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct fsm_call *call = arg;
	const char *why;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	uint8_t (*shas)[32] = NULL;
	size_t n = 0, cap = 0;

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING))
		code = fsm_unexpected(&why, "unexpected reply from the scan script");
	if (code != RCFS__ERROR_CODE__E_OK) {
		call->cb.scan(call->arg, code, why, "", NULL, 0);
		free(call);
		return;
	}
	for (size_t i = 1; i < r->elements; i++) {
		const char *hex = r->element[i]->str;
		size_t len = r->element[i]->len;
		for (size_t k = 0; hex != NULL && k + 64 <= len; k += 64) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				shas = xrealloc(shas, cap * sizeof *shas);
			}
			if (sodium_hex2bin(shas[n], sizeof shas[n], hex + k, 64, NULL, NULL, NULL) == 0)
				n++;
		}
	}
	/* An empty last name means the walk reached the end. */
	call->cb.scan(call->arg, code, NULL, r->element[0]->str, (const uint8_t (*)[32])shas, n);
	free(shas);
	free(call);
}

static void
fsm_gc_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct fsm_call *call = arg;
	const char *why;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	struct fsm_gc_result res = { 0, 0, 0, -1, -1, 0 };

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && (r->type != REDIS_REPLY_ARRAY || r->elements != 6))
		code = fsm_unexpected(&why, "unexpected reply from the GC script");
	for (size_t i = 0; code == RCFS__ERROR_CODE__E_OK && i < 6; i++)
		if (r->element[i]->type != REDIS_REPLY_INTEGER)
			code = fsm_unexpected(&why, "unexpected reply from the GC script");
	if (code == RCFS__ERROR_CODE__E_OK) {
		res.deleted = (uint64_t)r->element[0]->integer;
		res.deleted_bytes = (uint64_t)r->element[1]->integer;
		res.held_until_ms = (uint64_t)r->element[2]->integer;
		res.waiting = r->element[3]->integer;
		res.waiting_bytes = r->element[4]->integer;
		res.examined = (uint64_t)r->element[5]->integer;
	}
	call->cb.gc(call->arg, code, code == RCFS__ERROR_CODE__E_OK ? NULL : why, &res);
	free(call);
}

void
fsm_gc(struct store *st, uint64_t now_ms, uint32_t max, bool census, fsm_gc_cb *cb, void *arg)
{
	struct fsm_call *call = fsm_call_new(arg);

	call->cb.gc = cb;
	store_commandf(st, fsm_gc_reply, call, "EVAL %s 0 %" PRIu64 " %u %d", fsm_gc_lua, now_ms, max,
	    census ? 1 : 0);
}

/* ---- snapshots (Raft §7) ---------------------------------------------------------- */

/* Returns {applied, nfiles, holds ("holder=until," repeated), name, meta,
 * chunks, ..., client id, value, index, ...}. */
static const char fsm_dump_lua[] =
"local out = { redis.call('GET', 'rcfs:applied') or '0' }\n"
"local names = redis.call('ZRANGE', 'rcfs:files', 0, -1)\n"
"out[2] = #names\n"
"local holds = redis.call('HGETALL', 'rcfs:gchold')\n"
"local hs = ''\n"
"for i = 1, #holds, 2 do hs = hs .. holds[i] .. '=' .. holds[i + 1] .. ',' end\n"
"out[3] = hs\n"
"for _, n in ipairs(names) do\n"
"  out[#out + 1] = n\n"
"  out[#out + 1] = redis.call('GET', 'rcfs:f:' .. n) or ''\n"
"  out[#out + 1] = redis.call('GET', 'rcfs:fc:' .. n) or ''\n"
"end\n"
/* Sessions the next entry would still honour (fsm_apply_lua): the same at
 * every node, however far each one's sweep has got. */
"local applied = tonumber(out[1])\n"
"local s = redis.call('HGETALL', 'rcfs:sessions')\n"
"for i = 1, #s, 2 do\n"
"  local v, idx = string.match(s[i + 1], '^(%d+:%-?%d+):(%d+)$')\n"
"  if v and tonumber(idx) + " FSM_STR(FSM_SESSION_WINDOW) " >= applied then\n"
"    out[#out + 1] = s[i]; out[#out + 1] = v; out[#out + 1] = idx\n"
"  end\n"
"end\n"
"return out\n";

/* ARGV: now, index, nfiles, holds (as the dump gives them), (name, meta,
 * chunks)*, then (client id, value, index)*.  Replaces the whole state machine in one step; the Raft state's
 * part of an install (log, stored snapshot) is node/raftlog.c's, sent in
 * the same MULTI/EXEC. */
static const char fsm_install_lua[] =
"local now = ARGV[1]\n"
"local old = redis.call('HKEYS', 'rcfs:refs')\n"
"for _, n in ipairs(redis.call('ZRANGE', 'rcfs:files', 0, -1)) do\n"
"  redis.call('DEL', 'rcfs:f:' .. n, 'rcfs:fc:' .. n)\n"
"end\n"
"redis.call('DEL', 'rcfs:files', 'rcfs:refs', 'rcfs:sessions', 'rcfs:sessidx', 'rcfs:sessweep',\n"
"    'rcfs:gchold')\n"
"for holder, till in string.gmatch(ARGV[4], '(%d+)=(%d+),') do\n"
"  redis.call('HSET', 'rcfs:gchold', holder, till)\n"
"end\n"
"local a = 5\n"
"for k = 1, tonumber(ARGV[3]) do\n"
"  local n, m, c = ARGV[a], ARGV[a + 1], ARGV[a + 2]\n"
"  a = a + 3\n"
"  redis.call('SET', 'rcfs:f:' .. n, m)\n"
"  if #c > 0 then redis.call('SET', 'rcfs:fc:' .. n, c) end\n"
"  redis.call('ZADD', 'rcfs:files', 0, n)\n"
"  for i = 1, #c, 64 do\n"
"    local h = string.sub(c, i, i + 63)\n"
"    redis.call('HINCRBY', 'rcfs:refs', h, 1)\n"
"  end\n"
"end\n"
"while a + 2 <= #ARGV do\n"
"  redis.call('HSET', 'rcfs:sessions', ARGV[a], ARGV[a + 1] .. ':' .. ARGV[a + 2])\n"
"  a = a + 3\n"
"end\n"
"for _, h in ipairs(old) do\n"
"  if redis.call('HEXISTS', 'rcfs:refs', h) == 0 then redis.call('ZADD', 'rcfs:gc', now, h) end\n"
"end\n"
"redis.call('SET', 'rcfs:applied', ARGV[2])\n"
"return 1\n";

static void fsm_dump_reply(struct store *st, redisReply *r, enum store_err err, void *arg);

/* Backup holds in a dump ("holder=until," repeated) into out[max]; returns how
 * many (max: the number of commas is enough). */
static size_t
fsm_holds_parse(const char *s, Rcfs__GcHold *out, size_t max)
{
	size_t n = 0;
	unsigned long long holder, until;
	int used = 0;

	while (n < max && sscanf(s, "%llu=%llu,%n", &holder, &until, &used) == 2 && used > 0) {
		rcfs__gc_hold__init(&out[n]);
		out[n].holder = holder;
		out[n].has_until_ms = 1;
		out[n].until_ms = until;
		n++;
		s += used;
	}
	return n;
}

void
fsm_snapshot_dump(struct store *st, fsm_snapshot_cb *cb, void *arg)
{
	struct fsm_call *call = fsm_call_new(arg);

	call->cb.snapshot = cb;
	store_commandf(st, fsm_dump_reply, call, "EVAL %s 0", fsm_dump_lua);
}

static void
fsm_dump_reply(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct fsm_call *call = arg;
	const char *why;
	Rcfs__ErrorCode code = store_result(r, err, &why);
	Rcfs__Snapshot snap = RCFS__SNAPSHOT__INIT;
	Rcfs__SnapshotFile *files = NULL, **fptrs = NULL;
	Rcfs__SnapshotSession *sess = NULL, **sptrs = NULL;
	Rcfs__GcHold *holds = NULL, **hptrs = NULL;
	size_t nfiles = 0, nsess = 0, nholds = 0, i, k;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)st;
	if (code == RCFS__ERROR_CODE__E_OK && (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
	    r->element[1]->type != REDIS_REPLY_INTEGER || r->element[2]->type != REDIS_REPLY_STRING ||
	    3 + 3 * (size_t)r->element[1]->integer > r->elements))
		code = fsm_unexpected(&why, "unexpected reply from the snapshot script");
	if (code != RCFS__ERROR_CODE__E_OK) {
		call->cb.snapshot(call->arg, code, why, 0, NULL, 0);
		free(call);
		return;
	}
	nfiles = (size_t)r->element[1]->integer;
	nsess = (r->elements - 3 - 3 * nfiles) / 3;
	snap.index = strtoull(r->element[0]->str, NULL, 10);
	for (const char *c = r->element[2]->str; (c = strchr(c, ',')) != NULL; c++)
		nholds++;
	holds = xcalloc(nholds + 1, sizeof *holds);
	hptrs = xcalloc(nholds + 1, sizeof *hptrs);
	nholds = fsm_holds_parse(r->element[2]->str, holds, nholds);
	for (i = 0; i < nholds; i++)
		hptrs[i] = &holds[i];
	files = xcalloc(nfiles + 1, sizeof *files);
	fptrs = xcalloc(nfiles + 1, sizeof *fptrs);
	for (i = 0, k = 3; i < nfiles; i++, k += 3) {
		rcfs__snapshot_file__init(&files[i]);
		files[i].name = r->element[k]->str;
		files[i].meta.data = (uint8_t *)r->element[k + 1]->str;
		files[i].meta.len = r->element[k + 1]->len;
		files[i].has_chunks = 1;
		files[i].chunks.data = (uint8_t *)r->element[k + 2]->str;
		files[i].chunks.len = r->element[k + 2]->len;
		fptrs[i] = &files[i];
	}
	sess = xcalloc(nsess + 1, sizeof *sess);
	sptrs = xcalloc(nsess + 1, sizeof *sptrs);
	for (i = 0; i < nsess; i++, k += 3) {
		rcfs__snapshot_session__init(&sess[i]);
		sess[i].client_id = r->element[k]->str;
		sess[i].value = r->element[k + 1]->str;
		sess[i].index = strtoull(r->element[k + 2]->str, NULL, 10);
		sptrs[i] = &sess[i];
	}
	snap.files = fptrs;
	snap.n_files = nfiles;
	snap.sessions = sptrs;
	snap.n_sessions = nsess;
	snap.holds = hptrs;
	snap.n_holds = nholds;
	len = rcfs__snapshot__get_packed_size(&snap);
	buf = xmalloc(len ? len : 1);
	rcfs__snapshot__pack(&snap, buf);
	call->cb.snapshot(call->arg, RCFS__ERROR_CODE__E_OK, NULL, snap.index, buf, len);
	free(buf);
	free(files);
	free(fptrs);
	free(sess);
	free(sptrs);
	free(holds);
	free(hptrs);
	free(call);
}

bool
fsm_snapshot_install(struct fsm *sm, struct store_group *g, uint64_t index, const uint8_t *data,
    size_t len, uint64_t now_ms)
{
	Rcfs__Snapshot *snap = rcfs__snapshot__unpack(NULL, len, data);
	size_t argc, a = 0;
	const char **argv;
	size_t *argvlen;
	char nums[3][24];
	char (*idx)[24];
	char *holds;

	if (snap != NULL && snap->index != index) {
		/* Bytes of another state than the snapshot they came with. */
		log_err("snapshot for index %" PRIu64 " holds the state at %" PRIu64 ": refused",
		    index, snap->index);
		rcfs__snapshot__free_unpacked(snap, NULL);
		snap = NULL;
	}
	/* The session table follows the state it bounds, taken or not. */
	sm->sessions_valid = snap != NULL && session_table_load_snapshot(sm->sessions, data, len);
	sm->sessions_index = index;
	if (snap == NULL) {
		store_group_fail(g, RCFS__ERROR_CODE__E_INTERNAL, "corrupt snapshot");
		return false;
	}
	argc = 7 + 3 * snap->n_files + 3 * snap->n_sessions;
	holds = xcalloc(snap->n_holds + 1, 42);
	for (size_t i = 0; i < snap->n_holds; i++)
		snprintf(holds + strlen(holds), 42, "%" PRIu64 "=%" PRIu64 ",", snap->holds[i]->holder,
		    snap->holds[i]->until_ms);
	argv = xcalloc(argc, sizeof *argv);
	argvlen = xcalloc(argc, sizeof *argvlen);
	idx = xcalloc(snap->n_sessions + 1, sizeof *idx);
	snprintf(nums[0], sizeof nums[0], "%" PRIu64, now_ms);
	snprintf(nums[1], sizeof nums[1], "%" PRIu64, index);
	snprintf(nums[2], sizeof nums[2], "%zu", snap->n_files);
#define ARG(p, l) do { argv[a] = (const char *)(p); argvlen[a] = (l); a++; } while (0)
	ARG("EVAL", 4);
	ARG(fsm_install_lua, strlen(fsm_install_lua));
	ARG("0", 1);
	for (int i = 0; i < 3; i++)
		ARG(nums[i], strlen(nums[i]));
	ARG(holds, strlen(holds));
	for (size_t i = 0; i < snap->n_files; i++) {
		ARG(snap->files[i]->name, strlen(snap->files[i]->name));
		ARG(snap->files[i]->meta.data, snap->files[i]->meta.len);
		ARG(snap->files[i]->chunks.data, snap->files[i]->chunks.len);
	}
	for (size_t i = 0; i < snap->n_sessions; i++) {
		snprintf(idx[i], sizeof idx[i], "%" PRIu64, snap->sessions[i]->index);
		ARG(snap->sessions[i]->client_id, strlen(snap->sessions[i]->client_id));
		ARG(snap->sessions[i]->value, strlen(snap->sessions[i]->value));
		ARG(idx[i], strlen(idx[i]));
	}
#undef ARG
	store_group_add(g, (int)a, argv, argvlen);
	free(holds);
	free(idx);
	free(argv);
	free(argvlen);
	rcfs__snapshot__free_unpacked(snap, NULL);
	return true;
}
