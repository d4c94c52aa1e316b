#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The notifier's test without the lock (issue 23), from outside:
# - a device no rule names is left to its native driver (e1000e probes the
#   hotplugged NIC while a rule names another address), and the module
#   writes nothing about it;
# - a device added while a rule naming it is being added is matched exactly
#   once: 10 cycles, the rule's add begun from 0.3 s before the hot-add to
#   0.15 s after it (on the 6.1 VM the rule won up to -0.15 s and lost from
#   0), so that it lands before, during and after the device's arrival.
#   Whichever came first, the NIC ends on vfio-pci (reclaim=all: a rule
#   added after e1000e took it takes it back), with one "reserved for" line;
# - a listener hears every arrival and every reservation, none dropped.
# vm-timeout: 300
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vm-matrix: every-kernel
# vr-roles: nic-twin hotplug
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
CYCLES=10
# A rule no device here has: the copy of the rules is not empty.
NOWHERE=ffff:ff:1f.7

need_helper
need_module_unloaded
ktap_plan 8
# The positive control for "left to its native driver" (lib.sh, hp_control).
read -r native twin < <(hp_control)
ktap_check "positive control: $native loaded and probed $twin" \
	load_native "$native" "$twin"
modprobe vfio-pci
hp_prepare
ktap_check "modprobe vfio_reserve devices=$NOWHERE reclaim=all" \
	modprobe vfio_reserve devices="$NOWHERE" reclaim=all
"$VR" --json monitor >/tmp/race-mon.out 2>/tmp/race-mon.err &
mon=$!
sleep 1

# --- a device no rule names -------------------------------------------------
kmsg_mark "unmatched arrival"
before=$(probe_log "$native" "$HP_ADDR")
hp_plug
ktap_check "no rule names $HP_ADDR: $native probed it and has it" \
	eval 'wait_for 30 eval "[[ \$(pci_driver $HP_ADDR) == $native ]]" &&
		[[ $(probe_log "$native" "$HP_ADDR") != "$before" ]]'
ktap_check "the module wrote nothing about it" \
	eval '! dmesg_since | grep -q "$HP_ADDR: vfio_reserve:"'
hp_unplug

# --- rules added while the device arrives -----------------------------------
bad=0 early=0 late=0 order=
for i in $(seq 1 $CYCLES); do
	kmsg_mark "race cycle $i"
	# the rule's add starts OFFSET s after the hot-add (before it if < 0)
	offset=$(awk -v i="$i" 'BEGIN { printf "%.2f", (i - 1) * 0.05 - 0.3 }')
	if [[ $offset == -* ]]; then
		plug_after=${offset#-} add_after=0
	else
		plug_after=0 add_after=$offset
	fi
	(sleep "$plug_after" && hp_plug) >/dev/null 2>&1 &
	plug=$!
	(sleep "$add_after" && "$VR" add "$HP_ADDR") >/dev/null &
	add=$!
	wait "$add" || { ktap_diag "cycle $i: add failed"; bad=$((bad + 1)); }
	wait "$plug" || { ktap_diag "cycle $i: the hot-add did not complete"; bad=$((bad + 1)); }
	if ! wait_for 30 eval '[[ $(pci_driver "$HP_ADDR") == vfio-pci ]]'; then
		ktap_diag "cycle $i: on '$(pci_driver "$HP_ADDR")', not vfio-pci"
		bad=$((bad + 1))
	fi
	lines=$(dmesg_since | grep "$HP_ADDR: vfio_reserve: reserved for vfio-pci by rule $HP_ADDR")
	n=$(grep -c . <<<"$lines")
	if [[ $n != 1 ]]; then
		ktap_diag "cycle $i: $n \"reserved for\" lines"
		bad=$((bad + 1))
	elif grep -q "taken from" <<<"$lines"; then
		late=$((late + 1))
		order+=" $offset:late"
	else
		early=$((early + 1))
		order+=" $offset:early"
	fi
	"$VR" remove "$HP_ADDR" >/dev/null || { ktap_diag "cycle $i: remove failed"; bad=$((bad + 1)); }
	hp_unplug || { ktap_diag "cycle $i: the unplug did not complete"; bad=$((bad + 1)); }
done
ktap_diag "$early reserved on arrival, $late taken from $native by the rule's scan (offset:which$order)"
ktap_check "$CYCLES arrivals racing a rule: each reserved exactly once, on vfio-pci" \
	eval '[[ $bad == 0 ]]'

sleep 1
kill "$mon"
wait "$mon" 2>/dev/null
[[ -s /tmp/race-mon.err ]] && ktap_diag </tmp/race-mon.err
# count EVENT: the listener's EVENT events for HP_ADDR
count() {
	python3 -c '
import json, sys
print(sum(1 for line in open("/tmp/race-mon.out")
          if (e := json.loads(line)).get("address") == sys.argv[1] and e.get("event") == sys.argv[2]))' \
		"$HP_ADDR" "$1"
}
ktap_check "the listener heard every arrival ($((CYCLES + 1)) added, $((CYCLES + 1)) removed)" \
	eval '[[ $(count added) == $((CYCLES + 1)) && $(count removed) == $((CYCLES + 1)) ]]'
ktap_check "and every reservation, once each ($CYCLES reserved)" \
	eval '[[ $(count reserved) == "$CYCLES" ]] && ! grep -q lost /tmp/race-mon.out'
ktap_check "it unloads cleanly" rmmod vfio_reserve
ktap_finish
