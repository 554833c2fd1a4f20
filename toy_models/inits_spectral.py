"""Weight-derived LoRA inits (one run, float64): PiSSA, MiLoRA, OLoRA, LoRAM, IniLoRA.

Each returns `(A0, B0)` with A0: r × in, B0: out × r for W: out × in.  The factors do not
depend on the LoRA scale s; the registry (`inits.py`) subtracts s·B0 A0 from W, so the
residual + s·B0 A0 reconstructs W exactly for every s.  (PEFT's `pissa` instead divides S by
s; both agree at s = 1, the PiSSA paper's setting.)
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from .spectral import dst_basis, haar_basis, loram_gain_log, nu, update_rate

__all__ = ["inilora_fit", "kaiming_std", "loram", "loram_beta", "loram_orth", "loram_tracking",
           "milora", "noise_zeros_std", "olora", "pissa", "pissa_update_rate", "tracking_beta"]


def _svd_split(W: Tensor, idx: slice) -> tuple[Tensor, Tensor]:
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    root = S[idx].sqrt()
    return root[:, None] * Vh[idx], U[:, idx] * root[None, :]


def pissa(W: Tensor, r: int) -> tuple[Tensor, Tensor]:
    """PiSSA (Meng et al. 2024; docs/theory.md §5.2): A0 = √S_r V_rᵀ, B0 = U_r √S_r, top-r
    triplets."""
    return _svd_split(W, slice(0, r))


def milora(W: Tensor, r: int) -> tuple[Tensor, Tensor]:
    """MiLoRA (Wang et al. 2025): as PiSSA with the bottom-r (minor) singular triplets."""
    k = min(W.shape)
    return _svd_split(W, slice(k - r, k))


def olora(W: Tensor, r: int) -> tuple[Tensor, Tensor]:
    """OLoRA (Büyükakyüz 2024): W = Q R (reduced QR), A0 = R[:r], B0 = Q[:, :r]."""
    Q, R = torch.linalg.qr(W)
    return R[:r].clone(), Q[:, :r].clone()


def loram_beta(W: Tensor, r: int) -> float:
    """LoRAM magnitude β = (Q ν[W] / ν[Φ_n Φ_mᵀ])^{1/4} with ν[Φ_nΦ_mᵀ] = r/(mn) and
    Q ≈ ln r / ln min(n, m) (LoRAM Eq. 11; docs/theory.md §4).  Then ν[β² Φ_n Φ_mᵀ] = Q ν[W]."""
    n, m = W.shape
    q = loram_gain_log(r, n, m)
    return (q * float(nu(W)) * m * n / r) ** 0.25


def _dst_factors(W: Tensor, r: int, beta: float) -> tuple[Tensor, Tensor]:
    n, m = W.shape
    phi_m = dst_basis(m, dtype=W.dtype, device=W.device)
    phi_n = dst_basis(n, dtype=W.dtype, device=W.device)
    return beta * phi_m[:, :r].T.contiguous(), beta * phi_n[:, :r].contiguous()


def loram(W: Tensor, r: int) -> tuple[Tensor, Tensor]:
    """LoRAM (Alg. 1; docs/theory.md §4): A0 = β Φ_mᵀ[:r] (rows), B0 = β Φ_n[:, :r], DST-I bases."""
    return _dst_factors(W, r, loram_beta(W, r))


def loram_orth(W: Tensor, r: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """LoRAM with a random orthogonal basis (The Primacy of Magnitude in Low-Rank Adaptation,
    arXiv 2507.06558, §4.3 ablation): A0 = β H_mᵀ, B0 = β H_n with Haar-random orthonormal
    columns H (m × r, n × r) in place of the DST's first r columns, LoRAM's β unchanged — so
    ν[A0], ν[B0] and k₁ equal LoRAM's exactly; only the basis differs (docs/theory.md §4)."""
    n, m = W.shape
    beta = loram_beta(W, r)
    H_m, H_n = haar_basis(m, r, g), haar_basis(n, r, g)
    return beta * H_m.T.to(W.device), beta * H_n.to(W.device)


