#!/usr/bin/python3
"""Writes profiles/tcpip/: symbols.idx from the tcpip ISFs and the layout
profiles from Volatility 3's netscan layouts in ../shared/reference,
completed by the cited facts in facts/tcpip/<profile>.frag where present.

Usage: derive_tcpip.py --shared ../shared --out profiles
"""

import argparse
import glob
import json
import lzma
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proflib  # noqa: E402

# Required names first, then symbols kept for later code analysis.
TCPIP_SYMBOLS = [
    "PartitionTable", "PartitionCount", "TcpPortPool", "UdpPortPool",
    "TcpCompartmentSet", "UdpCompartmentSet",
    "MaxPartitionCount", "TcpEndpointPool", "TcpTcbPool", "TcpListenerCount",
    "TcpEnumerateAllConnections", "TcpEnumerateConnections",
    "TcpEnumerateListeners", "UdpEnumerateEndpoints",
    "UdpEnumerateAllEndpointObjects", "InetBeginEnumeratePortPool",
]

MACHINES = {0x14c: "x86", 0x8664: "x64", 0xaa64: "arm64"}

VOL3_COMMIT = "a1961401d52db56f310675d8cd4af09e3d9e4139"
VOL3_TABLE = ("volatility3/framework/plugins/windows/netscan.py "
              "determine_tcpip_version @" + VOL3_COMMIT)

# (profile, layout file, builds min, builds max, tcpip file revisions or
# None, note).  Ranges are Volatility 3's version_dict (see VOL3_TABLE).
LAYOUTS = [
    ("vista-6000-x86", "netscan-vista-x86", 6000, 6003, None, None),
    ("vista-6000-x64", "netscan-vista-x64", 6000, 6000, None, None),
    ("vista-6001-x64", "netscan-vista-sp12-x64", 6001, 6003, None, None),
    ("win7-7601-x86", "netscan-win7-x86", 7600, 8400, None, None),
    ("win7-7601-x64", "netscan-win7-x64", 7600, 8400, None, None),
    ("win8-9200-x86", "netscan-win8-x86", 9200, 9200, None, None),
    ("win8-9200-x64", "netscan-win8-x64", 9200, 9200, None, None),
    ("win81-9600-x86", "netscan-win81-x86", 9600, 9600, None, None),
    ("win81-9600-x64", "netscan-win81-x64", 9600, 9600, (0, 19934),
     "tcpip.sys FileVersion revision below 19935"),
    ("win81-9600r19935-x64", "netscan-win81-19935-x64", 9600, 9600,
     (19935, 65535), "tcpip.sys FileVersion revision 19935 or later"),
    ("win10-10240-x86", "netscan-win10-10240-x86", 10240, 10240, None, None),
    ("win10-10586-x86", "netscan-win10-10586-x86", 10586, 10586, None, None),
    ("win10-14393-x86", "netscan-win10-14393-x86", 14393, 14393, None, None),
    ("win10-15063-x86", "netscan-win10-15063-x86", 15063, 16299, None, None),
    ("win10-17134-x86", "netscan-win10-17134-x86", 17134, 18363, None, None),
    ("win10-19041-x86", "netscan-win10-17134-x86", 19041, 19045, None,
     "Volatility 3 falls back to its newest listed x86 file, "
     "netscan-win10-17134-x86.json, for 19041 and later "
     "(netscan-win10-19041-x86.json ships unreferenced); unverified"),
    ("win10-10240-x64", "netscan-win10-x64", 10240, 14393, None, None),
    ("win10-15063-x64", "netscan-win10-15063-x64", 15063, 15063, None, None),
    ("win10-16299-x64", "netscan-win10-16299-x64", 16299, 16299, None, None),
    ("win10-17134-x64", "netscan-win10-17134-x64", 17134, 17134, None, None),
    ("win10-17763-x64", "netscan-win10-17763-x64", 17763, 17763, None, None),
    ("win10-18362-x64", "netscan-win10-18362-x64", 18362, 18362, None,
     "1909 kernels also report 18362; Volatility 3 picks the 18363 layout "
     "when the kernel has the type _KQOS_GROUPING_SETS"),
    ("win10-18363-x64", "netscan-win10-18363-x64", 18363, 18363, None,
     "reported as 18362 by the kernel; see win10-18362-x64"),
    ("win10-19041-x64", "netscan-win10-19041-x64", 19041, 19045, None,
     "19042-19045 kernels report 19041"),
    ("win10-20348-x64", "netscan-win10-20348-x64", 20348, 20348, None, None),
    ("win11-22000-x64", "netscan-win10-20348-x64", 22000, 22631, None,
     "Windows 11 21H2-23H2 (22000, 22621, 22631); Volatility 3 falls back "
     "to the 20348 file here, unverified; the facts file overrides what "
     "other sources give for 22000 and later"),
    ("win11-26100-x64", "netscan-win10-20348-x64", 26100, 26200, None,
     "Windows 11 24H2/25H2 and Server 2025 (26100, 26200); base as for "
     "win11-22000-x64, TcpL/UdpA from the facts file"),
]


