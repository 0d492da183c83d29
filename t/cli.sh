#!/usr/bin/env bash
# Integration (TAP): the rcfs CLI as people use it (issue 16, "Bugs").
#  - get's destination: a FIFO, a device, a symlink to one, a symlink to a
#    regular file, /dev/full, a directory, a dangling symlink;
#  - SIGINT/SIGTERM/SIGHUP during a get leave no temporary file and the
#    process dies of the signal (128 + signal);
#  - each setting takes its own precedence: option > environment > config
#    file (-c or $RCFS_CONF) > default, on a node with authentication;
#  - names with control characters are refused by the CLI and by the node.
. "${top_srcdir:-$(dirname "$0")/..}/t/lib.sh"
watchdog 600

new_tmpdir W
C=1048576       # default chunk size
# rcfs with the signals a background job of a script would ignore restored,
# as an interactive shell's foreground job has them.
# (Not a shell function: "$!" must be the pid of rcfs itself, not of a subshell.)
RCFS_SIG=(env --default-signal=INT,TERM,HUP "$RCFS")
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
no_temp() { [ -z "$(find "$@" -name '*.rcfs-*' 2>/dev/null)" ]; }
# cond 'SHELL CONDITION': for check, when a point needs several conditions.
cond() { eval "$1"; }

# ---- one node, no authentication ---------------------------------------------
cluster_up -n 1 || { nok "cluster up"; done_testing; }
ok "one node up"
unset RCFS_KEY_FILE
NODE=$RCFS_NODES
NODE_PID=$(cat "$CDIR/n1/rcfsd.pid")
SOCK="$CDIR/n1/redis.sock"

head -c $((3 * C + 123)) /dev/urandom > "$W/f3";    "$RCFS" -q put "$W/f3" t/f3
printf 'small inline file\n' > "$W/small";          "$RCFS" -q put "$W/small" t/small

# ---- get DEST: what DEST is decides how it is written ------------------------
D="$W/dest"; mkdir -p "$D/links" "$D/targets"

# A FIFO: written in place; it stays a FIFO and its reader gets the file.
mkfifo "$D/fifo"
timeout 60 cat "$D/fifo" > "$D/fifo.out" & reader=$!
expect_rc 0 "get to a FIFO: exit 0" "$RCFS" -q get t/f3 "$D/fifo"
wait "$reader"
check "get to a FIFO: it is still a FIFO" [ -p "$D/fifo" ]
check "get to a FIFO: the reader got the whole file" cmp -s "$W/f3" "$D/fifo.out"

# A symlink to a FIFO: followed, written in place, the link kept.
mkfifo "$D/targets/fifo2"; ln -s ../targets/fifo2 "$D/links/fifo-link"
timeout 60 cat "$D/targets/fifo2" > "$D/fifo2.out" & reader=$!
expect_rc 0 "get to a symlink to a FIFO: exit 0" "$RCFS" -q get t/small "$D/links/fifo-link"
wait "$reader"
check "get to a symlink to a FIFO: link and FIFO kept" \
	cond '[ -L "$D/links/fifo-link" ] && [ -p "$D/targets/fifo2" ]'
check "get to a symlink to a FIFO: the reader got the (inline) file" cmp -s "$W/small" "$D/fifo2.out"

# A symlink to /dev/null: the link is kept, /dev/null stays a device.
ln -s /dev/null "$D/links/null-link"
expect_rc 0 "get to a symlink to /dev/null: exit 0" "$RCFS" -q get t/f3 "$D/links/null-link"
check "get to a symlink to /dev/null: still a link to /dev/null" \
	cond '[ -L "$D/links/null-link" ] && [ "$(readlink "$D/links/null-link")" = /dev/null ]'
check "get to a symlink to /dev/null: /dev/null is still a character device" [ -c /dev/null ]

# A symlink to a regular file in another directory: the target is replaced
# atomically (temporary file in the target's directory), the link kept.
echo old > "$D/targets/reg"; ln -s ../targets/reg "$D/links/reg-link"
expect_rc 0 "get to a symlink to a regular file: exit 0" "$RCFS" -q get t/f3 "$D/links/reg-link"
check "get to a symlink to a regular file: still a symlink, same target" \
	cond '[ -L "$D/links/reg-link" ] && [ "$(readlink "$D/links/reg-link")" = ../targets/reg ]'
check "get to a symlink to a regular file: the target has the content" cmp -s "$W/f3" "$D/targets/reg"
check "get to a symlink to a regular file: the target is a regular file" \
	cond '[ -f "$D/targets/reg" ] && [ ! -L "$D/targets/reg" ]'

