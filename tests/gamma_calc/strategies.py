"""Hypothesis strategies for exponents over a few parameters."""
from __future__ import annotations

from hypothesis import strategies as st

from gamma_calc.exponent import Exponent, Lin

VARS = ("x", "y", "z")
small = st.fractions(min_value=-3, max_value=3, max_denominator=4)


@st.composite
def lins(draw, vars_=VARS) -> Lin:
    coefs = {v: draw(st.integers(-2, 2)) for v in vars_ if draw(st.booleans())}
    return Lin(draw(small), coefs)


@st.composite
def exponents(draw, vars_=VARS, max_terms: int = 4) -> Exponent:
    n = draw(st.integers(0, max_terms))
    return Exponent([draw(lins(vars_)) for _ in range(n)])


points = st.fixed_dictionaries({v: st.fractions(-5, 5, max_denominator=6) for v in VARS})
