#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vfio-reserve list: --json agrees with sysfs for every PCI function (address,
# driver, IOMMU group, ids, class) and says "reserved" for exactly the one
# device the devices= parameter reserved; the table has a header and one line
# per function; selectors filter; a bad selector is a usage error. Each
# function's interfaces and disks, and "active" (a default route), as
# dpdk-devbind shows them (issue 18); disks: 48-safety. On a host, "active"
# is checked for the map's devices (the host's own NICs and disks are
# active too), and the default route it adds (metric 4242) is undone.
# shellcheck disable=SC2016,SC2034 # the checks are eval'd strings
# vr-roles: nic nic-twin sriov-pf mf-pair
# vr-destructive: it adds a default route (metric 4242) through the map's NIC
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

need_helper

# Compare list --json (argv[1]) with /sys/bus/pci/devices; argv[2] is the
# only address that may be reserved. Prints what differs.
cat >/tmp/list-vs-sysfs.py <<'EOF'
import json, os, sys

listed = {d["address"]: d for d in json.loads(sys.argv[1])}
reserved = sys.argv[2]
root = "/sys/bus/pci/devices"
bad = []

def attr(addr, name):
    with open(os.path.join(root, addr, name)) as f:
        return f.read().strip()

def link(addr, name):
    p = os.path.join(root, addr, name)
    return os.path.basename(os.readlink(p)) if os.path.islink(p) else None

sysfs = sorted(os.listdir(root))
if sorted(listed) != sysfs:
    bad.append("addresses: list %s, sysfs %s" % (sorted(listed), sysfs))
for addr in sysfs:
    d = listed.get(addr)
    if d is None:
        continue
    group = link(addr, "iommu_group")
    want = {
        "driver": link(addr, "driver"),
        "iommu_group": int(group) if group is not None else None,
        "vendor": attr(addr, "vendor")[2:],
        "device": attr(addr, "device")[2:],
        "subsystem_vendor": attr(addr, "subsystem_vendor")[2:],
        "subsystem_device": attr(addr, "subsystem_device")[2:],
        "class": attr(addr, "class")[2:],
        "state": "reserved" if addr == reserved else "none",
    }
    for k, v in want.items():
        if d.get(k) != v:
            bad.append("%s %s: list %r, sysfs %r" % (addr, k, d.get(k), v))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF

need_module_unloaded
ktap_plan 17
native=$(native_driver "$NIC0")
# The map's devices start unbound, as in the VM (NIC1 is the one with no
# driver that check is asked about).
start_unbound "$NIC1"
# Without the module: what sysfs tells (issue 18), the module's facts null.
nomod=$("$VR" --json list 2>/tmp/nomod.err) && nrc=0 || nrc=$?
ngroups=$("$VR" --json groups 2>/dev/null) && grc=0 || grc=$?
ktap_check "without the module: list and groups exit 0 from sysfs (said), every function and group, states null" \
	eval '[[ $nrc == 0 && $grc == 0 ]] && grep -q "vfio_reserve is not loaded: read from sysfs" /tmp/nomod.err &&
		python3 -c "
