# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Helpers for the debug-kernel VM tests (selftests/debug/tests/*.sh), on top
# of selftests/vm/lib.sh:
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib-debug.sh"

[[ -n ${VR_DEBUG_LIB_LOADED:-} ]] && return 0
VR_DEBUG_LIB_LOADED=1
# shellcheck source=../vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../vm/lib.sh"

FUZZ=$VR_TOP/build/debug/vr_fuzz
KMEMLEAK=/sys/kernel/debug/kmemleak
FAILSLAB=/sys/kernel/debug/failslab
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# Which debugging the running kernel has.
has_kmemleak() { [[ -w $KMEMLEAK ]]; }
has_kasan() { dmesg | grep -q 'KernelAddressSanitizer initialized'; }
has_lockdep() { [[ -e /proc/lockdep ]]; }
has_failslab() { [[ -d $FAILSLAB && -e /proc/self/fail-nth ]]; }

# The debug tier: a kernel with kmemleak or KASAN runs the full counts; any
# other kernel (Debian's) a smaller number, to keep the stock suite short.
debug_tier() { has_kmemleak || has_kasan; }

# A line for the TAP log: which debugging is on.
debug_features() {
	local f=()
	has_kasan && f+=(KASAN)
	has_kmemleak && f+=(kmemleak)
	has_lockdep && f+=(lockdep)
	has_failslab && f+=(failslab)
	echo "kernel $(uname -r): ${f[*]:-no debugging features}"
}

# Skip the whole test (before its plan) unless the fuzzer is built.
need_fuzz() {
	[[ -x $FUZZ ]] || ktap_exit_skip "$FUZZ not built (make check-debug builds it)"
}

# The module's address range while it is loaded ("start end" in hex), from
# /proc/modules; leaks found after an unload name raw addresses only.
VR_RANGES=()
record_module_range() {
	local name size refs deps state addr
	while read -r name size refs deps state addr _; do
		[[ $name == vfio_reserve ]] || continue
		# 16 hex digits each: they compare as strings
		VR_RANGES+=("$(printf '%016x' $((addr))) $(printf '%016x' $((addr + size)))")
	done </proc/modules
}

# kmemleak_check LABEL: scan twice, then count the unreferenced objects that
# vfio_reserve allocated (a backtrace naming it, or a raw address inside a
# range record_module_range saw). Prints "# " diagnostics; status 1 on any.
# The whole report stays in KMEMLEAK_REPORT.
KMEMLEAK_TOTAL=0
KMEMLEAK_OURS=0
KMEMLEAK_REPORT=
kmemleak_check() {
	local label=$1 report ours=0 total=0 block='' line t0 rest
	has_kmemleak || return 0
	# The second scan starts 5 s after the first did (selftests/vm/init.sh,
	# kmemleak_report, says why).
	t0=$(now_us)
	echo scan >"$KMEMLEAK"
	rest=$((5000000 - ($(now_us) - t0)))
	((rest > 0)) && sleep "$(awk -v r="$rest" 'BEGIN { printf "%.3f", r / 1e6 }')"
	echo scan >"$KMEMLEAK"
	report=$(<"$KMEMLEAK")
	KMEMLEAK_REPORT=$report
	_vr_block_is_ours() {
		local b=$1 r a lo hi
		[[ $b == *vfio_reserve* ]] && return 0
		for a in $(grep -oE '\] 0xffffffff[0-9a-f]+' <<<"$b" | cut -c5-); do
			for r in "${VR_RANGES[@]}"; do
				lo=${r% *} hi=${r#* }
				[[ ! $a < $lo && $a < $hi ]] && return 0
			done
		done
		return 1
	}
	while IFS= read -r line; do
		if [[ $line == "unreferenced object"* ]]; then
			if [[ -n $block ]]; then
				total=$((total + 1))
				if _vr_block_is_ours "$block"; then
					ours=$((ours + 1))
					((ours <= 3)) && ktap_diag <<<"$block"
				fi
			fi
			block=$line
		else
			block+=$'\n'$line
		fi
	done <<<"$report"
	if [[ -n $block ]]; then
		total=$((total + 1))
		if _vr_block_is_ours "$block"; then
			ours=$((ours + 1))
			((ours <= 3)) && ktap_diag <<<"$block"
		fi
	fi
	KMEMLEAK_TOTAL=$total KMEMLEAK_OURS=$ours
	ktap_diag "kmemleak ($label): $total unreferenced object(s), $ours from vfio_reserve"
	((ours == 0))
}

# Kernel splats in dmesg so far (the runner fails the test on any anyway;
# this puts the count in the TAP log).
splat_count() {
	dmesg | grep -cE 'BUG:|WARNING:|KASAN:|UBSAN:|Oops|general protection fault|possible circular locking|inconsistent lock state|sleeping function called from invalid context' || true
}

# The PCI functions as sysfs sees them, in the format of `vr_fuzz devices`:
# "addr vvvv:dddd class driver override" ("-" when absent), by address.
sysfs_devices() {
	local d a ov drv
	for d in /sys/bus/pci/devices/*; do
		a=${d##*/}
		drv=$(pci_driver "$a")
		ov=$(<"$d/driver_override")
		[[ $ov == "(null)" || -z $ov ]] && ov=-
		printf '%s %s %s %s %s\n' "$a" "$(pci_ids "$a")" "$(cut -c3- "$d/class")" \
			"${drv:--}" "$ov"
	done | sort
}

# The module's device dump equals sysfs (retried: the driver core may be
# settling). Shows a diff on failure.
dump_matches_sysfs() {
	local i
	for i in 1 2 3 4 5; do
		if diff <("$FUZZ" devices | sort) <(sysfs_devices) >/tmp/dump.diff 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	cat /tmp/dump.diff
	return 1
}

# The failslab knobs for fail-nth: every slab allocation may fail (not only
# those that cannot sleep), silently.
failslab_setup() {
	echo N >"$FAILSLAB/ignore-gfp-wait"
	echo 0 >"$FAILSLAB/verbose"
	echo 0 >"$FAILSLAB/probability"
}

# cmdline_param NAME DEFAULT: NAME=VALUE from the kernel command line
# (vm.py --append), else DEFAULT.
cmdline_param() {
	local arg
	for arg in $(</proc/cmdline); do
		[[ $arg == "$1="* ]] && { echo "${arg#*=}"; return; }
	done
	echo "$2"
}

# The value of KEY=VALUE in the last line of FILE that starts with PREFIX.
result_field() {
	grep "^$2" "$1" | tail -n 1 | grep -oE "(^| )$3=[^ ]*" | cut -d= -f2
}