# A regular file is replaced (a new inode: rename over it).
echo old > "$D/plain"; ino=$(stat -c %i "$D/plain")
expect_rc 0 "get over a regular file: exit 0" "$RCFS" -q get t/f3 "$D/plain"
check "get over a regular file: replaced by rename (new inode), right content" \
	cond '[ "$(stat -c %i "$D/plain")" != "$ino" ] && cmp -s "$W/f3" "$D/plain"'

# Refused before anything is fetched: a directory, a dangling symlink.
mkdir "$D/adir"
out=$("$RCFS" get t/f3 "$D/adir" 2>&1); rc=$?
check "get to a directory: exit 8, one line" cond '[ "$rc" -eq 8 ] && [ "$out" = "rcfs: get t/f3: $D/adir: Is a directory" ]'
ln -s "$D/nowhere" "$D/links/dangling"
out=$("$RCFS" get t/f3 "$D/links/dangling" 2>&1); rc=$?
check "get to a dangling symlink: exit 8, says so" cond '[ "$rc" -eq 8 ] && grep -q "dangling symbolic link" <<<"$out"'
check "get to a dangling symlink: link kept, nothing created" cond '[ -L "$D/links/dangling" ] && [ ! -e "$D/nowhere" ]'

# /dev/full: a clear error, exit 8, and it stays a device.
if [ -c /dev/full ] && [ -w /dev/full ]; then
	out=$("$RCFS" -q get t/f3 /dev/full 2>&1); rc=$?
	check "get to /dev/full: exit 8 (was 0)" [ "$rc" -eq 8 ]
	check "get to /dev/full: one line naming the cause" \
		[ "$out" = "rcfs: get t/f3: /dev/full: No space left on device" ]
	check "get to /dev/full: still a character device" [ -c /dev/full ]
else
	ok "# SKIP /dev/full is not writable here"
fi

# A device node made with mknod (a copy of /dev/null): written in place.
if [ "$(id -u)" = 0 ] && mknod "$D/nulldev" c 1 3 2>/dev/null; then
	expect_rc 0 "get to a mknod device: exit 0" "$RCFS" -q get t/f3 "$D/nulldev"
	check "get to a mknod device: still a character device (1,3)" \
		cond '[ -c "$D/nulldev" ] && [ "$(stat -c %t,%T "$D/nulldev")" = 1,3 ]'
else
	ok "# SKIP mknod needs root"
fi
check "get: no temporary file left next to any destination" no_temp "$D"

# Integrity failure while streaming in place: the reader gets the verified
# chunks before the bad one and not one byte more.
head -c $((3 * C)) /dev/urandom > "$W/c3"; "$RCFS" -q put "$W/c3" t/corrupt3
h2=$("$RCFS" --json stat t/corrupt3 | sed 's/.*"chunk_list":\["[0-9a-f]*","\([0-9a-f]*\)".*/\1/')
redis-cli -s "$SOCK" SETRANGE "rcfs:c:$h2" 100 XXXX >/dev/null
mkfifo "$D/cfifo"
timeout 60 cat "$D/cfifo" > "$D/cfifo.out" & reader=$!
expect_rc 5 "corrupt chunk 2 of 3, get to a FIFO: exit 5" bash -c '"$RCFS" -q get t/corrupt3 "$1" 2>/dev/null' _ "$D/cfifo"
wait "$reader"
check "corrupt chunk 2 of 3: the reader got exactly chunk 1, verified" \
	cond '[ "$(stat -c %s "$D/cfifo.out")" -eq $C ] && cmp -s -n $C "$W/c3" "$D/cfifo.out"'

# A chunk no reachable node holds: the file exists, so the get is
# "unavailable" (4) after its retries, never "no such file" (3).
head -c $((2 * C)) /dev/urandom > "$W/m2"; "$RCFS" -q put "$W/m2" t/missing2
h2=$("$RCFS" --json stat t/missing2 | sed 's/.*"chunk_list":\["[0-9a-f]*","\([0-9a-f]*\)".*/\1/')
redis-cli -s "$SOCK" DEL "rcfs:c:$h2" >/dev/null
expect_rc 4 "a chunk missing everywhere: get exits 4 (unavailable), not 3" \
	bash -c '"$RCFS" -q --timeout 1 get t/missing2 - > /dev/null 2>&1'

