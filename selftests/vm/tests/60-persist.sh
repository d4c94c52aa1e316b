#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot-time persistence as deployed, with Debian's own tools: `persist`
# writes modprobe.d and the initramfs-tools configuration and regenerates
# the initramfs with update-initramfs; that initramfs, booted with
# the e1000e pair, reserves the chosen NIC before e1000e can probe it and
# leaves the other to e1000e. The NIC is persisted as ADDR@auto: persist
# resolves it to the tests' variant driver (its vfio_pci: alias), writes
# its name and a softdep, and the initramfs carries it and binds it. `unpersist --no-initramfs` restores every file
# byte for byte (61-unpersist checks its regeneration, in a VM of its own:
# one update-initramfs per VM halves the longest test of the suite).
# That boot is boot_initramfs's (lib.sh): under vm.py on the VM host's CPU
# (TCG, some 30 s), elsewhere nested (some 600 s nested in a TCG guest).
# vm-timeout: 360
# vr-roles: nic
# vr-vm-only: it regenerates the running kernel's initramfs (in the VM over tmpfs overlays of /etc, /boot and /var): a host's could be left unbootable
# vr-destructive: it writes the boot configuration (/etc/modprobe.d) and regenerates the initramfs
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 8
. "$VR_SELFTESTS/vm/persist-setup.sh"
before=$(snapshot)
modprobe e1000e
t0=$(now_us)
$VR persist "$NIC1@auto" >/tmp/persist.out 2>&1
rc=$?
ktap_diag <"/tmp/persist.out"
ktap_diag "persist (with update-initramfs): $(( ($(now_us) - t0) / 1000000 )) s"
ktap_check "persist $NIC1@auto succeeds, chooses vr_testvariant, runs update-initramfs -u -k all" \
	eval "(( $rc == 0 )) && ran_update_initramfs '-u -k all' &&
		grep -q '$NIC1@auto is vr_testvariant' /tmp/persist.out"
ktap_check "it wrote the options (pinned, the variant named), softdeps before e1000e and on the variant" \
	eval 'grep -qx "options vfio_reserve devices=$NIC1#8086:10d3@vr_testvariant" $CONF &&
		grep -qx "softdep e1000e pre: vfio_reserve" $CONF &&
		grep -qx "softdep vfio_reserve post: vfio_pci vr_testvariant *" $CONF &&
		grep -qx vfio_reserve /etc/initramfs-tools/modules &&
		grep -qx vr_testvariant /etc/initramfs-tools/modules'
listing=$(lsinitramfs "$INITRD")
ktap_check "the regenerated initramfs has the module, the variant and the options" \
	eval 'grep -q "/vfio_reserve.ko" <<<"$listing" && grep -q "/vr_testvariant.ko" <<<"$listing" &&
		grep -q "etc/modprobe.d/vfio-reserve.conf" <<<"$listing"'

# Boot that kernel and initramfs with the e1000e pair as in the outer VM
# (00:02.0, and 01:00.0 behind a root port), stop before the root is
# mounted (break=premount; no panic=, or the initramfs reboots instead of
# giving a shell), and look.
look='for d in 0000:00:02.0 0000:01:00.0; do echo "VR-NIC $d driver=$(basename "$(readlink /sys/bus/pci/devices/$d/driver)") override=$(cat /sys/bus/pci/devices/$d/driver_override) net=$(ls /sys/bus/pci/devices/$d/net 2>/dev/null)"; done; echo "VR-MOD $(grep -o "^vfio_reserve\|^e1000e" /proc/modules | tr "\n" " ")"'
boot_initramfs 700 "$look" "console=ttyS0 intel_iommu=on break=premount" \
	-M q35,kernel-irqchip=split -m 512 -nodefaults -display none -no-reboot \
	-device intel-iommu,intremap=on -serial stdio \
	-device e1000e,netdev=a,addr=0x2,romfile= -netdev user,id=a,restrict=on \
	-device pcie-root-port,id=rp,chassis=1,addr=0x3 \
	-device e1000e,netdev=b,bus=rp,romfile= -netdev user,id=b,restrict=on \
	>/tmp/nested.out 2>/tmp/nested.err
rc=$?
ktap_diag </tmp/nested.err
((rc == 0)) || tail -n 25 /tmp/nested.out | tr -d '\r' | ktap_diag
grep -a "VR-NIC\|VR-MOD\|vfio_reserve" /tmp/nested.out | tr -d '\r' | ktap_diag
ktap_check "in the booted initramfs, the chosen NIC is on the variant, no netdev" \
	grep -aq "^VR-NIC 0000:01:00.0 driver=vr_testvariant override=vr_testvariant net=\s*$" <(tr -d '\r' </tmp/nested.out)
ktap_check "e1000e never probed it and keeps the other NIC" \
	eval 'grep -aq "^VR-NIC 0000:00:02.0 driver=e1000e override=(null) net=[a-z]" <(tr -d "\r" </tmp/nested.out) &&
		! grep -q "e1000e 0000:01:00.0" /tmp/nested.out'
ktap_check "the module logged the reservation by its boot rule" \
	grep -q "0000:01:00.0: vfio_reserve: reserved for vr_testvariant by rule 0000:01:00.0#8086:10d3@vr_testvariant" /tmp/nested.out

$VR unpersist --no-initramfs >/tmp/unpersist.out 2>&1
rc=$?
ktap_diag <"/tmp/unpersist.out"
ktap_check "unpersist --no-initramfs succeeds" eval "(( $rc == 0 ))"
ktap_check "every file is back byte for byte" eval '[[ "$(snapshot)" == "$before" ]]'
ktap_finish
