#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel amd
# Hotplug: with a rule for the empty slot loaded and e1000e ready to probe,
# a NIC added over QMP is bound to vfio-pci on arrival, never to e1000e;
# unplugging it leaves no error.
# vr-roles: nic-twin hotplug
# vr-vm-only: it drives QEMU through vm.py's control channel (hotplug, QMP)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 7
# The positive control for "never probed" below: e1000e loaded and probes its twin.
ktap_check "positive control: e1000e loaded and probed nic0 $NIC0" \
	load_native e1000e "$NIC0"
modprobe vfio-pci
ktap_check "modprobe vfio_reserve devices=$HP_ADDR" \
	modprobe vfio_reserve devices="$HP_ADDR"
qmp "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"e1000e\",\"bus\":\"$HP_PORT\",\"netdev\":\"hp0\",\"id\":\"hp0\",\"romfile\":\"\"}}" >/dev/null
ktap_check "the hotplugged NIC $HP_ADDR is bound to vfio-pci" \
	wait_for 15 eval '[[ $(pci_driver "$HP_ADDR") == vfio-pci ]]'
ktap_check "e1000e never probed it" \
	eval '[[ $(probe_log e1000e "$HP_ADDR") == 0 && $(probe_log vfio-pci "$HP_ADDR") == 1 ]]'
ktap_check "/dev/vfio/<its group> exists" \
	eval '[[ -c /dev/vfio/$(pci_group "$HP_ADDR") ]]'
qmp '{"execute":"device_del","arguments":{"id":"hp0"}}' >/dev/null
ktap_check "device_del completes (DEVICE_DELETED)" \
	qmp_wait_event 15 DEVICE_DELETED '"device":"hp0"'
ktap_check "the device is gone and the module logged it" \
	wait_for 10 eval '! pci_exists "$HP_ADDR" && dmesg | grep -q "$HP_ADDR: vfio_reserve: removed while reserved"'
ktap_finish
