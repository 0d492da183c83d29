#!/usr/bin/env bash
# Integration (TAP): recovery from a lost majority with rcfsd
# --force-new-cluster (issue 14, docs/operations.md "Losing a majority").
#  - refused (exit 4, one line) while another member answers;
#  - on the last survivor: it alone becomes the cluster, every file it had
#    acknowledged reads back, the lost members are removed for good;
#  - members are added back, and writes work again.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
watchdog 300

new_tmpdir W
cluster_up -n 3 || { nok "3-node cluster up"; done_testing; }
ok "3-node cluster up"
unset RCFS_NODES
rcfs() { "$RCFS" "$@"; }
for i in $(seq 1 12); do
	head -c $((90000 + i * 1000)) /dev/urandom > "$W/f$i"
	rcfs -q put "$W/f$i" "f/$i" || nok "put f/$i"
done
ok "12 files written"

# Refused while the cluster is alive: node 1's rcfsd, restarted with the flag.
"$CLUSTER" kill -d "$CDIR" 1 >/dev/null
start=$(date +%s)
timeout 60 "$RCFSD" -c "$CDIR/n1/rcfsd.conf" --force-new-cluster > "$W/refused.out" 2>&1
rc=$?
check "--force-new-cluster with live members exits 4 (got $rc)" [ "$rc" -eq 4 ]
check "with one line naming a member that answers" grep -q "force-new-cluster refused: node [23] at .* answers" "$W/refused.out"
check "and quickly ($(( $(date +%s) - start )) s)" [ $(( $(date +%s) - start )) -le 20 ]
"$CLUSTER" start -d "$CDIR" 1 >/dev/null 2>&1

# The majority is lost for good: nodes 2 and 3, processes and storage.
for i in 2 3; do
	"$CLUSTER" kill -d "$CDIR" "$i" >/dev/null
	"$CLUSTER" kill-redis -d "$CDIR" "$i" >/dev/null
	rm -rf "$CDIR/n$i/appendonlydir"
	: > "$CDIR/n$i/removed"
done
expect_rc 4 "without them the survivor cannot serve a write" rcfs -q --timeout 3 put "$W/f1" f/new
"$CLUSTER" kill -d "$CDIR" 1 >/dev/null
"$RCFSD" -c "$CDIR/n1/rcfsd.conf" --force-new-cluster >> "$CDIR/n1/rcfsd.log" 2>&1 &
echo $! > "$CDIR/n1/rcfsd.pid"
leads() { rcfs --timeout 2 --json status 2>/dev/null | grep -q '"role":"leader"'; }
check "the survivor, started with --force-new-cluster, leads alone" wait_until 30 leads
check "it logs what it did" grep -q "force-new-cluster: this node alone is now the cluster" "$CDIR/n1/rcfsd.log"
bad=0
for i in $(seq 1 12); do
	rcfs -q get "f/$i" "$W/back" && cmp -s "$W/back" "$W/f$i" || bad=$((bad + 1))
done
check "every acknowledged file reads back ($bad bad)" [ "$bad" -eq 0 ]
one_member() { [ "$(rcfs --timeout 2 member list --json | grep -o '"id":' | wc -l)" -eq 1 ]; }
check "the membership is this node alone" one_member
expect_rc 10 "the lost ids are removed for good" rcfs member add 2 "$(cat "$CDIR/n2/address")"

# Grow back: two new voters; N = 3 copies are possible again.
for k in 1 2; do
	out=$("$CLUSTER" add -d "$CDIR" 2>&1)
	check "a new voter joins ($(sed -n 's/^RCFS_NODE_ID=//p' <<<"$out"))" grep -q '^RCFS_NODE_ID=' <<<"$out"
done
expect_rc 0 "writes work again" rcfs -q put "$W/f1" f/after
rcfs -q get f/after "$W/back" && cmp -s "$W/back" "$W/f1"
check "and read back" [ $? -eq 0 ]
done_testing
