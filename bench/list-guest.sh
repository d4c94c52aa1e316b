#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The list-scaling benchmark (6 in bench/README.md), inside a VM that
# bench/run.sh gives N pci-testdevs behind pcie-pci-bridges: how the time
# of `vfio-reserve list --json`, and of the module's own DEVICE_GET dump,
# grows with the number of functions. Prints TAP and "# bench KEY VALUE..."
# lines for bench/report.py; "not ok" only when a measurement gave no
# number or listed the wrong functions.
#
# Settings (environment, from the generated test file):
#   BENCH_LIST_REPS     timed runs of list --json (after one untimed run)
#   BENCH_DUMP_SECONDS  how long vr_genl_test --dump-loop dumps
#   BENCH_VR, BENCH_GENL  the helper and vr_genl_test (snapshots)
set -u
. "$VR_TOP/selftests/vm/lib.sh"

REPS=${BENCH_LIST_REPS:-1}
SECS=${BENCH_DUMP_SECONDS:-1}
VR=${BENCH_VR:-$VR_TOP/build/user/vfio-reserve}
GENL=${BENCH_GENL:-$VR_TOP/build/genl/vr_genl_test}

say() { printf '# bench %s\n' "$*"; }

ktap_plan 3
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
n=$(find /sys/bus/pci/devices/ -mindepth 1 -maxdepth 1 | wc -l)
say list.functions "$n"

times='' bad=0
for ((i = 0; i <= REPS; i++)); do
	start=$(now_us)
	"$VR" list --json >/tmp/list.json || bad=1
	end=$(now_us)
	listed=$(grep -o '"address"' /tmp/list.json | wc -l)
	((listed == n)) || bad=1
	((i == 0)) && continue	# the untimed first run
	times+=" $(awk -v d=$((end - start)) 'BEGIN { printf "%.1f", d / 1000 }')"
done
say list.ms"$times"
ktap_result "list --json lists all $n functions; times (ms):$times" "$bad"

# The module alone: full dumps, read 4 KiB at a time (several parts each),
# by a program that does nothing else, for SECS seconds in REPS runs (the
# spread of the runs is the noise). A kprobe on vr_collect_one(), called
# once per function by each walk of the bus, counts the walks: one per dump
# is linear, one per part is not.
T=/sys/kernel/tracing
probe=0
if echo 'p:vrbench/collect vfio_reserve:vr_collect_one' >>$T/kprobe_events 2>/dev/null; then
	echo 0 >$T/tracing_on
	echo 1 >$T/events/vrbench/collect/enable && probe=1
fi
per_fn='' dumps_all=0 bad=0 parts=0
for ((i = 0; i < REPS; i++)); do
	out=$("$GENL" --dump-loop "$(awk -v s="$SECS" -v r="$REPS" 'BEGIN { print s / r }')")
	ktap_diag "$out"
	if [[ $out =~ ([0-9]+)\ dumps,\ ([0-9]+)\ to\ ([0-9]+)\ devices\ each\ in\ ([0-9]+)\ to ]] &&
		((BASH_REMATCH[1] > 0 && BASH_REMATCH[2] == n && BASH_REMATCH[3] == n)); then
		per_fn+=" $(awk -v s="$SECS" -v r="$REPS" -v d="${BASH_REMATCH[1]}" -v n="$n" \
			'BEGIN { printf "%.2f", s / r * 1e6 / (d * n) }')"
		dumps_all=$((dumps_all + BASH_REMATCH[1]))
		parts=${BASH_REMATCH[4]}
	else
		bad=1
	fi
done
say list.dump_us_per_fn"$per_fn"
say list.dump_parts "$parts"
ktap_result "the module's dump, us per function:$per_fn ($parts parts a dump)" "$bad"
if ((probe)); then
	echo 0 >$T/events/vrbench/collect/enable
	visits=$(awk '$1 == "collect" { print $2 }' $T/kprobe_profile)
	say list.walks_per_dump "$(awk -v v="$visits" -v d="$dumps_all" -v n="$n" \
		'BEGIN { printf "%.2f", v / (d * n) }')"
fi
ktap_finish
