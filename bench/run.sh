#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vfio-reserve benchmarks against what operators use today (bench/README.md).
#
#   bench/run.sh            make bench: N = 32, 128, 256; 30 hotplugs per method;
#                           list --json at 32, 256 and 1024 functions
#   bench/run.sh --smoke    make bench-smoke: N = 8, 2 hotplugs per method, list
#                           --json at 8; TAP lines checking that every
#                           measurement gave a number
#
# Host side: builds the helper and snapshots it into build/bench/snap/
# (build/bench-smoke/ with --smoke, so make check keeps the last full run),
# builds the module for each kernel from a copy of its sources
# (build/bench/kernel-KVER/mod/), writes one VM test file per size
# (build/bench/bench-nN.sh: the extra QEMU devices in "# vm-qemu:" lines,
# the settings, then bench/guest.sh), runs them one at a time with
# selftests/vm/vm.py on each kernel (its own build directory,
# build/bench-vm/KVER/), and prints the table (bench/report.py) to stdout,
# with a kernel column, and writes the plot. Raw output per kernel in
# build/bench/kernel-KVER/; results.json, results.md and bench.png in
# build/bench/.
#
# --kernels "deb12 lts newest": the kernels of the matrix to run on
# (selftests/kernels/README.md; default: all three, deb12 with --smoke);
# newest is built if it is not cached (selftests/debug/build-kernel.sh,
# about 25 minutes). --deadline EPOCH: a VM whose timeout would end later
# is not started and is reported as skipped (make check's time budget).
# --out DIR: instead of build/bench (build/bench-smoke).
# --leave-out "dpdk driverctl udev-script": tools not to run; their cells
# are reported as skipped (make check on the debug 7.x, for its budget).
#
# Options: --sizes "32 128 256", --hotplugs N, --bulk-reps N, --status-reps N,
# --status-reps-slow N (dpdk-devbind.py and driverctl), --list-sizes "32 256
# 1024" (the list-scaling VMs, bench/list-guest.sh; "" for none),
# --list-reps N, --dump-seconds S (the module's own dumps, in list-reps
# runs), --notifier-hotplugs N (the notifier's breakdown,
# bench/notifier-guest.sh: N hotplugs per case; 0 for none); defaults from
# the mode. Exit status: 0 when a table could be made (full mode reports,
# it does not judge); with --smoke, 1 when any measurement gave no number.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$top/build/bench
vmbuild=$top/build/bench-vm
smoke=0
sizes='' hotplugs='' bulk_reps='' status_reps='' status_reps_slow=''
list_sizes=unset list_reps='' dump_seconds='' kernels='' deadline='' out_arg='' leave_out=''
notifier_hotplugs=''

usage() {
	sed -n '3,39s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit 2
}

while (($#)); do
	case $1 in
	--smoke) smoke=1 ;;
	--sizes) sizes=$2; shift ;;
	--hotplugs) hotplugs=$2; shift ;;
	--bulk-reps) bulk_reps=$2; shift ;;
	--status-reps) status_reps=$2; shift ;;
	--status-reps-slow) status_reps_slow=$2; shift ;;
	--list-sizes) list_sizes=$2; shift ;;
	--list-reps) list_reps=$2; shift ;;
	--dump-seconds) dump_seconds=$2; shift ;;
	--notifier-hotplugs) notifier_hotplugs=$2; shift ;;
	--kernels) kernels=$2; shift ;;
	--deadline) deadline=$2; shift ;;
	--out) out_arg=$2; shift ;;
	--leave-out) leave_out=$2; shift ;;
	-h | --help) usage ;;
	*) echo "bench/run.sh: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done
((smoke)) && out=$top/build/bench-smoke
[[ -n $out_arg ]] && out=$(realpath -m "$out_arg")
if ((smoke)); then
	: "${sizes:=8}" "${hotplugs:=2}" "${bulk_reps:=1}" "${status_reps:=1}"
	: "${status_reps_slow:=1}" "${list_reps:=1}"
	[[ $list_sizes == unset ]] && list_sizes=8
	: "${dump_seconds:=1}" "${kernels:=deb12}" "${notifier_hotplugs:=0}"
	# (a smoke VM takes 2-3 minutes on Debian's kernels, on a busy host)
	warmup=0 vm_timeout=400 list_timeout=200
else
	: "${sizes:=32 128 256}" "${hotplugs:=30}" "${bulk_reps:=3}" "${status_reps:=5}"
	: "${status_reps_slow:=3}" "${list_reps:=5}"
	[[ $list_sizes == unset ]] && list_sizes="32 256 1024"
	: "${dump_seconds:=10}" "${kernels:=deb12 lts newest}" "${notifier_hotplugs:=15}"
	warmup=1 vm_timeout=3600 list_timeout=3600
fi
for n in $sizes; do
	if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 8 || n > 256 || n % 8)); then
		echo "bench/run.sh: size $n: need a multiple of 8 from 8 to 256 (8 functions per slot, 32 slots)" >&2
		exit 2
	fi
