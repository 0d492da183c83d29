/* Unit tests: the Raft driver (src/node/consensus.c) against a real
 * redis-server, with the other members played by the test.  Node 1 is real
 * (store, state machine, timesync and driver wired as node/node.c does);
 * every message it sends is recorded by the send function, and fake peers
 * answer from the loop (never from inside the send function, which runs
 * between raft_ready() and raft_advance()) according to a policy.
 *
 * Covered: a start from every persisted shape (empty, log only, snapshot
 * without bytes + log, an installed snapshot with bytes); a Ready whose
 * write redis refuses (teardown, answer, reload); a ReadIndex barrier
 * across a step-down; a put answered at commit checked against its apply,
 * a retry's original version, and a remove answered only once applied.
 * Every consensus callback is checked to run exactly once. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fs/chunk.h"
#include "fs/fsm.h"
#include "fs/meta.h"
#include "node/ackmark.h"
#include "node/consensus.h"
#include "node/members.h"
#include "node/timesync.h"
#include "raft/raft.h"
#include "store/store.h"
#include "util/config.h"
#include "t/unit/check_main.h"
#include "t/unit/redis_harness.h"

static struct event_base *base;
static struct event *pulse;     /* wakes the loop every 10 ms: deadlines get checked */

/* ---- the real node (node 1) ---- */

struct tnode {
	struct rcfs_config cfg;
	struct store *st;
	struct fsm *sm;
	struct timesync *ts;
	struct members *mb;
	struct consensus *cs;
	bool marker;                    /* keep an acknowledgement marker (in the harness dir) */
	struct ackmark *am;
};
static struct tnode node;

static void send_cb(void *arg, uint64_t to, const Rcfs__RaftMessage *m);

static void
cfg_init(struct rcfs_config *c, unsigned npeers, uint32_t snapshot_entries,
    uint32_t election_ms)
{
	static char *const addrs[] = { "127.0.0.1:17001", "127.0.0.1:17002", "127.0.0.1:17003" };

	config_defaults(c);
	c->node_id = 1;
	c->redis = addr;
	c->cluster_name = "test";
	c->listen = addrs[0];
	c->allow_unsafe_storage = true;         /* the harness's redis has no AOF */
	c->redis_timeout_ms = 2000;
	c->election_timeout_ms = election_ms;
	c->heartbeat_ms = 30;
	c->snapshot_entries = snapshot_entries;
	c->npeers = npeers;
	c->bootstrap = true;                    /* a founder's storage (docs/raft.md, "Incarnations") */
	for (unsigned i = 0; i < npeers; i++) {
		c->peers[i].id = i + 1;
		c->peers[i].address = addrs[i];
	}
}

/* As node_store_state_cb in src/node/node.c. */
static void
node_state_cb(struct store *st, bool up, const char *why, void *arg)
{
	struct tnode *n = arg;

	(void)st; (void)why;
	if (up) {
		timesync_storage_up(n->ts);
		consensus_storage_up(n->cs);
	}
}

static void step(void);

/* Runs the loop (and the fake peers) until cond holds; fails the test with
 * the message if it does not within ms. */
#define RUN_UNTIL(cond, ms, ...) do { \
	double end_ = now_s() + (ms) / 1000.0; \
	while (!(cond) && now_s() < end_) \
		step(); \
	ck_assert_msg((cond), __VA_ARGS__); \
} while (0)

/* Runs the loop for ms, checking inv after every iteration. */
#define RUN_WHILE(ms, inv, ...) do { \
	double end_ = now_s() + (ms) / 1000.0; \
	while (now_s() < end_) { \
		step(); \
		ck_assert_msg((inv), __VA_ARGS__); \
	} \
} while (0)

/* Start as node/node.c does. */
static void
node_open(struct tnode *n)
{
	n->st = store_new(base, addr, n->cfg.redis_timeout_ms, n->cfg.storage_window, true);
	n->ts = timesync_new(base, &n->cfg, n->st);
	n->sm = fsm_new(n->st);
	n->mb = members_new(base, &n->cfg);
	n->cs = consensus_new(base, &n->cfg, n->st, n->sm, send_cb, n, n->ts, n->mb);
	if (n->marker) {
		char path[300], err[400];
		snprintf(path, sizeof path, "%s/rcfs-ack", dir);
		n->am = ackmark_open(base, path, err, sizeof err);
		ck_assert_msg(n->am != NULL, "%s", err);
		consensus_set_ackmark(n->cs, n->am);
	}
	store_set_state_cb(n->st, node_state_cb, n);
	store_start(n->st);
}

/* Start, and wait until the driver has loaded. */
static void
node_start(struct tnode *n)
{
	node_open(n);
	RUN_UNTIL(consensus_running(n->cs), 5000, "the driver did not start");
}

/* A process exit as node_free() does it (redis keeps everything). */
static void
node_stop(struct tnode *n)
{
	if (n->st == NULL)
		return;
	store_close(n->st);
	ackmark_cancel(n->am);
	consensus_free(n->cs);
	ackmark_free(n->am);
	n->am = NULL;
	members_free(n->mb);
	fsm_free(n->sm);
	timesync_free(n->ts);
	store_free(n->st);
	n->cs = NULL;
	n->sm = NULL;
	n->ts = NULL;
	n->st = NULL;
}

/* ---- messages node 1 sent, and the fake peers 2 and 3 ---- */

struct tmsg {
	uint32_t type;
	uint64_t to, term, log_term, index, commit;
	bool reject, done;
	size_t n_entries;
	uint8_t ctx[16];
	size_t ctx_len;
	uint64_t snapshot_index;
	uint64_t applied_at_send;       /* node 1's applied index when it sent it */
};
static struct tmsg *msgs;
static size_t nmsgs, capmsgs, handled;

/* What the fake peers answer. */
static struct {
	bool vote;              /* grant PREVOTE and VOTE */
	bool ack_append;        /* APPEND -> APPEND_RESP up to the last index sent */
	bool ack_plain;         /* HEARTBEAT without a ReadIndex context */
	bool ack_ctx;           /* HEARTBEAT carrying a ReadIndex context */
} policy;

