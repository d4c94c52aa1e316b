#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Safety on the storage and consoles hosts really run (issue 15): each
# refusal names its reason, leaves the device on its driver and comes with
# its positive control (the same check lets the device through once the
# use is gone).
#  - btrfs on the AHCI disk (00:1f.2): its mount carries device number 0:NN,
#    which the checks used to skip; refused by the mount's source.
#  - an LVM LV on an NVMe (04:00.0), active but not mounted: refused because
#    the kernel answers EBUSY to an exclusive open of the NVMe's disk.
#  - active swap on that NVMe: refused, naming the swap.
#  - the boot VGA (QEMU's -vga std): refused.
#  - the shipped helper ignores VFIO_RESERVE_SYSFS/PROCFS (a /proc that does
#    not exist does not pass the root-disk check); the test build, which
#    honours them, fails closed on it.
# The disks are null-co nodes (reads give zeros) under snapshot=on: a
# temporary writable overlay, nothing on the host.
# vm-qemu: -vga std
# vm-qemu: -drive driver=null-co,read-zeroes=on,size=1073741824,if=none,id=d0,snapshot=on -device ide-hd,drive=d0,bus=ide.0
# vm-qemu: -drive driver=null-co,read-zeroes=on,size=1073741824,if=none,id=d1,snapshot=on -device nvme,serial=vrsafe1,drive=d1,bus=rp4
# vm-timeout: 240
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-vm-only: it makes file systems and LVM volumes on QEMU's blank disks
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper
AHCI=0000:00:1f.2
NV=0000:04:00.0
MNT=/tmp/vr-btrfs
# LVM with a read-only /etc: no metadata backups, locks in /run.
LVMCONF='backup { backup=0 archive=0 } global { locking_dir="/run/lock/lvm" } devices { obtain_device_list_from_udev=0 }'

# The disk (not a partition) below ADDR.
disk_of() {
	local b
	for b in /sys/class/block/*; do
		[[ -e $b/partition ]] && continue
		[[ $(readlink -f "$b") == */"$1"/* ]] && { echo "${b##*/}"; return 0; }
	done
	return 1
}

# refused ADDR DRIVER DESC REASON: claim ADDR exits 1 naming REASON and
# --force, and ADDR stays on DRIVER with no override.
refused() {
	local a=$1 drv=$2 desc=$3 why=$4
	run "$VR" claim "$a"
	ktap_check "claim $a ($desc): exit 1, \"$why\"" \
		eval '[[ $cmd_rc == 1 ]] && grep -F "refusing to claim $a" <<<"$cmd_out" | grep -F -- "$why" |
			grep -qF -- "--force"'
	ktap_check "... $a still on $drv, override (null)" \
		eval '[[ $(pci_driver "$a") == "$drv" && $(<"$(pci_dev "$a")/driver_override") == "(null)" ]]'
}

# passes ADDR DESC: the safety checks let ADDR through: add of a rule for
# it is accepted (reclaim=stub leaves a bound device pending), then removed.
passes() {
	run "$VR" add "$1"
	ktap_check "control: add $1 ($2) is accepted" \
		eval '[[ $cmd_rc == 0 ]] && ! grep -q refusing <<<"$cmd_out"'
	"$VR" remove "$1" >/dev/null 2>&1
}

ktap_plan 21
modprobe ahci
modprobe sd_mod
modprobe nvme
modprobe btrfs
modprobe dm_mod
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
ktap_check "$AHCI has its disk" wait_for 30 disk_of "$AHCI"
ktap_check "$NV is on nvme with its disk" \
	wait_for 30 eval '[[ $(pci_driver "$NV") == nvme ]] && disk_of "$NV"'
sd=$(disk_of "$AHCI")
nv=$(disk_of "$NV")

