#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# class:0108 reserves the NVMe controller; nvme never probes it.
# vm-cmdline: vfio_reserve.devices=class:0108
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 4
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
modprobe nvme
modprobe e1000e
ktap_check "nvme $NVME is on vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NVME") == vfio-pci ]]'
ktap_check "nvme never probed it" eval '[[ $(probe_log nvme "$NVME") == 0 ]]'
ktap_check "the NICs are untouched (e1000e)" \
	eval '[[ $(pci_driver "$NIC0") == e1000e && $(pci_driver "$NIC1") == e1000e ]]'
ktap_finish
