#!/usr/bin/env bash
# Integration (TAP): the elastic cluster (issue 14, docs/operations.md),
# with a writer running through all of it.
#  - `rcfs member list --json` has the contract's shape; 3 storage nodes join
#    3 voters; placement converges: every chunk on exactly N members, each
#    member near N/members of them.
#  - grow to 5 voters, remove the leader (drained, then removed; a new leader
#    takes over), shrink back to 3 voters.
#  - replace a killed voter whose storage is gone (remove --force + add):
#    N copies of every chunk come back.
#  - drain a storage node to zero chunks; a removed node restarted with its
#    old data is refused; a node of another cluster is refused (and refuses).
#  - every file the writer had acknowledged reads back intact.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
watchdog 900

new_tmpdir W
cluster_up -n 3 --set 'inline_max = 0;' || { nok "3-node cluster up"; done_testing; }
ok "3-node cluster up"
unset RCFS_NODES        # the client follows DIR/rcfs.conf, which add/remove keep current
rcfs() { "$RCFS" "$@"; }
members_json() { rcfs --timeout 5 member list --json 2>/dev/null; }
member_ids() { members_json | grep -o '"id":[0-9]*' | grep -o '[0-9]*' | sort -n | tr '\n' ' '; }
role_of() { members_json | grep -o "{\"id\":$1,[^}]*}" | sed -n 's/.*"role":"\([a-z]*\)".*/\1/p'; }
leader_id() { members_json | sed -n 's/.*"leader_id":\([0-9]*\)}$/\1/p'; }
voters() { members_json | grep -o '"role":"voter"' | wc -l; }
live_nodes() { local i; for i in $(seq 1 "$(cat "$CDIR/nodes")"); do [ -f "$CDIR/n$i/removed" ] || echo "$i"; done; }
chunks_on() { redis-cli -s "$CDIR/n$1/redis.sock" --scan --pattern 'rcfs:c:*' 2>/dev/null | sort; }

# Every chunk on exactly N=3 of the live members, and nowhere else.
placement_settled() {
	local i
	for i in $(live_nodes); do chunks_on "$i"; done | sort | uniq -c |
		awk '$1 != 3 { bad++ } END { exit bad > 0 || NR == 0 }'
}

# ---- the writer: puts and reads back, through every change ----
head -c 300000 /dev/urandom > "$W/blob"
writer() {
	local i=0
	while :; do
		i=$((i + 1))
		# A distinct 3-5 KiB file per put: one chunk each (inline_max = 0).
		head -c $((3000 + (i % 7) * 300)) "$W/blob" > "$W/w.tmp"
		printf '%08d' "$i" >> "$W/w.tmp"
		if "$RCFS" -q --timeout 10 put "$W/w.tmp" "w/$i" 2>>"$W/writer.err"; then
			cp "$W/w.tmp" "$W/acked.$i"
			echo "$i" >> "$W/acked"
		fi
		sleep 0.2
	done
}
: > "$W/acked"
writer &
WRITER=$!
track_pid "$WRITER"

# A few hundred chunks before anything changes.
i=0
while [ "$i" -lt 150 ]; do
	i=$((i + 1))
	head -c $((2000 + i * 10)) "$W/blob" > "$W/s.$i"
	printf 'seed%d' "$i" >> "$W/s.$i"
	rcfs -q put "$W/s.$i" "s/$i" || nok "seed put $i"
done
ok "150 seed files written"

json=$(members_json)
check "member list --json has the contract's shape" \
	grep -q '^{"members":\[{"id":[0-9]*,"address":"127\.0\.0\.[0-9]*:[0-9]*","role":"voter","state":"active",' <<<"$json"
check "three voters to start with" [ "$(voters)" -eq 3 ]
expect_rc 2 "member add with a bad address is a usage error" rcfs member add 9 nowhere
expect_rc 3 "member promote of a node that is not a member: not found" rcfs member promote 9
# A learner at an address nobody serves has never answered: not reachable
# (it showed reachable for its first election timeout, 150 ms, before).
rcfs -q member add 90 127.0.0.90:9 && j=$(members_json)
check "a member that never answered is not reachable" \
	grep -q '{"id":90,[^}]*"reachable":false' <<<"$j"
expect_rc 0 "it is removed again" rcfs -q member remove 90