# ---- a signal during get removes the temporary file --------------------------
head -c $((96 * C)) /dev/urandom > "$W/big"
"$RCFS" -q put "$W/big" t/big || nok "put a 96 MiB file"
sigtest() {     # sigtest SIGNAL WANT-EXIT
	local sig=$1 want=$2 d="$W/sig-$1" pid rc tmp="" end
	mkdir -p "$d"
	"${RCFS_SIG[@]}" -q get t/big "$d/big.out" 2>"$d/err" & pid=$!
	end=$((SECONDS + 30))
	# Busy-poll (bounded): the temporary file appears after the stat.
	until tmp=$(compgen -G "$d/big.out.rcfs-*") || [ "$SECONDS" -ge "$end" ]; do :; done
	kill -STOP "$NODE_PID"          # freeze the transfer half-way
	check "SIG$sig: the get was interrupted mid-file (temporary file present)" \
		cond '[ -n "$tmp" ] && [ -f "$tmp" ] && kill -0 "$pid"'
	kill -"$sig" "$pid"
	wait "$pid"; rc=$?
	kill -CONT "$NODE_PID"
	check "SIG$sig: exit status $want (128 + signal), was $rc" [ "$rc" -eq "$want" ]
	check "SIG$sig: no temporary file, no partial destination left" \
		cond 'no_temp "$d" && [ ! -e "$d/big.out" ]'
}
sigtest INT 130
sigtest TERM 143
sigtest HUP 129
# Once the file is complete, a get still works (the node was only paused).
expect_rc 0 "after the signals: get of the big file" "$RCFS" -q get t/big "$W/big.out"
check "after the signals: identical" cmp -s "$W/big" "$W/big.out"
rm -f "$W/big" "$W/big.out"

# ---- names with control characters -------------------------------------------
for n in $'new\nline' $'tab\there' $'del\x7f' $'dir/\x1b[2J'; do
	shown=$(printf '%q' "$n")
	out=$("$RCFS" put "$W/small" "$n" 2>&1); rc=$?
	check "put $shown: refused by the CLI (exit 2)" \
		cond '[ "$rc" -eq 2 ] && grep -q "invalid name: name contains a control character" <<<"$out"'
done
expect_rc 2 "get of a name with a newline: exit 2" "$RCFS" get $'a\nb' - 2>/dev/null
expect_rc 2 "stat of a name with a tab: exit 2" "$RCFS" stat $'a\tb' 2>/dev/null
expect_rc 2 "rm of a name with DEL: exit 2" "$RCFS" rm $'a\x7fb' 2>/dev/null
check "ls: no name spans two lines" [ "$("$RCFS" ls | wc -l)" -eq "$("$RCFS" --json ls | grep -o '"name":' | wc -l)" ]

# The node refuses them too: a FileCommit sent without the CLI (raw frame).
rawcommit() {   # rawcommit HOST:PORT NAME: prints "ok" or "error CODE MESSAGE"
	python3 - "$1" "$(printf '%s' "$2" | od -An -tx1 | tr -d ' \n')" <<'EOF'
import hashlib, socket, struct, sys
def varint(n):
    out = b''
    while True:
        b, n = n & 0x7f, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])
def fb(num, data): return varint(num << 3 | 2) + varint(len(data)) + data
def fv(num, v): return varint(num << 3) + varint(v)
host, port = sys.argv[1].rsplit(':', 1)
name, data = bytes.fromhex(sys.argv[2]), b'raw frame\n'
meta = fb(1, name) + fv(2, len(data)) + fv(3, 1048576) + fb(5, hashlib.sha256(data).digest()) + fb(9, data)
payload = fb(1, meta)
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b'RCFS' + struct.pack('>BBHII', 1, 20, 0, 7, len(payload)) + payload)
def recv(n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit('connection closed')
        b += c
    return b
h = recv(16)
body = recv(struct.unpack('>I', h[12:16])[0])
if h[5] == 21:
    print('ok')
elif h[5] == 1:
    code, msg, i = 0, '', 0
    while i < len(body):
        key = body[i]; i += 1
        if key == 0x08:
            code, shift = 0, 0
            while True:
                code |= (body[i] & 0x7f) << shift; shift += 7; i += 1
                if body[i - 1] < 0x80: break
        elif key == 0x12:
            ln = body[i]; i += 1
            msg = body[i:i + ln].decode(); i += ln
        else:
            break
    print('error', code, msg)
else:
    print('type', h[5])
EOF
}
if command -v python3 >/dev/null 2>&1; then
	check "raw FileCommit with a valid name is accepted (the raw path works)" \
		[ "$(rawcommit "$NODE" raw/valid)" = ok ]
	check "raw FileCommit: the file is there" \
		bash -c '[ "$("$RCFS" get raw/valid -)" = "raw frame" ]'
	for n in $'raw/new\nline' $'raw/tab\t' $'raw/del\x7f' $'raw/\x01'; do
		shown=$(printf '%q' "$n")
		check "node refuses $shown: E_BAD_REQUEST (2), control character" \
			[ "$(rawcommit "$NODE" "$n")" = "error 2 name contains a control character" ]
	done
	check "node: nothing but raw/valid was stored under raw/" [ "$("$RCFS" ls raw/)" = raw/valid ]
