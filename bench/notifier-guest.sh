#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Where the bus notifier's time goes, inside the test VM (bench/README.md,
# 8; run by the test file bench/run.sh generates, in make bench). For a
# NIC reserved by its address and for one no rule names, BENCH_HOTPLUGS
# hotplugs with function_graph on vr_bus_notify and what it calls, to
# BENCH_DEPTH levels; bench/notifier_trace.py prints the medians per call
# of the notifier and of every function under it.
#
# Tracing the inner functions adds the tracer's own cost to each of them
# (1-3 us a call under TCG): these figures say where the time goes, not
# what it totals; bench/guest.sh's depth-1 figures (7) say that.
# shellcheck disable=SC2016,SC2034 # eval'd strings, and the locals they read
set -u
. "$VR_TOP/selftests/vm/lib.sh"
. "$VR_TOP/bench/lib.sh"

HOTPLUGS=${BENCH_HOTPLUGS:-6}
DEPTH=${BENCH_DEPTH:-3}
# 0: function_graph's nosleep-time (a call's time leaves out where its
# task was switched out). Not the default, and not what lib.sh's ft_begin
# uses: with it, 6.1 under TCG hung twice in five VMs as the tracer was
# switched (text_poke_bp()'s IPI never answered: RCU stall, soft lockup).
# Without it the medians hold; the p90s carry task switches.
SLEEP_TIME=${BENCH_SLEEP_TIME:-1}
NOWHERE=0000:0a:1f.7	# an address no device of the VM has
export SYSTEMD_IGNORE_CHROOT=1
_vr_ctl_open
ktap_plan 3
modprobe vfio-pci
modprobe e1000e
ktap_check "function_graph tracer, vfio-pci and e1000e loaded" \
	eval 'ft_available && [[ -d $VFIO && -d /sys/module/e1000e ]]'
add='{"execute":"device_add","arguments":{"driver":"e1000e","bus":"'$HP_PORT'","netdev":"hp0","id":"hp0","romfile":""}}'
del='{"execute":"device_del","arguments":{"id":"hp0"}}'

# trace_case NAME RULE DRIVER: HOTPLUGS hotplugs with the module loaded
# with RULE; the NIC must reach DRIVER every time.
trace_case() {
	local i bad=0 out want=$3
	modprobe vfio_reserve devices="$2" || return 1
	echo 0 >"$FT/tracing_on"
	echo nop >"$FT/current_tracer"
	echo >"$FT/set_ftrace_filter"
	echo vr_bus_notify >"$FT/set_graph_function"
	echo "$DEPTH" >"$FT/max_graph_depth"
	echo 8192 >"$FT/buffer_size_kb"
	echo function_graph >"$FT/current_tracer"
	echo funcgraph-proc >"$FT/trace_options"
	(( SLEEP_TIME )) || echo nosleep-time >"$FT/trace_options"
	echo >"$FT/trace"
	for ((i = 0; i < HOTPLUGS; i++)); do
		echo 1 >"$FT/tracing_on"
		qmp "$add" >/dev/null
		wait_until 30 eval '[[ $(pci_driver "$HP_ADDR") == "$want" ]]' || bad=1
		echo 0 >"$FT/tracing_on"
		qmp "$del" >/dev/null
		qmp_wait_event 20 DEVICE_DELETED '"device":"hp0"'
		wait_until 10 gone "$HP_ADDR" || bad=1
	done
	cat "$FT/trace" >"/tmp/notifier-$1.trace"
	echo nop >"$FT/current_tracer"
	echo >"$FT/set_graph_function"
	echo 0 >"$FT/max_graph_depth"
	echo sleep-time >"$FT/trace_options"
	rmmod vfio_reserve
	out=$(python3 "$VR_TOP/bench/notifier_trace.py" "/tmp/notifier-$1.trace") || bad=1
	printf '%s\n' "$out" | sed "s/^# notifier /# bench notifier.$1 /"
	return "$bad"
}

for c in "reserved $HP_ADDR vfio-pci by its address" "unmatched $NOWHERE e1000e no rule names"; do
	read -r name rule drv what <<<"$c"
	out=$(trace_case "$name" "$rule" "$drv")
	rc=$?
	printf '%s\n' "$out"
	ktap_result "a NIC $what: $HOTPLUGS hotplugs traced, on $drv each time" "$rc"
done
ktap_finish
