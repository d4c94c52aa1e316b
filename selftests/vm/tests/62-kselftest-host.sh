#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The selftests as a real host runs them (issue 19): this VM made to look
# like a bare-metal host (udev running, native drivers bound, a
# multifunction pair on a bus of its own: 0000:05:00.0/.1 behind rp9; an
# e1000e behind rp10 as its hotplug device, 0000:06:00.0; a data disk on the
# AHCI controller 0000:00:1f.2, mounted), the collection installed with
# make -C selftests install, the map in a file, and run_kselftest.sh run
# outside vm.py's environment, destructive tests allowed (VR_DESTRUCTIVE=1:
# 48-safety's routes and VRF must be undone). Every test whose roles the
# map gives and that is not VM-only passes; every other one skips and says
# why; afterwards every device, route and mount is as before, vfio_reserve
# unloaded as it was, and no process a test started is left.
# vm-qemu: -device pcie-root-port,id=rp9,bus=pcie.0,addr=0x9,chassis=9 -netdev user,id=h9,restrict=on -device e1000e,romfile=,netdev=h9,bus=rp9,addr=0x0.0,multifunction=on -device ich9-intel-hda,bus=rp9,addr=0x0.1 -device pcie-root-port,id=rp10,bus=pcie.0,addr=0xa,chassis=10 -netdev user,id=h10,restrict=on -device e1000e,romfile=,netdev=h10,bus=rp10 -drive file=fat:@TOP@/selftests/unit,format=raw,if=none,id=d0,snapshot=on -device ide-hd,drive=d0,bus=ide.0
# vr-roles: nic nic-twin mf-pair sriov-pf disk
# vr-vm-only: it makes the VM look like a host, and checks a run there
# vm-timeout: 900
# shellcheck disable=SC2016 # the checks are eval'd strings
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper
ktap_plan 11
PAIR0=0000:05:00.0 PAIR1=0000:05:00.1 HOTPLUG=0000:06:00.0

# A host's udev: it loads and binds every native driver.
# (The guest runs chrooted into the host's /: systemd's tools refuse a
# chroot unless told.)
export SYSTEMD_IGNORE_CHROOT=1
/lib/systemd/systemd-udevd --daemon >/dev/null 2>&1
udevadm trigger --action=add --subsystem-match=pci
udevadm settle --timeout=60
# udev loads kvm_amd for the TCG CPU's SVM; nested KVM on it wedged the test
# VM (lib.sh, nested_accels): this "host" has no KVM.
modprobe -r kvm_amd kvm_intel kvm 2>/dev/null
ktap_check "udev bound the native drivers: e1000e on $NIC0, $NIC1, $PAIR0 and $HOTPLUG, snd_hda_intel on $PAIR1, nvme on $NVME" \
	wait_for 60 eval '[[ $(pci_driver "$NIC0") == e1000e && $(pci_driver "$NIC1") == e1000e &&
		$(pci_driver "$NVME") == nvme &&
		$(pci_driver "$HOTPLUG") == e1000e &&
		$(pci_driver "$PAIR0") == e1000e && $(pci_driver "$PAIR1") == snd_hda_intel ]]'
# The host's data disk (a vvfat view of selftests/unit, read-only).
for m in ahci sd_mod vfat nls_cp437 nls_utf8 nls_iso8859-1 nls_ascii; do modprobe -q "$m"; done
mkdir -p /tmp/data
ktap_check "the data disk on $DISK is mounted on /tmp/data" \
	eval 'wait_for 30 eval "[[ -e /sys/class/block/sda1 ]]" && mount -t vfat -o ro /dev/sda1 /tmp/data'
ktap_check "$PAIR0 and $PAIR1 share an IOMMU group of their own" \
	eval '[[ -n $(pci_group "$PAIR0") && $(pci_group "$PAIR0") == $(pci_group "$PAIR1") &&
		$(pci_group "$PAIR0") != $(pci_group "$MF0") ]]'

I=/tmp/ksft
# (The guest cannot build: vr_genl_test is the one make genl built.)
run make -s -C "$VR_TOP/selftests" OUTPUT="$VR_TOP/build/genl" -o "$VR_TOP/build/genl/vr_genl_test" \
	install INSTALL_PATH=$I
ktap_check "make -C selftests install INSTALL_PATH=$I" eval '[[ $cmd_rc == 0 && -x $I/run_kselftest.sh ]]'

# The map a host's operator would write: the pair, a NIC and its twin, a
# device to remove and rescan, the controller of a mounted disk, an SR-IOV
# PF (the VM's NVMe).
cat >/tmp/host.map <<EOF
# this "host"'s devices for the selftests
VR_DEV_NIC=$NIC0
VR_DEV_NIC_TWIN=$NIC1
VR_DEV_MF0=$PAIR0
VR_DEV_MF1=$PAIR1
VR_DEV_HOTPLUG=$HOTPLUG
VR_DEV_DISK=$DISK
VR_DEV_SRIOV_PF=$NVME
EOF
state() {
	local d
	for d in /sys/bus/pci/devices/*; do
		echo "${d##*/} $(pci_driver "${d##*/}") $(cat "$d/driver_override")" \
			"$(cat "$d/sriov_numvfs" "$d/sriov_drivers_autoprobe" 2>/dev/null | xargs)"
	done
	# the module's (the drivers a test loads stay, as on any host)
	[[ -d /sys/module/vfio_reserve ]] && echo "vfio_reserve loaded"
	ip route show table all
	cut -d' ' -f2-4 /proc/mounts | sort
}
# The processes a test leaves running: alive after the run, not before,
# and older than the listing itself (sleep's pid marks where it starts).
procs() {
	ps -e -o pid= | sort
}
leftover() {
	local p mark
	sleep 0 &
	mark=$!
	wait "$mark"
	for p in $(comm -13 <(echo "$1") <(procs)); do
		((p < mark)) && [[ -s /proc/$p/cmdline ]] && echo "$p $(tr '\0' ' ' </proc/"$p"/cmdline)"
	done
}
before=$(state)
procs_before=$(procs)
# Outside vm.py's environment: no VR_KVER, VR_TOP, VR_TEST; the helper in
# PATH as an installed one would be. Through a pipe (the runner appends each
# test's lines to /dev/stdout).
env -i PATH="$VR_TOP/build/user:/usr/sbin:/usr/bin:/sbin:/bin" HOME=/root LC_ALL=C.UTF-8 \
	VR_DEV_MAP=/tmp/host.map VR_DESTRUCTIVE=1 $I/run_kselftest.sh 2>&1 | cat >/tmp/run.tap
