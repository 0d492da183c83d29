# owned by the lincheck module
## Linearizability checker for put/get/rm histories (docs/lincheck.md).

noinst_LIBRARIES += t/lincheck/liblincheck.a
t_lincheck_liblincheck_a_SOURCES = t/lincheck/lincheck_core.c t/lincheck/lincheck.h

noinst_PROGRAMS += t/lincheck/lincheck
t_lincheck_lincheck_SOURCES = t/lincheck/lincheck_main.c
t_lincheck_lincheck_LDADD = t/lincheck/liblincheck.a

check_PROGRAMS += t/lincheck/test_lincheck
t_lincheck_test_lincheck_SOURCES = t/lincheck/test_lincheck.c
t_lincheck_test_lincheck_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
t_lincheck_test_lincheck_LDADD = t/lincheck/liblincheck.a $(CHECK_LIBS)

TESTS += t/lincheck/test_lincheck t/lincheck/cli.sh
dist_check_SCRIPTS += t/lincheck/cli.sh
EXTRA_DIST += docs/lincheck.md \
	t/lincheck/histories/good.hist \
	t/lincheck/histories/stale-read.hist \
	t/lincheck/histories/malformed.hist
