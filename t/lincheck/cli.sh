#!/bin/sh
# TAP: run the lincheck binary on the sample histories and check exit codes.
srcdir="${top_srcdir:-.}/t/lincheck/histories"
bin="${top_builddir:-.}/t/lincheck/lincheck"
n=0; fail=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
notok() { n=$((n+1)); fail=1; echo "not ok $n - $1"; }
expect() { # expect CODE DESCRIPTION -- ARGS...
	want=$1; desc=$2; shift 3
	out=$("$bin" "$@" 2>&1); rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$desc (exit $rc)"
	else notok "$desc: exit $rc, wanted $want"; printf '%s\n' "$out" | sed 's/^/# /'; fi
}

expect 0 "good history is linearizable" -- "$srcdir/good.hist"
expect 1 "stale read is rejected" -- "$srcdir/stale-read.hist"
expect 2 "malformed history is bad input" -- "$srcdir/malformed.hist"
expect 2 "missing file is bad input" -- "$srcdir/no-such-file.hist"
expect 2 "unknown option" -- --frobnicate "$srcdir/good.hist"
expect 0 "timeout option accepted" -- --timeout-ms 5000 --verbose "$srcdir/good.hist"

out=$("$bin" "$srcdir/good.hist")
case $out in "linearizable: 13 ops, 4 keys") ok "summary line: $out" ;;
	*) notok "summary line: $out" ;; esac
out=$("$bin" "$srcdir/stale-read.hist")
case $out in *"process r1 get f1 -> \"v1\""*) ok "explanation names the stale read" ;;
	*) notok "explanation: $out" ;; esac
out=$("$bin" "$srcdir/malformed.hist" 2>&1)
case $out in *"line 4:"*) ok "parse error names the line" ;;
	*) notok "parse error: $out" ;; esac
if "$bin" - < "$srcdir/good.hist" >/dev/null; then ok "reads stdin"; else notok "reads stdin"; fi
if "$bin" --no-precheck - < "$srcdir/stale-read.hist" >/dev/null; then
	notok "search alone rejects the stale read"
else [ $? -eq 1 ] && ok "search alone rejects the stale read" || notok "search alone: wrong exit"; fi

echo "1..$n"
exit $fail
