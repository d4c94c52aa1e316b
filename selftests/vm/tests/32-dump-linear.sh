#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A full DEVICE_GET dump is linear (issue 14): however many parts it comes
# in, the module walks the bus once per dump, not once per part. A kprobe
# on vr_collect_one(), which the walk calls once per function, counts the
# visits (kprobe_profile): the module before this counted every function at
# or after the cursor again for each part, about N * parts / 2 visits.
# Nor does it sort the walk (N log N) when the bus lists devices in a few
# runs in address order, as at boot: one bus after another, the buses in
# the order the firmware numbered them, which qboot does backwards (bus 0,
# then 4, 3, 2, 1 here). The runs are merged instead. The kprobe on
# vr_collect_one() also records the names the walk visits (x86-64: the
# struct device in %di, its kobject's name first): out of address order;
# one on vr_entry_cmp(), sort()'s comparison, counts none, yet every dump
# comes out in order (the module before sorted every dump, about N log N
# comparisons). A function removed and found again by a rescan goes to the
# end of the bus's list: the dumps are still complete and in order, and
# still without sort().
# Debian's kernels only (the debug tier's kernel has no kprobe events).
# vm-firmware: qboot
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0x8.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0x8.1 -device pci-testdev,bus=pcie.0,addr=0x8.2 -device pci-testdev,bus=pcie.0,addr=0x8.3 -device pci-testdev,bus=pcie.0,addr=0x8.4 -device pci-testdev,bus=pcie.0,addr=0x8.5 -device pci-testdev,bus=pcie.0,addr=0x8.6 -device pci-testdev,bus=pcie.0,addr=0x8.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0x9.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0x9.1 -device pci-testdev,bus=pcie.0,addr=0x9.2 -device pci-testdev,bus=pcie.0,addr=0x9.3 -device pci-testdev,bus=pcie.0,addr=0x9.4 -device pci-testdev,bus=pcie.0,addr=0x9.5 -device pci-testdev,bus=pcie.0,addr=0x9.6 -device pci-testdev,bus=pcie.0,addr=0x9.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xa.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xa.1 -device pci-testdev,bus=pcie.0,addr=0xa.2 -device pci-testdev,bus=pcie.0,addr=0xa.3 -device pci-testdev,bus=pcie.0,addr=0xa.4 -device pci-testdev,bus=pcie.0,addr=0xa.5 -device pci-testdev,bus=pcie.0,addr=0xa.6 -device pci-testdev,bus=pcie.0,addr=0xa.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xb.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xb.1 -device pci-testdev,bus=pcie.0,addr=0xb.2 -device pci-testdev,bus=pcie.0,addr=0xb.3 -device pci-testdev,bus=pcie.0,addr=0xb.4 -device pci-testdev,bus=pcie.0,addr=0xb.5 -device pci-testdev,bus=pcie.0,addr=0xb.6 -device pci-testdev,bus=pcie.0,addr=0xb.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xc.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xc.1 -device pci-testdev,bus=pcie.0,addr=0xc.2 -device pci-testdev,bus=pcie.0,addr=0xc.3 -device pci-testdev,bus=pcie.0,addr=0xc.4 -device pci-testdev,bus=pcie.0,addr=0xc.5 -device pci-testdev,bus=pcie.0,addr=0xc.6 -device pci-testdev,bus=pcie.0,addr=0xc.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xd.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xd.1 -device pci-testdev,bus=pcie.0,addr=0xd.2 -device pci-testdev,bus=pcie.0,addr=0xd.3 -device pci-testdev,bus=pcie.0,addr=0xd.4 -device pci-testdev,bus=pcie.0,addr=0xd.5 -device pci-testdev,bus=pcie.0,addr=0xd.6 -device pci-testdev,bus=pcie.0,addr=0xd.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xe.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xe.1 -device pci-testdev,bus=pcie.0,addr=0xe.2 -device pci-testdev,bus=pcie.0,addr=0xe.3 -device pci-testdev,bus=pcie.0,addr=0xe.4 -device pci-testdev,bus=pcie.0,addr=0xe.5 -device pci-testdev,bus=pcie.0,addr=0xe.6 -device pci-testdev,bus=pcie.0,addr=0xe.7
# vm-qemu: -device pci-testdev,bus=pcie.0,addr=0xf.0,multifunction=on -device pci-testdev,bus=pcie.0,addr=0xf.1 -device pci-testdev,bus=pcie.0,addr=0xf.2 -device pci-testdev,bus=pcie.0,addr=0xf.3 -device pci-testdev,bus=pcie.0,addr=0xf.4 -device pci-testdev,bus=pcie.0,addr=0xf.5 -device pci-testdev,bus=pcie.0,addr=0xf.6 -device pci-testdev,bus=pcie.0,addr=0xf.7
# vr-vm-only: its devices are QEMU's (64 pci-testdev functions)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PROG=$VR_GENL_TEST
[[ -x $PROG ]] || ktap_exit_skip "$PROG not built (make genl)"
T=/sys/kernel/tracing

