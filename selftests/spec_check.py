#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Check that the YNL spec and the UAPI header describe the same family.

    selftests/spec_check.py [--header H] [--spec S]   check the real files
    selftests/spec_check.py --mutate                  self-test: mutated
                                                      copies must fail

From the spec (kmod/uapi/vfio_reserve.yaml) this derives every C name and
value the YNL code generator would put in the UAPI header - the family,
version and multicast group defines, the constants, the enums of the
definitions, one enum per attribute set and the command enum, with the
__X_MAX / X_MAX pair YNL adds after attributes and commands - and compares
them with what kmod/uapi/linux/vfio_reserve.h declares, name for name and
value for value, in both directions. It also checks what the header states
only in comments: each attribute's type, and each command's modes and
admin flag from the protocol comment at its top.

Prints TAP; exits 0 when everything agrees, 1 otherwise (2 on bad usage).
Needs PyYAML (Debian: python3-yaml).
"""

import argparse
import os
import re
import shutil
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("TAP version 13\n1..0 # SKIP PyYAML missing (apt-get install python3-yaml)")
    sys.exit(4)

TOP = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
HEADER = os.path.join(TOP, "kmod", "uapi", "linux", "vfio_reserve.h")
SPEC = os.path.join(TOP, "kmod", "uapi", "vfio_reserve.yaml")


def c_upper(name):
    return name.upper().replace("-", "_")


def c_lower(name):
    return name.lower().replace("-", "_")


# ---------------------------------------------------------------------------
# The header

class HeaderError(Exception):
    pass


TOKEN = re.compile(r"""
    (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<number>0[xX][0-9a-fA-F]+|\d+)[uUlL]*
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<space>\s+)
  | (?P<punct>.)
""", re.S | re.X)


def tokens(text):
    """(kind, text, line) for C source, comments included."""
    line = 1
    for m in TOKEN.finditer(text):
        kind = m.lastgroup
        value = m.group(kind)
        if kind != "space":
            yield kind, value, line
        line += m.group(0).count("\n")


def eval_expr(toks, known, where):
    """Value of an enum initializer: integers, known names, + - ( )."""
    parts = []
    for kind, value, _ in toks:
        if kind == "number":
            parts.append(str(int(value, 0)))
        elif kind == "ident":
            if value not in known:
                raise HeaderError(f"{where}: unknown name {value}")
            parts.append(str(known[value]))
        elif kind == "punct" and value in "+-()":
            parts.append(value)
        else:
            raise HeaderError(f"{where}: cannot evaluate {value!r}")
    expr = " ".join(parts)
    if not re.fullmatch(r"[\d\s+\-()]+", expr or "x"):
        raise HeaderError(f"{where}: empty or bad initializer")
    return eval(expr, {"__builtins__": {}})  # digits and + - ( ) only


class Header:
    """Defines, enums (entries with values and their trailing comments) and
    the protocol comment's command lines of a UAPI header."""

    def __init__(self, path):
        with open(path) as f:
            self.text = f.read()
        self.path = path
        self.defines = {}      # name -> int or str
        self.enums = {}        # enum name (or "<anonymous N>") -> [(name, value)]
        self.comments = {}     # entry name -> its trailing comment text
        self.guard = None
        self._parse()

    def _parse(self):
        toks = list(tokens(self.text))
        known = {}
        i = 0
        anon = 0
        # Preprocessor lines, from the raw text (comments stripped).
        plain = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                       self.text, flags=re.S)
        for line in plain.splitlines():
            m = re.match(r"\s*#\s*define\s+(\w+)(?:\s+(.*?))?\s*$", line)
            if not m:
                continue
            name, value = m.group(1), (m.group(2) or "")
            if value.startswith('"') and value.endswith('"'):
                self.defines[name] = value[1:-1]
            elif re.fullmatch(r"\(?\s*(0[xX][0-9a-fA-F]+|\d+)\s*\)?", value):
                self.defines[name] = int(value.strip("() "), 0)
            elif value == "":
                self.guard = self.guard or name
                continue
            else:
                self.defines[name] = value
            if isinstance(self.defines[name], int):
                known[name] = self.defines[name]
        m = re.search(r"#\s*ifndef\s+(\w+)\s*\n\s*#\s*define\s+\1\b", plain)
        if m:
            self.guard = m.group(1)
        while i < len(toks):
            kind, value, _ = toks[i]
            if kind == "ident" and value == "enum":
                j = i + 1
                name = None
                if toks[j][0] == "ident":
                    name = toks[j][1]
                    j += 1
                if toks[j][1] != "{":
                    i += 1
                    continue
                if name is None:
                    anon += 1
                    name = f"<anonymous {anon}>"
                else:
                    name = "enum " + name
                i = self._enum(toks, j + 1, name, known)
                continue
            i += 1

    def _enum(self, toks, i, enum_name, known):
        entries = []
        value = -1
        last_line = None
        while True:
            kind, text, line = toks[i]
            if kind == "comment":
                if entries and line == last_line:
                    self.comments[entries[-1][0]] = text
                i += 1
                continue
            if text == "}":
                break
            if kind != "ident":
                raise HeaderError(f"enum {enum_name}: unexpected {text!r} on line {line}")
            name = text
            i += 1
            init = []
            if toks[i][1] == "=":
                i += 1
                while toks[i][1] not in (",", "}"):
                    if toks[i][0] != "comment":
                        init.append(toks[i])
                    i += 1
                value = eval_expr(init, known, f"{enum_name}.{name}")
            else:
                value += 1
            known[name] = value
            entries.append((name, value))
            last_line = line
            if toks[i][1] == ",":
                i += 1
        self.enums[enum_name] = entries
        return i + 1

    def protocol_commands(self):
        """{CMD name: set of words in its "(do, dump, admin)" head line}."""
        head = re.split(r"^\s*#", self.text, maxsplit=1, flags=re.M)[0]
        found = {}
        for m in re.finditer(r"^\s*\*\s*(\w+_CMD_\w+)\s*\(([^)]*)\)", head, re.M):
            found[m.group(1)] = {w.strip() for w in m.group(2).split(",")}
        return found


