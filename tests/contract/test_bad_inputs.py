"""Every row of the bad-input table (cases.py): the promised exit code and one line naming the
file, field or value — never a traceback, never silently accepted."""
from __future__ import annotations

from pathlib import Path

import pytest

from . import cases

CASES = cases.all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: cases.Case, tmp_path: Path) -> None:
    why = cases.skip_reason(case)
    if why:
        pytest.skip(why)
    o = cases.run_case(case, tmp_path)
    assert o.kind(case) == "clean", (
        f"{o.kind(case)}: exit {o.code}, expected {case.code} with {o.fragment!r}\n"
        f"stderr: {o.err}\n{o.tb}")
