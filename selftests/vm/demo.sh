#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: the whole job in the test VM, with real output. The VM models a
# passthrough host: two identical e1000e NICs (0000:00:02.0 and, behind a
# root port, 0000:01:00.0), an NVMe with SR-IOV, a GPU-like pair, VT-d with
# interrupt remapping. The kernel command line reserves the second NIC at
# boot by address; the host keeps the first.
# vm-cmdline: vfio_reserve.devices=0000:01:00.0
# vm-timeout: 300
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PATH=$VR_TOP/build/user:$PATH

say() { ktap_diag "" "== $*"; }
show() { # show CMD...: print the command and its real output
	ktap_diag "\$ $*"
	"$@" 2>&1 | ktap_diag
	return "${PIPESTATUS[0]}"
}

ktap_plan 5
say "1. Boot: the initramfs loads vfio_reserve (vfio_reserve.devices=$NIC1 on the kernel command line) before the NIC drivers"
show modprobe vfio_reserve
show modprobe e1000e
show vfio-reserve list 8086:10d3
ktap_check "the chosen NIC is on vfio-pci; e1000e never probed it; the host keeps its twin" \
	eval '[[ $(pci_driver $NIC1) == vfio-pci && $(probe_log e1000e $NIC1) == 0 && $(pci_driver $NIC0) == e1000e ]]'
ktap_diag "$ dmesg | grep vfio_reserve"; dmesg --notime | grep "vfio_reserve: " | ktap_diag

say "2. Is this host ready for device assignment?"
show vfio-reserve status

say "3. Can it go to a VM right now? (and its twin?)"
show vfio-reserve check "$NIC1"
show vfio-reserve check "$NIC0"
ktap_check "check says yes for the reserved NIC" $VR check "$NIC1"

say "4. Hand it to a VM: vfio-reserve qemu runs the preflight, then QEMU with -device vfio-pci added"
show vfio-reserve qemu --dry-run "$NIC1" -- qemu-system-x86_64 -accel tcg -S -display none -nodefaults -m 64
vfio-reserve qemu "$NIC1" -- qemu-system-x86_64 -accel tcg -S -display none -nodefaults -m 64 \
	-qmp unix:/tmp/demo.sock,server=on,wait=off >/tmp/demo-qemu.log 2>&1 &
q=$!
ktap_check "the nested QEMU shows the NIC (8086:10d3) in query-pci" \
	wait_for 30 eval '$VR_TOP/selftests/vm/qmp.py /tmp/demo.sock pci-ids 2>/dev/null | grep -qx 8086:10d3'
show vfio-reserve list "$NIC1"
say "   While the VM runs, nothing can take the device from it:"
show vfio-reserve release "$NIC1"
ktap_check "release is refused while the VM holds it" eval '[[ $(pci_driver $NIC1) == vfio-pci ]]'

say "5. The VM exits; give the NIC back to the host"
kill $q; wait $q 2>/dev/null
show vfio-reserve release "$NIC1"
show ip -br link
ktap_check "the NIC is back on e1000e with a netdev" \
	eval '[[ $(pci_driver $NIC1) == e1000e && -d /sys/bus/pci/devices/$NIC1/net ]]'
ktap_finish
