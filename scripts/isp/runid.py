"""Names of run directories (build/BASE/runs/NAME), spelled in one place.

A run is one boot of one kernel in one mode of config/modes:
[PURPOSE-]LABEL-MODE, where LABEL names the kernel (base, patched,
base-kcsan, mutant-NAME, ...) and PURPOSE, if any, a tool's own series of
runs (stress, bench-ID-...). A re-run of the tests that failed only on
patched adds -rerunK; a boot that resumes a list after a frozen test adds
-resumeK to the name of the run it resumes.

    python3 -m isp.runid [--purpose P] [--rerun K] LABEL MODE
    python3 -m isp.runid --resume K NAME
"""
import argparse
import sys


def name(label, mode, purpose=None, rerun=None):
    n = f"{label}-{mode}"
    if purpose:
        n = f"{purpose}-{n}"
    if rerun is not None:
        n += f"-rerun{int(rerun)}"
    return n


def resumed(run, k):
    """The run that resumes @run's list after its k-th frozen test."""
    return f"{run}-resume{int(k)}"


def reruns_glob(label, mode):
    return name(label, mode) + "-rerun*"


def main(argv):
    ap = argparse.ArgumentParser(prog="python3 -m isp.runid",
                                 description="print the name of a run directory")
    ap.add_argument("--purpose")
    ap.add_argument("--rerun", type=int)
    ap.add_argument("--resume", type=int)
    ap.add_argument("words", nargs="+", metavar="LABEL MODE | NAME")
    a = ap.parse_args(argv)
    if a.resume is not None:
        if len(a.words) != 1 or a.purpose or a.rerun is not None:
            ap.error("--resume K takes the name of the resumed run only")
        print(resumed(a.words[0], a.resume))
    else:
        if len(a.words) != 2:
            ap.error("LABEL and MODE needed")
        print(name(*a.words, purpose=a.purpose, rerun=a.rerun))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
