# SPDX-License-Identifier: GPL-2.0
# What the benchmark VMs share (sourced by bench/guest.sh and
# bench/list-guest.sh after selftests/vm/lib.sh): waiting without forking,
# kernel-log markers and the bind times after them, and the module's own
# time with ftrace.

VFIO=/sys/bus/pci/drivers/vfio-pci
say() { printf '# bench %s\n' "$*"; }	# a figure for bench/report.py

# A sleep without a fork: read from a FIFO nobody writes.
mkfifo /run/bench.sleep
exec {SLEEP_FD}<>/run/bench.sleep
nap() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }

# wait_until TIMEOUT_S CMD...: poll CMD every 0.1 s without forking.
wait_until() {
	local end=$(($(now_us) + $(_vr_seconds_to_us "$1")))
	shift
	until "$@"; do
		(($(now_us) < end)) || return 1
		nap 0.1
	done
}

bound_to_vfio() { [[ /sys/bus/pci/devices/$1/driver -ef $VFIO ]]; }
gone() { ! pci_exists "$1"; }

# The bulk functions: their addresses in ADDRS, their "vendor device" in
# BULK_ID (the floor's dynamic ID).
all_bound() {
	local a
	for a in "${ADDRS[@]}"; do
		bound_to_vfio "$a" || return 1
	done
}

# Back to the starting state: no driver, no override, no module, no
# dynamic ID.
bulk_reset() {
	local a d
	[[ -d /sys/module/vfio_reserve ]] && rmmod vfio_reserve
	[[ -d $VFIO ]] && echo "$BULK_ID" >"$VFIO/remove_id" 2>/dev/null
	for a in "${ADDRS[@]}"; do
		d=/sys/bus/pci/devices/$a
		[[ -e $d/driver ]] && echo "$a" >"$d/driver/unbind"
		echo >"$d/driver_override"
	done
	for a in "${ADDRS[@]}"; do
		[[ -e /sys/bus/pci/devices/$a/driver ]] && return 1
	done
	return 0
}

# mark TEXT: a marker line in the kernel log, its id in MARK (unique: the
# clock, since callers run in subshells).
MARK=
mark() {
	MARK=$(now_us)
	echo "vr-test: bench-mark $MARK $*" >/dev/kmsg
}

# The driver core's debug lines name the device at the end on 6.1
# ("... bound to device '0000:05:00.0'", "... probing driver D with device
# 0000:05:00.0") and, since dev_dbg() prints them, in front on newer kernels
# ("pci 0000:05:00.0: ... bound to device", the bound driver's name in
# place of "pci" once it has one): dd_norm() gives the old form,
# which the awk programs here match. Put "$DD_NORM" before a program and
# { $0 = dd_norm($0) } as its first rule.
DD_NORM='
function dd_norm(l,   a) {
	if (l ~ /(bound to device|with device)$/ &&
	    match(l, / [0-9a-f]+:[0-9a-f]+:[0-9a-f]+\.[0-7]: /)) {
		a = substr(l, RSTART + 1, RLENGTH - 3)
		return l ~ /bound to device$/ ? l " '"'"'" a "'"'"'" : l " " a
	}
	return l
}'

# The printk timestamps (seconds) of marker ID and of the first and last
# "bound to device" lines of vfio-pci after it for addresses starting with
# PREFIX, and of the module's first "reserved for" line after it: "T0
# TFIRST TLAST COUNT TRESERVED" (COUNT distinct addresses bound after T0;
# TRESERVED "-" when the module reserved nothing).
log_bound_since_mark() {
	local id=$1 prefix=$2
	dmesg | awk -v mark="vr-test: bench-mark $id " -v prefix="$prefix" "$DD_NORM"'
		{ $0 = dd_norm($0) }
		function ts(l,  s) {
			if (!match(l, /^\[ *[0-9]+\.[0-9]+\]/)) return -1
			s = substr(l, RSTART + 1, RLENGTH - 2); gsub(/ /, "", s); return s + 0
		}
		index($0, mark) { t0 = ts($0); first = last = res = ""; n = 0; delete seen; next }
		t0 != "" && res == "" && / reserved for [^ ]* by rule / { res = ts($0) }
		t0 != "" && index($0, "driver: '\''vfio-pci'\'': driver_bound: bound to device '\''" prefix) {
			a = $0; sub(/.*bound to device '\''/, "", a); sub(/'\''.*/, "", a)
			if (!(a in seen)) { seen[a] = 1; n++ }
			last = ts($0)
			if (first == "") first = last
		}
		END {
			if (t0 == "" || last == "") print "- - - 0 -"
			else printf "%.6f %.6f %.6f %d %s\n", t0, first, last, n, res == "" ? "-" : res
		}'
}

ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }

