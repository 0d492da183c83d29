#!/usr/bin/env bash
# Integration (TAP): 3- and 5-node clusters of real rcfsd + redis-server on
# loopback.  Replication, linearizable metadata through any node, failover of
# the leader, follower restarts, loss of quorum, whole-cluster power cycles,
# corrupt replicas.  Acknowledged data must never be lost.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
watchdog 900

new_tmpdir W
cluster_up -n 3 || { nok "3-node cluster up"; done_testing; }
ok "3-node cluster up"
C3=$CDIR
IFS=, read -r A1 A2 A3 <<<"$RCFS_NODES"
addr() { cut -d, -f"$1" <<<"$RCFS_NODES"; }
leader_once() { "$RCFS" --timeout 2 --json status 2>/dev/null | grep -o '"id":[0-9]*,"role":"leader"' | grep -o '[0-9]\+' | head -n 1; }
leader() {  # the current leader's id, waiting (bounded) through an election; "" if none
	local l i
	for i in $(seq 1 100); do
		l=$(leader_once)
		[ -n "$l" ] && { echo "$l"; return 0; }
		sleep 0.1
	done
	return 1
}
field() {  # field NODE_ADDR KEY: a number from that node's own status
	RCFS_CONF= "$RCFS" -n "$1" --timeout 1 --json status 2>/dev/null | grep -o "\"$2\":[0-9]*" | head -n 1 | cut -d: -f2
}
same_applied() {  # every listed node has applied what the leader committed
	local want a; want=$(field "$(addr "$(leader)")" commit_index)
	[ -n "$want" ] || return 1
	for a in "$@"; do [ "$(field "$a" applied_index)" = "$want" ] || return 1; done
}
ls_on() { RCFS_CONF= "$RCFS" -n "$1" --serializable ls; }
export -f ls_on

# ---- status ----------------------------------------------------------------------
st=$("$RCFS" --json status)
check "status --json: three nodes" [ "$(grep -o '"role":' <<<"$st" | wc -l)" -eq 3 ]
check "status --json: exactly one leader" [ "$(grep -o '"role":"leader"' <<<"$st" | wc -l)" -eq 1 ]
node3_knows_leader() {
	"$RCFS" --json status | grep -q '"id":3,"role":"[a-z]*","term":[1-9][0-9]*,"leader":[1-3],"commit_index":[0-9]*,"applied_index"'
}
check "status --json: ids, terms, leader, indexes (node 3 learns the leader)" wait_until 5 node3_knows_leader

# ---- files through any node ---------------------------------------------------------
head -c 3500000 /dev/urandom > "$W/f1"
check "put through node 1" env RCFS_CONF= "$RCFS" -n "$A1" put "$W/f1" a/f1
check "get through node 2" bash -c 'RCFS_CONF= "$RCFS" -n "$1" get a/f1 - | cmp -s - "$2"' _ "$A2" "$W/f1"
check "get through node 3" bash -c 'RCFS_CONF= "$RCFS" -n "$1" get a/f1 - | cmp -s - "$2"' _ "$A3" "$W/f1"
check "stat through node 3" bash -c 'RCFS_CONF= "$RCFS" -n "$1" --json stat a/f1 | grep -q "\"size\":3500000"' _ "$A3"
copies() {  # copies HEX: how many nodes hold chunk HEX
	local n=0 i
	for i in 1 2 3; do [ "$(redis-cli -s "$C3/n$i/redis.sock" EXISTS "rcfs:c:$1")" = 1 ] && n=$((n + 1)); done
	echo $n
}
h1=$("$RCFS" --json stat a/f1 | sed 's/.*"chunk_list":\["\([0-9a-f]*\)".*/\1/')
check "every chunk is on N=3 nodes" [ "$(copies "$h1")" -eq 3 ]
for i in $(seq 1 60); do echo "small $i" > "$W/s$i"; done
ok_small=0
for i in $(seq 1 60); do "$RCFS" put "$W/s$i" "small/$i" && ok_small=$((ok_small + 1)); done
check "60 small files put" [ "$ok_small" -eq 60 ]
check "ls through node 2 (linearizable) sees all 60" [ "$(RCFS_CONF= "$RCFS" -n "$A2" ls small/ | wc -l)" -eq 60 ]
check "rm through node 3" env RCFS_CONF= "$RCFS" -n "$A3" rm small/60
expect_rc 3 "removed file is gone through node 1" env RCFS_CONF= "$RCFS" -n "$A1" get small/60 -
check "every node applied the same log" wait_until 10 same_applied "$A1" "$A2" "$A3"
check "every node has the same file table (60 names)" bash -c '[ "$(ls_on "$1" | wc -l)" -eq 60 ]' _ "$A1"
check "every node has the same file table" bash -c '[ "$(ls_on "$1")" = "$(ls_on "$2")" ] && [ "$(ls_on "$2")" = "$(ls_on "$3")" ]' _ "$A1" "$A2" "$A3"

