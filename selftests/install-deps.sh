#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the Debian packages of selftests/debian-packages.txt that are
# missing. Needs root only when something is missing.
set -eu
list="$(dirname "$0")/debian-packages.txt"
missing=()
while read -r pkg _; do
	case "$pkg" in ''|'#'*) continue ;; esac
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$pkg")
done < "$list"
[ ${#missing[@]} -eq 0 ] && exit 0
echo "vfio-reserve: installing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "vfio-reserve: run as root, or: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
