# owned by the s3 module (src/s3/, t/s3/)
## ---- s3: the S3-compatible gateway on evhttp (docs/s3.md) ----
noinst_LIBRARIES += libs3.a
libs3_a_SOURCES = \
	src/s3/s3.c src/s3/s3.h src/s3/s3int.h \
	src/s3/bucket.c src/s3/object.c src/s3/multipart.c src/s3/api.c \
	src/s3/sigv4.c src/s3/sigv4.h \
	src/s3/checksum.c src/s3/checksum.h \
	src/s3/xml.c src/s3/xml.h
libs3_a_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(SODIUM_CFLAGS) $(PROTOBUF_C_CFLAGS) $(LIBCRYPTO_CFLAGS)
# libs3 uses xmalloc and log from librcfscommon, evhttp from libevent_extra.
S3_LIBS = libs3.a libhttp.a $(COMMON_LIBS)
S3_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS) $(SODIUM_CFLAGS) $(PROTOBUF_C_CFLAGS) -I$(top_srcdir)/t

s3_unit_tests = t/s3/test_sigv4 t/s3/test_xml t/s3/test_checksum
check_PROGRAMS += $(s3_unit_tests)
TESTS += $(s3_unit_tests)
t_s3_test_sigv4_SOURCES = t/s3/test_sigv4.c
t_s3_test_sigv4_CFLAGS = $(S3_TEST_CFLAGS)
t_s3_test_sigv4_LDADD = $(S3_LIBS) $(CHECK_LIBS)
t_s3_test_xml_SOURCES = t/s3/test_xml.c
t_s3_test_xml_CFLAGS = $(S3_TEST_CFLAGS)
t_s3_test_xml_LDADD = $(S3_LIBS) $(CHECK_LIBS)
t_s3_test_checksum_SOURCES = t/s3/test_checksum.c
t_s3_test_checksum_CFLAGS = $(S3_TEST_CFLAGS)
t_s3_test_checksum_LDADD = $(S3_LIBS) $(CHECK_LIBS)
EXTRA_DIST += t/s3/errors.py t/s3/vhost_gc.py t/s3/tap.py t/s3/trailer.py docs/s3.md
