#!/usr/bin/env bash
# The dashboard's Files view (issue 15) in real headless Chromium against a
# 3-node cluster: the page's own upload (XMLHttpRequest, progress events),
# listing, chunk view, download and delete run on a 50 MiB file of random
# bytes (#selftest=BYTES), the bytes compared in the page; the cluster is
# checked from outside with the CLI.
. "$(dirname "$0")/lib.sh"
watchdog 240
new_tmpdir W

if ! chromium_find; then
	echo "1..0 # SKIP chromium not installed (Debian package chromium)"
	exit 0
fi
cluster_up -n 3 || { nok "cluster up"; done_testing; }
H=${RCFS_HTTP%%,*}
size=$((50 * 1024 * 1024))

# The page works through the API; the run ends when the page says so.
run_selftest() {
	timeout 150 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	    --disable-background-networking --disable-component-update --disable-sync \
	    --disable-dev-shm-usage --user-data-dir="$W/profile" --virtual-time-budget=120000 \
	    --dump-dom "http://$H/#selftest=$size" > "$W/dom.html" 2>> "$W/chromium.err"
}
for attempt in 1 2; do
	run_selftest
	grep -q 'id="selftest"[^>]*data-result=' "$W/dom.html" && break
	diag "the page did not finish (attempt $attempt)"
done
result=$(grep -o 'data-result="[^"]*"' "$W/dom.html" | head -n 1)
check "the page uploaded, listed, showed the chunks of, downloaded and compared 50 MiB, then deleted it" \
	test "$result" = 'data-result="ok"'
[ "$result" = 'data-result="ok"' ] || { diag "page: $result $(grep -o 'data-step="[^"]*"' "$W/dom.html")"; \
	sed 's/^/# /' "$W/chromium.err" | tail -5; }
check "the page listed the file and its chunks (50 chunk rows)" \
	test "$(grep -o '<tr class="chunk">' "$W/dom.html" | wc -l)" -eq 50
check "the upload reached the cluster and the delete too (rcfs ls selftest/ is empty)" \
	bash -c 'test -z "$("$RCFS" ls selftest/ 2>/dev/null)"'
check "the nodes logged no sanitizer report" bash -c '! grep -l "ERROR: AddressSanitizer\|runtime error" "$1"/n*/rcfsd.log' \
	_ "$CDIR"
done_testing
