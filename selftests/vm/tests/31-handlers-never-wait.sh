#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# No netlink handler waits for a driver (issue 14). A handler runs with
# genl's cb_lock read-held, and a driver that registers a genl family in
# probe (or unregisters one in remove) takes it for writing: claim and
# release used to bind and unbind inside the handler and hung for ever
# there, and a reader waiting for the device lock of a device in probe hung
# with the probe. The tests' own driver, vr_testdrv, is such a driver for
# pci-testdev; probe_delay_ms keeps its probe (and the device lock) busy.
# vm-matrix: every-kernel
# vm-timeout: 240
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0x8.0
# vr-vm-only: it uses the tests' own driver vr_testdrv, built for the VM, on QEMU's pci-testdev
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_helper

TD=0000:00:08.0
FAMILY=vr_testdrv
# A request that takes longer than this waited for a driver.
LIMIT=$(scaled 30)

# done_within S PID: PID ends within S seconds; its status in $bg_rc.
# A PID still running after S is left alone (a hung request cannot be
# killed: it sleeps in the kernel).
done_within() {
	local dw_pid=$2
	wait_for "$1" eval '! kill -0 $dw_pid 2>/dev/null' || return 1
	wait "$dw_pid" && bg_rc=0 || bg_rc=$?
}

# give_up: after a request hung, every later netlink request hangs too.
give_up() {
	ktap_diag "a request hung: the rest cannot run"
	dmesg | grep -E "vr_testdrv|vfio_reserve|blocked for more" | tail -n 20 | ktap_diag
	ktap_finish
}

family() {
	genl ctrl get name "$FAMILY" >/dev/null 2>&1
}

# request VERB: vfio-reserve VERB $TD returns within LIMIT, exit 0.
request() {
	$VR "$1" "$TD" >"/tmp/$1.out" 2>&1 &
	done_within "$LIMIT" $! || { ktap_fail "$1 of $TD returns within ${LIMIT} s"; give_up; }
	ktap_check "$1 of $TD returns, exit 0" eval '((bg_rc == 0))'
	ktap_diag <"/tmp/$1.out"
}

ktap_plan 11
modprobe vfio_reserve
modprobe vfio-pci
modprobe vr_testdrv genl=1
# The positive control: the driver is there and takes pci-testdev, and its
# probe registered the family.
ktap_check "vr_testdrv probes $TD and binds it" \
	eval 'load_native vr_testdrv "$TD" && wait_for 10 eval "[[ \$(pci_driver $TD) == vr_testdrv ]]"'
ktap_check "its probe registered the genl family $FAMILY" family

# CLAIM unbinds vr_testdrv, whose remove unregisters the family.
request claim
ktap_check "$TD is on vfio-pci and the family is gone" \
	eval '[[ $(pci_driver "$TD") == vfio-pci ]] && ! family'

# RELEASE binds vr_testdrv again, whose probe registers the family.
request release
ktap_check "$TD is back on vr_testdrv, which registered the family again" \
	eval 'wait_for 10 eval "[[ \$(pci_driver $TD) == vr_testdrv ]]" && family'

# Readers while a probe holds the device lock, then registers the family.
echo "$TD" >/sys/bus/pci/drivers/vr_testdrv/unbind
delay=$(scaled 15)
echo $((delay * 1000)) >/sys/module/vr_testdrv/parameters/probe_delay_ms
probes=$(probe_log vr_testdrv "$TD")
echo "$TD" >/sys/bus/pci/drivers/vr_testdrv/bind &
bind=$!
ktap_check "a sysfs bind of $TD is in vr_testdrv's probe (${delay} s)" \
	wait_for 10 eval '(($(probe_log vr_testdrv "$TD") > probes))'
start=$(now_us)
vrjson list >/tmp/list.out 2>&1 &
pid=$!
done_within "$LIMIT" $pid || { ktap_fail "list returns while $TD is in probe"; give_up; }
list_rc=$bg_rc
vrjson groups >/tmp/groups.out 2>&1 &
pid=$!
done_within "$LIMIT" $pid || { ktap_fail "groups returns while $TD is in probe"; give_up; }
groups_rc=$bg_rc
took=$((($(now_us) - start) / 1000))
ktap_diag "list and groups took ${took} ms; the probe sleeps ${delay} s"
ktap_check "list --json and groups --json answer during the probe (exit 0)" \
	eval '((list_rc == 0 && groups_rc == 0))'
ktap_check "... before it ends (the bind is still running)" kill -0 $bind
ktap_check "... and list shows $TD" grep -q "\"$TD\"" /tmp/list.out
done_within $((delay + LIMIT)) $bind || { ktap_fail "the bind ends"; give_up; }
ktap_check "the bind ends, $TD on vr_testdrv with its family" \
	eval '((bg_rc == 0)) && [[ $(pci_driver "$TD") == vr_testdrv ]] && family'
ktap_finish
