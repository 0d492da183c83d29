/* Unit tests: the metadata state machine (src/fs/fsm.c) against a real
 * redis-server: what fsm_apply() answers for each command of a batch and
 * what it leaves in redis.  The apply script runs on every node for every
 * committed entry, so it is written for speed (docs/benchmarks.md); these
 * tests pin down its semantics: versions, at-most-once sessions (also for a
 * retry inside one batch), replay after a restart, chunk reference counts,
 * GC (upload protections, backup holds), batches larger than one bulk call, session expiry; and
 * that the session table (fs/session.h), which lets the leader answer puts
 * at commit, never calls a retry new. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/chunk.h"
#include "fs/fsm.h"
#include "fs/session.h"
#include "t/unit/check_main.h"
#include "util/time.h"
#include "t/unit/redis_harness.h"

static struct event_base *base;
static struct store *st;

static void
setup(void)
{
	bool up;

	base = event_base_new();
	redis_start();
	st = store_up(base, &up);
}

static void
teardown(void)
{
	store_free(st);
	event_base_free(base);
	redis_kill();
}

/* ---- building commands ---- */

static uint8_t hashes[8][32];   /* hashes[i] = 32 bytes of i+1 */

static Rcfs__Command *
put(const char *name, uint64_t cid, uint64_t seq, int nchunks, const int *chunks)
{
	Rcfs__Command *c = calloc(1, sizeof *c);
	Rcfs__FileCommit *fc = calloc(1, sizeof *fc);
	Rcfs__FileMeta *m = calloc(1, sizeof *m);

	rcfs__command__init(c);
	rcfs__file_commit__init(fc);
	rcfs__file_meta__init(m);
	m->name = (char *)name;
	m->size = 100 + seq;
	m->chunk_size = 1 << 20;
	m->n_chunks = (size_t)nchunks;
	m->chunks = calloc((size_t)nchunks + 1, sizeof *m->chunks);
	for (int i = 0; i < nchunks; i++) {
		m->chunks[i].data = hashes[chunks[i]];
		m->chunks[i].len = 32;
	}
	fc->meta = m;
	if (cid != 0) {
		fc->has_client_id = fc->has_seq = 1;
		fc->client_id = cid;
		fc->seq = seq;
	}
	c->commit = fc;
	return c;
}

static Rcfs__Command *
rm(const char *name, uint64_t cid, uint64_t seq)
{
	Rcfs__Command *c = calloc(1, sizeof *c);
	Rcfs__FileRemove *r = calloc(1, sizeof *r);

	rcfs__command__init(c);
	rcfs__file_remove__init(r);
	r->name = (char *)name;
	if (cid != 0) {
		r->has_client_id = r->has_seq = 1;
		r->client_id = cid;
		r->seq = seq;
	}
	c->remove = r;
	return c;
}

/* mv src dst as the leader builds it: src's meta as read (owned, from
 * fsm_stat), renamed, with a new HLC; src_hlc keeps the one read. */
static Rcfs__Command *
mv(const char *src, const char *dst, Rcfs__FileMeta *read, uint64_t cid, uint64_t seq)
{
	Rcfs__Command *c = calloc(1, sizeof *c);
	Rcfs__FileRename *r = calloc(1, sizeof *r);

	rcfs__command__init(c);
	rcfs__file_rename__init(r);
	r->src = (char *)src;
	r->dst = (char *)dst;
	r->has_src_hlc = read->has_hlc;
	r->src_hlc = read->hlc;
	free(read->name);
	read->name = strdup(dst);
	read->has_hlc = 1;
	read->hlc = read->hlc + 12345;
	r->meta = read;
	r->has_client_id = r->has_seq = 1;
	r->client_id = cid;
	r->seq = seq;
	c->rename = r;
	return c;
}

static void
free_cmd(Rcfs__Command *c)
{
	if (c == NULL)
		return;
	if (c->commit != NULL) {
		free(c->commit->meta->chunks);
		free(c->commit->meta);
		free(c->commit);
	}
	if (c->rename != NULL) {
		rcfs__file_meta__free_unpacked(c->rename->meta, NULL);
		free(c->rename);
	}
	free(c->remove);
	free(c);
}

/* ---- running the state machine ---- */

struct applied {
	bool done;
	char err[256];      /* "" or the cause */
	size_t n;
	struct fsm_result res[1024];
};

static void
apply_cb(void *arg, Rcfs__ErrorCode code, const char *err, const struct fsm_result *res,
    size_t n)
{
	struct applied *a = arg;

	a->done = true;
	snprintf(a->err, sizeof a->err, "%s", code != RCFS__ERROR_CODE__E_OK ? err : "");
	a->n = n;
	if (res != NULL)
		memcpy(a->res, res, n * sizeof *res);
}

/* Applies cmds[0..n-1] as entries first..first+n-1, frees them, and
 * returns the results (static: valid until the next call). */
static struct fsm_result *
apply(uint64_t first, Rcfs__Command **cmds, size_t n)
{
	static struct applied a;

	memset(&a, 0, sizeof a);
	fsm_apply(st, first, cmds, n, 1000, apply_cb, &a);
	ck_assert_msg(loop_until(base, &a.done, 10), "apply did not answer");
	ck_assert_msg(a.err[0] == '\0', "apply failed: %s", a.err);
	ck_assert_uint_eq(a.n, n);
	for (size_t i = 0; i < n; i++)
		free_cmd(cmds[i]);
	return a.res;
}

struct reply {
	bool done;
	long long integer;
	char str[256];
	bool nil;
};