# The module's own time, with ftrace's function_graph tracer (bench/README.md,
# 7). The tracer hooks only the functions named here, so what it costs is one
# entry and one return per call of those: the module's entry points (the kernel calls them) and the kernel
# work around them, which bench/ftrace_cost.py subtracts from the module's
# time or uses as the path's ends. Never the module's inner functions:
# tracing those would add the tracer's own cost to every one of them.
#
#   ft_begin      set the filter (module functions by :mod:, so that a
#                 module loaded later is traced too), start the tracer
#   ft_end FILE   stop it (back to the nop tracer: no hook stays), keep
#                 the trace in FILE, and bench/ftrace_cost.py's figures in
#                 FTC (FTC[module], FTC[path]...; FTC_LINE: all of them)
#   ft_traced M   the figures have a path and, for vfio-reserve, a call of
#                 the notifier
FT=/sys/kernel/tracing
FT_MODULE_FNS="vr_bus_notify vr_settle_fn vr_scan_one vr_req_work"
FT_KERNEL_FNS="pci_device_add device_attach device_release_driver __request_module"

ft_available() { grep -qw function_graph "$FT/available_tracers" 2>/dev/null; }

ft_begin() {
	local f
	echo 0 >"$FT/tracing_on"
	echo nop >"$FT/current_tracer"
	echo >"$FT/set_ftrace_filter"
	# The kernel functions first: the filter is never empty (an empty one
	# would trace every function).
	for f in $FT_KERNEL_FNS; do
		echo "$f" >>"$FT/set_ftrace_filter" || return 1
	done
	for f in $FT_MODULE_FNS; do
		echo "$f:mod:vfio_reserve" >>"$FT/set_ftrace_filter" 2>/dev/null
	done
	echo "vfio_pci_probe:mod:vfio_pci" >>"$FT/set_ftrace_filter" 2>/dev/null
	# the control, when vr_testdrv is loaded with nop_notifier=1
	echo "vt_nop_notify:mod:vr_testdrv" >>"$FT/set_ftrace_filter" 2>/dev/null
	echo 0 >"$FT/max_graph_depth"
	echo 4096 >"$FT/buffer_size_kb"
	echo function_graph >"$FT/current_tracer" || return 1
	# Not nosleep-time, though a call's time then counts in where its task
	# was switched out (mutex_lock()'s cond_resched() may yield): with it,
	# 6.1 under TCG hung twice in five VMs as the tracer was switched
	# (text_poke_bp()'s IPI never answered by a CPU in __schedule(): RCU
	# stall, soft lockup; the last CI's bench VM). The medians hold.
	for f in funcgraph-abstime funcgraph-proc funcgraph-tail; do
		echo "$f" >"$FT/trace_options"
	done
	echo >"$FT/trace"
	echo 1 >"$FT/tracing_on"
}

declare -A FTC
FTC_LINE=
ft_end() {
	local kv
	echo 0 >"$FT/tracing_on"
	cat "$FT/trace" >"$1"
	echo nop >"$FT/current_tracer"
	echo >"$FT/set_ftrace_filter"
	echo >"$FT/trace"
	FTC=()
	FTC_LINE=$(python3 "$VR_TOP/bench/ftrace_cost.py" "$1")
	for kv in $FTC_LINE; do
		FTC[${kv%%=*}]=${kv#*=}
	done
}

ft_traced() {
	[[ ${FTC[path]:--} != - ]] && { [[ $1 != vfio-reserve ]] || ((${FTC[calls]:-0} > 0)); }
}
