#!/usr/bin/env bash
# rcfs quickstart, for a fresh Debian 12 machine (run as root, or with sudo).
#
#   contrib/quickstart.sh        install what is missing, build, start a local
#                                cluster, put a real file, list it, get it back
#                                and verify it
#   contrib/quickstart.sh test   install what is missing, build, run the whole
#                                test suite (make check)
set -eu
cd "$(dirname "$0")/.."
mode=${1:-try}

PKGS="build-essential autoconf automake libtool pkg-config libevent-dev libhiredis-dev
      libprotobuf-c-dev protobuf-c-compiler libsodium-dev libssl-dev libconfig-dev libsystemd-dev check redis-server"
# The whole test suite also uses these (tests that need one skip without it).
[ "$mode" = test ] && PKGS="$PKGS redis-tools tshark systemd chrony faketime iptables prometheus chromium curl logrotate strace awscli rclone s3cmd python3-boto3"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "== installing:$missing"
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

echo "== building"
if [ ! -f Makefile ]; then
	autoreconf -fi >/dev/null 2>&1
	./configure -q
fi
make -s -j"$(nproc)" >/dev/null

if [ "$mode" = test ]; then
	echo "== running the test suite (make check)"
	make -s -j"$(nproc)" check
	exit $?
fi
[ "$mode" = try ] || { echo "usage: $0 [test]" >&2; exit 2; }

dir=$(mktemp -d /tmp/rcfs-quickstart.XXXXXX)
echo "== starting a local 3-node cluster in $dir (authenticated: cluster key + a read-write client key)"
contrib/rcfs-cluster up -n 3 --auth -d "$dir" | tee "$dir/up.out"
export RCFS_CONF="$dir/rcfs.conf"
nodes=$(sed -n 's/^RCFS_NODES=//p' "$dir/up.out")
http=$(sed -n 's/^RCFS_HTTP=//p' "$dir/up.out")
s3=$(sed -n 's/^RCFS_S3=//p' "$dir/up.out")
s3id=$(sed -n 's/^RCFS_S3_ACCESS_KEY_ID=//p' "$dir/up.out")
s3secret=$(sed -n 's/^RCFS_S3_SECRET_ACCESS_KEY=//p' "$dir/up.out")

# A real file: something multi-chunk from /usr if there is one.
file=$(find /usr/lib /usr/share -xdev -type f -size +6M -size -64M -readable 2>/dev/null | head -n 1)
[ -n "$file" ] || file=/usr/share/common-licenses/GPL-3
name="demo/$(basename "$file")"

echo "== rcfs put $file $name"
./rcfs put "$file" "$name"
echo "== rcfs ls -l"
./rcfs ls -l
echo "== rcfs stat $name"
./rcfs stat "$name"
echo "== rcfs get $name $dir/copy"
./rcfs get "$name" "$dir/copy"
cmp "$file" "$dir/copy"
echo "== verified: $dir/copy is byte-identical to $file"
echo "== rcfs status"
./rcfs status
echo "== without the client key, the cluster refuses (exit 6):"
rc=0; RCFS_CONF= ./rcfs -n "$nodes" ls || rc=$?
[ "$rc" -eq 6 ] || { echo "quickstart: expected exit 6 without a key, got $rc" >&2; exit 1; }
cat <<EOT

The cluster keeps running.  To use it:
    export RCFS_CONF=$dir/rcfs.conf
    ./rcfs put FILE NAME;  ./rcfs ls -l;  ./rcfs get NAME;  ./rcfs status
Dashboard, Prometheus metrics, /status and the JSON API of each node (docs/metrics.md),
log in as user $s3id, password $s3secret:
    http://${http%%,*}/   (all nodes: $http)
S3 (docs/s3.md; aws-cli, rclone, s3cmd, boto3):
    export AWS_ACCESS_KEY_ID=$s3id AWS_SECRET_ACCESS_KEY=$s3secret
    aws --endpoint-url http://${s3%%,*} s3 ls s3://demo/
Fail over: kill any node (the leader too), keep going, bring it back:
    contrib/rcfs-cluster kill -d $dir 1;  ./rcfs put FILE NAME2;  ./rcfs get $name - | sha256sum
    contrib/rcfs-cluster start -d $dir 1
To stop it:
    contrib/rcfs-cluster down -d $dir
EOT
