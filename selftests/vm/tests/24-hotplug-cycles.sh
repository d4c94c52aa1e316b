#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-unplug of a reserved device and re-add, 20 times: reserved on every
# arrival, never probed by e1000e, and no state left behind.
# vm-timeout: 300
# vr-roles: nic-twin hotplug
# vr-vm-only: it drives QEMU through vm.py's control channel (hotplug, QMP)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
CYCLES=20

ktap_plan 5
# The positive control for "never probed" below: e1000e loaded and probes its twin.
ktap_check "positive control: e1000e loaded and probed nic0 $NIC0" \
	load_native e1000e "$NIC0"
modprobe vfio-pci
modprobe vfio_reserve devices="$HP_ADDR"
bad=0
for i in $(seq 1 $CYCLES); do
	qmp "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"e1000e\",\"bus\":\"$HP_PORT\",\"netdev\":\"hp0\",\"id\":\"hp0\",\"romfile\":\"\"}}" >/dev/null
	if ! wait_for 20 eval '[[ $(pci_driver "$HP_ADDR") == vfio-pci ]]'; then
		ktap_diag "cycle $i: not bound to vfio-pci (driver '$(pci_driver "$HP_ADDR")')"
		bad=$((bad + 1))
	fi
	qmp '{"execute":"device_del","arguments":{"id":"hp0"}}' >/dev/null
	if ! qmp_wait_event 20 DEVICE_DELETED '"device":"hp0"' ||
	   ! wait_for 10 eval '! pci_exists "$HP_ADDR"'; then
		ktap_diag "cycle $i: unplug did not complete"
		bad=$((bad + 1))
	fi
done
ktap_check "$CYCLES add/remove cycles: reserved and bound on every arrival" \
	eval '[[ $bad == 0 ]]'
ktap_check "e1000e never probed it" eval '[[ $(probe_log e1000e "$HP_ADDR") == 0 ]]'
ktap_check "the module forgot every one of them" \
	eval '[[ $(dmesg | grep -c "$HP_ADDR: vfio_reserve: removed while reserved") == $CYCLES ]] &&
		$VR status | grep -q ", 0 reserved, 0 pending"'
ktap_check "it unloads cleanly" rmmod vfio_reserve
ktap_finish
