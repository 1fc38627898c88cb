#!/usr/bin/env bash
# info, pslist and modules against the ground truth of generated images:
# every profile, raw and crash-dump forms (full, bitmap, summary), gzip,
# with and without the crash-dump header's hints.
set -euo pipefail
gen="$MEMSIFT_BUILD/tools/imagegen/ms-imagegen"
if [ ! -x "$gen" ]; then
  echo "SKIP: the image generator was not built ($gen)"
  exit 77
fi
check="$MEMSIFT_SRC/tests/integration/check_kernel_truth.py"
tmp=$(mktemp -d "${MEMSIFT_TEST_TMP:-/tmp}/kernel-truth.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"

failures=0
passes=0
# check PROFILE FORMAT [GENERATOR OPTIONS...] [-- MEMSIFT OPTIONS...]
check() {
  local profile=$1 format=$2
  shift 2
  local genopts=() msopts=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do genopts+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  msopts=("$@")
  local out="$tmp/$profile-$format.img"
  local gz=""
  for o in "${genopts[@]+"${genopts[@]}"}"; do [ "$o" = "--gzip" ] && gz=.gz; done
  rm -f "$tmp"/*.img* 2>/dev/null || true
  if ! "$gen" --profile "$profile" --format "$format" --size 48M --seed 11 --out "$out$gz" \
       "${genopts[@]+"${genopts[@]}"}" >"$tmp/gen.log" 2>&1; then
    echo "FAIL $profile $format ${genopts[*]-}: generator failed: $(head -1 "$tmp/gen.log")"
    failures=$((failures + 1))
    return
  fi
  local label="$profile $format ${genopts[*]-} ${msopts[*]-}"
  if python3 "$check" "$MEMSIFT" "$out$gz" -- "${msopts[@]+"${msopts[@]}"}" >"$tmp/check.log" 2>&1; then
    echo "ok   $label"
    passes=$((passes + 1))
  else
    echo "FAIL $label"
    sed 's/^/     /' "$tmp/check.log" | head -20
    failures=$((failures + 1))
  fi
}

for p in win10-19041-x64 win11-22000-x64 win81-9600-x64 win7-7601-x64 win7-7601-x86pae xpsp2-x86 xpsp3-x86pae 2003sp2-x64; do
  check "$p" raw
  check "$p" crash
  check "$p" crash --no-header-hints
  check "$p" crash -- --no-header-hints
done
for p in win10-19041-x64 win11-22000-x64 win81-9600-x64; do
  check "$p" crash-bitmap6
done
check win10-19041-x64 crash-bitmap5
check win7-7601-x86pae crash-summary
check xpsp3-x86pae crash-summary
check win7-7601-x64 raw --gzip
check win10-19041-x64 crash-bitmap6 --gzip

# The other builds memsift claims (README of tools/imagegen, "Profiles"):
# Server 2016/2019/2022, 1507, 1903, 8, Vista, x86 PAE 8.1 and 10, Vista
# x86 without PAE, and 22621/26100 (22000's layout with EPROCESS members
# moved and a made-up PDB: the structure probe must find them).
for p in win10-17763-x64 win10-14393-x64 win10-20348-x64 win10-18362-x64 win10-10240-x64 win8-9200-x64 \
         vista-6001-x64 win10-19041-x86 win81-9600-x86 vista-6001-x86 win11-22621-x64 win11-26100-x64; do
  check "$p" raw
  check "$p" crash
done
check win11-26100-x64 crash --no-header-hints -- --no-header-hints
check vista-6001-x86 crash-summary

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
