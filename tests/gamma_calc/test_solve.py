"""Solver soundness: points inside a reported feasible set satisfy the original unrolled
system evaluated numerically (gamma_calc.check, no case splits, no LP), points outside do not."""
from __future__ import annotations

import itertools
import random
from fractions import Fraction
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamma_calc.check import evaluate_flags, robustness
from gamma_calc.exponent import NEG_INF_VALUE, Lin
from gamma_calc.feasible import Query, feasible_set
from gamma_calc.lora import model_for
from gamma_calc.lp import maximize
from gamma_calc.schemes import FactorInit

QUERIES = {
    "adam": Query(), "adam-equal": Query(equal_lr=True), "adam-internal": Query(internal=True),
    "adam-paper": Query(convention="paper"), "adam-robust": Query(robust=True),
    "adam-robust-equal": Query(robust=True, equal_lr=True), "adam-literal": Query(from_step=2),
    "sgd": Query(optimizer="sgd"), "sgd-paper": Query(optimizer="sgd", convention="paper"),
    "sgd-equal": Query(optimizer="sgd", equal_lr=True),
}


@cache
def solved(name: str):
    return feasible_set(QUERIES[name])


def _factor(value) -> FactorInit:
    return FactorInit.parse("-oo") if value == NEG_INF_VALUE else FactorInit.parse(str(value))


def conditions_hold(q: Query, p: dict) -> bool:
    """The defining conditions at a concrete point (paper convention: γ[A_0] = γ[A_0 z] - 1 and
    a random A_0 has γ[A_0 z] = entry + 1/2, so entry = A0 + 1/2)."""
    a0 = p["A0"]
    if q.convention == "paper" and a0 != NEG_INF_VALUE:
        a0 = a0 + Fraction(1, 2)
    ca, cb = (p["c"], p["c"]) if q.equal_lr else (p["c_A"], p["c_B"])
    model = model_for(q.optimizer, _factor(a0), _factor(p["B0"]), str(ca), str(cb))
    flags = evaluate_flags(model, q.steps, q.from_step)
    ok = flags["efficient"] and (flags["internally_stable"] or not q.internal)
    if ok and q.robust:
        ok = robustness(model, q.steps, q.from_step)[0]
    return ok


grid = st.sampled_from([Fraction(k, 4) for k in range(-12, 5)])
init = st.one_of(grid, grid, grid, st.just(NEG_INF_VALUE))


@pytest.mark.parametrize("name", sorted(QUERIES))
@settings(max_examples=120, deadline=None)
@given(ca=grid, cb=grid, a0=init, b0=init, tie=st.booleans())
def test_membership_equals_conditions_on_grid_points(name, ca, cb, a0, b0, tie):
    q = QUERIES[name]
    if tie:  # land on c_A + c_B = -1 often: the sets are thin there
        cb = -1 - ca
    p = {"A0": a0, "B0": b0}
    p.update({"c": ca} if q.equal_lr else {"c_A": ca, "c_B": cb})
    assert solved(name).contains(p) == conditions_hold(q, p)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_points_sampled_inside_each_region_satisfy_the_conditions(name):
    """Extreme points (random objectives over the region inside a box) and their midpoints."""
    rng = random.Random(name)
    q = QUERIES[name]
    for region in solved(name).regions:
        for zeros in region.zero_sets:
            cons = [c.pair for c in region.constraints if not (c.lin.vars & zeros)]
            vars_ = [v for v in q.variables if v not in zeros]
            box = [(Lin(-3, {v: -1}), "<=") for v in vars_] + [(Lin(-2, {v: 1}), "<=") for v in vars_]
            pts = []
            for _ in range(6):
                obj = Lin(0, {v: rng.randint(-3, 3) for v in vars_})
                res = maximize(obj, cons + box)
                assert res.status == "optimal"
                pts.append({v: res.point.get(v, Fraction(0)) for v in vars_})
            pts += [{v: (a[v] + b[v]) / 2 for v in vars_} for a, b in itertools.pairwise(pts)]
            for p in pts:
                p.update({z: NEG_INF_VALUE for z in zeros})
                assert solved(name).contains(p)
                assert conditions_hold(q, p), (name, str(region), p)