POOL_TAGS = [("TAG_TCP_ENDPOINT", "TcpE"), ("TAG_TCP_LISTENER", "TcpL"),
             ("TAG_UDP_ENDPOINT", "UdpA")]

# Types the netscan layouts borrow from the kernel: size by pointer width.
NT_SIZES = {"nt_symbols!_LIST_ENTRY": (8, 16),
            "nt_symbols!_RTL_BITMAP": (8, 16)}

SKIP_TYPES = ("_LARGE_INTEGER", "__unnamed")

FACTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "facts",
                         "tcpip")


def tcpip_symbols_idx(shared):
    rows = []
    paths = sorted(glob.glob(os.path.join(shared, "isf", "windows",
                                          "tcpip.pdb", "*.json.xz")))
    for path in paths:
        with lzma.open(path, "rt", encoding="utf-8") as f:
            isf = json.load(f)
        pdb = isf["metadata"]["windows"]["pdb"]
        arch = MACHINES.get(pdb.get("machine_type"))
        if arch is None:
            arch = "x64" if isf["base_types"]["pointer"]["size"] == 8 \
                else "x86"
        parts = ["%s %d %s" % (pdb["GUID"].upper(), pdb["age"], arch)]
        syms = isf["symbols"]
        for name in TCPIP_SYMBOLS:
            if name in syms and "address" in syms[name]:
                parts.append("%s=%s" % (name, proflib.fmt_num(
                    syms[name]["address"])))
        rows.append(" ".join(parts))
    if not rows:
        raise proflib.ProfileError("no tcpip ISFs under %s" % shared)
    rows.sort()
    return ("# GUID AGE ARCH NAME=RVA ... (tcpip.pdb; generated by "
            "tools/profiles/derive_tcpip.py from %d ISFs)\n" % len(rows) +
            "\n".join(rows) + "\n"), len(rows)


class NetscanTypes(proflib.Types):
    def size_of(self, t):
        name = t.get("name", "")
        if name in NT_SIZES:
            return NT_SIZES[name][1 if self.pointer_size() == 8 else 0]
        if t["kind"] == "enum":
            return 4
        return proflib.Types.size_of(self, t)


def layout_structs(isf):
    """{struct: {"size", "fields": {name: (offset, size)}, "notes"}}."""
    types = NetscanTypes(isf["user_types"], isf["base_types"])
    out = {}
    for sname in sorted(isf["user_types"]):
        if sname.startswith(SKIP_TYPES):
            continue
        ut = isf["user_types"][sname]
        fields = {}
        end = 0
        notes = []
        for fname, f in ut["fields"].items():
            t = f["type"]
            if fname == "CreateTime" and f["offset"] == 0:
                notes.append("# %s has no CreateTime in this layout" % sname)
                continue
            size = types.size_of(t)
            fields[fname] = (f["offset"], size)
            end = max(end, f["offset"] + (size or 1))
        size = ut.get("size", 0)
        if size < end:
            notes.append("# %s: published size %s does not cover its members;"
                         " size unknown" % (sname, proflib.fmt_num(size)))
            size = 0
        out[sname] = {"size": size, "fields": fields, "notes": notes}
    return out, types.pointer_size()


def facts_path(name):
    return os.path.join(FACTS_DIR, name + ".frag")


def read_facts(name):
    """Statements of facts/tcpip/NAME.frag, or None.  A fragment holds
    source, struct, field and const statements; `struct` may repeat a
    struct the layout file has (its size then replaces the published one)."""
    path = facts_path(name)
    if not os.path.exists(path):
        return None
    stmts = proflib.parse_prof(proflib.read_text(path), path, fragment=True)
    for kw, args in stmts:
        if kw not in ("source", "struct", "field", "const"):
            raise proflib.ProfileError("%s: %s is not allowed in a tcpip "
                                       "facts fragment" % (path, kw))
    return stmts


