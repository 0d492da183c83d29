#!/usr/bin/env bash
# Chunk GC (docs/design.md "GC", issue 17): a removed file's space comes back
# within seconds; a put in progress keeps its uploaded chunks however long it
# pauses, even when another client commits and removes the same chunks; a
# put that fails gives its chunks back; a backup's GC hold keeps what its cut
# references until it has read it; rcfs cp racing an rm of its source never
# makes a copy without chunks; rcfs gc and rcfs status say what is kept; the
# AOF is rewritten in a lull, and under continuous writes in each node's
# turn (docs/design.md "AOF rewrites").
. "$(dirname "$0")/lib.sh"
watchdog 330
new_tmpdir W

json_sum() {    # json_sum FIELD: the sum of FIELD over rcfs --json gc's nodes
	"$RCFS" --json gc | grep -o "\"$1\":[0-9]*" | awk -F: '{s += $2} END {print s + 0}'
}
stored_chunks() {   # chunk keys in every node's redis, summed
	local s n=0
	for s in "$CDIR"/n*/redis.sock; do
		n=$((n + $(redis-cli -s "$s" --scan --pattern 'rcfs:c:*' | wc -l)))
	done
	echo "$n"
}
no_chunks() { [ "$(stored_chunks)" -eq 0 ]; }
export -f json_sum stored_chunks no_chunks

# ---- a full node gets its space back after rm -------------------------------------
cluster_up -n 3 --maxmemory 30000000 || { nok "cluster up"; done_testing; }
export CDIR
head -c 20000000 /dev/urandom > "$W/big"
head -c 12000000 /dev/urandom > "$W/mid"
check "full: a 20 MB file fits" "$RCFS" -q put "$W/big" big
expect_rc 7 "full: a 12 MB put is refused (storage full)" "$RCFS" -q put "$W/mid" mid 2>/dev/null
"$RCFS" rm big
t0=$(date +%s%N)
check "full: after rm, the 12 MB put succeeds within 10 s" wait_until 10 "$RCFS" -q put "$W/mid" mid
diag "put succeeded $(( ($(date +%s%N) - t0) / 1000000 )) ms after the rm"
check "full: the file reads back" bash -c '"$RCFS" get mid - | cmp -s - "$1"' _ "$W/mid"
# The refused put's chunks: given back (ChunkRelease), not kept for a day.
head -c 25000000 /dev/urandom > "$W/huge"
expect_rc 7 "full: a 25 MB put is refused" "$RCFS" -q put "$W/huge" huge 2>/dev/null
check "full: the refused put's chunks are freed (nothing waits for GC)" \
	wait_until 10 bash -c '[ "$(json_sum waiting_chunks)" -eq 0 ]'
check "full: only the 12 MB file's chunks are stored (12 x 3 copies)" \
	wait_until 10 bash -c '[ "$(stored_chunks)" -eq 36 ]'
"$RCFS" rm mid
"$CLUSTER" down -d "$CDIR" >/dev/null

# ---- a paused put keeps its chunks ------------------------------------------------------
cluster_up -n 3 || { nok "cluster up"; done_testing; }
export CDIR
head -c 8388608 /dev/urandom > "$W/p"
head -c 4194304 "$W/p" > "$W/p-head"          # the same first 4 chunks
mkfifo "$W/fifo"
"$RCFS" -q put - paused < "$W/fifo" & putpid=$!
test_pids="$test_pids $putpid"
exec 3> "$W/fifo"
head -c 4194304 "$W/p" >&3                    # 4 chunks up, then the put waits on its input
check "paused put: its 4 chunks are stored, unreferenced, and kept" \
	wait_until 20 bash -c '[ "$(json_sum waiting_chunks)" -ge 12 ]'   # 4 chunks x 3 copies
check "paused put: rcfs status shows bytes waiting for GC" \
	bash -c '"$RCFS" --json status | grep -q "\"gc_waiting_bytes\":[1-9]"'