ktap_plan 6
modprobe vfio_reserve
n=$(ls /sys/bus/pci/devices | wc -l)
echo 'p:vr/collect vfio_reserve:vr_collect_one name=+0(+0(%di)):string' >>$T/kprobe_events
echo 'p:vr/cmp vfio_reserve:vr_entry_cmp' >>$T/kprobe_events
hits() { awk -v e="$1" '$1 == e { print $2 }' $T/kprobe_profile; }
# walk_order: the addresses one walk visits (list --json dumps once).
walk_order() {
	echo >$T/trace
	echo 1 >$T/tracing_on
	echo 1 >$T/events/vr/collect/enable
	"$VR" list >/dev/null
	echo 0 >$T/events/vr/collect/enable
	echo 0 >$T/tracing_on
	grep -o 'name="[^"]*"' $T/trace | sed 's/^name="//; s/"$//'
}
order=$(walk_order)
ktap_diag "the boot walk: $(echo $order | cut -c1-30)... $(echo $order | tr ' ' '\n' | tail -n 6 | xargs)"
echo 0 >$T/tracing_on	# from here count only, record nothing
base_visits=$(hits collect)
echo 1 >$T/events/vr/enable
ktap_check "the boot walk visits all $n functions, out of address order (runs)" \
	eval '[[ $(wc -l <<<"$order") == "$n" ]] && ! sort -c <<<"$order" 2>/dev/null'

# dump_loop: dumps for a second; sets dumps, lo, hi (devices a dump), parts
dump_loop() {
	local out
	out=$("$PROG" --dump-loop 1)
	ktap_diag "$out"
	[[ $out =~ ([0-9]+)\ dumps,\ ([0-9]+)\ to\ ([0-9]+)\ devices\ each\ in\ ([0-9]+)\ to.*in\ order ]] || true
	dumps=${BASH_REMATCH[1]:-0} lo=${BASH_REMATCH[2]:-0} hi=${BASH_REMATCH[3]:-0} parts=${BASH_REMATCH[4]:-0}
}
dump_loop
visits=$(($(hits collect) - base_visits)) cmps=$(hits cmp)
ktap_diag "$n functions; $dumps dumps of $parts or more parts; $visits visits, $cmps comparisons"
ktap_check "dumps of every function ($n) in 3 or more parts, in order" \
	eval '((dumps > 0 && lo == n && hi == n && parts >= 3))'
ktap_check "each dump visited each function once: $visits visits = $dumps x $n" \
	eval '((visits == dumps * n))'
ktap_check "... and sorted none of them: $cmps comparisons" \
	eval '((cmps == 0))'

# 00:08.0 leaves and comes back at the end of the bus's list.
echo 1 >/sys/bus/pci/devices/0000:00:08.0/remove
echo 1 >/sys/bus/pci/rescan
ktap_check "00:08.0 is back after the rescan" \
	test -e /sys/bus/pci/devices/0000:00:08.0/vendor
echo 0 >$T/events/vr/enable
order=$(walk_order)
ktap_diag "the walk after the rescan ends with: $(echo $order | tr ' ' '\n' | tail -n 3 | xargs)"
echo 1 >$T/events/vr/enable
dump_loop
cmps=$(($(hits cmp) - cmps))
ktap_diag "after the rescan: $dumps dumps, $cmps comparisons"
ktap_check "00:08.0 last in the walk; all $n functions in every dump, in order, $cmps comparisons" \
	eval '[[ $(tail -n 1 <<<"$order") == 0000:00:08.0 ]] && ((dumps > 0 && lo == n && hi == n && cmps == 0))'
echo 0 >$T/events/vr/enable
ktap_finish
