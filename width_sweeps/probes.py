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


def _za(z: Tensor, A: Tensor) -> Tensor:
    """A z for every run: (R, P, r); z shared (P, in) or per run (R, P, in)."""
    return torch.matmul(z, A.transpose(1, 2))


@dataclass
class ProbeState:
    """What the probes carry from step to step (all on device, updated in place)."""
    s: float
    A0: Tensor
    gA0: Tensor          # A₀A₀ᵀ   (R, r, r)
    dA: Tensor           # A_t − A₀ (sum of the updates)
    dB: Tensor           # B_t − B₀
    z: Tensor            # z_t: (P, in) shared or (R, P, in)
    ZA: Tensor           # A_t z_t   (R, P, r)
    ZB: Tensor           # s B_t A_t z_t   (R, P, out)
    buf: Tensor          # (4, R, P, out): δ¹, δ², δ³, dZ_B


def start(z: Tensor, s: float, A: Tensor, B: Tensor) -> tuple[ProbeState, dict[str, Tensor]]:
    """Probe state and step-0 values; `z` is the tapped input (R, P, in)."""
    zs = shared(z)
    z = zs if zs is not None else z
    A, B = A.detach(), B.detach()
    ZA = _za(z, A)
    ZB = s * ZA @ B.transpose(1, 2)
    A0 = A.clone()
    st = ProbeState(s, A0, A0 @ A0.transpose(1, 2), torch.zeros_like(A), torch.zeros_like(B),
                    z, ZA, ZB, ZB.new_empty((4, *ZB.shape)))
    nan = torch.full_like(rms(ZA), float("nan"))
    vals = {"Z_A": rms(ZA), "Z_B": rms(ZB), "delta1": nan, "delta2": nan, "delta3": nan,
            "dZ_B": nan, "nu_A": mean_square(A), "nu_B": mean_square(B),
            "nu_W": torch.zeros_like(nan), "grad_nu": nan}
    return st, vals


@torch.no_grad()
def step(st: ProbeState, A: Tensor, B: Tensor, uA: Tensor, uB: Tensor,
         z_new: Tensor) -> dict[str, Tensor]:
    """Probe values of one step from the new parameters and the updates `u = θ_t − θ_{t−1}`
    (all but grad_nu and loss); updates `st` in place.  δ¹ uses `B_{t−1} = B_t − ΔB_t`:
    `s·B_{t−1}ΔA z = s·B_tΔA z − δ³`."""
    s, (d1, d2, d3, dzb) = st.s, st.buf
    dZA = _za(st.z, uA)                                     # ΔA_t z_{t−1}   (R, P, r)
    uBt = uB.transpose(1, 2)
    torch.bmm(dZA, uBt, out=d3).mul_(s)
    torch.bmm(dZA, B.transpose(1, 2), out=d1).mul_(s).sub_(d3)
    torch.bmm(st.ZA, uBt, out=d2).mul_(s)
    torch.add(d1, d2, out=dzb).add_(d3)
    st.dA.add_(uA)
    st.dB.add_(uB)
    zs = shared(z_new)
    if zs is not None:                                      # z_t = z_{t−1}: exact carry
        st.ZA.add_(dZA)
        st.ZB.add_(dzb)
    else:
        st.z = z_new
        st.ZA = _za(z_new, A)
        st.ZB = s * st.ZA @ B.transpose(1, 2)
    return {"Z_A": rms(st.ZA), "Z_B": rms(st.ZB), "delta1": rms(d1), "delta2": rms(d2),
            "delta3": rms(d3), "dZ_B": rms(dzb), "nu_A": mean_square(A),
            "nu_B": mean_square(B), "nu_W": nu_lora(s, st.A0, B, st.dA, st.dB, st.gA0)}
