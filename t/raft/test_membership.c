/* Membership changes one server at a time (Dissertation §4.1), learners
 * catching up before promotion (§4.2.1), removing the leader (§4.2.2), and
 * leadership transfer (§3.10). */
#include <string.h>

#include "tap.h"

static int change(struct cluster *c, uint64_t l, int op, uint64_t id,
                  uint64_t *idx)
{
	int rv = raft_change_membership(cl_raft(c, l), op, id, idx);
	if (rv == 0)
		cl_process(c, l);
	return rv;
}

START_TEST(add_learner_then_promote)
{
	struct cluster c;
	uint64_t l, n4, idx, t, i, p;
	const struct raft_conf *conf;

	cl_init(&c, 3, 31);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(cl_propose(&c, l, &p), 0);
	n4 = cl_add_node(&c);
	ck_assert_uint_eq(n4, 4);
	ck_assert_int_eq(change(&c, l, RAFT_CONF_PROMOTE, n4, NULL),
	                 RAFT_ENOTFOUND);
	ck_assert_int_eq(change(&c, l, RAFT_CONF_ADD_LEARNER, n4, &idx), 0);
	/* One change at a time: the next waits for this one to commit. */
	ck_assert_int_eq(change(&c, l, RAFT_CONF_REMOVE, 3, NULL),
	                 RAFT_ECONFPENDING);
	/* Not caught up yet. */
	ck_assert_int_eq(change(&c, l, RAFT_CONF_PROMOTE, n4, NULL),
	                 RAFT_ECONFPENDING);
	ck_assert(cl_wait_applied(&c, idx, 1000));
	conf = raft_configuration(cl_raft(&c, n4));
	ck_assert_int_ge(raft_conf_find(conf, n4), 0);
	ck_assert(!raft_conf_is_voter(conf, n4));
	ck_assert(raft_is_learner(cl_raft(&c, n4)));
	ck_assert_uint_ge(cl_node(&c, n4)->sm_index, p);
	/* A learner never campaigns. */
	t = raft_term(cl_raft(&c, n4));
	cl_isolate(&c, n4, true);
	cl_run(&c, 2000);
	ck_assert_uint_eq(raft_term(cl_raft(&c, n4)), t);
	ck_assert_int_eq(raft_role(cl_raft(&c, n4)), RAFT_FOLLOWER);
	/* While cut off it falls behind and cannot be promoted. */
	ck_assert_int_eq(cl_propose(&c, l, &p), 0);
	cl_run(&c, 100);
	ck_assert_int_eq(change(&c, l, RAFT_CONF_PROMOTE, n4, NULL),
	                 RAFT_ECATCHUP);
	cl_isolate(&c, n4, false);
	ck_assert(cl_wait_applied(&c, p, 1000));
	cl_run(&c, 100);
	ck_assert_int_eq(change(&c, l, RAFT_CONF_PROMOTE, n4, &idx), 0);
	ck_assert(cl_wait_applied(&c, idx, 1000));
	ck_assert(raft_conf_is_voter(raft_configuration(cl_raft(&c, l)), n4));
	/* Four voters: quorum 3.  Two down -> no commit. */
	cl_crash(&c, n4);
	cl_crash(&c, l % 3 + 1);
	ck_assert_int_eq(cl_propose(&c, l, &p), 0);
	cl_run(&c, 100);
	ck_assert_uint_lt(raft_commit_index(cl_raft(&c, l)), p);
	cl_restart(&c, n4);
	ck_assert(cl_wait_applied(&c, p, 2000));
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* Issue 20's sequence: an entry committed by the leader and one follower;
 * that follower loses its storage and the leader crashes.  The survivor
 * and the wiped server must not elect a leader (the wiped one forgot the
 * entry and may not vote); once the old leader is back, the entry is
 * there, the wiped server catches up, is re-admitted, and counts again. */
START_TEST(amnesia_never_loses_a_commit)
{
	struct cluster c;
	uint64_t l, f1, f2, x, p;
	struct raft_progress_info info;
	int i;

	cl_init(&c, 3, 41);
	l = cl_wait_leader(&c, 1000);
	ck_assert_uint_ne(l, 0);
	ck_assert(cl_wait_applied(&c, 1, 500));
	f1 = l % 3 + 1;
	f2 = f1 % 3 + 1;
	cl_crash(&c, f1);
	ck_assert_int_eq(cl_propose(&c, l, &x), 0);
	ck_assert(cl_wait_applied(&c, x, 1000));        /* on l and f2 */
	ck_assert_uint_ge(raft_commit_index(cl_raft(&c, l)), x);
	cl_wipe(&c, f2);
	cl_crash(&c, l);
	cl_restart(&c, f1);
	cl_restart(&c, f2);
	ck_assert(!raft_admitted(cl_raft(&c, f2)));
	cl_run(&c, 3000);
	/* f1 campaigns in vain: the only other vote is the wiped server's. */
	ck_assert_uint_eq(cl_leader(&c), 0);
	ck_assert_uint_eq(raft_last_index(cl_raft(&c, f2)), 0);
	cl_restart(&c, l);
	l = cl_wait_leader(&c, 3000);
	ck_assert_uint_ne(l, 0);
	ck_assert_uint_ne(l, f2);
	ck_assert(cl_wait_applied(&c, x, 3000));        /* everywhere, f2 too */
	/* Its acknowledgements came from an unrecorded incarnation. */
	ck_assert_uint_gt(raft_refused_incarnation(cl_raft(&c, l)), 0);
	/* Re-admission: refused until f2 caught up, then recorded. */
	for (i = 0; i < 30; i++) {
		cl_admit(&c);
		cl_run(&c, 100);
		l = cl_leader(&c);
		if (l && raft_progress(cl_raft(&c, l), f2, &info) == 0 && info.admitted)
			break;
	}
	ck_assert(l && raft_progress(cl_raft(&c, l), f2, &info) == 0 && info.admitted);
	cl_run(&c, 500);
	ck_assert(raft_admitted(cl_raft(&c, f2)));
	/* It counts again: with the leader gone, f2 and the other elect. */
	cl_crash(&c, l);
	l = cl_wait_leader(&c, 3000);
	ck_assert_uint_ne(l, 0);
	ck_assert_int_eq(cl_propose(&c, l, &p), 0);
	ck_assert(cl_wait_applied(&c, p, 2000));
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(remove_follower)
{
	struct cluster c;
	uint64_t l, f, idx, p;

	cl_init(&c, 3, 32);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	f = l % 3 + 1;
	ck_assert_int_eq(change(&c, l, RAFT_CONF_REMOVE, f, &idx), 0);
	ck_assert(cl_wait_applied(&c, idx, 1000));
	ck_assert_int_lt(raft_conf_find(raft_configuration(cl_raft(&c, l)), f),
	                 0);
	/* Two voters left, both needed. */
	cl_crash(&c, f);
	ck_assert_int_eq(cl_propose(&c, l, &p), 0);
	ck_assert(cl_wait_applied(&c, p, 1000));
	ck_assert_int_eq(change(&c, l, RAFT_CONF_REMOVE, f, NULL),
	                 RAFT_ENOTFOUND);
	/* A removed id is never added again (etcd refuses a removed member). */
	ck_assert(raft_conf_was_removed(raft_configuration(cl_raft(&c, l)), f));
	ck_assert_int_eq(change(&c, l, RAFT_CONF_ADD_LEARNER, f, NULL),
	                 RAFT_EREMOVED);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* The application's address and tag ride with the server in every
 * configuration, to every member, and survive a restart from the log. */
START_TEST(address_and_tag_carried)
{
	struct cluster c;
	struct raft_server s;
	const struct raft_conf *conf;
	uint64_t l, n4, idx, id;
	int pos;

	cl_init(&c, 3, 34);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	n4 = cl_add_node(&c);
	memset(&s, 0, sizeof(s));
	s.id = n4;
	s.tag = 2;
	strcpy(s.addr, "127.0.0.9:7004");
	ck_assert_int_eq(raft_change_server(cl_raft(&c, l), RAFT_CONF_ADD_LEARNER,
	                                    &s, &idx), 0);
	cl_process(&c, l);
	ck_assert(cl_wait_applied(&c, idx, 1000));
	s.tag = 3;
	ck_assert_int_eq(raft_change_server(cl_raft(&c, l), RAFT_CONF_SET_TAG, &s,
	                                    &idx), 0);
	cl_process(&c, l);
	ck_assert_int_eq(raft_change_server(cl_raft(&c, l), RAFT_CONF_SET_TAG, &s,
	                                    NULL), RAFT_ECONFPENDING);
	ck_assert(cl_wait_applied(&c, idx, 1000));
	for (id = 1; id <= n4; id++) {
		conf = raft_configuration(cl_raft(&c, id));
		pos = raft_conf_find(conf, n4);
		ck_assert_int_ge(pos, 0);
		ck_assert_str_eq(conf->servers[pos].addr, "127.0.0.9:7004");
		ck_assert_uint_eq(conf->servers[pos].tag, 3);
		ck_assert(!conf->servers[pos].voter);
	}
	id = l % 3 + 1;
	cl_crash(&c, id);
	cl_restart(&c, id);
	conf = raft_configuration(cl_raft(&c, id));
	pos = raft_conf_find(conf, n4);
	ck_assert_int_ge(pos, 0);
	ck_assert_str_eq(conf->servers[pos].addr, "127.0.0.9:7004");
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(remove_leader)
{
	struct cluster c;
	uint64_t l, l2, idx, p, t;

	cl_init(&c, 3, 33);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	t = raft_term(cl_raft(&c, l));
	ck_assert_int_eq(change(&c, l, RAFT_CONF_REMOVE, l, &idx), 0);
	/* §4.2.2: it leads until the change commits, then steps down and
	 * hands off with TimeoutNow. */
	ck_assert(cl_wait_applied(&c, idx, 1000));
	cl_run(&c, 50);
	ck_assert_int_ne(raft_role(cl_raft(&c, l)), RAFT_LEADER);
	l2 = cl_wait_leader(&c, 1000);
	ck_assert_uint_ne(l2, 0);
	ck_assert_uint_ne(l2, l);
	ck_assert_uint_eq(raft_term(cl_raft(&c, l2)), t + 1);
	ck_assert_uint_lt(c.now, 2000);
	ck_assert_int_eq(cl_propose(&c, l2, &p), 0);
	ck_assert(cl_wait_applied(&c, p, 1000));
	/* The removed server never campaigns again. */
	cl_run(&c, 2000);
	ck_assert_int_eq(raft_role(cl_raft(&c, l)), RAFT_FOLLOWER);
	ck_assert_uint_eq(cl_leader(&c), l2);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(no_change_before_term_commit)
{
	struct cluster c;
	uint64_t idx;
	struct raft *r;

	cl_init(&c, 1, 34);
	cl_node(&c, 1)->persist_hold = true; /* the no-op never commits */
	cl_run(&c, 400);
	r = cl_raft(&c, 1);
	ck_assert_int_eq(raft_role(r), RAFT_LEADER);
	ck_assert_int_eq(raft_change_membership(r, RAFT_CONF_ADD_LEARNER, 2,
	                                        NULL), RAFT_ECONFPENDING);
	cl_node(&c, 1)->persist_hold = false;
	cl_complete_writes(&c, 1, true);
	ck_assert_int_eq(raft_change_membership(r, RAFT_CONF_ADD_LEARNER, 2,
	                                        &idx), 0);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(leadership_transfer)
{
	struct cluster c;
	uint64_t l, target, t, p;
	struct raft *r;

	cl_init(&c, 5, 35);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	t = raft_term(cl_raft(&c, l));
	target = l % 5 + 1;
	/* Make the target lag so the leader must catch it up first. */
	cl_isolate(&c, target, true);
	ck_assert_int_eq(cl_propose(&c, l, &p), 0);
	cl_run(&c, 50);
	cl_isolate(&c, target, false);
	r = cl_raft(&c, l);
	ck_assert_int_eq(raft_transfer_leadership(r, target), 0);
	ck_assert_uint_eq(raft_transferee(r), target);
	/* §3.10: no proposals during the transfer. */
	ck_assert_int_eq(raft_propose(r, "x", 1, NULL, NULL), RAFT_ETRANSFER);
	ck_assert_int_eq(raft_transfer_leadership(r, l), RAFT_ENOTFOUND);
	cl_run(&c, 100);
	ck_assert_uint_eq(cl_leader(&c), target);
	ck_assert_uint_eq(raft_term(cl_raft(&c, target)), t + 1);
	ck_assert_uint_ge(raft_commit_index(cl_raft(&c, target)), p);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(transfer_times_out)
{
	struct cluster c;
	uint64_t l, target;
	struct raft *r;

	cl_init(&c, 3, 36);
	l = cl_wait_leader(&c, 1000);
	target = l % 3 + 1;
	cl_crash(&c, target);
	r = cl_raft(&c, l);
	ck_assert_int_eq(raft_transfer_leadership(r, target), 0);
	cl_run(&c, 200);
	ck_assert_uint_eq(raft_transferee(r), 0); /* aborted */
	ck_assert_uint_eq(cl_leader(&c), l);
	ck_assert_int_eq(cl_propose(&c, l, NULL), 0);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* A member counts as heard (rcfs member list: reachable) once it answered
 * this leader: a progress starts at age 0 (CheckQuorum's grace), which
 * must not show a server nobody runs as up.  A configuration change keeps
 * what the leader heard from the others. */
START_TEST(heard_after_first_answer)
{
	struct cluster c;
	struct raft_progress_info info;
	uint64_t l, f, n4, idx;

	cl_init(&c, 3, 37);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 500));
	f = l % 3 + 1;
	ck_assert_int_eq(raft_progress(cl_raft(&c, l), f, &info), 0);
	ck_assert(info.heard);
	n4 = cl_add_node(&c);
	cl_isolate(&c, n4, true);
	ck_assert_int_eq(change(&c, l, RAFT_CONF_ADD_LEARNER, n4, &idx), 0);
	ck_assert_int_eq(raft_progress(cl_raft(&c, l), n4, &info), 0);
	ck_assert(!info.heard);
	ck_assert_int_eq(raft_progress(cl_raft(&c, l), f, &info), 0);
	ck_assert(info.heard);
	cl_run(&c, 50);
	ck_assert_int_eq(raft_progress(cl_raft(&c, l), n4, &info), 0);
	ck_assert(!info.heard);
	cl_isolate(&c, n4, false);
	ck_assert(cl_wait_applied(&c, idx, 1000));
	cl_run(&c, 100);
	ck_assert_uint_eq(cl_leader(&c), l);
	ck_assert_int_eq(raft_progress(cl_raft(&c, l), n4, &info), 0);
	ck_assert(info.heard && info.recently_active);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("raft-membership");
	TCase *tc = tcase_create("membership");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, add_learner_then_promote);
	tcase_add_test(tc, amnesia_never_loses_a_commit);
	tcase_add_test(tc, remove_follower);
	tcase_add_test(tc, address_and_tag_carried);
	tcase_add_test(tc, remove_leader);
	tcase_add_test(tc, no_change_before_term_commit);
	tcase_add_test(tc, leadership_transfer);
	tcase_add_test(tc, transfer_times_out);
	tcase_add_test(tc, heard_after_first_answer);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
