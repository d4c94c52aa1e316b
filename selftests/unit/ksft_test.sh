#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The tests as a kernel selftests directory (selftests/Makefile, issue 19),
# on the build host: every VM test names the device-map roles of the
# devices it uses; settings' timeout covers every vm-timeout; make install
# lays out what run_kselftest.sh runs; run here, where there is no module
# and no map, every test skips with its reason and the host is unchanged;
# and lib.sh's gate (a fake test in the installed collection): a missing
# role, a bad map, the environment over the map. Prints TAP.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$TOP/build/unit/ksft
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() {
	n=$((n + 1)) failed=$((failed + 1))
	echo "not ok $n $1"
	shift
	[[ $# == 0 ]] || printf '%s\n' "$@" | tail -n 30 | sed 's/^/# /'
}
check() { # check DESC CMD...
	local desc=$1 ck_out
	shift
	if ck_out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc" "$ck_out"; fi
}
echo "TAP version 13"

# --- every test's roles cover the devices it names -----------------------------
roles_ok() {
	local f role bad=0
	declare -A of=([NIC1]=nic [NIC0]=nic-twin [NVME]=sriov-pf [MF0]=mf-pair [MF1]=mf-pair
		[HP_ADDR]=hotplug [HP_PORT]=hotplug [DISK]=disk)
	for f in "$TOP"/selftests/vm/tests/[0-9]*.sh; do
		roles=" $(sed -n 's/^# vr-roles: *//p' "$f" | head -n 1) "
		for var in "${!of[@]}"; do
			grep -qE "\\\$\\{?$var\\b" "$f" || continue
			role=${of[$var]}
			[[ $roles == *" $role "* ]] && continue
			echo "${f##*/} uses \$$var but its vr-roles lack $role"
			bad=1
		done
	done
	return $bad
}
check "every VM test's vr-roles name the roles of the devices it uses" roles_ok

timeouts_ok() {
	local t max=0 f
	for f in "$TOP"/selftests/vm/tests/[0-9]*.sh; do
		t=$(sed -n 's/^# vm-timeout: *//p' "$f")
		((${t:-0} > max)) && max=$t
	done
	t=$(sed -n 's/^timeout=//p' "$TOP/selftests/settings")
	((t >= max)) || { echo "settings: timeout=$t, but a vm-timeout is $max"; return 1; }
}
check "selftests/settings' timeout covers every test's vm-timeout" timeouts_ok

# --- make install, then run_kselftest.sh on this host ----------------------------
rm -rf "$WORK"
mkdir -p "$WORK"
if out=$(make -C "$TOP/selftests" install INSTALL_PATH="$WORK/install" 2>&1); then
	ok "make -C selftests install INSTALL_PATH=DIR"
else
	not_ok "make -C selftests install INSTALL_PATH=DIR" "$out"
	echo "1..$n"
	exit 1
fi
I=$WORK/install
list_ok() {
	local want got
	want=$(cd "$TOP/selftests" && printf 'vfio-reserve:%s\n' vm/tests/[0-9]*.sh)
	got=$("$I/run_kselftest.sh" -l)
	[[ $got == "$want" ]] || { diff <(echo "$want") <(echo "$got"); return 1; }
	[[ -x $I/kselftest/runner.sh && -r $I/vfio-reserve/settings && -r $I/vfio-reserve/config &&
		-x $I/vfio-reserve/vr_genl_test && -r $I/vfio-reserve/vm/lib.sh &&
		-r $I/vfio-reserve/vm/devices.map && -r $I/vfio-reserve/vfio_reserve.yaml ]]
}
check "... run_kselftest.sh -l lists every test; the kernel's runner, settings, config, lib.sh, the map, vr_genl_test beside" list_ok

# What a run may change on a host, before and after.
host_state() {
	lsmod 2>/dev/null | sort
	ip route show table all 2>/dev/null
	ip -6 route show table all 2>/dev/null
	find /etc/modprobe.d /etc/initramfs-tools -type f -exec sha256sum {} + 2>/dev/null | sort
	cut -d' ' -f2-4 /proc/mounts | sort
	for d in /sys/bus/pci/devices/*; do
		echo "${d##*/} $(readlink "$d/driver") $(cat "$d/driver_override" 2>/dev/null)"
	done
}
if [[ -d /sys/module/vfio_reserve ]] || modinfo vfio_reserve >/dev/null 2>&1; then
	echo "ok $((n + 1)) run_kselftest.sh on the build host # SKIP vfio_reserve is installed here: the tests could run for real"
	n=$((n + 1))
else
	before=$(host_state)
	# Through a pipe: the runner appends each test's lines to /dev/stdout
	# while its own go through fd 1, which a plain file would overwrite.
	env -u VR_KVER -u VR_TOP -u VR_DEV_MAP "$I/run_kselftest.sh" 2>&1 | cat >"$WORK/run.tap"
	after=$(host_state)
	total=$(grep -c . <<<"$("$I/run_kselftest.sh" -l)")
	skips=$(grep -cE '^ok [0-9]+ selftests: vfio-reserve: .* # SKIP$' "$WORK/run.tap")
	check "run_kselftest.sh here (no module, no map): all $total tests skip, none fails" \
		eval "[[ $skips == $total ]] && ! grep -q '^not ok' '$WORK/run.tap'"
	reasons=$(grep -c '^# 1\.\.0 # SKIP .' "$WORK/run.tap")
	check "... each says why (its 1..0 # SKIP line)" eval "[[ $reasons == $total ]]"
	check "... and nothing on this host changed (modules, routes, modprobe.d, mounts, drivers)" \
		eval '[[ "$before" == "$after" ]] || { diff <(echo "$before") <(echo "$after"); false; }'
fi

# --- lib.sh's gate, through a fake test in the installed collection -------------
# It only prints the roles' addresses: VR_KVER set stands for vm.py, so the
# host checks (module, IOMMU) are not what is tested here.
T=$I/vfio-reserve/vm/tests/99-gate.sh
cat >"$T" <<'EOF'
#!/bin/bash
# vr-roles: nic mf-pair
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ktap_plan 1
ktap_ok "ran with NIC1=$NIC1 MF0=$MF0 MF1=$MF1"
ktap_finish
EOF
chmod +x "$T"
fake() { # fake ENV...: run the fake test with ENV; $out, $rc
	out=$(cd "${T%/*}" && env -u VR_DEV_MAP -u VR_DEV_NIC -u VR_DEV_MF0 -u VR_DEV_MF1 "$@" ./99-gate.sh 2>&1) && rc=0 || rc=$?
}
A=$(ls /sys/bus/pci/devices | head -n 1)
: >"$WORK/empty.map"
fake VR_KVER=x VR_DEV_MAP="$WORK/empty.map"
check "a role missing from the map (an empty one): exit 4, 1..0 # SKIP naming the role and its variable" \
	eval '[[ $rc == 4 ]] && grep -q "^1..0 # SKIP role nic: VR_DEV_NIC is not in the device map" <<<"$out"'
if [[ -n $A ]]; then
	printf '# a map\nVR_DEV_NIC=%s\nVR_DEV_MF0=%s  # comment\nVR_DEV_MF1=%s\n' "$A" "$A" "$A" >"$WORK/good.map"
	fake VR_KVER=x VR_DEV_MAP="$WORK/good.map"
	check "a map file: the test runs with its addresses" \
		eval '[[ $rc == 0 ]] && grep -q "^ok 1 ran with NIC1=$A MF0=$A MF1=$A" <<<"$out"'
	fake VR_KVER=x VR_DEV_MAP="$WORK/good.map" VR_DEV_MF1=
	check "... the environment wins: VR_DEV_MF1= turns mf-pair off (exit 4, named)" \
		eval '[[ $rc == 4 ]] && grep -q "SKIP role mf-pair: VR_DEV_MF1 is not in the device map" <<<"$out"'
	fake VR_KVER=x VR_DEV_MAP="$WORK/good.map" VR_DEV_NIC=0000:ff:1f.7
	check "... an address with no PCI function: exit 4, named" \
		eval '[[ $rc == 4 ]] && grep -q "SKIP role nic: VR_DEV_NIC=0000:ff:1f.7: no such PCI function" <<<"$out"'
else
	for d in "a map file" "the environment wins" "an address with no function"; do
		n=$((n + 1)); echo "ok $n $d # SKIP no PCI function on this host"
	done
fi
printf 'VR_DEV_NIC=%s\nrm -rf /tmp/x\n' "$A" >"$WORK/bad.map"
fake VR_KVER=x VR_DEV_MAP="$WORK/bad.map"
check "a map line that is not VR_DEV_<ROLE>=ADDRESS: exit 1, file and line named, nothing run" \
	eval '[[ $rc == 1 ]] && grep -q "bad.map:2: not VR_DEV_<ROLE>=ADDRESS: rm -rf /tmp/x" <<<"$out" && ! grep -q "^ok" <<<"$out"'
fake VR_KVER=x VR_DEV_MAP="$WORK/none.map"
check "a map that cannot be read: exit 1, named" \
	eval '[[ $rc == 1 ]] && grep -q "cannot read the device map VR_DEV_MAP=$WORK/none.map" <<<"$out"'
sed -i 's/^# vr-roles: nic mf-pair/# vr-roles: nic gpu/' "$T"
fake VR_KVER=x VR_DEV_NIC="$A"
check "a test naming a role lib.sh does not know: exit 1, named" \
	eval '[[ $rc == 1 ]] && grep -q "no role '\''gpu'\''" <<<"$out"'
sed -i 's/^# vr-roles: .*/# vr-destructive: it adds a default route/' "$T"
fake -u VR_KVER
check "outside vm.py, a destructive test without VR_DESTRUCTIVE=1: exit 4, says what it would change" \
	eval '[[ $rc == 4 ]] && grep -q "SKIP it changes the host: it adds a default route (VR_DESTRUCTIVE=1 runs it)" <<<"$out"'
sed -i 's/^# vr-destructive: .*/# vr-vm-only: it boots with a module parameter/' "$T"
fake -u VR_KVER
check "outside vm.py, a VM-only test: exit 4, says why" \
	eval '[[ $rc == 4 ]] && grep -q "SKIP VM only: it boots with a module parameter" <<<"$out"'

echo "1..$n"
echo "# ksft_test: $((n - failed)) passed, $failed failed"
((failed == 0))
