#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-matrix: amd
# Group viability of the multifunction pair: reserving one function leaves
# the group not viable and names the other; reserving both makes it viable
# (and check passes, or fails for interrupt remapping alone when the kernel
# disabled it: lib.sh's kernel_ir_off).
# vr-roles: mf-pair
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

group_json() {
	vrjson groups | python3 -c "
import json, sys
g = [g for g in json.load(sys.stdin) if any(m['address'] == '$MF0' for m in g['members'])][0]
print(g['viable'], ' '.join(m['address'] for m in g['members'] if m['blocks']))"
}

ktap_plan 5
modprobe e1000e
modprobe snd_hda_intel
modprobe vfio_reserve
ktap_check "mf0 on e1000e, mf1 on snd_hda_intel" \
	wait_for 20 eval '[[ $(pci_driver "$MF0") == e1000e && $(pci_driver "$MF1") == snd_hda_intel ]]'
$VR claim "$MF0" >/dev/null
ktap_check "claiming mf0 alone: the group is not viable, mf1 blocks it" \
	eval '[[ $(group_json) == "False $MF1" ]]'
ktap_check "check mf0 names mf1 and fails" \
	eval '! $VR check "$MF0" >/tmp/out && grep -q "$MF1 is bound to snd_hda_intel" /tmp/out'
$VR claim "$MF1" >/dev/null
ktap_check "with both claimed the group is viable" \
	eval '[[ $(group_json) == "True " ]]'
if ir_off=$(kernel_ir_off); then
	ktap_diag "the kernel disabled interrupt remapping:"
	ktap_diag <<<"$ir_off"
	run $VR check "$MF0" "$MF1"
	ktap_check "check fails for both for interrupt remapping alone, as the kernel disabled it" \
		eval '[[ $cmd_rc == 1 ]] && check_fails_for_ir_only "$cmd_out" 2'
else
	ktap_check "check passes for both" $VR check "$MF0" "$MF1"
fi
ktap_finish
