"""Per-step probes of the probed LoRA layer on a fixed probe batch (THEORY §2 Eq. 2, §4).

Definitions are those of the reference loop (`toy_models.train`), batched over runs.  With
`z_t` the layer's input on the probe batch under θ_t, `s` its scale, and parameters before
(`A_{t−1}, B_{t−1}`) and after (`A_t, B_t`) step t:
* `Z_A = A_t z_t`, `Z_B = s·B_t A_t z_t` (the subtracted `s·B₀A₀z` is not part of Z_B);
* `δ¹ = s·B_{t−1}ΔA_t z_{t−1}`, `δ² = s·ΔB_t A_{t−1} z_{t−1}`, `δ³ = s·ΔB_tΔA_t z_{t−1}`, and
  `dZ_B = δ¹+δ²+δ³` (an extra: the per-step feature update, used by the max-lr search);
* `ν[M] = ‖M‖²_F/(rows·cols)` of `A_t`, `B_t` and `W_LoRA = s(B_tA_t − B₀A₀)` — the last from
  2r×2r Gram matrices, never an out×in matrix per run;
* `grad_nu = ν[G]`, `G = dZ̄ᵀ z` (out×in, the layer's weight gradient on the training batch),
  from b×b Gram matrices.
All are means over entries (probe batch included), one value per run, kept on the device.
When z is shared by the runs (stride-0 run dim: theory layer, toy) `Z_A`, `Z_B` are carried
forward exactly (`Z_B^t = Z_B^{t−1} + dZ_B`), saving two matmuls per step.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

QUANTITIES = ("Z_A", "Z_B", "delta1", "delta2", "delta3", "dZ_B", "nu_A", "nu_B", "nu_W",
              "grad_nu", "loss")
TEST = ("test_loss", "test_acc")


def rms(x: Tensor) -> Tensor:
    """Root mean square over all but the leading run dim."""
    return x.pow(2).flatten(1).mean(1).sqrt()


def mean_square(x: Tensor) -> Tensor:
    return x.pow(2).flatten(1).mean(1)


def shared(z: Tensor) -> Tensor | None:
    """The (batch, in) input when the run dim of `z: (R, batch, in)` is a broadcast."""
    return z[0] if z.dim() == 3 and z.stride(0) == 0 else None


def nu_lora(s: float, A0: Tensor, B0: Tensor, A: Tensor, B: Tensor,
            gA0: Tensor | None = None) -> Tensor:
    """ν[s(BA − B₀A₀)] from r×r Gram matrices, never an out×in matrix.

    With ΔA = A − A₀, ΔB = B − B₀: BA − B₀A₀ = BΔA + ΔBA₀, so
    ‖·‖² = ⟨BᵀB, ΔAΔAᵀ⟩ + 2⟨BᵀΔB, ΔAA₀ᵀ⟩ + ⟨ΔBᵀΔB, A₀A₀ᵀ⟩ (no large cancelling terms)."""
    dA, dB = A - A0, B - B0
    Bt = B.transpose(1, 2)
    ga = dA @ torch.cat([dA, A0], dim=1).transpose(1, 2)        # [ΔAΔAᵀ | ΔAA₀ᵀ]  (R, r, 2r)
    r = A.shape[1]
    sq = ((Bt @ B) * ga[..., :r]).flatten(1).sum(1)
    sq = sq + 2 * ((Bt @ dB) * ga[..., r:]).flatten(1).sum(1)
    gA0 = A0 @ A0.transpose(1, 2) if gA0 is None else gA0                # constant: cached
    sq = sq + ((dB.transpose(1, 2) @ dB) * gA0).flatten(1).sum(1)
    return s * s * sq.clamp_min(0) / (B.shape[1] * A.shape[2])


def grad_nu(dzbar: Tensor, z: Tensor) -> Tensor:
    """ν[dZ̄ᵀ z] per run: `‖Σ_b dZ̄_b z_bᵀ‖² = Σ_bb' (dZ̄dZ̄ᵀ)_bb' (zzᵀ)_bb'`."""
    zs = shared(z)
    gz = zs @ zs.T if zs is not None else z @ z.transpose(1, 2)
    gd = dzbar @ dzbar.transpose(1, 2)
    return (gd * gz).flatten(1).sum(1) / (dzbar.shape[2] * z.shape[-1])


def _za(z: Tensor, A: Tensor) -> Tensor:
    """A z for every run: (R, P, r); z shared (P, in) or per run (R, P, in)."""
    return torch.matmul(z, A.transpose(1, 2))


@dataclass
class ProbeState:
    """What the probes carry from step to step (all on device)."""
    s: float
    A0: Tensor
    B0: Tensor
    z: Tensor            # z_t: (P, in) shared or (R, P, in)
    ZA: Tensor           # A_t z_t   (R, P, r)
    ZB: Tensor           # s B_t A_t z_t   (R, P, out)
    gA0: Tensor          # A₀A₀ᵀ   (R, r, r)


def start(z: Tensor, s: float, A: Tensor, B: Tensor) -> tuple[ProbeState, dict[str, Tensor]]:
    """Probe state and step-0 values; `z` is the tapped input (R, P, in)."""
    zs = shared(z)
    z = zs if zs is not None else z
    ZA = _za(z, A)
    ZB = s * ZA @ B.transpose(1, 2)
    A0 = A.detach().clone()
    st = ProbeState(s, A0, B.detach().clone(), z, ZA, ZB, A0 @ A0.transpose(1, 2))
    nan = torch.full_like(rms(ZA), float("nan"))
    vals = {"Z_A": rms(ZA), "Z_B": rms(ZB), "delta1": nan, "delta2": nan, "delta3": nan,
            "dZ_B": nan, "nu_A": mean_square(A), "nu_B": mean_square(B),
            "nu_W": nu_lora(s, st.A0, st.B0, A, B), "grad_nu": nan}
    return st, vals


@torch.no_grad()
def step(st: ProbeState, A_prev: Tensor, B_prev: Tensor, A: Tensor, B: Tensor,
         z_new: Tensor) -> dict[str, Tensor]:
    """Probe values of one step (all but grad_nu and loss); updates `st` in place."""
    s = st.s
    dZA = _za(st.z, A - A_prev)                             # ΔA_t z_{t−1}
    dB = (B - B_prev).transpose(1, 2)
    d1 = s * dZA @ B_prev.transpose(1, 2)
    d2 = s * st.ZA @ dB
    d3 = s * dZA @ dB
    dZB = d1 + d2 + d3
    zs = shared(z_new)
    if zs is not None:                                      # z_t = z_{t−1}: exact carry
        st.ZA, st.ZB = st.ZA + dZA, st.ZB + dZB
    else:
        st.z = z_new
        st.ZA = _za(z_new, A)
        st.ZB = s * st.ZA @ B.transpose(1, 2)
    return {"Z_A": rms(st.ZA), "Z_B": rms(st.ZB), "delta1": rms(d1), "delta2": rms(d2),
            "delta3": rms(d3), "dZ_B": rms(dZB), "nu_A": mean_square(A),
            "nu_B": mean_square(B), "nu_W": nu_lora(s, st.A0, st.B0, A, B, st.gA0)}
