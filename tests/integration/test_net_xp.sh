#!/usr/bin/env bash
# connections, connscan, sockets and sockscan against the ground truth of
# generated XP / 2003 images: XP SP2 x86, XP SP3 PAE, 2003 SP2 x64, raw and
# crash dumps (32- and 64-bit, full and summary), and the resolver's later
# steps: a user tcpip profile without candidate sets replaces the built-in,
# so code analysis finds the tables; with tcpip's .text also wiped from the
# image, the structural search does.
set -euo pipefail
gen="$MEMSIFT_BUILD/tools/imagegen/ms-imagegen"
if [ ! -x "$gen" ]; then
  echo "SKIP: the image generator was not built ($gen)"
  exit 77
fi
check="$MEMSIFT_SRC/tests/integration/check_net_xp_truth.py"
tmp=$(mktemp -d "${MEMSIFT_TEST_TMP:-/tmp}/net-xp.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/prof/tcpip"
for f in xp-x86 2003-x64; do
  grep -v '^candidate' "$MEMSIFT_SRC/profiles/tcpip/$f.prof" >"$tmp/prof/tcpip/$f.prof"
done

failures=0
passes=0
# check PROFILE FORMAT SEED [-- MEMSIFT OPTIONS...]
check() {
  local profile=$1 format=$2 seed=$3
  shift 3
  [ $# -gt 0 ] && shift
  local out="$tmp/$profile-$format.img"
  rm -f "$tmp"/*.img* 2>/dev/null || true
  if ! "$gen" --profile "$profile" --format "$format" --size 48M --seed "$seed" --out "$out" >"$tmp/gen.log" 2>&1; then
    echo "FAIL $profile $format: generator failed: $(head -1 "$tmp/gen.log")"
    failures=$((failures + 1))
    return
  fi
  local label="$profile $format seed $seed $*"
  if python3 "$check" "$MEMSIFT" "$out" -- "$@" >"$tmp/check.log" 2>&1; then
    echo "ok   $label"
    passes=$((passes + 1))
  else
    echo "FAIL $label"
    sed 's/^/     /' "$tmp/check.log" | head -20
    failures=$((failures + 1))
  fi
}

# Zero the pages of tcpip.sys's .text (RVA 0x1000 up to .data) in a raw image.
wipe_text() {
  python3 - "$1" <<'PY'
import json, struct, sys
path = sys.argv[1]
t = json.load(open(path + ".truth.json"))
f = open(path, "r+b")
def u(pa, n):
    f.seek(pa)
    return struct.unpack("<Q" if n == 8 else "<I", f.read(n))[0]
def v2p(va):
    M = 0x000FFFFFFFFFF000
    if t["paging"] == "x86":
        pde = u(t["dtb"] + ((va >> 22) & 0x3FF) * 4, 4)
        if not pde & 1: return None
        if pde & 0x80: return (pde & 0xFFC00000) | (va & 0x3FFFFF)
        pte = u((pde & 0xFFFFF000) + ((va >> 12) & 0x3FF) * 4, 4)
        return (pte & 0xFFFFF000) if pte & 1 else None
    if t["paging"] == "pae":
        e, shifts = u(t["dtb"] + ((va >> 30) & 3) * 8, 8), (21, 12)
    else:
        e, shifts = u(t["dtb"] + ((va >> 39) & 0x1FF) * 8, 8), (30, 21, 12)
    for shift in shifts:
        if not e & 1: return None
        e = u((e & M) + ((va >> shift) & 0x1FF) * 8, 8)
        if shift != 12 and e & 0x81 == 0x81:
            return (e & M & ~((1 << shift) - 1)) | (va & ((1 << shift) - 1))
    return (e & M) if e & 1 else None
m = [m for m in t["modules"] if m["name"] == "tcpip.sys"][0]
f.seek(v2p(m["base"]))
hdr = f.read(0x1000)
lf = struct.unpack_from("<I", hdr, 0x3C)[0]
nsec, optsz = struct.unpack_from("<H", hdr, lf + 6)[0], struct.unpack_from("<H", hdr, lf + 20)[0]
wiped = 0
for i in range(nsec):
    s = lf + 24 + optsz + 40 * i
    size, rva = struct.unpack_from("<II", hdr, s + 8)
    if hdr[s:s + 8].rstrip(b"\0") != b".text": continue
    for off in range(0, size, 0x1000):
        pa = v2p(m["base"] + rva + off)
        if pa is not None:
            f.seek(pa); f.write(b"\0" * 0x1000); wiped += 1
assert wiped > 0, "no .text page"
PY
}

# logs PROFILE SEED PROFILES WIPE WANT: the -v line of each table names the
# resolver step used (PROFILES: built-in, or the user ones without sets)
logs() {
  local profile=$1 seed=$2 profs=$3 wipe=$4 want=$5 out="$tmp/log.img" ok=1 opts=()
  [ "$profs" = user ] && opts=(--profiles "$tmp/prof")
  rm -f "$tmp"/*.img* 2>/dev/null || true
  "$gen" --profile "$profile" --format raw --size 48M --seed "$seed" --out "$out" >/dev/null 2>&1 || ok=0
  [ "$ok" = 1 ] && [ "$wipe" = wipe ] && { wipe_text "$out" || ok=0; }
  for plugin in connections sockets; do
    [ "$ok" = 1 ] || break
    "$MEMSIFT" -v "${opts[@]}" -f "$out" "$plugin" >/dev/null 2>"$tmp/log" || ok=0
    grep -q "TCB table at 0x.* found by $want" "$tmp/log" || ok=0
    if [ "$plugin" = sockets ]; then grep -q "address-object table at 0x.* found by $want" "$tmp/log" || ok=0; fi
  done
  if [ "$ok" = 1 ] && [ "$wipe" = wipe ]; then
    python3 "$check" "$MEMSIFT" "$out" -- "${opts[@]}" >"$tmp/check.log" 2>&1 || ok=0
  fi
  if [ "$ok" = 1 ]; then
    echo "ok   $profile seed $seed: tables found by $want"; passes=$((passes + 1))
  else
    echo "FAIL $profile seed $seed: tables not found by $want"; sed 's/^/     /' "$tmp/log" "$tmp/check.log" 2>/dev/null | head -20
    failures=$((failures + 1))
  fi
}

for p in xpsp2-x86 xpsp3-x86pae 2003sp2-x64; do
  check "$p" raw 11
  check "$p" raw 29
  check "$p" crash 11
  check "$p" raw 11 -- --profiles "$tmp/prof"
  logs "$p" 11 builtin keep "a candidate set"
  logs "$p" 11 user keep "code analysis"
  logs "$p" 11 user wipe "structural search"
done
check xpsp3-x86pae crash-summary 11
check xpsp2-x86 crash 5 -- --no-header-hints

# A Vista+ image is refused with a message naming the plugins to use.
"$gen" --profile win7-7601-x64 --size 48M --seed 3 --out "$tmp/win7.img" >/dev/null 2>&1
if "$MEMSIFT" -q -f "$tmp/win7.img" connscan >"$tmp/out" 2>"$tmp/err"; then
  echo "FAIL connscan on Windows 7 should fail"; failures=$((failures + 1))
elif ! grep -q "netscan" "$tmp/err"; then
  echo "FAIL connscan on Windows 7: unexpected message: $(cat "$tmp/err")"; failures=$((failures + 1))
else
  echo "ok   connscan refuses Windows 7"; passes=$((passes + 1))
fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
