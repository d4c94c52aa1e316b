#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vfio-reserve monitor --json: with a run-time rule for the hotplug device,
# its arrival (QEMU's device_add; a rescan on a host, lib.sh's hp_plug)
# shows as added, reserved (by that rule), bound (vfio-pci), and its
# unplug as unbound, removed; one valid JSON object
# a line (schema_version 1, an RFC 3339 time), in the order the things
# happened (as sysfs and QMP saw them). monitor --timestamp stamps each
# line; stopped (SIGSTOP) while claims and releases of nic0 overrun its
# socket, it says events were lost, prints what is reserved now ("state"
# lines), and goes on: the next release is printed (issue 18).
# vm-timeout: 180
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-roles: nic-twin hotplug
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper

ktap_plan 14
# The positive control for "never probed" below (lib.sh, hp_control).
read -r native twin < <(hp_control)
ktap_check "positive control: $native loaded and probed $twin" \
	load_native "$native" "$twin"
modprobe vfio-pci
hp_prepare
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
"$VR" --json monitor >/tmp/mon.out 2>/tmp/mon.err &
mon=$!
sleep 1
ktap_check "monitor --json is running" kill -0 "$mon"
ktap_check "add $HP_ADDR" "$VR" add "$HP_ADDR"

before=$(probe_log "$native" "$HP_ADDR")
hp_plug
ktap_check "the hotplugged device $HP_ADDR is bound to vfio-pci; $native never probed it" \
	eval 'wait_for 30 eval "[[ \$(pci_driver $HP_ADDR) == vfio-pci ]]" &&
		[[ $(probe_log "$native" "$HP_ADDR") == "$before" ]]'
ktap_check "the unplug completes and $HP_ADDR is gone" hp_unplug
sleep 1
kill "$mon"
wait "$mon" 2>/dev/null
ktap_diag "monitor --json:"
ktap_diag </tmp/mon.out
[[ -s /tmp/mon.err ]] && ktap_diag </tmp/mon.err

ktap_check "every line is one JSON object: schema_version 1, command monitor, an RFC 3339 time, event, address" \
	python3 -c '
import datetime, json
n = 0
for line in open("/tmp/mon.out"):
    e = json.loads(line)
    assert isinstance(e, dict) and "event" in e and "address" in e, line
    assert e["schema_version"] == 1 and e["command"] == "monitor", line
    t = datetime.datetime.fromisoformat(e["time"])
    assert t.tzinfo and abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) < 600, line
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

# --- --timestamp, and a socket overrun --------------------------------------
# A small receive buffer (SO_RCVBUF is capped at rmem_max): a dozen events
# overrun it, not hundreds.
rmem_max=$(sysctl -n net.core.rmem_max)
sysctl -qw net.core.rmem_max=4096
"$VR" monitor --timestamp >/tmp/mon2.out 2>/tmp/mon2.err &
mon=$!
sleep 1
sysctl -qw net.core.rmem_max="$rmem_max"
"$VR" claim "$NIC0" >/dev/null 2>&1
"$VR" release "$NIC0" >/dev/null 2>&1
wait_for 10 grep -q "released $NIC0" /tmp/mon2.out
kill -STOP "$mon"
cycles=12
for _ in $(seq $cycles); do
	"$VR" claim "$NIC0" >/dev/null 2>&1
	"$VR" release "$NIC0" >/dev/null 2>&1
done
"$VR" claim "$NIC0" >/dev/null 2>&1	# left reserved: a "state" line
kill -CONT "$mon"
wait_for 10 grep -q '^\[.*\] state  *'"$NIC0" /tmp/mon2.out
"$VR" release "$NIC0" >/dev/null 2>&1
wait_for 10 eval '[[ $(grep -c "released *$NIC0" /tmp/mon2.out) -ge 2 ]]'
kill "$mon"
wait "$mon" 2>/dev/null
ktap_diag "monitor --timestamp ($cycles claims and releases while stopped):"
ktap_diag < <(head -n 12 /tmp/mon2.out; echo ...; tail -n 6 /tmp/mon2.out)
ktap_diag </tmp/mon2.err
ktap_check "--timestamp: every line starts with an RFC 3339 time" \
	python3 -c '
import datetime, re
n = 0
for line in open("/tmp/mon2.out"):
    m = re.match(r"\[(\S+)\] ", line)
    assert m, line
    datetime.datetime.fromisoformat(m.group(1))
    n += 1
assert n, "no lines"'
ktap_check "the overrun: said on stderr and as a lost line, not an exit" \
	eval 'grep -q "socket overran, events were lost" /tmp/mon2.err && grep -q "^\[.*\] lost " /tmp/mon2.out'
ktap_check "... then $NIC0, reserved at that time, as a state line" \
	eval 'sed -n "/\] lost /,\$p" /tmp/mon2.out | grep -q "\] state  *$NIC0 driver vfio-pci rule claim"'
ktap_check "... and the release after it is printed: it went on" \
	eval 'sed -n "/\] lost /,\$p" /tmp/mon2.out | grep -q "\] released *$NIC0"'
ktap_finish
