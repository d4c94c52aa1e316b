#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vfio-reserve monitor --json: with a run-time rule for the empty hotplug
# slot, a NIC added over QMP shows as added, reserved (by that rule), bound
# (vfio-pci), and after device_del as unbound, removed; one valid JSON object
# a line, in the order the things happened (as sysfs and QMP saw them).
# vm-timeout: 180
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper

ktap_plan 10
# The positive control for "never probed" below: e1000e loaded and probes its twin.
ktap_check "positive control: e1000e loaded and probed nic0 $NIC0" \
	load_native e1000e "$NIC0"
modprobe vfio-pci
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
"$VR" --json monitor >/tmp/mon.out 2>/tmp/mon.err &
mon=$!
sleep 1
ktap_check "monitor --json is running" kill -0 "$mon"
ktap_check "add $HP_ADDR" "$VR" add "$HP_ADDR"

qmp "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"e1000e\",\"bus\":\"$HP_PORT\",\"netdev\":\"hp0\",\"id\":\"hp0\",\"romfile\":\"\"}}" >/dev/null
ktap_check "the hotplugged NIC $HP_ADDR is bound to vfio-pci; e1000e never probed it" \
	eval 'wait_for 30 eval "[[ \$(pci_driver $HP_ADDR) == vfio-pci ]]" &&
		[[ $(probe_log e1000e "$HP_ADDR") == 0 ]]'
qmp '{"execute":"device_del","arguments":{"id":"hp0"}}' >/dev/null
ktap_check "device_del completes and $HP_ADDR is gone" \
	eval 'qmp_wait_event 30 DEVICE_DELETED "\"device\":\"hp0\"" && wait_for 30 eval "! pci_exists $HP_ADDR"'
sleep 1
kill "$mon"
wait "$mon" 2>/dev/null
ktap_diag "monitor --json:"
ktap_diag </tmp/mon.out
[[ -s /tmp/mon.err ]] && ktap_diag </tmp/mon.err

ktap_check "every line is one valid JSON object with event and address" \
	python3 -c '
import json
n = 0
for line in open("/tmp/mon.out"):
    e = json.loads(line)
    assert isinstance(e, dict) and "event" in e and "address" in e, line
    n += 1
assert n, "no events"'

# The events for HP_ADDR as "event driver rule" lines.
events=$(python3 -c '
import json, sys
for line in open("/tmp/mon.out"):
    e = json.loads(line)
    if e["address"] == sys.argv[1]:
        print(e["event"], e["driver"] or "-", e["rule"] or "-")' "$HP_ADDR")

# in_order LINES LINE...: the LINEs occur in LINES in this order.
in_order() {
	python3 -c '
import sys
lines, want = sys.argv[1].splitlines(), sys.argv[2:]
i = 0
for l in lines:
    if i < len(want) and l.startswith(want[i]):
        i += 1
sys.exit(i != len(want))' "$@"
}
ktap_check "on hotplug: added, reserved (rule $HP_ADDR), bound vfio-pci, in this order" \
	in_order "$events" "added " "reserved vfio-pci $HP_ADDR" "bound vfio-pci "
ktap_check "on unplug, after those: unbound vfio-pci, removed" \
	in_order "$events" "added " "reserved vfio-pci" "bound vfio-pci " "unbound vfio-pci " "removed "
ktap_check "nothing bound it but vfio-pci" \
	eval '! grep -E "^bound " <<<"$events" | grep -vq "^bound vfio-pci "'
ktap_finish
