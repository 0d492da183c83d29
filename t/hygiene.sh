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

echo "1..$n"
exit $fail
