#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# iommufd and the VFIO device cdev (issue 20). On a kernel with them (the
# newest 7.x of the matrix: CONFIG_IOMMUFD, CONFIG_VFIO_DEVICE_CDEV), with a
# QEMU that has them (9.0 on: QEMU 10 of bookworm-backports here, from
# selftests/kernels/fetch.sh qemu, where Debian 12's 7.2 lacks them):
#  - the module names the NIC's cdev, check gives the iommufd facts;
#  - a cdev only open, never bound to an iommufd, keeps the device in use:
#    release is refused at once, naming the process (it used to unbind and
#    wait for that process forever), and goes through once it is closed;
#  - qemu --iommufd gives the NIC to a nested QEMU through /dev/iommu and
#    the cdev (query-pci shows it); check and list name that QEMU as the
#    holder; release is refused while it runs and accepted after;
#  - attach --iommufd hotplugs an NVMe VF into a running nested QEMU over
#    QMP (the iommufd object added, query-pci shows the VF);
#  - --iommufd=auto takes the group path with a QEMU that lacks iommufd.
# On a kernel without /dev/iommu (6.1, 6.12 of the matrix): qemu and attach
# --iommufd fail in preflight with the fix and start nothing, and
# --iommufd=auto falls back to the group; the same launch without
# --iommufd passes preflight (the control).
# vm-matrix: every-kernel
# vm-timeout: 300
# vr-roles: nic sriov-pf
# shellcheck disable=SC2016 # the checks are eval'd strings
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
QMP=$VR_SELFTESTS/vm/qmp.py

