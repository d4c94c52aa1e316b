# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # KVER, INITRD, CONF are for the tests
# Sourced by 60-persist and 61-unpersist, after lib.sh and ktap_plan: the
# guest's /etc, /boot and /var become overlays on tmpfs (the host is never
# touched), /boot keeps the running kernel's initramfs only, and
# initramfs-tools is set up as on a host that lists its modules. Defines
# KVER, INITRD, CONF, snapshot (the files persist and unpersist may
# change, with their checksums) and ran_update_initramfs.
KVER=$(uname -r)
INITRD=/boot/initrd.img-$KVER
CONF=/etc/modprobe.d/vfio-reserve.conf

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
# Under vm.py, update-initramfs runs Debian's mkinitramfs on the host's CPU
# (bin/update-initramfs, vm.py's vr-mkinitramfs): about 450 s in the TCG
# guest, seconds natively. Each call is logged to /tmp/update-initramfs.calls.
# Elsewhere (a real host) it is Debian's own.
INITRAMFS_ON_HOST=
rm -f /tmp/update-initramfs.calls /tmp/update-initramfs.image
if [[ -n ${VR_KVER:-} ]] && host_ms >/dev/null; then
	export PATH=$VR_SELFTESTS/vm/bin:$PATH
	INITRAMFS_ON_HOST=1
fi
# ran_update_initramfs ARGS: update-initramfs was called once, with ARGS
# (where the calls are logged).
ran_update_initramfs() {
	[[ -z $INITRAMFS_ON_HOST || $(cat /tmp/update-initramfs.calls 2>/dev/null) == "$1" ]]
}
snapshot() {
	(cd /etc && find modprobe.d initramfs-tools -type f -exec sha256sum {} + | sort) 2>/dev/null
	[[ -e $CONF ]] && echo "$CONF exists"
}
