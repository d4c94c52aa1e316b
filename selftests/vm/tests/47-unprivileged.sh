#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The helper as an unprivileged user (nobody): the read commands work; claim,
# release, add and remove are refused with "permission denied" (the family's
# GENL_ADMIN_PERM) and change nothing, as sysfs and root's view show.
# Nor may a user with CAP_NET_ADMIN alone (a container on the host's
# network, a network daemon) write (issue 15): writes need CAP_SYS_ADMIN.
# vm-matrix: every-kernel
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-roles: nic
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper

RUN_DIAG_LINES=8 # run shows at most 8 lines of output

nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

# nobody with CAP_NET_ADMIN (bit 12) in its effective set, nothing else.
netadmin() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=+net_admin --ambient-caps=+net_admin "$@"
}

# NIC1's driver and override, as sysfs has them.
nic1_state() {
	echo "$(pci_driver "$NIC1") $(<"$(pci_dev "$NIC1")/driver_override")"
}

denied() {
	[[ $cmd_rc == 2 ]] && grep -qi "permission denied" <<<"$cmd_out"
}

ktap_plan 17
modprobe e1000e
ktap_check "$NIC1 is on e1000e" wait_for 30 eval '[[ $(pci_driver "$NIC1") == e1000e ]]'
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
ktap_check "nobody can run the helper" nobody "$VR" --help

run nobody "$VR" list
ktap_check "list as nobody: exit 0, the same table as root's" \
	eval '[[ $cmd_rc == 0 && $cmd_out == "$("$VR" list 2>&1)" ]]'
run nobody "$VR" rules
ktap_check "rules as nobody: exit 0, the same as root's" \
	eval '[[ $cmd_rc == 0 && $cmd_out == "$("$VR" rules 2>&1)" ]]'
run nobody "$VR" groups
ktap_check "groups as nobody: exit 0, the same as root's" \
	eval '[[ $cmd_rc == 0 && $cmd_out == "$("$VR" groups 2>&1)" ]]'

run nobody "$VR" claim "$NIC1"
ktap_check "claim $NIC1 as nobody: exit 2 (no permission), permission denied; still on e1000e" \
	eval 'denied && [[ $(nic1_state) == "e1000e (null)" ]]'

ktap_check "(root claims $NIC1)" "$VR" claim "$NIC1"
run nobody "$VR" release "$NIC1"
ktap_check "release $NIC1 as nobody: exit 2 (no permission), permission denied; still on vfio-pci" \
	eval 'denied && [[ $(nic1_state) == "vfio-pci vfio-pci" ]]'

run nobody "$VR" add 8086:ffff
ktap_check "add 8086:ffff as nobody: exit 2 (no permission), permission denied; no rule" \
	eval 'denied && ! "$VR" rules | grep -q "^8086:ffff "'
"$VR" add 8086:ffff >/dev/null
run nobody "$VR" remove 8086:ffff
ktap_check "remove 8086:ffff as nobody: exit 2 (no permission), permission denied; the rule root added is still there" \
	eval 'denied && "$VR" rules | grep -q "^8086:ffff "'

ktap_check "a CAP_NET_ADMIN-only user: uid 65534, effective capabilities 0x1000 alone" \
	eval '[[ $(netadmin awk '"'"'/^(Uid|CapEff):/ { print $2 }'"'"' /proc/self/status | xargs) == "65534 0000000000001000" ]]'
run netadmin "$VR" list
ktap_check "list as that user: exit 0" eval '[[ $cmd_rc == 0 ]]'
run netadmin "$VR" release "$NIC1"
ktap_check "release $NIC1 with CAP_NET_ADMIN alone: permission denied; still on vfio-pci" \
	eval 'denied && [[ $(nic1_state) == "vfio-pci vfio-pci" ]]'
run netadmin "$VR" remove 8086:ffff
ktap_check "remove 8086:ffff with CAP_NET_ADMIN alone: permission denied; the rule is still there" \
	eval 'denied && "$VR" rules | grep -q "^8086:ffff "'
run netadmin "$VR" add 8086:fffe
ktap_check "add 8086:fffe with CAP_NET_ADMIN alone: permission denied; no such rule" \
	eval 'denied && ! "$VR" rules | grep -q "^8086:fffe "'
"$VR" release "$NIC1" >/dev/null
wait_for 30 eval '[[ $(pci_driver "$NIC1") == e1000e ]]'
run netadmin "$VR" claim "$NIC1"
ktap_check "claim $NIC1 (on e1000e again) with CAP_NET_ADMIN alone: permission denied; still on e1000e" \
	eval 'denied && [[ $(pci_driver "$NIC1") == e1000e ]]'
ktap_finish
