#!/usr/bin/env bash
# Pool-tag scan benchmark.  Builds the bench programs against a build of the
# library, makes a 4 GiB image (once), warms the page cache, then measures
# whole-process time (hyperfine if installed, else /usr/bin/time), the
# search routines alone, libyara, and the heap (valgrind massif).
#
#   bench/run.sh [BUILD_DIR] [WORK_DIR]
#
# BUILD_DIR defaults to build-bench (configured here, RelWithDebInfo);
# WORK_DIR (default /tmp/memsift-bench) holds the image and the programs.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-bench}
work=${2:-/tmp/memsift-bench}
mkdir -p "$work"

if [ ! -f "$build/libmemsift.a" ]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMSIFT_TESTS=OFF >/dev/null
fi
if ! cmake --build "$build" -j2 --target memsift >"$work/build.log" 2>&1; then
  [ -f "$build/libmemsift.a" ] || { cat "$work/build.log"; exit 1; }
  echo "warning: the library did not rebuild (see $work/build.log); using the last libmemsift.a"
fi
libs="$build/libmemsift.a $(pkg-config --libs yara capstone zlib) -lpthread -lm"
cc=${CC:-cc}
$cc -O2 -Wall -Wextra -o "$work/make_image" "$src/bench/make_image.c"
$cc -O2 -Wall -Wextra -I"$src/include" -o "$work/scan_bench" "$src/bench/scan_bench.c" $libs
$cc -O2 -Wall -Wextra -I"$src/include" -I"$src/src" -o "$work/kernel_bench" "$src/bench/kernel_bench.c" $libs
$cc -O2 -Wall -Wextra -o "$work/yara_bench" "$src/bench/yara_bench.c" $(pkg-config --cflags --libs yara) -lpthread

img=$work/img4g.raw
if [ ! -f "$img" ] || [ ! -f "$img.truth" ]; then
  echo "writing $img (4 GiB)..."
  "$work/make_image" "$img" 4 > "$img.truth"
fi
truth=$(cat "$img.truth")
cat "$img" > /dev/null   # into the page cache

echo "== correctness: $truth valid blocks written"
for t in 1 2; do
  hits=$("$work/scan_bench" "$img" --threads "$t" | awk '/^hits/ {print $2}')
  [ "$hits" = "$truth" ] || { echo "threads $t found $hits hits, expected $truth"; exit 1; }
  echo "threads $t: $hits hits, as expected"
done

echo "== scan time inside the process"
for t in 1 2; do
  for k in avx2 sse2 portable; do
    echo "-- threads $t, $k"
    "$work/scan_bench" "$img" --threads "$t" --kernel "$k" | grep -E "GB/s|anonymous"
  done
done

echo "== whole process (4 GiB = 4.295 GB)"
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 2 --runs 10 \
    "$work/scan_bench $img --threads 1" "$work/scan_bench $img --threads 2" \
    "$work/scan_bench $img --threads 2 --x86 --xp" "$work/scan_bench $img --threads 2 --no-mmap"
else
  for args in "--threads 1" "--threads 2" "--threads 2 --x86 --xp" "--threads 2 --no-mmap"; do
    /usr/bin/time -f "$args: %e s wall, %M KiB max RSS" "$work/scan_bench" "$img" $args >/dev/null
  done
fi

echo "== search routines alone (512 MiB in memory)"
"$work/kernel_bench" "$img"
"$work/kernel_bench" "$img" --x86
"$work/kernel_bench" "$img" --tags 16
"$work/kernel_bench" "$img" --x86 --tags 16

echo "== libyara, same five tags"
for t in 1 2; do "$work/yara_bench" "$img" --threads "$t"; done

echo "== heap (valgrind massif, peak of malloc'd bytes)"
if command -v valgrind >/dev/null; then
  for args in "--threads 2" "--threads 2 --no-mmap"; do
    valgrind --tool=massif --massif-out-file="$work/massif.out" "$work/scan_bench" "$img" $args >/dev/null 2>&1
    peak=$(grep -o 'mem_heap_B=[0-9]*' "$work/massif.out" | cut -d= -f2 | sort -n | tail -1)
    echo "$args: peak heap $peak bytes"
  done
else
  echo "valgrind not installed"
fi
