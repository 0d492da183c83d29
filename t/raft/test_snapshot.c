/* Snapshots and log compaction, Raft §7: the core asks for a snapshot past
 * the threshold, compacts, and sends InstallSnapshot in chunks to a
 * follower behind the log start, also while entries keep arriving. */
#include <string.h>

#include "tap.h"

struct chunks {
	uint64_t chunks, max_len;
};

static bool count_chunks(struct cluster *c, struct raft_message *m, void *arg)
{
	struct chunks *k = arg;
	(void)c;
	if (m->type == RAFT_MSG_SNAPSHOT) {
		k->chunks++;
		if (m->data_len > k->max_len)
			k->max_len = m->data_len;
	}
	return true;
}

/* Proposes n entries to leader l and waits until every node applied them;
 * *idx = the last index. */
static void propose_applied(struct cluster *c, uint64_t l, int n, uint64_t *idx)
{
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(cl_propose(c, l, idx), 0);
	ck_assert(cl_wait_applied(c, *idx, 1000));
}

static void setup(struct cluster *c, uint64_t seed)
{
	struct raft_config cfg;

	raft_config_init(&cfg);
	cfg.snapshot_threshold = 10;
	cfg.snapshot_trailing = 2;
	cfg.snapshot_chunk_bytes = 5; /* 16-byte snapshots: 4 chunks */
	cl_init_cfg(c, 3, seed, &cfg);
}

