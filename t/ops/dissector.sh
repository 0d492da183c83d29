#!/usr/bin/env bash
# Wireshark dissector (TAP): contrib/wireshark/rcfs.lua decodes rcfs traffic.
#  1. Synthetic segments (text2pcap): several frames in one segment, a header
#     split across segments, garbage in a claimed connection.
#  2. A live capture on loopback of a node serving `rcfs put` (small and
#     3 MiB files) and `rcfs ls`, decoded through the heuristic (the node runs
#     on a random port) with payloads decoded by Wireshark's protobuf
#     dissector from proto/rcfs.proto.
# Needs tshark (Debian: tshark, which pulls in wireshark-common for text2pcap);
# the live part needs capture rights on lo (root or CAP_NET_RAW for dumpcap).
. "${top_srcdir:-$(dirname "$0")/../..}/t/lib.sh"

if ! command -v tshark >/dev/null 2>&1; then
	echo "1..0 # SKIP tshark not installed (Debian package tshark)"; exit 0
fi
if ! tshark -v 2>/dev/null | grep -q 'with Lua'; then
	echo "1..0 # SKIP tshark built without Lua"; exit 0
fi
watchdog 240

new_tmpdir W
ws_setup "$W"
skip() { ok "$1 # SKIP $2"; }

# ---- the script loads ----------------------------------------------------------
HOME="$W/home" XDG_CONFIG_HOME="$W/home/.config" \
	tshark -G fields -X "lua_script:$LUA" > "$W/fields" 2> "$W/load.err"
# tshark's only expected complaint: running as root.
quiet() { ! grep -v '^Running as user' "$1" | grep -q .; }
check "rcfs.lua loads: tshark says nothing on stderr" quiet "$W/load.err"
check "rcfs.lua registers its fields (rcfs.type, rcfs.request_id, rcfs.flags.response)" \
	bash -c 'for f in rcfs.type rcfs.request_id rcfs.flags.response rcfs.msg; do
		grep -q "	$f	" "$1" || exit 1; done' _ "$W/fields"

