"""LoRAM Proposition 2 (LoRAM §2; docs/theory.md §4.4): LoRA's magnitudes under SGD, α = 1.

With i.i.d. zero-mean entries, gradient entries of variance σ_L² independent of A, B and no
cross terms, the mean squares ν_t = (ν[A_t], ν[B_t]) follow ν_t = M_t ν_{t−1} with
M_t = [[1, γ_B], [γ_A, 1]], γ_A = m η² σ_L²(t), γ_B = n η² σ_L²(t) (W: n × m = out × in).
Under the same independence, ν[B_tA_t − B₀A₀] = r (ν[A_t] ν[B_t] − ν[A₀] ν[B₀]) (our reading of
the lost exact expression; its first order is the paper's k₁γt), and the linearised solution is
ν[A_t] ≈ σ_A² + nη²Σσ_L² σ_B², ν[B_t] ≈ σ_B² + mη²Σσ_L² σ_A², ν[W_LoRA^t] ≈ k₁ η² Σ_{τ≤t} σ_L²(τ)
with k₁ = r(m σ_A⁴ + n σ_B⁴).  `σ_L²(t)` may vary per step (the measured one does).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Layer:
    """One LoRA layer: W is n × m (out × in), rank r, SGD rate η."""
    n: int
    m: int
    r: int
    eta: float


def k1(layer: Layer, sigma_A2: float, sigma_B2: float) -> float:
    """k₁ = r (m σ_A⁴ + n σ_B⁴) (LoRAM Prop. 2); Noise & Zeros (σ_A² = 1/m, B = 0): r/m."""
    return layer.r * (layer.m * sigma_A2 ** 2 + layer.n * sigma_B2 ** 2)


def matrix(layer: Layer, sigma_L2: float) -> np.ndarray:
    """M = [[1, γ_B], [γ_A, 1]] for one step."""
    g = layer.eta ** 2 * sigma_L2
    return np.array([[1.0, layer.n * g], [layer.m * g, 1.0]])


def exact(layer: Layer, sigma_A2: float, sigma_B2: float, sigma_L2) -> dict[str, np.ndarray]:
    """ν[A_t], ν[B_t], ν[W_LoRA^t] for t = 0..T from ν_t = M_t ν_{t−1} (σ_L2: length T)."""
    s = np.atleast_1d(np.asarray(sigma_L2, float))
    nu = np.empty((len(s) + 1, 2))
    nu[0] = sigma_A2, sigma_B2
    for t, v in enumerate(s, 1):
        nu[t] = matrix(layer, v) @ nu[t - 1]
    nu_w = layer.r * (nu[:, 0] * nu[:, 1] - nu[0, 0] * nu[0, 1])
    return {"nu_A": nu[:, 0], "nu_B": nu[:, 1], "nu_W": nu_w}


def linearised(layer: Layer, sigma_A2: float, sigma_B2: float, sigma_L2) -> dict[str, np.ndarray]:
    """The small-η solution: linear in the cumulative η² Σ σ_L² (t = 0..T)."""
    s = np.atleast_1d(np.asarray(sigma_L2, float))
    c = layer.eta ** 2 * np.concatenate([[0.0], np.cumsum(s)])
    return {"nu_A": sigma_A2 + layer.n * c * sigma_B2, "nu_B": sigma_B2 + layer.m * c * sigma_A2,
            "nu_W": k1(layer, sigma_A2, sigma_B2) * c}


def closed_form(layer: Layer, sigma_A2: float, sigma_B2: float, sigma_L2: float,
                t: int) -> tuple[float, float]:
    """M^t ν₀ for a constant σ_L², through M's eigenvalues 1 ± √(γ_A γ_B) (Prop. 2)."""
    g = layer.eta ** 2 * sigma_L2
    ga, gb = layer.m * g, layer.n * g
    if ga == 0 or gb == 0:
        return sigma_A2 + t * gb * sigma_B2, sigma_B2 + t * ga * sigma_A2
    root, q = np.sqrt(ga * gb), np.sqrt(gb / ga)
    up, down = (1 + root) ** t, (1 - root) ** t
    # eigenvectors (q, 1) for 1 + root and (−q, 1) for 1 − root
    c_up = (sigma_A2 / q + sigma_B2) / 2
    c_dn = (sigma_B2 - sigma_A2 / q) / 2
    return q * (c_up * up - c_dn * down), c_up * up + c_dn * down
