#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# A target driver per rule (issue 17), SELECTOR@DRIVER. At boot nic1 is
# reserved for the tests' variant driver, which the module loads and binds
# (never e1000e), and nic0 for a driver that does not exist: held unbound
# (driver_override names the module itself, which no driver has), said in
# the log, never on e1000e. At run time: @pci-stub hides a device; a native
# driver as target (e1000e manages no DMA: not a VFIO driver) is refused
# with the device held; "@auto" is refused (not resolved yet);
# release gives both NICs back to e1000e, the positive control that it
# could have probed them all along.
# vm-cmdline: vfio_reserve.devices=0000:01:00.0@vr_testvariant,0000:00:02.0@vr_nosuchdrv
# shellcheck disable=SC2016 # the checks are eval'd strings
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper
ktap_plan 12
override() { cat "$(pci_dev "$1")/driver_override"; }

modprobe vfio_reserve
ktap_check "nic1 is bound to the variant it was reserved for, its override names it" \
	wait_for 15 eval '[[ $(pci_driver "$NIC1") == vr_testvariant && $(override "$NIC1") == vr_testvariant ]] &&
		dmesg | grep -q "$NIC1: vfio_reserve: reserved for vr_testvariant by rule 0000:01:00.0@vr_testvariant"'
ktap_check "nic0 (target vr_nosuchdrv) is unbound, held (override vfio_reserve), and the log says why" \
	wait_for 15 eval '[[ -z $(pci_driver "$NIC0") && $(override "$NIC0") == vfio_reserve ]] &&
		dmesg | grep -q "$NIC0: vfio_reserve: left unbound: cannot load vr_nosuchdrv"'
ktap_check "the rules list the targets" \
	eval '$VR rules | grep -q "0000:01:00.0@vr_testvariant" && $VR rules | grep -q "0000:00:02.0@vr_nosuchdrv"'
modprobe e1000e
sleep 2
ktap_check "with e1000e loaded, it never probed nic0 or nic1" \
	eval '[[ -d /sys/bus/pci/drivers/e1000e && $(probe_log e1000e "$NIC0") == 0 && $(probe_log e1000e "$NIC1") == 0 &&
		-z $(pci_driver "$NIC0") && $(pci_driver "$NIC1") == vr_testvariant ]]'
# The positive control: released, nic0 goes to e1000e at once.
run $VR release "$NIC0"
ktap_check "release nic0: e1000e probes and binds it, its override is cleared" \
	wait_for 10 eval '[[ $cmd_rc == 0 && $(pci_driver "$NIC0") == e1000e && $(override "$NIC0") == "(null)" ]]'

# @pci-stub at run time: the module loads pci-stub and binds it.
$VR remove 0000:00:02.0@vr_nosuchdrv >/dev/null
echo "$NIC0" >/sys/bus/pci/drivers/e1000e/unbind
run $VR add 0000:00:02.0@pci-stub
ktap_check "add 0000:00:02.0@pci-stub: nic0 is bound to pci-stub" \
	wait_for 10 eval '[[ $cmd_rc == 0 && $(pci_driver "$NIC0") == pci-stub && $(override "$NIC0") == pci-stub ]]'
run $VR release "$NIC0"
ktap_check "release: nic0 back on e1000e" \
	wait_for 10 eval '[[ $(pci_driver "$NIC0") == e1000e ]]'

# A native driver is no target: held, never bound to it.
$VR remove 0000:00:02.0@pci-stub >/dev/null
echo "$NIC0" >/sys/bus/pci/drivers/e1000e/unbind
probes=$(probe_log e1000e "$NIC0")
run $VR add 0000:00:02.0@e1000e
ktap_check "add 0000:00:02.0@e1000e: nic0 held unbound, e1000e not a VFIO driver (log), no new e1000e probe" \
	wait_for 10 eval '[[ -z $(pci_driver "$NIC0") && $(override "$NIC0") == vfio_reserve &&
		$(probe_log e1000e "$NIC0") == "$probes" ]] &&
		dmesg | grep -q "$NIC0: vfio_reserve: left unbound: e1000e is not a VFIO driver"'
run $VR release "$NIC0"
ktap_check "release of the held nic0: back on e1000e" \
	wait_for 10 eval '[[ $(pci_driver "$NIC0") == e1000e ]]'

# "@auto" is not resolved yet: refused, selector named, nothing added (the
# module refuses it too: vr_genl_test's rule_add_bad_or_empty_list_adds_nothing).
rules=$($VR rules | wc -l)
run $VR add 8086:10d3,15b3:101e@auto
ktap_check "add 8086:10d3,15b3:101e@auto: refused (exit 2, selector 2 named), nothing added" \
	eval '[[ $cmd_rc == 2 ]] && grep -q "selector 2 .15b3:101e@auto. at position 10: @auto" <<<"$cmd_out" &&
		[[ $($VR rules | wc -l) == "$rules" ]]'
ktap_check "a bad driver name is refused: 8086:10d3@a/b" \
	eval '! $VR add "8086:10d3@a/b" 2>/tmp/err && grep -q "driver name" /tmp/err'

run $VR release "$NIC1"
ktap_check "release nic1: the variant unbinds, e1000e takes it" \
	wait_for 10 eval '[[ $cmd_rc == 0 && $(pci_driver "$NIC1") == e1000e ]]'
ktap_finish
