#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end: a nested guest started by `vfio-reserve qemu` boots a kernel
# and its own sysfs lists the assigned NIC with the host's ids. TCG in TCG
# (93 s to power-off alone): nested_accels in lib.sh says why not KVM.
# vm-timeout: 600
# vr-roles: nic
# vr-vm-only: not yet made safe for a real host (issue 19: restore what it changes, log markers for dmesg -C)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
N=/tmp/nested

ktap_plan 3
modprobe vfio_reserve
$VR claim "$NIC1" >/dev/null
# The nested guest's whole userland: busybox listing its PCI functions.
mkdir -p $N/bin $N/proc $N/sys $N/dev
cp /bin/busybox $N/bin/busybox
cat >$N/init <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
for d in /sys/bus/pci/devices/*; do
	echo "NESTED-PCI ${d##*/} $(cat $d/vendor) $(cat $d/device)"
done
echo NESTED-DONE
poweroff -f
INIT
chmod +x $N/init
(cd $N && find . | cpio -o -H newc 2>/dev/null | gzip >/tmp/nested.cpio.gz)

while read -r -a accel; do
	t0=$(now_us)
	timeout "$(scaled $([[ ${accel[*]} == *kvm* ]] && echo 120 || echo 450))" \
		$VR qemu "$NIC1" -- qemu-system-x86_64 "${accel[@]}" -m 256 \
		-nodefaults -display none -no-reboot -kernel "$VR_KERNEL" \
		-initrd /tmp/nested.cpio.gz -append "console=ttyS0 panic=-1 quiet" \
		-serial file:/tmp/nested-console.log </dev/null >/tmp/nested-qemu.log 2>&1
	rc=$?
	ktap_diag "nested QEMU (${accel[*]}): boot to poweroff $(( ($(now_us) - t0) / 1000000 )) s (exit $rc)"
	grep -q NESTED-DONE /tmp/nested-console.log && break
	tail -n 25 /tmp/nested-qemu.log /tmp/nested-console.log | ktap_diag
done < <(nested_accels)
ktap_check "the nested guest booted and ran its init" \
	grep -q NESTED-DONE /tmp/nested-console.log
ktap_check "its sysfs lists the assigned NIC as 8086:10d3" \
	grep -q "^NESTED-PCI .* 0x8086 0x10d3" /tmp/nested-console.log
grep NESTED-PCI /tmp/nested-console.log | ktap_diag
ktap_check "after it powered off, release gives the NIC back" $VR release "$NIC1"
ktap_finish
