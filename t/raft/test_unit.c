/* Unit tests of the API contract: configuration codec, argument checks,
 * the Ready/advance/persisted protocol and what it holds back. */
#include <string.h>

#include "tap.h"

static struct raft *make(uint64_t id, int voters)
{
	struct raft_config cfg;
	struct raft_conf conf;
	struct raft_restore rs;
	struct raft *r;
	int i;

	raft_config_init(&cfg);
	cfg.id = id;
	cfg.seed = 1;
	memset(&conf, 0, sizeof(conf));
	for (i = 0; i < voters; i++) {
		conf.servers[i].id = (uint64_t)i + 1;
		conf.servers[i].voter = true;
	}
	conf.n = (uint32_t)voters;
	memset(&rs, 0, sizeof(rs));
	rs.bootstrap = &conf;
	ck_assert_int_eq(raft_new(&cfg, &rs, &r), 0);
	return r;
}

START_TEST(conf_codec)
{
	struct raft_conf a, b;
	uint8_t buf[512], v1[4 + 2 * 9], v2[4 + 17];
	size_t n;

	memset(&a, 0, sizeof(a));
	a.n = 3;
	a.cluster_id = 0x0102030405060708ull;
	a.servers[0].id = 1;
	a.servers[0].voter = true;
	strcpy(a.servers[0].addr, "10.0.0.1:7000");
	a.servers[1].id = 0x1122334455667788ull;
	a.servers[1].voter = false;
	a.servers[1].incarnation = 0xa5a5a5a5deadbeefull;
	a.servers[1].tag = 0x82;
	a.servers[2].id = 7;
	a.servers[2].voter = true;
	a.n_removed = 2;
	a.removed[0] = 4;
	a.removed[1] = 9;
	n = raft_conf_encode(&a, buf, sizeof(buf));
	ck_assert_uint_eq(n, raft_conf_encoded_len(&a));
	ck_assert_uint_eq(n, 12 + 3 * 19 + 13 + 4 + 2 * 8);
	ck_assert_uint_eq(raft_conf_encode(&a, buf, n - 1), 0);
	ck_assert_int_eq(raft_conf_decode(buf, n, &b), 0);
	ck_assert_uint_eq(b.n, 3);
	ck_assert_uint_eq(b.cluster_id, 0x0102030405060708ull);
	ck_assert_uint_eq(b.servers[1].id, 0x1122334455667788ull);
	ck_assert_uint_eq(b.servers[1].incarnation, 0xa5a5a5a5deadbeefull);
	ck_assert_uint_eq(b.servers[1].tag, 0x82);
	ck_assert_str_eq(b.servers[0].addr, "10.0.0.1:7000");
	ck_assert_str_eq(b.servers[2].addr, "");
	ck_assert_uint_eq(b.servers[0].incarnation, 0);
	ck_assert(!b.servers[1].voter);
	ck_assert(raft_conf_is_voter(&b, 7));
	ck_assert_int_eq(raft_conf_find(&b, 9), -1);
	ck_assert(raft_conf_was_removed(&b, 9));
	ck_assert(!raft_conf_was_removed(&b, 7));
	ck_assert_int_eq(raft_conf_decode(buf, n - 1, &b), RAFT_ECORRUPT);
	ck_assert_int_eq(raft_conf_decode(buf, n + 1, &b), RAFT_ECORRUPT);
	buf[12 + 18] = 200;             /* address longer than the record */
	ck_assert_int_eq(raft_conf_decode(buf, n, &b), RAFT_ECORRUPT);
	buf[12 + 18] = 13;
	memset(buf + 12 + 19 + 13, 0, 8);
	buf[12 + 19 + 13] = 1;          /* duplicate id 1 */
	ck_assert_int_eq(raft_conf_decode(buf, n, &b), RAFT_ECORRUPT);
	/* The form with incarnations and no addresses (v2) still decodes. */
	memset(v2, 0, sizeof(v2));
	v2[0] = 1;
	v2[4] = 3; v2[12] = 1; v2[13] = 0x42;   /* id 3, voter, incarnation 0x42 */
	ck_assert_int_eq(raft_conf_decode(v2, sizeof(v2), &b), 0);
	ck_assert_uint_eq(b.n, 1);
	ck_assert_uint_eq(b.servers[0].incarnation, 0x42);
	ck_assert_str_eq(b.servers[0].addr, "");
	ck_assert_uint_eq(b.cluster_id, 0);
	/* The form written before incarnations (9 bytes a server) still
	 * decodes, as the founding incarnation. */
	memset(v1, 0, sizeof(v1));
	v1[0] = 2;
	v1[4] = 5; v1[12] = 1;          /* id 5, voter */
	v1[13] = 6; v1[21] = 0;         /* id 6, learner */
	ck_assert_int_eq(raft_conf_decode(v1, sizeof(v1), &b), 0);
	ck_assert_uint_eq(b.n, 2);
	ck_assert(raft_conf_is_voter(&b, 5));
	ck_assert(!raft_conf_is_voter(&b, 6));
	ck_assert_uint_eq(b.servers[0].incarnation, 0);
	ck_assert_uint_eq(b.servers[1].incarnation, 0);
}
END_TEST

