#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unit tests of the helper vfio-reserve on the build host: no root, no VM, no
# module. Argument parsing and usage errors (exit 2, what the message says),
# --help of every command, address normalization, selector errors (token and
# position), the "not loaded" answer of every command that needs the module,
# status and the safety checks against fake /sys and /proc trees
# (VFIO_RESERVE_SYSFS, VFIO_RESERVE_PROCFS, VFIO_RESERVE_DEVFS) made under
# build/ at run time. Those variables are honoured only by the helper's test
# build, vfio-reserve-test; the shipped vfio-reserve ignores them (checked
# here too). Prints TAP; exit 0, or 1 when a test failed.
#
#   selftests/unit/helper_test.sh [HELPER]  (default: build/user/vfio-reserve-test)
# shellcheck disable=SC2016 # the checks are eval'd strings
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VR=${1:-$TOP/build/user/vfio-reserve-test}
SHIPPED=$(dirname "$VR")/vfio-reserve
TREES=$TOP/build/unit/helper-trees
COMMANDS="status list groups rules add remove claim release check monitor"

# --- TAP: results are collected, then printed after the plan ----------------------
RESULTS=()
NFAIL=0

ok() {
	RESULTS+=("ok $((${#RESULTS[@]} + 1)) $1")
}

not_ok() {
	RESULTS+=("not ok $((${#RESULTS[@]} + 1)) $1")
	NFAIL=$((NFAIL + 1))
	shift
	local line
	for line in "$@"; do
		while IFS= read -r l; do RESULTS[-1]+=$'\n'"# $l"; done <<<"$line"
	done
}

skip() {
	RESULTS+=("ok $((${#RESULTS[@]} + 1)) $1 # SKIP $2")
}

finish() {
	echo "TAP version 13"
	echo "1..${#RESULTS[@]}"
	printf '%s\n' "${RESULTS[@]}"
	echo "# helper_test: $((${#RESULTS[@]} - NFAIL)) passed, $NFAIL failed"
	((NFAIL == 0))
}

# --- running the helper --------------------------------------------------------------
# vr ARGS...: run the helper; $rc, $out (stdout), $err (stderr).
vr() {
	local o e
	o=$(mktemp) e=$(mktemp)
	"$VR" "$@" >"$o" 2>"$e" && rc=0 || rc=$?
	out=$(<"$o") err=$(<"$e")
	rm -f "$o" "$e"
}

# in_tree TREE ARGS...: the helper with TREE/sys, TREE/proc and TREE/dev as
# /sys, /proc and /dev.
in_tree() {
	local tree=$1
	shift
	VFIO_RESERVE_SYSFS=$tree/sys VFIO_RESERVE_PROCFS=$tree/proc VFIO_RESERVE_DEVFS=$tree/dev \
		VFIO_RESERVE_MODULES=$tree/modules vr "$@"
}

