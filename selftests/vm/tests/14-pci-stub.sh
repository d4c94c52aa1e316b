#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# reclaim=stub (the default): a device bound to pci-stub before the module
# loads ends up on vfio-pci; one bound to its native driver is left alone
# and reported pending.
# vr-roles: nic nic-twin
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_module_unloaded
ktap_plan 5
native=$(native_driver "$NIC0")
modprobe pci-stub
start_unbound "$NIC1"
echo pci-stub >"$(pci_dev "$NIC1")/driver_override"
echo "$NIC1" >/sys/bus/pci/drivers_probe
modprobe "$native"
ktap_check "before: nic1 on pci-stub, nic0 on $native" \
	eval '[[ $(pci_driver "$NIC1") == pci-stub && $(pci_driver "$NIC0") == "$native" ]]'
ktap_check "modprobe vfio_reserve devices=$NIC1,$NIC0" \
	modprobe vfio_reserve devices="$NIC1,$NIC0"
ktap_check "nic1 moved from pci-stub to vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]] &&
		test_dmesg | grep -q "$NIC1: vfio_reserve: reserved for vfio-pci by rule $NIC1 (taken from pci-stub)"'
ktap_check "nic0 stays on $native and is reported pending" \
	eval '[[ $(pci_driver "$NIC0") == "$native" ]] &&
		test_dmesg | grep -q "$NIC0: vfio_reserve: matches rule $NIC0 but is bound to $native: pending"'
ktap_check "nic0's driver_override is untouched" \
	eval '[[ $(<"$(pci_dev "$NIC0")/driver_override") == "(null)" ]]'
ktap_finish
