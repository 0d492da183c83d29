#!/usr/bin/env bash
# s3-compat.sh: which S3 operations work with which clients on the rcfs S3
# gateway (docs/s3.md): a long-running compatibility check, not part of
# `make check`.
#
#   top_builddir=DIR contrib/s3-compat.sh [-k] [-o TABLE.md]
#
#   -k          keep the work directory (cluster logs, client output) and
#               print its path
#   -o FILE     also write the table to FILE
#
# Builds nothing: rcfsd and rcfs come from $top_builddir (default: the tree
# this script is in).  Starts its own 3-node cluster on loopback with auth on
# (contrib/rcfs-cluster up -n 3 --auth --client-key ro:read-only) and stops it
# at exit.  Drives aws-cli (/usr/bin/aws), rclone, s3cmd, boto3
# (/usr/bin/python3) and restic against it; a missing client is installed
# with apt-get (Debian packages), one that cannot be had is skipped with a
# note.  Prints a Markdown table, one row per operation and one column per
# client: yes, NO (footnote: the failing command and its first error line)
# or - (the client has no such operation).  Every result is checked (bytes
# against the source, listings and counts against what was stored, the
# objects through `rcfs`), not only the exit status; every client command is
# bounded by `timeout 300`; a failure does not stop the run.  Ends with
# "compat: N yes, N NO"; exits 0 when there is no NO, 1 otherwise (2: usage
# or no cluster).
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
top_builddir=${top_builddir:-$src}
export top_builddir
RCFS=$top_builddir/rcfs
CLUSTER=$src/contrib/rcfs-cluster
KEEP=0 OUT=""
while getopts ko: o; do
	case $o in
	k) KEEP=1 ;;
	o) OUT=$OPTARG; case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac ;;
	*) sed -n '6,10p' "$0" >&2; exit 2 ;;
	esac
done

# die MSG: stop the run (setup failures only; operations never die).
die() { echo "s3-compat: $*" >&2; exit 2; }
# log MSG: progress on stderr.
log() { echo "# $(date +%T) $*" >&2; }

[ -x "$top_builddir/rcfsd" ] && [ -x "$RCFS" ] || die "no rcfsd/rcfs in $top_builddir: build first (make)"

# The clients talk to this cluster only: none of the caller's AWS settings
# (AWS_CA_BUNDLE, profiles, credentials), proxies or rcfs nodes apply.
for v in $(compgen -e | grep '^AWS_'); do unset "$v"; done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY RCFS_NODES RCFS_KEY_FILE RCFS_HTTP

W=$(mktemp -d "${TMPDIR:-/tmp}/rcfs-s3-compat.XXXXXX") || die "mktemp failed"
# cleanup: stop the cluster (by its recorded PIDs) and remove the work
# directory unless -k.
cleanup() {
	[ -d "$W/cluster" ] && "$CLUSTER" down -d "$W/cluster" > /dev/null 2>&1
	if [ "$KEEP" = 1 ]; then echo "s3-compat: work directory kept: $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$W" || die "cannot cd to $W"
mkdir bin build data got
# Copies of the binaries: a rebuild during the run (or a node restarted after
# a crash) does not mix versions.
cp "$top_builddir/rcfsd" "$top_builddir/rcfs" build/ || die "cannot copy the binaries"
BUILT=$(date -u -r "$top_builddir/rcfsd" '+%Y-%m-%d %H:%M UTC')
export RCFSD=$W/build/rcfsd RCFS=$W/build/rcfs

# ---- clients -------------------------------------------------------------------------------
CLIENTS=(aws rclone s3cmd boto3 restic)
declare -A TITLE=([aws]=aws-cli [rclone]=rclone [s3cmd]=s3cmd [boto3]=boto3 [restic]=restic)
declare -A PKG=([aws]=awscli [rclone]=rclone [s3cmd]=s3cmd [boto3]=python3-boto3 [restic]=restic)
declare -A HAVE=() VERSION=()
NOTES=()

# have CLIENT: the client's program (or module) is there.
have() {
	case $1 in
	aws) [ -x /usr/bin/aws ] ;;
	boto3) /usr/bin/python3 -c 'import boto3' 2> /dev/null ;;
	*) command -v "$1" > /dev/null ;;
	esac
}

# apt_install PACKAGE: apt-get install it quietly (bounded; one `apt-get update`
# if the first try fails).
apt_install() {
	log "installing $1"
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q "$1" >> "$W/apt.log" 2>&1 && return 0
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -q >> "$W/apt.log" 2>&1
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q "$1" >> "$W/apt.log" 2>&1
}

for cl in "${CLIENTS[@]}"; do
	have "$cl" || apt_install "${PKG[$cl]}"
	if have "$cl"; then
		HAVE[$cl]=1
	else
		NOTES+=("${TITLE[$cl]}: skipped (not installed, and \`apt-get install ${PKG[$cl]}\` failed)")
	fi
done
command -v curl > /dev/null || apt_install curl
command -v curl > /dev/null || die "curl is needed (presigned URLs)"
RCLONE_BIN=$(command -v rclone) S3CMD_BIN=$(command -v s3cmd) RESTIC_BIN=$(command -v restic)
[ -n "${HAVE[aws]:-}" ] && VERSION[aws]=$(/usr/bin/aws --version 2>&1 | awk '{print $1}')
[ -n "${HAVE[rclone]:-}" ] && VERSION[rclone]=$(rclone version 2>/dev/null | awk 'NR == 1 {print $1, $2}')
[ -n "${HAVE[s3cmd]:-}" ] && VERSION[s3cmd]=$(s3cmd --version 2>&1 | head -1)
[ -n "${HAVE[boto3]:-}" ] && VERSION[boto3]=$(/usr/bin/python3 -c \
	'import boto3, botocore; print("boto3 %s (botocore %s)" % (boto3.__version__, botocore.__version__))')
[ -n "${HAVE[restic]:-}" ] && VERSION[restic]=$(restic version 2>/dev/null | awk '{print $1, $2}')

# ---- the cluster -------------------------------------------------------------------------
log "starting a 3-node cluster with auth in $W/cluster"
"$CLUSTER" up -n 3 -d "$W/cluster" --auth --client-key ro:read-only > up.out 2>&1 ||
	{ cat up.out >&2; die "rcfs-cluster up failed"; }
export RCFS_CONF=$W/cluster/rcfs.conf
S3=$(sed -n 's/^RCFS_S3=//p' up.out)
IFS=, read -r S3_1 S3_2 S3_3 <<< "$S3"
KEY_ID=$(sed -n 's/^RCFS_S3_ACCESS_KEY_ID=//p' up.out)
SECRET=$(sed -n 's/^RCFS_S3_SECRET_ACCESS_KEY=//p' up.out)
"$RCFS" keygen --show --s3 "$W/cluster/ro.key" > ro.env 2>&1
RO_ID=$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' ro.env)
RO_SECRET=$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' ro.env)
for a in "$S3_1" "$S3_2" "$S3_3"; do
	case $a in 127.*:*) ;; *) die "S3 endpoint '$a' is not on 127.0.0.0/8" ;; esac
