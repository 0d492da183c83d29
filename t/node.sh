#!/usr/bin/env bash
# Integration (TAP): one real redis-server + rcfsd on loopback, driven by the
# real rcfs CLI.  Files of the sizes that matter, stdin/stdout, overwrite,
# corruption inside redis, redis restarts, garbage on the port, GC, full storage.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
watchdog 600

new_tmpdir W
C=1048576       # default chunk size

# ---- start-up checks ---------------------------------------------------------
printf 'node_id = 1;\nlisten = "127.0.0.1:1";\nredis = "unix:/x";\nchunk_size = 7;\n' > "$W/bad.conf"
out=$("$RCFSD" -c "$W/bad.conf" 2>&1); rc=$?
check "rcfsd: bad config exits 2" [ "$rc" -eq 2 ]
check "rcfsd: config error is one line naming the key" \
	[ "$out" = "rcfsd: $W/bad.conf:4: key 'chunk_size': 7 is out of range [1048576, 5242880]" ]

# A redis that could lose acknowledged writes is refused (exit 3).
mkdir -p "$W/unsafe"
"$REDIS_SERVER" --port 0 --unixsocket "$W/unsafe/r.sock" --dir "$W/unsafe" --appendonly yes \
	--appendfsync everysec --save '' --logfile "$W/unsafe/redis.log" &
track_pid $!
wait_until 10 test -S "$W/unsafe/r.sock"
printf 'node_id = 1;\nlisten = "127.0.0.1:0";\nredis = "unix:%s";\nauth = false;\n' "$W/unsafe/r.sock" > "$W/unsafe.conf"
out=$(timeout 20 "$RCFSD" -c "$W/unsafe.conf" 2>&1); rc=$?
check "rcfsd: refuses appendfsync everysec (exit 3)" [ "$rc" -eq 3 ]
check "rcfsd: says why and how to override" \
	grep -q "appendfsync is 'everysec', need 'always' (or set allow_unsafe_storage = true)" <<<"$out"

# ---- a node ------------------------------------------------------------------
cluster_up -n 1 || { nok "cluster up"; done_testing; }
ok "cluster of one node is up"
NODE_PID=$(cat "$CDIR/n1/rcfsd.pid")
SOCK="$CDIR/n1/redis.sock"
rcli() { redis-cli -s "$SOCK" "$@"; }

roundtrip() {   # roundtrip DESC FILE NAME
	local f=$2 name=$3
	"$RCFS" -q put "$f" "$name" && "$RCFS" -q get "$name" "$W/out" && cmp -s "$f" "$W/out" &&
	[ "$("$RCFS" --json stat "$name" | sed 's/.*"size":\([0-9]*\).*/\1/')" = "$(stat -c %s "$f")" ]
	check "$1" [ $? -eq 0 ]
	rm -f "$W/out"
}

: > "$W/empty";                                     roundtrip "empty file" "$W/empty" t/empty
printf 'x' > "$W/one";                              roundtrip "1-byte file" "$W/one" t/one
head -c $C /dev/urandom > "$W/chunk";               roundtrip "exactly one chunk" "$W/chunk" t/chunk
head -c $((C + 1)) /dev/urandom > "$W/chunk1";      roundtrip "one chunk + 1 byte" "$W/chunk1" t/chunk1
head -c 65536 /dev/urandom > "$W/inline";           roundtrip "64 KiB (inline) file" "$W/inline" t/inline
{ head -c 1000 /dev/zero; head -c 3000000 /dev/urandom; head -c 1000 /dev/zero; } > "$W/nul"
roundtrip "binary file with NUL bytes" "$W/nul" t/nul
check "stat: a 3,002,000-byte file is 3 chunks" grep -q '"chunks":3,' <<<"$("$RCFS" --json stat t/nul)"
check "stat: a 64 KiB file rides inline" grep -q '"inline":true' <<<"$("$RCFS" --json stat t/inline)"

