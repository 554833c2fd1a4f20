"""Spectral tools of LoRAM (§3; docs/theory.md §4): DST-I basis, ρ[r], Q[r], ν[M], the initial
update rate k₁ and the measured first step.

Conventions: W is out × in = n × m; singular values `s` sorted or not, length R = rank.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["concentration", "dst_basis", "first_step_nu", "gain", "haar_basis",
           "loram_gain_log", "nu", "update_rate"]


def dst_basis(m: int, *, dtype: torch.dtype = torch.float64,
              device: torch.device | str | None = None) -> Tensor:
    """DST-I basis (LoRAM Eq. 12): Φ_m[i, j] = √(2/(m+1)) sin((i+1)(j+1)π/(m+1)), i, j < m.

    Symmetric and exactly orthonormal (Φ_m Φ_mᵀ = I); computed in float64, then cast.
    """
    k = torch.arange(1, m + 1, dtype=torch.float64, device=device)
    phi = math.sqrt(2.0 / (m + 1)) * torch.sin(torch.outer(k, k) * (math.pi / (m + 1)))
    return phi.to(dtype)


def haar_basis(m: int, r: int, generator: torch.Generator) -> Tensor:
    """r orthonormal columns drawn uniformly (Haar) from the Stiefel manifold: m × r, float64.

    QR of an m × r standard Gaussian with the signs of R's diagonal moved into Q (Mezzadri
    2007), so the law is exactly Haar; LoRAM's "random orthogonal" basis ablation (§4.3)."""
    G = torch.randn((m, r), generator=generator, dtype=torch.float64, device=generator.device)
    Q, R = torch.linalg.qr(G)
    return Q * torch.sign(torch.diagonal(R)).where(torch.diagonal(R) != 0, 1.0)[None, :]


def update_rate(A: Tensor, B: Tensor) -> float:
    """LoRAM's initial update rate k₁ = r (m ν[A]² + n ν[B]²) of factors A: r × m, B: n × r
    (Prop. 2, Eq. 6; docs/theory.md §4): ν[W_LoRA^t] ≈ k₁ η² Σσ_L² for SGD at s = 1."""
    r, m = A.shape[-2:]
    n = B.shape[-2]
    return float(r * (m * nu(A) ** 2 + n * nu(B) ** 2))


def first_step_nu(A: Tensor, B: Tensor, G: Tensor, optimizer: str = "sgd",
                  scale: float = 1.0) -> float:
    """ν[ΔW¹]/η² of the first LoRA step, to first order in η, for W_LoRA = s(BA − B₀A₀) and a
    weight gradient G = ∇_W L (out × in) at the start: the factor gradients are
    g_A = s BᵀG, g_B = s G Aᵀ, and the first update is ΔW¹ = s(ΔB A + B ΔA) + O(η²) with
    ΔA = −η g_A (SGD) or −η sign(g_A) (Adam's first step, m̂/√v̂ = g/|g|, ε → 0; a zero
    gradient entry does not move).  For SGD, divided by ν[G] this is the measured k̂₁ that
    LoRAM's Prop. 2 predicts to be k₁ = `update_rate(A, B)` when G is independent of A, B."""
    gA, gB = scale * B.T @ G, scale * G @ A.T
    if optimizer == "adam":
        gA, gB = torch.sign(gA), torch.sign(gB)
    elif optimizer != "sgd":
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    return float(nu(scale * (gB @ A + B @ gA)))


def nu(M: Tensor) -> Tensor:
    """ν[M] = ‖M‖_F² / (rows·cols) (docs/theory.md §4), over the last two dims (a run dim is
    kept)."""
    return M.pow(2).mean(dim=(-2, -1))


def concentration(s: Tensor, r: int) -> Tensor:
    """ρ[r] = (mean of the top-r singular values)² / mean(s²) (LoRAM Eq. 8)."""
    s = torch.sort(s.abs(), descending=True).values
    return s[:r].mean() ** 2 / s.pow(2).mean()


def gain(s: Tensor, r: int) -> Tensor:
    """Q[r] = ρ[r]·r/R ∈ [0, 1] (LoRAM Eq. 9–10; Cauchy–Schwarz), R = len(s)."""
    return concentration(s, r) * r / s.numel()


def loram_gain_log(r: int, n: int, m: int) -> float:
    """LoRAM's logarithmic approximation Q ≈ ln r / ln min(n, m) (LoRAM §3.2)."""
    if r < 1 or min(n, m) < 2:
        raise ValueError(f"need r ≥ 1 and min(n, m) ≥ 2, got r={r}, n={n}, m={m}")
    return math.log(r) / math.log(min(n, m))
