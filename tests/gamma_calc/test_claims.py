"""Every claim is derived and compared with the paper's statement (docs/theory.md §2–3)."""
from __future__ import annotations

import pytest

from gamma_calc import claims


@pytest.mark.parametrize("derive", [c for c in claims.ALL if c is not claims.step2_transient],
                         ids=lambda f: f.__name__)
def test_derivation_agrees_with_the_papers(derive):
    c = derive()
    assert c.agrees, (c.key, c.derived)


def test_the_literal_t2_reading_is_reported_as_a_difference():
    c = claims.step2_transient()
    assert not c.agrees and "n^(-1/2)" in c.derived[0] and c.note


def test_table1_rows_and_slopes():
    d = claims.table1().data
    assert d["AB-practical"]["slopes"] == {"delta1": "-1", "delta2": "-2"}
    assert d["AB"]["robust"] and not d["A"]["robust"] and not d["B"]["stable"]
