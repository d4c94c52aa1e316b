#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: the kernels of the matrix, build, lint, unit and VM tests on
# every kernel, one stage after the other (the newest kernel builds beside).
# Every stage prints TAP; the last line counts the top-level results of all
# of them: "N passed, N failed" (", N skipped" when some were).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/check
rm -rf "$out"
mkdir -p "$out"
cd "$top" || exit 1
start=$SECONDS
# The time budget of every VM stage: VR_CHECK_BUDGET seconds (default 80
# minutes: CI stops a run at 90) from the start of make check
# (VR_CHECK_START, set by the Makefile before it installs packages). A VM
# test whose timeout would end later is reported as skipped, with the reason.
deadline=$((${VR_CHECK_START:-$(date +%s)} + ${VR_CHECK_BUDGET:-4800}))
left() { echo $((deadline - $(date +%s))); }

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

# The kernel matrix (selftests/kernels/README.md): Debian 12's 6.1, the
# 6.12 LTS of bookworm-backports (installed from Debian's archive through a
# private apt configuration), the newest linux-source-7.x built with the
# debug fragment: that build (about 10 minutes, cached outside the tree)
# runs in the background, at low priority, beside the stages that need
# only the first two. QEMU 10 of bookworm-backports, unpacked beside Debian
# 12's 7.2, is the QEMU with iommufd inside the VMs.
KDEB12=/lib/modules/$(selftests/kernels/matrix.sh --deb12-kver)/build
KLTS=
kernels() {
	local kver tarball qemu
	echo "TAP version 13"
	echo "1..4"
	if [ -d "$KDEB12" ]; then echo "ok 1 kernels: Debian 12's $(basename "$(dirname "$KDEB12")")"
	else echo "not ok 1 kernels: Debian 12's kernel headers (linux-headers-amd64)"; fi
	if kver=$(selftests/kernels/fetch.sh lts 2>"$out/fetch-lts.log" | tail -n 1) && [ -n "$kver" ]; then
		echo "$kver" >"$out/lts-kver"
		echo "ok 2 kernels: the 6.12 LTS $kver from bookworm-backports, installed"
	else
		sed 's/^/# /' "$out/fetch-lts.log"
		echo "not ok 2 kernels: the 6.12 LTS from bookworm-backports"
	fi
	if tarball=$(selftests/kernels/fetch.sh source 2>"$out/fetch-src.log" | tail -n 1) && [ -n "$tarball" ]; then
		echo "ok 3 kernels: $(basename "$tarball") from trixie-backports"
	else
		sed 's/^/# /' "$out/fetch-src.log"
		echo "not ok 3 kernels: linux-source-7.x from trixie-backports"
	fi
	# The QEMU inside the VMs that has iommufd (56-iommufd on 7.x); Debian
	# 12's 7.2 runs everything else.
	if qemu=$(selftests/kernels/fetch.sh qemu 2>"$out/fetch-qemu.log" | tail -n 1) && [ -x "$qemu" ]; then
		echo "ok 4 kernels: $("$qemu" --version | head -n 1) from bookworm-backports, unpacked"
	else
		sed 's/^/# /' "$out/fetch-qemu.log"
		echo "not ok 4 kernels: QEMU 10 from bookworm-backports"
	fi
}
stage kernels kernels
[ -s "$out/lts-kver" ] && KLTS=/lib/modules/$(cat "$out/lts-kver")/build
setsid nice -n 19 selftests/debug/build-kernel.sh >"$out/newest-kernel.log" 2>&1 &
newest_pid=$!

build() {
	if make -s module helper genl KDIR="$KDEB12" >"$out/build.log" 2>&1; then
		echo "ok 1 build: module and helper"
	else
		tail -n 30 "$out/build.log" | sed 's/^/# /'
		echo "not ok 1 build: module and helper"
		return 1
	fi
}

stage build build
# 6.1's checkpatch here; the newest kernel's, and its kernel-doc, with it.
stage lint selftests/lint.sh --checkpatch "$(make -s --no-print-directory checkpatch-6.1)" \
	"$KDEB12" ${KLTS:+"$KLTS"}
