#!/usr/bin/env python3
"""Run memsift's info, pslist and modules on an image written with
`ms-imagegen --damage KIND` and hold them to what the truth says a correct
tool still reports: no crash or hang (exit < 128, no sanitizer report), exit
0 with partial results or non-zero with one clear line, a warning on stderr
naming the damage, and exactly the reachable processes and modules.
Exit 0 when everything holds; otherwise print every difference, exit 1."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_kernel_truth as kt  # noqa: E402  (shared row comparisons)

TIMEOUT = 300
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")
UNREADABLE = r"not readable|unreadable|not mapped|not present|paged out"
# (plugin whose stderr must name the problem, pattern) per damage kind
WARNINGS = {
    "process-loop": ("pslist", r"loops? back|loop"),
    "process-unmapped": ("pslist", UNREADABLE),
    "module-loop": ("modules", r"loops? back|loop"),
    "module-unmapped": ("modules", UNREADABLE),
    "kernel-headers-paged-out": ("info", UNREADABLE),
    "absurd-sizes": ("modules", UNREADABLE + r"|implausible|invalid|too (large|long|big)|absurd"),
}


class Run:
    def __init__(self, memsift, image, plugin, extra):
        self.plugin = plugin
        self.cmd = [memsift, "-f", image, "-r", "json"] + extra + [plugin]
        self.hung = False
        try:
            out = subprocess.run(self.cmd, capture_output=True, text=True, errors="replace", timeout=TIMEOUT)
            self.rc, self.stdout, self.stderr = out.returncode, out.stdout, out.stderr
        except subprocess.TimeoutExpired as e:
            self.hung = True
            self.rc, self.stdout = None, ""
            self.stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        self.rows = None
        if self.rc == 0:
            try:
                self.rows = json.loads(self.stdout)
            except ValueError:
                self.rows = None

    def error_lines(self):
        """stderr lines that are not warnings, debug or info messages."""
        return [line for line in self.stderr.splitlines()
                if not re.match(r"memsift: (warning|debug|info): ", line) and line.strip()]


def check_sane(run, errors):
    """No crash, no hang; output parses.  False when nothing more can be checked."""
    where = f"{run.plugin}:"
    if run.hung:
        errors.append(f"{where} hung (no exit within {TIMEOUT} s): {' '.join(run.cmd)}")
        return False
    if run.rc < 0 or run.rc >= 128:
        errors.append(f"{where} crashed (exit {run.rc}): {run.stderr.strip()[-400:]}")
        return False
    m = SANITIZER.search(run.stderr)
    if m:
        start = max(0, m.start() - 200)
        errors.append(f"{where} sanitizer report (exit {run.rc}): {run.stderr[start:start + 600].strip()}")
        return False
    if run.rc == 0 and run.rows is None:
        errors.append(f"{where} exit 0 but stdout is not JSON: {run.stdout[:200]!r}")
        return False
    return True


def check_clear_failure(run, errors, topic):
    """Non-zero exit: one error line naming `topic`, no rows on stdout."""
    lines = run.error_lines()
    if len(lines) != 1:
        errors.append(f"{run.plugin}: exit {run.rc} with {len(lines)} error lines (expected one): {lines[:4]}")
        return
    if not re.search(topic, lines[0], re.I):
        errors.append(f"{run.plugin}: failure message does not name the {topic}: {lines[0]!r}")
    if run.stdout.strip() not in ("", "[]"):
        errors.append(f"{run.plugin}: failed but printed rows: {run.stdout[:200]!r}")


def damage_kinds(truth):
    return {d["kind"]: d for d in truth.get("damage", [])}


def check_info(rows, truth, errors):
    facts = {r["Variable"]: r["Value"] for r in rows}
    kinds = damage_kinds(truth)
    headers_gone = "kernel-headers-paged-out" in kinds

    def expect(name, want, get=kt.first_word):
        have = facts.get(name)
        if have is None or get(str(have)) != want:
            errors.append(f"info {name}: expected {want!r}, found {have!r}")

    expect("Kernel base", hex(truth["kernel_base"]))
    expect("Kernel DTB", hex(truth["dtb"]))
    expect("Kernel build", str(truth["build"]))
    if not headers_gone:
        pdb = truth["kernel_pdb"]
        expect("Kernel PDB", f"{pdb['name']} {pdb['guid']} age {pdb['age']}", get=lambda v: v)
    elif str(facts.get("Kernel PDB", "")).startswith(truth["kernel_pdb"]["name"]):
        pdb = truth["kernel_pdb"]
        expect("Kernel PDB", f"{pdb['name']} {pdb['guid']} age {pdb['age']}", get=lambda v: v)
    if truth.get("kdbg") and not (headers_gone and truth["kdbg_encoded"]):
        expect("KDBG", hex(truth["kdbg"]))
    expect("Process list head", hex(truth["ps_active_process_head"]))
    expect("Module list head", hex(truth["ps_loaded_module_list"]))
    expect("Kernel system time", kt.text_time(truth["system_time"]), get=lambda v: v)
    expect("Kernel processors", str(truth["processors"]))


def reachable_truth(truth):
    """The truth as a Flink walk from the heads sees it."""
    return dict(truth,
                processes=[p for p in truth["processes"] if p.get("reachable", True)],
                modules=[m for m in truth["modules"] if m.get("reachable", True)])


def check_rows(run, truth, errors):
    want = reachable_truth(truth)
    if run.plugin == "info":
        check_info(run.rows, truth, errors)
    elif run.plugin == "pslist":
        check_unique(run.rows, "Offset(V)", "pslist", errors)
        kt.check_pslist(run.rows, want, errors)
    else:
        rows = [dict(r, Path=r.get("Path") or None) for r in run.rows]
        check_unique(rows, "Offset", "modules", errors)
        kt.check_modules(rows, want, errors)


def check_unique(rows, key, what, errors):
    seen = set()
    for r in rows:
        if r.get(key) in seen:
            errors.append(f"{what}: {key} {r.get(key)} listed twice")
        seen.add(r.get(key))


def kernel_must_be_found(truth, extra):
    d = damage_kinds(truth).get("kernel-headers-paged-out")
    return d is None or ("crash-header" in d["kernel_found_by"] and "--no-header-hints" not in extra)


def walk_reaches(truth, d):
    """Whether a walk gets to the damaged link (it ends earlier at a page a
    bitmap dump left out)."""
    want = reachable_truth(truth)
    if "eprocess" in d:
        return any(p["offset"] == d["eprocess"] for p in kt.expected_processes(want))
    if "entry" in d:
        return any(m["name"] == d["module"] for m in want["modules"])
    return True


def check_run(run, truth, extra, errors):
    if not check_sane(run, errors):
        return
    if not kernel_must_be_found(truth, extra):
        # Headers paged out and no header hints: finding the kernel anyway is
        # allowed (then it must be right); failing must be clean.
        if run.rc != 0:
            check_clear_failure(run, errors, "kernel")
            return
        if run.plugin == "info":
            kernel = {r["Variable"]: r["Value"] for r in run.rows}.get("Kernel", "")
            if str(kernel).startswith("not found"):
                return
        check_rows(run, truth, errors)
        return
    if run.rc != 0:
        errors.append(f"{run.plugin}: exit {run.rc}, expected 0 with partial results: {run.stderr.strip()[:300]}")
        return
    check_rows(run, truth, errors)
    for kind, d in damage_kinds(truth).items():
        plugin, pattern = WARNINGS[kind]
        if plugin != run.plugin or not walk_reaches(truth, d):
            continue
        lines = [line for line in run.stderr.splitlines() if re.search(pattern, line, re.I)]
        if kind == "absurd-sizes":
            # not a list-walk warning of another damage: it names the string or size
            about = [d["size_of_image"]["module"], d["unreadable_path"]["module"], hex(d["unreadable_path"]["buffer"]),
                     "string", "path", "name", "size"]
            lines = [line for line in lines if any(a.lower() in line.lower() for a in about)]
        if not lines:
            errors.append(f"{run.plugin}: no warning naming the {kind} damage on stderr "
                          f"(expected /{pattern}/): {run.stderr.strip()[:300]!r}")


def main():
    if len(sys.argv) < 3:
        raise SystemExit("usage: check_damaged.py MEMSIFT IMAGE [TRUTH] [-- memsift options]")
    memsift, image = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    extra = rest[rest.index("--") + 1:] if "--" in rest else []
    truth_path = rest[0] if rest and rest[0] != "--" else image + ".truth.json"
    with open(truth_path) as f:
        truth = json.load(f)
    if not truth.get("damage"):
        raise SystemExit(f"{truth_path} records no damage (written without --damage?)")
    errors = []
    for plugin in ("info", "pslist", "modules"):
        check_run(Run(memsift, image, plugin, extra), truth, extra, errors)
    for e in errors:
        print(f"  {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
