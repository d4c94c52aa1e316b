#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# matrix.sh [--full] [--deadline EPOCH] [--jobs N] [--table] [CELL...]: the VM
# tests on every kernel of the matrix, under VT-d and AMD-Vi. Prints TAP
# (test names carry their cell: vm[6.12.95+deb12-amd64/amd]:13-hotplug) and,
# last, the table kernel x IOMMU x passed/failed/skipped.
#
# The kernels (README.md in this folder):
#   deb12   Debian 12's own 6.1 (linux-image-amd64), booted as it is;
#   lts     the 6.12 LTS of bookworm-backports (fetch.sh lts), booted as it is;
#   newest  the newest linux-source-7.x, built with selftests/debug/config
#           (selftests/debug/build-kernel.sh): KASAN, lockdep, kmemleak...
#           It also runs the debug tier's stress tests (selftests/debug/).
# A cell is KERNEL/IOMMU: deb12/intel deb12/amd lts/intel lts/amd
# newest/intel newest/amd (default: all six).
#
# Which tests a cell runs. Each test says where it belongs in a header line
# `# vm-matrix: every-kernel amd`:
#   every-kernel  in make check, on every kernel (the others run, in make
#                 check, on deb12/intel only);
#   amd           also under AMD-Vi (the others need VT-d: nested
#                 assignment, intel_iommu=off);
#   full-only     not in make check at all, for its time: its SKIP line
#                 says so (no test needs it today).
# --full (make check-kernels): every test on every kernel under VT-d, and the
# amd ones under AMD-Vi. Without --full (make check): deb12/intel runs every
# test, the other cells their every-kernel (or amd) tests, and each cell
# reports what it left out as one SKIP line.
# --deadline EPOCH: tests whose timeout would end later are reported as
# skipped (vm.py --deadline). --jobs N: VMs at once (vm.py -j; default
# VR_VM_JOBS, else 1). One VM at a time is the faster here: each guest's two
# TCG vCPUs already keep both cores busy, and two VMs side by side took more
# than twice as long each (deb12/intel: 505 s at -j1, 617 s at -j2; 16-unload
# on 7.x: 75 s alone, 146 s beside another VM).
# --table: only print the table of the last run (build/matrix/*/tap).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/matrix
full=0 deadline= jobs=${VR_VM_JOBS:-1} table_only=0 deb12_only=0
while (($#)); do
	case $1 in
	--deb12-kver) deb12_only=1 ;;
	--full) full=1 ;;
	--deadline) deadline=$2; shift ;;
	--jobs) jobs=$2; shift ;;
	--table) table_only=1 ;;
	-*) echo "usage: $0 [--full] [--deadline EPOCH] [--jobs N] [--table] [CELL...]" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
