#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# class:0108 reserves the NVMe controller; nvme never probes it.
# vm-cmdline: vfio_reserve.devices=class:0108
# vr-roles: nic nic-twin sriov-pf
# vr-vm-only: it is about the kernel command line itself (vfio_reserve.devices= at boot)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 6
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
# The positive controls for "never probed": the only NVMe is reserved, so no
# twin shows nvme probing; nvme must be registered now, and probe the device
# at the end, once the reservation is undone by hand.
ktap_check "positive control: nvme loaded (a registered PCI driver)" load_native nvme
modprobe e1000e
ktap_check "nvme $NVME is on vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NVME") == vfio-pci ]]'
ktap_check "nvme never probed it" eval '[[ $(probe_log nvme "$NVME") == 0 ]]'
ktap_check "the NICs are untouched (e1000e)" \
	eval '[[ $(pci_driver "$NIC0") == e1000e && $(pci_driver "$NIC1") == e1000e ]]'
ktap_check "positive control: vfio-pci unbound and driver_override cleared by hand, nvme probes $NVME" \
	eval 'echo "$NVME" >/sys/bus/pci/drivers/vfio-pci/unbind &&
		echo >"$(pci_dev "$NVME")/driver_override" &&
		{ echo "$NVME" >/sys/bus/pci/drivers_probe || true; } &&
		load_native nvme "$NVME"'
ktap_finish
