#!/usr/bin/python3
"""Drafts tools/profiles/facts/<name>.prof from Volatility 2 vtypes files.

Volatility 2's volatility/plugins/overlays/windows/*_vtypes.py hold one dict
literal each: the structure layouts Volatility 2 extracted from a kernel PDB.
This reads that literal as data (never importing or running it), keeps the
members memsift's profiles need, and writes a fact file that cites the file
and commit.  When several vtypes files are given for one profile (e.g. XP SP2
and SP3), their layouts must agree on every kept member.

It is a one-shot drafting aid: the fact files it writes are committed and
derive_all.py never runs it.  Usage:

  git -C VOL2_MIRROR show HEAD:volatility/plugins/overlays/windows/X_vtypes.py
      > DIR/X_vtypes.py  (for each file)
  vtypes2facts.py --vtypes DIR --commit COMMIT [--only NAME] [--compare]
"""

import argparse
import ast
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proflib  # noqa: E402

VOL2_DIR = "volatility/plugins/overlays/windows/"

# (profile, builds min, builds max, [vtypes files, the first gives the
# values], what the vtypes were made from per Volatility 2's profile
# classes in overlays/windows/{xp,win2003,vista,win7,win8,win10}.py)
FACT_PROFILES = [
    ("xp-2600-x86", 2600, 2600, ["xp_sp3_x86", "xp_sp2_x86"],
     "Windows XP SP2/SP3 x86"),
    ("2003-3790-x86", 3790, 3790, ["win2003_sp2_x86", "win2003_sp1_x86"],
     "Windows Server 2003 SP1/SP2 x86"),
    ("2003-3790-x64", 3790, 3790, ["win2003_sp2_x64", "win2003_sp1_x64"],
     "Windows Server 2003 / XP x64 SP1/SP2"),
    ("vista-6000-x86", 6000, 6000, ["vista_sp0_x86"], "Windows Vista SP0 x86"),
    ("vista-6000-x64", 6000, 6000, ["vista_sp0_x64"], "Windows Vista SP0 x64"),
    ("vista-6001-x86", 6001, 6003, ["vista_sp2_x86", "vista_sp1_x86"],
     "Vista/2008 SP1/SP2 x86 (6003: SP2 after its 2019 update)"),
    ("vista-6001-x64", 6001, 6003, ["vista_sp2_x64", "vista_sp1_x64"],
     "Vista/2008 SP1/SP2 x64 (6003: SP2 after its 2019 update)"),
    ("win7-7601-x86", 7600, 7601,
     ["win7_sp1_x86", "win7_sp0_x86", "win7_sp1_x86_24000",
      "win7_sp1_x86_BBA98F40"],
     "Windows 7 SP0/SP1 x86"),
    ("win8-9200-x86", 9200, 9200, ["win8_sp0_x86"], "Windows 8 x86"),
    ("win8-9200-x64", 9200, 9200, ["win8_sp0_x64"],
     "Windows 8 / 2012 x64"),
    ("win81-9600-x86", 9600, 9600, ["win81_u1_x86", "win8_sp1_x86"],
     "Windows 8.1 (RTM and Update 1) x86"),
    ("win10-10240-x86", 10240, 10240,
     ["win10_x86_10240_17770"], "Windows 10 10.0.10240.17770 x86"),
    ("win10-10240-x64", 10240, 10240,
     ["win10_x64_10240_17770"], "Windows 10 10.0.10240.17770 x64"),
    ("win10-10586-x86", 10586, 10586, ["win10_x86_44B89EEA"],
     "Windows 10 10.0.10586.420 x86"),
    ("win10-10586-x64", 10586, 10586, ["win10_x64_1AC738FB"],
     "Windows 10 10.0.10586.306 x64"),
    ("win10-14393-x86", 14393, 14393, ["win10_x86_9619274A"],
     "Windows 10 10.0.14393.0 x86"),
    ("win10-15063-x86", 15063, 15063, ["win10_x86_15063"],
     "Windows 10 10.0.15063.0 x86"),
    ("win10-15063-x64", 15063, 15063, ["win10_x64_15063"],
     "Windows 10 10.0.15063.0 x64"),
    ("win10-16299-x86", 16299, 16299, ["win10_x86_16299"],
     "Windows 10 10.0.16299.15 x86"),
    ("win10-16299-x64", 16299, 16299, ["win10_x64_16299"],
     "Windows 10 10.0.16299.0 x64"),
    ("win10-17134-x86", 17134, 17134, ["win10_x86_17134"],
     "Windows 10 10.0.17134.1 x86"),
    ("win10-17134-x64", 17134, 17134, ["win10_x64_17134"],
     "Windows 10 10.0.17134.1 x64"),
    ("win10-17763-x86", 17763, 17763, ["win10_x86_17763"],
     "Windows 10 10.0.17763.0 x86"),
    ("win10-18362-x86", 18362, 18363, ["win10_x86_18362"],
     "Windows 10 10.0.18362.0 x86"),
    ("win10-19041-x86", 19041, 19045, ["win10_x86_19041"],
     "Windows 10 10.0.19041.0 x86"),
]

