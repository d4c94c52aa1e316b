#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel amd
# vfio-reserve status: without the module it still runs and warns that
# vfio_reserve is not loaded; with it, PASS for the firmware table, the IOMMU,
# interrupt remapping and the module, each checked against what sysfs and
# /proc say; --json carries the same results as the table. Under VT-d
# (DMAR table) or AMD-Vi (IVRS table, vm.py --iommu amd): the facts of the
# IOMMU the guest has, and never "amd_iommu=on" (no such value).
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-vm-only: it asserts the VM's own IOMMU setup (its kernel command line, the tables QEMU builds) and uses the tests' build of the helper
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

# Which IOMMU: the firmware's ACPI table says.
tables=/sys/firmware/acpi/tables
if [[ -e $tables/DMAR ]]; then
	iommu=intel table=DMAR name="Intel VT-d"
elif [[ -e $tables/IVRS ]]; then
	iommu=amd table=IVRS name=AMD-Vi
else
	ktap_exit_skip "no DMAR or IVRS table: the VM has no IOMMU"
fi

# no_amd_iommu_on TEXT...: none names amd_iommu=on.
no_amd_iommu_on() {
	! grep -qF amd_iommu=on <<<"$*"
}

ktap_plan 17
ktap_diag "guest CPU: $(grep -m1 vendor_id /proc/cpuinfo)"
ktap_diag "IOMMU: $iommu ($table table; vm.py --iommu ${VR_IOMMU:-?})"

# --- without the module --------------------------------------------------------
# A host without the module installed is what this part is about, so
# loading modules is off while it runs (status never loads the module
# anyway: 49-reads-never-load).
modprobe_path=$(</proc/sys/kernel/modprobe)
echo /bin/false >/proc/sys/kernel/modprobe
st_out=$("$VR" status 2>&1) && st_rc=0 || st_rc=$?
json=$(vrjson status 2>/dev/null) && jrc=0 || jrc=$?
# The same with no IR- chip in sight (a /proc whose interrupts has none,
# /sys and the kernel log the guest's): the kernel log has the last word.
noir=$(mktemp -d)
cp /proc/cmdline /proc/cpuinfo "$noir/"
grep -vE '(^|[[:space:]])IR-[A-Z]' /proc/interrupts >"$noir/interrupts"
noir_out=$(VFIO_RESERVE_PROCFS=$noir "$VR_TEST" status 2>&1)
rm -rf "$noir"
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
# What the kernel shows of interrupt remapping: IR- irq chips (the remapping
# domain's prefix, VT-d and AMD-Vi alike), and its boot message.
ir_chips=$(grep -cE '(^|[[:space:]])IR-[A-Z]' /proc/interrupts)
case $iommu in
intel) ir_message="DMAR-IR: Enabled IRQ remapping" ;;
amd) ir_message="AMD-Vi: Interrupt remapping enabled" ;;
esac
ir_logged=$(dmesg | grep -cF "$ir_message")
ktap_diag "interrupts through IR- chips: $ir_chips; remapping enabled in the kernel log: $ir_logged"
# When the kernel disabled interrupt remapping (lib.sh's kernel_ir_off: 7.x
# under QEMU's AMD-Vi), status must say so: FAIL, with the IVRS fix.
ir_fail_log='FAIL  interrupt remapping off (kernel log: "AMD-Vi: Disabling interrupt remapping"): vfio refuses devices without it'
ivrs_fix="fix: the firmware's IVRS table does not describe the IO-APICs"
if ir_off=$(kernel_ir_off); then
	ktap_diag "the kernel disabled interrupt remapping:"
	ktap_diag <<<"$ir_off"
	ktap_check "without the module: FAIL interrupt remapping off, from the kernel log, with the IVRS fix" \
		eval '((ir_chips + ir_logged == 0)) && grep -qxF "$ir_fail_log" <<<"$st_out" &&
			grep -A1 -xF "$ir_fail_log" <<<"$st_out" | grep -qF "$ivrs_fix"'
	ktap_check "no IR- chip: the same FAIL" \
		eval 'grep -qxF "$ir_fail_log" <<<"$noir_out"'
else
	ir_off=
	ktap_check "without the module: PASS interrupt remapping on, from the IR- chips or the kernel log" \
		eval '((ir_chips + ir_logged > 0)) &&
			grep -qE "^PASS  interrupt remapping on \((IR- interrupt chips|kernel log: .*)\)$" <<<"$st_out"'
	ktap_diag "status with no IR- chip in /proc/interrupts:"
	grep -A1 "interrupt remapping" <<<"$noir_out" | ktap_diag
	ktap_check "no IR- chip: PASS interrupt remapping on from the kernel log (\"$ir_message\")" \
		eval '((ir_logged > 0)) &&
			grep -qxF "PASS  interrupt remapping on (kernel log: \"$ir_message\")" <<<"$noir_out"'
fi
no_module_out=$st_out$noir_out no_module_json=$json