static void
reply_cb(struct store *s, redisReply *r, enum store_err err, void *arg)
{
	struct reply *rp = arg;

	(void)s;
	ck_assert_int_eq(err, STORE_OK);
	rp->nil = r->type == REDIS_REPLY_NIL;
	if (r->type == REDIS_REPLY_INTEGER)
		rp->integer = r->integer;
	if (r->type == REDIS_REPLY_STRING)
		snprintf(rp->str, sizeof rp->str, "%.*s", (int)r->len, r->str);
	rp->done = true;
}

/* One redis command (printf-style, as store_commandf); returns its reply
 * (static: valid until the next REDIS). */
static struct reply rp;

static struct reply *
rp_reset(void)
{
	memset(&rp, 0, sizeof rp);
	return &rp;
}

static struct reply *
rp_wait(void)
{
	ck_assert(loop_until(base, &rp.done, 5));
	return &rp;
}

#define REDIS(...) (store_commandf(st, reply_cb, rp_reset(), __VA_ARGS__), rp_wait())

static char *
hex(int i)
{
	static char buf[65];
	for (int k = 0; k < 32; k++)
		snprintf(buf + 2 * k, 3, "%02x", hashes[i][k]);
	return buf;
}

struct stat_res {
	bool done;
	bool found;
	uint64_t version, size;
};

static void
stat_cb(void *arg, Rcfs__ErrorCode code, const char *err, Rcfs__FileMeta *m)
{
	struct stat_res *s = arg;

	ck_assert_msg(code == RCFS__ERROR_CODE__E_OK, "stat: %s", err);
	s->done = true;
	s->found = m != NULL;
	if (m != NULL) {
		s->version = m->version;
		s->size = m->size;
		rcfs__file_meta__free_unpacked(m, NULL);
	}
}

static struct stat_res
stat_file(const char *name)
{
	struct stat_res s = { 0 };

	fsm_stat(st, name, stat_cb, &s);
	ck_assert(loop_until(base, &s.done, 5));
	return s;
}

/* ---- tests ---- */

struct meta_res {
	bool done;
	Rcfs__FileMeta *m;
};

static void
meta_cb(void *arg, Rcfs__ErrorCode code, const char *err, Rcfs__FileMeta *m)
{
	struct meta_res *r = arg;

	ck_assert_msg(code == RCFS__ERROR_CODE__E_OK, "stat: %s", err);
	r->m = m;
	r->done = true;
}

/* name's meta as stored (owned by the caller). */
static Rcfs__FileMeta *
read_meta(const char *name)
{
	struct meta_res r = { 0 };

	fsm_stat(st, name, meta_cb, &r);
	ck_assert(loop_until(base, &r.done, 5));
	ck_assert_ptr_nonnull(r.m);
	return r.m;
}

START_TEST(versions_and_removes)
{
	Rcfs__Command *b[] = { put("a", 1, 1, 0, NULL), put("b", 2, 1, 0, NULL),
		rm("c", 3, 1), rm("a", 1, 2), NULL };
	struct fsm_result *r = apply(10, b, 5);

	ck_assert_uint_eq(r[0].version, 10);
	ck_assert_int_eq(r[0].code, RCFS__ERROR_CODE__E_OK);
	ck_assert_uint_eq(r[1].version, 11);
	ck_assert_int_eq(r[2].code, RCFS__ERROR_CODE__E_NOT_FOUND);     /* rm of a missing name */
	ck_assert_uint_eq(r[3].version, 13);
	ck_assert_int_eq(r[3].code, RCFS__ERROR_CODE__E_OK);
	ck_assert_uint_eq(r[4].version, 0);                             /* no-op */
	ck_assert(!stat_file("a").found);
	ck_assert_uint_eq(stat_file("b").version, 11);
	ck_assert_int_eq(REDIS("ZCARD rcfs:files")->integer, 1);
	ck_assert_int_eq(REDIS("ZSCORE rcfs:files b")->nil, 0);
	ck_assert_str_eq(REDIS("GET rcfs:applied")->str, "14");
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 1")->str, "2:13:13");
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 3")->str, "1:0:12");   /* seq:result:index */
	ck_assert_int_eq(REDIS("HLEN rcfs:sessions")->integer, 3);
}
END_TEST

/* mv: one entry moves the file (the chunks keep one reference each, dst
 * replaced); it applies only if src is still exactly what the leader read,
 * so a put that commits between the read and the mv is never lost. */
START_TEST(rename_moves_only_what_was_read)
{
	static const int two[] = { 0, 1 }, one[] = { 2 };
	Rcfs__Command *b1[] = { put("s", 1, 1, 2, two), put("d", 1, 2, 1, one) };
	Rcfs__Command *b2[1], *b3[1], *b4[2], *b5[1];
	Rcfs__FileMeta *old;
	struct fsm_result *r;

	apply(20, b1, 2);
	b2[0] = mv("s", "d", read_meta("s"), 2, 1);
	r = apply(22, b2, 1);
	ck_assert_int_eq(r[0].code, RCFS__ERROR_CODE__E_OK);
	ck_assert_uint_eq(r[0].version, 22);
	ck_assert(!stat_file("s").found);
	ck_assert_uint_eq(stat_file("d").version, 22);
	ck_assert_uint_eq(stat_file("d").size, 101);            /* s's content */
	ck_assert_str_eq(REDIS("HGET rcfs:refs %s", hex(0))->str, "1");
	ck_assert_int_eq(REDIS("HEXISTS rcfs:refs %s", hex(2))->integer, 0);   /* d's old chunk */
	ck_assert_int_eq(REDIS("ZCARD rcfs:files")->integer, 1);

	/* src replaced after the read: nothing moves, both names as they were. */
	b3[0] = put("s2", 3, 1, 0, NULL);
	apply(23, b3, 1);
	old = read_meta("s2");
	b4[0] = put("s2", 3, 2, 0, NULL);
	b4[1] = mv("s2", "d2", old, 3, 3);
	r = apply(24, b4, 2);
	ck_assert_int_eq(r[1].code, RCFS__ERROR_CODE__E_CONFLICT);
	ck_assert_uint_eq(stat_file("s2").version, 24);
	ck_assert(!stat_file("d2").found);
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 3")->str, "3:-2:25");   /* a retry gets the same */

	/* A source that is gone: not found. */
	old = read_meta("d");
	b5[0] = mv("gone", "x", old, 4, 1);
	r = apply(26, b5, 1);
	ck_assert_int_eq(r[0].code, RCFS__ERROR_CODE__E_NOT_FOUND);
	ck_assert(!stat_file("x").found);
}
END_TEST

