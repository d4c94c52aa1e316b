#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Release gives a NIC back exactly: override restored, vfio-pci unbound,
# its native driver probes it again and its netdev returns. A pending device that its
# driver lets go becomes reserved. A claim of two addresses whose second
# fails leaves the first as it was. (The NIC's native driver is e1000e in
# the VM, whatever drove it on a host.)
# vr-roles: nic nic-twin
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_module_unloaded
ktap_plan 9
native=$(native_driver "$NIC1")
start_unbound "$NIC1"
modprobe vfio_reserve devices="$NIC1"
modprobe "$native"
ktap_check "nic1 reserved at load, on vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
ktap_check "vfio-reserve release $NIC1" $VR release "$NIC1"
ktap_check "nic1 is back on $native with a netdev" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == "$native" && -d $(pci_dev "$NIC1")/net ]]'
ktap_check "its driver_override is restored (none)" \
	eval '[[ $(<"$(pci_dev "$NIC1")/driver_override") == "(null)" ]]'
ktap_check "a second release says it is not reserved (exit 1)" \
	eval '! $VR release "$NIC1" 2>/tmp/err && grep -q "not reserved" /tmp/err'
# A claim of several addresses is all or nothing (issue 15): nic1 is taken,
# the next address fails, and nic1 goes back to its driver.
absent=$(pci_absent)
run $VR claim "$NIC1" "$absent"
ktap_check "claim $NIC1 $absent (no device there): exit 1, $NIC1 taken first, then nothing claimed" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "^$NIC1: reserved, bound to vfio-pci" <<<"$cmd_out" &&
		grep -q "claim $absent" <<<"$cmd_out" && grep -q "nothing claimed" <<<"$cmd_out"'
ktap_check "... $NIC1 is back on $native with a netdev, override (null)" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == "$native" && -d $(pci_dev "$NIC1")/net &&
		$(<"$(pci_dev "$NIC1")/driver_override") == "(null)" ]]'
# nic1 now matches the rule while bound to its driver: a claim by rule would be
# pending; unbinding it hands it over.
$VR add "$NIC0" >/dev/null
ktap_check "nic0 (rule added at run time, on $native) is pending" \
	eval 'vrjson list | grep -q "\"address\":\"$NIC0\".*\"state\":\"pending\""'
echo "$NIC0" >/sys/bus/pci/drivers/$native/unbind
ktap_check "when $native lets nic0 go, it is reserved and bound to vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NIC0") == vfio-pci ]]'
ktap_finish
