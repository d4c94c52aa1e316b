#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A full DEVICE_GET dump is linear (issue 14): however many parts it comes
# in, the module walks the bus once per dump, not once per part. A kprobe
# on vr_collect_one(), which the walk calls once per function, counts the
# visits (kprobe_profile): the module before this counted every function at
# or after the cursor again for each part, about N * parts / 2 visits.
# Nor does it sort what the walk found already in address order (the bus
# lists devices as they were added, in address order at boot): a kprobe on
# vr_entry_cmp(), sort()'s comparison, counts none then (the module before
# sorted every dump, N log N comparisons). A function removed and found
# again by a rescan goes to the end of the bus's list: the dumps are then
# sorted, and still complete and in address order.
# Debian's kernels only (the debug tier's kernel has no kprobe events).
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0x8.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0x8.1 -device pci-testdev,bus=pcie.0,addr=0x8.2 -device pci-testdev,bus=pcie.0,addr=0x8.3 -device pci-testdev,bus=pcie.0,addr=0x8.4 -device pci-testdev,bus=pcie.0,addr=0x8.5 -device pci-testdev,bus=pcie.0,addr=0x8.6 -device pci-testdev,bus=pcie.0,addr=0x8.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0x9.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0x9.1 -device pci-testdev,bus=pcie.0,addr=0x9.2 -device pci-testdev,bus=pcie.0,addr=0x9.3 -device pci-testdev,bus=pcie.0,addr=0x9.4 -device pci-testdev,bus=pcie.0,addr=0x9.5 -device pci-testdev,bus=pcie.0,addr=0x9.6 -device pci-testdev,bus=pcie.0,addr=0x9.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xa.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xa.1 -device pci-testdev,bus=pcie.0,addr=0xa.2 -device pci-testdev,bus=pcie.0,addr=0xa.3 -device pci-testdev,bus=pcie.0,addr=0xa.4 -device pci-testdev,bus=pcie.0,addr=0xa.5 -device pci-testdev,bus=pcie.0,addr=0xa.6 -device pci-testdev,bus=pcie.0,addr=0xa.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xb.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xb.1 -device pci-testdev,bus=pcie.0,addr=0xb.2 -device pci-testdev,bus=pcie.0,addr=0xb.3 -device pci-testdev,bus=pcie.0,addr=0xb.4 -device pci-testdev,bus=pcie.0,addr=0xb.5 -device pci-testdev,bus=pcie.0,addr=0xb.6 -device pci-testdev,bus=pcie.0,addr=0xb.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xc.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xc.1 -device pci-testdev,bus=pcie.0,addr=0xc.2 -device pci-testdev,bus=pcie.0,addr=0xc.3 -device pci-testdev,bus=pcie.0,addr=0xc.4 -device pci-testdev,bus=pcie.0,addr=0xc.5 -device pci-testdev,bus=pcie.0,addr=0xc.6 -device pci-testdev,bus=pcie.0,addr=0xc.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xd.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xd.1 -device pci-testdev,bus=pcie.0,addr=0xd.2 -device pci-testdev,bus=pcie.0,addr=0xd.3 -device pci-testdev,bus=pcie.0,addr=0xd.4 -device pci-testdev,bus=pcie.0,addr=0xd.5 -device pci-testdev,bus=pcie.0,addr=0xd.6 -device pci-testdev,bus=pcie.0,addr=0xd.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xe.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xe.1 -device pci-testdev,bus=pcie.0,addr=0xe.2 -device pci-testdev,bus=pcie.0,addr=0xe.3 -device pci-testdev,bus=pcie.0,addr=0xe.4 -device pci-testdev,bus=pcie.0,addr=0xe.5 -device pci-testdev,bus=pcie.0,addr=0xe.6 -device pci-testdev,bus=pcie.0,addr=0xe.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xf.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xf.1 -device pci-testdev,bus=pcie.0,addr=0xf.2 -device pci-testdev,bus=pcie.0,addr=0xf.3 -device pci-testdev,bus=pcie.0,addr=0xf.4 -device pci-testdev,bus=pcie.0,addr=0xf.5 -device pci-testdev,bus=pcie.0,addr=0xf.6 -device pci-testdev,bus=pcie.0,addr=0xf.7
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PROG=$VR_TOP/build/genl/vr_genl_test
[[ -x $PROG ]] || ktap_exit_skip "$PROG not built (make genl)"
T=/sys/kernel/tracing

ktap_plan 6
modprobe vfio_reserve
n=$(ls /sys/bus/pci/devices | wc -l)
echo 'p:vr/collect vfio_reserve:vr_collect_one' >>$T/kprobe_events
echo 'p:vr/cmp vfio_reserve:vr_entry_cmp' >>$T/kprobe_events
echo 0 >$T/tracing_on	# count only, record nothing
echo 1 >$T/events/vr/enable
hits() { awk -v e="$1" '$1 == e { print $2 }' $T/kprobe_profile; }
ktap_check "the kprobes on vr_collect_one and vr_entry_cmp are armed, no hit yet" \
	eval '[[ $(hits collect) == 0 && $(hits cmp) == 0 ]]'

# dump_loop: dumps for a second; sets dumps, lo, hi (devices a dump), parts
dump_loop() {
	local out
	out=$("$PROG" --dump-loop 1)
	ktap_diag "$out"
	[[ $out =~ ([0-9]+)\ dumps,\ ([0-9]+)\ to\ ([0-9]+)\ devices\ each\ in\ ([0-9]+)\ to.*in\ order ]] || true
	dumps=${BASH_REMATCH[1]:-0} lo=${BASH_REMATCH[2]:-0} hi=${BASH_REMATCH[3]:-0} parts=${BASH_REMATCH[4]:-0}
}
dump_loop
visits=$(hits collect) cmps=$(hits cmp)
ktap_diag "$n functions; $dumps dumps of $parts or more parts; $visits visits, $cmps comparisons"
ktap_check "dumps of every function ($n) in 3 or more parts, in order" \
	eval '((dumps > 0 && lo == n && hi == n && parts >= 3))'
ktap_check "each dump visited each function once: $visits visits = $dumps x $n" \
	eval '((visits == dumps * n))'
ktap_check "a bus in address order is not sorted: $cmps comparisons" \
	eval '((cmps == 0))'

# 00:08.0 leaves and comes back at the end of the bus's list.
echo 1 >/sys/bus/pci/devices/0000:00:08.0/remove
echo 1 >/sys/bus/pci/rescan
ktap_check "00:08.0 is back after the rescan" \
	test -e /sys/bus/pci/devices/0000:00:08.0/vendor
dump_loop
cmps=$(($(hits cmp) - cmps))
ktap_diag "after the rescan: $dumps dumps, $cmps comparisons"
ktap_check "out of order, every dump is sorted: all $n functions in address order, $cmps comparisons" \
	eval '((dumps > 0 && lo == n && hi == n && cmps >= dumps))'
echo 0 >$T/events/vr/enable
ktap_finish
