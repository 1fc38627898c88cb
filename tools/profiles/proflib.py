"""Shared helpers for the profile derivation scripts (standard library only).

Types are held in the Volatility 3 ISF shape: {name: {"size": n, "fields":
{member: {"offset": o, "type": T}}}} where T has "kind" base / pointer /
struct / union / enum / array / bitfield / function.
"""

import os
import re

# Which members of which structures a kernel profile carries.  A tuple lists
# alternative spellings of one member: every spelling present is written.
KERNEL_SPEC = [
    ("_EPROCESS", [
        "Pcb", "Pcb.Header.Type", "Pcb.Header.Size", "Pcb.Header.SignalState",
        "Pcb.DirectoryTableBase", "Pcb.ThreadListHead", "UniqueProcessId",
        "ActiveProcessLinks", "InheritedFromUniqueProcessId", "ImageFileName",
        "CreateTime", "ExitTime", "ExitStatus", "ActiveThreads", "Peb",
        "ObjectTable", "Token", "VadRoot", "SeAuditProcessCreationInfo",
        "SeAuditProcessCreationInfo.ImageFileName", "ImageFilePointer",
        "ThreadListHead", ("Wow64Process", "WoW64Process")]),
    ("_KPROCESS", ["Header", "DirectoryTableBase", "ThreadListHead"]),
    ("_DISPATCHER_HEADER", ["Type", "Size", "SignalState"]),
    ("_SE_AUDIT_PROCESS_CREATION_INFO", ["ImageFileName"]),
    ("_OBJECT_NAME_INFORMATION", ["Name"]),
    ("_LDR_DATA_TABLE_ENTRY", [
        "InLoadOrderLinks", "InMemoryOrderLinks", "DllBase", "EntryPoint",
        "SizeOfImage", "FullDllName", "BaseDllName", "TimeDateStamp"]),
    ("_KLDR_DATA_TABLE_ENTRY", [
        "InLoadOrderLinks", "DllBase", "EntryPoint", "SizeOfImage",
        "FullDllName", "BaseDllName", "TimeDateStamp"]),
    ("_LIST_ENTRY", ["Flink", "Blink"]),
    ("_UNICODE_STRING", ["Length", "MaximumLength", "Buffer"]),
    ("_DBGKD_GET_VERSION64", [
        "MajorVersion", "MinorVersion", "ProtocolVersion",
        "KdSecondaryVersion", "Flags", "MachineType", "KernBase",
        "PsLoadedModuleList", "DebuggerDataList"]),
    ("_KUSER_SHARED_DATA", [
        "SystemTime", "NtBuildNumber", "NtProductType", "NtMajorVersion",
        "NtMinorVersion", "NumberOfPhysicalPages", "ActiveProcessorCount",
        "KdDebuggerEnabled"]),
    ("_KPCR", ["Self", "SelfPcr", "Prcb", "PrcbData", "CurrentPrcb",
               "KdVersionBlock"]),
    ("_KPRCB", ["CurrentThread", "IdleThread"]),
    ("_POOL_HEADER", ["PreviousSize", "PoolIndex", "BlockSize", "PoolType",
                      "PoolTag", "ProcessBilled"]),
    ("_OBJECT_HEADER", ["PointerCount", "HandleCount", "Type", "TypeIndex",
                        "InfoMask", "Body"]),
    ("_RTL_DYNAMIC_HASH_TABLE", [
        "Flags", "Shift", "TableSize", "Pivot", "DivisorMask", "NumEntries",
        "NonEmptyBuckets", "NumEnumerators", "Directory"]),
    ("_RTL_BITMAP", ["SizeOfBitMap", "Buffer"]),
]

# Structures written with every bit field they have.
KERNEL_ALL_BITS = ["_MMPTE_TRANSITION", "_MMPTE_PROTOTYPE", "_MMPTE_SOFTWARE"]

KERNEL_SYMBOLS = [
    "PsActiveProcessHead", "PsLoadedModuleList", "KdDebuggerDataBlock",
    "KdpDataBlockEncoded", "KiWaitNever", "KiWaitAlways", "KdCopyDataBlock",
    "KdVersionBlock", "NtBuildNumber", "NtBuildLab", "PsInitialSystemProcess",
    "KeNumberProcessors", "MmPfnDatabase", "KiProcessorBlock",
    "PoolBigPageTable", "PoolBigPageTableSize", "MmNonPagedPoolStart",
    "MmSystemRangeStart",
]