done
[ -n "$KEY_ID" ] && [ -n "$SECRET" ] && [ -n "$RO_ID" ] && [ -n "$RO_SECRET" ] || die "no S3 credentials in up.out / ro.key"

# Private configuration for every client; never the caller's.
export AWS_CONFIG_FILE=$W/aws-config AWS_SHARED_CREDENTIALS_FILE=$W/aws-credentials
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
: > "$AWS_CONFIG_FILE"; : > "$AWS_SHARED_CREDENTIALS_FILE"
export XDG_CACHE_HOME=$W/cache XDG_CONFIG_HOME=$W/config RESTIC_CACHE_DIR=$W/cache/restic
export RESTIC_PASSWORD=s3-compat
cat > rclone.conf <<EOT
[r]
type = s3
provider = Other
endpoint = http://$S3_2
region = us-east-1
access_key_id = $KEY_ID
secret_access_key = $SECRET

[ro]
type = s3
provider = Other
endpoint = http://$S3_2
region = us-east-1
access_key_id = $RO_ID
secret_access_key = $RO_SECRET
EOT
# s3cfg FILE ID SECRET: an s3cmd config for node 3, path style, SigV4.
s3cfg() {
	printf '[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\n%s\n' \
		"$2" "$3" "$S3_3" "$S3_3" "use_https = False
signature_v2 = False" > "$1"
}
s3cfg s3cfg "$KEY_ID" "$SECRET"
s3cfg s3cfg-ro "$RO_ID" "$RO_SECRET"

# wrapper NAME COMMAND...: bin/NAME runs COMMAND followed by its own
# arguments, so that a footnote shows `aws s3 cp ...`, not the endpoint and
# the credentials.
wrapper() {
	local n=$1; shift
	{ echo '#!/usr/bin/env bash'; printf 'exec'; printf ' %q' "$@"; echo ' "$@"'; } > "bin/$n"
	chmod +x "bin/$n"
}
wrapper aws env AWS_ACCESS_KEY_ID="$KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET" /usr/bin/aws --endpoint-url "http://$S3_1"
wrapper aws-ro env AWS_ACCESS_KEY_ID="$RO_ID" AWS_SECRET_ACCESS_KEY="$RO_SECRET" /usr/bin/aws --endpoint-url "http://$S3_1"
wrapper rclone env -u AWS_CA_BUNDLE "$RCLONE_BIN" --config "$W/rclone.conf" --retries 1
wrapper s3cmd "$S3CMD_BIN" -c "$W/s3cfg"
wrapper s3cmd-ro "$S3CMD_BIN" -c "$W/s3cfg-ro"
wrapper b3 env B3_ENDPOINT="http://$S3_1" B3_KEY_ID="$KEY_ID" B3_SECRET="$SECRET" /usr/bin/python3 "$W/b3.py"
wrapper b3-ro env B3_ENDPOINT="http://$S3_1" B3_KEY_ID="$RO_ID" B3_SECRET="$RO_SECRET" /usr/bin/python3 "$W/b3.py"
wrapper restic env AWS_ACCESS_KEY_ID="$KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET" "$RESTIC_BIN" -r "s3:http://$S3_2/cmp-restic"
wrapper restic-ro env AWS_ACCESS_KEY_ID="$RO_ID" AWS_SECRET_ACCESS_KEY="$RO_SECRET" "$RESTIC_BIN" -r "s3:http://$S3_2/cmp-restic"
PATH=$W/bin:$PATH

# boto3's side: one operation per call, what the shell checks on stdout.
cat > b3.py <<'EOT'
"""b3.py OP ARGS...: one boto3 operation for contrib/s3-compat.sh; prints what
the shell checks; an error is one line on stderr and exit 1."""
import json
import os
import sys

import boto3
from botocore.config import Config

s3 = boto3.client("s3", endpoint_url=os.environ["B3_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id=os.environ["B3_KEY_ID"],
                  aws_secret_access_key=os.environ["B3_SECRET"],
                  config=Config(s3={"addressing_style": "path"}))


def keys(bucket, prefix, delimiter="", version="v2"):
    """Every key and common prefix under prefix, page after page."""
    args = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        args["Delimiter"] = delimiter
    out = []
    pages = s3.get_paginator("list_objects" if version == "v1" else "list_objects_v2")
    for page in pages.paginate(**args):
        out += [o["Key"] for o in page.get("Contents", [])]
        out += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return out


def delete(bucket, names):
    """DeleteObjects, 1,000 keys a request; the number deleted."""
    n = 0
    for i in range(0, len(names), 1000):
        r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in names[i:i + 1000]]})
        if r.get("Errors"):
            raise RuntimeError("DeleteObjects: %s" % r["Errors"][0])
        n += len(r.get("Deleted", []))
    return n


def op_mb(b):
    s3.create_bucket(Bucket=b)


def op_buckets():
    for x in s3.list_buckets()["Buckets"]:
        print(x["Name"])


def op_put(b, k, f, ctype="", meta=""):
    args = {"Bucket": b, "Key": k, "Body": open(f, "rb").read()}
    if ctype:
        args["ContentType"] = ctype
    if meta:
        args["Metadata"] = dict([meta.split("=", 1)])
    s3.put_object(**args)


def op_upload(b, k, f):
    s3.upload_file(f, b, k)


def op_get(b, k, f):
    with open(f, "wb") as out:
        for c in s3.get_object(Bucket=b, Key=k)["Body"].iter_chunks(1 << 20):
            out.write(c)


def op_download(b, k, f):
    s3.download_file(b, k, f)


def op_range(b, k, first, last, f):
    r = s3.get_object(Bucket=b, Key=k, Range="bytes=%s-%s" % (first, last))
    with open(f, "wb") as out:
        out.write(r["Body"].read())
    print(r["ContentRange"])


def op_head(b, k):
    h = s3.head_object(Bucket=b, Key=k)
    print(h["ContentLength"], h["ETag"], h["ContentType"], json.dumps(h["Metadata"], sort_keys=True))


def op_list(b, prefix, delimiter="", version="v2"):
    for k in keys(b, prefix, delimiter, version):
        print(k)


def op_copy(b, k, b2, k2):
    s3.copy_object(Bucket=b2, Key=k2, CopySource={"Bucket": b, "Key": k})


def op_mcopy(b, k, b2, k2):
    s3.copy({"Bucket": b, "Key": k}, b2, k2)


def op_rm(b, k):
    s3.delete_object(Bucket=b, Key=k)


def op_rmmany(b, prefix):
    print(delete(b, keys(b, prefix)))


