#!/usr/bin/env bash
# Wireshark dissector with authentication on (TAP): a live capture of a
# 1-node cluster with --auth; contrib/wireshark/rcfs.lua must show the
# handshake frames, the MAC trailer (sequence, tag) of every later frame, and
# still decode the protobuf payload in front of the trailer.
. "${top_srcdir:-$(dirname "$0")/../..}/t/lib.sh"

if ! command -v tshark >/dev/null 2>&1 || ! tshark -v 2>/dev/null | grep -q 'with Lua'; then
	echo "1..0 # SKIP tshark with Lua not installed"; exit 0
fi
watchdog 180
new_tmpdir W
ws_setup "$W"

cluster_up -n 1 --auth || { nok "cluster with --auth up"; done_testing; }
ok "cluster with --auth up"
ADDR=${RCFS_NODES%%,*}
P=${ADDR##*:}
if ! ws_capture_start "$P"; then
	ok "capture # SKIP cannot capture on lo here"
	done_testing
fi
printf 'small file\n' > "$W/small"
check "authenticated put under capture" "$RCFS" -q -k "$CDIR/client.key" put "$W/small" sec/small
check "authenticated ls under capture" "$RCFS" -q -k "$CDIR/client.key" ls
env -u RCFS_CONF -u RCFS_KEY_FILE "$RCFS" -q ls > /dev/null 2>&1   # refused: no key (nor the config's key_file)
ws_capture_stop

ws_decode "$CAP" -Y rcfs -T fields -E separator='|' -e rcfs.msg -e rcfs.flags.mac -e rcfs.seq \
	> "$W/out"
names=$(cut -d'|' -f1 "$W/out" | tr ',' '\n' | sort -u | tr '\n' ' ')
diag "messages: $names"
for m in AuthHello AuthChallenge AuthProof AuthOk FileCommit FileCommitResponse FileList Error; do
	check "decoded: $m" grep -q " $m " <<<" $names"
done
check "MACed frames show their sequence numbers (1, 2, ...)" grep -qE '\|1(,1)*\|([0-9]+,)*2(,|$)' "$W/out"
out=$(ws_decode "$CAP" -Y 'rcfs.msg == "FileCommit" && rcfs.flags.mac == 1' -T fields \
	-e pbf.rcfs.FileMeta.name -e rcfs.seq -e rcfs.mac)
check "payload still decoded in front of the trailer: FileCommit name sec/small" grep -q '^sec/small' <<<"$out"
check "the MAC is shown (32 bytes)" grep -qE '	[0-9a-f]{64}$' <<<"$out"
check "no Lua or protobuf error" bash -c '! grep -v "^Running as user" "$1" | grep -q .' _ "$W/decode.err"
done_testing