# --- with the module -----------------------------------------------------------
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
st_out=$("$VR" status 2>&1) && st_rc=0 || st_rc=$?
ktap_diag "status with the module (exit $st_rc):"
ktap_diag <<<"$st_out"
if [[ -n $ir_off ]]; then
	ktap_result "with the module: status exits 1, its one FAIL interrupt remapping" \
		"$([[ $st_rc == 1 && $(grep -c '^FAIL' <<<"$st_out") == 1 ]] &&
			grep -q '^FAIL  interrupt remapping off' <<<"$st_out" && echo 0 || echo 1)"
else
	ktap_result "with the module: status exits 0 and has no FAIL" \
		"$([[ $st_rc == 0 ]] && ! grep -q '^FAIL' <<<"$st_out" && echo 0 || echo 1)"
fi
case $iommu in
intel) fw_line="PASS  ACPI DMAR table present: Intel VT-d is enabled in the firmware" ;;
amd) fw_line="PASS  ACPI IVRS table present: AMD-Vi is enabled in the firmware" ;;
esac
ktap_check "PASS for the $table table, which sysfs has: $name recognised" \
	eval '[[ -z ${VR_IOMMU:-} || $VR_IOMMU == "$iommu" ]] &&
		grep -qxF "$fw_line" <<<"$st_out"'
ngroups=$(find /sys/kernel/iommu_groups -mindepth 1 -maxdepth 1 | wc -l)
if [[ $iommu == intel ]]; then
	ktap_check "PASS IOMMU on with the $ngroups groups of /sys/kernel/iommu_groups, booted with intel_iommu=on" \
		eval '((ngroups > 0)) && grep -qw intel_iommu=on /proc/cmdline &&
			grep -qx "PASS  IOMMU on: $ngroups IOMMU groups, booted with intel_iommu=on" <<<"$st_out"'
else
	ktap_check "PASS IOMMU on with the $ngroups groups of /sys/kernel/iommu_groups, AMD-Vi (booted with no amd_iommu= argument)" \
		eval '((ngroups > 0)) && ! grep -q "amd_iommu=" /proc/cmdline &&
			grep -qx "PASS  IOMMU on: $ngroups IOMMU groups (AMD-Vi)" <<<"$st_out"'
fi
if [[ -n $ir_off ]]; then
	ktap_check "FAIL interrupt remapping off (the module's answer) with the IVRS fix, as the kernel disabled it" \
		eval 'grep -qx "FAIL  interrupt remapping off: vfio refuses devices without it" <<<"$st_out" &&
			grep -A1 -x "FAIL  interrupt remapping off: vfio refuses devices without it" <<<"$st_out" |
			grep -qF "$ivrs_fix"'
else
	ktap_check "PASS interrupt remapping on (the module's answer), and the kernel shows it (IR- chips or its log)" \
		eval '((ir_chips + ir_logged > 0)) &&
			grep -qx "PASS  interrupt remapping on" <<<"$st_out"'
fi
version=$(cat /sys/module/vfio_reserve/version 2>/dev/null)
reclaim=$(cat /sys/module/vfio_reserve/parameters/reclaim 2>/dev/null)
ktap_check "PASS module line: version $version, no rules, reclaim=${reclaim:-?} (as sysfs says)" \
	eval '[[ -n $version ]] &&
		grep -q "^PASS  vfio_reserve $version loaded: 0 rules (none), 0 reserved, 0 pending, reclaim=${reclaim:-stub}$" <<<"$st_out"'
json=$(vrjson status) && jrc=0 || jrc=$?
ktap_check "status --json parses and has the same results and exit code" \
	eval 'python3 -c "import json,sys; json.load(sys.stdin)" <<<"$json" &&
		status_agrees "$st_out" "$json" && [[ $jrc == "$st_rc" ]]'
ktap_check "status --json: firmware, iommu, module PASS, no fix; interrupt_remapping $([[ -n $ir_off ]] && echo "FAIL with a fix" || echo "the same")" \
	python3 -c '
import json, sys
c = {x["check"]: x for x in json.loads(sys.argv[1])}
ir_off = sys.argv[2] == "off"
for k in ("firmware", "iommu", "interrupt_remapping", "module"):
    if k == "interrupt_remapping" and ir_off:
        assert c[k]["result"] == "FAIL" and "IVRS" in c[k]["fix"], k
    else:
        assert c[k]["result"] == "PASS" and c[k]["fix"] is None, k
' "$json" "${ir_off:+off}"
ktap_check "no status output, table or --json, with or without the module, names amd_iommu=on" \
	no_amd_iommu_on "$no_module_out" "$no_module_json" "$st_out" "$json"
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
json=$(vrjson status 2>/dev/null) && jrc=0 || jrc=$?
ktap_check "rejected devices=: status --json has it too (module_parameters FAIL), exit 1" \
	eval 'status_agrees "$st_out" "$json" && [[ $jrc == 1 ]] &&
		python3 -c "import json,sys; c={x[\"check\"]: x for x in json.load(sys.stdin)}; sys.exit(c[\"module_parameters\"][\"result\"] != \"FAIL\")" <<<"$json"'
ktap_finish
