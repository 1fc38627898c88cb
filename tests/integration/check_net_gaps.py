#!/usr/bin/env python3
"""check_net_truth.py for builds whose tcpip profile has a data gap.

usage: check_net_gaps.py MEMSIFT IMAGE --unwalkable GROUP[,GROUP...] [-- MEMSIFT OPTIONS...]

GROUP names what memsift's profile cannot walk to, for lack of a member no
public source gives:
  listeners  TcpL objects and the TCB bound to a port (the TCP port pool's
             chains: _TCP_LISTENER.Next or the port-pool layout unknown)
  udp        UdpA objects (_UDP_ENDPOINT.Next or the port-pool layout unknown)
  timewait   TcTW objects (_PARTITION.UnknownHashTable unknown)
Those rows must be absent from netstat and present in netscan with Source
`scan`; every other row is checked exactly as check_net_truth.py does.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_net_truth import compare, run  # noqa: E402

GROUPS = {
    "listeners": lambda c: c["tag"] == "TcpL" or (c["tag"] == "TcpE" and c["foreign_port"] == 0),
    "udp": lambda c: c["tag"] == "UdpA",
    "timewait": lambda c: c["tag"] == "TcTW",
}


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
    if len(args) != 4 or args[2] != "--unwalkable":
        raise SystemExit(__doc__)
    memsift, image = args[0], args[1]
    groups = args[3].split(",")
    for g in groups:
        if g not in GROUPS:
            raise SystemExit("unknown group %r (%s)" % (g, ", ".join(GROUPS)))
    truth_path = image + ".truth.json"
    if not os.path.exists(truth_path) and image.endswith(".gz"):
        truth_path = image[:-3] + ".truth.json"
    with open(truth_path) as f:
        truth = json.load(f)
    conns = [c for c in truth.get("connections", []) if "kind" not in c]
    unwalkable = 0
    for c in conns:
        if c["reachable"] and any(GROUPS[g](c) for g in groups):
            c["reachable"] = False
            unwalkable += 1
    if unwalkable == 0:
        raise SystemExit("no truth row is in the groups %s: the gap is not exercised" % args[3])
    reach = [c for c in conns if c["reachable"]]
    scan = [c for c in conns if c["reachable"] or c["pool_scan"]]
    errors = compare("netstat", reach, run(memsift, image, "netstat", extra), False)
    errors += compare("netscan", scan, run(memsift, image, "netscan", extra), True)
    if errors:
        print("\n".join(errors))
        return 1
    print("netstat %d rows, netscan %d rows (%d scan only: %s): as the truth says" %
          (len(reach), len(scan), unwalkable, args[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