static void
send_cb(void *arg, uint64_t to, const Rcfs__RaftMessage *m)
{
	struct tnode *n = arg;
	struct tmsg *t;

	if (nmsgs == capmsgs) {
		capmsgs = capmsgs ? 2 * capmsgs : 256;
		msgs = realloc(msgs, capmsgs * sizeof *msgs);
		ck_assert_ptr_nonnull(msgs);
	}
	t = &msgs[nmsgs++];
	memset(t, 0, sizeof *t);
	t->type = m->type;
	t->to = to;
	t->term = m->term;
	t->log_term = m->log_term;
	t->index = m->index;
	t->commit = m->commit;
	t->reject = m->reject;
	t->done = m->done;
	t->n_entries = m->n_entries;
	t->ctx_len = m->has_context ? m->context.len : 0;
	if (t->ctx_len > sizeof t->ctx)
		t->ctx_len = sizeof t->ctx;
	if (t->ctx_len)
		memcpy(t->ctx, m->context.data, t->ctx_len);
	t->snapshot_index = m->snapshot_index;
	t->applied_at_send = consensus_applied_index(n->cs);
}

static void
deliver(uint32_t type, uint64_t from, uint64_t term, uint64_t index, const uint8_t *ctx,
    size_t ctx_len)
{
	Rcfs__RaftMessage r;

	rcfs__raft_message__init(&r);
	r.type = type;
	r.from = from;
	r.to = 1;
	r.term = term;
	r.has_index = 1;
	r.index = index;
	if (ctx_len) {
		r.has_context = 1;
		r.context.data = (uint8_t *)ctx;
		r.context.len = ctx_len;
	}
	consensus_receive(node.cs, &r);
}

/* The fake peers answer what node 1 sent since the last call. */
static void
peers_step(void)
{
	while (handled < nmsgs) {
		struct tmsg m = msgs[handled++];

		if (node.cs == NULL)
			continue;
		switch (m.type) {
		case RAFT_MSG_PREVOTE:
			if (policy.vote)
				deliver(RAFT_MSG_PREVOTE_RESP, m.to, m.term, 0, NULL, 0);
			break;
		case RAFT_MSG_VOTE:
			if (policy.vote)
				deliver(RAFT_MSG_VOTE_RESP, m.to, m.term, 0, NULL, 0);
			break;
		case RAFT_MSG_APPEND:
			if (policy.ack_append)
				deliver(RAFT_MSG_APPEND_RESP, m.to, m.term, m.index + m.n_entries, NULL, 0);
			break;
		case RAFT_MSG_HEARTBEAT:
			if (m.ctx_len ? policy.ack_ctx : policy.ack_plain)
				deliver(RAFT_MSG_HEARTBEAT_RESP, m.to, m.term, 0, m.ctx, m.ctx_len);
			break;
		default:
			break;
		}
	}
}

static void
pulse_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
}

static void
step(void)
{
	event_base_loop(base, EVLOOP_ONCE);
	peers_step();
}

/* Messages of `type` to `to` sent from index `from` on. */
static size_t
count_msgs(size_t from, uint32_t type, uint64_t to)
{
	size_t c = 0;

	for (size_t i = from; i < nmsgs; i++)
		if (msgs[i].type == type && msgs[i].to == to)
			c++;
	return c;
}

static size_t
count_ctx_heartbeats(size_t from, uint64_t to)
{
	size_t c = 0;

	for (size_t i = from; i < nmsgs; i++)
		if (msgs[i].type == RAFT_MSG_HEARTBEAT && msgs[i].to == to && msgs[i].ctx_len == 8)
			c++;
	return c;
}

static const struct tmsg *
find_msg(size_t from, uint32_t type, uint64_t to)
{
	for (size_t i = from; i < nmsgs; i++)
		if (msgs[i].type == type && msgs[i].to == to)
			return &msgs[i];
	return NULL;
}

/* ---- consensus callbacks: each must run exactly once ---- */

struct answer {
	int calls;
	Rcfs__ErrorCode code;
	char err[200];
	bool has_res;
	struct fsm_result res;
	uint64_t applied_at;    /* consensus_applied_index() when answered */
	bool running_at;        /* consensus_running() when answered */
};
static struct answer answers[256];
static int nanswers;

static void
answer_cb(void *arg, Rcfs__ErrorCode code, const char *err, const struct fsm_result *res)
{
	struct answer *a = arg;

	if (++a->calls > 1)
		return;         /* counted; answers_all_once() fails the test */
	a->code = code;
	snprintf(a->err, sizeof a->err, "%s", err != NULL ? err : "");
	if (res != NULL) {
		a->has_res = true;
		a->res = *res;
	}
	if (node.cs != NULL) {
		a->applied_at = consensus_applied_index(node.cs);
		a->running_at = consensus_running(node.cs);
	}
}

static struct answer *
answer_new(void)
{
	ck_assert_int_lt(nanswers, (int)(sizeof answers / sizeof answers[0]));
	return &answers[nanswers++];
}

static void
answers_all_once(void)
{
	for (int i = 0; i < nanswers; i++)
		ck_assert_msg(answers[i].calls == 1, "callback %d ran %d times", i, answers[i].calls);
}

/* ---- commands ---- */

static void
file_meta(Rcfs__FileMeta *m, const char *name, const char *content, uint8_t sha[32])
{
	rcfs__file_meta__init(m);
	m->name = (char *)name;
	m->size = strlen(content);
	m->chunk_size = 1 << 20;
	chunk_hash((const uint8_t *)content, strlen(content), sha);
	m->sha256.data = sha;
	m->sha256.len = 32;
	m->has_inline_data = 1;
	m->inline_data.data = (uint8_t *)content;
	m->inline_data.len = strlen(content);
	ck_assert_msg(meta_check(m, node.cfg.inline_max) == NULL, "bad test meta: %s",
	    meta_check(m, node.cfg.inline_max));
}

/* A FileCommit of a small inline file, packed (free()). */
static uint8_t *
put_cmd(const char *name, const char *content, uint64_t cid, uint64_t seq, size_t *len)
{
	Rcfs__Command c = RCFS__COMMAND__INIT;
	Rcfs__FileCommit fc = RCFS__FILE_COMMIT__INIT;
	Rcfs__FileMeta m;
	uint8_t sha[32];

	file_meta(&m, name, content, sha);
	fc.meta = &m;
	if (cid != 0) {
		fc.has_client_id = fc.has_seq = 1;
		fc.client_id = cid;
		fc.seq = seq;
	}
	c.commit = &fc;
	return fsm_command_pack(&c, len);
}

static uint8_t *
rm_cmd(const char *name, uint64_t cid, uint64_t seq, size_t *len)
{
	Rcfs__Command c = RCFS__COMMAND__INIT;
	Rcfs__FileRemove r = RCFS__FILE_REMOVE__INIT;

	r.name = (char *)name;
	if (cid != 0) {
		r.has_client_id = r.has_seq = 1;
		r.client_id = cid;
		r.seq = seq;
	}
	c.remove = &r;
	return fsm_command_pack(&c, len);
}

