#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel amd
# rmmod changes no binding: reserved devices stay on vfio-pci; loading the
# module again is idempotent. dry_run=1 changes nothing. (The NICs start
# unbound, as in the VM; their native driver is e1000e there.)
# vr-roles: nic nic-twin
# shellcheck disable=SC2016 # the checks are eval'd strings
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_module_unloaded
ktap_plan 9
native=$(native_driver "$NIC1")
start_unbound "$NIC0" "$NIC1"
modprobe vfio_reserve devices="$NIC1" dry_run=1
ktap_check "dry_run=1 logs what it would reserve and changes nothing" \
	eval '[[ -z $(pci_driver "$NIC1") ]] &&
		[[ $(<"$(pci_dev "$NIC1")/driver_override") == "(null)" ]] &&
		test_dmesg | grep -q "$NIC1: vfio_reserve: dry run: would reserve for vfio-pci by rule $NIC1"'
# A claim under dry_run=1 is not supported (EOPNOTSUPP, not EPERM: the
# caller has the right, the module the wrong mode), and changes nothing.
run "$VR" claim "$NIC0"
ktap_check "dry_run=1: claim $NIC0 fails with 'Operation not supported', naming dry_run=1" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "Operation not supported" <<<"$cmd_out" &&
		grep -q "dry_run=1" <<<"$cmd_out" && [[ -z $(pci_driver "$NIC0") ]]'
rmmod vfio_reserve
modprobe vfio_reserve devices="$NIC1"
ktap_check "nic1 is on vfio-pci" wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
group=$(pci_group "$NIC1")
ktap_check "rmmod vfio_reserve succeeds" rmmod vfio_reserve
ktap_check "nic1 stays on vfio-pci with its override; the module said so" \
	eval '[[ $(pci_driver "$NIC1") == vfio-pci && -c /dev/vfio/$group &&
		$(<"$(pci_dev "$NIC1")/driver_override") == vfio-pci ]] &&
		test_dmesg | grep -q "$NIC1: vfio_reserve: stays reserved for vfio-pci after unload"'
# The positive control for "never probed" below: the native driver loaded
# and probes the twin.
ktap_check "positive control: $native loaded and probed nic0 $NIC0" \
	load_native "$native" "$NIC0"
ktap_check "$native loaded after the unload does not take nic1" \
	eval '[[ $(pci_driver "$NIC1") == vfio-pci && $(probe_log "$native" "$NIC1") == 0 ]]'
# The reload's part of the log: after a marker of its own.
kmsg_mark "16-unload: the reload"
vfio_probes=$(probe_log vfio-pci "$NIC1")
ktap_check "loading again is idempotent" \
	eval 'modprobe vfio_reserve devices="$NIC1" && [[ $(pci_driver "$NIC1") == vfio-pci ]] &&
		[[ $(dmesg_since | grep -c "$NIC1: vfio_reserve: reserved for vfio-pci by rule $NIC1") == 1 ]] &&
		[[ $(probe_log vfio-pci "$NIC1") == "$vfio_probes" ]]'
ktap_check "and unloads again" rmmod vfio_reserve
ktap_finish
