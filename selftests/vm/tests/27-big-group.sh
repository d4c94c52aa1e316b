#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-firmware: qboot
# vm-timeout: 240
# One IOMMU group of 257 PCI functions: a pcie-pci-bridge, 255 rockers and
# an e1000 behind it (conventional functions behind a PCIe-to-PCI bridge
# share its group, as in the bench topology), the rockers reserved for
# vfio-pci. The e1000, bound to its driver, is the group's last member:
# GROUP_GET, by id and in a dump (groups --json), reports every member and
# decides "viable" over all of them, in one message that fits its reply.
#
# The module before this test collected 256 members, so it dropped the
# e1000 and called the group viable, and its do path's reply (a page)
# failed with EMSGSIZE past about 160 bound members.
#
# Rockers have memory BARs only (255 pci-testdevs, with I/O BARs, never got
# the guest booted under SeaBIOS). With SeaBIOS the guest took 3 to 5
# minutes under TCG with VT-d to reach /init (its kernel counted 20 s of
# it; why is not understood); with qboot (vm-firmware) 4 s, the whole test
# about 60 s.
# vm-qemu: -device pcie-pci-bridge,id=bb,bus=pcie.0,addr=0x8
# vm-qemu: -device rocker,bus=bb,addr=0x0.0,name=bb0f0,multifunction=on -device rocker,bus=bb,addr=0x0.1,name=bb0f1 -device rocker,bus=bb,addr=0x0.2,name=bb0f2 -device rocker,bus=bb,addr=0x0.3,name=bb0f3 -device rocker,bus=bb,addr=0x0.4,name=bb0f4 -device rocker,bus=bb,addr=0x0.5,name=bb0f5 -device rocker,bus=bb,addr=0x0.6,name=bb0f6 -device rocker,bus=bb,addr=0x0.7,name=bb0f7
# vm-qemu: -device rocker,bus=bb,addr=0x1.0,name=bb1f0,multifunction=on -device rocker,bus=bb,addr=0x1.1,name=bb1f1 -device rocker,bus=bb,addr=0x1.2,name=bb1f2 -device rocker,bus=bb,addr=0x1.3,name=bb1f3 -device rocker,bus=bb,addr=0x1.4,name=bb1f4 -device rocker,bus=bb,addr=0x1.5,name=bb1f5 -device rocker,bus=bb,addr=0x1.6,name=bb1f6 -device rocker,bus=bb,addr=0x1.7,name=bb1f7
# vm-qemu: -device rocker,bus=bb,addr=0x2.0,name=bb2f0,multifunction=on -device rocker,bus=bb,addr=0x2.1,name=bb2f1 -device rocker,bus=bb,addr=0x2.2,name=bb2f2 -device rocker,bus=bb,addr=0x2.3,name=bb2f3 -device rocker,bus=bb,addr=0x2.4,name=bb2f4 -device rocker,bus=bb,addr=0x2.5,name=bb2f5 -device rocker,bus=bb,addr=0x2.6,name=bb2f6 -device rocker,bus=bb,addr=0x2.7,name=bb2f7
# vm-qemu: -device rocker,bus=bb,addr=0x3.0,name=bb3f0,multifunction=on -device rocker,bus=bb,addr=0x3.1,name=bb3f1 -device rocker,bus=bb,addr=0x3.2,name=bb3f2 -device rocker,bus=bb,addr=0x3.3,name=bb3f3 -device rocker,bus=bb,addr=0x3.4,name=bb3f4 -device rocker,bus=bb,addr=0x3.5,name=bb3f5 -device rocker,bus=bb,addr=0x3.6,name=bb3f6 -device rocker,bus=bb,addr=0x3.7,name=bb3f7
# vm-qemu: -device rocker,bus=bb,addr=0x4.0,name=bb4f0,multifunction=on -device rocker,bus=bb,addr=0x4.1,name=bb4f1 -device rocker,bus=bb,addr=0x4.2,name=bb4f2 -device rocker,bus=bb,addr=0x4.3,name=bb4f3 -device rocker,bus=bb,addr=0x4.4,name=bb4f4 -device rocker,bus=bb,addr=0x4.5,name=bb4f5 -device rocker,bus=bb,addr=0x4.6,name=bb4f6 -device rocker,bus=bb,addr=0x4.7,name=bb4f7
# vm-qemu: -device rocker,bus=bb,addr=0x5.0,name=bb5f0,multifunction=on -device rocker,bus=bb,addr=0x5.1,name=bb5f1 -device rocker,bus=bb,addr=0x5.2,name=bb5f2 -device rocker,bus=bb,addr=0x5.3,name=bb5f3 -device rocker,bus=bb,addr=0x5.4,name=bb5f4 -device rocker,bus=bb,addr=0x5.5,name=bb5f5 -device rocker,bus=bb,addr=0x5.6,name=bb5f6 -device rocker,bus=bb,addr=0x5.7,name=bb5f7
# vm-qemu: -device rocker,bus=bb,addr=0x6.0,name=bb6f0,multifunction=on -device rocker,bus=bb,addr=0x6.1,name=bb6f1 -device rocker,bus=bb,addr=0x6.2,name=bb6f2 -device rocker,bus=bb,addr=0x6.3,name=bb6f3 -device rocker,bus=bb,addr=0x6.4,name=bb6f4 -device rocker,bus=bb,addr=0x6.5,name=bb6f5 -device rocker,bus=bb,addr=0x6.6,name=bb6f6 -device rocker,bus=bb,addr=0x6.7,name=bb6f7
# vm-qemu: -device rocker,bus=bb,addr=0x7.0,name=bb7f0,multifunction=on -device rocker,bus=bb,addr=0x7.1,name=bb7f1 -device rocker,bus=bb,addr=0x7.2,name=bb7f2 -device rocker,bus=bb,addr=0x7.3,name=bb7f3 -device rocker,bus=bb,addr=0x7.4,name=bb7f4 -device rocker,bus=bb,addr=0x7.5,name=bb7f5 -device rocker,bus=bb,addr=0x7.6,name=bb7f6 -device rocker,bus=bb,addr=0x7.7,name=bb7f7
# vm-qemu: -device rocker,bus=bb,addr=0x8.0,name=bb8f0,multifunction=on -device rocker,bus=bb,addr=0x8.1,name=bb8f1 -device rocker,bus=bb,addr=0x8.2,name=bb8f2 -device rocker,bus=bb,addr=0x8.3,name=bb8f3 -device rocker,bus=bb,addr=0x8.4,name=bb8f4 -device rocker,bus=bb,addr=0x8.5,name=bb8f5 -device rocker,bus=bb,addr=0x8.6,name=bb8f6 -device rocker,bus=bb,addr=0x8.7,name=bb8f7
# vm-qemu: -device rocker,bus=bb,addr=0x9.0,name=bb9f0,multifunction=on -device rocker,bus=bb,addr=0x9.1,name=bb9f1 -device rocker,bus=bb,addr=0x9.2,name=bb9f2 -device rocker,bus=bb,addr=0x9.3,name=bb9f3 -device rocker,bus=bb,addr=0x9.4,name=bb9f4 -device rocker,bus=bb,addr=0x9.5,name=bb9f5 -device rocker,bus=bb,addr=0x9.6,name=bb9f6 -device rocker,bus=bb,addr=0x9.7,name=bb9f7
# vm-qemu: -device rocker,bus=bb,addr=0xa.0,name=bb10f0,multifunction=on -device rocker,bus=bb,addr=0xa.1,name=bb10f1 -device rocker,bus=bb,addr=0xa.2,name=bb10f2 -device rocker,bus=bb,addr=0xa.3,name=bb10f3 -device rocker,bus=bb,addr=0xa.4,name=bb10f4 -device rocker,bus=bb,addr=0xa.5,name=bb10f5 -device rocker,bus=bb,addr=0xa.6,name=bb10f6 -device rocker,bus=bb,addr=0xa.7,name=bb10f7
# vm-qemu: -device rocker,bus=bb,addr=0xb.0,name=bb11f0,multifunction=on -device rocker,bus=bb,addr=0xb.1,name=bb11f1 -device rocker,bus=bb,addr=0xb.2,name=bb11f2 -device rocker,bus=bb,addr=0xb.3,name=bb11f3 -device rocker,bus=bb,addr=0xb.4,name=bb11f4 -device rocker,bus=bb,addr=0xb.5,name=bb11f5 -device rocker,bus=bb,addr=0xb.6,name=bb11f6 -device rocker,bus=bb,addr=0xb.7,name=bb11f7
# vm-qemu: -device rocker,bus=bb,addr=0xc.0,name=bb12f0,multifunction=on -device rocker,bus=bb,addr=0xc.1,name=bb12f1 -device rocker,bus=bb,addr=0xc.2,name=bb12f2 -device rocker,bus=bb,addr=0xc.3,name=bb12f3 -device rocker,bus=bb,addr=0xc.4,name=bb12f4 -device rocker,bus=bb,addr=0xc.5,name=bb12f5 -device rocker,bus=bb,addr=0xc.6,name=bb12f6 -device rocker,bus=bb,addr=0xc.7,name=bb12f7
# vm-qemu: -device rocker,bus=bb,addr=0xd.0,name=bb13f0,multifunction=on -device rocker,bus=bb,addr=0xd.1,name=bb13f1 -device rocker,bus=bb,addr=0xd.2,name=bb13f2 -device rocker,bus=bb,addr=0xd.3,name=bb13f3 -device rocker,bus=bb,addr=0xd.4,name=bb13f4 -device rocker,bus=bb,addr=0xd.5,name=bb13f5 -device rocker,bus=bb,addr=0xd.6,name=bb13f6 -device rocker,bus=bb,addr=0xd.7,name=bb13f7
# vm-qemu: -device rocker,bus=bb,addr=0xe.0,name=bb14f0,multifunction=on -device rocker,bus=bb,addr=0xe.1,name=bb14f1 -device rocker,bus=bb,addr=0xe.2,name=bb14f2 -device rocker,bus=bb,addr=0xe.3,name=bb14f3 -device rocker,bus=bb,addr=0xe.4,name=bb14f4 -device rocker,bus=bb,addr=0xe.5,name=bb14f5 -device rocker,bus=bb,addr=0xe.6,name=bb14f6 -device rocker,bus=bb,addr=0xe.7,name=bb14f7
# vm-qemu: -device rocker,bus=bb,addr=0xf.0,name=bb15f0,multifunction=on -device rocker,bus=bb,addr=0xf.1,name=bb15f1 -device rocker,bus=bb,addr=0xf.2,name=bb15f2 -device rocker,bus=bb,addr=0xf.3,name=bb15f3 -device rocker,bus=bb,addr=0xf.4,name=bb15f4 -device rocker,bus=bb,addr=0xf.5,name=bb15f5 -device rocker,bus=bb,addr=0xf.6,name=bb15f6 -device rocker,bus=bb,addr=0xf.7,name=bb15f7
# vm-qemu: -device rocker,bus=bb,addr=0x10.0,name=bb16f0,multifunction=on -device rocker,bus=bb,addr=0x10.1,name=bb16f1 -device rocker,bus=bb,addr=0x10.2,name=bb16f2 -device rocker,bus=bb,addr=0x10.3,name=bb16f3 -device rocker,bus=bb,addr=0x10.4,name=bb16f4 -device rocker,bus=bb,addr=0x10.5,name=bb16f5 -device rocker,bus=bb,addr=0x10.6,name=bb16f6 -device rocker,bus=bb,addr=0x10.7,name=bb16f7
# vm-qemu: -device rocker,bus=bb,addr=0x11.0,name=bb17f0,multifunction=on -device rocker,bus=bb,addr=0x11.1,name=bb17f1 -device rocker,bus=bb,addr=0x11.2,name=bb17f2 -device rocker,bus=bb,addr=0x11.3,name=bb17f3 -device rocker,bus=bb,addr=0x11.4,name=bb17f4 -device rocker,bus=bb,addr=0x11.5,name=bb17f5 -device rocker,bus=bb,addr=0x11.6,name=bb17f6 -device rocker,bus=bb,addr=0x11.7,name=bb17f7
# vm-qemu: -device rocker,bus=bb,addr=0x12.0,name=bb18f0,multifunction=on -device rocker,bus=bb,addr=0x12.1,name=bb18f1 -device rocker,bus=bb,addr=0x12.2,name=bb18f2 -device rocker,bus=bb,addr=0x12.3,name=bb18f3 -device rocker,bus=bb,addr=0x12.4,name=bb18f4 -device rocker,bus=bb,addr=0x12.5,name=bb18f5 -device rocker,bus=bb,addr=0x12.6,name=bb18f6 -device rocker,bus=bb,addr=0x12.7,name=bb18f7
# vm-qemu: -device rocker,bus=bb,addr=0x13.0,name=bb19f0,multifunction=on -device rocker,bus=bb,addr=0x13.1,name=bb19f1 -device rocker,bus=bb,addr=0x13.2,name=bb19f2 -device rocker,bus=bb,addr=0x13.3,name=bb19f3 -device rocker,bus=bb,addr=0x13.4,name=bb19f4 -device rocker,bus=bb,addr=0x13.5,name=bb19f5 -device rocker,bus=bb,addr=0x13.6,name=bb19f6 -device rocker,bus=bb,addr=0x13.7,name=bb19f7
# vm-qemu: -device rocker,bus=bb,addr=0x14.0,name=bb20f0,multifunction=on -device rocker,bus=bb,addr=0x14.1,name=bb20f1 -device rocker,bus=bb,addr=0x14.2,name=bb20f2 -device rocker,bus=bb,addr=0x14.3,name=bb20f3 -device rocker,bus=bb,addr=0x14.4,name=bb20f4 -device rocker,bus=bb,addr=0x14.5,name=bb20f5 -device rocker,bus=bb,addr=0x14.6,name=bb20f6 -device rocker,bus=bb,addr=0x14.7,name=bb20f7
# vm-qemu: -device rocker,bus=bb,addr=0x15.0,name=bb21f0,multifunction=on -device rocker,bus=bb,addr=0x15.1,name=bb21f1 -device rocker,bus=bb,addr=0x15.2,name=bb21f2 -device rocker,bus=bb,addr=0x15.3,name=bb21f3 -device rocker,bus=bb,addr=0x15.4,name=bb21f4 -device rocker,bus=bb,addr=0x15.5,name=bb21f5 -device rocker,bus=bb,addr=0x15.6,name=bb21f6 -device rocker,bus=bb,addr=0x15.7,name=bb21f7
# vm-qemu: -device rocker,bus=bb,addr=0x16.0,name=bb22f0,multifunction=on -device rocker,bus=bb,addr=0x16.1,name=bb22f1 -device rocker,bus=bb,addr=0x16.2,name=bb22f2 -device rocker,bus=bb,addr=0x16.3,name=bb22f3 -device rocker,bus=bb,addr=0x16.4,name=bb22f4 -device rocker,bus=bb,addr=0x16.5,name=bb22f5 -device rocker,bus=bb,addr=0x16.6,name=bb22f6 -device rocker,bus=bb,addr=0x16.7,name=bb22f7
# vm-qemu: -device rocker,bus=bb,addr=0x17.0,name=bb23f0,multifunction=on -device rocker,bus=bb,addr=0x17.1,name=bb23f1 -device rocker,bus=bb,addr=0x17.2,name=bb23f2 -device rocker,bus=bb,addr=0x17.3,name=bb23f3 -device rocker,bus=bb,addr=0x17.4,name=bb23f4 -device rocker,bus=bb,addr=0x17.5,name=bb23f5 -device rocker,bus=bb,addr=0x17.6,name=bb23f6 -device rocker,bus=bb,addr=0x17.7,name=bb23f7
# vm-qemu: -device rocker,bus=bb,addr=0x18.0,name=bb24f0,multifunction=on -device rocker,bus=bb,addr=0x18.1,name=bb24f1 -device rocker,bus=bb,addr=0x18.2,name=bb24f2 -device rocker,bus=bb,addr=0x18.3,name=bb24f3 -device rocker,bus=bb,addr=0x18.4,name=bb24f4 -device rocker,bus=bb,addr=0x18.5,name=bb24f5 -device rocker,bus=bb,addr=0x18.6,name=bb24f6 -device rocker,bus=bb,addr=0x18.7,name=bb24f7
# vm-qemu: -device rocker,bus=bb,addr=0x19.0,name=bb25f0,multifunction=on -device rocker,bus=bb,addr=0x19.1,name=bb25f1 -device rocker,bus=bb,addr=0x19.2,name=bb25f2 -device rocker,bus=bb,addr=0x19.3,name=bb25f3 -device rocker,bus=bb,addr=0x19.4,name=bb25f4 -device rocker,bus=bb,addr=0x19.5,name=bb25f5 -device rocker,bus=bb,addr=0x19.6,name=bb25f6 -device rocker,bus=bb,addr=0x19.7,name=bb25f7
# vm-qemu: -device rocker,bus=bb,addr=0x1a.0,name=bb26f0,multifunction=on -device rocker,bus=bb,addr=0x1a.1,name=bb26f1 -device rocker,bus=bb,addr=0x1a.2,name=bb26f2 -device rocker,bus=bb,addr=0x1a.3,name=bb26f3 -device rocker,bus=bb,addr=0x1a.4,name=bb26f4 -device rocker,bus=bb,addr=0x1a.5,name=bb26f5 -device rocker,bus=bb,addr=0x1a.6,name=bb26f6 -device rocker,bus=bb,addr=0x1a.7,name=bb26f7
# vm-qemu: -device rocker,bus=bb,addr=0x1b.0,name=bb27f0,multifunction=on -device rocker,bus=bb,addr=0x1b.1,name=bb27f1 -device rocker,bus=bb,addr=0x1b.2,name=bb27f2 -device rocker,bus=bb,addr=0x1b.3,name=bb27f3 -device rocker,bus=bb,addr=0x1b.4,name=bb27f4 -device rocker,bus=bb,addr=0x1b.5,name=bb27f5 -device rocker,bus=bb,addr=0x1b.6,name=bb27f6 -device rocker,bus=bb,addr=0x1b.7,name=bb27f7
# vm-qemu: -device rocker,bus=bb,addr=0x1c.0,name=bb28f0,multifunction=on -device rocker,bus=bb,addr=0x1c.1,name=bb28f1 -device rocker,bus=bb,addr=0x1c.2,name=bb28f2 -device rocker,bus=bb,addr=0x1c.3,name=bb28f3 -device rocker,bus=bb,addr=0x1c.4,name=bb28f4 -device rocker,bus=bb,addr=0x1c.5,name=bb28f5 -device rocker,bus=bb,addr=0x1c.6,name=bb28f6 -device rocker,bus=bb,addr=0x1c.7,name=bb28f7
# vm-qemu: -device rocker,bus=bb,addr=0x1d.0,name=bb29f0,multifunction=on -device rocker,bus=bb,addr=0x1d.1,name=bb29f1 -device rocker,bus=bb,addr=0x1d.2,name=bb29f2 -device rocker,bus=bb,addr=0x1d.3,name=bb29f3 -device rocker,bus=bb,addr=0x1d.4,name=bb29f4 -device rocker,bus=bb,addr=0x1d.5,name=bb29f5 -device rocker,bus=bb,addr=0x1d.6,name=bb29f6 -device rocker,bus=bb,addr=0x1d.7,name=bb29f7
# vm-qemu: -device rocker,bus=bb,addr=0x1e.0,name=bb30f0,multifunction=on -device rocker,bus=bb,addr=0x1e.1,name=bb30f1 -device rocker,bus=bb,addr=0x1e.2,name=bb30f2 -device rocker,bus=bb,addr=0x1e.3,name=bb30f3 -device rocker,bus=bb,addr=0x1e.4,name=bb30f4 -device rocker,bus=bb,addr=0x1e.5,name=bb30f5 -device rocker,bus=bb,addr=0x1e.6,name=bb30f6 -device rocker,bus=bb,addr=0x1e.7,name=bb30f7
# vm-qemu: -device rocker,bus=bb,addr=0x1f.0,name=bb31f0,multifunction=on -device rocker,bus=bb,addr=0x1f.1,name=bb31f1 -device rocker,bus=bb,addr=0x1f.2,name=bb31f2 -device rocker,bus=bb,addr=0x1f.3,name=bb31f3 -device rocker,bus=bb,addr=0x1f.4,name=bb31f4 -device rocker,bus=bb,addr=0x1f.5,name=bb31f5 -device rocker,bus=bb,addr=0x1f.6,name=bb31f6 -device e1000,bus=bb,addr=0x1f.7,romfile=
# shellcheck source=../lib.sh disable=SC2016 # the checks are eval'ed strings
# vr-vm-only: its devices are QEMU's (a PCIe-to-PCI bridge with 24 rocker functions: one big IOMMU group)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ROCKERS=255
MEMBERS=$((ROCKERS + 2))

