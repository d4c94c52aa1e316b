#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# NVMe SR-IOV: `sriov` creates 2 VFs, a vf: rule reserves them, one VF goes
# to a nested QEMU; removing the VFs is refused while that QEMU holds one
# (issue 15), and done once it is gone.
# vr-roles: sriov-pf
# vr-vm-only: it drives QEMU through vm.py's control channel (hotplug, QMP)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
QMP=$VR_SELFTESTS/vm/qmp.py
VF1=0000:02:00.1

ktap_plan 7
modprobe nvme
modprobe vfio_reserve
wait_for 20 eval '[[ $(pci_driver "$NVME") == nvme ]]'
ktap_check "add vf:$NVME" $VR add "vf:$NVME"
$VR sriov "$NVME" --numvfs 2 >/tmp/sriov.out
ktap_check "sriov --numvfs 2 prints both VFs on vfio-pci" \
	eval 'grep -q "^0000:02:00.1  vf 0 of $NVME  driver vfio-pci" /tmp/sriov.out &&
		grep -q "^0000:02:00.2  vf 1 of $NVME  driver vfio-pci" /tmp/sriov.out'
ktap_diag <"/tmp/sriov.out"
ktap_check "sriov --numvfs 9 is refused (sriov_totalvfs is 4)" \
	eval '! $VR sriov "$NVME" --numvfs 9 2>/dev/null'
$VR qemu "$VF1" -- qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64 \
	-qmp unix:/tmp/v.sock,server=on,wait=off >/tmp/v.log 2>&1 &
q=$!
ktap_check "the nested QEMU has the VF (1b36:0010)" \
	wait_for 30 eval '$QMP /tmp/v.sock pci-ids 2>/dev/null | grep -qx 1b36:0010'
ktap_diag <"/tmp/v.log"
rc=0
$VR sriov "$NVME" --numvfs 0 >/dev/null 2>/tmp/sriov.err || rc=$?
ktap_diag <"/tmp/sriov.err"
ktap_check "sriov --numvfs 0 while the QEMU holds $VF1: exit 1, naming the VF and pid $q" \
	eval '((rc == 1)) && grep -F "refusing" /tmp/sriov.err | grep -F "$VF1 is in use by" | grep -qF "pid $q ("'
ktap_check "... both VFs are still there" \
	eval 'pci_exists "$VF1" && [[ $(cat /sys/bus/pci/devices/$NVME/sriov_numvfs) == 2 ]]'
kill $q; wait $q 2>/dev/null
ktap_check "sriov --numvfs 0 removes them" \
	eval '$VR sriov "$NVME" --numvfs 0 >/dev/null && ! pci_exists "$VF1"'
ktap_finish