def test_equal_rate_adam_set_is_eq6():
    fs = solved("adam-equal")
    assert fs.contains({"c": Fraction(-1, 2), "A0": Fraction(-1, 2), "B0": NEG_INF_VALUE})
    assert not fs.contains({"c": Fraction(-1, 2), "A0": Fraction(1, 4), "B0": NEG_INF_VALUE})
    assert not fs.contains({"c": Fraction(-1, 2), "A0": NEG_INF_VALUE, "B0": NEG_INF_VALUE})


# -- independent: the papers' closed-form recursions, written here ------------------------
NEG = float("-inf")
EPS = Fraction(1, 1000)  # below every gap between breakpoints at quarter-integer points


def _closed_form_deltas(optimizer: str, a, b, ca, cb, t_max: int = 30):
    """``(Z_A, Z_B, δ¹, δ²)`` exponents for ``t = 3..t_max`` from the closed forms: Adam,
    Beyond Zero Init Eq. 3–4 (``γ[B_t] = max(b, c_B)``, ``γ[A_t z] = max(a, c_A + 1)`` once both
    factors move); SGD, App. C (``X_t = max(X, c_A + Y + 1)``, ``Y_t = max(Y, c_B + X)``,
    ``δ¹ = c_A + 2Y + 1``, ``δ² = c_B + 2X``). ``a = γ[A_0 z]``, ``b = γ[B_0]`` (``-inf`` for a zero factor)."""
    if optimizer == "adam":
        B, Az = max(b, cb), max(a, ca + 1)
        return [(Az, B + Az, ca + 1 + B, cb + Az)] * (t_max - 2)
    X, Y, out = a, b, []
    for t in range(1, t_max + 1):
        d1, d2 = ca + 2 * Y + 1, cb + 2 * X
        X, Y = max(X, ca + Y + 1), max(Y, cb + X)
        if t >= 3:
            out.append((X, X + Y, d1, d2))
    return out


def closed_form_holds(q: Query, p: dict) -> bool:
    a_entry = p["A0"] + (Fraction(1, 2) if q.convention == "paper" else 0)
    a = NEG if p["A0"] == NEG_INF_VALUE else a_entry + Fraction(1, 2)  # random A_0: CLT
    b = NEG if p["B0"] == NEG_INF_VALUE else p["B0"]
    ca, cb = (p["c"], p["c"]) if q.equal_lr else (p["c_A"], p["c_B"])
    if a == NEG and b == NEG:
        return False  # nothing trains
    rows = _closed_form_deltas(q.optimizer, a, b, ca, cb)
    ok = all(zb == 0 and d1 == 0 and d2 == 0 for _, zb, d1, d2 in rows)
    if q.internal:
        ok &= all(za <= 0 for za, _, _, _ in rows)
    if q.robust:
        low = _closed_form_deltas(q.optimizer, a, b, ca - EPS, cb - EPS)
        ok &= all(d1 >= -EPS and d2 >= -EPS for _, _, d1, d2 in low)
    return ok


CLOSED_FORM = ["adam", "adam-equal", "adam-internal", "adam-paper", "adam-robust",
               "adam-robust-equal", "sgd", "sgd-paper", "sgd-equal"]


@pytest.mark.parametrize("name", CLOSED_FORM)
@settings(max_examples=150, deadline=None)
@given(ca=grid, cb=grid, a0=init, b0=init, tie=st.booleans())
def test_membership_equals_the_closed_form_recursions(name, ca, cb, a0, b0, tie):
    """The same grid points, decided by the papers' recursions run for 30 steps instead of the
    solver's unrolled layer (different code, and "for all t ≥ 3" instead of stationarity)."""
    q = QUERIES[name]
    if tie:
        cb = -1 - ca
    p = {"A0": a0, "B0": b0}
    p.update({"c": ca} if q.equal_lr else {"c_A": ca, "c_B": cb})
    assert solved(name).contains(p) == closed_form_holds(q, p), p
