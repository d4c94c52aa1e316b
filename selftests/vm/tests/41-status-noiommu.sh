#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vfio-reserve status on a host booted with the IOMMU off (the firmware's DMAR
# table is still there): exit 1, a FAIL line about the IOMMU whose fix names
# intel_iommu=on (a VT-d host: the table says so), in the table and in --json.
# vm-cmdline: intel_iommu=off
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-roles: nic
# vr-vm-only: it boots with the IOMMU off (intel_iommu=off)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper
if [[ -n $(ls -A /sys/kernel/iommu_groups 2>/dev/null) ]]; then
	ktap_exit_skip "the kernel made IOMMU groups despite intel_iommu=off"
fi

ktap_plan 9
ktap_diag "guest CPU: $(grep -m1 vendor_id /proc/cpuinfo)"
st_out=$("$VR" status 2>&1) && st_rc=0 || st_rc=$?
ktap_diag "status (exit $st_rc):"
ktap_diag <<<"$st_out"
ktap_result "status exits 1" "$([[ $st_rc == 1 ]] && echo 0 || echo 1)"
iommu_fail=$(grep -A1 '^FAIL  IOMMU off' <<<"$st_out")
ktap_check "a FAIL line says the IOMMU is off" \
	eval '[[ -n $iommu_fail ]]'
ktap_check "its fix names intel_iommu=on (the DMAR table is there: VT-d)" \
	eval '[[ -e /sys/firmware/acpi/tables/DMAR ]] &&
		grep -q "^      fix: .*intel_iommu=on" <<<"$iommu_fail"'
json=$(vrjson status 2>/dev/null) && jrc=0 || jrc=$?
ktap_check "status --json: exit 1, iommu FAIL with a fix naming intel_iommu=on" \
	python3 -c '
import json, sys
c = {x["check"]: x for x in json.loads(sys.argv[1])}
assert sys.argv[2] == "1", "exit " + sys.argv[2]
assert c["iommu"]["result"] == "FAIL", c["iommu"]
assert "intel_iommu=on" in c["iommu"]["fix"], c["iommu"]["fix"]
' "$json" "$jrc"

# The same with the module loaded: it sees no groups either.
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
st_out=$("$VR" status 2>&1) && st_rc=0 || st_rc=$?
ktap_check "with the module: still exit 1 and the IOMMU FAIL" \
	eval '[[ $st_rc == 1 ]] && grep -q "^FAIL  IOMMU off" <<<"$st_out"'
ir_chips=$(grep -cE 'IR-(PCI-MSI|IO-APIC)' /proc/interrupts)
ktap_diag "interrupts through IR- chips in /proc/interrupts: $ir_chips"
ktap_check "the interrupt remapping line agrees with /proc/interrupts" \
	eval 'if ((ir_chips)); then ! grep -q "^FAIL  interrupt remapping off" <<<"$st_out";
		else ! grep -q "^PASS  interrupt remapping on" <<<"$st_out"; fi'
ck_out=$("$VR" check "$NIC1" 2>&1) && ck_rc=0 || ck_rc=$?
ktap_check "check $NIC1 exits 1: no IOMMU group (sysfs has no iommu_group link either)" \
	eval '[[ $ck_rc == 1 && ! -e $(pci_dev "$NIC1")/iommu_group ]] &&
		grep -q "the IOMMU is off" <<<"$ck_out"' || ktap_diag <<<"$ck_out"
ktap_check "its fix names intel_iommu=on for Intel and no amd_iommu=on (AMD-Vi takes no argument)" \
	eval 'grep -q "intel_iommu=on" <<<"$ck_out" && ! grep -q "amd_iommu=on" <<<"$ck_out"'
ktap_finish
