#!/usr/bin/env bash
# ms-imagegen network truth (Vista+): every profile has connections with all
# fields, win10 has every state/proto mix, determinism, --tcpip with the
# real tcpip.sys; optional Volatility 3 comparison (MEMSIFT_VOL3=vol.py).
set -u
GEN="${MEMSIFT_BUILD:-}/tools/imagegen/ms-imagegen"
if [ -z "${MEMSIFT_BUILD:-}" ] || [ ! -x "$GEN" ]; then
    echo "SKIP: ms-imagegen not built (MEMSIFT_BUILD=${MEMSIFT_BUILD:-unset})"
    exit 77
fi
TMP="${MEMSIFT_TEST_TMP:-$(mktemp -d)}/imagegen_net"
rm -rf "$TMP" && mkdir -p "$TMP" || exit 1
fail=0
err() { echo "FAIL: $*"; fail=1; }

check() { # truth file, profile, want_all_mixes
python3 - "$1" "$2" "$3" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); prof = sys.argv[2]; full = sys.argv[3] == "1"
keys = ["proto", "local_addr", "local_port", "foreign_addr", "foreign_port", "state", "pid", "owner",
        "created", "offset", "offset_phys", "tag", "reachable", "pool_scan", "in_dump"]
cs = t["connections"]
assert cs, "no connections"
for c in cs:
    assert list(c) == keys, "fields %s" % list(c)
    assert c["proto"] in ("TCPv4", "TCPv6", "UDPv4", "UDPv6"), c
    assert 0 < c["local_port"] < 65536, c
    if c["proto"].startswith("UDP"):
        assert c["foreign_addr"] == "*" and c["foreign_port"] == 0 and c["state"] == "", c
    if c["state"] == "LISTENING":
        assert c["foreign_port"] == 0 and c["foreign_addr"] in ("0.0.0.0", "::"), c
    assert c["offset"] > 0 and c["offset_phys"] > 0, c
    if t["arch"] == "x64":
        assert c["offset"] >= 0xFFFF800000000000, c
    assert c["tag"] in ("TcpE", "TcpL", "UdpA", "TcTW", "TcSR"), c
    assert c["pid"] is None or c["owner"], c
procs = {p["pid"]: p for p in t["processes"]}
for c in cs:
    if c["pid"] is not None:
        assert procs[c["pid"]]["name"] == c["owner"], c
assert len({c["offset"] for c in cs}) == len(cs), "duplicate offsets"
exited = {p["pid"] for p in t["processes"] if p["exit_time"]}
assert any(c["pid"] in exited for c in cs), "no connection of the exited process"
assert any(not c["reachable"] and c["pool_scan"] for c in cs), "no freed block"
assert any(c["tag"] == "TcpL" and c["local_addr"] == "0.0.0.0" for c in cs)
assert any(c["tag"] == "TcpL" and c["local_addr"] == "::" for c in cs)
assert any(c["tag"] == "TcpL" and c["local_addr"] not in ("0.0.0.0", "::") for c in cs)
ports = {}
for c in cs:
    if c["tag"] in ("TcpL", "UdpA") and c["reachable"]:
        ports.setdefault((c["tag"], c["local_port"]), set()).add(c["proto"][-2:])
assert any(v == {"v4", "v6"} for (tag, _), v in ports.items() if tag == "TcpL"), "no dual-stack listener"
if full:
    mixes = {(c["proto"], c["state"]) for c in cs}
    for want in [("TCPv4", "ESTABLISHED"), ("TCPv6", "ESTABLISHED"), ("TCPv4", "CLOSE_WAIT"),
                 ("TCPv4", "SYN_SENT"), ("TCPv4", "SYN_RCVD"), ("TCPv4", "FIN_WAIT1"), ("TCPv4", "FIN_WAIT2"),
                 ("TCPv4", "LAST_ACK"), ("TCPv6", "CLOSING"), ("TCPv6", "CLOSED"), ("TCPv4", "TIME_WAIT"),
                 ("TCPv6", "TIME_WAIT"), ("TCPv4", "LISTENING"), ("TCPv6", "LISTENING"), ("UDPv4", ""),
                 ("UDPv6", "")]:
        assert want in mixes, "missing %s" % (want,)
    assert any(c["created"] for c in cs if c["tag"] == "TcpE"), "no TcpE CreateTime on win10"
PY
}

