#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# A VFIO variant driver end to end (issue 17). With a rule ADDR@auto for the
# empty hotplug slot (resolved by the helper to the tests' variant, which is
# not loaded) and e1000e loaded and probing its twin (the positive
# control), a NIC added over QMP is bound to the variant on arrival, the
# module loading it: e1000e never probes it. check says it is assignable
# through the variant; claim keeps it there; a nested QEMU gets it (-device vfio-pci works with
# any vfio-pci-core driver: query-pci shows the host's ids) while the
# device stays on the variant, in use; release gives it to e1000e.
# shellcheck disable=SC2016 # the checks are eval'd strings
# vr-roles: nic nic-twin hotplug
# vr-vm-only: it uses the tests' own VFIO variant driver vr_testvariant, built for the VM, and QEMU's hotplug slot
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
QMP=$VR_SELFTESTS/vm/qmp.py
NESTED=(qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64)

need_helper
ktap_plan 10
ktap_check "positive control: e1000e loaded and probed nic0 $NIC0" \
	load_native e1000e "$NIC0"
modprobe vfio_reserve
# @auto needs a device to choose by: nic1 has the ids the slot will get.
run $VR add "$NIC1@auto"
auto_out=$cmd_out
$VR remove "$NIC1@vr_testvariant" >/dev/null
run $VR add "$HP_ADDR@vr_testvariant"
ktap_check "$NIC1@auto (8086:10d3) resolves to vr_testvariant; the slot's rule is added; the variant is not loaded" \
	eval 'grep -q "$NIC1@auto is vr_testvariant" <<<"$auto_out" && $VR rules | grep -q "^$HP_ADDR@vr_testvariant " &&
		[[ ! -d /sys/bus/pci/drivers/vr_testvariant ]]'
qmp "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"e1000e\",\"bus\":\"$HP_PORT\",\"netdev\":\"hp0\",\"id\":\"hp0\",\"romfile\":\"\"}}" >/dev/null
ktap_check "the hotplugged NIC $HP_ADDR is bound to vr_testvariant, which the module loaded" \
	wait_for 20 eval '[[ $(pci_driver "$HP_ADDR") == vr_testvariant ]]'
ktap_check "e1000e never probed it; the variant did once" \
	eval '[[ $(probe_log e1000e "$HP_ADDR") == 0 && $(probe_log vr_testvariant "$HP_ADDR") == 1 ]]'
run $VR check "$HP_ADDR"
ktap_check "check: assignable through vr_testvariant" \
	eval '[[ $cmd_rc == 0 ]] && grep -q "^$HP_ADDR: ok, can be assigned through vr_testvariant" <<<"$cmd_out"'
run $VR claim "$HP_ADDR"
ktap_check "claim never downgrades the variant to vfio-pci" \
	eval '[[ $cmd_rc == 0 && $(pci_driver "$HP_ADDR") == vr_testvariant ]] &&
		grep -q "$HP_ADDR: reserved, bound to vr_testvariant" <<<"$cmd_out"'

$VR qemu "$HP_ADDR" -- "${NESTED[@]}" -qmp unix:/tmp/n1.sock,server=on,wait=off \
	>/tmp/n1.log 2>&1 &
q1=$!
ktap_check "a nested QEMU gets it: its query-pci lists 8086:10d3" \
	wait_for 60 eval '$QMP /tmp/n1.sock pci-ids 2>/dev/null | grep -qx 8086:10d3'
ktap_check "meanwhile the device is on vr_testvariant and in use" \
	eval '[[ $(pci_driver "$HP_ADDR") == vr_testvariant ]] && vrjson list |
		grep -q "\"address\":\"$HP_ADDR\".*\"in_use\":true"'
kill "$q1"
wait "$q1" 2>/dev/null
ktap_diag </tmp/n1.log
$VR remove "$HP_ADDR@vr_testvariant" >/dev/null
run $VR release "$HP_ADDR"
ktap_check "release: the variant lets go, e1000e takes it" \
	wait_for 15 eval '[[ $cmd_rc == 0 && $(pci_driver "$HP_ADDR") == e1000e ]]'
qmp '{"execute":"device_del","arguments":{"id":"hp0"}}' >/dev/null
ktap_check "device_del completes" \
	eval 'qmp_wait_event 20 DEVICE_DELETED "\"device\":\"hp0\"" && wait_for 20 eval "! pci_exists $HP_ADDR"'
ktap_finish