head -c $((200 * 1024 * 1024)) /dev/urandom > "$W/big"
check "put 200 MiB through the cluster" "$RCFS" -q put "$W/big" a/big
check "get 200 MiB through another node, identical" bash -c 'RCFS_CONF= "$RCFS" -n "$1" -q get a/big - | cmp -s - "$2"' _ "$A3" "$W/big"
rm -f "$W/big"

# ---- corrupt or missing replicas ------------------------------------------------------
for i in 1 2; do redis-cli -s "$C3/n$i/redis.sock" SETRANGE "rcfs:c:$h1" 7 "BAD" >/dev/null; done
check "get succeeds with 2 of 3 replicas corrupt" bash -c '"$RCFS" get a/f1 - | cmp -s - "$1"' _ "$W/f1"
good_everywhere() {  # every node's copy of chunk $1 hashes to its name
	local i
	for i in 1 2 3; do
		# redis-cli prints the value and a newline: drop the newline
		[ "$(redis-cli -s "$C3/n$i/redis.sock" GET "rcfs:c:$1" | head -c -1 | sha256sum | cut -c1-64)" = "$1" ] || return 1
	done
}
check "repair rewrites the corrupt replicas from the good one" wait_until 20 good_everywhere "$h1"
# The node serving a get sends its copy unhashed (the client checks it): a
# corrupt copy there fails the client's check, the client asks again, and the
# node then verifies, falls back to a good replica and marks its own.
redis-cli -s "$C3/n1/redis.sock" SETRANGE "rcfs:c:$h1" 7 "BAD" >/dev/null
check "get through the node whose copy is corrupt: the client's check catches it, the retry reads a good replica" \
	bash -c 'RCFS_CONF= "$RCFS" -n "$1" get a/f1 - | cmp -s - "$2"' _ "$A1" "$W/f1"
check "... and that copy is repaired" wait_until 20 good_everywhere "$h1"
for i in 1 2 3; do redis-cli -s "$C3/n$i/redis.sock" SETRANGE "rcfs:c:$h1" 7 "BAD" >/dev/null; done
expect_rc 5 "get fails (exit 5) when every replica is corrupt" bash -c '"$RCFS" get a/f1 - >/dev/null 2>&1'
"$RCFS" put "$W/f1" a/f1-again >/dev/null   # re-put rewrites every replica
check "a re-put heals the replicas" wait_until 10 good_everywhere "$h1"
check "and the file reads again" bash -c '"$RCFS" get a/f1 - | cmp -s - "$1"' _ "$W/f1"

# ---- a follower goes away and comes back ---------------------------------------------
L=$(leader)
F=$(( L % 3 + 1 ))
"$CLUSTER" kill -d "$C3" "$F"
head -c 2500000 /dev/urandom > "$W/f2"
check "follower $F down: puts still succeed (W=2)" "$RCFS" put "$W/f2" b/f2
check "follower $F down: gets still succeed" bash -c '"$RCFS" get b/f2 - | cmp -s - "$1"' _ "$W/f2"
"$CLUSTER" start -d "$C3" "$F" >/dev/null
check "follower $F restarted: catches up" wait_until 15 same_applied "$(addr "$F")"
same_table() { [ "$(ls_on "$1")" = "$(ls_on "$2")" ]; }
if wait_until 10 same_table "$(addr "$F")" "$(addr "$L")"; then
	ok "follower $F restarted: has every file (same file table as node $L)"
