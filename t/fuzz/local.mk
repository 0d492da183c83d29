## ---- fuzzing (docs/security.md "hostile input"): t/fuzz/ ----
## `make check` replays t/fuzz/corpus/<target>/ through each target with the
## normal compiler; `make fuzz` builds the targets with clang's libFuzzer and
## runs each for FUZZ_SECONDS, keeping new inputs in fuzz-work/<target>/ and
## crashers in fuzz-work/crash-<target>-*. Copy those worth keeping into the
## corpus (crashers always, once fixed).

FUZZ_TARGETS = frame handshake request raft s3
FUZZ_REPLAYS = t/fuzz/replay_frame t/fuzz/replay_handshake t/fuzz/replay_request t/fuzz/replay_raft \
	t/fuzz/replay_s3
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)
noinst_PROGRAMS += t/fuzz/mkseeds
EXTRA_DIST += t/fuzz/fuzz.h t/fuzz/corpus

FUZZ_REPLAY_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS)
t_fuzz_replay_frame_SOURCES = t/fuzz/fuzz_frame.c t/fuzz/replay.c
t_fuzz_replay_frame_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"frame"'
t_fuzz_replay_frame_LDADD = $(COMMON_LIBS)
t_fuzz_replay_handshake_SOURCES = t/fuzz/fuzz_handshake.c t/fuzz/replay.c
t_fuzz_replay_handshake_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"handshake"'
t_fuzz_replay_handshake_LDADD = $(COMMON_LIBS)
t_fuzz_replay_request_SOURCES = t/fuzz/fuzz_request.c t/fuzz/replay.c
t_fuzz_replay_request_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"request"'
t_fuzz_replay_request_LDADD = $(NODE_LIBS)
t_fuzz_replay_raft_SOURCES = t/fuzz/fuzz_raft.c t/fuzz/replay.c
t_fuzz_replay_raft_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"raft"'
t_fuzz_replay_raft_LDADD = $(NODE_LIBS)
t_fuzz_replay_s3_SOURCES = t/fuzz/fuzz_s3.c t/fuzz/replay.c
t_fuzz_replay_s3_CFLAGS = $(FUZZ_REPLAY_CFLAGS) -DFUZZ_NAME='"s3"'
t_fuzz_replay_s3_LDADD = $(S3_LIBS)
t_fuzz_mkseeds_SOURCES = t/fuzz/mkseeds.c
t_fuzz_mkseeds_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
t_fuzz_mkseeds_LDADD = $(COMMON_LIBS)

## libFuzzer build: every library source compiled by clang into one archive
## (the linker takes only what a target needs), then one binary per target.
FUZZ_CC = clang
FUZZ_SECONDS = 60
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-I$(top_srcdir)/src -I$(top_srcdir) -I$(top_builddir) -I$(top_builddir)/proto -D_GNU_SOURCE \
	$(LIBEVENT_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS) $(HIREDIS_CFLAGS) $(LIBCONFIG_CFLAGS) \
	$(LIBCRYPTO_CFLAGS)
FUZZ_LIBSRC = src/s3/sigv4.c src/s3/xml.c src/net/frame.c src/net/auth.c src/net/ratelimit.c src/util/xmalloc.c \
	src/util/name.c src/util/log.c src/util/sha256.c src/fs/meta.c src/fs/chunk.c src/store/store.c src/util/metrics.c \
	src/util/config.c src/node/raftwire.c \
	$(libraft_a_SOURCES)
FUZZ_LIBS = $(LIBEVENT_LIBS) $(PROTOBUF_C_LIBS) $(SODIUM_LIBS) $(HIREDIS_LIBS) $(LIBCONFIG_LIBS) $(LIBCRYPTO_LIBS) -lm

fuzz-build: $(BUILT_SOURCES)
	@$(MKDIR_P) fuzz-work/obj
	@set -e; objs=""; \
	for s in $(filter %.c,$(FUZZ_LIBSRC)) proto/rcfs.pb-c.c; do \
	  src=$(top_srcdir)/$$s; [ -f "$$s" ] && src=$$s; \
	  o=fuzz-work/obj/$$(echo $$s | tr / _ | sed 's/\.c$$/.o/'); \
	  echo "  FUZZCC   $$s"; $(FUZZ_CC) $(FUZZ_CFLAGS) -c $$src -o $$o; objs="$$objs $$o"; \
	done; rm -f fuzz-work/libfuzzdeps.a; $(AR) cr fuzz-work/libfuzzdeps.a $$objs
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "  FUZZLD   fuzz-work/fuzz_$$t"; \
	  $(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(top_srcdir)/t/fuzz/fuzz_$$t.c \
	    fuzz-work/libfuzzdeps.a $(FUZZ_LIBS) -o fuzz-work/fuzz_$$t; \
	done

fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	  $(MKDIR_P) fuzz-work/$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  ASAN_OPTIONS=detect_leaks=1 fuzz-work/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -artifact_prefix=fuzz-work/crash-$$t- -print_final_stats=1 \
	    fuzz-work/$$t $(top_srcdir)/t/fuzz/corpus/$$t 2>&1 | tail -n 12; \
	done

clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz-work
.PHONY: fuzz fuzz-build clean-fuzz
