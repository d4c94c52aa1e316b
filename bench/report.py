#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark VMs' output into one table (bench/README.md).

Reads DIR/vm-nN.out ("# bench KEY VALUE..." lines in the TAP vm.py
relays), DIR/vm-nN.rc, DIR/size.txt, DIR/structs.txt and DIR/host.txt;
prints the table to stdout and writes DIR/results.md and DIR/results.json.
With --smoke it also prints TAP: one line per row, "not ok" when a
measurement in it gave no number.
"""

import argparse
import glob
import json
import os
import random
import re
import statistics
import sys

LINE = re.compile(r"^\s*# bench (\S+)(?: (.*))?$")
HOTPLUG = ["vfio-reserve", "floor", "udev-script", "driverctl"]
BULK = ["vfio-reserve", "floor", "sysfs", "dpdk"]
STATUS = ["vfio-reserve", "dpdk", "lspci", "driverctl"]
# Table columns: key -> header.
COLUMNS = [
    ("vfio-reserve", "vfio-reserve"),
    ("floor", "floor"),
    ("sysfs", "sysfs script"),
    ("driverctl", "driverctl"),
    ("dpdk", "dpdk-devbind.py"),
    ("lspci", "lspci -k"),
]


def parse_vm(path):
    data = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if m:
                data[m.group(1)] = (m.group(2) or "").split()
    status = "missing"
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^(ok|not ok) \d+ vm:(\S+)(.*)$", line.rstrip())
            if m:
                status = "pass" if m.group(1) == "ok" and "SKIP" not in m.group(3) \
                    else f"{m.group(1)}{m.group(3)}"
    return data, status


def floats(values):
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        return []


def quantile(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(xs):
    if not xs:
        return None
    return {"n": len(xs), "median": statistics.median(xs), "p10": quantile(xs, 0.1),
            "p90": quantile(xs, 0.9), "min": min(xs), "max": max(xs)}


def bulk_goal(vr, fl, vr_from=None):
    """vfio-reserve / floor for a bulk reservation; the goal is 1.2. VR_FROM:
    vfio-reserve's time from its first reservation (leaving out modprobe's
    start and the module's load)."""
    if not vr or not fl:
        return ""
    r = vr / fl
    text = f"vfio-reserve/floor = {r:.2f} (≤ 1.2: {'met' if r <= 1.2 else 'NOT met'})"
    if vr_from:
        text += f"; {vr_from / fl:.2f} from the module's first reservation"
    return text


def us_cell(d):
    if not d:
        return "—"
    return f"{fmt(d['median'])} [{fmt(d.get('p99', d['max']))}]"


def share_goal(mod, path):
    """The module's median time as a share of the floor's median path; goal 1%."""
    if not mod or not path or not path["median"]:
        return ""
    pct = 100 * mod["median"] / path["median"]
    return (f"{pct:.2f}% of the floor's path ({fmt(path['median'])} µs); ≤ 1%: "
            f"{'met' if pct <= 1 else 'NOT met'}")


def probe_goal(mod, probe, limit):
    """The module's median time as a share of vfio_pci_probe's median; goal LIMIT %."""
    if not mod or not probe or not probe["median"]:
        return ""
    pct = 100 * mod["median"] / probe["median"]
    return (f"{pct:.1f}% of vfio-pci's own probe ({fmt(probe['median'])} µs); ≤ {limit}%: "
            f"{'met' if pct <= limit else 'NOT met'}")


def fmt(v, digits=None):
    if v is None:
        return "—"
    if digits is None:
        digits = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
    return f"{v:.{digits}f}"


def ratio(v, ref):
    if v is None or not ref:
        return ""
    r = v / ref
    return f" (×{r:.2f})" if r < 10 else f" (×{r:.0f})" if r < 1000 else f" (×{r:.1e})"


def ratio_ci(a, b, level=0.9, rounds=2000):
    """Bootstrap interval of median(a) / median(b) (fixed seed)."""
    if len(a) < 3 or len(b) < 3:
        return None
    rnd = random.Random(1)
    rs = sorted(statistics.median(rnd.choices(a, k=len(a))) /
                statistics.median(rnd.choices(b, k=len(b))) for _ in range(rounds))
    cut = int(rounds * (1 - level) / 2)
    return rs[cut], rs[rounds - 1 - cut]