START_TEST(new_validates)
{
	struct raft_config cfg;
	struct raft_restore rs;
	struct raft_entry e[2];
	struct raft *r;

	raft_config_init(&cfg);
	ck_assert_int_eq(raft_new(&cfg, NULL, &r), RAFT_EINVAL); /* id 0 */
	cfg.id = 1;
	cfg.election_max_ms = cfg.election_min_ms;
	ck_assert_int_eq(raft_new(&cfg, NULL, &r), RAFT_EINVAL);
	raft_config_init(&cfg);
	cfg.id = 1;
	memset(&rs, 0, sizeof(rs));
	memset(e, 0, sizeof(e));
	e[0].index = 1;
	e[0].term = 1;
	e[1].index = 3; /* gap */
	e[1].term = 1;
	rs.hs.term = 1;
	rs.entries = e;
	rs.n_entries = 2;
	ck_assert_int_eq(raft_new(&cfg, &rs, &r), RAFT_EINVAL);
	e[1].index = 2;
	rs.hs.commit = 5; /* beyond the log */
	ck_assert_int_eq(raft_new(&cfg, &rs, &r), RAFT_EINVAL);
	rs.hs.commit = 2;
	ck_assert_int_eq(raft_new(&cfg, &rs, &r), 0);
	ck_assert_uint_eq(raft_last_index(r), 2);
	ck_assert_uint_eq(raft_commit_index(r), 2);
	ck_assert_int_eq(raft_role(r), RAFT_FOLLOWER);
	raft_free(r);
}
END_TEST

/* The commit index alone asks for no write: it rides along with the next
 * one (etcd's MustSync), and a restart takes max(stored commit, applied). */
