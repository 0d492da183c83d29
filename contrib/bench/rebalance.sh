#!/usr/bin/env bash
# rebalance.sh: what a rebalance costs client puts (issue 14).
#
#   contrib/bench/rebalance.sh [-m MIB] [-d SECONDS] [-r BYTES_PER_S] [-k]
#
#   -m MIB     data in the cluster before the change, in 1 MiB files (default 512)
#   -d SEC     length of each measurement (default 10)
#   -r RATE    rebalance_rate of every node, bytes/s (default: rcfsd's, 8 MiB/s)
#   -k         keep the work directory
#
# A fresh 3-node cluster (contrib/rcfs-cluster) is filled, then 4 KiB puts
# (contrib/bench/rcfs-load, 4 clients) are measured three times: at rest
# ("before"), right after a storage node joined while the chunks move to it
# ("during"), and once every node's rcfs_rebalance_pending_chunks is 0 again
# ("after").  Output: the three rcfs-load JSON lines, "FIG <phase> p50 p99
# ops/s", and how long the rebalance took.  Build WITHOUT --enable-sanitizers.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$(cd "$here/../.." && pwd)}
CLUSTER="$here/../rcfs-cluster"
LOAD=$top_builddir/contrib/bench/rcfs-load
RCFS=$top_builddir/rcfs
mib=512 secs=10 rate="" keep=0
while getopts "m:d:r:k" o; do
	case "$o" in
	m) mib=$OPTARG ;;
	d) secs=$OPTARG ;;
	r) rate=$OPTARG ;;
	k) keep=1 ;;
	*) sed -n '2,17p' "$0" >&2; exit 2 ;;
	esac
done
work=$(mktemp -d /tmp/rcfs-rebalance.XXXXXX)
trap '"$CLUSTER" down -d "$work/c" >/dev/null 2>&1; [ "$keep" = 1 ] && echo "kept $work" || rm -rf "$work"' EXIT
set=(); [ -n "$rate" ] && set=(--set "rebalance_rate = $rate;")
"$CLUSTER" up -n 3 -d "$work/c" ${set[@]+"${set[@]}"} > "$work/up.out" || exit 1
export RCFS_CONF=$work/c/rcfs.conf
unset RCFS_NODES
nodes=$(sed -n 's/^RCFS_NODES=//p' "$work/up.out")
head -c $((1 << 20)) /dev/urandom > "$work/one"
for i in $(seq 1 "$mib"); do
	# distinct 1 MiB files: the first 8 bytes differ
	{ printf '%08d' "$i"; tail -c +9 "$work/one"; } > "$work/f"
	"$RCFS" -q put "$work/f" "fill/$i" || exit 1
done
measure() {  # measure PHASE
	"$LOAD" put --nodes "$nodes" --clients 4 --size 4096 --max-seconds "$secs" --warmup 1 \
		--prefix "$1" --label "$1" --quiet | tee -a "$work/raw.jsonl"
}
pending() {
	local i total=0 v
	for i in $(seq 1 "$(cat "$work/c/nodes")"); do
		v=$(curl -s --max-time 2 "http://$(cat "$work/c/n$i/http")/metrics" |
			sed -n 's/^rcfs_rebalance_pending_chunks \([0-9]*\).*/\1/p')
		total=$((total + ${v:-0}))
	done
	echo "$total"
}
measure before
t0=$(date +%s.%N)
"$CLUSTER" add -d "$work/c" --storage > /dev/null || exit 1
measure during
while :; do
	# settled: every node walked since and has nothing left to hand off,
	# and the new node holds its share (repair fills it from the file table)
	held=$("$RCFS" --json status 2>/dev/null | grep -o '"chunks_held":[0-9]*' | tail -n 1 | grep -o '[0-9]*$')
	[ "$(pending)" = 0 ] && [ "${held:-0}" -ge $((mib * 3 / 4 * 8 / 10)) ] && break
	sleep 1
done
t1=$(date +%s.%N)
measure after
python3 - "$work/raw.jsonl" "$t0" "$t1" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print("FIG %-6s p50 %.2f ms  p99 %.2f ms  %.0f ops/s" % (r["label"], r["p50_ms"], r["p99_ms"], r["ops_per_s"]))
print("rebalance settled in %.1f s after the storage node joined" % (float(sys.argv[3]) - float(sys.argv[2])))
EOF
