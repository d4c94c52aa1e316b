#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The classic sysfs workflow for handing PCI functions to vfio-pci, as
# operators script it: for each address, set driver_override, unbind the
# driver it has, ask the PCI core to probe again. Used by the benchmarks as
# a loop over many functions and, from a udev RUN rule, on hotplug.
#
#   sysfs-bind.sh ADDRESS...
#
# The unbind/probe pair is retried: run from udev on an "add" event the
# script can find the native driver still probing (no driver link yet,
# drivers_probe then waits for it and binds nothing); the next round
# unbinds it. Bash builtins only, so it costs no fork per device.
set -u
drv=${VFIO_DRIVER:-vfio-pci}
drvdir=/sys/bus/pci/drivers/$drv
rc=0
for addr in "$@"; do
	dev=/sys/bus/pci/devices/$addr
	if [[ ! -e $dev ]]; then
		echo "sysfs-bind: $addr: no such device" >&2
		rc=1
		continue
	fi
	echo "$drv" >"$dev/driver_override" || { rc=1; continue; }
	for _ in 1 2 3; do
		[[ $dev/driver -ef $drvdir ]] && break
		if [[ -e $dev/driver ]]; then
			echo "$addr" >"$dev/driver/unbind" || true
		fi
		echo "$addr" >/sys/bus/pci/drivers_probe || true
	done
	if [[ ! $dev/driver -ef $drvdir ]]; then
		echo "sysfs-bind: $addr: not bound to $drv" >&2
		rc=1
	fi
done
exit "$rc"