# ---------------------------------------------------------------------------
# What the spec implies (the YNL uapi generator's naming rules)

class SpecError(Exception):
    pass


class Implied:
    def __init__(self, spec):
        self.spec = spec
        self.name = spec["name"]
        self.ident = self.name.replace("-", "_")
        self.c_name = c_lower(self.ident)
        self.defines = {}
        self.enums = {}        # enum name -> [(name, value)]
        self.attr_names = {}   # (set, attr) -> C name
        self.attr_sets = {}    # set name -> {attr name: attr yaml}
        self.enum_of_def = {}  # definition name -> C enum name
        self.op_names = {}     # op name -> C name
        self._derive()

    def _derive(self):
        spec = self.spec
        self.defines[c_upper(spec.get("c-family-name", self.name + "_FAMILY_NAME"))] = self.name
        self.defines[c_upper(spec.get("c-version-name", self.name + "_FAMILY_VERSION"))] = \
            spec.get("version", 1)
        header = spec.get("uapi-header", f"linux/{self.ident}.h")
        base = header[6:-2] if header.startswith("linux/") and header.endswith(".h") \
            else self.ident
        self.guard = f"_UAPI_LINUX_{c_upper(base)}_H".replace("/", "_")
        self.uapi_header = header

        for d in spec.get("definitions", []):
            if d.get("header"):
                continue
            if d["type"] == "const":
                pfx = d.get("name-prefix", f"{self.ident}-")
                self.defines[c_upper(pfx + d["name"])] = d["value"]
            elif d["type"] in ("enum", "flags"):
                self._definition_enum(d)
            else:
                raise SpecError(f"definition {d['name']}: type {d['type']} not handled")

        for s in spec["attribute-sets"]:
            if s.get("subset-of"):
                continue
            self._attr_set(s)

        ops = spec["operations"]
        if ops.get("enum-model", "unified") != "unified":
            raise SpecError("only the unified enum-model is handled")
        if "async-prefix" in ops:
            raise SpecError("async-prefix is not handled")
        op_pfx = c_upper(ops.get("name-prefix", self.name + "-cmd-"))
        entries = []
        val = 1
        for op in ops["list"]:
            if "value" in op:
                val = op["value"]
            cname = op_pfx + c_upper(op["name"])
            self.op_names[op["name"]] = cname
            entries.append((cname, val))
            val += 1
        self._add_max(entries, spec.get("cmd-cnt-name", f"__{op_pfx}MAX"),
                      spec.get("cmd-max-name", f"{op_pfx}MAX"))
        self.enums[self._enum_name(ops, None)] = entries

        for grp in spec.get("mcast-groups", {}).get("list", []):
            define = c_upper(grp.get("c-define-name", f"{self.ident}-mcgrp-{grp['name']}"))
            self.defines[define] = grp["name"]

    def _enum_name(self, obj, fallback):
        if "enum-name" in obj:
            return "enum " + c_lower(obj["enum-name"]) if obj["enum-name"] else None
        return fallback

    def _anon(self):
        return f"<anonymous {sum(1 for k in self.enums if k.startswith('<'))+1}>"

    def _add_max(self, entries, cnt_name, max_name):
        top = max((v for _, v in entries), default=-1)
        entries.append((c_upper(cnt_name), top + 1))
        entries.append((c_upper(max_name), top))

    def _definition_enum(self, d):
        pfx = d.get("name-prefix", f"{self.ident}-{d['name']}-")
        value = d.get("value-start", 0)
        if isinstance(value, str):
            raise SpecError(f"definition {d['name']}: symbolic value-start not handled")
        entries = []
        for e in d["entries"]:
            e = {"name": e} if isinstance(e, str) else e
            if "value" in e:
                value = e["value"]
            v = 1 << value if d["type"] == "flags" else value
            entries.append((c_upper(pfx + e["name"]), v))
            value += 1
        if d.get("render-max"):
            if d["type"] == "flags":
                entries.append((c_upper(pfx + "mask"), sum(v for _, v in entries)))
            else:
                self._add_max(entries, d.get("enum-cnt-name", f"__{pfx}max"), pfx + "max")
        name = self._enum_name(d, f"enum {self.c_name}_{c_lower(d['name'])}") or self._anon()
        self.enum_of_def[d["name"]] = name
        self.enums[name] = entries

    def _attr_set(self, s):
        if "name-prefix" in s:
            pfx = s["name-prefix"]
        elif s["name"] == self.name:
            pfx = self.ident + "-a-"
        else:
            pfx = f"{self.ident}-a-{s['name']}-"
        pfx = c_upper(pfx)
        entries = []
        val = 1
        self.attr_sets[s["name"]] = {}
        for a in s["attributes"]:
            if "value" in a:
                val = a["value"]
            cname = c_upper(pfx + a["name"])
            entries.append((cname, val))
            self.attr_names[(s["name"], a["name"])] = cname
            self.attr_sets[s["name"]][a["name"]] = a
            val += 1
        self._add_max(entries, s.get("attr-cnt-name", f"__{pfx}max"),
                      s.get("attr-max-name", f"{pfx}max"))
        name = self._enum_name(s, None) or self._anon()
        self.enums[name] = entries


