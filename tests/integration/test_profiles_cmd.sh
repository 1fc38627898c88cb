#!/usr/bin/env bash
# memsift profiles import|list: usage errors, importing hand-written and
# real Volatility 3 ISFs into $MEMSIFT_PROFILES, refusing to overwrite, and
# listing built-in and user profiles.
set -u

. "$(dirname "$0")/lib.sh"
cli_test_init profiles_cmd
export MEMSIFT_PROFILES="$TMP/user"

expect_ok() {
    run "$@"
    [ "$rc" -eq 0 ] || fail "memsift $* exited $rc: $err"
    [ -z "$err" ] || fail "memsift $* wrote to stderr: $err"
}

# expect_exit CODE PATTERN ARGS...: that exit code, nothing on stdout, one
# stderr line "memsift: ..." matching PATTERN.
expect_exit() {
    local code=$1 pattern=$2
    shift 2
    run "$@"
    [ "$rc" -eq "$code" ] || fail "memsift $* exited $rc, expected $code: $err"
    [ -z "$out" ] || fail "memsift $* wrote to stdout on failure: $out"
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "memsift $* wrote $(wc -l <"$TMP/err") stderr lines: $err"
    echo "$err" | grep -Eq -- "^memsift: .*$pattern" || fail "memsift $*: stderr '$err' does not match '$pattern'"
}

expect_contains() {
    local what=$1 text=$2 needle=$3
    case "$text" in
    *"$needle"*) ;;
    *) fail "$what: missing '$needle' in: $text" ;;
    esac
}

