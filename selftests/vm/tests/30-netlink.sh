#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# The generic netlink family from user space (selftests/genl/vr_genl_test,
# kselftest harness): every command against sysfs, as root (one result line
# per test of the program) and as nobody, malformed requests; a device dump
# looping while a NIC is hotplugged and unplugged 50 times (or for 120 s,
# at least 10 times: a cycle takes 0.3 s on Debian's kernels and 10 s on
# the debug kernel, whose hotplug storm stresses this path); events for a
# hotplugged matching device, a release and a claim; a reservation undone
# by hand (override cleared, native driver bound) is let go.
#
# 24 pci-testdev functions on the root bus make a device dump larger than
# the smallest part the kernel sends (about 4 KiB), so that every dump of
# the loop resumes from the family's cursor at least once.
# vm-timeout: 420
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0x8.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0x8.1 -device pci-testdev,bus=pcie.0,addr=0x8.2 -device pci-testdev,bus=pcie.0,addr=0x8.3 -device pci-testdev,bus=pcie.0,addr=0x8.4 -device pci-testdev,bus=pcie.0,addr=0x8.5 -device pci-testdev,bus=pcie.0,addr=0x8.6 -device pci-testdev,bus=pcie.0,addr=0x8.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0x9.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0x9.1 -device pci-testdev,bus=pcie.0,addr=0x9.2 -device pci-testdev,bus=pcie.0,addr=0x9.3 -device pci-testdev,bus=pcie.0,addr=0x9.4 -device pci-testdev,bus=pcie.0,addr=0x9.5 -device pci-testdev,bus=pcie.0,addr=0x9.6 -device pci-testdev,bus=pcie.0,addr=0x9.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xa.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xa.1 -device pci-testdev,bus=pcie.0,addr=0xa.2 -device pci-testdev,bus=pcie.0,addr=0xa.3 -device pci-testdev,bus=pcie.0,addr=0xa.4 -device pci-testdev,bus=pcie.0,addr=0xa.5 -device pci-testdev,bus=pcie.0,addr=0xa.6 -device pci-testdev,bus=pcie.0,addr=0xa.7
# shellcheck disable=SC2016 # the checks are eval'ed strings
# vr-roles: nic nic-twin sriov-pf mf-pair hotplug
# vr-vm-only: its devices are QEMU's (24 pci-testdev functions, for dumps of several parts), and it hotplugs 50 times through QEMU's slot
set -u
# shellcheck source=../lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PROG=$VR_GENL_TEST
CYCLES=50
MIN_CYCLES=10
HOTPLUG_SECONDS=120
NUMVFS=4
TMP=$(mktemp -d)
QMP_ADD="{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"e1000e\",\"bus\":\"$HP_PORT\",\"netdev\":\"hp0\",\"id\":\"hp0\",\"romfile\":\"\"}}"
QMP_DEL='{"execute":"device_del","arguments":{"id":"hp0"}}'

[[ -x $PROG ]] || ktap_exit_skip "$PROG not built (make genl)"
[[ $VR_KO == 1 ]] || ktap_exit_skip "vfio_reserve.ko not built"
mapfile -t TESTS < <("$PROG" --list)
ktap_plan $((18 + ${#TESTS[@]}))

kmsg "30-netlink start"
# Our module first, so that nic1 is reserved before e1000e can take it;
# then the native drivers: mf0 is bound to e1000e and mf1 (hda) stays
# unbound, so their group has a member that blocks it.
ktap_check "modprobe vfio_reserve devices=$NIC1" \
	modprobe vfio_reserve devices="$NIC1"
modprobe e1000e
modprobe nvme
ktap_check "nic1 on vfio-pci, nic0 and mf0 on e1000e, nvme on nvme, mf1 unbound" \
	wait_for 20 eval '[[ $(pci_driver "$NIC1") == vfio-pci &&
		$(pci_driver "$NIC0") == e1000e && $(pci_driver "$MF0") == e1000e &&
		$(pci_driver "$NVME") == nvme && -z $(pci_driver "$MF1") ]]'
ktap_check "IOMMU groups and interrupt remapping (IR- irq chips) in the guest" \
	eval '[[ -e $(pci_dev "$NIC1")/iommu_group ]] && grep -q "IR-" /proc/interrupts'
# VFs (left unbound) give the dumps PF and VF attributes to check.
echo 0 >"$(pci_dev "$NVME")/sriov_drivers_autoprobe"
echo "$NUMVFS" >"$(pci_dev "$NVME")/sriov_numvfs"
ndev=$(find /sys/bus/pci/devices/ -mindepth 1 -maxdepth 1 | wc -l)
ktap_check "$NUMVFS VFs of nvme, $ndev PCI functions in all" \
	eval '[[ $(<"$(pci_dev "$NVME")/sriov_numvfs") == "$NUMVFS" &&
		-e $(pci_dev 0000:02:00.4)/physfn && $ndev -ge 40 ]]'

