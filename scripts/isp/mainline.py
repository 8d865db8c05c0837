"""Checks of the mainline series that need no upstream file, only the
patches, the manifest of the upstream files they were written against, and
the 6.12 backport:

- the cover letter names the pinned upstream commit as base-commit;
- every file a patch changes is in the manifest ("apply"), and the patch's
  pre-image blob id is the manifest's (or, for a later patch, the previous
  patch's post-image): the series was made from exactly those files;
- the selftest the series adds, turned into its backport by the rules of
  series/BASE/test-backport (mainline text => backport text, one pair per
  library call that differs), is the backport's selftest byte for byte.

    python3 -m isp.mainline check MAINLINE_DIR MANIFEST COMMIT [BACKPORT_DIR RULES]
"""
import re
import sys
from pathlib import Path


class CheckError(Exception):
    """A check failed; the message says which and why."""


def patch_files(directory):
    """The patches of a series directory, in order, cover letter excluded."""
    files = sorted(p for p in Path(directory).glob("*.patch")
                   if not p.name.endswith("0000-cover-letter.patch"))
    if not files:
        raise CheckError(f"no patches in {directory}")
    return files


def cover_letter(directory):
    found = list(Path(directory).glob("*0000-cover-letter.patch"))
    if len(found) != 1:
        raise CheckError(f"{directory} has {len(found)} cover letters, not 1")
    return found[0].read_text()


def check_base(cover, commit):
    bases = re.findall(r"^base-commit: (\S+)$", cover, re.M)
    if bases != [commit]:
        raise CheckError(f"cover letter's base-commit is {bases or 'missing'}, not {commit}")


def file_diffs(patch):
    """(path, old blob prefix, new blob prefix, body lines) of each file
    diff of a patch; a new file has old None."""
    out = []
    for m in re.finditer(r"^diff --git a/(\S+) b/(\S+)\n(.*?)(?=^diff --git |^-- \n|\Z)",
                         patch, re.M | re.S):
        body = m.group(3)
        idx = re.search(r"^index ([0-9a-f]+)\.\.([0-9a-f]+)", body, re.M)
        if not idx:
            raise CheckError(f"diff of {m.group(2)} has no index line")
        old = None if re.search(r"^new file mode", body, re.M) else idx.group(1)
        out.append((m.group(2), old, idx.group(2), body.split("\n")))
    return out


def read_manifest(path):
    """path => (use, source, blob) of the manifest's rows; a path listed
    for "apply" and for another use keeps its "apply" row."""
    rows = {}
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4 or not re.fullmatch(r"[0-9a-f]{40}", fields[3]):
            raise CheckError(f"{path}: not path, use, source and a 40-digit blob id: {line!r}")
        if rows.get(fields[0], ("",))[0] != "apply":
            rows[fields[0]] = (fields[1], fields[2], fields[3])
    return rows


def check_manifest(patches, manifest):
    """Each changed file's first pre-image is the manifest's blob, later
    ones the previous post-image."""
    current = {}
    for p in patches:
        for path, old, new, _ in file_diffs(p.read_text()):
            if old is not None:
                want = current.get(path)
                if want is None:
                    if path not in manifest or manifest[path][0] != "apply":
                        raise CheckError(f"{p.name} changes {path}, which the manifest does not list for apply")
                    want = manifest[path][2]
                if not want.startswith(old):
                    raise CheckError(f"{p.name}: {path} pre-image {old} is not {want[:12]}, the version "
                                     "the manifest (or the previous patch) has")
            current[path] = new


def new_file(patches, pattern):
    """(path, text) of the one file matching @pattern the patches add."""
    found = []
    for p in patches:
        for path, old, _, body in file_diffs(p.read_text()):
            if old is None and re.fullmatch(pattern, path):
                lines = [l[1:] for l in body if l.startswith("+") and not l.startswith("+++")]
                found.append((path, "\n".join(lines) + "\n"))
    if len(found) != 1:
        raise CheckError(f"the series adds {len(found)} files matching {pattern}, not 1")
    return found[0]


def read_rules(path):
    """Pairs (mainline text, backport text) from a rules file: blocks of
    '=== mainline' TEXT '=== backport' TEXT '=== end'; '#' lines outside
    blocks are comments."""
    rules, mode, a, b = [], None, [], []
    for line in Path(path).read_text().split("\n"):
        if line == "=== mainline":
            mode, a, b = "a", [], []
        elif line == "=== backport" and mode == "a":
            mode = "b"
        elif line == "=== end" and mode == "b":
            rules.append(("\n".join(a), "\n".join(b)))
            mode = None
        elif mode == "a":
            a.append(line)
        elif mode == "b":
            b.append(line)
        elif line and not line.startswith("#"):
            raise CheckError(f"{path}: text outside a rule: {line!r}")
    if mode is not None:
        raise CheckError(f"{path}: last rule is not closed with '=== end'")
    return rules


def backport(text, rules):
    """@text with every rule applied; each mainline text must occur."""
    for a, b in rules:
        if a not in text:
            raise CheckError(f"rule's mainline text not in the mainline test: {a.splitlines()[0]!r}...")
        text = text.replace(a, b)
    return text


def check_backport(mainline_test, backport_test, rules):
    got = backport(mainline_test, rules)
    if got != backport_test:
        import difflib
        diff = "".join(list(difflib.unified_diff(got.splitlines(True), backport_test.splitlines(True),
                                                 "mainline test with the rules", "backport test"))[:40])
        raise CheckError("the backport's test differs from the mainline test beyond the rules:\n" + diff)


TEST_PATTERN = r"tools/testing/selftests/kvm/x86(_64)?/\w+_test\.c"


def main(argv):
    if len(argv) not in (4, 6) or argv[0] != "check":
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    try:
        mainline = patch_files(argv[1])
        check_base(cover_letter(argv[1]), argv[3])
        check_manifest(mainline, read_manifest(argv[2]))
        path, text = new_file(mainline, TEST_PATTERN)
        print(f"mainline: base-commit {argv[3][:12]}; {len(mainline)} patches made from the "
              f"manifest's files; adds {path}")
        if len(argv) == 6:
            bpath, btext = new_file(patch_files(argv[4]), TEST_PATTERN)
            rules = read_rules(argv[5])
            check_backport(text, btext, rules)
            print(f"backport: {bpath} is the mainline test with the {len(rules)} rules of {argv[5]}")
    except (CheckError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