def slope(points):
    """Least-squares slope of (x, y) points, or None."""
    if len(points) < 2:
        return None
    mx = statistics.mean(x for x, _ in points)
    my = statistics.mean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def analyze(out):
    """The rows of one kernel's run (the files in OUT)."""
    vms = {}
    for path in glob.glob(os.path.join(out, "vm-n*.out")):
        n = int(re.search(r"vm-n(\d+)\.out$", path).group(1))
        vms[n] = parse_vm(path)
    sizes = sorted(vms)

    def get(n, key):
        return vms.get(n, ({}, None))[0].get(key)

    res = {"sizes": sizes, "vm_status": {n: vms[n][1] for n in sizes}}
    # Tools the VM was told to leave out (guest.sh's BENCH_LEAVE_OUT).
    left_out = set(w for n in sizes for w in (get(n, "left_out") or []))
    res["left_out"] = sorted(left_out)

    # 1, 2: hotplug (the VM that ran it).
    hp_n = next((n for n in sizes if get(n, "hotplug.vfio-reserve.add_ms") is not None), None)
    hp = {}
    for m in HOTPLUG:
        if hp_n is None:
            hp[m] = {}
            continue
        probes = get(hp_n, f"hotplug.{m}.e1000e_probes")
        failed = get(hp_n, f"hotplug.{m}.failed")
        hp[m] = {
            "add": summary(floats(get(hp_n, f"hotplug.{m}.add_ms"))),
            "appear": summary(floats(get(hp_n, f"hotplug.{m}.appear_ms"))),
            "vfio_probe": summary(floats(get(hp_n, f"hotplug.{m}.vfio_probe_ms"))),
            "probes": int(probes[0]) if probes else None,
            "failed": int(failed[0]) if failed else None,
        }
    res["hotplug"] = hp

    # 3: bulk, 4: status, medians per size.
    bulk = {n: {m: summary(floats(get(n, f"bulk.{m}.ms"))) for m in BULK} for n in sizes}
    bulk_exit = {n: {m: summary(floats(get(n, f"bulk.{m}.exit_ms"))) for m in BULK}
                 for n in sizes}
    bulk_first = {n: {m: summary(floats(get(n, f"bulk.{m}.first_ms"))) for m in BULK}
                  for n in sizes}
    bulk_from = {n: summary(floats(get(n, "bulk.vfio-reserve.from_reserved_ms"))) for n in sizes}
    res["bulk_from_reserved"] = bulk_from
    status = {n: {t: summary(floats(get(n, f"status.{t}.ms"))) for t in STATUS} for n in sizes}
    res["bulk"], res["bulk_exit"], res["status"] = bulk, bulk_exit, status
    res["bulk_first"] = bulk_first

    # 5: footprint.
    size_txt = {}
    try:
        with open(os.path.join(out, "size.txt")) as f:
            lines = f.read().split("\n")
        text, data, bss = (int(x) for x in lines[1].split()[:3])
        size_txt = {"text": text, "data": data, "bss": bss}
    except (OSError, IndexError, ValueError):
        pass
    structs = {}
    try:
        with open(os.path.join(out, "structs.txt")) as f:
            for line in f:
                name, size = line.split()
                structs[name] = int(size)
    except (OSError, ValueError):
        pass
    mem = {}
    for n in sizes:
        b = floats(get(n, "mem.retained_bytes"))
        a = floats(get(n, "mem.retained_allocs"))
        o = floats(get(n, "mem.trace_overrun"))
        mem[n] = {"bytes": b[0] if b else None, "allocs": a[0] if a else None,
                  "overrun": o[0] if o else None, "sites": get(n, "mem.sites") or []}
    loaded = {n: (floats(get(n, "module.loaded_bytes")) or [None])[0] for n in sizes}
    good = [(n, mem[n]["bytes"]) for n in sizes
            if mem[n]["bytes"] is not None and mem[n]["overrun"] == 0]
    per_dev = slope(good)
    per_dev_how = "slope over N"
    if per_dev is None and good:
        per_dev, per_dev_how = good[0][1] / good[0][0], f"total / N at N={good[0][0]}"
    res["footprint"] = {"size": size_txt, "structs": structs, "mem": mem,
                        "loaded": loaded, "per_device": per_dev, "per_device_how": per_dev_how}

    host = ""
    try:
        with open(os.path.join(out, "host.txt")) as f:
            host = f.read().strip()
    except OSError:
        pass

    # ---- the table ----------------------------------------------------------
    rows = []   # (cells dict col->text, label, N text, goal text, needed cols)
    checks = []  # (description, ok, missing, left out)

    def row(label, ntext, cells, goal="", need=(), left=None):
        """LEFT: the columns of NEED left out (default: those named in left_out)."""
        rows.append((label, ntext, cells, goal))
        left = [c for c in need if c in left_out] if left is None else left
        missing = [c for c in need if c not in left and cells.get(c, "—").startswith("—")]
        checks.append((f"{label}{' N=' + ntext if ntext else ''}", not missing, missing, left))

    def dist(s, ref):
        if not s:
            return "—"
        return (f"{fmt(s['median'])}{ratio(s['median'], ref)} "
                f"[{fmt(s['p10'])}–{fmt(s['p90'])}]")

    hp_cols = {"vfio-reserve": "vfio-reserve", "floor": "floor", "udev-script": "sysfs",
               "driverctl": "driverctl"}
    hp_left = [hp_cols[m] for m in HOTPLUG if m in left_out]
    for key, label in (("add", "1 hotplug: device_add → on vfio-pci, ms, median (×) [p10–p90]"),
                       ("appear", "1 hotplug: kernel finds the device → on vfio-pci, ms"),
                       ("vfio_probe", "1 hotplug: of which vfio-pci's own probe, ms")):
        ref = (hp["vfio-reserve"].get(key) or {}).get("median")
        cells = {hp_cols[m]: dist(hp[m].get(key), ref) for m in HOTPLUG}
        fl = (hp["floor"].get(key) or {}).get("median")
        goal = ""
        if ref and fl and key != "vfio_probe":
            r = ref / fl
            ci = ratio_ci(floats(get(hp_n, f"hotplug.vfio-reserve.{key}_ms")),
                          floats(get(hp_n, f"hotplug.floor.{key}_ms")))
            if ci is None:
                goal = f"vfio-reserve/floor = {r:.2f} (too few hotplugs to judge ≤ 1.10)"
            else:
                verdict = "met" if ci[1] <= 1.1 else "NOT met" if ci[0] > 1.1 else \
                    "not resolved by the interval"
                goal = (f"vfio-reserve/floor = {r:.2f} (90% bootstrap interval "
                        f"{ci[0]:.2f}–{ci[1]:.2f}); ≤ 1.10: {verdict}")
            res.setdefault("hotplug_ratio", {})[key] = {"ratio": r, "ci90": ci}
        n_hp = (hp["vfio-reserve"].get(key) or {}).get("n")
        row(label + (f" ({n_hp} hotplugs each)" if n_hp else ""), "", cells, goal,
            need=list(hp_cols.values()), left=hp_left)
    cells = {}
    for m in HOTPLUG:
        h = hp[m]
        if h.get("probes") is None:
            cells[hp_cols[m]] = "—"
        else:
            n_ok = (h.get("add") or {}).get("n", 0)
            cells[hp_cols[m]] = f"{h['probes']} in {n_ok + (h.get('failed') or 0)}"
            if h.get("failed"):
                cells[hp_cols[m]] += f", {h['failed']} never on vfio-pci"
    vr_p = hp["vfio-reserve"].get("probes")
    row("2 native e1000e probes of the hotplugged NIC (driver core log)", "", cells,
        "" if vr_p is None else f"0 for vfio-reserve: {'met' if vr_p == 0 else 'NOT met'}",
        need=list(hp_cols.values()), left=hp_left)

    def simple(s, ref):
        return "—" if not s else f"{fmt(s['median'])}{ratio(s['median'], ref)}"

    def bulk_cell(n, m, ref):
        s, f = bulk[n][m], bulk_first[n][m]
        if not s:
            return "—"
        text = simple(s, ref) + (f"; 1st bind at {fmt(f['median'])}" if f else "")
        if m == "vfio-reserve" and bulk_from[n]:
            text += f"; {fmt(bulk_from[n]['median'])} from its first reservation"
        return text

    for n in sizes:
        b = bulk[n]
        ref = (b["vfio-reserve"] or {}).get("median")
        cells = {m: bulk_cell(n, m, ref) for m in BULK}
        reps = (b["vfio-reserve"] or {}).get("n", 0)
        row("3 bulk: N unbound functions → all on vfio-pci, ms (median of "
            f"{reps}); when the first was bound", str(n), cells,
            bulk_goal(ref, (b["floor"] or {}).get("median"),
                      (bulk_from[n] or {}).get("median")), need=BULK)
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        cells = {}
        for m, col in (("vfio-reserve", "vfio-reserve"), ("floor", "floor"),
                       ("sysfs", "sysfs"), ("dpdk", "dpdk")):
            pts = [(n, bulk[n][m]["median"]) for n in sizes if bulk[n][m]]
            s = slope(pts)
            a, z = bulk[lo][m], bulk[hi][m]
            cells[col] = "—" if not (a and z and s is not None) else \
                f"×{z['median'] / a['median']:.1f}; {fmt(s, 2)} ms/function"
        row(f"3 bulk growth N={lo}→{hi} (time ratio; least-squares ms per function)",
            "", cells)

    for n in sizes:
        s = status[n]
        ref = (s["vfio-reserve"] or {}).get("median")
        def with_min(x):
            return "—" if not x else f"{simple(x, ref)}; min {fmt(x['min'])}"
        cells = {"vfio-reserve": with_min(s["vfio-reserve"]),
                 "dpdk": with_min(s["dpdk"]), "lspci": with_min(s["lspci"]),
                 "driverctl": with_min(s["driverctl"])}
        goal = ""
        if ref and s["dpdk"] and s["lspci"]:
            rd, rl = s["dpdk"]["median"] / ref, s["lspci"]["median"] / ref
            goal = (f"×{rd:.0f} vs dpdk-devbind (≥ 30: {'met' if rd >= 30 else 'NOT met'}), "
                    f"×{rl:.1f} vs lspci -k (≥ 3: {'met' if rl >= 3 else 'NOT met'})")
        reps = (s["vfio-reserve"] or {}).get("n", 0)
        slow = (s["dpdk"] or {}).get("n", 0)
        row(f"4 status query, ms: median (×) of {reps} runs ({slow} for the slow two); fastest "
            "(driverctl: list-devices)", str(n), cells,
            goal, need=["vfio-reserve", "dpdk", "lspci", "driverctl"])
    if len(sizes) >= 3:
        cells = {}
        lin = ""
        for t, col in (("vfio-reserve", "vfio-reserve"), ("dpdk", "dpdk"),
                       ("lspci", "lspci"), ("driverctl", "driverctl")):
            med = {n: status[n][t]["median"] for n in sizes if status[n][t]}
            if len(med) != len(sizes):
                cells[col] = "—"
                continue
            s1 = (med[sizes[1]] - med[sizes[0]]) / (sizes[1] - sizes[0])
            s2 = (med[sizes[2]] - med[sizes[1]]) / (sizes[2] - sizes[1])
            cells[col] = (f"×{med[sizes[-1]] / med[sizes[0]]:.1f}; "
                          f"{fmt(s1, 2)} then {fmt(s2, 2)} ms/function")
            if t == "vfio-reserve":
                # Linear or better: no more than N's own growth, and the cost
                # of an added function not rising with N (within 1.5x, or
                # under 0.5 ms a function). A rise smaller than the run-to-run
                # spread of the runs it is read from is not resolved.
                g = med[sizes[-1]] / med[sizes[0]]
                ok = g <= sizes[-1] / sizes[0] and (s2 <= 1.5 * max(s1, 0) or s2 <= 0.5)
                hi, mid = status[sizes[2]][t], status[sizes[1]][t]
                spread = max(hi["max"] - hi["min"], mid["max"] - mid["min"])
                rise = med[sizes[2]] - med[sizes[1]]
                verdict = "met" if ok else \
                    f"not resolved (the rise, {fmt(rise)} ms, is within the runs' spread, " \
                    f"{fmt(spread)} ms)" if rise <= spread else "NOT met"
                lin = (f"vfio-reserve: ×{g:.1f} for ×{sizes[-1] / sizes[0]:.0f} the functions, "
                       f"{fmt(s1, 2)} then {fmt(s2, 2)} ms per added function: "
                       f"linear or better {verdict}")
        row(f"4 status growth N={sizes[0]}→{sizes[-1]} (time ratio; ms per added function)",
            "", cells, lin)

    sz = size_txt
    ld = sorted({int(v) for v in loaded.values() if v})
    ld_text = " / ".join(f"{v} B" for v in ld) if ld else "—"
    cells = {"vfio-reserve": (f"text {sz['text']}, data {sz['data']}, bss {sz['bss']} B; "
                              f"loaded {ld_text}" if sz else "—")}
    row("5 footprint: vfio_reserve.ko sections (size(1)); loaded size (/proc/modules)",
        "", cells, need=["vfio-reserve"] + ([] if ld else ["loaded"]))
    rec = structs.get("vr_dev")
    bucket = None
    if rec:
        bucket = next((b for b in (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096)
                       if b >= rec), None)
    cells = {"vfio-reserve": "—" if per_dev is None else
             f"{per_dev:.0f} B ({per_dev_how})"}
    note = f"struct vr_dev is {rec} B → kmalloc-{bucket}" if rec else ""
    row("5 memory per reserved device (module kmalloc()s kept, kmem trace)", "", cells, note,
        need=["vfio-reserve"])

    # 6: list --json against the number of functions (list-nN.out).
    lists = {}
    for path in glob.glob(os.path.join(out, "list-n*.out")):
        n = int(re.search(r"list-n(\d+)\.out$", path).group(1))
        lists[n] = parse_vm(path)
    res["list"] = {}
    for n in sorted(lists):
        data = lists[n][0]
        fns = floats(data.get("list.functions"))
        fns = int(fns[0]) if fns else None
        ms = summary(floats(data.get("list.ms")))
        us = summary(floats(data.get("list.dump_us_per_fn")))
        walks = floats(data.get("list.walks_per_dump"))
        cmps = floats(data.get("list.sort_cmps_per_dump"))
        cb = floats(data.get("list.callback_us_per_fn"))
        col = floats(data.get("list.collect_us_per_fn"))
        tot = floats(data.get("list.status_walk_us_per_fn"))
        res["list"][n] = {"functions": fns, "ms": ms, "dump_us_per_fn": us,
                          "walks_per_dump": walks[0] if walks else None,
                          "sort_cmps_per_dump": cmps[0] if cmps else None,
                          "callback_us_per_fn": cb[0] if cb else None,
                          "collect_us_per_fn": col[0] if col else None,
                          "status_walk_us_per_fn": tot[0] if tot else None,
                          "vm": lists[n][1]}
        cells = {"vfio-reserve": "—" if not (ms and fns) else
                 f"{fmt(ms['median'])} ms [{fmt(ms['min'])}–{fmt(ms['max'])}], "
                 f"{fmt(ms['median'] * 1000 / fns)} µs per function"}
        row(f"6 list --json, ms: median of {ms['n'] if ms else '?'} [min–max] "
            f"({fns or '?'} functions, all listed)", str(n), cells, need=["vfio-reserve"])
        cells = {"vfio-reserve": "—" if not us else
                 f"{fmt(us['median'])} µs per function [{fmt(us['min'])}–{fmt(us['max'])}]"
                 + (f"; {walks[0]:.2f} bus walks a dump" if walks else "")
                 + (f", {cmps[0]:.0f} sort() comparisons a dump" if cmps else "")}
        row("6 the module's own dump (vr_genl_test --dump-loop, 4 KiB parts): "
            "µs per function, median of the runs [min–max]; bus walks and sort() "
            "comparisons per dump (kprobes)",
            str(n), cells, need=["vfio-reserve"])
        cells = {"vfio-reserve": "—" if not (cb and col and tot) else
                 f"{fmt(cb[0])} µs per function, of which collection {fmt(col[0])}; "
                 f"STATUS_GET's walk {fmt(tot[0])}"}
        row("6 inside the module (kprobe timestamps, one run): the dump callback, "
            "µs per function, of which the collection (bus walk, merge of its runs); "
            "the control: STATUS_GET's bus walk (IOMMU group lookups only), µs per function",
            str(n), cells, need=["vfio-reserve"])
    # 3, the bulk floor at the list VMs' sizes (up to 1,024 functions).
    for n in sorted(lists):
        data = lists[n][0]
        fl = summary(floats(data.get("bulk.floor.ms")))
        vr = summary(floats(data.get("bulk.vfio-reserve.ms")))
        vf = summary(floats(data.get("bulk.vfio-reserve.from_reserved_ms")))
        fns = (floats(data.get("bulk.functions")) or [None])[0]
        ref = (vr or {}).get("median")
        res["list"][n]["bulk"] = {"floor": fl, "vfio-reserve": vr,
                                  "vfio-reserve_from_reserved": vf}
        row(f"3 bulk against the floor: {int(fns) if fns else '?'} pci-testdevs → vfio-pci, "
            f"ms (median of {(vr or {}).get('n', 0)})", str(n),
            {"vfio-reserve": simple(vr, ref) + (f"; {fmt(vf['median'])} from its first "
                                                "reservation" if vf else ""),
             "floor": simple(fl, ref)},
            bulk_goal(ref, (fl or {}).get("median"), (vf or {}).get("median")),
            need=["vfio-reserve", "floor"])

    ls = [n for n in sorted(lists) if res["list"][n]["dump_us_per_fn"]]
    if len(ls) >= 2:
        a, b = res["list"][ls[0]]["dump_us_per_fn"], res["list"][ls[-1]]["dump_us_per_fn"]
        rise = b["median"] - a["median"]
        spread = max(a["max"] - a["min"], b["max"] - b["min"])
        r = b["median"] / a["median"]
        verdict = "met" if r <= 1.1 or rise <= spread else \
            f"NOT met: ×{r:.2f}, beyond the runs' spread ({fmt(spread)} µs)"
        row(f"6 dump growth N={ls[0]}→{ls[-1]}: µs per function", "",
            {"vfio-reserve": f"{fmt(a['median'])} → {fmt(b['median'])} (×{r:.2f})"},
            f"flat within noise (×1.1, or a rise within the runs' spread): {verdict}")

    # 7: the module's own time (function_graph), per device, against the
    # floor's path in the hotplug VM.
    cost = {}
    floor_path = summary(floats(get(hp_n, "cost.hotplug.floor.path_us")))
    for what, key, label in (
            ("hotplug", "cost.hotplug", "7 the module's own time per hotplugged NIC"),
            ("vf", "cost.vf", "7 the module's own time per VF (sriov_numvfs, vf: rule)")):
        # (get() gives None, and so floats() [], when no VM ran hotplugs)
        samples = {k: floats(get(hp_n, f"{key}.{k}")) for k in
                   ("vfio-reserve.module_us", "floor.path_us", "vfio-reserve.path_us",
                    "vfio-reserve.probe_us", "floor.probe_us", "unmatched.module_us",
                    "vfio-reserve.net_us", "unmatched.net_us")}
        samples["nop_us"] = floats(get(hp_n, "cost.hotplug.nop_us"))
        dists = {}
        for k, xs in samples.items():
            dists[k] = summary(xs)
            if dists[k]:
                dists[k]["p99"] = quantile(xs, 0.99)
        mod, fpath, vpath = (dists["vfio-reserve.module_us"], dists["floor.path_us"],
                             dists["vfio-reserve.path_us"])
        vprobe, fprobe, unm = (dists["vfio-reserve.probe_us"], dists["floor.probe_us"],
                               dists["unmatched.module_us"])
        net, unm_net, nop = (dists["vfio-reserve.net_us"], dists["unmatched.net_us"],
                             dists["nop_us"])
        cost[what] = {"module_us": mod, "floor_path_us": fpath, "path_us": vpath,
                      "probe_us": vprobe, "floor_probe_us": fprobe, "net_us": net,
                      "control_us": nop}
        # The goals on the module's time less the control's (the tracer's
        # and a notifier call's own cost) when the control ran.
        judged = net or mod
        goal = share_goal(judged, fpath)
        if vprobe:
            goal += "; " + probe_goal(judged, vprobe, 5)
        if net and goal:
            goal += " (net of the control)"
        row(label + ", µs: median [p99] (function_graph); the path: pci_device_add → "
            "vfio_pci_probe returns", "",
            {"vfio-reserve": us_cell(mod) + (f", net of the control {us_cell(net)}" if net else "") +
             (f"; path {us_cell(vpath)}" if vpath else "") +
             (f"; vfio_pci_probe {us_cell(vprobe)}" if vprobe else ""),
             "floor": "path " + us_cell(fpath) if fpath else "—"},
            goal, need=["vfio-reserve", "floor"] if hp_n else [])
        if what == "hotplug":
            # A device no rule names: what the module costs on a device it
            # leaves alone, against vfio-pci's probe in the same VM (issue 23).
            cost["unmatched"] = {"module_us": unm, "net_us": unm_net, "floor_probe_us": fprobe}
            row("7 the module's own time per hotplugged NIC no rule names (e1000e takes it), "
                "µs: median [p99] (function_graph); floor: vfio_pci_probe's own time", "",
                {"vfio-reserve": us_cell(unm) + (f", net of the control {us_cell(unm_net)}"
                                                 if unm_net else ""),
                 "floor": "vfio_pci_probe " + us_cell(fprobe) if fprobe else "—"},
                probe_goal(unm_net or unm, fprobe, 1) +
                (" (net of the control)" if unm_net and fprobe else ""),
                need=["vfio-reserve", "floor"] if hp_n else [])
            row("7 the control: an empty bus notifier (vr_testdrv nop_notifier=1) timed the same "
                "way, µs per call: median [p99]", "", {"vfio-reserve": us_cell(nop)},
                "", need=["vfio-reserve"] if hp_n else [])
    for n in sizes:
        per = floats(get(n, "cost.load.per_dev"))
        sums = {k: sum(floats(get(n, f"cost.load.{k}"))) for k in
                ("module", "settle", "reqmod", "notify", "scan")}
        d = summary(per)
        if d:
            d["p99"] = quantile(per, 0.99)
        cost.setdefault("load", {})[n] = {"per_device_us": d, "sums_us": sums}
        extra_txt = ""
        if d and sums["module"] > 0:
            extra_txt = (f"; of the module's time: settle work {100 * sums['settle'] / sums['module']:.0f}%, "
                         f"notifier {100 * sums['notify'] / sums['module']:.0f}%, "
                         f"scan {100 * sums['scan'] / sums['module']:.0f}%; "
                         f"request_module(vfio-pci) {sums['reqmod'] / max(len(per), 1) / 1000:.1f} ms a load")
        row("7 the module's own time at load (as at boot; vfio-pci loaded by its settle), "
            "µs per function: median [p99] of the loads", str(n),
            {"vfio-reserve": (us_cell(d) + extra_txt) if d else "—"},
            share_goal(d, floor_path), need=["vfio-reserve"])
        # One function in 8 named (32 of 256: issue 23's boot), the others
        # left alone: the module's time over all N, and per reserved one.
        per = floats(get(n, "cost.partial.per_dev"))
        per_res = floats(get(n, "cost.partial.per_reserved"))
        k = (floats(get(n, "cost.partial.reserved")) or [0])[0]
        d, dr = summary(per), summary(per_res)
        if d:
            d["p99"] = quantile(per, 0.99)
        cost.setdefault("partial", {})[n] = {"reserved": k, "per_device_us": d,
                                             "per_reserved_us": dr}
        row(f"7 the module's own time at load with {int(k) if k else '?'} of the functions "
            "named by the rules (the others left alone), µs per function: median [p99] "
            "of the loads", str(n),
            {"vfio-reserve": (us_cell(d) + f"; per reserved function {us_cell(dr)}")
             if d else "—"},
            share_goal(d, floor_path), need=["vfio-reserve"])
    res["cost"] = cost

    # 8: the notifier's breakdown (make bench's notifier VM, if it ran).
    npath = os.path.join(out, "notifier.out")
    notifier = None
    if os.path.exists(npath):
        _, nstatus = parse_vm(npath)
        notifier = {"status": nstatus, "calls": {}}
        with open(npath, errors="replace") as fh:
            found = [re.match(r"^\s*# bench notifier\.(\w+) (.*)$", ln.rstrip("\n")) for ln in fh]
        for m in filter(None, found):
            vals = m.group(2).split()
            if len(vals) < 3:
                continue
            f = dict(v.split("=", 1) for v in vals if "=" in v)
            words = [v for v in vals if "=" not in v]
            notifier["calls"].setdefault(m.group(1), []).append(
                {"event": words[0], "depth": int(words[1]), "name": " ".join(words[2:]),
                 "median_us": float(f.get("median_us", "nan")),
                 "p90_us": float(f.get("p90_us", "nan"))})
    res["notifier"] = notifier

    meta = dict(kv.split("=", 1) for kv in (get(sizes[0], "meta") or []) if "=" in kv) \
        if sizes else {}
    notes = []
    for n in sizes:
        if vms[n][1] != "pass":
            notes.append(f"VM N={n}: {vms[n][1]} (see {out}/vm-n{n}.out)")
    for n in sorted(lists):
        if lists[n][1] != "pass":
            notes.append(f"list VM N={n}: {lists[n][1]} (see {out}/list-n{n}.out)")
    if notifier:
        if notifier["status"] != "pass":
            notes.append(f"notifier VM: {notifier['status']} (see {out}/notifier.out)")
        for case, rows_ in notifier["calls"].items():
            for ev in ("add", "bound", "other"):
                parts = [f"{r['name']} {fmt(r['median_us'])}" for r in rows_
                         if r["event"] == ev and r["depth"] <= 1]
                if parts:
                    notes.append(f"8 notifier, NIC {case}, {ev}: median µs per call: "
                                 + "; ".join(parts))
    # A VM not started for the time budget (vm.py --deadline): skipped.
    skipped = bool(sizes or lists) and all(
        "SKIP" in st for st in [vms[n][1] for n in sizes] + [lists[n][1] for n in lists])
    ok = all(vms[n][1] == "pass" for n in sizes) and \
        all(lists[n][1] == "pass" for n in lists)
    runs = [(f"VM N={n} ran the benchmarks", vms[n][1]) for n in sizes] + \
        [(f"list VM N={n} ran", lists[n][1]) for n in sorted(lists)]
    return {"rows": rows, "checks": checks, "res": res, "meta": meta, "host": host,
            "notes": notes, "ok": ok, "runs": runs, "sizes": sizes, "skipped": skipped,
            "hotplug_samples": {m: floats(get(hp_n, f"hotplug.{m}.add_ms")) if hp_n else []
                                for m in HOTPLUG}}


