#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""expect-initramfs.py TIMEOUT COMMANDS -- QEMU...: boot QEMU with its
serial console on stdio, wait for the initramfs shell prompt (boot with
break=premount), type COMMANDS, print everything until VR-NESTED-END, then
kill QEMU. Exit 1 on timeout, 3 when QEMU ended before that (its exit
status is printed)."""

import os
import select
import subprocess
import sys
import time


def main():
    timeout = float(sys.argv[1])
    commands = sys.argv[2]
    qemu = sys.argv[sys.argv.index("--") + 1:]
    proc = subprocess.Popen(qemu, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    seen = b""
    sent = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                status = proc.wait()
                print(f"\nexpect-initramfs: QEMU exited with status {status} "
                      f"after {timeout - (deadline - time.monotonic()):.0f} s, "
                      "before the end marker", file=sys.stderr)
                return 3
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            seen += chunk
            if not sent and b"(initramfs)" in seen:
                proc.stdin.write(commands.encode() + b"\necho VR-NESTED-END\n")
                proc.stdin.flush()
                sent = True
            if sent and b"\nVR-NESTED-END" in seen:
                return 0
        print(f"\nexpect-initramfs: no end marker within {timeout:.0f} s", file=sys.stderr)
        return 1
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())