else
	ok "# SKIP python3 is missing (the node's rule is t/unit/test_name)"
fi

# ---- failing fast; help; a reader that goes away ------------------------------
out=$("$RCFS" --version); rc=$?
check "--version: exit 0, 'rcfs VERSION'" cond '[ "$rc" -eq 0 ] && [[ "$out" =~ ^rcfs\ [0-9]+\.[0-9]+ ]]'
out=$(env -u RCFS_NODES -u RCFS_CONF "$RCFS" get --help); rc=$?
check "rcfs get --help: that command's usage, exit 0, no node needed" \
	cond '[ "$rc" -eq 0 ] && [ "$out" = "usage: rcfs get [-f] [--no-clobber] NAME [LOCAL|-] | get PATTERN DIR | get -r PREFIX LOCALDIR" ]'
for a in garbage 127.0.0.11 127.0.0.1:notaport 127.0.0.1:0; do
	t0=$(now_ms); out=$(env -u RCFS_CONF "$RCFS" -n "$a" ls 2>&1); rc=$?; t1=$(now_ms)
	check "-n $a: a usage error at once (exit $rc, $((t1 - t0)) ms)" \
		cond '[ "$rc" -eq 2 ] && [ $((t1 - t0)) -lt 2000 ] && [ "$out" = "rcfs: node address '"'$a'"' is not HOST:PORT" ]'
done
# A refused connection: nothing to wait for (the default timeout is 30 s).
t0=$(now_ms); out=$(env -u RCFS_CONF "$RCFS" -n 127.0.0.1:1 ls 2>&1); rc=$?; t1=$(now_ms)
check "-n 127.0.0.1:1 (refused): exit 4 at once with the cause ($rc, $((t1 - t0)) ms: $out)" \
	cond '[ "$rc" -eq 4 ] && [ $((t1 - t0)) -lt 2000 ] && [ "$out" = "rcfs: ls: 127.0.0.1:1: Connection refused" ]'
out=$(env -u RCFS_CONF "$RCFS" -v -n 127.0.0.1:1,127.0.0.1:2 ls 2>&1); rc=$?
check "two refused nodes with -v: each named once, exit 4" \
	cond '[ "$rc" -eq 4 ] && [ "$(grep -c "^rcfs: 127.0.0.1:[12]: Connection refused$" <<<"$out")" -eq 2 ]'
out=$("$RCFS" frobnicate 2>&1); rc=$?
check "an unknown command: exit 2, named" cond '[ "$rc" -eq 2 ] && grep -q "unknown command '"'frobnicate'"'" <<<"$out"'
"$RCFS" -q get t/f3 - 2>"$W/pipe.err" | head -c 10 > /dev/null
rc=${PIPESTATUS[0]}
check "get - | head -c 10: rcfs ends quietly of SIGPIPE like cat (exit $rc, want 141)" \
	cond '[ "$rc" -eq 141 ] && [ ! -s "$W/pipe.err" ]'

# ---- "--", cat, cp, rm NAME..., health ------------------------------------------
expect_rc 0 "put to a name that looks like an option, after --" "$RCFS" -q put "$W/small" -- -h
check "ls -- -h lists it (not the help)" [ "$("$RCFS" ls -- -h)" = "-h" ]
check "cat NAME...: the files in order, verified" \
	bash -c 'cmp -s <("$1" cat t/small t/f3) <(cat "$2" "$3")' _ "$RCFS" "$W/small" "$W/f3"