# btrfs: the control first, with the disk idle.
passes "$AHCI" "its disk $sd idle"
mkdir -p "$MNT"
ktap_check "mkfs.btrfs /dev/$sd and mount it on $MNT" \
	eval 'mkfs.btrfs -q -f "/dev/$sd" >/dev/null && mount -t btrfs "/dev/$sd" "$MNT" && echo x >"$MNT/f"'
ktap_check "the mount's device number in mountinfo is 0:NN (anonymous)" \
	eval 'awk -v m="$MNT" '"'"'$5 == m { split($3, d, ":"); found = (d[1] == 0) } END { exit !found }'"'"' /proc/self/mountinfo'
refused "$AHCI" ahci "btrfs on $sd" "it backs the file system mounted on $MNT"
VFIO_RESERVE_PROCFS=/nonexistent VFIO_RESERVE_SYSFS=/nonexistent run "$VR" claim "$AHCI"
ktap_check "the shipped helper ignores VFIO_RESERVE_PROCFS=/nonexistent: still refused for $MNT" \
	eval '[[ $cmd_rc == 1 ]] && grep -qF "it backs the file system mounted on $MNT" <<<"$cmd_out"'
VFIO_RESERVE_PROCFS=/nonexistent run "$VR_TEST" claim "$AHCI"
ktap_check "the test build honours it, and fails closed: cannot tell which file systems are mounted" \
	eval '[[ $cmd_rc == 1 ]] && grep -qF "cannot tell which file systems are mounted" <<<"$cmd_out" &&
		[[ $(pci_driver "$AHCI") == ahci ]]'
umount "$MNT"

# An active LV on the NVMe, not mounted: only the kernel's exclusive
# claim on the disk shows it.
passes "$NV" "its disk $nv idle"
ktap_check "pvcreate, vgcreate vrsafe, lvcreate vrsafe/vm on /dev/$nv (active, not mounted)" \
	eval 'mkdir -p /run/lock/lvm && pvcreate -qq --config "$LVMCONF" "/dev/$nv" >/dev/null &&
		vgcreate -qq --config "$LVMCONF" vrsafe "/dev/$nv" >/dev/null &&
		lvcreate -qq --config "$LVMCONF" -an -Zn -L 64m -n vm vrsafe >/dev/null &&
		lvchange -qq --config "$LVMCONF" -ay vrsafe/vm >/dev/null &&
		ls "/sys/class/block/$nv/holders" | grep -q "^dm-"'
refused "$NV" nvme "the LV vrsafe/vm on $nv" "its disk $nv is in use"
ktap_check "vgchange -an vrsafe: the LV is gone, no holder left" \
	eval 'vgchange -qq --config "$LVMCONF" -an vrsafe >/dev/null && [[ -z $(ls "/sys/class/block/$nv/holders") ]]'

# Swap on the same disk.
ktap_check "mkswap /dev/$nv and swapon" \
	eval 'wipefs -qa "/dev/$nv" && mkswap -q "/dev/$nv" >/dev/null && swapon "/dev/$nv"'
refused "$NV" nvme "swap on $nv" "it backs the active swap /dev/$nv"
ktap_check "swapoff: control, add $NV accepted again" \
	eval 'swapoff "/dev/$nv" && "$VR" add "$NV" >/dev/null 2>&1 && "$VR" remove "$NV" >/dev/null 2>&1'

# The boot VGA: -vga std.
vga=$(for d in /sys/bus/pci/devices/*; do [[ $(cat "$d/boot_vga" 2>/dev/null) == 1 ]] && echo "${d##*/}"; done | head -n 1)
ktap_check "QEMU's -vga std is the boot VGA (boot_vga 1): ${vga:-none}" test -n "$vga"
run "$VR" claim "$vga"
ktap_check "claim $vga: exit 1, the boot VGA device (the host console)" \
	eval '[[ $cmd_rc == 1 ]] && grep -F "refusing to claim $vga" <<<"$cmd_out" | grep -qF "boot VGA"'
ktap_finish
