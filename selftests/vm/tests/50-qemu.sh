#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vfio-reserve qemu: a nested QEMU gets the NIC (query-pci shows the host's
# ids); a second launch for the same device fails in preflight naming the
# first's pid; one function of the multifunction pair goes alone only while
# their shared IOMMU group is viable, with a warning; the
# dry-run output is the command that would run, shell-quoted.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
QMP=$VR_TOP/selftests/vm/qmp.py
NESTED=(qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64)

pci_ids_in() { # SOCKET: vendor:device of every device the nested guest has
	$QMP "$1" pci-ids
}

ktap_plan 11
modprobe e1000e
modprobe snd_hda_intel
modprobe vfio_reserve
$VR claim "$NIC1" >/dev/null
$VR qemu "$NIC1" -- "${NESTED[@]}" -qmp unix:/tmp/n1.sock,server=on,wait=off \
	>/tmp/n1.log 2>&1 &
q1=$!
ktap_check "the nested QEMU's query-pci lists the NIC as 8086:10d3" \
	wait_for 30 eval 'pci_ids_in /tmp/n1.sock 2>/dev/null | grep -qx 8086:10d3'
ktap_check "it is the process vfio-reserve exec'd (same pid)" \
	eval '[[ $(readlink /proc/$q1/exe) == */qemu-system-x86_64 ]]'
$VR qemu "$NIC1" -- "${NESTED[@]}" >/tmp/n2.out 2>&1
second_rc=$?
ktap_check "a second launch fails in preflight, naming the first's pid" \
	eval '[[ $second_rc == 1 ]] && grep -q "pid $q1 (qemu-system-x86)" /tmp/n2.out &&
		grep -q "QEMU not started" /tmp/n2.out && ! grep -qi "busy" /tmp/n2.out'
ktap_diag <"/tmp/n2.out"
kill $q1; wait $q1 2>/dev/null

# Functions of a slot: the kernel's rule, group viability, is the one
# enforced (issue 15: per-port assignment of multi-port NICs in their own
# groups is correct). MF0 and MF1 share a group: MF0 alone is refused while
# MF1 is on its host driver, and goes with a warning once MF1 is on
# vfio-pci (the group viable).
run $VR claim "$MF0"
ktap_check "claim $MF0 alone: it warns that its group stays non-viable, $MF1 on snd_hda_intel" \
	eval '[[ $cmd_rc == 0 ]] && grep -q "warning: IOMMU group [0-9]* of $MF0 stays non-viable: $MF1 is on snd_hda_intel" <<<"$cmd_out"'
$VR qemu --dry-run "$MF0" -- "${NESTED[@]}" >/tmp/mf.out 2>&1
alone_rc=$?
ktap_diag </tmp/mf.out
ktap_check "function 0 alone, function 1 on snd_hda_intel: refused, the group is not viable" \
	eval '[[ $alone_rc == 1 ]] && grep -q "is not viable: $MF1 is bound to snd_hda_intel" /tmp/mf.out'
$VR claim "$MF1" >/dev/null
$VR qemu --dry-run "$MF0" -- "${NESTED[@]}" >/tmp/mf.out 2>&1
alone_rc=$?
ktap_diag </tmp/mf.out
ktap_check "function 0 alone, function 1 on vfio-pci: accepted, warning that function 1 shares the group" \
	eval '[[ $alone_rc == 0 ]] && grep "warning: $MF0: $MF1" /tmp/mf.out | grep -q "shares its IOMMU group" &&
		grep -q "host=$MF0" /tmp/mf.out'
ktap_check "both functions are accepted and share a guest slot" \
	eval '$VR qemu --dry-run "$MF0" "$MF1" -- "${NESTED[@]}" >/tmp/mf2.out &&
		grep -q "host=$MF0,id=hostdev-0000-03-00-0,bus=pcie.0,addr=0x10.0,multifunction=on" /tmp/mf2.out &&
		grep -q "host=$MF1,id=hostdev-0000-03-00-1,bus=pcie.0,addr=0x10.1" /tmp/mf2.out'
$VR qemu "$MF0" "$MF1" -- "${NESTED[@]}" -machine q35 -qmp unix:/tmp/n3.sock,server=on,wait=off \
	>/tmp/n3.log 2>&1 &
q3=$!
ktap_check "... and the nested guest sees both (8086:10d3 and 8086:293e)" \
	wait_for 30 eval 'ids=$(pci_ids_in /tmp/n3.sock 2>/dev/null) &&
		grep -qx 8086:10d3 <<<"$ids" && grep -qx 8086:293e <<<"$ids"'
kill $q3; wait $q3 2>/dev/null

# The printed command, run through the shell, is the argv vfio-reserve
# would exec.
weird=("it's" 'a "b"' '$HOME' '')
out=$($VR qemu --dry-run "$NIC1" -- "${NESTED[@]}" -name "${weird[0]}" \
	-L "${weird[1]}" -k "${weird[2]}" -D "${weird[3]}")
eval "got=($out)"
want=("${NESTED[@]}" -name "${weird[0]}" -L "${weird[1]}" -k "${weird[2]}"
	-D "${weird[3]}" -device "vfio-pci,host=$NIC1,id=hostdev-0000-01-00-0")
ktap_check "--dry-run output round-trips through the shell" \
	eval '[[ "$(printf "%q\n" "${got[@]}")" == "$(printf "%q\n" "${want[@]}")" ]]'
ktap_diag "dry run: $out"
ktap_check "an address that is not reserved fails preflight with the fix" \
	eval '! $VR qemu --dry-run "$NIC0" -- "${NESTED[@]}" >/tmp/n0.out 2>&1 &&
		grep -q "fix: vfio-reserve claim $NIC0" /tmp/n0.out'
ktap_check "a missing QEMU command is a usage error" \
	eval '$VR qemu "$NIC1" >/dev/null 2>&1; (( $? == 2 ))'
ktap_finish