check "another client puts the same chunks" "$RCFS" -q put "$W/p-head" same
check "... and removes them" "$RCFS" -q rm same
"$RCFS" -q gc > /dev/null
sleep 2                                       # two periodic passes too (the pause goes on)
check "GC frees none of the paused put's chunks" bash -c '[ "$(json_sum waiting_chunks)" -ge 12 ]'
check "... they are all still stored" bash -c '[ "$(stored_chunks)" -ge 12 ]'
tail -c 4194304 "$W/p" >&3
exec 3>&-
wait "$putpid"; rc=$?
check "paused put: commits (exit $rc)" [ "$rc" -eq 0 ]
check "paused put: every byte reads back" bash -c '"$RCFS" get paused - | cmp -s - "$1"' _ "$W/p"
"$RCFS" rm paused
check "rm: every node frees the file's chunks within 5 s (no rcfs gc)" wait_until 5 no_chunks

# ---- a backup holds GC while it reads ------------------------------------------------------
head -c 3145728 /dev/urandom > "$W/h"
"$RCFS" -q put "$W/h" held
# Every frame the save sends after its first two (status, BackupGet) waits
# 1.5 s: the hold is in the log long before the first chunk is read.
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=writev \
	-e inject=writev:delay_enter=1500000:when=3+ "$RCFS" -q snapshot save "$W/b.rcfs" \
	> "$W/save.out" 2>&1 & savepid=$!
test_pids="$test_pids $savepid"
check "backup: the GC hold is in force on every node" \
	wait_until 10 bash -c '[ "$("$RCFS" --json gc | grep -o held_until_ms | wc -l)" -eq 3 ]'
"$RCFS" -q rm held
check "backup: a file removed after the cut keeps its chunks" \
	bash -c '[ "$(json_sum waiting_chunks)" -ge 9 ] && [ "$(stored_chunks)" -ge 9 ]'
wait "$savepid"; rc=$?
check "backup: the save reads every chunk and succeeds (exit $rc)" [ "$rc" -eq 0 ]
check "backup: it verifies, and holds the removed file (3 chunks)" \
	bash -c '"$RCFS" --json snapshot status "$1" | grep -q "\"chunks\":3,"' _ "$W/b.rcfs"
check "backup: the hold is released when the save ends" \
	bash -c 'out=$("$RCFS" --json gc) && [ "$(grep -o "\"id\"" <<<"$out" | wc -l)" -eq 3 ] && ! grep -q held_until_ms <<<"$out"'
check "backup: the removed file's chunks are then freed" \
	wait_until 5 bash -c '[ "$(json_sum waiting_chunks)" -eq 0 ]'
# ---- rcfs cp while its source is removed ------------------------------------------------
# Every frame cp sends after its first (the source's stat) waits 1.5 s; the
# source is removed and GC runs meanwhile.  A copy is either refused (the
# source is gone) or complete: never a file whose chunks were freed.
"$RCFS" -q put "$W/h" cpsrc
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=writev \
	-e inject=writev:delay_enter=1500000:when=2+ "$RCFS" -q cp cpsrc cpdst 2>/dev/null & cppid=$!
test_pids="$test_pids $cppid"
sleep 0.5
"$RCFS" -q rm cpsrc
"$RCFS" -q gc > /dev/null
wait "$cppid"; rc=$?
if [ "$rc" -eq 0 ]; then
	check "cp racing rm: the copy it made reads back" \
		bash -c '"$RCFS" get cpdst - | cmp -s - "$1"' _ "$W/h"
else
	check "cp racing rm: refused, no copy made (exit $rc)" bash -c '[ "$1" -eq 3 ] && ! "$RCFS" -q stat cpdst 2>/dev/null' _ "$rc"
fi
# The same with only the commit delayed (frames: stat, protect, stat, commit):
# the source is removed and GC runs after the protection, before the commit.
# cp talks to the leader only: a follower's redirect would add a frame, and
# the delay would then hold the re-stat instead (the copy is then rightly
# refused: the source was gone before the copy was established).
"$RCFS" -q put "$W/h" cpsrc2
lid=$("$RCFS" --json status | grep -o '"id":[0-9]*,"role":"leader"' | grep -o '[0-9]\+' | head -n 1)
L=$(cut -d, -f"${lid:-1}" <<<"$RCFS_NODES")
# strace prints a call's entry before it delays it: wait for the 4th frame's.
ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o "$W/cp.strace" -e trace=writev \
	-e inject=writev:delay_enter=2000000:when=4 "$RCFS" -n "$L" -q cp cpsrc2 cpdst2 2>/dev/null & cppid=$!
