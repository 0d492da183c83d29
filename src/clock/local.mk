# owned by the clock module (src/clock/)
## ---- clock: SNTP sampler, filter, selection, peer skew, HLC (docs/clock.md) ----
noinst_LIBRARIES += libclock.a
libclock_a_SOURCES = \
	src/clock/clock.h \
	src/clock/ntp.c src/clock/ntp.h \
	src/clock/filter.c src/clock/filter.h \
	src/clock/select.c src/clock/select.h \
	src/clock/peer.c src/clock/peer.h \
	src/clock/hlc.c src/clock/hlc.h \
	src/clock/sampler.c src/clock/sampler.h
libclock_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
# libclock uses xmalloc and log from librcfscommon.
CLOCK_LIBS = libclock.a $(COMMON_LIBS) -lm
CLOCK_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS) -I$(top_srcdir)/t

clock_unit_tests = t/clock/test_ntp t/clock/test_hlc t/clock/test_sampler
check_PROGRAMS += $(clock_unit_tests)
TESTS += $(clock_unit_tests)
t_clock_test_ntp_SOURCES = t/clock/test_ntp.c
t_clock_test_ntp_CFLAGS = $(CLOCK_TEST_CFLAGS)
t_clock_test_ntp_LDADD = $(CLOCK_LIBS) $(CHECK_LIBS)
t_clock_test_hlc_SOURCES = t/clock/test_hlc.c
t_clock_test_hlc_CFLAGS = $(CLOCK_TEST_CFLAGS)
t_clock_test_hlc_LDADD = $(CLOCK_LIBS) $(CHECK_LIBS)
t_clock_test_sampler_SOURCES = t/clock/test_sampler.c
t_clock_test_sampler_CFLAGS = $(CLOCK_TEST_CFLAGS)
t_clock_test_sampler_LDADD = $(CLOCK_LIBS) $(CHECK_LIBS)

# Probe driven by the chronyd test (t/clock/chrony.sh).
check_PROGRAMS += t/clock/clock_probe
t_clock_clock_probe_SOURCES = t/clock/clock_probe.c
t_clock_clock_probe_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
t_clock_clock_probe_LDADD = $(CLOCK_LIBS)
TESTS += t/clock/chrony.sh
dist_check_SCRIPTS += t/clock/chrony.sh

EXTRA_DIST += docs/clock.md
