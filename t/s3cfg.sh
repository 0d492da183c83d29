#!/usr/bin/env bash
# The S3 gateway's settings (docs/s3.md): s3_domain (virtual-host-style
# requests, BUCKET.<s3_domain>) and s3_upload_expiry_ms (multipart uploads
# left uncompleted are removed, parts and all), through boto3 against a
# 3-node cluster with auth on.
. "$(dirname "$0")/lib.sh"
watchdog 120
new_tmpdir W

[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import boto3' 2>/dev/null ||
	{ echo "1..0 # SKIP python3-boto3 not installed"; exit 0; }

EXPIRY_MS=4000
cluster_up -n 3 --auth --set "s3_domain = \"s3.test\"; s3_upload_expiry_ms = $EXPIRY_MS;" ||
	{ nok "cluster up"; done_testing; }
S3=$(sed -n 's/^RCFS_S3=//p' "$CDIR/up.out")
export AWS_ACCESS_KEY_ID=$(sed -n 's/^RCFS_S3_ACCESS_KEY_ID=//p' "$CDIR/up.out")
export AWS_SECRET_ACCESS_KEY=$(sed -n 's/^RCFS_S3_SECRET_ACCESS_KEY=//p' "$CDIR/up.out")
export AWS_CONFIG_FILE="$W/aws-config" AWS_SHARED_CREDENTIALS_FILE="$W/aws-credentials" AWS_EC2_METADATA_DISABLED=true
: > "$AWS_CONFIG_FILE"
: > "$AWS_SHARED_CREDENTIALS_FILE"

# A follower's gateway: the removal runs on the leader, whatever node saw the upload.
S3_NODE=${S3##*,} S3_DOMAIN=s3.test S3_EXPIRY_MS=$EXPIRY_MS \
	/usr/bin/python3 "$top_srcdir/t/s3/vhost_gc.py" > "$W/py.out" 2>&1
while IFS= read -r l; do
	case "$l" in
	"ok "*) ok "${l#ok }" ;;
	"not ok "*) nok "${l#not ok }" ;;
	"# "*) diag "${l#\# }" ;;
	esac
done < "$W/py.out"
if grep -q Traceback "$W/py.out" || ! grep -q "^ok parts whose marker is gone" "$W/py.out"; then
	nok "boto3 ran to the end"
	sed 's/^/# /' "$W/py.out"
fi
check "no file of the removed upload is left under .s3/uploads/" \
	bash -c 'test -z "$("$RCFS" ls .s3/uploads/vhost/ 2>&1)"'
check "the leader logged the removal" grep -Eq "removed [12] multipart uploads? older than $EXPIRY_MS ms" \
	"$CDIR"/n*/rcfsd.log
check "and that of the parts without a marker" grep -Eq "older than $EXPIRY_MS ms \(1 of them parts without a marker\)" \
	"$CDIR"/n*/rcfsd.log

# A leader killed: a follower's gateway waits out the election instead of
# answering 503 (the client below does not retry).
L=$("$RCFS" --timeout 2 --json status 2>/dev/null | grep -o '"id":[0-9]*,"role":"leader"' | grep -o '[0-9]\+' | head -n 1)
F=$(( L % 3 + 1 ))
S3_F=$(echo "$S3" | cut -d, -f"$F")
"$CLUSTER" kill -d "$CDIR" "$L" > /dev/null
check "a PUT through a follower's gateway right after the leader was killed succeeds, unretried" \
	/usr/bin/python3 -c 'import sys, boto3; from botocore.config import Config
c = boto3.client("s3", endpoint_url="http://" + sys.argv[1], region_name="us-east-1",
    config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
c.put_object(Bucket="vhost", Key="after-kill", Body=b"k")
sys.exit(c.get_object(Bucket="vhost", Key="after-kill")["Body"].read() != b"k")' "$S3_F"
"$CLUSTER" start -d "$CDIR" "$L" > /dev/null

code=$(curl -s -o "$W/bad" -w '%{http_code}' -H "Host: Bad_Name.s3.test" "http://${S3%%,*}/")
check "a Host naming no valid bucket: 400 InvalidBucketName" \
	bash -c '[ "$1" = 400 ] && grep -q InvalidBucketName "$2"' _ "$code" "$W/bad"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: vhost.s3.test" "http://${S3%%,*}/")
check "an unsigned virtual-host request is refused (403)" test "$code" = 403
done_testing