# isf FILE GUID DATABASE ADDRESS: a small Windows ISF.
isf() {
    cat >"$1" <<JSON
{"metadata": {"format": "6.1.0", "windows": {"pdb": {"GUID": "$2", "age": 1, "database": "$3", "machine_type": 34404}}},
 "base_types": {"pointer": {"size": 8, "kind": "int", "signed": false, "endian": "little"},
                "unsigned long": {"size": 4, "kind": "int", "signed": false, "endian": "little"}},
 "user_types": {"_THING": {"kind": "struct", "size": 16, "fields": {
     "Count": {"offset": 0, "type": {"kind": "base", "name": "unsigned long"}},
     "Next": {"offset": 8, "type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "_THING"}}}}}},
 "enums": {},
 "symbols": {"ThingList": {"address": $4}, "PartitionTable": {"address": 4096}}}
JSON
}

# Usage and help.
expect_exit 2 "needs 'import FILE' or 'list'" profiles
expect_exit 2 "unknown profiles command 'frob'" profiles frob
expect_exit 2 "needs the ISF file" profiles import
expect_exit 2 "unknown option '--frob'" profiles list --frob
expect_exit 2 "--build expects an NT build" profiles import x.json --build abc
expect_exit 2 "belong to 'memsift profiles import'" profiles list --force
expect_ok profiles --help
expect_contains "profiles --help" "$out" "memsift profiles import FILE"
expect_ok --help
expect_contains "--help" "$out" "memsift profiles list"

# Import failures.
expect_exit 1 "cannot open" profiles import "$TMP/missing.json"
printf 'not json at all' >"$TMP/bad.json"
expect_exit 1 "not JSON" profiles import "$TMP/bad.json"
printf '{"metadata": {"format": "6.1.0"}, "base_types": {}, "user_types": {}, "symbols": {}}' >"$TMP/nopdb.json"
expect_exit 1 "metadata.windows.pdb" profiles import "$TMP/nopdb.json"
[ ! -e "$MEMSIFT_PROFILES" ] || fail "a failed import created $MEMSIFT_PROFILES"

# A hand-written driver ISF, plain and gzip-compressed.
isf "$TMP/thing.json" 11112222333344445555666677778888 thing.pdb 4660
expect_ok profiles import "$TMP/thing.json" --build 19041
expect_contains "import" "$out" "Imported profile thing-19041-x64"
expect_contains "import" "$out" "11112222333344445555666677778888 age 1"
expect_contains "import" "$out" "1 structs, 2 fields, 2 symbols"
prof="$MEMSIFT_PROFILES/thing-19041-x64.prof"
[ -f "$prof" ] || fail "import did not write $prof"
grep -qx "field _THING Next 0x8 0x8" "$prof" || fail "$prof lacks _THING.Next"
grep -qx "symbol ThingList 0x1234" "$prof" || fail "$prof lacks ThingList"
# Compression is told by the bytes: a gzip file named .json.
mkdir -p "$TMP/gz"
gzip -c "$TMP/thing.json" >"$TMP/gz/thing.json"
expect_ok profiles import "$TMP/gz/thing.json" --build=19041
expect_contains "re-import" "$out" "Already imported: profile thing-19041-x64"

# Same name, other contents: refused unless --force.
isf "$TMP/thing2.json" 11112222333344445555666677778888 thing.pdb 4661
expect_exit 1 "exists with other contents: use --force" profiles import "$TMP/thing2.json" --build 19041
grep -qx "symbol ThingList 0x1234" "$prof" || fail "a refused import changed $prof"
expect_ok profiles import "$TMP/thing2.json" --build 19041 --force
grep -qx "symbol ThingList 0x1235" "$prof" || fail "--force did not replace $prof"
expect_ok profiles import "$TMP/thing2.json" --name my-thing
[ -f "$MEMSIFT_PROFILES/my-thing.prof" ] || fail "--name did not choose the file name"
expect_exit 1 "profile name" profiles import "$TMP/thing2.json" --name ../escape

# A tcpip ISF: symbols-only profile plus the index line.
isf "$TMP/tcpip.json" AAAABBBBCCCCDDDDEEEEFFFF00001111 tcpip.pdb 4660
if command -v xz >/dev/null 2>&1; then
    xz -c "$TMP/tcpip.json" >"$TMP/tcpip.json.xz"
    tcpip_file="$TMP/tcpip.json.xz"
else
    tcpip_file="$TMP/tcpip.json"
fi
expect_ok profiles import "$tcpip_file" --build 19041
expect_contains "tcpip import" "$out" "tcpip-x64-AAAABBBBCCCCDDDDEEEEFFFF00001111-1"
expect_contains "tcpip import" "$out" "tcpip.idx"
grep -qx "AAAABBBBCCCCDDDDEEEEFFFF00001111 1 x64 PartitionTable=0x1000" "$MEMSIFT_PROFILES/tcpip.idx" ||
    fail "tcpip.idx lacks the imported line"

# Listing.
expect_ok profiles list
expect_contains "list" "$out" "win10-19041-x64"
expect_contains "list" "$out" "thing-19041-x64"
expect_contains "list" "$out" "11112222333344445555666677778888/1"
expect_contains "list" "$out" "PDB only"
expect_contains "list" "$out" "tcpip symbol index:"
expect_contains "list" "$out" "1 added"
echo "$out" | grep "thing-19041-x64" | grep -q " user " || fail "list: thing-19041-x64 is not marked user"
if command -v python3 >/dev/null 2>&1; then
    expect_ok profiles list -r json
    echo "$out" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
mine = [r for r in rows if r["Name"] == "thing-19041-x64"]
assert len(mine) == 1 and mine[0]["Origin"] == "user" and mine[0]["Builds"] == "19041", mine
assert mine[0]["PDB"] == "11112222333344445555666677778888/1", mine
assert any(r["Origin"] == "built-in" and r["Module"] == "tcpip" for r in rows)
' || fail "profiles list -r json: unexpected rows"
fi

# A broken file in the user directory is reported, naming it.
printf 'profile broken\nmodule nt\n' >"$MEMSIFT_PROFILES/broken.prof"
expect_exit 1 "broken.prof" profiles list
rm -f "$MEMSIFT_PROFILES/broken.prof"

# The real ISFs, when ../shared is present.
shared="${MEMSIFT_SHARED:-}"
kernel_isf="$shared/isf/windows/ntkrnlmp.pdb/CA8E2F01B822EDE6357898BFBF862997-1.json.xz"
tcpip_isf="$shared/isf/windows/tcpip.pdb/021C12B15F95E1F661DCDEEFB190095A-1.json.xz"
if [ -n "$shared" ] && [ -f "$kernel_isf" ] && [ -f "$tcpip_isf" ]; then
    expect_ok profiles import "$kernel_isf" --build 19041
    expect_contains "kernel import" "$out" "Imported profile nt-19041-x64"
    expect_contains "kernel import" "$out" "39908 symbols"
    # Every layout line of the built-in profile for this ISF is in the import.
    builtin="${MEMSIFT_SRC:-}/profiles/kernel/win10-19041-x64.prof"
    if [ -f "$builtin" ]; then
        grep -E '^(struct|field|bits|symbol|const) ' "$builtin" | while IFS= read -r line; do
            grep -qxF "$line" "$MEMSIFT_PROFILES/nt-19041-x64.prof" || echo "$line"
        done >"$TMP/missing"
        [ ! -s "$TMP/missing" ] || fail "imported kernel profile lacks: $(head -3 "$TMP/missing")"
    fi
    expect_ok profiles import "$tcpip_isf"
    grep -q "^021C12B15F95E1F661DCDEEFB190095A 1 x64 PartitionTable=0x2183f0 " "$MEMSIFT_PROFILES/tcpip.idx" ||
        fail "tcpip.idx lacks the real tcpip line"
    expect_ok profiles list
    expect_contains "list" "$out" "nt-19041-x64"
else
    echo "note: ../shared ISFs absent; real-ISF checks skipped"
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all profiles command checks passed"
