#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A subsystem-id selector (vendor:device:subvendor:subdevice) takes the
# one NIC whose subsystem matches, of three 8086:10d3 functions, at probe
# time; e1000e takes the other two. A selector whose subsystem matches no
# function reserves nothing.
# vm-cmdline: vfio_reserve.devices=8086:10d3:8086:1234
# vm-qemu: -netdev user,id=n9,restrict=on -device e1000e,romfile=,netdev=n9,bus=rp4,subsys_ven=0x8086,subsys=0x1234
# vr-roles: nic nic-twin
# vr-vm-only: its devices are QEMU's (an e1000e with a subsystem id of its own), and vfio_reserve.devices= is on the kernel command line
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_helper
SUB=0000:04:00.0	# 8086:10d3, subsystem 8086:1234

ktap_plan 6
modprobe vfio_reserve
# The positive control: e1000e loads and probes the twins of $SUB.
ktap_check "positive control: e1000e loaded and probed $NIC0 and $NIC1" \
	load_native e1000e "$NIC0" "$NIC1"
ktap_check "$SUB has subsystem 8086:1234, the others 8086:0000" \
	eval '[[ $(<"$(pci_dev "$SUB")/subsystem_device") == 0x1234 &&
		$(<"$(pci_dev "$NIC0")/subsystem_device") == 0x0000 &&
		$(<"$(pci_dev "$NIC1")/subsystem_device") == 0x0000 ]]'
ktap_check "$SUB is on vfio-pci and e1000e never probed it" \
	eval 'wait_for 10 eval "[[ \$(pci_driver $SUB) == vfio-pci ]]" &&
		[[ $(probe_log e1000e "$SUB") == 0 ]]'
ktap_check "$NIC0 and $NIC1 are on e1000e, not reserved" \
	eval '[[ $(pci_driver "$NIC0") == e1000e && $(pci_driver "$NIC1") == e1000e ]] &&
		vrjson list | python3 -c "
import json, sys
d = {x[\"address\"]: x for x in json.load(sys.stdin)}
assert d[\"$SUB\"][\"state\"] == \"reserved\", d[\"$SUB\"]
assert d[\"$SUB\"][\"rule\"] == \"8086:10d3:8086:1234\", d[\"$SUB\"]
for a in (\"$NIC0\", \"$NIC1\"):
    assert d[a][\"state\"] == \"none\", d[a]
"'
# Another subsystem: the rule is taken, and nothing else is reserved.
run $VR add 8086:10d3:8086:4321
ktap_check "a rule for subsystem 8086:4321 is added" \
	eval '((cmd_rc == 0)) && $VR rules | grep -q "8086:10d3:8086:4321"'
ktap_check "... and reserves nothing: still 1 reserved, the NICs on e1000e" \
	eval 'vrjson list | python3 -c "
import json, sys
states = [x[\"state\"] for x in json.load(sys.stdin)]
assert states.count(\"reserved\") == 1 and states.count(\"pending\") == 0, states
" && [[ $(pci_driver "$NIC0") == e1000e && $(pci_driver "$NIC1") == e1000e ]]'
ktap_finish
