#!/usr/bin/env bash
# The memsift command line: help, version, aliases, every output format,
# -o, error reporting (exit status and one stderr line), and the info
# plugin on the real triage sample when ../shared is present.
set -u

. "$(dirname "$0")/lib.sh"
cli_test_init cli

expect_ok() {
    run "$@"
    [ "$rc" -eq 0 ] || fail "memsift $* exited $rc: $err"
    [ -z "$err" ] || fail "memsift $* wrote to stderr: $err"
}

# expect_error PATTERN ARGS...: non-zero exit, nothing on stdout, exactly
# one stderr line "memsift: ..." matching PATTERN (grep -E).
expect_error() {
    local pattern=$1
    shift
    run "$@"
    [ "$rc" -ne 0 ] || fail "memsift $* succeeded, expected failure"
    [ -z "$out" ] || fail "memsift $* wrote to stdout on failure: $out"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "memsift $* wrote $(wc -l <"$TMP/err") stderr lines: $err"
    case "$err" in
    "memsift: "*) ;;
    *) fail "memsift $*: stderr does not start with 'memsift: ': $err" ;;
    esac
    echo "$err" | grep -Eq -- "$pattern" || fail "memsift $*: stderr '$err' does not match '$pattern'"
}

expect_contains() {
    local what=$1 text=$2 needle=$3
    case "$text" in
    *"$needle"*) ;;
    *) fail "$what: missing '$needle' in: $text" ;;
    esac
}

have_python=0
command -v python3 >/dev/null 2>&1 && have_python=1
[ "$have_python" -eq 1 ] || echo "note: python3 absent, JSON/CSV syntax checks skipped"

# --version and --help
version=$(sed -n 's/^#define MEMSIFT_VERSION "\(.*\)"/\1/p' "${MEMSIFT_SRC:-.}/include/memsift/memsift.h")
expect_ok --version
[ "$out" = "memsift ${version:-?}" ] || fail "--version printed '$out', expected 'memsift $version'"

expect_ok --help
for word in "Usage: memsift -f IMAGE" "-r, --renderer" "-o, --output" " info " " netscan " " netstat " " yarascan "; do
    expect_contains "--help" "$out" "$word"
done
expect_ok -h
expect_contains "-h" "$out" "Plugins:"

expect_ok info --help
for word in "windows.info" "Variable" "Value" "Requirements: none" "Columns:"; do
    expect_contains "info --help" "$out" "$word"
done
expect_ok windows.netscan --help
expect_contains "windows.netscan --help" "$out" "Usage: memsift -f IMAGE [-r FORMAT] [-o FILE] netscan"

# A raw image: 64 KiB with no container header.
raw="$TMP/raw.img"
head -c 65536 /dev/zero | tr '\0' 'A' >"$raw"

expect_ok -f "$raw" info
text_out=$out
expect_contains "info text" "$out" "Image format"
expect_contains "info text" "$out" "raw"
expect_contains "info text" "$out" "65536 bytes"
[ "$(echo "$out" | head -1 | awk '{print $1, $2}')" = "Variable Value" ] || fail "text header: $(echo "$out" | head -1)"

expect_ok -f "$raw" windows.info
[ "$out" = "$text_out" ] || fail "windows.info output differs from info"
expect_ok -f "$raw" windows.info.Info
[ "$out" = "$text_out" ] || fail "windows.info.Info output differs from info"
expect_ok -f "$raw" -r quick info
[ "$out" = "$text_out" ] || fail "-r quick output differs from -r text"
# Global options are also accepted after the plugin name.
expect_ok info -f "$raw"
[ "$out" = "$text_out" ] || fail "'info -f IMAGE' output differs"

expect_ok -f "$raw" -r json info
if [ "$have_python" -eq 1 ]; then
    echo "$out" | python3 -m json.tool >/dev/null || fail "-r json output is not JSON: $out"
    echo "$out" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
facts = {r["Variable"]: r["Value"] for r in rows}
assert all(r["__children"] == [] for r in rows)
assert facts["Image format"] == "raw", facts
assert facts["Max physical address"] == "0x10000", facts
' || fail "-r json content: $out"
fi

expect_ok -f "$raw" -r jsonl info
[ "$(echo "$out" | wc -l)" -ge 5 ] || fail "-r jsonl printed too few lines: $out"
if [ "$have_python" -eq 1 ]; then
    echo "$out" | python3 -c '
import json, sys
for line in sys.stdin:
    row = json.loads(line)
    assert set(row) == {"Variable", "Value"}, row
' || fail "-r jsonl lines are not JSON objects: $out"
fi

