#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-kernel.sh [--config-only] [--print-dir]: build the kernel matrix's
# newest 7.x, which is also the debug kernel of `make check-debug`, from
# Debian's newest linux-source-7.x (selftests/kernels/fetch.sh source) with
# the fragment selftests/debug/config, and cache it outside the tree.
#
# The cache: ${VR_DEBUG_CACHE:-/var/cache/vfio-reserve/kernel}/HASH/, HASH
# covering the fragment, the source package's version and size, the compiler
# and this recipe's version. A finished entry holds
#   bzImage               the kernel
#   modroot/lib/modules/KVER/   modules_install INSTALL_MOD_PATH=modroot
#   linux/                the build tree (make -C linux M=DIR modules)
#   kernelrelease, config, build-seconds, done
# An entry without `done` is rebuilt (an interrupted build resumes in it).
#
# --config-only: stop after the configuration and its check.
# --print-dir: print the entry's directory (built or not) and exit.
# On success the last line of stdout is the entry's directory.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
frag=$top/selftests/debug/config
tarball=${VR_KERNEL_SOURCE:-}
cache_root=${VR_DEBUG_CACHE:-/var/cache/vfio-reserve/kernel}
jobs=${VR_DEBUG_JOBS:-$(nproc)}
recipe=2 # bump when the way the kernel is built changes

config_only=0 print_dir=0
for a in "$@"; do
	case $a in
	--config-only) config_only=1 ;;
	--print-dir) print_dir=1 ;;
	*) echo "usage: $0 [--config-only] [--print-dir]" >&2; exit 2 ;;
	esac
done

log() { echo "build-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

if [[ -z $tarball ]]; then
	tarball=$("$top/selftests/kernels/fetch.sh" source) || die "no linux-source-7.x"
fi
[[ -r $tarball ]] || die "no $tarball"
srcver=$(cat "$(dirname "$tarball")/../../version" 2>/dev/null || basename "$tarball")
key=$( {
	echo "recipe $recipe"
	echo "source $srcver $(stat -c %s "$tarball")"
	gcc --version | head -n 1
	cat "$frag"
} | sha256sum | cut -c1-16)
dir=$cache_root/$key
if ((print_dir)); then
	echo "$dir"
	exit 0
fi
if [[ -f $dir/done ]]; then
	log "cached: $dir ($(cat "$dir/kernelrelease"), built in $(cat "$dir/build-seconds") s)"
	echo "$dir"
	exit 0
fi

for t in bc bison flex make gcc perl; do
	command -v "$t" >/dev/null || die "$t is missing (selftests/debian-packages.txt)"
done
for h in /usr/include/libelf.h /usr/include/openssl/ssl.h; do
	[[ -f $h ]] || die "$h is missing: apt-get install libelf-dev libssl-dev"
done

mkdir -p "$cache_root"
exec 9>"$cache_root/$key.lock"
if ! flock -n 9; then
	log "another build of $key is running: waiting for it"
	flock 9
fi
if [[ -f $dir/done ]]; then
	echo "$dir"
	exit 0
fi

start=$SECONDS
mkdir -p "$dir"
k=$dir/linux
if [[ ! -f $k/.extracted ]]; then
	log "extracting $tarball (linux-source $srcver) into $k"
	rm -rf "$k"
	mkdir -p "$k"
	tar -xJf "$tarball" -C "$k" --strip-components=1
	touch "$k/.extracted"
fi

# The configuration: tinyconfig, the fragment, olddefconfig.
kmake() { make -C "$k" ARCH=x86_64 "$@"; }
if [[ ! -f $k/.config-checked ]] || ! cmp -s "$frag" "$k/.config-fragment"; then
	log "configuring: tinyconfig + $frag + olddefconfig"
	kmake -s tinyconfig >/dev/null
	(cd "$k" && KCONFIG_CONFIG=.config scripts/kconfig/merge_config.sh -m \
		.config "$frag" >/dev/null)
	kmake -s olddefconfig >/dev/null
	# Everything the fragment asks for must have survived: olddefconfig drops
	# options whose dependencies are missing without a word.
	dropped=()
	while IFS= read -r line; do
		if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
			grep -qxF -- "$line" "$k/.config" || dropped+=("$line (have: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$k/.config" || echo nothing))")
		elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
			if grep -qE "^${BASH_REMATCH[1]}=" "$k/.config"; then
				dropped+=("$line (have: $(grep -E "^${BASH_REMATCH[1]}=" "$k/.config"))")
			fi
		fi
	done <"$frag"
	if ((${#dropped[@]})); then
		log "olddefconfig did not keep ${#dropped[@]} option(s) of $frag:"
		printf '  %s\n' "${dropped[@]}" >&2
		exit 1
	fi
	cp "$frag" "$k/.config-fragment"
	touch "$k/.config-checked"
	log "configuration checked: all $(grep -cE '^(CONFIG_|# CONFIG_.* is not set)' "$frag") options of the fragment kept"
fi
if ((config_only)); then
	echo "$dir"
	exit 0
fi

log "building bzImage and modules with -j$jobs (10+ minutes; log: $dir/build.log)"
if ! kmake -j"$jobs" bzImage modules >"$dir/build.log" 2>&1; then
	grep -E 'error|Error' "$dir/build.log" | head -n 20 >&2 || true
	tail -n 20 "$dir/build.log" >&2
	die "the kernel build failed (log: $dir/build.log)"
fi
kver=$(kmake -s kernelrelease)
rm -rf "$dir/modroot"
kmake -s INSTALL_MOD_PATH="$dir/modroot" modules_install >/dev/null
cp "$k/arch/x86/boot/bzImage" "$dir/bzImage"
cp "$k/.config" "$dir/config"
echo "$kver" >"$dir/kernelrelease"
echo $((SECONDS - start)) >"$dir/build-seconds"
touch "$dir/done"
log "built $kver in $((SECONDS - start)) s: $dir"
echo "$dir"
