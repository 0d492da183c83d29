## ---- security tests (docs/security.md): t/security/ ----
check_PROGRAMS += t/security/hostile
t_security_hostile_SOURCES = t/security/hostile.c
t_security_hostile_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS)
t_security_hostile_LDADD = $(COMMON_LIBS)
TESTS += t/security/hostile.sh t/security/dissector.sh t/security/auth_unit
dist_check_SCRIPTS += t/security/hostile.sh t/security/dissector.sh
check_PROGRAMS += t/security/auth_unit
t_security_auth_unit_SOURCES = t/security/auth_unit.c
t_security_auth_unit_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS)
t_security_auth_unit_LDADD = $(COMMON_LIBS) $(CHECK_LIBS)
