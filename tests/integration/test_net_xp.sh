#!/usr/bin/env bash
# connections, connscan, sockets and sockscan against the ground truth of
# generated XP / 2003 images: XP SP2 x86, XP SP3 PAE, 2003 SP2 x64, raw and
# crash dumps (32- and 64-bit, full and summary), and the structural table
# search (a user tcpip profile without candidate sets replaces the built-in).
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

for p in xpsp2-x86 xpsp3-x86pae 2003sp2-x64; do
  check "$p" raw 11
  check "$p" raw 29
  check "$p" crash 11
  check "$p" raw 11 -- --profiles "$tmp/prof"
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
