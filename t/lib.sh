# TAP helpers for rcfs integration tests (sourced).  Every process a test
# starts is recorded and stopped by PID on exit; every wait is bounded.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
export RCFSD="${RCFSD:-$top_builddir/rcfsd}" RCFS="${RCFS:-$top_builddir/rcfs}"
export REDIS_SERVER="${REDIS_SERVER:-redis-server}"
# Small ASan quarantine so memory figures mean something under sanitizers.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=8:detect_leaks=1}"
CLUSTER="$top_srcdir/contrib/rcfs-cluster"

tap_n=0
tap_failed=0
test_pids=""
test_pidfiles=""
test_dirs=""
watchdog_pid=""

ok()  { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
nok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
diag() { echo "# $*"; }

# check DESC CMD...: ok if CMD succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
# expect_rc RC DESC CMD...: ok if CMD exits with RC.
expect_rc() {
	local want=$1 d=$2 rc; shift 2
	"$@"; rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$d"; else nok "$d (exit $rc, want $want)"; fi
}

# wait_until SECS CMD...: poll CMD every 50 ms until it succeeds or SECS pass.
wait_until() {
	local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# track_pid PID: kill it at exit.  It is disowned (no "Killed" noise), so do
# not `wait` for it: record a PID you wait for in test_pids directly.
track_pid() { test_pids="$test_pids $1"; disown "$1" 2>/dev/null; }
# track_pidfile FILE: at exit, kill the PID written in FILE (for daemons that
# run under a wrapper such as faketime, whose own PID is not the daemon's).
track_pidfile() { test_pidfiles="$test_pidfiles $1"; }
# new_tmpdir VAR: make a directory removed at exit (kept if a test failed).
new_tmpdir() { local d; d=$(mktemp -d "${TMPDIR:-/tmp}/rcfs-test.XXXXXX"); test_dirs="$test_dirs $d"; eval "$1=\$d"; }

cleanup() {
	local d p
	for d in $clusters; do "$CLUSTER" down -d "$d" >/dev/null 2>&1; done
	for p in $test_pids; do kill -KILL "$p" 2>/dev/null; done
	for f in $test_pidfiles; do [ -s "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
	[ -n "$watchdog_pid" ] && kill "$watchdog_pid" 2>/dev/null
	if [ "$tap_failed" -eq 0 ]; then
		for d in $test_dirs; do rm -rf "$d"; done
	else
		diag "logs kept in:$test_dirs"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# watchdog SECS: end the test (and, through the trap, everything it started)
# if it runs longer than SECS.
watchdog() {
	# sleep must not hold the test's stdout open (make check waits for EOF).
	( sleep "$1" >/dev/null 2>&1 & sp=$!; trap 'kill $sp 2>/dev/null; exit 0' TERM
	  wait $sp; echo "not ok - watchdog: test exceeded $1 s"; kill -TERM $$ ) &
	watchdog_pid=$!
}

clusters=""
# cluster_up ARGS...: start a cluster in a fresh directory; sets CDIR,
# RCFS_CONF, RCFS_NODES and RCFS_HTTP.
cluster_up() {
	new_tmpdir CDIR
	clusters="$clusters $CDIR"
	"$CLUSTER" up -d "$CDIR" "$@" > "$CDIR/up.out" 2>&1 || { cat "$CDIR/up.out" >&2; return 1; }
	export RCFS_CONF="$CDIR/rcfs.conf"
	RCFS_NODES=$(sed -n 's/^RCFS_NODES=//p' "$CDIR/up.out")
	RCFS_HTTP=$(sed -n 's/^RCFS_HTTP=//p' "$CDIR/up.out")
	export RCFS_NODES RCFS_HTTP
}

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
	exit $?
}