# ---------------------------------------------------------------------------
# The checks: each returns a list of problems (empty: ok)

def diff_entries(what, want, have):
    """Problems between two ordered (name, value) lists."""
    problems = []
    want_d, have_d = dict(want), dict(have)
    for name, value in want:
        if name not in have_d:
            problems.append(f"{what}: {name} (= {value}) is in the spec, not in the header")
        elif have_d[name] != value:
            problems.append(f"{what}: {name} is {have_d[name]} in the header, "
                            f"{value} in the spec")
    for name, value in have:
        if name not in want_d:
            problems.append(f"{what}: {name} (= {value}) is in the header, not in the spec")
    if not problems and [n for n, _ in want] != [n for n, _ in have]:
        problems.append(f"{what}: order differs: header {[n for n, _ in have]}, "
                        f"spec {[n for n, _ in want]}")
    return problems


def check_define(imp, hdr, name):
    want = imp.defines.get(name)
    if name not in hdr.defines:
        return [f"{name} is not defined in the header (spec: {want!r})"]
    if hdr.defines[name] != want:
        return [f"{name}: header {hdr.defines[name]!r}, spec {want!r}"]
    return []


def family_defines(imp):
    fam = [k for k, v in imp.defines.items() if k.endswith("_FAMILY_NAME")]
    ver = [k for k, v in imp.defines.items() if k.endswith("_FAMILY_VERSION")]
    return fam, ver


TYPE_WORDS = {"string", "u8", "u16", "u32", "u64", "s32", "s64", "nest", "flag", "binary"}