/* Proposes (and frees) data; the answer is tracked. */
static struct answer *
propose(uint8_t *data, size_t len)
{
	struct answer *a = answer_new();

	consensus_propose(node.cs, data, len, answer_cb, a);
	free(data);
	return a;
}

static struct answer *
propose_put(const char *name, const char *content, uint64_t cid, uint64_t seq)
{
	size_t len;
	uint8_t *data = put_cmd(name, content, cid, seq, &len);

	return propose(data, len);
}

static struct answer *
read_barrier(void)
{
	struct answer *a = answer_new();

	consensus_read_barrier(node.cs, answer_cb, a);
	return a;
}

/* Waits for a's answer and checks it is an E_OK with a state machine result. */
static void
answered_ok(struct answer *a)
{
	RUN_UNTIL(a->calls > 0, 3000, "proposal not answered");
	ck_assert_msg(a->code == RCFS__ERROR_CODE__E_OK, "answered %d: %s", a->code, a->err);
	ck_assert(a->has_res);
}

/* Single node: leader, with everything in its log committed and applied
 * (the cluster id its first leader records included), at least `applied`. */
static void
wait_settled_leader(uint64_t applied)
{
	RUN_UNTIL(consensus_is_leader(node.cs) && consensus_applied_index(node.cs) >= applied &&
	    members_cluster_id(node.mb) != 0 &&
	    consensus_applied_index(node.cs) == consensus_commit_index(node.cs) &&
	    consensus_commit_index(node.cs) == consensus_last_index(node.cs), 3000,
	    "no settled leader (role %s, commit %" PRIu64 ", applied %" PRIu64 ")",
	    consensus_role(node.cs), consensus_commit_index(node.cs),
	    consensus_applied_index(node.cs));
}

/* Single node: stop once nothing is in flight (stop_in_flight covers the
 * other case). */
static void
stop_settled(void)
{
	wait_settled_leader(0);
	node_stop(&node);
}

/* ---- looking at redis ---- */

struct stat_res {
	bool done, found;
	Rcfs__ErrorCode code;
	uint64_t version;
	char content[64];
};

static void
stat_cb(void *arg, Rcfs__ErrorCode code, const char *err, Rcfs__FileMeta *m)
{
	struct stat_res *s = arg;

	(void)err;
	s->done = true;
	s->code = code;
	s->found = m != NULL;
	if (m != NULL) {
		s->version = m->version;
		if (m->has_inline_data)
			snprintf(s->content, sizeof s->content, "%.*s", (int)m->inline_data.len,
			    (const char *)m->inline_data.data);
		rcfs__file_meta__free_unpacked(m, NULL);
	}
}

static struct stat_res
stat_file(const char *name)
{
	struct stat_res s;

	memset(&s, 0, sizeof s);
	fsm_stat(node.st, name, stat_cb, &s);
	RUN_UNTIL(s.done, 3000, "stat %s not answered", name);
	ck_assert_msg(s.code == RCFS__ERROR_CODE__E_OK, "stat %s failed", name);
	return s;
}

struct reply {
	bool done;
	enum store_err err;
	int type;
	long long integer;
	char str[256];
	size_t n;
	long long elem[8];      /* integer elements of an array reply */
};
static struct reply rp;

static void
reply_cb(struct store *st, redisReply *r, enum store_err err, void *arg)
{
	struct reply *p = arg;

	(void)st;
	p->done = true;
	p->err = err;
	if (r == NULL)
		return;
	p->type = r->type;
	p->integer = r->integer;
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
	    r->type == REDIS_REPLY_ERROR)
		snprintf(p->str, sizeof p->str, "%.*s", (int)r->len, r->str);
	if (r->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < r->elements && p->n < 8; i++)
			p->elem[p->n++] = r->element[i]->integer;
}

static struct reply *
rp_reset(void)
{
	memset(&rp, 0, sizeof rp);
	return &rp;
}

static struct reply *
rp_wait(void)
{
	RUN_UNTIL(rp.done, 3000, "redis did not answer");
	ck_assert_int_eq(rp.err, STORE_OK);
	return &rp;
}

/* One command on node 1's store (printf-style, as store_commandf). */
#define REDIS(...) (store_commandf(node.st, reply_cb, rp_reset(), __VA_ARGS__), rp_wait())

/* One command on the node's redis while the node is down, through a bare
 * store (as an operator's redis-cli would). */
#define OFFLINE(...) do { \
	struct store *st_ = store_new(base, addr, 2000, 4, true); \
	store_start(st_); \
	RUN_UNTIL(store_is_up(st_), 3000, "redis did not come up"); \
	store_commandf(st_, reply_cb, rp_reset(), __VA_ARGS__); \
	rp_wait(); \
	store_close(st_); \
	store_free(st_); \
} while (0)

/* The stored Raft state, read atomically: the snapshot's index, whether it
 * has bytes, how many log entries are stored, and the lowest (-1: none). */
static const char raft_state_lua[] =
"local idx = tonumber(redis.call('HGET', 'rcfs:raft:snap', 'index') or '0')\n"
"local data = redis.call('HEXISTS', 'rcfs:raft:snap', 'data')\n"
"local keys = redis.call('HKEYS', 'rcfs:raft:log')\n"
"local low = -1\n"
"for _, k in ipairs(keys) do\n"
"  local i = tonumber(k)\n"
"  if low < 0 or i < low then low = i end\n"
"end\n"
"return {idx, data, #keys, low}\n";

struct raft_state {
	long long snap_index, has_data, nlog, low;
};

static struct raft_state
raft_state(void)
{
	struct reply *r = REDIS("EVAL %s 0", raft_state_lua);
	struct raft_state s;

	ck_assert_msg(r->type == REDIS_REPLY_ARRAY && r->n == 4, "EVAL: %s", r->str);
	s.snap_index = r->elem[0];
	s.has_data = r->elem[1];
	s.nlog = r->elem[2];
	s.low = r->elem[3];
	return s;
}

/* ---- fixture ---- */

static void
setup(void)
{
	struct timeval tv = { 0, 10000 };

	base = event_base_new();
	pulse = event_new(base, -1, EV_PERSIST, pulse_cb, NULL);
	event_add(pulse, &tv);
	memset(&node, 0, sizeof node);
	memset(&policy, 0, sizeof policy);
	memset(answers, 0, sizeof answers);
	nanswers = 0;
	nmsgs = handled = 0;
	redis_start();
}

static void
teardown(void)
{
	node_stop(&node);
	free(msgs);
	msgs = NULL;
	nmsgs = capmsgs = handled = 0;
	event_free(pulse);
	event_base_free(base);
	redis_kill();
}

