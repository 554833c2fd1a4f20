"""Per-step probes of the probed LoRA layer on a fixed probe batch (docs/theory.md §2 Eq. 2, §4).

Definitions are those of the reference loop (`toy_models.train`), batched over runs.  With
`z_t` the layer's input on the probe batch under θ_t, `s` its scale, and parameters before
(`A_{t−1}, B_{t−1}`) and after (`A_t, B_t`) step t:
* `Z_A = A_t z_t`, its update part `dZ_A = (A_t − A₀) z_t` (gamma_calc predicts both: when
  `A₀z` is Θ(1) and the update part grows, Z_A's finite-width slope mixes the two),
  `Z_B = s·B_t A_t z_t` (the subtracted `s·B₀A₀z` is not part of Z_B);
* `δ¹ = s·B_{t−1}ΔA_t z_{t−1}`, `δ² = s·ΔB_t A_{t−1} z_{t−1}`, `δ³ = s·ΔB_tΔA_t z_{t−1}`, and
  `dZ_B = δ¹+δ²+δ³` (an extra: the per-step feature update, used by the max-lr search);
* `ν[M] = ‖M‖²_F/(rows·cols)` of `A_t`, `B_t` and `W_LoRA = s(B_tA_t − B₀A₀)` — the last from
  2r×2r Gram matrices, never an out×in matrix per run;
* `grad_nu = ν[G]`, `G = dZ̄ᵀ z` (out×in, the layer's weight gradient on the training batch),
  from b×b Gram matrices.
All are means over entries (probe batch included), one value per run, kept on the device.
"""
from __future__ import annotations

import torch
from torch import Tensor

from gamma_calc.vocab import PROBES

QUANTITIES = PROBES
TEST = ("test_loss", "test_acc")


def mean_square(x: Tensor) -> Tensor:
    """Mean square over all but the leading run dim (no full-size temporary)."""
    return torch.linalg.vector_norm(x.flatten(1), dim=1).square() / x[0].numel()


def rms(x: Tensor) -> Tensor:
    """Root mean square over all but the leading run dim."""
    return torch.linalg.vector_norm(x.flatten(1), dim=1) / x[0].numel() ** 0.5


def shared(z: Tensor) -> Tensor | None:
    """The (batch, in) input when the run dim of `z: (R, batch, in)` is a broadcast."""
    return z[0] if z.dim() == 3 and z.stride(0) == 0 else None


def nu_lora(s: float, A0: Tensor, B: Tensor, dA: Tensor, dB: Tensor, gA0: Tensor) -> Tensor:
    """ν[s(BA − B₀A₀)] from r×r Gram matrices, never an out×in matrix.

    With ΔA = A − A₀, ΔB = B − B₀: BA − B₀A₀ = BΔA + ΔBA₀, so
    ‖·‖² = ⟨BᵀB, ΔAΔAᵀ⟩ + 2⟨BᵀΔB, ΔAA₀ᵀ⟩ + ⟨ΔBᵀΔB, A₀A₀ᵀ⟩ (no large cancelling terms);
    `gA0 = A₀A₀ᵀ` is constant."""
    Bt, dAt = B.transpose(1, 2), dA.transpose(1, 2)
    sq = ((Bt @ B) * (dA @ dAt)).sum((1, 2))
    sq = sq + 2 * ((Bt @ dB) * (dA @ A0.transpose(1, 2))).sum((1, 2))
    sq = sq + ((dB.transpose(1, 2) @ dB) * gA0).sum((1, 2))
    return s * s * sq.clamp_min(0) / (B.shape[1] * A0.shape[2])


def grad_nu(dzbar: Tensor, z: Tensor) -> Tensor:
    """ν[dZ̄ᵀ z] per run: `‖Σ_b dZ̄_b z_bᵀ‖² = Σ_bb' (dZ̄dZ̄ᵀ)_bb' (zzᵀ)_bb'`."""
    zs = shared(z)
    gz = zs @ zs.T if zs is not None else z @ z.transpose(1, 2)
    gd = dzbar @ dzbar.transpose(1, 2)
    return (gd * gz).flatten(1).sum(1) / (dzbar.shape[2] * z.shape[-1])


