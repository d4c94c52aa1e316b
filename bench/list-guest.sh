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
#   BENCH_BULK_REPS     timed rounds of the bulk binds (3 in bench/README.md)
#   BENCH_VR, BENCH_GENL  the helper and vr_genl_test (snapshots)
set -u
. "$VR_TOP/selftests/vm/lib.sh"
. "$VR_TOP/bench/lib.sh"

REPS=${BENCH_LIST_REPS:-1}
BULK_REPS=${BENCH_BULK_REPS:-1}
SECS=${BENCH_DUMP_SECONDS:-1}
VR=${BENCH_VR:-$VR_TOP/build/user/vfio-reserve}
GENL=${BENCH_GENL:-$VR_TOP/build/genl/vr_genl_test}

ktap_plan 6
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
probe=0
if echo 'p:vrbench/collect vfio_reserve:vr_collect_one' >>$FT/kprobe_events 2>/dev/null; then
	echo 0 >$FT/tracing_on
	echo 1 >$FT/events/vrbench/collect/enable && probe=1
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
	echo 0 >$FT/events/vrbench/enable
	visits=$(awk '$1 == "collect" { print $2 }' $FT/kprobe_profile)
	cmps=$(awk '$1 == "cmp" { print $2 }' $FT/kprobe_profile)
	say list.walks_per_dump "$(awk -v v="$visits" -v d="$dumps_all" -v n="$n" \
		'BEGIN { printf "%.2f", v / (d * n) }')"
	say list.sort_cmps_per_dump "$(awk -v c="$cmps" -v d="$dumps_all" \
		'BEGIN { printf "%.0f", c / d }')"
fi

