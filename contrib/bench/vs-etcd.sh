#!/usr/bin/env bash
# vs-etcd.sh: rcfs and etcd 3.4 side by side, same machine, same run (issue 9).
#
#   contrib/bench/vs-etcd.sh [-r REPS] [-t TRIALS] [-d SECONDS] [-b BIGFILE_MIB] [-k] [-q]
#
#   -r REPS     repetitions of every throughput workload (default 3; figures
#               are the median with min-max)
#   -t TRIALS   failover trials per configuration (default 10)
#   -d SECONDS  time bound of each small-op run (default 10)
#   -b MIB      size of the big-file put/get (rcfs only, default 1024 = 1 GiB)
#   -k          keep the work directory (logs, raw JSON) and print its path
#   -q          quick: -r 1 -t 3 -d 3 -b 64 (a smoke run, not for figures)
#
# Every rep starts a fresh 3-node rcfs cluster (contrib/rcfs-cluster, N=3 W=2
# R=2, defaults) and a fresh 3-member etcd cluster (default tuning), both on
# loopback at free ports, and runs the same workloads on each, alternating
# which system goes first.  rcfs is driven by contrib/bench/rcfs-load (C,
# libevent, rcfs's wire protocol); etcd by etcdload (PUTs, failover: the
# anchors' Go program, built from $ETCDLOAD_SRC, default
# /work/shared/anchors/etcdload) and etcdget (GETs, contrib/bench/etcdget).
# Both send to the leader (rcfs clients must; etcd is fastest that way).
#
# Output: one line per figure "FIG <workload> <system> median min max unit",
# then "RATIO <workload> <x>" (higher is better for rcfs: rcfs/etcd for
# throughput, etcd/rcfs for latencies and failover).  Raw JSON lines go to
# $work/raw.jsonl.
#
# Binaries: rcfsd, rcfs and contrib/bench/rcfs-load from $top_builddir (default
# the tree this script is in).  Build them WITHOUT --enable-sanitizers.
# Missing etcd / Go packages are installed with apt-get (Debian 12).
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
top_builddir=${top_builddir:-$src}
LOAD=$top_builddir/contrib/bench/rcfs-load
CLUSTER=$src/contrib/rcfs-cluster
ETCDLOAD_SRC=${ETCDLOAD_SRC:-/work/shared/anchors/etcdload}
REPS=3 TRIALS=10 DUR=10 BIG_MIB=1024 KEEP=0
while getopts r:t:d:b:kq o; do
	case $o in
	r) REPS=$OPTARG ;; t) TRIALS=$OPTARG ;; d) DUR=$OPTARG ;; b) BIG_MIB=$OPTARG ;;
	k) KEEP=1 ;; q) REPS=1 TRIALS=3 DUR=3 BIG_MIB=64 ;;
	*) sed -n '2,16p' "$0" >&2; exit 2 ;;
	esac
done

die() { echo "vs-etcd: $*" >&2; exit 1; }
log() { echo "# $(date +%T) $*" >&2; }
[ -x "$LOAD" ] && [ -x "$top_builddir/rcfsd" ] || die "build first (configure without sanitizers; make)"
grep -q -- '^SAN_CFLAGS = -fsanitize' "$top_builddir/Makefile" 2>/dev/null &&
	echo "vs-etcd: WARNING: $top_builddir is a sanitizer build: figures are meaningless" >&2

# ---- dependencies (Debian packages only) ----
need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v go >/dev/null || need+=(golang-go)
[ -d /usr/share/gocode/src/go.etcd.io/etcd/clientv3 ] || need+=(golang-etcd-server-dev)
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2 ||
		die "apt-get install ${need[*]} failed"
fi
[ -f "$ETCDLOAD_SRC/main.go" ] || die "etcdload source not found: set ETCDLOAD_SRC"

