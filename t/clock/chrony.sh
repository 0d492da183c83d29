#!/bin/bash
# The sampler against real chronyd servers on 127.0.0.1 (TAP).  chronyd -x
# never touches the system clock; under libfaketime it serves a shifted
# clock.  Skips cleanly without chronyd or faketime.
. "${top_srcdir:-$(dirname "$0")/../..}/t/lib.sh"
PROBE="$top_builddir/t/clock/clock_probe"
CHRONYD=$(command -v chronyd || { [ -x /usr/sbin/chronyd ] && echo /usr/sbin/chronyd; })
FAKETIME=$(command -v faketime)
watchdog 120

if [ -z "$CHRONYD" ]; then
	echo "1..0 # SKIP chronyd not installed"
	exit 0
fi
new_tmpdir TMP

port_free() { ! ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }
# start_chronyd NAME [faketime-offset]: sets PORT_<NAME>, PID_<NAME>.
start_chronyd() {
	local name=$1 shift_=$2 port try pid d=$TMP/$1
	mkdir -p "$d"
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		port_free "$port" || continue
		cat > "$d/chrony.conf" <<-CONF
		port $port
		bindaddress 127.0.0.1
		allow 127.0.0.1
		local stratum 8
		cmdport 0
		bindcmdaddress /
		pidfile $d/chronyd.pid
		driftfile $d/drift
		CONF
		if [ -n "$shift_" ]; then
			FAKETIME_DONT_FAKE_MONOTONIC=1 "$FAKETIME" -f "$shift_" \
				"$CHRONYD" -x -d -u root -f "$d/chrony.conf" > "$d/log" 2>&1 &
		else
			"$CHRONYD" -x -d -u root -f "$d/chrony.conf" > "$d/log" 2>&1 &
		fi
		pid=$!
		track_pid "$pid"
		track_pidfile "$d/chronyd.pid"   # under faketime, $pid is the wrapper's
		if wait_until 5 eval "! port_free $port"; then
			[ -s "$d/chronyd.pid" ] && pid=$(cat "$d/chronyd.pid")
			eval "PORT_$name=$port PID_$name=$pid"
			return 0
		fi
		kill -KILL "$pid" 2>/dev/null
	done
	diag "chronyd $name did not start: $(cat "$d/log")"
	return 1
}

# probe OUTVAR servers...: run the sampler, keep its one-line report.
probe() {
	local var=$1; shift
	local out
	out=$("$PROBE" -t 10 -n 8 "$@" 2> "$TMP/probe.err")
	diag "$out"
	sed 's/^/# /' "$TMP/probe.err"
	eval "$var=\$out"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# near VALUE TARGET TOL: |VALUE - TARGET| <= TOL (integers, ns)
near() { awk -v v="$1" -v t="$2" -v e="$3" 'BEGIN { d = v - t; if (d < 0) d = -d; exit !(v != "" && d <= e) }'; }

MS=1000000

# 1. Plain chronyd: the offset is about 0.
if start_chronyd A; then
	ok "chronyd A started on port $PORT_A"
	probe R "127.0.0.1:$PORT_A"
	check "synchronized to chronyd" [ "$(field "$R" state)" = synchronized ]
	check "offset within 1 ms of 0" near "$(field "$R" offset_ns)" 0 $MS
else
	nok "chronyd A started"
fi

# 2. chronyd under faketime +1.5 s: the offset is 1.5 s, the alarm is up.
if [ -z "$FAKETIME" ]; then
	for t in 1 2 3; do ok "# SKIP faketime not installed"; done
elif start_chronyd B +1.5s; then
	ok "chronyd B (faketime +1.5s) started on port $PORT_B"
	probe R "127.0.0.1:$PORT_B"
	check "offset within 1 ms of +1.5 s" near "$(field "$R" offset_ns)" $((1500 * MS)) $MS
	check "alarm past max offset (500 ms)" [ "$(field "$R" state)" = alarm ]
else
	nok "chronyd B started"
fi

# 3. Two plain servers and the shifted one: the shifted one is a
#    falseticker, the sampler follows the majority.
if [ -n "$FAKETIME" ] && [ -n "$PORT_A" ] && [ -n "$PORT_B" ] && start_chronyd C; then
	probe R "127.0.0.1:$PORT_A" "127.0.0.1:$PORT_B" "localhost:$PORT_C"
	check "majority of three wins over a +1.5 s falseticker" \
		near "$(field "$R" offset_ns)" 0 $MS
	check "falseticker reported" grep -q "127.0.0.1:$PORT_B falseticker" "$TMP/probe.err"
else
	for t in 1 2; do ok "# SKIP needs chronyd A, B, C and faketime"; done
fi

# 4. All servers down: unsynchronized, within the probe's deadline.
for p in $PID_A $PID_B $PID_C; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
start=$(date +%s)
out=$("$PROBE" -t 2 -n 1 "127.0.0.1:${PORT_A:-9}" 2>/dev/null); rc=$?
diag "$out"
unsynced() { [ "$rc" -eq 1 ] && [ "$(field "$out" state)" = unsynchronized ]; }
check "all servers down: unsynchronized" unsynced
check "  and the probe returned within its deadline" [ $(( $(date +%s) - start )) -le 4 ]

done_testing
