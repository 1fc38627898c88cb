#!/usr/bin/env python3
"""Compare memsift's info, pslist and modules on a generated image with the
image's ground truth (IMAGE.truth.json).  Exit 0 when they agree; otherwise
print every difference and exit 1."""
import json
import subprocess
import sys


def run(memsift, image, plugin, extra):
    cmd = [memsift, "-q", "-f", image, "-r", "json"] + extra + [plugin]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout)


def seconds(iso):
    """'2021-01-14T13:36:26.420106+00:00' -> '2021-01-14T13:36:26'."""
    return None if iso is None else iso[:19]


def text_time(iso):
    return iso[:10] + " " + iso[11:19] + " UTC"


def first_word(value):
    return value.split(" ")[0]


def check_info(rows, truth, errors):
    facts = {r["Variable"]: r["Value"] for r in rows}

    def expect(name, want, get=first_word):
        have = facts.get(name)
        if have is None or get(have) != want:
            errors.append(f"info {name}: expected {want!r}, found {have!r}")

    expect("Kernel base", hex(truth["kernel_base"]))
    expect("Kernel DTB", hex(truth["dtb"]))
    expect("Kernel build", str(truth["build"]))
    pdb = truth["kernel_pdb"]
    expect("Kernel PDB", f"{pdb['name']} {pdb['guid']} age {pdb['age']}", get=lambda v: v)
    if truth.get("kdbg"):
        expect("KDBG", hex(truth["kdbg"]))
    expect("Process list head", hex(truth["ps_active_process_head"]))
    expect("Module list head", hex(truth["ps_loaded_module_list"]))
    expect("Kernel system time", text_time(truth["system_time"]), get=lambda v: v)
    expect("Kernel processors", str(truth["processors"]))


def expected_processes(truth):
    """The list as a walk sees it: it ends at the first process the dump lacks."""
    procs = []
    for p in truth["processes"]:
        if not p.get("in_dump", True):
            break
        procs.append(p)
    return procs


def check_pslist(rows, truth, errors):
    want = expected_processes(truth)
    if len(rows) != len(want):
        errors.append(f"pslist: expected {len(want)} processes, found {len(rows)}")
    for have, p in zip(rows, want):
        name = p["full_name"].split("\\")[-1] if p.get("full_name") else p["name"]
        expected = {"PID": p["pid"], "PPID": p["ppid"], "ImageFileName": name, "Offset(V)": p["offset"],
                    "Threads": p["threads"], "CreateTime": seconds(p["create_time"]),
                    "ExitTime": seconds(p["exit_time"])}
        found = dict(have, CreateTime=seconds(have["CreateTime"]), ExitTime=seconds(have["ExitTime"]))
        for key, value in expected.items():
            if found.get(key) != value:
                errors.append(f"pslist pid {p['pid']} {key}: expected {value!r}, found {found.get(key)!r}")


def check_modules(rows, truth, errors):
    want = truth["modules"]
    if len(rows) != len(want):
        errors.append(f"modules: expected {len(want)}, found {len(rows)}")
    for have, m in zip(rows, want):
        expected = {"Name": m["name"], "Path": m["path"], "Base": m["base"], "Size": m["size"]}
        if m.get("pdb") and m.get("headers_in_dump", True):
            expected.update({"GUID": m["pdb"]["guid"], "Age": m["pdb"]["age"], "PDB": m["pdb"]["name"]})
        for key, value in expected.items():
            if have.get(key) != value:
                errors.append(f"modules {m['name']} {key}: expected {value!r}, found {have.get(key)!r}")


def main():
    if len(sys.argv) < 3:
        raise SystemExit("usage: check_kernel_truth.py MEMSIFT IMAGE [TRUTH] [-- memsift options]")
    memsift, image = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    extra = rest[rest.index("--") + 1:] if "--" in rest else []
    truth_path = rest[0] if rest and rest[0] != "--" else image + ".truth.json"
    with open(truth_path) as f:
        truth = json.load(f)
    errors = []
    check_info(run(memsift, image, "info", extra), truth, errors)
    check_pslist(run(memsift, image, "pslist", extra), truth, errors)
    check_modules(run(memsift, image, "modules", extra), truth, errors)
    for e in errors:
        print(f"  {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
