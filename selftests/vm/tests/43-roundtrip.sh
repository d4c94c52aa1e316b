#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The helper's round trip on an e1000e bound to its driver: add a rule (the
# default reclaim=stub leaves it on e1000e, pending), claim (vfio-pci,
# /dev/vfio/N, netdev gone), release (back on e1000e with a netdev, override
# cleared), remove the rule; then the helper's errors: removing a rule twice
# (the kernel's message), bad selectors and addresses, --help, unknown command.
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-roles: nic
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper

# The state list --json reports for ADDR (vrjson checks the envelope).
list_state() {
	vrjson list "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d[0]["state"] if len(d) == 1 else "?")'
}

# in_order LINES LINE...: the LINEs occur in LINES in this order.
in_order() {
	python3 -c '
import sys
lines, want = sys.argv[1].splitlines(), sys.argv[2:]
i = 0
for l in lines:
    if i < len(want) and l == want[i]:
        i += 1
sys.exit(i != len(want))' "$@"
}

netdevs() {
	ls "$(pci_dev "$1")/net" 2>/dev/null
}

ktap_plan 26
modprobe e1000e
ktap_check "$NIC1 is on e1000e with a netdev" \
	wait_for 30 eval '[[ $(pci_driver "$NIC1") == e1000e && -n $(netdevs "$NIC1") ]]'
ktap_check "modprobe vfio_reserve" modprobe vfio_reserve
group=$(pci_group "$NIC1")
# The module's events during the round trip, checked at the end.
"$VR" --json monitor >/tmp/mon.out 2>&1 &
mon=$!
sleep 1

run "$VR" add "$NIC1"
ktap_check "add $NIC1: exit 0; still on e1000e (reclaim=stub), pending in list --json" \
	eval '[[ $cmd_rc == 0 && $(pci_driver "$NIC1") == e1000e && -n $(netdevs "$NIC1") &&
		$(list_state "$NIC1") == pending ]]'
run "$VR" rules
ktap_check "rules lists $NIC1" eval '[[ $cmd_rc == 0 ]] && grep -q "^$NIC1 " <<<"$cmd_out"'

# claim with --json: what changed, per device, on stdout; its words on stderr.
cj=$("$VR" --json claim "$NIC1" 2>/tmp/claim.err) && cmd_rc=0 || cmd_rc=$?
ktap_diag "\$ vfio-reserve --json claim $NIC1 -> exit $cmd_rc: $cj"
ktap_diag </tmp/claim.err
ktap_check "claim $NIC1: exit 0, bound to vfio-pci (sysfs), override vfio-pci" \
	eval '[[ $cmd_rc == 0 && $(pci_driver "$NIC1") == vfio-pci &&
		$(<"$(pci_dev "$NIC1")/driver_override") == vfio-pci ]]'
ktap_check "--json claim: schema 1, exit_code 0, one change: $NIC1 e1000e/pending -> vfio-pci/reserved; its message on stderr" \
	eval 'grep -q "reserved, bound to vfio-pci" /tmp/claim.err && python3 -c "
