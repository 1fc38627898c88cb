#!/usr/bin/env bash
# Vista+ network plugins, whole process: `memsift netstat` and `netscan` on
# a generated 4 GiB Windows 10 19041 x64 raw image held in the page cache,
# and Volatility 3's windows.netscan on the same image in the same run.
# Reports wall time, GB/s over the image's bytes, the peak anonymous
# resident memory (heap and stacks; the image's file mapping is not
# counted) sampled from /proc every 20 ms, and the speed ratio.
#
#   bench/netscan_bench.sh [BUILD_DIR]
#   env: BENCH_DIR (default /tmp/memsift-netbench), BENCH_SIZE (4G), BENCH_RUNS (3),
#        BENCH_PROFILE (win10-19041-x64), VOL3 (/work/vol3/vol.py; empty: skip),
#        VOL3_ISF (/work/shared/isf)
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
MEMSIFT=$BUILD/memsift
GEN=$BUILD/tools/imagegen/ms-imagegen
DIR=${BENCH_DIR:-/tmp/memsift-netbench}
SIZE=${BENCH_SIZE:-4G}
RUNS=${BENCH_RUNS:-3}
PROFILE=${BENCH_PROFILE:-win10-19041-x64}
VOL3=${VOL3-/work/vol3/vol.py}
VOL3_ISF=${VOL3_ISF:-/work/shared/isf}
[ -x "$MEMSIFT" ] && [ -x "$GEN" ] || { echo "build memsift and ms-imagegen first ($BUILD)" >&2; exit 1; }
mkdir -p "$DIR"
IMG=$DIR/$PROFILE-$SIZE.raw
[ -f "$IMG" ] || "$GEN" --profile "$PROFILE" --size "$SIZE" --seed 1 --out "$IMG" >/dev/null
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

best_netscan=""
for plugin in netstat netscan; do
  for run in $(seq "$RUNS"); do
    start=$(date +%s.%N)
    "$MEMSIFT" -q -f "$IMG" -r json "$plugin" >"$DIR/$plugin.json" &
    pid=$!
    peak=$(peak_anon $pid)
    wait $pid
    end=$(date +%s.%N)
    rows=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$DIR/$plugin.json")
    t=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
    awk -v p="$plugin" -v r="$run" -v t="$t" -v b="$BYTES" -v k="$peak" -v n="$rows" \
      'BEGIN { printf "memsift %-8s run %d: %6.3f s  %5.2f GB/s  peak anon %5.1f MiB  %d rows\n", p, r, t, b / t / 1e9, k / 1024, n }'
    if [ "$plugin" = netscan ]; then
      best_netscan=$(awk -v a="${best_netscan:-1e9}" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
    fi
  done
done

if [ -n "$VOL3" ] && [ -f "$VOL3" ]; then
  start=$(date +%s.%N)
  /usr/bin/python3 "$VOL3" --offline -q -r json -s "$VOL3_ISF" -f "$IMG" windows.netscan >"$DIR/vol3.json" 2>"$DIR/vol3.err" || true
  end=$(date +%s.%N)
  rows=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$DIR/vol3.json" 2>/dev/null || echo "?")
  awk -v s="$start" -v e="$end" -v b="$BYTES" -v m="$best_netscan" -v n="$rows" \
    'BEGIN { t = e - s; printf "vol3    netscan       : %6.3f s  %5.2f GB/s  %s rows\nratio (vol3 / memsift netscan, best run): %.1fx\n", t, b / t / 1e9, n, t / m }'
else
  echo "Volatility 3 not found ($VOL3): no ratio"
fi
