#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# vf:<PF>: every VF of the NVMe PF is reserved the moment it is created,
# whatever sriov_drivers_autoprobe says, and nvme never probes one; removing
# the VFs leaves nothing behind.
# vm-cmdline: vfio_reserve.devices=vf:0000:02:00.0
# vr-roles: sriov-pf
# vr-vm-only: its module parameters or IOMMU setting are on the kernel command line
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
VF1=0000:02:00.1
VF2=0000:02:00.2

vfs_on_vfio() {
	[[ $(pci_driver $VF1) == vfio-pci && $(pci_driver $VF2) == vfio-pci ]]
}

ktap_plan 10
modprobe vfio_reserve
# The positive control for "never probed a VF" below: nvme loaded and its
# probe ran for the PF (which it binds on 6.12; on 6.1 the probe fails).
ktap_check "positive control: nvme loaded and probed the PF $NVME" \
	load_native nvme "$NVME"
pf=$(pci_dev "$NVME")
ktap_check "nvme binds the PF; the PF itself is not reserved" \
	wait_for 20 eval '[[ $(pci_driver "$NVME") == nvme ]]'
echo 2 >"$pf/sriov_numvfs"
ktap_check "both VFs are on vfio-pci at once" vfs_on_vfio
ktap_check "nvme never probed a VF" \
	eval '[[ $(probe_log nvme $VF1) == 0 && $(probe_log nvme $VF2) == 0 ]]'
ktap_check "each VF's group has its /dev/vfio node" \
	eval '[[ -c /dev/vfio/$(pci_group $VF1) && -c /dev/vfio/$(pci_group $VF2) ]]'
ktap_check "the module reports them reserved by the vf: rule, as VFs of the PF" \
	eval 'vrjson list | python3 -c "
import json, sys
d = {x[\"address\"]: x for x in json.load(sys.stdin)}
for vf in (\"$VF1\", \"$VF2\"):
    assert d[vf][\"state\"] == \"reserved\", d[vf]
    assert d[vf][\"rule\"] == \"vf:0000:02:00.0\", d[vf]
    assert d[vf][\"sriov\"] == {\"role\": \"vf\", \"pf\": \"$NVME\"}, d[vf]
assert d[\"$NVME\"][\"sriov\"][\"num_vfs\"] == 2
assert d[\"$NVME\"][\"state\"] == \"none\"
"'
echo 0 >"$pf/sriov_numvfs"
ktap_check "removing the VFs is clean and forgets them" \
	eval '! pci_exists $VF1 && ! pci_exists $VF2 &&
		[[ $(dmesg | grep -c "0000:02:00.[12]: vfio_reserve: removed while reserved") == 2 ]] &&
		vrjson status | grep -q "0 reserved"'
echo 0 >"$pf/sriov_drivers_autoprobe"
echo 2 >"$pf/sriov_numvfs"
ktap_check "with sriov_drivers_autoprobe=0 the VFs are still bound to vfio-pci" vfs_on_vfio
ktap_check "nvme still never probed a VF" \
	eval '[[ $(probe_log nvme $VF1) == 0 && $(probe_log nvme $VF2) == 0 ]]'
echo 0 >"$pf/sriov_numvfs"
ktap_check "and they go away cleanly again" eval '! pci_exists $VF1 && ! pci_exists $VF2'
ktap_finish
