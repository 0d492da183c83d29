/* Log replication: Raft §5.3 consistency check and repair (Figure 7), fast
 * backtracking, the commit rule of §5.4.2 (Figure 8), pipelining and
 * batching, heartbeats carrying the commit index. */
#include <string.h>

#include "tap.h"

static void timeout_now(struct cluster *c, uint64_t id)
{
	struct raft_message m;
	struct raft *r = cl_raft(c, id);

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_TIMEOUT_NOW;
	m.from = id == 1 ? 2 : 1;
	m.to = id;
	m.term = raft_term(r);
	ck_assert_int_eq(raft_step(r, &m), 0);
	cl_process(c, id);
}

struct counter {
	uint64_t rejects[CL_MAX + 1];
	uint64_t appends, max_bytes, max_entries;
	uint64_t drop_term_from_1; /* drop appends from 1 with this term */
};

static bool count_msgs(struct cluster *c, struct raft_message *m,
                       void *arg)
{
	struct counter *k = arg;
	size_t i;
	uint64_t bytes = 0;

	(void)c;
	if (m->type == RAFT_MSG_APPEND_RESP && m->reject)
		k->rejects[m->from]++;
	if (m->type == RAFT_MSG_APPEND && m->n_entries) {
		k->appends++;
		for (i = 0; i < m->n_entries; i++) {
			if (k->drop_term_from_1 && m->from == 1 &&
			    m->entries[i].term == k->drop_term_from_1) {
				m->n_entries = i; /* strip that term */
				break;
			}
			bytes += m->entries[i].len;
		}
		if (bytes > k->max_bytes)
			k->max_bytes = bytes;
		if (m->n_entries > k->max_entries)
			k->max_entries = m->n_entries;
	}
	return true;
}

/* Raft Figure 7: a new leader repairs every kind of divergent follower
 * log, and fast backtracking needs one rejection per follower. */
