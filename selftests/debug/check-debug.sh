#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-debug.sh [--deadline EPOCH] [TEST.sh...]: the debug-kernel tier
# (make check-debug; make check runs it last, with CI's time budget).
#
#  1. the debug kernel: build-kernel.sh (cached outside the tree);
#  2. the module, from a copy of its sources (Kbuild, dkms.conf, kmod/),
#     against that kernel's build tree, in build/debug/mod;
#  3. vr_fuzz (build/debug/vr_fuzz); the helper is built by make;
#  4. the stress tests (selftests/debug/tests/*.sh), then every VM test
#     (selftests/vm/tests/*.sh), or the TEST.sh given, on that kernel, with
#     vm.py --kernel --moddir and build/debug as its build directory;
#     init.sh adds a kmemleak scan at the end of every VM, and
#     panic_on_warn=1 is on the command line.
#
# --deadline EPOCH: a time budget (seconds since the epoch). When the kernel
# is not cached and its build (VR_DEBUG_BUILD_ESTIMATE, 1800 s) would not
# leave 10 minutes for tests, nothing is built and the tier is reported as
# skipped; a test is started only when its whole timeout fits (vm.py
# --deadline), the others are reported as skipped.
#
# Environment: VR_DEBUG_CACHE (kernel cache, default
# /var/cache/vfio-reserve/kernel), VR_DEBUG_APPEND (kernel arguments for
# every test, e.g. "vr.fuzz_messages=200000 vr.hotplug_cycles=300"),
# VR_DEBUG_TIMEOUT_FACTOR (default 3: the vm-timeouts of selftests/vm/tests
# are for Debian's kernel; those of selftests/debug/tests are for this one),
# VR_DEBUG_STRESS_TIMEOUT (seconds: every stress test's timeout instead of
# its vm-timeout, for small counts), VR_DEBUG_OUT (build directory, default
# build/debug), VR_VM_ARGS (more vm.py options: --iommu amd, -j 1).
# Exit status: 0 when nothing failed.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${VR_DEBUG_OUT:-$top/build/debug}
start=$SECONDS
phase() { echo "# check-debug: $*"; }
deadline=
if [[ ${1:-} == --deadline ]]; then
	deadline=${2:?--deadline EPOCH}
	shift 2
fi
left() { echo $((${deadline%.*} - $(date +%s))); }

if [[ -n $deadline && ! -f $("$top/selftests/debug/build-kernel.sh" --print-dir)/done ]] &&
	(($(left) < ${VR_DEBUG_BUILD_ESTIMATE:-1800} + 600)); then
	echo "TAP version 13"
	echo "1..1"
	echo "ok 1 debug: the debug-kernel tier # SKIP not started: building its kernel" \
		"(about ${VR_DEBUG_BUILD_ESTIMATE:-1800} s) and testing would not fit in the" \
		"$(left) s left of the time budget"
	exit 0
fi

phase "debug kernel (selftests/debug/config)"
t=$SECONDS
if [[ -n $deadline ]]; then
	brc=0
	kdir=$(timeout "$(left)" "$top/selftests/debug/build-kernel.sh" | tail -n 1) || brc=$?
	if ((brc == 124)); then
		echo "TAP version 13"
		echo "1..1"
		echo "ok 1 debug: the debug-kernel tier # SKIP its kernel was still building" \
			"when the time budget ran out (after $((SECONDS - t)) s)"
		exit 0
	fi
	((brc == 0)) || exit "$brc"
else
	kdir=$("$top/selftests/debug/build-kernel.sh" | tail -n 1)
fi
kver=$(cat "$kdir/kernelrelease")
phase "kernel $kver in $kdir ($((SECONDS - t)) s here; built in $(cat "$kdir/build-seconds") s)"

phase "module against $kdir/linux"
t=$SECONDS
rm -rf "$out/mod"
"$top/selftests/module-sources.sh" "$out/mod"
if ! make -C "$kdir/linux" M="$out/mod" modules >"$out/mod.log" 2>&1; then
	tail -n 30 "$out/mod.log"
	phase "the module does not build against the debug kernel"
	exit 1
fi
ko=$out/mod/vfio_reserve.ko
phase "$ko ($(modinfo -F vermagic "$ko")) in $((SECONDS - t)) s"

phase "vr_fuzz"
# Always build/debug/vr_fuzz, whatever VR_DEBUG_OUT: the tests find it there.
mkdir -p "$top/build/debug"
${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$top/kmod" -I"$top/kmod/uapi" \
	-o "$top/build/debug/vr_fuzz" "$top/selftests/debug/vr_fuzz.c" "$top/kmod/selector.c"
[[ -x $top/build/user/vfio-reserve ]] ||
	phase "warning: build/user/vfio-reserve is missing (make helper): tests that need it fail"

stress=() stock=()
if (($#)); then
	for t in "$@"; do
		case $(cd "$(dirname "$t")" && pwd) in
		"$top/selftests/debug/tests") stress+=("$t") ;;
		*) stock+=("$t") ;;
		esac
	done
else
	stress=("$top"/selftests/debug/tests/*.sh)
	stock=("$top"/selftests/vm/tests/*.sh)
fi
# A large kernel log: the storms count their lines in dmesg.
# Its boot takes 30-35 s alone, 50-65 s beside another VM: a stalled boot
# is one that has not reached /init in 180 s (the stress tests' timeouts
# are not stretched, so vm.py's default would be 60 s).
common=(--kernel "$kdir/bzImage" --moddir "$kdir/modroot/lib/modules/$kver" --ko "$ko"
	--build "$out" --append "log_buf_len=16M ${VR_DEBUG_APPEND:-}" --boot-timeout 180)
# VR_VM_ARGS: more vm.py options, e.g. "--iommu amd -j 1" (the kernel matrix)
# shellcheck disable=SC2206 # words on purpose
common+=(${VR_VM_ARGS:-})
[[ -n $deadline ]] && common+=(--deadline "$deadline")
rc=0
if ((${#stress[@]})); then
	phase "${#stress[@]} stress tests on $kver${VR_DEBUG_APPEND:+ ($VR_DEBUG_APPEND)}"
	"$top/selftests/vm/vm.py" "${common[@]}" \
		${VR_DEBUG_STRESS_TIMEOUT:+--timeout "$VR_DEBUG_STRESS_TIMEOUT"} \
		"${stress[@]}" || rc=$?
fi
if ((${#stock[@]})); then
	phase "${#stock[@]} VM tests on $kver"
	"$top/selftests/vm/vm.py" "${common[@]}" \
		--timeout-factor "${VR_DEBUG_TIMEOUT_FACTOR:-3}" "${stock[@]}" || rc=$?
fi
phase "done in $((SECONDS - start)) s (exit $rc)"
exit "$rc"