test_pids="$test_pids $cppid"
wait_until 10 bash -c '[ "$(grep -c "writev(" "$1" 2>/dev/null)" -ge 4 ]' _ "$W/cp.strace" ||
	nok "cp reached its commit frame"
"$RCFS" -q rm cpsrc2
"$RCFS" -q gc > /dev/null
wait "$cppid"; rc=$?
check "cp with rm and GC between its protection and its commit: the copy (exit $rc) reads back" \
	bash -c '[ "$1" -eq 0 ] && "$RCFS" get cpdst2 - | cmp -s - "$2"' _ "$rc" "$W/h"

expect_rc 2 "rcfs gc takes no arguments" "$RCFS" gc extra 2>/dev/null
"$CLUSTER" down -d "$CDIR" >/dev/null

# ---- the AOF is rewritten when writes are quiet ------------------------------------------
cluster_up -n 1 --set 'aof_rewrite_min_bytes = 1048576;' --set 'aof_rewrite_quiet_ms = 1000;' ||
	{ nok "cluster up"; done_testing; }
aofinfo() { redis-cli -s "$CDIR/n1/redis.sock" INFO persistence | tr -d '\r' | sed -n "s/^$1://p"; }
head -c 4194304 /dev/urandom > "$W/a1"
"$RCFS" -q put "$W/a1" a1 && "$RCFS" -q rm a1 && "$RCFS" -q put "$W/h" a2
grown=$(aofinfo aof_current_size)
check "aof: the AOF grew past its base" [ "$grown" -gt $(( $(aofinfo aof_base_size) + 1048576 )) ]
check "aof: rcfsd has redis rewrite it once writes are quiet" \
	wait_until 20 grep -q "AOF rewrite while writes are quiet" "$CDIR/n1/rcfsd.log"
check "aof: the rewrite ran and the AOF shrank" \
	wait_until 20 bash -c '[ "$(redis-cli -s "$1" INFO persistence | tr -d "\r" | sed -n "s/^aof_rewrite_in_progress://p")" = 0 ] && [ "$(redis-cli -s "$1" INFO persistence | tr -d "\r" | sed -n "s/^aof_current_size://p")" -lt "$2" ]' _ "$CDIR/n1/redis.sock" "$grown"
check "aof: the files read back" bash -c '"$RCFS" get a2 - | cmp -s - "$1"' _ "$W/h"
# A store that only grew gains nothing from a rewrite (it writes the whole
# dataset): new files, nothing removed, well past the growth that made the
# rewrite above due, and no second rewrite within three looks (2 s each).
head -c 6291456 /dev/urandom > "$W/a3"
"$RCFS" -q put "$W/a3" a3
check "aof: the AOF grew past the rewrite's size again" \
	[ "$(aofinfo aof_current_size)" -gt $(( 2 * $(aofinfo aof_base_size) + 1048576 )) ]
second_rewrite() { [ "$(grep -c "AOF rewrite while writes are quiet" "$CDIR/n1/rcfsd.log")" -ge 2 ]; }
no_second_rewrite() { ! wait_until 8 second_rewrite; }
check "aof: no rewrite of a store that only grew (nothing it would free)" no_second_rewrite
"$CLUSTER" down -d "$CDIR" >/dev/null

# ---- under continuous writes, the nodes rewrite in turns -----------------------------------
# Turns of 8 s (a 24 s round of 3 nodes), rewrites at 50 % growth, never quiet.
cluster_up -n 3 --set 'aof_rewrite_min_bytes = 1048576; aof_rewrite_busy_growth = 50;' \
	--set 'aof_rewrite_turn_ms = 8000; aof_rewrite_quiet_ms = 600000;' || { nok "cluster up"; done_testing; }
head -c 1048576 /dev/urandom > "$W/t1"
( while :; do "$RCFS" -q put "$W/t1" turn && "$RCFS" -q rm turn; done ) >/dev/null 2>&1 &
writer=$!
track_pid $writer
all_rewrote() { local i; for i in 1 2 3; do grep -q "AOF rewrite done after" "$CDIR/n$i/rcfsd.log" || return 1; done; }
export -f all_rewrote
check "turns: under continuous writes every node rewrites its AOF" wait_until 90 all_rewrote
# Elections (slow sanitizer builds) can move leadership so that no node
# was the leader when its turn came: the writes go on until one was.
check "turns: the leader hands leadership over when its rewrite is due in its turn" \
	wait_until 90 grep -q "handing leadership over to .* (its AOF rewrite is due in its turn)" "$CDIR"/n*/rcfsd.log
