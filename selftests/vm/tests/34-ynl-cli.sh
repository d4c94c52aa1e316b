#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: every-kernel
# The family driven by a client nobody here wrote (issue 16): upstream's
# YNL CLI (tools/net/ynl/pyynl/cli.py of the matrix's 7.x source tree, used
# from there) with our spec, for every operation and the events group. What
# it decodes must agree with sysfs and with the helper's JSON.
# vm-timeout: 240
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-roles: nic nic-twin
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper
KSRC=
for d in /var/cache/vfio-reserve/kernel/*/linux; do
	[[ -f $d/.extracted && -f $d/tools/net/ynl/pyynl/cli.py ]] && KSRC=$d
done
[[ -n $KSRC ]] || ktap_exit_skip "no 7.x kernel source with tools/net/ynl (selftests/debug/build-kernel.sh fetches it)"
SPEC=$VR_SPEC
# The spec's validation against the schema is spec-newest's (on the host):
# here, in TCG, it would cost every run of ynl seconds.
ynl() {
	python3 "$KSRC/tools/net/ynl/pyynl/cli.py" --spec "$SPEC" --no-schema \
		--output-json "$@"
}
# jq-less checks: py EXPR reads the JSON in $j (and $k) as j (and k).
py() {
	J=$j K=${k:-null} python3 -c "import json, os, sys
j = json.loads(os.environ['J']); k = json.loads(os.environ['K'])
sys.exit(0 if ($1) else 1)"
}

need_module_unloaded
ktap_plan 12
start_unbound "$NIC1"
ktap_check "modprobe vfio_reserve devices=$NIC1" modprobe vfio_reserve devices="$NIC1"
ktap_check "$NIC1 is on vfio-pci" wait_for 10 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
ktap_diag "ynl from $KSRC"

j=$(ynl --do status-get 2>&1)
k=$(vrjson rules)
ktap_check "status-get: reclaim stub, 1 rule and 1 reserved, as the helper's rules say" \
	py 'j["reclaim"] == "stub" and j["rules"] == len(k) == 1 and j["reserved"] == 1 and j["iommu"] == 1'

j=$(ynl --dump device-get 2>&1)
k=$(vrjson list)
ktap_check "device-get dump: every address in sysfs, as the helper lists them" \
	eval 'py "sorted(d[\"addr\"] for d in j) == sorted(os.listdir(\"/sys/bus/pci/devices\")) == sorted(d[\"address\"] for d in k)"'
ktap_check "... $NIC1: state reserved, driver vfio-pci, rule $NIC1, its IOMMU group as sysfs says" \
	eval 'py "[(d[\"state\"], d[\"driver\"], d[\"rule\"], d[\"iommu-group\"]) for d in j if d[\"addr\"] == \"$NIC1\"] == [(\"reserved\", \"vfio-pci\", \"$NIC1\", $(pci_group "$NIC1"))]"'

j=$(ynl --do device-get --json "{\"addr\": \"$NIC0\"}" 2>&1)
ktap_check "device-get do $NIC0: vendor and device as sysfs says" \
	eval 'py "j[\"vendor\"] == $(<"$(pci_dev "$NIC0")/vendor") and j[\"device\"] == $(<"$(pci_dev "$NIC0")/device")"'

j=$(ynl --dump group-get 2>&1)
ktap_check "group-get dump: the groups of /sys/kernel/iommu_groups" \
	py 'sorted(g["id"] for g in j) == sorted(int(x) for x in os.listdir("/sys/kernel/iommu_groups"))'

j=$(ynl --dump rule-get 2>&1)
ktap_check "rule-get dump: the one rule, $NIC1, from the parameter" \
	eval 'py "[(r[\"selector\"], r[\"origin\"]) for r in j] == [(\"$NIC1\", \"param\")]"'

j=$(ynl --do rule-add --json '{"selector-list": "8086:ffff,!0000:00:1f.3"}' 2>&1)
k=$(vrjson rules)
ktap_check "rule-add of a 2-selector list: count 2, and the helper lists both" \
	py 'j["count"] == 2 and {r["selector"] for r in k} >= {"8086:ffff", "!0000:00:1f.3"}'
j=$(ynl --do rule-del --json '{"selector-list": "8086:ffff,!0000:00:1f.3"}' 2>&1)
ktap_check "rule-del of it: count 2" py 'j["count"] == 2'

# The events group, subscribed while $NIC0 is claimed and released. The
# subscriber prints each event as it comes (unbuffered), and is stopped
# once the release's event is there: on a debug kernel each ynl run takes
# many seconds.
# (Not through the function ynl: $! would be a subshell, and killing it
# would leave the CLI running for its 900 s.)
PYTHONUNBUFFERED=1 python3 "$KSRC/tools/net/ynl/pyynl/cli.py" --spec "$SPEC" --no-schema \
	--output-json --subscribe events --sleep 900 >/tmp/ynl-events.json 2>&1 &
sub=$!
sleep "$(scaled 8)"
j=$(ynl --do device-claim --json "{\"addr\": \"$NIC0\"}" 2>&1)
claimed=$(pci_driver "$NIC0")
ynl --do device-release --json "{\"addr\": \"$NIC0\"}" >/dev/null 2>&1
ktap_check "device-claim $NIC0: the reply says reserved, sysfs says vfio-pci; device-release lets it go" \
	eval 'py "j[\"state\"] == \"reserved\"" && [[ $claimed == vfio-pci ]] &&
		wait_for 10 eval "[[ \$(pci_driver $NIC0) != vfio-pci ]]"'
wait_for "$(scaled 60)" grep -q '"released"' /tmp/ynl-events.json
kill "$sub" 2>/dev/null
wait "$sub" 2>/dev/null
ktap_diag </tmp/ynl-events.json
ktap_check "--subscribe events saw $NIC0 reserved and released" \
	eval 'grep -q "reserved" /tmp/ynl-events.json && grep -q "released" /tmp/ynl-events.json &&
		grep -q "$NIC0" /tmp/ynl-events.json'
ktap_finish