work=$(mktemp -d "${TMPDIR:-/tmp}/rcfs-vs-etcd.XXXXXX")
raw=$work/raw.jsonl
etcd_pids=()
rcfs_dir=""
cleanup() {
	[ -n "$rcfs_dir" ] && top_builddir=$top_builddir "$CLUSTER" down -d "$rcfs_dir" >/dev/null 2>&1
	etcd_stop
	if [ "$KEEP" = 1 ]; then echo "vs-etcd: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building etcdload and etcdget into $work/bin"
mkdir -p "$work/bin" "$work/go"
( export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$work/go GOFLAGS=-mod=mod
  cd "$ETCDLOAD_SRC" && go build -o "$work/bin/etcdload" . &&
  cd "$here/etcdget" && go build -o "$work/bin/etcdget" . ) >&2 || die "go build failed"
ETCDLOAD=$work/bin/etcdload ETCDGET=$work/bin/etcdget

# ---- ports ----
ports_in_use() {
	local hex
	for hex in $(awk 'FNR > 1 { n = split($2, a, ":"); print a[n] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null); do
		echo $((16#$hex))
	done
}
taken=""
free_port() {   # sets PORT (not a subshell: `taken` must persist)
	local used
	used=" $(ports_in_use | tr '\n' ' ') $taken "
	while :; do
		PORT=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		case "$used" in *" $PORT "*) ;; *) taken="$taken $PORT"; return ;; esac
	done
}
wait_until() {   # wait_until SECONDS CMD...: poll every 50 ms, bounded
	local end=$(( $(date +%s) + $1 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# ---- etcd: 3 members on 127.0.0.21..23, free ports, data under $work ----
etcd_cluster="" etcd_eps="" etcd_args=()
etcd_up() {   # etcd_up [extra etcd flags...]
	etcd_args=("$@")
	local i cl="" eps="" cp pp
	for i in 1 2 3; do
		free_port; cp=$PORT; free_port; pp=$PORT
		echo "$cp $pp" > "$work/etcd-ports.$i"
		cl="$cl${cl:+,}e$i=http://127.0.0.$((20 + i)):$pp"
		eps="$eps${eps:+,}http://127.0.0.$((20 + i)):$cp"
	done
	etcd_cluster=$cl etcd_eps=$eps
	rm -rf "$work"/etcd-data.*
	for i in 1 2 3; do etcd_start "$i" new; done
	wait_until 30 etcdctl --endpoints="$etcd_eps" endpoint health || die "etcd did not become healthy"
}
etcd_start() {   # etcd_start I new|existing
	local i=$1 cp pp host=127.0.0.$((20 + $1))
	read -r cp pp < "$work/etcd-ports.$i"
	etcd --name "e$i" --data-dir "$work/etcd-data.$i" \
		--listen-client-urls "http://$host:$cp" --advertise-client-urls "http://$host:$cp" \
		--listen-peer-urls "http://$host:$pp" --initial-advertise-peer-urls "http://$host:$pp" \
		--initial-cluster "$etcd_cluster" --initial-cluster-state "$2" \
		--initial-cluster-token "bench-$$" ${etcd_args[@]+"${etcd_args[@]}"} \
		>>"$work/etcd.$i.log" 2>&1 </dev/null &
	etcd_pids[$i]=$!
}
etcd_stop() {
	local i p
	for i in 1 2 3; do
		p=${etcd_pids[$i]:-}
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait_until 10 bash -c "! kill -0 $p" || kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		etcd_pids[$i]=""
	done
}
etcd_leader() { "$ETCDLOAD" leader --endpoints "$etcd_eps"; }
export ETCDCTL_API=3

# ---- rcfs ----
rcfs_nodes=""
rcfs_up() {
	rcfs_dir=$work/rcfs
	rm -rf "$rcfs_dir"
	top_builddir=$top_builddir "$CLUSTER" up -n 3 -d "$rcfs_dir" >/dev/null || die "rcfs cluster did not start"
	rcfs_nodes=$(cat "$rcfs_dir"/n1/address "$rcfs_dir"/n2/address "$rcfs_dir"/n3/address | paste -sd,)
}
rcfs_down() { top_builddir=$top_builddir "$CLUSTER" down -d "$rcfs_dir" >/dev/null 2>&1; }
rcfs_pids() { cat "$rcfs_dir"/n1/rcfsd.pid "$rcfs_dir"/n2/rcfsd.pid "$rcfs_dir"/n3/rcfsd.pid | paste -sd,; }
rcfs_rss() {   # rcfs_rss TAG: max VmRSS and VmHWM (KiB) over the 3 rcfsd
	local n p rss=0 hwm=0 a b
	for n in 1 2 3; do
		p=$(cat "$rcfs_dir/n$n/rcfsd.pid")
		a=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status"); b=$(awk '/^VmHWM/ { print $2 }' "/proc/$p/status")
		[ "${a:-0}" -gt $rss ] && rss=$a; [ "${b:-0}" -gt $hwm ] && hwm=$b
	done
	echo "{\"label\":\"$1\",\"tool\":\"rss\",\"rss_kib\":$rss,\"hwm_kib\":$hwm}" | tee -a "$raw" >&2
}
rcfs_healthy() {   # a leader; every node reachable, storage up, caught up (lag 0)
	"$top_builddir/rcfs" -c "$rcfs_dir/rcfs.conf" --timeout 1 --json status 2>/dev/null |
		awk '{ l = gsub(/"role":"leader"/, ""); r = gsub(/"reachable":true/, "");
		       s = gsub(/"storage_up":true/, ""); z = gsub(/"lag":0,/, "") }
		     END { exit !(l == 1 && r == 3 && s == 3 && z == 3) }'
}

# ---- one workload: run, keep the JSON line ----
emit() {   # emit LABEL SYSTEM CMD...: run, tag and store the JSON line
	local label=$1 sys=$2 out; shift 2
	out=$(timeout 600 "$@" 2>>"$work/stderr.log" | tail -n 1)
	case "$out" in "{"*) ;; *) log "$label $sys: no result (see $work/stderr.log)"; return 1 ;; esac
	echo "{\"w\":\"$label\",\"sys\":\"$sys\",${out#\{}" | tee -a "$raw" >&2
}

small_total() { case $1 in 1) echo 20000 ;; 16) echo 60000 ;; *) echo 150000 ;; esac; }