kill $writer 2>/dev/null
check "turns: each rewrite was asked for under load, in the node's turn" \
	bash -c '! grep -h "redis .*AOF rewrite" "$1"/n*/rcfsd.log | grep -v "under load, in this node.s turn\|done after"' _ "$CDIR"
# Each node's role, replayed from its "raft: a -> b, term N" lines, at
# each rewrite it started.
leader_rewrites() {
	local i
	for i in 1 2 3; do
		awk -v n=$i '/ raft: [a-z]+ -> [a-z]+, term / { role = $0; sub(/.* -> /, "", role); sub(/,.*/, "", role) }
			/AOF rewrite under load/ && role == "leader" { print "node " n " started a rewrite as the leader at " $1 }' \
			"$CDIR/n$i/rcfsd.log"
	done
}
led=$(leader_rewrites)
check "turns: no node started its rewrite while it was the leader" \
	bash -c '[ -z "$1" ] && grep -q " raft: [a-z]* -> leader, term " "$2"/n*/rcfsd.log' _ "$led" "$CDIR"
[ -n "$led" ] && diag "$led"
# Each node's rewrites as [start, done] (the done line comes at the check
# after the end, so these are upper bounds): no two nodes' intersect.
overlaps() {
	local i
	for i in 1 2 3; do
		awk -v n=$i '/AOF rewrite under load/ { split($1, t, ":"); s = (t[1] * 60 + t[2]) * 60 + t[3] }
			/AOF rewrite done after/ && s != "" { split($1, t, ":"); print s, (t[1] * 60 + t[2]) * 60 + t[3], n; s = "" }' \
			"$CDIR/n$i/rcfsd.log"
	done | sort -n | awk '$1 < end && $3 != node { print "node " $3 " started at " $1 " s before node " node " was done at " end " s" }
		$2 > end { end = $2; node = $3 }'
}
overlap=$(overlaps)
check "turns: no two nodes' rewrites overlapped" [ -z "$overlap" ]
[ -n "$overlap" ] && diag "$overlap"

# Rewrites longer than a turn (redis's rdb-key-save-delay: each key costs
# that many µs in the rewrite's child): the next node waits for the end.
for i in 1 2 3; do
	keys=$(redis-cli -s "$CDIR/n$i/redis.sock" DBSIZE)
	redis-cli -s "$CDIR/n$i/redis.sock" CONFIG SET rdb-key-save-delay $((10000000 / (keys + 1))) > /dev/null
done
( while :; do "$RCFS" -q put "$W/t1" turn && "$RCFS" -q rm turn; done ) >/dev/null 2>&1 &
writer=$!
track_pid $writer
rewriting_seen() { curl -sf "http://$1/status" | grep -q '"aof_rewriting":true'; }
export -f rewriting_seen
check "turns: /status shows a node rewriting" wait_until 60 rewriting_seen \
	"$(sed -n 's/^RCFS_HTTP=//p' "$CDIR/up.out" | cut -d, -f1)"
check "turns: a node whose turn comes while another rewrites waits" \
	wait_until 90 grep -q "AOF rewrite waits in this node's turn: node .* is still rewriting" "$CDIR"/n*/rcfsd.log
# Then the long rewrite ends and another node's runs to its end.
dones() { cat "$CDIR"/n*/rcfsd.log | grep -c "AOF rewrite done after"; }
export -f dones
check "turns: after the wait, the rewrite ends and another node rewrites" \
	wait_until 90 bash -c '[ "$(dones)" -ge "$1" ]' _ $(($(dones) + 2))
kill $writer 2>/dev/null
for i in 1 2 3; do
	redis-cli -s "$CDIR/n$i/redis.sock" CONFIG SET rdb-key-save-delay 0 > /dev/null
done
overlap=$(overlaps)
check "turns: rewrites longer than a turn did not overlap either" [ -z "$overlap" ]
[ -n "$overlap" ] && diag "$overlap"
grep -h "AOF rewrite\|AOF rewrite is due" "$CDIR"/n*/rcfsd.log | sort | sed 's/^/# /'

done_testing