def merge_facts(structs, consts, stmts, name):
    """Applies fragment statements; returns the sources it cites."""
    sources = []
    for kw, args in stmts:
        if kw == "source":
            sources.append(" ".join(args))
        elif kw == "struct":
            st = structs.setdefault(args[0], {"size": 0, "fields": {},
                                              "notes": []})
            st["size"] = proflib.parse_num(args[1])
            st["notes"] = [n for n in st["notes"] if "size unknown" not in n]
            st["facts"] = True
        elif kw == "field":
            st = structs[args[0]]
            size = proflib.parse_num(args[3]) if len(args) > 3 else None
            st["fields"][args[1]] = (proflib.parse_num(args[2]), size)
            st["facts"] = True
            if args[1] == "CreateTime":
                st["notes"] = [n for n in st["notes"] if "CreateTime" not in n]
        elif kw == "const":
            consts[args[0]] = args[1]
    if not sources:
        raise proflib.ProfileError("%s: a facts fragment needs a source "
                                   "statement" % facts_path(name))
    return sources


def struct_lines(structs, name):
    out = []
    for sname in sorted(structs):
        st = structs[sname]
        out.extend(st["notes"])
        if st.get("facts"):
            out.append("# %s: completed from tools/profiles/facts/tcpip/"
                       "%s.frag" % (sname, name))
        out.append("struct %s %s" % (sname, proflib.fmt_num(st["size"])))
        rows = sorted((off, fname, fsize)
                      for fname, (off, fsize) in st["fields"].items())
        for off, fname, fsize in rows:
            if fsize is None:
                out.append("field %s %s %s" % (sname, fname,
                                                proflib.fmt_num(off)))
            else:
                out.append("field %s %s %s %s" % (
                    sname, fname, proflib.fmt_num(off),
                    proflib.fmt_num(fsize)))
        out.append("")
    return out


def layout_profile(shared, name, stem, bmin, bmax, revs, note):
    path = os.path.join(shared, "reference", "vol3-netscan-layouts",
                        stem + ".json")
    with open(path, "r", encoding="utf-8") as f:
        isf = json.load(f)
    structs, ptr = layout_structs(isf)
    consts = {}
    for cname, tag in POOL_TAGS:
        consts[cname] = tag
    if stem.startswith("netscan-win10-20348"):
        # Volatility 3 PR #1277 scans TTcb as a second TcpE tag from 20348.
        consts["TAG_TCP_ENDPOINT_TCB"] = "TTcb"
    facts = read_facts(name)
    fact_sources = merge_facts(structs, consts, facts, name) if facts else []
    lines = [
        "# Generated by tools/profiles/derive_tcpip.py; do not edit.",
        "# Offsets from Volatility 3's netscan layout %s.json" % stem,
        "# (Volatility Software License 1.0); ports are big-endian.",
    ]
    if facts:
        lines.append("# Structures marked below are completed or overridden "
                     "from tools/profiles/facts/tcpip/%s.frag," % name)
        lines.append("# which cites a source for each value.")
    if note:
        lines.append("# Builds: %s." % note)
    lines += [
        "profile %s" % name,
        "module tcpip",
        "arch %s" % ("x64" if ptr == 8 else "x86"),
        "builds %d %d" % (bmin, bmax),
    ]
    if revs:
        lines.append("revisions %d %d" % revs)
    lines += [
        "source volatilityfoundation/volatility3 "
        "volatility3/framework/symbols/windows/netscan/%s.json @%s" % (
            stem, VOL3_COMMIT),
        "source build ranges: " + VOL3_TABLE,
    ]
    for src in fact_sources:
        lines.append("source facts: " + src)
    lines.append("")
    lines.extend(struct_lines(structs, name))
    for cname in consts:
        lines.append("const %s %s" % (cname, consts[cname]))
    return proflib.finish(lines)


def derive(shared, out_dir):
    info = {}
    text, count = tcpip_symbols_idx(shared)
    proflib.write_text(os.path.join(out_dir, "tcpip", "symbols.idx"), text)
    for name, stem, bmin, bmax, revs, note in LAYOUTS:
        text = layout_profile(shared, name, stem, bmin, bmax, revs, note)
        stmts = proflib.parse_prof(text, name)
        proflib.write_text(os.path.join(out_dir, "tcpip", name + ".prof"),
                           text)
        arch = [a[0] for k, a in stmts if k == "arch"][0]
        info[name] = {"arch": arch, "builds": (bmin, bmax),
                      "source": "vol3 " + stem + ".json",
                      "facts": os.path.exists(facts_path(name))}
    return info, count


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", required=True, help="path to ../shared")
    ap.add_argument("--out", required=True, help="profiles/ directory")
    args = ap.parse_args()
    try:
        info, count = derive(args.shared, args.out)
    except (OSError, ValueError, KeyError, proflib.ProfileError) as e:
        print("derive_tcpip: %s" % e, file=sys.stderr)
        return 1
    print("tcpip/symbols.idx (%d PDBs)" % count)
    for name in sorted(info):
        print("tcpip/%s.prof" % name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
