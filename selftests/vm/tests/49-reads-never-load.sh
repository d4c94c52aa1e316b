#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Reads never load the module (issue 15): loading applies the devices= of
# modprobe.d and takes devices from their drivers, so it is root's act. The
# module has no genl family alias. With it installed and loadable but not
# loaded, and a modprobe.d line that would reserve nic1: status, list,
# groups, rules and check, as root and as nobody, and a raw resolve of the
# family (genl ctrl get) leave it unloaded and nic1 on its driver (e1000e
# in the VM). The positive
# control: root's add runs modprobe, which loads it with the modprobe.d
# line's options.
# vm-matrix: every-kernel
# vr-roles: nic
# vr-destructive: it bind-mounts a copy of /etc/modprobe.d with an options line for vfio_reserve over /etc/modprobe.d while it runs
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper

nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}
loaded() { [[ -e /sys/module/vfio_reserve ]]; }

need_module_unloaded
ktap_plan 6
native=$(native_driver "$NIC1")
# modprobe.d as an operator would write it, over a copy (the VM's root is
# read-only; a host's /etc is not the test's to write), unmounted at exit.
conf=$(mktemp -d /tmp/vr-modprobe.d.XXXXXX)
cp -a /etc/modprobe.d/. "$conf"/ 2>/dev/null
echo "options vfio_reserve devices=$NIC1" >"$conf/vr-test.conf"
mount --bind "$conf" /etc/modprobe.d && vr_defer "umount /etc/modprobe.d && rm -rf '$conf'"
modprobe "$native"
ktap_check "$NIC1 is on $native, vfio_reserve not loaded but installed (modprobe -n finds it)" \
	eval 'wait_for 30 eval "[[ \$(pci_driver $NIC1) == $native ]]" && ! loaded &&
		modprobe -n vfio_reserve'

rcs=''
for who in "" nobody; do
	for cmd in status list groups rules "check $NIC1"; do
		# shellcheck disable=SC2086 # cmd's words
		$who "$VR" $cmd >/dev/null 2>&1
		rcs+=" ${who:-root}:${cmd%% *}=$?"
	done
done
ktap_diag "exit statuses:$rcs"
ktap_check "status, list, groups, rules, check as root and as nobody: not loaded" \
	eval '! loaded'
nobody genl ctrl get name vfio-reserve >/dev/null 2>&1
"$VR" remove 8086:ffff >/dev/null 2>&1
ktap_check "a raw resolve of the family as nobody, and root's remove: not loaded" \
	eval '! loaded'
ktap_check "... and $NIC1 is still on $native" \
	eval '[[ $(pci_driver "$NIC1") == "$native" ]]'

# The positive control: a write as root loads it, with modprobe.d's options.
"$VR" add 8086:ffff >/dev/null
ktap_check "root's add 8086:ffff: the module is loaded, the rule is there" \
	eval 'loaded && "$VR" rules | grep -q "^8086:ffff "'
ktap_check "... with modprobe.d's options: devices=$NIC1 is a rule" \
	eval '"$VR" rules | grep -q "^$NIC1 "'
ktap_finish
