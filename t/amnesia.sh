#!/usr/bin/env bash
# Integration (TAP): a node whose storage was lost never costs an
# acknowledged write (issue 20, docs/raft.md "Incarnations").
#  - The six steps of the issue: X acknowledged by the leader L and F2 while
#    F1 was down; F2's storage wiped and L down; F1 and the empty F2 must not
#    elect a leader ("unavailable" is right, "no such file" is not); once L
#    is back, X reads back, F2 is brought up to date and admitted, and then
#    serves as a voter again (F1 + F2 elect a leader with L down).
#  - The same six steps with F2's AOF cut back to before X instead of wiped
#    (a tail it had fsynced and acknowledged lost): its acknowledgement
#    marker shows the loss (docs/raft.md), and the outcome is the same.
#  - A follower whose stored log entry is damaged cuts its log there, takes
#    a new incarnation, and is repaired and admitted again.
#  - Empty storage without --bootstrap never founds a cluster.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
watchdog 600

new_tmpdir W
addr() { cut -d, -f"$1" <<<"$RCFS_NODES"; }
http() { cut -d, -f"$1" <<<"$RCFS_HTTP"; }
leader_once() {
	"$RCFS" --timeout 2 --json status 2>/dev/null | grep -o '"id":[0-9]*,"role":"leader"' | grep -o '[0-9]\+' | head -n 1
}
has_leader() { [ -n "$(leader_once)" ]; }
log_has() { grep -q -- "$2" "$CDIR/n$1/rcfsd.log"; }
# Lines matching PATTERN in the logs of every node but NODE: what a leader
# logs about NODE, wherever leadership was at the time (a busy leader of a
# sanitizer build may lose its term to the node it has just admitted).
others_count() {  # others_count NODE PATTERN
	local i n=0
	for i in 1 2 3; do
		[ "$i" = "$1" ] || n=$((n + $(grep -c -- "$2" "$CDIR/n$i/rcfsd.log")))
	done
	echo "$n"
}
others_more() { [ "$(others_count "$1" "$2")" -gt "$3" ]; }   # others_more NODE PATTERN COUNT
refused() {  # refused NODE: rcfs_raft_refused_total{reason="incarnation"} on NODE
	curl -s --max-time 2 "http://$(http "$1")/metrics" |
		sed -n 's/^rcfs_raft_refused_total{reason="incarnation"} \([0-9]*\).*/\1/p'
}
refused_others() {  # refused_others NODE: the same, summed over every node but NODE
	local i n=0
	for i in 1 2 3; do [ "$i" = "$1" ] || n=$((n + $(refused "$i" || true) + 0)); done
	echo "$n"
}

