#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bad parameters: the module loads, reserves nothing (fail closed, even the
# good selectors of a list), and dmesg names the bad token and its position.
# The first case comes from the kernel command line, the rest from modprobe.
# vm-cmdline: vfio_reserve.devices=0000:01:00.0,0000:01:00.8
# vr-roles: nic nic-twin sriov-pf mf-pair
# vr-vm-only: it is about the kernel command line itself (vfio_reserve.devices= at boot)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# devices= value | index of the bad token | the token as dmesg quotes it |
# its position
long=0000:01:00.0000000000000000000000000000000000000000000000000000000000000
cases=(
	"0000:0g:00.0|1|0000:0g:00.0|0"
	"0000:01:00.0,0000:01:00.8|2|0000:01:00.8|13"
	"0000:01:00.0,,8086:10d3|2||13"
	"0000:01:00.0,|2||13"
	"pci:0000:01:00.0|1|pci:0000:01:00.0|0"
	"0000:01:00.0,$long|2|${long:0:64}...|13"
	"0000:01:00.0,8086:10d3@auto|2|8086:10d3@auto|13"
	"0000:01:00.0@x/y|1|0000:01:00.0@x/y|0"
	"!0000:01:00.0@pci-stub|1|!0000:01:00.0@pci-stub|0"
	"!|1|!|0"
	"8086:10d3,!0000:00:02.8|2|!0000:00:02.8|10"
	"8086:10d3,!|2|!|10"
	"class:02|1|class:02|0"
	"*:10d3|1|*:10d3|0"
)
ktap_plan $((2 + ${#cases[@]} * 2 + 1))
modprobe vfio-pci
ko=$(modinfo -F filename vfio_reserve)

nothing_reserved() {
	local d
	for d in "$NIC0" "$NIC1" "$NVME" "$MF0" "$MF1"; do
		[[ -z $(pci_driver "$d") ]] || return 1
		[[ $(<"$(pci_dev "$d")/driver_override") == "(null)" ]] || return 1
	done
}

ktap_check "cmdline list with function 8 loads" modprobe vfio_reserve
ktap_check "... reserves nothing and names the token" \
	eval 'nothing_reserved && dmesg | grep -qF "vfio_reserve: devices=: selector 2 '"'0000:01:00.8'"' at position 13: the function must be 0-7 or '"'*'"'; the whole list is rejected, nothing is reserved"'
rmmod vfio_reserve

# insmod, not modprobe: modprobe would add the command line's devices=.
for c in "${cases[@]}"; do
	IFS='|' read -r value index token pos <<<"$c"
	want="vfio_reserve: devices=: selector $index '$token' at position $pos: "
	kmsg_mark "15-bad-params: devices=$value"
	ktap_check "devices='$value' loads" insmod "$ko" "devices=$value"
	ktap_check "devices='$value' reserves nothing; dmesg: $want" \
		eval 'nothing_reserved && dmesg_since | grep -qF -- "$want"'
	rmmod vfio_reserve
done
kmsg_mark "15-bad-params: reclaim=bogus"
insmod "$ko" devices="$NIC1" reclaim=bogus
ktap_check "reclaim=bogus rejects everything" \
	eval 'nothing_reserved && dmesg_since | grep -qF "vfio_reserve: reclaim=bogus: expected none, stub or all; nothing is reserved"'
ktap_finish
