#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-debug.sh [TEST.sh...]: the debug-kernel tier (make check-debug).
#
#  1. the debug kernel: build-kernel.sh (cached outside the tree);
#  2. the module, from a copy of its sources (Kbuild, dkms.conf, kmod/),
#     against that kernel's build tree, in build/debug/mod;
#  3. vr_fuzz (build/debug/vr_fuzz); the helper is built by make;
#  4. every VM test (selftests/vm/tests/*.sh, selftests/debug/tests/*.sh, or
#     the TEST.sh given) on that kernel, with vm.py --kernel --moddir and
#     build/debug as its build directory; init.sh adds a kmemleak scan at
#     the end of every VM, and panic_on_warn=1 is on the command line.
#
# Environment: VR_DEBUG_CACHE (kernel cache, default
# /var/cache/vfio-reserve/kernel), VR_DEBUG_APPEND (kernel arguments for
# every test, e.g. "vr.fuzz_messages=200000 vr.hotplug_cycles=300"),
# VR_DEBUG_TIMEOUT_FACTOR (default 3: vm-timeouts are for Debian's kernel).
# Exit status: vm.py's (0: nothing failed).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/debug
start=$SECONDS
phase() { echo "# check-debug: $*"; }

phase "debug kernel (selftests/debug/config)"
t=$SECONDS
kdir=$("$top/selftests/debug/build-kernel.sh" | tail -n 1)
kver=$(cat "$kdir/kernelrelease")
phase "kernel $kver in $kdir ($((SECONDS - t)) s here; built in $(cat "$kdir/build-seconds") s)"

phase "module against $kdir/linux"
t=$SECONDS
rm -rf "$out/mod"
mkdir -p "$out/mod"
cp -r "$top/Kbuild" "$top/dkms.conf" "$top/kmod" "$out/mod/"
if ! make -C "$kdir/linux" M="$out/mod" modules >"$out/mod.log" 2>&1; then
	tail -n 30 "$out/mod.log"
	phase "the module does not build against the debug kernel"
	exit 1
fi
ko=$out/mod/vfio_reserve.ko
phase "$ko ($(modinfo -F vermagic "$ko")) in $((SECONDS - t)) s"

phase "vr_fuzz"
${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$top/kmod" -I"$top/kmod/uapi" \
	-o "$out/vr_fuzz" "$top/selftests/debug/vr_fuzz.c" "$top/kmod/selector.c"
[[ -x $top/build/user/vfio-reserve ]] ||
	phase "warning: build/user/vfio-reserve is missing (make helper): tests that need it fail"

if (($#)); then
	tests=("$@")
else
	tests=("$top"/selftests/vm/tests/*.sh "$top"/selftests/debug/tests/*.sh)
fi
# A large kernel log: the storms count their lines in dmesg.
append=(--append "log_buf_len=16M ${VR_DEBUG_APPEND:-}")
phase "${#tests[@]} VM tests on $kver"
rc=0
"$top/selftests/vm/vm.py" --kernel "$kdir/bzImage" --moddir "$kdir/modroot/lib/modules/$kver" \
	--ko "$ko" --build "$out" --timeout-factor "${VR_DEBUG_TIMEOUT_FACTOR:-3}" \
	"${append[@]}" "${tests[@]}" || rc=$?
phase "done in $((SECONDS - start)) s (exit $rc)"
exit "$rc"
