"""A run's result (RUNDIR/result.json): the tests with status, first failure
line and duration, the kernel-log splats, and the problems of the run as a
whole, each of a kind.

    python3 -m isp.results failures RUNDIR
    python3 -m isp.results merge RUNS_DIR PLAN RUN... -- FROZEN_TEST...
"""
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from isp import cli

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


class Kind:
    """What can break a run as a whole."""
    NO_TAP = "no-tap"           # the guest wrote no TAP (did it boot?)
    NO_PLAN = "no-plan"         # no "1..N" line
    SHORT_TAP = "short-tap"     # fewer results than planned
    STALL = "stall"             # the runner's watchdog ended the guest
    SPLATS = "splats"           # kernel splats in the console log
    NO_CONSOLE = "no-console"   # no console log at all
    OTHER = "other"
    # A boot resumed after a frozen test: its freeze is that test's failure.
    RESUMED_AWAY = (SHORT_TAP, STALL)


@dataclass
class Problem:
    kind: str
    text: str

    def __str__(self):
        return self.text


@dataclass
class Test:
    status: str
    first_failure: str = ""
    seconds: int = None

    @property
    def passed(self):
        return self.status == PASS

    @property
    def failed(self):
        return self.status not in (PASS, SKIP)


@dataclass
class Result:
    run: str
    plan: int = None
    tests: dict = field(default_factory=dict)        # name with arguments -> Test
    splats: list = field(default_factory=list)
    known_splats: list = field(default_factory=list)
    problems: list = field(default_factory=list)     # [Problem]

    def failures(self):
        return {n: t for n, t in self.tests.items() if t.failed}

    def save(self, run_dir):
        path = os.path.join(run_dir, "result.json")
        with open(path + ".tmp", "w") as f:
            json.dump(asdict(self), f, indent=1)
        os.replace(path + ".tmp", path)


class BadResult(ValueError):
    """A result.json that cannot be read: the message names the file."""


def load(run_dir):
    """The result of a run directory, or None if it has none; BadResult if
    it has one that is unreadable, truncated or not of this format."""
    path = os.path.join(run_dir, "result.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            d = json.load(f)
        return Result(
            run=d.get("run", os.path.basename(run_dir)), plan=d.get("plan"),
            tests={n: Test(t["status"], t.get("first_failure", ""), t.get("seconds"))
                   for n, t in d.get("tests", {}).items()},
            splats=d.get("splats", []), known_splats=d.get("known_splats", []),
            problems=[Problem(p["kind"], p["text"]) if isinstance(p, dict)
                      else Problem(Kind.OTHER, p) for p in d.get("problems", [])])
    except OSError as e:
        raise BadResult(f"cannot read {path}: {e.strerror}") from e
    except ValueError as e:
        raise BadResult(f"{path} is not valid JSON ({e}); run scripts/parse on its run again") from e
    except (KeyError, TypeError, AttributeError) as e:
        raise BadResult(f"{path} is not a result of scripts/parse (missing or wrong {e}); "
                        "run scripts/parse on its run again") from e


def merge(runs_dir, plan, names, frozen):
    """Fold the boots of one test list into the first boot's result: boot i
    froze in test frozen[i], and boot i + 1 ran the tests after it."""
    merged = Result(run=names[0], plan=plan)
    for i, name in enumerate(names):
        r = load(os.path.join(runs_dir, name))
        if r is None:
            raise BadResult(f"no result.json in {os.path.join(runs_dir, name)}")
        merged.tests.update(r.tests)
        merged.splats += r.splats
        merged.known_splats += r.known_splats
        resumed = i < len(frozen)
        for p in r.problems:
            if resumed and p.kind in Kind.RESUMED_AWAY:
                continue
            merged.problems.append(p if i == 0 else Problem(p.kind, f"{name}: {p.text}"))
        if resumed:
            why = Path(runs_dir, name, "stall").read_text().strip()
            if i + 1 < len(names):
                why += f" (the tests after it ran in {names[i + 1]})"
            merged.tests[frozen[i]] = Test(FAIL, why, 0)
    return merged


def main(argv):
    if argv[:1] == ["failures"] and len(argv) == 2:
        r = load(argv[1])
        if r is None:
            sys.exit(f"error: no result.json in {argv[1]}")
        print("; ".join(f"{n}: {t.first_failure}" for n, t in r.failures().items()))
    elif argv[:1] == ["merge"] and "--" in argv and len(argv) >= 4:
        sep = argv.index("--")
        runs_dir, plan, names, frozen = argv[1], int(argv[2]), argv[3:sep], argv[sep + 1:]
        merge(runs_dir, plan, names, frozen).save(os.path.join(runs_dir, names[0]))
    else:
        sys.exit(__doc__.strip())


if __name__ == "__main__":
    cli(main)
