#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs in the guest, chrooted into the host's / (started by init.sh): one test
# file, its TAP between markers that vm.py reads on the console.
set -u

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C.UTF-8 TERM=dumb
export VR_TOP VR_TEST VR_KVER VR_MODROOT VR_KO

cd "$VR_TOP" || exit 1
echo "VR-TAP-BEGIN"
bash "$VR_TEST" </dev/null
rc=$?
echo "VR-TAP-END rc=$rc"

# 0 = pass, 4 = skip (kselftest); anything else: leave the kernel log for the reader.
if [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ]; then
	echo "VR-DMESG-BEGIN"
	dmesg
	echo "VR-DMESG-END"
fi
