#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel amd
# vfio-reserve check and groups on a shared IOMMU group: MF0 (e1000e) and MF1
# (HDA, snd_hda_intel) share one. With only MF0 claimed, check fails and names
# MF1 as the blocker, and groups shows the group not viable; with both
# claimed, check passes.
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-roles: mf-pair
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper

# groups_json_says JSON GROUP VIABLE BLOCKER: the group's viability and the
# one member that blocks ("" for none), with that member's driver from sysfs.
groups_json_says() {
	python3 -c '
import json, os, sys
groups, gid, viable, blocker = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "true", sys.argv[4]
g = [x for x in groups if x["group"] == gid]
assert len(g) == 1, "group %d listed %d times" % (gid, len(g))
g = g[0]
assert g["viable"] is viable, g
blocking = [m["address"] for m in g["members"] if m["blocks"]]
assert blocking == ([blocker] if blocker else []), blocking
members = sorted(m["address"] for m in g["members"])
assert members == sorted(os.listdir("/sys/kernel/iommu_groups/%d/devices" % gid)), members
for m in g["members"]:
    link = "/sys/bus/pci/devices/%s/driver" % m["address"]
    drv = os.path.basename(os.readlink(link)) if os.path.islink(link) else None
    assert m["driver"] == drv, (m, drv)
' "$@"
}

ktap_plan 11
modprobe e1000e
modprobe snd_hda_intel
ktap_check "$MF0 is on e1000e and $MF1 on snd_hda_intel (sysfs)" \
	wait_for 30 eval '[[ $(pci_driver "$MF0") == e1000e && $(pci_driver "$MF1") == snd_hda_intel ]]'
group=$(pci_group "$MF0")
ktap_check "they share IOMMU group $group" eval '[[ -n $group && $(pci_group "$MF1") == "$group" ]]'
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve

run "$VR" claim "$MF0"
ktap_check "claim $MF0: on vfio-pci, $MF1 still on snd_hda_intel" \
	eval '[[ $cmd_rc == 0 && $(pci_driver "$MF0") == vfio-pci && $(pci_driver "$MF1") == snd_hda_intel ]]'
run "$VR" check "$MF0"
ktap_check "check $MF0 exits 1 and names $MF1 (snd_hda_intel) as what blocks group $group" \
	eval '[[ $cmd_rc == 1 ]] &&
		grep -q "FAIL  IOMMU group $group is not viable: $MF1 is bound to snd_hda_intel" <<<"$cmd_out" &&
		grep -q "fix: vfio-reserve claim $MF1" <<<"$cmd_out"'
run "$VR" groups
ktap_check "groups: group $group NOT viable, $MF1 blocks" \
	eval '[[ $cmd_rc == 0 ]] &&
		grep -A3 "^group $group: NOT viable" <<<"$cmd_out" | grep -qE "^  $MF1 +snd_hda_intel +blocks" &&
		grep -A3 "^group $group: NOT viable" <<<"$cmd_out" | grep -E "^  $MF0 +vfio-pci" | grep -vq blocks'
gj=$(vrjson groups 2>&1)
ktap_check "groups --json: group $group not viable, $MF1 the only blocker; members and drivers as sysfs" \
	groups_json_says "$gj" "$group" false "$MF1"

run "$VR" claim "$MF1"
ktap_check "claim $MF1: on vfio-pci (sysfs)" \
	eval '[[ $cmd_rc == 0 ]] && wait_for 30 eval "[[ \$(pci_driver $MF1) == vfio-pci ]]"'
run "$VR" check "$MF0" "$MF1"
if ir_off=$(kernel_ir_off); then
	ir=off
	ktap_diag "the kernel disabled interrupt remapping:"
	ktap_diag <<<"$ir_off"
	ktap_check "check $MF0 $MF1 exits 1: each fails for interrupt remapping alone, as the kernel disabled it" \
		eval '[[ $cmd_rc == 1 && -c /dev/vfio/$group ]] && check_fails_for_ir_only "$cmd_out" 2'
else
	ir=on ir_off=
	ktap_check "check $MF0 $MF1 exits 0: both ok" \
		eval '[[ $cmd_rc == 0 ]] &&
			grep -q "^$MF0: ok, can be assigned through vfio-pci (IOMMU group $group, /dev/vfio/$group)" <<<"$cmd_out" &&
			grep -q "^$MF1: ok, can be assigned" <<<"$cmd_out" && [[ -c /dev/vfio/$group ]]'
fi
gj=$(vrjson groups 2>&1)
ktap_check "groups --json: group $group viable, nothing blocks" \
	groups_json_says "$gj" "$group" true ""
cj=$(vrjson check "$MF0" "$MF1" 2>&1)
ktap_check "check --json agrees (interrupt remapping $ir): ok for both and no FAIL, or only that FAIL" \
	python3 -c '
import json, sys
r = json.loads(sys.argv[1])
ir_off = sys.argv[2] == "off"
assert [x["address"] for x in r] == sys.argv[3:], r
for x in r:
    fails = [p for p in x["problems"] if p["level"] == "FAIL"]
    if ir_off:
        assert not x["ok"] and len(fails) == 1, x
        assert fails[0]["problem"].startswith("no interrupt remapping"), x
    else:
        assert x["ok"] and not fails, x
' "$cj" "$ir" "$MF0" "$MF1"
ktap_finish