/* ---- 1. restart from every persisted shape ---- */

/* (a) empty redis: a single node elects itself and answers a put with
 * version = its log index; (b) restart from the log alone. */
START_TEST(restart_empty_then_log_only)
{
	struct answer *a, *b;
	struct stat_res s;
	uint64_t term, applied, commit;

	cfg_init(&node.cfg, 0, 0, 100);
	node_start(&node);
	ck_assert_uint_eq(consensus_term(node.cs), 0);
	ck_assert_uint_eq(consensus_applied_index(node.cs), 0);
	wait_settled_leader(1);
	ck_assert_str_eq(consensus_role(node.cs), "leader");
	/* The leader's no-op, then the cluster id it draws (a configuration entry). */
	ck_assert_uint_eq(consensus_applied_index(node.cs), 2);
	a = propose_put("dir/a.txt", "hello", 0, 0);
	answered_ok(a);
	ck_assert_int_eq(a->res.code, RCFS__ERROR_CODE__E_OK);
	ck_assert_uint_eq(a->res.version, 3);
	RUN_UNTIL(consensus_applied_index(node.cs) >= 3, 3000, "put not applied");
	s = stat_file("dir/a.txt");
	ck_assert(s.found);
	ck_assert_uint_eq(s.version, 3);
	ck_assert_str_eq(s.content, "hello");
	term = consensus_term(node.cs);
	applied = consensus_applied_index(node.cs);
	commit = consensus_commit_index(node.cs);
	ck_assert_uint_eq(commit, applied);

	node_stop(&node);
	node_start(&node);
	ck_assert(consensus_running(node.cs));
	ck_assert_uint_ge(consensus_term(node.cs), term);
	ck_assert_uint_eq(consensus_applied_index(node.cs), applied);
	ck_assert_uint_eq(consensus_commit_index(node.cs), commit);
	s = stat_file("dir/a.txt");
	ck_assert(s.found);
	ck_assert_uint_eq(s.version, 3);
	wait_settled_leader(applied + 1);
	ck_assert_uint_gt(consensus_term(node.cs), term);
	ck_assert_uint_eq(consensus_applied_index(node.cs), applied + 1);
	b = propose_put("dir/b.txt", "again", 0, 0);
	answered_ok(b);
	ck_assert_uint_eq(b->res.version, applied + 2);
	stop_settled();
	answers_all_once();
}
END_TEST

/* Proposes n puts named prefix%02d one at a time, as client 500 with seqs
 * seq+1..seq+n; versions[i] gets each one's answered version, which must be
 * its log index. */
static void
put_many(const char *prefix, int n, uint64_t seq, uint64_t *versions)
{
	for (int i = 0; i < n; i++) {
		char name[32], content[64];
		uint64_t want;
		struct answer *a;

		snprintf(name, sizeof name, "%s%02d", prefix, i);
		snprintf(content, sizeof content, "content of %s", name);
		wait_settled_leader(0);
		want = consensus_applied_index(node.cs) + 1;
		a = propose_put(name, content, 500, seq + (uint64_t)i + 1);
		answered_ok(a);
		ck_assert_uint_eq(a->res.version, want);
		versions[i] = a->res.version;
	}
	wait_settled_leader(versions[n - 1]);
}

static void
check_files(const char *prefix, int n, const uint64_t *versions)
{
	for (int i = 0; i < n; i++) {
		char name[32], content[64];
		struct stat_res s;

		snprintf(name, sizeof name, "%s%02d", prefix, i);
		snprintf(content, sizeof content, "content of %s", name);
		s = stat_file(name);
		ck_assert_msg(s.found, "%s is gone", name);
		ck_assert_uint_eq(s.version, versions[i]);
		ck_assert_str_eq(s.content, content);
	}
}

/* Compaction leaves rcfs:raft:snap without bytes and no stored entry at or
 * below its index; checks that and returns the snapshot index. */
static uint64_t
check_compacted(uint64_t applied)
{
	struct raft_state rs = raft_state();

	ck_assert_int_gt(rs.snap_index, 0);
	ck_assert_int_le(rs.snap_index, (long long)applied);
	ck_assert_int_eq(rs.has_data, 0);                       /* "snapshot without bytes" */
	if (rs.nlog > 0) {
		ck_assert_int_gt(rs.low, rs.snap_index);
		/* No hole either: the stored entries run up to the applied index. */
		ck_assert_int_eq(rs.nlog, (long long)applied - rs.low + 1);
	}
	return (uint64_t)rs.snap_index;
}

/* (c) a snapshot without bytes (the driver's own compaction) plus a log. */
START_TEST(restart_snapshot_and_log)
{
	enum { N = 24, M = 12 };
	uint64_t v1[N], v2[M], snap1, snap2, applied, commit, term;
	struct answer *a;

	cfg_init(&node.cfg, 0, 8, 100);
	node_start(&node);
	wait_settled_leader(1);
	put_many("f", N, 0, v1);
	applied = consensus_applied_index(node.cs);
	snap1 = check_compacted(applied);
	term = consensus_term(node.cs);
	commit = consensus_commit_index(node.cs);

	node_stop(&node);
	node_start(&node);
	ck_assert_uint_ge(consensus_term(node.cs), term);
	ck_assert_uint_eq(consensus_applied_index(node.cs), applied);
	ck_assert_uint_eq(consensus_commit_index(node.cs), commit);
	check_files("f", N, v1);
	wait_settled_leader(applied + 1);
	/* More entries: compaction after a restart (the stored range was reloaded). */
	put_many("g", M, 100, v2);
	ck_assert_uint_eq(v2[0], applied + 2);
	applied = consensus_applied_index(node.cs);
	snap2 = check_compacted(applied);
	ck_assert_uint_gt(snap2, snap1);

	node_stop(&node);
	node_start(&node);
	ck_assert_uint_eq(consensus_applied_index(node.cs), applied);
	check_files("f", N, v1);
	check_files("g", M, v2);
	wait_settled_leader(applied + 1);
	a = propose_put("h", "after two restarts", 0, 0);
	answered_ok(a);
	ck_assert_uint_eq(a->res.version, applied + 2);
	stop_settled();
	answers_all_once();
}
END_TEST

/* The membership comes from the stored Raft state, never from a config file
 * changed since: the founders' configuration stored at index 0, then the
 * one in a snapshot (docs/design.md, "Membership in the Raft state"). */