rcfs_rep() {   # rcfs_rep REP
	local r=$1 c
	log "rep $r: rcfs"
	rcfs_up
	wait_until 10 rcfs_healthy || die "rcfs: no leader"
	rcfs_rss "rest_start"
	for c in 1 16 64; do
		emit "put256_c$c" rcfs "$LOAD" put --nodes "$rcfs_nodes" -c "$c" -s 256 -N "$(small_total $c)" \
			-t "$DUR" -w 100 -p "r$r/s$c/" -q
	done
	emit get256_c64 rcfs "$LOAD" get --nodes "$rcfs_nodes" -c 64 -s 256 -N 500000 -t "$DUR" -k 1000 \
		-w 1000 -p "r$r/g/" -q
	for c in 1 8; do
		emit "put1m_c$c" rcfs "$LOAD" put --nodes "$rcfs_nodes" -c "$c" -s 1048576 -N 300 -t "$DUR" \
			-w 8 -p "r$r/l$c/" -q
		emit "get1m_c$c" rcfs "$LOAD" get --nodes "$rcfs_nodes" -c "$c" -s 1048576 -N 1000 -t "$DUR" \
			-k 32 -w 8 -p "r$r/gl$c/" -q
	done
	rcfs_rss "after_small_and_1m"
	emit putbig_c1 rcfs "$LOAD" put --nodes "$rcfs_nodes" -c 1 -s $((BIG_MIB * 1048576)) -N 1 -t 600 \
		-w 0 -W 8 -p "r$r/big/" -q
	emit getbig_c1 rcfs "$LOAD" get --nodes "$rcfs_nodes" -c 1 -s $((BIG_MIB * 1048576)) -N 1 -t 600 \
		-k 1 -w 0 -W 8 -p "r$r/bigg/" -q
	rcfs_rss "after_big"
	sleep 5   # "at rest": idle for 5 s (rcfsd trims its heap after 1-2 s idle)
	rcfs_rss "rest_end"
	rcfs_down
}

