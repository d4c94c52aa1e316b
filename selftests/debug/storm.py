#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Hotplug storm driver for 82-hotplug-storm.sh, run in the guest.

storm.py CYCLES SECONDS ADDR PORT NETDEV: device_add an e1000e (id hp0) into
PORT and device_del it again, CYCLES times or until SECONDS have passed, over
the control channel on /dev/ttyS1 (selftests/vm/README.md). For every
arrival it waits for the module's "reserved for vfio-pci by rule ADDR" line
in /dev/kmsg and notes the driver bound to it; for every removal it waits for
DEVICE_DELETED and for the device to leave sysfs. No fork per step: a bash
loop costs seconds per cycle on a debug kernel.

Prints "# " diagnostics and a last line
STORM-RESULT cycles= by_rule= by_claim= on_vfio= unbound= other= add_fail= del_fail=
seconds= first_ms= add_ms= del_ms=  (add_ms/del_ms: mean latencies)
"""

import json
import os
import select
import sys
import termios
import time


class Ctl:
    """The control channel: one JSON request per line, one reply each."""

    def __init__(self, path="/dev/ttyS1"):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        attrs = termios.tcgetattr(self.fd)
        # raw, 115200, no echo (what `stty raw -echo 115200` does)
        attrs[0] = 0
        attrs[1] = 0
        attrs[2] = (attrs[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8 | \
            termios.CREAD | termios.CLOCAL
        attrs[3] = 0
        attrs[4] = attrs[5] = termios.B115200
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        self.buf = b""
        self.drain()

    def drain(self):
        while select.select([self.fd], [], [], 0.2)[0]:
            if not os.read(self.fd, 65536):
                break
        self.buf = b""

    def request(self, obj, timeout=10.0):
        os.write(self.fd, json.dumps(obj, separators=(",", ":")).encode() + b"\n")
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise TimeoutError(f"no reply to {obj}")
            self.buf += os.read(self.fd, 65536)
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line.decode(errors="replace").strip("\r"))

    def events(self):
        return self.request({"execute": "vr-events"}).get("return", [])


class Kmsg:
    """New kernel log records since the last call, without re-reading."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def lines(self):
        out = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                return out
            except BrokenPipeError:  # overwritten records: go on
                continue
            if not rec:
                return out
            text = rec.decode(errors="replace")
            out.append(text.split(";", 1)[-1].split("\n", 1)[0])


def exists(addr):
    return os.path.exists(f"/sys/bus/pci/devices/{addr}")


def driver(addr):
    try:
        return os.path.basename(os.readlink(f"/sys/bus/pci/devices/{addr}/driver"))
    except OSError:
        return ""


def wait(cond, timeout, step=0.02):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            return False
        time.sleep(step)
    return True


def main():
    cycles, seconds = int(sys.argv[1]), float(sys.argv[2])
    addr, port, netdev = sys.argv[3], sys.argv[4], sys.argv[5]
    ctl = Ctl()
    kmsg = Kmsg()
    # pci_info() lines: "<driver or pci> ADDR: vfio_reserve: ..."
    want = f" {addr}: vfio_reserve: reserved for vfio-pci by rule {addr}"
    # the churn's DEVICE_CLAIM may get there first: between the device's
    # entry on the bus and the module's notifier
    claimed = f" {addr}: vfio_reserve: reserved for vfio-pci by rule claim"
    released = f" {addr}: vfio_reserve: released"
    add = {"execute": "device_add", "arguments": {"driver": "e1000e", "bus": port,
           "netdev": netdev, "id": "hp0", "romfile": ""}}
    rm = {"execute": "device_del", "arguments": {"id": "hp0"}}
    c = dict(cycles=0, by_rule=0, by_claim=0, on_vfio=0, unbound=0, other=0, add_fail=0, del_fail=0)
    add_ms = del_ms = 0.0
    first_ms = 0
    t0 = time.monotonic()
    ctl.events()
    for i in range(1, cycles + 1):
        if time.monotonic() - t0 > seconds:
            break
        ts = time.monotonic()
        kmsg.lines()
        reply = ctl.request(add)
        if "return" not in reply:
            print(f"# cycle {i}: device_add: {reply}")
            c["add_fail"] += 1
            break
        log = []

        def seen(text):
            log.extend(kmsg.lines())
            return any(text in line for line in log)

        if wait(lambda: exists(addr), 20):
            if wait(lambda: seen(want) or seen(claimed), 10):
                first = next(line for line in log if want in line or claimed in line)
                c["by_rule" if want in first else "by_claim"] += 1
            else:
                print(f"# cycle {i}: not reserved on arrival")
            # bound, or released by the churn already
            wait(lambda: driver(addr) or seen(released), 5)
            drv = driver(addr)
            if drv == "vfio-pci":
                c["on_vfio"] += 1
            elif not drv or wait(lambda: seen(released), 3):
                # Released by the churn: unbound, or taken by its native
                # driver. A release that waits for the device lock of a
                # probe logs "released" only after that probe, so a
                # native driver counts as released if the line follows.
                c["unbound"] += 1
            else:
                c["other"] += 1
                print(f"# cycle {i}: bound to {drv}")
        else:
            c["add_fail"] += 1
            print(f"# cycle {i}: {addr} did not appear")
        add_ms += (time.monotonic() - ts) * 1000
        td = time.monotonic()
        reply = ctl.request(rm)
        deleted = "return" in reply and wait(
            lambda: any(e.get("event") == "DEVICE_DELETED" and
                        e.get("data", {}).get("device") == "hp0" for e in ctl.events()),
            20, 0.05)
        if not deleted or not wait(lambda: not exists(addr), 10):
            c["del_fail"] += 1
            print(f"# cycle {i}: unplug did not complete ({reply})")
            if c["del_fail"] > 3:
                break
        del_ms += (time.monotonic() - td) * 1000
        c["cycles"] = i
        if i == 1:
            first_ms = round((time.monotonic() - ts) * 1000)
        if i % 50 == 0:
            print(f"# {i} cycles, {time.monotonic() - t0:.0f} s", flush=True)
    n = max(c["cycles"], 1)
    print("STORM-RESULT " + " ".join(f"{k}={v}" for k, v in c.items()) +
          f" seconds={time.monotonic() - t0:.0f} first_ms={first_ms}"
          f" add_ms={add_ms / n:.0f} del_ms={del_ms / n:.0f}", flush=True)


if __name__ == "__main__":
    main()
