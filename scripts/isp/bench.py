"""The benchmark's tables (build/BASE/bench.md) from its result lines.

Each line of the results file is one "bench:" line of indirect_sp_bench,
prefixed by the run's labels: kernel=base|patched[-lockstat] thread=single|
multi pair=N, then phase=, vcpus=, ops_per_sec= and one KEY=per-op value per
event count.

    python3 -m isp.bench report RESULTS OUT.md TITLE...
"""
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from isp import cli

PHASES = ("retry", "fep-noisp", "fep-isp")
# Labels and throughput, not event counts.
NOT_EVENTS = {"kernel", "thread", "pair", "phase", "vcpus", "tables", "ops",
              "seconds", "ops_per_sec"}


class BenchError(Exception):
    pass


def parse(text):
    """The result lines as dicts; a malformed line is a BenchError."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            kv = dict(f.split("=", 1) for f in line.split())
            kv["vcpus"] = int(kv["vcpus"])
            kv["ops_per_sec"] = float(kv["ops_per_sec"])
            kv["pair"] = int(kv["pair"])
            kv["kernel"], kv["thread"], kv["phase"]
            kv.setdefault("tables", "private")
        except (KeyError, ValueError) as e:
            raise BenchError(f"line {n}: not a benchmark result ({e}): {line!r}")
        rows.append(kv)
    return rows


def row_key(r):
    return (r["phase"], r["vcpus"], r["tables"])


def order(key):
    return (PHASES.index(key[0]), key[2], key[1])


def spread(values, fmt):
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def throughput_table(rows, thread):
    """Per phase and vCPU count: ops/s of each kernel and the patched/base
    ratio within each pair (the two boots of a pair ran back to back)."""
    by = defaultdict(dict)
    for r in rows:
        if r["thread"] == thread and r["kernel"] in ("base", "patched"):
            by[row_key(r)][(r["kernel"], r["pair"])] = r
    out = ["| phase | vCPUs | tables | pairs | base ops/s, median (min-max) | patched ops/s | "
           "patched/base, median (min-max) |",
           "|---|---|---|---|---|---|---|"]
    for key in sorted(by, key=order):
        runs = by[key]
        pairs = sorted(p for (k, p) in runs if k == "base" and ("patched", p) in runs)
        if not pairs:
            continue
        b = [runs[("base", p)]["ops_per_sec"] for p in pairs]
        pt = [runs[("patched", p)]["ops_per_sec"] for p in pairs]
        ratios = [x / y for x, y in zip(pt, b)]
        out.append(f"| {key[0]} | {key[1]} | {key[2]} | {len(pairs)} | {spread(b, '{:.0f}'.format)} | "
                   f"{spread(pt, '{:.0f}'.format)} | {spread(ratios, '{:.3f}'.format)} |")
    return out


def events_table(rows, thread, lockstat=False):
    """Per phase, vCPU count and event: the median per-op count of each
    kernel over its runs."""
    suffix = "-lockstat" if lockstat else ""
    vals = defaultdict(lambda: defaultdict(list))
    names = []
    for r in rows:
        if r["thread"] != thread or r["kernel"] not in ("base" + suffix, "patched" + suffix):
            continue
        for k, v in r.items():
            if k in NOT_EVENTS:
                continue
            if k not in names:
                names.append(k)
            vals[row_key(r) + (k,)][r["kernel"].removesuffix(suffix)].append(float(v))
    # Counters that stay at zero everywhere say nothing: left out.
    names = [n for n in names if any(float(v) for k, kv in vals.items() if k[3] == n
                                     for vs in kv.values() for v in vs)]
    out = ["| phase | vCPUs | tables | per op: " + " | ".join(names) + " |",
           "|---|---|---|" + "---|" * len(names)]
    for key in sorted({k[:3] for k in vals}, key=order):
        cells = []
        for name in names:
            kv = vals.get(key + (name,), {})
            if "base" in kv and "patched" in kv:
                cells.append(f"{statistics.median(kv['base']):.3f} -> "
                             f"{statistics.median(kv['patched']):.3f}")
            else:
                cells.append("n/a")
        out.append(f"| {key[0]} | {key[1]} | {key[2]} | " + " | ".join(cells) + " |")
    return out


def report(rows, title_lines):
    threads = [t for t in ("single", "multi") if any(r["thread"] == t for r in rows)]
    out = list(title_lines) + [""]
    for t in threads:
        out += [f"## QEMU TCG thread={t}", "", "Throughput:", ""]
        out += throughput_table(rows, t)
        out += ["", "KVM's event counts per operation, base -> patched (median over the "
                "runs above):", ""]
        out += events_table(rows, t)
        if any(r["thread"] == t and r["kernel"].endswith("-lockstat") for r in rows):
            out += ["", "LOCK_STAT kernels (one boot each), per operation, base -> patched:", ""]
            out += events_table(rows, t, lockstat=True)
        out.append("")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) < 3 or argv[0] != "report":
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    try:
        rows = parse(Path(argv[1]).read_text())
    except (OSError, BenchError) as e:
        print(f"isp.bench: {e}", file=sys.stderr)
        return 1
    if not rows:
        print(f"isp.bench: no results in {argv[1]}", file=sys.stderr)
        return 1
    text = report(rows, argv[3:])
    tmp = Path(argv[2] + ".tmp")
    tmp.write_text(text)
    tmp.replace(argv[2])
    print(text, end="")
    return 0


if __name__ == "__main__":
    cli(main)
