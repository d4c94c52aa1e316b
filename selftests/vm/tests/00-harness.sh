#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The VM harness itself: IOMMU and interrupt remapping, the device topology,
# the module tree, driver-core probe logging, vfio-pci, QMP hotplug, SR-IOV.
# vm-timeout: 240
# shellcheck disable=SC2016 # the checks are eval'ed strings
# vr-roles: nic nic-twin sriov-pf mf-pair hotplug
# vr-vm-only: it checks vm.py's own harness (the VM's topology, QEMU's control channel)
set -u
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 19

ktap_check "interrupt remapping is enabled" \
	grep -q 'DMAR-IR: Enabled IRQ remapping' <(dmesg)

groups=(/sys/kernel/iommu_groups/*)
ktap_check "IOMMU groups exist (${#groups[@]})" test -e "${groups[0]}"
for g in "${groups[@]}"; do
	members=("$g"/devices/*)
	ktap_diag "group ${g##*/}: ${members[*]##*/}"
done
lspci -nn | ktap_diag

expect_ids() {
	[[ $(pci_ids "$1") == "$2" ]]
}
ktap_check "nic0 $NIC0 is an e1000e" expect_ids "$NIC0" "$E1000E_ID"
ktap_check "nic1 $NIC1 is an e1000e" expect_ids "$NIC1" "$E1000E_ID"
ktap_check "nvme $NVME offers 4 VFs" \
	eval 'expect_ids "$NVME" "$NVME_ID" && [[ $(<"$(pci_dev "$NVME")/sriov_totalvfs") == 4 ]]'
ktap_check "mf0 $MF0 and mf1 $MF1 share an IOMMU group" \
	eval 'expect_ids "$MF0" "$E1000E_ID" && expect_ids "$MF1" "$HDA_ID" &&
	      [[ $(pci_group "$MF0") == $(pci_group "$MF1") ]]'
ktap_check "nic0, nic1 and nvme have groups of their own" \
	eval '[[ $(ls "/sys/kernel/iommu_groups/$(pci_group "$NIC1")/devices") == "$NIC1" &&
	         $(ls "/sys/kernel/iommu_groups/$(pci_group "$NVME")/devices") == "$NVME" &&
	         $(pci_group "$NIC0") != $(pci_group "$NIC1") ]]'
ktap_check "hotplug port $HP_PORT is empty" eval '! pci_exists "$HP_ADDR"'
ktap_check "no driver is bound to the test devices yet" \
	eval '[[ -z $(pci_driver "$NIC0")$(pci_driver "$NIC1")$(pci_driver "$NVME")$(pci_driver "$MF0") ]]'

if [[ $VR_KO == 1 ]]; then
	ktap_check "modinfo finds the vfio_reserve under test" \
		eval '[[ $(modinfo -F filename vfio_reserve) == */extra/vfio_reserve.ko ]]'
else
	ktap_skip "modinfo finds the vfio_reserve under test" "vfio_reserve.ko not built"
fi

# request_module() must reach the chroot's modprobe through /sbin/vr-modprobe.
ktap_check "the kernel loads modules on demand (rtnl-link-dummy)" \
	eval 'ip link add vrdummy0 type dummy && ip link del vrdummy0 && grep -q "^dummy " /proc/modules'

# driver_override set before the native driver loads: that driver never
# probes the device, and vfio-pci gets it (what vfio_reserve automates).
echo vfio-pci >"$(pci_dev "$NIC1")/driver_override"
modprobe e1000e
ktap_check "e1000e probed nic0 and mf0, never nic1 (driver core probe log)" \
	eval '[[ $(pci_driver "$NIC0") == e1000e && $(pci_driver "$MF0") == e1000e &&
	         $(probe_log e1000e "$NIC0") == 1 && $(probe_log e1000e "$NIC1") == 0 ]]'
modprobe vfio-pci
ktap_check "vfio-pci took nic1; /dev/vfio/<group> exists" \
	eval '[[ $(pci_driver "$NIC1") == vfio-pci && -c /dev/vfio/$(pci_group "$NIC1") ]]'

# QMP hotplug round trip through the control channel.
t0=$(host_ms)
qmp "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"e1000e\",\"bus\":\"$HP_PORT\",\"netdev\":\"hp0\",\"id\":\"hp0\",\"romfile\":\"\"}}" |
	ktap_diag
ktap_check "device_add: $HP_ADDR appears and e1000e binds it" \
	wait_for 10 eval '[[ $(pci_driver "$HP_ADDR") == e1000e ]]'
t1=$(host_ms)
ktap_diag "hotplug: device_add to bound driver in $(( ${t1%.*} - ${t0%.*} )) ms (host clock)"
qmp '{"execute":"device_del","arguments":{"id":"hp0"}}' | ktap_diag
ktap_check "device_del: DEVICE_DELETED arrives" qmp_wait_event 10 DEVICE_DELETED '"device":"hp0"'
t2=$(host_ms)
ktap_check "device_del: $HP_ADDR is gone" wait_for 10 eval '! pci_exists "$HP_ADDR"'
ktap_diag "unplug: device_del to DEVICE_DELETED in $(( ${t2%.*} - ${t1%.*} )) ms (host clock)"

# SR-IOV on the NVMe PF, VFs kept away from drivers.
modprobe nvme
ktap_check "nvme binds the PF" wait_for 20 eval '[[ $(pci_driver "$NVME") == nvme ]]'
pf=$(pci_dev "$NVME")
echo 0 >"$pf/sriov_drivers_autoprobe"
ktap_check "sriov_numvfs=2 creates VFs 02:00.1 and 02:00.2, in groups of their own" \
	eval 'echo 2 >"$pf/sriov_numvfs" && expect_ids 0000:02:00.1 "$NVME_ID" &&
	      expect_ids 0000:02:00.2 "$NVME_ID" &&
	      [[ $(pci_group 0000:02:00.1) != $(pci_group 0000:02:00.2) ]]'
for d in /sys/kernel/iommu_groups/*/devices/0000:02:*; do
	ktap_diag "VF group: $d"
done
ktap_check "sriov_numvfs=0 removes them" \
	eval 'echo 0 >"$pf/sriov_numvfs" && ! pci_exists 0000:02:00.1'

ktap_finish
