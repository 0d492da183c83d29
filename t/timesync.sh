#!/usr/bin/env bash
# Integration (TAP): time in a running cluster.  chronyd on loopback serves
# NTP to three nodes; rcfs status must show them synchronized with the right
# offset, peer offsets measured on Raft traffic, versions stamped with a
# hybrid logical clock that survives restarts, and a cluster that keeps
# working when NTP goes away.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
watchdog 300

CHRONYD=$(command -v chronyd || { [ -x /usr/sbin/chronyd ] && echo /usr/sbin/chronyd; })
if [ -z "$CHRONYD" ]; then echo "1..0 # SKIP chronyd not installed"; exit 0; fi

new_tmpdir W
udp_free() {   # no local UDP socket on port $1 (ports in /proc are hex)
	local hex
	for hex in $(awk 'FNR > 1 { n = split($2, a, ":"); print a[n] }' /proc/net/udp /proc/net/udp6 2>/dev/null); do
		[ $((16#$hex)) -eq "$1" ] && return 1
	done
	return 0
}
for try in 1 2 3 4 5 6 7 8; do
	P=$((20000 + RANDOM % 40000)); udp_free "$P" && break
done
cat > "$W/chrony.conf" <<EOC
port $P
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
bindcmdaddress /
pidfile $W/chronyd.pid
driftfile $W/drift
EOC
"$CHRONYD" -x -d -u root -f "$W/chrony.conf" > "$W/chronyd.log" 2>&1 &
CP=$!
track_pid $CP
track_pidfile "$W/chronyd.pid"
udp_bound() { ! udp_free "$P"; }
check "chronyd serves NTP on 127.0.0.1:$P" wait_until 10 udp_bound

cluster_up -n 3 --ntp "127.0.0.1:$P" --set 'ntp_poll_ms = 1000;' || { nok "cluster up"; done_testing; }
synced_all() { [ "$("$RCFS" --json status | grep -o '"state":"synchronized"' | wc -l)" -eq 3 ]; }
check "all three nodes synchronize" wait_until 30 synced_all
offs=$("$RCFS" --json status | grep -o '"offset_ns":-\?[0-9]*' | cut -d: -f2)
within() { for o in $offs; do [ "${o#-}" -lt 1000000 ] || return 1; done; [ -n "$offs" ]; }
check "each node's offset to the (same) clock is within 1 ms (${offs//$'\n'/ } ns)" within
check "status shows the source in use" grep -q "\"source\":\"127.0.0.1:$P\"" <<<"$("$RCFS" --json status)"
has_skew() { "$RCFS" --json status | grep -q '"cluster_skew_ns":'; }
check "peer clock offsets are measured on Raft traffic" wait_until 10 has_skew
check "rcfs status prints the clock table" bash -c '"$RCFS" status | grep -q "^ID   CLOCK"'

hlc_of() { "$RCFS" --json stat "$1" | sed 's/.*"hlc":\([0-9]*\).*/\1/'; }
echo a > "$W/a"
"$RCFS" put "$W/a" t/a; "$RCFS" put "$W/a" t/b
ha=$(hlc_of t/a); hb=$(hlc_of t/b)
check "versions carry increasing HLC stamps ($ha < $hb)" [ "$ha" -lt "$hb" ]
now_ms=$(( $(date +%s%N) / 1000000 ))
d=$(( (hb >> 16) - now_ms )); d=${d#-}
check "the HLC's physical part is wall time (within 10 s; off by $d ms)" [ "$d" -lt 10000 ]
for i in 1 2 3; do "$CLUSTER" kill -d "$CDIR" "$i"; done
for i in 1 2 3; do "$CLUSTER" start -d "$CDIR" "$i" >/dev/null; done
"$RCFS" --timeout 20 put "$W/a" t/c
hc=$(hlc_of t/c)
check "after a whole-cluster restart the HLC keeps increasing ($hb < $hc)" [ "$hb" -lt "$hc" ]

kill "$CP"
unsynced() { "$RCFS" --json status | grep -q '"state":"unsynchronized"'; }
check "NTP gone: nodes become unsynchronized" wait_until 30 unsynced
check "NTP gone: puts still work" "$RCFS" put "$W/a" t/d
check "NTP gone: HLC still orders versions" [ "$(hlc_of t/c)" -lt "$(hlc_of t/d)" ]

# A server whose clock is 1.5 s ahead (libfaketime): the node measures the
# shift within 1 ms and raises the alarm (max_clock_offset_ms = 500).
FAKETIME_BIN=$(command -v faketime)
if [ -n "$FAKETIME_BIN" ]; then
	"$CLUSTER" down -d "$CDIR" >/dev/null
	for try in 1 2 3 4 5 6 7 8; do Q=$((20000 + RANDOM % 40000)); udp_free "$Q" && break; done
	sed -e "s/^port .*/port $Q/" -e "s|$W/chronyd.pid|$W/chronyd2.pid|" -e "s|$W/drift|$W/drift2|" "$W/chrony.conf" > "$W/chrony2.conf"
	FAKETIME_DONT_FAKE_MONOTONIC=1 "$FAKETIME_BIN" -f +1.5s "$CHRONYD" -x -d -u root -f "$W/chrony2.conf" > "$W/chronyd2.log" 2>&1 &
	track_pid $!                    # faketime's PID ...
	track_pidfile "$W/chronyd2.pid" # ... and chronyd's own (faketime runs it as a child)
	udp_bound2() { ! udp_free "$Q"; }
	wait_until 10 udp_bound2
	cluster_up -n 1 --ntp "127.0.0.1:$Q" --set 'ntp_poll_ms = 1000;' || nok "skewed cluster up"
	alarm() { "$RCFS" --json status | grep -q '"state":"alarm"'; }
	check "a server 1.5 s ahead: the node raises the clock alarm" wait_until 30 alarm
	off=$("$RCFS" --json status | grep -o '"offset_ns":-\?[0-9]*' | cut -d: -f2)
	err=$(( off - 1500000000 )); err=${err#-}
	check "a server 1.5 s ahead: offset $off ns, within 1 ms of the shift" [ "$err" -lt 1000000 ]
else
	ok "# SKIP faketime not installed"
fi

done_testing
