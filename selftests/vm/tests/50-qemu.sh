#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vfio-reserve qemu: a nested QEMU gets the NIC (query-pci shows the host's
# ids); a second launch for the same device fails in preflight naming the
# first's pid; one function of the multifunction pair goes alone only while
# their shared IOMMU group is viable, with a warning; on q35 each device
# goes behind a pcie-root-port of its own, the functions of a slot behind
# one, and on pc they share a slot of pci.0; the dry-run output is the
# command that would run, shell-quoted.
# vr-roles: nic nic-twin mf-pair
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
QMP=$VR_SELFTESTS/vm/qmp.py
NESTED=(qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64)

pci_ids_in() { # SOCKET: vendor:device of every device the nested guest has
	$QMP "$1" pci-ids
}

# QEMU's id for the hostdev of ADDR, as vfio-reserve qemu names it.
hostdev() {
	echo "hostdev-${1//[:.]/-}"
}

ktap_plan 13
native=$(native_driver "$NIC1") mf1_native=$(native_driver "$MF1")
modprobe "$native"
modprobe "$mf1_native"
modprobe vfio_reserve
rm -f /tmp/n1.sock /tmp/n3.sock /tmp/n4.sock
$VR claim "$NIC1" >/dev/null
$VR qemu "$NIC1" -- "${NESTED[@]}" -qmp unix:/tmp/n1.sock,server=on,wait=off \
	>/tmp/n1.log 2>&1 &
q1=$!
ktap_check "the nested QEMU's query-pci lists the NIC as $(pci_ids "$NIC1")" \
	wait_for 30 eval 'pci_ids_in /tmp/n1.sock 2>/dev/null | grep -qx "$(pci_ids "$NIC1")"'
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
ktap_check "claim $MF0 alone: it warns that its group stays non-viable, $MF1 on $mf1_native" \
	eval '[[ $cmd_rc == 0 ]] && grep -q "warning: IOMMU group [0-9]* of $MF0 stays non-viable: $MF1 is on $mf1_native" <<<"$cmd_out"'
$VR qemu --dry-run "$MF0" -- "${NESTED[@]}" >/tmp/mf.out 2>&1
alone_rc=$?
ktap_diag </tmp/mf.out
ktap_check "function 0 alone, function 1 on $mf1_native: refused, the group is not viable" \
	eval '[[ $alone_rc == 1 ]] && grep -q "is not viable: $MF1 is bound to $mf1_native" /tmp/mf.out'
$VR claim "$MF1" >/dev/null
$VR qemu --dry-run "$MF0" -- "${NESTED[@]}" >/tmp/mf.out 2>&1
alone_rc=$?
ktap_diag </tmp/mf.out
ktap_check "function 0 alone, function 1 on vfio-pci: accepted, warning that function 1 shares the group" \
	eval '[[ $alone_rc == 0 ]] && grep "warning: $MF0: $MF1" /tmp/mf.out | grep -q "shares its IOMMU group" &&
		grep -q "host=$MF0" /tmp/mf.out'
# The topology, as libvirt and Proxmox lay it out (issue 18): the machine
# type read from the QEMU command (none: x86's default, pc).
ktap_check "pc (no -machine): both functions share a slot of pci.0 (pc has no pcie.0), no root port" \
	eval '$VR qemu --dry-run "$MF0" "$MF1" -- "${NESTED[@]}" >/tmp/mf2.out &&
		grep -q "host=$MF0,id=$(hostdev "$MF0"),bus=pci.0,addr=0x10.0,multifunction=on" /tmp/mf2.out &&
		grep -q "host=$MF1,id=$(hostdev "$MF1"),bus=pci.0,addr=0x10.1" /tmp/mf2.out &&
		! grep -q "pcie" /tmp/mf2.out' || ktap_diag </tmp/mf2.out
q35=(-machine pc-q35-7.2,accel=tcg -device pcie-root-port,id=mine,chassis=1)
ktap_check "q35: the pair behind one pcie-root-port as one multi-function device, $NIC1 behind its own; chassis 1 is the command's" \
	eval '$VR qemu --dry-run "$MF0" "$MF1" "$NIC1" -- "${NESTED[@]}" "${q35[@]}" >/tmp/mf3.out &&
		grep -qF -- "-device pcie-root-port,id=vr-rp0,bus=pcie.0,chassis=2 -device vfio-pci,host=$MF0,id=$(hostdev "$MF0"),bus=vr-rp0,addr=0x0.0,multifunction=on -device vfio-pci,host=$MF1,id=$(hostdev "$MF1"),bus=vr-rp0,addr=0x0.1 -device pcie-root-port,id=vr-rp1,bus=pcie.0,chassis=3 -device vfio-pci,host=$NIC1,id=$(hostdev "$NIC1"),bus=vr-rp1,addr=0x0" /tmp/mf3.out' ||
	ktap_diag </tmp/mf3.out
# nested_sees SOCK MACHINE...: run the pair in a nested QEMU; its guest sees
# both. It runs (cont): query-pci finds the devices behind a root port by
# the bus number the firmware gives it.
nested_sees() {
	local sock=$1 q
	shift
	$VR qemu "$MF0" "$MF1" -- "${NESTED[@]}" "$@" -qmp "unix:$sock,server=on,wait=off" \
		>/tmp/nested.log 2>&1 &
	q=$!
	wait_for 30 "$QMP" "$sock" cont >/dev/null
	wait_for 60 eval 'ids=$(pci_ids_in "$sock" 2>/dev/null) &&
		grep -qx "$(pci_ids "$MF0")" <<<"$ids" && grep -qx "$(pci_ids "$MF1")" <<<"$ids"'
	local rc=$?
	kill $q; wait $q 2>/dev/null
	((rc == 0)) || ktap_diag </tmp/nested.log
	return $rc
}
ktap_check "... and a nested q35 guest sees both ($(pci_ids "$MF0") and $(pci_ids "$MF1"))" \
	nested_sees /tmp/n3.sock -machine q35
ktap_check "... and so does a nested pc guest (bus=pcie.0 made it fail to start)" \
	nested_sees /tmp/n4.sock

# The printed command, run through the shell, is the argv vfio-reserve
# would exec.
weird=("it's" 'a "b"' '$HOME' '')
out=$($VR qemu --dry-run "$NIC1" -- "${NESTED[@]}" -name "${weird[0]}" \
	-L "${weird[1]}" -k "${weird[2]}" -D "${weird[3]}")
eval "got=($out)"
want=("${NESTED[@]}" -name "${weird[0]}" -L "${weird[1]}" -k "${weird[2]}"
	-D "${weird[3]}" -device "vfio-pci,host=$NIC1,id=$(hostdev "$NIC1")")
ktap_check "--dry-run output round-trips through the shell" \
	eval '[[ "$(printf "%q\n" "${got[@]}")" == "$(printf "%q\n" "${want[@]}")" ]]'
ktap_diag "dry run: $out"
ktap_check "an address that is not reserved fails preflight with the fix" \
	eval '! $VR qemu --dry-run "$NIC0" -- "${NESTED[@]}" >/tmp/n0.out 2>&1 &&
		grep -q "fix: vfio-reserve claim $NIC0" /tmp/n0.out'
ktap_check "a missing QEMU command is a usage error" \
	eval '$VR qemu "$NIC1" >/dev/null 2>&1; (( $? == 2 ))'
ktap_finish