etcd_rep() {   # etcd_rep REP
	local r=$1 c lead
	log "rep $r: etcd"
	etcd_up
	lead=$(etcd_leader) || die "etcd: no leader"
	for c in 1 16 64; do
		emit "put256_c$c" etcd "$ETCDLOAD" put --endpoints "$lead" --clients "$c" --val-size 256 \
			--total "$(small_total $c)" --max-seconds "$DUR" --warmup 100 --prefix "r$r/s$c/"
	done
	emit get256_c64 etcd "$ETCDGET" --endpoints "$lead" --clients 64 --val-size 256 --total 500000 \
		--max-seconds "$DUR" --keys 1000 --warmup 1000 --prefix "r$r/g/"
	for c in 1 8; do
		emit "put1m_c$c" etcd "$ETCDLOAD" put --endpoints "$lead" --clients "$c" --val-size 1048576 \
			--total 300 --max-seconds "$DUR" --warmup 8 --prefix "r$r/l$c/"
		emit "get1m_c$c" etcd "$ETCDGET" --endpoints "$lead" --clients "$c" --val-size 1048576 \
			--total 1000 --max-seconds "$DUR" --keys 32 --warmup 8 --prefix "r$r/gl$c/"
	done
	etcd_stop
}

for r in $(seq 1 "$REPS"); do
	if [ $((r % 2)) = 1 ]; then rcfs_rep "$r"; etcd_rep "$r"; else etcd_rep "$r"; rcfs_rep "$r"; fi
done

# ---- failover: SIGKILL the leader -> first successful put through a survivor ----
log "failover: rcfs (defaults)"
rcfs_up
wait_until 10 rcfs_healthy || die "rcfs: no leader"
sleep 1
for t in $(seq 1 "$TRIALS"); do
	out=$(timeout 60 "$LOAD" failover --nodes "$rcfs_nodes" --pids "$(rcfs_pids)" -t 30 -p "fo$t/" 2>>"$work/stderr.log")
	echo "{\"w\":\"failover_ms\",\"sys\":\"rcfs\",${out#\{}" | tee -a "$raw" >&2
	k=$(echo "$out" | sed -n 's/.*"killed_index":\([0-9]*\).*/\1/p')
	[ -n "$k" ] || die "rcfs failover trial $t failed: $out"
	wait_until 10 bash -c "! kill -0 $(cat "$rcfs_dir/n$k/rcfsd.pid") 2>/dev/null"
	rm -f "$rcfs_dir/n$k/rcfsd.pid"
	top_builddir=$top_builddir "$CLUSTER" start -d "$rcfs_dir" "$k" >/dev/null || die "rcfs node $k did not restart"
	wait_until 10 rcfs_healthy
	sleep 2
done
rcfs_down

etcd_failover() {   # etcd_failover NAME [etcd flags]
	local name=$1 t out kp i; shift
	log "failover: etcd $name"
	etcd_up "$@"
	sleep 2
	for t in $(seq 1 "$TRIALS"); do
		out=$(timeout 60 "$ETCDLOAD" failover --endpoints "$etcd_eps" \
			--pids "${etcd_pids[1]},${etcd_pids[2]},${etcd_pids[3]}" --probe-ms 5 --max-seconds 30 2>>"$work/stderr.log")
		echo "{\"w\":\"failover_ms\",\"sys\":\"$name\",${out#\{}" | tee -a "$raw" >&2
		kp=$(echo "$out" | sed -n 's/.*"killed_pid":\([0-9]*\).*/\1/p')
		[ -n "$kp" ] || die "etcd failover trial $t failed: $out"
		for i in 1 2 3; do
			if [ "${etcd_pids[$i]}" = "$kp" ]; then
				wait "$kp" 2>/dev/null
				etcd_start "$i" existing
			fi
		done
		wait_until 30 etcdctl --endpoints="$etcd_eps" endpoint health || die "etcd did not recover"
		sleep 2
	done
	etcd_stop
}
etcd_failover etcd
# etcd refuses an election timeout below 5 heartbeats: 30/150 ms matches rcfs's 150 ms
# election timeout (rcfs: heartbeat 50 ms), the part that decides failover time.
etcd_failover etcd_matched --heartbeat-interval 30 --election-timeout 150

