#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fault injection (failslab, fail-nth: the N-th slab allocation of one task
# fails, for N = 1, 2, ... until a run needs no more) during module load,
# RULE_ADD, RULE_DEL, DEVICE_CLAIM, dumps, STATUS_GET and DEVICE_GET. Every
# failure is returned cleanly and leaves no partial state: a failed load
# leaves no module, no family and every device as it was or reserved whole
# (driver and override vfio-pci); a failed RULE_ADD leaves the rule dump as
# it was; a dump either fails or is whole. No splat, no leak.
# vr.failslab_loads= caps the number of faulted loads (default 200: beyond,
# every k-th fault point).
# vm-timeout: 2400
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib-debug.sh"

need_fuzz
has_failslab || ktap_exit_skip "no failslab and fail-nth in this kernel (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)"
max_loads=$(cmdline_param vr.failslab_loads 200)
KO=$VR_MODROOT/lib/modules/$VR_KVER/extra/vfio_reserve.ko
[[ -f $KO ]] || ktap_exit_skip "no module under test ($KO)"

ktap_plan 14
ktap_diag "$(debug_features)"
failslab_setup
modprobe vfio-pci

# --- module load --------------------------------------------------------------
# A device's state: "driver override".
dev_state() { echo "$(pci_driver "$1") $(<"$(pci_dev "$1")/driver_override")"; }
# Back to the start: no module, nic1 and mf0 unbound with no override.
reset_devices() {
	local a
	for a in "$NIC1" "$MF0"; do
		echo >"$(pci_dev "$a")/driver_override"
		[[ -n $(pci_driver "$a") ]] && echo "$a" >"/sys/bus/pci/drivers/$(pci_driver "$a")/unbind"
	done
	true
}
initial="$(dev_state "$NIC1")|$(dev_state "$MF0")"
reserved="vfio-pci vfio-pci|vfio-pci vfio-pci"
calls=$("$FUZZ" load-nth -1 "$KO" "devices=$NIC1,$MF0" | sed -n 's/.*calls=//p')
wait_for 20 eval '[[ "$(dev_state "$NIC1")|$(dev_state "$MF0")" == "$reserved" ]]'
ktap_check "a load without faults reserves nic1 and mf0 ($calls fault points in the loading task)" \
	eval '[[ $calls -gt 0 && -d /sys/module/vfio_reserve && "$(dev_state "$NIC1")|$(dev_state "$MF0")" == "$reserved" ]]'
rmmod vfio_reserve
reset_devices
ktap_diag "start state: '$initial'"

step=1
((calls > max_loads)) && step=$(((calls + max_loads - 1) / max_loads))
loads=0 failed=0 ok_loads=0 clean=0 whole=0 partial=0 leftover=0 t0=$(now_us)
for ((n = 1; n <= calls + 1; n += step)); do
	out=$("$FUZZ" load-nth "$n" "$KO" "devices=$NIC1,$MF0")
	loads=$((loads + 1))
	if [[ $out == rc=0* ]]; then
		ok_loads=$((ok_loads + 1))
		"$FUZZ" status >/dev/null || { partial=$((partial + 1)); ktap_diag "fault $n: loaded but STATUS_GET fails"; }
		rmmod vfio_reserve
	else
		failed=$((failed + 1))
		if [[ -d /sys/module/vfio_reserve ]] || "$FUZZ" family 2>/dev/null; then
			leftover=$((leftover + 1))
			ktap_diag "fault $n ($out): the module or its family is still there"
		fi
	fi
	sleep 0.2	# let a vfio-pci probe the module started finish
	state="$(dev_state "$NIC1")|$(dev_state "$MF0")"
	if [[ $state == "$initial" ]]; then
		clean=$((clean + 1))
	elif [[ $state == "$reserved" ]]; then
		whole=$((whole + 1))
	else
		partial=$((partial + 1))
		ktap_diag "fault $n ($out): devices left as '$state'"
	fi
	reset_devices
done
secs=$((($(now_us) - t0) / 1000000))
ktap_diag "loads: $loads faulted (faults 1..$((calls + 1)) step $step) in $secs s: $failed failed, $ok_loads loaded anyway; devices after: $clean untouched, $whole reserved whole, $partial otherwise"
ktap_check "every failed load left no module and no family" eval '[[ $leftover == 0 ]]'
ktap_check "no device left half-reserved by a faulted load" eval '[[ $partial == 0 ]]'

# --- requests ---------------------------------------------------------------------
ktap_check "modprobe vfio_reserve devices=$NIC1" modprobe vfio_reserve devices="$NIC1"
record_module_range
wait_for 20 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
fault() { # fault DESC OP [ARG]
	local desc=$1 out rc
	shift
	out=$("$FUZZ" fault-nl "$@" 2>&1)
	rc=$?
	ktap_result "$desc: $(sed -n 's/^FAULT-RESULT //p' <<<"$out")" "$rc"
	grep -v '^FAULT-RESULT' <<<"$out" | ktap_diag
}
fault "RULE_ADD of 2 rules (none matches a device)" add "0000:0a:00.0,8086:beef"
"$FUZZ" cmd add "0000:0b:00.0,class:0c03" >/dev/null
fault "RULE_DEL of 2 rules" del "0000:0b:00.0,class:0c03"
fault "DEVICE_CLAIM of mf0" claim "$MF0"
fault "device dump" dumpdev
fault "group dump" dumpgroups
fault "rule dump" dumprules
fault "STATUS_GET" status
fault "DEVICE_GET of nic1" get "$NIC1"
ktap_check "the device dump still equals sysfs" dump_matches_sysfs
n_splat=$(splat_count)
ktap_diag "FAILSLAB-TOTAL loads=$loads load_fault_points=$calls splats=$n_splat"
rmmod vfio_reserve
if has_kmemleak && ! kmemleak_check "after the faults"; then
	ktap_diag "(leak reports above)"
	n_splat=$((n_splat + 1000))
fi
ktap_check "no splat, no leak from vfio_reserve" eval '[[ $n_splat == 0 ]]'
ktap_finish