def za(z: Tensor, A: Tensor) -> Tensor:
    """`z Aᵀ` for every run (R, P, r): z shared (P, in) → one matrix product; else batched."""
    if z.dim() == 2:
        R, r, n = A.shape
        return (A.reshape(R * r, n) @ z.T).view(R, r, z.shape[0]).transpose(1, 2)
    return torch.matmul(z, A.transpose(1, 2))


class Tracker:
    """Probes on recorded steps only (engine `probe_every`), from parameters before and after.

    It keeps θ₀ and, on a recorded step t, copies θ_{t−1} just before the optimizer step; then
    `ΔA = A_t − A_{t−1}`, `ΔB = B_t − B_{t−1}` (the reference's definitions), `A_t − A₀`,
    `B_t − B₀` are taken from the parameters directly.  Nothing runs on unrecorded steps."""

    def __init__(self, s: float, A: Tensor, B: Tensor) -> None:
        self.s = s
        self.A0, self.B0 = A.detach().clone(), B.detach().clone()
        self.gA0 = self.A0 @ self.A0.transpose(1, 2)
        self.Ap = torch.empty_like(self.A0)
        self.Bp = torch.empty_like(self.B0)
        self.ZAp: Tensor | None = None
        self.z: Tensor | None = None            # z_{t−1}: probe-layer input under θ_{t−1}

    def initial(self, A: Tensor, B: Tensor, ZA: Tensor, ZB: Tensor) -> dict[str, Tensor]:
        """Step-0 values (θ₀): δ's and grad_nu undefined (NaN), ν[W_LoRA] = 0."""
        nan = torch.full_like(ZB, float("nan"))
        return {"Z_A": rms(ZA), "dZ_A": torch.zeros_like(ZB), "Z_B": ZB, "delta1": nan, "delta2": nan, "delta3": nan,
                "dZ_B": nan, "nu_A": mean_square(A.detach()), "nu_B": mean_square(B.detach()),
                "nu_W": torch.zeros_like(nan), "grad_nu": nan}

    @torch.no_grad()
    def update_part(self, A: Tensor) -> Tensor:
        """RMS of `(A_t − A₀) z_t` (`self.z` = z_t, the input under θ_t)."""
        return rms(za(self.z, A - self.A0))

    @torch.no_grad()
    def before(self, A: Tensor, B: Tensor) -> None:
        """θ_{t−1} (call just before the optimizer step of a recorded step t)."""
        self.Ap.copy_(A)
        self.Bp.copy_(B)
        self.ZAp = za(self.z, self.Ap)                         # A_{t−1} z_{t−1}

    @torch.no_grad()
    def after(self, A: Tensor, B: Tensor) -> dict[str, Tensor]:
        """δ¹, δ², δ³, dZ_B, ν's of step t (call right after the optimizer step)."""
        s = self.s
        dA = torch.sub(A, self.Ap, out=self.Ap)                # ΔA_t (in the A_{t−1} buffer)
        dZA = za(self.z, dA)                                   # ΔA_t z_{t−1}
        d1 = s * dZA @ self.Bp.transpose(1, 2)                 # s·B_{t−1}ΔA z
        dB = torch.sub(B, self.Bp, out=self.Bp)                # ΔB_t
        dBt = dB.transpose(1, 2)
        d2 = s * self.ZAp @ dBt                                # s·ΔB A_{t−1} z
        d3 = s * dZA @ dBt                                     # s·ΔB ΔA z
        dzb = d1 + d2 + d3
        vals = {"delta1": rms(d1), "delta2": rms(d2), "delta3": rms(d3), "dZ_B": rms(dzb)}
        dA = torch.sub(A, self.A0, out=self.Ap)                # A_t − A₀
        dB = torch.sub(B, self.B0, out=self.Bp)                # B_t − B₀
        vals.update(nu_A=mean_square(A), nu_B=mean_square(B),
                    nu_W=nu_lora(s, self.A0, B, dA, dB, self.gA0))
        return vals
