#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The tests' VFIO variant driver (selftests/vm/testdrv/vr_testvariant.c), on
# which the variant-driver tests build (issue 17): depmod lists its ids as
# "vfio_pci:" aliases, it binds a device only when the device's
# driver_override names it (override-only ids, as in-tree variants have),
# and bound, it is a VFIO driver: its group gets a /dev/vfio node that
# opens. Without the module under test: this is the fixture's own test.
# vm-matrix: every-kernel
# shellcheck disable=SC2016 # the checks are eval'd strings
# vr-roles: nic nic-twin
# vr-vm-only: it uses the tests' own VFIO variant driver vr_testvariant, built for the VM
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 7
ktap_check "modules.alias has the variant's vfio_pci: alias for 8086:10d3 and 1b36:0010" \
	eval 'grep -q "^alias vfio_pci:v00008086d000010D3sv\*sd\*bc\*sc\*i\* vr_testvariant$" "/lib/modules/$(uname -r)/modules.alias" &&
		grep -q "^alias vfio_pci:v00001B36d00000010sv\*sd\*bc\*sc\*i\* vr_testvariant$" "/lib/modules/$(uname -r)/modules.alias"'
ktap_check "modprobe vr_testvariant (with vfio-pci-core) registers a PCI driver" \
	eval 'modprobe vr_testvariant && [[ -d /sys/bus/pci/drivers/vr_testvariant ]]'
# Override-only: a free device whose override does not name it stays free.
ktap_check "$NIC1, unbound and without an override, is not taken by the variant" \
	eval 'echo "$NIC1" >/sys/bus/pci/drivers_probe; sleep 1; [[ -z $(pci_driver "$NIC1") ]]'
echo vr_testvariant >"$(pci_dev "$NIC1")/driver_override"
echo "$NIC1" >/sys/bus/pci/drivers_probe
ktap_check "with driver_override=vr_testvariant it binds $NIC1" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == vr_testvariant ]]'
group=$(pci_group "$NIC1")
ktap_check "its group ($group) has a VFIO node, and it opens" \
	eval '[[ -c /dev/vfio/$group ]] && exec 9<>"/dev/vfio/$group" && exec 9>&-'
# The positive control of the e1000e probes below: the native driver binds
# the twin NIC; the variant does not take it from the override-free NIC0.
ktap_check "e1000e loads and binds $NIC0; $NIC1 stays on the variant" \
	eval 'load_native e1000e "$NIC0" && wait_for 10 eval "[[ \$(pci_driver $NIC0) == e1000e ]]" &&
		[[ $(pci_driver "$NIC1") == vr_testvariant && $(probe_log e1000e "$NIC1") == 0 ]]'
echo "$NIC1" >"/sys/bus/pci/drivers/vr_testvariant/unbind"
echo >"$(pci_dev "$NIC1")/driver_override"
echo "$NIC1" >/sys/bus/pci/drivers_probe
ktap_check "unbound and its override cleared, $NIC1 goes to e1000e" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == e1000e ]]'
ktap_finish
