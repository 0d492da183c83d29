#!/bin/sh
# Tree hygiene (TAP): house rules that a grep can check.
cd "${top_srcdir:-.}" || exit 1
n=0; fail=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
notok() { n=$((n+1)); fail=1; echo "not ok $n - $1"; }

# House rule 1: the Raft core is pure (no event loop, redis, sockets or clocks).
bad=$(grep -lE '#[[:space:]]*include[[:space:]]*[<"](event2/|event\.h|hiredis|sys/socket\.h|netinet/|arpa/|time\.h|sys/time\.h|unistd\.h)' src/raft/*.c src/raft/*.h 2>/dev/null)
if [ -z "$bad" ]; then ok "src/raft includes no event2, hiredis, socket or time headers"
else notok "src/raft impure: $bad"; fi

# No trailing whitespace in sources.
bad=$(grep -lE '[[:space:]]+$' $(find src client t proto -name '*.[ch]' -o -name '*.proto' -o -name '*.sh' | grep -v pb-c) 2>/dev/null)
if [ -z "$bad" ]; then ok "no trailing whitespace"; else notok "trailing whitespace in: $bad"; fi

# The layers of ../shared/ARCHITECTURE.md point one way:
#   node -> s3 -> fs/raft/store/clock/net/http -> util.
# Nothing below node/ includes a node/ header; util/ only util/; the
# adapters (store, net, clock, http) no fs/ header; the S3 gateway reaches
# the cluster only through its backend (no fs/, raft/ or store/ header).
bad=$(grep -lE '#[[:space:]]*include[[:space:]]*"node/' $(find src/fs src/raft src/store src/clock src/net src/http src/util src/s3 -name '*.[ch]') 2>/dev/null)
if [ -z "$bad" ]; then ok "only src/node and src/rcfsd.c include node/ headers"
else notok "node/ included from below: $bad"; fi
bad=$(grep -lE '#[[:space:]]*include[[:space:]]*"(fs|node|raft|store|clock|net|http)/' src/util/*.[ch] 2>/dev/null)
if [ -z "$bad" ]; then ok "src/util includes only util/ headers"; else notok "src/util reaches up: $bad"; fi
bad=$(grep -lE '#[[:space:]]*include[[:space:]]*"fs/' $(find src/store src/clock src/net src/http -name '*.[ch]') 2>/dev/null)
if [ -z "$bad" ]; then ok "store, clock, net and http include no fs/ header"
else notok "fs/ included from an adapter: $bad"; fi
bad=$(grep -lE '#[[:space:]]*include[[:space:]]*"(fs|raft|store)/' src/s3/*.[ch] 2>/dev/null)
if [ -z "$bad" ]; then ok "src/s3 includes no fs/, raft/ or store/ header"
else notok "the S3 gateway reaches past its backend: $bad"; fi

# One module owns each family of redis keys; redis replies stay with the
# modules that own keys (the store adapter, chunks, the state machine, the
# Raft state).
bad=$(grep -lE 'rcfs:raft:' $(find src -name '*.c') | grep -v '^src/node/raftlog\.c$')
if [ -z "$bad" ]; then ok "only src/node/raftlog.c names the rcfs:raft:* keys"
else notok "rcfs:raft:* keys written outside raftlog.c: $bad"; fi
bad=$(grep -lE 'redisReply' $(find src -name '*.[ch]') | grep -vE '^src/(store/|fs/chunk\.c|fs/fsm\.c|node/raftlog\.c)')
if [ -z "$bad" ]; then ok "redisReply only in store/, fs/chunk.c, fs/fsm.c, node/raftlog.c"
else notok "redisReply leaks into: $bad"; fi

# The Raft driver treats entries as bytes: the command format is fs/'s.
if ! grep -q 'Rcfs__Command' src/node/consensus.c src/node/consensus.h; then
	ok "the Raft driver does not know the command format"
else notok "src/node/consensus.[ch] names Rcfs__Command"; fi

echo "1..$n"
exit $fail
