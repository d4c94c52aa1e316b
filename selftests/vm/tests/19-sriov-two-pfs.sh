#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two SR-IOV physical functions of the same model: vf:<PF2> reserves the
# VFs of PF2 the moment they are created and leaves those of PF1 to nvme,
# which probes them. The rule names one PF, not a device model.
# vm-cmdline: vfio_reserve.devices=vf:0000:04:00.0
# vm-qemu: -device nvme-subsys,id=subsys1,nqn=vr-subsys1 -device nvme,id=nvme1,bus=rp4,serial=vrnvme1,subsys=subsys1,max_ioqpairs=10,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4
# vr-roles: sriov-pf
# vr-vm-only: its devices are QEMU's (a second NVMe SR-IOV PF), and vfio_reserve.devices= is on the kernel command line
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_helper
PF2=0000:04:00.0
PF1_VFS=(0000:02:00.1 0000:02:00.2)
PF2_VFS=(0000:04:00.1 0000:04:00.2)

ktap_plan 7
modprobe vfio_reserve
ktap_check "positive control: nvme loaded and probed both PFs $NVME $PF2" \
	load_native nvme "$NVME" "$PF2"
ktap_check "both PFs are the same model (vendor:device)" \
	eval '[[ $(pci_ids "$NVME") == "$(pci_ids "$PF2")" ]]'
echo 2 >"$(pci_dev "$NVME")/sriov_numvfs"
echo 2 >"$(pci_dev "$PF2")/sriov_numvfs"
ktap_check "PF2's VFs are on vfio-pci and nvme never probed them" \
	eval 'for vf in "${PF2_VFS[@]}"; do
		[[ $(pci_driver $vf) == vfio-pci && $(probe_log nvme $vf) == 0 ]] || exit 1
	done'
ktap_check "nvme probed PF1's VFs (they exist, none is on vfio-pci)" \
	eval 'for vf in "${PF1_VFS[@]}"; do
		pci_exists $vf && wait_for 20 eval "(( \$(probe_log nvme $vf) > 0 ))" &&
			[[ $(pci_driver $vf) != vfio-pci ]] || exit 1
	done'
ktap_check "the module reports PF2's VFs reserved by vf:$PF2, PF1's not reserved" \
	eval 'vrjson list | python3 -c "
import json, sys
d = {x[\"address\"]: x for x in json.load(sys.stdin)}
for vf in \"${PF2_VFS[*]}\".split():
    assert d[vf][\"state\"] == \"reserved\", d[vf]
    assert d[vf][\"rule\"] == \"vf:$PF2\", d[vf]
    assert d[vf][\"sriov\"] == {\"role\": \"vf\", \"pf\": \"$PF2\"}, d[vf]
for vf in \"${PF1_VFS[*]}\".split():
    assert d[vf][\"state\"] == \"none\", d[vf]
    assert d[vf][\"sriov\"][\"pf\"] == \"$NVME\", d[vf]
"'
echo 0 >"$(pci_dev "$PF2")/sriov_numvfs"
ktap_check "removing PF2's VFs forgets them; PF1's stay" \
	eval '! pci_exists ${PF2_VFS[0]} && ! pci_exists ${PF2_VFS[1]} &&
		pci_exists ${PF1_VFS[0]} && pci_exists ${PF1_VFS[1]}'
echo 0 >"$(pci_dev "$NVME")/sriov_numvfs"
ktap_check "dmesg: no WARNING, BUG or Oops" \
	eval '! dmesg | grep -E "WARNING:|BUG:|Oops"'
ktap_finish
