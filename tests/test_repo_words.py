"""The repository describes the product and cites papers by name: no internal labels.

Every tracked text file (``git ls-files``; binaries skipped) is searched for the labels that
must not appear: a path into a directory beside the checkout (relative, ``../<sibling>``, or
absolute), the old theory notes instead of ``docs/theory.md §N``, three-digit source labels
instead of the papers' short names (docs/theory.md §10), and issue-tracker references.  An RNG
seed such as ``seed 0`` or ``seed=0`` is fine.  The labels are spelled below only as patterns,
so this file does not carry them either.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _outside() -> re.Pattern[str]:
    """`../<d>` or `<parent>/<d>` for every directory `d` beside the checkout (not itself)."""
    own = {p.name for p in ROOT.iterdir()}          # `../docs` from inside the repo is fine
    names = sorted(p.name for p in ROOT.parent.iterdir()
                   if p.is_dir() and p != ROOT and p.name.isidentifier() and p.name not in own)
    if not names:
        return re.compile(r"(?!)")
    alt = "|".join(map(re.escape, names))
    return re.compile(rf"(?:\.\./|{re.escape(str(ROOT.parent))}/)(?:{alt})\b")


PATTERNS = {
    "outside path": _outside(),
    "old theory notes": re.compile(r"\bTHEORY\.md\b"),
    "old theory section": re.compile(r"\bTHEORY ?§"),
    "seed label": re.compile(r"\bseed(?:[ _-]?|\n[ \t#*>-]*)00[0-3](?![0-9])", re.IGNORECASE),
    "issue §": re.compile(r"\bissue [0-9]+ (?:§|point\b)", re.IGNORECASE),
}
BINARY_SUFFIXES = {".png", ".pdf", ".jpg", ".jpeg", ".gif", ".parquet", ".pt", ".npz", ".gz",
                   ".tgz", ".zip", ".pkl"}


def tracked_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no list of tracked files")
    return [ROOT / p for p in out.decode("utf-8").split("\0") if p]


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary (by suffix, NUL byte or invalid UTF-8)."""
    if path.suffix.lower() in BINARY_SUFFIXES or not path.is_file():
        return None
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def hits(text: str) -> list[tuple[str, int, str]]:
    """(pattern name, line number, matched text) for every forbidden label in `text`."""
    found = []
    for name, pat in PATTERNS.items():
        for m in pat.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append((name, line, m.group(0).replace("\n", "⏎")))
    return found


def test_no_internal_labels_in_tracked_files() -> None:
    me = Path(__file__).resolve()
    bad = []
    for path in tracked_files():
        if path.resolve() == me:
            continue
        text = read_text(path)
        if text is None:
            continue
        bad += [f"{path.relative_to(ROOT)}:{line}: {name}: {s!r}" for name, line, s in hits(text)]
    assert not bad, "internal labels in tracked files:\n" + "\n".join(bad)


def _labelled() -> list[str]:
    """Texts that must be caught, assembled here so the file itself holds none of them."""
    own = {p.name for p in ROOT.iterdir()}
    sib = next((p.name for p in ROOT.parent.iterdir() if p.is_dir() and p != ROOT
                and p.name.isidentifier() and p.name not in own), None)
    T, s, i = "THE" + "ORY", "seed", "issue"
    out = [f"({T} §2)", f"{T}§4", f"compared with {T}.md", f"{s} 000 Eq. 5",
           f"{s.title()} 001's sweep", f"figures/{s}000_fig2.py", f"{s}-003",
           f"a {s}\n    002 figure", f"({i} 4 §2)", f"{i.title()} 2 point 5"]
    if sib is not None:
        out += [f"see ../{sib}/notes.md", f"as in {ROOT.parent}/{sib}/x.txt"]
    return out


@pytest.mark.parametrize("text", _labelled())
def test_labels_are_caught(text: str) -> None:
    assert hits(text), text


@pytest.mark.parametrize("text", [
    "docs/theory.md §2", "RNG seed 0 for the draw", "seed=0", "seed 0, 1, 2", "seed 0012",
    "seeds 10", "the shared prefix", "the theory §9 rule", "no such issue: it", "theory-adam",
    "Beyond Zero Init §3.3", "seed 42",
])
def test_legitimate_text_passes(text: str) -> None:
    assert not hits(text), text
