#!/usr/bin/env bash
# redis-ceiling.sh: what redis-server alone, with AOF appendfsync always (the
# settings rcfs requires), takes on this machine: the ceiling under rcfs's
# put throughput (docs/benchmarks.md, "Why the remaining targets are out of
# reach").  No rcfsd runs.  Prints one line per figure:
#   CEILING one_redis_set1m_c1_MBps 94.2
#   CEILING one_redis_set1m_c8_MBps ...
#   CEILING three_redis_set300_p32_ops_each ...   (three at once, median of the three)
# Usage: contrib/bench/redis-ceiling.sh [-n REQUESTS_1M]
# Everything runs under a private mktemp -d on unix sockets; every
# redis-server started is stopped by PID on exit.
set -u
n1m=400
while getopts n: o; do
	case $o in
	n) n1m=$OPTARG ;;
	*) echo "usage: $0 [-n REQUESTS_1M]" >&2; exit 2 ;;
	esac
done
for p in redis-server redis-benchmark redis-cli; do
	command -v "$p" >/dev/null || { echo "$0: $p not installed" >&2; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/rcfs-ceiling.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
	rm -rf "$W"
}
trap cleanup EXIT

# start I: a redis-server on $W/I/s.sock, AOF always, no RDB; waits until it answers
start() {
	mkdir -p "$W/$1"
	redis-server --port 0 --unixsocket "$W/$1/s.sock" --dir "$W/$1" --appendonly yes \
		--appendfsync always --save "" --daemonize no --logfile "$W/$1/log" &
	PIDS+=($!)
	for _ in $(seq 1 200); do
		[ "$(redis-cli -s "$W/$1/s.sock" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.05
	done
	echo "$0: redis-server $1 did not start (see $W/$1/log)" >&2
	exit 1
}

# rps SOCKET ARGS...: requests per second of one redis-benchmark run
rps() {
	local s=$1; shift
	redis-benchmark -s "$s" -t set -r 1000000 -q "$@" 2>/dev/null | tr '\r' '\n' |
		sed -n 's/^SET: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1
}

start 1
for c in 1 8; do
	r=$(rps "$W/1/s.sock" -d 1048576 -n "$n1m" -c "$c")
	awk -v c="$c" -v r="$r" 'BEGIN { printf "CEILING one_redis_set1m_c%s_MBps %.1f\n", c, r * 1048576 / 1e6 }'
done
start 2
start 3
for i in 1 2 3; do
	rps "$W/$i/s.sock" -d 300 -n 400000 -c 1 -P 32 > "$W/r$i" &
done
wait_jobs() { for j in $(jobs -p); do case " ${PIDS[*]} " in *" $j "*) ;; *) wait "$j" ;; esac; done; }
wait_jobs
echo "CEILING three_redis_set300_p32_ops_each $(sort -n "$W"/r[123] | sed -n 2p)"
