#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hotplug storm: add and remove a matching NIC (e1000e into rp4, a rule for
# 0000:04:00.0) over and over while another process loops claim, get,
# release (of that address and of nic1) and device and group dumps. No
# splat, no leak, every request answered, and the final state equals sysfs.
# 1,000 cycles on a debug kernel (vr.hotplug_cycles=), 50 elsewhere;
# vr.hotplug_seconds= bounds the time (the count run is reported).
# vm-timeout: 3000
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib-debug.sh"

need_fuzz
if debug_tier; then
	cycles=$(cmdline_param vr.hotplug_cycles 1000)
else
	cycles=$(cmdline_param vr.hotplug_cycles 50)
fi
budget=$(cmdline_param vr.hotplug_seconds 2400)

ktap_plan 8
ktap_diag "$(debug_features)"
modprobe vfio-pci
ktap_check "modprobe vfio_reserve devices=$HP_ADDR" modprobe vfio_reserve devices="$HP_ADDR"
record_module_range
# The kernel's messages as they come (dmesg would re-read the whole log).
cat /dev/kmsg >/tmp/kmsg.log &
kmsg_reader=$!
"$FUZZ" churn -i "$(cmdline_param vr.churn_pause_ms 100)" "$HP_ADDR" "$NIC1" >/tmp/churn.log 2>&1 &
churn=$!

add='{"execute":"device_add","arguments":{"driver":"e1000e","bus":"'$HP_PORT'","netdev":"hp0","id":"hp0","romfile":""}}'
del='{"execute":"device_del","arguments":{"id":"hp0"}}'
done_n=0 add_fail=0 del_fail=0 on_vfio=0 unbound=0 other=0 by_rule=0
t0=$(now_us)
for ((i = 1; i <= cycles; i++)); do
	if (($(now_us) - t0 > budget * 1000000)); then
		break
	fi
	off=$(stat -c %s /tmp/kmsg.log)
	qmp "$add" >/dev/null
	if wait_for 20 pci_exists "$HP_ADDR"; then
		# the rule reserved it as it arrived (the churn may release it at once)
		if wait_for 5 eval 'tail -c +$((off + 1)) /tmp/kmsg.log | grep -q ";vfio_reserve: $HP_ADDR: reserved for vfio-pci by rule $HP_ADDR\$"'; then
			by_rule=$((by_rule + 1))
		else
			ktap_diag "cycle $i: not reserved by the rule on arrival"
		fi
		# bound, or released by the churn already
		wait_for 3 eval '[[ -n $(pci_driver "$HP_ADDR") ]] ||
			tail -c +$((off + 1)) /tmp/kmsg.log | grep -q ";vfio_reserve: $HP_ADDR: released"'
		drv=$(pci_driver "$HP_ADDR")
		case $drv in
		vfio-pci) on_vfio=$((on_vfio + 1)) ;;
		"") unbound=$((unbound + 1)) ;;	# the churn released it meanwhile
		*) other=$((other + 1))
		   ktap_diag "cycle $i: bound to $drv" ;;
		esac
	else
		add_fail=$((add_fail + 1))
		ktap_diag "cycle $i: $HP_ADDR did not appear"
	fi
	qmp "$del" >/dev/null
	if ! qmp_wait_event 20 DEVICE_DELETED '"device":"hp0"' ||
	   ! wait_for 10 eval '! pci_exists "$HP_ADDR"'; then
		del_fail=$((del_fail + 1))
		ktap_diag "cycle $i: unplug did not complete"
		((del_fail > 3)) && break
	fi
	done_n=$i
	((i == 1)) && ktap_diag "first cycle: $((($(now_us) - t0) / 1000)) ms"
done
secs=$((($(now_us) - t0) / 1000000))
kill -0 "$kmsg_reader" 2>/dev/null || ktap_diag "the /dev/kmsg reader died (the log overran?)"
kill "$kmsg_reader"
kill -TERM "$churn"
wait "$churn"
churn_rc=$?
ktap_diag <"/tmp/churn.log"
per=$(awk -v s="$secs" -v n="$done_n" 'BEGIN { printf "%.2f", n ? s / n : 0 }')
ktap_diag "cycles: $done_n of $cycles in $secs s ($per s each)$( ((done_n < cycles)) && echo "; stopped by the $budget s budget")"
ktap_diag "arrivals: $by_rule reserved by the rule; then $on_vfio on vfio-pci, $unbound without a driver (released by the churn), $other on another driver; $add_fail missing; $del_fail failed removals"

ktap_check "$done_n add/remove cycles, every add and removal completed" \
	eval '[[ $done_n -gt 0 && $add_fail == 0 && $del_fail == 0 ]]'
ktap_check "every arrival reserved by the rule ($by_rule of $done_n), never bound to another driver" \
	eval '[[ $by_rule == "$done_n" && $other == 0 ]]'
ktap_check "the churn: every request answered" \
	eval '[[ $churn_rc == 0 && $(result_field /tmp/churn.log CHURN-RESULT violations) == 0 ]]'
ktap_check "final state: the device dump equals sysfs" dump_matches_sysfs
reserved=$("$FUZZ" status | awk '$1 == "reserved" { print $2 }')
overrides=$(grep -c 'vfio-pci$' < <(sysfs_devices))
ktap_check "final state: $reserved reserved, as many vfio-pci overrides in sysfs ($overrides)" \
	eval '[[ $reserved == "$overrides" ]]'
n_splat=$(splat_count)
ktap_check "no splat in dmesg (count $n_splat)" eval '[[ $n_splat == 0 ]]'
rmmod vfio_reserve
if has_kmemleak; then
	ktap_check "kmemleak: nothing from vfio_reserve" kmemleak_check "after the storm and rmmod"
else
	ktap_skip "kmemleak: nothing from vfio_reserve" "no kmemleak in this kernel"
fi
ktap_diag "HOTPLUG-TOTAL cycles=$done_n target=$cycles seconds=$secs per_cycle=$per churn_requests=$(result_field /tmp/churn.log CHURN-RESULT requests) splats=$n_splat leaks=$KMEMLEAK_OURS"
ktap_finish
