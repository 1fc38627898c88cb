#!/usr/bin/env python3
"""Compare Volatility 3's reading of a generated image with its ground truth.

Every row Volatility 3 prints must agree with the truth; truth objects that
Volatility 3 does not print are counted by reason (its known gaps, see
tests/README.md).  Usage: compare.py VOL_PY SYMBOLS_DIR IMAGE"""
import json
import subprocess
import sys


def vol(vol_py, symbols, image, plugin):
    cmd = ["/usr/bin/python3", vol_py, "--offline", "-q", "-s", symbols, "-f", image, "-r", "json", plugin]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        return None, out.stderr.strip().splitlines()[-1:] or ["failed"]
    return json.loads(out.stdout), None


def mask48(va):
    return va & 0xFFFFFFFFFFFF


def main():
    vol_py, symbols, image = sys.argv[1:4]
    with open(image + ".truth.json") as f:
        truth = json.load(f)
    problems, notes = [], []

    rows, err = vol(vol_py, symbols, image, "windows.info")
    if err:
        problems.append(f"windows.info failed: {err}")
    else:
        facts = {r["Variable"]: r["Value"] for r in rows}
        # Volatility 3 prints addresses without the sign extension of bits 48..63.
        if int(str(facts.get("Kernel Base", "0")), 0) != mask48(truth["kernel_base"]):
            problems.append(f"info Kernel Base {facts.get('Kernel Base')} != {hex(truth['kernel_base'])}")

    rows, err = vol(vol_py, symbols, image, "windows.pslist")
    if err:
        problems.append(f"windows.pslist failed: {err}")
    else:
        by_offset = {mask48(p["offset"]): p for p in truth["processes"]}
        for r in rows:
            p = by_offset.get(mask48(r["Offset(V)"]))
            if p is None or p["pid"] != r["PID"] or p["ppid"] != r["PPID"] or p["name"] != r["ImageFileName"]:
                problems.append(f"pslist row {r['PID']} {r['ImageFileName']} does not match the truth")
        expected = [p for p in truth["processes"] if p.get("in_dump", True)]
        if len(rows) < len(expected):
            notes.append(f"pslist: {len(expected) - len(rows)} listed processes not printed")

    conns = truth["connections"]
    for plugin, wanted in (("windows.netscan", lambda c: c["pool_scan"] or c["reachable"]),
                           ("windows.netstat", lambda c: c["reachable"])):
        rows, err = vol(vol_py, symbols, image, plugin)
        if err:
            notes.append(f"{plugin} did not run: {err}")
            continue
        keys = {}
        for c in conns:
            for off in (c["offset"], c["offset_phys"]):
                keys.setdefault(mask48(off), []).append(c)
        seen = set()
        for r in rows:
            cands = keys.get(mask48(r["Offset"]), [])
            ok = [c for c in cands if c["local_port"] == r["LocalPort"] and c["pid"] == r["PID"]
                  and (c["state"] or "") == (r["State"] or "")]
            if not ok:
                problems.append(f"{plugin} row {r['Proto']} {r['LocalAddr']}:{r['LocalPort']} "
                                f"-> {r['ForeignAddr']}:{r['ForeignPort']} pid {r['PID']} matches no truth object")
            for c in ok:
                seen.add(id(c))
        missing = [c for c in conns if wanted(c) and id(c) not in seen]
        reasons = {}
        for c in missing:
            why = c["tag"] if c["tag"] in ("TcTW", "TcSR", "TcSE") else ("freed" if not c["reachable"] else "other")
            reasons[why] = reasons.get(why, 0) + 1
        if missing:
            notes.append(f"{plugin}: {len(rows)} rows; not printed: {reasons}")
        else:
            notes.append(f"{plugin}: {len(rows)} rows; nothing missing")

    for n in notes:
        print(f"  note: {n}")
    for p in problems:
        print(f"  PROBLEM: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
