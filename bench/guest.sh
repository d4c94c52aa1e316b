#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmarks, inside the test VM (run by the test file bench/run.sh
# generates). Prints TAP for vm.py and the raw figures as "# bench KEY
# VALUE..." lines, which bench/report.py turns into the table. A benchmark
# reports, it does not judge: a result is "not ok" only when a measurement
# produced no number.
#
# Settings (environment, from the generated test file):
#   BENCH_N            emulated functions behind the pcie-pci-bridge at 00:08.0
#   BENCH_BULK_REPS    timed rounds of the bulk binds
#   BENCH_STATUS_REPS  timed runs of each status query
#   BENCH_STATUS_REPS_SLOW  the same for dpdk-devbind.py and driverctl (seconds
#                      to minutes each here)
#   BENCH_HOTPLUGS     timed hotplugs per method; 0: none
#   BENCH_WARMUP       1: an untimed run before the timed ones (0 in the smoke test)
#   BENCH_VR           the helper to use (a snapshot of build/user/vfio-reserve)
#   BENCH_LEAVE_OUT    tools not to run ("dpdk driverctl udev-script"): their
#                      TAP lines say SKIP and a "left_out" line names them
#                      (make check on the debug 7.x, for its time budget)
#
# Clocks: hotplug and bulk times are differences of printk timestamps in the
# guest's kernel log (a /dev/kmsg marker written just before the action, the
# driver core's "bound" line after it); status queries are bash's
# EPOCHREALTIME around the command; the module's own time (7: at load, at
# hotplug, for a VF) is ftrace's function_graph (bench/lib.sh). Everything
# is the guest's own clock.
# shellcheck disable=SC2016 # eval'd strings
set -u
. "$VR_TOP/selftests/vm/lib.sh"
. "$VR_TOP/bench/lib.sh"

N=${BENCH_N:-8}
BULK_REPS=${BENCH_BULK_REPS:-1}
STATUS_REPS=${BENCH_STATUS_REPS:-1}
STATUS_REPS_SLOW=${BENCH_STATUS_REPS_SLOW:-$STATUS_REPS}
HOTPLUGS=${BENCH_HOTPLUGS:-0}
WARMUP=${BENCH_WARMUP:-1}
VR=${BENCH_VR:-$VR_TOP/build/user/vfio-reserve}
LEAVE_OUT=" ${BENCH_LEAVE_OUT:-} "
left_out() { [[ $LEAVE_OUT == *" $1 "* ]]; }
LEFT_OUT_WHY="left out (BENCH_LEAVE_OUT): make check's time budget on this kernel; make bench measures it"
BRIDGE=0000:00:08.0
SYSFS_BIND=$VR_TOP/bench/sysfs-bind.sh
DPDK=/usr/bin/dpdk-devbind.py
ROCKER_ID="1b36 0006"	# the bulk functions' vendor and device, for new_id
NOWHERE=0000:0a:1f.7	# an address no device of the VM has (the unmatched hotplug)

note() { ktap_diag "$@" >&2; }	# stderr: callers run in $(...)

# ---------------------------------------------------------------------------
# systemd's tools ignore requests in a chroot ("Running in chroot,
# ignoring request."): udevadm settle, control and monitor among them.
export SYSTEMD_IGNORE_CHROOT=1
_vr_ctl_open		# the QMP channel, opened once: subshells share it
ADDRS=()
plan=1					# the setup check
((N > 0)) && plan=$((plan + 4 + 1 + 1 + 1 + 4 + 1))	# bulk x4, cost at load x2, memory, status x4, footprint
((HOTPLUGS > 0)) && plan=$((plan + 3 + 4 + 1 + 1 + 1 + 1))	# udev, e1000e, set-override, 4 methods, rule, cost, unmatched, control
((HOTPLUGS > 0)) && [[ -n $NVME ]] && plan=$((plan + 1))	# VFs
ktap_plan "$plan"
[[ -n ${BENCH_LEAVE_OUT:-} ]] && say "left_out $BENCH_LEAVE_OUT"

say meta "n=$N" "bulk_reps=$BULK_REPS" "status_reps=$STATUS_REPS" "hotplugs=$HOTPLUGS" \
	"kernel=$(uname -r)" "cpus=$(nproc)" "mem_kb=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