def tracking_beta(k1_ref: float, r: int, n: int, m: int) -> float:
    """LoRAM's β in "tracking mode" (§4.3): the β whose basis factors β Φ have the reference
    init's k₁.  With ν[βΦ_mᵀ[:r]] = β²/m, ν[βΦ_n[:, :r]] = β²/n, k₁ = r β⁴ (1/m + 1/n), so
    β⁴ = k₁_ref m n / (r (m + n)).  For PiSSA/MiLoRA (‖A₀‖_F = ‖B₀‖_F = Σ s) this is
    β² = mean of the reference's r singular values: ν[A0], ν[B0] match too, not only k₁."""
    return (k1_ref * m * n / (r * (m + n))) ** 0.25


def loram_tracking(ref: Callable[[Tensor, int], tuple[Tensor, Tensor]]
                   ) -> Callable[[Tensor, int], tuple[Tensor, Tensor]]:
    """LoRAM's DST factors scaled to the k₁ of the reference init `ref` (e.g. `pissa`)."""
    def factors(W: Tensor, r: int) -> tuple[Tensor, Tensor]:
        A_ref, B_ref = ref(W, r)
        return _dst_factors(W, r, tracking_beta(update_rate(A_ref, B_ref), r, *W.shape))
    return factors


def pissa_update_rate(W: Tensor, r: int) -> float:
    """PiSSA's k₁ from the top-r singular values alone: ‖A₀‖_F² = ‖B₀‖_F² = Σ_{i≤r} s_i, so
    k₁ = (Σ_{i≤r} s_i)² (1/m + 1/n) / r (= Q (m + n) ν[W], LoRAM Eq. 10)."""
    n, m = W.shape
    s = torch.linalg.svdvals(W)[:r]
    return float(s.sum() ** 2 * (1 / m + 1 / n) / r)


def noise_zeros_std(k1_target: float, r: int, m: int) -> float:
    """σ_A of Noise & Zeros (B₀ = 0) whose k₁ = r m σ_A⁴ equals `k1_target`."""
    return (k1_target / (r * m)) ** 0.25


# IniLoRA's fit (IniLoRA Eq. 3).  The paper: Adam, lr 5e-4, StepLR, 20 000 steps on LLM
# weights of std ≈ 0.02.  Our choice, scale-free: Adam with lr = INILORA_LR_REL·σ̄ (σ̄ = std of
# W; the paper's ratio is 5e-4/0.02 = 0.025), INILORA_STEPS steps, the rate halved every
# steps/4 (StepLR, γ = 0.5).  The frozen residual absorbs any misfit exactly.
INILORA_STEPS = 400
INILORA_LR_REL = 0.1


def inilora_fit(W: Tensor, r: int, A: Tensor, B: Tensor, *, steps: int = INILORA_STEPS,
                lr_rel: float = INILORA_LR_REL, schedule_steps: int | None = None
                ) -> tuple[Tensor, Tensor]:
    """IniLoRA (Eq. 3; docs/theory.md §6.3): minimise ‖W − B A‖_F² with Adam (β = 0.9, 0.999, ε = 1e−8,
    written out: analytic gradients −2BᵀE, −2EAᵀ with E = W − BA) from the given start (the
    registry draws it from N(0, σ̄²)).  Deterministic given the start.  `schedule_steps` (default
    `steps`) sets the StepLR schedule, so `steps = k < schedule_steps` is checkpoint k of the
    longer fit (the paper's Fig. 2 checkpoints)."""
    lr0 = lr_rel * float(W.std())
    b1, b2, eps = 0.9, 0.999, 1e-8
    period = max(1, (schedule_steps or steps) // 4)
    A, B = A.clone(), B.clone()
    mA, vA, mB, vB = (torch.zeros_like(t) for t in (A, A, B, B))
    for t in range(1, steps + 1):
        lr = lr0 * 0.5 ** ((t - 1) // period)  # StepLR(schedule/4, γ = 0.5)
        E = W - B @ A
        gA, gB = -2 * B.T @ E, -2 * E @ A.T
        for p, g, m, v in ((A, gA, mA, vA), (B, gB, mB, vB)):
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v / (1 - b2 ** t)).sqrt_().add_(eps)
            p.addcdiv_(m, denom, value=-lr / (1 - b1 ** t))
    return A, B


def kaiming_std(fan_in: int) -> float:
    """Our Kaiming for LoRA factors: N(0, 1/fan_in) (INTERFACES; no ReLU gain)."""
    return 1.0 / math.sqrt(fan_in)
