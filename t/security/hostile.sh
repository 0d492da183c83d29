#!/usr/bin/env bash
# Security (TAP): a 3-node cluster with authentication, attacked through its
# client port with t/security/hostile (malformed frames, forged Raft, bad
# MACs, replays, slow senders, a connection flood, a read-only key that tries
# to write, a rate-limited key).  After each attack the node must still serve
# a legitimate client, and no acknowledged file may be lost or changed.
. "${top_srcdir:-$(dirname "$0")/../..}/t/lib.sh"
watchdog 600
HOSTILE="$top_builddir/t/security/hostile"

new_tmpdir W
cluster_up -n 3 --auth --client-key ro:read-only --client-key slow:read-only \
	--set 'frame_timeout_ms = 1000;' --set 'max_connections = 48;' --set 'idle_timeout_ms = 3000;' \
	|| { nok "3-node cluster with --auth up"; done_testing; }
ok "3-node cluster with --auth up"
unset RCFS_NODES RCFS_KEY_FILE   # every call below says which key it uses
export RCFS_CONF
A1=$(cut -d, -f1 < <(sed -n 's/^nodes = "\(.*\)";/\1/p' "$CDIR/rcfs.conf"))
KEY="$CDIR/client.key"
RO="$CDIR/ro.key"

# A legitimate file, written before the attacks and checked after each.
head -c 2500000 /dev/urandom > "$W/f1"
expect_rc 0 "put with the read-write key" "$RCFS" -q put "$W/f1" sec/f1
serves() {   # the attacked node still serves a legitimate client, data intact
	rm -f "$W/out"
	"$RCFS" -q -n "$A1" -k "$KEY" --timeout 10 get sec/f1 "$W/out" && cmp -s "$W/f1" "$W/out"
}
term() { "$RCFS" -n "$A1" -k "$KEY" --timeout 2 --json status 2>/dev/null | grep -o '"term":[0-9]*' | head -n 1 | cut -d: -f2; }
alive_all() { for i in 1 2 3; do kill -0 "$(cat "$CDIR/n$i/rcfsd.pid")" 2>/dev/null || return 1; done; }

# --- authentication -----------------------------------------------------------
# (Without $RCFS_CONF and $RCFS_KEY_FILE: the client config's key_file applies with -n.)
env -u RCFS_CONF -u RCFS_KEY_FILE "$RCFS" -n "$A1" --timeout 5 ls > /dev/null 2> "$W/err"; rc=$?
check "no key: auth exit code 6 (got $rc)" [ "$rc" -eq 6 ]
check "no key: the error says authentication is required" grep -q "authentication required" "$W/err"
env -u RCFS_CONF -u RCFS_KEY_FILE "$RCFS" -n "$A1" --timeout 5 status > "$W/st" 2>/dev/null; rc=$?
check "no key: status exits 6 (got $rc)" [ "$rc" -eq 6 ]
check "no key: status shows the node as auth-failed, not unreachable" \
	bash -c 'grep -q "auth-failed *authentication required" "$1" && ! grep -q unreachable "$1"' _ "$W/st"
"$RCFS" -n "$A1" -k "$CDIR/cluster.key" --timeout 5 ls > /dev/null 2> "$W/err"; rc=$?
check "wrong key: auth exit code 6 (got $rc)" [ "$rc" -eq 6 ]
check "wrong key: the error says the node does not know it" grep -q "does not know this key" "$W/err"
cp "$KEY" "$W/loose.key"; chmod 644 "$W/loose.key"
"$RCFS" -n "$A1" -k "$W/loose.key" ls > /dev/null 2> "$W/err"; rc=$?
check "world-readable key file refused (exit $rc)" [ "$rc" -eq 6 ] && grep -q "chmod 600" "$W/err"
check "read-only key may list" "$RCFS" -n "$A1" -k "$RO" --timeout 5 ls
"$RCFS" -n "$A1" -k "$RO" --timeout 5 put "$W/f1" sec/ro > /dev/null 2> "$W/err"; rc=$?
check "read-only key may not put: exit 6 (got $rc)" [ "$rc" -eq 6 ]
check "read-only put: permission denied message" grep -q "permission denied" "$W/err"
"$RCFS" -n "$A1" -k "$RO" --timeout 5 rm sec/f1 > /dev/null 2>&1; rc=$?
check "read-only key may not rm: exit 6 (got $rc)" [ "$rc" -eq 6 ]
check "encrypted session works (--encrypt)" "$RCFS" -q -n "$A1" -k "$KEY" --encrypt get sec/f1 "$W/enc.out"
check "encrypted get returns the file" cmp -s "$W/f1" "$W/enc.out"
check "the nodes log that authentication is on" grep -q "authentication on" "$CDIR/n1/rcfsd.log"