modprobe vfio-pci
if ((N > 0)); then
	bus=$(ls "/sys/bus/pci/devices/$BRIDGE/pci_bus/" 2>/dev/null | head -n 1)
	for d in /sys/bus/pci/devices/"$bus":*; do
		[[ -e $d ]] && ADDRS+=("${d##*/}")
	done
	SELECTOR="$bus:*.*"
	ktap_check "$N emulated functions behind $BRIDGE (bus $bus), vfio-pci loaded" \
		eval '((${#ADDRS[@]} == N)) && [[ -d $VFIO ]]'
else
	ktap_check "vfio-pci loaded" test -d "$VFIO"
fi

# ---------------------------------------------------------------------------
# 3. Bulk: every function from unbound (no native driver loaded) to vfio-pci.
BULK_ID=$ROCKER_ID	# bulk_reset (lib.sh) removes it from vfio-pci's IDs

bulk_cmd() {
	case $1 in
	vfio-reserve) modprobe vfio_reserve devices="$SELECTOR" ;;
	sysfs) "$SYSFS_BIND" "${ADDRS[@]}" ;;
	dpdk) "$DPDK" --bind=vfio-pci "${ADDRS[@]}" ;;
	# The floor: vfio-pci alone, by a dynamic ID: one write, and the
	# driver core binds every function that matches.
	floor) echo "$ROCKER_ID" >"$VFIO/new_id" ;;
	esac
}

# bulk_once METHOD: prints "UNTIL_ALL_BOUND_MS UNTIL_FIRST_BOUND_MS EXIT_MS
# FROM_RESERVED_MS" (the last: from the module's first reservation to the
# last bind, "-" for the others), or fails.
bulk_once() {
	local m=$1 id t_start t_exit rc res
	bulk_reset || { note "$m: reset failed"; return 1; }
	dmesg -C
	mark "bulk $m"
	id=$MARK
	t_start=$(now_us)
	bulk_cmd "$m" >/tmp/bulk.out 2>&1
	rc=$?
	t_exit=$(now_us)
	if ((rc != 0)); then
		note "$m exited $rc:"
		tail -n 5 /tmp/bulk.out | ktap_diag
	fi
	if ! wait_until 120 all_bound; then
		note "$m: not every function reached vfio-pci"
		return 1
	fi
	read -r t0 tf tl n tr < <(log_bound_since_mark "$id" "${SELECTOR%%\**}")
	if [[ $t0 == - ]] || ((n != N)); then
		note "$m: the kernel log shows $n of $N binds"
		return 1
	fi
	printf '%s %s %s %s\n' "$(ms_between "$t0" "$tl")" "$(ms_between "$t0" "$tf")" \
		"$(awk -v a="$t_start" -v b="$t_exit" 'BEGIN { printf "%.1f", (b - a) / 1000 }')" \
		"$([[ $tr == - ]] && echo - || ms_between "$tr" "$tl")"
}

