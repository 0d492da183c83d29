#!/usr/bin/env bash
# The S3 gateway (docs/s3.md, issue 15) with real clients against a 3-node
# cluster with auth on: aws-cli (mb, cp of small and multipart objects,
# sync, ranged get-object, ls, rm, rb), s3cmd, rclone and boto3; an object
# put through S3 is the same file for `rcfs get`, and back; unsigned, badly
# signed, expired and read-only-key writes are refused.
. "$(dirname "$0")/lib.sh"
watchdog 300
new_tmpdir W

AWS=$(command -v /usr/bin/aws aws 2>/dev/null | head -1)
[ -n "$AWS" ] || { echo "1..0 # SKIP aws-cli not installed"; exit 0; }

cluster_up -n 3 --auth --client-key ro:read-only || { nok "cluster up"; done_testing; }
S3=$(sed -n 's/^RCFS_S3=//p' "$CDIR/up.out")
S3_1=${S3%%,*}
S3_3=${S3##*,}
export AWS_ACCESS_KEY_ID=$(sed -n 's/^RCFS_S3_ACCESS_KEY_ID=//p' "$CDIR/up.out")
export AWS_SECRET_ACCESS_KEY=$(sed -n 's/^RCFS_S3_SECRET_ACCESS_KEY=//p' "$CDIR/up.out")
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
export AWS_CONFIG_FILE="$W/aws-config" AWS_SHARED_CREDENTIALS_FILE="$W/aws-credentials"
: > "$AWS_CONFIG_FILE"
: > "$AWS_SHARED_CREDENTIALS_FILE"
check "up prints RCFS_S3 and the client key's S3 credentials" \
	test -n "$S3_1" -a -n "$AWS_ACCESS_KEY_ID" -a ${#AWS_SECRET_ACCESS_KEY} -eq 64
aws1() { "$AWS" --endpoint-url "http://$S3_1" "$@"; }
aws3() { "$AWS" --endpoint-url "http://$S3_3" "$@"; }

# ---- buckets -----------------------------------------------------------------------
# No bucket yet: an empty listing (a sanitizer build once aborted here).
check "aws s3 ls with no bucket: nothing listed (exit 0)" \
	bash -c 'out=$("$@") && [ -z "$out" ]' _ "$AWS" --endpoint-url "http://$S3_1" s3 ls
check "aws s3 mb makes a bucket" aws1 s3 mb s3://photos
aws1 s3 mb s3://photos > "$W/mb2.out" 2>&1
check "mb of an existing bucket: BucketAlreadyOwnedByYou" grep -q BucketAlreadyOwnedByYou "$W/mb2.out"
check "aws s3 ls lists it" bash -c '"$1" --endpoint-url "http://$2" s3 ls | grep -q " photos$"' _ "$AWS" "$S3_1"
check "head-bucket of a missing bucket fails" bash -c '! "$@" s3api head-bucket --bucket nosuch 2>/dev/null' \
	_ "$AWS" --endpoint-url "http://$S3_1"

# ---- objects -----------------------------------------------------------------------------
head -c 1000 /dev/urandom > "$W/small"
head -c 3000000 /dev/urandom > "$W/mid"
check "aws s3 cp of a 1000 B object" aws1 s3 cp --quiet "$W/small" s3://photos/2024/a.bin
check "aws s3 cp of a 3 MB object (single PUT) through another node" aws3 s3 cp --quiet "$W/mid" s3://photos/2024/b.bin
check "rcfs get reads the S3 object" bash -c '"$RCFS" get photos/2024/b.bin - | cmp -s - "$1"' _ "$W/mid"
check "aws s3 cp reads it back" bash -c '"$@" - | cmp -s - "$0"' "$W/small" "$AWS" --endpoint-url "http://$S3_1" \
	s3 cp s3://photos/2024/a.bin
"$RCFS" -q put "$W/mid" photos/cli.bin
check "an rcfs put file is an S3 object" bash -c '"$@" - | cmp -s - "$0"' "$W/mid" "$AWS" \
	--endpoint-url "http://$S3_3" s3 cp s3://photos/cli.bin
md5=$(md5sum < "$W/mid" | cut -d' ' -f1)
etag=$(aws1 s3api head-object --bucket photos --key 2024/b.bin --query ETag --output text)
check "the ETag of a single PUT is the body's MD5" test "$etag" = "\"$md5\""
aws1 s3api get-object --bucket photos --key 2024/b.bin --range bytes=1000-1999 "$W/range" > /dev/null
check "get-object --range gives those bytes" bash -c 'cmp -s "$1" <(tail -c +1001 "$2" | head -c 1000)' _ \
	"$W/range" "$W/mid"
check "aws s3 ls of a prefix" bash -c '"$@" | grep -q " a.bin$"' _ "$AWS" --endpoint-url "http://$S3_1" \
	s3 ls s3://photos/2024/

# ---- multipart ---------------------------------------------------------------------------
head -c 100000000 /dev/urandom > "$W/big"
t0=$(date +%s%N)
check "aws s3 cp of a 100 MB object (multipart)" aws1 s3 cp --quiet "$W/big" s3://photos/big.bin
diag "100 MB multipart upload: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
etag=$(aws1 s3api head-object --bucket photos --key big.bin --query ETag --output text)
check "a multipart ETag ends in -<parts>" bash -c '[[ $1 =~ ^\"[0-9a-f]{32}-[0-9]+\"$ ]]' _ "$etag"
check "rcfs get of the multipart object is byte-identical" bash -c '"$RCFS" get photos/big.bin - | cmp -s - "$1"' \
	_ "$W/big"
check "aws s3 cp downloads it byte-identical" bash -c '"$@" - | cmp -s - "$0"' "$W/big" "$AWS" \
	--endpoint-url "http://$S3_3" s3 cp s3://photos/big.bin
check "aws s3 cp of the 100 MB object to another key (UploadPartCopy)" aws1 s3 cp --quiet s3://photos/big.bin \
	s3://photos/big-copy.bin
check "the copy is byte-identical" bash -c '"$RCFS" get photos/big-copy.bin - | cmp -s - "$1"' _ "$W/big"
check "no upload is left behind" bash -c 'test -z "$("$@" s3api list-multipart-uploads --bucket photos \
	--query Uploads --output text | grep -v None)"' _ "$AWS" --endpoint-url "http://$S3_1"

# ---- sync ------------------------------------------------------------------------------
mkdir -p "$W/tree/a/b" "$W/tree/c"
for f in a/1 a/b/2 c/3 4; do head -c $((RANDOM * 7)) /dev/urandom > "$W/tree/$f"; done
check "aws s3 sync of a tree" aws1 s3 sync --quiet "$W/tree" s3://photos/tree
check "aws s3 sync back" aws3 s3 sync --quiet s3://photos/tree "$W/tree2"
check "the tree came back identical" diff -r "$W/tree" "$W/tree2"
check "a second sync has nothing to do" bash -c 'test -z "$("$@")"' _ "$AWS" --endpoint-url "http://$S3_1" \
	s3 sync "$W/tree" s3://photos/tree

# ---- rclone, s3cmd -----------------------------------------------------------------------
export RCLONE_CONFIG_R_TYPE=s3 RCLONE_CONFIG_R_PROVIDER=Other RCLONE_CONFIG_R_ENDPOINT="http://$S3_3" \
	RCLONE_CONFIG_R_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_R_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY" \
	RCLONE_CONFIG_R_REGION=us-east-1
: > "$W/rclone.conf"
check "rclone copy of a tree" env -u AWS_CA_BUNDLE rclone --config "$W/rclone.conf" copy "$W/tree" R:photos/rc
check "rclone check: source and copy match (sizes and MD5s)" env -u AWS_CA_BUNDLE rclone --config "$W/rclone.conf" check \
	"$W/tree" R:photos/rc
check "rclone cat of an object put by aws-cli" bash -c 'env -u AWS_CA_BUNDLE rclone --config "$1" cat R:photos/2024/b.bin | cmp -s - "$2"' \
	_ "$W/rclone.conf" "$W/mid"
cat > "$W/s3cfg" <<EOT
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = $S3_1
host_bucket = $S3_1
use_https = False
signature_v2 = False
EOT
check "s3cmd put" s3cmd -q -c "$W/s3cfg" put "$W/mid" s3://photos/s3cmd.bin
check "s3cmd get" s3cmd -q -c "$W/s3cfg" get --force s3://photos/s3cmd.bin "$W/s3cmd.out"
check "s3cmd round trip is byte-identical" cmp -s "$W/mid" "$W/s3cmd.out"
check "s3cmd signurl (Signature Version 2) fetched with curl" bash -c 'curl -sf "$(s3cmd -c "$1" signurl \
	s3://photos/s3cmd.bin +600)" | cmp -s - "$2"' _ "$W/s3cfg" "$W/mid"
check "s3cmd info (HEAD and GET ?acl)" bash -c 's3cmd -c "$1" info s3://photos/s3cmd.bin | grep -q "ACL:.*FULL_CONTROL"' \
	_ "$W/s3cfg"
check "s3cmd ls" bash -c 's3cmd -c "$1" ls s3://photos/ | grep -q "s3://photos/s3cmd.bin"' _ "$W/s3cfg"

# relay PREFIX FILE: the "ok NAME" / "not ok NAME" lines a python script
# printed to FILE, as this script's checks.
relay() {
	local l
	while IFS= read -r l; do
		case "$l" in
		"ok "*) ok "$1: ${l#ok }" ;;
		"not ok "*) nok "$1: ${l#not ok }" ;;
		esac
	done < "$2"
}

