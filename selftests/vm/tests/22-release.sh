#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Release gives a NIC back exactly: override restored, vfio-pci unbound,
# e1000e probes it again and its netdev returns. A pending device that its
# driver lets go becomes reserved. A claim of two addresses whose second
# fails leaves the first as it was.
# vm-cmdline: vfio_reserve.devices=0000:01:00.0
# vr-roles: nic nic-twin
# vr-vm-only: its module parameters or IOMMU setting are on the kernel command line
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 9
modprobe vfio_reserve
modprobe e1000e
ktap_check "nic1 reserved at boot, on vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
ktap_check "vfio-reserve release $NIC1" $VR release "$NIC1"
ktap_check "nic1 is back on e1000e with a netdev" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == e1000e && -d $(pci_dev "$NIC1")/net ]]'
ktap_check "its driver_override is restored (none)" \
	eval '[[ $(<"$(pci_dev "$NIC1")/driver_override") == "(null)" ]]'
ktap_check "a second release says it is not reserved (exit 1)" \
	eval '! $VR release "$NIC1" 2>/tmp/err && grep -q "not reserved" /tmp/err'
# A claim of several addresses is all or nothing (issue 15): nic1 is taken,
# the next address fails, and nic1 goes back to e1000e.
run $VR claim "$NIC1" 0000:0f:00.0
ktap_check "claim $NIC1 0000:0f:00.0 (no device there): exit 1, $NIC1 taken first, then nothing claimed" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "^$NIC1: reserved, bound to vfio-pci" <<<"$cmd_out" &&
		grep -q "claim 0000:0f:00.0" <<<"$cmd_out" && grep -q "nothing claimed" <<<"$cmd_out"'
ktap_check "... $NIC1 is back on e1000e with a netdev, override (null)" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == e1000e && -d $(pci_dev "$NIC1")/net &&
		$(<"$(pci_dev "$NIC1")/driver_override") == "(null)" ]]'
# nic1 now matches the rule while bound to e1000e: a claim by rule would be
# pending; unbinding e1000e hands it over.
$VR add "$NIC0" >/dev/null
ktap_check "nic0 (rule added at run time, on e1000e) is pending" \
	eval 'vrjson list | grep -q "\"address\":\"$NIC0\".*\"state\":\"pending\""'
echo "$NIC0" >/sys/bus/pci/drivers/e1000e/unbind
ktap_check "when e1000e lets nic0 go, it is reserved and bound to vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NIC0") == vfio-pci ]]'
ktap_finish