stage spec make -s --no-print-directory spec
stage unit make -s --no-print-directory unit
# Every VM test on Debian 12's 6.1 under VT-d, two VMs at a time; then the
# other cells of the matrix that boot Debian's own images.
stage vm selftests/kernels/matrix.sh --deadline "$deadline" deb12/intel
stage matrix selftests/kernels/matrix.sh --deadline "$deadline" deb12/amd lts/intel lts/amd
# The benchmarks' smoke sizes on Debian's two kernels (the 7.x: below).
stage bench make -s --no-print-directory bench-smoke BENCH_KERNELS="deb12${KLTS:+ lts}"
stage deploy selftests/deploy.sh "$KDEB12" ${KLTS:+"$KLTS"}

# The newest 7.x: wait for its build, then lint on it, its matrix cells and
# the debug tier's stress tests, at counts that fit (make check-debug runs
# the full ones).
newest() {
	local dir
	echo "# newest 7.x kernel: waiting for its build ($(left) s left of the budget)"
	while kill -0 "$newest_pid" 2>/dev/null; do
		if [ "$(left)" -le 600 ]; then
			kill -- -"$newest_pid"
			echo "TAP version 13"
			echo "1..1"
			echo "ok 1 newest: the 7.x kernel # SKIP its build had not finished with 10 minutes of the budget left (log: build/check/newest-kernel.log)"
			return 0
		fi
		sleep 5
	done
	# (This runs in the pipeline's subshell, which cannot wait for the
	# build: the cache entry's `done` says whether it finished.)
	dir=$(tail -n 1 "$out/newest-kernel.log")
	if [ ! -f "$dir/done" ]; then
		tail -n 20 "$out/newest-kernel.log" | sed 's/^/# /'
		echo "not ok - newest: the 7.x kernel does not build"
		return 1
	fi
	echo "# newest: $(cat "$dir/kernelrelease") in $dir (built in $(cat "$dir/build-seconds") s)"
	echo "$dir" >"$out/newest-dir"
}
stage newest newest
if [ -s "$out/newest-dir" ]; then
	stage lint-newest selftests/lint.sh --checkpatch "$(cat "$out/newest-dir")/linux" \
		--kernel-doc "$(cat "$out/newest-dir")/linux" "$(cat "$out/newest-dir")/linux"
	# The YNL spec by upstream's own schema and code generator, from the
	# same source tree.
	stage spec-newest selftests/spec_upstream.py "$(cat "$out/newest-dir")/linux"
	# The benchmarks' smoke sizes on the 7.x, before its matrix cells
	# (which take what is left of the budget, and report the VM tests that
	# do not fit as skipped). dpdk-devbind.py, driverctl and the udev
	# script are left out here, reported as skipped: on the debug kernel
	# they cost about 200 s of the VM; make bench measures them.
	stage bench-newest bench/run.sh --smoke --kernels newest --out build/bench-smoke-newest \
		--leave-out "dpdk driverctl udev-script" --deadline "$deadline"
	# Nothing builds beside it any more: two VMs at once (the kernel build
	# kept one core busy during the stages before).
	stage matrix-newest env VR_DEBUG_APPEND="${VR_CHECK_DEBUG_APPEND:-vr.fuzz_messages=20000 vr.fuzz_seconds=90 vr.hotplug_cycles=20 vr.hotplug_seconds=60 vr.load_cycles=6 vr.failslab_loads=12 vr.release_tries=20}" \
		VR_DEBUG_STRESS_TIMEOUT="${VR_CHECK_DEBUG_STRESS_TIMEOUT:-900}" \
		VR_DEBUG_TIMEOUT_FACTOR="${VR_DEBUG_TIMEOUT_FACTOR:-3}" \
		selftests/kernels/matrix.sh --jobs "${VR_VM_JOBS:-2}" --deadline "$deadline" newest/intel newest/amd
fi
selftests/kernels/matrix.sh --table

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
