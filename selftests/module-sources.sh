#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# module-sources.sh DIR: the module's sources, and the VM tests' driver
# that the top Kbuild builds beside it, copied into DIR (created), for a
# build that never touches the tree. The one list of what a module build
# needs; the DKMS package takes the same without selftests/.
set -eu
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1/selftests/vm"
cp -r "$top/Kbuild" "$top/dkms.conf" "$top/kmod" "$1/"
cp -r "$top/selftests/vm/testdrv" "$1/selftests/vm/"
