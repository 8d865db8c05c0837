"""The A/B report as Markdown: verdict first, one table per mode."""


def report(base_name, kernels, commits, modes, tables, known, timings, bad):
    """TABLES: {mode: rows} (classify.classify); KNOWN: {mode: [(side,
    warning)]}; TIMINGS: [(stage, seconds)]; BAD: what fails the report."""
    verdict = (f"Verdict: FAIL ({len(bad)} problem(s), listed at the end)" if bad
               else "Verdict: PASS (no regression, no broken run, series tests pass)")
    out = [f"# A/B report: KVM selftests on base {base_name}, {kernels}\n", verdict + "\n",
           f"Base {base_name}: base commit {commits[0]}, series commit {commits[1]}.\n"]
    for mode in modes:
        out.append(f"\n## {mode.name} ({mode.title})\n")
        out.append("| test | base | patched | class | note |")
        out.append("|---|---|---|---|---|")
        summary = {}
        for t, bs, ps, cls, note in tables[mode.name]:
            note = note.replace("|", "/")[:160]
            out.append(f"| {t} | {bs} | {ps} | {cls} | {note} |")
            summary[cls] = summary.get(cls, 0) + 1
        out.append("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(summary.items())))
        for side, k in known.get(mode.name, []):
            out.append(f"\nknown environment warning ({side}, config/known-splats): `{k}`")
    if timings:
        out.append("\n## Stage timings (seconds, this build directory)\n")
        out.append("| stage | s |\n|---|---|")
        out += [f"| {what} | {secs} |" for what, secs in timings]
    out.append("\n## Verdict\n")
    out += [f"- FAIL: {b}" for b in bad] or ["- no regression, no broken run, series tests pass"]
    return "\n".join(out) + "\n"
