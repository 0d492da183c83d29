#!/usr/bin/env bash
# The S3 gateway against the CLI on one 3-node cluster (docs/benchmarks.md
# "The S3 gateway against the CLI"): a 1 GiB object and 100 objects of 1 MiB,
# put and got with rcfs, aws-cli, rclone and curl, REPS times.
#   top_builddir=DIR [S3_CLIENTS="aws rclone curl"] contrib/bench/s3-vs-cli.sh [REPS]
# (an -O2 build; the cluster runs with auth off)
#
# Every client puts its own random bytes (chunks are content-addressed: a
# second put of the same bytes would store nothing new, and `rcfs put` asks
# first), and removes its objects before the next client starts.  Each rep
# runs the CLI first (its figures are the rep's yardstick), then the S3
# clients in an order that rotates from rep to rep.  Gets to files end with
# the files fsynced, as `rcfs get` does; dirty pages are written back (sync)
# before each measurement, untimed.
# curl is the client that costs next to nothing (no hashing, no Python):
# one unsigned PUT of 256 MiB (one PUT may not exceed s3_max_body; the CLI
# puts the same size for the comparison) and GETs of the 1 GiB object, so
# its figures are the gateway's own.
# One line per measurement: workload, client, ms (lower is better), the
# client's own CPU seconds (user+sys), and the CLI's ms over the client's ms
# of the same rep (the gateway's MB/s over the CLI's; goal >= 0.8).
set -u
B=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
REPS=${1:-3}
W=$(mktemp -d /tmp/s3-vs-cli.XXXXXX)
C="$(cd "$(dirname "$0")/.." && pwd)/rcfs-cluster"
trap 'top_builddir=$B "$C" down -d "$W/cluster" > /dev/null 2>&1; rm -rf "$W"' EXIT
top_builddir=$B "$C" up -n 3 -d "$W/cluster" > "$W/up.out" || { cat "$W/up.out"; exit 1; }
export RCFS_CONF=$W/cluster/rcfs.conf
S3=$(sed -n 's/^RCFS_S3=//p' "$W/up.out"); S3=${S3%%,*}
export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y AWS_DEFAULT_REGION=us-east-1 \
	AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_CA_BUNDLE
export RCLONE_CONFIG_R_TYPE=s3 RCLONE_CONFIG_R_PROVIDER=Other RCLONE_CONFIG_R_ENDPOINT="http://$S3" \
	RCLONE_CONFIG_R_ACCESS_KEY_ID=x RCLONE_CONFIG_R_SECRET_ACCESS_KEY=y RCLONE_CONFIG_R_REGION=us-east-1
AWS="/usr/bin/aws --endpoint-url http://$S3"
RCL="rclone --config /dev/null"
U="http://$S3/bench"
$AWS s3 mb s3://bench > /dev/null || exit 1

# One measurement: sets T (ms) and CPU (the command's user+sys seconds).
measure() {
	local t0
	sync
	t0=$(date +%s%N)
	if ! /usr/bin/time -o "$W/cpu" -f "%U %S" sh -c "$1" > /dev/null 2> "$W/err"; then
		T=FAILED; CPU=-; sed 's/^/    /' "$W/err" | head -3; return
	fi
	T=$(( ($(date +%s%N) - t0) / 1000000 ))
	CPU=$(awk '{printf "%.1f", $1 + $2}' "$W/cpu")
}
declare -A MS
report() {      # report REP WORKLOAD CLIENT
	local cli=${MS[$1 $2 rcfs]:-} ratio=-
	[ "$3" = rcfs ] && MS[$1 $2 rcfs]=$T
	[ "$3" != rcfs ] && [ -n "$cli" ] && [ "$cli" != FAILED ] && [ "$T" != FAILED ] &&
		ratio=$(awk -v a="$cli" -v b="$T" 'BEGIN { printf "%.2f", a / b }')
	printf "rep %s  %-20s %-7s %7s ms  cpu %5s s  cli/this %s\n" "$1" "$2" "$3" "$T" "$CPU" "$ratio"
}