START_TEST(membership_from_the_stored_state)
{
	enum { N = 24 };
	uint64_t v[N];
	const struct member *mb;

	cfg_init(&node.cfg, 0, 8, 100);
	node.cfg.listen = "127.0.0.1:17001";
	node_start(&node);
	wait_settled_leader(1);
	mb = members_find(node.mb, 1);
	ck_assert_ptr_nonnull(mb);
	ck_assert_str_eq(mb->address, "127.0.0.1:17001");
	/* The first leader draws the cluster id and records it. */
	wait_settled_leader(2);         /* NOOP, then the cluster id entry, applied */
	node_stop(&node);
	node.cfg.listen = "127.0.0.1:17999";   /* a stale or edited config */
	node_start(&node);
	mb = members_find(node.mb, 1);
	ck_assert_ptr_nonnull(mb);
	ck_assert_str_eq(mb->address, "127.0.0.1:17001");     /* index 0, stored */
	wait_settled_leader(consensus_applied_index(node.cs) + 1);     /* the new term's NOOP */
	put_many("m", N, 0, v);
	check_compacted(consensus_applied_index(node.cs));
	node_stop(&node);
	node.cfg.listen = "127.0.0.1:17998";
	node_start(&node);
	mb = members_find(node.mb, 1);
	ck_assert_ptr_nonnull(mb);
	ck_assert_str_eq(mb->address, "127.0.0.1:17001");     /* from the snapshot */
	check_files("m", N, v);
	stop_settled();
	answers_all_once();
}
END_TEST

/* (d) a snapshot with bytes: installed from the leader (node 2), then a
 * restart from it, then the log continues after it. */
START_TEST(restart_installed_snapshot)
{
	enum { SNAP_INDEX = 50, SNAP_TERM = 4, TERM = 5, FILE_VERSION = 40 };
	Rcfs__RaftMessage m;
	Rcfs__Snapshot snap = RCFS__SNAPSHOT__INIT;
	Rcfs__SnapshotFile f = RCFS__SNAPSHOT_FILE__INIT, *fp = &f;
	Rcfs__SnapshotSession se = RCFS__SNAPSHOT_SESSION__INIT, *sp = &se;
	Rcfs__FileMeta meta;
	Rcfs__RaftEntry e = RCFS__RAFT_ENTRY__INIT, *ep = &e;
	struct raft_conf conf;
	uint8_t sha[32], confbuf[128], *metabuf, *data, *cmd;
	size_t conflen, metalen, datalen, cmdlen, mark;
	const struct tmsg *resp;
	struct stat_res s;

	cfg_init(&node.cfg, 3, 0, 100);
	node_start(&node);                      /* peers silent: node 1 stays a follower */
	ck_assert_uint_eq(consensus_term(node.cs), 0);

	/* The leader's state machine: one file, one session. */
	file_meta(&meta, "snap/one", "from the leader", sha);
	meta.has_version = 1;
	meta.version = FILE_VERSION;
	metalen = rcfs__file_meta__get_packed_size(&meta);
	metabuf = malloc(metalen);
	rcfs__file_meta__pack(&meta, metabuf);
	f.name = "snap/one";
	f.meta.data = metabuf;
	f.meta.len = metalen;
	se.client_id = "77";
	se.value = "3:40";
	se.index = FILE_VERSION;
	snap.index = SNAP_INDEX;
	snap.files = &fp;
	snap.n_files = 1;
	snap.sessions = &sp;
	snap.n_sessions = 1;
	datalen = rcfs__snapshot__get_packed_size(&snap);
	data = malloc(datalen);
	rcfs__snapshot__pack(&snap, data);
	memset(&conf, 0, sizeof conf);
	for (int i = 0; i < 3; i++) {
		conf.servers[conf.n].id = (uint64_t)i + 1;
		conf.servers[conf.n++].voter = true;
	}
	conflen = raft_conf_encode(&conf, confbuf, sizeof confbuf);
	ck_assert_uint_gt(conflen, 0);

	rcfs__raft_message__init(&m);
	m.type = RAFT_MSG_SNAPSHOT;
	m.from = 2;
	m.to = 1;
	m.term = TERM;
	m.has_snapshot_index = m.has_snapshot_term = m.has_offset = m.has_done = 1;
	m.snapshot_index = SNAP_INDEX;
	m.snapshot_term = SNAP_TERM;
	m.has_snapshot_conf = 1;
	m.snapshot_conf.data = confbuf;
	m.snapshot_conf.len = conflen;
	m.offset = 0;
	m.has_data = 1;
	m.data.data = data;
	m.data.len = datalen;
	m.done = 1;
	mark = nmsgs;
	consensus_receive(node.cs, &m);
	free(data);
	free(metabuf);
	RUN_UNTIL(find_msg(mark, RAFT_MSG_SNAPSHOT_RESP, 2) != NULL, 3000, "no SNAPSHOT_RESP");
	resp = find_msg(mark, RAFT_MSG_SNAPSHOT_RESP, 2);
	ck_assert(!resp->reject);
	ck_assert(resp->done);
	ck_assert_uint_eq(resp->term, TERM);
	ck_assert_uint_eq(resp->snapshot_index, SNAP_INDEX);
	/* "Installed" goes out only once the state machine holds it. */
	ck_assert_uint_eq(resp->applied_at_send, SNAP_INDEX);
	RUN_UNTIL(consensus_applied_index(node.cs) == SNAP_INDEX, 3000, "snapshot not applied");
	ck_assert_uint_eq(consensus_commit_index(node.cs), SNAP_INDEX);
	ck_assert_uint_eq(consensus_term(node.cs), TERM);
	s = stat_file("snap/one");
	ck_assert(s.found);
	ck_assert_uint_eq(s.version, FILE_VERSION);
	ck_assert_str_eq(s.content, "from the leader");
	ck_assert_str_eq(REDIS("HGET rcfs:raft:snap index")->str, "50");
	ck_assert_str_eq(REDIS("HGET rcfs:raft:snap term")->str, "4");
	ck_assert_int_eq(REDIS("HEXISTS rcfs:raft:snap data")->integer, 1);
	ck_assert_int_eq(REDIS("HSTRLEN rcfs:raft:snap data")->integer, (long long)datalen);
	ck_assert_int_eq(REDIS("EXISTS rcfs:raft:log")->integer, 0);
	ck_assert_str_eq(REDIS("GET rcfs:applied")->str, "50");
	ck_assert_str_eq(REDIS("HGET rcfs:sessions 77")->str, "3:40:40");   /* seq:result:index */

	node_stop(&node);
	node_start(&node);
	ck_assert_uint_eq(consensus_applied_index(node.cs), SNAP_INDEX);
	ck_assert_uint_eq(consensus_commit_index(node.cs), SNAP_INDEX);
	ck_assert_uint_eq(consensus_term(node.cs), TERM);
	s = stat_file("snap/one");
	ck_assert(s.found);
	ck_assert_uint_eq(s.version, FILE_VERSION);

	/* The leader goes on after the snapshot: entry 51 matches at (50, 4). */
	cmd = put_cmd("after/snap", "next entry", 0, 0, &cmdlen);
	rcfs__raft_message__init(&m);
	m.type = RAFT_MSG_APPEND;
	m.from = 2;
	m.to = 1;
	m.term = TERM;
	m.has_log_term = m.has_index = m.has_commit = 1;
	m.log_term = SNAP_TERM;
	m.index = SNAP_INDEX;
	m.commit = SNAP_INDEX + 1;
	e.term = TERM;
	e.index = SNAP_INDEX + 1;
	e.type = RAFT_ENTRY_NORMAL;
	e.has_data = 1;
	e.data.data = cmd;
	e.data.len = cmdlen;
	m.entries = &ep;
	m.n_entries = 1;
	mark = nmsgs;
	consensus_receive(node.cs, &m);
	free(cmd);
	RUN_UNTIL(find_msg(mark, RAFT_MSG_APPEND_RESP, 2) != NULL, 3000, "no APPEND_RESP");
	resp = find_msg(mark, RAFT_MSG_APPEND_RESP, 2);
	ck_assert(!resp->reject);
	ck_assert_uint_eq(resp->index, SNAP_INDEX + 1);
	RUN_UNTIL(consensus_applied_index(node.cs) == SNAP_INDEX + 1, 3000, "entry 51 not applied");
	s = stat_file("after/snap");
	ck_assert(s.found);
	ck_assert_uint_eq(s.version, SNAP_INDEX + 1);
	node_stop(&node);
	answers_all_once();
}
END_TEST

