#!/usr/bin/env bash
# Build memsift and run every test: once normally, once under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/deps.sh"

echo "== build and test (release)"
BUILD_DIR="$top/build" bash "$top/scripts/build.sh"
ctest --test-dir "$top/build" --output-on-failure -j2

echo "== build and test (ASan + UBSan)"
BUILD_DIR="$top/build-asan" bash "$top/scripts/build.sh" -DMEMSIFT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$top/build-asan" --output-on-failure -j2
