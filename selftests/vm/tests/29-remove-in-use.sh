#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Removal under a user's feet: a reserved NIC that a QEMU holds is removed
# through sysfs (as a hot-unplug or a failing slot would). vfio-pci's remove
# waits for the user, the device still reserved meanwhile; once QEMU is gone
# the removal completes and the module forgets the device. A rescan finds
# it again: its rule reserves it on arrival, never probed by its native
# driver, and a release gives it back to that driver. A device claimed with
# no rule comes back from a removal unreserved.
# vr-roles: nic nic-twin
# shellcheck disable=SC2016 # the checks are eval'd strings
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 11
if vr_on_vm; then native=e1000e; else native=$(native_driver "$NIC1"); fi
ktap_check "positive control: $native loaded and probed the twin $NIC0" \
	load_native "$native" "$NIC0"
modprobe vfio-pci
modprobe vfio_reserve
parent=$(pci_parent_bridge "$NIC1") || parent=
# A rule (add) brings it back reserved after the removal; a claim alone
# lasts as long as the device.
$VR add "$NIC1" >/dev/null
run $VR claim "$NIC1"
group=$(pci_group "$NIC1")
# x-req=off: this QEMU ignores vfio-pci's request to let the device go (a
# user that does not cooperate; one that does unplugs it from its guest).
qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64 \
	-device vfio-pci,host="$NIC1",x-req=off >/tmp/nested.log 2>&1 &
qpid=$!
# It holds the group, then the device (its fd is opened after the group's).
holds_device() {
	ls -l /proc/$qpid/fd 2>/dev/null | grep -q "/dev/vfio/$group\$" &&
		ls -l /proc/$qpid/fd 2>/dev/null | grep -q "anon_inode:\[vfio-device\]"
}
ktap_check "$NIC1 claimed, and a nested QEMU holds /dev/vfio/$group and the device" \
	eval '[[ $cmd_rc == 0 ]] && wait_for 30 holds_device'
echo 1 >"$(pci_dev "$NIC1")/remove" &
rmpid=$!
sleep 3
# (The driver core has already taken the driver's link out of sysfs.)
ktap_check "sysfs remove waits while QEMU holds the device, which stays reserved and in use" \
	eval 'kill -0 $rmpid && holds_device && pci_exists "$NIC1" &&
		vrjson list | grep -q "\"address\":\"$NIC1\".*\"state\":\"reserved\".*\"in_use\":true"'
kill "$qpid"
wait "$qpid" 2>/dev/null
ktap_check "once QEMU exits the removal completes: the device is gone" \
	wait_for 20 eval '! kill -0 $rmpid 2>/dev/null && ! pci_exists "$NIC1"'
wait "$rmpid" 2>/dev/null
ktap_check "... and the module forgot it: logged, 0 reserved" \
	eval 'test_dmesg | grep -q "$NIC1: vfio_reserve: removed while reserved" &&
		$VR status | grep -q ", 0 reserved,"'
before=$(probe_log "$native" "$NIC1")
pci_rescan "$parent"
ktap_check "a rescan finds it again, and it is bound to vfio-pci on arrival" \
	wait_for 20 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
ktap_check "$native never probed it, vfio-pci did" \
	eval '[[ $(probe_log "$native" "$NIC1") == "$before" ]] && (($(probe_log vfio-pci "$NIC1") >= 2))'
ktap_check "vfio-reserve remove $NIC1 (the rule), release $NIC1" eval '$VR remove "$NIC1" && $VR release "$NIC1"'
ktap_check "... and $native has it again" \
	wait_for 20 eval '[[ $(pci_driver "$NIC1") == "$native" ]]'
# A claim with no rule lasts as long as the device (vfio-reserve(8), claim).
ktap_check "claim $NIC1 (no rule), then remove it: gone" \
	eval '$VR claim "$NIC1" >/dev/null && echo 1 >"$(pci_dev "$NIC1")/remove" &&
		wait_for 20 eval "! pci_exists $NIC1"'
pci_rescan "$parent"
ktap_check "a rescan finds it unreserved: $native takes it, the module lists it as nothing of its own" \
	eval 'wait_for 20 eval "[[ \$(pci_driver $NIC1) == $native ]]" &&
		vrjson list | grep -q "\"address\":\"$NIC1\".*\"state\":\"none\""'
ktap_finish