# Where the dump's time goes inside the module: kprobes at the entry and
# return of the dump callback and of its collection (the bus walk and, when
# the walk was out of order, the merge of its runs), their trace timestamps summed over
# one run of SECS / REPS seconds and divided by dumps x functions. The
# probes' own cost (four hits a part) is in the figures; the rest of the
# dump's time is netlink's copy to user space and vr_genl_test's parsing.
# The control: STATUS_GET's totals (vr_totals_get), a bus walk that only
# looks up each function's IOMMU group, timed the same way over 10 status
# requests: what visiting N functions costs this machine, dump or not.
in_module=''
if ((probe)) &&
	echo 'p:vrtime/cb vfio_reserve:vr_nl_dev_dumpit' >>$FT/kprobe_events &&
	echo 'r:vrtime/cb_ret vfio_reserve:vr_nl_dev_dumpit' >>$FT/kprobe_events &&
	echo 'p:vrtime/col vfio_reserve:vr_dump_collect' >>$FT/kprobe_events &&
	echo 'r:vrtime/col_ret vfio_reserve:vr_dump_collect' >>$FT/kprobe_events &&
	echo 'p:vrtime/tot vfio_reserve:vr_totals_get' >>$FT/kprobe_events &&
	echo 'r:vrtime/tot_ret vfio_reserve:vr_totals_get' >>$FT/kprobe_events; then
	echo 16384 >$FT/buffer_size_kb
	echo >$FT/trace
	echo 1 >$FT/events/vrtime/enable
	echo 1 >$FT/tracing_on
	out=$("$GENL" --dump-loop "$(awk -v s="$SECS" -v r="$REPS" 'BEGIN { print s / r }')")
	for ((i = 0; i < 10; i++)); do
		"$VR" status >/dev/null 2>&1
	done
	echo 0 >$FT/tracing_on
	echo 0 >$FT/events/vrtime/enable
	ktap_diag "$out"
	if [[ $out =~ ([0-9]+)\ dumps,\ ([0-9]+)\ to\ ([0-9]+)\ devices ]] &&
		((BASH_REMATCH[1] > 0 && BASH_REMATCH[2] == n)); then
		in_module=$(awk -v d="${BASH_REMATCH[1]}" -v n="$n" '
			match($0, /[0-9]+\.[0-9]+: [a-z_]+:/) {
				split(substr($0, RSTART, RLENGTH), f, ": ")
				ev = f[2]; sub(":", "", ev)
				if (ev == "cb" || ev == "col" || ev == "tot") at[ev] = f[1]
				else if (ev in want && at[want[ev]]) {
					sum[want[ev]] += f[1] - at[want[ev]]; at[want[ev]] = 0
					calls[want[ev]]++
				}
			}
			BEGIN { want["cb_ret"] = "cb"; want["col_ret"] = "col"; want["tot_ret"] = "tot" }
			END {
				if (sum["cb"] > 0 && calls["tot"] > 0)
					printf "%.2f %.2f %.2f", sum["cb"] * 1e6 / (d * n),
						sum["col"] * 1e6 / (d * n), sum["tot"] * 1e6 / (calls["tot"] * n)
			}
		' $FT/trace)
	fi
	echo >$FT/trace
fi
if [[ -n $in_module ]]; then
	read -r cb col tot <<<"$in_module"
	say list.callback_us_per_fn "$cb"
	say list.collect_us_per_fn "$col"
	say list.status_walk_us_per_fn "$tot"
	ktap_result "in the module, us per function: dump callback $cb, of which collection $col; STATUS_GET's walk $tot" 0
else
	ktap_result "in the module: no timing (kprobes or trace unavailable, or the dump failed)" 1
fi

# 3. The bulk floor at these sizes: every pci-testdev (no driver in the
# kernel) from unbound to vfio-pci, by vfio-pci's dynamic ID (the floor: one
# write, the driver core binds them all) and by loading the module with a
# bus selector for each bridge's bus. From a kernel-log marker to the last
# vfio-pci "bound" line; one untimed round, then BULK_REPS, in turn.
TESTDEV_ID="1b36 0005"
ADDRS=() buses=()
for d in /sys/bus/pci/devices/*; do
	[[ $(<"$d/vendor") == 0x1b36 && $(<"$d/device") == 0x0005 ]] || continue
	ADDRS+=("${d##*/}")
	b=${d##*/}
	b=${b%:*}
	[[ " ${buses[*]} " == *" $b:*.* "* ]] || buses+=("$b:*.*")
done
SELECTOR=$(IFS=,; echo "${buses[*]}")
say bulk.functions "${#ADDRS[@]}"
BULK_ID=$TESTDEV_ID
modprobe vfio-pci
declare -A BULK
bulk_bad=0
for ((round = 0; round <= BULK_REPS; round++)); do
	for m in floor vfio-reserve; do
		bulk_reset
		dmesg -C
		mark "bulk $m"
		id=$MARK
		if [[ $m == floor ]]; then
			echo "$BULK_ID" >"$VFIO/new_id"
		else
			modprobe vfio_reserve devices="$SELECTOR"
		fi
		if ! wait_until 300 all_bound; then
			ktap_diag "bulk $m: not every function reached vfio-pci"
			bulk_bad=1
			continue
		fi
		read -r t0 _ tl nb tr < <(log_bound_since_mark "$id" "")
		if [[ $t0 == - ]] || ((nb != ${#ADDRS[@]})); then
			ktap_diag "bulk $m: the kernel log shows $nb of ${#ADDRS[@]} binds"
			bulk_bad=1
			continue
		fi
		((round == 0)) && continue
		BULK[$m]+=" $(ms_between "$t0" "$tl")"
		[[ $m == vfio-reserve && $tr != - ]] && BULK[from]+=" $(ms_between "$tr" "$tl")"
	done
done
bulk_reset
say "bulk.vfio-reserve.from_reserved_ms${BULK[from]:-}"
for m in floor vfio-reserve; do
	say "bulk.$m.ms${BULK[$m]:-}"
	ktap_result "bulk $m: ${#ADDRS[@]} functions to vfio-pci, times (ms):${BULK[$m]:- none}" \
		"$([[ -n ${BULK[$m]:-} && $bulk_bad == 0 && ${#ADDRS[@]} -gt 0 ]]; echo $?)"
done
ktap_finish
