#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# deploy.sh KDIR: deployment as operators do it. make install DESTDIR=...
# installs exactly the files README.md lists; the man pages render without
# warnings; bash completion completes commands and addresses; a real DKMS
# add/build/install against Debian's headers, and a VM boot with the
# DKMS-built module. Prints TAP.
set -u
kdir=$1
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/deploy
kver=$(basename "$(dirname "$kdir")")
n=0 fail=0
rm -rf "$out"
mkdir -p "$out"
cd "$top" || exit 1

ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); fail=1; echo "not ok $n $*"; }
check() { # check DESC CMD...
	local desc=$1 log=$out/step$((n + 1)).log
	shift
	if "$@" >"$log" 2>&1; then ok "$desc"; else sed 's/^/# /' "$log" | tail -n 30; not_ok "$desc"; fi
}

echo "TAP version 13"
echo "1..6"

installed_as_documented() {
	local dest=$out/dest
	make -s install DESTDIR="$dest" KDIR="$kdir" >/dev/null || return 1
	(cd "$dest" && find . -type f | sed 's|^\.||' | sort) >"$out/installed"
	sed -n '/<!-- installed-files -->/,/<!-- end -->/p' README.md |
		grep '^/' | sed "s|KVER|$kver|" | sort >"$out/documented"
	diff -u "$out/documented" "$out/installed"
}
check "make install DESTDIR=... installs exactly the files README.md lists" installed_as_documented

man_clean() {
	local page w
	for page in man/vfio-reserve.8 man/vfio_reserve.4; do
		w=$(groff -ww -man -z "$page" 2>&1)
		[ -z "$w" ] || { echo "$page: $w"; return 1; }
		w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		[ -z "$w" ] || { echo "$page: $w"; return 1; }
	done
}
check "man -l renders both pages without warnings (groff -ww)" man_clean

completes() {
	bash -c '
		. contrib/bash-completion/vfio-reserve
		complete -p vfio-reserve | grep -q "_vfio_reserve" || exit 1
		COMP_WORDS=(vfio-reserve cl); COMP_CWORD=1; _vfio_reserve
		[[ " ${COMPREPLY[*]} " == " claim " ]] || { echo "cl -> ${COMPREPLY[*]}"; exit 1; }
		COMP_WORDS=(vfio-reserve --json r); COMP_CWORD=2; _vfio_reserve
		[[ " ${COMPREPLY[*]} " == *" rules "* && " ${COMPREPLY[*]} " == *" release "* ]] || exit 1
		first=$(ls /sys/bus/pci/devices | head -n 1)
		COMP_WORDS=(vfio-reserve claim "${first:0:9}"); COMP_CWORD=2; _vfio_reserve
		[[ " ${COMPREPLY[*]} " == *" $first "* ]] || { echo "address -> ${COMPREPLY[*]}"; exit 1; }
		COMP_WORDS=(vfio-reserve sriov 0000:00:00.0 --n); COMP_CWORD=3; _vfio_reserve
		[[ " ${COMPREPLY[*]} " == " --numvfs " ]] || exit 1
	'
}
check "bash completion completes commands, options and PCI addresses" completes

dkms_build() {
	make -s dkms-remove KDIR="$kdir" >/dev/null 2>&1
	make dkms-install KDIR="$kdir" || return 1
	dkms status -m vfio-reserve | grep -q "installed" || return 1
	modinfo -k "$kver" -F filename vfio_reserve | grep -q "/updates/dkms/vfio_reserve.ko"
}
check "dkms add, build and install against $kver's headers" dkms_build

ko=$(modinfo -k "$kver" -F filename vfio_reserve 2>/dev/null)
if [[ $ko == */updates/dkms/* ]]; then
	check "a VM boots with the DKMS-built module and reserves by address" \
		selftests/vm/vm.py --build "$out/vm" --ko "$ko" selftests/vm/tests/10-boot-address.sh
else
	not_ok "a VM boots with the DKMS-built module (no DKMS module installed)"
fi
check "make dkms-remove leaves no module behind" \
	bash -c "make -s dkms-remove KDIR='$kdir' >/dev/null 2>&1; ! modinfo -k '$kver' vfio_reserve >/dev/null 2>&1 && [ ! -d /usr/src/vfio-reserve-* ]"
exit $fail