# stdin and stdout
head -c 9000000 /dev/urandom > "$W/pipe"
check "put from stdin" "$RCFS" put - t/stdin < "$W/pipe"
check "get to stdout" bash -c '"$RCFS" get t/stdin - | cmp -s - "$1"' _ "$W/pipe"

# overwrite: the name now holds the new content, atomically
head -c 5000000 /dev/urandom > "$W/v2"
"$RCFS" put "$W/pipe" t/over && "$RCFS" put "$W/v2" t/over
check "overwrite replaces the content" bash -c '"$RCFS" get t/over - | cmp -s - "$1"' _ "$W/v2"

# 200 MiB, streamed: the node's memory stays bounded
head -c $((200 * 1024 * 1024)) /dev/urandom > "$W/big"
check "put 200 MiB file" "$RCFS" -q put "$W/big" t/big
check "get 200 MiB file, identical" bash -c '"$RCFS" -q get t/big - | cmp -s - "$1"' _ "$W/big"
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$NODE_PID/status")
check "rcfsd peak RSS stayed below 160 MiB while moving 200 MiB (was $((hwm / 1024)) MiB)" \
	[ "$hwm" -lt $((160 * 1024)) ]
rm -f "$W/big"

# listing, errors, exit codes
check "ls lists what was put, in order" [ "$("$RCFS" ls t/ | tr '\n' ' ')" = \
	"t/big t/chunk t/chunk1 t/empty t/inline t/nul t/one t/over t/stdin " ]
check "ls PREFIX filters" [ "$("$RCFS" ls t/ch | tr '\n' ' ')" = "t/chunk t/chunk1 " ]
check "ls --json" grep -q '^{"files":\[{"name":"t/big","size":209715200' <<<"$("$RCFS" ls --json t/)"
out=$("$RCFS" get t/missing "$W/x" 2>&1); rc=$?
check "get of a missing file: exit 3" [ "$rc" -eq 3 ]
check "get of a missing file: one clear line" [ "$out" = "rcfs: get t/missing: no such file" ]
check "get of a missing file leaves no local file" [ ! -e "$W/x" ]
expect_rc 2 "invalid name refused (exit 2)" "$RCFS" put "$W/one" "a/../b" 2>/dev/null
expect_rc 8 "unreadable local file (exit 8)" "$RCFS" put "$W/nonexistent" t/x 2>/dev/null
expect_rc 0 "rm" "$RCFS" rm t/one
expect_rc 3 "rm of a removed file: exit 3" "$RCFS" rm t/one 2>/dev/null
expect_rc 3 "get of a removed file: exit 3" "$RCFS" get t/one - 2>/dev/null

# A chunk corrupted inside redis: get fails with an integrity error and
# writes nothing.  (Content of its own: chunks are shared by content.)
head -c $((C + 1)) /dev/urandom > "$W/corrupt"
"$RCFS" put "$W/corrupt" t/corrupt
h=$("$RCFS" --json stat t/corrupt | sed 's/.*"chunk_list":\["\([0-9a-f]*\)".*/\1/')
rcli SETRANGE "rcfs:c:$h" 100 "XXXX" >/dev/null
out=$("$RCFS" get t/corrupt "$W/corrupt.out" 2>&1); rc=$?
check "corrupt chunk: get exits 5" [ "$rc" -eq 5 ]
check "corrupt chunk: says so" grep -q "SHA-256" <<<"$out"
check "corrupt chunk: no output file, no temp file" [ -z "$(ls "$W" | grep corrupt.out)" ]
expect_rc 5 "corrupt chunk: get to stdout exits 5" bash -c '"$RCFS" get t/corrupt - >/dev/null 2>&1'

