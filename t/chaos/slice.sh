#!/usr/bin/env bash
# make check's slice of the chaos tests (TAP): two short seeded iterations
# with a fault every few seconds, all fault kinds, every check of t/chaos/run.
# A long campaign is `make chaos` (docs/chaos.md).  The seed changes daily
# unless CHAOS_SEED is set; a failure prints the replay command.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
seed=${CHAOS_SEED:-$(( $(date +%s) / 86400 % 100000 ))}
exec timeout -k 10 175 bash "$top_srcdir/t/chaos/run" --iterations 2 --seed "$seed" \
	--duration "${CHAOS_DURATION:-35}" --interval 2