# Each client's round: put 1 GiB, get it to a file and to stdout, remove
# it; put 100 x 1 MiB, get them back, remove them; put 256 MiB (curl: the
# 1 GiB gets and the 256 MiB put only).
round() {       # round REP CLIENT
	local r=$1 c=$2 f=$W/g.$2 d=$W/m.$2 o=$W/out
	head -c 1073741824 /dev/urandom > "$f"
	[ "$c" = rcfs ] || [ "$c" = curl ] && head -c 268435456 /dev/urandom > "$f.q"
	mkdir -p "$d"
	[ "$c" = curl ] || for i in $(seq 100); do head -c 1048576 /dev/urandom > "$d/f$i"; done
	rm -rf "$o"; mkdir "$o"
	case $c in
	rcfs)	measure "'$B/rcfs' -q put '$f' cli/g"; report "$r" "put 1 GiB" "$c"
		measure "'$B/rcfs' get cli/g '$o/g'"; report "$r" "get 1 GiB to a file" "$c"
		measure "'$B/rcfs' get cli/g -"; report "$r" "get 1 GiB to stdout" "$c"
		measure "'$B/rcfs' -q put -r '$d' cli/m"; report "$r" "put 100 x 1 MiB" "$c"
		measure "'$B/rcfs' get -r cli/m '$o/m'"; report "$r" "get 100 x 1 MiB" "$c"
		measure "'$B/rcfs' -q put '$f.q' cli/q"; report "$r" "put 256 MiB" "$c"
		"$B/rcfs" -q rm -r cli > /dev/null 2>&1 ;;
	aws)	measure "$AWS s3 cp --quiet '$f' s3://bench/g"; report "$r" "put 1 GiB" "$c"
		measure "$AWS s3 cp --quiet s3://bench/g '$o/g' && sync '$o/g'"; report "$r" "get 1 GiB to a file" "$c"
		measure "$AWS s3 cp s3://bench/g -"; report "$r" "get 1 GiB to stdout" "$c"
		measure "$AWS s3 cp --quiet --recursive '$d' s3://bench/m"; report "$r" "put 100 x 1 MiB" "$c"
		measure "$AWS s3 cp --quiet --recursive s3://bench/m '$o/m' && sync '$o/m'/*"; report "$r" "get 100 x 1 MiB" "$c"
		$AWS s3 rm --quiet --recursive s3://bench > /dev/null 2>&1 ;;
	rclone)	measure "$RCL copyto '$f' R:bench/g"; report "$r" "put 1 GiB" "$c"
		measure "$RCL copyto R:bench/g '$o/g' && sync '$o/g'"; report "$r" "get 1 GiB to a file" "$c"
		measure "$RCL cat R:bench/g"; report "$r" "get 1 GiB to stdout" "$c"
		measure "$RCL copy '$d' R:bench/m"; report "$r" "put 100 x 1 MiB" "$c"
		measure "$RCL copy R:bench/m '$o/m' && sync '$o/m'/*"; report "$r" "get 100 x 1 MiB" "$c"
		$RCL purge R:bench/m > /dev/null 2>&1; $RCL deletefile R:bench/g > /dev/null 2>&1 ;;
	curl)	measure "curl -sSf -T '$f.q' $U/q"; report "$r" "put 256 MiB" "$c"
		curl -sSf -X DELETE "$U/q" > /dev/null
		"$B/rcfs" -q put "$f" bench/g > /dev/null
		measure "curl -sSf -o '$o/g' $U/g && sync '$o/g'"; report "$r" "get 1 GiB to a file" "$c"
		measure "curl -sSf $U/g"; report "$r" "get 1 GiB to stdout" "$c"
		curl -sSf -X DELETE "$U/g" > /dev/null ;;
	esac
	rm -rf "$f" "$f.q" "$d" "$o"
}
read -ra CLIENTS <<< "${S3_CLIENTS:-aws rclone curl}"
for rep in $(seq "$REPS"); do
	round "$rep" rcfs
	for k in $(seq 0 $(( ${#CLIENTS[@]} - 1 ))); do
		round "$rep" "${CLIENTS[(rep - 1 + k) % ${#CLIENTS[@]}]}"
	done
done
