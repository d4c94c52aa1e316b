#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel amd
# rmmod changes no binding: reserved devices stay on vfio-pci; loading the
# module again is idempotent. dry_run=1 changes nothing.
# vm-cmdline: vfio_reserve.devices=0000:01:00.0
# vr-roles: nic nic-twin
# vr-vm-only: its module parameters or IOMMU setting are on the kernel command line
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 9
modprobe vfio_reserve dry_run=1
ktap_check "dry_run=1 logs what it would reserve and changes nothing" \
	eval '[[ -z $(pci_driver "$NIC1") ]] &&
		[[ $(<"$(pci_dev "$NIC1")/driver_override") == "(null)" ]] &&
		dmesg | grep -q "$NIC1: vfio_reserve: dry run: would reserve for vfio-pci by rule $NIC1"'
# A claim under dry_run=1 is not supported (EOPNOTSUPP, not EPERM: the
# caller has the right, the module the wrong mode), and changes nothing.
run "$VR" claim "$NIC0"
ktap_check "dry_run=1: claim $NIC0 fails with 'Operation not supported', naming dry_run=1" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "Operation not supported" <<<"$cmd_out" &&
		grep -q "dry_run=1" <<<"$cmd_out" && [[ -z $(pci_driver "$NIC0") ]]'
rmmod vfio_reserve
modprobe vfio_reserve
ktap_check "nic1 is on vfio-pci" wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
group=$(pci_group "$NIC1")
ktap_check "rmmod vfio_reserve succeeds" rmmod vfio_reserve
ktap_check "nic1 stays on vfio-pci with its override; the module said so" \
	eval '[[ $(pci_driver "$NIC1") == vfio-pci && -c /dev/vfio/$group &&
		$(<"$(pci_dev "$NIC1")/driver_override") == vfio-pci ]] &&
		dmesg | grep -q "$NIC1: vfio_reserve: stays reserved for vfio-pci after unload"'
# The positive control for "never probed" below: e1000e loaded and probes its twin.
ktap_check "positive control: e1000e loaded and probed nic0 $NIC0" \
	load_native e1000e "$NIC0"
ktap_check "e1000e loaded after the unload does not take nic1" \
	eval '[[ $(pci_driver "$NIC1") == vfio-pci && $(probe_log e1000e "$NIC1") == 0 ]]'
dmesg -C
ktap_check "loading again is idempotent" \
	eval 'modprobe vfio_reserve && [[ $(pci_driver "$NIC1") == vfio-pci ]] &&
		[[ $(dmesg | grep -c "$NIC1: vfio_reserve: reserved for vfio-pci by rule $NIC1") == 1 ]] &&
		[[ $(probe_log vfio-pci "$NIC1") == 0 ]]'
ktap_check "and unloads again" rmmod vfio_reserve
ktap_finish