/* Raft dissertation §6.3: a retried command gets the first outcome and is
 * not applied again, also when the retry is in the same batch. */
START_TEST(retries_answered_from_the_session)
{
	Rcfs__Command *b1[] = { put("x", 7, 5, 0, NULL) };
	Rcfs__Command *b2[] = { put("x", 7, 5, 0, NULL), put("y", 7, 6, 0, NULL),
		put("z", 8, 1, 0, NULL), put("z", 8, 1, 0, NULL), put("w", 0, 0, 0, NULL) };
	Rcfs__Command *b3[] = { put("x", 7, 4, 0, NULL), put("w", 0, 0, 0, NULL) };
	struct fsm_result *r;

	r = apply(20, b1, 1);
	ck_assert_uint_eq(r[0].version, 20);
	r = apply(21, b2, 5);
	ck_assert_uint_eq(r[0].version, 20);    /* retry: the first outcome */
	ck_assert_uint_eq(r[1].version, 22);
	ck_assert_uint_eq(r[2].version, 23);
	ck_assert_uint_eq(r[3].version, 23);    /* retry inside the batch */
	ck_assert_uint_eq(r[4].version, 25);    /* no client id: always applied */
	ck_assert_uint_eq(stat_file("x").version, 20);
	ck_assert_uint_eq(stat_file("z").version, 23);
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 7")->str, "6:22:22");
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 8")->str, "1:23:23");
	r = apply(26, b3, 2);
	ck_assert_uint_eq(r[0].version, 22);    /* an older seq: the session's outcome */
	ck_assert_uint_eq(r[1].version, 27);
	ck_assert_uint_eq(stat_file("w").version, 27);
}
END_TEST

/* Entries at or below the applied index (a replay after a restart) change
 * nothing and answer -1 (version 0). */
START_TEST(replay_is_skipped)
{
	Rcfs__Command *b1[] = { put("p", 1, 1, 0, NULL), put("q", 1, 2, 0, NULL) };
	Rcfs__Command *b2[] = { put("q", 2, 1, 0, NULL), put("r", 1, 3, 0, NULL) };
	struct fsm_result *r;

	apply(5, b1, 2);
	r = apply(6, b2, 2);                    /* 6 was applied, 7 is new */
	ck_assert_uint_eq(r[0].version, 0);
	ck_assert_int_eq(r[0].code, RCFS__ERROR_CODE__E_OK);
	ck_assert_uint_eq(r[1].version, 7);
	ck_assert_uint_eq(stat_file("q").version, 6);
	ck_assert_int_eq(REDIS("HEXISTS rcfs:sessions 2")->integer, 0);
	ck_assert_str_eq(REDIS("GET rcfs:applied")->str, "7");
}
END_TEST

/* Chunks are counted per referencing file; one that loses its last
 * reference becomes a GC candidate, and one referenced again is not. */
START_TEST(chunk_references)
{
	int f1[] = { 0, 1 }, g1[] = { 1 }, f2[] = { 2, 0 };
	Rcfs__Command *b1[] = { put("f", 0, 0, 2, f1), put("g", 0, 0, 1, g1) };
	Rcfs__Command *b2[] = { put("f", 0, 0, 2, f2), rm("g", 0, 0) };
	Rcfs__Command *b3[] = { put("h", 0, 0, 1, g1), put("f", 0, 0, 0, NULL) };

	apply(1, b1, 2);
	ck_assert_str_eq(REDIS("HGET rcfs:refs %s", hex(0))->str, "1");
	ck_assert_str_eq(REDIS("HGET rcfs:refs %s", hex(1))->str, "2");
	apply(3, b2, 2);
	ck_assert_str_eq(REDIS("HGET rcfs:refs %s", hex(0))->str, "1");
	ck_assert_str_eq(REDIS("HGET rcfs:refs %s", hex(2))->str, "1");
	ck_assert(REDIS("HGET rcfs:refs %s", hex(1))->nil);
	ck_assert_int_eq(REDIS("ZSCORE rcfs:gc %s", hex(1))->nil, 0);
	ck_assert(!stat_file("g").found);
	apply(5, b3, 2);                        /* h takes chunk 1 back; f drops its chunks */
	ck_assert_str_eq(REDIS("HGET rcfs:refs %s", hex(1))->str, "1");
	ck_assert(REDIS("HGET rcfs:refs %s", hex(0))->nil);
	ck_assert(REDIS("HGET rcfs:refs %s", hex(2))->nil);
	ck_assert_int_eq(REDIS("EXISTS rcfs:fc:f")->integer, 0);
	ck_assert_int_eq(REDIS("ZCARD rcfs:files")->integer, 2);
}
END_TEST

/* ---- GC ---- */

static struct fsm_gc_result gc_out;