declare -A BULK_MS BULK_FIRST BULK_EXIT BULK_BAD BULK_FROMRES
if ((N > 0)); then
	methods=(sysfs dpdk floor vfio-reserve)
	for round in $(seq $((1 - WARMUP)) "$BULK_REPS"); do	# round 0: warm-up
		for m in "${methods[@]}"; do
			left_out "$m" && continue
			if res=$(bulk_once "$m"); then
				((round == 0)) && continue
				read -r all first ex fromres <<<"$res"
				[[ $fromres != - ]] && BULK_FROMRES[$m]+=" $fromres"
				BULK_MS[$m]+=" $all"
				BULK_FIRST[$m]+=" $first"
				BULK_EXIT[$m]+=" $ex"
			else
				BULK_BAD[$m]=1
			fi
		done
	done
	for m in "${methods[@]}"; do
		if left_out "$m"; then
			ktap_skip "bulk $m" "$LEFT_OUT_WHY"
			continue
		fi
		say "bulk.$m.ms${BULK_MS[$m]:-}"
		say "bulk.$m.first_ms${BULK_FIRST[$m]:-}"
		say "bulk.$m.exit_ms${BULK_EXIT[$m]:-}"
		[[ $m == vfio-reserve ]] && say "bulk.$m.from_reserved_ms${BULK_FROMRES[$m]:-}"
		ktap_result "bulk $m: $N functions to vfio-pci, times (ms):${BULK_MS[$m]:- none}" \
			"$([[ -n ${BULK_MS[$m]:-} && -z ${BULK_BAD[$m]:-} ]]; echo $?)"
	done

	# 7. The module's own time at load, as at boot: the N functions there,
	# vfio-pci not loaded (the settle work loads it), function_graph on
	# the module's entry points. Per function: the module's own time over
	# N; the settle work item's and request_module()'s shares of it.
	# traced_load VAR SELECTOR READY WHAT: from every function unbound and
	# vfio-pci not loaded, load the module with devices=SELECTOR, traced
	# until READY succeeds; the module's figures (ftrace_cost.py's) are
	# added to the associative array VAR. Fails when a step did.
	traced_load() {
		local -n tl_acc=$1
		local key tl_rc=0
		bulk_reset && modprobe -r vfio-pci || return 1
		ft_begin || { note "ftrace: the filter could not be set"; return 1; }
		modprobe vfio_reserve devices="$2"
		wait_until 120 "$3" || { note "$4: not every named function on vfio-pci"; tl_rc=1; }
		nap 0.3		# a settle queued last runs to its end
		ft_end /tmp/ft-load.trace
		note "$4: $FTC_LINE"
		if ! awk -v s="${FTC[scan]:-0}" 'BEGIN { exit !(s > 0) }'; then
			note "$4: the trace has no call of the module's scan"
			tl_rc=1
		fi
		for key in module settle reqmod notify scan; do
			tl_acc[$key]+=" ${FTC[$key]}"
		done
		return $tl_rc
	}
	declare -A LOAD
	load_bad=0
	ft_available || { note "no function_graph tracer in this kernel"; load_bad=1; }
	for round in $(seq 1 "$BULK_REPS"); do
		((load_bad)) && break
		traced_load LOAD "$SELECTOR" all_bound "load round $round" || { load_bad=1; break; }
		LOAD[per_dev]+=" $(awk -v m="${FTC[module]}" -v n="$N" 'BEGIN { printf "%.2f", m / n }')"
	done
	[[ -d $VFIO ]] || modprobe vfio-pci
	for k in per_dev module settle reqmod notify scan; do
		say "cost.load.$k${LOAD[$k]:-}"
	done
	ktap_result "the module's own time at load with $N functions (function_graph): per function (µs):${LOAD[per_dev]:- none}" \
		"$([[ -n ${LOAD[per_dev]:-} && $load_bad == 0 ]]; echo $?)"

	# The same with one function in 8 named by the rules (issue 23's boot:
	# 32 of 256), by address; the others, which no rule names, must stay
	# unbound (no native driver here). Per function over all N, and per
	# reserved function.
	k=$((N >= 8 ? N / 8 : 1))
	part=("${ADDRS[@]:0:k}")
	rest=("${ADDRS[@]:k}")
	part_bound() {
		local a
		for a in "${part[@]}"; do
			bound_to_vfio "$a" || return 1
		done
	}
	rest_alone() {
		local a o
		for a in "${rest[@]}"; do
			[[ -e /sys/bus/pci/devices/$a/driver ]] && return 1
			read -r o <"/sys/bus/pci/devices/$a/driver_override"
			[[ -z $o || $o == "(null)" ]] || return 1
		done
	}
	declare -A PARTIAL
	part_bad=$load_bad
	for round in $(seq 1 "$BULK_REPS"); do
		((part_bad)) && break
		traced_load PARTIAL "$(IFS=,; echo "${part[*]}")" part_bound \
			"partial load round $round ($k of $N named)" || { part_bad=1; break; }
		rest_alone || { note "partial load: a function no rule names was bound or given an override"; part_bad=1; }
		PARTIAL[per_dev]+=" $(awk -v m="${FTC[module]}" -v n="$N" 'BEGIN { printf "%.2f", m / n }')"
		PARTIAL[per_reserved]+=" $(awk -v m="${FTC[module]}" -v n="$k" 'BEGIN { printf "%.2f", m / n }')"
	done
	[[ -d $VFIO ]] || modprobe vfio-pci
	say "cost.partial.reserved $k"
	for key in per_dev per_reserved module settle reqmod notify scan; do
		say "cost.partial.$key${PARTIAL[$key]:-}"
	done
	ktap_result "the module's own time at load with $N functions, $k named by the rules, the others left alone: per function (µs):${PARTIAL[per_dev]:- none}" \
		"$([[ -n ${PARTIAL[per_dev]:-} && $part_bad == 0 ]]; echo $?)"

	# 5. Memory per reserved device: the module's kmalloc()s during its
	# load, less what it kfree()d, from the kmem trace events (module call
	# sites only: the filter keeps call_site above the kernel image).
	mem_ok=1
	bulk_reset || mem_ok=0
	kend=$(awk '$3 == "_end" { print "0x" $1 }' /proc/kallsyms)
	echo 0 >"$FT/tracing_on"
	echo 16384 >"$FT/buffer_size_kb"
	echo >"$FT/trace"
	for ev in kmalloc kfree; do
		echo "call_site > $kend" >"$FT/events/kmem/$ev/filter" ||
			note "no trace filter (_end at '$kend'): every kmalloc is traced"
		echo 1 >"$FT/events/kmem/$ev/enable"
	done
	echo 1 >"$FT/tracing_on"
	modprobe vfio_reserve devices="$SELECTOR" || mem_ok=0
	wait_until 120 all_bound || mem_ok=0
	echo 0 >"$FT/tracing_on"
	overrun=$(awk '/^overrun:/ { s += $2 } END { print s + 0 }' "$FT"/per_cpu/cpu*/stats)
	awk '
		/ kmalloc: / && /\[vfio_reserve\]/ {
			site = $0; sub(/.*call_site=/, "", site); sub(/\+.*/, "", site)
			p = $0; sub(/.* ptr=/, "", p); sub(/ .*/, "", p)
			b = $0; sub(/.*bytes_alloc=/, "", b); sub(/ .*/, "", b)
			size[p] = b; where[p] = site
		}
		/ kfree: / {
			p = $0; sub(/.* ptr=/, "", p); sub(/ .*/, "", p)
			delete size[p]
		}
		END {
			for (p in size) { total += size[p]; n++; by[where[p] "/" size[p]]++ }
			printf "%d %d", total, n
			for (k in by) printf " %s=%d", k, by[k]
			print ""
		}' "$FT/trace" >/tmp/mem.out
	for ev in kmalloc kfree; do
		echo 0 >"$FT/events/kmem/$ev/enable"
		echo 0 >"$FT/events/kmem/$ev/filter"
	done
	echo >"$FT/trace"
	echo 1408 >"$FT/buffer_size_kb"
	read -r mem_bytes mem_allocs mem_sites </tmp/mem.out
	say "mem.retained_bytes $mem_bytes"
	say "mem.retained_allocs $mem_allocs"
	say "mem.sites ${mem_sites:-}"
	say "mem.trace_overrun $overrun"
	ktap_result "memory: vfio_reserve keeps $mem_bytes bytes in $mem_allocs kmalloc()s with $N reserved" \
		"$([[ $mem_ok == 1 && $overrun == 0 && ${mem_allocs:-0} -ge $N ]]; echo $?)"

	# 4. Status queries, with the N functions reserved (module loaded).
	declare -A STATUS_CMD=(
		[vfio-reserve]="$VR list --json"
		[dpdk]="$DPDK --status"
		[lspci]="lspci -k"
		[driverctl]="driverctl list-devices"
	)
	# A warm-up run for the two quick ones (the helper has not run yet);
	# dpdk-devbind.py and lspci ran in the bulk part, and driverctl's
	# binaries are warm after its first device.
	declare -A STATUS_RUNS=([vfio-reserve]=$STATUS_REPS [lspci]=$STATUS_REPS
		[dpdk]=$STATUS_REPS_SLOW [driverctl]=$STATUS_REPS_SLOW)
	declare -A STATUS_WARM=([vfio-reserve]=$WARMUP [lspci]=$WARMUP [dpdk]=0 [driverctl]=0)
	for tool in vfio-reserve lspci dpdk driverctl; do
		if left_out "$tool"; then
			ktap_skip "status $tool" "$LEFT_OUT_WHY"
			continue
		fi
		times='' bad=0
		for run in $(seq $((1 - STATUS_WARM[$tool])) "${STATUS_RUNS[$tool]}"); do
			t0=$(now_us)
			${STATUS_CMD[$tool]} >/tmp/status.out 2>&1 || bad=1
			t1=$(now_us)
			((run == 0)) && continue
			times+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
		done
		# The output must show the functions, or the query measured nothing.
		listed=$(grep -o "${bus#0000:}:[0-9a-f][0-9a-f]\.[0-7]" /tmp/status.out | sort -u | wc -l)
		((listed >= N)) || bad=1
		say "status.$tool.ms$times"
		ktap_result "status ${STATUS_CMD[$tool]%% *}: lists $listed lines of bus $bus; times (ms):$times" "$bad"
	done

	# 5. Footprint of the loaded module.
	modsize=$(awk '$1 == "vfio_reserve" { print $2 }' /proc/modules)
	say "module.loaded_bytes ${modsize:-}"
	ktap_check "module footprint: /proc/modules size ${modsize:-?} bytes" test -n "$modsize"
	rmmod vfio_reserve