/* ---- 2. a Ready whose write fails ---- */

START_TEST(failed_write_tears_down_and_recovers)
{
	struct answer *ok1, *bad, *bad2, *after;
	uint64_t commit, idx;
	struct stat_res s;

	cfg_init(&node.cfg, 0, 0, 100);
	node_start(&node);
	wait_settled_leader(1);
	ok1 = propose_put("keep", "kept", 0, 0);
	answered_ok(ok1);
	wait_settled_leader(ok1->res.version);
	commit = consensus_commit_index(node.cs);

	ck_assert_str_eq(REDIS("CONFIG SET maxmemory-policy noeviction")->str, "OK");
	ck_assert_str_eq(REDIS("CONFIG SET maxmemory 1")->str, "OK");
	bad = propose_put("refused", "no room", 0, 0);
	RUN_UNTIL(bad->calls > 0, 3000, "the proposal whose write failed was not answered");
	/* The outcome is unknown (E_UNAVAILABLE), not "not the leader": the
	 * teardown fails pending proposals before it steps down. */
	ck_assert_msg(bad->code == RCFS__ERROR_CODE__E_UNAVAILABLE, "answered %d: %s", bad->code,
	    bad->err);
	ck_assert(!bad->has_res);
	ck_assert(!bad->running_at);            /* torn down before answering */
	/* While redis refuses writes nothing commits, and it keeps reloading. */
	RUN_WHILE(400, consensus_commit_index(node.cs) <= commit &&
	    consensus_applied_index(node.cs) <= commit,
	    "commit %" PRIu64 " moved while redis refused writes", consensus_commit_index(node.cs));
	bad2 = propose_put("refused2", "no room", 0, 0);
	RUN_UNTIL(bad2->calls > 0, 3000, "second proposal not answered");
	ck_assert_msg(bad2->code != RCFS__ERROR_CODE__E_OK, "answered E_OK while writes fail");

	ck_assert_str_eq(REDIS("CONFIG SET maxmemory 0")->str, "OK");
	RUN_UNTIL(consensus_is_leader(node.cs) && consensus_applied_index(node.cs) > commit &&
	    consensus_applied_index(node.cs) == consensus_commit_index(node.cs), 5000,
	    "no leader again once redis accepts writes (role %s)", consensus_role(node.cs));
	idx = consensus_applied_index(node.cs) + 1;
	after = propose_put("after", "room again", 0, 0);
	answered_ok(after);
	ck_assert_uint_eq(after->res.version, idx);
	RUN_UNTIL(consensus_applied_index(node.cs) >= after->res.version, 3000, "not applied");
	s = stat_file("keep");
	ck_assert(s.found);
	ck_assert_uint_eq(s.version, ok1->res.version);
	s = stat_file("after");
	ck_assert(s.found);
	ck_assert_uint_eq(s.version, after->res.version);
	stop_settled();
	answers_all_once();
}
END_TEST

/* ---- 3. a read barrier across a step-down ---- */

START_TEST(read_barrier_across_step_down)
{
	struct answer *r, *r2, *p;
	uint64_t term;
	size_t mark;

	cfg_init(&node.cfg, 3, 0, 150);
	policy.vote = policy.ack_append = policy.ack_plain = policy.ack_ctx = true;
	node_start(&node);
	RUN_UNTIL(consensus_is_leader(node.cs) && consensus_commit_index(node.cs) >= 1 &&
	    consensus_applied_index(node.cs) >= 1, 5000, "node 1 did not become leader (role %s)",
	    consensus_role(node.cs));
	for (uint64_t id = 2; id <= 3; id++) {
		ck_assert_uint_ge(count_msgs(0, RAFT_MSG_PREVOTE, id), 1);
		ck_assert_uint_ge(count_msgs(0, RAFT_MSG_VOTE, id), 1);
		ck_assert_uint_ge(count_msgs(0, RAFT_MSG_APPEND, id), 1);
	}
	term = consensus_term(node.cs);

	/* The barrier's confirmation round is never answered. */
	policy.ack_ctx = false;
	mark = nmsgs;
	r = read_barrier();
	RUN_UNTIL((count_ctx_heartbeats(mark, 2) > 0 && count_ctx_heartbeats(mark, 3) > 0) ||
	    r->calls > 0, 2000, "no heartbeat round for the read");
	ck_assert_msg(r->calls == 0, "barrier answered (%d: %s) without a confirmed round", r->code,
	    r->err);
	/* Node 2 leads a later term. */
	{
		Rcfs__RaftMessage m;
		rcfs__raft_message__init(&m);
		m.type = RAFT_MSG_APPEND;
		m.from = 2;
		m.to = 1;
		m.term = term + 1;
		m.has_log_term = m.has_index = m.has_commit = 1;
		m.index = 1;
		m.log_term = term;
		m.commit = 1;
		consensus_receive(node.cs, &m);
	}
	RUN_UNTIL(r->calls > 0, 2000, "barrier not answered after the step-down");
	ck_assert_msg(r->code == RCFS__ERROR_CODE__E_NOT_LEADER, "barrier answered %d: %s", r->code,
	    r->err);
	ck_assert(!consensus_is_leader(node.cs));
	ck_assert_uint_eq(consensus_term(node.cs), term + 1);
	ck_assert_uint_eq(consensus_leader(node.cs), 2);
	ck_assert_str_eq(consensus_role(node.cs), "follower");
	r2 = read_barrier();
	ck_assert_int_eq(r2->calls, 1);         /* refused at once */
	ck_assert_int_eq(r2->code, RCFS__ERROR_CODE__E_NOT_LEADER);
	p = propose_put("nope", "not the leader", 0, 0);
	ck_assert_int_eq(p->calls, 1);
	ck_assert_int_eq(p->code, RCFS__ERROR_CODE__E_NOT_LEADER);
	/* Nothing answers twice later on, either. */
	RUN_WHILE(200, r->calls == 1, "barrier answered again");
	node_stop(&node);
	answers_all_once();
}
END_TEST