static void
gc_cb(void *arg, Rcfs__ErrorCode code, const char *why, const struct fsm_gc_result *res)
{
	ck_assert_msg(code == RCFS__ERROR_CODE__E_OK, "gc failed: %s", why);
	gc_out = *res;
	*(bool *)arg = true;
}

static struct fsm_gc_result
gc_pass(uint64_t now_ms, bool census)
{
	bool done = false;

	fsm_gc(st, now_ms, 1000, census, gc_cb, &done);
	ck_assert_msg(loop_until(base, &done, 10), "gc did not answer");
	return gc_out;
}

static void
stored_cb(void *arg, Rcfs__ErrorCode code, const char *why)
{
	ck_assert_msg(code == RCFS__ERROR_CODE__E_OK, "chunk_put failed: %s", why);
	*(bool *)arg = true;
}

/* chunk i, 1000 + i bytes, uploaded for commit (uploader, seq), protected
 * until `until`. */
static void
upload(int i, uint64_t uploader, uint64_t seq, uint64_t until)
{
	static uint8_t data[2000];
	struct chunk_upload up = { uploader, seq, until };
	bool done = false;

	chunk_put(st, hashes[i], data, 1000 + (size_t)i, &up, stored_cb, &done);
	ck_assert(loop_until(base, &done, 10));
}

static bool
stored(int i)
{
	char key[72];

	chunk_key(hashes[i], key);
	return REDIS("EXISTS %s", key)->integer == 1;
}

/* A removed file's chunks go at the next pass; a chunk uploaded and not
 * committed stays until its uploader's commit or its protection's end; a
 * commit ends only its own client's protection (another client uploading
 * the same chunk keeps it); nothing goes while a backup hold is in force,
 * and a hold travels in snapshots (dump). */
START_TEST(gc_frees_what_nothing_protects)
{
	int c0[] = { 0 }, c01[] = { 0, 1 };
	uint64_t t = time_real_ms(), hour = 3600000;    /* redis expires keys by its clock */
	struct fsm_gc_result g;

	upload(0, 7, 1, t + hour);              /* client 7 uploads chunk 0 ... */
	upload(0, 8, 1, t + hour);              /* ... and so does client 8 */
	upload(1, 7, 1, t + hour);
	upload(2, 9, 1, t + hour);              /* client 9: never commits */
	{
		Rcfs__Command *b[] = { put("f", 7, 1, 2, c01) };
		apply(1, b, 1);                 /* 7's commit: its protection ends */
	}
	{
		Rcfs__Command *b[] = { rm("f", 7, 2) };
		apply(2, b, 1);
	}
	g = gc_pass(t + 1000, true);
	ck_assert_uint_eq(g.deleted, 1);        /* chunk 1: only 7 uploaded it */
	ck_assert_uint_eq(g.deleted_bytes, 1001);
	ck_assert(!stored(1));
	ck_assert(stored(0));                   /* 8 has not committed yet */
	ck_assert(stored(2));
	ck_assert_int_eq(g.waiting, 2);         /* chunks 0 and 2 */
	ck_assert_int_eq(g.waiting_bytes, 1000 + 1002);
	ck_assert_uint_eq(g.held_until_ms, 0);
	{
		Rcfs__Command *b[] = { put("g", 8, 1, 1, c0) };
		apply(3, b, 1);                 /* 8's commit arrives */
	}
	g = gc_pass(t + 2000, true);
	ck_assert_uint_eq(g.deleted, 0);
	ck_assert(stored(0));
	ck_assert_int_eq(g.waiting, 1);         /* chunk 2 */
	/* A backup hold: g removed, nothing goes while it lasts. */
	{
		Rcfs__Command *c = calloc(1, sizeof *c);
		Rcfs__GcHold *h = calloc(1, sizeof *h);
		rcfs__command__init(c);
		rcfs__gc_hold__init(h);
		h->holder = 42;
		h->has_until_ms = 1;
		h->until_ms = t + 10000;
		c->gc_hold = h;
		Rcfs__Command *b[] = { c, rm("g", 8, 2) };
		apply(4, b, 2);
		free(h);
	}
	g = gc_pass(t + 3000, false);
	ck_assert_uint_eq(g.held_until_ms, t + 10000);
	ck_assert_uint_eq(g.deleted, 0);
	ck_assert(stored(0));
	g = gc_pass(t + 11000, false);          /* the hold is over */
	ck_assert_uint_eq(g.held_until_ms, 0);
	ck_assert_uint_eq(g.deleted, 1);
	ck_assert(!stored(0));
	/* Client 9's protection ends at t + hour. */
	ck_assert_uint_eq(gc_pass(t + hour - 1, false).deleted, 0);
	ck_assert_uint_eq(gc_pass(t + hour + 1, false).deleted, 1);
	ck_assert(!stored(2));
	ck_assert_int_eq(REDIS("ZCARD rcfs:gc")->integer, 0);
	ck_assert_int_eq(REDIS("EXISTS rcfs:u:%s", hex(2))->integer, 0);
}
END_TEST

/* One client, two files sharing a chunk (put -r): the first file's commit,
 * applied after the second file's upload, ends only its own protection;
 * an anonymous copy (repair, the mover) of a referenced chunk takes none. */
