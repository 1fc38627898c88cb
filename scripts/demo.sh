#!/usr/bin/env bash
# Build memsift, make the sample images if needed, and run it on one.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/deps.sh"
BUILD_DIR="$top/build" bash "$top/scripts/build.sh"
bash "$top/samples/make-samples.sh" "$top/build"
cd "$top"
run() {
  echo
  echo "\$ build/memsift $*"
  build/memsift "$@"
}
run -f samples/win10-19041-x64.raw netscan
run -f samples/win11-22000-x64.dmp.gz netstat
run -f samples/xpsp3-x86pae.raw connscan
