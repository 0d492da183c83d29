# owned by the chaos tests (t/chaos/)
## Jepsen-style chaos tests (docs/chaos.md): a seeded fault schedule against a
## local cluster while concurrent clients record a history for t/lincheck.

noinst_PROGRAMS += t/chaos/workload
t_chaos_workload_SOURCES = t/chaos/workload.c t/chaos/hist.c t/chaos/hist.h
t_chaos_workload_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
t_chaos_workload_LDADD = $(SODIUM_LIBS)

# A delaying TCP proxy for the latency faults (no netem here).
noinst_PROGRAMS += t/chaos/delayproxy
t_chaos_delayproxy_SOURCES = t/chaos/delayproxy.c
t_chaos_delayproxy_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
t_chaos_delayproxy_LDADD = librcfscommon.a $(LIBEVENT_LIBS)

check_PROGRAMS += t/chaos/test_hist
t_chaos_test_hist_SOURCES = t/chaos/test_hist.c t/chaos/hist.c t/chaos/hist.h
t_chaos_test_hist_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_chaos_test_hist_LDADD = $(CHECK_LIBS)

TESTS += t/chaos/test_hist t/chaos/delayproxy.sh t/chaos/slice.sh
dist_check_SCRIPTS += t/chaos/delayproxy.sh t/chaos/slice.sh t/chaos/run t/chaos/rcfsd-wrap
EXTRA_DIST += docs/chaos.md

# A long campaign: make chaos [CHAOS_ARGS='--iterations 20 --seed 7 --duration 60']
CHAOS_ARGS = --iterations 10 --duration 60
chaos: t/chaos/workload t/chaos/delayproxy t/lincheck/lincheck rcfsd rcfs
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	REDIS_SERVER='$(REDIS_SERVER)' $(SHELL) $(top_srcdir)/t/chaos/run $(CHAOS_ARGS)
.PHONY: chaos