PROG=$VR_GENL_TEST
[[ -x $PROG ]] || ktap_exit_skip "$PROG not built (make genl)"
[[ $VR_KO == 1 ]] || ktap_exit_skip "vfio_reserve.ko not built"

# by_id VENDOR DEVICE: the addresses of those functions.
by_id() {
	local d
	for d in /sys/bus/pci/devices/*; do
		[[ $(<"$d/vendor") == "0x$1" && $(<"$d/device") == "0x$2" ]] && basename "$d"
	done
}

ktap_plan 6
# The rockers reserved for vfio-pci (the operator's whole group), the
# e1000 on its own driver.
modprobe e1000
modprobe vfio_reserve devices=1b36:0006
mapfile -t rockers < <(by_id 1b36 0006)
nic=$(by_id 8086 100e)
# on_vfio: how many rockers vfio-pci has.
on_vfio() {
	local a n=0
	for a in "${rockers[@]}"; do [[ $(pci_driver "$a") == vfio-pci ]] && n=$((n + 1)); done
	echo "$n"
}
ktap_check "$ROCKERS rockers on vfio-pci, an e1000 (${nic:-none}) on e1000" \
	wait_for 60 eval '[[ ${#rockers[@]} == $ROCKERS && $(on_vfio) == $ROCKERS && -n $nic &&
		$(pci_driver "$nic") == e1000 ]]'
group=$(basename "$(readlink "$(pci_dev "${rockers[0]}")/iommu_group")")
nsys=$(find "/sys/kernel/iommu_groups/$group/devices/" -mindepth 1 -maxdepth 1 | wc -l)
ktap_check "sysfs: group $group holds $MEMBERS functions (the bridge, the rockers, the e1000)" \
	eval '[[ $nsys == $MEMBERS && -e /sys/kernel/iommu_groups/$group/devices/$nic ]]'

reply=$("$PROG" --group "$group" 2>&1)
ktap_diag <<<"$reply"
ktap_check "GROUP_GET $group: $MEMBERS members, not viable, the e1000 alone blocks it" \
	eval '[[ $reply == "group $group members $MEMBERS viable 0 in_use 0 blocking $nic:e1000" ]]'

json=$(vrjson groups 2>&1)
summary=$(python3 -c "
import json, sys
g = [g for g in json.loads(sys.argv[1]) if g['group'] == int(sys.argv[2])][0]
print(len(g['members']), g['viable'], ' '.join(m['address'] for m in g['members'] if m['blocks']))
" "$json" "$group" 2>&1)
ktap_diag "groups --json, group $group: $summary"
ktap_check "groups --json (a dump): the same $MEMBERS members, not viable, the e1000 blocks it" \
	eval '[[ $summary == "$MEMBERS False $nic" ]]'

# Unbound, the e1000 blocks nothing: the group becomes viable.
echo "$nic" >"$(pci_dev "$nic")/driver/unbind"
reply=$("$PROG" --group "$group" 2>&1)
ktap_diag <<<"$reply"
ktap_check "with the e1000 unbound: viable, nothing blocks" \
	eval '[[ $reply == "group $group members $MEMBERS viable 1 in_use 0 blocking" ]]'
ktap_check "dmesg: no WARNING, BUG or Oops" \
	eval '! dmesg | grep -E "WARNING:|BUG:|Oops|Call Trace"'
ktap_finish
