#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A stand-in for systemd's part in driverctl's hotplug path, for the
# benchmark VM, whose PID 1 is not systemd.
#
# On a host, driverctl's rule (05-driverctl.rules) tags an added device
# for systemd and sets SYSTEMD_WANTS=driverctl@<bus>-<address>.service when
# /etc/driverctl.d/<bus>-<address> exists; once udev has processed the event,
# systemd starts that unit, which runs `driverctl load-override <bus>/<address>`
# (the unit's %I). This script listens where systemd listens (udev's
# processed events) and runs the same command for each such event, in the
# background as systemd would. It skips systemd's own cost (job queue,
# fork from PID 1, cgroup), so it is an optimistic model of driverctl.
#
# It also models every add as the unit's first start: under systemd the
# unit is a oneshot with RemainAfterExit=yes, which stays active after a
# device is unplugged, and SYSTEMD_WANTS does not start an active unit
# again (see bench/README.md).
#
#   driverctl-systemd.sh [LOGFILE]     runs until killed (SIGTERM)
set -u
log=${1:-/dev/null}
coproc MON { exec stdbuf -oL udevadm monitor --udev --property --subsystem-match=pci; }
trap 'kill "$MON_PID" 2>/dev/null; exit 0' TERM INT
action='' wants=''
while IFS= read -r line <&"${MON[0]}"; do
	case $line in
	ACTION=*) action=${line#ACTION=} ;;
	SYSTEMD_WANTS=*) wants=${line#SYSTEMD_WANTS=} ;;
	"")
		for unit in $wants; do
			[[ $action == add && $unit == driverctl@*.service ]] || continue
			inst=${unit#driverctl@}
			inst=${inst%.service}
			[[ -e /etc/driverctl.d/$inst ]] || continue	# ConditionPathExists
			# systemd's %I: the instance unescaped, "-" -> "/".
			echo "$EPOCHREALTIME $unit: load-override ${inst//-//}" >>"$log"
			/usr/sbin/driverctl load-override "${inst//-//}" >>"$log" 2>&1 &
		done
		action='' wants=''
		;;
	esac
done