START_TEST(gc_protection_is_per_commit)
{
	int c3[] = { 3 };
	uint64_t t = time_real_ms(), hour = 3600000;

	upload(3, 7, 1, t + hour);              /* file a's upload (commit seq 1) */
	upload(3, 7, 2, t + hour);              /* file b's upload of the same chunk (seq 2) */
	{
		Rcfs__Command *b[] = { put("a", 7, 1, 1, c3), rm("a", 5, 1) };
		apply(1, b, 2);                 /* a committed, then removed by someone */
	}
	ck_assert_uint_eq(gc_pass(t + 1000, false).deleted, 0);
	ck_assert(stored(3));                   /* b's protection holds */
	{
		Rcfs__Command *b[] = { put("b", 7, 2, 1, c3) };
		apply(3, b, 1);
	}
	ck_assert(REDIS("HGET rcfs:u:%s 7:2", hex(3))->nil);
	upload(3, 0, 0, t + hour);              /* a repair copy: referenced here, no protection */
	ck_assert_int_eq(REDIS("EXISTS rcfs:u:%s", hex(3))->integer, 0);
	{
		Rcfs__Command *b[] = { rm("b", 7, 3) };
		apply(4, b, 1);
	}
	ck_assert_uint_eq(gc_pass(t + 2000, false).deleted, 1);
	ck_assert(!stored(3));
}
END_TEST

/* A hold is part of the state machine: a dump carries it, an install sets it. */
static bool dumped;
static uint8_t *dump_buf;
static size_t dump_len;

static void
hold_dump_cb(void *arg, Rcfs__ErrorCode code, const char *why, uint64_t index, const uint8_t *data,
    size_t len)
{
	(void)arg; (void)index;
	ck_assert_msg(code == RCFS__ERROR_CODE__E_OK, "dump failed: %s", why);
	dump_buf = malloc(len + 1);
	memcpy(dump_buf, data, len);
	dump_len = len;
	dumped = true;
}

START_TEST(gc_hold_in_snapshot)
{
	Rcfs__Command *c = calloc(1, sizeof *c);
	Rcfs__GcHold *h = calloc(1, sizeof *h);
	Rcfs__Snapshot *snap;

	rcfs__command__init(c);
	rcfs__gc_hold__init(h);
	h->holder = 1234567890123ULL;
	h->has_until_ms = 1;
	h->until_ms = 1733000000000ULL;
	c->gc_hold = h;
	{
		Rcfs__Command *b[] = { c, put("x", 0, 0, 0, NULL) };
		apply(1, b, 2);
	}
	free(h);
	fsm_snapshot_dump(st, hold_dump_cb, NULL);
	ck_assert(loop_until(base, &dumped, 10));
	snap = rcfs__snapshot__unpack(NULL, dump_len, dump_buf);
	ck_assert_ptr_nonnull(snap);
	ck_assert_uint_eq(snap->n_holds, 1);
	ck_assert_uint_eq(snap->holds[0]->holder, 1234567890123ULL);
	ck_assert_uint_eq(snap->holds[0]->until_ms, 1733000000000ULL);
	ck_assert_uint_eq(snap->n_files, 1);
	rcfs__snapshot__free_unpacked(snap, NULL);
	free(dump_buf);
}
END_TEST

/* A batch with more sessions and names than one bulk call carries. */
START_TEST(large_batch)
{
	enum { N = 1000 };
	static Rcfs__Command *b[N];
	static char names[N][16];
	struct fsm_result *r;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "n%04d", i);
		b[i] = put(names[i], (uint64_t)i + 1, 1, 0, NULL);
	}
	r = apply(100, b, N);
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(r[i].version, 100 + (uint64_t)i);
	ck_assert_int_eq(REDIS("ZCARD rcfs:files")->integer, N);
	ck_assert_int_eq(REDIS("HLEN rcfs:sessions")->integer, N);
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 1000")->str, "1:1099:1099");
	/* 800 removes (two ZREM calls) and 200 retries */
	for (int i = 0; i < N; i++)
		b[i] = i % 5 ? rm(names[i], (uint64_t)i + 1, 2) : put(names[i], (uint64_t)i + 1, 1, 0, NULL);
	r = apply(100 + N, b, N);
	for (int i = 0; i < N; i++)
		ck_assert_uint_eq(r[i].version, i % 5 ? 100 + N + (uint64_t)i : 100 + (uint64_t)i);
	ck_assert_int_eq(REDIS("ZCARD rcfs:files")->integer, N / 5);
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 999")->str, "2:2098:2098");
}
END_TEST

/* A digest of everything the state machine keeps (every rcfs:* key). */
static const char *
state_digest(void)
{
	return REDIS("EVAL %s 0",
	    "local keys = redis.call('KEYS', 'rcfs:*')\n"
	    "table.sort(keys)\n"
	    "local out = {}\n"
	    "for _, k in ipairs(keys) do\n"
	    "  local t, v = redis.call('TYPE', k).ok\n"
	    "  if t == 'string' then v = redis.call('GET', k)\n"
	    "  elseif t == 'hash' then\n"
	    "    local h, p = redis.call('HGETALL', k), {}\n"
	    "    for i = 1, #h, 2 do p[#p + 1] = h[i] .. '=' .. h[i + 1] end\n"
	    "    table.sort(p)\n"
	    "    v = table.concat(p, ',')\n"
	    "  else v = table.concat(redis.call('ZRANGE', k, 0, -1, 'WITHSCORES'), ',') end\n"
	    "  out[#out + 1] = k .. '/' .. t .. '/' .. v\n"
	    "end\n"
	    "return redis.sha1hex(table.concat(out, ';'))")->str;
}

/* One random command of one_batch_or_one_by_one, kept to be built twice. */
struct step {
	int kind;               /* 0 put, 1 rm, 2 mv, 3 no-op */
	int name, dst, nch, ch[3];
	uint64_t cid, seq;
	uint8_t mv_meta[512];   /* mv: src's meta as the leader read it (packed) */
	size_t mv_len;
};

static const char *const step_names[] = { "s0", "s1", "s2", "s3" };