def op_presign(b, k):
    print(s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": k}, ExpiresIn=300))


def op_mpu_create(b, k):
    print(s3.create_multipart_upload(Bucket=b, Key=k)["UploadId"])


def op_mpu_part(b, k, upload, f):
    s3.upload_part(Bucket=b, Key=k, UploadId=upload, PartNumber=1, Body=open(f, "rb").read())


def op_mpu_list(b):
    for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", []):
        print(u["Key"], u["UploadId"])


def op_mpu_abort(b, k, upload):
    s3.abort_multipart_upload(Bucket=b, Key=k, UploadId=upload)


def op_rb(b):
    delete(b, keys(b, ""))
    s3.delete_bucket(Bucket=b)


try:
    globals()["op_" + sys.argv[1].replace("-", "_")](*sys.argv[2:])
except Exception as e:  # noqa: BLE001 (any failure is the answer)
    print("b3 %s: %s: %s" % (sys.argv[1], type(e).__name__, e), file=sys.stderr)
    sys.exit(1)
EOT

# ---- data ------------------------------------------------------------------------------------
log "making test data"
head -c 1024 /dev/urandom > data/small
head -c 100000000 /dev/urandom > data/big
head -c 3000000 /dev/urandom > data/mid
head -c 1048576 /dev/urandom > data/part
tail -c +1000001 data/big | head -c 1100001 > data/range
SMALL_MD5=$(md5sum < data/small | cut -d' ' -f1)
mkdir -p data/tree/a/b data/tree/c/d/e
head -c 100000 /dev/urandom > data/tree/a/1
head -c 2000000 /dev/urandom > data/tree/a/b/2
: > data/tree/c/3
head -c 5000 /dev/urandom > data/tree/4
head -c 1048576 /dev/urandom > data/tree/c/d/e/5
printf 'six' > data/tree/6
cp -a data/tree data/rtree
mkdir data/many data/del
for i in $(seq -w 1 1100); do echo "$i" > "data/many/k$i"; done
for i in 1 2 3 4 5; do echo "$i" > "data/del/$i"; done
(cd data && find many -type f | sort) > data/many.want
printf '%s\n' p/4 p/a/1 p/a/2 p/b/3 > data/prefix.want
printf '%s\n' p/4 p/a/ p/b/ > data/delim.want
ODD_DIR="odd"
ODD_NAME="sp ace+plus%pct é&=.txt"
ODD="$ODD_DIR/$ODD_NAME"

# ---- running and checking ------------------------------------------------------------
# A cell runs with B (the client's bucket) and cl set; LAST is the last client
# command (for the footnote), FOOT the first failure seen.
LAST="" FOOT=""

# show CMD...: CMD as a footnote shows it (quoted where needed, the work
# directory left out, at most 200 characters).
show() {
	local a s=""
	for a in "$@"; do
		case $a in *[[:space:]\'\"\&\;\|\<\>\(\)\$]*|"") a="'$a'" ;; esac
		s="$s${s:+ }$a"
	done
	s=${s//$W\//}
	[ ${#s} -gt 200 ] && s="${s:0:197}..."
	printf '%s' "$s"
}

# first_error FILE...: the first line of the files that looks like an error,
# else the first non-empty one.
first_error() {
	local l
	l=$(cat "$@" 2> /dev/null | grep -m1 '^b3 ')  # b3.py's own one-line error
	[ -n "$l" ] || l=$(cat "$@" 2> /dev/null | tr -d '\r' | grep -v '^[[:space:]]*$' |
		grep -m1 -iE 'error|denied|fail|fatal|invalid|refused|not found|no such|not implemented|mismatch|timed out|differ')
	[ -n "$l" ] || l=$(cat "$@" 2> /dev/null | tr -d '\r' | grep -m1 -v '^[[:space:]]*$')
	l=$(printf '%s' "${l:-(no output)}" | sed 's/^[[:space:]]*//')
	[ ${#l} -gt 240 ] && l="${l:0:237}..."
	printf '%s' "$l"
}

# fail WHY: record the cell's failure (the first one only).
fail() { [ -n "$FOOT" ] || FOOT="\`${LAST:-(no command)}\`: $1"; }

# run CMD...: a client command, at most 300 s, stdout in out and stderr in
# err; a non-zero exit is a failure.
run() {
	LAST=$(show "$@")
	timeout 300 "$@" > out 2> err < /dev/null
	local rc=$?
	[ $rc -eq 0 ] && return 0
	[ $rc -eq 124 ] && { fail "timed out after 300 s"; return 1; }
	fail "$(first_error err out) (exit $rc)"
	return 1
}

# denied CMD...: a write with the read-only key; it must fail with AccessDenied
# (or the gateway's message for it, "key ... is read-only": minio-go, so
# restic, prints an error's message without its code).
denied() {
	LAST=$(show "$@")
	timeout 300 "$@" > out 2> err < /dev/null
	local rc=$?
	[ $rc -eq 0 ] && { fail "succeeded, want AccessDenied"; return 1; }
	grep -qiE 'AccessDenied|Access Denied|key [0-9a-f]+ is read-only' out err && return 0
	fail "$(first_error err out) (exit $rc; want AccessDenied)"
	return 1
}

# want WHY CMD...: a check of the last command's result; WHY is the footnote
# if it fails.
want() {
	local why=$1; shift
	"$@" > /dev/null 2>&1 && return 0
	fail "$why"
	return 1
}

# same FILE WANT: FILE has WANT's bytes.
same() { want "$1 differs from $2 ($(stat -c %s "$1" 2>/dev/null || echo no) bytes, want $(stat -c %s "$2"))" cmp -s "$1" "$2"; }

# want_list WHAT WANT GOT: GOT has the lines of WANT, in any order.
want_list() {
	sort "$2" > got/.want; sort "$3" > got/.got
	cmp -s got/.want got/.got && return 0
	fail "$1: $(wc -l < got/.got) lines, want $(wc -l < got/.want); first difference: $(diff got/.want got/.got |
		grep -m1 '^[<>]')"
	return 1
}

# rcfs_q ARGS...: rcfs, bounded, output in rcfs.out.
rcfs_q() { timeout 300 "$RCFS" "$@" > rcfs.out 2>&1; }

# stored KEY FILE: rcfs reads object KEY of the bucket as FILE's bytes.
stored() {
	timeout 300 "$RCFS" get "$B/$1" - 2> rcfs.out | cmp -s - "$2" && return 0
	fail "rcfs get $B/$1 is not $2 ($(first_error rcfs.out))"
	return 1
}

# absent KEY: rcfs has no object KEY in the bucket.
absent() {
	rcfs_q stat "$B/$1"
	[ $? -eq 3 ] && return 0
	fail "$B/$1 is still there for rcfs"
	return 1
}

# fixture KEY FILE: store FILE as KEY of the bucket with rcfs (not a client).
fixture() { rcfs_q -q put "$2" "$B/$1" || log "rcfs put $B/$1 failed: $(first_error rcfs.out)"; }

# fetch URL FILE: curl a presigned URL into FILE; HTTP 200 wanted.
fetch() {
	run curl -sS -o "$2" -w '%{http_code}' "$1" || return 1
	want "HTTP $(cat out): $(sed -n 's:.*<Code>\(.*\)</Code>.*<Message>\(.*\)</Message>.*:\1\: \2:p' "$2" |
		head -1)" test "$(cat out)" = 200
}

# no_lines RE FILE WHY: FILE has no line matching RE.
no_lines() {
	grep -qE "$1" "$2" || return 0
	fail "$3: $(grep -m1 -E "$1" "$2" | tr -d '\r')"
	return 1
}

# revive: restart every node whose rcfsd is gone (a crash), noting its last
# log line in DIED; 0 if one was.
revive() {
	local i pid found=1
	for i in 1 2 3; do
		pid=$(cat "$W/cluster/n$i/rcfsd.pid" 2> /dev/null)
		[ -n "$pid" ] && kill -0 "$pid" 2> /dev/null && continue
		DIED="${DIED:+$DIED; }node $i died ($(grep -v '^[[:space:]]*$' "$W/cluster/n$i/rcfsd.log" | tail -1)), restarted"
		RESTARTS=$((RESTARTS + 1))
		log "node $i died: restarting it"
		"$CLUSTER" start -d "$W/cluster" "$i" >> restart.log 2>&1 || log "node $i did not restart (see restart.log)"
		found=0
	done
	return $found
}
RESTARTS=0

declare -A RES=()
ROWS=() FOOTS=()
# row LABEL: add a row to the table (once, in order of first use).
row() {
	local r
	for r in "${ROWS[@]}"; do [ "$r" = "$1" ] && return; done
	ROWS+=("$1")
}

# cell LABEL CLIENT FUNC ARGS...: run FUNC for CLIENT in a fresh got/ and
# record yes, or NO with its footnote.
cell() {
	local label=$1 cl=$2; shift 2
	row "$label"
	B=cmp-$cl LAST="" FOOT=""
	rm -rf got; mkdir got
	log "${TITLE[$cl]}: $label"
	"$@" || [ -n "$FOOT" ] || FOOT="\`${LAST:-(no command)}\`: failed"
	DIED=""
	revive && { [ -n "$FOOT" ] && FOOT="$FOOT; $DIED" || FOOT="\`${LAST:-(no command)}\`: $DIED"; }
	if [ -z "$FOOT" ]; then
		RES[$label|$cl]=yes
	else
		FOOTS+=("${TITLE[$cl]}, $label: $FOOT")
		RES[$label|$cl]="NO [${#FOOTS[@]}]"
		log "  NO: ${FOOTS[-1]}"
	fi
}

# ---- operations: t_OP_CLIENT, - where a client has none --------------------------------------
# create bucket: then rcfs has the bucket's marker.
is_bucket() { rcfs_q stat ".s3/buckets/$B" || { fail "no .s3/buckets/$B for rcfs"; return 1; }; }
t_mb_aws() { run aws s3 mb "s3://$B" && is_bucket; }
t_mb_rclone() { run rclone mkdir "r:$B" && is_bucket; }
t_mb_s3cmd() { run s3cmd mb "s3://$B" && is_bucket; }
t_mb_boto3() { run b3 mb "$B" && is_bucket; }

# list buckets: the client's bucket is listed, .s3 is not.
t_lsb_aws() { run aws s3 ls && want "$B not listed" grep -qE " $B\$" out && no_lines ' \.s3$' out ".s3 listed"; }
t_lsb_rclone() { run rclone lsd r: && want "$B not listed" grep -qE " $B\$" out && no_lines ' \.s3$' out ".s3 listed"; }
t_lsb_s3cmd() { run s3cmd ls && want "$B not listed" grep -qE " s3://$B\$" out; }
t_lsb_boto3() { run b3 buckets && want "$B not listed" grep -qx "$B" out && no_lines '^\.s3$' out ".s3 listed"; }

# fixtures: objects the listing, move, delete and rcfs-put rows read, put
# with rcfs.
fixtures() {
	local cl k
	for cl in aws rclone s3cmd boto3; do
		[ -n "${HAVE[$cl]:-}" ] || continue
		B=cmp-$cl
		for k in p/4 p/a/1 p/a/2 p/b/3 pq/6 q/5 del/1 del/2 del/3 del/4 del/5; do fixture "$k" data/del/1; done
		fixture mv/src data/small
		fixture rm/one data/small
		fixture cli.bin data/mid
	done
	rcfs_q -q put -r data/many cmp-many/many || log "rcfs put -r data/many failed: $(first_error rcfs.out)"
}

# put 1 KB object: rcfs reads the same bytes.
t_put_aws() { run aws s3 cp data/small "s3://$B/small" && stored small data/small; }
t_put_rclone() { run rclone copyto data/small "r:$B/small" && stored small data/small; }
t_put_s3cmd() { run s3cmd put data/small "s3://$B/small" && stored small data/small; }
t_put_boto3() { run b3 put "$B" small data/small && stored small data/small; }

# put 100 MB (multipart: aws 8 MiB parts, rclone 5 MiB above a 64 MiB cutoff,
# s3cmd 15 MiB, boto3 upload_file 8 MiB).
t_big_aws() { run aws s3 cp data/big "s3://$B/big" && stored big data/big; }
t_big_rclone() { run rclone copyto --s3-upload-cutoff 64M data/big "r:$B/big" && stored big data/big; }
t_big_s3cmd() { run s3cmd put data/big "s3://$B/big" && stored big data/big; }
t_big_boto3() { run b3 upload "$B" big data/big && stored big data/big; }

# bigfix: a client whose 100 MB put failed gets the object from `rcfs put`, so
# that the rows reading it test reading (noted in the header).
bigfix() {
	local cl
	for cl in aws rclone s3cmd boto3; do
		[ -n "${HAVE[$cl]:-}" ] || continue
		B=cmp-$cl
		rcfs_q stat "$B/big" && continue
		fixture big data/big
		NOTES+=("${TITLE[$cl]}: its 100 MB put failed; the rows after it read \`big\` put with \`rcfs put\`")
	done
}

# get whole object: the 100 MB object back, byte for byte.
t_get_aws() { run aws s3 cp "s3://$B/big" got/big && same got/big data/big; }
t_get_rclone() { run rclone copyto "r:$B/big" got/big && same got/big data/big; }
t_get_s3cmd() { run s3cmd get "s3://$B/big" got/big && same got/big data/big; }
t_get_boto3() { run b3 download "$B" big got/big && same got/big data/big; }

# get a file put with `rcfs put`: its ETag is a SHA-256, not an MD5.
t_getcli_aws() { run aws s3 cp "s3://$B/cli.bin" got/cli && same got/cli data/mid; }
t_getcli_rclone() { run rclone copyto "r:$B/cli.bin" got/cli && same got/cli data/mid; }
t_getcli_s3cmd() { run s3cmd get "s3://$B/cli.bin" got/cli && same got/cli data/mid; }
t_getcli_boto3() { run b3 get "$B" cli.bin got/cli && same got/cli data/mid; }

# ranged get: bytes 1000000-2100000 of the 100 MB object (across two chunk
# boundaries); s3cmd resumes a download cut at 99,000,000 bytes.
t_range_aws() {
	run aws s3api get-object --bucket "$B" --key big --range bytes=1000000-2100000 got/range &&
		want "Content-Range: $(grep ContentRange out)" grep -q '"bytes 1000000-2100000/100000000"' out &&
		same got/range data/range
}
t_range_rclone() { run rclone cat --offset 1000000 --count 1100001 "r:$B/big" && same out data/range; }
t_range_s3cmd() {
	head -c 99000000 data/big > got/big
	run s3cmd get --continue "s3://$B/big" got/big && same got/big data/big
}
t_range_boto3() {
	run b3 range "$B" big 1000000 2100000 got/range &&
		want "Content-Range: $(cat out)" grep -qx 'bytes 1000000-2100000/100000000' out && same got/range data/range
}

# head/stat: size 1024 and the MD5 ETag of the 1 KB object.
t_head_aws() {
	run aws s3api head-object --bucket "$B" --key small --query '[ContentLength,ETag]' --output text &&
		want "got '$(tr '\t' ' ' < out)', want 1024 \"$SMALL_MD5\"" test "$(cat out)" = "1024	\"$SMALL_MD5\""
}
t_head_rclone() {
	run rclone lsjson --stat --hash "r:$B/small" &&
		want "no \"Size\": 1024 in the answer" grep -q '"Size": *1024,' out &&
		want "no md5 $SMALL_MD5 in the answer" grep -q "\"md5\": *\"$SMALL_MD5\"" out
}
t_head_s3cmd() {
	run s3cmd info "s3://$B/small" && want "no 'File size: 1024'" grep -q 'File size: *1024$' out &&
		want "no 'MD5 sum: $SMALL_MD5'" grep -q "MD5 sum: *$SMALL_MD5\$" out
}
t_head_boto3() {
	run b3 head "$B" small && want "got '$(cat out)'" grep -q "^1024 \"$SMALL_MD5\" " out
}

# a key with space, +, %, &, = and UTF-8: put, listed by its name, got back.
t_odd_aws() {
	run aws s3 cp data/small "s3://$B/$ODD" && stored "$ODD" data/small &&
		run aws s3 ls "s3://$B/$ODD_DIR/" && want "'$ODD_NAME' not listed" grep -qF " $ODD_NAME" out &&
		run aws s3 cp "s3://$B/$ODD" got/odd && same got/odd data/small
}
t_odd_rclone() {
	run rclone copyto data/small "r:$B/$ODD" && stored "$ODD" data/small &&
		run rclone lsf "r:$B/$ODD_DIR" && want "'$ODD_NAME' not listed" grep -qxF "$ODD_NAME" out &&
		run rclone copyto "r:$B/$ODD" got/odd && same got/odd data/small
}
t_odd_s3cmd() {
	run s3cmd put data/small "s3://$B/$ODD" && stored "$ODD" data/small &&
		run s3cmd ls "s3://$B/$ODD_DIR/" && want "'$ODD_NAME' not listed" grep -qF "s3://$B/$ODD" out &&
		run s3cmd get "s3://$B/$ODD" got/odd && same got/odd data/small
}
t_odd_boto3() {
	run b3 put "$B" "$ODD" data/small && stored "$ODD" data/small &&
		run b3 list "$B" "$ODD_DIR/" && want "'$ODD' not listed" grep -qxF "$ODD" out &&
		run b3 get "$B" "$ODD" got/odd && same got/odd data/small
}

# list with prefix p/: exactly p/4 p/a/1 p/a/2 p/b/3 (not pq/6, q/5).
t_prefix_aws() { run aws s3 ls --recursive "s3://$B/p/" && awk '{print $4}' out > got/l && want_list "keys" data/prefix.want got/l; }
t_prefix_rclone() {
	run rclone lsf -R --files-only "r:$B/p" && sed 's|^|p/|' out > got/l && want_list "keys" data/prefix.want got/l
}
t_prefix_s3cmd() {
	run s3cmd ls --recursive "s3://$B/p/" && awk '{print $4}' out | sed "s|^s3://$B/||" > got/l &&
		want_list "keys" data/prefix.want got/l
}
t_prefix_boto3() { run b3 list "$B" p/ && want_list "keys" data/prefix.want out; }

# list with delimiter: p/ holds p/4 and the "folders" p/a/ and p/b/.
t_delim_aws() {
	run aws s3 ls "s3://$B/p/" && awk '$1 == "PRE" {print "p/" $2; next} {print "p/" $4}' out > got/l &&
		want_list "entries" data/delim.want got/l
}
t_delim_rclone() { run rclone lsf "r:$B/p" && sed 's|^|p/|' out > got/l && want_list "entries" data/delim.want got/l; }
t_delim_s3cmd() {
	run s3cmd ls "s3://$B/p/" && awk '{print $NF}' out | sed "s|^s3://$B/||" > got/l &&
		want_list "entries" data/delim.want got/l
}
t_delim_boto3() { run b3 list "$B" p/ / && want_list "entries" data/delim.want out; }

# list 1,100 keys (put by rcfs put -r): every key exactly once, across pages
# (ListObjectsV2 continuation tokens and V1 markers).
t_many_aws() {
	run aws s3 ls --recursive s3://cmp-many/ && awk '{print $4}' out > got/l && want_list "V2 keys" data/many.want got/l &&
		run aws s3api list-objects --bucket cmp-many --query 'Contents[].Key' --output text &&
		tr '\t' '\n' < out > got/l && want_list "V1 keys" data/many.want got/l
}
t_many_rclone() { run rclone lsf -R --files-only r:cmp-many && want_list "keys" data/many.want out; }
t_many_s3cmd() {
	run s3cmd ls --recursive s3://cmp-many && awk '{print $4}' out | sed 's|^s3://cmp-many/||' > got/l &&
		want_list "keys" data/many.want got/l
}
t_many_boto3() {
	run b3 list cmp-many "" && want_list "V2 keys" data/many.want out &&
		run b3 list cmp-many "" "" v1 && want_list "V1 keys" data/many.want out
}

# server-side copy of the 1 KB object to copy/small.
t_copy_aws() { run aws s3 cp "s3://$B/small" "s3://$B/copy/small" && stored copy/small data/small; }
t_copy_rclone() {
	run rclone -v copyto "r:$B/small" "r:$B/copy/small" && stored copy/small data/small &&
		want "not a server-side copy: $(first_error err)" grep -q 'server-side copy' err
}
t_copy_s3cmd() { run s3cmd cp "s3://$B/small" "s3://$B/copy/small" && stored copy/small data/small; }
t_copy_boto3() { run b3 copy "$B" small "$B" copy/small && stored copy/small data/small; }

# server-side copy of the 100 MB object, as each client does it (aws-cli and
# boto3's managed copy: multipart, UploadPartCopy; rclone, s3cmd: CopyObject).
t_copybig_aws() { run aws s3 cp "s3://$B/big" "s3://$B/copy/big" && stored copy/big data/big; }
t_copybig_rclone() {
	run rclone -v copyto "r:$B/big" "r:$B/copy/big" && stored copy/big data/big &&
		want "not a server-side copy: $(first_error err)" grep -q 'server-side copy' err
}
t_copybig_s3cmd() { run s3cmd cp "s3://$B/big" "s3://$B/copy/big" && stored copy/big data/big; }
t_copybig_boto3() { run b3 mcopy "$B" big "$B" copy/big && stored copy/big data/big; }

# move/rename mv/src to mv/dst: there, and gone from mv/src.
t_move_aws() { run aws s3 mv "s3://$B/mv/src" "s3://$B/mv/dst" && stored mv/dst data/small && absent mv/src; }
t_move_rclone() { run rclone moveto "r:$B/mv/src" "r:$B/mv/dst" && stored mv/dst data/small && absent mv/src; }
t_move_s3cmd() { run s3cmd mv "s3://$B/mv/src" "s3://$B/mv/dst" && stored mv/dst data/small && absent mv/src; }

# delete one object, rm/one: gone for rcfs, the others stay.
t_rm_aws() { run aws s3 rm "s3://$B/rm/one" && absent rm/one && stored small data/small; }
t_rm_rclone() { run rclone deletefile "r:$B/rm/one" && absent rm/one && stored small data/small; }
t_rm_s3cmd() { run s3cmd del "s3://$B/rm/one" && absent rm/one && stored small data/small; }
t_rm_boto3() { run b3 rm "$B" rm/one && absent rm/one && stored small data/small; }

# delete many: the five objects under del/ go, p/ stays.
gone_del() {
	rcfs_q ls "$B/del/" && want "left under del/: $(tr '\n' ' ' < rcfs.out)" test ! -s rcfs.out &&
		rcfs_q ls "$B/p/" && want "p/ changed: $(tr '\n' ' ' < rcfs.out)" test "$(wc -l < rcfs.out)" -eq 4
}
t_rmmany_aws() { run aws s3 rm --recursive "s3://$B/del/" && gone_del; }
t_rmmany_rclone() { run rclone delete "r:$B/del" && gone_del; }
t_rmmany_s3cmd() { run s3cmd del --recursive --force "s3://$B/del/" && gone_del; }
t_rmmany_boto3() { run b3 rmmany "$B" del/ && want "deleted $(cat out), want 5" test "$(cat out)" = 5 && gone_del; }

# user metadata (colour=blue) and Content-Type text/x-compat, put and read back.
t_meta_aws() {
	run aws s3 cp --content-type text/x-compat --metadata colour=blue data/small "s3://$B/meta" &&
		run aws s3api head-object --bucket "$B" --key meta --query '[ContentType,Metadata.colour]' --output text &&
		want "got '$(tr '\t' ' ' < out)', want 'text/x-compat blue'" test "$(cat out)" = "text/x-compat	blue"
}
t_meta_rclone() {
	run rclone copyto --header-upload "Content-Type: text/x-compat" -M --metadata-set colour=blue data/small \
		"r:$B/meta" && run rclone lsjson -M --stat "r:$B/meta" &&
		want "no content-type text/x-compat" grep -q '"content-type": *"text/x-compat"' out &&
		want "no colour blue" grep -q '"colour": *"blue"' out
}
t_meta_s3cmd() {
	run s3cmd put --mime-type=text/x-compat --add-header=x-amz-meta-colour:blue data/small "s3://$B/meta" &&
		run s3cmd info "s3://$B/meta" && want "no 'MIME type: text/x-compat'" grep -q 'MIME type: *text/x-compat' out &&
		run s3cmd get --force "s3://$B/meta" got/meta && same got/meta data/small
}
t_meta_boto3() {
	run b3 put "$B" meta data/small text/x-compat colour=blue && run b3 head "$B" meta &&
		want "got '$(cat out)'" grep -qx "1024 \"$SMALL_MD5\" text/x-compat {\"colour\": \"blue\"}" out
}

# presigned GET URL of the 1 KB object, fetched with curl.
t_presign_aws() { run aws s3 presign "s3://$B/small" --expires-in 300 && fetch "$(cat out)" got/p && same got/p data/small; }
t_presign_rclone() { run rclone link --expire 5m "r:$B/small" && fetch "$(cat out)" got/p && same got/p data/small; }
t_presign_s3cmd() { run s3cmd signurl "s3://$B/small" +300 && fetch "$(cat out)" got/p && same got/p data/small; }
t_presign_boto3() { run b3 presign "$B" small && fetch "$(cat out)" got/p && same got/p data/small; }

# list and abort a multipart upload (one 1 MiB part; created by the client, or
# by boto3 for rclone and s3cmd, which cannot leave one open); afterwards the
# upload is gone, for rcfs too.
no_uploads() {
	rcfs_q ls ".s3/uploads/$B/$UP/" && want "upload files left for rcfs: $(head -1 rcfs.out)" test ! -s rcfs.out
}
# open_upload: an upload of key mpu with one part, by boto3; ID in UP.
open_upload() {
	run b3 mpu-create "$B" mpu && UP=$(cat out) && run b3 mpu-part "$B" mpu "$UP" data/part
}
t_mpu_aws() {
	run aws s3api create-multipart-upload --bucket "$B" --key mpu --query UploadId --output text && UP=$(cat out) &&
		run aws s3api upload-part --bucket "$B" --key mpu --upload-id "$UP" --part-number 1 --body data/part &&
		run aws s3api list-multipart-uploads --bucket "$B" --query 'Uploads[].[Key,UploadId]' --output text &&
		want "upload $UP not listed" grep -qx "mpu	$UP" out &&
		run aws s3api abort-multipart-upload --bucket "$B" --key mpu --upload-id "$UP" &&
		run aws s3api list-multipart-uploads --bucket "$B" --query 'Uploads[].[Key,UploadId]' --output text &&
		no_lines "$UP" out "still listed" && no_uploads
}
t_mpu_rclone() {
	open_upload && run rclone backend list-multipart-uploads "r:$B" &&
		want "upload $UP not listed" grep -q "\"UploadId\": *\"$UP\"" out &&
		run rclone backend cleanup -o max-age=0s "r:$B" &&
		run rclone backend list-multipart-uploads "r:$B" && no_lines "$UP" out "still listed" && no_uploads
}
t_mpu_s3cmd() {
	open_upload && run s3cmd multipart "s3://$B" && want "upload $UP not listed" grep -q "s3://$B/mpu[[:space:]]*$UP" out &&
		run s3cmd abortmp "s3://$B/mpu" "$UP" && run s3cmd multipart "s3://$B" &&
		no_lines "$UP" out "still listed" && no_uploads
}
t_mpu_boto3() {
	open_upload && run b3 mpu-list "$B" && want "upload $UP not listed" grep -qx "mpu $UP" out &&
		run b3 mpu-abort "$B" mpu "$UP" && run b3 mpu-list "$B" && no_lines "$UP" out "still listed" && no_uploads
}

# sync data/tree up to tree/ and back to got/tree: the same tree (diff -r).
t_sync_aws() { run aws s3 sync data/tree "s3://$B/tree" && run aws s3 sync "s3://$B/tree" got/tree && tree_same; }
t_sync_rclone() { run rclone sync data/tree "r:$B/tree" && run rclone sync "r:$B/tree" got/tree && tree_same; }
t_sync_s3cmd() { run s3cmd sync data/tree/ "s3://$B/tree/" && run s3cmd sync "s3://$B/tree/" got/tree/ && tree_same; }
# tree_same: got/tree is data/tree.
tree_same() { want "$(diff -r data/tree got/tree 2>&1 | head -1)" diff -r data/tree got/tree; }

# a second sync, up and down, has nothing to do (a fresh copy of the tree
# was synced down in the previous row; here into got/tree again).
t_resync_aws() {
	run aws s3 sync --no-progress data/tree "s3://$B/tree" && no_lines 'upload:' out "uploaded again" &&
		run aws s3 sync "s3://$B/tree" got/tree && run aws s3 sync --no-progress "s3://$B/tree" got/tree &&
		no_lines 'download:' out "downloaded again"
}
t_resync_rclone() {
	run rclone -v sync data/tree "r:$B/tree" && no_lines ': (Copied|Updated|Deleted)' err "did something" &&
		run rclone sync "r:$B/tree" got/tree && run rclone -v sync "r:$B/tree" got/tree &&
		no_lines ': (Copied|Updated|Deleted)' err "did something"
}
t_resync_s3cmd() {
	run s3cmd sync data/tree/ "s3://$B/tree/" && no_lines '^upload:' out "uploaded again" &&
		run s3cmd sync "s3://$B/tree/" got/tree/ && run s3cmd sync "s3://$B/tree/" got/tree/ &&
		no_lines '^download:' out "downloaded again"
}

# restic: a repository in bucket cmp-restic; data/rtree and the 100 MB file.
t_rinit_restic() { run restic init && rcfs_q stat cmp-restic/config || fail "no cmp-restic/config for rcfs"; }
t_rbackup_restic() { run restic backup data/rtree data/big && want "no 'snapshot ... saved'" grep -q '^snapshot .* saved' out; }
# snapshots N: restic lists N snapshots.
snapshots() {
	run "$@" snapshots --json && want "$(grep -o '"short_id"' out | wc -l) snapshots, want $N" \
		test "$(grep -o '"short_id"' out | wc -l)" -eq "$N"
}
t_rsnap_restic() { N=1 snapshots restic; }
# restored DIR: the directory data/rtree came back as under DIR (restic
# strips the paths' common prefix, and versions differ in that), in RTREE.
restored() {
	RTREE=$(find "$1" -type d -path '*/data/rtree' | head -1)
	want "no data/rtree under $1" test -n "$RTREE"
}
t_rrestore_restic() {
	run restic restore latest --target got/r && restored got/r &&
		want "$(diff -r data/rtree "$RTREE" 2>&1 | head -1)" diff -r data/rtree "$RTREE" &&
		same "${RTREE%/rtree}/big" data/big
}
t_rcheck_restic() { run restic check --read-data && want "no 'no errors were found'" grep -q 'no errors were found' out; }
t_rforget_restic() {
	head -c 200000 /dev/urandom > data/rtree/extra
	run restic backup data/rtree data/big && run restic forget --keep-last 1 --prune && N=1 snapshots restic &&
		run restic ls latest && want "extra not in the kept snapshot" grep -q '/rtree/extra$' out &&
		run restic check && want "no 'no errors were found'" grep -q 'no errors were found' out
}

# check: the client compares source and copy (rclone check: sizes and MD5s).
t_check_rclone() { run rclone check data/tree "r:$B/tree" && want "no '0 differences found'" grep -q ' 0 differences found' err; }
t_check_restic() { t_rcheck_restic; }

# MD5 listing of tree/: the local files' MD5s.
t_md5_rclone() {
	(cd data/tree && find . -type f -printf '%P\n' | xargs md5sum) > got/md5.want
	run rclone md5sum "r:$B/tree" && want_list "MD5s" got/md5.want out
}
t_md5_s3cmd() {
	(cd data/tree && find . -type f -printf '%P\n' | xargs md5sum) > got/md5.want
	run s3cmd ls --recursive --list-md5 "s3://$B/tree/" &&
		awk '{print $4 "  " $5}' out | sed "s|  s3://$B/tree/|  |" > got/l && want_list "MD5s" got/md5.want got/l
}

# read-only key: reads work (the 1 KB object; restic: snapshots and a file).
t_rord_aws() { run aws-ro s3 cp "s3://$B/small" got/ro && same got/ro data/small; }
t_rord_rclone() { run rclone cat "ro:$B/small" && same out data/small; }
t_rord_s3cmd() { run s3cmd-ro get "s3://$B/small" got/ro && same got/ro data/small; }
t_rord_boto3() { run b3-ro get "$B" small got/ro && same got/ro data/small; }
t_rord_restic() {
	N=1 snapshots restic-ro --no-lock && run restic-ro --no-lock ls latest &&
		F=$(grep -m1 '/rtree/a/1$' out) && run restic-ro --no-lock dump latest "$F" && same out data/rtree/a/1
}

# read-only key: a write is refused with AccessDenied, and nothing is stored.
t_rowr_aws() { denied aws-ro s3 cp data/small "s3://$B/ro-write" && absent ro-write; }
t_rowr_rclone() { denied rclone copyto data/small "ro:$B/ro-write" && absent ro-write; }
t_rowr_s3cmd() { denied s3cmd-ro put data/small "s3://$B/ro-write" && absent ro-write; }
t_rowr_boto3() { denied b3-ro put "$B" ro-write data/small && absent ro-write; }
t_rowr_restic() {
	denied restic-ro backup data/small && N=1 snapshots restic
}

# remove bucket (with what it holds, the client's way): nothing left for rcfs.
bucket_gone() {
	rcfs_q ls "$B/" && want "left: $(head -1 rcfs.out)" test ! -s rcfs.out &&
		{ rcfs_q stat ".s3/buckets/$B"; [ $? -eq 3 ] || { fail ".s3/buckets/$B is still there"; return 1; }; }
}
t_rb_aws() { run aws s3 rb --force "s3://$B" && bucket_gone; }
t_rb_rclone() { run rclone purge "r:$B" && bucket_gone; }
t_rb_s3cmd() { run s3cmd del --recursive --force "s3://$B" && run s3cmd rb "s3://$B" && bucket_gone; }
t_rb_boto3() { run b3 rb "$B" && bucket_gone; }

# boto3 error codes: t/s3/errors.py, run once; a row per code it checks.
ERR_CODES=(NoSuchKey NoSuchBucket BucketNotEmpty InvalidRange PreconditionFailed BadDigest InvalidBucketName
	InvalidPart NoSuchUpload)
# errors_run: t/s3/errors.py against node 1, its lines in errors.out.
errors_run() {
	LAST="python3 t/s3/errors.py"
	S3_ENDPOINT="http://$S3_1" AWS_ACCESS_KEY_ID=$KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET \
		timeout 300 /usr/bin/python3 "$src/t/s3/errors.py" > errors.out 2>&1
	ERR_RC=$?
}
# err_code CODE: every errors.py check named "...: CODE" passed ("" : the
# checks naming no code).
err_code() {
	local lines
	LAST="python3 t/s3/errors.py"
	if [ -n "$1" ]; then
		lines=$(grep -E "^(not )?ok .*: $1(:|\$)" errors.out)
	else
		lines=$(grep -E '^(not )?ok ' errors.out | grep -vE ": ($(IFS='|'; echo "${ERR_CODES[*]}"))(:|\$)")
	fi
	[ -n "$lines" ] || { fail "no such check ran (exit $ERR_RC: $(first_error errors.out))"; return 1; }
	! grep -q '^not ok' <<< "$lines" || { fail "$(grep -m1 '^not ok' <<< "$lines")"; return 1; }
}
# t_errors_boto3: errors.py ran to the end, every check ok.
t_errors_boto3() {
	errors_run
	! grep -q '^not ok' errors.out || { fail "$(grep -m1 '^not ok' errors.out)"; return 1; }
	[ "$ERR_RC" -eq 0 ] || fail "exit $ERR_RC: $(grep -v '^ok ' errors.out | tail -1)"
}

# ---- the run ----------------------------------------------------------------------------
OPS=(
	"mb|create bucket" "lsb|list buckets" "!fixtures"
	"put|put 1 KB object" "big|put 100 MB object (multipart)" "!bigfix" "get|get whole object (100 MB)"
	"getcli|get a file put with rcfs put (SHA-256 ETag)" "range|ranged get" "head|head/stat (size, ETag)"
	"odd|key with space + % & = and UTF-8" "prefix|list with prefix" "delim|list with delimiter (folders)"
	"many|list 1100 keys (paging)" "copy|server-side copy (1 KB)" "copybig|server-side copy (100 MB)"
	"move|move/rename" "rm|delete one" "rmmany|delete many (batch)" "meta|user metadata + Content-Type"
	"presign|presigned GET URL (curl)" "mpu|list/abort multipart uploads" "sync|sync a tree up and back (diff -r)"
	"resync|second sync has nothing to do" "rinit|restic init" "rbackup|restic backup"
	"rsnap|restic snapshots" "rrestore|restic restore (diff -r)" "check|check (rclone check, restic check --read-data)"
	"md5|MD5 listing (rclone md5sum, s3cmd ls --list-md5)" "rforget|restic forget --prune"
	"rord|read-only key: reads work" "rowr|read-only key: write refused (AccessDenied)" "rb|remove bucket"
)
T0=$(date +%s) LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for spec in "${OPS[@]}"; do
	case $spec in "!"*) "${spec#!}"; continue ;; esac
	op=${spec%%|*} label=${spec#*|}
	for cl in "${CLIENTS[@]}"; do
		[ -n "${HAVE[$cl]:-}" ] && declare -F "t_${op}_$cl" > /dev/null || continue
		cell "$label" "$cl" "t_${op}_$cl"
	done
	row "$label"
done
if [ -n "${HAVE[boto3]:-}" ]; then
	cell "t/s3/errors.py runs to the end" boto3 t_errors_boto3
	for code in "${ERR_CODES[@]}"; do cell "error $code (t/s3/errors.py)" boto3 err_code "$code"; done
	cell "other t/s3/errors.py checks" boto3 err_code ""
fi
SECS=$(( $(date +%s) - T0 )) LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
ELECTIONS=$(cat "$W"/cluster/n*/rcfsd.log | grep -c 'candidate -> leader')

# ---- the table ---------------------------------------------------------------------------
# table: the Markdown report.
table() {
	local r cl line v yes=0 no=0 c i
	echo "## rcfs S3 gateway compatibility"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); rcfs commit $(git -C "$src" rev-parse --short HEAD 2>/dev/null ||
		echo unknown)$(git -C "$src" diff --quiet HEAD -- src 2>/dev/null || echo " (src/ modified)"), rcfsd built $BUILT;"\
		"3-node cluster, auth on; run took ${SECS} s"
	echo "- machine: $(nproc) CPUs, load average $LOAD0 at the start, $LOAD1 at the end;" \
		"leaders elected: $ELECTIONS (1 is a quiet run)"
	for cl in "${CLIENTS[@]}"; do [ -n "${HAVE[$cl]:-}" ] && echo "- ${TITLE[$cl]}: ${VERSION[$cl]:-?}"; done
	for v in "${NOTES[@]}"; do echo "- $v"; done
	[ "$RESTARTS" -eq 0 ] || echo "- rcfsd crashed $RESTARTS time(s) and was restarted (see the footnotes)"
	echo
	line="| operation |"; c="|---|"
	for cl in "${CLIENTS[@]}"; do [ -n "${HAVE[$cl]:-}" ] && { line="$line ${TITLE[$cl]} |"; c="$c---|"; }; done
	echo "$line"; echo "$c"
	for r in "${ROWS[@]}"; do
		line="| $r |"
		for cl in "${CLIENTS[@]}"; do
			[ -n "${HAVE[$cl]:-}" ] || continue
			v=${RES[$r|$cl]:--}
			case $v in yes) yes=$((yes + 1)) ;; NO*) no=$((no + 1)) ;; esac
			line="$line $v |"
		done
		echo "$line"
	done
	if [ ${#FOOTS[@]} -gt 0 ]; then
		echo
		for i in "${!FOOTS[@]}"; do echo "$((i + 1)). ${FOOTS[$i]}"; done
	fi
	echo
	echo "compat: $yes yes, $no NO"
}
table > table.md
cat table.md
[ -n "$OUT" ] && cp table.md "$OUT"
if grep -q '^compat: [0-9]* yes, 0 NO$' table.md; then exit 0; else exit 1; fi