def check_types(imp, hdr):
    """Each attribute's type against the header's comment on it."""
    problems = []
    for (set_name, attr_name), cname in imp.attr_names.items():
        attr = imp.attr_sets[set_name][attr_name]
        comment = hdr.comments.get(cname)
        if attr["type"] in ("unused", "pad"):
            continue
        if comment is None:
            problems.append(f"{cname}: no type comment in the header")
            continue
        text = comment.strip("/* \t")
        word = re.split(r"[\s:]", text, 1)[0]
        if word not in TYPE_WORDS:
            problems.append(f"{cname}: comment {comment!r} names no type")
            continue
        if word != attr["type"]:
            problems.append(f"{cname}: {word} in the header, {attr['type']} in the spec")
        if "enum" in attr:
            want = imp.enum_of_def.get(attr["enum"])
            if want and want not in text:
                problems.append(f"{cname}: the header says {text!r}, the spec says {want}")
        if attr["type"] == "nest":
            nested = attr.get("nested-attributes")
            s = next((x for x in imp.spec["attribute-sets"] if x["name"] == nested), None)
            want = c_lower(s["enum-name"]) if s and s.get("enum-name") else None
            if want and want not in text:
                problems.append(f"{cname}: nests {text!r} in the header, {want} in the spec")
    return problems


def check_modes(imp, hdr):
    """Commands' do/dump/admin/multicast against the protocol comment."""
    problems = []
    listed = hdr.protocol_commands()
    for op in imp.spec["operations"]["list"]:
        cname = imp.op_names[op["name"]]
        is_resv = not any(k in op for k in ("do", "dump", "event", "notify"))
        if is_resv:
            if cname in listed:
                problems.append(f"{cname}: reserved in the spec, documented in the header")
            continue
        words = listed.pop(cname, None)
        if words is None:
            problems.append(f"{cname}: not documented in the header's protocol comment")
            continue
        want = set()
        for mode in ("do", "dump"):
            if mode in op:
                want.add(mode)
        if "admin-perm" in op.get("flags", []):
            want.add("admin")
        if "event" in op:
            want.add(f'multicast on "{op.get("mcgrp", "")}"')
        if words != want:
            problems.append(f"{cname}: header ({', '.join(sorted(words))}), "
                            f"spec ({', '.join(sorted(want))})")
    for cname in listed:
        problems.append(f"{cname}: documented in the header, not a command of the spec")
    return problems


def check_refs(imp):
    """Names the spec refers to exist."""
    problems = []
    spec = imp.spec
    defs = {d["name"] for d in spec.get("definitions", [])}
    sets = {s["name"]: {a["name"] for a in s["attributes"]} for s in spec["attribute-sets"]}
    groups = {g["name"] for g in spec.get("mcast-groups", {}).get("list", [])}
    for s in spec["attribute-sets"]:
        for a in s["attributes"]:
            if "enum" in a and a["enum"] not in defs:
                problems.append(f"{s['name']}.{a['name']}: unknown enum {a['enum']}")
            if a.get("type") == "nest" and a.get("nested-attributes") not in sets:
                problems.append(f"{s['name']}.{a['name']}: unknown set "
                                f"{a.get('nested-attributes')}")
    for op in spec["operations"]["list"]:
        aset = op.get("attribute-set")
        if aset is not None and aset not in sets:
            problems.append(f"{op['name']}: unknown attribute-set {aset}")
            continue
        lists = []
        for mode in ("do", "dump"):
            for direction in ("request", "reply"):
                lists.append(op.get(mode, {}).get(direction, {}).get("attributes", []))
        lists.append(op.get("event", {}).get("attributes", []))
        for names in lists:
            for n in names:
                if aset is None or n not in sets[aset]:
                    problems.append(f"{op['name']}: attribute {n} not in set {aset}")
        if "mcgrp" in op and op["mcgrp"] not in groups:
            problems.append(f"{op['name']}: unknown mcast group {op['mcgrp']}")
    names = re.compile(r"^[0-9a-z-]+$")
    for s in spec["attribute-sets"]:
        for a in [s] + s["attributes"]:
            if not names.match(a["name"]):
                problems.append(f"name {a['name']!r} is not lower case with dashes")
    for op in spec["operations"]["list"]:
        if not names.match(op["name"]):
            problems.append(f"name {op['name']!r} is not lower case with dashes")
    return problems


def check_limits(imp, hdr):
    """String length checks agree with the size constants (both with NUL)."""
    problems = []
    pairs = [("dev", "addr", "addr-size"), ("rule", "selector-list", "selector-list-max")]
    consts = {d["name"]: d["value"] for d in imp.spec.get("definitions", [])
              if d["type"] == "const"}
    for set_name, attr_name, const in pairs:
        attr = imp.attr_sets.get(set_name, {}).get(attr_name)
        if attr is None or const not in consts:
            problems.append(f"{set_name}.{attr_name} or {const} missing from the spec")
            continue
        limit = attr.get("checks", {}).get("max-len")
        if limit != consts[const] - 1:
            problems.append(f"{set_name}.{attr_name}: max-len {limit}, "
                            f"but {const} is {consts[const]} with the NUL")
    return problems


