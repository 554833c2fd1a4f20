"""Contraction rules of the typed quantities against Monte Carlo sums (numpy)."""
from __future__ import annotations

import numpy as np
import pytest

from gamma_calc.exponent import Exponent
from gamma_calc.quantity import Dim, Tensor, outer, sign

N, R, K = Dim("n", True), Dim("r", False), Dim("k", False)
WIDTHS = (256, 1024, 4096)


def slope(values: list[float]) -> float:
    return float(np.polyfit(np.log(WIDTHS), np.log(values), 1)[0])


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x ** 2)))


def predicted(t: Tensor) -> float:
    return float(t.exponent.value())


@pytest.mark.parametrize("entry", ["-1/2", "0", "1/4"])
def test_random_matrix_times_data_is_a_clt_sum(entry):
    """A_0 z with i.i.d. entries n^e: Θ(n^(e + 1/2)) (Beyond Zero Init Lemma 1)."""
    e = float(Exponent.parse(entry).value())
    rng = np.random.default_rng(0)
    meas = []
    for n in WIDTHS:
        A = rng.standard_normal((256, n)) * n ** e
        meas.append(rms(A @ rng.standard_normal(n)))
    typed = Tensor.random("A0", (R, N), Exponent.parse(entry)) @ Tensor.aligned((N,), Exponent.const(0), ("z",))
    assert slope(meas) == pytest.approx(predicted(typed), abs=0.06)


def test_aligned_update_times_data_is_coherent():
    """sign(u) ⊗ sign(z) times z: Θ(n) (LoRA+ Assumption 1)."""
    rng = np.random.default_rng(1)
    meas = []
    for n in WIDTHS:
        z = rng.standard_normal(n)
        G = np.outer(np.sign(rng.standard_normal(4)), np.sign(z))
        meas.append(rms(G @ z))
    z_t = Tensor.aligned((N,), Exponent.const(0), ("z",))
    g = sign(outer(Tensor.aligned((R,), Exponent.const(0), (None,)), z_t))
    assert slope(meas) == pytest.approx(predicted(g @ z_t), abs=0.06)


def test_readout_is_coherent_with_its_own_backward_signal():
    """W_o (W_oᵀ df) with k fixed sums n squares: +1 (the μP readout term), while for a square
    random W, W (Wᵀ u) matches the CLT rule applied to the intermediate vector."""
    rng = np.random.default_rng(2)
    meas_o, meas_h = [], []
    for n in WIDTHS:
        Wo = rng.standard_normal((3, n)) / n
        meas_o.append(rms(Wo @ (Wo.T @ np.ones(3))))
        W = rng.standard_normal((n, n)) / np.sqrt(n)
        meas_h.append(rms(W @ (W.T @ rng.standard_normal(n))))
    wo = Tensor.random("Wo", (K, N), Exponent.const(-1))
    df = Tensor.aligned((K,), Exponent.const(0), (None,))
    assert slope(meas_o) == pytest.approx(predicted(wo @ (wo.T @ df)), abs=0.05)
    w = Tensor.random("W", (N, N), Exponent.parse("-1/2"))
    u = Tensor.aligned((N,), Exponent.const(0), ("u",))
    assert slope(meas_h) == pytest.approx(predicted(w @ (w.T @ u)), abs=0.05)


def test_fixed_dimension_sum_adds_nothing_and_zero_propagates():
    B = Tensor.random("B0", (N, R), Exponent.const(0))
    v = Tensor.aligned((R,), Exponent.parse("-1/2"), (None,))
    assert (B @ v).exponent == Exponent.parse("-1/2")
    assert (Tensor.zero((N, R)) @ v).is_zero
    assert sign(Tensor.zero((R, N))).is_zero


@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adam"])
def test_back_contraction_keeps_the_readout_direction(adam):
    """A hidden feature update built from ``Wᵀ`` of the readout's signal (SGD: ``Wᵀ W_oᵀ df``,
    Adam: its sign) meets ``W`` again and then the readout: ``W (Wᵀ v) ≈ nσ² v`` keeps ``v``'s
    direction, so ``W_o W (Wᵀ W_oᵀ df)`` is an aligned sum — ``n^{-1}`` (SGD) and ``n^0``
    (Adam) for ``W_o`` entries ``n^{-1}``, where a fresh CLT direction would give
    ``n^{-3/2}`` and ``n^{-1/2}``."""
    rng = np.random.default_rng(3)
    meas, widths = [], (256, 512, 1024, 2048)
    for n in widths:
        vals = []
        for _ in range(4):
            Wo = rng.standard_normal((3, n)) / n
            W = rng.standard_normal((n, n)) / np.sqrt(n)
            back = W.T @ (Wo.T @ np.ones(3))
            vals.append(rms(Wo @ (W @ (np.sign(back) if adam else back))))
        meas.append(float(np.sqrt(np.mean(np.square(vals)))))
    wo = Tensor.random("Wo", (K, N), Exponent.const(-1))
    w = Tensor.random("W", (N, N), Exponent.parse("-1/2"))
    back_t = w.T @ (wo.T @ Tensor.aligned((K,), Exponent.const(0), (None,)))
    typed = wo @ (w @ (sign(back_t) if adam else back_t))
    assert predicted(typed) == (0 if adam else -1)
    fitted = float(np.polyfit(np.log(widths), np.log(meas), 1)[0])
    assert fitted == pytest.approx(predicted(typed), abs=0.08)