else
	nok "follower $F restarted: has every file (same file table as node $L)"
	diff <(ls_on "$(addr "$F")") <(ls_on "$(addr "$L")") | sed 's/^/# /' | head -20
	for i in 1 2 3; do diag "node $i: $(RCFS_CONF= "$RCFS" -n "$(addr "$i")" --json status 2>&1 | head -c 300)"; done
fi
all_copies() {  # every chunk of file $1 is on all 3 nodes
	local h
	for h in $("$RCFS" --json stat "$1" | sed 's/.*"chunk_list":\[\(.*\)\].*/\1/' | tr -d '"' | tr , ' '); do
		[ "$(copies "$h")" -eq 3 ] || return 1
	done
}
check "repair restores 3 copies of what was written while $F was down" wait_until 20 all_copies b/f2
check "stat -v shows every chunk on nodes 1,2,3" bash -c '"$RCFS" stat -v b/f2 | grep -c "on nodes 1,2,3$" | grep -qx 3'
# A node named twice (as a leader hint adds a node's own address beside a
# proxy's) is still one replica.
dup="${RCFS_NODES%%,*},$RCFS_NODES"
check "stat -v counts a node named twice in -n once" bash -c '"$RCFS" -n "$1" stat -v b/f2 | grep -c "on nodes 1,2,3$" | grep -qx 3' _ "$dup"
hx=$("$RCFS" --json stat b/f2 | sed 's/.*"chunk_list":\["\([0-9a-f]*\)".*/\1/')
redis-cli -s "$C3/n$F/redis.sock" DEL "rcfs:c:$hx" >/dev/null
check "a chunk deleted on one replica: get still succeeds" bash -c '"$RCFS" get b/f2 - | cmp -s - "$1"' _ "$W/f2"
check "repair puts the deleted replica back" wait_until 20 all_copies b/f2

# ---- the leader is killed during a large put -------------------------------------------
head -c $((40 * 1024 * 1024)) /dev/urandom > "$W/f3"
L=$(leader)
"$RCFS" -q --timeout 20 put "$W/f3" c/f3 > "$W/f3.out" 2>&1 &
putpid=$!
test_pids="$test_pids $putpid"     # killed at exit if still running; not disowned: we wait for it
wait_until 10 test -s "$C3/n$L/redis.sock"      # it runs
sleep 0.3                                        # let the put get going (not a wait for a condition)
L=$(leader) || nok "a leader just before the kill"  # the leader now: a busy leader of a sanitizer build may have lost its term meanwhile
"$CLUSTER" kill -d "$C3" "$L"
wait "$putpid"; rc=$?
if [ "$rc" -eq 0 ]; then
	check "leader killed mid-put: put succeeded and the file is complete" \
		bash -c '"$RCFS" get c/f3 - | cmp -s - "$1"' _ "$W/f3"
else
	check "leader killed mid-put: put failed cleanly (exit 4, one line)" \
		bash -c '[ "$1" -eq 4 ] && [ "$(wc -l < "$2")" -eq 1 ]' _ "$rc" "$W/f3.out"
fi
newl() { local l; l=$(leader_once); [ -n "$l" ] && [ "$l" != "$L" ]; }
check "a new leader is elected" wait_until 10 newl
check "the followers saw leader $L's connections close and did not wait out an election timeout" \
	bash -c 'cat "$@" | grep -q "connection from leader $0 closed: electing a leader now"' "$L" \
	"$C3"/n[123]/rcfsd.log
check "puts succeed after the failover" "$RCFS" put "$W/f2" c/after
check "earlier files intact after the failover" bash -c '"$RCFS" get b/f2 - | cmp -s - "$1"' _ "$W/f2"
"$CLUSTER" start -d "$C3" "$L" >/dev/null

