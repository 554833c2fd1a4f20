"""gamma_calc's public names against the textbook answers of docs/theory.md §2, §7.

Every expected value is written here from the theory's closed forms (docs/theory.md §2.4,
§2.8, §2.11; Beyond Zero Init Eq. 5–6; Tensor Programs V Table 3), not taken from the code.
"""
from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

import gamma_calc

NEG_INF = float("-inf")
HALF = Fraction(1, 2)


def test_every_name_in_all_resolves() -> None:
    assert set(gamma_calc.__all__) >= {"predict", "max_lr", "feasible_set", "check", "table",
                                       "mlp"}
    for name in gamma_calc.__all__:
        assert callable(getattr(gamma_calc, name)), name
    from gamma_calc.check import CheckResult  # the modules stay importable by name
    assert isinstance(gamma_calc.check(scheme="A"), CheckResult)


def test_predict_init_a_adam_follows_the_closed_forms() -> None:
    """Init[A] (Kaiming A₀: entries n^{-1/2}, a = γ[A₀z] = 0; B₀ = 0), Adam, c_A = c_B = −1/2.
    §2.4, once both factors move (t ≥ 3): γ[B] = max(b, c_B), γ[Az] = max(a, c_A + 1),
    δ¹ = γ[B] + c_A + 1, δ² = c_B + γ[Az], δ³ = c_A + c_B + 1, Z_B = γ[B] + γ[Az]."""
    c, a = -HALF, Fraction(0)
    B = c                                   # max(−∞, c_B)
    Az = max(a, c + 1)
    want = {"Z_A": Az, "Z_B": B + Az, "delta1": B + c + 1, "delta2": c + Az,
            "delta3": c + c + 1, "B": B}
    p = gamma_calc.predict("adam", scheme="A", lr_a="-1/2", steps=5)
    for t in (3, 4, 5):
        assert {q: Fraction(p.at(q, t)) for q in want} == want
    assert p.at("Z_B", 0) == "-oo"                       # B₀ = 0: no output at init
    # Table 1: stable, efficient, not robust; §2.9: both δ's lose 2ε when B₀, A₀ sit below
    # their bounds (b = −∞ < c_B, a = 0 < c_A + 1)
    assert p.flags == {"stable": True, "efficient": True, "internally_stable": False,
                       "robust": False}
    assert p.degradation == {"delta1": "-2", "delta2": "-2"}


def test_max_lr_is_impact_of_inits_result() -> None:
    """§2.11: Init[A] γ[Z_B] = 2c + 1 ≤ 0 ⇒ c ≤ −1/2; Init[B] max(0, c) + c + 1 ≤ 0 ⇒ c ≤ −1."""
    assert gamma_calc.max_lr("adam", scheme="A") == "-1/2"
    assert gamma_calc.max_lr("adam", scheme="B") == "-1"
    assert gamma_calc.max_lr("adam", a_entry="-1/2", b_entry="-oo") == "-1/2"   # = Init[A]


EXPS = [Fraction(-3, 2), Fraction(-1), Fraction(-3, 4), -HALF, Fraction(-1, 4), Fraction(0),
        Fraction(1, 4), HALF]


def eq5(ca: Fraction, cb: Fraction, a_entry: float, b: float) -> bool:
    """Beyond Zero Init Eq. 5 in entry exponents (random A₀: a = entry + 1/2): c_A + c_B = −1,
    b ≤ c_B, a ≤ c_A + 1; a zero factor (−∞) allowed, not both."""
    if a_entry == NEG_INF and b == NEG_INF:
        return False
    return ca + cb == -1 and b <= cb and a_entry + HALF <= ca + 1


def test_feasible_set_is_eq_6_at_equal_rates() -> None:
    fs = gamma_calc.feasible_set("adam", equal_lr=True)
    points = itertools.product(EXPS, EXPS + [NEG_INF], EXPS + [NEG_INF])
    for c, a_entry, b in points:
        point = {"c": c, "A0": a_entry, "B0": b}
        assert fs.contains(point) == eq5(c, c, a_entry, b), point
    # Eq. 6 in the paper's convention: γ[A₀] = a − 1 ≤ −1/2, γ[B₀] ≤ −1/2, c = −1/2
    paper = gamma_calc.feasible_set("adam", equal_lr=True, convention="paper")
    assert paper.contains({"c": -HALF, "A0": -HALF, "B0": -HALF})
    assert not paper.contains({"c": -HALF, "A0": Fraction(-1, 4), "B0": -HALF})


def test_feasible_set_is_eq_5_with_two_rates() -> None:
    fs = gamma_calc.feasible_set("adam")
    for ca, cb, a_entry, b in itertools.product(EXPS, EXPS, EXPS[2:] + [NEG_INF],
                                                [Fraction(-1), -HALF, Fraction(0), NEG_INF]):
        point = {"c_A": ca, "c_B": cb, "A0": a_entry, "B0": b}
        assert fs.contains(point) == eq5(ca, cb, a_entry, b), point


def test_table_has_table_1() -> None:
    """Beyond Zero Init Table 1 at c = −1/2 (docs/theory.md §2.10)."""
    rows = {r["scheme"]: r for r in gamma_calc.table("adam", "-1/2")}
    flags = ("stable", "efficient", "robust")
    assert [rows["A"][f] for f in flags] == [True, True, False]
    assert [rows["B"][f] for f in flags] == [False, False, False]
    assert [rows["AB"][f] for f in flags] == [True, True, True]
    assert (rows["A"]["A_0"], rows["A"]["B_0"]) == ("-1", "-oo")     # paper convention (§1.6)


def test_mlp_gives_mup() -> None:
    """μP for Adam (Tensor Programs V, Table 3; docs/theory.md §7.3): init variances
    n^0, n^-1, n^-2 and rates n^0, n^-1, n^-1 for the input, hidden and output layers."""
    mup = gamma_calc.mlp("adam", hidden_layers=1).mup
    got = {g: (v["init_var_exponent"], v["lr_exponent"]) for g, v in mup.items()}
    assert got == {"input": ("0", "0"), "hidden": ("-1", "-1"), "output": ("-2", "-1")}


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError):
        gamma_calc.predict("adam")                           # neither scheme nor entries
    with pytest.raises(ValueError):
        gamma_calc.feasible_set(convention="mine")
