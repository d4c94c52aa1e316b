#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The positive control of every kmemleak check here (kmemleak_check in
# lib-debug.sh, and init.sh's after each VM test, which scan the same way):
# a leak made just before the check is found. vr_testdrv, the tests' own
# pci-testdev driver, loses 64 bytes in each probe when its leak parameter
# is set. Without it, a check finds nothing of vr_testdrv's (so what the
# second check finds is that leak); with it, the check that follows reports
# one 64-byte object allocated by vr_testdrv's vt_leak(). As after a test,
# other processes run between the leak and the check: kmemleak reads every
# stack, and the pointer stays in the dead part of the stack that made the
# leak until the next process to take that stack clears it (a check run
# at once, with the old 5 s wait as well as the new, found nothing; one
# after 30 short processes finds it).
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0x8.0
# vr-vm-only: it uses the tests' own driver vr_testdrv, built for the VM, on QEMU's pci-testdev
# vm-timeout: 300
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib-debug.sh"

TD=0000:00:08.0
has_kmemleak || ktap_exit_skip "this kernel has no kmemleak (CONFIG_DEBUG_KMEMLEAK)"
ktap_plan 4
ours() { grep -A 20 '^unreferenced object' <<<"$KMEMLEAK_REPORT" | grep -c 'vt_leak'; }

ktap_check "vr_testdrv (leak=0) probes $TD" \
	eval 'modprobe vr_testdrv && wait_for 10 eval "[[ \$(pci_driver $TD) == vr_testdrv ]]"'
kmemleak_check "before the leak" >/dev/null
ktap_check "control: a kmemleak check finds nothing of vr_testdrv's (total $KMEMLEAK_TOTAL)" \
	eval '[[ $(ours) == 0 ]]'

echo 1 >/sys/module/vr_testdrv/parameters/leak
echo "$TD" >/sys/bus/pci/drivers/vr_testdrv/unbind
# (from a process that exits: the pointer stays on no live stack)
sh -c "echo $TD >/sys/bus/pci/drivers/vr_testdrv/bind"
ktap_check "vr_testdrv (leak=1) probes $TD again, losing 64 bytes" \
	eval '[[ $(pci_driver "$TD") == vr_testdrv ]]'
for _ in $(seq 30); do /bin/true; done
kmemleak_check "after the leak" >/dev/null
grep -B 2 -A 12 'vt_leak' <<<"$KMEMLEAK_REPORT" | head -n 16 | ktap_diag
ktap_check "kmemleak reports the 64-byte object vt_leak() allocated ($KMEMLEAK_TOTAL unreferenced in all)" \
	eval '[[ $(ours) == 1 ]] && grep -B 12 "vt_leak" <<<"$KMEMLEAK_REPORT" | grep -q "(size 64)"'
ktap_finish
