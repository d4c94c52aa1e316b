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
# panic_print=0x20: a panic replays the whole kernel log (the console level
# is low while faults are injected, see below)
# vm-cmdline: panic_print=0x20
# A failed allocation's report (warn_alloc: "vmalloc error", "page allocation
# failure") and its stack are expected here; any other splat still fails.
# vm-allow-trace: vmalloc error|page allocation failure
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
# A failed vmalloc (the module loader's) prints a stack dump (warn_alloc):
# expected under fault injection, so keep it off the console that vm.py
# reads. Splats still end the VM (panic_on_warn: the panic is at KERN_EMERG)
# or show in dmesg, which splat_count reads.
read -r console_level _ </proc/sys/kernel/printk
dmesg -n 1

# --- module load --------------------------------------------------------------
# The loads reserve mf0 (devices=mf0 and a rule that matches nothing). mf1,
# in mf0's IOMMU group, stays on vfio-pci throughout, so that binding mf0
# never creates the group's vfio_group: when an allocation fails in there,
# 6.1's vfio_create_group() error path WARNs (vfio_main.c:179,
# WARN_ON(group->iommu_group) in vfio_group_release), a vfio bug that
# panic_on_warn would turn into the end of the test.
PARAMS="devices=$MF0,0000:0a:00.0"
dev_state() { echo "$(pci_driver "$1") $(<"$(pci_dev "$1")/driver_override")"; }
reset_mf0() {
	echo >"$(pci_dev "$MF0")/driver_override"
	[[ -n $(pci_driver "$MF0") ]] && echo "$MF0" >"/sys/bus/pci/drivers/$(pci_driver "$MF0")/unbind"
	true
}
echo vfio-pci >"$(pci_dev "$MF1")/driver_override"
echo "$MF1" >/sys/bus/pci/drivers_probe
initial=$(dev_state "$MF0")
reserved="vfio-pci vfio-pci"
calls=$("$FUZZ" load-nth -1 "$KO" "$PARAMS" | sed -n 's/.*calls=//p')
wait_for 20 eval '[[ $(dev_state "$MF0") == "$reserved" ]]'
ktap_check "a load without faults reserves mf0 ($calls fault points in the loading task; mf1 on $(pci_driver "$MF1"))" \
	eval '[[ $calls -gt 0 && -d /sys/module/vfio_reserve && $(dev_state "$MF0") == "$reserved" ]]'
rmmod vfio_reserve
reset_mf0
ktap_diag "mf0 at the start: '$initial'"

step=1
((calls > max_loads)) && step=$(((calls + max_loads - 1) / max_loads))
loads=0 failed=0 ok_loads=0 clean=0 whole=0 partial=0 leftover=0 unbound=0 t0=$(now_us)
# What the kernel said about vfio since the marker of fault N.
since() { dmesg | sed -n "/vr-test: load fault $1\$/,\$p" | grep -E 'vfio|FAULT' | tail -n 8; }
# tally N OUT STATE [untouched-ok]: count mf0's STATE after faulted load N.
# Reserved (override set) and bound: whole; reserved with vfio-pci's own
# probe failed (a fault there is vfio-pci's to report): unbound; as it was,
# when that is consistent (a failed load; a load whose override could not
# be set and that says "reserved 0"): untouched; anything else: partial.
tally() {
	if [[ $3 == "$reserved" ]]; then
		whole=$((whole + 1))
	elif [[ $3 == "$initial" && -n ${4:-} ]]; then
		clean=$((clean + 1))
	elif [[ $3 == " vfio-pci" ]]; then
		unbound=$((unbound + 1))
		ktap_diag "fault $1 ($2): mf0 reserved, but vfio-pci's probe failed"
	else
		partial=$((partial + 1))
		ktap_diag "fault $1 ($2): mf0 left as '$3' (want '$reserved' or '$initial')"
		since "$1" | ktap_diag
	fi
}
for ((n = 1; n <= calls + 1; n += step)); do
	kmsg "load fault $n"
	out=$("$FUZZ" load-nth "$n" "$KO" "$PARAMS")
	loads=$((loads + 1))
	if [[ $out == rc=0* ]]; then
		ok_loads=$((ok_loads + 1))
		st=$("$FUZZ" status) || { partial=$((partial + 1)); ktap_diag "fault $n: loaded but STATUS_GET fails"; }
		state=$(dev_state "$MF0")
		rmmod vfio_reserve
		# Loaded: mf0 reserved (its override set), bound unless vfio-pci's
		# own probe failed (a fault there is vfio-pci's to report); or,
		# when its override could not be set, not reserved at all, and the
		# module says so (reserved 0).
		tally "$n" "$out" "$state" "$(grep -qx "reserved 0" <<<"$st" && echo untouched-ok)"
	else
		failed=$((failed + 1))
		if grep -q '^vfio_reserve ' /proc/modules || "$FUZZ" family >/dev/null 2>&1; then
			leftover=$((leftover + 1))
			ktap_diag "fault $n ($out): the module or its family is still there"
			rmmod vfio_reserve 2>/dev/null
		fi
		sleep 0.2	# let a vfio-pci probe the module started finish
		# Failed: mf0 as it was, or reserved whole (the init that failed
		# had taken it; unloading leaves reserved devices reserved).
		tally "$n" "$out" "$(dev_state "$MF0")" untouched-ok
	fi
	reset_mf0
done
secs=$((($(now_us) - t0) / 1000000))
ktap_diag "loads: $loads faulted (faults 1..$((calls + 1)) step $step) in $secs s: $failed failed, $ok_loads loaded anyway; mf0 after: $clean untouched, $whole reserved and bound, $unbound reserved with vfio-pci's probe failed, $partial otherwise"
ktap_check "every failed load left no module and no family" eval '[[ $leftover == 0 ]]'
ktap_check "no faulted load left mf0 half-reserved (module and sysfs disagree)" eval '[[ $partial == 0 ]]'
echo >"$(pci_dev "$MF1")/driver_override"
echo "$MF1" >/sys/bus/pci/drivers/vfio-pci/unbind

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
# mf1 first, without faults: mf0's claim then finds the group's vfio_group
# (the 6.1 vfio_create_group error path WARNs when an allocation in it fails:
# vfio_main.c:179 WARN_ON(group->iommu_group) -- not ours to test here).
"$FUZZ" cmd claim "$MF1" >/dev/null
fault "DEVICE_CLAIM of mf0 (mf1, same group, already on vfio-pci)" claim "$MF0"
"$FUZZ" cmd release "$MF1" >/dev/null
fault "device dump" dumpdev
fault "group dump" dumpgroups
fault "rule dump" dumprules
fault "STATUS_GET" status
fault "DEVICE_GET of nic1" get "$NIC1"
ktap_check "the device dump still equals sysfs" dump_matches_sysfs
dmesg -n "$console_level"
n_splat=$(splat_count)
ktap_diag "allocation-failure reports in dmesg (expected): $(dmesg | grep -cE 'vmalloc error|page allocation failure')"
ktap_diag "FAILSLAB-TOTAL loads=$loads load_fault_points=$calls splats=$n_splat"
rmmod vfio_reserve
if has_kmemleak && ! kmemleak_check "after the faults"; then
	ktap_diag "(leak reports above)"
	n_splat=$((n_splat + 1000))
fi
ktap_check "no splat, no leak from vfio_reserve" eval '[[ $n_splat == 0 ]]'
ktap_finish
