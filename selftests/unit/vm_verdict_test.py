#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""How vm.py turns a guest's console into pass/fail/skip (Verdict.decide).
The exit status is read before any SKIP line. Prints TAP."""

import importlib.util
import os
import sys

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
]

print("TAP version 13")
print(f"1..{len(CASES)}")
failed = 0
for n, (desc, tap, rc, want) in enumerate(CASES, 1):
    got = verdict(tap, rc)
    if got == want:
        print(f"ok {n} vm verdict: {desc} -> {want}")
    else:
        failed += 1
        print(f"not ok {n} vm verdict: {desc} -> {got}, want {want}")
sys.exit(1 if failed else 0)
