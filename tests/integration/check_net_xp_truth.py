#!/usr/bin/env python3
"""Compare memsift's connections, connscan, sockets and sockscan on a
generated XP/2003 image with the image's ground truth (IMAGE.truth.json):
every expected row present, no extra row, every field equal.  Also checks
--plausible-only.  Exit 0 when they agree; otherwise print the differences."""
import json
import subprocess
import sys


def run(memsift, image, plugin, extra, plugin_opts=()):
    cmd = [memsift, "-q", "-f", image, "-r", "json"] + extra + [plugin] + list(plugin_opts)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout)


def seconds(iso):
    return None if iso is None else iso[:19]


def peer_of(sock, conns):
    """The remote end of the connection of the same process on the socket's port."""
    for c in conns:
        if c["pid"] == sock["pid"] and c["local_port"] == sock["local_port"]:
            return f"{c['foreign_addr']}:{c['foreign_port']}"
    return None


def listed_pids(truth):
    """PIDs of the processes a list walk sees: it ends at the first one the dump lacks."""
    pids = set()
    for p in truth["processes"]:
        if not p.get("in_dump", True):
            break
        pids.add(p["pid"])
    return pids


LISTED = set()


def owner(t):
    return t["owner"] if t["pid"] in LISTED else None


def expected_conn(t, walk):
    row = {"LocalAddr": t["local_addr"], "LocalPort": t["local_port"], "ForeignAddr": t["foreign_addr"],
           "ForeignPort": t["foreign_port"], "PID": t["pid"], "Owner": owner(t), "Plausible": t["plausible"],
           "Offset(P)": t["offset_phys"]}
    if walk:
        row["Offset(V)"] = t["offset"]
    return row


def expected_sock(t, walk, conns):
    row = {"PID": t["pid"], "Port": t["local_port"], "Proto": t["protocol"], "Protocol": t["protocol_name"],
           "Address": t["local_addr"], "Create Time": seconds(t["created"]), "Owner": owner(t),
           "Role": t["role"], "Plausible": t["plausible"], "Offset(P)": t["offset_phys"],
           "Peer": peer_of(t, conns) if t["role"] == "connection" else None}
    if walk:
        row["Offset(V)"] = t["offset"]
    return row


def compare(plugin, rows, want, key, errors):
    have = {}
    for r in rows:
        r = dict(r, **({"Create Time": seconds(r["Create Time"])} if "Create Time" in r else {}))
        if r[key] in have:
            errors.append(f"{plugin}: duplicate row {key}={r[key]:#x}")
        have[r[key]] = r
    for w in want:
        r = have.pop(w[key], None)
        if r is None:
            errors.append(f"{plugin}: missing row {key}={w[key]:#x} {w}")
            continue
        for k, v in w.items():
            if r.get(k) != v:
                errors.append(f"{plugin} {key}={w[key]:#x} {k}: expected {v!r}, found {r.get(k)!r}")
    for k, r in have.items():
        errors.append(f"{plugin}: extra row {key}={k:#x} {r}")


def main():
    if len(sys.argv) < 3:
        raise SystemExit("usage: check_net_xp_truth.py MEMSIFT IMAGE [-- memsift options]")
    memsift, image = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    extra = rest[rest.index("--") + 1:] if "--" in rest else []
    with open(image + ".truth.json") as f:
        truth = json.load(f)
    LISTED.update(listed_pids(truth))
    entries = [e for e in truth["connections"] if e.get("in_dump", True)]
    conns = [e for e in entries if e["kind"] == "connection"]
    socks = [e for e in entries if e["kind"] == "socket"]
    live_conns = [c for c in conns if c["plausible"]]
    errors = []
    if not conns or not socks:
        errors.append("the truth holds no XP connections or sockets")
    plans = [
        ("connections", [expected_conn(t, True) for t in conns if t["reachable"]], "Offset(V)"),
        ("connscan", [expected_conn(t, False) for t in conns if t["pool_scan"]], "Offset(P)"),
        ("sockets", [expected_sock(t, True, live_conns) for t in socks if t["reachable"]], "Offset(V)"),
        ("sockscan", [expected_sock(t, False, live_conns) for t in socks if t["pool_scan"]], "Offset(P)"),
    ]
    for plugin, want, key in plans:
        compare(plugin, run(memsift, image, plugin, extra), want, key, errors)
    for plugin, want, key in plans[1::2]:
        rows = run(memsift, image, plugin, extra, ["--plausible-only"])
        compare(plugin + " --plausible-only", rows, [w for w in want if w["Plausible"]], key, errors)
    if not any(not w["Plausible"] for _, want, _ in plans for w in want):
        errors.append("the truth holds no implausible row: the plausibility test cannot fail")
    for e in errors:
        print(f"  {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
