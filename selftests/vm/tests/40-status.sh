#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vfio-reserve status: without the module it still runs and warns that
# vfio_reserve is not loaded; with it, PASS for the firmware table, the IOMMU,
# interrupt remapping and the module, each checked against what sysfs and
# /proc say; --json carries the same results as the table.
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper

# The (result, message) pairs of a table (stdin), one "RESULT  message" a line.
text_results() {
	grep -E '^(PASS|WARN|FAIL)  ' | sort
}

# The same pairs from status --json (stdin).
json_results() {
	python3 -c '
import json, sys
for c in json.load(sys.stdin):
    print("%s  %s" % (c["result"], c["message"]))' | sort
}

# status_agrees TEXT JSON: both parse and list the same results.
status_agrees() {
	local a b
	a=$(text_results <<<"$1") && b=$(json_results <<<"$2") || return 1
	[[ -n $a && $a == "$b" ]] || { diff <(echo "$a") <(echo "$b"); return 1; }
}

ktap_plan 14
ktap_diag "guest CPU: $(grep -m1 vendor_id /proc/cpuinfo)"

# --- without the module --------------------------------------------------------
# The module carries MODULE_ALIAS_GENL_FAMILY: resolving the family would load
# it on demand. A host without the module installed is what this part is
# about, so on-demand loading is off while it runs.
modprobe_path=$(</proc/sys/kernel/modprobe)
echo /bin/false >/proc/sys/kernel/modprobe
st_out=$("$VR" status 2>&1) && st_rc=0 || st_rc=$?
json=$("$VR" --json status 2>/dev/null) && jrc=0 || jrc=$?
loaded_meanwhile=$([[ -e /sys/module/vfio_reserve ]] && echo yes || echo no)
echo "$modprobe_path" >/proc/sys/kernel/modprobe
ktap_diag "status without the module (exit $st_rc):"
ktap_diag <<<"$st_out"
if grep -q '^FAIL' <<<"$st_out"; then want=1; else want=0; fi
ktap_result "without the module: status runs, exit $want as its FAIL lines say (got $st_rc)" \
	"$([[ $st_rc == "$want" && $loaded_meanwhile == no ]] && echo 0 || echo 1)"
ktap_check "without the module: WARN vfio_reserve is not loaded, with the fix" \
	eval 'grep -q "^WARN  vfio_reserve is not loaded" <<<"$st_out" &&
		grep -A1 "^WARN  vfio_reserve is not loaded" <<<"$st_out" | grep -q "fix: modprobe vfio_reserve"'
ktap_check "without the module: status --json parses, same results, module WARN, same exit" \
	eval 'status_agrees "$st_out" "$json" && [[ $jrc == "$st_rc" ]] &&
		python3 -c "import json,sys; c=[x for x in json.load(sys.stdin) if x[\"check\"]==\"module\"]; sys.exit(not (len(c)==1 and c[0][\"result\"]==\"WARN\"))" <<<"$json"'

# --- with the module -----------------------------------------------------------
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
st_out=$("$VR" status 2>&1) && st_rc=0 || st_rc=$?
ktap_diag "status with the module (exit $st_rc):"
ktap_diag <<<"$st_out"
ktap_result "with the module: status exits 0 and has no FAIL" \
	"$([[ $st_rc == 0 ]] && ! grep -q '^FAIL' <<<"$st_out" && echo 0 || echo 1)"
ktap_check "PASS for the DMAR table, which sysfs has" \
	eval '[[ -e /sys/firmware/acpi/tables/DMAR ]] &&
		grep -q "^PASS  ACPI DMAR table present" <<<"$st_out"'
ngroups=$(find /sys/kernel/iommu_groups -mindepth 1 -maxdepth 1 | wc -l)
ktap_check "PASS IOMMU on with the $ngroups groups of /sys/kernel/iommu_groups, booted with intel_iommu=on" \
	eval '((ngroups > 0)) && grep -qw intel_iommu=on /proc/cmdline &&
		grep -qx "PASS  IOMMU on: $ngroups IOMMU groups, booted with intel_iommu=on" <<<"$st_out"'
ktap_check "PASS interrupt remapping on, and /proc/interrupts has IR- chips" \
	eval 'grep -qE "IR-(PCI-MSI|IO-APIC)" /proc/interrupts &&
		grep -q "^PASS  interrupt remapping on" <<<"$st_out"'
version=$(cat /sys/module/vfio_reserve/version 2>/dev/null)
reclaim=$(cat /sys/module/vfio_reserve/parameters/reclaim 2>/dev/null)
ktap_check "PASS module line: version $version, no rules, reclaim=${reclaim:-?} (as sysfs says)" \
	eval '[[ -n $version ]] &&
		grep -q "^PASS  vfio_reserve $version loaded: 0 rules (none), 0 reserved, 0 pending, reclaim=${reclaim:-stub}$" <<<"$st_out"'
json=$("$VR" --json status) && jrc=0 || jrc=$?
ktap_check "status --json parses and has the same results and exit code" \
	eval 'python3 -c "import json,sys; json.load(sys.stdin)" <<<"$json" &&
		status_agrees "$st_out" "$json" && [[ $jrc == "$st_rc" ]]'
ktap_check "status --json: firmware, iommu, interrupt_remapping and module PASS, no fix" \
	python3 -c '
import json, sys
c = {x["check"]: x for x in json.loads(sys.argv[1])}
for k in ("firmware", "iommu", "interrupt_remapping", "module"):
    assert c[k]["result"] == "PASS" and c[k]["fix"] is None, k
' "$json"
ktap_check "status with an argument is a usage error (exit 2)" \
	eval '"$VR" status extra >/dev/null 2>&1; [[ $? == 2 ]]'

# Parameters the module rejected at load (it loads, reserves nothing): FAIL.
rmmod vfio_reserve
modprobe vfio_reserve devices=0000:01:00.0,class:02
st_out=$("$VR" status 2>&1) && st_rc=0 || st_rc=$?
ktap_diag "status with devices=0000:01:00.0,class:02 (exit $st_rc):"
ktap_diag <<<"$st_out"
ktap_check "rejected devices=: status exits 1, FAIL naming the token as dmesg does, with a fix" \
	eval '[[ $st_rc == 1 ]] &&
		dmesg | grep -qF "vfio_reserve: devices=: selector 2 '"'class:02'"' at position 13" &&
		grep "^FAIL" <<<"$st_out" | grep -F "rejected" | grep -qF "selector 2 '"'class:02'"' at position 13" &&
		grep -A1 "^FAIL.*rejected" <<<"$st_out" | grep -q "^      fix: "'
json=$("$VR" --json status 2>/dev/null) && jrc=0 || jrc=$?
ktap_check "rejected devices=: status --json has it too (module_parameters FAIL), exit 1" \
	eval 'status_agrees "$st_out" "$json" && [[ $jrc == 1 ]] &&
		python3 -c "import json,sys; c={x[\"check\"]: x for x in json.load(sys.stdin)}; sys.exit(c[\"module_parameters\"][\"result\"] != \"FAIL\")" <<<"$json"'
ktap_finish