# A leader that stays one for a second (the first election may be followed
# by another while the cluster settles).
stable_leader() {
	local a b
	a=$(leader_once); sleep 1; b=$(leader_once)
	[ -n "$a" ] && [ "$a" = "$b" ] && L=$a
}
admitted_is() {  # admitted_is NODE true|false: NODE's entry in its own status (every member has one)
	RCFS_CONF= "$RCFS" -n "$(addr "$1")" --timeout 2 --json status 2>/dev/null |
		sed 's/},{"address"/}\n{"address"/g' | grep "\"id\":$1," |
		grep -q "\"incarnation\":\"[0-9a-f]\{16\}\",\"admitted\":$2}"
}
# six_steps LOSE WHAT LOGLINE: the issue's six steps on a new cluster, where
# step 3 runs `LOSE` on F2's storage (WHAT says what it does) and F2 must log
# LOGLINE when it starts again.  Sets L, F1, F2, NL.
six_steps() {
	local lose=$1 what=$2 logline=$3
	cluster_up -n 3 || { nok "3-node cluster up"; done_testing; }
	ok "3-node cluster up ($what)"
	L=
	wait_until 20 stable_leader || nok "a stable leader"
	L=$(leader_once)
	F=()
	for i in 1 2 3; do [ "$i" != "$L" ] && F+=("$i"); done
	F1=${F[0]} F2=${F[1]}
	diag "leader $L, followers $F1 and $F2"
	head -c 2500000 /dev/urandom > "$W/before"
	expect_rc 0 "a file written with every node up" "$RCFS" -q put "$W/before" before

	# 1. F1's rcfsd is killed (its redis keeps its data).
	"$CLUSTER" kill -d "$CDIR" "$F1" >/dev/null
	wait_until 5 aof_settled "$F2" || diag "F2's AOF still grows"
	AOF0=$(aof_size "$F2")
	# 2. X is acknowledged by L and F2.
	head -c 1500000 /dev/urandom > "$W/X"
	expect_rc 0 "step 2: put X through the leader (acknowledged by L and F2)" \
		env RCFS_CONF= "$RCFS" -q -n "$(addr "$L")" put "$W/X" x
	# 3. F2's storage is lost; L's rcfsd is killed.
	"$CLUSTER" kill -d "$CDIR" "$F2" >/dev/null
	"$CLUSTER" kill-redis -d "$CDIR" "$F2" >/dev/null
	check "step 3: $what" "$lose"
	"$CLUSTER" kill -d "$CDIR" "$L" >/dev/null
	# 4. F1, then F2 with what is left of its storage and the same config.
	m1=$(wc -l < "$CDIR/n$F1/rcfsd.log") m2=$(wc -l < "$CDIR/n$F2/rcfsd.log")
	"$CLUSTER" start -d "$CDIR" "$F1" >/dev/null 2>&1
	"$CLUSTER" start -d "$CDIR" "$F2" >/dev/null 2>&1
	check "step 4: F2 says why it is a new storage incarnation, not admitted" \
		wait_until 10 log_has "$F2" "$logline"
	check "step 4: F2's status shows its storage not admitted" admitted_is "$F2" false
	check "step 4: F1's status shows its storage admitted" admitted_is "$F1" true
	# 5. F1 and F2 must not elect a leader: X is unavailable, never missing.
	S="$(addr "$F1"),$(addr "$F2")"
	missing=0 served=0 end=$((SECONDS + 6))
	while [ "$SECONDS" -lt "$end" ]; do
		RCFS_CONF= "$RCFS" -q -n "$S" --timeout 1 get x "$W/x.5" 2>/dev/null; rc=$?
		[ "$rc" -eq 3 ] && missing=$((missing + 1))
		[ "$rc" -eq 0 ] && served=$((served + 1))
	done
	check "step 5: F1 and F2 never answer 'no such file' for X (got it $missing times)" [ "$missing" -eq 0 ]
	check "step 5: nor serve anything without L (unavailable, $served answers)" [ "$served" -eq 0 ]
	became_leader() { tail -n +"$(($2 + 1))" "$CDIR/n$1/rcfsd.log" | grep -q -- "-> leader"; }
	if became_leader "$F1" "$m1" || became_leader "$F2" "$m2"; then
		nok "step 5: neither F1 nor F2 became leader since step 4"
	else
		ok "step 5: neither F1 nor F2 became leader since step 4"
	fi
	# 6. L comes back: X reads back, and F2 is brought up to date and admitted.
	"$CLUSTER" start -d "$CDIR" "$L" >/dev/null 2>&1
	check "step 6: a leader is elected once L is back" wait_until 15 has_leader
	expect_rc 0 "step 6: get X" "$RCFS" -q --timeout 10 get x "$W/x.6"
	check "step 6: X is byte-identical" cmp -s "$W/X" "$W/x.6"
	NL=$(leader_once)
	check "the leader logs that F2's storage was lost (node $NL leads now)" \
		wait_until 20 others_more "$F2" "node $F2 answers with storage incarnation" 0
	check "the leader admits F2's new storage once it has caught up" \
		wait_until 20 others_more "$F2" "admitting node $F2's storage incarnation" 0
	r=$(refused_others "$F2")
	check "rcfs_raft_refused_total{reason=\"incarnation\"} counted F2's acknowledgements (${r:-none})" \
		[ "${r:-0}" -gt 0 ]
	check "F2's status shows its storage admitted" wait_until 10 admitted_is "$F2" true
}
aof_size() { stat -c %s "$(ls -t "$CDIR/n$1"/appendonlydir/*.incr.aof | head -n 1)"; }
aof_settled() { local a; a=$(aof_size "$1"); sleep 0.3; [ "$a" = "$(aof_size "$1")" ]; }
wipe_f2() {
	rm -rf "$CDIR/n$F2/appendonlydir" "$CDIR/n$F2/dump.rdb"
	[ ! -e "$CDIR/n$F2/appendonlydir" ]
}
cut_f2() {  # back to its size before X: every command since, X's entry among them, is gone
	local f; f=$(ls -t "$CDIR/n$F2"/appendonlydir/*.incr.aof | head -n 1)
	[ "$(stat -c %s "$f")" -gt "$AOF0" ] && truncate -s "$AOF0" "$f"
}

six_steps cut_f2 "F2's AOF is cut back to before X (its tail, X's entry in it, lost)" \
	"a tail it had acknowledged is lost"
check "F2's log names its acknowledgement marker" log_has "$F2" "acknowledgement marker $CDIR/n$F2/rcfs-ack"
"$CLUSTER" down -d "$CDIR" >/dev/null

six_steps wipe_f2 "F2's storage is gone" "empty storage and no --bootstrap"
f2_has() { RCFS_CONF= "$RCFS" -q -n "$(addr "$F2")" --serializable get "$1" - 2>/dev/null | cmp -s - "$2"; }
check "F2 holds X again (serializable read on F2)" wait_until 30 f2_has x "$W/X"
check "F2 holds the earlier file again" wait_until 30 f2_has before "$W/before"
copies() {  # copies NAME: the fewest nodes holding any one chunk of NAME
	local min=3 h n i
	for h in $("$RCFS" --json stat "$1" | grep -o '"chunk_list":\[[^]]*\]' | grep -o '[0-9a-f]\{64\}'); do
		n=0
		for i in 1 2 3; do [ "$(redis-cli -s "$CDIR/n$i/redis.sock" EXISTS "rcfs:c:$h")" = 1 ] && n=$((n + 1)); done
		[ "$n" -lt "$min" ] && min=$n
	done
	echo "$min"
}
three_copies() { [ "$(copies x)" -eq 3 ]; }
check "repair copies every chunk of X back to all three nodes" wait_until 30 three_copies
# A damaged log entry on a follower: cut there, a new incarnation, repaired
# and admitted again by the leader; nothing is lost.
D=$F1; [ "$D" = "$NL" ] && D=$F2
"$CLUSTER" kill -d "$CDIR" "$D" >/dev/null
admitted_before=$(others_count "$D" "admitting node $D's storage incarnation")
check "node $D's stored entry 2 is overwritten with garbage" \
	bash -c '[ "$(redis-cli -s "$1" HSET rcfs:raft:log 2 garbage)" = 0 ]' _ "$CDIR/n$D/redis.sock"
"$CLUSTER" start -d "$CDIR" "$D" >/dev/null 2>&1
check "node $D finds its Raft state damaged and takes a new incarnation" \
	wait_until 10 log_has "$D" "the stored Raft state is damaged (raft log entry 2 is damaged)"
check "the leader repairs node $D and admits it again" \
	wait_until 20 others_more "$D" "admitting node $D's storage incarnation" "$admitted_before"
d_has() { RCFS_CONF= "$RCFS" -q -n "$(addr "$D")" --serializable get x - 2>/dev/null | cmp -s - "$W/X"; }
check "node $D still serves X" wait_until 20 d_has
# Admitted, F2 is a voter again: with the leader down, F1 and F2 elect one.
"$CLUSTER" kill -d "$CDIR" "$NL" >/dev/null
R="$(for i in 1 2 3; do [ "$i" != "$NL" ] && addr "$i"; done | paste -sd,)"
leader_of_two() { RCFS_CONF= "$RCFS" -n "$R" --timeout 2 --json status 2>/dev/null | grep -q '"role":"leader"'; }
check "after admission, the two others (one of them F2) elect a leader" wait_until 15 leader_of_two
expect_rc 0 "and serve X" env RCFS_CONF= "$RCFS" -q -n "$R" --timeout 10 get x "$W/x.7"
check "X still byte-identical" cmp -s "$W/X" "$W/x.7"
"$CLUSTER" down -d "$CDIR" >/dev/null

# ---- empty storage without --bootstrap never founds a cluster --------------------
new_tmpdir D
"$CLUSTER" up -n 3 -d "$D" --no-start > "$D/up.out" 2>&1 || nok "rcfs-cluster up --no-start"
clusters="$clusters $D"
rm -f "$D"/n*/bootstrap                 # as if each were started by hand, without --bootstrap
for i in 1 2 3; do "$CLUSTER" start -d "$D" "$i" >/dev/null 2>&1; done
N3=$(sed -n 's/^RCFS_NODES=//p' "$D/up.out")
any_leader() { RCFS_CONF= "$RCFS" -n "$N3" --timeout 1 --json status 2>/dev/null | grep -q '"role":"leader"'; }
check "three empty storages without --bootstrap: every node says how to found a cluster" \
	bash -c 'for i in 1 2 3; do grep -q "start every founding node once with --bootstrap" "$1/n$i/rcfsd.log" || exit 1; done' _ "$D"
seen=0 end=$((SECONDS + 3))
while [ "$SECONDS" -lt "$end" ]; do any_leader && seen=1; sleep 0.2; done
check "and no leader is elected within 3 s" [ "$seen" -eq 0 ]
"$CLUSTER" down -d "$D" >/dev/null

done_testing
