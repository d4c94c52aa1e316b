#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Module load/unload cycles with devices reserved and listeners subscribed
# to the events group (the helper's `monitor` and `vr_fuzz listen`, started
# again after each unload): no splat, no leak, the reserved devices stay on
# vfio-pci across every unload, and each load reports them. Every 10th cycle
# also claims and releases nic0 (from e1000e and back) while they listen.
# 100 cycles on a debug kernel (vr.load_cycles=), 20 elsewhere.
# vm-timeout: 1800
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib-debug.sh"

need_fuzz
if debug_tier; then
	cycles=$(cmdline_param vr.load_cycles 100)
else
	cycles=$(cmdline_param vr.load_cycles 20)
fi

ktap_plan 8
ktap_diag "$(debug_features)"
modprobe vfio-pci
# The first load reserves nic1 and mf0 before e1000e exists; e1000e then
# takes nic0 only, and never the two others while the module is away.
ktap_check "first load: nic1 and mf0 on vfio-pci, then nic0 on e1000e" \
	eval 'modprobe vfio_reserve devices="$NIC1,$MF0" &&
		wait_for 20 eval "[[ \$(pci_driver $NIC1) == vfio-pci && \$(pci_driver $MF0) == vfio-pci ]]" &&
		rmmod vfio_reserve && modprobe e1000e &&
		wait_for 30 eval "[[ \$(pci_driver $NIC0) == e1000e ]]"'
have_monitor=0
[[ -x $VR ]] && have_monitor=1
((have_monitor)) || ktap_diag "$VR not built: vr_fuzz listen only"

load_fail=0 moved=0 reported=0 listen_gone=0 listen_started=0 mon_started=0
claims=0 claim_fail=0
mon=
t0=$(now_us)
for ((i = 1; i <= cycles; i++)); do
	if ! modprobe vfio_reserve devices="$NIC1,$MF0"; then
		load_fail=$((load_fail + 1))
		continue
	fi
	record_module_range
	# listeners: the helper's monitor and a raw one that exits with the family
	if ((have_monitor)); then
		$VR monitor >>/tmp/monitor.log 2>&1 &
		mon=$!
		mon_started=$((mon_started + 1))
	fi
	"$FUZZ" listen >>/tmp/listen.log 2>&1 &
	lis=$!
	listen_started=$((listen_started + 1))
	wait_for 10 eval 'grep -c "^listening" /tmp/listen.log | grep -qx "$listen_started"'
	if ! wait_for 20 eval '[[ $(pci_driver "$NIC1") == vfio-pci && $(pci_driver "$MF0") == vfio-pci ]]'; then
		ktap_diag "cycle $i: nic1 on '$(pci_driver "$NIC1")', mf0 on '$(pci_driver "$MF0")'"
		moved=$((moved + 1))
	fi
	if "$FUZZ" devices | grep -q "^$NIC1 .* vfio-pci vfio-pci$"; then
		reported=$((reported + 1))
	fi
	if ((i % 10 == 0)); then
		claims=$((claims + 1))
		if ! "$FUZZ" cmd claim "$NIC0" | grep -qx ok ||
		   ! "$FUZZ" cmd release "$NIC0" | grep -qx ok ||
		   ! wait_for 20 eval '[[ $(pci_driver "$NIC0") == e1000e ]]'; then
			claim_fail=$((claim_fail + 1))
			ktap_diag "cycle $i: claim/release of nic0 failed (on '$(pci_driver "$NIC0")')"
		fi
	fi
	if ! rmmod vfio_reserve; then
		ktap_diag "cycle $i: rmmod failed"
		load_fail=$((load_fail + 1))
		break
	fi
	# The raw listener sees the family go; the monitor cannot tell: stop it.
	if wait_for 10 eval '! kill -0 $lis 2>/dev/null'; then
		listen_gone=$((listen_gone + 1))
	else
		kill "$lis"
	fi
	wait "$lis" 2>/dev/null
	if [[ -n $mon ]]; then
		kill "$mon" 2>/dev/null
		wait "$mon" 2>/dev/null
		mon=
	fi
	if [[ $(pci_driver "$NIC1") != vfio-pci || $(pci_driver "$MF0") != vfio-pci ]]; then
		ktap_diag "cycle $i: after rmmod nic1 on '$(pci_driver "$NIC1")', mf0 on '$(pci_driver "$MF0")'"
		moved=$((moved + 1))
	fi
done
secs=$((($(now_us) - t0) / 1000000))
events=$(awk -F'events=' 'NF > 1 { split($2, a, " "); s += a[1] } END { print s + 0 }' /tmp/listen.log)
ktap_diag "$cycles cycles in $secs s; listeners started: $listen_started raw, $mon_started monitor; $events events seen by the raw listeners; monitor printed $(wc -l </tmp/monitor.log 2>/dev/null || echo 0) lines"

ktap_check "$cycles loads and unloads" eval '[[ $load_fail == 0 && $i -gt $cycles ]]'
ktap_check "nic1 and mf0 stayed on vfio-pci through every unload" eval '[[ $moved == 0 ]]'
ktap_check "each load reports nic1 reserved on vfio-pci ($reported of $cycles)" \
	eval '[[ $reported == "$cycles" ]]'
ktap_check "every raw listener saw the family go ($listen_gone of $listen_started)" \
	eval '[[ $listen_gone == "$listen_started" ]]'
ktap_check "claim and release of nic0 with listeners ($claims times)" eval '[[ $claim_fail == 0 ]]'
n_splat=$(splat_count)
ktap_check "no splat in dmesg (count $n_splat)" eval '[[ $n_splat == 0 ]]'
if has_kmemleak; then
	ktap_check "kmemleak: nothing from vfio_reserve (${#VR_RANGES[@]} load addresses checked)" \
		kmemleak_check "after $cycles cycles"
else
	ktap_skip "kmemleak: nothing from vfio_reserve" "no kmemleak in this kernel"
fi
ktap_diag "LOAD-TOTAL cycles=$((i - 1)) target=$cycles seconds=$secs events=$events splats=$n_splat leaks=$KMEMLEAK_OURS"
ktap_finish
