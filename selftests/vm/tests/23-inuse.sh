#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A VM holding the group: release is refused (EBUSY, the device does not
# move, the module does not block), and accepted once the VM has exited.
# vr-roles: nic
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 6
modprobe e1000e
modprobe vfio_reserve
$VR claim "$NIC1" >/dev/null
group=$(pci_group "$NIC1")
qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64 \
	-device vfio-pci,host="$NIC1" >/tmp/nested.log 2>&1 &
qpid=$!
holds_group() {
	ls -l /proc/$qpid/fd 2>/dev/null | grep -q "/dev/vfio/$group\$"
}
ktap_check "a nested QEMU holds /dev/vfio/$group" wait_for 30 holds_group
t0=$(now_us)
$VR release "$NIC1" >/tmp/out 2>&1
release_rc=$?
t1=$(now_us)
ktap_check "release is refused (exit 1) naming the QEMU's pid, at once" \
	eval '[[ $release_rc == 1 ]] && grep -q "pid $qpid" /tmp/out && (( t1 - t0 < 5000000 ))'
ktap_diag "release took $(( (t1 - t0) / 1000 )) ms; nested QEMU pid $qpid"
ktap_diag <"/tmp/out"
ktap_check "the device stays on vfio-pci, the override too" \
	eval '[[ $(pci_driver "$NIC1") == vfio-pci &&
		$(<"$(pci_dev "$NIC1")/driver_override") == vfio-pci ]]'
ktap_check "the module reports it in use" \
	eval 'vrjson list | grep -q "\"address\":\"$NIC1\".*\"in_use\":true"'
kill "$qpid"
wait "$qpid" 2>/dev/null
ktap_check "once QEMU has exited, release succeeds" $VR release "$NIC1"
ktap_check "and nic1 is back on e1000e" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == e1000e ]]'
ktap_finish