cells=("$@")
((${#cells[@]})) || cells=(deb12/intel deb12/amd lts/intel lts/amd newest/intel newest/amd)

say() { echo "# matrix: $*"; }

# The kernel release of Debian 12's own kernel: what linux-image-amd64 names.
deb12_kver() {
	local k
	k=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
		grep -o 'linux-image-[^ ,]*' | head -n 1)
	k=${k#linux-image-}
	k=${k%-unsigned}
	[[ -n $k && -d /lib/modules/$k/build ]] && { echo "$k"; return; }
	ls -d /lib/modules/6.1.*/build 2>/dev/null | sort -V | tail -n 1 | cut -d/ -f4
}

# Tests tagged TAG (every-kernel, amd) in their vm-matrix header.
tagged() {
	grep -lE "^# vm-matrix:.*\b$1\b" "$top"/selftests/vm/tests/*.sh
}

# The TAP of one vm.py run, its test names prefixed with the cell.
prefix() {
	sed -u -E "s#^(not ok|ok) ([0-9]+) vm:#\1 \2 vm[$1]:#"
}

# build_module KDIR NAME: the module from a fresh copy of its sources;
# prints the .ko.
build_module() {
	local src=$out/$2/mod
	rm -rf "$src"
	"$top/selftests/module-sources.sh" "$src"
	if ! make -C "$1" M="$src" modules >"$out/$2/mod.log" 2>&1; then
		tail -n 20 "$out/$2/mod.log" | sed 's/^/# /' >&2
		return 1
	fi
	echo "$src/vfio_reserve.ko"
}

# left_out CELL N: one SKIP line for the tests this cell does not run.
left_out() {
	((full || $2 == 0)) && return 0
	echo "ok - vm[$1]: $2 more test(s) not run on this kernel in make check" \
		"# SKIP time budget: make check-kernels runs the whole suite here"
}

all_tests=("$top"/selftests/vm/tests/*.sh)
mapfile -t every < <(tagged every-kernel)
mapfile -t amd < <(tagged amd)
mapfile -t full_only < <(tagged full-only)
# The tests deb12/intel runs in make check: all but the full-only ones.
deb12_tests=()
for t in "${all_tests[@]}"; do
	[[ " ${full_only[*]} " == *" $t "* ]] || deb12_tests+=("$t")
done

run_cell() {
	local cell=$1 kernel=${1%/*} iommu=${1#*/} kver ko tests=() name rc=0
	case $kernel/$iommu in
	deb12/intel) if ((full)); then tests=("${all_tests[@]}"); else tests=("${deb12_tests[@]}"); fi ;;
	*/intel) if ((full)); then tests=("${all_tests[@]}"); else tests=("${every[@]}"); fi ;;
	*/amd) tests=("${amd[@]}") ;;
	*) echo "not ok - matrix: unknown cell $cell"; return 1 ;;
	esac
	case $kernel in
	deb12) kver=$(deb12_kver) ;;
	lts) kver=$("$top/selftests/kernels/fetch.sh" lts | tail -n 1) ;;
	newest) kver=newest ;;
	*) echo "not ok - matrix: unknown kernel $kernel"; return 1 ;;
	esac
	if [[ -z $kver ]]; then
		echo "not ok - matrix[$cell]: the kernel is not available"
		return 1
	fi
	name=${kernel}-$iommu
	mkdir -p "$out/$name"
	rm -f "$out/$name/tap" "$out/$name/kver"
	local vmargs=(--iommu "$iommu" -j "$jobs")
	[[ -n $deadline ]] && vmargs+=(--deadline "$deadline")
	if [[ $kernel == newest ]]; then
		# The debug tier's runner: kernel (cached), module, vr_fuzz, then
		# the stress tests (VT-d only) and the cell's tests.
		local stress=()
		[[ $iommu == intel ]] && stress=("$top"/selftests/debug/tests/*.sh)
		say "$cell: selftests/debug/check-debug.sh, ${#stress[@]} stress and ${#tests[@]} VM tests"
		VR_DEBUG_OUT=$out/$name VR_VM_ARGS="--iommu $iommu -j $jobs" \
			"$top/selftests/debug/check-debug.sh" ${deadline:+--deadline "$deadline"} \
			"${stress[@]}" "${tests[@]}" | prefix "7.x/$iommu" | tee "$out/$name/tap" || rc=$?
		sed -n 's/^# check-debug: kernel \([^ ]*\) .*/\1/p' "$out/$name/tap" >"$out/$name/kver"
		left_out "7.x/$iommu" $((${#all_tests[@]} - ${#tests[@]})) | tee -a "$out/$name/tap"
		return $rc
	fi
	echo "$kver" >"$out/$name/kver"
	ko=$(build_module "/lib/modules/$kver/build" "$name") || {
		echo "not ok - matrix[$kver/$iommu]: the module does not build"
		return 1
	}
	say "$cell: $kver, ${#tests[@]} tests, $iommu IOMMU"
	"$top/selftests/vm/vm.py" --ko "$ko" --build "$out/$name" "${vmargs[@]}" \
		"${tests[@]}" | prefix "$kver/$iommu" | tee "$out/$name/tap" || rc=$?
	left_out "$kver/$iommu" $((${#all_tests[@]} - ${#tests[@]})) | tee -a "$out/$name/tap"
	return $rc
}

table() {
	local d k i p f s
	echo "# matrix: kernel x IOMMU x results (build/matrix/*/tap; a SKIP line may stand for several tests)"
	printf '# %-28s %-6s %7s %7s %8s\n' kernel iommu passed failed skipped
	for d in "$out"/*/; do
		[[ -f $d/tap ]] || continue
		k=$(cat "$d/kver" 2>/dev/null)
		i=${d%/}
		i=${i##*-}
		p=$(grep -E '^ok ' "$d/tap" | grep -vc '# SKIP')
		f=$(grep -cE '^not ok ' "$d/tap")
		s=$(grep -E '^ok ' "$d/tap" | grep -c '# SKIP')
		printf '# %-28s %-6s %7d %7d %8d\n' "${k:-$(basename "$d")}" "$i" "$p" "$f" "$s"
	done
}

if ((deb12_only)); then
	deb12_kver
	exit 0
fi
if ((table_only)); then
	table
	exit 0
fi
rc=0
echo "TAP version 13"
for cell in "${cells[@]}"; do
	t=$SECONDS
	run_cell "$cell" || rc=1
	say "$cell: $((SECONDS - t)) s"
done
table
exit $rc
