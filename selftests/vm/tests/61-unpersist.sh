#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `unpersist` undoes `persist` and regenerates the initramfs with Debian's
# update-initramfs: every file is back byte for byte and the new initramfs
# carries neither the module nor the options. The stale initramfs before it
# does carry the options (an early cpio archive holding persist's modprobe.d
# file, placed in front as early microcode is), so an unpersist that did not
# regenerate fails. 60-persist regenerates through persist and boots it.
# persist pins the address to the ids there (issue 15), and refuses an
# address with no device.
# vm-timeout: 360
# vr-roles: nic
# vr-vm-only: it regenerates the running kernel's initramfs (in the VM over tmpfs overlays of /etc, /boot and /var): a host's could be left unbootable
# vr-destructive: it writes the boot configuration (/etc/modprobe.d) and regenerates the initramfs
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 7
. "$VR_SELFTESTS/vm/persist-setup.sh"
before=$(snapshot)
modprobe e1000e
# An address with no device cannot be pinned: refused, nothing written.
run $VR persist --no-initramfs 0000:0f:00.0
ktap_check "persist of an address with no device (0000:0f:00.0): refused, nothing written" \
	eval '(( cmd_rc == 1 )) && grep -qF "no device at 0000:0f:00.0 to pin it to" <<<"$cmd_out" &&
		[[ "$(snapshot)" == "$before" ]]'
run $VR persist --no-initramfs "$NIC1"
ktap_check "persist --no-initramfs $NIC1 writes the options (pinned to 8086:10d3), the softdep and the module list" \
	eval '(( cmd_rc == 0 )) && grep -qx "options vfio_reserve devices=$NIC1#8086:10d3" $CONF &&
		grep -qx "softdep e1000e pre: vfio_reserve" $CONF &&
		grep -qx vfio_reserve /etc/initramfs-tools/modules'
# The initramfs as persist would have left it: the options in it.
mkdir -p /tmp/early/etc/modprobe.d
cp "$CONF" /tmp/early/etc/modprobe.d/
(cd /tmp/early && find . | cpio -o -H newc --quiet) >/tmp/early.cpio
cat /tmp/early.cpio "$INITRD" >/tmp/stale.img && cp /tmp/stale.img "$INITRD"
ktap_check "precondition: the stale initramfs carries the options" \
	eval 'lsinitramfs $INITRD | grep -q "etc/modprobe.d/vfio-reserve.conf"'
stale=$(sha256sum <"$INITRD")
t0=$(now_us)
run $VR unpersist
ktap_diag "unpersist (with update-initramfs): $(( ($(now_us) - t0) / 1000000 )) s"
ktap_check "unpersist succeeds, running update-initramfs -u -k all" \
	eval '(( cmd_rc == 0 )) && ran_update_initramfs "-u -k all"'
ktap_check "every file is back byte for byte" eval '[[ "$(snapshot)" == "$before" ]]'
listing=$(lsinitramfs "$INITRD")
ktap_check "the initramfs was regenerated: another image, without the options or the module" \
	eval '[[ "$(sha256sum <"$INITRD")" != "$stale" ]] &&
		! grep -q "etc/modprobe.d/vfio-reserve.conf" <<<"$listing" &&
		! grep -q "/vfio_reserve.ko" <<<"$listing"'
ktap_check "and it is a whole initramfs (the NIC driver of the module list in it)" \
	eval 'grep -q "/e1000e.ko" <<<"$listing"'
ktap_finish
