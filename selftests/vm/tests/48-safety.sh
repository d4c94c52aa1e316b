#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Safety: the helper refuses, without --force, to take a device the host
# needs. The disk controller (the VM's AHCI at 00:1f.2, with a vvfat disk of
# selftests/unit this test mounts; on a host, the map's disk role and a
# file system mounted from it) backs a mounted file system: claim, and add
# of a rule that selects it, are refused and it stays on its driver; a rule
# that excludes it is accepted; --force add goes through with a warning.
# NIC0 carrying a default route: claim is refused, naming the route. NIC1
# with a default route only in a VRF's table, and MF0 carrying the SSH
# session (SSH_CONNECTION): refused too. The addresses are of 198.18.0.0/15
# (RFC 2544: for tests), the routes have metric 4242, the VRF table 4242;
# all of it is undone at exit (vr_defer).
# ide-hd refuses a read-only node (vvfat without rw: is one): snapshot=on puts
# a temporary writable overlay on top, so nothing ever reaches the host's
# directory (and the guest mounts it read-only anyway).
# vm-qemu: -drive file=fat:@TOP@/selftests/unit,format=raw,if=none,id=d0,snapshot=on -device ide-hd,drive=d0,bus=ide.0
# vm-timeout: 180
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-roles: nic nic-twin mf-pair disk
# vr-destructive: it adds a default route, a VRF and addresses on the map's NICs, and a --force rule for the disk controller
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper
need_module_unloaded
AHCI=$DISK
AHCI_ID=$(pci_ids "$DISK")

# The block devices below ADDR: partitions first, then whole disks.
disk_parts() {
	local b
	for b in /sys/class/block/*; do
		[[ $(readlink -f "$b") == */"$1"/* && -e $b/partition ]] && echo "${b##*/}"
	done
	for b in /sys/class/block/*; do
		[[ $(readlink -f "$b") == */"$1"/* && ! -e $b/partition ]] && echo "${b##*/}"
	done
}