START_TEST(commit_rides_along)
{
	struct raft *r = make(2, 3);
	struct raft_config cfg;
	struct raft_restore rs;
	struct raft_message m;
	struct raft_entry e[3];
	struct raft_ready rd;
	uint64_t seq;

	memset(&m, 0, sizeof(m));
	memset(e, 0, sizeof(e));
	for (int i = 0; i < 3; i++) {
		e[i].term = 1;
		e[i].index = (uint64_t)i + 1;
		e[i].type = RAFT_ENTRY_NOOP;
	}
	m.type = RAFT_MSG_APPEND;
	m.from = 1;
	m.to = 2;
	m.term = 1;
	m.entries = e;
	m.n_entries = 2;
	ck_assert_int_eq(raft_step(r, &m), 0);
	ck_assert_int_eq(raft_ready(r, &rd), 0);
	ck_assert(rd.hs_changed);
	ck_assert_uint_eq(rd.hs.commit, 0);
	seq = rd.seq;
	raft_advance(r, &rd);
	ck_assert_int_eq(raft_persisted(r, seq), 0);
	ck_assert_int_eq(raft_ready(r, &rd), 0);
	raft_advance(r, &rd);
	/* The leader's heartbeat moves commit to 2: apply, answer, no write. */
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_HEARTBEAT;
	m.from = 1;
	m.to = 2;
	m.term = 1;
	m.commit = 2;
	ck_assert_int_eq(raft_step(r, &m), 0);
	ck_assert_uint_eq(raft_commit_index(r), 2);
	ck_assert_int_eq(raft_ready(r, &rd), 0);
	ck_assert_uint_eq(rd.seq, 0);
	ck_assert(!rd.hs_changed);
	ck_assert_uint_eq(rd.n_committed, 2);
	ck_assert_uint_eq(rd.n_messages, 1);
	raft_advance(r, &rd);
	raft_applied(r, 2);
	ck_assert(!raft_has_ready(r));
	/* The next entry's write carries it. */
	m.type = RAFT_MSG_APPEND;
	m.index = 2;
	m.log_term = 1;
	m.entries = e + 2;
	m.n_entries = 1;
	ck_assert_int_eq(raft_step(r, &m), 0);
	ck_assert_int_eq(raft_ready(r, &rd), 0);
	ck_assert_uint_ne(rd.seq, 0);
	ck_assert(rd.hs_changed);
	ck_assert_uint_eq(rd.hs.commit, 2);
	raft_advance(r, &rd);
	raft_free(r);

	/* Restart with a stored commit behind what was applied. */
	raft_config_init(&cfg);
	cfg.id = 2;
	memset(&rs, 0, sizeof(rs));
	rs.hs.term = 1;
	rs.hs.commit = 1;
	rs.applied = 2;
	rs.entries = e;
	rs.n_entries = 3;
	ck_assert_int_eq(raft_new(&cfg, &rs, &r), 0);
	ck_assert_uint_eq(raft_commit_index(r), 2);
	raft_free(r);
}
END_TEST

START_TEST(errors_and_names)
{
	int i;
	for (i = 0; i < RAFT_ERROR_MAX; i++)
		ck_assert_str_ne(raft_strerror(i), "unknown error");
	ck_assert_str_eq(raft_strerror(-1), "unknown error");
	ck_assert_str_eq(raft_role_name(RAFT_LEADER), "leader");
	ck_assert_str_eq(raft_msg_type_name(RAFT_MSG_TIMEOUT_NOW),
	                 "timeout_now");
}
END_TEST

START_TEST(follower_refuses)
{
	struct raft *r = make(1, 3);
	struct raft_message m;

	ck_assert_int_eq(raft_propose(r, "x", 1, NULL, NULL), RAFT_ENOTLEADER);
	ck_assert_int_eq(raft_read_index(r, "x", 1), RAFT_ENOTLEADER);
	ck_assert_int_eq(raft_transfer_leadership(r, 2), RAFT_ENOTLEADER);
	ck_assert_int_eq(raft_change_membership(r, RAFT_CONF_REMOVE, 2, NULL),
	                 RAFT_ENOTLEADER);
	ck_assert_int_eq(raft_persisted(r, 1), RAFT_ESTATE);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_HEARTBEAT;
	m.from = 2;
	m.to = 3; /* not us */
	ck_assert_int_eq(raft_step(r, &m), RAFT_EINVAL);
	m.to = 1;
	m.type = 99;
	ck_assert_int_eq(raft_step(r, &m), RAFT_EINVAL);
	raft_free(r);
}
END_TEST

/* Raft Figure 2: the AppendEntries ack leaves only after the entries are
 * durable; Ready entries carry "delete from entries[0].index, append". */
