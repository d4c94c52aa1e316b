#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""How vm.py turns a guest's console into pass/fail/skip (Verdict.decide).
The exit status is read before any SKIP line. And what the guest's
vr-boot-initramfs may ask of the host: refused before any QEMU starts.
Prints TAP."""

import importlib.util
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.realpath(__file__))
spec = importlib.util.spec_from_file_location(
    "vm", os.path.join(HERE, "..", "vm", "vm.py"))
vm = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vm)


def verdict(tap, rc):
    v = vm.Verdict(lambda s: None)
    for line in ["VR-READY uptime=2.5", "VR-TAP-BEGIN", *tap, f"VR-TAP-END rc={rc}"]:
        v.line(line, 1.0)
    return v.decide()[0]


CASES = [
    ("all passed, exit 0", ["1..2", "ok 1 a", "ok 2 b"], 0, "pass"),
    ("one SKIP line then exit 1", ["1..2", "ok 1 a # SKIP no device"], 1, "fail"),
    ("every line SKIP then exit 1", ["1..1", "ok 1 a # SKIP x"], 1, "fail"),
    ("exit 4 after a pass", ["1..2", "ok 1 a", "ok 2 b # SKIP x"], 4, "fail"),
    ("exit 4 with only skips", ["1..2", "ok 1 a # SKIP x", "ok 2 b # SKIP x"], 4, "skip"),
    ("1..0 # SKIP and exit 4", ["1..0 # SKIP no IOMMU"], 4, "skip"),
    ("a pass and a skip, exit 0", ["1..2", "ok 1 a", "ok 2 b # SKIP x"], 0, "pass"),
    ("not ok, exit 0", ["1..1", "not ok 1 a"], 0, "fail"),
    ("plan not kept, exit 0", ["1..3", "ok 1 a"], 0, "fail"),
    ("no plan, exit 0", ["ok 1 a"], 0, "fail"),
    ("exit 2 with no lines", [], 2, "fail"),
    # a kernel message printed in the middle of the test's line (7.x)
    ("a kernel message cuts the plan line", ["1..1[   65.213093] vr-test: start", "", "ok 1 a"], 0, "pass"),
    ("... and a result line, mid-word",
     ["1..2", "ok 1 a", "not o[   70.000001] e1000e: x", "k 2 b"], 0, "fail"),
    ("... a passing one", ["1..2", "ok 1 a", "ok 2 b[   70.000001] e1000e: x", ""], 0, "pass"),
]




def console_verdict(raw, rc):
    """The console's bytes as the UART gives them, in chunks of 7 bytes,
    through ConsoleLines then Verdict, as vm.py reads a guest."""
    v = vm.Verdict(lambda s: None)
    lines = vm.ConsoleLines()
    data = b"VR-READY uptime=2.5\r\nVR-TAP-BEGIN\r\n" + raw + f"VR-TAP-END rc={rc}\r\n".encode()
    for i in range(0, len(data), 7):
        for line in lines.feed(data[i:i + 7]):
            v.line(line, 1.0)
    return v.decide()[0]


# printk's records on the console cut the test's lines (7.x): the record
# ends with its own newline, then comes the rest of the test's line, or
# only the test's newline when the record came at its end.
CONSOLE_CASES = [
    ("a record after the TAP header, then the test's newline (the 7.x, CI)",
     b"TAP version 13[   50.918916] vr-test: start 11-boot-split.sh pid 83\r\n\r\n"
     b"1..1\r\nok 1 a\r\n", 0, "pass"),
    ("a record after the plan, then the test's newline",
     b"TAP version 13\r\n1..2[   65.213093] vr-test: start\r\n\r\nok 1 a\r\nok 2 b\r\n", 0, "pass"),
    ("a record mid-word in a failing result",
     b"TAP version 13\r\n1..2\r\nok 1 a\r\nnot o[   70.000001] e1000e: x\r\nk 2 b\r\n", 0, "fail"),
    ("a record mid-word in a passing result",
     b"TAP version 13\r\n1..2\r\nok 1 a\r\nok [   70.000001] e1000e: x\r\n2 b\r\n", 0, "pass"),
    ("blank lines of the test's own are no lines", b"\r\n1..1\r\n\r\nok 1 a\r\n", 0, "pass"),
]


class Cfg:
    qemu = "/bin/false"   # never started: every case is refused first
    kernel = "/nonexistent"


RUNDIR = tempfile.mkdtemp(prefix="vm-verdict.")
IMAGE = os.path.join(RUNDIR, "mkinitramfs.x", "initrd.img")
GOOD = {"initrd": IMAGE, "append": "console=ttyS0", "look": "true", "timeout": 60,
        "qemu": ["-M", "q35", "-nodefaults", "-device", "e1000e"]}
BOOT_CASES = [
    ("an initrd outside the VM's run directory", {"initrd": "/etc/passwd"}, "not an image"),
    ("an initrd not in a vr-mkinitramfs directory", {"initrd": os.path.join(RUNDIR, "x")}, "not an image"),
    ("-kernel among the options", {"qemu": ["-kernel", "/boot/x"]}, "'-kernel': not one the guest may choose"),
    ("-accel among the options", {"qemu": ["-M", "q35", "-accel", "kvm"]}, "'-accel'"),
    ("an option without its value", {"qemu": ["-device"]}, "'-device'"),
    ("a timeout past 300 s", {"timeout": 301}, "timeout (at most 300 s)"),
    ("options not a list of strings", {"qemu": "-M q35"}, "a list of strings"),
]


def boot_refusal(change):
    try:
        vm.host_boot_initramfs(Cfg, RUNDIR, dict(GOOD, **change))
    except ValueError as e:
        return str(e)
    return None


print("TAP version 13")
print(f"1..{len(CASES) + len(CONSOLE_CASES) + len(BOOT_CASES)}")
failed = 0
# The verdict cases: the TAP lines as Verdict gets them, then the console's
# bytes through ConsoleLines.
VERDICT_CASES = [("vm verdict", verdict, c) for c in CASES] + \
    [("vm console", console_verdict, c) for c in CONSOLE_CASES]
for n, (kind, judge, (desc, given, rc, want)) in enumerate(VERDICT_CASES, 1):
    got = judge(given, rc)
    if got == want:
        print(f"ok {n} {kind}: {desc} -> {want}")
    else:
        failed += 1
        print(f"not ok {n} {kind}: {desc} -> {got}, want {want}")
for n, (desc, change, want) in enumerate(BOOT_CASES, len(VERDICT_CASES) + 1):
    got = boot_refusal(change)
    if got and want in got:
        print(f"ok {n} vr-boot-initramfs refuses {desc}")
    else:
        failed += 1
        print(f"not ok {n} vr-boot-initramfs refuses {desc}: {got!r}, want {want!r}")
os.rmdir(RUNDIR)
sys.exit(1 if failed else 0)
