#!/bin/bash
# TAP: operability against a live 3-node cluster (issue 7, docs/metrics.md,
# docs/deploy.md): every node's /metrics passes `promtool check metrics` and
# reports the cluster's state, /status and /healthz, the dashboard in
# headless Chromium (three nodes, one leader; screenshot kept in
# $top_builddir/t/ops/live-dashboard.png), the SIGTERM drain (a leader hands
# over leadership and exits 0), SIGHUP reopening log_file, and systemd
# readiness (READY=1 on $NOTIFY_SOCKET).  Tool-dependent points SKIP without
# curl, promtool (Debian: prometheus), chromium or python3.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"
watchdog 300
OUT="$top_builddir/t/ops"
mkdir -p "$OUT"
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
have() { command -v "$1" >/dev/null 2>&1; }

if ! have curl; then
	skip "live HTTP checks" "curl not installed"
	done_testing
fi

cluster_up -n 3 || { nok "cluster up"; done_testing; }
ok "3-node cluster up"
IFS=, read -r -a HTTP <<< "$RCFS_HTTP"
check "rcfs-cluster printed RCFS_HTTP with three addresses" test "${#HTTP[@]}" -eq 3

new_tmpdir D
head -c 2500000 /dev/urandom > "$D/f"
expect_rc 0 "put a 3-chunk file" "$RCFS" put "$D/f" live/f

get() { curl -sf --max-time 5 -o "$D/body" "http://$1$2"; }

# Leader: the node whose /metrics says role leader.
leader_http=""
find_leader() {
	local h
	for h in "${HTTP[@]}"; do
		get "$h" /metrics || continue
		grep -q '^rcfs_raft_role{role="leader"} 1$' "$D/body" && { leader_http=$h; return 0; }
	done
	return 1
}
wait_until 20 find_leader
check "one node's /metrics says it leads ($leader_http)" test -n "$leader_http"

# Every node: promtool, and figures that follow from the put.
files_seen() { get "$1" /metrics && grep -q '^rcfs_files 1$' "$D/body"; }
i=0
for h in "${HTTP[@]}"; do
	i=$((i + 1))
	wait_until 10 files_seen "$h"
	get "$h" /metrics; cp "$D/body" "$OUT/live-metrics-n$i.txt"
	if have promtool; then
		check "promtool check metrics accepts node $h" sh -c "promtool check metrics < '$D/body'"
	else
		skip "promtool check metrics on node $h" "promtool not installed (Debian package prometheus)"
	fi
	check "node $h: rcfs_files 1 after the put" grep -q '^rcfs_files 1$' "$D/body"
	check "node $h: rcfs_chunks 3" grep -q '^rcfs_chunks 3$' "$D/body"
	check "node $h: redis up" grep -q '^rcfs_redis_up 1$' "$D/body"
	check "node $h: applied index > 0" grep -Eq '^rcfs_raft_applied_index [1-9]' "$D/body"
	check "node $h: redis latency observed" grep -Eq '^rcfs_redis_command_duration_seconds_count [1-9]' "$D/body"
