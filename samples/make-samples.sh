#!/usr/bin/env bash
# Make the demo images in samples/ with the project's own generator (each
# with IMAGE.truth.json, the ground truth).  Usage: make-samples.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
gen="$build/tools/imagegen/ms-imagegen"
[ -x "$gen" ] || { echo "make-samples: $gen is not built" >&2; exit 1; }

make() {  # NAME PROFILE FORMAT [OPTIONS]
  local name=$1 profile=$2 format=$3
  shift 3
  # Keep a sample only while it is newer than the generator that made it.
  [ -f "$here/$name" ] && [ -f "$here/$name.truth.json" ] && [ "$here/$name" -nt "$gen" ] && return 0
  rm -f "$here/$name" "$here/$name.truth.json" "$here/$name.msidx"
  "$gen" --profile "$profile" --format "$format" --size 128M --seed 2026 --out "$here/$name" "$@" >/dev/null
  echo "samples/$name ($profile, $format)"
}

make win10-19041-x64.raw win10-19041-x64 raw
make win11-22000-x64.dmp.gz win11-22000-x64 crash-bitmap6 --gzip
make win7-7601-x86pae.dmp win7-7601-x86pae crash
make xpsp3-x86pae.raw xpsp3-x86pae raw