expect_rc 0 "cp: a new name for the same chunks" "$RCFS" -q cp t/f3 t/f3.copy
check "cp: the copy reads back" bash -c '"$1" cat t/f3.copy | cmp -s - "$2"' _ "$RCFS" "$W/f3"
check "cp: same chunks, nothing uploaded again" bash -c 'diff <("$1" stat -v t/f3 | grep -c "[0-9a-f]\{64\}") <("$1" stat -v t/f3.copy | grep -c "[0-9a-f]\{64\}")' _ "$RCFS"
expect_rc 3 "cp of a missing file: not found" "$RCFS" -q cp t/missing t/x
expect_rc 0 "rm NAME NAME -- NAME" "$RCFS" -q rm t/f3.copy -- -h
check "rm NAME...: both gone" bash -c '[ -z "$("$1" ls -- -h)" ] && [ -z "$("$1" ls t/f3.copy)" ]' _ "$RCFS"
out=$("$RCFS" health); rc=$?
check "health: exit 0 and one healthy line for the node" \
	cond '[ "$rc" -eq 0 ] && grep -q "is healthy: node 1, leader" <<<"$out"'
kill -STOP "$NODE_PID"
t0=$(now_ms); "$RCFS" health >/dev/null 2>&1; rc=$?; t1=$(now_ms)
kill -CONT "$NODE_PID"
check "health of a hung node: exit 4 within its 2 s bound (exit $rc, $((t1 - t0)) ms)" \
	cond '[ "$rc" -eq 4 ] && [ $((t1 - t0)) -lt 5000 ]'

out=$("$RCFS" --json du t/)
want=$("$RCFS" ls -l t/ | awk '$1 != "total" { n++; b += $1 } END { printf "{\"prefix\":\"t/\",\"files\":%d,\"bytes\":%d}", n, b }')
check "du t/: the files and bytes ls -l lists ($out)" [ "$out" = "$want" ]
check "ls -l ends with the total it listed" \
	grep -qx "total $(grep -o '"files":[0-9]*' <<<"$out" | cut -d: -f2) file(s), $(grep -o '"bytes":[0-9]*' <<<"$out" | cut -d: -f2) bytes" <<<"$("$RCFS" ls -l t/ | tail -n 1)"

# stat: the real chunk layout, the mode, the HLC as a time.
out=$("$RCFS" stat t/f3)
check "stat: the real chunk layout (4 chunks: 3 x C + 123 bytes)" \
	grep -qx "chunks:     4 chunks: 3 x $C + 123 bytes" <<<"$out"
check "stat: the mode the file had" grep -qx "mode:       0$(stat -c %a "$W/f3")" <<<"$out"
check "stat: the commit's HLC as a time" \
	grep -qE "^version:    [0-9]+ \(committed at hlc 20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8}\.[0-9]{3} \+[0-9]+\)$" <<<"$out"
check "stat: an inline file says so, with its size" \
	grep -qx "chunks:     none: inline (18 bytes in the file table)" <<<"$("$RCFS" stat t/small)"

# On a terminal (script(1) gives rcfs a pty): a binary file is not dumped
# there unless -f; text is; put and get leave one summary line.
if command -v script >/dev/null 2>&1; then
	tty_run() { script -qec "$1" /dev/null 2>&1 | tr '\r' '\n'; }
	out=$(tty_run "'$RCFS' get t/f3 -"); script -qec "'$RCFS' get t/f3 -" /dev/null >/dev/null 2>&1; rc=$?
	check "get of a binary file to a terminal: refused (exit $rc), nothing dumped" \
		cond '[ "$rc" -eq 2 ] && grep -q "binary file not written to the terminal" <<<"$out" && [ "$(wc -c <<<"$out")" -lt 400 ]'
	out=$(tty_run "'$RCFS' get -f t/f3 - | wc -c")
	check "get -f writes it anyway" grep -q "^$((3 * C + 123))\$" <<<"$out"
	out=$(tty_run "'$RCFS' get t/small -")
	check "a text file is shown" grep -q "^small inline file" <<<"$out"
	out=$(tty_run "'$RCFS' put '$W/f3' t/tty && '$RCFS' get t/tty '$W/tty.out'")
	# t/f3's bytes again: the cluster holds every chunk, the put says so.
	check "put and get leave one summary line each on a terminal (the put: already stored)" \
		cond 'grep -qE "^put t/tty: 3\.0 MiB in [0-9.]+ s, [0-9.]+ MiB/s, 3\.0 MiB already stored$" <<<"$out" && grep -qE "^get t/tty: 3\.0 MiB in [0-9.]+ s, [0-9.]+ MiB/s$" <<<"$out"'
else
	ok "terminal behaviour # SKIP script(1) not installed"
