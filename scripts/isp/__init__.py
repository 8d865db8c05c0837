"""The results half of the project's tooling, in the spirit of the kernel's
kunit.py: one job per module.

  modes     the test modes (config/modes)
  results   a run's result: tests, problems by kind; load, save, merge
  tap       parse a run: KTAP through kunit.py's parser, the kernel log
  classify  base against patched, per test, with the re-runs
  render    the A/B report

scripts/parse and scripts/report are the entry points; tests/tools_test.py
tests this package on fixture runs, without a kernel.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    """build/BASE, or the BUILD the calling command was given; BASE must be a
    base of the project (one with a tests/BASE directory)."""
    base = os.environ.get("BASE", "6.12")
    if not os.path.isdir(os.path.join(ROOT, "tests", base)):
        known = sorted(d for d in os.listdir(os.path.join(ROOT, "tests"))
                       if os.path.isdir(os.path.join(ROOT, "tests", d)))
        raise SystemExit(f"error: unknown base '{base}' (known bases: {' '.join(known)})")
    return base, os.environ.get("BUILD") or os.path.join(ROOT, "build", base)


def cli(main):
    """Run an entry point, main(argv) returning its exit status: unreadable,
    unwritable or malformed files end it with a one-line error, status 1."""
    try:
        sys.exit(main(sys.argv[1:]))
    except OSError as e:
        sys.exit(f"error: {e.filename or ''}: {e.strerror}")
    except ValueError as e:
        sys.exit(f"error: {e}")
