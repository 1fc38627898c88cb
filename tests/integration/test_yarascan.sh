#!/usr/bin/env bash
# yarascan through the CLI: physical scans of raw images written here,
# rule errors and exit status, the per-rule cap, the compiled-rule cache,
# and (with the image generator) kernel and process scopes on a generated
# Windows 10 x64 image with strings planted in known process pages.
set -u

. "$(dirname "$0")/lib.sh"
if ! command -v python3 >/dev/null 2>&1; then
    echo "skipping: python3 is needed to write and check the test images"
    exit 77
fi
cli_test_init yarascan
# The compiled-rule cache goes here, not into the real home directory.
export XDG_CACHE_HOME="$TMP/cache"

expect_ok() {
    run "$@"
    [ "$rc" -eq 0 ] || fail "memsift $* exited $rc: $err"
}

# expect_error PATTERN ARGS...: non-zero exit, one "memsift: " line matching PATTERN.
expect_error() {
    local pattern=$1
    shift
    run "$@"
    [ "$rc" -ne 0 ] || fail "memsift $* succeeded, expected failure"
    [ -z "$out" ] || fail "memsift $* wrote to stdout on failure: $out"
    local last
    last=$(tail -n 1 "$TMP/err")
    case "$last" in
    "memsift: "*) ;;
    *) fail "memsift $*: last stderr line does not start with 'memsift: ': $err" ;;
    esac
    echo "$last" | grep -Eq -- "$pattern" || fail "memsift $*: stderr '$last' does not match '$pattern'"
}

expect_contains() {
    case "$2" in
    *"$3"*) ;;
    *) fail "$1: missing '$3' in: $2" ;;
    esac
}

# jsonl_field FIELD: the FIELD of each JSONL row of $out, one a line.
jsonl_field() {
    printf '%s\n' "$out" | python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        v = json.loads(line)[sys.argv[1]]
        print("null" if v is None else v)' "$1"
}

# ---- physical scans of a raw image ----