fi

# Bash completion (contrib/bash-completion/rcfs): commands, options, remote
# names one directory at a time, local files.
complete_at() {  # complete_at WORDS...: COMPREPLY for the last word, space-separated and sorted
	(
		. "$top_srcdir/contrib/bash-completion/rcfs"
		COMP_WORDS=("$RCFS" "$@"); COMP_CWORD=$#
		_rcfs
		printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
	)
}
check "completion: commands" [ "$(complete_at st)" = "stat status " ]
check "completion: a command's options" [ "$(complete_at get -)" = "--help --no-clobber -f -r " ]
out=$(complete_at ls '')
check "completion: the top level shows t/ once, not what is under it ($out)" \
	cond '[[ " $out" == *" t/ "* ]] && [[ "$out" != *"t/f3"* ]]'
check "completion: remote names under a directory (t/f -> t/f3)" [ "$(complete_at get t/f)" = "t/f3 " ]
check "completion: -n is passed on to rcfs ls" [ "$(complete_at -n "$NODE" rm t/sm)" = "t/small " ]
check "completion: put's first operand is a local file" \
	[ "$(cd "$W" && complete_at put sma)" = "small " ]
check "completion: member subcommands" [ "$(complete_at member re)" = "remove " ]

# mv: one atomic rename; the content follows, the old name is gone.
"$RCFS" -q cp t/f3 mv/a
expect_rc 0 "mv mv/a mv/b: exit 0" "$RCFS" mv mv/a mv/b
check "mv: only the new name is listed" cond '[ "$("$RCFS" ls mv/ | tr "\n" " ")" = "mv/b " ]'
check "mv: with the content" bash -c '"$1" get mv/b - | cmp -s - "$2"' _ "$RCFS" "$W/f3"
"$RCFS" -q cp t/small mv/c
expect_rc 0 "mv onto an existing name replaces it" "$RCFS" mv mv/c mv/b
check "mv: the replaced name has the moved content" bash -c '"$1" get mv/b - | cmp -s - "$2"' _ "$RCFS" "$W/small"
expect_rc 3 "mv of a missing name: exit 3" "$RCFS" mv mv/none mv/x
expect_rc 2 "mv onto itself: a usage error" "$RCFS" mv mv/b mv/b

# Globs (fnmatch, * never matches "/"): get PATTERN DIR, cat, rm.
for f in a.gz b.gz c.txt sub/d.gz; do printf '%s\n' "$f" > "$W/glob"; "$RCFS" -q put "$W/glob" "g/$f"; done
mkdir -p "$W/globs"
expect_rc 0 "get 'g/*.gz' DIR: exit 0" "$RCFS" -q get 'g/*.gz' "$W/globs"
check "get PATTERN DIR: the matches, not g/sub/d.gz" cond '[ "$(ls "$W/globs" | tr "\n" " ")" = "a.gz b.gz " ]'
check "cat 'g/?.txt': the match's content" cond '[ "$("$RCFS" cat "g/?.txt")" = c.txt ]'
expect_rc 0 "rm 'g/*.gz': exit 0" "$RCFS" rm 'g/*.gz'
check "rm PATTERN: the matches gone, the rest kept" cond '[ "$("$RCFS" ls g/ | tr "\n" " ")" = "g/c.txt g/sub/d.gz " ]'
expect_rc 3 "a pattern that matches nothing: exit 3" "$RCFS" rm 'g/none*'
expect_rc 2 "get PATTERN without a directory: a usage error" "$RCFS" get 'g/*.txt' -

# get --no-clobber: an existing LOCAL is never touched; a new one is written.
printf 'keep me\n' > "$W/kept"
out=$("$RCFS" get --no-clobber t/small "$W/kept" 2>&1); rc=$?
check "get --no-clobber onto an existing file: exit 8, 'exists', the file untouched" \
	cond '[ "$rc" -eq 8 ] && grep -q "exists (--no-clobber)" <<<"$out" && [ "$(cat "$W/kept")" = "keep me" ]'
expect_rc 0 "get --no-clobber to a new name writes it" "$RCFS" get --no-clobber t/small "$W/fresh"
check "with the file's content" cmp -s "$W/small" "$W/fresh"

