#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Netlink fuzzing: generated messages (random ones, and valid ones of every
# command, mutated: attribute types, lengths, nesting, header fields,
# truncation) from root and from nobody at the same time. No splat, no leak,
# every write command from nobody EPERM, and afterwards the module answers
# correctly (STATUS_GET; the device dump equals sysfs; the rules are those
# left). 1,000,000 messages on a debug kernel (vr.fuzz_messages=), 100,000
# elsewhere; vr.fuzz_seconds= bounds the time.
# vm-timeout: 2400
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib-debug.sh"

need_fuzz
if debug_tier; then
	total=$(cmdline_param vr.fuzz_messages 1000000)
else
	total=$(cmdline_param vr.fuzz_messages 100000)
fi
budget=$(cmdline_param vr.fuzz_seconds 1800)
half=$((total / 2))

ktap_plan 9
ktap_diag "$(debug_features)"
modprobe vfio-pci
ktap_check "modprobe vfio_reserve devices=$NIC1" modprobe vfio_reserve devices="$NIC1"
record_module_range
wait_for 20 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'

t0=$(now_us)
"$FUZZ" fuzz -n "$half" -t "$budget" -s 0x5eed0001 >/tmp/fuzz-root.log 2>&1 &
p_root=$!
"${NOBODY[@]}" "$FUZZ" fuzz -n "$half" -t "$budget" -s 0x5eed0002 >/tmp/fuzz-nobody.log 2>&1 &
p_nobody=$!
wait "$p_root"
rc_root=$?
wait "$p_nobody"
rc_nobody=$?
secs=$((($(now_us) - t0) / 1000000))
n_root=$(result_field /tmp/fuzz-root.log FUZZ-RESULT messages)
n_nobody=$(result_field /tmp/fuzz-nobody.log FUZZ-RESULT messages)
grep -v '^FUZZ-RESULT' /tmp/fuzz-root.log | ktap_diag
grep -v '^FUZZ-RESULT' /tmp/fuzz-nobody.log | ktap_diag
sent=$((${n_root:-0} + ${n_nobody:-0}))
ktap_diag "messages: $sent in $secs s (root ${n_root:-0}, nobody ${n_nobody:-0}; target $total)"

ktap_check "root fuzzer: ${n_root:-0} messages, no violation" \
	eval '[[ $rc_root == 0 && ${n_root:-0} -ge $half ]]'
ktap_check "nobody fuzzer: ${n_nobody:-0} messages, every write command refused (EPERM)" \
	eval '[[ $rc_nobody == 0 && ${n_nobody:-0} -ge $half &&
		$(result_field /tmp/fuzz-nobody.log FUZZ-RESULT violations) == 0 ]]'
ktap_check "STATUS_GET answers" eval '"$FUZZ" status | grep -q "^version "'
ktap_diag < <("$FUZZ" status)
ktap_check "the device dump equals sysfs" dump_matches_sysfs
# Back to the parameter's rule: delete what the fuzzer added.
"$FUZZ" rules | awk '$2 == 2 { print $1 }' >/tmp/user-rules
ktap_diag "$(wc -l </tmp/user-rules) rule(s) left by the fuzzer"
del_bad=0
while read -r r; do
	[[ $("$FUZZ" cmd del "$r") == ok ]] || del_bad=$((del_bad + 1))
done </tmp/user-rules
# (the fuzzer may have deleted the parameter's rule too: RULE_DEL takes any)
ktap_check "the fuzzer's rules delete one by one; none is left" \
	eval '[[ $del_bad == 0 ]] && ! "$FUZZ" rules | awk "\$2 != 1" | grep -q .'
n_splat=$(splat_count)
ktap_check "no splat in dmesg (count $n_splat)" eval '[[ $n_splat == 0 ]]'
ktap_check "rmmod vfio_reserve" rmmod vfio_reserve
if has_kmemleak; then
	ktap_check "kmemleak: nothing from vfio_reserve" kmemleak_check "after the fuzzing and rmmod"
else
	ktap_skip "kmemleak: nothing from vfio_reserve" "no kmemleak in this kernel"
fi
ktap_diag "FUZZ-TOTAL messages=$sent seconds=$secs splats=$n_splat leaks=${KMEMLEAK_OURS}"
ktap_finish
