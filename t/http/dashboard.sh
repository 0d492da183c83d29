#!/bin/bash
# TAP: the http module end to end against t/http/http_testd (canned /status
# with 3 nodes, sample metrics): /metrics validated by promtool, the
# dashboard rendered by headless Chromium (DOM checked, screenshot kept in
# $top_builddir/t/http/dashboard.png).  Points SKIP without promtool
# (Debian: prometheus), chromium (chromium) or curl (curl).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/t/lib.sh"
watchdog 240

TESTD="$top_builddir/t/http/http_testd"
OUT="$top_builddir/t/http"
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
mkdir -p "$OUT"

# ---- /metrics text: promtool check metrics (format and naming lint) ----
"$TESTD" --print-metrics > "$OUT/metrics.txt"
check "http_testd prints metrics" test -s "$OUT/metrics.txt"
if command -v promtool >/dev/null 2>&1; then
	if promtool check metrics < "$OUT/metrics.txt" > "$OUT/promtool.out" 2>&1; then
		ok "promtool check metrics accepts the exposition"
	else
		nok "promtool check metrics"; sed 's/^/# /' "$OUT/promtool.out"
	fi
else
	skip "promtool check metrics" "promtool not installed (Debian package prometheus)"
fi

# ---- the server ----
new_tmpdir D
"$TESTD" --status "$top_srcdir/t/http/status3.json" --port-file "$D/port" 2> "$D/testd.err" &
track_pid $!
if ! wait_until 20 test -s "$D/port"; then
	nok "http_testd started"; cat "$D/testd.err" >&2; done_testing
fi
PORT=$(cat "$D/port")
URL="http://127.0.0.1:$PORT"
ok "http_testd listening on port $PORT"

if command -v curl >/dev/null 2>&1; then
	code() { curl -s -o "$D/body" -w '%{http_code}' --max-time 10 "$@"; }
	check "GET /metrics is 200" test "$(code "$URL/metrics")" = 200
	check "/metrics serves the registry" grep -q '^rcfs_raft_role{role="leader"} 1$' "$D/body"
	cp "$D/body" "$OUT/metrics-served.txt"
	if command -v promtool >/dev/null 2>&1; then
		check "promtool accepts /metrics as served" sh -c "promtool check metrics < '$D/body' >/dev/null 2>&1"
	else
		skip "promtool accepts /metrics as served" "promtool not installed"
	fi
	check "GET /status is 200" test "$(code "$URL/status")" = 200
	check "/status is the canned JSON" cmp -s "$D/body" <(cat "$top_srcdir/t/http/status3.json"; echo)
	check "GET / is 200" test "$(code "$URL/")" = 200
	check "/ is the dashboard" grep -q '<table id="nodes">' "$D/body"
	check "GET /nope is 404" test "$(code "$URL/nope")" = 404
	check "POST /metrics is 405" test "$(code -X POST "$URL/metrics")" = 405
else
	skip "HTTP checks with curl" "curl not installed (tested in C by t/http/test_http)"
fi

# ---- contrib/grafana/rcfs.json: every query parses, every metric exists ----
GRAF="$top_srcdir/contrib/grafana/rcfs.json"
served="$OUT/metrics-served.txt"
[ -s "$served" ] || served="$OUT/metrics.txt"
if command -v python3 >/dev/null 2>&1; then
	if command -v promtool >/dev/null 2>&1; then
		python3 "$top_srcdir/t/http/grafana_exprs.py" "$GRAF" > "$D/rules.yml"
		if promtool check rules "$D/rules.yml" > "$D/rules.out" 2>&1; then
			ok "promtool parses every Grafana query"
		else
			nok "promtool parses every Grafana query"; sed 's/^/# /' "$D/rules.out"
		fi
	else
		skip "promtool parses every Grafana query" "promtool not installed"
	fi
	missing=""
	for m in $(python3 "$top_srcdir/t/http/grafana_exprs.py" --names "$GRAF"); do
		grep -q "^# TYPE $m " "$served" || missing="$missing $m"
	done
	[ "$served" = "$OUT/metrics.txt" ] && missing=${missing/ rcfs_http_requests_total/}
	check "every metric the Grafana dashboard uses is exported${missing:+ (missing:$missing)}" test -z "$missing"
else
	skip "Grafana dashboard queries" "python3 not installed"
fi

# ---- the dashboard in headless Chromium ----
if ! chromium_find; then
	skip "dashboard renders in Chromium" "chromium not installed (Debian package chromium)"
	skip "dashboard screenshot" "chromium not installed"
	done_testing
fi
rm -f "$OUT/dashboard.dom.html" "$OUT/dashboard.png"
chromium_dom "$D" "$URL/" "$OUT/dashboard.dom.html"
rows=$(grep -o '<tr class="node[^>]*>' "$OUT/dashboard.dom.html" | wc -l)
leaders=$(grep -o '<tr class="node leader"[^>]*data-role="leader"' "$OUT/dashboard.dom.html" | wc -l)
check "dashboard table shows three nodes ($rows)" test "$rows" -eq 3
check "dashboard shows exactly one leader ($leaders)" test "$leaders" -eq 1
check "summary names node 2 as leader" grep -q 'id="summary" data-leader="2" data-nodes="3"' "$OUT/dashboard.dom.html"
check "unhealthy node is flagged" grep -q '>unhealthy<' "$OUT/dashboard.dom.html"
check "an unreachable node says so, with its last contact, as rcfs status does" \
	grep -q '<tr class="node" data-id="3" data-role="unreachable"><td class="l">node 3</td><td class="l">127.0.0.1:7003</td><td class="l"><a href="http://127.0.0.1:9103/">127.0.0.1:9103</a></td><td class="l role bad" title="last contact 4.2 s ago (then follower)">unreachable</td>' "$OUT/dashboard.dom.html"
check "and its last figures are greyed and dated" \
	grep -q '<td class="muted" title="as of the last contact 4.2 s ago">6</td>' "$OUT/dashboard.dom.html"
check "stored bytes (the chunks' sizes) apart from redis memory, and what waits for GC" \
	grep -q "<td title=\"sum of the chunks' sizes[^\"]*\">600.0 MiB</td><td title=\"unreferenced chunks kept[^\"]*\">4.00 MiB</td><td title=\"redis used_memory[^\"]*\">700.0 MiB</td>" "$OUT/dashboard.dom.html"
check "no fetch error shown" grep -q '<div id="error" role="alert"[^>]*></div>' "$OUT/dashboard.dom.html"

chromium "$D" --window-size=1200,600 --screenshot="$OUT/dashboard.png" "$URL/" > /dev/null
if is_png "$OUT/dashboard.png"; then
	ok "dashboard screenshot in $OUT/dashboard.png"
else
	nok "dashboard screenshot"; sed 's/^/# /' "$D/chromium.err" | tail -20
fi
done_testing
