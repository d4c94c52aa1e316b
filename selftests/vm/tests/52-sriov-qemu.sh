#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# SR-IOV (the VM's NVMe): `sriov` creates 2 VFs, a vf: rule reserves them, one VF goes
# to a nested QEMU; removing the VFs is refused while that QEMU holds one
# (issue 15), and done once it is gone.
# vr-roles: sriov-pf
# shellcheck disable=SC2016 # the checks are eval'd strings
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
QMP=$VR_SELFTESTS/vm/qmp.py
pf=$(pci_dev "$NVME")
total=$(cat "$pf/sriov_totalvfs" 2>/dev/null || echo 0)
((total >= 2)) || ktap_exit_skip "role sriov-pf: $NVME cannot have 2 VFs (sriov_totalvfs)"
[[ $(cat "$pf/sriov_numvfs") == 0 ]] ||
	ktap_exit_skip "role sriov-pf: $NVME has VFs already (sriov_numvfs): set it to 0 first"

ktap_plan 7
native=$(native_driver "$NVME")
modprobe "$native"
modprobe vfio_reserve
wait_for 20 eval '[[ $(pci_driver "$NVME") == "$native" ]]'
ktap_check "add vf:$NVME" $VR add "vf:$NVME"
$VR sriov "$NVME" --numvfs 2 >/tmp/sriov.out
VF1=$(basename "$(readlink "$pf/virtfn0")") VF2=$(basename "$(readlink "$pf/virtfn1")")
ktap_check "sriov --numvfs 2 prints both VFs on vfio-pci" \
	eval 'grep -q "^$VF1  vf 0 of $NVME  driver vfio-pci" /tmp/sriov.out &&
		grep -q "^$VF2  vf 1 of $NVME  driver vfio-pci" /tmp/sriov.out'
ktap_diag <"/tmp/sriov.out"
ktap_check "sriov --numvfs $((total + 1)) is refused (sriov_totalvfs is $total)" \
	eval '! $VR sriov "$NVME" --numvfs $((total + 1)) 2>/dev/null'
rm -f /tmp/v.sock
$VR qemu "$VF1" -- qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64 \
	-qmp unix:/tmp/v.sock,server=on,wait=off >/tmp/v.log 2>&1 &
q=$!
ktap_check "the nested QEMU has the VF ($(pci_ids "$VF1"))" \
	wait_for 30 eval '$QMP /tmp/v.sock pci-ids 2>/dev/null | grep -qx "$(pci_ids "$VF1")"'
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