done
for t in $leave_out; do
	case $t in
	dpdk | driverctl | udev-script) ;;
	*) echo "bench/run.sh: --leave-out $t: only dpdk, driverctl and udev-script can be left out" >&2; exit 2 ;;
	esac
done
for n in $list_sizes; do
	if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 8 || n > 1024 || n % 8)); then
		echo "bench/run.sh: list size $n: need a multiple of 8 from 8 to 1024 (4 bridges of 32 slots of 8)" >&2
		exit 2
	fi
done

log() { echo "# bench: $*" >&2; }

rm -rf "$out"
mkdir -p "$out/snap"
cd "$top" || exit 1

# The helper, built here and copied: others may rebuild the tree while the
# VMs run. The module: below, for each kernel, from a copy of its sources.
built=0
for try in 1 2 3; do
	if make -s helper genl >"$out/build.log" 2>&1; then
		built=1
		break
	fi
	log "build failed (try $try), retrying: another build may be running"
	sleep $((try * 10))
done
if ((!built)); then
	tail -n 20 "$out/build.log" >&2
	((smoke)) && echo "not ok 1 bench: make helper genl failed"
	exit 1
fi
cp build/user/vfio-reserve build/genl/vr_genl_test "$out/snap/"

# One test file per size: the functions are rockers (1b36:0006, class
# 0280: a network device to dpdk-devbind, no driver in Debian's kernel,
# memory BARs only), 8 per slot behind a pcie-pci-bridge at 00:08.0.
gen_test() {
	local n=$1 hp=$2 f=$out/bench-n$1.sh slot fn line
	{
		echo "#!/bin/bash"
		echo "# Generated by bench/run.sh: the benchmarks with $n functions."
		echo "# vm-timeout: $vm_timeout"
		echo "# vm-cmdline: loglevel=5 log_buf_len=8M"
		echo "# vm-qemu: -device pcie-pci-bridge,id=bb,bus=pcie.0,addr=0x8"
		for ((slot = 0; slot < n / 8; slot++)); do
			line="# vm-qemu:"
			for fn in 0 1 2 3 4 5 6 7; do
				line+=" -device rocker,bus=bb,addr=$(printf '0x%x.%d' "$slot" "$fn"),name=bb${slot}f$fn"
				((fn == 0)) && line+=",multifunction=on"
			done
			echo "$line"
		done
		echo "export BENCH_N=$n BENCH_HOTPLUGS=$hp BENCH_BULK_REPS=$bulk_reps" \
			"BENCH_STATUS_REPS=$status_reps BENCH_STATUS_REPS_SLOW=$status_reps_slow" \
			"BENCH_WARMUP=$warmup BENCH_LEAVE_OUT=\"$leave_out\"" \
			"BENCH_VR=$out/snap/vfio-reserve"
		echo "exec bash \"\$VR_TOP/bench/guest.sh\""
	} >"$f"
	echo "$f"
}

# One list-scaling test file per size (6): N pci-testdevs (pci-testdev
# rather than rocker: QEMU 7.2 aborts past about 4096 memory sections, which
# 1024 rockers exceed), 8 per slot, 32 slots per pcie-pci-bridge from
# 00:08.0 on. qboot: with SeaBIOS, hundreds of functions take minutes to
# boot (selftests/vm/README.md, vm-firmware).
gen_list_test() {
	local n=$1 f=$out/list-n$1.sh slot fn line bridge
	{
		echo "#!/bin/bash"
		echo "# Generated by bench/run.sh: list --json with $n functions."
		echo "# vm-timeout: $list_timeout"
		echo "# vm-firmware: qboot"
		echo "# vm-cmdline: loglevel=5 log_buf_len=8M"
		for ((bridge = 0; bridge * 256 < n; bridge++)); do
			echo "# vm-qemu: -device pcie-pci-bridge,id=bb$bridge,bus=pcie.0,addr=$(printf '0x%x' $((8 + bridge)))"
		done
		for ((slot = 0; slot < n / 8; slot++)); do
			line="# vm-qemu:"
			for fn in 0 1 2 3 4 5 6 7; do
				line+=" -device pci-testdev,bus=bb$((slot / 32)),addr=$(printf '0x%x.%d' $((slot % 32)) "$fn")"
				((fn == 0)) && line+=",multifunction=on"
			done
			echo "$line"
		done
		echo "export BENCH_LIST_REPS=$list_reps BENCH_DUMP_SECONDS=$dump_seconds BENCH_BULK_REPS=$bulk_reps" \
			"BENCH_VR=$out/snap/vfio-reserve BENCH_GENL=$out/snap/vr_genl_test"
		echo "exec bash \"\$VR_TOP/bench/list-guest.sh\""
	} >"$f"
	echo "$f"
}

