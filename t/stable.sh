#!/usr/bin/env bash
# Stable leadership under load (issue 17): 1 MiB puts from 8 clients (the
# benchmark's heaviest workload) while a busy loop takes one core; no fault
# is injected, so the term must not change and no node may start an
# election.  A PreVote that the others refuse (a follower that missed one
# heartbeat while the machine is starved) changes nothing: it is counted
# and shown, not failed (PreVote exists for exactly that, Dissertation
# §9.6).  The metrics that would explain an election (event loop lag, the
# heartbeat intervals followers saw) are printed as diagnostics.
. "$(dirname "$0")/lib.sh"
watchdog 120
LOAD="$top_builddir/contrib/bench/rcfs-load"
[ -x "$LOAD" ] || { echo "1..0 # SKIP rcfs-load not built"; exit 0; }
# Under AddressSanitizer every 1 MiB buffer is a fresh mapping (its large-
# allocation path never reuses memory): about 1,500 page faults per chunk per
# node, several times the CPU per byte of the build the requirement is about
# (the benchmark's).  On 2 cores that is a measure of the sanitizer, not of
# leadership: even 4 clients changed the term in CI (docs/benchmarks.md).
# Run it with a build without sanitizers.
if ldd "$RCFSD" 2>/dev/null | grep -q libasan; then
	echo "1..0 # SKIP under AddressSanitizer (fresh pages for every 1 MiB buffer); run it with a -O2 build"
	exit 0
fi

cluster_up -n 3 || { nok "cluster up"; done_testing; }
term() { "$RCFS" --json status | grep -o '"term":[0-9]*' | head -1 | cut -d: -f2; }
wait_until 10 bash -c '"$RCFS" --json status | grep -q "\"role\":\"leader\""' || nok "a leader"
t0=$(term)
campaigns() { cat "$CDIR"/n*/rcfsd.log | grep -cE -e "-> candidate"; }
prevotes() { cat "$CDIR"/n*/rcfsd.log | grep -cE -e "-> precandidate"; }
c0=$(campaigns) p0=$(prevotes)
nodes=$(cut -d= -f2- <<<"$(grep -m1 '^RCFS_NODES=' "$CDIR/up.out")")

# A busy loop on one core (both cores are shared with the 3 nodes, their
# redis and the load generator).
( exec taskset -c 0 sh -c 'while :; do :; done' ) & busy=$!
test_pids="$test_pids $busy"
out=$("$LOAD" put --nodes "$nodes" -c 8 -s 1048576 -N 100000 -t 15 -w 8 -p stable/ -q 2>&1 | tail -n 1)
kill "$busy" 2>/dev/null
diag "load: $out"
check "the load ran (no errors)" grep -q '"errors":0' <<<"$out"
check "the term did not change under load (was $t0, is $(term))" [ "$(term)" = "$t0" ]
check "no node started an election under load ($(( $(campaigns) - c0 )) elections)" [ "$(campaigns)" -eq "$c0" ]
diag "PreVotes under load (refused ones change nothing): $(( $(prevotes) - p0 ))"
for n in 1 2 3; do
	http=$(cut -d, -f"$n" <<<"$RCFS_HTTP")
	m=$(curl -s "http://$http/metrics")
	diag "node $n: $(grep -E '^rcfs_(event_loop_lag|raft_heartbeat_interval)_seconds_(sum|count)' <<<"$m" | tr '\n' ' ')"
	diag "node $n: $(grep -E '^rcfs_(event_loop_lag|raft_heartbeat_interval)_seconds_bucket\{le="(0\.05|0\.1|0\.25|0\.5|1|\+Inf)"' <<<"$m" | sed 's/rcfs_//; s/_seconds_bucket//' | tr '\n' ' ')"
done
done_testing