START_TEST(append_ack_held_until_persisted)
{
	struct raft *r = make(2, 3);
	struct raft_message m;
	struct raft_entry e[2];
	struct raft_ready rd;
	uint64_t seq;

	memset(&m, 0, sizeof(m));
	memset(e, 0, sizeof(e));
	e[0].term = 1; e[0].index = 1; e[0].type = RAFT_ENTRY_NOOP;
	e[1].term = 1; e[1].index = 2; e[1].data = (uint8_t *)"ab"; e[1].len = 2;
	m.type = RAFT_MSG_APPEND;
	m.from = 1;
	m.to = 2;
	m.term = 1;
	m.entries = e;
	m.n_entries = 2;
	m.commit = 1;
	ck_assert_int_eq(raft_step(r, &m), 0);
	ck_assert(raft_has_ready(r));
	ck_assert_int_eq(raft_ready(r, &rd), 0);
	ck_assert_uint_ne(rd.seq, 0);
	ck_assert(rd.hs_changed);
	ck_assert_uint_eq(rd.hs.term, 1);
	ck_assert_uint_eq(rd.n_entries, 2);
	ck_assert_uint_eq(rd.entries[0].index, 1);
	ck_assert_mem_eq(rd.entries[1].data, "ab", 2);
	ck_assert_uint_eq(rd.n_messages, 0); /* ack held */
	ck_assert_uint_eq(rd.n_committed, 0); /* not durable locally yet */
	seq = rd.seq;
	raft_advance(r, &rd);
	ck_assert(!raft_has_ready(r));
	ck_assert_int_eq(raft_persisted(r, seq), 0);
	ck_assert_int_eq(raft_ready(r, &rd), 0);
	ck_assert_uint_eq(rd.seq, 0);
	ck_assert_uint_eq(rd.n_messages, 1);
	ck_assert_uint_eq(rd.messages[0].type, RAFT_MSG_APPEND_RESP);
	ck_assert(!rd.messages[0].reject);
	ck_assert_uint_eq(rd.messages[0].index, 2);
	ck_assert_uint_eq(rd.n_committed, 1);
	raft_advance(r, &rd);
	raft_applied(r, 1);
	/* A conflicting append truncates: the Ready starts at the conflict. */
	e[0].term = 2; e[0].index = 2; e[0].data = NULL; e[0].len = 0;
	m.term = 2;
	m.index = 1;
	m.log_term = 1;
	m.n_entries = 1;
	ck_assert_int_eq(raft_step(r, &m), 0);
	ck_assert_int_eq(raft_ready(r, &rd), 0);
	ck_assert_uint_eq(rd.n_entries, 1);
	ck_assert_uint_eq(rd.entries[0].index, 2);
	ck_assert_uint_eq(rd.entries[0].term, 2);
	raft_advance(r, &rd);
	raft_free(r);
}
END_TEST

/* A rejected append carries the fast-backtracking hint. */
START_TEST(reject_hint)
{
	struct raft *r = make(2, 3);
	struct raft_message m;
	struct raft_ready rd;

	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND;
	m.from = 1;
	m.to = 2;
	m.term = 3;
	m.index = 10;
	m.log_term = 3;
	ck_assert_int_eq(raft_step(r, &m), 0);
	ck_assert_int_eq(raft_ready(r, &rd), 0);
	ck_assert_uint_eq(rd.n_messages, 1);
	ck_assert(rd.messages[0].reject);
	ck_assert_uint_eq(rd.messages[0].index, 10);
	ck_assert_uint_eq(rd.messages[0].reject_hint, 0);
	ck_assert_uint_eq(rd.messages[0].hint_term, 0);
	raft_advance(r, &rd);
	raft_free(r);
}
END_TEST

/* A node that is not in any configuration never campaigns. */
START_TEST(unconfigured_never_campaigns)
{
	struct raft_config cfg;
	struct raft *r;
	int i;

	raft_config_init(&cfg);
	cfg.id = 9;
	ck_assert_int_eq(raft_new(&cfg, NULL, &r), 0);
	for (i = 0; i < 100; i++)
		raft_tick(r, 100);
	ck_assert_uint_eq(raft_term(r), 0);
	ck_assert(!raft_has_ready(r));
	raft_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("raft-unit");
	TCase *tc = tcase_create("unit");
	tcase_add_test(tc, conf_codec);
	tcase_add_test(tc, new_validates);
	tcase_add_test(tc, errors_and_names);
	tcase_add_test(tc, follower_refuses);
	tcase_add_test(tc, append_ack_held_until_persisted);
	tcase_add_test(tc, commit_rides_along);
	tcase_add_test(tc, reject_hint);
	tcase_add_test(tc, unconfigured_never_campaigns);
	suite_add_tcase(s, tc);
	return tap_run(s);
}
