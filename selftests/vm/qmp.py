#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""qmp.py SOCKET COMMAND [ARGUMENTS-JSON]: run one QMP command on a QEMU
(inside the test VM: the nested one) and print its "return" as JSON.
Exit 1 with the error's desc on an error reply.

qmp.py SOCKET pci-ids: vendor:device of every PCI device QEMU emulates or
assigns (from query-pci), one per line."""

import json
import socket
import sys
import time


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    ids = cmd == "pci-ids"
    if ids:
        cmd = "query-pci"
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    deadline = time.monotonic() + 15
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    f = s.makefile("rw")
    json.loads(f.readline())                      # the greeting
    for req in ({"execute": "qmp_capabilities"}, {"execute": cmd}):
        if req["execute"] == cmd and args is not None:
            req["arguments"] = args
        f.write(json.dumps(req) + "\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "event" in reply:
                continue
            break
        if "error" in reply:
            print(reply["error"].get("desc", reply), file=sys.stderr)
            sys.exit(1)
    if not ids:
        print(json.dumps(reply["return"]))
        return
    def walk(devices):
        for dev in devices:
            print("%04x:%04x" % (dev["id"]["vendor"], dev["id"]["device"]))
            walk(dev.get("pci_bridge", {}).get("devices", []))
    for bus in reply["return"]:
        walk(bus["devices"])


if __name__ == "__main__":
    main()
