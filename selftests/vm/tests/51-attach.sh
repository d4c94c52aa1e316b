#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# attach hotplugs a reserved NIC into a running nested QEMU, detach takes it
# out again (DEVICE_DELETED), and release then returns it to its native
# driver (e1000e in the VM). Before
# that, a QEMU run as nobody with a 64 KiB memlock limit is refused, by its
# own limit and rights (SO_PEERCRED), not the caller's, and gets nothing.
# vr-roles: nic
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
QMP=$VR_SELFTESTS/vm/qmp.py

ids=$(pci_ids "$NIC1")
has_nic() {
	$QMP /tmp/a.sock pci-ids | grep -qx "$ids"
}

ktap_plan 8
native=$(native_driver "$NIC1")
modprobe "$native"
rm -f /tmp/nb.sock /tmp/a.sock
modprobe vfio_reserve
$VR claim "$NIC1" >/dev/null
group=$(pci_group "$NIC1")
setpriv --reuid=65534 --regid=65534 --clear-groups \
	prlimit --memlock=65536 qemu-system-x86_64 -accel tcg -nodefaults -display none \
	-m 128 -M q35 -device pcie-root-port,id=rp,chassis=1 \
	-qmp unix:/tmp/nb.sock,server=on,wait=off >/tmp/nb.log 2>&1 &
nb=$!
wait_for 20 test -S /tmp/nb.sock
run $VR attach --qmp /tmp/nb.sock "$NIC1" --id nic --bus rp
ktap_check "attach into a QEMU of uid 65534 (memlock 64 KiB): refused (exit 1) by that QEMU's memlock and its access to /dev/vfio/$group" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "QEMU (pid [0-9]*, uid 65534) may lock 0 MiB, but VFIO pins its guest.s 128 MiB" <<<"$cmd_out" &&
		grep -q "QEMU (pid [0-9]*, uid 65534) cannot open /dev/vfio/$group" <<<"$cmd_out"'
ktap_check "... and that QEMU got nothing: no $ids in its query-pci" \
	eval '! $QMP /tmp/nb.sock pci-ids | grep -qx "$ids"'
kill $nb; wait $nb 2>/dev/null

# Native PCIe hotplug on a root port: the firmware numbers the buses (so
# query-pci sees behind the port), and with no OS to power the slot on,
# QEMU completes an unplug without asking the guest.
qemu-system-x86_64 -accel tcg -nodefaults -display none -m 128 -M q35 \
	-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off \
	-device pcie-root-port,id=rp,chassis=1 \
	-qmp unix:/tmp/a.sock,server=on,wait=off >/tmp/a.log 2>&1 &
q=$!
wait_for 20 test -S /tmp/a.sock
ktap_check "attach --qmp hotplugs the NIC" \
	$VR attach --qmp /tmp/a.sock "$NIC1" --id nic --bus rp
# wait_for: seen once with four QEMUs on the host, query-pci right after the
# attach did not show the NIC, which was there moments later.
ktap_check "query-pci of the nested QEMU shows $ids" wait_for 30 has_nic ||
	$QMP /tmp/a.sock query-pci | ktap_diag
ktap_check "release is refused while the nested VM holds it" \
	eval '! $VR release "$NIC1" 2>/dev/null && [[ $(pci_driver "$NIC1") == vfio-pci ]]'
ktap_check "detach --qmp removes it (waits for DEVICE_DELETED)" \
	$VR detach --qmp /tmp/a.sock nic
ktap_check "it is gone from query-pci" eval '! has_nic'
ktap_check "release returns it to $native" \
	eval '$VR release "$NIC1" && wait_for 10 eval "[[ \$(pci_driver $NIC1) == $native ]]"'
kill $q; wait $q 2>/dev/null
ktap_finish