# ---- quorum lost, then regained -------------------------------------------------------------
L=$(leader) || nok "a leader exists before the quorum test"
D1=$(( L % 3 + 1 )); D2=$(( D1 % 3 + 1 ))
"$CLUSTER" kill -d "$C3" "$D1"; "$CLUSTER" kill -d "$C3" "$L"
t0=$(date +%s%N)
out=$("$RCFS" --timeout 3 put "$W/f2" d/noquorum 2>&1); rc=$?
t1=$(date +%s%N)
check "two nodes down: put fails with exit 4" [ "$rc" -eq 4 ]
check "two nodes down: within --timeout (took $(( (t1 - t0) / 1000000 )) ms)" [ $(( (t1 - t0) / 1000000 )) -lt 6000 ]
check "two nodes down: says why ($out)" grep -qE "no (leader|quorum): 1 of 3 nodes reachable \(need 2\)" <<<"$out"
"$CLUSTER" start -d "$C3" "$D1" >/dev/null
check "one node back: puts succeed again" wait_until 15 "$RCFS" --timeout 2 put "$W/f2" d/quorum
"$CLUSTER" start -d "$C3" "$L" >/dev/null

# ---- whole-cluster power cycle ---------------------------------------------------------------
before=$("$RCFS" ls)
check "power cycle: the listing before is not empty" [ "$(wc -l <<<"$before")" -gt 60 ]
for i in 1 2 3; do "$CLUSTER" kill -d "$C3" "$i"; "$CLUSTER" kill-redis -d "$C3" "$i"; done
for i in 1 2 3; do "$CLUSTER" start -d "$C3" "$i" >/dev/null; done
has_leader() { [ -n "$(leader_once)" ]; }
check "power cycle: a leader is elected" wait_until 15 has_leader
check "power cycle: every acknowledged file is listed" bash -c '[ "$("$RCFS" ls)" = "$1" ]' _ "$before"
check "power cycle: contents intact" bash -c '"$RCFS" get b/f2 - | cmp -s - "$1" && "$RCFS" get small/7 - | cmp -s - "$2"' _ "$W/f2" "$W/s7"
"$CLUSTER" down -d "$C3" >/dev/null

# ---- log compaction: a node far behind gets a snapshot ------------------------------------------
cluster_up -n 3 --set 'snapshot_entries = 16;' || nok "compaction cluster up"
C3s=$CDIR
L=$(leader); F=$(( L % 3 + 1 ))
"$CLUSTER" kill -d "$C3s" "$F"
ok_n=0
for i in $(seq 1 50); do "$RCFS" put "$W/s$i" "snap/$i" && ok_n=$((ok_n + 1)); done
check "compaction: 50 puts while node $F is down" [ "$ok_n" -eq 50 ]
check "compaction: the leader took a snapshot and compacted its log" grep -q "log compacted" "$C3s/n$L/rcfsd.log"
check "compaction: the leader keeps no snapshot bytes (redis holds the state)" \
	[ "$(redis-cli -s "$C3s/n$L/redis.sock" HEXISTS rcfs:raft:snap data)" = 0 ]
check "compaction: no bytes taken while every follower keeps up" \
	bash -c '! grep -q "for a follower" "$1"' _ "$C3s/n$L/rcfsd.log"
