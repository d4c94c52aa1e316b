#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot-time persistence as deployed, with Debian's own tools: `persist`
# writes modprobe.d and the initramfs-tools configuration and regenerates
# the initramfs with update-initramfs; that initramfs, booted (nested) with
# the e1000e pair, reserves the chosen NIC before e1000e can probe it and
# leaves the other to e1000e. `unpersist` restores every file byte for byte
# and the regenerated initramfs no longer carries the options. The guest's
# /etc, /boot and /var are overlays on tmpfs: the host is never touched.
# vm-timeout: 1500
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
KVER=$(uname -r)
INITRD=/boot/initrd.img-$KVER
CONF=/etc/modprobe.d/vfio-reserve.conf

ktap_plan 9
modprobe overlay
for d in /etc /boot /var; do
	mkdir -p "/tmp/ov$d/u" "/tmp/ov$d/w"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=/tmp/ov$d/u,workdir=/tmp/ov$d/w" "$d"
done
export TMPDIR=/tmp
# The kernels update-initramfs -u -k all sees: the running one only (the
# host may have more, such as the kernel matrix's 6.12: regenerating theirs
# too would double the time and prove nothing more). A
# kernel booted from outside /boot (the debug tier's) is installed as a
# package would install it: the image, its config (mkinitramfs reads it;
# build-kernel.sh keeps it beside the image) and an initramfs to update.
if [[ ! -e /boot/vmlinuz-$KVER ]]; then
	cp "$VR_KERNEL" "/boot/vmlinuz-$KVER"
	cp "${VR_KERNEL%/*}/config" "/boot/config-$KVER"
	: >"$INITRD"
fi
for img in /boot/initrd.img-*; do
	[[ $img == "$INITRD" ]] || rm -f "$img"
done
# A small initramfs, as on a host that lists its modules (MODULES=most takes
# many minutes under TCG): the NIC driver, as for a network boot. Listed
# first, e1000e would load first but for persist's softdep.
sed -i 's/^MODULES=.*/MODULES=list/' /etc/initramfs-tools/initramfs.conf
# zstd's fastest level: the default, 9, is a large share of each
# regeneration under TCG, and the level changes nothing the test checks.
echo COMPRESSLEVEL=1 >>/etc/initramfs-tools/initramfs.conf
echo e1000e >>/etc/initramfs-tools/modules
snapshot() {
	(cd /etc && find modprobe.d initramfs-tools -type f -exec sha256sum {} + | sort) 2>/dev/null
	[[ -e $CONF ]] && echo "$CONF exists"
}
before=$(snapshot)
modprobe e1000e
t0=$(now_us)
$VR persist "$NIC1" >/tmp/persist.out 2>&1
rc=$?
ktap_diag <"/tmp/persist.out"
ktap_diag "persist (with update-initramfs): $(( ($(now_us) - t0) / 1000000 )) s"
ktap_check "persist $NIC1 succeeds" eval "(( $rc == 0 ))"
ktap_check "it wrote the options and a softdep before e1000e" \
	eval 'grep -qx "options vfio_reserve devices=$NIC1" $CONF &&
		grep -qx "softdep e1000e pre: vfio_reserve" $CONF &&
		grep -qx vfio_reserve /etc/initramfs-tools/modules'
ktap_check "the regenerated initramfs has the module and the options" \
	eval 'lsinitramfs $INITRD | grep -q "/vfio_reserve.ko" &&
		lsinitramfs $INITRD | grep -q "etc/modprobe.d/vfio-reserve.conf"'

# Boot that kernel and initramfs with the e1000e pair as in the outer VM
# (00:02.0, and 01:00.0 behind a root port), stop before the root is
# mounted (break=premount; no panic=, or the initramfs reboots instead of
# giving a shell), and look.
look='for d in 0000:00:02.0 0000:01:00.0; do echo "VR-NIC $d driver=$(basename "$(readlink /sys/bus/pci/devices/$d/driver)") override=$(cat /sys/bus/pci/devices/$d/driver_override) net=$(ls /sys/bus/pci/devices/$d/net 2>/dev/null)"; done; echo "VR-MOD $(grep -o "^vfio_reserve\|^e1000e" /proc/modules | tr "\n" " ")"'
while read -r -a accel; do
	t0=$(now_us)
	$VR_TOP/selftests/vm/expect-initramfs.py "$(scaled 600)" "$look" -- qemu-system-x86_64 "${accel[@]}" \
		-M q35,kernel-irqchip=split -m 512 -nodefaults -display none -no-reboot \
		-device intel-iommu,intremap=on -serial stdio \
		-device e1000e,netdev=a,addr=0x2,romfile= -netdev user,id=a,restrict=on \
		-device pcie-root-port,id=rp,chassis=1,addr=0x3 \
		-device e1000e,netdev=b,bus=rp,romfile= -netdev user,id=b,restrict=on \
		-kernel "/boot/vmlinuz-$KVER" -initrd $INITRD \
		-append "console=ttyS0 intel_iommu=on break=premount" </dev/null >/tmp/nested.out 2>&1
	rc=$?
	ktap_diag "nested QEMU (${accel[*]}): exit $rc after $(( ($(now_us) - t0) / 1000000 )) s"
	((rc == 0)) && break
	tail -n 25 /tmp/nested.out | tr -d '\r' | ktap_diag
done < <(nested_accels)
grep -a "VR-NIC\|VR-MOD\|vfio_reserve" /tmp/nested.out | tr -d '\r' | ktap_diag
ktap_check "in the booted initramfs, the chosen NIC is reserved for vfio-pci, no netdev" \
	grep -aq "^VR-NIC 0000:01:00.0 driver=vfio-pci override=vfio-pci net=\s*$" <(tr -d '\r' </tmp/nested.out)
ktap_check "e1000e never probed it and keeps the other NIC" \
	eval 'grep -aq "^VR-NIC 0000:00:02.0 driver=e1000e override=(null) net=[a-z]" <(tr -d "\r" </tmp/nested.out) &&
		! grep -q "e1000e 0000:01:00.0" /tmp/nested.out'
ktap_check "the module logged the reservation by its boot rule" \
	grep -q "vfio_reserve: 0000:01:00.0: reserved for vfio-pci by rule 0000:01:00.0" /tmp/nested.out

t0=$(now_us)
$VR unpersist >/tmp/unpersist.out 2>&1
rc=$?
ktap_diag <"/tmp/unpersist.out"
ktap_diag "unpersist (with update-initramfs): $(( ($(now_us) - t0) / 1000000 )) s"
ktap_check "unpersist succeeds" eval "(( $rc == 0 ))"
ktap_check "every file is back byte for byte" eval '[[ "$(snapshot)" == "$before" ]]'
ktap_check "the regenerated initramfs no longer has the options" \
	eval '! lsinitramfs $INITRD | grep -q "etc/modprobe.d/vfio-reserve.conf"'
ktap_finish
