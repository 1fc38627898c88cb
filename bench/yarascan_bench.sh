#!/usr/bin/env bash
# yarascan speed: `memsift yarascan --physical` over a 4 GiB raw image
# against libyara alone scanning the same bytes from one plain buffer
# (bench/yarascan_baseline.c, one thread, one yr_rules_scan_mem call).
# The goal is memsift within 20% of libyara with one thread; with every
# CPU it should be faster.  Optionally (BENCH_VOL3=1) Volatility 3's
# yarascan.YaraScan against `memsift yarascan --kernel` on a generated
# Windows image (both scan the kernel's virtual address space).
#
#   bench/yarascan_bench.sh [BUILD_DIR]
#   env: BENCH_DIR (default /tmp/memsift-yarabench), BENCH_SIZE_MIB (4096),
#        BENCH_VOL3=1, BENCH_VOL3_SIZE (1G), VOL3 (/work/vol3), ISF (../shared/isf)
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
MEMSIFT=$BUILD/memsift
DIR=${BENCH_DIR:-/tmp/memsift-yarabench}
SIZE_MIB=${BENCH_SIZE_MIB:-4096}
[ -x "$MEMSIFT" ] || { echo "build memsift first: $MEMSIFT is missing" >&2; exit 1; }
mkdir -p "$DIR"

cat >"$DIR/rules.yar" <<'EOF'
rule url { strings: $u = /https?:\/\/[a-z0-9.-]{3,64}\.(com|net|org)\// nocase condition: $u }
rule pe_header { strings: $mz = { 4D 5A 90 00 03 00 00 00 } condition: $mz }
rule powershell { strings: $p = "powershell" ascii wide nocase $e = "-EncodedCommand" ascii wide nocase condition: any of them }
rule mimikatz { strings: $a = "sekurlsa::logonpasswords" ascii wide nocase $b = "gentilkiwi" ascii wide condition: any of them }
rule tcp_endpoint_tag { strings: $t = "TcpE" condition: $t }
EOF

IMG=$DIR/phys-${SIZE_MIB}M.raw
if [ ! -f "$IMG" ] || [ "$(stat -c %s "$IMG")" -ne $((SIZE_MIB << 20)) ]; then
    echo "writing $IMG ($SIZE_MIB MiB: random bytes with planted matches)..."
    head -c $((64 << 20)) /dev/urandom >"$DIR/block"
    : >"$IMG"
    for _ in $(seq $((SIZE_MIB / 64))); do cat "$DIR/block" >>"$IMG"; done
    rm -f "$DIR/block"
    i=0
    for text in "http://example.com/x" "powershell -EncodedCommand" "sekurlsa::logonpasswords" "TcpE"; do
        for k in $(seq 0 49); do
            off=$(( (k * 83 + i * 7) * (SIZE_MIB << 20) / 4200 + 12345 ))
            printf '%s' "$text" | dd of="$IMG" bs=1 seek="$off" conv=notrunc status=none
        done
        i=$((i + 1))
    done
fi

BASE=$DIR/yarascan_baseline
if [ ! -x "$BASE" ] || [ "$SRC/bench/yarascan_baseline.c" -nt "$BASE" ]; then
    cc -O2 -o "$BASE" "$SRC/bench/yarascan_baseline.c" $(pkg-config --cflags --libs yara)
fi

# Warm the page cache so that both sides read memory, not the disk.
cat "$IMG" >/dev/null

mib=$SIZE_MIB
read -r base_s base_hits < <("$BASE" "$DIR/rules.yar" "$IMG")

time_memsift() {
    local t0 t1
    t0=$(date +%s.%N)
    "$MEMSIFT" -q -f "$IMG" -r csv -o "$DIR/out.csv" yarascan --physical --rules "$DIR/rules.yar" \
        --no-rule-cache --max-hits 0 "$@"
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}
ms1_s=$(time_memsift --threads 1)
ms1_rows=$(($(wc -l <"$DIR/out.csv") - 1))
msn_s=$(time_memsift)
msn_rows=$(($(wc -l <"$DIR/out.csv") - 1))

rate() { echo "$1 $2" | awk '{ printf "%.0f", $1 / $2 }'; }
echo
echo "image: $SIZE_MIB MiB, rules: 5 rules / 8 strings ($DIR/rules.yar), CPUs: $(nproc)"
printf '%-40s %8.3f s %7s MiB/s  %s matches\n' "libyara, one buffer, 1 thread" "$base_s" "$(rate $mib "$base_s")" "$base_hits"
printf '%-40s %8.3f s %7s MiB/s  %s rows\n' "memsift yarascan --physical, 1 thread" "$ms1_s" "$(rate $mib "$ms1_s")" "$ms1_rows"
printf '%-40s %8.3f s %7s MiB/s  %s rows\n' "memsift yarascan --physical, $(nproc) threads" "$msn_s" "$(rate $mib "$msn_s")" "$msn_rows"
ratio=$(echo "$ms1_s $base_s" | awk '{ printf "%.2f", $1 / $2 }')
echo "memsift (1 thread) time / libyara time: $ratio (goal: at most 1.20)"
[ "$ms1_rows" -eq "$base_hits" ] || echo "NOTE: row counts differ ($ms1_rows vs $base_hits matches)"

if [ "${BENCH_VOL3:-0}" = 1 ]; then
    VOL3=${VOL3:-/work/vol3}
    ISF=${ISF:-$SRC/../shared/isf}
    GEN=$BUILD/tools/imagegen/ms-imagegen
    if ! /usr/bin/python3 -c 'import yara' 2>/dev/null; then
        echo "Volatility 3 comparison skipped: /usr/bin/python3 has no yara module (apt-get install python3-yara)"
    elif [ ! -f "$VOL3/vol.py" ] || [ ! -x "$GEN" ]; then
        echo "Volatility 3 comparison skipped: needs $VOL3/vol.py and $GEN"
    else
        WIN=$DIR/win-${BENCH_VOL3_SIZE:-1G}.raw
        [ -f "$WIN" ] || "$GEN" --profile win10-19041-x64 --size "${BENCH_VOL3_SIZE:-1G}" --out "$WIN" >/dev/null
        t0=$(date +%s.%N)
        /usr/bin/python3 "$VOL3/vol.py" --offline -q -s "$ISF" -f "$WIN" -r csv yarascan.YaraScan \
            --yara-file "$DIR/rules.yar" >"$DIR/vol3.csv" 2>"$DIR/vol3.err" || true
        t1=$(date +%s.%N)
        vol_s=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
        t0=$(date +%s.%N)
        "$MEMSIFT" -q -f "$WIN" -r csv -o "$DIR/ms-kernel.csv" yarascan --kernel --rules "$DIR/rules.yar" --max-hits 0
        t1=$(date +%s.%N)
        msk_s=$(echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }')
        echo
        echo "kernel address space of a generated ${BENCH_VOL3_SIZE:-1G} Windows 10 x64 image:"
        printf '%-40s %8.3f s  %s rows\n' "Volatility 3 yarascan.YaraScan" "$vol_s" "$(($(grep -c . "$DIR/vol3.csv") - 1))"
        printf '%-40s %8.3f s  %s rows\n' "memsift yarascan --kernel" "$msk_s" "$(($(wc -l <"$DIR/ms-kernel.csv") - 1))"
    fi
fi
