#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Module init loads no module (issue 14). With "softdep vfio_pci pre:
# vfio_reserve", a modprobe of vfio-pci loads vfio_reserve first and waits
# for its init; an init that called request_module("vfio-pci") for the
# devices it reserved waited for a second modprobe, which waited for that
# same init: the first modprobe never returned. The devices are bound, and
# vfio-pci loaded if need be, by the module's work item after init.
# vm-matrix: every-kernel
# vm-cmdline: vfio_reserve.devices=0000:01:00.0
# vr-roles: nic
# vr-vm-only: it is about the kernel command line itself (vfio_reserve.devices= at boot, with the softdep)
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ktap_plan 4
# modprobe.d as an operator would write it (the root is read-only here).
mkdir -p /tmp/modprobe.d
cp -a /etc/modprobe.d/. /tmp/modprobe.d/ 2>/dev/null
echo "softdep vfio_pci pre: vfio_reserve" >/tmp/modprobe.d/vr-test.conf
mount --bind /tmp/modprobe.d /etc/modprobe.d
# The positive control: the softdep is in effect, vfio_reserve comes first.
ktap_check "modprobe vfio-pci would load vfio_reserve before vfio-pci" \
	eval 'modprobe --show-depends vfio-pci | grep -nE "/(vfio_reserve|vfio-pci|vfio_pci)\.ko" |
		sed -n "1p" | grep -q vfio_reserve'
limit=$(scaled 60)
timeout -s KILL "$limit" modprobe vfio-pci && rc=0 || rc=$?
ktap_check "modprobe vfio-pci returns within ${limit} s, exit 0 (was $rc)" eval '((rc == 0))'
ktap_check "vfio_reserve and vfio_pci are loaded" \
	eval '[[ -d /sys/module/vfio_reserve && -d /sys/module/vfio_pci ]]'
ktap_check "nic1 $NIC1 (devices= at boot) is on vfio-pci" \
	wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
ktap_finish
