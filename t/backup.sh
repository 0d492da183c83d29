#!/usr/bin/env bash
# Integration (TAP): backup and restore (issue 20, docs/operations.md "Back up
# and restore").  A backup taken from a live cluster under a writer; every
# node destroyed; a new cluster on fresh nodes restored from the file: every
# file acknowledged before the backup started is byte-identical, every file in
# it is whole, and the new cluster serves writes.  A damaged backup is
# refused (exit 5), a non-empty target too (exit 10).
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
watchdog 300

new_tmpdir W
cluster_up -n 3 || { nok "3-node cluster up"; done_testing; }
ok "3-node cluster up"
unset RCFS_NODES
A=$CDIR
for i in $(seq 1 10); do
	head -c $((i * 150000 + 7)) /dev/urandom > "$W/f$i"
	"$RCFS" -q put "$W/f$i" "f/$i" || nok "put f/$i"
done
echo tiny > "$W/tiny"
"$RCFS" -q put "$W/tiny" tiny
ok "11 files written"

# A writer goes on during the backup.
writer() {
	local i=0
	while :; do
		i=$((i + 1))
		head -c $((100000 + i)) /dev/urandom > "$W/w.tmp.$i"
		"$RCFS" -q --timeout 10 put "$W/w.tmp.$i" "w/$i" 2>/dev/null && echo "$i" >> "$W/acked"
		sleep 0.1
	done
}
: > "$W/acked"
writer &
track_pid $!
WRITER=$!
wait_until 10 test -s "$W/acked"
before=$(wc -l < "$W/acked")
expect_rc 0 "rcfs snapshot save under a writer" "$RCFS" snapshot save "$W/backup.rcfs"
kill "$WRITER" 2>/dev/null; wait "$WRITER" 2>/dev/null
check "the backup file exists, no temporary file left" bash -c "[ -s '$W/backup.rcfs' ] && ! ls '$W'/backup.rcfs.rcfs-* 2>/dev/null"
"$RCFS" --json snapshot status "$W/backup.rcfs" > "$W/manifest" 2>&1
check "snapshot status verifies it and prints the manifest" \
	grep -q '^{"format":"rcfs-backup-1","index":[0-9]*,"term":[0-9]*,"cluster_id":"[0-9a-f]\{16\}","files":[0-9]*,' "$W/manifest"
check "snapshot status needs no node" env -u RCFS_CONF "$RCFS" -q snapshot status "$W/backup.rcfs"

# A damaged copy is refused.
cp "$W/backup.rcfs" "$W/damaged.rcfs"
size=$(stat -c %s "$W/damaged.rcfs")
printf '\xff' | dd of="$W/damaged.rcfs" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_rc 5 "a damaged backup fails snapshot status (exit 5)" "$RCFS" -q snapshot status "$W/damaged.rcfs"
head -c $((size - 100)) "$W/backup.rcfs" > "$W/short.rcfs"
expect_rc 5 "a truncated backup fails too" "$RCFS" -q snapshot status "$W/short.rcfs"
expect_rc 10 "restoring into a cluster that holds files is refused (exit 10)" \
	"$RCFS" -q snapshot restore "$W/backup.rcfs"

# Every node is lost: processes and storage.
"$CLUSTER" down -d "$A" >/dev/null 2>&1
rm -rf "$A"/n*/appendonlydir
cluster_up -n 3 || { nok "a new cluster"; done_testing; }
unset RCFS_NODES
check "a new 3-node cluster on fresh nodes" [ "$CDIR" != "$A" ]
expect_rc 5 "a damaged backup is not restored (exit 5, nothing written)" \
	"$RCFS" -q snapshot restore "$W/damaged.rcfs"
check "and the new cluster is still empty" [ -z "$("$RCFS" ls)" ]
expect_rc 0 "rcfs snapshot restore" "$RCFS" -q snapshot restore "$W/backup.rcfs"
bad=0
for i in $(seq 1 10); do
	"$RCFS" -q get "f/$i" "$W/back" && cmp -s "$W/back" "$W/f$i" || bad=$((bad + 1))
done
"$RCFS" -q get tiny "$W/back" && cmp -s "$W/back" "$W/tiny" || bad=$((bad + 1))
check "every file written before the backup is identical ($bad bad)" [ "$bad" -eq 0 ]
lost=0
for i in $(head -n "$before" "$W/acked"); do
	"$RCFS" -q get "w/$i" "$W/back" && cmp -s "$W/back" "$W/w.tmp.$i" || lost=$((lost + 1))
done
check "every write acknowledged before the backup started is in it ($lost lost)" [ "$lost" -eq 0 ]
half=0 n=0
for name in $("$RCFS" ls w/); do
	i=${name#w/}; n=$((n + 1))
	"$RCFS" -q get "$name" "$W/back" && cmp -s "$W/back" "$W/w.tmp.$i" || half=$((half + 1))
done
check "every file in the backup is whole ($n files, $half not)" [ "$half" -eq 0 ]
files=$(sed -n 's/.*"files":\([0-9]*\).*/\1/p' "$W/manifest")
check "the restored cluster holds the manifest's $files files" [ "$("$RCFS" ls | wc -l)" -eq "$files" ]
echo after > "$W/after"
expect_rc 0 "the restored cluster serves writes" "$RCFS" -q put "$W/after" after
done_testing