def run_checks(header_path, spec_path):
    """[(description, [problems])] for one header and spec."""
    results = []
    try:
        with open(spec_path) as f:
            spec = yaml.safe_load(f)
        for key in ("name", "doc", "attribute-sets", "operations"):
            if key not in spec:
                raise SpecError(f"no {key}")
        imp = Implied(spec)
    except (OSError, yaml.YAMLError, SpecError, KeyError, TypeError) as e:
        return [("the spec loads", [f"{spec_path}: {e!r}"])]
    results.append(("the spec loads", []))
    try:
        hdr = Header(header_path)
    except (OSError, HeaderError, IndexError) as e:
        return results + [("the header parses", [f"{header_path}: {e}"])]
    results.append(("the header parses", []))

    proto = spec.get("protocol", "genetlink")
    results.append((f"protocol is genetlink ({proto})",
                    [] if proto in ("genetlink", "genetlink-legacy") else [proto]))
    results.append((f"uapi-header {imp.uapi_header} and its include guard {imp.guard}",
                    [] if hdr.guard == imp.guard and imp.uapi_header ==
                    "linux/" + os.path.basename(header_path)
                    else [f"header guard {hdr.guard}, header file "
                          f"{os.path.basename(header_path)}"]))
    fam, ver = family_defines(imp)
    for name in fam:
        results.append((f"family name {name} = {imp.defines[name]!r}",
                        check_define(imp, hdr, name)))
    for name in ver:
        results.append((f"family version {name} = {imp.defines[name]!r}",
                        check_define(imp, hdr, name)))
    mcgrps = [k for k in imp.defines if "_MCGRP_" in k]
    results.append((f"multicast groups {', '.join(mcgrps) or '(none)'}",
                    [p for k in mcgrps for p in check_define(imp, hdr, k)]))
    consts = [k for k in imp.defines if k not in fam + ver + mcgrps]
    results.append((f"constants {', '.join(consts) or '(none)'}",
                    [p for k in consts for p in check_define(imp, hdr, k)]))
    extra = sorted(set(hdr.defines) - set(imp.defines))
    results.append(("the header defines nothing the spec does not",
                    [f"{k} is defined in the header only" for k in extra]))

    for name, entries in imp.enums.items():
        have = hdr.enums.get(name)
        what = name
        if have is None:
            results.append((f"{what}: {len(entries)} entries",
                            [f"{name} is not in the header"]))
            continue
        results.append((f"{what}: {len(entries)} entries", diff_entries(what, entries, have)))
    extra = [n for n in hdr.enums if n not in imp.enums]
    results.append(("the header declares no enum the spec does not",
                    [f"{n} ({', '.join(e for e, _ in hdr.enums[n][:3])}...) is in the "
                     f"header only" for n in extra]))
    results.append(("attribute types agree with the header's comments", check_types(imp, hdr)))
    results.append(("command modes and admin flags agree with the protocol comment",
                    check_modes(imp, hdr)))
    results.append(("the spec's references resolve and its names are lower case",
                    check_refs(imp)))
    results.append(("string limits agree with the size constants", check_limits(imp, hdr)))
    return results


def print_tap(results, name="spec_check"):
    print("TAP version 13")
    print(f"1..{len(results)}")
    failed = 0
    for n, (desc, problems) in enumerate(results, 1):
        if problems:
            failed += 1
            print(f"not ok {n} {desc}")
            for p in problems:
                print(f"# {p}")
        else:
            print(f"ok {n} {desc}")
    print(f"# {name}: {len(results) - failed} agree, {failed} disagree")
    return 1 if failed else 0


# ---------------------------------------------------------------------------
# --mutate: the check must fail when either side changes

def sub_once(path, pattern, repl):
    with open(path) as f:
        text = f.read()
    new, n = re.subn(pattern, repl, text, count=1, flags=re.M)
    if n != 1:
        raise RuntimeError(f"pattern {pattern!r} not found in {os.path.basename(path)}")
    with open(path, "w") as f:
        f.write(new)