# _KDDEBUGGER_DATA64 Header.Size by build: Volatility 2's AbstractKDBGMod
# subclasses (overlays/windows/{windows,win2003,vista,win7,win8,win10}.py,
# commit 328a178edeecaf8d2abf96618ecfcb14a7b0c860), FORMATS.md section 3.3.
KDBG_SIZES = [
    # (first build, size)
    (2600, 0x290), (3790, 0x318), (6000, 0x328), (6001, 0x330),
    (7600, 0x340), (9200, 0x360), (14393, 0x368), (17763, 0x380),
]


def kdbg_size(build):
    size = None
    for first, value in KDBG_SIZES:
        if build >= first:
            size = value
    return size


class ProfileError(Exception):
    pass


class Types:
    """Resolves sizes and dotted member paths over ISF-shaped types."""

    def __init__(self, user_types, base_types):
        self.user = user_types
        self.base = base_types

    def pointer_size(self):
        return self.base["pointer"]["size"]

    def size_of(self, t):
        kind = t["kind"]
        if kind == "base":
            return self.base[t["name"]]["size"]
        if kind == "pointer":
            return t.get("size", self.pointer_size())
        if kind in ("struct", "union", "class"):
            ut = self.user.get(t["name"])
            return ut["size"] if ut else None
        if kind == "enum":
            return t.get("size", 4)
        if kind == "array":
            sub = self.size_of(t["subtype"])
            return None if sub is None else sub * t["count"]
        if kind == "bitfield":
            return self.size_of(t["type"])
        return None

    def resolve(self, struct, path):
        """Returns (offset, type) of STRUCT.PATH, or None if absent."""
        offset = 0
        cur = struct
        t = None
        for part in path.split("."):
            ut = self.user.get(cur)
            if ut is None or part not in ut["fields"]:
                return None
            f = ut["fields"][part]
            offset += f["offset"]
            t = f["type"]
            cur = t.get("name") if t["kind"] in ("struct", "union") else None
        return offset, t


def fmt_num(n):
    return "0x%x" % n


def member_lines(types, struct, paths):
    """Lines for one structure of the spec; empty when the struct is absent."""
    ut = types.user.get(struct)
    if ut is None:
        return []
    out = ["struct %s %s" % (struct, fmt_num(ut["size"]))]
    for entry in paths:
        names = entry if isinstance(entry, tuple) else (entry,)
        for name in names:
            r = types.resolve(struct, name)
            if r is None:
                continue
            off, t = r
            if t["kind"] == "bitfield":
                out.append("bits %s %s %s %d %d" % (
                    struct, name, fmt_num(off), t["bit_position"],
                    t["bit_length"]))
            else:
                size = types.size_of(t)
                if size is None:
                    out.append("field %s %s %s" % (struct, name, fmt_num(off)))
                else:
                    out.append("field %s %s %s %s" % (
                        struct, name, fmt_num(off), fmt_num(size)))
    return out


def all_bits_lines(types, struct):
    ut = types.user.get(struct)
    if ut is None:
        return []
    out = ["struct %s %s" % (struct, fmt_num(ut["size"]))]
    rows = []
    for name, f in ut["fields"].items():
        t = f["type"]
        if t["kind"] == "bitfield":
            rows.append((f["offset"], t["bit_position"], name, t["bit_length"]))
    for off, pos, name, length in sorted(rows):
        out.append("bits %s %s %s %d %d" % (struct, name, fmt_num(off), pos,
                                            length))
    return out


def kernel_layout_lines(types):
    out = []
    for struct, paths in KERNEL_SPEC:
        block = member_lines(types, struct, paths)
        if block:
            out.extend(block)
            out.append("")
    for struct in KERNEL_ALL_BITS:
        block = all_bits_lines(types, struct)
        if block:
            out.extend(block)
            out.append("")
    return out


def common_fragment():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "facts",
                        "common", "kddebugger_data64.frag")
    text = read_text(path)
    parse_prof(text, path, fragment=True)
    lines = []
    for raw in text.splitlines():
        if raw.startswith("#"):
            continue
        lines.append(raw)
    return lines


