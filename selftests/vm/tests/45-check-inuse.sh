#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A device in use by a VM: a nested QEMU holds NIC1's IOMMU group open. check
# fails and names that QEMU's pid and its VM (started as libvirt starts it,
# -name guest=NAME: the domain is named); release is refused, names the pid and
# leaves the device on vfio-pci; once QEMU is gone, release gives the NIC back
# to its native driver (e1000e in the VM).
# vm-timeout: 300
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-roles: nic
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper
command -v qemu-system-x86_64 >/dev/null || ktap_exit_skip "no qemu-system-x86_64"

# Does process PID hold /dev/vfio/GROUP open?
holds_group() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[[ $(readlink "$fd" 2>/dev/null) == "/dev/vfio/$2" ]] && return 0
	done
	return 1
}

in_use_json() {
	vrjson list "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["in_use"])'
}

ktap_plan 11
native=$(native_driver "$NIC1")
modprobe "$native"
ktap_check "$NIC1 is on $native" wait_for 30 eval '[[ $(pci_driver "$NIC1") == "$native" ]]'
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
run "$VR" claim "$NIC1"
group=$(pci_group "$NIC1")
ktap_check "claim $NIC1: on vfio-pci, /dev/vfio/$group exists" \
	eval '[[ $cmd_rc == 0 && $(pci_driver "$NIC1") == vfio-pci && -c /dev/vfio/$group ]]'

qemu-system-x86_64 -name guest=vrguest,debug-threads=on -accel tcg -S -nodefaults \
	-display none -m 64 -device vfio-pci,host="$NIC1" \
	-qmp unix:/tmp/nested.sock,server=on,wait=off >/tmp/nested.log 2>&1 &
qpid=$!
if ! ktap_check "a nested QEMU (pid $qpid) holds /dev/vfio/$group" \
	wait_for 120 holds_group "$qpid" "$group"; then
	ktap_diag </tmp/nested.log
fi

run "$VR" check "$NIC1"
ktap_check "check $NIC1 exits 1 and names pid $qpid and its libvirt domain vrguest" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "in use: IOMMU group $group is held by .*pid $qpid (qemu-system-x86, libvirt domain vrguest)" <<<"$cmd_out"'
ktap_check "list --json says in use" eval '[[ $(in_use_json "$NIC1") == True ]]'
run "$VR" release "$NIC1"
ktap_check "release $NIC1 exits 1 and names pid $qpid" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "pid $qpid\\b" <<<"$cmd_out"'
ktap_check "$NIC1 is still on vfio-pci, override vfio-pci, QEMU still holds the group" \
	eval '[[ $(pci_driver "$NIC1") == vfio-pci &&
		$(<"$(pci_dev "$NIC1")/driver_override") == vfio-pci ]] && holds_group "$qpid" "$group"'

kill "$qpid"
wait "$qpid" 2>/dev/null
ktap_check "QEMU is gone: list --json says not in use" \
	wait_for 30 eval '[[ $(in_use_json "$NIC1") == False ]]'
run "$VR" release "$NIC1"
ktap_check "release $NIC1 now succeeds: back on $native (sysfs)" \
	eval '[[ $cmd_rc == 0 ]] && wait_for 30 eval "[[ \$(pci_driver $NIC1) == $native ]]"'
ktap_check "and check $NIC1 says it is bound to $native (exit 1)" \
	eval '"$VR" check "$NIC1" | grep -q "bound to $native, which is not a VFIO driver"; [[ ${PIPESTATUS[0]} == 1 ]]'
ktap_finish
