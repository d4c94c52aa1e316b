# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2016,SC2034 # the checks are eval'ed strings
# The checks of 27-big-group and 28-group-reply, sourced after lib.sh with
# ROCKERS set: one IOMMU group of a pcie-pci-bridge, ROCKERS rockers and an
# e1000 behind it (the test's vm-qemu lines), the rockers reserved for
# vfio-pci and the e1000 on its own driver. GROUP_GET by id and in a dump
# must list all ROCKERS + 2 members, not viable, the e1000 alone blocking;
# viable once the e1000 is unbound.
MEMBERS=$((ROCKERS + 2))

PROG=$VR_TOP/build/genl/vr_genl_test
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

json=$($VR groups --json 2>&1)
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
