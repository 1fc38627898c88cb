#!/usr/bin/env bash
# Check generated Vista+ x64 images with Volatility 3 (run by hand; CI does
# not depend on it).  VOL3=path/to/vol.py, BUILD=memsift build dir,
# SHARED=../shared.  Skips (exit 77) when Volatility 3 or the symbols are absent.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
vol3=${VOL3:-$top/../vol3/vol.py}
build=${BUILD:-$top/build}
shared=${SHARED:-$top/../shared}
gen="$build/tools/imagegen/ms-imagegen"
for need in "$vol3" "$gen" "$shared/isf"; do
  [ -e "$need" ] || { echo "SKIP: $need is absent"; exit 77; }
done
/usr/bin/python3 -c "import pefile" 2>/dev/null || { echo "SKIP: Debian's python3-pefile is not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for p in win10-19041-x64 win11-22000-x64 win81-9600-x64 win7-7601-x64; do
  for f in raw crash; do
    img="$tmp/$p-$f.img"
    "$gen" --profile "$p" --format "$f" --size 128M --seed 2026 --out "$img" >/dev/null || { echo "FAIL $p $f: generator"; status=1; continue; }
    echo "== $p $f"
    /usr/bin/python3 "$top/tests/vol3/compare.py" "$vol3" "$shared/isf" "$img" || status=1
    rm -f "$img" "$img.truth.json"
  done
done
exit $status
