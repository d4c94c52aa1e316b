#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The YNL spec judged by upstream's own schema and code generator.

spec_check.py derives the C names itself, so a mistake it shares with the
header would go unseen. This check takes upstream's tools from a kernel
source tree (the matrix's newest 7.x, at check time; nothing of them is
copied into this tree) and asks them:

  1. the spec validates against Documentation/netlink/genetlink.yaml
     (python3-jsonschema), and the family's former name "vfio_reserve"
     does not (the check has teeth: the schema of 6.16 on wants
     ^[0-9a-z-]+$);
  2. tools/net/ynl/pyynl/ynl_gen_c.py --mode uapi generates a header from
     the spec whose defines and enums, name for name and value for value,
     are those of kmod/uapi/linux/vfio_reserve.h (parsed alike); and its
     SPDX licence is the header's and the spec's.

Prints TAP; exit 1 when a check fails.

  selftests/spec_upstream.py KERNEL_SOURCE
"""

import copy
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import spec_check  # noqa: E402 (the header parser, one copy)

TOP = os.path.dirname(HERE)
SPEC = os.path.join(TOP, "kmod", "uapi", "vfio_reserve.yaml")
HEADER = os.path.join(TOP, "kmod", "uapi", "linux", "vfio_reserve.h")


def schema_problems(spec, schema):
    import jsonschema
    v = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(str(p) for p in e.path) or '(top)'}: {e.message}"
            for e in v.iter_errors(spec)]


def generate(ksrc, spec_path, workdir):
    """ynl_gen_c's uapi header for the spec. It finds the schema as
    ../genetlink.yaml of the spec's directory and the tree's root by a
    MAINTAINERS file: give it both in a scratch tree."""
    specs = os.path.join(workdir, "specs")
    os.makedirs(specs)
    with open(spec_path) as f, open(os.path.join(specs, "vfio_reserve.yaml"), "w") as g:
        g.write(f.read())
    os.symlink(os.path.join(ksrc, "Documentation", "netlink", "genetlink.yaml"),
               os.path.join(workdir, "genetlink.yaml"))
    open(os.path.join(workdir, "MAINTAINERS"), "w").close()
    out = os.path.join(workdir, "generated.h")
    gen = os.path.join(ksrc, "tools", "net", "ynl", "pyynl", "ynl_gen_c.py")
    r = subprocess.run([sys.executable, gen, "--mode", "uapi", "--header",
                        "--spec", os.path.join(specs, "vfio_reserve.yaml"), "-o", out],
                       capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise RuntimeError(f"ynl_gen_c.py exit {r.returncode}: {r.stdout}{r.stderr}")
    return out


def spdx(path):
    with open(path) as f:
        m = re.search(r"SPDX-License-Identifier:\s*(.*?)\s*(\*/)?$", f.readline())
    return m.group(1) if m else None


def header_problems(generated, ours):
    gen, hdr = spec_check.Header(generated), spec_check.Header(ours)
    problems = []
    for name, val in gen.defines.items():
        if name == gen.guard:
            continue
        if name not in hdr.defines:
            problems.append(f"#define {name}: generated, missing from the header")
        elif hdr.defines[name] != val:
            problems.append(f"#define {name}: generated {val!r}, header {hdr.defines[name]!r}")
    for name in hdr.defines:
        if name != hdr.guard and name not in gen.defines:
            problems.append(f"#define {name}: in the header, not generated")
    gen_enums = {n: e for n, e in gen.enums.items() if not n.startswith("<")}
    hdr_enums = {n: e for n, e in hdr.enums.items() if not n.startswith("<")}
    for name in sorted(set(gen_enums) | set(hdr_enums)):
        if name not in hdr_enums:
            problems.append(f"enum {name}: generated, missing from the header")
        elif name not in gen_enums:
            problems.append(f"enum {name}: in the header, not generated")
        elif gen_enums[name] != hdr_enums[name]:
            problems += spec_check.diff_entries(f"enum {name}", gen_enums[name],
                                                hdr_enums[name])
    if spdx(generated) != spdx(ours):
        problems.append(f"SPDX: generated {spdx(generated)!r}, header {spdx(ours)!r}")
    return problems


def main(argv):
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    ksrc = argv[0]
    with open(SPEC) as f:
        spec = yaml.safe_load(f)
    with open(os.path.join(ksrc, "Documentation", "netlink", "genetlink.yaml")) as f:
        schema = yaml.safe_load(f)
    results = []
    p = schema_problems(spec, schema)
    results.append(("the spec validates against upstream's genetlink.yaml", p))
    old = copy.deepcopy(spec)
    old["name"] = "vfio_reserve"
    p = schema_problems(old, schema)
    results.append(("... and the former family name vfio_reserve does not (the schema's name rule)",
                    [] if any(e.startswith("name:") for e in p) else
                    ["the schema accepted the name vfio_reserve"]))
    with tempfile.TemporaryDirectory() as work:
        try:
            gen = generate(ksrc, SPEC, work)
            p = header_problems(gen, HEADER)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            p = [str(e)]
        results.append(("ynl_gen_c's uapi header has the header's defines, enums and licence", p))
    with tempfile.TemporaryDirectory() as work:
        # The comparison has teeth: a header one entry off is caught.
        mutated = os.path.join(work, "mutated.h")
        with open(HEADER) as f, open(mutated, "w") as g:
            g.write(f.read().replace("VFIO_RESERVE_CMD_RULE_DEL,",
                                     "VFIO_RESERVE_CMD_RULE_DEL_X,", 1))
        os.mkdir(os.path.join(work, "gen"))
        try:
            gen = generate(ksrc, SPEC, os.path.join(work, "gen"))
            caught = bool(header_problems(gen, mutated))
        except (RuntimeError, subprocess.TimeoutExpired):
            caught = False
        results.append(("... and a header with one command renamed is caught",
                        [] if caught else ["the renamed command went unseen"]))
    return spec_check.print_tap([(f"spec (upstream): {d}", p) for d, p in results],
                                "spec_upstream")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