# --- the harness, as root and as nobody ----------------------------------------
# run_prog NAME CMD...: the program's TAP as diagnostics; its status.
run_prog() {
	local name=$1 rc
	shift
	"$@" >"$TMP/$name.tap" 2>&1 && rc=0 || rc=$?
	ktap_diag "--- $name (exit $rc): $*"
	ktap_diag <"$TMP/$name.tap"
	return "$rc"
}

run_prog root "$PROG"
# One line per test; as root none may skip. The harness numbers its results
# in the order --list gives (a skip's line does not name its test).
for i in "${!TESTS[@]}"; do
	name=${TESTS[i]}
	line=$(grep -E "^(not )?ok $((i + 1))( |$)" "$TMP/root.tap" || true)
	if [[ $line == "ok $((i + 1)) $name" ]]; then
		ktap_ok "as root: $name"
	else
		ktap_fail "as root: $name"
		ktap_diag "${line:-no result}"
	fi
done

# As nobody: the unprivileged test runs (without dropping anything itself),
# the CAP_NET_ADMIN ones skip, and nothing fails that did not as root
# (already counted above).
run_prog nobody setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$PROG" --unprivileged
line=$(grep -E '^(not )?ok [0-9]+ genl\.unprivileged_reads_work_writes_eperm$' \
	"$TMP/nobody.tap" || true)
new_fail=$(comm -23 <(grep -o '^not ok [0-9]*' "$TMP/nobody.tap" | sort) \
		    <(grep -o '^not ok [0-9]*' "$TMP/root.tap" | sort))
[[ -z $new_fail ]] || ktap_diag "failing as nobody only: $new_fail"
ktap_result "as nobody: reads work, RULE_ADD/RULE_DEL/DEVICE_CLAIM/DEVICE_RELEASE get EPERM" \
	"$([[ $line == ok* && -z $new_fail ]] && echo 0 || echo 1)"

# kernel_clean: nothing alarming in the kernel log since this test began.
# shellcheck disable=SC2317 # called through ktap_check
kernel_clean() {
	! dmesg | sed -n '/vr-test: 30-netlink start/,$p' |
		grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|UBSAN|KASAN|truncated extack'
}
ktap_check "dmesg: no WARNING, BUG or Oops after the requests" kernel_clean

# --- a dump loop while a NIC comes and goes ----------------------------------
# Reserved on arrival: QEMU 7.2 has been seen to crash (SIGSEGV) when an
# e1000e driven by the guest's e1000e is unplugged over and over.
"$PROG" --rule-add "$HP_ADDR" | ktap_diag
"$PROG" --dump-loop 600 >"$TMP/dump.log" 2>&1 &
dump_pid=$!
t0=$(now_us)
bad=0
for i in $(seq 1 $CYCLES); do
	if ! qmp "$QMP_ADD" >/dev/null || ! wait_for 20 pci_exists "$HP_ADDR"; then
		ktap_diag "cycle $i: $HP_ADDR did not appear"
		bad=$((bad + 1))
	fi
	if ! qmp "$QMP_DEL" >/dev/null ||
	   ! qmp_wait_event 30 DEVICE_DELETED '"device":"hp0"' ||
	   ! wait_for 10 eval '! pci_exists "$HP_ADDR"'; then
		ktap_diag "cycle $i: unplug did not complete"
		bad=$((bad + 1))
	fi
	((bad < 3)) || break
	((i < MIN_CYCLES || $(now_us) - t0 < HOTPLUG_SECONDS * 1000000)) || break
done
ktap_diag "$i of $CYCLES hotplug cycles in $((($(now_us) - t0) / 1000000)) s$( ((i < CYCLES)) && echo ": stopped by the $HOTPLUG_SECONDS s budget")"
"$PROG" --rule-del "$HP_ADDR" | ktap_diag
kill -TERM "$dump_pid" 2>/dev/null
# It stops after the dump in progress; one that never ends is killed.
wait_for 20 eval '[[ $(cut -d" " -f3 "/proc/$dump_pid/stat" 2>/dev/null) == @(|Z) ]]' ||
	{ ktap_diag "the dump loop did not stop: killed"; kill -KILL "$dump_pid"; }
wait "$dump_pid" && rc=0 || rc=$?
ktap_diag <"$TMP/dump.log"
ktap_result "$i device_add/device_del cycles of an e1000e in $HP_PORT" "$bad"
summary=$(grep '^# dump-loop: [0-9]* dumps' "$TMP/dump.log" || true)
ktap_result "every dump meanwhile well formed, in address order, each device at most once" \
	"$([[ $rc == 0 && -n $summary ]] && echo 0 || echo 1)"
