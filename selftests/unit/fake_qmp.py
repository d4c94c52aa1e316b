#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A QMP server for the helper's unit tests: fake_qmp.py SOCKET LOG [--refuse].

Serves one client as QEMU does: greets, answers qmp_capabilities, and
device_del, which it refuses with QEMU's own message ("Device 'ID' not
found") under --refuse and otherwise accepts and follows with a
DEVICE_DELETED event. Before each reply it sends an unrelated event, and its
replies put "id" before "return", so that a client matching by position or
by key order fails. Every request must be a JSON object on one line: each
is written to LOG as received (one per line), and a line that does not
parse is logged as INVALID and ends the session."""
import json
import os
import socket
import sys

path, log, refuse = sys.argv[1], sys.argv[2], "--refuse" in sys.argv[3:]


def send(conn, obj):
    conn.sendall(json.dumps(obj).encode() + b"\r\n")


if os.path.exists(path):
    os.unlink(path)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
srv.settimeout(20)
conn, _ = srv.accept()
send(conn, {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}},
                    "capabilities": []}})
buf = b""
with open(log, "w") as out:
    while True:
        data = conn.recv(65536)
        if not data:
            break
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            try:
                req = json.loads(line)
            except ValueError:
                out.write("INVALID " + line.decode(errors="replace") + "\n")
                sys.exit(0)
            out.write(json.dumps(req) + "\n")
            out.flush()
            rid = req.get("id")
            send(conn, {"event": "RTC_CHANGE", "data": {"offset": 0},
                        "timestamp": {"seconds": 0, "microseconds": 0}})
            if req.get("execute") == "device_del":
                dev = req["arguments"]["id"]
                if refuse:
                    send(conn, {"id": rid, "error": {
                        "class": "DeviceNotFound",
                        "desc": "Device '%s' not found" % dev}})
                    continue
                send(conn, {"id": rid, "return": {}})
                send(conn, {"event": "DEVICE_DELETED",
                            "data": {"device": dev, "path": "/machine/peripheral/" + dev},
                            "timestamp": {"seconds": 1, "microseconds": 0}})
            else:
                send(conn, {"id": rid, "return": {}})