/* ---- 4. storage incarnations (docs/raft.md, "Incarnations") ---- */

/* An empty storage without --bootstrap joins the existing cluster: a random
 * nonzero incarnation, stored; not admitted by the configured peers (they
 * were founded with incarnation 0), so it never campaigns. */
START_TEST(empty_without_bootstrap_waits)
{
	uint64_t inc;

	cfg_init(&node.cfg, 3, 0, 100);
	node.cfg.bootstrap = false;
	policy.vote = true;
	node_start(&node);
	inc = consensus_incarnation(node.cs);
	ck_assert_uint_ne(inc, 0);
	ck_assert(!consensus_admitted(node.cs));
	RUN_WHILE(800, count_msgs(0, RAFT_MSG_PREVOTE, 2) == 0 && count_msgs(0, RAFT_MSG_VOTE, 2) == 0,
	    "an unadmitted node campaigned");
	ck_assert_str_eq(consensus_role(node.cs), "follower");
	node_stop(&node);
	node_start(&node);
	ck_assert_uint_eq(consensus_incarnation(node.cs), inc);        /* stored */
	ck_assert(!consensus_admitted(node.cs));
	node_stop(&node);
}
END_TEST

/* Damaged Raft state is not a load error and not "absent entries": the log
 * is cut before the damage, the entries after it are deleted, and the
 * storage takes a new incarnation (so it stops counting until repaired).
 * The state machine keeps what it applied. */
START_TEST(damaged_state_takes_new_incarnation)
{
	enum { N = 6 };
	uint64_t versions[N], applied;
	struct raft_state rs;

	cfg_init(&node.cfg, 3, 0, 100);
	policy.vote = policy.ack_append = policy.ack_plain = policy.ack_ctx = true;
	node_start(&node);
	ck_assert_uint_eq(consensus_incarnation(node.cs), 0);          /* a founder */
	RUN_UNTIL(consensus_is_leader(node.cs), 5000, "node 1 did not become leader");
	ck_assert(consensus_admitted(node.cs));
	put_many("d/f", N, 0, versions);
	applied = consensus_applied_index(node.cs);
	ck_assert_uint_ge(applied, N + 1);
	node_stop(&node);

	/* An intact restart keeps everything and the incarnation. */
	node_start(&node);
	ck_assert_uint_eq(consensus_incarnation(node.cs), 0);
	ck_assert_uint_eq(consensus_applied_index(node.cs), applied);
	rs = raft_state();
	ck_assert_int_eq(rs.nlog, (long long)applied);
	node_stop(&node);

	/* One entry in the middle (index 3) overwritten, with the node down. */
	OFFLINE("HSET rcfs:raft:log 3 %s", "not an entry");
	node_start(&node);
	ck_assert_uint_ne(consensus_incarnation(node.cs), 0);
	ck_assert(!consensus_admitted(node.cs));
	ck_assert_uint_eq(consensus_applied_index(node.cs), 2);       /* the log ends at 2 */
	rs = raft_state();
	ck_assert_int_eq(rs.nlog, 2);           /* 3 and everything after it deleted */
	check_files("d/f", N, versions);        /* the state machine is intact */
	RUN_WHILE(500, !consensus_is_leader(node.cs), "a damaged node became leader");
	node_stop(&node);
}
END_TEST

/* An AOF that lost its tail holds a clean prefix of the history, which the
 * log alone cannot tell from a node that crashed earlier: the
 * acknowledgement marker can (docs/raft.md). */
START_TEST(lost_tail_takes_new_incarnation)
{
	enum { N = 4 };
	uint64_t versions[N], applied, inc;
	struct raft_state rs;
	char path[300];

	cfg_init(&node.cfg, 3, 0, 100);
	node.marker = true;
	policy.vote = policy.ack_append = policy.ack_plain = policy.ack_ctx = true;
	node_start(&node);
	RUN_UNTIL(consensus_is_leader(node.cs), 5000, "node 1 did not become leader");
	put_many("t/f", N, 0, versions);
	applied = consensus_applied_index(node.cs);
	node_stop(&node);

	/* Restarts with everything kept: no damage, whether the marker was
	 * written last by a Ready or at the start. */
	node_start(&node);
	ck_assert_uint_eq(consensus_incarnation(node.cs), 0);
	node_stop(&node);
	node_start(&node);
	ck_assert_uint_eq(consensus_incarnation(node.cs), 0);
	ck_assert_uint_eq(consensus_applied_index(node.cs), applied);
	node_stop(&node);

	/* The last entry lost, as a cut AOF loses it with the write that
	 * stored it: what remains is a clean prefix. */
	OFFLINE("HDEL rcfs:raft:log %" PRIu64, applied);
	OFFLINE("HINCRBY rcfs:raft:hs writes -1");
	node_start(&node);
	inc = consensus_incarnation(node.cs);
	ck_assert_uint_ne(inc, 0);
	ck_assert(!consensus_admitted(node.cs));
	rs = raft_state();
	ck_assert_int_eq(rs.nlog, (long long)applied - 1);
	RUN_WHILE(500, !consensus_is_leader(node.cs), "a node that lost its tail became leader");
	node_stop(&node);
	node_start(&node);                      /* the new incarnation and its marker agree */
	ck_assert_uint_eq(consensus_incarnation(node.cs), inc);
	node_stop(&node);
	node.marker = false;
	snprintf(path, sizeof path, "%s/rcfs-ack", dir);
	unlink(path);
}
END_TEST

