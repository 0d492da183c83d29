/* Leader election scenarios: Raft §5.2, PreVote and CheckQuorum
 * (Dissertation §9.6, §6.2), vote durability (Figure 2). */
#include <string.h>

#include "tap.h"

START_TEST(first_election_3)
{
	struct cluster c;
	uint64_t l, i;

	cl_init(&c, 3, 1);
	l = cl_wait_leader(&c, 1000);
	ck_assert_uint_ne(l, 0);
	/* PreVote: the first real election is in term 1. */
	ck_assert_uint_eq(raft_term(cl_raft(&c, l)), 1);
	/* The leader's no-op (Raft §8) commits everywhere. */
	ck_assert(cl_wait_applied(&c, 1, 500));
	for (i = 1; i <= 3; i++) {
		struct raft *r = cl_raft(&c, i);
		ck_assert_uint_eq(raft_commit_index(r), 1);
		ck_assert_uint_eq(raft_entry_at(r, 1)->type, RAFT_ENTRY_NOOP);
		ck_assert_uint_eq(raft_leader(r), l);
	}
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(first_election_5)
{
	struct cluster c;
	uint64_t l, i, leaders = 0;

	cl_init(&c, 5, 2);
	l = cl_wait_leader(&c, 1000);
	ck_assert_uint_ne(l, 0);
	for (i = 1; i <= 5; i++)
		leaders += raft_role(cl_raft(&c, i)) == RAFT_LEADER;
	ck_assert_uint_eq(leaders, 1);
	/* The first election happens within one max election timeout plus
	 * message delays. */
	ck_assert_uint_le(c.now, 300 + 50);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(single_node)
{
	struct cluster c;
	uint64_t idx;

	cl_init(&c, 1, 3);
	ck_assert_uint_eq(cl_wait_leader(&c, 400), 1);
	ck_assert_int_eq(cl_propose(&c, 1, &idx), 0);
	ck_assert_uint_eq(idx, 2);
	ck_assert(cl_wait_applied(&c, 2, 100));
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(reelection_after_crash)
{
	struct cluster c;
	uint64_t l, l2, t;

	cl_init(&c, 5, 4);
	l = cl_wait_leader(&c, 1000);
	t = raft_term(cl_raft(&c, l));
	cl_crash(&c, l);
	l2 = cl_wait_leader(&c, 1000);
	ck_assert_uint_ne(l2, 0);
	ck_assert_uint_ne(l2, l);
	ck_assert_uint_eq(raft_term(cl_raft(&c, l2)), t + 1);
	/* The old leader comes back as a follower of the new one. */
	cl_restart(&c, l);
	cl_run(&c, 300);
	ck_assert_int_eq(raft_role(cl_raft(&c, l)), RAFT_FOLLOWER);
	ck_assert_uint_eq(raft_leader(cl_raft(&c, l)), l2);
	ck_assert_uint_eq(raft_term(cl_raft(&c, l)), t + 1);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* raft_peer_down: when the transport sees a crashed leader's connections
 * close, its followers elect a new leader in a few ticks instead of an
 * election timeout, in one term (ranked delays: no split vote), over many
 * seeds; without the hint no leader is elected that soon (the control). */
START_TEST(peer_down_elects_at_once)
{
	for (uint64_t seed = 1; seed <= 20; seed++) {
		for (int hint = 0; hint <= 1; hint++) {
			struct cluster c;
			uint64_t l, l2, t, t0;

			cl_init(&c, 3, seed);
			l = cl_wait_leader(&c, 1000);
			ck_assert(cl_wait_applied(&c, 1, 300));
			cl_run(&c, 10 * (seed % 5));    /* anywhere between heartbeats */
			t = raft_term(cl_raft(&c, l));
			cl_crash(&c, l);
			/* TCP delivers what the leader sent before its EOF. */
			for (bool sent = true; sent; ) {
				sent = false;
				for (size_t j = 0; j < c.n_net; j++)
					sent = sent || c.net[j].m.from == l;
				if (sent)
					cl_step(&c);
			}
			for (uint64_t id = 1; hint && id <= 3; id++)
				if (id != l)
					raft_peer_down(cl_raft(&c, id), l);
			t0 = c.now;
			l2 = cl_wait_leader(&c, 1000);
			ck_assert_uint_ne(l2, 0);
			if (hint) {
				ck_assert_uint_le(c.now - t0, 60);
				ck_assert_uint_eq(raft_term(cl_raft(&c, l2)), t + 1);
			} else {
				ck_assert_uint_gt(c.now - t0, 60);
			}
			CL_OK(&c);
			cl_free(&c);
		}
	}
}
END_TEST

struct prevote_watch {
	uint64_t from, n;
};

static bool watch_prevotes(struct cluster *c, struct raft_message *m, void *arg)
{
	struct prevote_watch *w = arg;
	(void)c;
	if (m->type == RAFT_MSG_PREVOTE && m->from == w->from)
		w->n++;
	return true;
}

/* A wrong hint (the leader lives, one follower lost a link to it) costs
 * nothing: the other follower and the leader refuse the pre-vote (lease),
 * the term and the leader stay.  A follower ranked after the other
 * campaigns only if the leader stays silent: heard again, it is back on its
 * usual timeout. */
START_TEST(peer_down_wrong_hint_harmless)
{
	struct cluster c;
	struct prevote_watch w = { 0, 0 };
	uint64_t l, f, t;

	cl_init(&c, 3, 11);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 300));
	t = raft_term(cl_raft(&c, l));
	f = l == 3 ? 2 : 3;             /* the follower of rank 1 */
	w.from = f;
	c.filter = watch_prevotes;
	c.filter_arg = &w;
	raft_peer_down(cl_raft(&c, f), l);
	ck_assert_uint_eq(raft_leader(cl_raft(&c, f)), 0);
	cl_run(&c, 1000);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_uint_eq(cl_leader(&c), l);
	ck_assert_uint_eq(raft_term(cl_raft(&c, l)), t);
	ck_assert_uint_eq(raft_leader(cl_raft(&c, f)), l);
	/* Rank 0 campaigns at once: refused, and nothing changes either. */
	f = l == 1 ? 2 : 1;
	raft_peer_down(cl_raft(&c, f), l);
	cl_run(&c, 1000);
	c.filter = NULL;
	ck_assert_uint_eq(cl_leader(&c), l);
	ck_assert_uint_eq(raft_term(cl_raft(&c, l)), t);
	ck_assert_uint_eq(raft_leader(cl_raft(&c, f)), l);
	/* Not about our leader, or not a follower: ignored. */
	raft_peer_down(cl_raft(&c, f), 6 - l - f);
	raft_peer_down(cl_raft(&c, l), f);
	ck_assert_uint_eq(raft_leader(cl_raft(&c, f)), l);
	ck_assert_int_eq(raft_role(cl_raft(&c, l)), RAFT_LEADER);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* CheckQuorum: a leader cut off from the majority cannot commit and steps
 * down within an election timeout; its entry is later overwritten. */
START_TEST(minority_leader_steps_down)
{
	struct cluster c;
	uint64_t l, l2, idx, t, pid, commit;
	struct raft *r;

	cl_init(&c, 5, 5);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 300));
	r = cl_raft(&c, l);
	t = raft_term(r);
	cl_isolate(&c, l, true);
	ck_assert_int_eq(cl_propose(&c, l, &idx), 0);
	pid = c.next_prop;
	commit = raft_commit_index(r);
	cl_run(&c, 150 + 10);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	ck_assert_uint_eq(raft_commit_index(r), commit);
	ck_assert_uint_eq(raft_term(r), t); /* stepping down keeps the term */
	ck_assert_int_eq(raft_propose(r, "x", 1, NULL, NULL), RAFT_ENOTLEADER);
	l2 = cl_wait_leader(&c, 1000);
	ck_assert_uint_ne(l2, l);
	ck_assert_int_eq(cl_propose(&c, l2, NULL), 0);
	cl_isolate(&c, l, false);
	ck_assert(cl_wait_applied(&c, raft_last_index(cl_raft(&c, l2)), 1000));
	/* The minority leader's entry never committed anywhere. */
	ck_assert_uint_eq(c.acked[pid], 0);
	ck_assert_uint_ne(raft_term_at(r, idx, NULL), t);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* PreVote (Dissertation §9.6): a follower partitioned for a long time does
 * not inflate its term and does not depose the leader on return. */
START_TEST(prevote_rejoin)
{
	struct cluster c;
	uint64_t l, f, t;

	cl_init(&c, 3, 6);
	l = cl_wait_leader(&c, 1000);
	t = raft_term(cl_raft(&c, l));
	f = l % 3 + 1;
	cl_isolate(&c, f, true);
	cl_run(&c, 5000);
	ck_assert_uint_eq(raft_term(cl_raft(&c, f)), t);
	ck_assert_int_eq(raft_role(cl_raft(&c, f)), RAFT_PRECANDIDATE);
	cl_isolate(&c, f, false);
	cl_run(&c, 1000);
	ck_assert_uint_eq(cl_leader(&c), l);
	ck_assert_uint_eq(raft_term(cl_raft(&c, l)), t);
	ck_assert_uint_eq(raft_leader(cl_raft(&c, f)), l);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* Milliseconds (in 10 ms steps, up to 1 s) until a leader other than old
 * is elected. */
static int
ms_to_new_leader(struct cluster *c, uint64_t old)
{
	int ms;

	for (ms = 0; ms < 1000; ms += 10) {
		if (cl_leader(c) != 0 && cl_leader(c) != old)
			break;
		cl_run(c, 10);
	}
	return ms;
}

/* The backoff ends with the leader it waited for: after an election, and
 * after a second one, an isolated leader is replaced within 600 ms, as
 * without the backoff (10 seeds, 150-500 ms each way with and without it:
 * the same figures). */
START_TEST(failover_after_backoff)
{
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct cluster c;
		uint64_t l, l2;

		cl_init(&c, 3, seed);
		l = cl_wait_leader(&c, 2000);
		ck_assert_uint_ne(l, 0);
		cl_isolate(&c, l, true);
		ck_assert_int_le(ms_to_new_leader(&c, l), 600);
		l2 = cl_leader(&c);
		cl_isolate(&c, l, false);
		cl_run(&c, 200);
		cl_isolate(&c, l2, true);
		ck_assert_int_le(ms_to_new_leader(&c, l2), 600);
		CL_OK(&c);
		cl_free(&c);
	}
}
END_TEST

/* A 3-server cluster without PreVote and CheckQuorum whose follower f is
 * cut off for 5 s with election_backoff_max = backoff_max; its leader's term
 * at the cut in *t.  The caller frees c. */
static void
isolate_a_follower(struct cluster *c, uint32_t backoff_max, uint64_t *f, uint64_t *t)
{
	struct raft_config cfg;
	uint64_t l;

	raft_config_init(&cfg);
	cfg.pre_vote = false;
	cfg.check_quorum = false;
	cfg.snapshot_threshold = 0;
	cfg.election_backoff_max = backoff_max;
	cl_init_cfg(c, 3, 6, &cfg);
	l = cl_wait_leader(c, 1000);
	*t = raft_term(cl_raft(c, l));
	*f = l % 3 + 1;
	cl_isolate(c, *f, true);
	cl_run(c, 5000);
}

/* Without PreVote the same rejoin disrupts the cluster (control case). */
START_TEST(no_prevote_rejoin_disrupts)
{
	struct cluster c;
	uint64_t f, t;

	isolate_a_follower(&c, 3, &f, &t);
	/* Terms begin after 150-600 ms (the timer running when it was cut
	 * off), then 150-300, 150-300, 300-600, 600-1200 and 1200-2400 ms:
	 * 4 to 7 terms in 5 s, not 20. */
	ck_assert_uint_ge(raft_term(cl_raft(&c, f)), t + 4);
	ck_assert_uint_le(raft_term(cl_raft(&c, f)), t + 7);
	cl_isolate(&c, f, false);
	ck_assert_uint_ne(cl_wait_leader(&c, 4000), 0);
	ck_assert_uint_gt(raft_term(cl_raft(&c, cl_leader(&c))), t + 2);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* election_backoff_max = 0: no backoff, the isolated server of the case
 * above begins a term every 150-300 ms (14 to 34 in 5 s, after the first
 * at 150-600 ms); 1: at most 2x (8 to 17). */
START_TEST(backoff_is_configured)
{
	static const struct { uint32_t max; uint64_t lo, hi; } want[] = { { 0, 14, 34 }, { 1, 8, 17 } };

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		struct cluster c;
		uint64_t f, t;

		isolate_a_follower(&c, want[i].max, &f, &t);
		ck_assert_uint_ge(raft_term(cl_raft(&c, f)), t + want[i].lo);
		ck_assert_uint_le(raft_term(cl_raft(&c, f)), t + want[i].hi);
		cl_free(&c);
	}
}
END_TEST

/* Leader lease: a server that heard from the leader recently ignores a
 * RequestVote with a higher term (Dissertation §4.2.3 / §9.6). */
START_TEST(lease_ignores_vote)
{
	struct cluster c;
	struct raft_message m;
	uint64_t l, f, t;
	struct raft *r;

	cl_init(&c, 3, 7);
	l = cl_wait_leader(&c, 1000);
	f = l % 3 + 1;
	r = cl_raft(&c, f);
	t = raft_term(r);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_VOTE;
	m.from = 6 - l - f; /* the third server */
	m.to = f;
	m.term = t + 5;
	m.index = 100;
	m.log_term = t + 4;
	ck_assert_int_eq(raft_step(r, &m), 0);
	ck_assert_uint_eq(raft_term(r), t);
	ck_assert_uint_eq(raft_vote(r), raft_vote(r)); /* unchanged */
	ck_assert_uint_eq(raft_leader(r), l);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

struct vote_watch {
	uint64_t voter;
	uint64_t grants;
};

static bool watch_grants(struct cluster *c, struct raft_message *m,
                         void *arg)
{
	struct vote_watch *w = arg;
	(void)c;
	if (m->from == w->voter && m->type == RAFT_MSG_VOTE_RESP && !m->reject)
		w->grants++;
	return true;
}

/* A vote granted but not yet durable is never sent: a crash before the
 * write completes cannot lead to two votes in one term. */
START_TEST(vote_not_sent_before_persisted)
{
	struct cluster c;
	struct vote_watch w;
	struct cl_node *n3;
	uint64_t l, x, t;

	cl_init(&c, 3, 8);
	l = cl_wait_leader(&c, 1000);
	ck_assert(cl_wait_applied(&c, 1, 300));
	t = raft_term(cl_raft(&c, l));
	/* Name the voter v and the would-be candidate x. */
	w.voter = l % 3 + 1;
	x = w.voter % 3 + 1;
	if (x == l)
		x = x % 3 + 1;
	w.grants = 0;
	c.filter = watch_grants;
	c.filter_arg = &w;
	n3 = cl_node(&c, w.voter);
	n3->persist_hold = true;
	cl_isolate(&c, l, true);
	/* x campaigns; v grants in memory but its storage never completes. */
	cl_run(&c, 1500);
	ck_assert_uint_gt(raft_term(cl_raft(&c, w.voter)), t);
	ck_assert_uint_eq(w.grants, 0);
	ck_assert_int_ne(raft_role(cl_raft(&c, x)), RAFT_LEADER);
	/* Crash v: the vote and term it held in memory are lost. */
	cl_crash(&c, w.voter);
	ck_assert_uint_eq(n3->hs.term, t);
	n3->persist_hold = false;
	cl_restart(&c, w.voter);
	ck_assert_uint_eq(raft_term(cl_raft(&c, w.voter)), t);
	cl_isolate(&c, l, false);
	ck_assert_uint_ne(cl_wait_leader(&c, 2000), 0);
	ck_assert_uint_gt(w.grants, 0);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* A candidate's own RequestVote waits for its term and self-vote to be
 * durable. */
START_TEST(candidate_waits_for_own_vote)
{
	struct cluster c;
	uint64_t l, f;
	struct cl_node *nd;
	size_t before;

	cl_init(&c, 3, 9);
	l = cl_wait_leader(&c, 1000);
	f = l % 3 + 1;
	nd = cl_node(&c, f);
	nd->persist_hold = true;
	cl_flush_net(&c);
	ck_assert_int_eq(raft_step(cl_raft(&c, f), &(struct raft_message){
		.type = RAFT_MSG_TIMEOUT_NOW, .from = l, .to = f,
		.term = raft_term(cl_raft(&c, l)) }), 0);
	ck_assert_int_eq(raft_role(cl_raft(&c, f)), RAFT_CANDIDATE);
	before = c.n_net;
	cl_process(&c, f);
	ck_assert_uint_eq(c.n_net, before); /* nothing left */
	nd->persist_hold = false;
	cl_complete_writes(&c, f, true);
	ck_assert_uint_eq(c.n_net, before + 2);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("raft-election");
	TCase *tc = tcase_create("election");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, first_election_3);
	tcase_add_test(tc, first_election_5);
	tcase_add_test(tc, single_node);
	tcase_add_test(tc, reelection_after_crash);
	tcase_add_test(tc, peer_down_elects_at_once);
	tcase_add_test(tc, peer_down_wrong_hint_harmless);
	tcase_add_test(tc, minority_leader_steps_down);
	tcase_add_test(tc, prevote_rejoin);
	tcase_add_test(tc, no_prevote_rejoin_disrupts);
	tcase_add_test(tc, failover_after_backoff);
	tcase_add_test(tc, backoff_is_configured);
	tcase_add_test(tc, lease_ignores_vote);
	tcase_add_test(tc, vote_not_sent_before_persisted);
	tcase_add_test(tc, candidate_waits_for_own_vote);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tap_run(suite());
}
