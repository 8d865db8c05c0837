"""Base against patched, per test of one mode: pure functions of Results.

    python3 -m isp.classify suspects BASE_RUNDIR PATCHED_RUNDIR
"""
import sys

from . import results
from .results import PASS, SKIP, Test

MISSING = Test("MISSING")

# Classes; the upper-case ones fail the report.
BOTH_PASS = "pass"
SKIPPED = "skip"
SERIES_SKIP = "SKIP OF SERIES TEST"
FLAKY = "flaky"
REGRESSION = "REGRESSION"
FIXED = "fail->pass"
BOTH_FAIL = "fail on both (environment)"


def not_run(side):
    return f"not run on {side}"


def rerun_counts(reruns, test):
    """(passed, total) of TEST over the re-run Results."""
    runs = [r.tests[test] for r in reruns if r and test in r.tests]
    return sum(t.passed for t in runs), len(runs)


def classify(mode, base, patched, ours, base_reruns=(), patched_reruns=()):
    """Rows (test, base status, patched status, class, note) and the
    problems that fail the report. OURS: the tests the series adds."""
    rows, bad = [], []
    for side, r in (("base", base), ("patched", patched)):
        if r is None:
            bad.append(f"{mode}: no {side} run")
        else:
            bad += [f"{mode}/{side}: {p.text}" for p in r.problems]
    if base is None or patched is None:
        return rows, bad
    for t in dict.fromkeys(list(base.tests) + list(patched.tests)):
        b, p = base.tests.get(t, MISSING), patched.tests.get(t, MISSING)
        bs, ps = b.status, p.status
        series_test = t.split()[0] in ours
        note = ""
        if MISSING.status in (bs, ps):
            # Its boot ended early (the run's problem, listed above).
            cls = not_run("base" if bs == MISSING.status else "patched")
            note = "the run ended before this test"
        elif bs == ps == PASS:
            cls = BOTH_PASS
        elif SKIP in (bs, ps):
            cls = SKIPPED
            note = (p if ps == SKIP else b).first_failure
            if series_test:
                cls = SERIES_SKIP
                bad.append(f"{mode}: {t} skipped: {note}")
        elif bs == PASS:
            bp, bn = rerun_counts(base_reruns, t)
            pp, pn = rerun_counts(patched_reruns, t)
            # A regression fails every re-run on patched and passes every
            # one on base; anything else is a flake.
            if pn and (pp > 0 or bp < bn):
                cls = FLAKY
            else:
                cls = REGRESSION
                bad.append(f"{mode}: {t} passes on base, fails on patched: {p.first_failure}")
            note = f"re-runs: base {bp}/{bn} pass, patched {pp}/{pn} pass; {p.first_failure}"
        elif ps == PASS:
            cls = FIXED
            note = b.first_failure
        else:
            cls = BOTH_FAIL
            note = p.first_failure or b.first_failure
        if series_test and ps != PASS and cls != SERIES_SKIP:
            bad.append(f"{mode}: series test {t} does not pass on patched ({ps})")
        rows.append((t, bs, ps, cls, note))
    # The series' own tests must have run: a run without them proves nothing.
    for t in sorted(ours):
        if not any(n.split()[0] == t for n in patched.tests):
            bad.append(f"{mode}: series test {t} did not run on patched")
    return rows, bad


def suspects(base, patched):
    """The tests that pass on base and not on patched: the ones to re-run."""
    if base is None:
        return []
    theirs = patched.tests if patched else {}
    return [t for t, r in base.tests.items() if r.passed and not (t in theirs and theirs[t].passed)]


if __name__ == "__main__":
    if sys.argv[1:2] != ["suspects"] or len(sys.argv) != 4:
        sys.exit(__doc__.strip())
    try:
        print("\n".join(suspects(results.load(sys.argv[2]), results.load(sys.argv[3]))))
    except results.BadResult as e:
        sys.exit(f"error: {e}")