START_TEST(figure7_repair)
{
	static const uint64_t leader[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
	static const uint64_t fa[] = {1, 1, 1, 4, 4, 5, 5, 6, 6};
	static const uint64_t fb[] = {1, 1, 1, 4};
	static const uint64_t fc[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6};
	static const uint64_t fd[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7};
	static const uint64_t fe[] = {1, 1, 1, 4, 4, 4, 4};
	static const uint64_t ff[] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3};
	static const uint64_t want[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 8};
	const uint64_t *logs[] = {leader, fa, fb, fc, fd, fe, ff};
	const size_t lens[] = {10, 9, 4, 11, 12, 7, 11};
	struct cluster c;
	struct counter k;
	uint64_t i;

	cl_init(&c, 7, 11);
	memset(&k, 0, sizeof(k));
	for (i = 0; i < 7; i++)
		cl_set_state(&c, i + 1, 7, 0, 3, logs[i], lens[i]);
	for (i = 0; i < 7; i++)
		cl_restart(&c, i + 1);
	c.filter = count_msgs;
	c.filter_arg = &k;
	timeout_now(&c, 1);
	ck_assert_uint_eq(cl_wait_leader(&c, 100), 1);
	ck_assert_uint_eq(raft_term(cl_raft(&c, 1)), 8);
	ck_assert(cl_wait_applied(&c, 11, 500));
	for (i = 1; i <= 7; i++) {
		ck_assert_msg(cl_log_is(&c, i, want, 11), "log of %llu",
		              (unsigned long long)i);
		ck_assert_uint_eq(raft_commit_index(cl_raft(&c, i)), 11);
		/* §5.3 + fast backtracking: at most one rejection each. */
		ck_assert_uint_le(k.rejects[i], 1);
	}
	ck_assert_uint_eq(k.rejects[7], 1); /* f: one round trip for 8 */
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* Raft Figure 8 / §5.4.2: an entry of a previous term stored on a
 * majority is not committed by counting replicas. */
START_TEST(figure8_no_commit_by_counting)
{
	static const uint64_t s1[] = {1, 2}, s2[] = {1, 2}, s3[] = {1},
	                      s4[] = {1}, s5[] = {1, 3};
	static const uint64_t want[] = {1, 3, 5};
	struct cluster c;
	struct raft_config cfg;
	struct counter k;
	struct raft *r1;

	raft_config_init(&cfg);
	cfg.snapshot_threshold = 0;
	cfg.max_msg_bytes = 1; /* one 8-byte entry per message */
	cl_init_cfg(&c, 5, 12, &cfg);
	memset(&k, 0, sizeof(k));
	cl_set_state(&c, 1, 3, 0, 1, s1, 2);
	cl_set_state(&c, 2, 3, 0, 1, s2, 2);
	cl_set_state(&c, 3, 3, 5, 1, s3, 1);
	cl_set_state(&c, 4, 3, 5, 1, s4, 1);
	cl_set_state(&c, 5, 3, 5, 1, s5, 2);
	cl_restart(&c, 1);
	cl_restart(&c, 2);
	cl_restart(&c, 3);
	cl_restart(&c, 4);
	/* (c): S5 is down; S1 wins term 4 and replicates index 2 (term 2)
	 * to S3, but nothing of term 4 leaves S1. */
	k.drop_term_from_1 = 4;
	c.filter = count_msgs;
	c.filter_arg = &k;
	timeout_now(&c, 1);
	cl_run(&c, 20);
	r1 = cl_raft(&c, 1);
	ck_assert_int_eq(raft_role(r1), RAFT_LEADER);
	ck_assert_uint_eq(raft_term(r1), 4);
	cl_run(&c, 120);
	ck_assert_uint_eq(raft_term_at(cl_raft(&c, 3), 2, NULL), 2);
	ck_assert_uint_eq(raft_last_index(cl_raft(&c, 3)), 2);
	/* Index 2 is on S1, S2, S3: a majority, but of term 2. */
	ck_assert_uint_eq(raft_commit_index(r1), 1);
	/* (d): S1 crashes; S5 returns and wins with its term-3 entry. */
	cl_crash(&c, 1);
	cl_restart(&c, 5);
	k.drop_term_from_1 = 0;
	timeout_now(&c, 5); /* term 4: S2-S4 already voted for S1 */
	cl_run(&c, 20);
	timeout_now(&c, 5); /* term 5 */
	ck_assert_uint_eq(cl_wait_leader(&c, 200), 5);
	ck_assert(cl_wait_applied(&c, 3, 500));
	ck_assert(cl_log_is(&c, 2, want, 3));
	ck_assert(cl_log_is(&c, 3, want, 3));
	cl_restart(&c, 1);
	ck_assert(cl_wait_applied(&c, 3, 1000));
	ck_assert(cl_log_is(&c, 1, want, 3));
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* Batching (bounded bytes per AppendEntries) and pipelining (several in
 * flight, bounded by max_inflight). */
START_TEST(batching_and_pipelining)
{
	struct cluster c;
	struct raft_config cfg;
	struct counter k;
	struct raft_progress_info pi;
	uint64_t l, i, idx = 0, f, max_inflight = 0;

	raft_config_init(&cfg);
	cfg.snapshot_threshold = 0;
	cfg.max_msg_bytes = 64; /* 8 entries of 8 bytes */
	cfg.max_inflight = 4;
	cl_init_cfg(&c, 3, 13, &cfg);
	c.delay_min = c.delay_max = 30; /* a long pipe */
	l = cl_wait_leader(&c, 3000);  /* split votes back off */
	ck_assert(cl_wait_applied(&c, 1, 500));
	f = l % 3 + 1;
	memset(&k, 0, sizeof(k));
	c.filter = count_msgs;
	c.filter_arg = &k;
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(cl_propose(&c, l, &idx), 0);
	for (i = 0; i < 100 && !cl_wait_applied(&c, idx, 0); i++) {
		ck_assert_int_eq(raft_progress(cl_raft(&c, l), f, &pi), 0);
		ck_assert_uint_le(pi.inflight, 4);
		if (pi.inflight > max_inflight)
			max_inflight = pi.inflight;
		cl_step(&c);
	}
	ck_assert(cl_wait_applied(&c, idx, 2000));
	ck_assert_uint_eq(k.max_bytes, 64);
	ck_assert_uint_eq(k.max_entries, 8);
	ck_assert_uint_eq(max_inflight, 4);
	ck_assert_int_eq(pi.state, RAFT_PROGRESS_REPLICATE);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* Heartbeats carry the commit index: a follower learns of a commit with
 * no further AppendEntries. */
START_TEST(heartbeat_carries_commit)
{
	struct cluster c;
	uint64_t l, f, idx, i;
	struct counter k;

	cl_init(&c, 3, 14);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	f = l % 3 + 1;
	/* f receives the entry but not the commit carried by the next
	 * append (there is none: no more proposals). */
	ck_assert_int_eq(cl_propose(&c, l, &idx), 0);
	memset(&k, 0, sizeof(k));
	for (i = 0; i < 3 && raft_commit_index(cl_raft(&c, l)) < idx; i++)
		cl_step(&c);
	ck_assert_uint_eq(raft_commit_index(cl_raft(&c, l)), idx);
	c.filter = count_msgs;
	c.filter_arg = &k;
	ck_assert(cl_wait_applied(&c, idx, 200));
	ck_assert_uint_eq(raft_commit_index(cl_raft(&c, f)), idx);
	ck_assert_uint_eq(k.appends, 0);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* Lossy, duplicating, reordering network: everything still commits
 * exactly once, in order. */
START_TEST(lossy_network)
{
	struct cluster c;
	uint64_t l, i, idx = 0;

	cl_init(&c, 5, 15);
	c.drop_pm = 200;
	c.dup_pm = 200;
	c.delay_max = 40;
	l = cl_wait_leader(&c, 3000);
	ck_assert_uint_ne(l, 0);
	for (i = 0; i < 100; i++) {
		l = cl_leader(&c);
		if (l)
			(void)cl_propose(&c, l, &idx);
		cl_step(&c);
	}
	c.drop_pm = c.dup_pm = 0;
	l = cl_wait_leader(&c, 3000);
	ck_assert_int_eq(cl_propose(&c, l, &idx), 0);
	ck_assert(cl_wait_applied(&c, idx, 3000));
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("raft-replication");
	TCase *tc = tcase_create("replication");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, figure7_repair);
	tcase_add_test(tc, figure8_no_commit_by_counting);
	tcase_add_test(tc, batching_and_pipelining);
	tcase_add_test(tc, heartbeat_carries_commit);
	tcase_add_test(tc, lossy_network);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tap_run(suite());
}
