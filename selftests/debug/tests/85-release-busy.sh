#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DEVICE_RELEASE while a nested QEMU holds the device's group, 100 times:
# always EBUSY, the device never moves (vfio-pci, override kept), QEMU keeps
# its device; once QEMU has exited, release works.
# vm-timeout: 600
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib-debug.sh"

need_fuzz
tries=$(cmdline_param vr.release_tries 100)

ktap_plan 7
ktap_diag "$(debug_features)"
modprobe vfio-pci
ktap_check "modprobe vfio_reserve devices=$NIC1; nic1 on vfio-pci" \
	eval 'modprobe vfio_reserve devices="$NIC1" && wait_for 20 eval "[[ \$(pci_driver $NIC1) == vfio-pci ]]"'
record_module_range
group=$(pci_group "$NIC1")
qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64 \
	-device vfio-pci,host="$NIC1" >/tmp/nested.log 2>&1 &
qpid=$!
holds_group() {
	ls -l /proc/$qpid/fd 2>/dev/null | grep -q "/dev/vfio/$group\$"
}
ktap_check "a nested QEMU holds /dev/vfio/$group" wait_for 60 holds_group
t0=$(now_us)
"$FUZZ" cmd release "$NIC1" "$tries" >/tmp/release.out
secs_ms=$((($(now_us) - t0) / 1000))
ktap_diag "release x$tries in $secs_ms ms:"
ktap_diag <"/tmp/release.out"
ktap_check "$tries releases: every one EBUSY" \
	eval '[[ $(</tmp/release.out) == "$tries EBUSY" ]]'
ktap_check "nic1 never moved: vfio-pci, override vfio-pci, QEMU still holds the group" \
	eval '[[ $(pci_driver "$NIC1") == vfio-pci &&
		$(<"$(pci_dev "$NIC1")/driver_override") == vfio-pci ]] && holds_group &&
		[[ $(probe_log vfio-pci "$NIC1") == 1 ]]'
kill "$qpid"
wait "$qpid" 2>/dev/null
ktap_check "once QEMU has exited, release succeeds" eval '"$FUZZ" cmd release "$NIC1" | grep -qx ok'
n_splat=$(splat_count)
ktap_check "no splat in dmesg (count $n_splat)" eval '[[ $n_splat == 0 ]]'
rmmod vfio_reserve
if has_kmemleak; then
	ktap_check "kmemleak: nothing from vfio_reserve" kmemleak_check "after the releases"
else
	ktap_skip "kmemleak: nothing from vfio_reserve" "no kmemleak in this kernel"
fi
ktap_diag "RELEASE-TOTAL tries=$tries ebusy=$(awk '$2 == "EBUSY" { print $1 }' /tmp/release.out) splats=$n_splat leaks=$KMEMLEAK_OURS"
ktap_finish
