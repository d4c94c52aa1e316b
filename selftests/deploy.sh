#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# deploy.sh KDIR...: deployment as operators do it. make install DESTDIR=...
# installs exactly the files README.md lists (for the first KDIR); the man
# pages render without warnings; bash completion completes commands and
# addresses; dkms.conf's BUILD_EXCLUSIVE_KERNEL takes exactly the matrix's
# range; a real DKMS add, then build and install for every kernel installed
# (each KDIR: /lib/modules/KVER/build), and a VM boot of each kernel with its
# DKMS-built module. Prints TAP.
set -u
kdir=$1
kdirs=("$@")
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
echo "1..$((5 + 2 * ${#kdirs[@]}))"

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

# The installed completion, asking the installed helper (on PATH) for its
# commands and options.
completes() {
	PATH=$out/dest/usr/sbin:$PATH bash -c '
		. "$1"/usr/share/bash-completion/completions/vfio-reserve
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
	' _ "$out/dest"
}
check "bash completion completes commands, options and PCI addresses" completes

# The kernels dkms.conf accepts: the matrix's range, 6.1 to 7.3, and no
# other (selftests/kernels/README.md).
dkms_range() {
	local re k
	re=$(sed -n 's/^BUILD_EXCLUSIVE_KERNEL="\(.*\)"$/\1/p' dkms.conf)
	[ -n "$re" ] || { echo "no BUILD_EXCLUSIVE_KERNEL in dkms.conf"; return 1; }
	for k in 6.1.0-57-amd64 6.1.192 6.12.95+deb12-amd64 6.12.117 6.18.5 7.0.1 7.3.4-vrdebug; do
		[[ $k =~ $re ]] || { echo "dkms.conf refuses $k"; return 1; }
	done
	for k in 5.15.0-91-generic 6.0.12 7.4.0 7.10.1 8.0.0 16.1.0; do
		[[ ! $k =~ $re ]] || { echo "dkms.conf accepts $k"; return 1; }
	done
}
check "dkms.conf's BUILD_EXCLUSIVE_KERNEL is the matrix's range (6.1 to 7.3)" dkms_range

# DKMS builds for every kernel installed, as its kernel hook does.
make -s dkms-remove KDIR="$kdir" >/dev/null 2>&1
dkms_build() { # dkms_build KVER
	if [ ! -d "/usr/src/vfio-reserve-$(make -s version)" ]; then
		make dkms-install KDIR="/lib/modules/$1/build" || return 1
	else
		dkms install -m vfio-reserve -v "$(make -s version)" -k "$1" || return 1
	fi
	dkms status -m vfio-reserve -k "$1" | grep -q "installed" || return 1
	modinfo -k "$1" -F filename vfio_reserve | grep -q "/updates/dkms/vfio_reserve.ko"
}
for kd in "${kdirs[@]}"; do
	kv=$(basename "$(dirname "$kd")")
	check "dkms builds and installs the module for $kv" dkms_build "$kv"
	ko=$(modinfo -k "$kv" -F filename vfio_reserve 2>/dev/null)
	if [[ $ko == */updates/dkms/* ]]; then
		check "a VM boots $kv with its DKMS-built module and reserves by address" \
			selftests/vm/vm.py --build "$out/vm-$kv" --ko "$ko" selftests/vm/tests/10-boot-address.sh
	else
		not_ok "a VM boots $kv with its DKMS-built module (no DKMS module installed)"
	fi
done
check "make dkms-remove leaves no module behind" \
	bash -c "make -s dkms-remove KDIR='$kdir' >/dev/null 2>&1; for kd in ${kdirs[*]}; do kv=\$(basename \$(dirname \$kd)); ! modinfo -k \$kv vfio_reserve >/dev/null 2>&1 || exit 1; done; [ ! -d /usr/src/vfio-reserve-* ]"
exit $fail