START_TEST(compaction_and_install)
{
	struct cluster c;
	struct chunks k;
	uint64_t l, f, idx = 0;
	struct raft *rl;

	setup(&c, 21);
	l = cl_wait_leader(&c, 1000);
	f = l % 3 + 1;
	cl_crash(&c, f);
	propose_applied(&c, l, 50, &idx);
	rl = cl_raft(&c, l);
	/* Asked at 10 applied entries past the last snapshot; compacted to
	 * the snapshot index minus the trailing entries. */
	ck_assert_uint_ge(raft_snapshot_index(rl), 40);
	ck_assert_uint_eq(raft_first_index(rl), raft_snapshot_index(rl) - 2 + 1);
	ck_assert_uint_ge(c.snaps_taken, 2); /* each live server */
	memset(&k, 0, sizeof(k));
	c.filter = count_chunks;
	c.filter_arg = &k;
	cl_restart(&c, f);
	ck_assert(cl_wait_applied(&c, idx, 1000));
	ck_assert_uint_eq(c.snaps_installed, 1);
	ck_assert_uint_eq(k.chunks, 4);
	ck_assert_uint_eq(k.max_len, 5);
	ck_assert_uint_gt(raft_snapshot_index(cl_raft(&c, f)), 0);
	ck_assert_uint_eq(cl_node(&c, f)->sm_hash, cl_node(&c, l)->sm_hash);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* A snapshot carries the whole configuration, however large: every server
 * with a long address, and removed ids (the v3 encoding). */
START_TEST(install_with_a_large_configuration)
{
	struct cluster c;
	struct raft_server s;
	uint64_t l, f, idx = 0, id, n;
	const struct raft_conf *conf;
	int pos;

	setup(&c, 24);
	l = cl_wait_leader(&c, 1000);
	f = l % 3 + 1;
	/* Learners with long addresses, two of them removed again. */
	for (n = 0; n < 4; n++) {
		id = cl_add_node(&c);
		memset(&s, 0, sizeof(s));
		s.id = id;
		memset(s.addr, 'a' + (int)n, RAFT_ADDR_MAX - 1);
		while (raft_change_server(cl_raft(&c, l), RAFT_CONF_ADD_LEARNER, &s,
		                          &idx) == RAFT_ECONFPENDING)
			cl_run(&c, 20);
		cl_process(&c, l);
		ck_assert(cl_wait_applied(&c, idx, 1000));
		if (n < 2) {
			while (raft_change_membership(cl_raft(&c, l), RAFT_CONF_REMOVE, id,
			                              &idx) == RAFT_ECONFPENDING)
				cl_run(&c, 20);
			cl_process(&c, l);
			ck_assert(cl_wait_applied(&c, idx, 1000));
		}
	}
	cl_crash(&c, f);
	propose_applied(&c, l, 50, &idx);
	ck_assert_uint_ge(raft_snapshot_index(cl_raft(&c, l)), 40);
	cl_restart(&c, f);
	ck_assert(cl_wait_applied(&c, idx, 2000));
	ck_assert_uint_ge(c.snaps_installed, 1);
	conf = raft_configuration(cl_raft(&c, f));
	ck_assert_uint_eq(conf->n, 5);
	ck_assert_uint_eq(conf->n_removed, 2);
	pos = raft_conf_find(conf, id);
	ck_assert_int_ge(pos, 0);
	ck_assert_uint_eq(strlen(conf->servers[pos].addr), RAFT_ADDR_MAX - 1);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

START_TEST(install_while_entries_arrive)
{
	struct cluster c;
	uint64_t l, f, i, idx = 0;

	setup(&c, 22);
	c.delay_min = 5;
	c.delay_max = 25; /* reordering */
	l = cl_wait_leader(&c, 1000);
	f = l % 3 + 1;
	cl_crash(&c, f);
	propose_applied(&c, l, 40, &idx);
	cl_restart(&c, f);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(cl_propose(&c, l, &idx), 0);
		cl_step(&c);
	}
	ck_assert(cl_wait_applied(&c, idx, 2000));
	ck_assert_uint_ge(c.snaps_installed, 1);
	ck_assert_uint_eq(cl_node(&c, f)->sm_index, idx);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST

/* A node restarts from its own snapshot plus the log after it.  lazy: the
 * snapshot was taken by raft_compact() (no bytes), so the node starts from
 * its durable state machine at the snapshot index. */
static void
restart_test(uint64_t seed, bool lazy)
{
	struct cluster c;
	uint64_t l, idx = 0;
	struct cl_node *nd;

	setup(&c, seed);
	c.lazy_snapshots = lazy;
	l = cl_wait_leader(&c, 1000);
	propose_applied(&c, l, 25, &idx);
	nd = cl_node(&c, l);
	ck_assert_uint_gt(nd->snap.index, 0);
	if (lazy)
		ck_assert_ptr_null(nd->snap_data);
	cl_crash(&c, l);
	cl_restart(&c, l);
	ck_assert_uint_eq(raft_snapshot_index(cl_raft(&c, l)), nd->snap.index);
	ck_assert_uint_eq(nd->sm_index, nd->snap.index);
	ck_assert_uint_ne(cl_wait_leader(&c, 1000), 0);
	ck_assert_int_eq(cl_propose(&c, cl_leader(&c), &idx), 0);
	ck_assert(cl_wait_applied(&c, idx, 1000));
	ck_assert_uint_eq(nd->sm_index, idx);
	CL_OK(&c);
	cl_free(&c);
}

START_TEST(restart_from_snapshot)
{
	restart_test(23, false);
}
END_TEST

START_TEST(lazy_restart)
{
	restart_test(25, true);
}
END_TEST

/* Compaction without copying the state machine (raft_compact): no bytes
 * are taken until a follower needs InstallSnapshot; then the core asks for
 * them (Ready snapshot_data_wanted) and sends them. */
START_TEST(lazy_compaction_and_install)
{
	struct cluster c;
	uint64_t l, f, idx = 0, asked;
	struct raft *rl;

	setup(&c, 24);
	c.lazy_snapshots = true;
	l = cl_wait_leader(&c, 1000);
	f = l % 3 + 1;
	propose_applied(&c, l, 50, &idx);
	rl = cl_raft(&c, l);
	ck_assert_uint_ge(raft_snapshot_index(rl), 40);
	ck_assert_uint_eq(raft_first_index(rl), raft_snapshot_index(rl) - 2 + 1);
	ck_assert_uint_ge(c.snaps_taken, 3);
	/* every follower kept up: nobody needed bytes */
	ck_assert_uint_eq(c.snaps_data_asked, 0);
	ck_assert_ptr_null(cl_node(&c, l)->snap_data);

	cl_crash(&c, f);
	propose_applied(&c, l, 50, &idx);
	asked = c.snaps_data_asked;
	cl_restart(&c, f);
	ck_assert(cl_wait_applied(&c, idx, 2000));
	ck_assert_uint_eq(c.snaps_installed, 1);
	ck_assert_uint_ge(c.snaps_data_asked, asked > 0 ? asked : 1);
	ck_assert_uint_eq(cl_node(&c, f)->sm_index, idx);
	ck_assert_uint_eq(cl_node(&c, f)->sm_hash, cl_node(&c, l)->sm_hash);
	CL_OK(&c);
	cl_free(&c);
}
END_TEST


int main(void)
{
	Suite *s = suite_create("raft-snapshot");
	TCase *tc = tcase_create("snapshot");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, compaction_and_install);
	tcase_add_test(tc, install_while_entries_arrive);
	tcase_add_test(tc, install_with_a_large_configuration);
	tcase_add_test(tc, restart_from_snapshot);
	tcase_add_test(tc, lazy_compaction_and_install);
	tcase_add_test(tc, lazy_restart);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
