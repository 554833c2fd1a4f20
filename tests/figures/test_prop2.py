"""LoRAM Prop. 2's M^t and linearised predictions against independent computations."""
from __future__ import annotations

import numpy as np
import pytest

from figures import prop2


def test_exact_matches_the_eigenvalue_closed_form() -> None:
    layer = prop2.Layer(n=400, m=300, r=25, eta=0.02)
    for sa, sb in ((1 / 300, 0.0), (1 / 300, 1 / 400), (0.0, 0.04)):
        e = prop2.exact(layer, sa, sb, [0.7] * 30)
        for t in (1, 7, 30):
            a, b = prop2.closed_form(layer, sa, sb, 0.7, t)
            assert e["nu_A"][t] == pytest.approx(a, rel=1e-12)
            assert e["nu_B"][t] == pytest.approx(b, rel=1e-12)


def test_matrix_power_and_eigenvalues() -> None:
    layer = prop2.Layer(n=64, m=32, r=4, eta=0.1)
    M = prop2.matrix(layer, 0.5)
    g = layer.eta ** 2 * 0.5
    lam = np.sort(np.linalg.eigvals(M).real)
    root = np.sqrt(layer.m * g * layer.n * g)
    assert lam == pytest.approx([1 - root, 1 + root])
    e = prop2.exact(layer, 0.1, 0.2, [0.5] * 5)
    direct = np.linalg.matrix_power(M, 5) @ np.array([0.1, 0.2])
    assert [e["nu_A"][5], e["nu_B"][5]] == pytest.approx(direct.tolist())


def test_linearised_is_the_first_order_of_exact() -> None:
    layer = prop2.Layer(n=400, m=400, r=25, eta=1e-4)
    sl = np.linspace(1.0, 0.5, 50)
    e, li = prop2.exact(layer, 1 / 400, 0.0, sl), prop2.linearised(layer, 1 / 400, 0.0, sl)
    assert li["nu_W"][-1] == pytest.approx(e["nu_W"][-1], rel=1e-4)
    assert prop2.k1(layer, 1 / 400, 0.0) == pytest.approx(25 / 400)   # Noise & Zeros: r/m
    assert li["nu_W"][1] == pytest.approx(25 / 400 * 1e-8 * 1.0)


def test_exact_matches_a_monte_carlo_of_the_random_walk_model() -> None:
    """Simulate SGD on A, B with fresh i.i.d. gradients G ~ N(0, σ_L²) (Prop. 2's assumptions)
    and average ν[A_t], ν[B_t], ν[B_tA_t − B₀A₀] over trials: independent of the recursion."""
    n, m, r, eta, sl, T, trials = 240, 160, 2, 0.02, 1.0, 12, 150
    rng = np.random.default_rng(0)
    sa, sb = 1 / m, 1 / n
    acc = np.zeros((3, T + 1))
    for _ in range(trials):
        A0 = rng.standard_normal((r, m)) * np.sqrt(sa)
        B0 = rng.standard_normal((n, r)) * np.sqrt(sb)
        A, B = A0.copy(), B0.copy()
        for t in range(T + 1):
            if t:
                G = rng.standard_normal((n, m)) * np.sqrt(sl)
                A, B = A - eta * B.T @ G, B - eta * G @ A.T
            acc[:, t] += [np.mean(A ** 2), np.mean(B ** 2), np.mean((B @ A - B0 @ A0) ** 2)]
    mc = acc / trials
    e = prop2.exact(prop2.Layer(n, m, r, eta), sa, sb, [sl] * T)
    assert mc[0] == pytest.approx(e["nu_A"], rel=0.03)
    assert mc[1] == pytest.approx(e["nu_B"], rel=0.03)
    assert mc[2][1:] == pytest.approx(e["nu_W"][1:], rel=0.08)