/* A hard state that fails its checksum is damage too. */
START_TEST(damaged_hard_state)
{
	uint64_t inc;

	cfg_init(&node.cfg, 3, 0, 100);
	policy.vote = policy.ack_append = policy.ack_plain = policy.ack_ctx = true;
	node_start(&node);
	RUN_UNTIL(consensus_is_leader(node.cs), 5000, "node 1 did not become leader");
	node_stop(&node);
	OFFLINE("HSET rcfs:raft:hs vote 3");
	node_start(&node);
	inc = consensus_incarnation(node.cs);
	ck_assert_uint_ne(inc, 0);
	ck_assert(!consensus_admitted(node.cs));
	node_stop(&node);
	node_start(&node);                      /* the new incarnation is stored, checked */
	ck_assert_uint_eq(consensus_incarnation(node.cs), inc);
	node_stop(&node);
}
END_TEST

/* A single node has no other copy: a damaged log that ends below what the
 * state machine applied must not start (new entries would take indexes the
 * state machine skips as applied). */
START_TEST(damaged_single_node_below_applied_stops)
{
	enum { N = 4 };
	uint64_t versions[N];

	cfg_init(&node.cfg, 0, 0, 100);
	node_start(&node);
	wait_settled_leader(1);
	put_many("s/f", N, 0, versions);
	node_stop(&node);
	OFFLINE("HSET rcfs:raft:log 2 %s", "not an entry");
	node_open(&node);
	RUN_WHILE(1000, !consensus_running(node.cs), "a single node started on a log cut below applied");
	/* It never will: a client is told so at once (E_UNAVAILABLE, with the
	 * reason), not to wait for a leader. */
	{
		struct answer *a = propose_put("s/late", "x", 0, 0);
		ck_assert_int_eq(a->calls, 1);
		ck_assert_msg(a->code == RCFS__ERROR_CODE__E_UNAVAILABLE, "answered %d: %s", a->code, a->err);
		ck_assert_msg(strstr(a->err, "cannot start") != NULL, "said: %s", a->err);
	}
	node_stop(&node);
}
END_TEST

/* ---- 5. an early answer checked against the apply ---- */

/* A stop as node_free does it (store closed first) right after a put was
 * answered at commit, its apply still in flight: the failed callbacks must
 * not start a reload that nobody completes (LeakSanitizer would report the
 * load's state at exit). */
START_TEST(stop_in_flight)
{
	struct answer *a;

	cfg_init(&node.cfg, 0, 0, 100);
	node_start(&node);
	wait_settled_leader(1);
	a = propose_put("s/inflight", "x", 7, 1);
	answered_ok(a);
	ck_assert_uint_lt(a->applied_at, a->res.version);      /* apply in flight */
	node_stop(&node);
	ck_assert_int_eq(a->calls, 1);
}
END_TEST

START_TEST(early_answer_matches_apply)
{
	struct answer *a, *retry, *rm_missing, *rm_there;
	uint64_t idx;
	struct stat_res s;
	size_t len;
	uint8_t *data;

	cfg_init(&node.cfg, 0, 0, 100);
	node_start(&node);
	wait_settled_leader(1);

	idx = consensus_applied_index(node.cs) + 1;
	a = propose_put("s/one", "first", 42, 1);
	answered_ok(a);
	ck_assert_int_eq(a->res.code, RCFS__ERROR_CODE__E_OK);
	ck_assert_uint_eq(a->res.version, idx);
	/* Answered at commit, before its own apply: the case being checked. */
	ck_assert_uint_lt(a->applied_at, idx);
	RUN_UNTIL(consensus_applied_index(node.cs) >= a->res.version, 3000, "put not applied");
	s = stat_file("s/one");
	ck_assert(s.found);
	ck_assert_uint_eq(s.version, a->res.version);
	ck_assert_str_eq(s.content, "first");

	/* A retry of (42, 1): the original version, answered after its apply. */
	wait_settled_leader(idx);
	idx = consensus_applied_index(node.cs) + 1;
	retry = propose_put("s/one", "first", 42, 1);
	answered_ok(retry);
	ck_assert_int_eq(retry->res.code, RCFS__ERROR_CODE__E_OK);
	ck_assert_uint_eq(retry->res.version, a->res.version);
	ck_assert_uint_ge(retry->applied_at, idx);
	s = stat_file("s/one");
	ck_assert_uint_eq(s.version, a->res.version);   /* not applied again */

	/* A remove of a missing name: E_NOT_FOUND, never answered before applied. */
	wait_settled_leader(idx);
	idx = consensus_applied_index(node.cs) + 1;
	data = rm_cmd("s/missing", 42, 2, &len);
	rm_missing = propose(data, len);
	answered_ok(rm_missing);
	ck_assert_int_eq(rm_missing->res.code, RCFS__ERROR_CODE__E_NOT_FOUND);
	ck_assert_uint_ge(rm_missing->applied_at, idx);

	/* And of a present one: its own version, also only once applied. */
	wait_settled_leader(idx);
	idx = consensus_applied_index(node.cs) + 1;
	data = rm_cmd("s/one", 42, 3, &len);
	rm_there = propose(data, len);
	answered_ok(rm_there);
	ck_assert_int_eq(rm_there->res.code, RCFS__ERROR_CODE__E_OK);
	ck_assert_uint_eq(rm_there->res.version, idx);
	ck_assert_uint_ge(rm_there->applied_at, idx);
	ck_assert(!stat_file("s/one").found);
	stop_settled();
	answers_all_once();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("consensus");
	TCase *tc = tcase_create("consensus");
	int rv;

	(void)store_up;         /* the harness's plain store: this test wires a whole node */
	switch (harness_init()) {
	case 1: return 1;
	case 2: printf("1..0 # SKIP redis-server not installed\n"); return 0;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, restart_empty_then_log_only);
	tcase_add_test(tc, restart_snapshot_and_log);
	tcase_add_test(tc, restart_installed_snapshot);
	tcase_add_test(tc, failed_write_tears_down_and_recovers);
	tcase_add_test(tc, read_barrier_across_step_down);
	tcase_add_test(tc, early_answer_matches_apply);
	tcase_add_test(tc, stop_in_flight);
	tcase_add_test(tc, empty_without_bootstrap_waits);
	tcase_add_test(tc, damaged_state_takes_new_incarnation);
	tcase_add_test(tc, damaged_hard_state);
	tcase_add_test(tc, lost_tail_takes_new_incarnation);
	tcase_add_test(tc, damaged_single_node_below_applied_stops);
	tcase_add_test(tc, membership_from_the_stored_state);
	suite_add_tcase(s, tc);
	rv = check_run(s);
	harness_done();
	return rv;
}
