"""The cover letter of an exported series: git format-patch writes
placeholders, which are filled from series/BASE/cover-letter (first line:
subject; then a blank line; then the body), with the change id after
base-commit, as b4 writes it.

    python3 -m isp.series cover COVER_LETTER_PATCH COVER_TEXT CHANGE_ID
"""
import sys
from pathlib import Path

from isp import cli


def fill_cover(patch, cover, change_id):
    """The cover letter patch @patch with @cover's subject and body and the
    change id in place."""
    subject, _, body = cover.partition("\n")
    text = patch.replace("*** SUBJECT HERE ***", subject.strip(), 1)
    text = text.replace("*** BLURB HERE ***", body.strip("\n"), 1)
    out = []
    for line in text.split("\n"):
        out.append(line)
        if line.startswith("base-commit: "):
            out.append("change-id: " + change_id)
    return "\n".join(out)


def main(argv):
    if len(argv) != 4 or argv[0] != "cover":
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    patch, cover, change_id = Path(argv[1]), Path(argv[2]), argv[3]
    patch.write_text(fill_cover(patch.read_text(), cover.read_text(), change_id))
    return 0


if __name__ == "__main__":
    cli(main)
