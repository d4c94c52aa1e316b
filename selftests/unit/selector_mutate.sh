#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Do the selector unit tests catch a broken matcher? Each mutation below
# takes one comparison out of kmod/selector.c (in a copy under build/); the
# unit tests built against the copy must fail. Prints TAP; exit 0, or 1
# when a mutation survived.
#
#   selftests/unit/selector_mutate.sh [CC_FLAGS...]
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$TOP/build/unit/mutate
KSFT=${KSFT:-$(make -s --no-print-directory -C "$TOP" print-ksft)}
# NAME|PATTERN|REPLACEMENT (sed -E, applied to kmod/selector.c)
MUTATIONS=(
	"vf: the PF's domain|sel->domain == id->pf_domain &&|"
	"vf: the PF's bus|sel->bus == id->pf_bus &&|"
	"vf: the PF's slot|sel->slot == id->pf_slot &&|"
	"vf: the PF's function|sel->func == id->pf_func;|true;"
	"vf: is a VF at all|return id->is_vf && sel->domain == id->pf_domain|return sel->domain == id->pf_domain"
	"ids: the subsystem vendor|vr_field_match\(sel->subvendor, id->subvendor\) &&|"
	"ids: the subsystem device|vr_field_match\(sel->subdevice, id->subdevice\);|true;"
	"ids: the device|vr_field_match\(sel->device, id->device\) &&|"
	"address: the domain|return sel->domain == id->domain && sel->bus|return sel->bus"
	"address: the function|vr_field_match\(sel->func, id->func\);|true;"
	"class: the mask|\(id->class & sel->class_mask\) == sel->class|(id->class >> 8) == (sel->class >> 8)"
	"exclusions win|if \(sels\[i\].exclude\)|if (0)"
)

rm -rf "$WORK"
mkdir -p "$WORK"
echo "TAP version 13"
echo "1..${#MUTATIONS[@]}"
n=0 fail=0
for m in "${MUTATIONS[@]}"; do
	IFS='|' read -r name pat rep <<<"$m"
	n=$((n + 1))
	src=$WORK/$n.c
	sed -E "s/$pat/$rep/" "$TOP/kmod/selector.c" >"$src"
	if cmp -s "$src" "$TOP/kmod/selector.c"; then
		echo "not ok $n mutation '$name': the pattern no longer matches kmod/selector.c"
		fail=$((fail + 1))
		continue
	fi
	if ! ${CC:-cc} -std=gnu11 -w -isystem "$KSFT" -I"$TOP/kmod" -o "$WORK/$n" \
		"$TOP/selftests/unit/selector_test.c" "$src" 2>"$WORK/$n.log"; then
		echo "not ok $n mutation '$name': the mutated copy does not build"
		sed 's/^/# /' "$WORK/$n.log" | head -n 5
		fail=$((fail + 1))
		continue
	fi
	if "$WORK/$n" >"$WORK/$n.out" 2>&1; then
		echo "not ok $n mutation '$name' survived: the unit tests still pass"
		fail=$((fail + 1))
	else
		echo "ok $n mutation '$name' caught by $(grep -m1 -o 'not ok [0-9]* [^ ]*' "$WORK/$n.out" | cut -d' ' -f4)"
	fi
done
exit $((fail > 0))
