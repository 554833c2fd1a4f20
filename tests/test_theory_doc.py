"""docs/theory.md keeps the section numbers code cites, and every citation resolves.

Code and docs cite the theory as ``docs/theory.md §N`` or ``docs/theory.md §N.k``; a citation
of a section that does not exist (renumbered, or a typo) fails here.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"
SECTIONS = ["The γ-operator", "One LoRA layer under Adam", "SGD", "LoRAM's magnitude dynamics",
            "Initialisation schemes", "The papers' experiments", "MLPs and μP",
            "gammakit's models", "From measurements to verdicts", "References"]
CITE = re.compile(r"docs/theory\.md\s+§(\d+(?:\.\d+)?)")
SOURCES = ("gamma_calc", "toy_models", "width_sweeps", "figures", "tests", "docs", "benchmarks")


def headings() -> set[str]:
    """Section numbers present as ``## N.`` and ``### N.k`` headings."""
    found = set()
    for line in THEORY.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(##|###) (\d+(?:\.\d+)?)\.? ", line)
        if m:
            found.add(m.group(2))
    return found


def test_top_level_sections_in_order() -> None:
    tops = [line for line in THEORY.read_text(encoding="utf-8").splitlines()
            if re.match(r"^## \d+\. ", line)]
    assert [int(t.split()[1].rstrip(".")) for t in tops] == list(range(1, 11))
    for line, title in zip(tops, SECTIONS):
        assert title in line, (line, title)


def test_subsections_belong_to_their_section() -> None:
    subs = sorted(tuple(map(int, s.split("."))) for s in headings() if "." in s)
    for major in {m for m, _ in subs}:
        minors = [k for m, k in subs if m == major]
        assert minors == list(range(1, len(minors) + 1)), (major, minors)


def test_every_citation_resolves() -> None:
    known = headings()
    bad = []
    paths = [ROOT / "README.md"] + [p for d in SOURCES for p in (ROOT / d).rglob("*")]
    for path in paths:
        if path.suffix not in (".py", ".md", ".toml") or path == Path(__file__).resolve() \
                or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in CITE.finditer(text):
            if m.group(1) not in known:
                bad.append(f"{path.relative_to(ROOT)}: §{m.group(1)}")
    assert not bad, "citations of missing sections: " + ", ".join(bad)


def test_citation_pattern_catches_a_missing_section() -> None:
    """The checker itself: a made-up section is not among the headings."""
    m = CITE.search("see docs/theory.md §2.99")
    assert m is not None and m.group(1) not in headings()
    assert "2.6" in headings() and "10" in headings()