static Rcfs__Command *
step_cmd(const struct step *s)
{
	switch (s->kind) {
	case 0:
		return put(step_names[s->name], s->cid, s->seq, s->nch, s->ch);
	case 1:
		return rm(step_names[s->name], s->cid, s->seq);
	case 2:
		return mv(step_names[s->name], step_names[s->dst],
		    rcfs__file_meta__unpack(NULL, s->mv_len, s->mv_meta), s->cid, s->seq);
	default:
		return NULL;
	}
}

/* The apply script reads what a batch touches once and writes it once at
 * the end: a batch must leave exactly what its entries applied one by one
 * leave, and answer the same.  Random puts (chunks shared between names),
 * rms, mvs (src as read, or changed since: a conflict), no-ops and retries
 * on four names. */
START_TEST(one_batch_or_one_by_one)
{
	enum { N = 400 };
	static struct step steps[N];
	static struct fsm_result one[N];
	static Rcfs__Command *b[N];
	uint64_t seqs[4] = { 0 };
	char digest[41];
	struct fsm_result *r;
	unsigned seed = 20261205;

	for (int i = 0; i < N; i++) {
		struct step *s = &steps[i];
		int k = rand_r(&seed) % 10;
		s->kind = k < 5 ? 0 : k < 7 ? 1 : k < 9 ? 2 : 3;
		s->name = rand_r(&seed) % 4;
		s->dst = (s->name + 1 + rand_r(&seed) % 3) % 4;
		s->nch = rand_r(&seed) % 4;
		for (int c = 0; c < s->nch; c++)
			s->ch[c] = rand_r(&seed) % 8;
		s->cid = (uint64_t)(rand_r(&seed) % 4);
		if (s->cid != 0)
			s->seq = rand_r(&seed) % 6 == 0 && seqs[s->cid] > 0 ? seqs[s->cid] : ++seqs[s->cid];
		if (s->kind == 2) {
			struct meta_res m = { 0 };
			fsm_stat(st, step_names[s->name], meta_cb, &m);
			ck_assert(loop_until(base, &m.done, 5));
			if (m.m == NULL) {
				s->kind = 1;    /* nothing to move: an rm of the missing name */
			} else {
				if (rand_r(&seed) % 4 == 0)
					m.m->size++;    /* src changed after the read */
				ck_assert_uint_lt(rcfs__file_meta__get_packed_size(m.m), sizeof s->mv_meta);
				s->mv_len = rcfs__file_meta__pack(m.m, s->mv_meta);
				rcfs__file_meta__free_unpacked(m.m, NULL);
			}
		}
		b[0] = step_cmd(s);
		one[i] = apply(1 + (uint64_t)i, b, 1)[0];
	}
	snprintf(digest, sizeof digest, "%.40s", state_digest());
	REDIS("FLUSHALL");
	for (int i = 0; i < N; i++)
		b[i] = step_cmd(&steps[i]);
	r = apply(1, b, N);
	for (int i = 0; i < N; i++) {
		ck_assert_msg(r[i].code == one[i].code && r[i].version == one[i].version,
		    "entry %d (kind %d): %d/%" PRIu64 " in the batch, %d/%" PRIu64 " alone", i + 1,
		    steps[i].kind, r[i].code, r[i].version, one[i].code, one[i].version);
	}
	ck_assert_str_eq(state_digest(), digest);
	/* Random cuts, each batch led by up to 8 entries applied already (a
	 * restart's replay: skipped, version 0). */
	REDIS("FLUSHALL");
	for (int i = 0; i < N;) {
		int len = 1 + rand_r(&seed) % 48, back = 0;
		if (i + len > N)
			len = N - i;
		if (i > 0 && rand_r(&seed) % 3 == 0)
			back = 1 + rand_r(&seed) % (i < 8 ? i : 8);
		for (int k = 0; k < back + len; k++)
			b[k] = step_cmd(&steps[i - back + k]);
		r = apply(1 + (uint64_t)(i - back), b, (size_t)(back + len));
		for (int k = 0; k < back; k++)
			ck_assert_uint_eq(r[k].version, 0);
		for (int k = back; k < back + len; k++) {
			int e = i - back + k;
			ck_assert_msg(r[k].code == one[e].code && r[k].version == one[e].version,
			    "entry %d (kind %d): %d/%" PRIu64 " in a cut batch, %d/%" PRIu64 " alone", e + 1,
			    steps[e].kind, r[k].code, r[k].version, one[e].code, one[e].version);
		}
		i += len;
	}
	ck_assert_str_eq(state_digest(), digest);
}
END_TEST

/* A session idle for more than FSM_SESSION_WINDOW entries is forgotten
 * (fs/session.h relies on it): ignored from then on, deleted by the batch
 * that passes a multiple of FSM_SESSION_SWEEP. */
