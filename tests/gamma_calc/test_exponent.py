"""Properties of the tropical (max-plus) exponent algebra, docs/theory.md §1."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gamma_calc.exponent import NEG_INF, NEG_INF_VALUE, Exponent, ExponentError, Lin

from .strategies import exponents, lins, points

SET = settings(max_examples=60, deadline=None)


@SET
@given(exponents(max_terms=3), exponents(max_terms=3), exponents(max_terms=3))
def test_both_operations_are_associative(a, b, c):
    assert (a + b) + c == a + (b + c)
    assert (a | b) | c == a | (b | c)


@SET
@given(exponents(), exponents())
def test_both_operations_are_commutative(a, b):
    assert a + b == b + a
    assert a | b == b | a


@SET
@given(exponents(), exponents(), exponents())
def test_plus_distributes_over_max(a, b, c):
    assert a + (b | c) == (a + b) | (a + c)


@SET
@given(exponents())
def test_neg_inf_absorbs_plus_and_is_neutral_for_max(a):
    assert (a + NEG_INF).is_neg_inf
    assert (NEG_INF + a).is_neg_inf
    assert a | NEG_INF == a


@SET
@given(exponents(), points)
def test_operations_agree_with_arithmetic_on_values(a, p):
    b = Exponent.parse("max(x - y, 1/2)")
    va, vb = a.evaluate(p), b.evaluate(p)
    assert (a + b).evaluate(p) == va + vb
    assert (a | b).evaluate(p) == max(va, vb)


@SET
@given(exponents())
def test_canonical_form_is_idempotent(a):
    again = Exponent(a.terms)
    assert again.terms == a.terms
    assert again == a


@SET
@given(exponents(max_terms=3), lins(), lins(), st.fractions(0, 2, max_denominator=4), points)
def test_dominated_terms_are_dropped(a, t1, t2, gap, p):
    """A term below the average of two others is nowhere the max: the canonical form of the
    expression with it equals the one without — and both evaluate the same everywhere."""
    base = a | Exponent([t1, t2])
    mid = (t1 + t2).scale(Fraction(1, 2)) - gap
    with_mid = base | Exponent([mid])
    assert with_mid == base
    assert with_mid.evaluate(p) == base.evaluate(p)


@SET
@given(exponents(), exponents(), st.lists(points, min_size=8, max_size=8))
def test_equal_canonical_forms_are_equal_functions(a, b, pts):
    if a == b:
        assert all(a.evaluate(p) == b.evaluate(p) for p in pts)
    if any(a.evaluate(p) != b.evaluate(p) for p in pts):
        assert a != b


def test_equal_functions_get_equal_canonical_forms():
    # max(x, -x, 0) = |x| = max(x, -x): the 0 term is dominated by the max of the others
    assert Exponent.parse("max(x, -x, 0)") == Exponent.parse("max(x, -x)")
    assert Exponent.parse("max(x + y, x - y, y - x, -x - y, 0)") == \
        Exponent.parse("max(x + y, x - y, y - x, -x - y)")
    assert Exponent.parse("max(2*x, 0) + max(x, 1)") == Exponent.parse("max(3*x, x, 2*x + 1, 1)")


@pytest.mark.parametrize("text,value", [("-1/2", Fraction(-1, 2)), ("-0.5", Fraction(-1, 2)),
                                        ("0", Fraction(0)), ("3/4", Fraction(3, 4)),
                                        ("−1/2", Fraction(-1, 2)), ("-oo", NEG_INF_VALUE),
                                        ("max(-1, 1/2)", Fraction(1, 2))])
def test_parse_numbers(text, value):
    assert Exponent.parse(text).value() == value


@pytest.mark.parametrize("bad", ["", "oo", "+oo", "1/0", "abc(", "2**x", "x*y", "max()", "1 +",
                                 "-max(x, y)", "'a'", "[1]"])
def test_parse_rejects_malformed_input_with_one_line(bad):
    with pytest.raises(ExponentError) as e:
        Exponent.parse(bad)
    assert "\n" not in str(e.value)


def test_printing_and_sympy_round_trip():
    e = Exponent.parse("max(c_A + 1, a, -1/2)")
    assert str(e) == "max(-1/2, a, c_A + 1)"
    assert Exponent.from_sympy(e.to_sympy()) == e
    assert "max" in e.latex()
    assert str(NEG_INF) == "-oo" and NEG_INF.latex() == r"-\infty"
    assert str(Lin(Fraction(1, 2), {"c": Fraction(-3, 2)})) == "-3*c/2 + 1/2"


def test_germ_gives_value_and_slope():
    e = Exponent.parse("max(c - eps + 1/2, 2*c - 2*eps + 1)")
    assert e.germ({"c": Fraction(-1, 2)}, "eps") == (Fraction(0), Fraction(-1))
    assert Exponent.parse("2*c - 2*eps + 1").germ({"c": Fraction(-1, 2)}, "eps") == (0, -2)