# ---- synthetic segments ----------------------------------------------------------
if command -v text2pcap >/dev/null 2>&1; then
	hexpkt() { od -An -tx1 -v | awk 'BEGIN { o = 0 }
		{ printf "%06x", o; for (i = 1; i <= NF; i++) printf " %s", $i; printf "\n"; o += NF }'; }
	{
		# one segment: StatusRequest id 7 (empty payload) + FileStat id 8 {name "x"}
		{ printf 'RCFS\001\002\000\000\000\000\000\007\000\000\000\000'
		  printf 'RCFS\001\026\000\000\000\000\000\010\000\000\000\003\012\001x'; } | hexpkt; echo
		# FileStat id 9 {name "ab"}, its header split 10 + 6 bytes
		printf 'RCFS\001\026\000\000\000\000' | hexpkt; echo
		printf '\000\011\000\000\000\004\012\002ab' | hexpkt; echo
		# then bytes that are no frame at all
		printf 'GARBAGE-NOT-A-FRAME' | hexpkt
	} > "$W/syn.txt"
	text2pcap -q -T 40001,45678 "$W/syn.txt" "$W/syn.pcap" >/dev/null 2>&1
	ws_decode "$W/syn.pcap" -T fields -E separator='|' -e frame.number -e _ws.col.Info \
		-e pbf.rcfs.FileStat.name -e rcfs.request_id -e _ws.expert.message > "$W/syn.out"
	diag "synthetic: $(tr '\n' ';' < "$W/syn.out")"
	check "two frames in one segment: Info shows both, with request ids" \
		grep -q '^1|StatusRequest id=7, FileStat id=8|x|7,8|' "$W/syn.out"
	check "header split across segments: reassembled, payload decoded" \
		grep -q '^3|FileStat id=9|ab|9|' "$W/syn.out"
	check "garbage in an rcfs connection is flagged, not waited on" \
		grep -q '^4|.*bad magic' "$W/syn.out"
else
	for d in "two frames in one segment" "header split across segments" "garbage flagged"; do
		skip "$d" "text2pcap not installed (Debian package wireshark-common)"
	done
fi

# ---- live capture ----------------------------------------------------------------
cluster_up -n 1 || { nok "cluster up"; done_testing; }
ADDR=${RCFS_NODES%%,*}
P=${ADDR##*:}
if ! ws_capture_start "$P"; then
	diag "$(tail -n 3 "$W/capture.log")"
	kill -TERM "$TPID" 2>/dev/null
	for d in "capture" "message names" "request id" "protobuf field" "response flag" \
		"ChunkPut reassembly" "request/response pairing" "port preference"; do
		skip "$d" "cannot capture on lo here (needs root or CAP_NET_RAW)"
	done
	done_testing
fi
ok "tshark captures on lo, tcp port $P (pid $TPID)"

printf 'small file\n' > "$W/small"
head -c $((3 * 1024 * 1024)) /dev/urandom > "$W/big"
check "rcfs put (inline file) under capture" "$RCFS" -q put "$W/small" ops/small
check "rcfs put (3 MiB, 3 chunks) under capture" "$RCFS" -q put "$W/big" ops/big
check "rcfs ls under capture" [ "$("$RCFS" ls ops/ | tr '\n' ' ')" = "ops/big ops/small " ]

# Everything went through lo; wait (bounded) until the capture file holds it
# and has stopped growing, then stop tshark by PID.
grown() { [ "$(ws_cap_size)" -ge $((3 * 1024 * 1024)) ]; }
check "capture file grew past 3 MiB" wait_until 20 grown
ws_capture_stop
dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped.*/\1/p' "$W/capture.log" | head -n 1)
diag "capture: $(grep -E 'captured|dropped' "$W/capture.log" | tr '\n' ' ')"

ws_decode "$CAP" -Y rcfs -T fields -E separator='|' -e frame.number -e rcfs.msg \
	-e rcfs.request_id -e rcfs.flags.response -e _ws.col.Info > "$W/live.out"
names=$(cut -d'|' -f2 "$W/live.out" | tr ',' '\n' | sort -u | tr '\n' ' ')
diag "message names seen: $names"
for m in StatusRequest StatusResponse ChunkPut ChunkPutResponse FileCommit FileCommitResponse \
	FileList FileListResponse; do
	check "decoded: $m" grep -q " $m " <<<" $names"
done
check "Info column: message name and request id" grep -qE '\|FileCommit id=[0-9]+$' "$W/live.out"
check "request id field is decoded" grep -qE '^[0-9]+\|FileCommit\|[0-9]+\|' "$W/live.out"
# (an Error answers a request too: the put's first ChunkPut asks, without
# data, whether the cluster holds the chunk, and a new file's is not found)
check "response bit set exactly on responses (and Error)" awk -F'|' '
	{ n = split($2, m, ","); split($4, r, ",")
	  for (i = 1; i <= n; i++) if ((m[i] ~ /(Response|^Error)$/) != (r[i] == "1")) bad = 1 }
	END { exit bad }' "$W/live.out"

out=$(ws_decode "$CAP" -Y 'rcfs.msg == "FileCommit" && pbf.rcfs.FileMeta.name == "ops/small"' \
	-T fields -e pbf.rcfs.FileMeta.size -e pbf.rcfs.FileMeta.inline_data)
check "protobuf field decoded: FileCommit.meta.name == \"ops/small\", size 11, inline" \
	grep -q '^11	' <<<"$out"
check "protobuf field decoded: FileListResponse lists both files" \
	grep -q 'ops/big,ops/small' <<<"$(ws_decode "$CAP" -Y 'rcfs.msg == "FileListResponse"' \
		-T fields -e pbf.rcfs.FileMeta.name)"

nput=$(ws_decode "$CAP" -Y 'rcfs.msg == "ChunkPut" && rcfs.length >= 1048576' -T fields -e rcfs.length \
	| tr ',' '\n' | grep -c .)
if [ "${dropped:-0}" -eq 0 ]; then
	check "three 1 MiB ChunkPut frames reassembled from many segments (saw $nput)" [ "$nput" -eq 3 ]
	ws_decode "$CAP" -2 -Y 'rcfs.msg == "ChunkPut"' -T fields -e rcfs.response_in > "$W/paired.out"
	paired=$(grep -c '[0-9]' "$W/paired.out") all=$(grep -c . "$W/paired.out")
	check "two-pass: every ChunkPut ($all: the 3 with data, 1 asking) links to its response (rcfs.response_in)" \
		[ "$paired" -eq "$all" -a "$all" -eq 4 ]
else
	skip "three 1 MiB ChunkPut frames reassembled" "capture dropped $dropped packets"
	skip "every ChunkPut links to its response" "capture dropped $dropped packets"
fi

# The heuristic did the work above (the port is random).  The port preference
# works on its own too, and without either nothing is decoded.
n=$(ws_decode "$CAP" --disable-heuristic rcfs_tcp -o "rcfs.tcp_port:$P" -Y 'rcfs.msg == "FileCommit"' | grep -c .)
check "port preference alone (heuristic disabled) decodes ($n FileCommit)" [ "$n" -ge 2 ]
n=$(ws_decode "$CAP" --disable-heuristic rcfs_tcp -o rcfs.tcp_port:0 -Y rcfs | grep -c .)
check "neither heuristic nor port: nothing decoded" [ "$n" -eq 0 ]

check "decoding: tshark says nothing on stderr (no Lua or protobuf error)" quiet "$W/decode.err"
quiet "$W/decode.err" || diag "tshark stderr: $(sort -u "$W/decode.err" | head -n 5 | tr '\n' ' ')"

done_testing