after=$(state)
grep -E '^(not )?ok ' /tmp/run.tap | ktap_diag
# What a failing test printed.
awk '/^# selftests: vfio-reserve: / { n = 0 } { buf[n++] = $0 }
	/^not ok / { for (i = 0; i < n; i++) print buf[i] }' /tmp/run.tap | tail -n 150 | ktap_diag
grep -E '^# 1\.\.0 # SKIP' /tmp/run.tap | sort | uniq -c | ktap_diag

mapped="13-hotplug.sh 14-pci-stub.sh 16-unload.sh 20-sriov-vf.sh 21-reclaim.sh 22-release.sh 23-inuse.sh 24-hotplug-cycles.sh"
mapped+=" 26-group-viability.sh 29-remove-in-use.sh 39-rules-race.sh 43-roundtrip.sh 44-check-group.sh 46-monitor.sh 47-unprivileged.sh"
mapped+=" 42-list-json.sh 45-check-inuse.sh 48-safety.sh 49-reads-never-load.sh 50-qemu.sh 51-attach.sh 52-sriov-qemu.sh 53-libvirt.sh 56-iommufd.sh"
# 34 needs upstream's YNL CLI from the 7.x source, and says so when it is not there.
compgen -G '/var/cache/vfio-reserve/kernel/*/linux/tools/net/ynl/pyynl/cli.py' >/dev/null &&
	mapped+=" 34-ynl-cli.sh"
ran_ok() {
	local t
	for t in $mapped; do
		grep -qE "^ok [0-9]+ selftests: vfio-reserve: $t\$" /tmp/run.tap || { echo "$t did not pass"; return 1; }
	done
}
ktap_check "the tests the map serves and a host may run pass: $mapped" ran_ok
ktap_check "every other test skips ($(($(grep -c . $I/kselftest-list.txt) - $(wc -w <<<"$mapped"))) of them), none fails" \
	eval '[[ $(grep -cE "^ok [0-9]+ selftests: vfio-reserve: .* # SKIP\$" /tmp/run.tap) == $(($(grep -c . $I/kselftest-list.txt) - $(wc -w <<<"$mapped"))) ]] &&
		! grep -q "^not ok" /tmp/run.tap'
ktap_check "... each saying why: a role not in the map, VM only (or no 7.x source for 34, no KVM for 54)" \
	eval '[[ $(grep -cE "^# 1\.\.0 # SKIP (VM only: |role [a-z-]+: VR_DEV_|no 7\.x kernel source|no KVM: )" /tmp/run.tap) == $(($(grep -c . $I/kselftest-list.txt) - $(wc -w <<<"$mapped"))) ]]'
ktap_check "after the run every device (driver, override, numvfs, VF autoprobe), route and mount is as before, vfio_reserve unloaded" \
	eval '[[ "$before" == "$after" ]] || { diff <(echo "$before") <(echo "$after"); false; }'
left=$(leftover "$procs_before")
ktap_check "... and no test left a process running" eval '[[ -z $left ]] || { echo "$left"; false; }'

# A test stopped by the runner's timeout (SIGTERM) mid-way still puts back
# what it changed: one that claims the pair, then waits for ever.
cat >$I/vfio-reserve/vm/tests/99-hang.sh <<'EOF'
#!/bin/bash
# vr-roles: mf-pair
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ktap_plan 1
modprobe vfio_reserve
"$VR" claim "$MF0" "$MF1"
while :; do sleep 0.1; done
EOF
chmod +x $I/vfio-reserve/vm/tests/99-hang.sh
before=$(state)
(cd $I/vfio-reserve/vm/tests && exec env -i PATH="$VR_TOP/build/user:/usr/sbin:/usr/bin:/sbin:/bin" \
	HOME=/root VR_DEV_MAP=/tmp/host.map ./99-hang.sh >/tmp/hang.out 2>&1) &
hang=$!
ktap_check "a test that hangs after claiming $PAIR0 and $PAIR1: both on vfio-pci (it changed them)" \
	wait_for 60 eval '[[ $(pci_driver "$PAIR0") == vfio-pci && $(pci_driver "$PAIR1") == vfio-pci ]]'
kill -TERM "$hang"
wait "$hang"
hang_rc=$?
ktap_diag <"/tmp/hang.out"
after=$(state)
ktap_check "SIGTERM (the runner's timeout): it exits 143 and every device, route and mount is as before" \
	eval '[[ $hang_rc == 143 && "$before" == "$after" ]] || { diff <(echo "$before") <(echo "$after"); false; }'
ktap_finish