python3 - "$TMP/a.raw" <<'EOF'
import sys
size = 40 << 20
b = bytearray((0x80 + (i * 7) % 61) & 0xff for i in range(65536)) * (size // 65536)
def put(off, data):
    b[off:off + len(data)] = data
put(0x1234, b"plain ascii needle")
put((16 << 20) - 6, b"CROSSES16MIB")              # across the first 16 MiB chunk boundary
put((32 << 20) - 3, b"CROSSES16MIB")
put(0x500000, "Wide Needle".encode("utf-16le"))
put(0x600000, b"MZ\x90\x00\x03\x00\x00\x00")
for i in range(30):
    put(0x700000 + i * 4096, b"FREQUENT")
open(sys.argv[1], "wb").write(b)
EOF
IMG="$TMP/a.raw"

expect_ok -f "$IMG" -r jsonl yarascan --physical --string CROSSES16MIB
[ "$(jsonl_field Offset | tr '\n' ' ')" = "$(((16 << 20) - 6)) $(((32 << 20) - 3)) " ] ||
    fail "chunk-boundary matches: got $(jsonl_field Offset | tr '\n' ' ')"
[ "$(jsonl_field PhysicalOffset | head -n 1)" = "$(((16 << 20) - 6))" ] || fail "PhysicalOffset: $out"
[ "$(jsonl_field PID | head -n 1)" = "null" ] || fail "physical rows have no PID: $out"
[ "$(jsonl_field Rule | head -n 1)" = "string_1" ] || fail "rule name of --string: $out"
[ "$(jsonl_field Component | head -n 1)" = "\$a" ] || fail "component: $out"

expect_ok -f "$IMG" -r jsonl yarascan --physical --string "wide needle" --nocase
[ "$(jsonl_field Offset)" = "$((0x500000))" ] || fail "--string finds UTF-16LE text: $out"
expect_contains "UTF-16 value" "$(jsonl_field Value)" "[57 00 69 00 64 00 65 00"

expect_ok -f "$IMG" -r jsonl yarascan --physical --hex "4D 5A ?? 00 03"
[ "$(jsonl_field Offset)" = "$((0x600000))" ] || fail "--hex: $out"

expect_ok -f "$IMG" -r jsonl yarascan --physical --rule 'rule needle { strings: $n = "ascii needle" condition: $n }'
[ "$(jsonl_field Rule)" = "needle" ] || fail "--rule: $out"
[ "$(jsonl_field Offset)" = "$((0x1234 + 6))" ] || fail "--rule offset: $out"
expect_contains "Value" "$(jsonl_field Value)" "20 [61 73 63 69 69 20 6e 65 65 64 6c 65] b2"

expect_ok -f "$IMG" -r csv yarascan --physical --string "plain ascii"
[ "$(head -n 1 "$TMP/out" | tr -d '\r')" = "Offset,PhysicalOffset,PID,Process,Module,Rule,Component,Value" ] ||
    fail "CSV header: $(head -n 1 "$TMP/out")"
expect_contains "CSV row" "$out" "0x1234,0x1234,,,,string_1,\$a,"

expect_ok -f "$IMG" -r json yarascan --physical --string "no such text anywhere"
[ "$out" = "[]" ] || fail "no match gives an empty document: $out"

# The cap: 30 hits, 5 shown, one warning naming the rule.
expect_ok -f "$IMG" -r jsonl yarascan --physical --string FREQUENT --max-hits 5
[ "$(printf '%s\n' "$out" | grep -c .)" -eq 5 ] || fail "--max-hits 5 shows 5 rows: $out"
expect_contains "cap warning" "$err" "rule string_1 matched 30 times in physical memory; showing the first 5"
expect_ok -f "$IMG" -r jsonl yarascan --physical --string FREQUENT --max-hits 0
[ "$(printf '%s\n' "$out" | grep -c .)" -eq 30 ] || fail "--max-hits 0 shows every row"

# One and two threads give the same rows.
expect_ok -f "$IMG" -r csv yarascan --physical --string CROSSES --hex "4D 5A" --string FREQUENT --threads 1
one=$out
expect_ok -f "$IMG" -r csv yarascan --physical --string CROSSES --hex "4D 5A" --string FREQUENT --threads 2
[ "$one" = "$out" ] || fail "--threads 1 and 2 differ"

# ---- rule files, errors and the cache ----

mkdir -p "$TMP/rules"
cat >"$TMP/rules/good.yar" <<'EOF'
rule good_file { strings: $g = "plain ascii" condition: $g }
EOF
cat >"$TMP/bad.yar" <<'EOF'
rule bad {
  strings: $b = "x"
  condition: $b and
}
EOF
printf '// only a comment\n' >"$TMP/empty.yar"

expect_ok -f "$IMG" -r jsonl yarascan --physical --rules "$TMP/rules/good.yar"
[ "$(jsonl_field Rule)" = "good_file" ] || fail "--rules FILE: $out"
ls "$XDG_CACHE_HOME"/memsift/yara-*.yarc >/dev/null 2>&1 || fail "compiled rules were not cached in $XDG_CACHE_HOME/memsift"
expect_ok -f "$IMG" -v -r jsonl yarascan --physical --rules "$TMP/rules/good.yar"
expect_contains "cache use" "$err" "loaded from the cache"
[ "$(jsonl_field Rule)" = "good_file" ] || fail "rules from the cache: $out"
expect_ok -f "$IMG" -v -r jsonl yarascan --physical --rules "$TMP/rules/good.yar" --no-rule-cache
expect_contains "--no-rule-cache" "$err" "1 YARA rules compiled"

expect_error "bad\\.yar:4: syntax error" -f "$IMG" yarascan --physical --rules "$TMP/bad.yar"
expect_error "empty" -f "$IMG" yarascan --physical --rules "$TMP/empty.yar"
expect_error "cannot read rules '.*missing\\.yar': No such file" -f "$IMG" yarascan --physical --rules "$TMP/missing.yar"
expect_error "needs rules" -f "$IMG" yarascan --physical
expect_error "--rule 1, line 1: " -f "$IMG" yarascan --physical --rule 'rule { condition: true }'
expect_error "cannot appear in a hex pattern" -f "$IMG" yarascan --physical --hex "4D } rule"

cp "$TMP/bad.yar" "$TMP/rules/zz_bad.yar"
expect_error "zz_bad\\.yar:4: " -f "$IMG" yarascan --physical --rules "$TMP/rules"
expect_ok -f "$IMG" -r jsonl yarascan --physical --rules "$TMP/rules" --skip-bad-rules
[ "$(jsonl_field Rule)" = "good_file" ] || fail "--skip-bad-rules keeps the good file: $out"
expect_contains "skip warning" "$err" "skipping $TMP/rules/zz_bad.yar"
mkdir -p "$TMP/norules"
expect_error "holds no \\*\\.yar or \\*\\.yara files" -f "$IMG" yarascan --physical --rules "$TMP/norules"

# ---- kernel and process scopes on a generated Windows image ----

GEN="${MEMSIFT_BUILD:-}/tools/imagegen/ms-imagegen"
if [ ! -x "$GEN" ]; then
    echo "SKIP: kernel and process scopes: the image generator is not built at $GEN"
elif ! "$GEN" --profile win10-19041-x64 --size 64M --out "$TMP/win.raw" >"$TMP/gen.log" 2>&1; then
    echo "SKIP: kernel and process scopes: the image generator failed: $(tail -n 1 "$TMP/gen.log")"
else
    W="$TMP/win.raw"
    read -r kbase pid pname pid2 < <(python3 - "$W.truth.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
procs = [p for p in t["processes"]
         if p["name"].endswith(".exe") and p.get("exit_time") is None and p.get("in_dump", True)]
print(t["kernel_base"], procs[-1]["pid"], procs[-1]["name"], procs[0]["pid"])
EOF
)
    # The first user-space byte of two processes: where to plant strings.
    expect_ok -f "$W" -r jsonl yarascan --pid "$pid" --hex "??" --max-hits 1
    vaddr=$(jsonl_field Offset)
    paddr=$(jsonl_field PhysicalOffset)
    expect_ok -f "$W" -r jsonl yarascan --pid "$pid2" --hex "??" --max-hits 1
    vaddr2=$(jsonl_field Offset)
    paddr2=$(jsonl_field PhysicalOffset)
    if [ -z "$vaddr" ] || [ -z "$vaddr2" ] || [ "$paddr" = "$paddr2" ]; then
        fail "no distinct user pages found for PIDs $pid and $pid2: '$vaddr' '$vaddr2'"
    else
        python3 - "$W" "$paddr" "$paddr2" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]) + 100)
    f.write(b"MSYARA-PLANTED-ONE")
    f.seek(int(sys.argv[3]) + 200)
    f.write("MSYARA-PLANTED-TWO".encode("utf-16le"))