# qemu_iommufd: a QEMU with an iommufd object: VR_QEMU_IOMMUFD, the
# system's, or fetch.sh qemu's (the guest sees the host's /var/cache).
qemu_has_iommufd() {
	"$1" -object help 2>/dev/null | grep -qw iommufd
}
qemu_iommufd() {
	local q
	for q in ${VR_QEMU_IOMMUFD:-} qemu-system-x86_64 \
		$(ls -d "${VR_KERNEL_CACHE:-/var/cache/vfio-reserve}"/qemu/*/qemu-system-x86_64 2>/dev/null | sort -V); do
		qemu_has_iommufd "$q" && echo "$q"
	done | tail -n 1
}
# QEMU's id for the hostdev of ADDR, as vfio-reserve qemu names it.
hostdev() {
	echo "hostdev-${1//[:.]/-}"
}
# holders_of PID: the VFIO and iommufd nodes PID holds open.
holders_of() {
	ls -l "/proc/$1/fd" 2>/dev/null | awk '/vfio|iommu/ { print $NF }' | sort -u | paste -sd ' '
}

native=$(native_driver "$NIC1")
modprobe "$native"
modprobe vfio_reserve
run $VR claim "$NIC1"
group=$(pci_group "$NIC1")
[[ -c /dev/iommu ]] || modprobe iommufd 2>/dev/null

if [[ ! -c /dev/iommu ]]; then
	ktap_plan 5
	plain=(qemu-system-x86_64 -accel tcg -S -nodefaults -display none -m 64)
	ktap_check "control: the launch without --iommufd passes preflight (dry run, host=$NIC1)" \
		eval '$VR qemu --dry-run "$NIC1" -- "${plain[@]}" 2>/dev/null | grep -q "vfio-pci,host=$NIC1"'
	run $VR qemu --iommufd "$NIC1" -- "${plain[@]}"
	ktap_check "qemu --iommufd without /dev/iommu: exit 1 in preflight, with the fix, QEMU not started" \
		eval '[[ $cmd_rc == 1 ]] && grep -qF -- "--iommufd: /dev/iommu does not exist: modprobe iommufd, or boot a kernel built with CONFIG_IOMMUFD" <<<"$cmd_out" &&
			grep -q "QEMU not started" <<<"$cmd_out" && ! pgrep -x qemu-system-x86 >/dev/null'
	run $VR attach --qmp /tmp/none.sock --iommufd "$NIC1"
	ktap_check "attach --iommufd without /dev/iommu: exit 1 in preflight, before any QMP" \
		eval '[[ $cmd_rc == 1 ]] && grep -q "/dev/iommu does not exist" <<<"$cmd_out" &&
			grep -q "preflight failed: $NIC1 not attached" <<<"$cmd_out" && ! grep -qi "qmp\|connect" <<<"$cmd_out"'
	run $VR qemu --dry-run --iommufd=auto "$NIC1" -- "${plain[@]}"
	ktap_check "qemu --iommufd=auto: the group path, saying why, no iommufd in the command" \
		eval '[[ $cmd_rc == 0 ]] && grep -q "iommufd=auto: through the IOMMU group" <<<"$cmd_out" &&
			grep -q "vfio-pci,host=$NIC1" <<<"$cmd_out" && ! grep -q "iommufd=vr\|-object iommufd" <<<"$cmd_out"'
	run $VR check "$NIC1"
	ktap_check "check: no VFIO device cdev on this kernel, the group path only" \
		eval 'grep -qF "iommufd: no VFIO device cdev (kernel without CONFIG_VFIO_DEVICE_CDEV): the group path only" <<<"$cmd_out"'
	ktap_finish
	exit
fi

Q=$(qemu_iommufd)
[[ -n $Q ]] || ktap_exit_skip "no QEMU with iommufd (9.0 or later): set VR_QEMU_IOMMUFD, or run selftests/kernels/fetch.sh qemu"
NESTED=("$Q" -accel tcg -S -nodefaults -display none -m 64)
ktap_plan 15
ktap_diag "QEMU with iommufd: $Q ($("$Q" --version | head -n 1))"
cdev=$(ls "$(pci_dev "$NIC1")/vfio-dev" 2>/dev/null | head -n 1)
ktap_check "the module names $NIC1's cdev /dev/vfio/devices/$cdev, as sysfs does (a character device)" \
	eval '[[ -n $cdev && -c /dev/vfio/devices/$cdev ]] &&
		vrjson list | python3 -c "import json, sys; d = [x for x in json.load(sys.stdin) if x[\"address\"] == sys.argv[1]][0]; assert d[\"vfio_cdev\"] == sys.argv[2] and d[\"vfio_open\"] is False and d[\"msi_isolated\"] is True, d" "$NIC1" "$cdev"'
run $VR check "$NIC1"
ktap_check "check: the cdev, /dev/iommu, MSI isolated; ok" \
	eval '[[ $cmd_rc == 0 ]] && grep -qxF "  iommufd: /dev/vfio/devices/$cdev; /dev/iommu present; MSI isolated" <<<"$cmd_out"'
ktap_diag <<<"$cmd_out"

# A cdev open and never bound to an iommufd claims no DMA ownership: only
# the open VFIO device says it is in use.
sleep 600 7<>"/dev/vfio/devices/$cdev" &
holder=$!
wait_for 10 eval '[[ $(holders_of $holder) == *"/dev/vfio/devices/$cdev"* ]]'
ktap_check "cdev open (not bound): list says in use, its VFIO device open, held by pid $holder (sleep)" \
	eval 'vrjson list | python3 -c "import json, sys; d = [x for x in json.load(sys.stdin) if x[\"address\"] == sys.argv[1]][0]; assert d[\"in_use\"] and d[\"vfio_open\"] and d[\"held_by\"].startswith(\"pid \" + sys.argv[2] + \" (sleep\"), d" "$NIC1" "$holder"'
t0=$(now_us)
cmd_out=$(timeout -k 5 60 $VR release "$NIC1" 2>&1) && cmd_rc=0 || cmd_rc=$?
ktap_diag <<<"$cmd_out"
ktap_check "... release refused at once (exit 1 in $((($(now_us) - t0) / 1000)) ms, not a wait for the holder), naming pid $holder; still on vfio-pci" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "refused, its IOMMU group $group is in use by pid $holder (sleep" <<<"$cmd_out" &&
		[[ $(pci_driver "$NIC1") == vfio-pci ]]'
kill "$holder"
wait "$holder" 2>/dev/null
ktap_check "... closed: in use no more" \
	eval 'vrjson list | python3 -c "import json, sys; d = [x for x in json.load(sys.stdin) if x[\"address\"] == sys.argv[1]][0]; assert not d[\"in_use\"] and not d[\"vfio_open\"] and d[\"held_by\"] is None, d" "$NIC1"'

# The NIC to a nested QEMU through iommufd.
rm -f /tmp/i1.sock
$VR qemu --iommufd "$NIC1" -- "${NESTED[@]}" -qmp unix:/tmp/i1.sock,server=on,wait=off >/tmp/i1.log 2>&1 &
q1=$!
ktap_check "qemu --iommufd: the nested QEMU's query-pci lists $(pci_ids "$NIC1")" \
	wait_for "$(scaled 60)" eval '$QMP /tmp/i1.sock pci-ids 2>/dev/null | grep -qx "$(pci_ids "$NIC1")"'
ktap_diag </tmp/i1.log
ktap_check "... it holds /dev/iommu and /dev/vfio/devices/$cdev, not /dev/vfio/$group; its command has the iommufd object" \
	eval 'h=$(holders_of $q1); [[ $h == *"/dev/iommu"* && $h == *"/dev/vfio/devices/$cdev"* && " $h " != *" /dev/vfio/$group "* ]] &&
		tr "\0" " " </proc/$q1/cmdline | grep -q -- "-object iommufd,id=vr-iommufd0 .*vfio-pci,host=$NIC1,id=[^ ]*,iommufd=vr-iommufd0"'
run $VR check "$NIC1"
ktap_check "check names pid $q1 as the holder (through the cdev): exit 1, in use" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "FAIL  in use: IOMMU group $group is held by pid $q1 (qemu-system-x86" <<<"$cmd_out"'
ktap_check "list names it too" \
	eval '$VR list | grep "^$NIC1 " | grep -q "held by pid $q1 (qemu-system-x86"'
run $VR release "$NIC1"
ktap_check "release is refused while it runs, naming pid $q1; still on vfio-pci" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "in use by pid $q1 (qemu-system-x86" <<<"$cmd_out" && [[ $(pci_driver "$NIC1") == vfio-pci ]]'
kill "$q1"
wait "$q1" 2>/dev/null
run $VR release "$NIC1"
ktap_check "... and accepted once it is gone: $NIC1 back on $native" \
	eval '[[ $cmd_rc == 0 ]] && wait_for 20 eval "[[ \$(pci_driver $NIC1) == $native ]]"'

# An NVMe VF hotplugged into a running QEMU over QMP, through iommufd.
nvme_native=$(native_driver "$NVME")
modprobe "$nvme_native"
wait_for 20 eval '[[ $(pci_driver "$NVME") == "$nvme_native" ]]'
$VR add "vf:$NVME" >/dev/null
run $VR sriov "$NVME" --numvfs 1
VF=$(basename "$(readlink "$(pci_dev "$NVME")/virtfn0")")
rm -f /tmp/i2.sock
# Running (no -S) with native PCIe hotplug, as in 51-attach: the firmware
# numbers the buses, so query-pci sees behind the port.
"$Q" -accel tcg -nodefaults -display none -m 128 -M q35 \
	-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off \
	-device pcie-root-port,id=vrp1,chassis=1 \
	-qmp unix:/tmp/i2.sock,server=on,wait=off >/tmp/i2.log 2>&1 &
q2=$!
wait_for "$(scaled 60)" eval '$QMP /tmp/i2.sock pci-ids >/dev/null 2>&1'
run $VR attach --qmp /tmp/i2.sock --iommufd --bus vrp1 "$VF"
ktap_diag <<<"$cmd_out"
ktap_check "attach --iommufd $VF (a VF on vfio-pci): the QEMU's query-pci lists $(pci_ids "$VF")" \
	eval '[[ $cmd_rc == 0 ]] && wait_for 30 eval "\$QMP /tmp/i2.sock pci-ids | grep -qx $(pci_ids "$VF")"' ||
	$QMP /tmp/i2.sock query-pci | ktap_diag
ktap_check "... through /dev/iommu and the VF's cdev" \
	eval 'h=$(holders_of $q2); [[ $h == *"/dev/iommu"* && $h == *"/dev/vfio/devices/"* ]]'
kill "$q2"
wait "$q2" 2>/dev/null
$VR sriov "$NVME" --numvfs 0 >/dev/null

# auto, with Debian 12's QEMU (7.2, no iommufd) when that is the system's.
if ! qemu_has_iommufd qemu-system-x86_64; then
	run $VR claim "$NIC1"
	run $VR qemu --dry-run --iommufd=auto "$NIC1" -- qemu-system-x86_64 -S
	ktap_check "qemu --iommufd=auto with $(qemu-system-x86_64 --version | head -n 1 | cut -d, -f1): the group path, saying why" \
		eval '[[ $cmd_rc == 0 ]] && grep -q "iommufd=auto: through the IOMMU group (/dev/vfio/N): this QEMU has no iommufd object" <<<"$cmd_out" &&
			! grep -q "iommufd=vr" <<<"$cmd_out"'
else
	run $VR claim "$NIC1"
	ktap_skip "qemu --iommufd=auto with a QEMU without iommufd" "the system's QEMU has iommufd"
fi
run $VR qemu --dry-run --iommufd=auto "$NIC1" -- "$Q" -S
ktap_check "qemu --iommufd=auto with $Q: through iommufd, saying so" \
	eval '[[ $cmd_rc == 0 ]] && grep -q "iommufd=auto: through iommufd" <<<"$cmd_out" &&
		grep -qF -- "-object iommufd,id=vr-iommufd0 -device vfio-pci,host=$NIC1,id=$(hostdev "$NIC1"),iommufd=vr-iommufd0" <<<"$cmd_out"'
ktap_finish
