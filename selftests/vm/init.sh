#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the VM tests' initramfs (built by vm.py): mount the host's / read-only
# over 9p at /newroot, make it fit to run tests, run guest.sh in it, power off.
#
# Kernel command line (set by vm.py): vr.top= vr.modroot= vr.test= vr.ko= vr.shell=

/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
R=/newroot

halt_vm() {
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
	while :; do sleep 60; done	# init must never exit
}

fail() {
	echo "VR-INIT-FAILED: $*"
	halt_vm
}

# The path PATH names inside the new root (its symlinks are relative to it).
in_root() {
	chroot "$R" /bin/busybox readlink -f "$1"
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

VR_TOP='' VR_MODROOT='' VR_TEST='' VR_KO=0 VR_SHELL=0 VR_KERNEL='' VR_TIMEOUT_FACTOR=1 VR_IOMMU=intel
set -f
# shellcheck disable=SC2013 # words, not lines
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	vr.top=*) VR_TOP=${arg#*=} ;;
	vr.modroot=*) VR_MODROOT=${arg#*=} ;;
	vr.test=*) VR_TEST=${arg#*=} ;;
	vr.ko=*) VR_KO=${arg#*=} ;;
	vr.shell=*) VR_SHELL=${arg#*=} ;;
	vr.kernel=*) VR_KERNEL=${arg#*=} ;;
	vr.timeout_factor=*) VR_TIMEOUT_FACTOR=${arg#*=} ;;
	vr.iommu=*) VR_IOMMU=${arg#*=} ;;
	esac
done
set +f
VR_KVER=$(uname -r)
if [ -z "$VR_TOP" ] || [ -z "$VR_MODROOT" ]; then
	fail "vr.top= and vr.modroot= are required"
fi

for ko in /modules/*.ko; do
	[ -e "$ko" ] || continue	# none: a kernel with 9p built in
	insmod "$ko" || fail "insmod $ko"
done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro \
	hostroot "$R" || fail "cannot mount the host's / over 9p"

# A tmpfs over DIR, keeping visible the test's own paths that lie under it
# (a repository in /root, say): they are bind-held aside and moved back on top.
keep="$VR_TOP $VR_MODROOT ${VR_TEST%/*} ${VR_KERNEL%/*}"
cover() {
	dir=$(in_root "$1") mode=$2 held='' n=0
	for p in $keep; do
		case "$p/" in "$dir"/*) ;; *) continue ;; esac
		n=$((n + 1))
		mkdir -p "/hold/$n"
		mount --bind "$R$p" "/hold/$n" || fail "bind $p"
		held="$held $n:$p"
	done
	mount -t tmpfs -o "mode=$mode" tmpfs "$R$dir" || fail "tmpfs on $dir"
	for h in $held; do
		mkdir -p "$R${h#*:}"
		mount --move "/hold/${h%%:*}" "$R${h#*:}" || fail "move back ${h#*:}"
	done
}

mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount -t devtmpfs devtmpfs "$R/dev"
mkdir -p "$R/dev/pts" "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"	# what udev would add: bash's <(...) needs it
ln -s fd/0 "$R/dev/stdin"
ln -s fd/1 "$R/dev/stdout"
ln -s fd/2 "$R/dev/stderr"
mount -t devpts -o mode=620,ptmxmode=666 devpts "$R/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
mount -t debugfs debugfs "$R/sys/kernel/debug" 2>/dev/null
[ -d "$R/sys/kernel/tracing" ] && mount -t tracefs tracefs "$R/sys/kernel/tracing"
cover /tmp 1777
cover /run 0755
cover /root 0700

# Plain `modprobe vfio_reserve` in the new root finds the module under test.
[ -d "$R$VR_MODROOT/lib/modules/$VR_KVER" ] ||
	fail "no module tree $VR_MODROOT/lib/modules/$VR_KVER"
libmod=$(in_root /lib/modules)
if [ ! -d "$R$libmod/$VR_KVER" ]; then
	# A kernel the host does not have installed (vm.py --kernel --moddir):
	# a tmpfs over /lib/modules gives it a mount point.
	mount -t tmpfs -o mode=0755 tmpfs "$R$libmod" || fail "tmpfs on $libmod"
	mkdir -p "$R$libmod/$VR_KVER"
fi
modules=$(in_root "/lib/modules/$VR_KVER")
mount --bind "$R$VR_MODROOT/lib/modules/$VR_KVER" "$R$modules" ||
	fail "bind the module tree over $modules"
# request_module() runs the helper in this root, not in the new one.
echo /sbin/vr-modprobe >/proc/sys/kernel/modprobe

hostname vr-guest
ip link set lo up

export VR_TOP VR_MODROOT VR_TEST VR_KO VR_KVER VR_KERNEL VR_TIMEOUT_FACTOR VR_IOMMU
echo "VR-READY uptime=$(cut -d' ' -f1 /proc/uptime)"

# After the test, on a kernel with kmemleak: scan, and report how many
# unreferenced objects there are, and in full those that vfio_reserve
# allocated (vm.py fails the test on any).
kmemleak_report() {
	f=$R/sys/kernel/debug/kmemleak
	[ -w "$f" ] || return 0
	echo "VR-KMEMLEAK-SCAN"
	t0=$(cut -d' ' -f1 /proc/uptime)
	# A scan reports an object only when it is unreferenced with the
	# contents the scan before saw (the first scan takes the checksums:
	# update_checksum()), and 5 s old when the scan starts
	# (jiffies_min_age): the second scan starts 5 s after the first did,
	# not 5 s after it ended (a scan takes 6-8 s on the debug kernel here).
	echo scan >"$f"
	rest=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" \
		'BEGIN { r = 5 - (b - a); printf "%d", (r > 0 ? r + 0.999 : 0) }')
	[ "$rest" -gt 0 ] && sleep "$rest"
	echo scan >"$f"
	cat "$f" >/tmp/kmemleak.txt
	t1=$(cut -d' ' -f1 /proc/uptime)
	awk -v t0="$t0" -v t1="$t1" '
	function flush() {
		if (blk == "") return
		total++
		if (blk ~ /vfio_reserve/) { ours++; printf "%s", blk }
		else if (blk ~ /\] 0xffffffff[a-f0-9]+\n/) unresolved++
		blk = ""
	}
	/^unreferenced object/ { flush() }
	{ blk = blk "VR-KMEMLEAK: " $0 "\n" }
	END {
		flush()
		printf "VR-KMEMLEAK-END total=%d vfio_reserve=%d unresolved=%d seconds=%.1f\n",
			total, ours, unresolved, t1 - t0
	}' /tmp/kmemleak.txt
}

if [ -n "$VR_TEST" ]; then
	chroot "$R" /bin/bash "$VR_TOP/selftests/vm/guest.sh"
	kmemleak_report
fi
if [ "$VR_SHELL" = 1 ]; then
	echo "VR-SHELL: exit the shell to power off; . \$VR_TOP/selftests/vm/lib.sh for the helpers"
	setsid cttyhack chroot "$R" /bin/bash -l
fi
halt_vm
