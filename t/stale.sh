#!/usr/bin/env bash
# Integration (TAP): a node that was down while the membership changed comes
# back with a stale configuration (it does not know the new leader, and still
# lists a member that is gone) and catches up anyway (issue 14; the peer
# says where it listens in its PeerHello, docs/design.md "Membership").
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
watchdog 240

new_tmpdir W
cluster_up -n 3 || { nok "3-node cluster up"; done_testing; }
ok "3-node cluster up"
unset RCFS_NODES
rcfs() { "$RCFS" "$@"; }
"$CLUSTER" kill -d "$CDIR" 3 >/dev/null
for k in 1 2; do
	out=$("$CLUSTER" add -d "$CDIR" 2>&1)
	check "voter $((k + 3)) added while node 3 is down" grep -q "^RCFS_NODE_ID=$((k + 3))$" <<<"$out"
done
expect_rc 0 "leadership moves to node 4" rcfs -q member move-leader 4
leader_is() { rcfs --timeout 2 member list --json | grep -q "\"leader_id\":$1}"; }
check "node 4 leads" wait_until 10 leader_is 4
expect_rc 0 "node 1 is removed (--force)" rcfs -q member remove --force 1
"$CLUSTER" kill -d "$CDIR" 1 >/dev/null
: > "$CDIR/n1/removed"
for i in 1 2 3 4 5; do
	echo "after $i" > "$W/x$i"
	rcfs -q put "$W/x$i" "x/$i" || nok "put x/$i"
done
"$CLUSTER" start -d "$CDIR" 3 >/dev/null 2>&1
st3() { RCFS_CONF= "$RCFS" -n "$(cat "$CDIR/n3/address")" --timeout 2 --json status 2>/dev/null; }
commit4() { RCFS_CONF= "$RCFS" -n "$(cat "$CDIR/n4/address")" --timeout 2 --json status 2>/dev/null |
	grep -o '"id":4,[^}]*"commit_index":[0-9]*' | grep -o '[0-9]*$'; }
caught_up() {
	local c; c=$(commit4)
	[ -n "$c" ] && st3 | grep -q "\"id\":3,\"role\":\"follower\",\"term\":[0-9]*,\"leader\":4,\"commit_index\":[0-9]*,\"applied_index\":$c,"
}
check "node 3, back with a stale configuration, follows node 4 and catches up" wait_until 30 caught_up
check "it says why it talks to a node its configuration did not name" \
	grep -q "node 4 at .* is not in the configuration this node follows" "$CDIR/n3/rcfsd.log"
check "and then learns the membership from the log" \
	grep -q "members: node 4 joined the configuration as voter" "$CDIR/n3/rcfsd.log"
bad=0
for i in 1 2 3 4 5; do
	[ "$(RCFS_CONF= "$RCFS" -n "$(cat "$CDIR/n3/address")" --serializable cat "x/$i")" = "after $i" ] ||
		bad=$((bad + 1))
done
check "its own copy of the file table has the writes made while it was down ($bad missing)" [ "$bad" -eq 0 ]

# A node started but never added: both sides say so, with the command.
out=$("$CLUSTER" add -d "$CDIR" --no-member-add 2>/dev/null)
S=$(sed -n 's/^RCFS_NODE_ID=//p' <<<"$out")
check "a node started without member add (id '$S')" [ -n "$S" ]
check "it says it was never added, naming the command" \
	wait_until 30 grep -q "no configuration received yet: either this node was never added (add it from any member with \`rcfs member add $S " "$CDIR/n$S/rcfsd.log"
check "the leader says it keeps connecting but is not a member, naming the command" \
	wait_until 30 grep -q "node $S at .* keeps connecting but is not a member of this cluster: if it was never added, add it (\`rcfs member add $S " "$CDIR/n4/rcfsd.log"
ml=$("$RCFS" --timeout 5 member list --json)
check "and it is not in the member list" bash -c '[[ "$1" == *"\"members\":"* ]] && [[ "$1" != *"\"id\":$2,"* ]]' _ "$ml" "$S"
done_testing
