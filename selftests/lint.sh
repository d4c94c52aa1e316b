#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lint.sh [--checkpatch DIR]... [--kernel-doc DIR] KDIR...: on every kernel
# of the matrix (each KDIR a build tree, /lib/modules/KVER/build or a
# configured source tree), the module builds warning-free with W=1 and is
# clean under sparse; DIR/scripts/checkpatch.pl --strict (repeatable: 6.1's
# and the newest kernel's) and DIR/scripts/kernel-doc -Wall (the newest
# kernel's; 6.1's has no -Wall) are clean on kmod/. Prints TAP.
set -u
# Kbuild must print its CHECK lines even under "make -s".
unset MAKEFLAGS MFLAGS MAKELEVEL
cptrees=()
kdtree=
while [ $# -ge 2 ]; do
	case $1 in
	--checkpatch) cptrees+=("$2") ;;
	--kernel-doc) kdtree=$2 ;;
	*) break ;;
	esac
	shift 2
done
[ $# -gt 0 ] || [ ${#cptrees[@]} -gt 0 ] || [ -n "$kdtree" ] ||
	{ echo "usage: $0 [--checkpatch DIR]... [--kernel-doc DIR] KDIR..." >&2; exit 2; }
# a configured tree by its release, the scripts of a tarball by name
tree_name() {
	make -s -C "$1" kernelrelease 2>/dev/null || basename "$1"
}
top=$(cd "$(dirname "$0")/.." && pwd)
# the tests' drivers' sources (not the .mod.c a build leaves beside them)
testdrv_src=(selftests/vm/testdrv/vr_testdrv.c selftests/vm/testdrv/vr_testvariant.c)
out=$top/build/lint
mkdir -p "$out"
n=0 fail=0

result() { # result DESC LOG: ok when LOG is empty
	n=$((n + 1))
	if [ -s "$2" ]; then
		sed 's/^/# /' "$2" | head -40
		echo "not ok $n $1"
		fail=1
	else
		echo "ok $n $1"
	fi
}

# The kernel release of a build tree.
kernel_of() {
	case $1 in
	/lib/modules/*/build) basename "$(dirname "$1")" ;;
	*) make -s -C "$1" kernelrelease 2>/dev/null || echo "$1" ;;
	esac
}

# fresh_copy DIR: the module's sources alone in DIR, so that lint never
# cleans the real tree and every file is compiled (and checked) each time.
fresh_copy() {
	rm -rf "$1"
	"$top/selftests/module-sources.sh" "$1"
}

echo "TAP version 13"
ncp=0
ncp=$((${#cptrees[@]} + (${#kdtree} > 0)))	# checkpatch, kernel-doc
echo "1..$((2 * $# + ncp))"
cd "$top" || exit 1
for kdir in "$@"; do
	kver=$(kernel_of "$kdir")
	src=$out/$kver/src
	log=$out/$kver
	mkdir -p "$log"
	fresh_copy "$src"
	make -C "$kdir" M="$src" W=1 KBUILD_MODPOST_WARN=1 modules >"$log/w1.full" 2>&1
	# Warnings about the build tools (a tree configured before pahole was
	# installed, say) are not the module's: kbuild's prepare prints them.
	grep -E 'warning:|error:' "$log/w1.full" |
		grep -v 'differs from the one used to build the kernel' >"$log/w1.log"
	[ -f "$src/vfio_reserve.ko" ] || cat "$log/w1.full" >>"$log/w1.log"
	result "lint: $kver: the module builds warning-free with W=1" "$log/w1.log"

	fresh_copy "$src"
	make -C "$kdir" M="$src" C=2 KBUILD_MODPOST_WARN=1 modules >"$log/sparse.full" 2>&1
	grep -E 'warning:|error:' "$log/sparse.full" | grep -E '/(kmod|testdrv)/' >"$log/sparse.log"
	command -v sparse >/dev/null || echo "sparse is not installed" >"$log/sparse.log"
	grep -q 'CHECK' "$log/sparse.full" || echo "sparse did not run" >>"$log/sparse.log"
	if grep -q 'C=2 specified, but .* is not available or not up to date' "$log/sparse.full" &&
		command -v sparse >/dev/null; then
		# The kernel's scripts/checker-valid.sh refuses this sparse:
		# 7.x headers use __typeof_unqual__, which no sparse release
		# (Debian has 0.6.4, the last one) understands.
		n=$((n + 1))
		echo "ok $n lint: $kver: sparse (C=2) # SKIP $(sparse --version) is too old for this kernel's headers (scripts/checker-valid.sh); it runs on the other kernels"
	else
		result "lint: $kver: sparse (C=2) reports nothing in kmod/ and testdrv/" "$log/sparse.log"
	fi
done

for cptree in "${cptrees[@]}"; do
	cpname=$(tree_name "$cptree")
	cplog=$out/$cpname
	cp=$cptree/scripts/checkpatch.pl
	if [ ! -f "$cp" ]; then
		echo "no $cp" >"$cplog.checkpatch.log"
	else
		perl "$cp" --strict --no-tree --terse --show-types --quiet \
			--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
			-f kmod/*.c kmod/*.h kmod/compat/*.h kmod/uapi/linux/*.h \
			"${testdrv_src[@]}" \
			2>&1 | grep -v '^total: 0 errors, 0 warnings, 0 checks' >"$cplog.checkpatch.log"
	fi
	result "lint: checkpatch.pl --strict of $cpname is clean on kmod/ and testdrv/" "$cplog.checkpatch.log"
done
if [ -n "$kdtree" ]; then
	cpname=$(tree_name "$kdtree")
	cplog=$out/$cpname
	# Every kernel-doc comment complete (parameters, Return:), by the
	# same tree's scripts/kernel-doc.
	kd=$kdtree/scripts/kernel-doc
	if [ ! -x "$kd" ]; then
		echo "no $kd" >"$cplog.kernel-doc.log"
	else
		"$kd" -none -Wall kmod/*.c kmod/*.h kmod/compat/*.h kmod/uapi/linux/*.h \
			"${testdrv_src[@]}" >"$cplog.kernel-doc.log" 2>&1
	fi
	result "lint: kernel-doc -Wall of $cpname reports nothing in kmod/ and testdrv/" "$cplog.kernel-doc.log"
fi
exit $fail