# ---- boto3: error cases ----------------------------------------------------------------
S3_ENDPOINT="http://$S3_1" /usr/bin/python3 "$top_srcdir/t/s3/errors.py" > "$W/boto3.out" 2>&1
relay boto3 "$W/boto3.out"
if grep -q Traceback "$W/boto3.out" || ! grep -q "^ok " "$W/boto3.out"; then
	nok "boto3: the error cases ran to the end"
	sed 's/^/# /' "$W/boto3.out"
else
	ok "boto3: the error cases ran to the end"
fi
check "no part file of the aborted and completed uploads is left (1,101 parts among them)" \
	bash -c 'test -z "$("$RCFS" ls .s3/uploads/errs/ 2>&1)"'

# ---- trailing checksums: behind a TLS-terminating proxy, and signed ------------------------
S3_TLS=
if command -v socat > /dev/null; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/tls.key" -out "$W/tls.crt" -days 1 \
		-subj /CN=127.0.0.1 > /dev/null 2>&1
	TLS_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	socat "OPENSSL-LISTEN:$TLS_PORT,bind=127.0.0.1,reuseaddr,fork,cert=$W/tls.crt,key=$W/tls.key,verify=0" \
		"TCP:$S3_1" 2> "$W/socat.err" &
	track_pid $!
	wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TLS_PORT" || nok "socat listens"
	S3_TLS=127.0.0.1:$TLS_PORT