# The mount point of a file system on a block device below ADDR (directly,
# or through one device-mapper or md layer), the shortest first.
mounted_from() {
	local src mnt rest name s
	while read -r src mnt rest; do
		[[ $src == /dev/* ]] || continue
		name=$(basename "$(readlink -f "$src")")
		for s in "$name" $(ls "/sys/class/block/$name/slaves" 2>/dev/null); do
			[[ $(readlink -f "/sys/class/block/$s") == */"$1"/* ]] && { echo "$mnt"; break; }
		done
	done </proc/mounts | awk '{ print length($0), $0 }' | sort -n | cut -d' ' -f2- | head -n 1
}

# The first network interface of ADDR.
netdev_of() {
	find "$(pci_dev "$1")/net" -mindepth 1 -maxdepth 1 -printf "%f\n" 2>/dev/null | head -n 1
}

ktap_plan 24
modprobe sd_mod
if vr_on_vm; then
	modprobe ahci
	modprobe vfat
	for m in nls_cp437 nls_utf8 nls_iso8859-1 nls_ascii; do modprobe -q "$m"; done
fi
disk_drv=$(native_driver "$AHCI")
ktap_check "$AHCI is on ${disk_drv:-its driver}" wait_for 30 eval '[[ -n $disk_drv && $(pci_driver "$AHCI") == "$disk_drv" ]]'
ktap_check "its disk has appeared" wait_for 30 eval '[[ -n $(disk_parts "$AHCI") ]]'
if vr_on_vm; then
	part=$(disk_parts "$AHCI" | head -n 1)
	MNT=/tmp/vr-disk
	mkdir -p "$MNT"
	ktap_check "mount /dev/$part (vfat, read-only) on $MNT" \
		mount -t vfat -o ro "/dev/$part" "$MNT"
	ktap_check "the mounted disk shows the host's selftests/unit" \
		eval 'ls "$MNT" | grep -qi "selector_test.c"'
else
	MNT=$(mounted_from "$AHCI")
	ktap_check "a file system from $AHCI is mounted: ${MNT:-none}" eval '[[ -n $MNT ]]'
	ktap_check "... and readable" ls "$MNT"
fi
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
disk=$(disk_parts "$AHCI" | while read -r b; do [[ -e /sys/class/block/$b/partition ]] || { echo "$b"; break; }; done)
ktap_check "list: $AHCI's line ends in block=$disk *Active* (it backs $MNT); --json says why" \
	eval '[[ -n $disk ]] && "$VR" list "$AHCI" | grep -qE "^$AHCI .* block=$disk \*Active\*$" &&
		vrjson list "$AHCI" | python3 -c "
import json, sys
d = json.load(sys.stdin)[0]
assert d[\"block_devices\"] == [sys.argv[1]] and d[\"active\"] and sys.argv[2] in d[\"active_why\"], d
" "$disk" "$MNT"'

run "$VR" claim "$AHCI"
ktap_check "claim $AHCI exits 1: it backs the file system mounted on $MNT" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "it backs the file system mounted on $MNT" <<<"$cmd_out" &&
		grep -q -- "--force" <<<"$cmd_out"'
ktap_check "$AHCI is still on $disk_drv, override (null), the file system still readable" \
	eval '[[ $(pci_driver "$AHCI") == "$disk_drv" && $(<"$(pci_dev "$AHCI")/driver_override") == "(null)" ]] &&
		ls "$MNT" >/dev/null'
run "$VR" add "$AHCI"
ktap_check "add $AHCI is refused (exit 1) naming $MNT; no rule" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "mounted on $MNT" <<<"$cmd_out" && [[ $("$VR" rules) == "no rules" ]]'
run "$VR" add "$AHCI_ID"
ktap_check "add $AHCI_ID is refused (exit 1) naming $AHCI; no rule" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "$AHCI" <<<"$cmd_out" && [[ $("$VR" rules) == "no rules" ]]'
run "$VR" add "$AHCI_ID,!$AHCI"
ktap_check "add '$AHCI_ID,!$AHCI' (it excludes the controller) is accepted" \
	eval '[[ $cmd_rc == 0 ]] && "$VR" rules | grep -q "^!$AHCI "'
ktap_check "and $AHCI is still on $disk_drv with no override" \
	eval '[[ $(pci_driver "$AHCI") == "$disk_drv" && $(<"$(pci_dev "$AHCI")/driver_override") == "(null)" ]]'

# The default route through NIC0 (metric 4242: on a host, below its own).
native=$(native_driver "$NIC0")
modprobe "$native"
ktap_check "$NIC0 is on $native with a netdev" \
	wait_for 30 eval '[[ $(pci_driver "$NIC0") == "$native" && -n $(netdev_of "$NIC0") ]]'
ifname=$(netdev_of "$NIC0")
# What this test adds, undone at exit on a host (the VM just ends).
link_was_up() {
	ip -o link show dev "$1" | grep -q "[<,]UP[,>]"
}
link_was_up "$ifname" || vr_defer "ip link set dev '$ifname' down"
ip link set "$ifname" up
ip addr add 198.18.2.15/24 dev "$ifname" && vr_defer "ip addr del 198.18.2.15/24 dev '$ifname'"
wait_for 20 eval '[[ $(<"/sys/class/net/$ifname/carrier") == 1 ]]' 2>/dev/null ||
	ktap_diag "$ifname has no carrier (the route is added anyway)"
# (Each change and its undo outside ktap_check, whose command runs in a
# subshell.)
ip route add default via 198.18.2.2 dev "$ifname" metric 4242 onlink &&
	vr_defer "ip route del default via 198.18.2.2 dev '$ifname' metric 4242"
ktap_check "a default route via 198.18.2.2 dev $ifname (metric 4242)" \
	eval 'ip route show default | grep -q "via 198.18.2.2 dev $ifname"'
run "$VR" claim "$NIC0"
ktap_check "claim $NIC0 exits 1 naming the default route ($ifname); still on $native" \
	eval '[[ $cmd_rc == 1 ]] && grep "$NIC0" <<<"$cmd_out" | grep -qF "it carries the default route ($ifname)" &&
		[[ $(pci_driver "$NIC0") == "$native" ]]'

# A default route in another routing table: NIC1 in the VRF vr-test-vrf
# (table 4242), which /proc/net/route does not show. The control first: add
# of a rule for NIC1 is accepted (and removed) before the route exists.
modprobe vrf
ktap_check "$NIC1 is on $native with a netdev" \
	wait_for 30 eval '[[ $(pci_driver "$NIC1") == "$native" && -n $(netdev_of "$NIC1") ]]'
if1=$(netdev_of "$NIC1")
ktap_check "control: add $NIC1 (no route through it yet) is accepted" \
	eval '"$VR" add "$NIC1" >/dev/null 2>&1 && "$VR" remove "$NIC1" >/dev/null 2>&1'
link_was_up "$if1" || vr_defer "ip link set dev '$if1' down"
# (Deleting the VRF frees the interface and drops table 4242's routes.)
ip link add vr-test-vrf type vrf table 4242 && vr_defer "ip link del vr-test-vrf"
ip link set vr-test-vrf up
ip link set "$if1" master vr-test-vrf
ip link set "$if1" up
ip addr add 198.18.3.15/24 dev "$if1" && vr_defer "ip addr del 198.18.3.15/24 dev '$if1'"
ip route add default via 198.18.3.2 dev "$if1" table 4242 onlink
ktap_check "VRF vr-test-vrf (table 4242) with $if1, and a default route in table 4242" \
	eval 'ip -o link show dev "$if1" | grep -q "master vr-test-vrf" &&
		ip route show table 4242 default | grep -q "via 198.18.3.2 dev $if1"'
run "$VR" claim "$NIC1"
ktap_check "claim $NIC1 exits 1 naming its default route in table 4242; still on $native" \
	eval '[[ $cmd_rc == 1 ]] && grep "$NIC1" <<<"$cmd_out" | grep -qF "it carries a default route ($if1, routing table 4242)" &&
		[[ $(pci_driver "$NIC1") == "$native" ]]'

# The interface of the SSH session (SSH_CONNECTION's server address), with
# no route at all: MF0 at 198.18.4.15. Control: without the session, add is
# accepted. (An MF0 with no network interface, a GPU, cannot carry one.)
if3=$(netdev_of "$MF0")
if [[ -z $if3 ]]; then
	ktap_skip "$MF0 carries an SSH session: refused" "$MF0 has no network interface"
	ktap_skip "... and the control without it" "$MF0 has no network interface"
else
	link_was_up "$if3" || vr_defer "ip link set dev '$if3' down"
	ip link set "$if3" up
	ip addr add 198.18.4.15/32 dev "$if3" noprefixroute &&
		vr_defer "ip addr del 198.18.4.15/32 dev '$if3'"
	ktap_check "$MF0 has a netdev ($if3) at 198.18.4.15, no route; add is accepted without a session" \
		eval 'ip -o addr show dev "$if3" | grep -q "198.18.4.15/32" &&
			"$VR" add "$MF0" >/dev/null 2>&1 && "$VR" remove "$MF0" >/dev/null 2>&1'
	SSH_CONNECTION="198.18.4.2 50022 198.18.4.15 22" run "$VR" add "$MF0"
	ktap_check "add $MF0 with SSH_CONNECTION to 198.18.4.15: refused, naming the session" \
		eval '[[ $cmd_rc == 1 ]] && grep -qF "it carries this SSH session (198.18.4.15 on $if3)" <<<"$cmd_out" &&
			! "$VR" rules | grep -q "$MF0"'
fi

# --force on an add that selects the controller: accepted with a warning;
# with reclaim=stub the rule leaves a device bound to its driver alone
# (pending).
# The exclusion added above would win over it: remove that list first.
ktap_check "remove '$AHCI_ID,!$AHCI'" \
	eval '"$VR" remove "$AHCI_ID,!$AHCI" && [[ $("$VR" rules) == "no rules" ]]'
run "$VR" --force add "$AHCI"
ktap_check "--force add $AHCI: exit 0 with a warning naming $MNT" \
	eval '[[ $cmd_rc == 0 ]] && grep "warning" <<<"$cmd_out" | grep "$AHCI" | grep -q "mounted on $MNT"'
ktap_check "reclaim=stub: $AHCI stays on $disk_drv (pending), the file system readable" \
	eval '[[ $(pci_driver "$AHCI") == "$disk_drv" ]] && ls "$MNT" >/dev/null &&
		vrjson list "$AHCI" | python3 -c "import json,sys; sys.exit(json.load(sys.stdin)[0][\"state\"] != \"pending\")"'
ktap_finish
