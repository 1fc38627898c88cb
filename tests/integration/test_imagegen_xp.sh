#!/usr/bin/env bash
# ms-imagegen, XP/2003 network part: TCPT/TCPA objects, the TCB and address
# object tables at a Volatility 2 address set, tcpip.sys's version, freed
# and reused blocks, decoys, truth fields, determinism.  The raw image is
# checked by an independent reader below (page tables, table walk, a pool
# scan with Volatility 2's constraints, the PE version resource).
set -u
GEN="${MEMSIFT_BUILD:-}/tools/imagegen/ms-imagegen"
if [ -z "${MEMSIFT_BUILD:-}" ] || [ ! -x "$GEN" ]; then
    echo "SKIP: ms-imagegen not built (MEMSIFT_BUILD=${MEMSIFT_BUILD:-unset})"
    exit 77
fi
SRC="${MEMSIFT_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
TMP="${MEMSIFT_TEST_TMP:-$(mktemp -d)}/imagegen_xp"
rm -rf "$TMP" && mkdir -p "$TMP" || exit 1
fail=0
err() { echo "FAIL: $*"; fail=1; }

check() { # image profile tcpip-profile set
    python3 - "$@" <<'PY'
import json, mmap, re, struct, sys
path, prof, tprof, label = sys.argv[1:5]
t = json.load(open(path + ".truth.json"))
f = open(path, "rb")
mem = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
x64 = t["arch"] == "x64"
P = 8 if x64 else 4
paging = t["paging"]

def u32(pa): return struct.unpack_from("<I", mem, pa)[0]
def u64(pa): return struct.unpack_from("<Q", mem, pa)[0]

def v2p(va):
    M = 0x000FFFFFFFFFF000
    if paging == "x86":
        pde = u32(t["dtb"] + ((va >> 22) & 0x3FF) * 4)
        if not pde & 1: return None
        if pde & 0x80: return (pde & 0xFFC00000) | (va & 0x3FFFFF)
        pte = u32((pde & 0xFFFFF000) + ((va >> 12) & 0x3FF) * 4)
        return (pte & 0xFFFFF000) | (va & 0xFFF) if pte & 1 else None
    if paging == "pae":
        e, shifts = u64(t["dtb"] + ((va >> 30) & 3) * 8), (21, 12)
    else:
        e, shifts = u64(t["dtb"] + ((va >> 39) & 0x1FF) * 8), (30, 21, 12)
    for shift in shifts:
        if not e & 1: return None
        e = u64((e & M) + ((va >> shift) & 0x1FF) * 8)
        if shift != 12 and e & 0x81 == 0x81:
            return (e & M & ~((1 << shift) - 1)) | (va & ((1 << shift) - 1))
    return (e & M) | (va & 0xFFF) if e & 1 else None

def rd(va, n):
    out = b""
    while n:
        pa = v2p(va)
        assert pa is not None, "VA %#x not mapped" % va
        k = min(n, 0x1000 - (va & 0xFFF))
        out += mem[pa:pa + k]
        va += k; n -= k
    return out

def rptr(va): return struct.unpack("<Q" if x64 else "<I", rd(va, P))[0]
def ip(b): return "%d.%d.%d.%d" % tuple(b)

# tcpip profile: layouts and the chosen set's RVAs
fields, cands = {}, {}
for line in open(tprof):
    w = line.split()
    if len(w) >= 4 and w[0] == "field": fields[(w[1], w[2])] = int(w[3], 16)
    if len(w) == 4 and w[0] == "candidate": cands.setdefault(w[1], {})[w[2]] = int(w[3], 16)
T = lambda n: fields[("_TCPT_OBJECT", n)]
A = lambda n: fields[("_ADDRESS_OBJECT", n)]
rv = cands[label]

conns = t["connections"]
keys = {"kind", "proto", "local_addr", "local_port", "foreign_addr", "foreign_port", "pid", "owner", "created",
        "offset", "offset_phys", "tag", "reachable", "pool_scan", "plausible", "in_dump"}
for r in conns:
    need = keys | ({"protocol", "protocol_name", "role"} if r["kind"] == "socket" else set())
    assert set(r) == need, (set(r) ^ need, r)
    assert r["in_dump"] is True
    assert r["tag"] == ("TCPA" if r["kind"] == "socket" else "TCPT")
    if r["kind"] == "connection":
        assert r["created"] is None and r["foreign_addr"] is not None
    else:
        assert r["foreign_addr"] is None and r["foreign_port"] is None and r["created"]
names = {p["pid"]: p["name"] for p in t["processes"]}
for r in conns:
    assert r["owner"] == names.get(r["pid"]), r

C = [r for r in conns if r["kind"] == "connection"]
S = [r for r in conns if r["kind"] == "socket"]
live_c = [r for r in C if r["reachable"]]
live_s = [r for r in S if r["reachable"]]
assert len(live_c) >= 5 and len(live_s) >= 12, (len(live_c), len(live_s))
assert any(not r["reachable"] and r["plausible"] for r in C), "freed intact connection"
assert any(not r["reachable"] and r["plausible"] for r in S), "freed intact socket"
assert sum(not r["plausible"] for r in C) >= 2 and any(not r["plausible"] for r in S), "implausible blocks"
assert any(r["local_addr"] == "3.0.48.2" and r["local_port"] == 17985 and r["foreign_addr"] == "66.179.81.245"
           and r["foreign_port"] == 20084 and r["pid"] == 4287933200 and not r["plausible"] for r in C), "rekall row"
assert all(r["plausible"] for r in conns if r["reachable"]), "live objects are plausible"
assert any(r["owner"] is None and r["reachable"] for r in C), "connection of an unlisted pid"
pairs = [(c, s) for c in live_c for s in live_s
         if s["pid"] == c["pid"] and s["local_port"] == c["local_port"] and s["role"] == "connection"]
assert len(pairs) >= 4, "connection/socket pairs"
assert all(any(c["pid"] == s["pid"] and c["local_port"] == s["local_port"] for c in C)
           for s in S if s["role"] == "connection"), "role connection without its connection"
lis = {(s["protocol"], s["local_addr"], s["local_port"]) for s in live_s if s["role"] == "listener"}
assert (6, "0.0.0.0", 135) in lis and (6, "0.0.0.0", 445) in lis and (17, "0.0.0.0", 500) in lis, lis
assert any(p == 6 and port == 139 and a != "0.0.0.0" for p, a, port in lis), "NetBIOS 139 on the NIC"
assert {0, 1, 47} <= {s["protocol"] for s in live_s}, "raw protocols"
for s in S:
    exp = {0: "HOPOPT", 1: "ICMP", 6: "TCP", 17: "UDP", 47: "GRE", 255: "Reserved"}.get(s["protocol"])
    assert s["protocol_name"] == exp, s

# tcpip.sys: globals of the chosen set, the others empty
tcp = [m for m in t["modules"] if m["name"] == "tcpip.sys"][0]
base = tcp["base"]
tcb, tcbn = rptr(base + rv["TCBTable"]), struct.unpack("<i", rd(base + rv["MaxHashTableSize"], 4))[0]
ao, aon = rptr(base + rv["AddrObjTable"]), struct.unpack("<I", rd(base + rv["AddrObjTableSize"], 4))[0]
assert 0 < tcbn <= 0x10000 and 0 < aon <= 0x10000, (tcbn, aon)
for other, g in cands.items():
    if other == label: continue
    for name in ("MaxHashTableSize", "AddrObjTableSize"):
        va = base + g[name]
        if v2p(va) is not None:
            assert rd(va, 4) == b"\0" * 4, "set %s: %s is not 0" % (other, name)

def walk(table, n, next_off):
    seen, longest = [], 0
    for i in range(n):
        p, k = rptr(table + i * P), 0
        while p and k < 1000:
            seen.append(p); k += 1
            p = rptr(p + next_off)
        longest = max(longest, k)
    return seen, longest
wc, lc = walk(tcb, tcbn, T("Next"))
ws, ls = walk(ao, aon, A("Next"))
assert len(set(wc)) == len(wc) and len(set(ws)) == len(ws), "object twice in a table"
assert sorted(wc) == sorted(r["offset"] for r in live_c), "TCB table walk != reachable connections"
assert sorted(ws) == sorted(r["offset"] for r in live_s), "address object walk != reachable sockets"
assert lc >= 3 and ls >= 2, ("chains", lc, ls)

# every object's fields as stored, through VA and PA alike
for r in conns:
    assert v2p(r["offset"]) == r["offset_phys"], r
    if r["kind"] == "connection":
        b = rd(r["offset"], T("Pid") + 4)
        got = (ip(b[T("LocalIpAddress"):][:4]), struct.unpack_from(">H", b, T("LocalPort"))[0],
               ip(b[T("RemoteIpAddress"):][:4]), struct.unpack_from(">H", b, T("RemotePort"))[0],
               struct.unpack_from("<I", b, T("Pid"))[0])
        assert got == (r["local_addr"], r["local_port"], r["foreign_addr"], r["foreign_port"], r["pid"]), (got, r)
    else:
        b = rd(r["offset"], A("CreateTime") + 8)
        got = (ip(b[A("LocalIpAddress"):][:4]), struct.unpack_from(">H", b, A("LocalPort"))[0],
               struct.unpack_from("<H", b, A("Protocol"))[0], struct.unpack_from("<I", b, A("Pid"))[0])
        assert got == (r["local_addr"], r["local_port"], r["protocol"], r["pid"]), (got, r)
        assert struct.unpack_from("<Q", b, A("CreateTime"))[0] > 0

# pool scan of physical memory with Volatility 2's constraints
hs = 16 if x64 else 8
found = set()
for m in re.finditer(b"TCP[TA]", mem):
    h = m.start() - 4
    if h < 0: continue
    w = u32(h)
    if x64:
        idx, bs, ty = (w >> 8) & 0xFF, (w >> 16) & 0xFF, (w >> 24) & 0xFF
    else:
        idx, bs, ty = (w >> 9) & 0x7F, (w >> 16) & 0x1FF, (w >> 25) & 0x7F
    tag = m.group().decode()
    size_ok = bs * (16 if x64 else 8) >= (0x198 if tag == "TCPT" else 0x15C)
    if size_ok and (ty == 0 or ty & 1) and idx < 5:
        found.add((tag, h + hs))
want = {(r["tag"], r["offset_phys"]) for r in conns if r["pool_scan"]}
assert found == want, ("pool scan", sorted(found - want), sorted(want - found))
assert any(ty == 0 for ty in [(u32(r["offset_phys"] - hs) >> (24 if x64 else 25)) & (0xFF if x64 else 0x7F)
                                for r in conns if not r["reachable"]]), "no free pool block"
decoys = sum(1 for m in re.finditer(b"TCP[TA]", mem)) - len(found)
assert decoys >= 6, "decoy tags: %d" % decoys

# tcpip.sys PE: timestamp and FileVersion name the set
hdr = rd(base, 0x1000)
lf = struct.unpack_from("<I", hdr, 0x3C)[0]
ts = struct.unpack_from("<I", hdr, lf + 8)[0]
opt = lf + 24
dirs = opt + (112 if x64 else 96)
rsrc, rsize = struct.unpack_from("<II", hdr, dirs + 16)
assert rsrc and rsize, "no resource directory"
off = 0
for lvl, want_id in enumerate((16, None, None)):
    d = rd(base + rsrc + off, 16 + 8)
    name, to = struct.unpack_from("<II", d, 16)
    assert want_id is None or name == want_id
    assert bool(to & 0x80000000) == (lvl < 2)
    off = to & 0x7FFFFFFF
drva, dsize = struct.unpack("<II", rd(base + rsrc + off, 8))
vi = rd(base + drva, dsize)
assert vi[6:6 + 30] == "VS_VERSION_INFO".encode("utf-16-le")
sig, _, fms, fls = struct.unpack_from("<IIII", vi, 40)
assert sig == 0xFEEF04BD
ver = (fms >> 16, fms & 0xFFFF, fls >> 16, fls & 0xFFFF)
assert ver[:3] == (5, 1 if t["build"] == 2600 else 2, t["build"]), ver
assert str(ver[3]) == label.split("_")[0], (ver, label)
assert "OriginalFilename\0tcpip.sys".encode("utf-16-le") in vi
assert 0x3B000000 < ts < 0x4B000000, hex(ts)
PY
}