expect_ok -f "$raw" -r csv info
[ "$(head -1 "$TMP/out")" = $'Variable,Value\r' ] || fail "CSV header: $(head -1 "$TMP/out" | od -c)"
if [ "$have_python" -eq 1 ]; then
    python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["Variable", "Value"], rows[0]
assert ["Image format", "raw"] in rows, rows
' "$TMP/out" || fail "-r csv does not parse: $out"
fi

# -o FILE holds exactly what stdout would have.
expect_ok -f "$raw" -r json -o "$TMP/rows.json" info
[ -z "$out" ] || fail "-o FILE still wrote to stdout: $out"
expect_ok -f "$raw" -r json info
cmp -s "$TMP/out" "$TMP/rows.json" || fail "-o FILE content differs from stdout"
expect_ok -f "$raw" --output="$TMP/rows2.txt" -q info
cmp -s "$TMP/rows2.txt" <(printf '%s\n' "$text_out") || fail "--output=FILE content differs"

# Errors: one line on stderr, non-zero exit, nothing on stdout.
expect_error "cannot open '$TMP/missing.img'" -f "$TMP/missing.img" info
expect_error "is a directory" -f "$TMP" info
expect_error "unknown plugin 'nosuchplugin'" -f "$raw" nosuchplugin
expect_error "unknown option '--bogus' for plugin info" -f "$raw" info --bogus
expect_error "unknown option '--bogus'" --bogus info
expect_error "unexpected argument 'extra' after plugin info" -f "$raw" info extra
expect_error "unknown output format 'xml'" -f "$raw" -r xml info
expect_error "no image given" info
expect_error "no plugin given" -f "$raw"
expect_error "option -f needs a value" -f
expect_error "cannot open '$TMP/no/such/dir/out.txt' for writing" -f "$raw" -o "$TMP/no/such/dir/out.txt" info
expect_error "refusing to write the output over the image" -f "$raw" -o "$raw" info
[ "$(wc -c <"$raw")" -eq 65536 ] || fail "-o IMAGE truncated the image"
: >"$TMP/empty.img"
expect_error "empty" -f "$TMP/empty.img" info
# A plugin still marked planned in --help fails with its own message.
run --help
planned=$(echo "$out" | awk '/\(not yet available\)/ {print $1; exit}')
if [ -n "$planned" ]; then
    expect_error "^memsift: $planned is not available yet in memsift $version\$" -f "$raw" "$planned"
fi

# The real triage dump (../shared), when present.
triage="${MEMSIFT_SHARED:-../shared}/samples/triage_x64.dmp"
if [ -r "$triage" ]; then
    expect_ok -f "$triage" info
    for fact in "crash dump (64-bit)" "triage (DumpType 4)" "AMD64 (0x8664)" "x64 (4-level)" \
        "NT build                  19041" "Processors                16" "0x1000007e" \
        "DTB                       0x1ad000" "0xfffff8047c61e200" "0xfffff8047c62a390" \
        "System time               2021-02-21 01:38:22 UTC"; do
        expect_contains "info on triage_x64.dmp" "$out" "$fact"
    done
    expect_ok -f "$triage" -r json windows.info
    if [ "$have_python" -eq 1 ]; then
        echo "$out" | python3 -c '
import json, sys
facts = {r["Variable"]: r["Value"] for r in json.load(sys.stdin)}
assert facts["NT build"] == "19041", facts
assert facts["Processors"] == "16", facts
assert facts["Bugcheck code"] == "0x1000007e", facts
assert facts["System time"] == "2021-02-21 01:38:22 UTC", facts
assert facts["PsLoadedModuleList"] == "0xfffff8047c62a390", facts
' || fail "info -r json on triage: $out"
    fi
    expect_error "netscan needs physical memory, but this is a triage dump \(DumpType 4\): it holds only the dump header, the module list and a few memory blocks" \
        -f "$triage" netscan
    expect_error "netscan needs physical memory, but this is a triage dump" -f "$triage" -r json windows.netscan
else
    echo "skipping the triage checks: $triage is absent"
fi
arm="${MEMSIFT_SHARED:-../shared}/samples/triage_arm64.dmp"
if [ -r "$arm" ]; then
    expect_ok -f "$arm" info
    expect_contains "info on triage_arm64.dmp" "$out" "ARM64 (not supported for translation)"
    expect_error "netscan supports x86 and x64 Windows; this dump is from an ARM64 machine" -f "$arm" netscan
else
    echo "skipping the ARM64 checks: $arm is absent"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all CLI checks passed"