# --- malformed frames -------------------------------------------------------------
for m in truncated hugelen badmagic badversion unknowntype random; do
	r=$("$HOSTILE" "$A1" -t 5 "$m")
	case "$r" in closed|"error 10") ok "$m: node refused ($r)" ;; *) nok "$m: node refused (got '$r')" ;; esac
	check "$m: node still serves, data intact" serves
done

# --- forged Raft ------------------------------------------------------------------
t0=$(term)
r=$("$HOSTILE" "$A1" raft-noauth)
case "$r" in closed|"error 10") ok "unauthenticated PeerHello + RequestVote refused ($r)" ;; *) nok "unauthenticated Raft refused (got '$r')" ;; esac
r=$("$HOSTILE" "$A1" -k "$KEY" raft-client)
check "a client key cannot send Raft: connection closed ($r)" [ "$r" = closed ]
t1=$(term)
check "term unchanged by forged votes ($t0 -> $t1)" [ -n "$t0" ] && [ "$t0" = "$t1" ]
check "after forged Raft: node serves, data intact" serves

# --- MAC and replay -----------------------------------------------------------------
r=$("$HOSTILE" "$A1" -k "$KEY" badmac)
check "frame with a bad MAC: connection closed ($r)" [ "$r" = closed ]
check "bad MAC logged" grep -q "bad MAC" "$CDIR/n1/rcfsd.log"
r=$("$HOSTILE" "$A1" -k "$KEY" replay)
check "replayed frame: connection closed ($r)" [ "$r" = closed ]
check "replay logged" grep -q "out-of-sequence" "$CDIR/n1/rcfsd.log"
check "after MAC attacks: node serves, data intact" serves

# --- slow and silent senders ------------------------------------------------------------
s0=$(date +%s)
r=$("$HOSTILE" "$A1" -t 8 silent)
check "silent connection closed (handshake deadline) ($r, $(( $(date +%s) - s0 )) s)" [ "$r" = closed ]
r=$("$HOSTILE" "$A1" -t 8 slowloris)
check "slowloris sender closed ($r)" [ "$r" = closed ]
check "slow sender logged" grep -q "handshake not completed\|slow sender" "$CDIR/n1/rcfsd.log"
check "after slow senders: node serves, data intact" serves

# --- connection flood -------------------------------------------------------------------
"$HOSTILE" "$A1" flood 150 12 > "$W/flood.out" 2>&1 &
fp=$!; test_pids="$test_pids $fp"
sleep 2   # let the flood fill max_connections (48) first
head -c 300000 /dev/urandom > "$W/f2"
check "during a flood of 150 connections: put succeeds" "$RCFS" -q -n "$A1" -k "$KEY" --timeout 20 put "$W/f2" sec/f2
check "during the flood: get of the old file succeeds" serves
wait "$fp"
check "the node dropped flood connections ($(cat "$W/flood.out"))" grep -q "closed [1-9]" "$W/flood.out"
check "refused/dropped connections logged" grep -q "max_connections reached" "$CDIR/n1/rcfsd.log"

# --- rate limiting ------------------------------------------------------------------------
# The 'slow' key gets 2 requests/s from a node restarted with that limit.
sed -i 's/{ name = "slow"; role = "read-only";/{ name = "slow"; role = "read-only"; rate_requests = 2;/' "$CDIR"/n*/rcfsd.conf
"$CLUSTER" kill -d "$CDIR" 1 -s TERM > /dev/null
"$CLUSTER" start -d "$CDIR" 1 > /dev/null 2>&1
r=$("$HOSTILE" "$A1" -k "$CDIR/slow.key" burst 30)
set -- $r
check "token bucket: a burst of 30 gets some answers ($r)" [ "${2:-0}" -ge 2 ]
check "token bucket: and some E_RATE_LIMITED ($r)" [ "${4:-0}" -ge 10 ]
rc=0
for i in $(seq 1 40); do
	"$RCFS" -n "$A1" -k "$CDIR/slow.key" --timeout 5 --serializable ls > /dev/null 2> "$W/err"; rc=$?
	[ "$rc" -ne 0 ] && break
done
check "rcfs exits 9 when rate limited (got $rc)" [ "$rc" -eq 9 ]
check "rate limited message" grep -q "rate limited" "$W/err"
check "the read-write key is not limited by 'slow'" serves

# --- idle connections ---------------------------------------------------------------------
r=$("$HOSTILE" "$A1" -k "$KEY" -t 8 ok)
check "an authenticated request is answered ($r)" [ "$r" = frame ]
r=$("$HOSTILE" "$A1" -k "$KEY" -t 8 silent)
check "an idle authenticated connection is closed after idle_timeout_ms ($r)" [ "$r" = closed ]

# --- nothing lost -------------------------------------------------------------------------
check "every node is still running" alive_all
rm -f "$W/out2"
check "f2 (written during the flood) reads back" "$RCFS" -q -k "$KEY" get sec/f2 "$W/out2"
check "f2 intact" cmp -s "$W/f2" "$W/out2"
check "f1 intact at the end" serves
done_testing
