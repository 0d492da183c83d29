## contrib/bench/local.mk: benchmarks (issue 9).  Included by Makefile.am.
## rcfs-load is built with the tree (so it keeps compiling) but only run by
## `make bench`, never by `make check`.  Benchmark a build configured WITHOUT
## --enable-sanitizers (docs/benchmarks.md).

noinst_PROGRAMS += contrib/bench/rcfs-load
contrib_bench_rcfs_load_SOURCES = contrib/bench/rcfs-load.c contrib/bench/lathist.c contrib/bench/lathist.h
contrib_bench_rcfs_load_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS)
contrib_bench_rcfs_load_LDADD = $(COMMON_LIBS) $(SODIUM_LIBS) -lm

## The histogram's percentiles: a cheap unit test (TAP).
check_PROGRAMS += contrib/bench/test-lathist
TESTS += contrib/bench/test-lathist
contrib_bench_test_lathist_SOURCES = contrib/bench/test_lathist.c contrib/bench/lathist.c contrib/bench/lathist.h
contrib_bench_test_lathist_LDADD = -lm

dist_noinst_SCRIPTS += contrib/bench/vs-etcd.sh contrib/bench/s3-vs-cli.sh contrib/bench/cluster-bench.sh contrib/bench/redis-ceiling.sh \
	contrib/bench/rebalance.sh
EXTRA_DIST += contrib/bench/etcdget/main.go

## make bench: rcfs and etcd side by side (docs/benchmarks.md).  BENCH_ARGS
## are passed to the script, e.g. make bench BENCH_ARGS='-r 1 -q'.
bench: contrib/bench/rcfs-load$(EXEEXT) rcfsd$(EXEEXT) rcfs$(EXEEXT)
	top_builddir='$(abs_top_builddir)' $(SHELL) $(top_srcdir)/contrib/bench/vs-etcd.sh $(BENCH_ARGS)
.PHONY: bench
