#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-unplug of a reserved device and re-add, 20 times: reserved on every
# arrival, never probed by its native driver, and no state left behind.
# (QEMU's device_add and device_del under vm.py; sysfs remove and rescan on
# a host: lib.sh's hp_plug.)
# vm-timeout: 300
# vr-roles: nic-twin hotplug
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
CYCLES=20

need_module_unloaded
ktap_plan 5
# The positive control for "never probed" below (lib.sh, hp_control).
read -r native twin < <(hp_control)
ktap_check "positive control: $native loaded and probed $twin" \
	load_native "$native" "$twin"
modprobe vfio-pci
hp_prepare
modprobe vfio_reserve devices="$HP_ADDR"
before=$(probe_log "$native" "$HP_ADDR")
bad=0
for i in $(seq 1 $CYCLES); do
	hp_plug
	if ! wait_for 20 eval '[[ $(pci_driver "$HP_ADDR") == vfio-pci ]]'; then
		ktap_diag "cycle $i: not bound to vfio-pci (driver '$(pci_driver "$HP_ADDR")')"
		bad=$((bad + 1))
	fi
	if ! hp_unplug; then
		ktap_diag "cycle $i: unplug did not complete"
		bad=$((bad + 1))
	fi
done
ktap_check "$CYCLES add/remove cycles: reserved and bound on every arrival" \
	eval '[[ $bad == 0 ]]'
ktap_check "$native never probed it" eval '[[ $(probe_log "$native" "$HP_ADDR") == "$before" ]]'
ktap_check "the module forgot every one of them" \
	eval '[[ $(test_dmesg | grep -c "$HP_ADDR: vfio_reserve: removed while reserved") == $CYCLES ]] &&
		$VR status | grep -q ", 0 reserved, 0 pending"'
ktap_check "it unloads cleanly" rmmod vfio_reserve
ktap_finish
