#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel amd
# Boot-time reservation by address: of two identical NICs, the one named on
# the kernel command line goes to vfio-pci and e1000e never probes it.
# vm-cmdline: vfio_reserve.devices=0000:01:00.0
# vr-roles: nic nic-twin
# vr-vm-only: it is about the kernel command line itself (vfio_reserve.devices= at boot)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 8
# As the initramfs would: our module first, then the native drivers.
ktap_check "modprobe vfio_reserve (devices= from the kernel command line)" \
	modprobe vfio_reserve
# The positive control for "never probed" below: e1000e loaded and probes its twin.
ktap_check "positive control: e1000e loaded and probed nic0 $NIC0" \
	load_native e1000e "$NIC0"
ktap_check "nic1 $NIC1 is bound to vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
ktap_check "e1000e never probed nic1 and it has no netdev" \
	eval '[[ $(probe_log e1000e "$NIC1") == 0 && ! -e $(pci_dev "$NIC1")/net ]]'
ktap_check "nic0 $NIC0 is on e1000e with a netdev" \
	eval '[[ $(pci_driver "$NIC0") == e1000e && -d $(pci_dev "$NIC0")/net ]]'
ktap_check "one dmesg line names the rule that matched" \
	eval '[[ $(dmesg | grep -c "$NIC1: vfio_reserve: reserved for vfio-pci by rule 0000:01:00.0") == 1 ]]'
ktap_check "driver_override of nic1 is vfio-pci" \
	eval '[[ $(<"$(pci_dev "$NIC1")/driver_override") == vfio-pci ]]'
ktap_check "/dev/vfio/<group of nic1> exists" \
	eval '[[ -c /dev/vfio/$(pci_group "$NIC1") ]]'
ktap_finish