EOF
        # Every process by default: each string only in its own process.
        expect_ok -f "$W" -r jsonl yarascan --string MSYARA-PLANTED
        [ "$(jsonl_field PID | sort -n | tr '\n' ' ')" = "$(printf '%s\n' "$pid" "$pid2" | sort -n | tr '\n' ' ')" ] ||
            fail "process scan: PIDs $(jsonl_field PID | tr '\n' ' '), expected $pid and $pid2"
        expect_ok -f "$W" -r jsonl yarascan --pid "$pid" --string MSYARA-PLANTED
        [ "$(jsonl_field Offset)" = "$((vaddr + 100))" ] || fail "--pid: Offset $(jsonl_field Offset), expected $((vaddr + 100))"
        [ "$(jsonl_field PhysicalOffset)" = "$((paddr + 100))" ] || fail "--pid: PhysicalOffset $out"
        [ "$(jsonl_field Process)" = "$pname" ] || [ -n "$(jsonl_field Process | grep -F "$pname")" ] ||
            fail "--pid: Process $(jsonl_field Process), expected $pname"
        expect_ok -f "$W" -r jsonl yarascan --pid "$pid2" --string MSYARA-PLANTED-TWO
        [ "$(jsonl_field Offset)" = "$((vaddr2 + 200))" ] || fail "UTF-16 in process $pid2: $out"
        expect_ok -f "$W" -r jsonl yarascan --name "$pname" --string MSYARA-PLANTED-ONE
        [ "$(jsonl_field PID | sort -u)" = "$pid" ] || fail "--name $pname: $out"
        expect_ok -f "$W" -r jsonl yarascan --physical --string MSYARA-PLANTED-ONE
        [ "$(jsonl_field Offset)" = "$((paddr + 100))" ] || fail "--physical on the Windows image: $out"
        expect_ok -f "$W" -r jsonl yarascan --kernel --string MSYARA-PLANTED-ONE
        [ -z "$out" ] || fail "user page found in kernel space: $out"
        expect_error "no process matches" -f "$W" yarascan --pid 999999 --string x
    fi
    # Kernel scope: the PE headers of loaded drivers, named by Module.
    expect_ok -f "$W" -r jsonl yarascan --kernel --hex "4D 5A 90 00"
    rows=$(printf '%s\n' "$out" | python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        r = json.loads(line)
        print(r["Offset"], r["Module"])')
    expect_contains "kernel scan" "$rows" "$kbase ntoskrnl.exe"
    expect_contains "kernel scan" "$rows" " hal.dll"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all yarascan checks passed"