# ---- storage nodes ----
out=$("$CLUSTER" add -d "$CDIR" --storage 2>&1)
S1=$(sed -n 's/^RCFS_NODE_ID=//p' <<<"$out")
check "rcfs-cluster add --storage prints RCFS_NODE_ID (got '$S1')" [ -n "$S1" ]
out=$("$CLUSTER" add -d "$CDIR" --storage 2>&1)
S2=$(sed -n 's/^RCFS_NODE_ID=//p' <<<"$out")
check "a second storage node (id '$S2')" [ -n "$S2" ]
out=$("$CLUSTER" add -d "$CDIR" --storage 2>&1)
S3=$(sed -n 's/^RCFS_NODE_ID=//p' <<<"$out")
check "a third storage node (id '$S3')" [ -n "$S3" ]
all_storage() { [ "$(role_of "$S1")" = storage ] && [ "$(role_of "$S2")" = storage ] &&
	[ "$(role_of "$S3")" = storage ]; }
check "3 voters + 3 storage nodes" all_storage
expect_rc 10 "a storage node is never promoted (refused)" rcfs member promote "$S1"
check "placement settles: every chunk on exactly 3 of the 6 members" wait_until 120 placement_settled
# Settled: every member reports nothing left to move, with the estimates.
settled_status() {
	local j
	j=$(rcfs --timeout 5 --json status 2>/dev/null) || return 1
	[ "$(grep -o '"rebalance_pending":0,"rebalance_pending_bytes":0,"rebalance_eta_s":0.0' <<<"$j" | wc -l)" -eq 6 ]
}
check "status: every member has 0 chunks (0 bytes, 0 s) left to move" wait_until 60 settled_status
total=$(for i in $(live_nodes); do chunks_on "$i"; done | sort -u | wc -l)
share_ok() {
	local i n
	for i in $(live_nodes); do
		n=$(chunks_on "$i" | wc -l)
		# N/members = 3/6 of the chunks each, within a generous band.
		[ "$n" -ge $((total * 30 / 100)) ] && [ "$n" -le $((total * 70 / 100)) ] || return 1
	done
}
check "each member holds near 3/6 of the $total chunks" share_ok
diag "chunks per member: $(for i in $(live_nodes); do printf '%s:%s ' "$i" "$(chunks_on "$i" | wc -l)"; done)"

# ---- grow to 5 voters ----
out=$("$CLUSTER" add -d "$CDIR" 2>&1)
V4=$(sed -n 's/^RCFS_NODE_ID=//p' <<<"$out")
out=$("$CLUSTER" add -d "$CDIR" 2>&1)
V5=$(sed -n 's/^RCFS_NODE_ID=//p' <<<"$out")
two_voters() { [ "$(role_of "${V4:-0}")" = voter ] && [ "$(role_of "${V5:-0}")" = voter ]; }
check "two voters added (ids '$V4' '$V5')" two_voters
check "five voters" [ "$(voters)" -eq 5 ]
check "placement settles over 8 members" wait_until 120 placement_settled

# ---- remove the leader ----
L=$(leader_id)
check "a leader is known ($L)" [ -n "$L" ]
expect_rc 0 "rcfs-cluster remove of the leader (drained, then removed)" \
	env RCFS_DRAIN_TIMEOUT=120 "$CLUSTER" remove -d "$CDIR" "$L"
new_leader() { local l; l=$(leader_id); [ -n "$l" ] && [ "$l" != 0 ] && [ "$l" != "$L" ]; }
check "another node leads" wait_until 20 new_leader
check "four voters" [ "$(voters)" -eq 4 ]

# ---- shrink to 3 voters ----
for v in $V5 $V4 1 2 3; do [ "$v" != "$L" ] && [ "$(role_of "$v")" = voter ] && { R=$v; break; }; done
expect_rc 0 "remove voter $R (drained)" env RCFS_DRAIN_TIMEOUT=120 "$CLUSTER" remove -d "$CDIR" "$R"
check "three voters" [ "$(voters)" -eq 3 ]

# ---- replace a killed voter whose storage is gone ----
for v in 1 2 3 $V4 $V5; do
	[ "$(role_of "$v")" = voter ] && [ "$v" != "$(leader_id)" ] && { K=$v; break; }
done
"$CLUSTER" kill -d "$CDIR" "$K" >/dev/null
"$CLUSTER" kill-redis -d "$CDIR" "$K" >/dev/null
rm -rf "$CDIR/n$K/appendonlydir"
expect_rc 10 "removing an unreachable voter without --force is refused (it cannot be drained)" \
	rcfs member remove "$K"
