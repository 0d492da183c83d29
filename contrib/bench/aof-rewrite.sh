#!/usr/bin/env bash
# aof-rewrite.sh: what an AOF rewrite costs puts, and the memory its fork
# copies (issue 17; docs/benchmarks.md, docs/deploy.md "Capacity").
#
#   contrib/bench/aof-rewrite.sh [-m PRELOAD_MIB] [-r ROUNDS] [-d SECONDS]
#
# A fresh 3-node rcfs-cluster of $top_builddir (a build without sanitizers)
# is preloaded with PRELOAD_MIB of 1 MiB files (default 256), then, per round,
# the same put workload runs twice: once alone and once with BGREWRITEAOF sent
# to every node's redis 1 s into it.  Workloads: 256 B puts at c=16 and 1 MiB
# puts at c=4, SECONDS each (default 8).  Prints one line per run (ops/s, p50,
# p99, max) and, for the rewrites, redis's own figures: rewrite time and the
# copy-on-write bytes of the fork (aof_last_cow_size).  Everything it starts
# listens on 127.0.0.x and is stopped at exit.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
CLUSTER=$top_builddir/contrib/rcfs-cluster
LOAD=$top_builddir/contrib/bench/rcfs-load
PRELOAD=256 ROUNDS=2 DUR=8
while getopts m:r:d: o; do
	case $o in
	m) PRELOAD=$OPTARG ;; r) ROUNDS=$OPTARG ;; d) DUR=$OPTARG ;;
	*) sed -n '2,14p' "$0" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d "${TMPDIR:-/tmp}/aofbench.XXXXXX")
trap 'top_builddir=$top_builddir "$CLUSTER" down -d "$work/c" >/dev/null 2>&1; rm -rf "$work"' EXIT
top_builddir=$top_builddir "$CLUSTER" up -n 3 -d "$work/c" >/dev/null || { echo "cluster did not start" >&2; exit 1; }
nodes=$(cat "$work"/c/n[123]/address | paste -sd,)
socks=$(ls "$work"/c/n[123]/redis.sock)
sleep 1
"$LOAD" put --nodes "$nodes" -c 2 -s 1048576 -N "$PRELOAD" -t 600 -w 0 -p pre/ -q > /dev/null 2>&1 ||
	{ echo "preload failed" >&2; exit 1; }
info() { redis-cli -s "$1" INFO persistence | tr -d '\r' | sed -n "s/^$2://p"; }
for s in $socks; do   # start from a rewritten AOF: every run rewrites the same amount
	redis-cli -s "$s" BGREWRITEAOF > /dev/null
done
wait_rewrites() {
	local s n=0
	while [ $n -lt 600 ]; do
		for s in $socks; do [ "$(info "$s" aof_rewrite_in_progress)" = 1 ] && break; s=; done
		[ -z "$s" ] && return 0
		sleep 0.1; n=$((n + 1))
	done
}
wait_rewrites
run() {   # run LABEL REWRITE ARGS...
	local label=$1 rw=$2 out s; shift 2
	"$LOAD" put --nodes "$nodes" -t "$DUR" -q "$@" > "$work/out" 2>/dev/null & local lp=$!
	if [ "$rw" = 1 ]; then
		sleep 1
		for s in $socks; do redis-cli -s "$s" BGREWRITEAOF > /dev/null; done
	fi
	wait $lp
	out=$(tail -n 1 "$work/out")
	printf '%-28s %s\n' "$label" "$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print("%8.1f ops/s  p50 %7.2f ms  p99 %7.2f ms  max %8.2f ms" % (j["ops_per_s"], j["p50_ms"], j["p99_ms"], j["max_ms"]))' "$out")"
	if [ "$rw" = 1 ]; then
		wait_rewrites
		for s in $socks; do
			printf '    %s: rewrite %s s, copy-on-write %s MiB, AOF %s MiB\n' "${s%/redis.sock}" \
			    "$(info "$s" aof_last_rewrite_time_sec)" \
			    "$(( $(info "$s" aof_last_cow_size) / 1048576 ))" "$(( $(info "$s" aof_current_size) / 1048576 ))"
		done
	fi
}
for r in $(seq 1 "$ROUNDS"); do
	for rw in 0 1; do
		run "r$r 256B c=16 rewrite=$rw" $rw -c 16 -s 256 -N 1000000 -w 100 -p "r$r/s$rw/"
		run "r$r 1MiB c=4 rewrite=$rw" $rw -c 4 -s 1048576 -N 100000 -w 8 -p "r$r/l$rw/"
	done
done