import json, os, sys
d, g = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert d[\"module\"] is False and g[\"module\"] is False
assert sorted(x[\"address\"] for x in d[\"devices\"]) == sorted(os.listdir(\"/sys/bus/pci/devices\"))
assert all(x[\"state\"] is None for x in d[\"devices\"])
for x in d[\"devices\"]:
    link = \"/sys/bus/pci/devices/%s/iommu_group\" % x[\"address\"]
    assert x[\"iommu_group\"] == int(os.path.basename(os.readlink(link))), x
assert sorted(x[\"group\"] for x in g[\"groups\"]) == sorted(int(n) for n in os.listdir(\"/sys/kernel/iommu_groups\"))
" "$nomod" "$ngroups"' || ktap_diag </tmp/nomod.err
# check without the module (issue 18): no driver is a FAIL whose fix loads
# the module; bound to vfio-pci by hand, the positive control, it can be
# assigned (VT-d remaps interrupts here: the IR- chips say so, not the module).
chk=$("$VR" check "$NIC1" 2>/tmp/chk.err) && crc=0 || crc=$?
ktap_check "without the module: check $NIC1 (no driver) exits 1: FAIL not on a VFIO driver, fix modprobe vfio_reserve, then claim; rule ?" \
	eval '[[ $crc == 1 ]] && grep -q "vfio_reserve is not loaded: read from sysfs" /tmp/chk.err &&
		grep -qF "FAIL  not bound to a VFIO driver (no driver)" <<<"$chk" &&
		grep -qF "fix: modprobe vfio_reserve, then vfio-reserve claim $NIC1" <<<"$chk" &&
		grep -qF "  rule: ? (vfio_reserve is not loaded" <<<"$chk"' || ktap_diag "$chk"
modprobe vfio-pci
echo vfio-pci >"$(pci_dev "$NIC1")/driver_override"
echo "$NIC1" >/sys/bus/pci/drivers_probe
chk=$("$VR" --json check "$NIC1" 2>/dev/null) && crc=0 || crc=$?
ktap_check "... bound to vfio-pci by hand: exit 0, ok, module false, state null, no problem" \
	eval '[[ $crc == 0 && $(pci_driver "$NIC1") == vfio-pci ]] && python3 -c "
import json, sys
d = json.loads(sys.argv[1])
(x,) = d[\"devices\"]
assert d[\"module\"] is False and x[\"ok\"] and x[\"state\"] is None and x[\"problems\"] == [], d
" "$chk"' || ktap_diag "$chk"
echo "$NIC1" >/sys/bus/pci/drivers/vfio-pci/unbind
echo >"$(pci_dev "$NIC1")/driver_override"
ktap_check "modprobe vfio_reserve devices=$NIC1" modprobe vfio_reserve devices="$NIC1"
ktap_check "$NIC1 is bound to vfio-pci" \
	wait_for 30 eval '[[ $(pci_driver "$NIC1") == vfio-pci ]]'
if vr_on_vm; then
	modprobe e1000e
	modprobe nvme
	ktap_check "e1000e and nvme bound the others (drivers vary)" \
		wait_for 30 eval '[[ $(pci_driver "$NIC0") == e1000e && $(pci_driver "$NVME") == nvme &&
			$(pci_driver "$MF0") == e1000e && -z $(pci_driver "$MF1") ]]'
else
	ktap_check "$NIC0 is on $native" wait_for 30 eval '[[ $(pci_driver "$NIC0") == "$native" ]]'
fi

doc=$("$VR" --json list 2>&1) && lrc=0 || lrc=$?
ktap_check "list --json exits 0: one object, schema_version 1, command list, module true, devices (vfio-reserve(8))" \
	eval '[[ $lrc == 0 ]] && python3 -c "import json,sys; d = json.load(sys.stdin); sys.exit(sorted(d) != [\"command\", \"devices\", \"module\", \"schema_version\"] or d[\"module\"] is not True or d[\"schema_version\"] != 1 or d[\"command\"] != \"list\" or not isinstance(d[\"devices\"], list))" <<<"$doc"' ||
	ktap_diag <<<"$doc"
json=$(vrjson list 2>&1)
ktap_check "list --json agrees with sysfs for every function; only $NIC1 is reserved" \
	python3 /tmp/list-vs-sysfs.py "$json" "$NIC1"

table=$("$VR" list 2>&1) && trc=0 || trc=$?
ndev=$(find /sys/bus/pci/devices -mindepth 1 -maxdepth 1 | wc -l)
ktap_check "list: a header, then one line for each of the $ndev functions" \
	eval '[[ $trc == 0 ]] &&
		head -n 1 <<<"$table" | grep -q "^ADDRESS  *DRIVER  *STATE  *TARGET  *GROUP  *IN-USE  *RESET  *SR-IOV  *DEVICE$" &&
		[[ $(tail -n +2 <<<"$table" | wc -l) == "$ndev" ]] &&
		[[ $(tail -n +2 <<<"$table" | awk "{print \$1}" | sort) == "$(ls /sys/bus/pci/devices | sort)" ]]' ||
	ktap_diag <<<"$table"
ktap_check "list: the $NIC1 line says vfio-pci, reserved, for vfio-pci; $NIC0 says $native" \
	eval 'grep -qE "^$NIC1 +vfio-pci +reserved +vfio-pci " <<<"$table" &&
		grep -qE "^$NIC0 +$native +- +- " <<<"$table"'
# The names are libpci's, whole, as lspci -nn prints them (the oracle;
# list has no revision or prog-if).
names_ok() {
	local d want
	for d in /sys/bus/pci/devices/*; do
		d=${d##*/}
		want=$(lspci -nn -s "$d" | cut -d" " -f2- | sed -E "s/ \((rev|prog-if) .*$//")
		grep -qF -- "$want" <<<"$(grep "^$d " <<<"$table")" || { echo "$d: want '$want'"; return 1; }
	done
}
ktap_check "list: every line ends with the device's name as lspci -nn gives it, uncut" names_ok

ids=$(pci_ids "$NIC1")
same_fns=$(for d in /sys/bus/pci/devices/*; do
	[[ $(<"$d/vendor") == "0x${ids%:*}" && $(<"$d/device") == "0x${ids#*:}" ]] && echo "${d##*/}"
done | sort)
sel_table=$("$VR" list "$ids" 2>&1) && src=0 || src=$?
ktap_check "list $ids lists exactly the functions with those ids (${same_fns//$'\n'/ })" \
	eval '[[ $src == 0 && $(tail -n +2 <<<"$sel_table" | awk "{print \$1}" | sort) == "$same_fns" ]]' ||
	ktap_diag <<<"$sel_table"
sel_json=$(vrjson list "$NIC1" "$NVME" 2>&1)
ktap_check "list --json $NIC1 $NVME lists those two" \
	python3 -c '
import json, sys
got = sorted(d["address"] for d in json.loads(sys.argv[1]))
assert got == sorted(sys.argv[2:]), got
' "$sel_json" "$NIC1" "$NVME"

# What the host has on each function, as dpdk-devbind shows it: its
# interfaces and disks (sysfs the oracle), "active" when the host uses it.
# A default route out of nic0's interface makes nic0 active.
nic0_if=$(ls "$(pci_dev "$NIC0")/net")
ip -o link show dev "$nic0_if" | grep -q "[<,]UP[,>]" || vr_defer "ip link set dev '$nic0_if' down"
ip link set "$nic0_if" up
ip route add default dev "$nic0_if" metric 4242 && vr_defer "ip route del default dev '$nic0_if' metric 4242"
# Which functions must not be active: every other one in the VM, the map's
# others on a host (whose own NICs and disks are active).
if vr_on_vm; then idle=all; else idle="$NIC1 $MF0 $MF1 $NVME"; fi
uses_json=$(vrjson list 2>&1)
ktap_check "list --json: every function's netdevs and block_devices as sysfs has them; $NIC0 ($nic0_if, the default route) active, ${idle/all/every other} not" \
	python3 -c '
import json, os, sys
nic0, idle = sys.argv[2], sys.argv[3].split()
def disks(addr):
    out = []
    for b in os.listdir("/sys/class/block"):
        p = "/sys/class/block/" + b
        if not os.path.exists(p + "/partition") and "/%s/" % addr in os.path.realpath(p) + "/":
            out.append(b)
    return sorted(out)
for d in json.loads(sys.argv[1]):
    a, net = d["address"], "/sys/bus/pci/devices/%s/net" % d["address"]
    want_net = sorted(os.listdir(net)) if os.path.isdir(net) else []
    assert sorted(d["netdevs"]) == want_net, (a, d["netdevs"], want_net)
    assert sorted(d["block_devices"]) == disks(a), (a, d["block_devices"])
    if a == nic0:
        assert d["active"], (a, d["active"], d["active_why"])
    elif idle == ["all"] or a in idle:
        assert not d["active"], (a, d["active"], d["active_why"])
' "$uses_json" "$NIC0" "$idle"
table=$("$VR" list 2>&1)
mf0_if=$(ls "$(pci_dev "$MF0")/net" 2>/dev/null | head -n 1)
ktap_check "list: $NIC0's line ends in if=$nic0_if *Active*, $MF0's in ${mf0_if:+if=$mf0_if alone}${mf0_if:-its device name (no interface)}" \
	eval 'grep -qE "^$NIC0 .* if=$nic0_if \*Active\*$" <<<"$table" &&
		if [[ -n $mf0_if ]]; then grep -qE "^$MF0 .*\] if=$mf0_if$" <<<"$table";
		else grep -qE "^$MF0 .*\]$" <<<"$table"; fi' || ktap_diag <<<"$table"
run "$VR" check "$NIC0"
ktap_check "check $NIC0 names its interface, active, and why (the default route)" \
	eval 'grep -q "has:  interfaces $nic0_if; \*Active\*" <<<"$cmd_out" && grep -q "default route" <<<"$cmd_out"'
vr_undo_last	# the default route

bad_out=$("$VR" list 'bad!sel' 2>&1) && brc=0 || brc=$?
ktap_check "list 'bad!sel' exits 2 naming the token" \
	eval '[[ $brc == 2 ]] && grep -q "bad!sel" <<<"$bad_out" && grep -q "^usage:" <<<"$bad_out"' ||
	ktap_diag <<<"$bad_out"
ktap_finish