expect_rc 0 "member remove --force of the dead voter $K" rcfs -q member remove --force "$K"
: > "$CDIR/n$K/removed"
out=$("$CLUSTER" add -d "$CDIR" 2>&1)
V6=$(sed -n 's/^RCFS_NODE_ID=//p' <<<"$out")
check "a new voter replaces it (id '$V6')" [ "$(role_of "${V6:-0}")" = voter ]
check "three voters again" [ "$(voters)" -eq 3 ]
check "N copies of every chunk come back" wait_until 120 placement_settled
pass_logged() { grep -q "repair: pass complete: .* this node's share is back at N copies" "$CDIR"/n*/rcfsd.log; }
check "a node says when its share of the repair is complete" wait_until 60 pass_logged
# status reports repair per node: what the last pass found, what is still short.
repair_reported() {
	local j n
	j=$(rcfs --timeout 5 --json status 2>/dev/null) || return 1
	n=$(grep -o '"chunks_under_replicated":[0-9]*,"repair_fixed":[0-9]*,"repair_bytes":[0-9]*,"repair_rate_bps":[0-9]*' <<<"$j" | wc -l)
	[ "$n" -ge 1 ] && [ "$n" -eq "$(grep -o '"reachable":true' <<<"$j" | wc -l)" ] &&
		! grep -q '"chunks_still_short":[1-9]' <<<"$j"
}
check "status: every node reports its repair, and none has chunks left short" \
	wait_until 30 repair_reported

# ---- drain a storage node to zero ----
m=$(wc -l < "$CDIR/n$S2/rcfsd.log")
expect_rc 0 "remove storage node $S2 (drain)" rcfs -q member remove "$S2"
drained() { [ "$(chunks_on "$S2" | wc -l)" -eq 0 ] && ! member_ids | grep -qw "$S2"; }
check "it drains to zero chunks and leaves the configuration" wait_until 120 drained
check "its log says it was drained" grep -q "members: drained" <(tail -n +"$m" "$CDIR/n$S2/rcfsd.log")
"$CLUSTER" kill -d "$CDIR" "$S2" >/dev/null
check "placement settles without it" wait_until 120 placement_settled

# ---- a removed node restarted with its old data is refused ----
"$CLUSTER" start -d "$CDIR" "$R" >/dev/null 2>&1
refused_removed() { grep -q "node $R was removed from this cluster and is refused" "$CDIR"/n*/rcfsd.log; }
check "a removed node that comes back is refused with a log line" wait_until 20 refused_removed
not_member() { ! member_ids | grep -qw "$1"; }
check "and it is not a member" not_member "$R"
"$CLUSTER" kill -d "$CDIR" "$R" >/dev/null
"$CLUSTER" kill-redis -d "$CDIR" "$R" >/dev/null
expect_rc 10 "a removed id is never added again" rcfs member add "$R" "$(cat "$CDIR/n$R/address")"

# ---- a node of another cluster cannot join ----
# An address that belongs to another cluster's node is added by mistake: the
# two sides refuse each other (their cluster ids differ), nothing is mixed.
B="$W/other"
"$CLUSTER" up -n 1 -d "$B" > "$W/other.out" 2>&1 || nok "second cluster up"
clusters="$clusters $B"
expect_rc 0 "a learner at the other cluster's address is added (the operator's mistake)" \
	rcfs -q member add 20 "$(cat "$B/n1/address")"
other_refused() { grep -q "belongs to another cluster" "$B/n1/rcfsd.log"; }
check "the node of the other cluster refuses us (cluster id)" wait_until 20 other_refused
never_caught_up() { rcfs --timeout 2 member list --json | grep -q '"id":20,[^}]*"match_index":0,'; }
check "and never catches up here (match index 0)" never_caught_up
expect_rc 0 "the mistaken learner is removed" rcfs -q member remove 20
"$CLUSTER" down -d "$B" >/dev/null 2>&1

# ---- nothing acknowledged is lost ----
kill "$WRITER" 2>/dev/null; wait "$WRITER" 2>/dev/null
n=$(wc -l < "$W/acked")
check "the writer kept writing through the changes ($n acknowledged)" [ "$n" -ge 20 ]
lost=0
while read -r i; do
	if ! rcfs -q get "w/$i" "$W/back" 2>"$W/get.err" || ! cmp -s "$W/back" "$W/acked.$i"; then
		lost=$((lost + 1))
		[ "$lost" -le 3 ] && diag "w/$i: $(cat "$W/get.err")"
	fi
done < "$W/acked"
check "every acknowledged write reads back intact ($lost lost)" [ "$lost" -eq 0 ]
bad=0
for i in $(seq 1 150); do
	rcfs -q get "s/$i" "$W/back" 2>/dev/null && cmp -s "$W/back" "$W/s.$i" || bad=$((bad + 1))
done
check "every seed file reads back intact ($bad bad)" [ "$bad" -eq 0 ]
check "no session table bug" bash -c "! grep -q 'session table bug' $CDIR/n*/rcfsd.log"
done_testing
