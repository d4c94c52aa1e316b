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
BULK = ["vfio-reserve", "sysfs", "dpdk"]
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


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args()
    out = args.out

    vms = {}
    for path in glob.glob(os.path.join(out, "vm-n*.out")):
        n = int(re.search(r"vm-n(\d+)\.out$", path).group(1))
        vms[n] = parse_vm(path)
    sizes = sorted(vms)

    def get(n, key):
        return vms.get(n, ({}, None))[0].get(key)

    res = {"sizes": sizes, "vm_status": {n: vms[n][1] for n in sizes}}

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
    checks = []  # (description, ok, missing)

    def row(label, ntext, cells, goal="", need=()):
        rows.append((label, ntext, cells, goal))
        missing = [c for c in need if cells.get(c, "—").startswith("—")]
        checks.append((f"{label}{' N=' + ntext if ntext else ''}", not missing, missing))

    def dist(s, ref):
        if not s:
            return "—"
        return (f"{fmt(s['median'])}{ratio(s['median'], ref)} "
                f"[{fmt(s['p10'])}–{fmt(s['p90'])}]")

    hp_cols = {"vfio-reserve": "vfio-reserve", "floor": "floor", "udev-script": "sysfs",
               "driverctl": "driverctl"}
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
            need=list(hp_cols.values()))
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
        need=list(hp_cols.values()))

    def simple(s, ref):
        return "—" if not s else f"{fmt(s['median'])}{ratio(s['median'], ref)}"

    def bulk_cell(n, m, ref):
        s, f = bulk[n][m], bulk_first[n][m]
        if not s:
            return "—"
        return simple(s, ref) + (f"; 1st bind at {fmt(f['median'])}" if f else "")

    for n in sizes:
        b = bulk[n]
        ref = (b["vfio-reserve"] or {}).get("median")
        cells = {"vfio-reserve": bulk_cell(n, "vfio-reserve", ref),
                 "sysfs": bulk_cell(n, "sysfs", ref), "dpdk": bulk_cell(n, "dpdk", ref)}
        reps = (b["vfio-reserve"] or {}).get("n", 0)
        row("3 bulk: N unbound functions → all on vfio-pci, ms (median of "
            f"{reps}); when the first was bound", str(n), cells,
            need=["vfio-reserve", "sysfs", "dpdk"])
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        cells = {}
        for m, col in (("vfio-reserve", "vfio-reserve"), ("sysfs", "sysfs"), ("dpdk", "dpdk")):
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

    # ---- print -----------------------------------------------------------------
    head = ["measure", "N"] + [h for _, h in COLUMNS] + ["goal"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, ntext, cells, goal in rows:
        lines.append("| " + " | ".join([label, ntext] + [cells.get(k, "") for k, _ in COLUMNS]
                                         + [goal]) + " |")
    meta = dict(kv.split("=", 1) for kv in (get(sizes[0], "meta") or []) if "=" in kv) \
        if sizes else {}
    machine = (f"Machine: a QEMU TCG guest ({meta.get('cpus', '?')} vCPUs, "
               f"{int(meta.get('mem_kb', 0)) // 1024} MiB, Debian's kernel "
               f"{meta.get('kernel', '?')}) on a 2-core host shared with other VMs; the "
               "times are the guest's, not bare metal. Ratios (×) are to vfio-reserve in "
               "the same row of the same run.")
    text = "\n".join(lines)
    extra = [machine]
    if host:
        extra.append("Host: " + host.replace("\n", "; "))
    for n in sizes:
        if vms[n][1] != "pass":
            extra.append(f"VM N={n}: {vms[n][1]} (see build/bench/vm-n{n}.out)")
    for n in sorted(lists):
        if lists[n][1] != "pass":
            extra.append(f"list VM N={n}: {lists[n][1]} (see build/bench/list-n{n}.out)")
    res["table"] = text
    res["notes"] = extra
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text + "\n\n" + "\n".join(extra) + "\n")
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)

    if args.smoke:
        print("TAP version 13")
        print(f"1..{len(checks) + len(sizes) + len(lists)}")
        k = 0
        for n in sizes:
            k += 1
            ok = vms[n][1] == "pass"
            print(f"{'ok' if ok else 'not ok'} {k} bench: VM N={n} ran the benchmarks"
                  + ("" if ok else f" # {vms[n][1]}"))
        for n in sorted(lists):
            k += 1
            ok = lists[n][1] == "pass"
            print(f"{'ok' if ok else 'not ok'} {k} bench: list VM N={n} ran"
                  + ("" if ok else f" # {lists[n][1]}"))
        for desc, ok, missing in checks:
            k += 1
            print(f"{'ok' if ok else 'not ok'} {k} bench: {desc}: a number in every cell"
                  + ("" if ok else f" # no number for {', '.join(missing)}"))
        for line in (text + "\n\n" + "\n".join(extra)).split("\n"):
            print("# " + line if line else "#")
        return 0 if all(ok for _, ok, _ in checks) and \
            all(vms[n][1] == "pass" for n in sizes) and \
            all(lists[n][1] == "pass" for n in lists) else 1
    print(text)
    print()
    print("\n".join(extra))
    return 0 if sizes else 1


if __name__ == "__main__":
    sys.exit(main())
