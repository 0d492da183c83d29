/* Linearizable reads with ReadIndex (Dissertation §6.4). */
#include <string.h>

#include "tap.h"

START_TEST(read_on_leader)
{
	struct cluster c;
	uint64_t l, p;
	size_t slot;

	cl_init(&c, 3, 41);
	l = cl_wait_leader(&c, 1000);
	ck_assert_int_eq(cl_propose(&c, l, &p), 0);
	ck_assert(cl_wait_applied(&c, p, 500));
	ck_assert_int_eq(cl_read(&c, l, &slot), 0);
	ck_assert_int_eq(c.reads[slot].done, 0); /* needs a heartbeat round */
	cl_run(&c, 30);
	ck_assert_int_eq(c.reads[slot].done, 1);
	ck_assert_uint_eq(c.reads[slot].index, p);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(read_on_follower_refused)
{
	struct cluster c;
	uint64_t l;

	cl_init(&c, 3, 42);
	l = cl_wait_leader(&c, 1000);
	ck_assert_int_eq(cl_read(&c, l % 3 + 1, NULL), RAFT_ENOTLEADER);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(single_node_read)
{
	struct cluster c;
	size_t slot;

	cl_init(&c, 1, 43);
	ck_assert_uint_eq(cl_wait_leader(&c, 500), 1);
	cl_run(&c, 10);
	ck_assert_int_eq(cl_read(&c, 1, &slot), 0);
	ck_assert_int_eq(c.reads[slot].done, 1); /* no round needed */
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* §6.4 step 1: a new leader serves reads only once its no-op commits,
 * so the read index covers everything committed by earlier leaders. */
START_TEST(new_leader_waits_for_noop)
{
	struct cluster c;
	uint64_t l, l2, p;
	size_t slot;
	struct raft *r;

	cl_init(&c, 3, 44);
	l = cl_wait_leader(&c, 1000);
	ck_assert_int_eq(cl_propose(&c, l, &p), 0);
	ck_assert(cl_wait_applied(&c, p, 500));
	cl_crash(&c, l);
	for (l2 = 0; !l2 && !c.failed;) {
		cl_step(&c);
		l2 = cl_leader(&c);
	}
	r = cl_raft(&c, l2);
	ck_assert_uint_lt(raft_commit_index(r), raft_last_index(r));
	ck_assert_int_eq(cl_read(&c, l2, &slot), 0);
	ck_assert_int_eq(c.reads[slot].done, 0);
	cl_run(&c, 100);
	ck_assert_int_eq(c.reads[slot].done, 1);
	ck_assert_uint_eq(c.reads[slot].index, raft_last_index(r));
	ck_assert_uint_gt(c.reads[slot].index, p);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* A deposed leader that still believes it leads (CheckQuorum off, so it
 * never steps down on its own) cannot serve a read: its heartbeat round
 * never reaches a majority while the new leader commits newer writes; the
 * read fails once it learns the new term. */
START_TEST(deposed_leader_no_stale_read)
{
	struct cluster c;
	struct raft_config cfg;
	uint64_t l, l2, p;
	size_t slot;
	struct raft *old;

	raft_config_init(&cfg);
	cfg.check_quorum = false;
	cfg.snapshot_threshold = 0;
	cl_init_cfg(&c, 5, 45, &cfg);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	old = cl_raft(&c, l);
	cl_isolate(&c, l, true);
	l2 = 0;
	while (!l2 && c.now < 5000) {
		cl_step(&c);
		for (p = 1; p <= 5; p++)
			if (p != l && raft_role(cl_raft(&c, p)) == RAFT_LEADER)
				l2 = p;
	}
	ck_assert_uint_ne(l2, 0);
	ck_assert_int_eq(cl_propose(&c, l2, &p), 0);
	cl_run(&c, 100);
	ck_assert_uint_ge(raft_commit_index(cl_raft(&c, l2)), p);
	ck_assert_int_eq(raft_role(old), RAFT_LEADER);
	/* If served, this read would miss write p (the fixture checks). */
	ck_assert_int_eq(cl_read(&c, l, &slot), 0);
	cl_run(&c, 500);
	ck_assert_int_eq(c.reads[slot].done, 0);
	cl_isolate(&c, l, false);
	cl_run(&c, 200);
	ck_assert_int_eq(raft_role(old), RAFT_FOLLOWER);
	ck_assert_int_eq(c.reads[slot].done, 2); /* failed, never served */
	ck_assert_uint_eq(c.reads_served, 0);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* With CheckQuorum the cut-off leader steps down by itself and fails its
 * pending read. */
START_TEST(cut_off_leader_fails_read)
{
	struct cluster c;
	uint64_t l;
	size_t slot;

	cl_init(&c, 3, 47);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	cl_isolate(&c, l, true);
	ck_assert_int_eq(cl_read(&c, l, &slot), 0);
	cl_run(&c, 160);
	ck_assert_int_ne(raft_role(cl_raft(&c, l)), RAFT_LEADER);
	ck_assert_int_eq(c.reads[slot].done, 2);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* Same with the old leader hearing back: the higher term in the answers
 * deposes it before it can confirm. */
START_TEST(deposed_leader_hears_new_term)
{
	struct cluster c;
	uint64_t l, l2, p;
	size_t slot;

	cl_init(&c, 3, 46);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	cl_isolate(&c, l, true);
	cl_run(&c, 400);
	l2 = cl_leader(&c);
	ck_assert_uint_ne(l2, 0);
	ck_assert_uint_ne(l2, l);
	ck_assert_int_eq(cl_propose(&c, l2, &p), 0);
	cl_run(&c, 50);
	/* The cut-off leader stepped down (CheckQuorum): it refuses reads
	 * outright instead of answering from stale state. */
	ck_assert_int_eq(cl_read(&c, l, &slot), RAFT_ENOTLEADER);
	cl_isolate(&c, l, false);
	ck_assert(cl_wait_applied(&c, p, 1000));
	ck_assert_int_eq(cl_read(&c, l2, &slot), 0);
	cl_run(&c, 50);
	ck_assert_int_eq(c.reads[slot].done, 1);
	ck_assert_uint_ge(c.reads[slot].index, p);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("raft-readindex");
	TCase *tc = tcase_create("readindex");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, read_on_leader);
	tcase_add_test(tc, read_on_follower_refused);
	tcase_add_test(tc, single_node_read);
	tcase_add_test(tc, new_leader_waits_for_noop);
	tcase_add_test(tc, deposed_leader_no_stale_read);
	tcase_add_test(tc, deposed_leader_hears_new_term);
	tcase_add_test(tc, cut_off_leader_fails_read);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
