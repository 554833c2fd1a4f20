"""The unrolled layer against the closed-form recursions of docs/theory.md §2.4 and §3.2, evaluated
at random points."""
from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from gamma_calc.exponent import Exponent
from gamma_calc.lora import model_for, unroll
from gamma_calc.schemes import FactorInit, get_scheme, paper_exponent

q = st.fractions(-2, 1, max_denominator=4)


@settings(max_examples=60, deadline=None)
@given(q, q, q, q)
def test_adam_matches_beyond_zero_eq3_4(a_e, b_e, c_a, c_b):
    """docs/theory.md §2 (nonzero inits, t >= 2): γ[B_t] = max(b, c_B), γ[A_t z] = max(a, c_A + 1),
    δ¹_t = c_A + 1 + γ[B_{t-1}], δ²_t = c_B + γ[A_{t-1} z], δ³ = c_A + c_B + 1."""
    tr = unroll(model_for("adam", FactorInit.parse(str(a_e)), FactorInit.parse(str(b_e)),
                          str(c_a), str(c_b)), 4)
    a = a_e + Fraction(1, 2)  # γ[A_0 z] for a random A_0 (CLT)
    B = max(b_e, c_b)
    Az = max(a, c_a + 1)
    for t in range(2, 5):
        v = {k: tr.at(k, t).value() for k in ("A", "B", "Z_A", "Z_B", "delta1", "delta2", "delta3")}
        assert v["B"] == B and v["Z_A"] == Az and v["Z_B"] == B + Az
        assert v["delta1"] == c_a + 1 + B and v["delta2"] == c_b + Az
        assert v["delta3"] == c_a + c_b + 1


@settings(max_examples=60, deadline=None)
@given(q, q, q, q)
def test_sgd_matches_beyond_zero_app_c_recursion(a_e, b_e, c_a, c_b):
    """docs/theory.md §3 (LoRA+ model): X_t = max(X_{t-1}, c_a + Y_{t-1} + 1),
    Y_t = max(Y_{t-1}, c_b + X_{t-1}), δ¹ = c_a + 2Y + 1, δ² = c_b + 2X."""
    tr = unroll(model_for("sgd", FactorInit.parse(str(a_e)), FactorInit.parse(str(b_e)),
                          str(c_a), str(c_b)), 5)
    X, Y = a_e + Fraction(1, 2), b_e
    for t in range(1, 6):
        assert tr.at("delta1", t).value() == c_a + 2 * Y + 1
        assert tr.at("delta2", t).value() == c_b + 2 * X
        X, Y = max(X, c_a + Y + 1), max(Y, c_b + X)
        assert tr.at("Z_A", t).value() == X and tr.at("B", t).value() == Y
        assert tr.at("Z_B", t).value() == X + Y


def test_zeros_propagate_and_init_b_moves_late():
    s = get_scheme("B")
    tr = unroll(model_for("adam", s.A, s.B, "-1"), 3)
    assert tr.at("delta2", 1).is_neg_inf                # B's gradient vanishes at step 1
    assert tr.at("delta2", 2) == Exponent.const(-1)     # δ² = c_B + γ[A_1 z] = -1 + 0
    z = get_scheme("zero")
    tr0 = unroll(model_for("adam", z.A, z.B, "-1/2"), 3)
    assert all(tr0.at("Z_B", t).is_neg_inf for t in range(4))


def test_paper_convention_is_derived_from_the_contraction():
    kaiming = FactorInit.parse("-1/2")
    assert paper_exponent(kaiming, "A") == Exponent.const(-1)   # Beyond Zero Init: Kaiming A is -1
    assert paper_exponent(FactorInit.parse("-1/2", "aligned"), "A") == Exponent.parse("-1/2")
    assert paper_exponent(FactorInit.parse("0"), "B") == Exponent.const(0)


@settings(max_examples=40, deadline=None)
@given(q, q, q)
def test_marked_cancellation_removes_only_the_init_product(a_e, b_e, c):
    """With B_0 A_0 = 0 marked, Z_B^t = max(b + γ[(A_t - A_0) z], γ[B_t - B_0] + γ[A_t z]) (Adam,
    t >= 2) and Z_B^0 = -oo; without the mark the init product b + a also counts."""
    A0, B0 = FactorInit.parse(str(a_e)), FactorInit.parse(str(b_e))
    marked = unroll(model_for("adam", A0, B0, str(c), cancel_init_product=True), 3)
    plain = unroll(model_for("adam", A0, B0, str(c)), 3)
    a = a_e + Fraction(1, 2)
    assert marked.at("Z_B", 0).is_neg_inf
    for t in (2, 3):
        want = max(b_e + c + 1, c + max(a, c + 1))
        assert marked.at("Z_B", t).value() == want
        assert plain.at("Z_B", t).value() == max(want, b_e + a)
