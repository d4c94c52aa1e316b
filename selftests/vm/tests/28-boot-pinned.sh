#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# Pinned addresses at boot (issue 15): ADDR#vvvv:dddd takes the device at
# ADDR only while it has those ids, so a renumbered slot (a new card, a BIOS
# update) never hands over whatever moved there. nic0 (8086:10d3) is pinned
# to its own ids and reserved; nic1 is pinned to 10de:2204, which it is not:
# it is left to e1000e, and the module says why in one dmesg line.
# vm-cmdline: vfio_reserve.devices=0000:00:02.0#8086:10d3,0000:01:00.0#10de:2204
# shellcheck disable=SC2016 # the checks are eval'd strings
# vr-roles: nic nic-twin
# vr-vm-only: it is about the kernel command line itself (vfio_reserve.devices= at boot)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 7
ktap_check "modprobe vfio_reserve (devices= from the kernel command line)" \
	modprobe vfio_reserve
ktap_check "the list was accepted: no config error, 2 rules" \
	eval '! dmesg | grep -q "vfio_reserve: .*devices=.*rejected" &&
		[[ $("$VR" rules | grep -c "#") == 2 ]]'
# The positive control: e1000e loaded and probed nic1, which its pin does
# not match.
ktap_check "positive control: e1000e loaded and probed nic1 $NIC1" \
	load_native e1000e "$NIC1"
ktap_check "nic0 $NIC0, pinned to its own ids, is on vfio-pci; e1000e never probed it" \
	wait_for 10 eval '[[ $(pci_driver "$NIC0") == vfio-pci && $(probe_log e1000e "$NIC0") == 0 ]]'
ktap_check "one dmesg line names nic0's pinned rule" \
	eval '[[ $(dmesg | grep -c "$NIC0: vfio_reserve: reserved for vfio-pci by rule 0000:00:02.0#8086:10d3") == 1 ]]'
ktap_check "nic1 $NIC1, pinned to 10de:2204, is on e1000e with a netdev, override (null)" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == e1000e && -d $(pci_dev "$NIC1")/net &&
		$(<"$(pci_dev "$NIC1")/driver_override") == "(null)" ]]'
ktap_check "dmesg says why nic1 was not reserved" \
	eval 'dmesg | grep -qF "$NIC1: vfio_reserve: not reserved: rule 0000:01:00.0#10de:2204 is pinned to other ids than this device'"'"'s 8086:10d3"'
ktap_finish