# vtypes files whose builds also have an ISF: used only by --compare to check
# this converter against the ISF-derived profiles.
COMPARE = [
    ("win7-7601-x64", ["win7_sp1_x64", "win7_sp0_x64", "win7_sp1_x64_24000",
                       "win7_sp1_x64_632B36E0"]),
    ("win81-9600-x64", ["win81_u1_x64", "win8_sp1_x64",
                        "win8_sp1_x64_54B5A1C6"]),
    ("win10-14393-x64", ["win10_x64_DD08DD42"]),
    ("win10-17763-x64", ["win10_x64_17763"]),
    ("win10-18362-x64", ["win10_x64_18362"]),
    ("win10-19041-x64", ["win10_x64_19041"]),
]

BASE_SIZES = {
    "char": 1, "unsigned char": 1, "short": 2, "unsigned short": 2,
    "wchar": 2, "int": 4, "unsigned int": 4, "long": 4, "unsigned long": 4,
    "float": 4, "double": 8, "long long": 8, "unsigned long long": 8,
    "void": 0, "unsigned be short": 2, "unsigned be long": 4,
}


def literal(node):
    """Evaluates the data-only subset of Python used by vtypes files."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Dict):
        return {literal(k): literal(v) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [literal(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -literal(node.operand)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and
            node.func.id == "dict" and not node.args):
        return {k.arg: literal(k.value) for k in node.keywords}
    raise ValueError("unexpected syntax at line %d" % node.lineno)


def load_vtypes(path):
    with open(path, "r", encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Dict):
            return literal(stmt.value)
    raise ValueError("%s: no dict literal" % path)


def convert_type(desc, ptr_size, user):
    name = desc[0]
    if name in ("pointer", "pointer32", "pointer64"):
        size = {"pointer": ptr_size, "pointer32": 4, "pointer64": 8}[name]
        return {"kind": "pointer", "size": size}
    if name == "array":
        return {"kind": "array", "count": desc[1],
                "subtype": convert_type(desc[2], ptr_size, user)}
    if name == "BitField":
        d = desc[1]
        return {"kind": "bitfield", "bit_position": d["start_bit"],
                "bit_length": d["end_bit"] - d["start_bit"],
                "type": {"kind": "base",
                         "name": d.get("native_type", "unsigned long")}}
    if name == "Enumeration":
        return {"kind": "enum",
                "size": BASE_SIZES[desc[1].get("target", "long")]}
    if name in user:
        return {"kind": "struct", "name": name}
    if name in BASE_SIZES:
        return {"kind": "base", "name": name}
    raise ValueError("unknown vtype %r" % (desc,))


def vtypes_to_types(vt):
    le = vt["_LIST_ENTRY"][0]
    ptr = 8 if le == 0x10 else 4
    user = {}
    for sname, (size, fields) in vt.items():
        user[sname] = {"size": size, "fields": {}}
    for sname, (size, fields) in vt.items():
        for fname, (off, desc) in fields.items():
            user[sname]["fields"][fname] = {
                "offset": off, "type": convert_type(desc, ptr, user)}
    base = {k: {"size": v} for k, v in BASE_SIZES.items()}
    base["pointer"] = {"size": ptr}
    return proflib.Types(user, base)


def layout(types):
    return [ln for ln in proflib.kernel_layout_lines(types)]


def agreement_key(lines):
    """Member offsets that must agree between revisions of one build.

    Struct sizes, embedded-member sizes and the _MMPTE_* bit layouts change
    in servicing updates (KVA shadow, L1TF) and are taken from the first file.
    """
    key = []
    for ln in lines:
        w = ln.split()
        if not w or w[0] not in ("field", "bits") or \
                w[1].startswith("_MMPTE_"):
            continue
        key.append(" ".join(w[:4]) if w[0] == "field" else ln)
    return key


def mmpte_note(types):
    sw = types.user.get("_MMPTE_SOFTWARE")
    if sw is None:
        return []
    kind = ""
    if types.pointer_size() == 4:
        kind = "PAE " if sw["size"] == 8 else "non-PAE "
    return ["# The _MMPTE_* bits below are the %slayouts of the kernel "
            "revision" % kind,
            "# Volatility 2 used; servicing updates (e.g. the 2018 L1TF fixes)"
            " moved some."]


def fact_text(name, bmin, bmax, files, what, commit, vtdir):
    typesets = []
    for f in files:
        typesets.append(vtypes_to_types(load_vtypes(
            os.path.join(vtdir, f + "_vtypes.py"))))
    first = layout(typesets[0])
    for f, t in zip(files[1:], typesets[1:]):
        other = layout(t)
        if agreement_key(other) != agreement_key(first):
            diff = sorted(set(agreement_key(first)) ^
                          set(agreement_key(other)))
            raise proflib.ProfileError("%s: %s disagrees with %s: %s" % (
                name, f, files[0], diff[:6]))
    types = typesets[0]
    arch = "x64" if types.pointer_size() == 8 else "x86"
    lines = [
        "# Facts: structure offsets from Volatility 2's vtypes (the layouts it",
        "# extracted from Microsoft's public PDB for %s)." % what,
        "# Drafted by tools/profiles/vtypes2facts.py; values are data, not code.",
    ]
    if len(files) > 1:
        lines.append("# The kept members agree in: %s." % ", ".join(
            f + "_vtypes.py" for f in files))
    lines += [
        "profile %s" % name,
        "module nt",
        "arch %s" % arch,
        "builds %d %d" % (bmin, bmax),
        "source volatilityfoundation/volatility %s%s_vtypes.py @%s" % (
            VOL2_DIR, files[0], commit),
        "",
    ]
    lines.extend(mmpte_note(types))
    lines.extend(first)
    lines.extend(proflib.common_fragment())
    lines.append("")
    lines.append("# KDBG_SIZE: Volatility 2 AbstractKDBGMod kdbgsize for this "
                 "release.")
    lines.extend(proflib.kernel_constants(types, bmin))
    return proflib.finish(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vtypes", required=True,
                    help="directory holding the *_vtypes.py files")
    ap.add_argument("--commit", required=True,
                    help="volatility commit the files come from")
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "facts"))
    ap.add_argument("--only", help="draft this profile only")
    ap.add_argument("--compare", metavar="PROFILES",
                    help="check the converter against ISF-derived profiles "
                    "in PROFILES/kernel instead of writing")
    args = ap.parse_args()
    if args.compare:
        bad = 0
        for name, files in COMPARE:
            isf = proflib.read_text(os.path.join(args.compare, "kernel",
                                                 name + ".prof"))
            have = {ln for ln in isf.splitlines()
                    if ln.startswith(("struct ", "field ", "bits "))}
            for f in files:
                t = vtypes_to_types(load_vtypes(
                    os.path.join(args.vtypes, f + "_vtypes.py")))
                got = {ln for ln in layout(t)
                       if ln.startswith(("struct ", "field ", "bits "))}
                diff = sorted(got - have)
                miss = sorted(have - got)
                print("%s vs %s: %d lines differ" % (
                    name, f, len(diff)))
                for ln in diff:
                    print("   vtypes: " + ln)
                for ln in miss:
                    if not ln.split()[1].startswith(
                            ("_KDDEBUGGER", "_DBGKD_DEBUG")):
                        print("   isf:    " + ln)
                bad += len(diff)
        return 1 if bad else 0
    for name, bmin, bmax, files, what in FACT_PROFILES:
        if args.only and name != args.only:
            continue
        try:
            text = fact_text(name, bmin, bmax, files, what, args.commit,
                             args.vtypes)
        except (OSError, ValueError, KeyError, proflib.ProfileError) as e:
            print("vtypes2facts: %s: %s" % (name, e), file=sys.stderr)
            continue
        proflib.parse_prof(text, name)
        proflib.write_text(os.path.join(args.out, name + ".prof"), text)
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
