#!/usr/bin/env bash
# cluster-bench.sh: measure a local 3-node rcfs cluster with the real CLI.
#
#   contrib/bench/cluster-bench.sh [-r REPS] [-t FAILOVER_TRIALS]
#
# Builds nothing: uses ./rcfsd and ./rcfs of the build tree (configure WITHOUT
# --enable-sanitizers for meaningful figures).  Every operation is one `rcfs`
# process, so small-operation latencies include a process start and a TCP
# connect (~1-3 ms here): a lower bound on what rcfs can do, not a protocol
# figure (issue 9 adds a pipelining load generator).
#
# Prints one line per figure: NAME median min max UNIT (over REPS runs).
set -u
cd "$(dirname "$0")/../.."
REPS=3
TRIALS=10
while getopts r:t: o; do
	case $o in r) REPS=$OPTARG ;; t) TRIALS=$OPTARG ;; *) exit 2 ;; esac
done
RCFS=$PWD/rcfs
[ -x "$RCFS" ] && [ -x ./rcfsd ] || { echo "build first (./configure && make)" >&2; exit 1; }

W=$(mktemp -d /tmp/rcfs-bench.XXXXXX)
dir="$W/cluster"
cleanup() { contrib/rcfs-cluster down -d "$dir" >/dev/null 2>&1; rm -rf "$W"; }
trap cleanup EXIT
contrib/rcfs-cluster up -n 3 -d "$dir" >/dev/null || exit 1
export RCFS_CONF=$dir/rcfs.conf

now_ns() { date +%s%N; }
median3() { sort -n | awk '{ v[NR] = $1 } END { printf "%s %s %s", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
report() { echo "$1 $(median3) $2"; }    # stdin: one value per rep

head -c 256 /dev/urandom > "$W/v256"
head -c $((1024 * 1024)) /dev/urandom > "$W/v1m"
head -c $((64 * 1024 * 1024)) /dev/urandom > "$W/v64m"

# small ops at concurrency C: each client does N ops; per-op latencies in files
small() {   # small put|get C N REP -> prints "ops_per_s p50_ms p99_ms"
	local op=$1 c=$2 n=$3 rep=$4 t0 t1 i
	rm -f "$W"/lat.*
	t0=$(now_ns)
	for i in $(seq 1 "$c"); do
		(
			for k in $(seq 1 "$n"); do
				s=$(now_ns)
				if [ "$op" = put ]; then "$RCFS" -q put "$W/v256" "b/$rep/$c/$i/$k"
				else "$RCFS" -q get "b/$rep/$c/$i/$k" - >/dev/null; fi
				e=$(now_ns); echo $(( (e - s) / 1000 )) >> "$W/lat.$i"
			done
		) &
	done
	wait
	t1=$(now_ns)
	local total=$(( c * n ))
	local ops=$(( total * 1000000000 / (t1 - t0) ))
	local p50 p99
	p50=$(cat "$W"/lat.* | sort -n | awk -v q=0.50 '{ v[NR] = $1 } END { printf "%.2f", v[int(NR * q + 0.5)] / 1000 }')
	p99=$(cat "$W"/lat.* | sort -n | awk -v q=0.99 '{ v[NR] = $1 } END { printf "%.2f", v[int(NR * q + 0.5)] / 1000 }')
	echo "$ops $p50 $p99"
}

for c in 1 16 64; do
	n=$(( c == 1 ? 200 : (c == 16 ? 40 : 12) ))
	: > "$W/r.ops"; : > "$W/r.p50"; : > "$W/r.p99"
	for rep in $(seq 1 "$REPS"); do
		read -r o a b < <(small put "$c" "$n" "$rep")
		echo "$o" >> "$W/r.ops"; echo "$a" >> "$W/r.p50"; echo "$b" >> "$W/r.p99"
	done
	report "put256_c${c}_ops_per_s" ops/s < "$W/r.ops"
	report "put256_c${c}_p50" ms < "$W/r.p50"
	report "put256_c${c}_p99" ms < "$W/r.p99"
done
# gets of 256 B (linearizable, through ReadIndex) at 64 clients, reading the
# names this rep's c=64 put run created
: > "$W/r.ops"; : > "$W/r.p99"
for rep in $(seq 1 "$REPS"); do
	read -r o a b < <(small get 64 12 "$rep")
	echo "$o" >> "$W/r.ops"; echo "$b" >> "$W/r.p99"
done
report "get256_c64_ops_per_s" ops/s < "$W/r.ops"
report "get256_c64_p99" ms < "$W/r.p99"

# large files
mbps() { echo $(( $1 * 1000 / $2 )); }    # bytes, ns -> MB/s (10^6 bytes)
for size in 1m 64m; do
	f=$W/v$size; bytes=$(stat -c %s "$f")
	: > "$W/r.put"; : > "$W/r.get"
	for rep in $(seq 1 "$REPS"); do
		s=$(now_ns); "$RCFS" -q put "$f" "big/$size/$rep"; e=$(now_ns)
		mbps "$bytes" $((e - s)) >> "$W/r.put"
		s=$(now_ns); "$RCFS" -q get "big/$size/$rep" - >/dev/null; e=$(now_ns)
		mbps "$bytes" $((e - s)) >> "$W/r.get"
	done
	report "put_${size}_c1" MB/s < "$W/r.put"
	report "get_${size}_c1" MB/s < "$W/r.get"
done
: > "$W/r.put"
for rep in $(seq 1 "$REPS"); do
	s=$(now_ns)
	for i in $(seq 1 8); do "$RCFS" -q put "$W/v1m" "big/c8/$rep/$i" & done
	wait
	e=$(now_ns)
	mbps $((8 * 1048576)) $((e - s)) >> "$W/r.put"
done
report "put_1m_c8" MB/s < "$W/r.put"

# failover: SIGKILL the leader -> first successful put through a survivor
leader() { "$RCFS" --timeout 2 --json status 2>/dev/null | grep -o '"id":[0-9]*,"role":"leader"' | grep -o '[0-9]\+' | head -n 1; }
: > "$W/r.fo"
for t in $(seq 1 "$TRIALS"); do
	L=$(leader)
	[ -n "$L" ] || { sleep 1; continue; }
	pid=$(cat "$dir/n$L/rcfsd.pid")
	s=$(now_ns)
	kill -9 "$pid"
	until "$RCFS" -q --timeout 1 put "$W/v256" "fo/$t" 2>/dev/null; do :; done
	e=$(now_ns)
	echo $(( (e - s) / 1000000 )) >> "$W/r.fo"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
	rm -f "$dir/n$L/rcfsd.pid"
	contrib/rcfs-cluster start -d "$dir" "$L" >/dev/null
done
echo "failover_ms $(sort -n "$W/r.fo" | awk '{ v[NR] = $1 } END { printf "%s %s %s", v[int((NR + 1) / 2)], v[1], v[NR] }') ms (median min max of $(wc -l < "$W/r.fo") trials)"
