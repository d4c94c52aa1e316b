#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fetch.sh lts|source|qemu: the kernels of the matrix beyond Debian 12's own
# 6.1, and a QEMU newer than its 7.2, from Debian's archive, through a private
# apt configuration: the machine's apt sources are left alone. Everything
# lives under ${VR_KERNEL_CACHE:-/var/cache/vfio-reserve}/apt (lists,
# downloaded .debs).
#
#   lts     the newest 6.12 LTS of bookworm-backports: image (unsigned) and
#           headers, installed with dpkg like any kernel package, so that
#           /lib/modules/KVER/build exists and DKMS builds for it. Prints KVER.
#   source  the newest linux-source-7.x of trixie-backports, unpacked (not
#           installed: dpkg -x) under the cache. Prints the tarball's path.
#   qemu    the newest QEMU of bookworm-backports (qemu-system-x86, -common,
#           -data), unpacked (not installed: dpkg -x; Debian 12's 7.2 stays
#           the system's QEMU) under the cache's qemu/VERSION. Prints the path
#           of VERSION/qemu-system-x86_64, a wrapper that runs it with its own
#           data files and modules (and SeaBIOS, iPXE from the machine's).
#
# The suites, the mirror (the one of the machine's own sources) and the
# package names are here and nowhere else. Needs root for `lts` when the
# packages are not installed yet.
set -euo pipefail

cache=${VR_KERNEL_CACHE:-/var/cache/vfio-reserve}
apt_dir=$cache/apt
log() { echo "fetch: $*" >&2; }
die() { log "$*"; exit 1; }

mirror() {
	local m
	m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1)
	[[ -n $m ]] || m=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
	echo "${m:-http://deb.debian.org/debian}"
}