for p in win10-19041-x64 win11-22000-x64 win81-9600-x64 win7-7601-x64 win7-7601-x86pae; do
    if "$GEN" --list-profiles | grep "^$p " | grep -q missing; then
        echo "skip $p: kernel profile missing"
        continue
    fi
    out="$TMP/$p.raw"
    "$GEN" --profile "$p" --out "$out" --size 48M --seed 11 --verify 2>"$TMP/err" || { err "$p: $(cat "$TMP/err")"; continue; }
    full=0; [ "$p" = win10-19041-x64 ] && full=1
    check "$out.truth.json" "$p" "$full" || err "$p: truth connections"
    if [ -n "${MEMSIFT_VOL3:-}" ] && [ "$p" != win7-7601-x86pae ]; then
        phys=""; case $p in win7*|win81*) phys=phys ;; esac
        for plugin in netscan netstat; do
            [ $plugin = netstat ] && [ "$p" != win10-19041-x64 ] && continue
            /usr/bin/python3 "$MEMSIFT_VOL3" --offline -q -s "${MEMSIFT_SHARED:-../shared}/isf" -f "$out" -r json \
                windows.$plugin > "$TMP/$p.$plugin.json" 2>/dev/null || { err "$p: vol3 $plugin failed"; continue; }
            python3 - "$out.truth.json" "$TMP/$p.$plugin.json" "$phys" <<'PY' || err "$p: vol3 $plugin disagrees"
import json, sys
t = json.load(open(sys.argv[1])); rows = json.load(open(sys.argv[2])); phys = sys.argv[3] == "phys"
m48 = (1 << 48) - 1
by = {(c["offset_phys"] if phys else c["offset"] & m48): c for c in t["connections"]}
assert rows, "no rows"
for x in rows:
    c = by.get(x["Offset"])
    assert c is not None, "row not in truth: %s" % x
    assert (x["LocalPort"], x["ForeignPort"], x["State"], x["PID"], x["Owner"], x["Created"]) == \
        (c["local_port"], c["foreign_port"], c["state"], c["pid"], c["owner"], c["created"]), (x, c)
    assert x["Proto"] == c["proto"] or (x["LocalAddr"] == "0.0.0.0" and c["local_addr"] == "::"), (x, c)
PY
        done
    fi
done

# bitmap dump: the TCB on the left-out page is absent in the truth
out="$TMP/b5.dmp"
if "$GEN" --profile win10-19041-x64 --out "$out" --size 48M --seed 11 --format crash-bitmap5 2>"$TMP/err"; then
    python3 -c "
import json,sys; cs=json.load(open(sys.argv[1]))['connections']
a=[c for c in cs if not c['in_dump']]
assert len(a)==1 and not a[0]['reachable'] and not a[0]['pool_scan'], a" "$out.truth.json" || err "bitmap in_dump"
else
    err "bitmap5: $(cat "$TMP/err")"
fi

# determinism
"$GEN" --profile win10-19041-x64 --out "$TMP/d1.raw" --size 32M --seed 9 || err "d1"
"$GEN" --profile win10-19041-x64 --out "$TMP/d2.raw" --size 32M --seed 9 || err "d2"
cmp -s "$TMP/d1.raw" "$TMP/d2.raw" || err "same seed gave different images"
cmp -s "$TMP/d1.raw.truth.json" "$TMP/d2.raw.truth.json" || err "same seed gave different truth"
rm -f "$TMP"/d[12].raw*

# --tcpip with the real tcpip.sys 10.0.19041.4780
SYS="${MEMSIFT_SHARED:-}/samples/tcpip-10.0.19041.4780-x64.sys"
if [ -n "${MEMSIFT_SHARED:-}" ] && [ -f "$SYS" ]; then
    out="$TMP/real.raw"
    if "$GEN" --profile win10-19041-x64 --out "$out" --size 64M --seed 4 --tcpip "$SYS" --verify 2>"$TMP/err"; then
        check "$out.truth.json" win10-19041-x64 1 || err "--tcpip truth"
        python3 - "$out" "$SYS" <<'PY' || err "--tcpip image content"
import json, sys
t = json.load(open(sys.argv[1] + ".truth.json"))
m = [m for m in t["modules"] if m["name"] == "tcpip.sys"][0]
assert m["pdb"]["guid"] == "FBC0BBA45083A595E389FB48C1AB9A20", m
f = open(sys.argv[2], "rb").read()
img = open(sys.argv[1], "rb").read()
assert img.find(f[0x600:0x600 + 4096]) >= 0, "tcpip .text not in the image"
PY
    else
        err "--tcpip: $(cat "$TMP/err")"
    fi
else
    echo "skip --tcpip: ${SYS} absent"
fi
"$GEN" --profile xpsp2-x86 --out "$TMP/x.raw" --size 32M --tcpip /nonexistent 2>/dev/null && err "--tcpip accepted for XP"

exit $fail