def edit_spec(path, fn):
    with open(path) as f:
        spec = yaml.safe_load(f)
    fn(spec)
    with open(path, "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)


def find(items, name):
    for item in items:
        if item["name"] == name:
            return item
    raise RuntimeError(f"no {name} in the spec")


def drop_attr(spec):
    attrs = find(spec["attribute-sets"], "status")["attributes"]
    attrs.remove(find(attrs, "config-error"))


def event_value(spec):
    find(spec["operations"]["list"], "event")["value"] = 20


def swap_state(spec):
    entries = find(spec["definitions"], "state")["entries"]
    entries[1], entries[2] = entries[2], entries[1]


def vendor_u32(spec):
    find(find(spec["attribute-sets"], "dev")["attributes"], "vendor")["type"] = "u32"


def rule_del_unprivileged(spec):
    del find(spec["operations"]["list"], "rule-del")["flags"]


def rename_mcgrp(spec):
    spec["mcast-groups"]["list"][0]["name"] = "notify"
    find(spec["operations"]["list"], "event")["mcgrp"] = "notify"


def add_spec_attr(spec):
    find(spec["attribute-sets"], "rule")["attributes"].append(
        {"name": "flags", "type": "u32"})


MUTATIONS = [
    ("header: rename VFIO_RESERVE_A_DEV_PF_ADDR",
     "header", (r"\bVFIO_RESERVE_A_DEV_PF_ADDR,", "VFIO_RESERVE_A_DEV_PF_ADDRESS,")),
    ("spec: drop attribute status.config-error", "spec", drop_attr),
    ("spec: command event gets value 20", "spec", event_value),
    ("header: command DEVICE_GET gets value 5",
     "header", (r"\bVFIO_RESERVE_CMD_DEVICE_GET,", "VFIO_RESERVE_CMD_DEVICE_GET = 5,")),
    ("header: family version 2",
     "header", (r"(#define\s+VFIO_RESERVE_FAMILY_VERSION\s+)1\b", r"\g<1>2")),
    ("spec: swap enum state entries reserved and pending", "spec", swap_state),
    ("spec: dev.vendor becomes u32", "spec", vendor_u32),
    ("spec: rule-del loses admin-perm", "spec", rule_del_unprivileged),
    ("spec: multicast group renamed", "spec", rename_mcgrp),
    ("spec: extra attribute rule.flags", "spec", add_spec_attr),
    ("header: drop the ADDR_SIZE define",
     "header", (r"^#define\s+VFIO_RESERVE_ADDR_SIZE\s+\d+\s*\n", "")),
]


def mutate(header_path, spec_path):
    print("TAP version 13")
    print(f"1..{len(MUTATIONS) + 1}")
    failed = 0
    tmp = tempfile.mkdtemp(prefix="vr-spec-check.")
    try:
        def fresh():
            os.makedirs(os.path.join(tmp, "linux"), exist_ok=True)
            h = os.path.join(tmp, "linux", os.path.basename(header_path))
            s = os.path.join(tmp, os.path.basename(spec_path))
            shutil.copyfile(header_path, h)
            shutil.copyfile(spec_path, s)
            return h, s

        h, s = fresh()
        bad = [(d, p) for d, p in run_checks(h, s) if p]
        if bad:
            failed += 1
            print("not ok 1 the unmutated copies agree")
            for d, p in bad:
                print(f"# {d}: {p[0]}")
        else:
            print("ok 1 the unmutated copies agree")

        for n, (desc, side, how) in enumerate(MUTATIONS, 2):
            h, s = fresh()
            try:
                if side == "header":
                    sub_once(h, *how)
                else:
                    edit_spec(s, how)
            except (RuntimeError, KeyError, IndexError) as e:
                failed += 1
                print(f"not ok {n} {desc}: the mutation did not apply")
                print(f"# {e}")
                continue
            bad = [(d, p) for d, p in run_checks(h, s) if p]
            if bad:
                print(f"ok {n} {desc}: the check fails")
                for d, p in bad[:2]:
                    print(f"# caught by '{d}': {p[0]}")
            else:
                failed += 1
                print(f"not ok {n} {desc}: the check still passes")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# spec_check --mutate: {len(MUTATIONS) + 1 - failed} ok, {failed} not ok")
    return 1 if failed else 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--header", default=HEADER, help="UAPI header (default: %(default)s)")
    p.add_argument("--spec", default=SPEC, help="YNL spec (default: %(default)s)")
    p.add_argument("--mutate", action="store_true",
                   help="self-test: every mutation of a copy must make the check fail")
    args = p.parse_args(argv)
    if args.mutate:
        return mutate(args.header, args.spec)
    return print_tap(run_checks(args.header, args.spec))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
