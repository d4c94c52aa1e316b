#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lint.sh KDIR: the module is warning-free with W=1, clean under sparse and
# checkpatch --strict. Prints TAP.
set -u
# Kbuild must print its CHECK lines even under "make -s".
unset MAKEFLAGS MFLAGS MAKELEVEL
kdir=$1
top=$(cd "$(dirname "$0")/.." && pwd)
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

echo "TAP version 13"
echo "1..3"
# Build fresh copies of the sources, so that lint never cleans the real
# tree and every file is compiled (and checked) each time.
src=$out/src
fresh_copy() {
	rm -rf "$src"
	mkdir -p "$src"
	cp -r "$top/Kbuild" "$top/dkms.conf" "$top/kmod" "$src/"
}
cd "$top" || exit 1
fresh_copy
make -C "$kdir" M="$src" W=1 modules >"$out/w1.full" 2>&1
grep -E 'warning:|error:' "$out/w1.full" >"$out/w1.log"
[ -f "$src/vfio_reserve.ko" ] || cat "$out/w1.full" >>"$out/w1.log"
result "lint: the module builds warning-free with W=1" "$out/w1.log"

fresh_copy
make -C "$kdir" M="$src" C=2 modules >"$out/sparse.full" 2>&1
grep -E 'warning:|error:' "$out/sparse.full" | grep '/kmod/' >"$out/sparse.log"
command -v sparse >/dev/null || echo "sparse is not installed" >"$out/sparse.log"
grep -q 'CHECK' "$out/sparse.full" || echo "sparse did not run" >>"$out/sparse.log"
result "lint: sparse (C=2) reports nothing in kmod/" "$out/sparse.log"

cp=$top/build/ksft/scripts/checkpatch.pl
if [ ! -f "$cp" ]; then
	mkdir -p "$top/build/ksft"
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$top/build/ksft" \
		--strip-components=1 linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
fi
perl "$cp" --strict --no-tree --terse --show-types --quiet \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG \
	-f kmod/*.c kmod/*.h kmod/compat/*.h kmod/uapi/linux/*.h \
	2>&1 | grep -v '^total: 0 errors, 0 warnings, 0 checks' >"$out/checkpatch.log"
result "lint: checkpatch.pl --strict is clean on kmod/" "$out/checkpatch.log"
exit $fail