apt_opts=(-o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=$apt_dir/sources"
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")

# The package lists, refreshed at most once an hour.
apt_update() {
	mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports trixie-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$(mirror)" >"$apt_dir/sources/vfio-reserve-kernels.sources"
	if [[ -z $(find "$apt_dir/lists" -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | head -n 1) ]]; then
		log "apt-get update (bookworm-backports, trixie-backports) into $apt_dir"
		apt-get "${apt_opts[@]}" update -qq >&2 || die "apt-get update failed"
	fi
}

# newest REGEX: the newest package name matching REGEX (by version order).
newest() {
	apt-cache "${apt_opts[@]}" search --names-only "$1" | awk '{ print $1 }' | sort -V | tail -n 1
}

# download PKG[=VERSION]...: into $apt_dir/debs, unless already there (apt
# names the file PKG_VERSION_ARCH.deb, an epoch's colon as %3a).
download() {
	local p f
	for p in "$@"; do
		f=${p%%=*}_
		[[ $p == *=* ]] && f=${p%%=*}_${p#*=}_
		compgen -G "$apt_dir/debs/${f//:/%3a}*.deb" >/dev/null && continue
		(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download -qq "$p" >&2) ||
			die "cannot download $p"
	done
}

fetch_lts() {
	apt_update
	local img kver
	img=$(newest '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$')
	[[ -n $img ]] || die "no linux-image-6.12.*+deb12-amd64-unsigned in bookworm-backports"
	kver=${img#linux-image-}
	kver=${kver%-unsigned}
	local base=${kver%-amd64}
	if [[ ! -d /lib/modules/$kver/build/include || ! -f /boot/vmlinuz-$kver ]]; then
		download "$img" "linux-headers-$kver" "linux-headers-$base-common" "linux-kbuild-$base"
		[[ $(id -u) == 0 ]] || die "installing $kver needs root"
		log "installing $kver (image and headers) with dpkg"
		# INITRD=No: no initramfs for it (the VM tests bring their own).
		INITRD=No DEBIAN_FRONTEND=noninteractive dpkg -i \
			"$apt_dir/debs/${img}"_*.deb "$apt_dir/debs/linux-headers-${kver}"_*.deb \
			"$apt_dir/debs/linux-headers-${base}-common"_*.deb \
			"$apt_dir/debs/linux-kbuild-${base}"_*.deb >"$apt_dir/dpkg-$kver.log" 2>&1 ||
			die "dpkg -i failed (log: $apt_dir/dpkg-$kver.log)"
	fi
	echo "$kver"
}

fetch_source() {
	apt_update
	local pkg ver dir
	pkg=$(newest '^linux-source-7\.[0-9]+$')
	[[ -n $pkg ]] || die "no linux-source-7.x in trixie-backports"
	ver=${pkg#linux-source-}
	dir=$cache/src/$pkg
	if [[ ! -f $dir/done ]]; then
		download "$pkg"
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg -x "$apt_dir/debs/${pkg}"_*.deb "$dir"
		dpkg-deb -f "$apt_dir/debs/${pkg}"_*.deb Version >"$dir/version"
		touch "$dir/done"
	fi
	[[ -r $dir/usr/src/linux-source-$ver.tar.xz ]] || die "no tarball in $dir"
	echo "$dir/usr/src/linux-source-$ver.tar.xz"
}

fetch_qemu() {
	apt_update
	local ver dir p missing
	local pkgs=(qemu-system-x86 qemu-system-common qemu-system-data)
	# By suite, not by version: trixie-backports has newer ones, built for
	# Debian 13's libraries.
	ver=$(apt-cache "${apt_opts[@]}" show qemu-system-x86/bookworm-backports 2>/dev/null |
		sed -n 's/^Version: //p' | sort -V | tail -n 1)
	[[ -n $ver ]] || die "no qemu-system-x86 in bookworm-backports"
	dir=$cache/qemu/${ver#*:}
	if [[ ! -f $dir/done ]]; then
		download "${pkgs[@]/%/=$ver}"
		rm -rf "$dir"
		mkdir -p "$dir"
		for p in "${pkgs[@]}"; do
			dpkg -x "$apt_dir/debs/${p}_${ver/:/%3a}"_*.deb "$dir"
		done
		# Every library it links must be Debian 12's (the machine's).
		missing=$(for p in "$dir/usr/bin/qemu-system-x86_64" "$dir"/usr/lib/x86_64-linux-gnu/qemu/*.so; do
			ldd "$p"; done | awk '/not found/ { print $1 }' | sort -u | paste -sd ' ')
		[[ -z $missing ]] || die "QEMU $ver needs libraries Debian 12 lacks: $missing"
		# Its compiled-in paths are the system QEMU's: its own data files
		# (pvh.bin, linuxboot_dma.bin, ...) first, then the machine's
		# SeaBIOS (and iPXE, from the built-in path); modules from the
		# prefix (the machine's 7.2 ones are of another build).
		cat >"$dir/qemu-system-x86_64" <<-EOF
			#!/bin/sh
			# QEMU $ver (bookworm-backports), unpacked by selftests/kernels/fetch.sh qemu
			QEMU_MODULE_DIR='$dir/usr/lib/x86_64-linux-gnu/qemu'
			export QEMU_MODULE_DIR
			exec '$dir/usr/bin/qemu-system-x86_64' -L '$dir/usr/share/qemu' -L /usr/share/seabios "\$@"
		EOF
		chmod 755 "$dir/qemu-system-x86_64"
		"$dir/qemu-system-x86_64" --version >/dev/null || die "QEMU $ver in $dir does not run"
		echo "$ver" >"$dir/version"
		touch "$dir/done"
		log "QEMU $ver unpacked into $dir"
	fi
	echo "$dir/qemu-system-x86_64"
}

case ${1:-} in
lts) fetch_lts ;;
source) fetch_source ;;
qemu) fetch_qemu ;;
*) echo "usage: $0 lts|source|qemu" >&2; exit 2 ;;
esac
