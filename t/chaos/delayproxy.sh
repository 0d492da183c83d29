#!/usr/bin/env bash
# t/chaos/delayproxy (TAP): the delaying TCP proxy of the latency faults,
# between the rcfs CLI and a one-node cluster.  Bytes pass unchanged and in
# order under jitter (a multi-chunk file round-trips byte-identical), the
# delay is applied (a lower bound: never a speed assertion), it changes at run
# time on SIGHUP and an empty control file heals it, a dead target closes the
# client's connection instead of hanging it, and SIGTERM exits cleanly.
. "${top_srcdir:-$(dirname "$0")/../..}/t/lib.sh"
watchdog 240
PROXY="$top_builddir/t/chaos/delayproxy"
[ -x "$PROXY" ] || { echo "Bail out! $PROXY is not built"; exit 1; }

new_tmpdir W
cluster_up -n 1 || { nok "cluster up"; done_testing; }
ok "one-node cluster up"
ADDR=$(cat "$CDIR/n1/address")
ms() { echo $(( $(date +%s%N) / 1000000 )); }
rc1() { RCFS_CONF= RCFS_NODES= "$RCFS" -n "$1" --timeout 10 "${@:2}" > /dev/null; }

# A port nobody listens on: a listener of our own, closed again.
DEAD=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 1)

: > "$W/control"
"$PROXY" -v -s 7 -c "$W/control" -p "$W/ports" "a=127.0.0.1:0>$ADDR" "dead=127.0.0.1:0>$DEAD" \
	2> "$W/proxy.log" &
PPID_=$!
test_pids="$test_pids $PPID_"
check "the proxy writes its port file" wait_until 10 test -s "$W/ports"
PA=$(awk '$1 == "a" { print $2 }' "$W/ports")
PD=$(awk '$1 == "dead" { print $2 }' "$W/ports")
both_ports() { [ -n "$PA" ] && [ -n "$PD" ] && [ "${PA%:*}" = 127.0.0.1 ]; }
check "port file names both links on 127.0.0.1" both_ports

check "status through the proxy (no delay)" rc1 "$PA" status

# Order under jitter: every chunk of bytes gets 0..40 ms of jitter each way.
printf 'a up 5 40\na down 5 40\n' > "$W/control"; kill -HUP "$PPID_"
check "SIGHUP reloads the control file" wait_until 5 grep -q "2 link direction(s) delayed" "$W/proxy.log"
head -c 3500000 /dev/urandom > "$W/big"
check "a 3.5 MB put through the jittered proxy" rc1 "$PA" -q put "$W/big" big
check "read back through the proxy" rc1 "$PA" -q get big "$W/big.1"
check "byte-identical (order kept under jitter)" cmp -s "$W/big" "$W/big.1"
check "and directly from the node" rc1 "$ADDR" -q get big "$W/big.2"
check "byte-identical" cmp -s "$W/big" "$W/big.2"

# The delay is applied: a request and its answer each wait 300 ms.
printf '# comment\na up 300\n* down 300\n' > "$W/control"; kill -HUP "$PPID_"
check "reload: 3 directions (a up, a down, dead down)" wait_until 5 grep -q "3 link direction(s) delayed" "$W/proxy.log"
t0=$(ms); rc1 "$PA" status > /dev/null; r=$?; t1=$(ms)
check "status through a 300 ms + 300 ms proxy answers" [ "$r" -eq 0 ]
check "and takes at least 600 ms ($((t1 - t0)) ms)" [ $((t1 - t0)) -ge 600 ]

# Heal: an empty file means no delay on any link.
: > "$W/control"; kill -HUP "$PPID_"
check "status after healing" wait_until 10 rc1 "$PA" status

# A target that refuses: the client's connection is closed, not left hanging.
out=$(RCFS_CONF= RCFS_NODES= timeout 30 "$RCFS" -n "$PD" --timeout 3 status 2>&1); r=$?
failed_fast() { [ "$r" -ne 0 ] && [ "$r" -ne 124 ]; }
check "status through a proxy to a dead target fails (exit $r, not a hang)" failed_fast
check "the proxy logged the failed connect" grep -q "dead#1: target failed" "$W/proxy.log"
check "the proxy is still running" kill -0 "$PPID_"

# A malformed control file is reported, the proxy keeps running.
echo "a sideways 10" > "$W/control"; kill -HUP "$PPID_"
check "a bad control line is reported" wait_until 5 grep -q "expected NAME up|down" "$W/proxy.log"
check "status still works" rc1 "$PA" status

kill -TERM "$PPID_"
wait "$PPID_"; r=$?
check "SIGTERM: exit 0" [ "$r" -eq 0 ]
clean_log() { ! grep -q "Sanitizer\|runtime error" "$W/proxy.log"; }
check "no sanitizer report" clean_log
expect_rc 2 "a bad link spec is refused (exit 2)" "$PROXY" nolink
done_testing