else
	diag "socat not installed: the TLS proxy cases are skipped"
fi
S3_TLS=$S3_TLS S3_ENDPOINT=$S3_1 /usr/bin/python3 "$top_srcdir/t/s3/trailer.py" > "$W/trailer.out" 2>&1
relay trailers "$W/trailer.out"
if grep -q Traceback "$W/trailer.out" || ! grep -q "^ok ... the refused bodies stored nothing" "$W/trailer.out"; then
	nok "trailers: the trailer cases ran to the end"
	sed 's/^/# /' "$W/trailer.out"
fi

# ---- how a connection is read: pipelined PUTs larger than one read, a half-close ----------
S3_ENDPOINT="http://$S3_1" /usr/bin/python3 "$top_srcdir/t/s3/pipeline.py" > "$W/pipeline.out" 2>&1
relay pipeline "$W/pipeline.out"
if grep -q Traceback "$W/pipeline.out" || [ "$(grep -c '^ok ' "$W/pipeline.out")" -ne 3 ]; then
	nok "pipeline: the cases ran to the end"
	sed 's/^/# /' "$W/pipeline.out"
fi

# ---- refusals -------------------------------------------------------------------------------
code=$(curl -s -o "$W/unsigned" -w '%{http_code}' -X PUT --data-binary @"$W/small" "http://$S3_1/photos/x")
check "an unsigned PUT is refused (403 AccessDenied)" bash -c '[ "$1" = 403 ] && grep -q AccessDenied "$2"' _ \
	"$code" "$W/unsigned"