done
# Leader-only series, from a scrape in which that node says it leads (a
# loaded machine can move leadership between two scrapes).
leader_scrape() {
	local h
	for h in "${HTTP[@]}"; do
		get "$h" /metrics || continue
		grep -q '^rcfs_raft_role{role="leader"} 1$' "$D/body" && { cp "$D/body" "$D/leader.txt"; return 0; }
	done
	return 1
}
wait_until 20 leader_scrape
check "the leader tracks both peers' match index" test "$(grep -c '^rcfs_raft_peer_match_index{peer=' "$D/leader.txt")" -eq 2
check "and their lag" test "$(grep -c '^rcfs_raft_peer_lag_entries{peer=' "$D/leader.txt")" -eq 2
sum_metric() {   # sum_metric REGEX: the sum over the three nodes
	local h t=0 v
	for h in "${HTTP[@]}"; do
		get "$h" /metrics || continue
		v=$(grep -E "^$1 " "$D/body" | awk '{print $2}')
		t=$(( t + ${v:-0} ))
	done
	echo "$t"
}
commits=$(sum_metric 'rcfs_client_requests_total\{op="commit",result="ok"\}')
check "one commit request counted ok ($commits)" test "$commits" -eq 1
props=$(sum_metric 'rcfs_raft_proposals_total\{result="ok"\}')
check "proposals committed ($props)" test "$props" -ge 1
check "persistence latency observed" grep -Eq '^rcfs_raft_persist_latency_seconds_count [1-9]' "$D/leader.txt"
# The client sends each chunk to one node, which copies it to the others
# (replica traffic is not a client request): 3 chunk puts in all.
puts=0 rx=0
for h in "${HTTP[@]}"; do
	get "$h" /metrics
	puts=$(( puts + $(sed -n 's/^rcfs_client_requests_total{op="chunk_put",result="ok"} //p' "$D/body") ))
	rx=$(( rx + $(sed -n 's/^rcfs_net_bytes_received_total //p' "$D/body") ))
done
check "the nodes counted 3 client chunk puts in all ($puts)" test "$puts" -eq 3
check "bytes received cover the file and its replicas ($rx >= 5000000)" test "$rx" -ge 5000000

# /status: three members, one leader, all healthy (peers' data arrives
# within a refresh period).
status_ok() {
	get "$1" /status && python3 - "$D/body" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
n = s["nodes"]
assert s["version"] == 1 and len(n) == 3, n
assert [m["role"] for m in n].count("leader") == 1, n
assert all(m["healthy"] for m in n), n
assert all(m.get("files") == 1 for m in n), n
assert sum(1 for m in n if m["self"]) == 1 and all(m["http"] for m in n), n
EOF
}
if have python3; then
	for h in "${HTTP[@]}"; do
		wait_until 15 status_ok "$h"
		check "/status on $h: 3 nodes, 1 leader, all healthy, 1 file each" status_ok "$h"
	done
else
	skip "/status JSON checks" "python3 not installed"
fi
check "/healthz is 200 on a serving node" get "${HTTP[0]}" /healthz

# ---- the dashboard in headless Chromium, from a live node ----
if chromium_find; then
	dom="$OUT/live-dashboard.dom.html"
	chromium_dom "$D" "http://${HTTP[1]}/" "$dom"
	rows=$(grep -o '<tr class="node[^>]*>' "$dom" | wc -l)
	leaders=$(grep -o '<tr class="node leader"[^>]*data-role="leader"' "$dom" | wc -l)
	check "live dashboard shows three nodes ($rows)" test "$rows" -eq 3
	check "live dashboard shows exactly one leader ($leaders)" test "$leaders" -eq 1
	check "live dashboard shows no fetch error" grep -q '<div id="error" role="alert"[^>]*></div>' "$dom"
	rm -f "$OUT/live-dashboard.png"
	chromium "$D" --window-size=1200,600 --screenshot="$OUT/live-dashboard.png" "http://${HTTP[1]}/" > /dev/null
	check "live dashboard screenshot in $OUT/live-dashboard.png" is_png "$OUT/live-dashboard.png"
else
	skip "live dashboard in Chromium" "chromium not installed (Debian package chromium)"
fi

# ---- SIGTERM drains: the leader hands over and exits 0 ----
# (Find the leader again: a loaded machine may have moved it since.)
wait_until 20 find_leader
lid=""
for i in 1 2 3; do [ "$(cat "$CDIR/n$i/http")" = "$leader_http" ] && lid=$i; done
lpid=$(cat "$CDIR/n$lid/rcfsd.pid")
kill -TERM "$lpid"
gone() { ! kill -0 "$lpid" 2>/dev/null; }
wait_until 15 gone
check "leader (node $lid) exited after SIGTERM" gone
check "it drained" grep -q 'drain: done' "$CDIR/n$lid/rcfsd.log"
if grep -q 'drain: not the leader' "$CDIR/n$lid/rcfsd.log"; then
	skip "it handed leadership over" "leadership moved between the lookup and the signal"
