#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel amd
# Hotplug: with a rule for the hotplug device loaded and its native driver
# ready to probe, the device is bound to vfio-pci on arrival, never to its
# driver; unplugging it leaves no error. Under vm.py an e1000e added to an
# empty slot over QMP; on a host the hotplug device, removed through sysfs
# and found again by a rescan of its bus.
# vr-roles: nic-twin hotplug
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_module_unloaded
ktap_plan 7
# The positive control for "never probed" below (lib.sh, hp_control).
read -r native twin < <(hp_control)
ktap_check "positive control: $native loaded and probed $twin" \
	load_native "$native" "$twin"
modprobe vfio-pci
hp_prepare
ktap_check "modprobe vfio_reserve devices=$HP_ADDR" \
	modprobe vfio_reserve devices="$HP_ADDR"
before=$(probe_log "$native" "$HP_ADDR")
hp_plug
ktap_check "the hotplugged device $HP_ADDR is bound to vfio-pci" \
	wait_for 15 eval '[[ $(pci_driver "$HP_ADDR") == vfio-pci ]]'
ktap_check "$native never probed it" \
	eval '[[ $(probe_log "$native" "$HP_ADDR") == "$before" && $(probe_log vfio-pci "$HP_ADDR") == 1 ]]'
ktap_check "/dev/vfio/<its group> exists" \
	eval '[[ -c /dev/vfio/$(pci_group "$HP_ADDR") ]]'
ktap_check "the unplug completes" hp_unplug
ktap_check "the device is gone and the module logged it" \
	wait_for 10 eval '! pci_exists "$HP_ADDR" && test_dmesg | grep -q "$HP_ADDR: vfio_reserve: removed while reserved"'
ktap_finish