# ---- summary: medians (min-max) and same-run ratios ----
python3 - "$raw" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
def med(v):
    v = sorted(v); n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
def fig(w, sys_, key):
    v = [r[key] for r in rows if r.get('w') == w and r.get('sys') == sys_ and key in r
         and (r.get('recovered', True))]
    return (med(v), min(v), max(v), len(v)) if v else None
out, ratios = [], []
def line(w, sysname, key, unit, name=None):
    f = fig(w, sysname, key)
    if f:
        out.append("FIG %-22s %-13s %10.3f %10.3f %10.3f %-6s n=%d" % (name or w + '_' + key, sysname, f[0], f[1], f[2], unit, f[3]))
    return f
for w in ['put256_c1', 'put256_c16', 'put256_c64', 'get256_c64', 'put1m_c1', 'put1m_c8', 'get1m_c1', 'get1m_c8']:
    big = w.startswith(('put1m', 'get1m'))
    k, u = ('MB_per_s', 'MB/s') if big else ('ops_per_s', 'ops/s')
    a = line(w, 'rcfs', k, u, w + ('_MBps' if big else '_ops'))
    b = line(w, 'etcd', k, u, w + ('_MBps' if big else '_ops'))
    if a and b and b[0] > 0:
        ratios.append((w + ('_MBps' if big else '_ops'), a[0] / b[0]))
    for p in ['p50_ms', 'p99_ms']:
        a = line(w, 'rcfs', p, 'ms', w + '_' + p)
        b = line(w, 'etcd', p, 'ms', w + '_' + p)
        if a and b and a[0] > 0:
            ratios.append((w + '_' + p, b[0] / a[0]))
for w in ['putbig_c1', 'getbig_c1']:
    line(w, 'rcfs', 'MB_per_s', 'MB/s', w + '_MBps')
    line(w, 'rcfs', 'seconds', 's', w + '_seconds')
fo = {}
for s in ['rcfs', 'etcd', 'etcd_matched']:
    fo[s] = line('failover_ms', s, 'kill_to_first_ok_put_ms', 'ms', 'failover_ms')
    n_fail = len([r for r in rows if r.get('w') == 'failover_ms' and r.get('sys') == s and not r.get('recovered')])
    if n_fail:
        out.append("FIG failover_unrecovered %s %d" % (s, n_fail))
if fo['rcfs'] and fo['etcd']:
    ratios.append(('failover_ms', fo['etcd'][0] / fo['rcfs'][0]))
if fo['rcfs'] and fo['etcd_matched']:
    ratios.append(('failover_ms_matched', fo['etcd_matched'][0] / fo['rcfs'][0]))
for lab in ['rest_start', 'after_small_and_1m', 'after_big', 'rest_end']:
    v = [r for r in rows if r.get('tool') == 'rss' and r.get('label') == lab]
    if v:
        out.append("FIG rcfsd_rss_%-18s rcfs %10.1f %10.1f %10.1f MiB   n=%d (max over nodes, VmRSS)" % (lab, med([x['rss_kib'] / 1024 for x in v]), min(x['rss_kib'] / 1024 for x in v), max(x['rss_kib'] / 1024 for x in v), len(v)))
        out.append("FIG rcfsd_hwm_%-18s rcfs %10.1f %10.1f %10.1f MiB   n=%d (max over nodes, VmHWM)" % (lab, med([x['hwm_kib'] / 1024 for x in v]), min(x['hwm_kib'] / 1024 for x in v), max(x['hwm_kib'] / 1024 for x in v), len(v)))
print("\n".join(out))
for name, r in ratios:
    print("RATIO %s %.2f" % (name, r))
EOF
cp "$raw" "${BENCH_RAW_OUT:-/dev/null}" 2>/dev/null
exit 0
