#!/usr/bin/env bash
# XP/2003 network scans, whole process: `memsift connscan` and `sockscan` on
# a generated 4 GiB Windows XP SP3 PAE raw image held in the page cache.
# Reports wall time, GB/s over the image's present bytes, and the peak
# anonymous resident memory (heap and stacks; the image's file mapping is
# not counted) sampled from /proc every 20 ms.
#
#   bench/xp_net_bench.sh [BUILD_DIR]
#   env: BENCH_DIR (default /tmp/memsift-xpbench), BENCH_SIZE (4G), BENCH_RUNS (3)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
MEMSIFT=$BUILD/memsift
GEN=$BUILD/tools/imagegen/ms-imagegen
DIR=${BENCH_DIR:-/tmp/memsift-xpbench}
SIZE=${BENCH_SIZE:-4G}
RUNS=${BENCH_RUNS:-3}
[ -x "$MEMSIFT" ] && [ -x "$GEN" ] || { echo "build memsift and ms-imagegen first ($BUILD)" >&2; exit 1; }
mkdir -p "$DIR"
IMG=$DIR/xpsp3-x86pae-$SIZE.raw
[ -f "$IMG" ] || "$GEN" --profile xpsp3-x86pae --size "$SIZE" --seed 1 --out "$IMG" >/dev/null
cat "$IMG" >/dev/null   # into the page cache
BYTES=$(stat -c %s "$IMG")

peak_anon() {  # PID: largest RssAnon (kB) until the process ends
  local pid=$1 peak=0 kb
  while kill -0 "$pid" 2>/dev/null; do
    kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
    sleep 0.02
  done
  echo "$peak"
}

for plugin in connscan sockscan; do
  for run in $(seq "$RUNS"); do
    start=$(date +%s.%N)
    "$MEMSIFT" -q -f "$IMG" -r json "$plugin" >"$DIR/$plugin.json" &
    pid=$!
    peak=$(peak_anon $pid)
    wait $pid
    end=$(date +%s.%N)
    rows=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$DIR/$plugin.json")
    awk -v p="$plugin" -v r="$run" -v s="$start" -v e="$end" -v b="$BYTES" -v k="$peak" -v n="$rows" \
      'BEGIN { t = e - s; printf "%-9s run %d: %6.3f s  %5.2f GB/s  peak anon %5.1f MiB  %d rows\n", p, r, t, b / t / 1e9, k / 1024, n }'
  done
done
