#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: build, lint, unit and VM tests, one stage after the other.
# Every stage prints TAP; the last line counts the top-level results of all
# of them: "N passed, N failed" (", N skipped" when some were).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/check
rm -rf "$out"
mkdir -p "$out"
cd "$top" || exit 1
start=$SECONDS
# The time budget, for the debug tier (last): VR_CHECK_BUDGET seconds
# (default 80 minutes: CI stops a run at 90) from the start of make check
# (VR_CHECK_START, set by the Makefile before it installs packages).
deadline=$((${VR_CHECK_START:-$(date +%s)} + ${VR_CHECK_BUDGET:-4800}))
KDIR=$(make -s --no-print-directory print-kdir)

# stage NAME CMD...: run CMD, keep its TAP; a failure it does not report
# itself still counts.
stage() {
	local name=$1 t=$SECONDS rc
	shift
	echo "# ---- $name: $*"
	"$@" 2>&1 | tee "$out/$name.tap"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok ' "$out/$name.tap"; then
		echo "not ok - $name: '$*' exited $rc" | tee -a "$out/$name.tap"
	fi
	echo "# ---- $name: $((SECONDS - t)) s"
}

build() {
	if make -s module helper >"$out/build.log" 2>&1; then
		echo "ok 1 build: module and helper"
	else
		tail -n 30 "$out/build.log" | sed 's/^/# /'
		echo "not ok 1 build: module and helper"
		return 1
	fi
}

stage build build
stage lint make -s --no-print-directory lint
stage spec make -s --no-print-directory spec
stage unit make -s --no-print-directory unit
stage vm make -s --no-print-directory vm
stage bench make -s --no-print-directory bench-smoke
stage deploy selftests/deploy.sh "$KDIR"
# The debug-kernel tier in what is left of the budget: the stress tests at
# counts that fit (make check-debug runs the full ones), the malformed-
# parameter matrix, then the rest of the VM suite as far as the deadline
# allows; what does not fit is reported as skipped.
debug_tests=(selftests/debug/tests/*.sh selftests/vm/tests/15-bad-params.sh)
for t in selftests/vm/tests/*.sh; do
	[ "$t" = selftests/vm/tests/15-bad-params.sh ] || debug_tests+=("$t")
done
stage debug env VR_DEBUG_APPEND="${VR_CHECK_DEBUG_APPEND:-vr.fuzz_messages=200000 vr.fuzz_seconds=600 vr.hotplug_cycles=100 vr.hotplug_seconds=420 vr.load_cycles=30 vr.failslab_loads=60 vr.release_tries=100}" \
	VR_DEBUG_STRESS_TIMEOUT="${VR_CHECK_DEBUG_STRESS_TIMEOUT:-900}" \
	selftests/debug/check-debug.sh --deadline "$deadline" "${debug_tests[@]}"

cat "$out"/*.tap >"$out/all.tap"
passed=$(grep -E '^ok ' "$out/all.tap" | grep -vc '# SKIP')
skipped=$(grep -E '^ok .*# SKIP' -c "$out/all.tap")
failed=$(grep -cE '^not ok ' "$out/all.tap")
echo "# check: wall $((SECONDS - start)) s; TAP of every stage in build/check/"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
