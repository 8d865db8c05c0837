"""Parse one run directory: the TAP the guest wrote (statuses through the
kernel's own KTAP parser, tools/testing/kunit/kunit.py parse --json=FILE;
plan, first failure line and duration from the raw lines) and the kernel's
console log (splats, and known environment warnings)."""
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from .results import Kind, Problem, Result, Test

# KASAN and KCSAN reports start with "BUG: KASAN:" / "BUG: KCSAN:", lockdep's
# with "WARNING:" or "INFO: possible"; the bare words also appear in harmless
# boot messages ("kcsan: non-strict mode configured ...").
SPLAT = re.compile(
    r"Kernel panic|BUG:|WARNING:|Oops|general protection fault|"
    r"INFO: (possible|task .* blocked|rcu_)|UBSAN:|"
    r"DEBUG_LOCKS_WARN|Call Trace:|RIP: ")
# Environment warnings seen identically on base and patched kernels are
# listed in config/known-splats (one regex a line); they are reported but do
# not fail a run. Nothing is listed unless measured on the base kernel too.


def known_splats(root):
    path = os.path.join(root, "config", "known-splats")
    pats = []
    if os.path.exists(path):
        for line in Path(path).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                pats.append(re.compile(line))
    return pats


def kunit_parse(tree, tap):
    """Statuses by test name, from kunit.py parse --json=FILE."""
    with tempfile.NamedTemporaryFile(suffix=".json") as js:
        out = subprocess.run(
            [sys.executable, os.path.join(tree, "tools/testing/kunit/kunit.py"),
             "parse", f"--json={js.name}", tap],
            capture_output=True, text=True)
        try:
            data = json.loads(Path(js.name).read_text())
        except (OSError, ValueError):
            return {}, out.stdout + out.stderr
    statuses = {}
    for case in data.get("test_cases", []):
        # kunit.py stands in a nameless crashed case for the results a
        # short TAP lacks: the plan check below counts those.
        if not case["name"]:
            continue
        name = case["name"].removeprefix("selftests: kvm: ")
        statuses[name] = case["status"]
    return statuses, out.stdout


def tap_details(tap):
    """Plan, per-test first failure line and duration, from the raw TAP."""
    plan = None
    cur = None
    details = {}
    for line in Path(tap).read_text(errors="replace").splitlines():
        line = line.rstrip("\n")
        m = re.match(r"^1\.\.(\d+)$", line)
        if m:
            plan = int(m.group(1))
            continue
        m = re.match(r"^# selftests: kvm: (.+)$", line)
        if m:
            cur = m.group(1)
            details[cur] = {"first_failure": "", "seconds": None, "log": []}
            continue
        if cur is None:
            continue
        d = details[cur]
        if line.startswith("# running ") or line.startswith("# isp: "):
            continue        # the guest harness's heartbeat and notes, not output
        if line.startswith("# "):
            body = line[2:]
            d["log"].append(body)
            m = re.match(r"^.+: exit (\d+) after (\d+)s$", body)
            if m:
                d["seconds"] = int(m.group(2))
            continue
        # The result line's directive, e.g. "# TIMEOUT 60 seconds": what
        # ended a test that printed nothing.
        m = re.match(r"^(?:not )?ok \d+ .* # (TIMEOUT .*)$", line)
        if m:
            d["directive"] = m.group(1)
    for d in details.values():
        interesting = [l for l in d["log"]
                       if l.strip() and not re.match(r"^.+: exit \d+ after \d+s$", l)]
        fail = ""
        for i, l in enumerate(interesting):
            if "Test Assertion Failure" in l and i + 1 < len(interesting):
                # Keep the assertion message, not the stack dump lines.
                tail = [x for x in interesting[i + 1:] if not re.match(
                    r"^\s*(0x[0-9a-f]+|\S+\.c:\d+|\(inlined by\)|\?\?|"
                    r"pid=\d+ |sh: addr2line)", x)]
                fail = " | ".join(x.strip() for x in tail[:3])
                break
        if not fail and interesting:
            fail = interesting[-1].strip()
        if not fail:
            fail = d.get("directive", "")
        d["first_failure"] = fail[:300]
        del d["log"]
        d.pop("directive", None)
    return plan, details


CONSOLE_MISSING = "console log missing"


def scan_console(console, known):
    """Group splat lines (a WARNING, its Call Trace, RIP: ... until 12 quiet
    lines, or the end-trace marker) and judge each group by its first line: a group that starts with
    a known environment warning is reported as known, with all its lines."""
    if not os.path.exists(console):
        return [CONSOLE_MISSING], []
    lines = Path(console).read_text(errors="replace").splitlines()
    groups, last = [], -100
    for i, line in enumerate(lines):
        if SPLAT.search(line):
            if i - last > 12:
                groups.append(i)
            last = i
        elif "---[ end trace" in line:
            last = -100     # a new splat right after this one is its own
    splats, known_hits = [], []
    for i in groups:
        if any(p.search(lines[i]) for p in known):
            known_hits.append(lines[i].strip())
        else:
            splats.append("\n".join(lines[i:i + 15]))
    return splats, sorted(set(known_hits))


def parse_run(run, tree, root):
    """The Result of run directory RUN, with kunit.py from kernel tree TREE
    and config/known-splats from ROOT."""
    tap = os.path.join(run, "tap.log")
    problems = []
    if not os.path.exists(tap) or os.path.getsize(tap) == 0:
        problems.append(Problem(Kind.NO_TAP, "no TAP output from the guest (did it boot?)"))
        statuses, plan, details = {}, None, {}
    else:
        statuses, _ = kunit_parse(tree, tap)
        plan, details = tap_details(tap)
    if plan is None:
        problems.append(Problem(Kind.NO_PLAN, "no TAP plan line (1..N)"))
    elif len(statuses) < plan:
        problems.append(Problem(
            Kind.SHORT_TAP, f"short TAP: plan 1..{plan}, {len(statuses)} results"
            + (f"; last started: {list(details)[-1]}" if details else "")))
    stall = os.path.join(run, "stall")
    if os.path.exists(stall):
        problems.append(Problem(Kind.STALL, Path(stall).read_text().strip()))
    splats, known = scan_console(os.path.join(run, "console.log"), known_splats(root))
    if splats == [CONSOLE_MISSING]:
        problems.append(Problem(Kind.NO_CONSOLE, CONSOLE_MISSING))
        splats = []
    elif splats:
        problems.append(Problem(Kind.SPLATS, f"{len(splats)} kernel splat(s) in console.log"))
    tests = {}
    for name, status in statuses.items():
        d = details.get(name, {})
        tests[name] = Test(status, d.get("first_failure", ""), d.get("seconds"))
    return Result(run=os.path.basename(run), plan=plan, tests=tests, splats=splats,
                  known_splats=known, problems=problems)
