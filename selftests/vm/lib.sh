# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # the constants are for the tests
# Helpers for the tests (bash, sourced; set -u safe), under vm.py or on a
# real host from an installed collection (selftests/README.md):
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# KTAP output, the QMP control channel on ttyS1, polling, PCI, the device
# map (vm/devices.map is vm.py's topology; README.md has the table), and
# last the gate each test passes when it sources this file (what it needs,
# and on a real host the state it must give back).

[[ -n ${VR_LIB_LOADED:-} ]] && return 0
VR_LIB_LOADED=1

# Where the tests are: selftests/ of the source tree, or the collection
# make -C selftests install made (the same layout below it).
VR_SELFTESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# --- the device map (selftests/README.md, "On a real host") ------------------
# The devices a test may touch, by role: VR_DEV_<ROLE>=ADDRESS, from the
# environment (which wins; empty turns a role off), else from the file
# VR_DEV_MAP; under vm.py that file is vm/devices.map, the test VM's
# topology (README.md has the table). A test names the roles it needs in a
# header line "# vr-roles: nic nic-twin"; one missing from the map skips it.
# vr_role_vars ROLE: the map's variables of ROLE; status 1 for no such role.
vr_role_vars() {
	case $1 in
	nic) echo VR_DEV_NIC ;;			# a NIC with a native driver
	nic-twin) echo VR_DEV_NIC_TWIN ;;	# an identical twin of it
	sriov-pf) echo VR_DEV_SRIOV_PF ;;	# an SR-IOV PF
	mf-pair) echo VR_DEV_MF0 VR_DEV_MF1 ;;	# two functions of one slot, one group
	hotplug) echo VR_DEV_HOTPLUG VR_DEV_HOTPLUG_PORT ;; # where a hotplugged device appears, its slot
	disk) echo VR_DEV_DISK ;;		# a disk controller with a mounted file system
	*) return 1 ;;
	esac
}