def kernel_constants(types, build):
    out = []
    kp = types.user.get("_KPROCESS")
    if kp:
        out.append("const KPROCESS_SIZE %s" % fmt_num(kp["size"]))
        if kp["size"] // 4 <= 0xff:
            out.append("const KPROCESS_HEADER_SIZE %s" % fmt_num(
                kp["size"] // 4))
        else:
            # Header.Size is a byte.  The 19041 triage dump in ../shared
            # holds System's EPROCESS with Header.Size 0, not the low byte.
            out.append("# no KPROCESS_HEADER_SIZE: sizeof(_KPROCESS)/4 does "
                       "not fit Header.Size (a byte)")
    size = kdbg_size(build)
    if size:
        out.append("const KDBG_SIZE %s" % fmt_num(size))
    ptr = types.pointer_size()
    out.append("const POOL_ALIGNMENT %d" % (16 if ptr == 8 else 8))
    ph = types.user.get("_POOL_HEADER")
    if ph:
        out.append("const POOL_HEADER_SIZE %s" % fmt_num(ph["size"]))
    return out


# ---------------------------------------------------------------- .prof files

_STMT_ARGS = {
    "profile": (1, 1), "module": (1, 1), "arch": (1, 1), "builds": (2, 2),
    "version": (1, 1), "pdb": (3, 3), "source": (1, None), "struct": (2, 2),
    "field": (3, 4), "bits": (5, 5), "symbol": (2, 2), "const": (2, 2),
    "revisions": (2, 2), "candidate": (3, 3),
}
_NUM = re.compile(r"^(0x[0-9a-fA-F]+|[0-9]+)$")


def parse_num(s):
    if not _NUM.match(s):
        raise ProfileError("expected a number, found %r" % s)
    return int(s, 0)


def parse_prof(text, where="<text>", fragment=False):
    """Parses and validates .prof text; returns a list of (keyword, args)."""
    stmts = []
    structs = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        kw, args = words[0], words[1:]
        here = "%s:%d" % (where, lineno)
        if kw not in _STMT_ARGS:
            raise ProfileError("%s: unknown statement %r" % (here, kw))
        lo, hi = _STMT_ARGS[kw]
        if len(args) < lo or (hi is not None and len(args) > hi):
            raise ProfileError("%s: %s takes %d..%s arguments, found %d" % (
                here, kw, lo, hi, len(args)))
        if not stmts and not fragment and kw != "profile":
            raise ProfileError("%s: first statement must be profile" % here)
        if kw == "arch" and args[0] not in ("x86", "x64"):
            raise ProfileError("%s: arch must be x86 or x64" % here)
        if kw == "module" and args[0] not in ("nt", "tcpip"):
            raise ProfileError("%s: module must be nt or tcpip" % here)
        if kw == "builds":
            lo_b, hi_b = parse_num(args[0]), parse_num(args[1])
            if lo_b > hi_b:
                raise ProfileError("%s: builds range is reversed" % here)
        if kw == "struct":
            structs[args[0]] = parse_num(args[1])
        if kw in ("field", "bits"):
            if args[0] not in structs:
                raise ProfileError("%s: %s before struct %s" % (
                    here, kw, args[0]))
            off = parse_num(args[2])
            nums = [parse_num(a) for a in args[3:]]
            size = structs[args[0]]
            if kw == "field" and nums and off + nums[0] > size and size:
                raise ProfileError("%s: %s.%s ends past the struct" % (
                    here, args[0], args[1]))
            if kw == "field" and not nums and off >= size and size:
                raise ProfileError("%s: %s.%s starts past the struct" % (
                    here, args[0], args[1]))
            if kw == "bits" and (nums[0] > 63 or nums[1] < 1 or
                                 nums[0] + nums[1] > 64):
                raise ProfileError("%s: bad bit range" % here)
        if kw == "revisions":
            lo_r, hi_r = parse_num(args[0]), parse_num(args[1])
            if lo_r > hi_r or hi_r > 0xffff:
                raise ProfileError("%s: bad revisions range" % here)
        if kw == "symbol":
            parse_num(args[1])
        if kw == "candidate":
            parse_num(args[2])
        stmts.append((kw, args))
    if not fragment:
        have = {kw for kw, _ in stmts}
        for need in ("module", "arch", "builds", "source"):
            if need not in have:
                raise ProfileError("%s: missing %s statement" % (where, need))
    return stmts


def read_text(path):
    with open(path, "r", encoding="utf-8") as f:
        return f.read()


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def finish(lines):
    """Joins lines into file text: no trailing blanks, one final newline."""
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"