# profile -> tcpip profile and the address set its tcpip.sys revision names
for spec in "xpsp2-x86 xp-x86 2180" "xpsp3-x86pae xp-x86 5625" "2003sp2-x64 2003-x64 3959_x64"; do
    set -- $spec
    p=$1 tprof="$SRC/profiles/tcpip/$2.prof" label=$3
    if "$GEN" --list-profiles | grep "^$p " | grep -q missing; then
        echo "skip $p: kernel profile missing"
        continue
    fi
    for f in raw crash crash-summary; do
        out="$TMP/$p.$f"
        if ! "$GEN" --profile "$p" --out "$out" --size 32M --format "$f" --seed 11 --verify 2>"$TMP/err"; then
            err "$p $f: $(cat "$TMP/err")"
            continue
        fi
    done
    [ -f "$TMP/$p.raw" ] || continue
    check "$TMP/$p.raw" "$p" "$tprof" "$label" || err "$p: raw image / truth check"
    for f in crash crash-summary; do
        [ -f "$TMP/$p.$f.truth.json" ] || continue
        python3 - "$TMP/$p.raw.truth.json" "$TMP/$p.$f.truth.json" <<'PY' || err "$p $f: connections differ from raw"
import json, sys
a, b = (json.load(open(x))["connections"] for x in sys.argv[1:3])
assert a == b and len(a) > 20
PY
    done
    # determinism: same seed, same image and truth; another seed differs
    "$GEN" --profile "$p" --out "$TMP/$p.again" --size 32M --seed 11 || err "$p: regenerate"
    cmp -s "$TMP/$p.raw" "$TMP/$p.again" || err "$p: same seed gave different images"
    cmp -s "$TMP/$p.raw.truth.json" "$TMP/$p.again.truth.json" || err "$p: same seed gave different truth"
    "$GEN" --profile "$p" --out "$TMP/$p.other" --size 32M --seed 12 || err "$p: other seed"
    python3 - "$TMP/$p.raw.truth.json" "$TMP/$p.other.truth.json" <<'PY' || err "$p: another seed gave the same network"
import json, sys
a, b = (json.load(open(x))["connections"] for x in sys.argv[1:3])
assert a != b
PY
    check "$TMP/$p.other" "$p" "$tprof" "$label" || err "$p: seed 12 image / truth check"
    rm -f "$TMP/$p".*
done

[ $fail -eq 0 ] && echo "imagegen XP network: ok"
exit $fail
