#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# End to end: a nested guest started by `vfio-reserve qemu` boots a kernel
# and its own sysfs lists the assigned NIC with the host's ids. TCG in TCG
# (93 s to power-off alone): nested_accels in lib.sh says why not KVM. On a
# host, KVM, or TCG when VR_NESTED_TCG=1 says minutes are fine.
# vm-timeout: 600
# vr-roles: nic
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
kernel=${VR_KERNEL:-/boot/vmlinuz-$(uname -r)}
[[ -r $kernel ]] || ktap_exit_skip "no kernel image to boot: $kernel"
command -v busybox >/dev/null || ktap_exit_skip "no busybox for the nested guest's userland"
vr_on_vm || [[ -w /dev/kvm || ${VR_NESTED_TCG:-} == 1 ]] ||
	ktap_exit_skip "no KVM: a nested boot under TCG takes minutes (VR_NESTED_TCG=1 runs it)"
N=$(mktemp -d /tmp/vr-nested.XXXXXX)
vr_defer "rm -rf '$N'"
ids=$(pci_ids "$NIC1")

ktap_plan 3
modprobe vfio_reserve
$VR claim "$NIC1" >/dev/null
# The nested guest's whole userland: busybox listing its PCI functions.
mkdir -p $N/root/bin $N/root/proc $N/root/sys $N/root/dev
cp "$(command -v busybox)" $N/root/bin/busybox
cat >$N/root/init <<'INIT'
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
chmod +x $N/root/init
(cd $N/root && find . | cpio -o -H newc 2>/dev/null | gzip >$N/nested.cpio.gz)

while read -r -a accel; do
	t0=$(now_us)
	timeout "$(scaled $([[ ${accel[*]} == *kvm* ]] && echo 120 || echo 450))" \
		$VR qemu "$NIC1" -- qemu-system-x86_64 "${accel[@]}" -m 256 \
		-nodefaults -display none -no-reboot -kernel "$kernel" \
		-initrd $N/nested.cpio.gz -append "console=ttyS0 panic=-1 quiet" \
		-serial file:$N/console.log </dev/null >$N/qemu.log 2>&1
	rc=$?
	ktap_diag "nested QEMU (${accel[*]}): boot to poweroff $(( ($(now_us) - t0) / 1000000 )) s (exit $rc)"
	grep -q NESTED-DONE $N/console.log && break
	tail -n 25 $N/qemu.log $N/console.log | ktap_diag
done < <(nested_accels)
ktap_check "the nested guest booted and ran its init" \
	grep -q NESTED-DONE $N/console.log
ktap_check "its sysfs lists the assigned NIC as $ids" \
	grep -q "^NESTED-PCI .* 0x${ids%:*} 0x${ids#*:}" $N/console.log
grep NESTED-PCI $N/console.log | ktap_diag
ktap_check "after it powered off, release gives the NIC back" $VR release "$NIC1"
ktap_finish