import json, sys
d = json.loads(sys.argv[1])
assert d[\"schema_version\"] == 1 and d[\"command\"] == \"claim\" and d[\"exit_code\"] == 0 and d[\"module\"], d
c = d[\"changes\"]
assert [x[\"address\"] for x in c] == [sys.argv[2]], c
b, a = c[0][\"before\"], c[0][\"after\"]
assert (b[\"driver\"], b[\"state\"], b[\"driver_override\"]) == (\"e1000e\", \"pending\", None), b
assert (a[\"driver\"], a[\"state\"], a[\"driver_override\"], a[\"target\"]) == (\"vfio-pci\", \"reserved\", \"vfio-pci\", \"vfio-pci\"), a
" "$cj" "$NIC1"'
ktap_check "/dev/vfio/$group exists and its netdev is gone" \
	eval '[[ -c /dev/vfio/$group && -z $(netdevs "$NIC1") ]]'
ktap_check "list --json: reserved" eval '[[ $(list_state "$NIC1") == reserved ]]'

run "$VR" release "$NIC1"
ktap_check "release $NIC1: exit 0, back on e1000e with a netdev (sysfs)" \
	eval '[[ $cmd_rc == 0 ]] &&
		wait_for 30 eval "[[ \$(pci_driver $NIC1) == e1000e && -n \$(netdevs $NIC1) ]]"'
ktap_check "driver_override is back to (null)" \
	eval '[[ $(<"$(pci_dev "$NIC1")/driver_override") == "(null)" ]]'

run "$VR" release "$NIC1"
ktap_check "release $NIC1 again: exit 1, the kernel says it is not reserved; still on e1000e" \
	eval '[[ $cmd_rc == 1 && $(pci_driver "$NIC1") == e1000e ]] && grep -q "not reserved" <<<"$cmd_out"'
run "$VR" remove "$NIC1"
ktap_check "remove $NIC1: exit 0" eval '[[ $cmd_rc == 0 ]]'
run "$VR" rules
ktap_check "rules no longer lists it" \
	eval '[[ $cmd_rc == 0 ]] && ! grep -q "$NIC1" <<<"$cmd_out"'
run "$VR" remove "$NIC1"
ktap_check "remove $NIC1 again: exit 1 with the kernel's message" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "no such rule" <<<"$cmd_out"'
ktap_check "and $NIC1 stayed on e1000e" eval '[[ $(pci_driver "$NIC1") == e1000e ]]'

run "$VR" add 'class:02'
ktap_check "add 'class:02' exits 2 naming the token" \
	eval '[[ $cmd_rc == 2 ]] && grep -q "'"'class:02'"'" <<<"$cmd_out"'
run "$VR" rules
ktap_check "and added nothing" eval '[[ $cmd_rc == 0 && $cmd_out == "no rules" ]]'
run "$VR" add ''
ktap_check "add '' exits 2 (an empty selector is not a rule) and adds nothing" \
	eval '[[ $cmd_rc == 2 && $("$VR" rules) == "no rules" ]]'
run "$VR" claim 00:1f.8
ktap_check "claim 00:1f.8 exits 2 (not an address)" \
	eval '[[ $cmd_rc == 2 ]] && grep -q "00:1f.8" <<<"$cmd_out"'
# The bridge $NIC1 is behind: the claim is refused, nothing else is tried.
if port=$(pci_parent_bridge "$NIC1"); then
	port_drv=$(pci_driver "$port")
	run "$VR" claim "$port"
	ktap_check "claim of $NIC1's port ($port) exits 1: bridges are never reserved; still on ${port_drv:-no driver}" \
		eval '[[ $cmd_rc == 1 && $(pci_driver "$port") == "$port_drv" ]] && grep -q "bridge" <<<"$cmd_out"'
else
	ktap_skip "claim of $NIC1's port exits 1" "$NIC1 is on a root bus: no bridge of its own"
fi
absent=$(pci_absent)
run "$VR" claim "$absent"
ktap_check "claim $absent (no such function) exits 1 with a message" \
	eval '[[ $cmd_rc == 1 ]] && grep -q "$absent: no PCI function" <<<"$cmd_out"'

run "$VR" --help
ktap_check "--help exits 0 and prints usage with the commands" \
	eval '[[ $cmd_rc == 0 ]] && grep -q "^usage: vfio-reserve" <<<"$cmd_out" &&
		grep -q "^  claim " <<<"$cmd_out"'
run "$VR" claim --help
ktap_check "claim --help exits 0 and prints its usage" \
	eval '[[ $cmd_rc == 0 ]] && grep -q "^usage: vfio-reserve .*claim ADDRESS" <<<"$cmd_out"'
run "$VR" frobnicate
ktap_check "an unknown command exits 2" \
	eval '[[ $cmd_rc == 2 ]] && grep -q "unknown command" <<<"$cmd_out"'
kill "$mon"
wait "$mon" 2>/dev/null
ktap_diag "monitor --json:"
ktap_diag </tmp/mon.out
# The events for NIC1 as "kind driver" lines, in order.
events=$(python3 -c '
import json, sys
for line in open("/tmp/mon.out"):
    e = json.loads(line)
    if e["address"] == sys.argv[1]:
        print(e["event"], e["driver"] or "-")' "$NIC1")
ktap_check "the module logged the release and announced it (released, then bound e1000e)" \
	eval 'test_dmesg | grep -q "$NIC1: vfio_reserve: released" &&
		in_order "$events" "released -" "bound e1000e"'
ktap_check "the module logged the claim and announced it (reserved event, then bound vfio-pci)" \
	eval 'test_dmesg | grep -q "$NIC1: vfio_reserve: reserved for vfio-pci" &&
		in_order "$events" "pending e1000e" "reserved vfio-pci" "bound vfio-pci"'
ktap_finish