# Trees: put -r, get -r, rm -r (PREFIX is a directory: "tr" never means "tr2/").
T="$W/tree"; mkdir -p "$T/a/b" "$T/c"
printf 'one\n' > "$T/x"; head -c $((C + 5)) /dev/urandom > "$T/a/b/big"
printf 'two\n' > "$T/c/y"; chmod 0750 "$T/c/y"; ln -s x "$T/link"
"$RCFS" -q put "$W/small" tr2/other
expect_rc 0 "put -r DIR tr: exit 0" "$RCFS" -q put -r "$T" tr
check "put -r: every regular file (a link to one followed) under tr/" \
	cond '[ "$("$RCFS" ls tr/ | tr "\n" " ")" = "tr/a/b/big tr/c/y tr/link tr/x " ]'
expect_rc 0 "get -r tr DIR: exit 0" "$RCFS" -q get -r tr "$W/tree.out"
check "get -r: the same tree back, byte for byte" diff -r "$T" "$W/tree.out"
check "get -r: modes kept (0750)" [ "$(stat -c %a "$W/tree.out/c/y")" = 750 ]
check "get -r tr did not take tr2/" [ ! -e "$W/tree.out/other" ]
ln -s nowhere "$T/dangling"
out=$("$RCFS" -q put -r "$T" tr3 2>&1); rc=$?
check "put -r with a dangling link: the others stored, exit 8, the failure named" \
	cond '[ "$rc" -eq 8 ] && grep -q "dangling symbolic link" <<<"$out" && grep -q "1 of 5 files failed" <<<"$out" && [ "$("$RCFS" ls tr3/ | wc -l)" -eq 4 ]'
check "ls -d tr/: the entries directly under tr/, each sub-directory once" \
	cond '[ "$("$RCFS" ls -d tr/ | tr "\n" " ")" = "tr/a/ tr/c/ tr/link tr/x " ]'
out=$("$RCFS" ls tr | tr "\n" " ")
check "ls tr (no -d): a prefix: every name under it, tr2/ too ($out)" \
	cond '[[ "$out" == "tr/a/b/big tr/c/y tr/link tr/x tr2/other "* ]]'
check "ls -lh: human sizes, the mode" grep -qE "^ +1\.0M  0[0-7]{3}  .* tr/a/b/big$" <<<"$("$RCFS" ls -lh tr/)"
check "ls -l -h: the same (-h after ls is not help)" \
	cond '[ "$("$RCFS" ls -l -h tr/)" = "$("$RCFS" ls -lh tr/)" ]'
check "ls -R: everything under the prefix (the default)" \
	cond '[ "$("$RCFS" ls -R tr/)" = "$("$RCFS" ls tr/)" ] && "$RCFS" ls -R tr/ | grep -qx tr/a/b/big'
check "ls -d --json: directories marked" grep -q '{"name":"tr/a/","dir":true}' <<<"$("$RCFS" --json ls -d tr/)"
expect_rc 0 "rm -r tr tr3: exit 0" "$RCFS" rm -r tr tr3
check "rm -r: nothing left under tr/ and tr3/, tr2/ untouched" \
	cond '[ -z "$("$RCFS" ls tr/)" ] && [ -z "$("$RCFS" ls tr3/)" ] && [ "$("$RCFS" ls tr2/)" = tr2/other ]'
expect_rc 2 "rm -r without a prefix is a usage error" "$RCFS" rm -r
expect_rc 8 "put -r of a file that is not a directory: exit 8" "$RCFS" put -r "$W/small" tr4

# --json: an error is one JSON object on stderr, stdout stays clean.
"$RCFS" --json stat t/missing > "$W/json.out" 2> "$W/json.err"; rc=$?
check "--json error: exit 3, stdout empty, stderr one JSON object" \
	cond '[ "$rc" -eq 3 ] && [ ! -s "$W/json.out" ] && grep -qx "{\"error\":\"no such file\",\"code\":3,\"op\":\"stat\",\"name\":\"t/missing\"}" "$W/json.err"'

# ---- precedence: option > environment > config file > default -----------------
cluster_up -n 1 --auth || { nok "auth node up"; done_testing; }
ok "one node with authentication up"
ACONF=$RCFS_CONF ANODE=$RCFS_NODES AKEY="$CDIR/client.key" APID=$(cat "$CDIR/n1/rcfsd.pid")
unset RCFS_CONF RCFS_NODES RCFS_KEY_FILE
# rcfs_env ENV... -- ARGS...: run rcfs with exactly the given environment settings.
rcfs_env() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
	env -u RCFS_CONF -u RCFS_NODES -u RCFS_KEY_FILE "${envs[@]}" "$RCFS" "$@"
}
printf 'nodes = "127.0.0.1:1";\nkey_file = "%s";\n' "$AKEY" > "$W/far.conf"
printf 'key_file = "%s";\n' "$W/missing.key" > "$W/nokey.conf"
printf 'key_file = "%s";\ntimeout = 1;\n' "$AKEY" > "$W/t1.conf"
printf 'key_file = "%s";\nencrypt = true;\n' "$AKEY" > "$W/enc.conf"

