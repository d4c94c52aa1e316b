#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hotplug storm: add and remove a matching NIC (e1000e into rp4, a rule for
# 0000:04:00.0) over and over while another process loops claim, get,
# release (of that address and of nic1) and device and group dumps. No
# splat, no leak, every request answered, and the final state equals sysfs.
# 1,000 cycles on a debug kernel (vr.hotplug_cycles=), 50 elsewhere;
# vr.hotplug_seconds= bounds the time (the count run is reported).
# vm-timeout: 3000
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib-debug.sh"

need_fuzz
if debug_tier; then
	cycles=$(cmdline_param vr.hotplug_cycles 1000)
else
	cycles=$(cmdline_param vr.hotplug_cycles 50)
fi
budget=$(cmdline_param vr.hotplug_seconds 2400)

ktap_plan 9
ktap_diag "$(debug_features)"
modprobe vfio-pci
# The native driver of the hotplugged NIC is loaded first, and shown able to
# probe: "never bound to another driver" below means something.
ktap_check "positive control: e1000e loaded and probed nic0 $NIC0" load_native e1000e "$NIC0"
ktap_check "modprobe vfio_reserve devices=$HP_ADDR" modprobe vfio_reserve devices="$HP_ADDR"
record_module_range
"$FUZZ" churn -i "$(cmdline_param vr.churn_pause_ms 100)" "$HP_ADDR" "$NIC1" >/tmp/churn.log 2>&1 &
churn=$!
# The cycles run in python (storm.py): a bash loop forks for every check,
# and a fork costs a third of a second on a debug kernel.
python3 "$VR_TOP/selftests/debug/storm.py" "$cycles" "$budget" "$HP_ADDR" "$HP_PORT" hp0 \
	>/tmp/storm.log 2>&1
storm_rc=$?
kill -TERM "$churn"
wait "$churn"
churn_rc=$?
ktap_diag <"/tmp/storm.log"
ktap_diag <"/tmp/churn.log"
f() { result_field /tmp/storm.log STORM-RESULT "$1"; }
done_n=$(f cycles) secs=$(f seconds)
done_n=${done_n:-0} secs=${secs:-0}
per=$(awk -v s="$secs" -v n="$done_n" 'BEGIN { printf "%.2f", n ? s / n : 0 }')
ktap_diag "cycles: $done_n of $cycles in $secs s ($per s each; mean add-to-bound $(f add_ms) ms, del-to-gone $(f del_ms) ms)$( ((done_n < cycles)) && echo "; stopped by the $budget s budget")"
ktap_diag "arrivals: $(f by_rule) reserved by the rule, $(f by_claim) by the churn's claim that got there first; then $(f on_vfio) on vfio-pci, $(f unbound) released by the churn (then unbound or on e1000e), $(f other) on another driver; $(f add_fail) missing; $(f del_fail) failed removals"

ktap_check "$done_n add/remove cycles, every add and removal completed" \
	eval '[[ $storm_rc == 0 && $done_n -gt 0 && $(f add_fail) == 0 && $(f del_fail) == 0 ]]'
ktap_check "every arrival reserved ($(f by_rule) by the rule, $(f by_claim) by a racing claim, of $done_n), never bound to another driver" \
	eval '[[ $(($(f by_rule) + $(f by_claim))) == "$done_n" && $(f other) == 0 ]]'
ktap_check "the churn: every request answered" \
	eval '[[ $churn_rc == 0 && $(result_field /tmp/churn.log CHURN-RESULT violations) == 0 ]]'
ktap_check "final state: the device dump equals sysfs" dump_matches_sysfs
reserved=$("$FUZZ" status | awk '$1 == "reserved" { print $2 }')
overrides=$(grep -c 'vfio-pci$' < <(sysfs_devices))
ktap_check "final state: $reserved reserved, as many vfio-pci overrides in sysfs ($overrides)" \
	eval '[[ $reserved == "$overrides" ]]'
n_splat=$(splat_count)
ktap_check "no splat in dmesg (count $n_splat)" eval '[[ $n_splat == 0 ]]'
rmmod vfio_reserve
if has_kmemleak; then
	ktap_check "kmemleak: nothing from vfio_reserve" kmemleak_check "after the storm and rmmod"
else
	ktap_skip "kmemleak: nothing from vfio_reserve" "no kmemleak in this kernel"
fi
ktap_diag "HOTPLUG-TOTAL cycles=$done_n target=$cycles seconds=$secs per_cycle=$per churn_requests=$(result_field /tmp/churn.log CHURN-RESULT requests) splats=$n_splat leaks=$KMEMLEAK_OURS"
ktap_finish
