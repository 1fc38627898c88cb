#!/usr/bin/env bash
# Hostile input for kernel discovery (issue 4): images written with
# `ms-imagegen --damage KIND` (self-referencing and unmapped list links,
# kernel PE headers paged out, absurd counts and sizes), raw and crash
# forms, three paging modes.  check_damaged.py holds info, pslist and
# modules to the truth: no crash or hang, partial results with a warning
# naming the damage, or one clear line when nothing can be found.
# ctest runs this again under ASan+UBSan when $MEMSIFT is that build.
set -euo pipefail
gen="$MEMSIFT_BUILD/tools/imagegen/ms-imagegen"
if [ ! -x "$gen" ]; then
  echo "SKIP: the image generator was not built ($gen)"
  exit 77
fi
if [ ! -x "${MEMSIFT:-}" ]; then
  echo "SKIP: the memsift CLI was not built (${MEMSIFT:-MEMSIFT unset})"
  exit 77
fi
check="$MEMSIFT_SRC/tests/integration/check_damaged.py"
tmp=$(mktemp -d "${MEMSIFT_TEST_TMP:-/tmp}/damaged.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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
  local label="$profile $format ${genopts[*]} ${msopts[*]-}"
  local out="$tmp/image.img"
  rm -f "$tmp"/image.img*
  if ! "$gen" --profile "$profile" --format "$format" --size 48M --seed 11 --out "$out" \
       "${genopts[@]}" >"$tmp/gen.log" 2>&1; then
    echo "FAIL $label: generator failed: $(head -1 "$tmp/gen.log")"
    failures=$((failures + 1))
    return
  fi
  if python3 "$check" "$MEMSIFT" "$out" -- "${msopts[@]+"${msopts[@]}"}" >"$tmp/check.log" 2>&1; then
    echo "ok   $label"
    passes=$((passes + 1))
  else
    echo "FAIL $label"
    sed 's/^/     /' "$tmp/check.log" | head -20
    failures=$((failures + 1))
  fi
}

kinds="process-loop process-unmapped module-loop module-unmapped kernel-headers-paged-out absurd-sizes"
for p in win10-19041-x64 win7-7601-x86pae xpsp2-x86; do
  for f in raw crash; do
    for k in $kinds; do
      check "$p" "$f" --damage "$k"
    done
  done
done
# several at once; headers paged out with the header's hints zeroed or ignored
check win10-19041-x64 raw --damage process-unmapped --damage module-loop --damage absurd-sizes
check win7-7601-x86pae crash --damage process-loop --damage module-unmapped --damage kernel-headers-paged-out
check win10-19041-x64 crash --no-header-hints --damage kernel-headers-paged-out
check win7-7601-x86pae crash --damage kernel-headers-paged-out -- --no-header-hints

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