def plot(kernels, path):
    """One PNG: time per function against N (status query, bulk reservation;
    log-log, one line per tool), and the claim latency per method."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no plot: python3-matplotlib is not installed"
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.5))
    styles = ["-", "--", ":", "-."]
    colours = {"vfio-reserve": "tab:blue", "floor": "tab:green", "sysfs": "tab:orange",
               "udev-script": "tab:orange", "dpdk": "tab:red", "lspci": "tab:purple",
               "driverctl": "tab:brown"}
    for ki, (kname, k) in enumerate(kernels):
        res = k["res"]
        ls = styles[ki % len(styles)]
        series = {}
        for n in res["sizes"]:
            for t in STATUS:
                s = res["status"][n][t]
                if s:
                    series.setdefault(f"status: {t}", []).append((n, s["median"] / n))
            for m in BULK:
                s = res["bulk"][n][m]
                if s:
                    series.setdefault(f"bulk: {m}", []).append((n, s["median"] / n))
        for n, v in sorted(res.get("list", {}).items()):
            fns = v.get("functions")
            if v.get("ms") and fns:
                series.setdefault("status: vfio-reserve (list VMs)", []).append(
                    (fns, v["ms"]["median"] / fns))
            for m in ("vfio-reserve", "floor"):
                s = (v.get("bulk") or {}).get(m)
                if s:
                    series.setdefault(f"bulk: {m} (pci-testdev VMs)", []).append(
                        (n, s["median"] / n))
        for name, pts in sorted(series.items()):
            pts.sort()
            tool = name.split(": ", 1)[1].split(" ")[0]
            a1.plot([x for x, _ in pts], [y for _, y in pts], ls,
                    marker="o" if name.startswith("status") else "s", markersize=3,
                    color=colours.get(tool), label=f"{kname}: {name}")
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlabel("functions (N)")
    a1.set_ylabel("ms per function (median)")
    a1.set_title("status query and bulk reservation")
    if a1.get_legend_handles_labels()[0]:
        a1.legend(fontsize=5.5, ncol=2)
    data, labels = [], []
    for kname, k in kernels:
        for m in HOTPLUG:
            xs = k["hotplug_samples"].get(m) or []
            if xs:
                data.append(xs)
                labels.append(f"{kname}\n{m}")
    if data:
        box = a2.boxplot(data, whis=(10, 90), showfliers=True, patch_artist=True)
        for patch, label in zip(box["boxes"], labels):
            patch.set_facecolor(colours.get(label.split("\n")[1], "white"))
            patch.set_alpha(0.5)
        a2.set_xticks(range(1, len(labels) + 1), labels, fontsize=6, rotation=60)
    a2.set_yscale("log")
    a2.set_ylabel("ms, device_add → on vfio-pci")
    a2.set_title("claim latency at hotplug (box: quartiles; whiskers: p10–p90)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def kernel_dirs(out):
    """(label, dir) per kernel: OUT/kernel-LABEL/, or OUT itself."""
    subs = sorted(glob.glob(os.path.join(out, "kernel-*")))
    if subs:
        return [(os.path.basename(d)[len("kernel-"):], d) for d in subs]
    return [("", out)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args()
    kernels = [(label, analyze(d)) for label, d in kernel_dirs(args.out)]

    head = ["kernel", "measure", "N"] + [h for _, h in COLUMNS] + ["goal"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    extra = []
    for label, k in kernels:
        kname = label or k["meta"].get("kernel", "?")
        for rlabel, ntext, cells, goal in k["rows"]:
            lines.append("| " + " | ".join([kname, rlabel, ntext] +
                                             [cells.get(c, "") for c, _ in COLUMNS] +
                                             [goal]) + " |")
        meta = k["meta"]
        extra.append(f"{kname}: a QEMU TCG guest ({meta.get('cpus', '?')} vCPUs, "
                     f"{int(meta.get('mem_kb', 0)) // 1024} MiB, kernel "
                     f"{meta.get('kernel', '?')}); host: " + k["host"].replace("\n", "; "))
        extra += [f"{kname}: {n}" for n in k["notes"]]
        if k["res"].get("left_out"):
            extra.append(f"{kname}: left out (bench/run.sh --leave-out, make check's time "
                         f"budget): {', '.join(k['res']['left_out'])}; their cells are empty")
    extra.insert(0, "Machine: QEMU TCG guests on a 2-core host shared with other VMs; the "
                 "times are the guests', not bare metal. Ratios (×) are to vfio-reserve in "
                 "the same row of the same run.")
    png = os.path.join(args.out, "bench.png")
    why = plot([(label or k["meta"].get("kernel", "?"), k) for label, k in kernels], png)
    extra.append(why or f"Plot: {png}")
    text = "\n".join(lines)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text + "\n\n" + "\n".join(extra) + "\n")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({label or "default": k["res"] for label, k in kernels}, f, indent=1,
                  default=str)

    if args.smoke:
        tap = []
        try:
            with open(os.path.join(args.out, "failed.txt")) as f:
                tap += [(line.strip(), False, "") for line in f if line.strip()]
        except OSError:
            pass
        for label, k in kernels:
            pre = f"[{label}] " if label else ""
            if k["skipped"]:
                reason = next((st for _, st in k["runs"] if "SKIP" in st), "")
                tap.append((f"{pre}the benchmarks on this kernel", True,
                            " # SKIP " + reason.split("SKIP", 1)[1].strip()))
                continue
            for desc, status in k["runs"]:
                tap.append((f"{pre}{desc}", status == "pass",
                            "" if status == "pass" else f" # {status}"))
            for desc, ok, missing, left in k["checks"]:
                tap.append((f"{pre}{desc}: a number in every cell"
                            f"{' but ' + ', '.join(left) if left else ''}", ok,
                            "" if ok else f" # no number for {', '.join(missing)}"))
                if left:
                    tap.append((f"{pre}{desc}: {', '.join(left)}", True,
                                " # SKIP left out on this kernel for make check's time"
                                " budget (bench/run.sh --leave-out; make bench measures them)"))
        if all(k["skipped"] for _, k in kernels):
            tap.append(("the plot (python3-matplotlib)", True,
                        " # SKIP no kernel ran the benchmarks"))
        else:
            tap.append(("the plot (python3-matplotlib)", why is None and os.path.exists(png),
                        "" if why is None else f" # {why}"))
        print("TAP version 13")
        print(f"1..{len(tap)}")
        for i, (desc, ok, why_not) in enumerate(tap, 1):
            print(f"{'ok' if ok else 'not ok'} {i} bench: {desc}{why_not}")
        for line in (text + "\n\n" + "\n".join(extra)).split("\n"):
            print("# " + line if line else "#")
        return 0 if all(ok for _, ok, _ in tap) else 1
    print(text)
    print()
    print("\n".join(extra))
    return 0 if all(k["sizes"] for _, k in kernels) else 1


if __name__ == "__main__":
    sys.exit(main())
