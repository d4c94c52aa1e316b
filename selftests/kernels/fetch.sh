#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fetch.sh lts|source: the kernels of the matrix beyond Debian 12's own 6.1,
# from Debian's archive, through a private apt configuration: the machine's
# apt sources are left alone. Everything lives under
# ${VR_KERNEL_CACHE:-/var/cache/vfio-reserve}/apt (lists, downloaded .debs).
#
#   lts     the newest 6.12 LTS of bookworm-backports: image (unsigned) and
#           headers, installed with dpkg like any kernel package, so that
#           /lib/modules/KVER/build exists and DKMS builds for it. Prints KVER.
#   source  the newest linux-source-7.x of trixie-backports, unpacked (not
#           installed: dpkg -x) under the cache. Prints the tarball's path.
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

# download PKG...: into $apt_dir/debs, unless already there.
download() {
	local p
	for p in "$@"; do
		compgen -G "$apt_dir/debs/${p}_*.deb" >/dev/null && continue
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

case ${1:-} in
lts) fetch_lts ;;
source) fetch_source ;;
*) echo "usage: $0 lts|source" >&2; exit 2 ;;
esac
