#!/usr/bin/env bash
# Build memsift, make the sample images if needed, and run it on one.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/deps.sh"
BUILD_DIR="$top/build" bash "$top/scripts/build.sh"
bash "$top/samples/make-samples.sh" "$top/build"
cd "$top"
for cmd in "info" "pslist" "modules"; do
  echo
  echo "\$ build/memsift -f samples/win10-19041-x64.raw $cmd"
  build/memsift -f samples/win10-19041-x64.raw $cmd
done
