"""The largest stable equal rate against a brute-force scan of the numeric recursion."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamma_calc import conditions as C
from gamma_calc.feasible import max_lr
from gamma_calc.lora import model_for, unroll
from gamma_calc.schemes import FactorInit, get_scheme

GRID = [Fraction(k, 8) for k in range(-24, 9)]


def bounded(optimizer: str, A0: FactorInit, B0: FactorInit, c: Fraction) -> bool:
    tr = unroll(model_for(optimizer, A0, B0, str(c)), C.DEFAULT_STEPS)
    return C.all_hold(C.bounded(tr) + C.stationary(tr), {})


def brute(optimizer: str, A0: FactorInit, B0: FactorInit) -> Fraction | None:
    ok = [c for c in GRID if bounded(optimizer, A0, B0, c)]
    return max(ok) if ok else None


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("name", ["A", "B", "AB", "AB-practical"])
def test_named_schemes(optimizer, name):
    s = get_scheme(name)
    m = max_lr(optimizer, s.A, s.B)
    assert m.status == "optimal" and m.value == brute(optimizer, s.A, s.B)


entries = st.sampled_from([Fraction(k, 4) for k in range(-6, 3)] + [None])


@settings(max_examples=40, deadline=None)
@given(entries, entries, st.sampled_from(["adam", "sgd"]))
def test_random_inits(a, b, optimizer):
    A0 = FactorInit.parse("-oo" if a is None else str(a))
    B0 = FactorInit.parse("-oo" if b is None else str(b))
    m = max_lr(optimizer, A0, B0)
    best = brute(optimizer, A0, B0)
    if m.status == "unbounded":
        assert best == GRID[-1]
    elif m.status == "infeasible":
        assert best is None
    else:
        assert best is not None and best <= m.value < best + Fraction(1, 8)
        assert bounded(optimizer, A0, B0, m.value) == m.attained
