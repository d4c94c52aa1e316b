#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A bridge or root port matched by a wildcard is never reserved: not the
# root ports, not the host bridge, not the ISA bridge; endpoints are, unless
# a driver holds them (reclaim=stub).
# vr-vm-only: its wildcard on bus 0 takes functions that no device map names (a test touches only the map's)
# vr-destructive: a wildcard rule on bus 0 (0000:00:*.*) takes every unbound function there
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PORTS="0000:00:03.0 0000:00:04.0 0000:00:05.0 0000:00:06.0"

untouched() {
	local d
	for d in "$@"; do
		[[ $(<"$(pci_dev "$d")/driver_override") == "(null)" ]] || return 1
		[[ $(pci_driver "$d") != vfio-pci ]] || return 1
	done
}

ktap_plan 5
modprobe e1000e
modprobe vfio_reserve devices='class:0604,0000:00:*.*,!0000:00:07.0'
ktap_check "root ports keep pcieport and no override" \
	eval 'untouched $PORTS && [[ $(pci_driver 0000:00:03.0) == pcieport ]]'
ktap_check "the host bridge 00:00.0 and ISA bridge 00:1f.0 are untouched" \
	untouched 0000:00:00.0 0000:00:1f.0
ktap_check "the module reports them as bridges, not reserved" \
	eval 'vrjson list | python3 -c "
import json, sys
d = {x[\"address\"]: x for x in json.load(sys.stdin)}
for a in \"$PORTS 0000:00:00.0 0000:00:1f.0\".split():
    assert d[a][\"bridge\"] and d[a][\"state\"] == \"none\", d[a]
"'
ktap_check "the unbound endpoints of bus 0 (SMBus) are reserved" \
	wait_for 10 eval '[[ $(pci_driver 0000:00:1f.3) == vfio-pci ]]'
ktap_check "claiming a root port is refused" \
	eval '! $VR claim 0000:00:03.0 2>/tmp/err && grep -q "never reserved" /tmp/err'
ktap_finish
