"""The exact simplex against an independent LP solver (scipy HiGHS), and strictness."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from gamma_calc.exponent import Lin
from gamma_calc.lp import EQ, LE, LT, feasible_point, is_feasible, maximize

VARS = ("u", "v", "w")


@st.composite
def lp_problems(draw):
    names = VARS[: draw(st.integers(1, 3))]
    cons = []
    for _ in range(draw(st.integers(1, 5))):
        coefs = {v: draw(st.fractions(-3, 3, max_denominator=3)) for v in names}
        if all(c == 0 for c in coefs.values()):
            continue
        cons.append((Lin(draw(st.fractions(-4, 4, max_denominator=2)), coefs),
                     draw(st.sampled_from([LE, LE, EQ]))))
    if draw(st.booleans()):  # a box keeps most problems bounded
        for v in names:
            cons += [(Lin(-5, {v: 1}), LE), (Lin(-5, {v: -1}), LE)]
    obj = Lin(0, {v: draw(st.integers(-2, 2)) for v in names})
    return names, cons, obj


def _highs(names, cons, obj):
    """The same LP by scipy's HiGHS (floating point, an independent implementation). sympy's
    ``lpmax`` would be the exact choice, but 1.14 mishandles single-variable bounds (it returns
    v = 1 under v <= 0), so it cannot serve as the reference."""
    idx = {v: i for i, v in enumerate(names)}

    def row(lin: Lin) -> list[float]:
        r = [0.0] * len(names)
        for v, c in lin.coefs:
            r[idx[v]] = float(c)
        return r

    A_ub = [row(l) for l, r in cons if r == LE]
    b_ub = [-float(l.const) for l, r in cons if r == LE]
    A_eq = [row(l) for l, r in cons if r == EQ]
    b_eq = [-float(l.const) for l, r in cons if r == EQ]
    res = linprog([-x for x in row(obj)], A_ub=A_ub or None, b_ub=b_ub or None,
                  A_eq=A_eq or None, b_eq=b_eq or None, bounds=[(None, None)] * len(names),
                  method="highs")
    if res.status == 2:
        return "infeasible", None
    if res.status == 3:
        return "unbounded", None
    return "optimal", -res.fun


@settings(max_examples=80, deadline=None)
@given(lp_problems())
def test_maximize_matches_sympy(problem):
    names, cons, obj = problem
    res = maximize(obj, cons)
    status, value = _highs(names, cons, obj)
    assert res.status == status
    if status == "optimal":
        assert float(res.value) == pytest.approx(value, abs=1e-7)
    if res.status == "optimal":
        assert all((l.evaluate(res.point) <= 0) if r == LE else l.evaluate(res.point) == 0
                   for l, r in cons)
        assert obj.evaluate(res.point) == res.value


def test_strict_inequalities():
    x = Lin.var("x")
    assert is_feasible([(x, LE), (-x, LE)])           # x = 0
    assert not is_feasible([(x, LT), (-x, LE)])       # x < 0 and x >= 0
    p = feasible_point([(x - 1, LT), (-x, LT)])       # 0 < x < 1
    assert p is not None and 0 < p["x"] < 1
    assert maximize(x, [(x - 1, LT)]).value == 1      # supremum of the closure


@pytest.mark.parametrize("rows", [[(Lin(1), LE)], [(Lin(0), LT)], [(Lin(1), EQ)]])
def test_false_constant_rows_are_infeasible(rows):
    assert not is_feasible(rows)