re='([0-9]+) to ([0-9]+) devices each in ([0-9]+) to ([0-9]+) parts'
if [[ $summary =~ $re ]]; then
	lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]} parts=${BASH_REMATCH[3]}
else
	lo=0 hi=0 parts=0
fi
ktap_result "every dump came in parts ($parts or more), each resuming from the cursor" \
	"$([[ $parts -ge 2 ]] && echo 0 || echo 1)"
ktap_result "the dumps saw the NIC both present and absent ($lo to $hi devices)" \
	"$([[ $hi == $((lo + 1)) ]] && echo 0 || echo 1)"

# --- events ------------------------------------------------------------------
# listen NAME KINDS ADDR: a listener in the background, subscribed on return.
listen() {
	"$PROG" --events-expect "$2" --events-addr "$3" --events-timeout 60 \
		>"$TMP/$1.log" 2>&1 &
	LISTENER=$!
	wait_for 10 grep -q '^# listening' "$TMP/$1.log"
}

# heard NAME DESC: one result line for the listener, its log as diagnostics
# (not through ktap_check: wait must run in this shell).
heard() {
	local rc
	wait "$LISTENER" && rc=0 || rc=$?
	ktap_diag <"$TMP/$1.log"
	ktap_result "$2" "$rc"
}

"$PROG" --rule-add "$HP_ADDR" | ktap_diag
listen hotplug added,reserved,bound:vfio-pci "$HP_ADDR"
qmp "$QMP_ADD" >/dev/null
heard hotplug "a hotplugged matching device: added, reserved, bound to vfio-pci (in order)"
qmp "$QMP_DEL" >/dev/null
qmp_wait_event 30 DEVICE_DELETED '"device":"hp0"' && wait_for 10 eval '! pci_exists "$HP_ADDR"'
"$PROG" --rule-del "$HP_ADDR" | ktap_diag

listen release unbound:vfio-pci,released,bound:e1000e "$NIC1"
"$PROG" --release "$NIC1" | ktap_diag
heard release "DEVICE_RELEASE of nic1: unbound from vfio-pci, released, bound to e1000e"
ktap_check "nic1 is back on e1000e, in state none, without override" \
	eval '[[ $(pci_driver "$NIC1") == e1000e ]] &&
		"$PROG" --device "$NIC1" | grep -q "state=none driver=e1000e override=- "'

listen claim reserved,unbound:e1000e,bound:vfio-pci "$NIC1"
"$PROG" --claim "$NIC1" | ktap_diag
heard claim "DEVICE_CLAIM of nic1: reserved, unbound from e1000e, bound to vfio-pci"

# --- a reservation someone else undoes -------------------------------------------
# By hand, as an operator would: nic1's override cleared, nic1 unbound from
# vfio-pci and bound to e1000e. The module lets go of it with a "released"
# event, and no later rule change takes nic1 off e1000e: not a rule that
# matches nothing (a settle), not one that names nic1 (reclaim=stub leaves
# it pending). The netdev's ifindex shows that e1000e never let go.
nic1_ifindex() { cat "$(pci_dev "$NIC1")"/net/*/ifindex 2>/dev/null; }
listen disown unbound:vfio-pci,bound:e1000e,released "$NIC1"
echo >"$(pci_dev "$NIC1")/driver_override"
echo "$NIC1" >"$(pci_dev "$NIC1")/driver/unbind"
echo "$NIC1" >/sys/bus/pci/drivers/e1000e/bind
heard disown "nic1 given back to e1000e by hand: unbound from vfio-pci, bound to e1000e, released"
idx=$(nic1_ifindex)
ktap_check "nic1 on e1000e (ifindex ${idx:-none}), in state none, without override" \
	eval '[[ -n $idx && $(pci_driver "$NIC1") == e1000e ]] &&
		"$PROG" --device "$NIC1" | grep -q "state=none driver=e1000e override=- "'
"$PROG" --rule-add dead:beef | ktap_diag
"$PROG" --rule-add "$NIC1" | ktap_diag
sleep 1
"$PROG" --device "$NIC1" | ktap_diag
ktap_check "rules added later: nic1 stays on e1000e (same ifindex), pending under reclaim=stub" \
	eval '[[ $(pci_driver "$NIC1") == e1000e && $(nic1_ifindex) == "$idx" ]] &&
		"$PROG" --device "$NIC1" | grep -q "state=pending driver=e1000e "'
"$PROG" --rule-del "dead:beef,$NIC1" | ktap_diag

ktap_check "dmesg: no WARNING, BUG or Oops at the end" kernel_clean
rm -rf "$TMP"
ktap_finish