# expect DESC RC [GREP_STDERR [GREP_STDOUT]]: the last run exited RC and its
# stderr / stdout match the (fixed string) patterns; "" skips one.
expect() {
	local desc=$1 want=$2 e_pat=${3:-} o_pat=${4:-} why=()
	[[ $rc == "$want" ]] || why+=("exit $rc, expected $want")
	[[ -z $e_pat ]] || grep -qF -- "$e_pat" <<<"$err" || why+=("stderr lacks: $e_pat")
	[[ -z $o_pat ]] || grep -qF -- "$o_pat" <<<"$out" || why+=("stdout lacks: $o_pat")
	if ((${#why[@]} == 0)); then
		ok "$desc"
	else
		not_ok "$desc" "${why[@]}" "stdout: $out" "stderr: $err"
	fi
}

# check DESC CMD...: ok when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "failed: $*" "stdout: $out" "stderr: $err"; fi
}

json_ok() {
	python3 -c 'import json, sys; json.loads(sys.argv[1])' "$1" 2>/dev/null
}

# The (result, message) pairs of status: from the table ($1), from --json ($2).
status_pairs_text() {
	grep -E '^(PASS|WARN|FAIL)  ' <<<"$1" | sort
}

status_pairs_json() {
	python3 -c '
import json, sys
for c in json.loads(sys.argv[1])["checks"]:
    print("%s  %s" % (c["result"], c["message"]))' "$1" | sort
}

if [[ ! -x $VR ]]; then
	not_ok "the helper is built ($VR)" "make helper"
	finish
	exit 1
fi

# Commands that reach the module are only run where it can be neither loaded
# nor loaded on demand (resolving the genl family would modprobe it):
# otherwise they are skipped, so this never changes a real host.
if [[ -e /sys/module/vfio_reserve ]] || modinfo vfio_reserve >/dev/null 2>&1; then
	NO_MODULE=
	why_skip="vfio_reserve is installed or loaded on this host"
else
	NO_MODULE=1
	why_skip=
fi

# needs_no_module DESC: 0 when the module-less tests may run, else a skip.
needs_no_module() {
	[[ -n $NO_MODULE ]] && return 0
	skip "$1" "$why_skip"
	return 1
}

# --- the command line ----------------------------------------------------------------
vr
expect "no command: exit 2, usage on stderr" 2 "usage: vfio-reserve [--json] [--force] COMMAND"
vr --help
expect "--help: exit 0, usage on stdout" 0 "" "usage: vfio-reserve [--json] [--force] COMMAND"
missing=
for c in $COMMANDS; do
	grep -qE "^  $c " <<<"$out" || missing+=" $c"
done
check "--help lists every command" eval '[[ -z $missing ]] || { echo "missing:$missing" >&2; false; }'
# Every command --help lists, those of this test and any later ones.
ALL_COMMANDS=$(sed -n '/Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$out")
vr -h
expect "-h is --help" 0 "" "usage: vfio-reserve"
vr frobnicate
expect "an unknown command: exit 2, named, with a hint" 2 "unknown command 'frobnicate'" ""
check "... the hint is: Try 'vfio-reserve --help'" grep -qF "Try 'vfio-reserve --help'" <<<"$err"
vr frobnicate --help
expect "an unknown command with --help: still exit 2" 2 "unknown command 'frobnicate'"

for c in $ALL_COMMANDS; do
	vr "$c" --help
	expect "$c --help: exit 0, its usage on stdout, nothing on stderr" 0 "" \
		"usage: vfio-reserve [--json] [--force] $c"
	[[ -z $err ]] || not_ok "$c --help wrote to stderr" "$err"
	vr --help "$c"
	expect "--help $c: the same" 0 "" "usage: vfio-reserve [--json] [--force] $c"
done

for c in status groups rules monitor; do
	vr "$c" extra
	expect "$c extra: exit 2, no arguments expected, with its usage" 2 \
		"no arguments expected" "" 
	check "... the usage is $c's" grep -qF "usage: vfio-reserve [--json] [--force] $c" <<<"$err"
done
for c in add remove; do
	vr "$c"
	expect "$c without selectors: exit 2, which selectors?" 2 "which selectors?"
	# (Were it accepted, it would go on to the module: not on a real host.)
	if needs_no_module "$c '': exit 2, an empty selector is not a rule"; then
		vr "$c" ''
		expect "$c '': exit 2, an empty selector is not a rule" 2 "empty selector"
	fi
done
for c in claim release check; do
	vr "$c"
	expect "$c without addresses: exit 2, which devices?" 2 "which devices?"
done

# --- addresses: normalized, checked before anything is changed -----------------------
for c in claim release check; do
	for bad in 00:1f.8 xyz 0000:03:00.'*' 8086:10d3 '!03:00.0' 03:20.0 0000:100:00.0 \
		100000000:03:00.0 vf:02:00.0 '03:00.0,03:00.1' ''; do
		vr "$c" "$bad"
		expect "$c '$bad': exit 2, not a PCI address" 2 "'$bad' is not a PCI address"
	done
	vr "$c" 0000:05:00.0 00:1f.8
	expect "$c with one good and one bad address: exit 2 before anything" 2 "'00:1f.8' is not a PCI address"
	vr --json "$c" 00:1f.8
	expect "--json $c 00:1f.8: still exit 2" 2 "is not a PCI address"
done

# Domains past ffff (Intel VMD) are addresses like any other.
vr libvirt 10000:01:00.0 0000:03:00.1
expect "libvirt 10000:01:00.0 (a VMD domain): its own domain in the <address>" 0 "" \
	"<address domain='0x10000' bus='0x01' slot='0x00' function='0x0'/>"
check "... and 0000:03:00.1 keeps domain 0" grep -qF "<address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/>" <<<"$out"

# libvirt --iommufd: <driver iommufd='yes'/> only where libvirt's schema
# has it (a schema of libvirt 11 and later, faked; libvirt 9.0's, or none).
LVS=$TREES/libvirt-schemas
mkdir -p "$LVS/new" "$LVS/old" "$LVS/none"
printf '<element name="driver">\n  <attribute name="iommufd">\n' >"$LVS/new/domaincommon.rng"
printf '<element name="driver">\n  <attribute name="name">\n' >"$LVS/old/domaincommon.rng"
lv() { local s=$1; shift; VFIO_RESERVE_LIBVIRT_SCHEMAS=$LVS/$s vr libvirt "$@"; }
lv new --iommufd 0000:03:00.1
expect "libvirt --iommufd, a schema with iommufd: <driver iommufd='yes'/> in the <hostdev>" 0 "" \
	"  <driver iommufd='yes'/>"
check "... before its <source>" eval '[[ $(sed -n 2p <<<"$out") == "  <driver iommufd='"'yes'"'/>" ]]'
lv old --iommufd 0000:03:00.1
expect "libvirt --iommufd, a schema without: exit 1, says so, prints nothing" 1 \
	"has no iommufd for <hostdev>: upgrade libvirt, or leave out --iommufd"
check "... no XML at all" test -z "$out"
lv none --iommufd 0000:03:00.1
expect "libvirt --iommufd, no libvirt installed: exit 1, says to install it" 1 "no libvirt schema at"
lv old --iommufd=auto 0000:03:00.1
expect "libvirt --iommufd=auto, a schema without: the group form, and says why" 0 \
	"--iommufd=auto: the group path: libvirt's schema has no iommufd" "<hostdev mode='subsystem' type='pci' managed='no'>"
check "... without <driver>" eval '! grep -q "<driver" <<<"$out"'
lv new --iommufd=auto 0000:03:00.1
expect "libvirt --iommufd=auto, a schema with: the iommufd form" 0 "--iommufd=auto: <driver iommufd='yes'/>" \
	"  <driver iommufd='yes'/>"
lv new --iommufd=yes 0000:03:00.1
expect "libvirt --iommufd=yes: a usage error (only auto is a value)" 2 "--iommufd takes no value but auto, not 'yes'"

# --- selectors: the error names the token and its position ---------------------------
vr add 'class:02'
expect "add class:02: exit 2, token and position named" 2 \
	"bad selector list 'class:02': selector 1 'class:02' at position 0: a class is 4 hex digits"
vr add 03:00.0 class:02
expect "add 03:00.0 class:02: the second token, at position 8" 2 \
	"selector 2 'class:02' at position 8"
vr remove '8086:10d3,!'
expect "remove '8086:10d3,!': '!' needs a selector" 2 "selector 2 '!' at position 10: '!' needs a selector after it"
vr add 'foo:0000:03:00.0'
expect "add foo:0000:03:00.0: unknown prefix" 2 "selector 1 'foo:0000:03:00.0' at position 0: unknown prefix"
vr add 03:00.0 ''
expect "add 03:00.0 '': the empty second token" 2 "selector 2 '' at position 8: empty selector"
long=0000:03:00.0@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
vr add "$long"
expect "add of an 80-character token: cut with ..., too long" 2 "'${long:0:64}...' at position 0: longer than 64 characters"
vr remove 8086:10d3 15b3:101e@auto
expect "remove 8086:10d3 15b3:101e@auto: exit 2, @auto named (a rule never has it)" 2 "selector 2 '15b3:101e@auto' at position 10: @auto is not resolved here: give a driver name"
vr add '8086:10d3@mlx5/vfio'
expect "add 8086:10d3@mlx5/vfio: exit 2, the driver name's characters" 2 "a driver name is letters, digits, '_' and '-'"
vr list 'bad!sel'
expect "list 'bad!sel': exit 2, the token named" 2 "selector 1 'bad!sel' at position 0"
vr list 03:00.0 'bad!sel'
expect "list 03:00.0 'bad!sel': exit 2, second token at position 8" 2 "selector 2 'bad!sel' at position 8"
vr add "$(printf '03:00.0,%.0s' {1..64})03:00.1"
expect "add of 65 selectors: too many" 2 "too many selectors in one list"

# --- without the module: every command that needs it says so --------------------------
# In QUIET, a host that needs none of its devices (nothing mounted, no swap,
# no routes, no disks), every safety check passes; an empty tree would
# refuse every claim and add (the checks fail closed: "safety" below).
EMPTY=$TREES/empty
QUIET=$TREES/quiet
rm -rf "$TREES"
mkdir -p "$EMPTY/sys" "$EMPTY/proc" "$QUIET/sys/bus/pci/devices" "$QUIET/sys/class/block" \
	"$QUIET/proc/self" "$QUIET/proc/net"
: >"$QUIET/proc/self/mountinfo"
: >"$QUIET/proc/swaps"
: >"$QUIET/proc/net/route"
for args in rules "add 8086:ffff" "remove 8086:ffff" "claim 0000:05:00.0" \
	"claim 05:00.0" "release 0000:05:00.0" monitor; do
	needs_no_module "$args without the module" || continue
	# shellcheck disable=SC2086 # words
	in_tree "$QUIET" $args
	expect "$args without the module: exit 2 (the tool cannot tell), vfio_reserve is not loaded: modprobe vfio_reserve" 2 \
		"vfio_reserve is not loaded: modprobe vfio_reserve"
	[[ -z $out ]] || not_ok "$args without the module printed on stdout" "$out"
done

# --- list and groups without the module: what sysfs tells ---------------------------
# LW: a NIC on e1000e (group 1, eth0), a slot's two functions in group 2 (one
# on vfio-pci, one on snd_hda_intel: not viable), a root port (group 3).
LW=$TREES/sysfs-only
mkdir -p "$LW/proc/self" "$LW/proc/net" "$LW/sys/bus/pci/devices" "$LW/sys/class/block"
: >"$LW/proc/self/mountinfo"
: >"$LW/proc/swaps"
: >"$LW/proc/net/route"
lw_fn() { # ADDR VENDOR DEVICE CLASS DRIVER GROUP
	local d=$LW/sys/devices/pci0000:00/$1
	mkdir -p "$d" "$LW/sys/bus/pci/drivers/$5" "$LW/sys/kernel/iommu_groups/$6/devices"
	ln -s "../../../devices/pci0000:00/$1" "$LW/sys/bus/pci/devices/$1"
	echo "0x$2" >"$d/vendor"; echo "0x$3" >"$d/device"; echo "0x$4" >"$d/class"
	echo "0x$2" >"$d/subsystem_vendor"; echo 0x0001 >"$d/subsystem_device"
	ln -s "../../../bus/pci/drivers/$5" "$d/driver"
	ln -s "../../../kernel/iommu_groups/$6" "$d/iommu_group"
	echo "(null)" >"$d/driver_override"
}
lw_fn 0000:00:02.0 8086 10d3 020000 e1000e 1
echo "flr bus" >"$LW/sys/devices/pci0000:00/0000:00:02.0/reset_method"
mkdir -p "$LW/sys/devices/pci0000:00/0000:00:02.0/net/eth0"
lw_fn 0000:00:03.0 8086 10d3 020000 vfio-pci 2
mkdir -p "$LW/sys/devices/pci0000:00/0000:00:03.0/vfio-dev/vfio0"
echo vfio-pci >"$LW/sys/devices/pci0000:00/0000:00:03.0/driver_override"
lw_fn 0000:00:03.1 8086 293e 040300 snd_hda_intel 2
lw_fn 0000:00:1c.0 8086 2448 060400 pcieport 3
if needs_no_module "list and groups without the module"; then
	in_tree "$LW" list
	expect "list without the module: exit 0, from sysfs, said on stderr" 0 \
		"list: vfio_reserve is not loaded: read from sysfs"
	check "... the states and targets are the module's: ?; drivers, groups, resets, interfaces from sysfs" \
		eval 'grep -qE "^0000:00:02.0 +e1000e +\? +\? +1 +no +flr,bus .* if=eth0$" <<<"$out" &&
			grep -qE "^0000:00:03.0 +vfio-pci +\? +\? +2 " <<<"$out" &&
			grep -qE "^0000:00:1c.0 +pcieport +bridge +\? +3 " <<<"$out" && [[ $(wc -l <<<"$out") == 5 ]]'
	in_tree "$LW" --json list 8086:10d3
	expect "--json list 8086:10d3 without the module: exit 0" 0
	check "... module false; state, interrupt_remapping null; the two NICs, as sysfs" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["schema_version"] == 1 and d["module"] is False, d
v = {x["address"]: x for x in d["devices"]}
assert sorted(v) == ["0000:00:02.0", "0000:00:03.0"], v
n = v["0000:00:02.0"]
assert n["state"] is None and n["interrupt_remapping"] is None and n["driver"] == "e1000e", n
assert n["iommu_group"] == 1 and n["reset_methods"] == ["flr", "bus"] and n["netdevs"] == ["eth0"], n
assert n["active"] is False, n
assert v["0000:00:03.0"]["driver_override"] == "vfio-pci" and v["0000:00:03.0"]["in_use"] is False
' "$out"
	in_tree "$LW" --json groups
	expect "--json groups without the module: exit 0" 0 "groups: vfio_reserve is not loaded"
	check "... group 2 not viable (snd_hda_intel blocks; vfio-pci does not); groups 1 and 3 as their drivers say" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["module"] is False
g = {x["group"]: x for x in d["groups"]}
assert sorted(g) == [1, 2, 3], g
assert not g[1]["viable"] and g[3]["viable"], g
assert not g[2]["viable"] and [(m["address"], m["blocks"]) for m in g[2]["members"]] == \
	[("0000:00:03.0", False), ("0000:00:03.1", True)], g[2]
' "$out"
fi

# --- check without the module: what sysfs, /proc and the kernel log tell ------------
if needs_no_module "check without the module"; then
	in_tree "$LW" check 0000:00:02.0 0000:00:03.0
	expect "check without the module: exit 1 (the answer is no), from sysfs, said on stderr" 1 \
		"check: vfio_reserve is not loaded: read from sysfs"
	check "... each device says its rule is the module's (?)" \
		eval '[[ $(grep -c "^  rule: ? (vfio_reserve is not loaded" <<<"$out") == 2 ]]'
	check "... 00:02.0: FAIL on e1000e, fix: modprobe vfio_reserve, then claim" \
		eval 'grep -qF "FAIL  bound to e1000e, which is not a VFIO driver" <<<"$out" &&
			grep -qF "fix: modprobe vfio_reserve, then vfio-reserve claim 0000:00:02.0" <<<"$out"'
	check "... 00:03.0 on vfio-pci: FAIL group 2 not viable, snd_hda_intel in the way" \
		grep -qF "FAIL  IOMMU group 2 is not viable: 0000:00:03.1 is bound to snd_hda_intel" <<<"$out"
	check "... no IR- chips, nothing in the kernel log: interrupt remapping WARN, cannot tell" \
		grep -qF "WARN  interrupt remapping: cannot tell without the module: no IR- interrupt chips" <<<"$out"
	# LWC: LW and a lone vfio-pci function in group 4, IR- chips, its node.
	LWC=$TREES/sysfs-only-check
	cp -a "$LW" "$LWC"
	d=$LWC/sys/devices/pci0000:00/0000:00:04.0
	mkdir -p "$d/vfio-dev/vfio1" "$LWC/sys/kernel/iommu_groups/4/devices" "$LWC/dev/vfio"
	ln -s ../../../devices/pci0000:00/0000:00:04.0 "$LWC/sys/bus/pci/devices/0000:00:04.0"
	for a in vendor:0x8086 device:0x10d3 class:0x020000 subsystem_vendor:0x8086 \
		subsystem_device:0x0001 driver_override:vfio-pci reset_method:flr; do
		echo "${a#*:}" >"$d/${a%%:*}"
	done
	ln -s ../../../bus/pci/drivers/vfio-pci "$d/driver"
	ln -s ../../../kernel/iommu_groups/4 "$d/iommu_group"
	: >"$LWC/dev/vfio/4"
	printf '            CPU0\n 24:  0  IR-PCI-MSI-0000:00:04.0  0-edge  vfio\n' >"$LWC/proc/interrupts"
	in_tree "$LWC" check 0000:00:04.0
	expect "check without the module, a lone vfio-pci function, IR- chips: exit 0, ok (positive control)" 0 "" \
		"0000:00:04.0: ok, can be assigned through vfio-pci (IOMMU group 4"
	in_tree "$LWC" --json check 0000:00:04.0
	check "... --json: module false, state null, ok true, no problems" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["schema_version"] == 1 and d["command"] == "check" and d["module"] is False, d
(x,) = d["devices"]
assert x["ok"] is True and x["state"] is None and x["driver"] == "vfio-pci" and x["problems"] == [], x
' "$out"
	if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$VR"; then
		o=$(VFIO_RESERVE_SYSFS=$LWC/sys VFIO_RESERVE_PROCFS=$LWC/proc VFIO_RESERVE_DEVFS=$LWC/dev \
			setpriv --reuid=65534 --regid=65534 --clear-groups "$VR" check 0000:00:04.0 2>/dev/null)
		out=$o err=
		check "... not root: in use WARN, cannot tell which processes hold it" \
			grep -qF "WARN  in use: cannot tell; without the module only root sees which processes hold /dev/vfio/4" <<<"$out"
	else
		skip "... not root: in use WARN, cannot tell" "setpriv missing, or the helper is not reachable by nobody"
	fi
	mkdir -p "$LWC/proc/4242/fd"
	ln -s /dev/vfio/4 "$LWC/proc/4242/fd/7"
	echo qemu-system-x86 >"$LWC/proc/4242/comm"
	printf 'qemu-system-x86_64\0-name\0guest=web1,debug-threads=on\0' >"$LWC/proc/4242/cmdline"
	in_tree "$LWC" check 0000:00:04.0
	expect "... a QEMU holds /dev/vfio/4: exit 1, in use, naming it and its libvirt domain" 1 "" \
		"FAIL  in use: IOMMU group 4 is held by pid 4242 (qemu-system-x86, libvirt domain web1)"
	# iommufd: the function's cdev (vfio-dev/vfio1 with a device number)
	# held instead of the group's node; /dev/iommu present.
	echo 511:1 >"$d/vfio-dev/vfio1/dev"
	mkdir -p "$LWC/dev/vfio/devices"
	: >"$LWC/dev/vfio/devices/vfio1"
	: >"$LWC/dev/iommu"
	ln -sfn /dev/vfio/devices/vfio1 "$LWC/proc/4242/fd/7"
	in_tree "$LWC" check 0000:00:04.0
	expect "... a QEMU holds its cdev /dev/vfio/devices/vfio1 (iommufd): exit 1, in use, naming it" 1 "" \
		"FAIL  in use: IOMMU group 4 is held by pid 4242 (qemu-system-x86, libvirt domain web1)"
	check "... the iommufd facts: the cdev, /dev/iommu, MSI isolated (IR- chips)" \
		grep -qxF "  iommufd: $LWC/dev/vfio/devices/vfio1; /dev/iommu present; MSI isolated" <<<"$out"
	in_tree "$LWC" --json check 0000:00:04.0
	check "... --json: iommufd {dev_iommu, cdev, msi_isolated}, held_by names the QEMU" python3 -c '
import json, sys
(x,) = json.loads(sys.argv[1])["devices"]
i = x["iommufd"]
assert i["dev_iommu"] is True and i["cdev"].endswith("/dev/vfio/devices/vfio1") and i["msi_isolated"] is True, i
assert x["held_by"] == "pid 4242 (qemu-system-x86, libvirt domain web1)", x
' "$out"
	rm "$LWC/dev/iommu" "$d/vfio-dev/vfio1/dev"
	rm -r "$LWC/dev/vfio/devices"
	rm -r "$LWC/proc/4242"
	rm "$LWC/proc/interrupts"
	mkdir -p "$LWC/dev"
	printf '6,402,812399,-;AMD-Vi: Disabling interrupt remapping\n' >"$LWC/dev/kmsg"
	in_tree "$LWC" check 0000:00:04.0
	expect "... the kernel log says interrupt remapping is off: exit 1, FAIL, naming the log line" 1 "" \
		'FAIL  no interrupt remapping: vfio will refuse the device (kernel log: "AMD-Vi: Disabling interrupt remapping")'
	check "... no device cdev here: the group path only, no iommufd warning" \
		eval 'grep -qxF "  iommufd: no VFIO device cdev (kernel without CONFIG_VFIO_DEVICE_CDEV): the group path only" <<<"$out" &&
			! grep -q "WARN  iommufd" <<<"$out"'
	# The same with iommufd: no isolated MSI, which iommufd refuses too.
	echo 511:1 >"$d/vfio-dev/vfio1/dev"
	mkdir -p "$LWC/dev/vfio/devices" "$LWC/sys/module/iommufd/parameters"
	: >"$LWC/dev/vfio/devices/vfio1"
	: >"$LWC/dev/iommu"
	echo N >"$LWC/sys/module/iommufd/parameters/allow_unsafe_interrupts"
	in_tree "$LWC" check 0000:00:04.0
	expect "... with /dev/iommu and a cdev: WARN that iommufd will refuse it (no isolated MSI)" 1 "" \
		"WARN  iommufd: IOMMU group 4 has no isolated MSI: iommufd will refuse to bind $LWC/dev/vfio/devices/vfio1"
	check "... the facts line says MSI not isolated" \
		grep -qxF "  iommufd: $LWC/dev/vfio/devices/vfio1; /dev/iommu present; MSI not isolated" <<<"$out"
	echo Y >"$LWC/sys/module/iommufd/parameters/allow_unsafe_interrupts"
	in_tree "$LWC" check 0000:00:04.0
	expect "... iommufd.allow_unsafe_interrupts=Y: WARN that it binds only because of that" 1 "" \
		"WARN  iommufd: IOMMU group 4 has no isolated MSI; bound only because iommufd.allow_unsafe_interrupts=1"
	in_tree "$QUIET" check 05:00.0
	expect "check of an absent function without the module: exit 1, no PCI function" 1 "" \
		"FAIL  no PCI function at 0000:05:00.0"
fi

# --- --json everywhere (vfio-reserve(8), JSON OUTPUT) --------------------------------
# A write command's JSON is what changed, per device; its words go to stderr.
if needs_no_module "--json claim without the module: the changes document"; then
	in_tree "$QUIET" --json claim 05:00.0
	expect "--json claim 05:00.0 without the module: exit 2, said on stderr" 2 \
		"vfio_reserve is not loaded: modprobe vfio_reserve"
	check "... stdout is one object: schema_version 1, command claim, exit_code 2, module false, no changes" \
		python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d == {"schema_version": 1, "command": "claim", "exit_code": 2, "module": False, "changes": []}, d
' "$out"
fi
for args in "libvirt 0000:00:1f.2" "qemu 0000:00:1f.2 -- qemu-system-x86_64"; do
	# shellcheck disable=SC2086 # words
	in_tree "$QUIET" --json $args
	expect "--json ${args%% *}: exit 2, it has no JSON form (said, not ignored)" 2 \
		"${args%% *} has no JSON form"
	[[ -z $out ]] || not_ok "--json ${args%% *} printed on stdout" "$out"
done
in_tree "$QUIET" list --timestamp
expect "list --timestamp: exit 2, an option of monitor only" 2 "list takes no option --timestamp"
if needs_no_module "monitor -t without the module"; then
	in_tree "$QUIET" monitor -t
	expect "monitor -t (--timestamp): accepted, then exit 2: the module is not loaded" 2 \
		"vfio_reserve is not loaded"
fi

# --- status ----------------------------------------------------------------------------
# status_check DESC TREE: run status and status --json in TREE (or on the host
# when TREE is ""): exit 0 or 1 as the FAIL lines say, the JSON parses and has
# the same results and exit code. Leaves the table in $st_text.
status_check() {
	local desc=$1 tree=$2 text_rc json
	if [[ -n $tree ]]; then in_tree "$tree" status; else vr status; fi
	st_text=$out text_rc=$rc
	if [[ -n $tree ]]; then in_tree "$tree" --json status; else vr --json status; fi
	json=$out
	local want=0
	grep -q '^FAIL' <<<"$st_text" && want=1
	if [[ $text_rc != "$want" ]]; then
		not_ok "$desc: exit $want as the FAIL lines say" "exit $text_rc" "$st_text"
	elif ! json_ok "$json"; then
		not_ok "$desc: --json parses" "$json"
	elif [[ $rc != "$text_rc" ]]; then
		not_ok "$desc: --json exits as the table does" "exit $rc vs $text_rc"
	elif [[ $(status_pairs_text "$st_text") != "$(status_pairs_json "$json")" ]]; then
		not_ok "$desc: --json has the table's results" \
			"$(diff <(status_pairs_text "$st_text") <(status_pairs_json "$json"))"
	else
		ok "$desc: exit $want, --json parses with the same results"
	fi
	st_json=$json
}

# has_line DESC TEXT: the status table ($st_text) has the line TEXT (fixed).
has_line() {
	if grep -qxF -- "$2" <<<"$st_text"; then ok "$1"; else not_ok "$1" "no line: $2" "$st_text"; fi
}

if needs_no_module "status on this host"; then
	status_check "status on this host (no module)" ""
	has_line "... WARN vfio_reserve is not loaded" \
		"WARN  vfio_reserve is not loaded: devices are not reserved at probe time"
	check "... status --json: module WARN with fix modprobe vfio_reserve" python3 -c '
import json, sys
m = [c for c in json.loads(sys.argv[1])["checks"] if c["check"] == "module"]
assert len(m) == 1 and m[0]["result"] == "WARN" and m[0]["fix"] == "modprobe vfio_reserve", m
' "$st_json"
fi

# A VT-d host with the IOMMU on and interrupt remapping working.
GOOD=$TREES/status-good
mkdir -p "$GOOD/sys/firmware/acpi/tables" "$GOOD/sys/kernel/iommu_groups/0" \
	"$GOOD/sys/kernel/iommu_groups/1" "$GOOD/proc" \
	"$GOOD/sys/module/vfio" "$GOOD/sys/module/vfio_iommu_type1/parameters" "$GOOD/sys/module/vfio_pci"
: >"$GOOD/sys/firmware/acpi/tables/DMAR"
echo N >"$GOOD/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"
echo "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=on iommu=pt" >"$GOOD/proc/cmdline"
printf 'processor\t: 0\nvendor_id\t: GenuineIntel\n' >"$GOOD/proc/cpuinfo"
printf '           CPU0\n 24:          0  IR-PCI-MSI 512000-edge      ahci\n' >"$GOOD/proc/interrupts"
if needs_no_module "status in a VT-d tree"; then
	status_check "status in a VT-d tree" "$GOOD"
	has_line "... PASS for the DMAR table" \
		"PASS  ACPI DMAR table present: Intel VT-d is enabled in the firmware"
	has_line "... PASS IOMMU on, 2 groups, booted with intel_iommu=on" \
		"PASS  IOMMU on: 2 IOMMU groups, booted with intel_iommu=on"
	has_line "... PASS interrupt remapping (IR- chips)" "PASS  interrupt remapping on (IR- interrupt chips)"
	has_line "... PASS vfio modules" "PASS  vfio, vfio_pci and vfio_iommu_type1 are loaded"
	check "... no FAIL but (perhaps) the host's own kernel config" \
		eval '! grep "^FAIL" <<<"$st_text" | grep -vq "kernel built without"'
fi

# allow_unsafe_interrupts=Y: a WARN that says UNSAFE.
UNSAFE=$TREES/status-unsafe
cp -a "$GOOD" "$UNSAFE"
echo Y >"$UNSAFE/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"
if needs_no_module "status with allow_unsafe_interrupts=Y"; then
	status_check "status with allow_unsafe_interrupts=Y" "$UNSAFE"
	check "... WARN: guests can forge MSIs, UNSAFE" grep -q '^WARN  vfio_iommu_type1.allow_unsafe_interrupts=1: .*UNSAFE' <<<"$st_text"
fi

# A kernel that uses iommufd instead of type1 (IOMMUFD_VFIO_CONTAINER, or
# the cdevs alone): not a warning.
IOMMUFD=$TREES/status-iommufd
cp -a "$GOOD" "$IOMMUFD"
rm -r "$IOMMUFD/sys/module/vfio_iommu_type1"
mkdir -p "$IOMMUFD/sys/module/iommufd/parameters"
echo N >"$IOMMUFD/sys/module/iommufd/parameters/allow_unsafe_interrupts"
if needs_no_module "status with iommufd, without vfio_iommu_type1"; then
	status_check "status with iommufd, without vfio_iommu_type1" "$IOMMUFD"
	has_line "... PASS vfio modules with iommufd" "PASS  vfio, vfio_pci and iommufd are loaded"
fi

# Nothing at all: no table, no groups, no IR: FAILs, each with its fix.
if needs_no_module "status in an empty tree"; then
	status_check "status in an empty tree" "$EMPTY"
	check "... exit 1" eval '[[ $(in_tree "$EMPTY" status >/dev/null; echo $rc) == 1 ]]'
	has_line "... FAIL no DMAR or IVRS table" \
		"FAIL  no DMAR or IVRS ACPI table: the firmware does not expose an IOMMU"
	check "... its fix: enable VT-d / AMD-Vi in the firmware" \
		grep -qF "fix: enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup" <<<"$st_text"
	has_line "... FAIL IOMMU off" "FAIL  IOMMU off: no IOMMU groups in /sys/kernel/iommu_groups"
	check "... its fix names intel_iommu=on" \
		grep -qF "fix: add intel_iommu=on to the kernel command line" <<<"$st_text"
	check "... interrupt remapping unknown without the module: WARN" \
		grep -q "^WARN  interrupt remapping: no IR- interrupt chips" <<<"$st_text"
	check "... status --json: iommu FAIL, its fix non-null; PASS lines have a null fix" python3 -c '
import json, sys
c = {x["check"]: x for x in json.loads(sys.argv[1])["checks"]}
assert c["iommu"]["result"] == "FAIL" and "intel_iommu=on" in c["iommu"]["fix"], c["iommu"]
for x in c.values():
    assert (x["fix"] is None) == (x["result"] == "PASS"), x
' "$st_json"
fi

# no_amd_iommu_on DESC: neither the table nor --json of the last status_check
# names amd_iommu=on, which is no value of amd_iommu= (AMD-Vi takes none).
no_amd_iommu_on() {
	check "$1" eval '! grep -qF amd_iommu=on <<<"$st_text$st_json"'
}

# fix_of CHECK: the fix of CHECK in the last status --json, or "None".
fix_of() {
	python3 -c '
import json, sys
print([c["fix"] for c in json.loads(sys.argv[1])["checks"] if c["check"] == sys.argv[2]][0])' "$st_json" "$1"
}

# pt_only_optional: the table mentions iommu=pt only as an option.
pt_only_optional() {
	! grep -o "iommu=pt[^;)]*" <<<"$st_text" | grep -qv "^iommu=pt is optional"
}

# An AMD host with the IOMMU off, the IVRS table there: AMD-Vi is named and
# takes no argument; the fix is the firmware, the kernel, no *=off argument.
AMD=$TREES/status-amd-off
mkdir -p "$AMD/sys/firmware/acpi/tables" "$AMD/proc"
: >"$AMD/sys/firmware/acpi/tables/IVRS"
printf 'processor\t: 0\nvendor_id\t: AuthenticAMD\n' >"$AMD/proc/cpuinfo"
echo "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet" >"$AMD/proc/cmdline"
if needs_no_module "status on an AMD host with the IOMMU off"; then
	status_check "status on an AMD host with the IOMMU off" "$AMD"
	has_line "... PASS for the IVRS table" "PASS  ACPI IVRS table present: AMD-Vi is enabled in the firmware"
	has_line "... FAIL IOMMU off: AMD-Vi did not start" \
		"FAIL  IOMMU off: no IOMMU groups in /sys/kernel/iommu_groups (AMD-Vi did not start)"
	no_amd_iommu_on "... amd_iommu=on is nowhere (no such value)"
	fix=$(fix_of iommu)
	check "... the iommu fix: no kernel argument, CONFIG_AMD_IOMMU, the firmware's IOMMU option" \
		eval 'grep -qF "AMD-Vi takes no kernel argument" <<<"$fix" &&
			grep -qF CONFIG_AMD_IOMMU <<<"$fix" && grep -qF "firmware setup" <<<"$fix"'
	check "... it says not to boot with amd_iommu=off or iommu=off" \
		grep -qiF "do not boot with amd_iommu=off or iommu=off" <<<"$fix"
	check "... iommu=pt only as an option" pt_only_optional
	check "... nothing Intel's: no intel_iommu=" eval '! grep -qF intel_iommu <<<"$st_text"'
	check "... interrupt remapping unknown: WARN, its fix is AMD-Vi's" \
		eval 'grep -q "^WARN  interrupt remapping: no IR- interrupt chips" <<<"$st_text" &&
			[[ $(fix_of interrupt_remapping) == *"enable the IOMMU (AMD-Vi)"*"intremap=off"* ]]'
fi

# The same booted with amd_iommu=off (then iommu=off): the fix removes it.
for off in amd_iommu=off iommu=off; do
	AMDOFF=$TREES/status-amd-$off
	cp -a "$AMD" "$AMDOFF"
	echo "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro $off quiet" >"$AMDOFF/proc/cmdline"
	needs_no_module "status on an AMD host booted with $off" || continue
	status_check "status on an AMD host booted with $off" "$AMDOFF"
	check "... the iommu fix: remove $off, AMD-Vi takes no argument" \
		eval '[[ $(fix_of iommu) == "remove $off from the kernel command line"*"AMD-Vi takes no argument to be on"* ]]'
	no_amd_iommu_on "... and no amd_iommu=on"
done

# An AMD CPU, no IVRS table: the firmware's IOMMU option, no argument.
AMDNOFW=$TREES/status-amd-nofw
mkdir -p "$AMDNOFW/proc" "$AMDNOFW/sys"
cp "$AMD/proc/cpuinfo" "$AMD/proc/cmdline" "$AMDNOFW/proc/"
if needs_no_module "status on an AMD host without an IVRS table"; then
	status_check "status on an AMD host without an IVRS table" "$AMDNOFW"
	has_line "... FAIL IOMMU off" "FAIL  IOMMU off: no IOMMU groups in /sys/kernel/iommu_groups"
	check "... the iommu fix: enable the IOMMU (AMD-Vi) in the firmware setup" \
		eval '[[ $(fix_of iommu) == "enable the IOMMU (AMD-Vi;"*"in the firmware setup"* ]]'
	check "... iommu=pt only as an option" pt_only_optional
	no_amd_iommu_on "... no amd_iommu=on"
fi

# An AMD-Vi host that works, as a 7.x kernel shows it: IVRS, groups, irq
# chips with the remapping domain's IR- prefix (the AMD-IR domain's own chip
# never shows; the IOMMU's event interrupt is IOMMU-MSI, not remapped).
AMDON=$TREES/status-amd-on
mkdir -p "$AMDON/sys/firmware/acpi/tables" "$AMDON/proc" \
	"$AMDON/sys/kernel/iommu_groups/0" "$AMDON/sys/kernel/iommu_groups/1" \
	"$AMDON/sys/kernel/iommu_groups/2" "$AMDON/sys/module/vfio" \
	"$AMDON/sys/module/vfio_iommu_type1/parameters" "$AMDON/sys/module/vfio_pci"
: >"$AMDON/sys/firmware/acpi/tables/IVRS"
echo N >"$AMDON/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"
cp "$AMD/proc/cpuinfo" "$AMD/proc/cmdline" "$AMDON/proc/"
{
	echo '            CPU0       CPU1'
	echo '   9:          0          0  IR-IO-APIC    9-fasteoi   acpi'
	echo '  25:          0          0  IOMMU-MSI    0-edge      AMD-Vi'
	echo '  26:         12          0  IR-PCI-MSIX-0000:01:00.0    0-edge      nvme0q0'
} >"$AMDON/proc/interrupts"
if needs_no_module "status on an AMD-Vi host that works"; then
	status_check "status on an AMD-Vi host that works" "$AMDON"
	has_line "... PASS for the IVRS table" "PASS  ACPI IVRS table present: AMD-Vi is enabled in the firmware"
	has_line "... PASS IOMMU on, 3 groups, AMD-Vi" "PASS  IOMMU on: 3 IOMMU groups (AMD-Vi)"
	has_line "... PASS interrupt remapping (IR- chips)" "PASS  interrupt remapping on (IR- interrupt chips)"
	no_amd_iommu_on "... no amd_iommu=on"
	check "... no FAIL but (perhaps) the host's own kernel config" \
		eval '! grep "^FAIL" <<<"$st_text" | grep -vq "kernel built without"'
	check "... the kernel options are AMD's: never CONFIG_INTEL_IOMMU" \
		eval '! grep -qF CONFIG_INTEL_IOMMU <<<"$st_text"'
fi

# The only IR- chip a 6.x per-device MSI-X name (IR-PCI-MSIX-<device>).
AMDMSIX=$TREES/status-amd-msix
cp -a "$AMDON" "$AMDMSIX"
printf '            CPU0\n  26:         12  IR-PCI-MSIX-0000:01:00.0    0-edge      nvme0q0\n' \
	>"$AMDMSIX/proc/interrupts"
if needs_no_module "status: only an IR-PCI-MSIX-<device> chip"; then
	status_check "status: only an IR-PCI-MSIX-<device> chip" "$AMDMSIX"
	has_line "... PASS interrupt remapping (IR- chips)" "PASS  interrupt remapping on (IR- interrupt chips)"
fi

# No IR- chip yet (no device uses MSI): the kernel log says what the IOMMU
# driver enabled at boot. A tree's log is TREE/dev/kmsg, in /dev/kmsg's
# record format. kmsg_tree NAME FROM MESSAGE: a copy of tree FROM without
# IR- chips whose kernel log has MESSAGE among others; prints its path.
kmsg_tree() {
	local t=$TREES/$1
	cp -a "$2" "$t"
	printf '            CPU0\n  25:          0  IOMMU-MSI    0-edge      AMD-Vi\n' >"$t/proc/interrupts"
	mkdir -p "$t/dev"
	{
		printf '6,401,812345,-;pci 0000:00:00.2: AMD-Vi: Found IOMMU cap 0x40\n'
		printf '6,402,812399,-;%s\n' "$3"
		printf '6,403,812400,-;AMD-Vi: Virtual APIC enabled\n SUBSYSTEM=iommu\n'
	} >"$t/dev/kmsg"
	echo "$t"
}
AMDLOG=$(kmsg_tree status-amd-kmsg "$AMDON" "AMD-Vi: Interrupt remapping enabled")
if needs_no_module "status: AMD-Vi, no IR- chip, the kernel log says IR enabled"; then
	status_check "status: AMD-Vi, no IR- chip, the kernel log says IR enabled" "$AMDLOG"
	has_line "... PASS interrupt remapping on, from the AMD-Vi log line" \
		'PASS  interrupt remapping on (kernel log: "AMD-Vi: Interrupt remapping enabled")'
	no_amd_iommu_on "... no amd_iommu=on"
fi
AMDLOGOFF=$(kmsg_tree status-amd-kmsg-off "$AMDON" "AMD-Vi: Disabling interrupt remapping")
if needs_no_module "status: AMD-Vi, the kernel log says it disabled IR"; then
	status_check "status: AMD-Vi, the kernel log says it disabled IR" "$AMDLOGOFF"
	has_line "... FAIL interrupt remapping off, naming the log line" \
		'FAIL  interrupt remapping off (kernel log: "AMD-Vi: Disabling interrupt remapping"): vfio refuses devices without it'
	check "... its fix: the IVRS table's IO-APICs (firmware update or ivrs_ioapic=)" \
		eval '[[ $(fix_of interrupt_remapping) == *IVRS*IO-APIC*"update the firmware"*ivrs_ioapic=* ]]'
	no_amd_iommu_on "... no amd_iommu=on"
fi
VTDLOG=$(kmsg_tree status-vtd-kmsg "$GOOD" "DMAR-IR: Enabled IRQ remapping in x2apic mode")
if needs_no_module "status: VT-d, no IR- chip, the kernel log says IR enabled"; then
	status_check "status: VT-d, no IR- chip, the kernel log says IR enabled" "$VTDLOG"
	has_line "... PASS interrupt remapping on, from the DMAR-IR log line" \
		'PASS  interrupt remapping on (kernel log: "DMAR-IR: Enabled IRQ remapping")'
fi

# A VT-d host (DMAR table, Intel CPU) with the IOMMU off: intel_iommu=on.
VTDOFF=$TREES/status-vtd-off
mkdir -p "$VTDOFF/sys/firmware/acpi/tables" "$VTDOFF/proc"
: >"$VTDOFF/sys/firmware/acpi/tables/DMAR"
printf 'processor\t: 0\nvendor_id\t: GenuineIntel\n' >"$VTDOFF/proc/cpuinfo"
echo "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet" >"$VTDOFF/proc/cmdline"
if needs_no_module "status on a VT-d host with the IOMMU off"; then
	status_check "status on a VT-d host with the IOMMU off" "$VTDOFF"
	has_line "... PASS for the DMAR table" \
		"PASS  ACPI DMAR table present: Intel VT-d is enabled in the firmware"
	has_line "... FAIL IOMMU off" "FAIL  IOMMU off: no IOMMU groups in /sys/kernel/iommu_groups"
	check "... the iommu fix: add intel_iommu=on" \
		eval '[[ $(fix_of iommu) == "add intel_iommu=on to the kernel command line"* ]]'
	check "... iommu=pt only as an option" pt_only_optional
	check "... nothing AMD's: no amd_iommu, no AMD-Vi" eval '! grep -qE "amd_iommu|AMD-Vi" <<<"$st_text"'
fi
# ... booted with intel_iommu=off: the fix replaces it.
echo "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro intel_iommu=off" >"$VTDOFF/proc/cmdline"
if needs_no_module "status on a VT-d host booted with intel_iommu=off"; then
	status_check "status on a VT-d host booted with intel_iommu=off" "$VTDOFF"
	check "... the iommu fix: replace intel_iommu=off with intel_iommu=on" \
		eval '[[ $(fix_of iommu) == "replace intel_iommu=off with intel_iommu=on in the kernel command line"* ]]'
fi

# A DMAR table (VT-d) seen from a CPU that says AuthenticAMD (QEMU's TCG
# "max" CPU on a VT-d machine): the IOMMU is Intel's, so is the fix.
MIXED=$TREES/status-dmar-amdcpu
mkdir -p "$MIXED/sys/firmware/acpi/tables" "$MIXED/proc"
: >"$MIXED/sys/firmware/acpi/tables/DMAR"
printf 'processor\t: 0\nvendor_id\t: AuthenticAMD\n' >"$MIXED/proc/cpuinfo"
if needs_no_module "status: DMAR table, AMD CPU, IOMMU off"; then
	status_check "status: DMAR table, AMD CPU, IOMMU off" "$MIXED"
	check "... the fix follows the table: intel_iommu=on" \
		grep -qF "fix: add intel_iommu=on" <<<"$st_text"
fi

# --- safety: claim refuses what the host needs, before contacting the module ----------
S=$TREES/safety
P=$S/sys/devices/pci0000:00
mkdir -p "$S/proc/self" "$S/proc/net" "$S/sys/dev/block" "$S/sys/class/net" \
	"$S/sys/bus/pci/devices" "$S/sys/devices/virtual/block/dm-0/slaves" \
	"$S/sys/devices/virtual/net/vrtbr0"
# pci_fn ADDR PATH_BELOW_PCI0000:00 VENDOR DEVICE CLASS: a function's
# directory, its ids and its bus link.
pci_fn() {
	mkdir -p "$P/$2"
	ln -sfn "../../../devices/pci0000:00/$2" "$S/sys/bus/pci/devices/$1"
	echo "0x$3" >"$P/$2/vendor"
	echo "0x$4" >"$P/$2/device"
	echo "0x$3" >"$P/$2/subsystem_vendor"
	echo 0x0001 >"$P/$2/subsystem_device"
	echo "0x$5" >"$P/$2/class"
}
pci_fn 0000:00:01.0 0000:00:01.0 1234 1111 030000	# the boot VGA
echo 1 >"$P/0000:00:01.0/boot_vga"
pci_fn 0000:00:01.1 0000:00:01.1 1234 1111 030000	# another VGA, not the boot one
echo 0 >"$P/0000:00:01.1/boot_vga"
pci_fn 0000:00:1f.2 0000:00:1f.2 8086 2922 010601	# AHCI: /srv/data on sda1
mkdir -p "$P/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1"
ln -s "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1" \
	"$S/sys/dev/block/8:1"
pci_fn 0000:00:1f.3 0000:00:1f.3 8086 2930 0c0500	# nothing on it
pci_fn 0000:02:00.0 0000:00:04.0/0000:02:00.0 1b36 0010 010802 # NVMe: / on dm-0 on nvme0n1p2
mkdir -p "$P/0000:00:04.0/0000:02:00.0/nvme/nvme0/nvme0n1/nvme0n1p2"
ln -s "../../devices/virtual/block/dm-0" "$S/sys/dev/block/253:0"
ln -s "../../../../pci0000:00/0000:00:04.0/0000:02:00.0/nvme/nvme0/nvme0n1/nvme0n1p2" \
	"$S/sys/devices/virtual/block/dm-0/slaves/nvme0n1p2"
pci_fn 0000:00:02.0 0000:00:02.0 8086 10d3 020000	# NIC with the IPv4 default route
mkdir -p "$P/0000:00:02.0/net/vrteth9"
ln -s "../../devices/pci0000:00/0000:00:02.0/net/vrteth9" "$S/sys/class/net/vrteth9"
pci_fn 0000:00:03.0 0000:00:03.0 8086 10d3 020000	# NIC with only a LAN route
mkdir -p "$P/0000:00:03.0/net/vrteth8"
ln -s "../../devices/pci0000:00/0000:00:03.0/net/vrteth8" "$S/sys/class/net/vrteth8"
pci_fn 0000:00:05.0 0000:00:05.0 8086 10d3 020000	# NIC under vrtbr0 (IPv6 default)
mkdir -p "$P/0000:00:05.0/net/vrteth7"
ln -s "../../devices/pci0000:00/0000:00:05.0/net/vrteth7" "$S/sys/class/net/vrteth7"
ln -s "../../devices/virtual/net/vrtbr0" "$S/sys/class/net/vrtbr0"
ln -s "../../../../pci0000:00/0000:00:05.0/net/vrteth7" "$S/sys/devices/virtual/net/vrtbr0/lower_vrteth7"
# disk FN_DIR NAME [PART]: a disk (and partition) below a function's directory,
# listed in /sys/class/block, each with a /dev node that is not in use.
disk() {
	local d=$P/$1/$2
	mkdir -p "$d" "$S/sys/class/block" "$S/dev"
	ln -sfn "../../devices/pci0000:00/$1/$2" "$S/sys/class/block/${2##*/}"
	: >"$S/dev/${2##*/}"
	if [[ -n ${3:-} ]]; then
		mkdir -p "$d/$3"
		echo 1 >"$d/$3/partition"
		ln -sfn "../../devices/pci0000:00/$1/$2/$3" "$S/sys/class/block/$3"
		: >"$S/dev/$3"
	fi
}
disk 0000:00:1f.2 ata1/host0/target0:0:0/0:0:0:0/block/sda sda1
disk 0000:00:04.0/0000:02:00.0 nvme/nvme0/nvme0n1 nvme0n1p2
# btrfs: /home on sdc1 (0000:00:08.0) and nvme2n1 (0000:00:09.0); its
# mount has device number 0:45, its source names the first device.
pci_fn 0000:00:08.0 0000:00:08.0 8086 2829 010601
disk 0000:00:08.0 ata3/host2/target2:0:0/2:0:0:0/block/sdc sdc1
pci_fn 0000:00:09.0 0000:00:09.0 1b36 0010 010802
disk 0000:00:09.0 nvme/nvme2/nvme2n1
BTRFS=$S/sys/fs/btrfs/0c8bb0f3-4b3e-4b43-9a7b-5fa1b5d1f0e1
mkdir -p "$BTRFS/devices" "$S/sys/fs/btrfs/features"
ln -s "../../../../devices/pci0000:00/0000:00:08.0/ata3/host2/target2:0:0/2:0:0:0/block/sdc/sdc1" "$BTRFS/devices/sdc1"
ln -s "../../../../devices/pci0000:00/0000:00:09.0/nvme/nvme2/nvme2n1" "$BTRFS/devices/nvme2n1"
# ZFS: the pool rpool (mounted on /tank, device number 0:50) on nvme3n1p3
# of 0000:00:0a.0, as the fake zpool in $ZBIN tells.
pci_fn 0000:00:0a.0 0000:00:0a.0 1b36 0010 010802
disk 0000:00:0a.0 nvme/nvme3/nvme3n1 nvme3n1p3
# An NVMe nobody uses (its node opens exclusively) and one whose disk has
# no /dev node (the in-use check cannot run: it fails closed).
pci_fn 0000:00:0f.0 0000:00:0f.0 1b36 0010 010802
disk 0000:00:0f.0 nvme/nvme5/nvme5n1
pci_fn 0000:00:10.0 0000:00:10.0 1b36 0010 010802
disk 0000:00:10.0 nvme/nvme6/nvme6n1
rm "$S/dev/nvme6n1"
# Intel VMD: an NVMe in domain 10000 behind the VMD endpoint 00:0e.0, its
# namespace mounted on /vm.
pci_fn 10000:01:00.0 0000:00:0e.0/pci10000:00/10000:00:02.0/10000:01:00.0 8086 f1a8 010802
disk 0000:00:0e.0/pci10000:00/10000:00:02.0/10000:01:00.0 nvme/nvme4/nvme4n1 nvme4n1p1
ln -s "../../devices/pci0000:00/0000:00:0e.0/pci10000:00/10000:00:02.0/10000:01:00.0/nvme/nvme4/nvme4n1/nvme4n1p1" \
	"$S/sys/dev/block/259:5"
# Displays: 01.1 has DRM nodes nobody holds; 0b.0's render node is Xorg's;
# 0c.0 drives fb1; 0d.0 is nvidia minor 0, held by a CUDA program.
mkdir -p "$P/0000:00:01.1/drm/card2" "$P/0000:00:01.1/drm/renderD130"
pci_fn 0000:00:0b.0 0000:00:0b.0 1234 1111 030000
mkdir -p "$P/0000:00:0b.0/drm/card1" "$P/0000:00:0b.0/drm/renderD129"
pci_fn 0000:00:0c.0 0000:00:0c.0 1234 1111 030000
mkdir -p "$P/0000:00:0c.0/graphics/fb1"
pci_fn 0000:00:0d.0 0000:00:0d.0 10de 2204 030000
mkdir -p "$S/proc/driver/nvidia/gpus/0000:00:0d.0" "$S/proc/4343/fd" "$S/proc/4444/fd"
printf 'Model: \t\t NVIDIA GeForce RTX 3090\nDevice Minor: \t 0\n' \
	>"$S/proc/driver/nvidia/gpus/0000:00:0d.0/information"
echo Xorg >"$S/proc/4343/comm"
ln -s /dev/dri/renderD129 "$S/proc/4343/fd/3"
echo cuda-app >"$S/proc/4444/comm"
ln -s /dev/nvidia0 "$S/proc/4444/fd/5"
# 1a.0: a GPU whose card node three QEMUs hold, named by their VMs: a
# libvirt domain (-name guest=), a Proxmox VM (-id), a plain -name.
pci_fn 0000:00:1a.0 0000:00:1a.0 1234 1111 030000
mkdir -p "$P/0000:00:1a.0/drm/card5"
qemu_proc() {
	local pid=$1 comm=$2
	shift 2
	mkdir -p "$S/proc/$pid/fd"
	echo "$comm" >"$S/proc/$pid/comm"
	printf '%s\0' "$@" >"$S/proc/$pid/cmdline"
	ln -s /dev/dri/card5 "$S/proc/$pid/fd/40"
}
qemu_proc 5001 qemu-system-x86 /usr/bin/qemu-system-x86_64 -name guest=win11,debug-threads=on -S
qemu_proc 5002 kvm /usr/bin/kvm -id 101 -name win10,debug-threads=on -m 4096
qemu_proc 5003 qemu-system-x86 qemu-system-x86_64 -m 1G -name lab
# Open vSwitch: the default route (above) goes out of the bridge's internal
# port vrtovsbr0; its port vrteth6 is on 0000:00:11.0. Sysfs links neither to the
# other, only both to their master ovs-system; vrteth4, on 0000:00:13.0, is no
# OVS port. A macvlan vrtmv0 with the default route is on vrteth5 (0000:00:12.0).
pci_fn 0000:00:11.0 0000:00:11.0 8086 10d3 020000
pci_fn 0000:00:12.0 0000:00:12.0 8086 10d3 020000
pci_fn 0000:00:13.0 0000:00:13.0 8086 10d3 020000
mkdir -p "$S/sys/devices/virtual/net/ovs-system" "$S/sys/devices/virtual/net/vrtovsbr0" \
	"$S/sys/devices/virtual/net/vrtmv0"
for n in 11.0/net/vrteth6 12.0/net/vrteth5 13.0/net/vrteth4; do
	mkdir -p "$P/0000:00:$n"
	ln -s "../../devices/pci0000:00/0000:00:$n" "$S/sys/class/net/${n##*/}"
done
ln -s ../../devices/virtual/net/ovs-system "$S/sys/class/net/ovs-system"
ln -s ../../devices/virtual/net/vrtovsbr0 "$S/sys/class/net/vrtovsbr0"
ln -s ../../devices/virtual/net/vrtmv0 "$S/sys/class/net/vrtmv0"
ln -s ../../../../virtual/net/ovs-system "$P/0000:00:11.0/net/vrteth6/master"
ln -s ../ovs-system "$S/sys/devices/virtual/net/vrtovsbr0/master"
ln -s "../../../../pci0000:00/0000:00:12.0/net/vrteth5" "$S/sys/devices/virtual/net/vrtmv0/lower_vrteth5"
# As the kernel links them: an interface's device, and that device's bus.
mkdir -p "$S/sys/bus/pci"
for n in 11.0/net/vrteth6 12.0/net/vrteth5 13.0/net/vrteth4; do
	ln -s "../../../0000:00:${n%%/*}" "$P/0000:00:$n/device"
	ln -s "../../../bus/pci" "$P/0000:00:${n%%/*}/subsystem"
done
cat >"$S/proc/self/mountinfo" <<'EOF'
22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
36 22 8:1 / /srv/data rw,relatime shared:30 - ext4 /dev/sda1 rw
40 22 0:45 / /home rw,relatime shared:31 - btrfs /dev/sdc1 rw,space_cache=v2,subvolid=5,subvol=/
41 22 0:50 / /tank rw,relatime shared:32 - zfs rpool/data rw,xattr,noacl
42 41 0:51 / /tank/vm rw,relatime shared:33 - zfs rpool/data/vm rw,xattr,noacl
43 22 259:5 / /vm rw,relatime shared:34 - xfs /dev/nvme4n1p1 rw
EOF
# zpool list -vHPL rpool, as ZFS prints it: the pool, then each vdev.
ZBIN=$TREES/zbin
mkdir -p "$ZBIN"
cat >"$ZBIN/zpool" <<'EOF'
#!/bin/sh
[ "$*" = "list -vHPL rpool" ] || exit 1
printf 'rpool\t99G\t1G\t98G\t-\t-\t0%%\t1%%\t1.00x\tONLINE\t-\n'
printf '\t/dev/nvme3n1p3\t99G\t1G\t98G\t-\t-\t0%%\t1.00%%\t-\tONLINE\n'
EOF
chmod +x "$ZBIN/zpool"
NOZPATH=$PATH
PATH=$ZBIN:$PATH
printf 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' >"$S/proc/net/route"
printf 'vrteth8\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' >>"$S/proc/net/route"
printf 'vrteth9\t00000000\t0202000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n' >>"$S/proc/net/route"
printf 'vrtovsbr0\t00000000\t0103000A\t0003\t0\t0\t200\t00000000\t0\t0\t0\n' >>"$S/proc/net/route"
printf 'vrtmv0\t00000000\t0104000A\t0003\t0\t0\t300\t00000000\t0\t0\t0\n' >>"$S/proc/net/route"
{
	echo "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 vrteth8"
	echo "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 vrtbr0"
	echo "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200 lo"
} >"$S/proc/net/ipv6_route"
: >"$S/proc/swaps"

# refused ADDR DESC REASON: claim ADDR exits 1 refusing it for REASON, and
# never reaches the module (no "not loaded" answer).
refused() {
	local addr
	addr=$(normalized "$1")
	in_tree "$S" claim "$1"
	expect "claim $1 ($2): refused, exit 1, naming the reason" 1 "$3"
	check "... the refusal names $addr and --force" \
		eval 'grep -F "refusing" <<<"$err" | grep -F "$addr" | grep -qF -- "--force"'
	if grep -q "not loaded" <<<"$err"; then
		not_ok "claim $1 ($2) was refused before contacting the module" "$err"
	fi
}

normalized() {
	case $1 in *:*:*) echo "$1" ;; *) echo "0000:$1" ;; esac
}

refused 0000:00:01.0 "boot VGA" "it is the boot VGA device (the host console)"
refused 0000:00:1f.2 "/srv/data on its disk" "it backs the file system mounted on /srv/data"
refused 00:1f.2 "the same, short address" "it backs the file system mounted on /srv/data"
refused 0000:02:00.0 "/ on dm-0 on its namespace" "it backs the file system mounted on /"
refused 0000:00:02.0 "the IPv4 default route" "it carries the default route (vrteth9)"
refused 0000:00:05.0 "the IPv6 default route, through vrtbr0" "it carries the default route (vrtbr0)"
refused 0000:00:11.0 "an Open vSwitch port, the default route on its bridge" "it carries the default route (vrtovsbr0)"
refused 0000:00:12.0 "the default route on a macvlan over it" "it carries the default route (vrtmv0)"
refused 0000:00:08.0 "btrfs /home (device 0:45) from sdc1" "it backs the file system mounted on /home"
refused 0000:00:09.0 "btrfs /home's second device" \
	"it holds nvme2n1, a device of the mounted btrfs file system 0c8bb0f3-4b3e-4b43-9a7b-5fa1b5d1f0e1"
refused 0000:00:0a.0 "ZFS rpool (device 0:50) on nvme3n1p3" \
	"it holds /dev/nvme3n1p3 of the ZFS pool rpool mounted on /tank"
refused 10000:01:00.0 "VMD domain 10000, /vm on its namespace" "it backs the file system mounted on /vm"
refused 0000:00:10.0 "a disk with no /dev node: the in-use check cannot run" \
	"cannot tell whether its disk nvme6n1 is in use"
refused 0000:00:0b.0 "a GPU whose render node Xorg holds" "its display nodes are in use by pid 4343 (Xorg)"
refused 0000:00:1a.0 "a GPU three QEMUs hold" "its display nodes are in use by pid"
for who in "pid 5001 (qemu-system-x86, libvirt domain win11)" "pid 5002 (kvm, Proxmox VM 101)" \
	"pid 5003 (qemu-system-x86, QEMU -name lab)"; do
	check "... names $who" grep -qF "$who" <<<"$err"
done
# --netdev IFACE: the interface's PCI function, as an operand.
in_tree "$S" libvirt --netdev vrteth4
expect "libvirt --netdev vrteth4: its PCI function 0000:00:13.0" 0 "" \
	"<address domain='0x0000' bus='0x00' slot='0x13' function='0x0'/>"
in_tree "$S" claim --netdev vrteth6
expect "claim --netdev vrteth6: 0000:00:11.0, refused as the default route's OVS port" 1 \
	"refusing to claim 0000:00:11.0"
in_tree "$S" add --netdev vrtnosuch
expect "add --netdev vrtnosuch: exit 2, no such interface" 2 \
	"--netdev vrtnosuch: no such network interface (ip link lists them)"
in_tree "$S" add --netdev vrtmv0
expect "add --netdev vrtmv0 (a macvlan): exit 2, not a PCI function's" 2 \
	"--netdev vrtmv0: not the interface of a PCI function"
in_tree "$S" release --netdev vrteth4
expect "release --netdev: not an option of release (exit 2)" 2 "release takes no option --netdev"
refused 0000:00:0c.0 "a GPU driving fb1" "it drives the framebuffer fb1 (the console)"
refused 0000:00:0d.0 "an nvidia GPU (minor 0) a CUDA program holds" \
	"its display nodes are in use by pid 4444 (cuda-app)"
PATH=$NOZPATH
refused 0000:00:0a.0 "ZFS rpool without zpool(8): fails closed" \
	"cannot tell which disks hold the ZFS pool rpool mounted on /tank"
PATH=$ZBIN:$PATH

for a in 0000:00:01.1 0000:00:1f.3 0000:00:03.0 0000:07:00.0 0000:00:0f.0 0000:00:13.0; do
	needs_no_module "claim $a (not needed by the host)" || continue
	in_tree "$S" claim "$a"
	expect "claim $a (not needed by the host): goes on to the module (not loaded)" 2 \
		"vfio_reserve is not loaded"
	grep -q refusing <<<"$err" && not_ok "claim $a was refused" "$err"
done

in_tree "$S" claim 0000:00:03.0 0000:00:1f.2
expect "claim of a harmless and a needed device: refused as a whole, exit 1" 1 \
	"refusing to claim 0000:00:1f.2"
grep -q "not loaded" <<<"$err" && not_ok "... and nothing reached the module" "$err"
if needs_no_module "--force claim 0000:00:1f.2 goes on (to the module)"; then
	in_tree "$S" --force claim 0000:00:1f.2
	expect "--force claim 0000:00:1f.2: a warning, then on to the module" 2 \
		"it backs the file system mounted on /srv/data"
	check "... the warning names 0000:00:1f.2" \
		eval 'grep -F "warning" <<<"$err" | grep -qF "0000:00:1f.2"'
	check "... which is not loaded" grep -q "vfio_reserve is not loaded" <<<"$err"
fi

# add: a list that selects a device the host needs is refused the same way,
# from sysfs, before contacting the module (issue 15: a helper whose add
# check went missing was reported as a SKIP here, and passed).
add_refused() {
	local sel=$1 desc=$2 a
	shift 2
	in_tree "$S" add "$sel"
	expect "add '$sel' ($desc): refused, exit 1" 1 "refusing"
	for a in "$@"; do
		check "... names $a" grep -qF -- "$a" <<<"$err"
	done
	if grep -q "not loaded" <<<"$err"; then
		not_ok "add '$sel' was refused before contacting the module" "$err"
	fi
}

if needs_no_module "add: the safety checks without the module"; then
	add_refused 0000:00:01.0 "the boot VGA" "0000:00:01.0" "boot VGA"
	add_refused 0000:00:1f.2 "an address" "0000:00:1f.2" "mounted on /srv/data" "!0000:00:1f.2"
	add_refused 8086:2922 "ids" "0000:00:1f.2" "mounted on /srv/data"
	add_refused class:0106 "a class" "0000:00:1f.2" "mounted on /srv/data"
	add_refused class:0108 "every NVMe" "10000:01:00.0" "mounted on /vm" "0000:00:0a.0" \
		"ZFS pool rpool" "0000:00:09.0" "btrfs" "0000:00:10.0" "cannot tell"
	check "... but not the NVMe nobody uses" eval '! grep -q "0000:00:0f.0" <<<"$err"'
	add_refused 8086:10d3 "three NICs, two needed" "0000:00:02.0" "(vrteth9)" "0000:00:05.0" "(vrtbr0)"
	check "... but not the NIC with only a LAN route" eval '! grep -q "0000:00:03.0" <<<"$err"'
	in_tree "$S" add '8086:2922,!0000:00:1f.2'
	expect "add '8086:2922,!0000:00:1f.2' (excludes it): on to the module" 2 "vfio_reserve is not loaded"
	in_tree "$S" add 0000:00:1f.3 0000:00:03.0
	expect "add of devices the host does not need: on to the module" 2 "vfio_reserve is not loaded"
	in_tree "$S" --force add 8086:2922
	expect "--force add 8086:2922: a warning, then on to the module" 2 "vfio_reserve is not loaded"
	check "... the warning names 0000:00:1f.2 and /srv/data" \
		eval 'grep -F warning <<<"$err" | grep -F 0000:00:1f.2 | grep -qF /srv/data'
	in_tree "$S" remove 8086:2922
	expect "remove 8086:2922: removing is never refused" 2 "vfio_reserve is not loaded"
fi

# Every check fails closed: a tree without one of the files a check reads
# refuses (the one reason named), where the full tree lets the NVMe nobody
# uses (0000:00:0f.0) through. The shipped helper ignores the tree.
# closed WHAT PATH REASON [ADDR]: remove PATH from a copy of the tree, claim
# ADDR (0000:00:0f.0).
closed() {
	local t=$TREES/closed-$1 a=${4:-0000:00:0f.0}
	rm -rf "$t"
	cp -a "$S" "$t"
	rm -rf "${t:?}/$2"
	in_tree "$t" claim "$a"
	expect "claim $a without $2: refused (fails closed), exit 1" 1 "$3"
	check "... naming --force" grep -qF -- "--force" <<<"$err"
	grep -q "not loaded" <<<"$err" && not_ok "... and nothing reached the module" "$err"
}
closed mountinfo proc/self/mountinfo "cannot tell which file systems are mounted"
closed swaps proc/swaps "cannot tell where the host swaps"
closed route proc/net/route "cannot tell which interface carries the default route"
closed block sys/class/block "cannot tell which disks it has"
closed drm-proc proc "cannot tell who uses its display nodes" 0000:00:0b.0
in_tree "$TREES/closed-block" add class:0108
expect "add class:0108 without /sys/class/block: refused for each NVMe" 1 \
	"refusing: the list selects 0000:00:0f.0, but cannot tell which disks it has"
# @auto: the helper picks the driver from modules.alias (issue 17).
mkdir -p "$S/modules"
cat >"$S/modules/modules.alias" <<'EOF2'
alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e
alias vfio_pci:v*d*sv*sd*bc*sc*i* vfio_pci
alias vfio_pci:v00008086d*sv*sd*bc02sc*i* vr_vendorwide
alias vfio_pci:v00008086d000010D3sv00008086sd*bc*sc*i* vr_nicvariant
alias vfio_pci:v00008086d000010D3sv00008086sd00000002bc*sc*i* vr_sub2variant
EOF2
for f in "$S"/sys/bus/pci/devices/*; do
	[[ $(<"$f/vendor") == 0x8086 && $(<"$f/device") == 0x10d3 ]] &&
		echo "pci:v00008086d000010D3sv00008086sd00000001bc02sc00i00" >"$f/modalias"
done
echo "pci:v00008086d000010D3sv00008086sd00000002bc02sc00i00" >"$P/0000:00:05.0/modalias"
echo "pci:v00008086d00002930sv00008086sd00000001bc0Csc05i00" >"$P/0000:00:1f.3/modalias"
in_tree "$S" add 0000:00:03.0@auto
expect "add 0000:00:03.0@auto: the fewest wildcards (vr_nicvariant, of 2 variants), then on to the module" 2 \
	"vfio_reserve is not loaded" \
	"add: 0000:00:03.0@auto is vr_nicvariant: modules.alias: vfio_pci:v00008086d000010D3sv00008086sd*bc*sc*i* (module vr_nicvariant, 4 wildcards) matches pci:v00008086d000010D3sv00008086sd00000001bc02sc00i00, the fewest wildcards of 2 variant aliases matching"
in_tree "$S" add 0000:00:1f.3@auto
expect "add 0000:00:1f.3@auto: no variant's alias matches (vfio_pci's own is not one): vfio-pci" 2 \
	"vfio_reserve is not loaded" \
	"add: 0000:00:1f.3@auto is vfio-pci: no variant driver's vfio_pci: alias in modules.alias matches pci:v00008086d00002930"
in_tree "$S" --force add 8086:10d3@auto
expect "add 8086:10d3@auto when 00:05.0 (subsystem 0002) has its own variant: refused, both named" 1 \
	"8086:10d3@auto matches devices that need different drivers ("
check "... naming 0000:00:05.0's vr_sub2variant and what to write instead" \
	eval 'grep -q "0000:00:05.0: vr_sub2variant.*write one rule per device, ADDRESS@auto or ADDRESS@DRIVER" <<<"$err"'
grep -q "not loaded" <<<"$err" && not_ok "... and nothing reached the module" "$err"
in_tree "$S" add 1234:5678@auto
expect "add 1234:5678@auto, no such device: refused, name the driver" 1 \
	"1234:5678@auto matches no device present: @auto chooses by a device's ids, so name the driver"
rm -rf "$TREES/auto-noalias"
cp -a "$S" "$TREES/auto-noalias"
rm -f "$TREES/auto-noalias/modules/modules.alias"
in_tree "$TREES/auto-noalias" add 0000:00:03.0@auto
expect "add 0000:00:03.0@auto without modules.alias: refused (fails closed), what to do said" 1 \
	"cannot read the modalias of 0000:00:03.0, or $TREES/auto-noalias/modules/modules.alias (No such file or directory): name the driver instead of @auto"
grep -q "not loaded" <<<"$err" && not_ok "... and nothing reached the module" "$err"

rm -rf "$TREES/closed-pci"
cp -a "$S" "$TREES/closed-pci"
rm -rf "$TREES/closed-pci/sys/bus/pci/devices"
in_tree "$TREES/closed-pci" add class:0108
expect "add class:0108 when the PCI functions cannot be listed: refused" 1 \
	"refusing: cannot list the PCI functions"
grep -q "not loaded" <<<"$err" && not_ok "... and nothing reached the module" "$err"

# The test hooks are the test build's only: the shipped helper, given the
# fake tree, checks (and would write) the host's own /sys.
if [[ -e /sys/bus/pci/devices/0000:00:1f.2 ]]; then
	skip "the shipped helper ignores VFIO_RESERVE_*" "the host has a 0000:00:1f.2"
else
	VFIO_RESERVE_SYSFS=$S/sys VFIO_RESERVE_PROCFS=$S/proc VFIO_RESERVE_DEVFS=$S/dev \
		VR=$SHIPPED vr claim 0000:00:1f.2
	expect "shipped helper, fake tree: claim 0000:00:1f.2 is not refused for the tree's /srv/data" 2 ""
	check "... the fake mount is not named" eval '! grep -q "/srv/data" <<<"$err"'
	if [[ ! -x $SHIPPED ]] || grep -qaE 'VFIO_RESERVE_(SYS|PROC|DEV)FS' "$SHIPPED"; then
		not_ok "the shipped helper has no VFIO_RESERVE_ variable in it"
	else
		ok "the shipped helper has no VFIO_RESERVE_ variable in it"
	fi
fi

# Active swap on a block device: /proc/swaps names a real device node, the
# fake /sys/dev/block puts that device below a PCI function.
bdev=$(find /dev -maxdepth 1 -type b 2>/dev/null | sort | head -n 1)
if [[ -n $bdev ]]; then
	SW=$TREES/safety-swap
	cp -a "$S" "$SW"
	: >"$SW/proc/self/mountinfo"
	: >"$SW/proc/net/route"
	: >"$SW/proc/net/ipv6_route"
	mm=$(stat -L -c '%t %T' "$bdev")
	read -r maj min <<<"$mm"
	devnum=$((16#$maj)):$((16#$min))
	mkdir -p "$SW/sys/devices/pci0000:00/0000:00:1f.3/host1/block/sdb"
	ln -s "../../devices/pci0000:00/0000:00:1f.3/host1/block/sdb" "$SW/sys/dev/block/$devnum"
	printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n%s\tpartition\t1048572\t\t0\t\t-2\n' \
		"$bdev" >"$SW/proc/swaps"
	S=$SW
	refused 0000:00:1f.3 "active swap on $bdev" "it backs the active swap $bdev"
	S=$TREES/safety
else
	skip "claim of the device behind the active swap" "no block device node in /dev"
fi


# --- sriov: --numvfs required; VFs held by a VM never removed unless --force -------
# A PF with 2 of 4 VFs: 06.2 in IOMMU group 12, 06.3 in group 13 with the
# iommufd node vfio3. Any change of a nonzero count removes both first.
SV=$TREES/sriov
SP=$SV/sys/devices/pci0000:00
mkdir -p "$SV/sys/bus/pci/devices" "$SV/sys/kernel/iommu_groups/12" \
	"$SV/sys/kernel/iommu_groups/13" "$SV/proc/1/fd" "$SV/proc/4242/fd"
for f in 0000:00:06.0 0000:00:06.2 0000:00:06.3; do
	mkdir -p "$SP/$f"
	ln -s "../../../devices/pci0000:00/$f" "$SV/sys/bus/pci/devices/$f"
done
echo 4 >"$SP/0000:00:06.0/sriov_totalvfs"
ln -s ../0000:00:06.2 "$SP/0000:00:06.0/virtfn0"
ln -s ../0000:00:06.3 "$SP/0000:00:06.0/virtfn1"
ln -s ../../../kernel/iommu_groups/12 "$SP/0000:00:06.2/iommu_group"
ln -s ../../../kernel/iommu_groups/13 "$SP/0000:00:06.3/iommu_group"
mkdir -p "$SP/0000:00:06.3/vfio-dev/vfio3"
echo 511:3 >"$SP/0000:00:06.3/vfio-dev/vfio3/dev"
echo init >"$SV/proc/1/comm"
ln -sfn /dev/null "$SV/proc/1/fd/0"
echo qemu-system-x86 >"$SV/proc/4242/comm"
# vfs N: the PF has N VFs; holder NODE: pid 4242 holds NODE ("" for none).
vfs() { echo "$1" >"$SP/0000:00:06.0/sriov_numvfs"; }
holder() { rm -f "$SV/proc/4242/fd/7"; [[ -z $1 ]] || ln -s "$1" "$SV/proc/4242/fd/7"; }
numvfs() { [[ $(<"$SP/0000:00:06.0/sriov_numvfs") == "$1" ]]; }

vfs 2; holder /dev/vfio/12
in_tree "$SV" sriov 0000:00:06.0
expect "sriov PF without --numvfs: a usage error (exit 2), nothing changed" 2 \
	"--numvfs N is required"
check "... sriov_numvfs still 2" numvfs 2
in_tree "$SV" sriov 0000:00:06.0 --numvfs 0
expect "sriov --numvfs 0 while a VM holds VF 06.2's group: refused, exit 1" 1 \
	"VF 0000:00:06.2 is in use by pid 4242 (qemu-system-x86)"
check "... the refusal says all 2 go first and names --force" \
	eval 'grep -F "refusing" <<<"$err" | grep -F "removes all 2" | grep -qF -- "--force"'
check "... sriov_numvfs still 2" numvfs 2
in_tree "$SV" sriov 0000:00:06.0 --numvfs 4
expect "sriov --numvfs 4 (more, but through 0) while it is held: refused" 1 \
	"VF 0000:00:06.2 is in use by pid 4242"
check "... sriov_numvfs still 2" numvfs 2
holder /dev/vfio/devices/vfio3
in_tree "$SV" sriov 0000:00:06.0 --numvfs 0
expect "sriov --numvfs 0 while a VM holds VF 06.3 through iommufd (vfio3): refused" 1 \
	"VF 0000:00:06.3 is in use by pid 4242 (qemu-system-x86)"
check "... sriov_numvfs still 2" numvfs 2
VFIO_RESERVE_SYSFS=$SV/sys VFIO_RESERVE_PROCFS=$SV/no-proc vr sriov 0000:00:06.0 --numvfs 0
expect "sriov --numvfs 0 when /proc cannot be read: refused (fails closed)" 1 \
	"cannot be told"
check "... sriov_numvfs still 2" numvfs 2
in_tree "$SV" --force sriov 0000:00:06.0 --numvfs 0
expect "--force sriov --numvfs 0 while held: a warning naming the VF, exit 0" 0 \
	"warning: removing the 2 VFs of 0000:00:06.0 although VF 0000:00:06.3 is in use" \
	"0000:00:06.0: no VFs"
check "... sriov_numvfs now 0" numvfs 0
vfs 2; holder ""
in_tree "$SV" sriov 0000:00:06.0 --numvfs 0
expect "sriov --numvfs 0 with no VF in use: exit 0" 0 "" "0000:00:06.0: no VFs"
check "... sriov_numvfs now 0" numvfs 0
holder /dev/vfio/12
in_tree "$SV" sriov 0000:00:06.0 --numvfs 1
expect "sriov --numvfs 1 from 0 (nothing removed): not refused" 0
check "... sriov_numvfs now 1" numvfs 1

# Options through getopt_long (issue 18): --opt=value, --version, each
# command's own options in its --help, errors that name the real problem.
vr --version
expect "--version: exit 0, the version" 0 "" "vfio-reserve $(sed -n 's/^#define VR_VERSION "\(.*\)"$/\1/p' "$TOP/kmod/version.h")"
vr qemu --bogus 0000:03:00.0 -- qemu-system-x86_64
expect "qemu --bogus: exit 2, an unknown option (not 'not a PCI address')" 2 "unknown option '--bogus'"
vr detach --qmp
expect "detach --qmp without a value: exit 2, the option needs a value" 2 "option '--qmp' needs a value"
vr list --qmp /tmp/x
expect "list --qmp: exit 2, list takes no such option" 2 "list takes no option --qmp"
vr --numvfs 2 sriov 0000:00:06.0
expect "--numvfs before the command: exit 2, it is the command's" 2 "--numvfs is an option of a command: give it after the command's name"
vr attach --help
expect "attach --help lists its own options" 0 "" "--qmp=SOCKET"
check "... --id=ID and --bus=BUS too" eval 'grep -q -- "--id=ID" <<<"$out" && grep -q -- "--bus=BUS" <<<"$out"'
vr sriov --numvfs=x 0000:00:06.0
expect "sriov --numvfs=x: exit 2, not a number" 2 "--numvfs takes a number, not 'x'"
if needs_no_module "options after the QEMU command's '--' are QEMU's"; then
	vr qemu 0000:03:00.0 --dry-run -- qemu-system-x86_64 --bogus -m 64
	expect "qemu ADDR --dry-run -- QEMU --bogus: options after -- are QEMU's (on to the module)" 2 "vfio_reserve is not loaded"
	in_tree "$QUIET" check --explain 05:00.0
	expect "check --explain: an option of check (on to sysfs: no such function)" 1 "vfio_reserve is not loaded" \
		"no PCI function at 0000:05:00.0"
fi
holder ""
in_tree "$SV" sriov --numvfs=2 0000:00:06.0
expect "sriov --numvfs=2 before the PF: --opt=value accepted, exit 0, the new VFs listed" 0 "" "0000:00:06.3  vf 1 of 0000:00:06.0"
check "... sriov_numvfs now 2" numvfs 2

in_tree "$S" -j status
plain=$out
in_tree "$S" status -j -p
expect "status -j -p: exit as without -p" 1
check "... -p indents (ip and devlink's -p), the same document as -j alone" \
	eval '[[ $(wc -l <<<"$out") -gt 5 && $(wc -l <<<"$plain") == 1 ]] && python3 -c "
import json, sys
assert json.loads(sys.argv[1]) == json.loads(sys.argv[2])
" "$out" "$plain"'

# detach against a fake QMP server (fake_qmp.py): requests and replies go
# through json-c, so ids are escaped and whole, and QEMU's error text comes
# back whole (issue 18: 'a"b' sent invalid JSON, then "no answer in 10 s").
QSOCK=$TREES/qmp.sock QLOG=$TREES/qmp.log
# fake_qmp [--refuse]: start the server; it serves one client.
fake_qmp() {
	rm -f "$QSOCK" "$QLOG"
	python3 "$TOP/selftests/unit/fake_qmp.py" "$QSOCK" "$QLOG" "$@" &
	QPID=$!
	for _ in $(seq 50); do [[ -S $QSOCK ]] && break; sleep 0.1; done
}
fake_qmp --refuse
vr detach --qmp "$QSOCK" 'a"b'
wait "$QPID"
expect "detach 'a\"b', refused by QEMU: its whole message, quote and all" 1 \
	"detach a\"b: QEMU refused: Device 'a\"b' not found"
check "... the request reached QEMU as valid JSON, the id intact" \
	eval '! grep -q INVALID "$QLOG" && python3 -c "
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert reqs[-1] == {\"execute\": \"device_del\", \"arguments\": {\"id\": \"a\\\"b\"}, \"id\": \"vr-del\"}, reqs
" "$QLOG"'
long=$(printf 'dev%.0s' {1..83})x
fake_qmp
vr detach --qmp "$QSOCK" "$long"
wait "$QPID"
expect "detach of a 250-character id: sent whole, matched in DEVICE_DELETED, exit 0" 0 "" "$long: detached"
check "... QEMU got all 250 characters" \
	eval 'python3 -c "
import json, sys
assert json.loads(open(sys.argv[1]).readlines()[-1])[\"arguments\"][\"id\"] == sys.argv[2]
" "$QLOG" "$long"'

# --- bash completion: every command's options, as its option table says ----------------
# The table (user/main.c: vr_optdefs, each command's VR_O_* bits) read here
# on its own; the completion asks the program (COMMAND --help).
table=$(python3 - "$TOP/user/main.c" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
opts = re.findall(r'\{ "([a-z-]+)", (?:no|required|optional)_argument, [^,]+, ([A-Z_0-9|() ]+|0),', src)
glob = sorted("--" + n for n, bit in opts if bit == "0")
cmds = re.findall(r'\{ "([a-z]+)", vr_cmd_\w+,(?:[^{}]|"[^"]*")*?,\s*([A-Z_|0-9 ]+), VR_JSON_\w+ \}', src)
assert len(cmds) >= 17 and glob, (cmds, glob)
for name, bits in cmds:
    own = ["--" + n for n, bit in opts if bit != "0" and bit in bits.split(" | ")]
    print(name, " ".join(sorted(glob + own)))
PY
)
# completions WORD...: what completing the last WORD offers, a line each.
completions() {
	bash -c '. "$1"/contrib/bash-completion/vfio-reserve
		COMP_WORDS=("${@:2}"); COMP_CWORD=$(($# - 2)); _vfio_reserve
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP" "$VR" "$@"
}
ncomp=0
while read -r c want; do
	got=$(completions "$c" -- | grep -- '^--.' | sort | tr '\n' ' ')
	if [[ ${got% } == "$want" ]]; then
		ncomp=$((ncomp + 1))
	else
		not_ok "completion of '$c --': its option table" "want: $want" "got:  $got"
	fi
done <<<"$table"
check "completion of COMMAND -- offers each command's options and the global ones, as user/main.c's tables say ($ncomp commands)" \
	eval '[[ $ncomp -ge 17 ]]'
got=$(completions persist --no | tr '\n' ' ')
check "completion: persist --no -> --no-initramfs" eval '[[ $got == "--no-initramfs " ]]'
got=$(completions --json li | tr '\n' ' ')
check "completion: --json li -> list, libvirt (the commands from --help)" eval '[[ $got == "list libvirt " ]]'

finish
