#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Where the bus notifier's time goes (bench/README.md, 8).

Reads a function_graph trace taken with set_graph_function=vr_bus_notify
and a max_graph_depth above 1 (bench/notifier-trace.sh): every call of the
notifier with the functions it calls, to that depth. Each call is put in
a case by what it called: "add" (vr_consider: BUS_NOTIFY_ADD_DEVICE),
"bound" (vr_reserved_for, or for a device with no record only the RCU look
for one: BUS_NOTIFY_BOUND_DRIVER) or "other" (an action it only passes on). Interrupts taken inside a call are left out of its
children and counted apart.

Prints, per case, the median duration of the notifier and of each function
under it, as "# notifier CASE DEPTH NAME calls=N median_us=X p90_us=Y".
"""

import re
import statistics
import sys

# " 1)  kworker-231   |   7.168 us    |    irq_enter_rcu();"
LINE = re.compile(r"^\s*(\d+)\)\s+(.+?)\s*\|\s*(?:[+!#*@$]\s*)?(?:(\d+(?:\.\d+)?) us)?\s*\|(\s*)(.*)$")
MODNAME = re.compile(r" \[[^]]+\]")
IRQ = ("irq_enter_rcu", "irq_exit_rcu", "__sysvec_apic_timer_interrupt", "__irq_exit_rcu",
       "__sysvec_call_function_single", "sysvec_apic_timer_interrupt")


def calls(path):
    """Every top-level vr_bus_notify call: (duration, [(depth, name, dur, irq)]),
    IRQ true for an interrupt's function or one it called."""
    out = []
    stacks = {}     # task -> [[name, irq, children]]; children on the first

    def record(st, name, dur):
        irq = name in IRQ or any(e[1] for e in st[1:])
        st[0][2].append((len(st), name, dur, irq))

    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            task, dur, text = m.group(2), m.group(3), m.group(5)
            text = MODNAME.sub("", text.strip())
            st = stacks.setdefault(task, [])
            if text.endswith("() {"):
                name = text[:-4]
                if name == "vr_bus_notify":
                    st[:] = [[name, False, []]]
                elif st:
                    st.append([name, name in IRQ or any(e[1] for e in st[1:]), None])
            elif text.endswith("();") and dur is not None:
                name = text[:-3]
                if name == "vr_bus_notify" and not st:
                    out.append((float(dur), []))
                elif st:
                    record(st, name, float(dur))
            elif text.startswith("}") and dur is not None and st:
                name = st[-1][0]
                if len(st) == 1:
                    out.append((float(dur), st.pop()[2]))
                else:
                    st.pop()
                    record(st, name, float(dur))
    return out


def main():
    cases = {}
    for dur, children in calls(sys.argv[1]):
        names = {n for d, n, _, irq in children if d == 1 and not irq}
        # BOUND of a device with no record: only the RCU look for one
        # (vr_has_record(), inlined) and the event's listener check.
        case = "add" if "vr_consider" in names else \
            "bound" if names & {"vr_reserved_for", "__rcu_read_lock"} else "other"
        c = cases.setdefault(case, {})
        c.setdefault((0, "vr_bus_notify"), []).append(dur)
        c.setdefault((0, "of which interrupts"), []).append(
            sum(x for d, n, x, irq in children if n in IRQ))
        for d, n, x, irq in children:
            if not irq:
                c.setdefault((d, n), []).append(x)
    for case in ("add", "bound", "other"):
        for (d, n), xs in sorted(cases.get(case, {}).items(), key=lambda kv: kv[0][0]):
            xs = sorted(xs)
            p90 = xs[min(len(xs) - 1, int(0.9 * len(xs)))]
            print(f"# notifier {case} {d} {n} calls={len(xs)} "
                  f"median_us={statistics.median(xs):.1f} p90_us={p90:.1f}")
    return 0 if cases else 1


if __name__ == "__main__":
    sys.exit(main())
