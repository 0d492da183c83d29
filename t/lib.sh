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

# ---- tshark with contrib/wireshark/rcfs.lua (the dissector tests) ----
# ws_setup DIR: LUA and PROTO_DIR (canonical paths: Wireshark's protobuf
# loader does not resolve ".."), and a clean profile in DIR/home (an
# installed copy of rcfs.lua would clash with the one loaded here).
ws_setup() {
	WS_DIR=$1
	SRC=$(cd "$top_srcdir" && pwd -P)
	LUA="$SRC/contrib/wireshark/rcfs.lua"
	PROTO_DIR="$SRC/proto"
	mkdir -p "$WS_DIR/home"
}
# ws_decode FILE TSHARK-ARGS...: read a capture with the dissector and the
# schema.  Heuristics first: the node's port is random and might be one some
# other dissector registers (users on port 7001 need no such option).
ws_decode() {
	local f=$1; shift
	HOME="$WS_DIR/home" XDG_CONFIG_HOME="$WS_DIR/home/.config" \
	tshark -n -r "$f" -X "lua_script:$LUA" \
		-o "uat:protobuf_search_paths:\"$PROTO_DIR\",\"TRUE\"" \
		-o protobuf.preload_protos:TRUE -o protobuf.pbf_as_hf:TRUE \
		-o tcp.try_heuristic_first:TRUE "$@" 2>>"$WS_DIR/decode.err"
}
# ws_capture_start PORT: capture tcp port PORT on lo into CAP
# (WS_DIR/cap.pcapng), tshark's PID in TPID (tracked); 1 if it does not start
# capturing within 20 s.
ws_capture_start() {
	CAP="$WS_DIR/cap.pcapng"
	tshark -n -i lo -f "tcp port $1" -B 64 -w "$CAP" > "$WS_DIR/capture.log" 2>&1 &
	TPID=$!
	track_pid "$TPID"
	wait_until 20 ws_capturing
}
ws_capturing() { grep -q "Capturing on" "$WS_DIR/capture.log" && [ -s "$CAP" ]; }
ws_cap_size() { stat -c %s "$CAP" 2>/dev/null || echo 0; }
ws_settled() { local a; a=$(ws_cap_size); sleep 0.3; [ "$a" -eq "$(ws_cap_size)" ]; }
# ws_capture_stop: once the file has stopped growing (bounded), stop tshark.
ws_capture_stop() {
	wait_until 10 ws_settled
	kill -TERM "$TPID" 2>/dev/null
	wait_until 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$TPID"
	wait "$TPID" 2>/dev/null
}

# ---- headless Chromium (the dashboard tests) ----
# chromium_find: CHROMIUM = the first browser installed; 1 if none.
chromium_find() {
	local c
	CHROMIUM=""
	for c in chromium chromium-browser google-chrome; do
		command -v "$c" >/dev/null 2>&1 && { CHROMIUM=$c; return 0; }
	done
	return 1
}
# chromium DIR ARGS...: run it headless and bounded, its profile and stderr
# (chromium.err) in DIR.
chromium() {
	local dir=$1; shift
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	    --disable-background-networking --disable-component-update --disable-sync \
	    --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$dir/profile" \
	    --virtual-time-budget=3000 "$@" 2>> "$dir/chromium.err"
}
# chromium_dom DIR URL OUT: the rendered dashboard DOM in OUT, with bounded
# retries (the first start of a fresh profile is slow on a busy machine).
chromium_dom() {
	local attempt
	for attempt in 1 2 3; do
		chromium "$1" --dump-dom "$2" > "$3"
		grep -q 'class="node' "$3" && return 0
		diag "dashboard not rendered yet (attempt $attempt)"
	done
	return 1
}
# is_png FILE: FILE starts with the PNG signature.
is_png() { [ "$(head -c 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

done_testing() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
	exit $?
}