"$CLUSTER" start -d "$C3s" "$F" >/dev/null
check "compaction: node $F catches up" wait_until 20 same_applied "$(addr "$F")"
check "compaction: node $F installed a snapshot" grep -q "snapshot at index [0-9]* installed" "$C3s/n$F/rcfsd.log"
check "compaction: the leader took the bytes when node $F needed them" grep -q "bytes) for a follower" "$C3s/n$L/rcfsd.log"
check "compaction: node $F has all 50 files" bash -c '[ "$(ls_on "$1" | grep -c "^snap/")" -eq 50 ]' _ "$(addr "$F")"
"$CLUSTER" kill -d "$C3s" "$F"; "$CLUSTER" start -d "$C3s" "$F" >/dev/null
check "compaction: node $F restarts from its snapshot" wait_until 10 grep -q "raft: started at term [0-9]*, snapshot [1-9]" "$C3s/n$F/rcfsd.log"
check "compaction: and still has all 50 files" bash -c '[ "$(ls_on "$1" | grep -c "^snap/")" -eq 50 ]' _ "$(addr "$F")"
check "compaction: files readable" bash -c '"$RCFS" get snap/33 - | cmp -s - "$1"' _ "$W/s33"
starts() { grep -c "raft: started at term" "$C3s/n$L/rcfsd.log"; }
s0=$(starts)
"$CLUSTER" kill -d "$C3s" "$L"; "$CLUSTER" start -d "$C3s" "$L" >/dev/null
# The Raft state loads after the listener is up: wait for this start's line.
wait_until 10 bash -c '[ "$(grep -c "raft: started at term" "$1")" -gt "$2" ]' _ "$C3s/n$L/rcfsd.log" "$s0"
check "compaction: node $L restarts from a snapshot without bytes" \
	bash -c 'grep "raft: started at term" "$1" | tail -n 1 | grep -q "snapshot [1-9]"' _ "$C3s/n$L/rcfsd.log"
check "compaction: node $L catches up after its restart" wait_until 20 same_applied "$(addr "$L")"
check "compaction: node $L still has all 50 files" bash -c '[ "$(ls_on "$1" | grep -c "^snap/")" -eq 50 ]' _ "$(addr "$L")"
check "answers at commit: every one matched the state machine's (all nodes, all restarts)" \
	bash -c '! grep -q "session table bug" "$1"/n*/rcfsd.log' _ "$C3s"
"$CLUSTER" down -d "$C3s" >/dev/null

# ---- five nodes, N=3 W=2: any two may die ------------------------------------------------------
cluster_up -n 5 || nok "5-node cluster up"
C5=$CDIR
head -c 6000000 /dev/urandom > "$W/f5"
"$RCFS" put "$W/f5" e/before
L=$(leader)
K1=$L; K2=$(( L % 5 + 1 ))         # the leader and one more
"$CLUSTER" kill -d "$C5" "$K1"; "$CLUSTER" kill -d "$C5" "$K2"
check "5 nodes, 2 killed (incl. leader): put succeeds" "$RCFS" --timeout 15 put "$W/f5" e/after
check "5 nodes, 2 killed: file put before is readable" bash -c '"$RCFS" get e/before - | cmp -s - "$1"' _ "$W/f5"
check "5 nodes, 2 killed: file put after is readable" bash -c '"$RCFS" get e/after - | cmp -s - "$1"' _ "$W/f5"

# ---- a leader whose redis stalls hands leadership over ------------------------------------------
cluster_up -n 3 || nok "3-node cluster up (stall, down)"
L=$(leader)
head -c 300000 /dev/urandom > "$W/stall"
RP=$(cat "$CDIR/n$L/redis.pid")
kill -STOP "$RP"
check "leader $L's redis stopped (SIGSTOP): a put succeeds while it still is" \
	"$RCFS" -q --timeout 10 put "$W/stall" g/stall
kill -CONT "$RP"
check "the stalled leader handed leadership over, naming its term" \
	grep -qE "storage stalled for [0-9]+ ms with [0-9]+ write\(s\) outstanding: handing leadership over \(term [1-9]" "$CDIR/n$L/rcfsd.log"
check "the file reads back" bash -c '"$1" get g/stall - | cmp -s - "$2"' _ "$RCFS" "$W/stall"

# ---- rcfs-cluster down: the leader first, it hands leadership over ----------------------------
L=$(leader)
t0=$(date +%s%N); "$CLUSTER" down -d "$CDIR" >/dev/null; t1=$(date +%s%N)
check "down stopped the leader (node $L) first: it handed leadership over" \
	grep -q "handing leadership over (shutting down)" "$CDIR/n$L/rcfsd.log"
check "no drain waited out its timeout: down took $(( (t1 - t0) / 1000000 )) ms (< 4 s)" \
	[ $(( (t1 - t0) / 1000000 )) -lt 4000 ]
check "every process of the cluster stopped" \
	bash -c '! ls "$1"/n*/*.pid >/dev/null 2>&1' _ "$CDIR"

done_testing
