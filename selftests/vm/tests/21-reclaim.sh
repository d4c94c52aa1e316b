#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# reclaim=stub leaves a NIC bound to e1000e alone and reports it pending;
# reclaim=all moves it from e1000e to vfio-pci.
# vr-roles: nic nic-twin
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

state_of() {
	vrjson list | python3 -c "
import json, sys
print([x['state'] for x in json.load(sys.stdin) if x['address'] == '$1'][0])"
}

need_module_unloaded
ktap_plan 8
modprobe e1000e
ktap_check "e1000e has nic0 and nic1" \
	wait_for 20 eval '[[ $(pci_driver "$NIC0") == e1000e && $(pci_driver "$NIC1") == e1000e ]]'
nic0_probes=$(probe_log e1000e "$NIC0")
modprobe vfio_reserve devices="$NIC1" reclaim=stub
ktap_check "reclaim=stub: nic1 stays on e1000e, its netdev too" \
	eval '[[ $(pci_driver "$NIC1") == e1000e && -d $(pci_dev "$NIC1")/net ]]'
ktap_check "... and it is reported pending" \
	eval '[[ $(state_of "$NIC1") == pending ]] &&
		test_dmesg | grep -q "$NIC1: vfio_reserve: matches rule $NIC1 but is bound to e1000e: pending"'
rmmod vfio_reserve
modprobe vfio_reserve devices="$NIC1" reclaim=all
ktap_check "reclaim=all: nic1 moved from e1000e to vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci && ! -e $(pci_dev "$NIC1")/net ]]'
ktap_check "... the log says where it came from" \
	eval 'test_dmesg | grep -q "$NIC1: vfio_reserve: reserved for vfio-pci by rule $NIC1 (taken from e1000e)"'
ktap_check "... and the module remembers e1000e as its previous driver" \
	eval 'vrjson list | grep -q "\"address\":\"$NIC1\".*\"previous_driver\":\"e1000e\""'
ktap_check "probes are logged: vfio-pci's of nic1 (the positive control)" \
	eval '(( $(probe_log vfio-pci "$NIC1") >= 1 ))'
ktap_check "nic0 was never touched: on e1000e, no probe since it was bound" \
	eval '[[ $(pci_driver "$NIC0") == e1000e && $(probe_log e1000e "$NIC0") == "$nic0_probes" ]]'
ktap_finish
