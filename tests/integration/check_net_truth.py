#!/usr/bin/env python3
"""Compare memsift netstat and netscan (-r json) with a generated image's truth.

usage: check_net_truth.py MEMSIFT IMAGE [TRUTH] [-- MEMSIFT OPTIONS...]

netstat must report exactly the truth's reachable connections (Vista+
rows), netscan exactly its reachable or pool_scan ones, one row per object
with the right Source, and neither may add a row.  Exit 0 on success, 1 with
the differences otherwise.
"""
import json
import os
import subprocess
import sys

FIELDS = [("proto", "Proto"), ("local_addr", "LocalAddr"), ("local_port", "LocalPort"),
          ("foreign_addr", "ForeignAddr"), ("foreign_port", "ForeignPort"), ("state", "State"),
          ("pid", "PID"), ("owner", "Owner")]


def run(memsift, image, plugin, extra):
    cmd = [memsift, "-q", "-r", "json", "-f", image] + extra + [plugin]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    if out.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(cmd), out.returncode, out.stderr.decode()[-500:]))
    text = out.stdout.decode()
    return json.loads(text) if text.strip() else []


def seconds(iso):
    if iso is None:
        return None
    # "2021-01-15T16:23:45.286364+00:00" -> "2021-01-15T16:23:45"
    return iso[:19]


def compare(name, truth_rows, rows, want_source):
    errors = []
    by_phys = {}
    for r in rows:
        key = r.get("OffsetPhys")
        if key in by_phys:
            errors.append("%s: two rows for the object at physical 0x%x" % (name, key))
        by_phys[key] = r
    for t in truth_rows:
        r = by_phys.pop(t["offset_phys"], None)
        label = "%s %s:%s -> %s:%s (%s, phys 0x%x)" % (t["proto"], t["local_addr"], t["local_port"],
                                                       t["foreign_addr"], t["foreign_port"], t["tag"],
                                                       t["offset_phys"])
        if r is None:
            errors.append("%s: missing %s" % (name, label))
            continue
        for tk, rk in FIELDS:
            if t[tk] != r.get(rk):
                errors.append("%s: %s: %s is %r, expected %r" % (name, label, rk, r.get(rk), t[tk]))
        if seconds(t["created"]) != seconds(r.get("Created")):
            errors.append("%s: %s: Created is %r, expected %r" % (name, label, r.get("Created"), t["created"]))
        if r.get("Offset") != t["offset"]:
            errors.append("%s: %s: Offset is %r, expected 0x%x" % (name, label, r.get("Offset"), t["offset"]))
        if want_source:
            src = "both" if t["reachable"] and t["pool_scan"] else "walk" if t["reachable"] else "scan"
            if r.get("Source") != src:
                errors.append("%s: %s: Source is %r, expected %r" % (name, label, r.get("Source"), src))
    for key, r in sorted(by_phys.items(), key=lambda kv: kv[0] or 0):
        errors.append("%s: extra row %s %s:%s -> %s:%s (phys %s)" % (name, r.get("Proto"), r.get("LocalAddr"),
                                                                     r.get("LocalPort"), r.get("ForeignAddr"),
                                                                     r.get("ForeignPort"), key))
    return errors


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    memsift, image = args[0], args[1]
    truth_path = args[2] if len(args) > 2 else image + ".truth.json"
    if len(args) <= 2 and not os.path.exists(truth_path) and image.endswith(".gz"):
        truth_path = image[:-3] + ".truth.json"
    with open(truth_path) as f:
        truth = json.load(f)
    conns = [c for c in truth.get("connections", []) if "kind" not in c]
    if not conns:
        raise SystemExit("the truth has no Vista+ connections")
    reach = [c for c in conns if c["reachable"]]
    scan = [c for c in conns if c["reachable"] or c["pool_scan"]]
    errors = compare("netstat", reach, run(memsift, image, "netstat", extra), False)
    errors += compare("netscan", scan, run(memsift, image, "netscan", extra), True)
    if errors:
        print("\n".join(errors))
        return 1
    print("netstat %d rows, netscan %d rows: as the truth says" % (len(reach), len(scan)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