else
	check "it handed leadership over" grep -q 'handing leadership over' "$CDIR/n$lid/rcfsd.log"
	check "and stepped down before exiting" sh -c "sed -n '/signal 15/,\$p' '$CDIR/n$lid/rcfsd.log' | grep -q 'leader -> follower'"
fi
check "it exited with status 0" grep -q 'exited with status 0' "$CDIR/n$lid/rcfsd.log"
expect_rc 0 "a put succeeds on the survivors" "$RCFS" put "$D/f" live/g
"$CLUSTER" start -d "$CDIR" "$lid" > /dev/null 2>&1
expect_rc 0 "node $lid restarts" true

# ---- SIGHUP reopens log_file (logrotate's move-then-HUP) ----
n2=$(( lid % 3 + 1 ))
printf 'log_file = "%s";\n' "$D/rcfsd.log" > "$D/logfile.conf"
cat "$CDIR/n$n2/rcfsd.conf" >> "$D/logfile.conf"
"$CLUSTER" kill -d "$CDIR" "$n2" -s TERM > /dev/null 2>&1
stopped() { ! kill -0 "$(cat "$CDIR/n$n2/rcfsd.pid" 2>/dev/null || echo 0)" 2>/dev/null; }
wait_until 15 stopped
"$RCFSD" -c "$D/logfile.conf" 2>> "$D/rcfsd.stderr" &
hpid=$!; track_pid "$hpid"
echo "$hpid" > "$CDIR/n$n2/rcfsd.pid"
logged() { grep -q "$2" "$1" 2>/dev/null; }
wait_until 15 logged "$D/rcfsd.log" 'ready: serving'
check "log_file receives the log" logged "$D/rcfsd.log" 'ready: serving'
mv "$D/rcfsd.log" "$D/rcfsd.log.1"
kill -HUP "$hpid"
wait_until 10 logged "$D/rcfsd.log" 'reopened'
check "SIGHUP reopened log_file (new file)" logged "$D/rcfsd.log" 'reopened'
check "the rotated file was left alone" bash -c "! grep -q reopened '$D/rcfsd.log.1'"
check "the node still serves after SIGHUP" sh -c "'$RCFS' --timeout 10 stat live/f > /dev/null"

# ---- systemd readiness: READY=1 on $NOTIFY_SOCKET once serving ----
if have python3; then
	kill -TERM "$hpid"; wait_until 15 stopped
	python3 - "$D/notify.sock" "$D/notify.out" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(30)
with open(sys.argv[2], "w") as out:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        out.write(msg.replace("\n", " ") + "\n"); out.flush()
        if "STOPPING=1" in msg:
            break
EOF
	npid=$!; track_pid "$npid"
	sockready() { test -S "$D/notify.sock"; }
	wait_until 10 sockready
	NOTIFY_SOCKET="$D/notify.sock" "$RCFSD" -c "$CDIR/n$n2/rcfsd.conf" 2>> "$D/notify.stderr" &
	spid=$!; track_pid "$spid"
	echo "$spid" > "$CDIR/n$n2/rcfsd.pid"
	wait_until 20 logged "$D/notify.out" 'READY=1'
	check "rcfsd sent READY=1 to NOTIFY_SOCKET" logged "$D/notify.out" 'READY=1'
	kill -TERM "$spid"
	wait_until 15 logged "$D/notify.out" 'STOPPING=1'
	check "rcfsd sent STOPPING=1 on SIGTERM" logged "$D/notify.out" 'STOPPING=1'
else
	skip "sd_notify readiness" "python3 not installed"
fi
done_testing
