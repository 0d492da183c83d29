#!/usr/bin/env bash
# The S3 gateway against the CLI on one 3-node cluster (docs/benchmarks.md
# "The S3 gateway against the CLI"): a 1 GiB object and 100 objects of 1 MiB,
# put and got with rcfs, aws-cli and rclone, alternated, REPS times; prints
# one line per workload and rep (milliseconds, lower is better).
#   top_builddir=DIR contrib/bench/s3-vs-cli.sh [REPS]   (an -O2 build, auth off)
set -u
B=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
REPS=${1:-2}
W=$(mktemp -d /tmp/s3-vs-cli.XXXXXX)
C="$(cd "$(dirname "$0")/.." && pwd)/rcfs-cluster"
top_builddir=$B "$C" up -n 3 -d "$W/cluster" > "$W/up.out" || { cat "$W/up.out"; exit 1; }
trap 'top_builddir=$B "$C" down -d "$W/cluster" > /dev/null; rm -rf "$W"' EXIT
export RCFS_CONF=$W/cluster/rcfs.conf
S3=$(sed -n 's/^RCFS_S3=//p' "$W/up.out"); S3=${S3%%,*}
export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y AWS_DEFAULT_REGION=us-east-1 \
	AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_CA_BUNDLE
export RCLONE_CONFIG_R_TYPE=s3 RCLONE_CONFIG_R_PROVIDER=Other RCLONE_CONFIG_R_ENDPOINT="http://$S3" \
	RCLONE_CONFIG_R_ACCESS_KEY_ID=x RCLONE_CONFIG_R_SECRET_ACCESS_KEY=y RCLONE_CONFIG_R_REGION=us-east-1
aws() { /usr/bin/aws --endpoint-url "http://$S3" "$@"; }
rcl() { rclone --config /dev/null "$@"; }
head -c 1073741824 /dev/urandom > "$W/g1"
mkdir "$W/m100"; for i in $(seq 100); do head -c 1048576 /dev/urandom > "$W/m100/f$i"; done
aws s3 mb s3://bench > /dev/null
ms() { local t0; t0=$(date +%s%N); "$@" > /dev/null 2>&1 || { echo FAILED; return; }; echo $(( ($(date +%s%N) - t0) / 1000000 )); }
for rep in $(seq "$REPS"); do
	echo "rep $rep: put 1 GiB: rcfs $(ms "$B/rcfs" -q put "$W/g1" cli/g$rep) ms," \
	    "aws $(ms aws s3 cp --quiet "$W/g1" "s3://bench/a$rep") ms, rclone $(ms rcl copyto "$W/g1" "R:bench/r$rep") ms"
	echo "rep $rep: get 1 GiB: rcfs $(ms sh -c "'$B/rcfs' get cli/g$rep - > /dev/null") ms," \
	    "aws $(ms sh -c "/usr/bin/aws --endpoint-url http://$S3 s3 cp s3://bench/a$rep - > /dev/null") ms," \
	    "rclone $(ms sh -c "rclone --config /dev/null cat R:bench/r$rep > /dev/null") ms"
	echo "rep $rep: put 100 x 1 MiB: rcfs $(ms "$B/rcfs" -q put -r "$W/m100" cli/m$rep) ms," \
	    "aws $(ms aws s3 cp --quiet --recursive "$W/m100" "s3://bench/am$rep") ms," \
	    "rclone $(ms rcl copy "$W/m100" "R:bench/rm$rep") ms"
	echo "rep $rep: get 100 x 1 MiB: rcfs $(ms "$B/rcfs" get -r cli/m$rep "$W/out-c$rep") ms," \
	    "rclone $(ms rcl copy "R:bench/rm$rep" "$W/out-r$rep") ms"
	rm -rf "$W/out-c$rep" "$W/out-r$rep"
	# Free the space (and the AOF growth) before the next rep.
	"$B/rcfs" -q rm -r cli > /dev/null 2>&1; aws s3 rm --quiet --recursive s3://bench > /dev/null 2>&1
done