# The notifier's breakdown (8): a NIC reserved and one no rule names,
# hotplugged with function_graph under vr_bus_notify.
gen_notifier_test() {
	local f=$out/notifier.sh
	{
		echo "#!/bin/bash"
		echo "# Generated by bench/run.sh: where the bus notifier's time goes."
		echo "# vm-timeout: 900"
		echo "# vm-cmdline: loglevel=5 log_buf_len=8M"
		echo "export BENCH_HOTPLUGS=$notifier_hotplugs BENCH_DEPTH=3"
		echo "exec bash \"\$VR_TOP/bench/notifier-guest.sh\""
	} >"$f"
	echo "$f"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# run_vm TEST OUT LABEL: one VM on the kernel being measured (kout, ko,
# vmargs), its output in OUT, its time and the host's load in host.txt;
# returns vm.py's status.
run_vm() {
	local start=$SECONDS load_before rc
	load_before=$(loadavg)
	selftests/vm/vm.py --ko "$ko" --build "$vmbuild/$kver" "${vmargs[@]}" \
		${deadline:+--deadline "$deadline"} --keep-logs "$1" >"$2" 2>&1
	rc=$?
	echo "$3: $((SECONDS - start)) s, load average $load_before before, $(loadavg) after" >>"$kout/host.txt"
	log "$kver: $3: vm.py exit $rc, $((SECONDS - start)) s; output in ${2#"$top"/}"
	return "$rc"
}

# kernel NAME: the kernel of the matrix to boot (kver), the build tree
# the module is built against (kdir) and vm.py's options for it (vmargs).
kernel() {
	local d
	vmargs=()
	case $1 in
	deb12) kver=$(selftests/kernels/matrix.sh --deb12-kver); kdir=/lib/modules/$kver/build ;;
	lts) kver=$(selftests/kernels/fetch.sh lts | tail -n 1); kdir=/lib/modules/$kver/build ;;
	newest)
		d=$(selftests/debug/build-kernel.sh | tail -n 1) && [[ -f $d/done ]] || return 1
		kver=$(cat "$d/kernelrelease")
		kdir=$d/linux
		# the debug kernel (KASAN, lockdep...): its times are that kernel's
		vmargs=(--kernel "$d/bzImage" --moddir "$d/modroot/lib/modules/$kver" --timeout-factor 3) ;;
	*) echo "bench/run.sh: unknown kernel '$1' (deb12, lts, newest)" >&2; return 1 ;;
	esac
	[[ -n $kver && -d $kdir ]]
}

for k in $kernels; do
	if ! kernel "$k"; then
		log "$k: the kernel is not available"
		echo "the kernel $k is not available" >>"$out/failed.txt"
		continue
	fi
	kout=$out/kernel-$kver
	mkdir -p "$kout"
	# The module for this kernel, from a copy of its sources.
	rm -rf "$kout/mod"
	selftests/module-sources.sh "$kout/mod"
	if ! make -C "$kdir" M="$kout/mod" modules >"$kout/mod.log" 2>&1; then
		tail -n 20 "$kout/mod.log" >&2
		echo "the module does not build against $kver ($kout/mod.log)" >>"$out/failed.txt"
		continue
	fi
	ko=$kout/mod/vfio_reserve.ko
	# 5. The module's sections and the record it keeps per reserved device.
	size "$ko" >"$kout/size.txt"
	readelf --debug-dump=info "$ko" 2>/dev/null | awk '
		/DW_TAG_structure_type/ { s = 1; name = ""; next }
		s && /DW_AT_name/ { name = $NF; next }
		s && /DW_AT_byte_size/ { if (name == "vr_dev" || name == "vr_rule") print name, $NF; s = 0; next }
		/DW_TAG/ { s = 0 }' | sort -u >"$kout/structs.txt"
	# The machine, and how busy it was around each VM (others run VMs too).
	{
		echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))"
		qemu-system-x86_64 --version | head -n 1
	} >"$kout/host.txt"

	first=1
	for n in $sizes; do
		hp=0
		((first)) && hp=$hotplugs	# hotplug runs once, in the first VM
		first=0
		t=$(gen_test "$n" "$hp")
		log "$kver: VM with N=$n (hotplugs $hp): $t"
		start=$SECONDS
		run_vm "$t" "$kout/vm-n$n.out" "VM N=$n"
		echo "$? $((SECONDS - start))" >"$kout/vm-n$n.rc"
	done

	for n in $list_sizes; do
		t=$(gen_list_test "$n")
		log "$kver: list VM with N=$n: $t"
		run_vm "$t" "$kout/list-n$n.out" "list VM N=$n"
	done

	if ((notifier_hotplugs > 0)); then
		t=$(gen_notifier_test)
		log "$kver: notifier VM: $t"
		run_vm "$t" "$kout/notifier.out" "notifier VM"
	fi
done

args=(--out "$out")
((smoke)) && args+=(--smoke)
/usr/bin/python3 bench/report.py "${args[@]}"