# Storage full: a put fails with a clear error and nothing is evicted.
rcli CONFIG SET maxmemory $(( $(rcli INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p') + 2000000 )) >/dev/null
head -c $((3 * C)) /dev/urandom > "$W/full"     # new content: shared chunks would cost nothing
out=$("$RCFS" put "$W/full" t/full 2>&1); rc=$?
check "storage full: put exits 7" [ "$rc" -eq 7 ]
check "storage full: says so" grep -q "storage full" <<<"$out"
check "storage full: status shows the limit" grep -q '"maxmemory":[1-9]' <<<"$("$RCFS" --json status)"
check "storage full: stored files intact" bash -c '"$RCFS" get t/chunk - | cmp -s - "$1"' _ "$W/chunk"
rcli CONFIG SET maxmemory 0 >/dev/null

# Garbage on the port: the node closes that connection and serves others.
addr=$(cat "$CDIR/n1/address")
head -c 4096 /dev/urandom > "/dev/tcp/${addr%:*}/${addr#*:}" 2>/dev/null
printf 'RCFS\001\020\000\000\000\000\000\001\377\377\377\377' > "/dev/tcp/${addr%:*}/${addr#*:}" 2>/dev/null
printf 'RCFS\001\026\000\000\000\000\000\001\000\000\000\004\377\377\377\377' > "/dev/tcp/${addr%:*}/${addr#*:}" 2>/dev/null
check "garbage: node still running" kill -0 "$NODE_PID"
check "garbage: node still serves" bash -c '"$RCFS" get t/chunk - | cmp -s - "$1"' _ "$W/chunk"
check "garbage: reasons logged" grep -q "bad magic" "$CDIR/n1/rcfsd.log"

# redis killed and restarted under a running node: requests fail fast while it
# is down, and the node reconnects by itself.
"$CLUSTER" kill-redis -d "$CDIR" 1
t0=$(date +%s%N)
out=$("$RCFS" --timeout 10 put "$W/one" t/down 2>&1); rc=$?
t1=$(date +%s%N)
check "redis down: put fails with exit 4" [ "$rc" -eq 4 ]
check "redis down: fails fast (< 2 s, was $(( (t1 - t0) / 1000000 )) ms)" [ $(( (t1 - t0) / 1000000 )) -lt 2000 ]
check "redis down: says storage unavailable" grep -q "storage unavailable" <<<"$out"
"$CLUSTER" start -d "$CDIR" 1 >/dev/null
check "redis back: node reconnects and puts succeed" wait_until 10 "$RCFS" put "$W/one" t/up
check "redis back: earlier files intact (AOF)" bash -c '"$RCFS" get t/chunk1 - | cmp -s - "$1"' _ "$W/chunk1"

# Node killed with SIGKILL and restarted: acknowledged files survive.
"$CLUSTER" kill -d "$CDIR" 1
"$CLUSTER" start -d "$CDIR" 1 >/dev/null
check "rcfsd restart: files intact" bash -c '"$RCFS" get t/over - | cmp -s - "$1"' _ "$W/v2"
check "rcfsd restart: versions keep increasing" \
	[ "$("$RCFS" --json put "$W/one" t/after | sed 's/.*"version":\([0-9]*\).*/\1/')" -gt \
	  "$("$RCFS" --json stat t/up | sed 's/.*"version":\([0-9]*\).*/\1/')" ]

# GC, on a node of its own with a short grace period (it must exceed the
# time between a put's first chunk upload and its commit).
cluster_up -n 1 --set 'gc_interval_ms = 200;' --set 'gc_grace_ms = 1500;' || nok "GC cluster up"
SOCK="$CDIR/n1/redis.sock"
head -c $((C + 10)) /dev/urandom > "$W/gc"
"$RCFS" put "$W/gc" t/gc
"$RCFS" put "$W/one" t/keep
gch=$("$RCFS" --json stat t/gc | sed 's/.*"chunk_list":\["\([0-9a-f]*\)".*/\1/')
chunk_gone() { [ "$(rcli EXISTS "rcfs:c:$gch")" = 0 ]; }
check "GC: a referenced chunk is kept past the grace period" bash -c 'sleep 2; [ "$(redis-cli -s "$1" EXISTS "rcfs:c:$2")" = 1 ]' _ "$SOCK" "$gch"
"$RCFS" rm t/gc
check "GC deletes the chunks of a removed file" wait_until 15 chunk_gone
check "GC: status counts no chunk left" grep -q '"chunks":0' <<<"$("$RCFS" --json status)"

done_testing
