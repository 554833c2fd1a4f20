"""gamma_calc.api: predictions for a model geometry (output dimension, backpropagated-signal
exponent) under SGD as under Adam, checked against the papers' closed forms."""
from __future__ import annotations

from fractions import Fraction

import pytest

from gamma_calc.api import max_lr, predict
from gamma_calc.check import check
from gamma_calc.schemes import get_scheme


def _value(e: str | None) -> Fraction | float:
    return float("-inf") if e == "-oo" else Fraction(e)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("out_width,grad", [(True, "0"), (True, "-1/2"), (False, "0"),
                                            (False, "1/4")])
def test_predict_takes_the_geometry_for_both_optimizers(optimizer, out_width, grad):
    p = predict(optimizer, scheme="AB-practical", lr_a="-1", lr_b="-1/2", steps=4,
                out_width=out_width, grad=grad)
    s = get_scheme("AB-practical")
    r = check(optimizer, s.A, s.B, "-1", "-1/2", steps=4, out_width=out_width, grad=grad)
    assert p.exponents["Z_B"] == [None if e is None else str(e) for e in r.trajectory.values["Z_B"]]
    assert set(p.flags) == {"stable", "efficient", "internally_stable", "robust"}
    assert len(p.exponents["delta1"]) == 5 and p.exponents["delta1"][0] is None


def test_sgd_fixed_output_matches_app_c_recursion():
    """Beyond Zero Init App. C (scalar output, dZ̄ = Θ(1)): X_t = max(X, c_A + Y + 1),
    Y_t = max(Y, c_B + X), δ¹ = c_A + 2Y + 1, δ² = c_B + 2X (X = γ[A z], Y = γ[B])."""
    ca, cb = Fraction(-3, 4), Fraction(-1, 4)
    p = predict("sgd", a_entry="-1/2", b_entry="-1/4", lr_a=str(ca), lr_b=str(cb), steps=5,
                out_width=False, grad="0")
    X, Y = Fraction(0), Fraction(-1, 4)
    for t in range(1, 6):
        assert _value(p.at("delta1", t)) == ca + 2 * Y + 1
        assert _value(p.at("delta2", t)) == cb + 2 * X
        X, Y = max(X, ca + Y + 1), max(Y, cb + X)
        assert _value(p.at("Z_A", t)) == X and _value(p.at("Z_B", t)) == X + Y


@pytest.mark.parametrize("out_width", [False, True])
@pytest.mark.parametrize("scheme", ["A", "B", "AB-practical"])
def test_sgd_signal_exponent_acts_as_a_rate_shift(scheme, out_width):
    """Both raw gradients are linear in the signal (linear loss: ``∇_A = (Bᵀ dZ̄) zᵀ``,
    ``∇_B = dZ̄ (A z)ᵀ``), so a signal ``n^g`` with rates ``c`` trains exactly like a signal
    ``Θ(1)`` with rates ``c + g``: every predicted exponent must agree."""
    g = Fraction(-1, 2)
    with_signal = predict("sgd", scheme=scheme, lr_a="-1/2", lr_b="1/4", steps=4,
                          out_width=out_width, grad=str(g))
    shifted = predict("sgd", scheme=scheme, lr_a=str(Fraction(-1, 2) + g),
                      lr_b=str(Fraction(1, 4) + g), steps=4, out_width=out_width, grad="0")
    assert with_signal.exponents == shifted.exponents


def test_geometry_changes_the_adam_and_sgd_answers_where_it_should():
    sgd_fixed = predict("sgd", scheme="A", lr_a="-1", lr_b="0", out_width=False)
    sgd_width = predict("sgd", scheme="A", lr_a="-1", lr_b="0", out_width=True, grad="-1/2")
    assert sgd_fixed.flags["efficient"] and not sgd_width.flags["efficient"]
    assert sgd_width.at("delta2", 3) == "-1/2"          # δ² = c_B + g + γ[A z]
    adam = predict("adam", scheme="A", lr_a="-1/2", out_width=False, grad="-1/2")
    assert adam.flags["efficient"]                       # Adam normalises the signal away


def test_max_lr_takes_the_geometry():
    assert max_lr("sgd", scheme="A", out_width=False) == "-1/2"
    assert max_lr("adam", scheme="B", out_width=True, grad="-1/2") == "-1"


@pytest.mark.parametrize("kwargs,fragment", [
    ({"optimizer": "rmsprop", "scheme": "A"}, "unknown optimizer"),
    ({"optimizer": "sgd", "scheme": "A", "grad": "x"}, "finite number"),
    ({"optimizer": "sgd", "scheme": "A", "grad": "-oo"}, "finite number"),
    ({"optimizer": "sgd", "a_entry": "0"}, "scheme name or both"),
    ({"optimizer": "adam", "scheme": "nope"}, "unknown init scheme"),
])
def test_bad_arguments_raise_value_or_key_errors(kwargs, fragment):
    with pytest.raises((ValueError, KeyError), match=fragment):
        predict(**kwargs)


def test_exponents_alone_equal_predicts_for_every_scheme():
    """`exponents` (one unroll, no flags) gives `predict`'s exponent strings — and raises where
    it raises — for every named scheme, both optimizers, both geometries and a few rates."""
    from gamma_calc.api import exponents
    from gamma_calc.schemes import SCHEMES
    for name in SCHEMES:
        for optimizer in ("adam", "sgd"):
            for out_width in (True, False):
                for lr_a, lr_b, eps in (("-1/2", None, "0"), ("-1", "0", "0"),
                                        ("-1/2", None, "1/8")):
                    kw = {"optimizer": optimizer, "scheme": name, "lr_a": lr_a, "lr_b": lr_b,
                          "eps": eps, "steps": 3, "out_width": out_width}
                    try:
                        want = predict(**kw).exponents
                    except (KeyError, ValueError, NotImplementedError) as exc:
                        with pytest.raises(type(exc)):
                            exponents(**kw)
                        continue
                    assert exponents(**kw) == want, kw


def test_exponents_repeated_question_gives_fresh_equal_lists():
    """A question asked again is answered from the first derivation, and what a caller does to
    its answer does not reach the next caller."""
    from gamma_calc.api import exponents
    kw = {"optimizer": "adam", "scheme": "A", "lr_a": "-1/2", "steps": 2}
    first = exponents(**kw)
    want = {q: list(v) for q, v in first.items()}
    first["Z_B"].clear()
    first.pop("Z_A")
    again = exponents(**kw)
    assert again == want and again is not first
    assert again == predict(**kw).exponents
