# owned by the Raft core
## ---- Raft core: a pure state machine (docs/raft.md) ----
noinst_LIBRARIES += libraft.a
libraft_a_SOURCES = \
	src/raft/raft.h src/raft/raft_int.h \
	src/raft/raft.c src/raft/log.c src/raft/progress.c \
	src/raft/election.c src/raft/replication.c src/raft/snapshot.c \
	src/raft/membership.c src/raft/readindex.c

RAFT_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/t/raft
RAFT_TEST_LDADD = libraft.a $(CHECK_LIBS)
RAFT_FIXTURE = t/raft/cluster.c t/raft/cluster.h

raft_tests = t/raft/test_election t/raft/test_replication t/raft/test_snapshot \
	t/raft/test_membership t/raft/test_readindex t/raft/test_unit \
	t/raft/test_fuzzy
check_PROGRAMS += $(raft_tests)
TESTS += $(raft_tests)

t_raft_test_election_SOURCES = t/raft/test_election.c $(RAFT_FIXTURE)
t_raft_test_election_CFLAGS = $(RAFT_TEST_CFLAGS)
t_raft_test_election_LDADD = $(RAFT_TEST_LDADD)
t_raft_test_replication_SOURCES = t/raft/test_replication.c $(RAFT_FIXTURE)
t_raft_test_replication_CFLAGS = $(RAFT_TEST_CFLAGS)
t_raft_test_replication_LDADD = $(RAFT_TEST_LDADD)
t_raft_test_snapshot_SOURCES = t/raft/test_snapshot.c $(RAFT_FIXTURE)
t_raft_test_snapshot_CFLAGS = $(RAFT_TEST_CFLAGS)
t_raft_test_snapshot_LDADD = $(RAFT_TEST_LDADD)
t_raft_test_membership_SOURCES = t/raft/test_membership.c $(RAFT_FIXTURE)
t_raft_test_membership_CFLAGS = $(RAFT_TEST_CFLAGS)
t_raft_test_membership_LDADD = $(RAFT_TEST_LDADD)
t_raft_test_readindex_SOURCES = t/raft/test_readindex.c $(RAFT_FIXTURE)
t_raft_test_readindex_CFLAGS = $(RAFT_TEST_CFLAGS)
t_raft_test_readindex_LDADD = $(RAFT_TEST_LDADD)
t_raft_test_unit_SOURCES = t/raft/test_unit.c $(RAFT_FIXTURE)
t_raft_test_unit_CFLAGS = $(RAFT_TEST_CFLAGS)
t_raft_test_unit_LDADD = $(RAFT_TEST_LDADD)
t_raft_test_fuzzy_SOURCES = t/raft/test_fuzzy.c $(RAFT_FIXTURE)
t_raft_test_fuzzy_CFLAGS = $(RAFT_TEST_CFLAGS)
t_raft_test_fuzzy_LDADD = $(RAFT_TEST_LDADD)

## Long randomized run: RAFT_SEEDS seeds (default 50000), starting at RAFT_SEED_BASE.
RAFT_SEEDS ?= 50000
.PHONY: raft-fuzz-long
raft-fuzz-long: t/raft/test_fuzzy$(EXEEXT)
	RAFT_SEEDS=$(RAFT_SEEDS) RAFT_SEED_BASE=$${RAFT_SEED_BASE:-1000000} \
	  t/raft/test_fuzzy$(EXEEXT)

## Micro-benchmark (not a test).
EXTRA_PROGRAMS = contrib/bench/raft-bench
contrib_bench_raft_bench_SOURCES = contrib/bench/raft-bench.c $(RAFT_FIXTURE)
contrib_bench_raft_bench_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/t/raft -O2
contrib_bench_raft_bench_LDADD = libraft.a
CLEANFILES += contrib/bench/raft-bench$(EXEEXT)
.PHONY: bench-raft
bench-raft: contrib/bench/raft-bench$(EXEEXT)
	contrib/bench/raft-bench$(EXEEXT)

EXTRA_DIST += docs/raft.md t/raft/tap.h