START_TEST(sessions_expire)
{
	enum { N = 300 };
	static Rcfs__Command *b[N];
	uint64_t w = FSM_SESSION_WINDOW;

	for (int i = 0; i < N; i++)
		b[i] = put("e", (uint64_t)i + 1, 1, 0, NULL);
	apply(1, b, N);                         /* sessions 1..300 at indexes 1..300 */
	b[0] = put("e", 1000, 1, 0, NULL);
	ck_assert_uint_eq((w + 250) % FSM_SESSION_SWEEP, 250);  /* w + 250 passes a sweep */
	apply(w + 250, b, 1);                   /* deletes all 249 idle since before 250 */
	ck_assert_int_eq(REDIS("HLEN rcfs:sessions")->integer, N - 249 + 1);
	ck_assert_int_eq(REDIS("HEXISTS rcfs:sessions 249")->integer, 0);
	ck_assert_int_eq(REDIS("HEXISTS rcfs:sessions 250")->integer, 1);
	/* Between sweeps, entry by entry, in one batch or not: 250's session is
	 * honoured at w + 251 and 251's at w + 252 (the last entries that do),
	 * and each is forgotten one entry later, stored or not. */
	b[0] = put("e", 250, 1, 0, NULL);
	ck_assert_uint_eq(apply(w + 251, b, 1)[0].version, 250);
	b[0] = put("e", 251, 1, 0, NULL);
	b[1] = put("e", 250, 1, 0, NULL);
	ck_assert_int_eq(REDIS("HEXISTS rcfs:sessions 250")->integer, 1);
	struct fsm_result *r = apply(w + 252, b, 2);
	ck_assert_uint_eq(r[0].version, 251);
	ck_assert_uint_eq(r[1].version, w + 253);   /* 250 + w < w + 253 - 1 */
	b[0] = put("e", 251, 1, 0, NULL);
	ck_assert_uint_eq(apply(w + 254, b, 1)[0].version, w + 254);
	b[0] = put("e", 249, 1, 0, NULL);       /* a deleted client's retry is applied */
	ck_assert_uint_eq(apply(w + 255, b, 1)[0].version, w + 255);
}
END_TEST

/* A sweep of more sessions than one HSCAN returns goes on over the next
 * batches, its cursor in rcfs:sessweep, until it has been through all. */
START_TEST(sweep_spans_batches)
{
	enum { N = 5000, B = 1000 };
	static Rcfs__Command *b[B];
	uint64_t w = FSM_SESSION_WINDOW, at = w + 2 * FSM_SESSION_SWEEP;
	int batches = 0;

	for (int k = 0; k < N / B; k++) {
		for (int i = 0; i < B; i++)
			b[i] = put("e", (uint64_t)(k * B + i) + 1, 1, 0, NULL);
		apply((uint64_t)(k * B) + 1, b, B);     /* sessions 1..5000 at indexes 1..5000 */
	}
	ck_assert_int_eq(REDIS("HLEN rcfs:sessions")->integer, N);
	/* Past a sweep mark and the window of all of them; entries without a
	 * client id, so that no session is added. */
	do {
		b[0] = put("e", 0, 0, 0, NULL);
		apply(at++, b, 1);
		batches++;
		if (batches == 1) {
			ck_assert_int_eq(REDIS("EXISTS rcfs:sessweep")->integer, 1);   /* not done in one */
			ck_assert_int_gt(REDIS("HLEN rcfs:sessions")->integer, 0);
		}
	} while (REDIS("EXISTS rcfs:sessweep")->integer == 1 && batches < 100);
	ck_assert_int_lt(batches, 100);
	ck_assert_int_eq(REDIS("HLEN rcfs:sessions")->integer, 0);
}
END_TEST

/* Rebuilding the table as consensus.c does at a load. */
struct loaded {
	bool done;
	uint64_t n;
};

static void
loaded_cb(void *arg, Rcfs__ErrorCode code, const char *err, uint64_t n)
{
	struct loaded *l = arg;

	ck_assert_msg(code == RCFS__ERROR_CODE__E_OK, "load: %s", err);
	l->n = n;
	l->done = true;
}

static void
rebuild_from_redis(struct session_table *t)
{
	struct loaded l = { false, 0 };

	session_table_clear(t);
	fsm_load_sessions(st, t, loaded_cb, &l);
	ck_assert(loop_until(base, &l.done, 10));
	ck_assert_uint_eq(l.n, session_table_count(t));
}

/* The load takes seqs and indexes from rcfs:sessions; a session with no
 * index (never written so) is given index 0 and forgotten. */
START_TEST(load_reads_seqs_and_indexes)
{
	struct session_table *t = session_table_new();
	Rcfs__Command *b[] = { put("a", 5, 7, 0, NULL) };

	apply(40, b, 1);
	REDIS("HSET rcfs:sessions 77 %s", "9:0");
	rebuild_from_redis(t);
	ck_assert_uint_eq(session_table_count(t), 2);
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 77")->str, "9:0:0");
	session_table_expire(t, 1 + SESSION_FORGET_AFTER);
	ck_assert(!session_table_has(t, 77));                   /* no index: 0, forgotten */
	ck_assert(session_table_has(t, 5));                     /* index 40: not yet */
	ck_assert(!session_table_commit(t, 5, 7, 41));          /* seq 7 is stored */
	ck_assert(session_table_commit(t, 5, 8, 42));
	session_table_expire(t, 43 + 10 * SESSION_FORGET_AFTER);
	ck_assert(!session_table_has(t, 5));                    /* index 42: forgotten */
	session_table_free(t);
}
END_TEST

/* Sessions stored before the index moved into the value (rcfs:sessidx)
 * are converted by the load, indexes kept. */
START_TEST(load_converts_the_old_layout)
{
	struct session_table *t = session_table_new();

	REDIS("HSET rcfs:sessions 5 %s 6 %s", "7:40", "2:-2");
	REDIS("ZADD rcfs:sessidx 40 5 41 6");
	rebuild_from_redis(t);
	ck_assert_int_eq(REDIS("EXISTS rcfs:sessidx")->integer, 0);
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 5")->str, "7:40:40");
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 6")->str, "2:-2:41");
	ck_assert(!session_table_commit(t, 5, 7, 42));
	session_table_expire(t, 41 + SESSION_FORGET_AFTER + 1);
	ck_assert(!session_table_has(t, 6));                    /* index 41: forgotten */
	session_table_free(t);
}
END_TEST