fi

# ---------------------------------------------------------------------------
# 1 and 2. Hotplug: QMP device_add of an e1000e into rp4 until vfio-pci has
# it, for each method; the native probes from the driver core's log.
if ((HOTPLUGS > 0)); then
	RULES=/run/udev/rules.d
	mkdir -p "$RULES"
	/lib/systemd/systemd-udevd --daemon >/tmp/udevd.log 2>&1
	ktap_check "systemd-udevd runs (udevadm control --ping)" \
		wait_until 10 udevadm control --ping

	add='{"execute":"device_add","arguments":{"driver":"e1000e","bus":"'$HP_PORT'","netdev":"hp0","id":"hp0","romfile":""}}'
	del='{"execute":"device_del","arguments":{"id":"hp0"}}'

	# hp_cycle METHOD: one add/remove; prints "ADD_MS APPEAR_MS PROBE_MS
	# E1000E_PROBES MODULE_US PATH_US PROBE_US NET_US NOP_US": from the
	# marker before device_add, and from the kernel's first line about the
	# device, to vfio-pci bound (e1000e for "unmatched": the module loaded,
	# no rule naming the NIC); that driver's own probe (the driver core's
	# "probing" to "bound" lines). The times are "-" when the device did
	# not reach its driver in 30 s. For vfio-reserve, the floor and
	# unmatched, function_graph runs during the hotplug (7): the module's
	# own time, the path from pci_device_add to vfio_pci_probe's return,
	# vfio_pci_probe's own time, the module's time less the control's
	# (ftrace_cost.py's net) and the control's time per call (nop); the
	# others: "- - - - -".
	hp_cycle() {
		local id out on=1 traced=0 cost="- - - - -" want=vfio-pci
		[[ $1 == unmatched ]] && want=e1000e
		udevadm settle -t 30
		dmesg -C
		if [[ $1 == vfio-reserve || $1 == floor || $1 == unmatched ]] && ((FT_HOTPLUG)); then
			ft_begin && traced=1
		fi
		mark "hotplug $1"
		id=$MARK
		qmp "$add" >/dev/null || { note "$1: device_add failed"; return 1; }
		if ! wait_until 30 eval '[[ $(pci_driver "$HP_ADDR") == "$want" ]]'; then
			note "$1: $HP_ADDR not on $want after 30 s (driver '$(pci_driver "$HP_ADDR")')"
			on=0
		fi
		if ((traced)); then
			nap 0.3		# a settle queued last runs to its end
			ft_end "/tmp/ft-hotplug-$1.trace"
			note "hotplug $1: $FTC_LINE"
			if ((on)) && [[ $1 == unmatched ]] && ((${FTC[calls]:-0} > 0)); then
				cost="${FTC[module]} - - ${FTC[net]} ${FTC[nop]}"
			elif ((on)) && ft_traced "$1"; then
				cost="${FTC[module]} ${FTC[path]} ${FTC[probe]} ${FTC[net]} ${FTC[nop]}"
			else
				note "$1: the trace gave no figure: $FTC_LINE"
			fi
		fi
		udevadm settle -t 30
		out=$(dmesg | awk -v mark="vr-test: bench-mark $id " -v addr="$HP_ADDR" -v on="$on" -v drv="$want" "$DD_NORM"'
			{ $0 = dd_norm($0) }
			function ts(l,  s) {
				if (!match(l, /^\[ *[0-9]+\.[0-9]+\]/)) return -1
				s = substr(l, RSTART + 1, RLENGTH - 2); gsub(/ /, "", s); return s + 0
			}
			index($0, mark) { t0 = ts($0) }
			t0 != "" && appear == "" && index($0, "pci " addr ": [") { appear = ts($0) }
			t0 != "" && index($0, "really_probe: probing driver " drv " with device " addr) { pstart = ts($0) }
			t0 != "" && index($0, "driver: '\''" drv "'\'': driver_bound: bound to device '\''" addr "'\''") { bound = ts($0) }
			index($0, "really_probe: probing driver e1000e with device " addr) { probes++ }
			END {
				if (!on || t0 == "" || appear == "" || bound == "" || pstart == "")
					printf "- - - %d", probes
				else
					printf "%.1f %.1f %.1f %d", (bound - t0) * 1000, (bound - appear) * 1000,
						(bound - pstart) * 1000, probes
			}')
		out+=" $cost"
		qmp "$del" >/dev/null
		if ! qmp_wait_event 20 DEVICE_DELETED '"device":"hp0"' ||
		   ! wait_until 10 gone "$HP_ADDR"; then
			note "$1: unplug did not complete"
			return 1
		fi
		echo "$out"
	}

	# Each method is set up just before its hotplug and torn down after it,
	# so the rounds can interleave the methods (the host is shared: its load
	# drifts, and a method measured in one block would carry the drift).
	DC_SAVED=/run/bench-driverctl.saved
	hp_setup() {
		case $1 in
		floor)
			# The floor: vfio-pci matches the NIC by a dynamic ID. It was
			# registered before e1000e, so the driver core tries it first:
			# the device's one probe is vfio-pci's, in device_add, with no
			# override and nothing else in the way.
			echo "8086 10d3" >"$VFIO/new_id" ;;
		udev-script)
			echo "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"$HP_ADDR\", RUN+=\"/bin/bash $SYSFS_BIND \$kernel\"" \
				>"$RULES/70-bench-sysfs-bind.rules"
			udevadm control --reload ;;
		driverctl)
			cp "$DC_SAVED" "/etc/driverctl.d/pci-$HP_ADDR" ;;
		vfio-reserve)
			modprobe vfio_reserve devices="$HP_ADDR" ;;
		unmatched)
			# the module loaded, with a rule that names no device here
			modprobe vfio_reserve devices="$NOWHERE" ;;
		esac
	}
	hp_teardown() {
		case $1 in
		floor) echo "8086 10d3" >"$VFIO/remove_id" ;;
		udev-script)
			rm -f "$RULES/70-bench-sysfs-bind.rules"
			udevadm control --reload ;;
		driverctl) rm -f "/etc/driverctl.d/pci-$HP_ADDR" ;;
		vfio-reserve | unmatched) rmmod vfio_reserve ;;
		esac
	}

	# The control (7): an empty bus notifier, timed beside the module's.
	HP_NOP=
	modprobe vr_testdrv nop_notifier=1 || note "vr_testdrv not loaded: no control for the tracer's own cost"

	# e1000e loaded (after vfio-pci) and ready to probe every NIC.
	modprobe e1000e
	udevadm settle -t 30
	ktap_check "e1000e loaded after vfio-pci (the floor relies on the order)" \
		test -d /sys/module/e1000e

	# driverctl: its override saved with set-override on a present device
	# (bound to e1000e); afterwards its udev rule plus the systemd stand-in.
	if left_out driverctl; then
		ktap_skip "driverctl set-override $HP_ADDR vfio-pci" "$LEFT_OUT_WHY"
	else
		mount -t tmpfs -o mode=0755 tmpfs /etc/driverctl.d
		"$VR_TOP/bench/driverctl-systemd.sh" /tmp/driverctl.log &
		dc_pid=$!
		qmp "$add" >/dev/null
		wait_until 30 eval '[[ $(pci_driver "$HP_ADDR") == e1000e ]]'
		ktap_check "driverctl set-override $HP_ADDR vfio-pci (saved in /etc/driverctl.d)" \
			eval 'driverctl set-override "$HP_ADDR" vfio-pci && bound_to_vfio "$HP_ADDR" &&
				[[ -s /etc/driverctl.d/pci-$HP_ADDR ]]'
		mv "/etc/driverctl.d/pci-$HP_ADDR" "$DC_SAVED"
		qmp "$del" >/dev/null
		qmp_wait_event 20 DEVICE_DELETED '"device":"hp0"'
		wait_until 10 gone "$HP_ADDR"
	fi

	# Rounds: one hotplug per method, the order rotating; round 0 untimed.
	HP_METHODS=()
	for m in vfio-reserve floor udev-script driverctl unmatched; do
		left_out "$m" || HP_METHODS+=("$m")
	done
	declare -A HP_ADDS HP_APPEARS HP_VFIO HP_PROBES HP_FAILS HP_MODULE HP_PATH HP_VPROBE HP_NET
	FT_HOTPLUG=0
	ft_available && FT_HOTPLUG=1
	for i in $(seq $((1 - WARMUP)) "$HOTPLUGS"); do
		for k in "${!HP_METHODS[@]}"; do
			m=${HP_METHODS[$(((i + k) % ${#HP_METHODS[@]}))]}
			hp_setup "$m"
			udevadm settle -t 30
			nap 0.5		# let what the setup started die down
			res=$(hp_cycle "$m") || res="- - - 0 - - - - -"
			hp_teardown "$m"
			((i == 0)) && continue
			read -r a p v e mod path vprobe net nop <<<"$res"
			[[ ${net:--} != - ]] && HP_NET[$m]+=" $net"
			[[ ${nop:--} != - ]] && HP_NOP+=" $nop"
			[[ ${mod:--} != - ]] && HP_MODULE[$m]+=" $mod"
			[[ ${path:--} != - ]] && HP_PATH[$m]+=" $path"
			[[ ${vprobe:--} != - ]] && HP_VPROBE[$m]+=" $vprobe"
			HP_PROBES[$m]=$((${HP_PROBES[$m]:-0} + e))
			if [[ $a == - ]]; then
				HP_FAILS[$m]=$((${HP_FAILS[$m]:-0} + 1))
			else
				HP_ADDS[$m]+=" $a"
				HP_APPEARS[$m]+=" $p"
				HP_VFIO[$m]+=" $v"
			fi
		done
	done
	for m in vfio-reserve floor udev-script driverctl; do
		if left_out "$m"; then
			ktap_skip "hotplug $m" "$LEFT_OUT_WHY"
			continue
		fi
		say "hotplug.$m.add_ms${HP_ADDS[$m]:-}"
		say "hotplug.$m.appear_ms${HP_APPEARS[$m]:-}"
		say "hotplug.$m.vfio_probe_ms${HP_VFIO[$m]:-}"
		say "hotplug.$m.e1000e_probes ${HP_PROBES[$m]:-0}"
		say "hotplug.$m.failed ${HP_FAILS[$m]:-0}"
		ktap_result "hotplug $m: $HOTPLUGS hotplugs, ${HP_FAILS[$m]:-0} not on vfio-pci, e1000e probed it ${HP_PROBES[$m]:-0} times; device_add to bound (ms):${HP_ADDS[$m]:-}" \
			"$([[ -n ${HP_ADDS[$m]:-} ]]; echo $?)"
	done

	for m in vfio-reserve floor unmatched; do
		say "cost.hotplug.$m.module_us${HP_MODULE[$m]:-}"
		say "cost.hotplug.$m.path_us${HP_PATH[$m]:-}"
		say "cost.hotplug.$m.probe_us${HP_VPROBE[$m]:-}"
		say "cost.hotplug.$m.net_us${HP_NET[$m]:-}"
	done
	say "cost.hotplug.nop_us${HP_NOP:-}"
	ktap_result "the control: vr_testdrv's empty bus notifier timed the same way, µs per call:${HP_NOP:- none}" \
		"$([[ -n ${HP_NOP:-} ]]; echo $?)"
	ktap_result "the module's own time per hotplug (function_graph), µs:${HP_MODULE[vfio-reserve]:- none}; the floor's path (pci_device_add to vfio_pci_probe's return), µs:${HP_PATH[floor]:- none}" \
		"$([[ -n ${HP_MODULE[vfio-reserve]:-} && -n ${HP_PATH[floor]:-} ]]; echo $?)"
	# A NIC no rule names: the module's time on a device it leaves alone,
	# and e1000e's probe of it (it was free to probe: the positive control).
	ktap_result "a NIC no rule names ($NOWHERE only): e1000e probed it ${HP_PROBES[unmatched]:-0} times in $HOTPLUGS hotplugs; the module's own time (function_graph), µs:${HP_MODULE[unmatched]:- none}" \
		"$([[ -n ${HP_MODULE[unmatched]:-} && ${HP_PROBES[unmatched]:-0} -ge $HOTPLUGS && -z ${HP_FAILS[unmatched]:-} ]]; echo $?)"

	# The stand-in acts only on an add event that carries driverctl's
	# SYSTEMD_WANTS (its rule matched: the override file existed).
	if left_out driverctl; then
		ktap_skip "driverctl's udev rule acted" "$LEFT_OUT_WHY"
	else
		ktap_check "driverctl's udev rule acted: SYSTEMD_WANTS=driverctl@pci-$HP_ADDR.service on every add" \
			eval '(($(grep -c " driverctl@pci-$HP_ADDR.service: load-override pci/$HP_ADDR\$" /tmp/driverctl.log) >= HOTPLUGS))'
		[[ $(grep -c "load-override" /tmp/driverctl.log) -ge $HOTPLUGS ]] ||
			{ note "the systemd stand-in's log:"; tail -n 20 /tmp/driverctl.log | ktap_diag; }
		kill "$dc_pid" 2>/dev/null	# it stops its udevadm monitor
		wait "$dc_pid" 2>/dev/null
		umount /etc/driverctl.d
	fi
fi

# ---------------------------------------------------------------------------
# 7. A VF created through sriov_numvfs: the module reserving it by a vf:
# rule, against the floor (vfio-pci's dynamic ID for the VF's vendor and
# device; vfio-pci was registered before nvme). One VF per round, the two
# methods in turn, function_graph on as at hotplug.
if ((HOTPLUGS > 0)) && [[ -n $NVME ]]; then
	pf=/sys/bus/pci/devices/$NVME
	vf_on_vfio() {
		local l
		l=$(readlink "$pf/virtfn0" 2>/dev/null) && bound_to_vfio "${l##*/}"
	}
	declare -A VF_MODULE VF_PATH VF_PROBE VF_NET VF_FAILS
	vf_bad=0
	modprobe nvme
	wait_until 30 eval '[[ $(pci_driver "$NVME") == nvme ]]' || { note "VF: $NVME not on nvme"; vf_bad=1; }
	ft_available || { note "no function_graph tracer in this kernel"; vf_bad=1; }
	echo 0 >"$pf/sriov_numvfs"
	echo 1 >"$pf/sriov_drivers_autoprobe"
	for i in $(seq $((1 - WARMUP)) "$HOTPLUGS"); do
		((vf_bad)) && break
		for k in 0 1; do
			m=$([[ $(((i + k) % 2)) == 0 ]] && echo vfio-reserve || echo floor)
			if [[ $m == vfio-reserve ]]; then
				modprobe vfio_reserve devices="vf:$NVME"
			else
				echo "${NVME_ID/:/ }" >"$VFIO/new_id"
			fi
			ft_begin || { vf_bad=1; break; }
			echo 1 >"$pf/sriov_numvfs"
			on=1
			wait_until 30 vf_on_vfio || { on=0; note "VF $m: not on vfio-pci after 30 s"; }
			nap 0.3		# a settle queued last runs to its end
			ft_end "/tmp/ft-vf-$m.trace"
			echo 0 >"$pf/sriov_numvfs"
			if [[ $m == vfio-reserve ]]; then
				rmmod vfio_reserve
			else
				echo "${NVME_ID/:/ }" >"$VFIO/remove_id"
			fi
			((i == 0)) && continue
			if ((on)) && ft_traced "$m"; then
				VF_MODULE[$m]+=" ${FTC[module]}"
				VF_PATH[$m]+=" ${FTC[path]}"
				VF_PROBE[$m]+=" ${FTC[probe]}"
				[[ ${FTC[net]:--} != - ]] && VF_NET[$m]+=" ${FTC[net]}"
			else
				VF_FAILS[$m]=$((${VF_FAILS[$m]:-0} + 1))
				note "VF $m: no figure: $FTC_LINE"
			fi
		done
	done
	for m in vfio-reserve floor; do
		say "cost.vf.$m.module_us${VF_MODULE[$m]:-}"
		say "cost.vf.$m.path_us${VF_PATH[$m]:-}"
		say "cost.vf.$m.probe_us${VF_PROBE[$m]:-}"
		say "cost.vf.$m.net_us${VF_NET[$m]:-}"
	done
	ktap_result "a VF by sriov_numvfs: the module's own time (function_graph), µs:${VF_MODULE[vfio-reserve]:- none}; the floor's path, µs:${VF_PATH[floor]:- none}" \
		"$([[ $vf_bad == 0 && -n ${VF_MODULE[vfio-reserve]:-} && -n ${VF_PATH[floor]:-} && -z ${VF_FAILS[*]:-} ]]; echo $?)"
fi
ktap_finish