# The map file's lines, each VR_DEV_<ROLE>=VALUE (comments and blank lines
# aside); anything else is an error that names the line.
vr_load_map() {
	local file=${VR_DEV_MAP:-} line n=0
	[[ -z $file && -n ${VR_KVER:-} ]] && file=$VR_SELFTESTS/vm/devices.map
	[[ -n $file ]] || return 0
	if [[ ! -r $file ]]; then
		echo "vfio-reserve selftests: cannot read the device map VR_DEV_MAP=$file" >&2
		return 1
	fi
	while IFS= read -r line || [[ -n $line ]]; do
		n=$((n + 1))
		line=${line%%#*}
		[[ $line =~ ^[[:space:]]*$ ]] && continue
		if [[ ! $line =~ ^[[:space:]]*(VR_DEV_[A-Z0-9_]+)=([0-9A-Za-z:._-]*)[[:space:]]*$ ]]; then
			echo "vfio-reserve selftests: $file:$n: not VR_DEV_<ROLE>=ADDRESS: $line" >&2
			return 1
		fi
		[[ -n ${!BASH_REMATCH[1]+set} ]] || printf -v "${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
	done <"$file"
}
vr_load_map || exit 1

# The tests' names for the roles.
NIC0=${VR_DEV_NIC_TWIN:-}	# e1000e on the root bus (VM)
NIC1=${VR_DEV_NIC:-}		# the same NIC behind root port rp1 (VM)
NVME=${VR_DEV_SRIOV_PF:-}	# NVMe PF with SR-IOV (4 VFs max) behind rp2 (VM)
MF0=${VR_DEV_MF0:-}		# e1000e, function 0 of a multifunction pair (VM)
MF1=${VR_DEV_MF1:-}		# ich9-intel-hda, function 1: same IOMMU group as MF0
HP_PORT=${VR_DEV_HOTPLUG_PORT:-} # an empty root port for device_add (VM)
HP_ADDR=${VR_DEV_HOTPLUG:-}	# where a device hotplugged there appears
DISK=${VR_DEV_DISK:-}		# AHCI with a vvfat disk (VM, 48-safety's vm-qemu)
NINEP=0000:00:07.0	# virtio-9p: the VM's root file system, never touch
HP_NETDEVS="hp0 hp1"	# spare QEMU netdev backends for hotplugged NICs
E1000E_ID=8086:10d3
NVME_ID=1b36:0010
HDA_ID=8086:293e

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

# --- KTAP ----------------------------------------------------------------------
KTAP_PLAN=
KTAP_NUM=0
KTAP_PASS=0
KTAP_FAIL=0
KTAP_SKIP=0

ktap_plan() {
	KTAP_PLAN=$1
	echo "TAP version 13"
	echo "1..$1"
}

# Diagnostics: arguments, or stdin when there are none, as "# " lines.
ktap_diag() {
	if (($#)); then
		printf '# %s\n' "$@"
	else
		sed 's/^/# /'
	fi
}

ktap_ok() {
	KTAP_NUM=$((KTAP_NUM + 1)) KTAP_PASS=$((KTAP_PASS + 1))
	echo "ok $KTAP_NUM $*"
}

ktap_fail() {
	KTAP_NUM=$((KTAP_NUM + 1)) KTAP_FAIL=$((KTAP_FAIL + 1))
	echo "not ok $KTAP_NUM $*"
}

ktap_skip() {
	KTAP_NUM=$((KTAP_NUM + 1)) KTAP_SKIP=$((KTAP_SKIP + 1))
	echo "ok $KTAP_NUM $1 # SKIP ${2:-}"
}

# ktap_result DESC RC: ok when RC is 0.
ktap_result() {
	if [[ $2 == 0 ]]; then ktap_ok "$1"; else ktap_fail "$1"; fi
	return "$2"
}

# ktap_check DESC CMD...: ok when CMD succeeds; its output is shown on failure.
# Returns CMD's status (mind set -e).
# Its locals have names no test uses: CMD (an eval'ed string, often) runs in
# this scope and would see a local "out" instead of the test's own.
ktap_check() {
	local kc_desc=$1 kc_out kc_rc
	shift
	kc_out=$("$@" 2>&1) && kc_rc=0 || kc_rc=$?
	if ((kc_rc == 0)); then
		ktap_ok "$kc_desc"
		return 0
	fi
	ktap_fail "$kc_desc"
	ktap_diag "failed (status $kc_rc): $*"
	[[ -z $kc_out ]] || printf '%s\n' "$kc_out" | tail -n 20 | ktap_diag
	return "$kc_rc"
}

# Skip what is left of the plan, then finish. Before any plan: "1..0 # SKIP".
ktap_exit_skip() {
	if [[ -z $KTAP_PLAN ]]; then
		echo "TAP version 13"
		echo "1..0 # SKIP $1"
		exit "$KSFT_SKIP"
	fi
	while ((KTAP_NUM < KTAP_PLAN)); do
		ktap_skip "${2:-skipped}" "$1"
	done
	ktap_finish
}

# Exit 1 if anything failed (or the plan was not kept), 4 if everything
# was skipped, 0 otherwise.
ktap_finish() {
	local ran=$((KTAP_PASS + KTAP_FAIL + KTAP_SKIP))
	if [[ -n $KTAP_PLAN ]] && ((ran != KTAP_PLAN)); then
		echo "# planned $KTAP_PLAN tests, ran $ran"
		KTAP_FAIL=$((KTAP_FAIL + 1))
	fi
	echo "# Totals: pass:$KTAP_PASS fail:$KTAP_FAIL xfail:0 xpass:0 skip:$KTAP_SKIP error:0"
	if ((KTAP_FAIL)); then exit "$KSFT_FAIL"; fi
	if ((KTAP_SKIP && !KTAP_PASS)); then exit "$KSFT_SKIP"; fi
	exit "$KSFT_PASS"
}

# --- time and polling ----------------------------------------------------------
# Microseconds since the epoch; "1.5" seconds -> 1500000.
now_us() {
	echo "${EPOCHREALTIME/./}"
}

_vr_seconds_to_us() {
	local int=${1%%.*} frac=
	[[ $1 == *.* ]] && frac=${1#*.}
	frac=${frac}000000
	echo $((10#${int:-0} * 1000000 + 10#${frac:0:6}))
}

# wait_for TIMEOUT_S CMD...: poll CMD every 0.05 s; status 1 on timeout.
wait_for() {
	local end
	end=$(($(now_us) + $(_vr_seconds_to_us "$1")))
	shift
	until "$@"; do
		(($(now_us) < end)) || return 1
		sleep 0.05
	done
}

# --- the control channel: QMP through ttyS1 (see README.md) ---------------------
VR_CTL_DEV=${VR_CTL_DEV:-/dev/ttyS1}
VR_QMP_TIMEOUT=${VR_QMP_TIMEOUT:-10}
VR_CTL_FD=

_vr_ctl_open() {
	[[ -n $VR_CTL_FD ]] && return 0
	exec {VR_CTL_FD}<>"$VR_CTL_DEV" || return 1
	stty raw -echo 115200 <&"$VR_CTL_FD"
}

# qmp JSON: run one QMP command on the host and print the reply (one line).
# Status 0 when the reply is a "return", 1 on an error reply or no reply.
qmp() {
	local reply
	_vr_ctl_open || return 1
	# A late reply to an earlier request that timed out must not be taken
	# for this one.
	while read -r -t 0 -u "$VR_CTL_FD"; do
		read -r -t 0.2 -u "$VR_CTL_FD" reply || break
	done
	printf '%s\n' "$1" >&"$VR_CTL_FD"
	if ! IFS= read -r -t "$VR_QMP_TIMEOUT" -u "$VR_CTL_FD" reply; then
		echo "qmp: no reply in $VR_QMP_TIMEOUT s to $1" >&2
		return 1
	fi
	reply=${reply%$'\r'}
	printf '%s\n' "$reply"
	[[ $reply == '{"return"'* ]]
}

# The QMP events that arrived since the last call, as one JSON array line
# ({"return":[...]} unwrapped).
qmp_events() {
	local reply
	reply=$(qmp '{"execute":"vr-events"}') || return 1
	reply=${reply#'{"return":'}
	echo "${reply%\}}"
}

# qmp_wait_event TIMEOUT_S EVENT [TEXT]: wait for a QMP event named EVENT
# whose JSON contains TEXT. Events fetched meanwhile are consumed.
qmp_wait_event() {
	local timeout=$1 event=$2 text=${3:-} end events
	end=$(($(now_us) + $(_vr_seconds_to_us "$timeout")))
	while :; do
		events=$(qmp_events) || return 1
		if [[ $events == *"\"event\":\"$event\""* && $events == *"$text"* ]]; then
			return 0
		fi
		(($(now_us) < end)) || return 1
		sleep 0.1
	done
}

# Host monotonic time in milliseconds (for latencies seen from the host).
host_ms() {
	local reply
	reply=$(qmp '{"execute":"vr-time"}') || return 1
	[[ $reply =~ \"ms\":([0-9.]+) ]] && echo "${BASH_REMATCH[1]}"
}

# scaled SECONDS: SECONDS times vm.py's --timeout-factor (VR_TIMEOUT_FACTOR),
# for a test's own waits on work that a slow (debug) kernel slows down.
scaled() {
	awk -v s="$1" -v f="${VR_TIMEOUT_FACTOR:-1}" 'BEGIN { printf "%d\n", s * f + 0.5 }'
}

# --- PCI -----------------------------------------------------------------------
pci_dev() {
	echo "/sys/bus/pci/devices/$1"
}

pci_exists() {
	[[ -e /sys/bus/pci/devices/$1 ]]
}

# The driver bound to ADDR, or an empty line.
pci_driver() {
	local link
	link=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null) || link=
	echo "${link##*/}"
}

# An address with no PCI function behind it (for "no such function").
pci_absent() {
	local b
	for ((b = 254; b > 0; b--)); do
		ls -d /sys/bus/pci/devices/0000:"$(printf %02x "$b")":* >/dev/null 2>&1 ||
			{ printf '0000:%02x:00.0\n' "$b"; return 0; }
	done
	return 1
}

# The bridge ADDR sits behind (its upstream port), or status 1 on a root bus.
pci_parent_bridge() {
	local up
	up=$(basename "$(dirname "$(readlink -f "/sys/bus/pci/devices/$1")")")
	[[ $up =~ ^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]] && echo "$up"
}

# "vendor:device" of ADDR, e.g. 8086:10d3.
pci_ids() {
	local d=/sys/bus/pci/devices/$1 v dev
	v=$(<"$d/vendor") && dev=$(<"$d/device") || return 1
	echo "${v#0x}:${dev#0x}"
}

# The IOMMU group number of ADDR.
pci_group() {
	local link
	link=$(readlink "/sys/bus/pci/devices/$1/iommu_group") || return 1
	echo "${link##*/}"
}

# How many times the driver core called DRIVER's probe for ADDR (dmesg lines
# from the dyndbg="file drivers/base/dd.c +p" that vm.py puts on the cmdline).
# 6.1 ends the line with the device's name; newer kernels print it first,
# as dev_dbg's prefix ("pci ADDR: bus: 'pci': really_probe: probing driver
# DRIVER with device").
# On a host, whose log holds earlier runs, only this test's part counts
# (test_dmesg); the VM's log is this test's from boot.
probe_log() {
	local addr=${2//./\\.} drv=${1//./\\.}
	{ if vr_on_vm; then dmesg; else test_dmesg; fi; } | grep -cE -- "really_probe: probing driver $drv with device $addr\$| $addr: .*really_probe: probing driver $drv with device\$" || true
}

# load_native DRIVER [TWIN...]: modprobe DRIVER (the module of that name) and
# prove that it can probe: the positive control for "DRIVER never probed X",
# which a DRIVER that never loaded would pass too. Status 0 when the modprobe
# succeeded, /sys/bus/pci/drivers/DRIVER exists, and the driver core ran
# DRIVER's probe for every TWIN (a device DRIVER is free to take: probe_log
# above 0, within 20 s; an attempt counts even when the probe fails, as the
# nvme PF's does on 6.1). Status 1 and a diagnostic on stderr otherwise.
load_native() {
	local drv=$1 twin n rc=0
	shift
	if ! modprobe "$drv"; then
		echo "load_native: modprobe $drv failed" >&2
		rc=1
	fi
	if [[ ! -d /sys/bus/pci/drivers/$drv ]]; then
		echo "load_native: no /sys/bus/pci/drivers/$drv: $drv is not a registered PCI driver" >&2
		return 1
	fi
	for twin in "$@"; do
		# A host's driver was loaded at boot and probed the twin before
		# the probe log was on: probe it again now, as a load would.
		if ! vr_on_vm && (($(probe_log "$drv" "$twin") == 0)); then
			[[ $(pci_driver "$twin") == "$drv" ]] && echo "$twin" >"/sys/bus/pci/drivers/$drv/unbind"
			[[ -n $(pci_driver "$twin") ]] || echo "$twin" >/sys/bus/pci/drivers_probe
		fi
		# shellcheck disable=SC2016 # eval'd
		if ! wait_for 20 eval '(($(probe_log "$drv" "$twin") > 0))'; then
			echo "load_native: $drv never probed $twin (driver now: '$(pci_driver "$twin")'): cannot vouch for a zero probe count" >&2
			rc=1
		else
			n=$(probe_log "$drv" "$twin")
			echo "load_native: $drv probed $twin ($n times; driver now: '$(pci_driver "$twin")')" >&2
		fi
	done
	return "$rc"
}

# --- hotplug: QEMU's slot under vm.py, sysfs remove and rescan on a host -----
# Under vm.py the hotplug role is an empty root port (HP_PORT): hp_plug
# device_adds an e1000e there and hp_unplug device_dels it (QMP). On a host
# it is a device that is there (HP_ADDR): hp_unplug removes it through sysfs
# (the driver core's orderly removal: the driver's remove runs, and blocks
# while a user holds the device) and hp_plug rescans its bus, which finds it
# again. hp_prepare makes a host's device absent, as the VM's slot starts.
# Status 0 once the device is there (hp_plug) or gone (hp_unplug).
vr_on_vm() {
	[[ -n ${VR_KVER:-} ]]
}

# pci_rescan [BRIDGE]: rescan the bus behind BRIDGE, or every bus.
pci_rescan() {
	if [[ -n ${1:-} ]]; then
		echo 1 >"/sys/bus/pci/devices/$1/rescan"
	else
		echo 1 >/sys/bus/pci/rescan
	fi
}

# The bridge whose rescan finds HP_ADDR again (empty: the root bus), noted
# while it is there.
HP_PARENT=

hp_prepare() {
	vr_on_vm && return 0
	HP_PARENT=$(pci_parent_bridge "$HP_ADDR") || HP_PARENT=
	hp_unplug
}

hp_plug() {
	if vr_on_vm; then
		qmp "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"e1000e\",\"bus\":\"$HP_PORT\",\"netdev\":\"hp0\",\"id\":\"hp0\",\"romfile\":\"\"}}" >/dev/null || return 1
	else
		pci_rescan "$HP_PARENT" || return 1
	fi
	wait_for "$(scaled 20)" pci_exists "$HP_ADDR"
}

hp_unplug() {
	if vr_on_vm; then
		qmp "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"hp0\"}}" >/dev/null &&
			qmp_wait_event "$(scaled 20)" DEVICE_DELETED "\"device\":\"hp0\"" || return 1
	else
		echo 1 >"/sys/bus/pci/devices/$HP_ADDR/remove" || return 1
	fi
	wait_for "$(scaled 10)" eval '! pci_exists "$HP_ADDR"'
}

# hp_control: "DRIVER DEVICE", the hotplug device's native driver and a
# device it may take, for the positive control of "DRIVER never probed the
# hotplugged device": e1000e and the twin NIC in the VM; on a host the
# hotplug device's own driver and the device itself, before hp_prepare
# removes it ("-" for a driver it cannot tell).
hp_control() {
	if vr_on_vm; then
		echo "e1000e $NIC0"
	else
		echo "$(native_driver "$HP_ADDR" || echo -) $HP_ADDR"
	fi
}

# The native driver of ADDR: the one bound to it when the test began (a
# host's), else the first module its modalias resolves to (the VM's e1000e,
# which nothing binds before a test loads it; nothing is loaded here).
native_driver() {
	local line a drv ovr vfs
	for line in "${VR_SAVED_DEVS[@]}"; do
		read -r a drv ovr vfs <<<"$line"
		[[ $a == "$1" && $drv != - && $drv != vfio-pci && $drv != pci-stub ]] &&
			{ echo "$drv"; return 0; }
	done
	modprobe -R "$(cat "/sys/bus/pci/devices/$1/modalias" 2>/dev/null)" 2>/dev/null | head -n 1 | grep .
}

# start_unbound ADDR...: on a host, unbind ADDR... from their drivers
# (vr_restore binds them again), so that the test starts as it does in the
# VM, where nothing is bound before it loads a driver. Nothing under vm.py.
start_unbound() {
	local a
	vr_on_vm && return 0
	for a; do
		[[ -e /sys/bus/pci/devices/$a/driver ]] && echo "$a" >"/sys/bus/pci/devices/$a/driver/unbind"
	done
	return 0
}

# --- the helper --------------------------------------------------------------
# From the source tree under vm.py (VR_TOP), else the installed one.
if [[ -n ${VR_TOP:-} ]]; then
	VR=$VR_TOP/build/user/vfio-reserve
	VR_GENL_TEST=$VR_TOP/build/genl/vr_genl_test
	VR_SPEC=$VR_TOP/kmod/uapi/vfio_reserve.yaml
else
	VR=$(command -v vfio-reserve) || VR=/usr/sbin/vfio-reserve
	VR_GENL_TEST=$VR_SELFTESTS/vr_genl_test
	VR_SPEC=$VR_SELFTESTS/vfio_reserve.yaml
fi
# The unit tests' build of it, which honours VFIO_RESERVE_SYSFS/PROCFS/DEVFS
# (the shipped $VR ignores them: 48-safety).
VR_TEST=${VR_TOP:-}/build/user/vfio-reserve-test

# vrjson CMD [ARGS...]: "$VR" --json CMD ARGS; on stdout its payload (the one
# array beside schema_version, command and module: devices, groups, rules or
# checks), compact, once the envelope is checked: schema_version 1 and the
# command's name, else exit 3. Otherwise the helper's exit code.
vrjson() {
	local out rc
	out=$("$VR" --json "$@") && rc=0 || rc=$?
	[[ -n $out ]] || return "$rc"
	python3 -c 'import json, sys
d = json.loads(sys.argv[2])
rest = [k for k in d if k not in ("schema_version", "command", "module")]
if d.get("schema_version") != 1 or d.get("command") != sys.argv[1] or len(rest) != 1:
    sys.exit("vrjson: not the schema of vfio-reserve(8): %s" % sys.argv[2][:200])
print(json.dumps(d[rest[0]], separators=(",", ":")))' "$1" "$out" || return 3
	return "$rc"
}

# need_helper: skip the test when the helper is not built.
need_helper() {
	[[ -x $VR ]] || ktap_exit_skip "no helper: make helper"
}

# run CMD...: CMD's output (stdout and stderr) in $cmd_out, its exit status in
# $cmd_rc; both shown as diagnostics, the output cut to RUN_DIAG_LINES lines
# when that is set.
run() {
	cmd_out=$("$@" 2>&1) && cmd_rc=0 || cmd_rc=$?
	ktap_diag "\$ ${*#"${VR_TOP:-}/"} -> exit $cmd_rc"
	[[ -z $cmd_out ]] && return 0
	if [[ -n ${RUN_DIAG_LINES:-} ]]; then
		ktap_diag <<<"$cmd_out" | head -n "$RUN_DIAG_LINES"
	else
		ktap_diag <<<"$cmd_out"
	fi
}

# A marker line in the kernel log, to find a test's part of dmesg.
kmsg() {
	echo "vr-test: $*" >/dev/kmsg
}

# kmsg_mark WHAT: a marker of its own for a part of a test (never dmesg -C:
# a host's log is not the test's to clear); dmesg_since prints the log after
# the last marker (nothing when there is none).
VR_KMSG_MARK=''
kmsg_mark() {
	VR_KMSG_MARK="vr-test: $* (pid $$ at $(now_us))"
	echo "$VR_KMSG_MARK" >/dev/kmsg
}
dmesg_since() {
	dmesg | awk -v m="$VR_KMSG_MARK" '{ l[NR] = $0 } index($0, m) { n = NR }
		END { if (n) for (i = n + 1; i <= NR; i++) print l[i] }'
}

# The accelerators to try, in order, for a QEMU nested in this guest, one per
# line: TCG. KVM on the TCG CPU's emulated SVM (kvm_amd) boots a kernel 4x
# faster (22 s against 93 s here), but it wedged the test VM for good twice
# on 2026-12-06 (RCU stalls, no timer interrupts; once in CI, costing the
# test's whole timeout), and before that a nested kernel under it ended
# mid-boot. VR_NESTED_KVM=1 in the guest (a vm.py --shell session) tries
# KVM first.
# On a real host: KVM when /dev/kvm is there, TCG after it.
nested_accels() {
	if ! vr_on_vm; then
		[[ -w /dev/kvm ]] && echo "-accel kvm -cpu host"
	elif [[ ${VR_NESTED_KVM:-} == 1 ]] && modprobe kvm_amd 2>/dev/null && [[ -c /dev/kvm ]]; then
		echo "-accel kvm -cpu qemu64"
	fi
	echo "-accel tcg"
}

# boot_initramfs TIMEOUT LOOK APPEND QEMU-OPTION...: boot the running
# kernel with /boot/initrd.img-$(uname -r) and the QEMU options (machine,
# devices, -serial stdio), stop at the initramfs shell (APPEND has
# break=premount), type LOOK and print the console. Where vm.py made that
# image (update-initramfs in bin/), its host boots it under TCG: seconds,
# where a guest nested in this TCG guest takes some 600 s (TIMEOUT is the
# nested one's). Elsewhere a nested QEMU (nested_accels). The status is
# expect-initramfs.py's; what booted where goes to stderr.
boot_initramfs() {
	local timeout=$1 look=$2 append=$3 image request reply rc accel t0
	shift 3
	image=$(cat /tmp/update-initramfs.image 2>/dev/null) || image=
	if [[ -n $image ]] && cmp -s "$image" "/boot/initrd.img-$(uname -r)"; then
		request=$(python3 -c 'import json, sys
print(json.dumps({"execute": "vr-boot-initramfs", "arguments": {
    "initrd": sys.argv[1], "look": sys.argv[2], "append": sys.argv[3],
    "timeout": 120, "qemu": sys.argv[4:]}}, separators=(",", ":")))' \
			"$image" "$look" "$append" "$@")
		reply=$(VR_QMP_TIMEOUT=$(scaled 200) qmp "$request") || {
			echo "boot_initramfs: the VM host could not boot it: $reply" >&2
			return 1
		}
		[[ $reply =~ \"path\":\"([^\"]+)\" ]] && cat "${BASH_REMATCH[1]}"
		[[ $reply =~ \"status\":([0-9]+) ]] && rc=${BASH_REMATCH[1]} || rc=1
		echo "boot_initramfs: booted on the VM host (TCG): $reply" >&2
		return "$rc"
	fi
	while read -r -a accel; do
		t0=$(now_us)
		"$VR_SELFTESTS/vm/expect-initramfs.py" \
			"$(scaled $([[ ${accel[*]} == *kvm* ]] && echo 120 || echo "$timeout"))" "$look" \
			-- qemu-system-x86_64 "${accel[@]}" "$@" -kernel "/boot/vmlinuz-$(uname -r)" \
			-initrd "/boot/initrd.img-$(uname -r)" -append "$append" </dev/null 2>&1
		rc=$?
		echo "boot_initramfs: nested QEMU (${accel[*]}): exit $rc after $(( ($(now_us) - t0) / 1000000 )) s" >&2
		((rc == 0)) && return 0
	done < <(nested_accels)
	return "$rc"
}

# kernel_ir_off: prints the kernel's own messages on disabling interrupt
# remapping and succeeds when it did; fails when it did not. AMD-Vi disables
# it when the IVRS table lacks an IO-APIC or, from 7.x, when the function the
# IVRS table names for the southbridge IO-APIC is no SMBus or ISA bridge:
# QEMU's amd-iommu names 00:14.0 and q35 has nothing there (QEMU 7.2 and 10
# alike), so 7.x guests under QEMU's AMD-Vi have no interrupt remapping.
# Tests whose verdict depends on it assert the refusal that follows instead.
kernel_ir_off() {
	dmesg | grep -E "AMD-Vi: .*(No southbridge IOAPIC|not in IVRS table|Disabling interrupt remapping)" |
		sed 's/^\[[^]]*\] //' | grep . && dmesg | grep -q "AMD-Vi: Disabling interrupt remapping"
}

# check_fails_for_ir_only OUT N: `vfio-reserve check` output OUT for N
# devices has one FAIL per device, each "no interrupt remapping", with the
# IVRS fix the kernel's reason calls for.
check_fails_for_ir_only() {
	[[ $(grep -c "^  FAIL" <<<"$1") == "$2" &&
		$(grep -c "^  FAIL  no interrupt remapping: vfio will refuse the device$" <<<"$1") == "$2" &&
		$(grep -c "fix: the firmware's IVRS table does not describe the IO-APICs" <<<"$1") == "$2" ]]
}

# --- what a test needs, checked when it sources this file ---------------------
# Header lines of the test file ($0):
#   # vr-roles: ROLE...     the device map's roles it uses (vr_role_vars)
#   # vr-vm-only: WHY       it runs under vm.py only (kernel command line,
#                           QEMU's control channel...); elsewhere it skips
#   # vr-destructive: WHAT  it changes the host beyond its devices (routes,
#                           /etc, the initramfs); on a real host only with
#                           VR_DESTRUCTIVE=1
# On a real host (not under vm.py) a test also needs the module installed,
# vfio-pci and an IOMMU. Whatever is missing skips the whole test, said.
vr_header() {
	sed -n "s/^# $1: *//p" "$0" | head -n 1
}

# --- a real host gets back what a test changed --------------------------------
# Outside vm.py, vr_gate saves the state of the test's devices (its roles'),
# the module and its runtime rules, and vr_restore puts it back on exit,
# whatever the exit: a failure, set -u, the runner's timeout (SIGTERM).
VR_SAVED_DEVS=() VR_SAVED_MOD='' VR_SAVED_RULES='' VR_MARK='' VR_DYNDBG_ON='' VR_DEFERRED=()

# vr_defer CMD: an undo the test registers once it has changed something
# beyond its devices (a route, an address, a link); vr_restore runs the
# undos, last first, before it puts the devices back. (Under vm.py nothing
# runs them: the VM goes away.) Not from inside ktap_check, whose command
# runs in a subshell.
vr_defer() {
	VR_DEFERRED+=("$1")
}

# vr_undo_last: run the last undo now (the test is done with that change)
# and forget it; its status.
vr_undo_last() {
	local n=$((${#VR_DEFERRED[@]} - 1)) rc
	((n >= 0)) || return 1
	eval "${VR_DEFERRED[n]}" && rc=0 || rc=$?
	unset "VR_DEFERRED[n]"
	return "$rc"
}

# One device's state: "ADDR DRIVER OVERRIDE NUMVFS" ("-" for none).
vr_dev_state() {
	local d=/sys/bus/pci/devices/$1 ovr
	ovr=$(cat "$d/driver_override" 2>/dev/null) || ovr=
	[[ $ovr == "(null)" ]] && ovr=
	echo "$1 $(pci_driver "$1" | grep . || echo -) ${ovr:--} $(cat "$d/sriov_numvfs" 2>/dev/null || echo -)"
}

vr_runtime_rules() {
	"$VR" --json rules 2>/dev/null | python3 -c 'import json, sys
for r in json.load(sys.stdin)["rules"]:
    if r["origin"] == "runtime":
        print(r["selector"])' 2>/dev/null
}

vr_save() {
	local addr
	for addr in "$@"; do
		VR_SAVED_DEVS+=("$(vr_dev_state "$addr")")
	done
	[[ -d /sys/module/vfio_reserve ]] && VR_SAVED_MOD=1 && VR_SAVED_RULES=$(vr_runtime_rules)
	# The driver core's probe messages (probe_log), which vm.py turns on
	# at boot: on for the test, off again after when they were.
	if [[ -w /proc/dynamic_debug/control ]] &&
		! grep -q 'drivers/base/dd.c:[0-9]* \[[^]]*\]really_probe =[a-z]*p' /proc/dynamic_debug/control; then
		echo 'file drivers/base/dd.c +p' >/proc/dynamic_debug/control && VR_DYNDBG_ON=1
	fi
	trap vr_restore EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
}

# Put back what vr_save saw; what cannot be is said on stderr (the runner
# keeps it) and turns a passing exit into a failure.
vr_restore() {
	local rc=$? line pid addr drv ovr vfs d sel i bad=0
	trap - EXIT TERM INT
	# background commands the test left running (a monitor), and what
	# they started (a function or subshell run with & is a bash whose
	# child is the command)
	for pid in $(jobs -p); do
		pkill -TERM -P "$pid" 2>/dev/null
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	for ((i = ${#VR_DEFERRED[@]} - 1; i >= 0; i--)); do
		eval "${VR_DEFERRED[i]}" >/dev/null 2>&1 ||
			{ echo "# restore: failed: ${VR_DEFERRED[i]}" >&2; bad=1; }
	done
	if [[ -d /sys/module/vfio_reserve ]]; then
		if [[ -z $VR_SAVED_MOD ]]; then
			rmmod vfio_reserve 2>/dev/null || { echo "# restore: rmmod vfio_reserve failed" >&2; bad=1; }
		else
			for sel in $(vr_runtime_rules); do
				grep -qxF -- "$sel" <<<"$VR_SAVED_RULES" || "$VR" remove "$sel" >/dev/null 2>&1 ||
					{ echo "# restore: cannot remove rule $sel" >&2; bad=1; }
			done
		fi
	fi
	for line in "${VR_SAVED_DEVS[@]}"; do
		read -r addr drv ovr vfs <<<"$line"
		d=/sys/bus/pci/devices/$addr
		# removed (hp_unplug) and not found again: a rescan of its bus
		if [[ ! -e $d ]]; then
			if [[ $addr == "$HP_ADDR" ]]; then pci_rescan "$HP_PARENT"; else pci_rescan; fi
			wait_for 20 pci_exists "$addr" ||
				{ echo "# restore: $addr was removed and a rescan did not find it" >&2; bad=1; continue; }
		fi
		[[ $vfs == - || $(cat "$d/sriov_numvfs") == "$vfs" ]] ||
			{ echo 0 >"$d/sriov_numvfs" && { [[ $vfs == 0 ]] || echo "$vfs" >"$d/sriov_numvfs"; }; }
		[[ $(vr_dev_state "$addr") == "$line" ]] && continue
		[[ -e $d/driver ]] && echo "$addr" >"$d/driver/unbind"
		if [[ $ovr == - ]]; then echo >"$d/driver_override"; else echo "$ovr" >"$d/driver_override"; fi
		[[ $drv == - ]] || { modprobe -q "$drv" 2>/dev/null; echo "$addr" >/sys/bus/pci/drivers_probe; }
		wait_for 10 eval '[[ $(vr_dev_state "$addr") == "$line" ]]' && continue
		echo "# restore: $addr is $(vr_dev_state "$addr"), was $line" >&2
		bad=1
	done
	[[ -z $VR_DYNDBG_ON ]] || echo 'file drivers/base/dd.c -p' >/proc/dynamic_debug/control
	((bad && rc == 0)) && rc=$KSFT_FAIL
	exit "$rc"
}

vr_gate() {
	local why role var vars devs=()
	[[ -f $0 && $0 == *.sh ]] || return 0	# sourced by a shell or a helper
	if [[ -z ${VR_KVER:-} ]]; then
		why=$(vr_header vr-vm-only)
		[[ -z $why ]] || ktap_exit_skip "VM only: $why"
		why=$(vr_header vr-destructive)
		[[ -z $why || ${VR_DESTRUCTIVE:-} == 1 ]] ||
			ktap_exit_skip "it changes the host: $why (VR_DESTRUCTIVE=1 runs it)"
		modinfo vfio_reserve >/dev/null 2>&1 ||
			ktap_exit_skip "vfio_reserve is not installed (make dkms-install, or make install-module)"
		modinfo vfio-pci >/dev/null 2>&1 ||
			ktap_exit_skip "no vfio-pci module (CONFIG_VFIO_PCI)"
		[[ -n $(ls /sys/kernel/iommu_groups 2>/dev/null) ]] ||
			ktap_exit_skip "no IOMMU groups: the IOMMU is off (enable VT-d or AMD-Vi)"
	fi
	for role in $(vr_header vr-roles); do
		if ! vars=$(vr_role_vars "$role"); then
			echo "vfio-reserve selftests: $0: no role '$role' (vr_role_vars in lib.sh)" >&2
			exit "$KSFT_FAIL"
		fi
		for var in $vars; do
			# A host's hotplug device is one that is there (sysfs
			# remove and rescan); QEMU's slot is the VM's.
			[[ $var == VR_DEV_HOTPLUG_PORT ]] && ! vr_on_vm && continue
			[[ -n ${!var:-} ]] ||
				ktap_exit_skip "role $role: $var is not in the device map (VR_DEV_MAP, or the environment)"
			[[ $var == VR_DEV_HOTPLUG* ]] && vr_on_vm && continue
			[[ -e /sys/bus/pci/devices/${!var} ]] ||
				ktap_exit_skip "role $role: $var=${!var}: no such PCI function"
			devs+=("${!var}")
		done
	done
	[[ -n ${VR_KVER:-} ]] || vr_save "${devs[@]}"
	VR_MARK="vr-test: start ${0##*/} pid $$ at $(now_us)"
	echo "$VR_MARK" >/dev/kmsg 2>/dev/null
}

# need_module_unloaded: a test that loads the module with parameters of its
# own skips on a host where it is loaded already.
need_module_unloaded() {
	[[ ! -d /sys/module/vfio_reserve ]] ||
		ktap_exit_skip "vfio_reserve is loaded: this test loads it with parameters of its own (rmmod vfio_reserve first)"
}

# The kernel log since this test started (its marker line): what a test
# greps, on a host whose log has older runs in it and is never cleared.
test_dmesg() {
	dmesg | awk -v m="$VR_MARK" 'seen; index($0, m) { seen = 1 }'
}
vr_gate
