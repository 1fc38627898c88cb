#!/usr/bin/env bash
# ms-imagegen: determinism, every profile x format, truth JSON, gzip, header hints.
set -u
GEN="${MEMSIFT_BUILD:-}/tools/imagegen/ms-imagegen"
if [ -z "${MEMSIFT_BUILD:-}" ] || [ ! -x "$GEN" ]; then
    echo "SKIP: ms-imagegen not built (MEMSIFT_BUILD=${MEMSIFT_BUILD:-unset})"
    exit 77
fi
TMP="${MEMSIFT_TEST_TMP:-$(mktemp -d)}/imagegen"
rm -rf "$TMP" && mkdir -p "$TMP" || exit 1
fail=0
err() { echo "FAIL: $*"; fail=1; }

if "$GEN" --list-profiles | grep -q "kernel profile missing"; then
    echo "note: some kernel profiles are missing; their images are skipped"
fi

# determinism: same seed -> same bytes; another seed -> other bytes
"$GEN" --profile win10-19041-x64 --out "$TMP/a.raw" --size 64M --seed 42 || err "generate a.raw"
"$GEN" --profile win10-19041-x64 --out "$TMP/b.raw" --size 64M --seed 42 || err "generate b.raw"
"$GEN" --profile win10-19041-x64 --out "$TMP/c.raw" --size 64M --seed 43 || err "generate c.raw"
ha=$(sha256sum < "$TMP/a.raw"); hb=$(sha256sum < "$TMP/b.raw"); hc=$(sha256sum < "$TMP/c.raw")
[ "$ha" = "$hb" ] || err "same seed gave different images"
[ "$ha" != "$hc" ] || err "different seeds gave the same image"
cmp -s "$TMP/a.raw.truth.json" "$TMP/b.raw.truth.json" || err "same seed gave different truth"
[ "$(stat -c %s "$TMP/a.raw")" = 67108864 ] || err "raw image is not 64 MiB"

# gzip output decompresses to the raw image
"$GEN" --profile win10-19041-x64 --out "$TMP/a.raw.gz" --size 64M --seed 42 --gzip || err "generate gz"
gzip -dc "$TMP/a.raw.gz" | cmp -s - "$TMP/a.raw" || err "gzip output differs from raw"
python3 -c "import json,sys; t=json.load(open(sys.argv[1])); assert t['compressed'] is True" \
    "$TMP/a.raw.gz.truth.json" || err "gz truth not marked compressed"
rm -f "$TMP"/[abc].raw*

# every profile and every format Windows wrote for it; the generator's own
# reader walks the process and module lists through the written file
for p in win10-19041-x64 win11-22000-x64 win81-9600-x64 win7-7601-x64 win7-7601-x86pae \
         xpsp2-x86 xpsp3-x86pae 2003sp2-x64; do
    if "$GEN" --list-profiles | grep "^$p " | grep -q missing; then
        echo "skip $p: kernel profile missing"
        continue
    fi
    case $p in
        win10*|win11*|win81*) formats="raw crash crash-bitmap5 crash-bitmap6" ;;
        *) formats="raw crash crash-summary" ;;
    esac
    for f in $formats; do
        out="$TMP/$p.$f"
        if ! "$GEN" --profile "$p" --out "$out" --size 32M --format "$f" --seed 7 --verify 2>"$TMP/err"; then
            err "$p $f: $(cat "$TMP/err")"
            continue
        fi
        python3 -m json.tool "$out.truth.json" > /dev/null || err "$p $f: truth is not JSON"
        python3 - "$out" "$p" "$f" <<'PY' || err "$p $f: truth content"
import json, os, sys
path, prof, fmt = sys.argv[1:4]
t = json.load(open(path + ".truth.json"))
assert t["profile"] == prof and t["format"] == fmt, "profile/format"
assert t["file_size"] == os.path.getsize(path), "file_size"
names = [p["name"] for p in t["processes"]]
assert names[0] == "System" and t["processes"][0]["pid"] == 4, "System first"
assert "smss.exe" in names and names.count("svchost.exe") >= 4, names
assert any(len(p["full_name"] or "") > 0 and p["name"] != p["full_name"].split("\\")[-1] for p in t["processes"]), "long name"
assert any(p["exit_time"] and p["threads"] == 0 for p in t["processes"]), "exited process"
assert [m["name"] for m in t["modules"]][0] in ("ntoskrnl.exe", "ntkrnlpa.exe"), "kernel module first"
assert any(m["name"] == "tcpip.sys" for m in t["modules"]), "tcpip.sys"
assert t["kdbg_encoded"] == (t["arch"] == "x64" and t["build"] >= 9200), "kdbg_encoded"
bitmap = t["dump_type"] in (2, 5, 6)
assert (t["absent_pages"] > 0) == bitmap, "absent pages"
assert any(not p["in_dump"] for p in t["processes"]) == bitmap, "process left out"
with open(path, "rb") as f:
    head = f.read(8)
if fmt == "raw":
    assert t["dump_type"] == 0 and os.path.getsize(path) == t["size"]
else:
    assert head == (b"PAGEDU64" if t["arch"] == "x64" else b"PAGEDUMP"), head
PY
        rm -f "$out" "$out.truth.json"
    done
done

# --no-header-hints zeroes DTB and list heads in the dump header
"$GEN" --profile win10-19041-x64 --out "$TMP/h.dmp" --size 32M --format crash --seed 3 --no-header-hints --verify \
    2>/dev/null || err "no-header-hints generate"
python3 - "$TMP/h.dmp" <<'PY' || err "header hints not zeroed"
import struct, sys
h = open(sys.argv[1], "rb").read(0x2000)
dtb, pfn, mods, procs = struct.unpack_from("<4Q", h, 0x10)
kdbg, = struct.unpack_from("<Q", h, 0x80)
assert dtb == pfn == mods == procs == kdbg == 0
assert struct.unpack_from("<I", h, 0xF98)[0] == 1
PY
"$GEN" --profile win10-19041-x64 --out "$TMP/h.dmp" --size 32M --format crash --seed 3 || err "hints generate"
python3 - "$TMP/h.dmp" <<'PY' || err "header hints missing"
import json, struct, sys
h = open(sys.argv[1], "rb").read(0x2000)
t = json.load(open(sys.argv[1] + ".truth.json"))
assert struct.unpack_from("<Q", h, 0x10)[0] == t["dtb"]
assert struct.unpack_from("<Q", h, 0x28)[0] == t["ps_active_process_head"]
assert struct.unpack_from("<Q", h, 0x80)[0] == t["kdbg"]
PY

# bad arguments fail cleanly
"$GEN" --profile nosuch --out "$TMP/x" 2>/dev/null && err "unknown profile accepted"
"$GEN" --profile win10-19041-x64 --out "$TMP/x" --size 1M 2>/dev/null && err "1M accepted"
"$GEN" --profile xpsp2-x86 --out "$TMP/x" --format crash-bitmap6 2>/dev/null && err "bitmap dump for XP accepted"

# a 1 GiB raw image is written quickly (sparse)
start=$(date +%s)
timeout 60 "$GEN" --profile win10-19041-x64 --out "$TMP/big.raw" --size 1G --seed 9 || err "1 GiB image"
[ $(( $(date +%s) - start )) -le 30 ] || err "1 GiB image took too long"
rm -rf "$TMP"
[ $fail -eq 0 ] && echo "imagegen: all checks passed"
exit $fail
