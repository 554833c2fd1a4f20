"""Simplification and union merging change descriptions, never sets (checked on points)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gamma_calc.exponent import Lin
from gamma_calc.lp import EQ, LE, LT
from gamma_calc.polyhedron import Constraint, Region, simplify
from gamma_calc.unions import merge_union, same_union

VARS = ("x", "y")
val = st.fractions(-3, 3, max_denominator=2)


@st.composite
def constraints(draw):
    coefs = {v: draw(st.integers(-2, 2)) for v in VARS}
    return Constraint.make(Lin(draw(st.fractions(-2, 2, max_denominator=2)), coefs),
                           draw(st.sampled_from([LE, LE, LT, EQ])))


points = st.lists(st.fixed_dictionaries({v: val for v in VARS}), min_size=30, max_size=30)


@settings(max_examples=50, deadline=None)
@given(st.lists(constraints(), min_size=1, max_size=5), points)
def test_simplify_preserves_the_set(cons, pts):
    simp = simplify(cons)
    for p in pts:
        inside = all(c.holds(p) for c in cons)
        assert inside == (simp is not None and all(c.holds(p) for c in simp))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(constraints(), min_size=1, max_size=3), min_size=1, max_size=4), points)
def test_merge_union_preserves_the_union(polys, pts):
    regions = [Region(tuple(s)) for s in (simplify(p) for p in polys) if s is not None]
    merged = merge_union(regions)
    assert len(merged) <= len(regions)
    for p in pts:
        assert any(r.contains(p) for r in regions) == any(r.contains(p) for r in merged)
    assert same_union(regions, merged)


def test_glue_and_containment():
    x = Lin.var("x")
    lt = Region((Constraint.make(x, LT),))
    eq = Region((Constraint.make(x, EQ),))
    le = Region((Constraint.make(x, LE),))
    assert merge_union([lt, eq]) == [le]
    assert same_union([lt, eq], [le])
    assert not same_union([lt], [le])
