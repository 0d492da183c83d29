# owned by the http module (src/http/, src/util/metrics.*, t/http/)
## ---- http: metrics registry, /metrics /status /healthz and the dashboard (docs/metrics.md) ----
noinst_LIBRARIES += libhttp.a
libhttp_a_SOURCES = \
	src/util/metrics.c src/util/metrics.h \
	src/http/http.c src/http/http.h \
	src/http/json.c src/http/json.h
nodist_libhttp_a_SOURCES = src/http/dashboard_html.c
libhttp_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(SODIUM_CFLAGS)
# libhttp uses xmalloc and log from librcfscommon; evhttp from libevent_extra.
HTTP_LIBS = libhttp.a $(COMMON_LIBS)

# The dashboard page, embedded as a C string (no tools beyond sed).
BUILT_SOURCES += src/http/dashboard_html.c
CLEANFILES += src/http/dashboard_html.c
EXTRA_DIST += src/http/dashboard.html docs/metrics.md contrib/grafana/rcfs.json
src/http/dashboard_html.c: src/http/dashboard.html
	@$(MKDIR_P) src/http
	$(AM_V_GEN){ echo '/* Generated from src/http/dashboard.html: do not edit. */'; \
	  echo '#include "http/http.h"'; \
	  echo 'const char http_dashboard_html[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/	"/' -e 's/$$/\\n"/' \
	    $(srcdir)/src/http/dashboard.html; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@

HTTP_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) -I$(top_srcdir)/t

http_unit_tests = t/http/test_metrics t/http/test_http
check_PROGRAMS += $(http_unit_tests) t/http/http_testd
TESTS += $(http_unit_tests) t/http/dashboard.sh
dist_check_SCRIPTS += t/http/dashboard.sh
EXTRA_DIST += t/http/status3.json t/http/grafana_exprs.py
CLEANFILES += t/http/dashboard.png t/http/dashboard.dom.html t/http/metrics.txt t/http/promtool.out t/http/metrics-served.txt
t_http_test_metrics_SOURCES = t/http/test_metrics.c src/node/metrics.c
t_http_test_metrics_CFLAGS = $(HTTP_TEST_CFLAGS)
t_http_test_metrics_LDADD = $(HTTP_LIBS) $(CHECK_LIBS)
t_http_test_http_SOURCES = t/http/test_http.c
t_http_test_http_CFLAGS = $(HTTP_TEST_CFLAGS)
t_http_test_http_LDADD = $(HTTP_LIBS) $(CHECK_LIBS)
# Test server: canned /status (3 nodes), sample metrics (t/http/dashboard.sh).
t_http_http_testd_SOURCES = t/http/http_testd.c src/node/metrics.c
t_http_http_testd_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS)
t_http_http_testd_LDADD = $(HTTP_LIBS)