struct dump {
	struct session_table *t;
	bool done, ok;
};

static void
dump_cb(void *arg, Rcfs__ErrorCode code, const char *err, uint64_t index, const uint8_t *data,
    size_t len)
{
	struct dump *d = arg;

	(void)index;
	ck_assert_msg(code == RCFS__ERROR_CODE__E_OK, "dump: %s", err);
	d->ok = session_table_load_snapshot(d->t, data, len);
	d->done = true;
}

static void
rebuild_from_snapshot(struct session_table *t)
{
	struct dump d = { t, false, false };

	fsm_snapshot_dump(st, dump_cb, &d);
	ck_assert(loop_until(base, &d.done, 10));
	ck_assert(d.ok);
}

/* The safety property behind answering at commit: whenever the session
 * table calls a put new, the state machine applies it (version = index).
 * Random batches of puts and removes from 100 clients (some with seqs near
 * FSM_SEQ_MAX), with retries, stale seqs, clients without ids, batches with
 * more clients than one eviction used to take, jumps to either side of the
 * two expiry marks, and the table rebuilt now and then the two ways a node
 * rebuilds it (a load from redis, an installed snapshot). */
START_TEST(session_table_never_calls_a_retry_new)
{
	enum { CLIENTS = 100 };
	struct session_table *t = session_table_new();
	uint64_t seq[CLIENTS], index = 1;
	unsigned rnd = 12345, predicted = 0, retries = 0, forgot = 0, expired = 0;
	long long hlen = 0;

	for (int c = 0; c < CLIENTS; c++)
		seq[c] = c % 10 == 0 ? FSM_SEQ_MAX - 1000000 : 0;
	for (int round = 0; round < 400; round++) {
		static Rcfs__Command *b[80];
		static bool is_new[80];
		size_t n;

		rnd = rnd * 1103515245 + 12345;
		n = 1 + (rnd >> 8) % 80;
		if ((rnd >> 16) % 16 == 0) {
			/* idle sessions expire: just before or after either mark */
			static const uint64_t marks[] = { FSM_SESSION_WINDOW, SESSION_FORGET_AFTER };
			index += marks[(rnd >> 20) % 2] - 40 + (rnd >> 21) % 80;
		}
		if (round % 50 == 25)
			rebuild_from_redis(t);
		else if (round % 50 == 49)
			rebuild_from_snapshot(t);
		for (size_t k = 0; k < n; k++) {
			unsigned c, r;
			uint64_t s;

			rnd = rnd * 1103515245 + 12345;
			c = (rnd >> 8) % CLIENTS;
			r = (rnd >> 16) % 10;
			if (r < 6)
				s = ++seq[c];                   /* the next command */
			else if (r < 9)
				s = seq[c] - (r - 6 < seq[c] ? r - 6 : seq[c]);  /* a retry or an older seq */
			else
				s = 0;
			if ((rnd >> 24) % 5 == 0) {
				b[k] = rm("r", c + 1, s);
				session_table_commit(t, c + 1, s, index + k);
				is_new[k] = false;              /* an rm is answered after the apply */
			} else if (c == CLIENTS - 1) {
				b[k] = put("r", 0, 0, 0, NULL); /* no client id: always applied */
				is_new[k] = true;
			} else {
				b[k] = put("r", c + 1, s, 0, NULL);
				is_new[k] = session_table_commit(t, c + 1, s, index + k);
			}
		}
		struct fsm_result *res = apply(index, b, n);
		for (size_t k = 0; k < n; k++) {
			if (is_new[k]) {
				ck_assert_msg(res[k].version == index + k,
				    "round %d: entry %" PRIu64 " called new, applied as %" PRIu64, round,
				    index + k, res[k].version);
				predicted++;
			} else {
				retries++;
			}
		}
		index += n;
		size_t before = session_table_count(t);
		session_table_expire(t, index - 1);
		forgot += before - session_table_count(t);
		long long now = REDIS("HLEN rcfs:sessions")->integer;
		if (now < hlen)
			expired += (unsigned)(hlen - now);
		hlen = now;
	}
	ck_assert_uint_gt(predicted, 1000);
	ck_assert_uint_gt(retries, 1000);
	ck_assert_uint_gt(expired, 100);        /* the state machine forgot sessions ... */
	ck_assert_uint_gt(forgot, 100);         /* ... and so did the table */
	session_table_free(t);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fsm");
	TCase *tc = tcase_create("fsm");
	int rv;

	switch (harness_init()) {
	case 1: return 1;
	case 2: printf("1..0 # SKIP redis-server not installed\n"); return 0;
	}
	for (int i = 0; i < 8; i++)
		memset(hashes[i], i + 1, 32);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, versions_and_removes);
	tcase_add_test(tc, rename_moves_only_what_was_read);
	tcase_add_test(tc, retries_answered_from_the_session);
	tcase_add_test(tc, replay_is_skipped);
	tcase_add_test(tc, chunk_references);
	tcase_add_test(tc, gc_frees_what_nothing_protects);
	tcase_add_test(tc, gc_hold_in_snapshot);
	tcase_add_test(tc, gc_protection_is_per_commit);
	tcase_add_test(tc, large_batch);
	tcase_add_test(tc, one_batch_or_one_by_one);
	tcase_add_test(tc, sessions_expire);
	tcase_add_test(tc, sweep_spans_batches);
	tcase_add_test(tc, load_reads_seqs_and_indexes);
	tcase_add_test(tc, load_converts_the_old_layout);
	tcase_add_test(tc, session_table_never_calls_a_retry_new);
	suite_add_tcase(s, tc);
	rv = check_run(s);
	harness_done();
	return rv;
}
