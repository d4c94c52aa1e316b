#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# vf: rules when the PF itself is on vfio-pci (issue 17, part 5). When a PF
# bound to a VFIO driver creates VFs, vfio-pci-core captures them: it sets
# each VF's driver_override to its own name ("Captured SR-IOV VF"), after
# this module's notifier set it. Defined behaviour: a vf: rule whose target
# is that driver agrees with it and keeps the VFs reserved; one with another
# target gives way: the module logs the override it found, drops its
# record, and the VF stays on the PF's VFIO driver. Either way nvme (the
# native driver, loaded and probing the PF first: the positive control)
# never probes a VF, and check says the VF is assignable.
# vm-cmdline: vfio_reserve.devices=vf:0000:02:00.0@vr_testvariant
# shellcheck disable=SC2016 # the checks are eval'd strings
# vr-roles: sriov-pf
# vr-vm-only: it uses the tests' own VFIO variant driver vr_testvariant, built for the VM (and vfio_reserve.devices= at boot)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
VF1=0000:02:00.1

need_helper
ktap_plan 9
modprobe vfio_reserve
pf=$(pci_dev "$NVME")
ktap_check "positive control: nvme loaded and probed the PF $NVME" \
	load_native nvme "$NVME"
# The PF to vfio-pci, which may create VFs only with enable_sriov=1 (the
# module loaded vfio-pci already: its parameter is writable).
modprobe vfio-pci
echo 1 >/sys/module/vfio_pci/parameters/enable_sriov
[[ -n $(pci_driver "$NVME") ]] && echo "$NVME" >"$pf/driver/unbind"
echo vfio-pci >"$pf/driver_override"
echo "$NVME" >/sys/bus/pci/drivers_probe
ktap_check "the PF is on vfio-pci (enable_sriov=1)" \
	wait_for 10 eval '[[ $(pci_driver "$NVME") == vfio-pci ]]'

echo 1 >"$pf/sriov_numvfs"
ktap_check "vf:$NVME@vr_testvariant: vfio-pci-core captures the VF, it is on vfio-pci" \
	wait_for 15 eval '[[ $(pci_driver $VF1) == vfio-pci ]] &&
		dmesg | grep -q "Captured SR-IOV VF $VF1 driver_override"'
ktap_check "the module gave way, logged it, and keeps no record of the VF" \
	wait_for 10 eval 'dmesg | grep -q "$VF1: vfio_reserve: driver_override changed to \"vfio-pci\" by someone else" &&
		vrjson list | python3 -c "
import json, sys
d = {x[\"address\"]: x for x in json.load(sys.stdin)}
assert d[\"$VF1\"][\"state\"] == \"none\" and d[\"$VF1\"][\"target\"] is None, d[\"$VF1\"]
"'
ktap_check "nvme never probed the VF" eval '[[ $(probe_log nvme $VF1) == 0 ]]'
run $VR check "$VF1"
ktap_check "check: the VF is assignable through vfio-pci" \
	eval '[[ $cmd_rc == 0 ]] && grep -q "^$VF1: ok, can be assigned through vfio-pci" <<<"$cmd_out"'

# The rule's target is the PF driver's: both agree, the VF stays reserved.
echo 0 >"$pf/sriov_numvfs"
$VR remove "vf:$NVME@vr_testvariant" >/dev/null
$VR add "vf:$NVME" >/dev/null
echo 1 >"$pf/sriov_numvfs"
ktap_check "vf:$NVME (vfio-pci): the VF is on vfio-pci and reserved by the rule" \
	wait_for 15 eval '[[ $(pci_driver $VF1) == vfio-pci ]] && vrjson list | python3 -c "
import json, sys
d = {x[\"address\"]: x for x in json.load(sys.stdin)}
v = d[\"$VF1\"]
assert v[\"state\"] == \"reserved\" and v[\"rule\"] == \"vf:$NVME\" and v[\"target\"] == \"vfio-pci\", v
"'
ktap_check "nvme still never probed a VF" eval '[[ $(probe_log nvme $VF1) == 0 ]]'
echo 0 >"$pf/sriov_numvfs"
ktap_check "the VF goes away cleanly" eval '! pci_exists $VF1'
ktap_finish