AWS_SECRET_ACCESS_KEY=0000000000000000000000000000000000000000000000000000000000000000 \
	aws1 s3 cp "$W/small" s3://photos/x > "$W/badsig" 2>&1
check "a wrong secret: SignatureDoesNotMatch" grep -q SignatureDoesNotMatch "$W/badsig"
eval "$("$RCFS" keygen --show --s3 "$CDIR/ro.key" | sed 's/^/RO_/')"
AWS_ACCESS_KEY_ID=$RO_AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$RO_AWS_SECRET_ACCESS_KEY \
	aws1 s3 cp "$W/small" s3://photos/x > "$W/ro" 2>&1
check "a read-only key cannot write (AccessDenied)" grep -q AccessDenied "$W/ro"
check "a read-only key can read" bash -c 'AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2 "${@:3}" - | cmp -s - "$0"' \
	"$W/small" "$RO_AWS_ACCESS_KEY_ID" "$RO_AWS_SECRET_ACCESS_KEY" "$AWS" --endpoint-url "http://$S3_1" \
	s3 cp s3://photos/2024/a.bin
url=$(aws1 s3 presign s3://photos/2024/a.bin --expires-in 60)
check "a presigned URL reads the object" bash -c 'curl -sf "$1" | cmp -s - "$2"' _ "$url" "$W/small"
url=$(aws1 s3 presign s3://photos/2024/a.bin --expires-in 1)
sleep 2         # the URL's lifetime is the point: wait it out
code=$(curl -s -o "$W/expired" -w '%{http_code}' "$url")
check "an expired presigned URL is refused (403)" test "$code" = 403
code=$(curl -s -o /dev/null -w '%{http_code}' -r 0-10 "http://$S3_1/photos/2024/a.bin")
check "an unsigned GET is refused" test "$code" = 403

# ---- the JSON API on http_listen (same keys, HTTP Basic) ----------------------------------
H=$(sed -n 's/^RCFS_HTTP=//p' "$CDIR/up.out"); H=${H##*,}
U="$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$H/status")
check "with auth, /status without credentials: 401" test "$code" = 401
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$H/metrics")
check "with auth, /metrics without credentials: 401 (metrics_public is off)" test "$code" = 401
check "with credentials, /status answers" bash -c 'curl -sf -u "$1" "http://$2/status" | grep -q "\"node_id\""' \
	_ "$U" "$H"
check "PUT /api/kv/KEY" bash -c 'curl -sf -u "$1" -X PUT -d "{\"value\": \"blue \\u00e9\"}" \
	"http://$2/api/kv/colour" | grep -q "\"name\":\"kv/colour\""' _ "$U" "$H"
check "GET /api/kv/KEY" bash -c 'test "$(curl -sf -u "$1" "http://$2/api/kv/colour" | /usr/bin/python3 -c \
	"import json,sys; d=json.load(sys.stdin); print(d[\"key\"], d[\"value\"])")" = "colour blue é"' _ "$U" "$H"
check "a kv value is the file kv/KEY" bash -c 'test "$("$RCFS" get kv/colour -)" = "blue é"'
check "PUT /api/files/NAME stores the body" bash -c 'curl -sf -u "$1" -X PUT --data-binary @"$3" \
	"http://$2/api/files/api/mid.bin" > /dev/null && "$RCFS" get api/mid.bin - | cmp -s - "$3"' _ "$U" "$H" "$W/mid"
check "GET /api/files/NAME downloads it" bash -c 'curl -sf -u "$1" "http://$2/api/files/api/mid.bin" | cmp -s - "$3"' \
	_ "$U" "$H" "$W/mid"
check "GET /api/files/NAME: never a page that runs (nosniff, CSP sandbox)" bash -c 'curl -sf -D - -o /dev/null \
	-u "$1" "http://$2/api/files/api/mid.bin" | tr -d "\r" | grep -qi "^x-content-type-options: nosniff" &&
	curl -sf -D - -o /dev/null -u "$1" "http://$2/api/files/api/mid.bin" | tr -d "\r" |
	grep -qi "^content-security-policy: sandbox"' _ "$U" "$H"
check "GET /api/files lists it" bash -c 'curl -sf -u "$1" "http://$2/api/files?prefix=api/" | /usr/bin/python3 -c \
	"import json,sys; d=json.load(sys.stdin); assert [f[\"name\"] for f in d[\"files\"]] == [\"api/mid.bin\"]"' \
	_ "$U" "$H"
check "GET /api/files/NAME/metadata: chunks and their nodes" bash -c 'curl -sf -u "$1" \
	"http://$2/api/files/api/mid.bin/metadata" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); \
	assert d[\"size\"] == 3000000 and len(d[\"chunks\"]) == 3 and all(len(c[\"nodes\"]) == 3 for c in d[\"chunks\"])"' \
	_ "$U" "$H"
check "GET /api/raft/status and /api/time/sync" bash -c 'curl -sf -u "$1" "http://$2/api/raft/status" | grep -q \
	"\"commit_index\"" && curl -sf -u "$1" "http://$2/api/time/sync" | grep -q "\"hlc\""' _ "$U" "$H"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$RO_AWS_ACCESS_KEY_ID:$RO_AWS_SECRET_ACCESS_KEY" -X DELETE \
	"http://$H/api/kv/colour")
check "a read-only key cannot DELETE through the API (403)" test "$code" = 403
check "DELETE /api/kv/KEY" bash -c 'curl -sf -u "$1" -X DELETE "http://$2/api/kv/colour" > /dev/null &&
	test "$(curl -s -o /dev/null -w "%{http_code}" -u "$1" "http://$2/api/kv/colour")" = 404' _ "$U" "$H"

# ---- delete -------------------------------------------------------------------------------
aws1 s3 rb s3://photos > "$W/rb" 2>&1
check "rb of a bucket with objects: BucketNotEmpty" grep -q BucketNotEmpty "$W/rb"
check "aws s3 rm" aws1 s3 rm --quiet s3://photos/2024/a.bin
check "the removed object is gone" bash -c '! "$@" s3api head-object --bucket photos --key 2024/a.bin \
	2>/dev/null' _ "$AWS" --endpoint-url "http://$S3_1"
check "rcfs sees it gone" bash -c '! "$RCFS" stat photos/2024/a.bin 2>/dev/null'
check "aws s3 rm --recursive (DeleteObjects)" aws1 s3 rm --quiet --recursive s3://photos
check "aws s3 rb of the emptied bucket" aws1 s3 rb s3://photos
check "the bucket is gone" bash -c '! "$@" s3api head-bucket --bucket photos 2>/dev/null' _ "$AWS" \
	--endpoint-url "http://$S3_1"

done_testing
