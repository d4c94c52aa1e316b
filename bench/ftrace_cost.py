#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The module's own time in one function_graph trace (bench/README.md, 7).

Reads the trace bench/ftrace.sh recorded: the function_graph tracer with
funcgraph-abstime, funcgraph-proc and funcgraph-tail on, filtered to the
module's entry points (its vr_* functions the kernel calls: the bus
notifier, the settle work item, the scan callback at load) and to the
kernel work they or the driver core start (pci_device_add, device_attach,
device_release_driver, __request_module, vfio_pci_probe).

Prints one line of KEY=VALUE figures, in microseconds:

  module=  the module's own time: every vr_* call's duration less the
           kernel functions traced inside it (a probe it starts, a
           request_module), which are not the module's work
  settle=  of which the settle work item's own time (vr_settle_fn)
  notify=  of which the bus notifier's (vr_bus_notify), calls=N
  scan=    of which the scan at load (vr_scan_one, once per device)
  reqmod=  __request_module called by the module (a target loaded)
  path=    the first pci_device_add's entry to the last vfio_pci_probe's
           return ("-" when the trace has not both)
  probe=   vfio_pci_probe's time, summed
  entries= traced calls whose hooks run in the module's time: the module's
           own, and the kernel functions they call (each carries the
           tracer's cost about once)
  nop=     the median time of a call of vr_testdrv's empty bus notifier
           (vt_nop_notify, nop_notifier=1: the control), "-" without it;
           nopcalls=N
  net=     module less entries x nop: the module's time without what the
           tracer and a notifier call cost by themselves ("-" without nop)
  by=      per module function: NAME:CALLS:OWN_US, comma-separated
"""

import re
import statistics
import sys

# "  123.456789 |   1)  kworker-12    |   3.456 us    |    vr_bus_notify();"
LINE = re.compile(r"^\s*(\d+\.\d+)\s*\|\s*(\d+)\)\s+(.+?)\s*\|\s*"
                  r"(?:[+!#*@$]\s*)?(?:(\d+(?:\.\d+)?) us)?\s*\|\s*(.*)$")
# %ps names a module's function "name [module]"
MODNAME = re.compile(r" \[[^]]+\]$")


def main():
    path = sys.argv[1]
    stacks = {}     # task -> [[name, entry_ts, child_kernel_us]]
    module = settle = notify = scan = reqmod = probe = 0.0
    calls = entries = 0
    nops = []
    by = {}         # module function -> [calls, own us]
    first_add = last_probe_end = None
    broken = 0

    def done(task, name, ts, dur):
        nonlocal module, settle, notify, scan, reqmod, probe, calls, entries
        nonlocal first_add, last_probe_end
        name = MODNAME.sub("", name)
        st = stacks.setdefault(task, [])
        child = 0.0
        if st and st[-1][0] == name:
            _, ts, child = st.pop()
        if name == "vt_nop_notify":
            nops.append(dur)
        elif name.startswith("vr_"):
            own = dur - child
            module += own
            entries += 1
            b = by.setdefault(name, [0, 0.0])
            b[0] += 1
            b[1] += own
            if st and st[-1][0].startswith("vr_"):
                st[-1][2] += dur    # counted once: as its own
            if name == "vr_settle_fn":
                settle += own
            elif name == "vr_bus_notify":
                notify += own
                calls += 1
            elif name == "vr_scan_one":
                scan += own
        else:
            # kernel work: not the module's, though it may run inside it
            if st and st[-1][0].startswith("vr_"):
                st[-1][2] += dur
                entries += 1        # its hooks run in the module's time
                if name == "__request_module":
                    reqmod += dur
            if name == "pci_device_add" and first_add is None:
                first_add = ts
            if name == "vfio_pci_probe":
                probe += dur
                last_probe_end = ts + dur / 1e6

    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            ts, task, dur, text = float(m.group(1)), m.group(3), m.group(4), m.group(5)
            text = text.strip()
            st = stacks.setdefault(task, [])
            if text.endswith("() {"):
                st.append([MODNAME.sub("", text[:-4]), ts, 0.0])
            elif text.endswith("();") and dur is not None:
                done(task, text[:-3], ts, float(dur))
            elif text.startswith("}") and dur is not None:
                tail = re.search(r"/\* (\S+)(?: \[\S+\])? \*/", text)
                name = tail.group(1) if tail else (st[-1][0] if st else "?")
                if not st or st[-1][0] != name:
                    broken += 1
                    # an unmatched return (the entry was before the trace)
                    while st and st[-1][0] != name:
                        st.pop()
                done(task, name, ts, float(dur))
    path_us = "-" if first_add is None or last_probe_end is None \
        or last_probe_end < first_add else f"{(last_probe_end - first_add) * 1e6:.1f}"
    nop = statistics.median(nops) if nops else None
    net = "-" if nop is None else f"{max(module - entries * nop, 0.0):.1f}"
    print(f"module={module:.1f} settle={settle:.1f} notify={notify:.1f} calls={calls} "
          f"scan={scan:.1f} reqmod={reqmod:.1f} path={path_us} probe={probe:.1f} "
          f"unmatched={broken} entries={entries} "
          f"nop={'-' if nop is None else f'{nop:.1f}'} nopcalls={len(nops)} net={net} "
          f"by={','.join(f'{n}:{c}:{t:.1f}' for n, (c, t) in sorted(by.items())) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