expect_rc 6 "no key at all: the node says authentication required (exit 6)" \
	rcfs_env -- -n "$ANODE" ls 2>/dev/null
expect_rc 0 "RCFS_CONF alone: nodes and key from it" rcfs_env RCFS_CONF="$ACONF" -- ls
expect_rc 0 "-n with RCFS_CONF: the key still comes from the config (was exit 6)" \
	rcfs_env RCFS_CONF="$ACONF" -- -n "$ANODE" ls
expect_rc 0 "RCFS_NODES with RCFS_CONF: the key still comes from the config" \
	rcfs_env RCFS_CONF="$ACONF" RCFS_NODES="$ANODE" -- ls
expect_rc 0 "-n with -c: the key comes from -c's file" rcfs_env -- -c "$ACONF" -n "$ANODE" ls
expect_rc 6 "-c beats RCFS_CONF (its key_file is missing: exit 6)" \
	rcfs_env RCFS_CONF="$ACONF" -- -c "$W/nokey.conf" -n "$ANODE" ls 2>/dev/null
expect_rc 6 "RCFS_KEY_FILE beats key_file (a missing key: exit 6)" \
	rcfs_env RCFS_CONF="$ACONF" RCFS_KEY_FILE="$W/missing.key" -- -n "$ANODE" ls 2>/dev/null
expect_rc 0 "-k beats RCFS_KEY_FILE" \
	rcfs_env RCFS_CONF="$ACONF" RCFS_KEY_FILE="$W/missing.key" -- -k "$AKEY" -n "$ANODE" ls
expect_rc 0 "-n beats the config's nodes" rcfs_env RCFS_CONF="$W/far.conf" -- -n "$ANODE" ls
expect_rc 0 "RCFS_NODES beats the config's nodes" rcfs_env RCFS_CONF="$W/far.conf" RCFS_NODES="$ANODE" -- ls
expect_rc 4 "the config's nodes when nothing else names any (unreachable: exit 4)" \
	rcfs_env RCFS_CONF="$W/far.conf" -- --timeout 2 ls 2>/dev/null
out=$(rcfs_env -- -c "$W/nothere.conf" -n "$ANODE" ls 2>&1); rc=$?
check "a named config that cannot be read is an error even with -n (exit 2)" \
	cond '[ "$rc" -eq 2 ] && [ "$out" = "rcfs: $W/nothere.conf: cannot read the file" ]'

# encrypt from the config, with -n
out=$(rcfs_env RCFS_CONF="$W/enc.conf" -- -v -n "$ANODE" ls 2>&1)
check "encrypt = true in the config applies with -n" grep -q "authenticated (read-write, encrypted)" <<<"$out"
out=$(rcfs_env RCFS_CONF="$ACONF" -- -v -n "$ANODE" ls 2>&1)
check "no encrypt in the config: not encrypted" \
	bash -c 'grep -q "authenticated (read-write)" <<<"$1" && ! grep -q encrypted <<<"$1"' _ "$out"

# timeout from the config, with -n; --timeout beats it.  The node is paused,
# so every request waits until the timeout.
kill -STOP "$APID"
t0=$(now_ms); rcfs_env RCFS_CONF="$W/t1.conf" -- -n "$ANODE" stat x 2>/dev/null; r1=$?; t1=$(now_ms)
rcfs_env RCFS_CONF="$W/t1.conf" -- --timeout 4 -n "$ANODE" stat x 2>/dev/null; r2=$?; t2=$(now_ms)
kill -CONT "$APID"
check "timeout = 1 in the config applies with -n: exit 4 in $((t1 - t0)) ms (< 8 s; default 30 s)" \
	cond '[ "$r1" -eq 4 ] && [ $((t1 - t0)) -lt 8000 ]'
check "--timeout 4 beats timeout = 1: exit 4 after $((t2 - t1)) ms (>= 3.5 s)" \
	cond '[ "$r2" -eq 4 ] && [ $((t2 - t1)) -ge 3500 ]'
expect_rc 0 "the node serves again after the pause" rcfs_env RCFS_CONF="$ACONF" -- ls

done_testing
