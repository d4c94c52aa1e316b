#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# vf:<PF>: every VF of the SR-IOV PF (the VM's NVMe) is reserved the moment
# it is created, whatever sriov_drivers_autoprobe says, and the VFs' native
# driver never probes one; removing the VFs leaves nothing behind. The
# positive control: before the rule, that driver probes a VF of this PF.
# vr-roles: sriov-pf
# shellcheck disable=SC2016 # the checks are eval'd strings
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_module_unloaded
pf=$(pci_dev "$NVME")
[[ $(cat "$pf/sriov_totalvfs" 2>/dev/null || echo 0) -ge 2 ]] ||
	ktap_exit_skip "role sriov-pf: $NVME cannot have 2 VFs (sriov_totalvfs)"
[[ $(cat "$pf/sriov_numvfs") == 0 ]] ||
	ktap_exit_skip "role sriov-pf: $NVME has VFs already (sriov_numvfs): set it to 0 first"
VF1='' VF2=''
vfs() {
	VF1=$(basename "$(readlink "$pf/virtfn0")") && VF2=$(basename "$(readlink "$pf/virtfn1")")
}
vfs_on_vfio() {
	vfs && [[ $(pci_driver "$VF1") == vfio-pci && $(pci_driver "$VF2") == vfio-pci ]]
}
vfs_gone() {
	! pci_exists "$VF1" && ! pci_exists "$VF2"
}

ktap_plan 11
native=$(native_driver "$NVME")
# The PF on its driver.
ktap_check "$native loaded and probed the PF $NVME" load_native "$native" "$NVME"
# The positive control for "never probed a VF" below: with no rule, the
# VFs' native driver probes a VF of this PF.
autoprobe=$(<"$pf/sriov_drivers_autoprobe")
[[ $autoprobe == 1 ]] || { echo 1 >"$pf/sriov_drivers_autoprobe"; vr_defer "echo $autoprobe >'$pf/sriov_drivers_autoprobe'"; }
echo 2 >"$pf/sriov_numvfs"
vfs
vf_native=$(native_driver "$VF1")
ktap_check "positive control, no rule yet: ${vf_native:-(no driver for the VFs)} loaded and probed VF $VF1" \
	eval '[[ -n $vf_native ]] && load_native "$vf_native" "$VF1"'
echo 0 >"$pf/sriov_numvfs"
probes1=$(probe_log "$vf_native" "$VF1") probes2=$(probe_log "$vf_native" "$VF2")
never_probed() {
	[[ $(probe_log "$vf_native" "$VF1") == "$probes1" && $(probe_log "$vf_native" "$VF2") == "$probes2" ]]
}
modprobe vfio_reserve devices="vf:$NVME"
ktap_check "$native binds the PF; the PF itself is not reserved" \
	eval 'wait_for 20 eval "[[ \$(pci_driver $NVME) == $native ]]" &&
		vrjson list | grep -q "\"address\":\"$NVME\".*\"state\":\"none\""'
echo 2 >"$pf/sriov_numvfs"
ktap_check "both VFs are on vfio-pci at once" vfs_on_vfio
ktap_check "$vf_native never probed a VF" never_probed
ktap_check "each VF's group has its /dev/vfio node" \
	eval '[[ -c /dev/vfio/$(pci_group "$VF1") && -c /dev/vfio/$(pci_group "$VF2") ]]'
ktap_check "the module reports them reserved by the vf: rule, as VFs of the PF" \
	eval 'vrjson list | python3 -c "
import json, sys
d = {x[\"address\"]: x for x in json.load(sys.stdin)}
for vf in (\"$VF1\", \"$VF2\"):
    assert d[vf][\"state\"] == \"reserved\", d[vf]
    assert d[vf][\"rule\"] == \"vf:$NVME\", d[vf]
    assert d[vf][\"sriov\"] == {\"role\": \"vf\", \"pf\": \"$NVME\"}, d[vf]
assert d[\"$NVME\"][\"sriov\"][\"num_vfs\"] == 2
assert d[\"$NVME\"][\"state\"] == \"none\"
"'
echo 0 >"$pf/sriov_numvfs"
ktap_check "removing the VFs is clean and forgets them" \
	eval 'vfs_gone &&
		[[ $(test_dmesg | grep -cE "($VF1|$VF2): vfio_reserve: removed while reserved") == 2 ]] &&
		vrjson status | grep -q "0 reserved"'
echo 0 >"$pf/sriov_drivers_autoprobe"
[[ $autoprobe == 0 ]] || vr_defer "echo $autoprobe >'$pf/sriov_drivers_autoprobe'"
echo 2 >"$pf/sriov_numvfs"
ktap_check "with sriov_drivers_autoprobe=0 the VFs are still bound to vfio-pci" vfs_on_vfio
ktap_check "$vf_native still never probed a VF" never_probed
echo 0 >"$pf/sriov_numvfs"
ktap_check "and they go away cleanly again" vfs_gone
ktap_finish
