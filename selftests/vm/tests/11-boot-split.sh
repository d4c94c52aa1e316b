#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# Identical devices split by an exclusion: 8086:10d3 but not the root-bus NIC.
# vm-cmdline: vfio_reserve.devices=8086:10d3,!0000:00:02.0
# vr-roles: nic nic-twin mf-pair
# vr-vm-only: it is about the kernel command line itself (vfio_reserve.devices= at boot)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 6
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
# The positive control for "never probed" below: e1000e loaded and probes its twin.
ktap_check "positive control: e1000e loaded and probed the excluded nic0 $NIC0" \
	load_native e1000e "$NIC0"
ktap_check "nic1 $NIC1 (8086:10d3) is on vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
ktap_check "mf0 $MF0 (8086:10d3 too) is on vfio-pci" \
	eval '[[ $(pci_driver "$MF0") == vfio-pci ]]'
ktap_check "the excluded nic0 $NIC0 stays with e1000e" \
	eval '[[ $(pci_driver "$NIC0") == e1000e && $(probe_log e1000e "$NIC0") == 1 ]]'
ktap_check "e1000e never probed the reserved ones" \
	eval '[[ $(probe_log e1000e "$NIC1") == 0 && $(probe_log e1000e "$MF0") == 0 ]]'
ktap_finish
