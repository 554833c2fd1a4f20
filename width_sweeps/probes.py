"""Per-step probes of the LoRA layer on a fixed probe batch (THEORY §2 Eq. 2, §4).

With `z` the probed layer's input on the probe batch, `s` its scale and parameters before
(`A_{t−1}, B_{t−1}`) and after (`A_t, B_t`) step t:
* `Z_A = A_t z`, `Z_B = s·B_t A_t z` (kept as `Z_B^{t−1} + δ¹ + δ² + δ³`, an exact identity);
* `δ¹ = s·B_{t−1}ΔA_t z`, `δ² = s·ΔB_t A_{t−1} z`, `δ³ = s·ΔB_tΔA_t z`, `dZ_B = δ¹+δ²+δ³`;
* `ν[M] = ‖M‖²_F/(rows·cols)` for `A_t`, `B_t` and `W_LoRA = s(B_tA_t − B_0A_0)` — the last from
  2r×2r Gram matrices, never forming an out×in matrix per run;
* `grad_nu` = mean square entry of the raw gradient (A and B together) of step t.
Every value is the RMS over entries (probe batch × features), one number per run, on device.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

LAYER = ("Z_A", "Z_B", "delta1", "delta2", "delta3", "dZ_B", "nu_A", "nu_B", "nu_W", "grad_nu")
QUANTITIES = LAYER + ("loss",)
TEST = ("test_loss", "test_acc")


def rms(x: Tensor) -> Tensor:
    """Root mean square over all but the leading run dim."""
    return x.pow(2).flatten(1).mean(1).sqrt()


def mean_square(x: Tensor) -> Tensor:
    return x.pow(2).flatten(1).mean(1)


def nu_lora(s: float, A0: Tensor, B0: Tensor, A: Tensor, B: Tensor) -> Tensor:
    """ν[s(BA − B₀A₀)] via `BA − B₀A₀ = [B, B−B₀]·[A−A₀; A₀]` and `‖UV‖² = Σ(UᵀU ∘ VVᵀ)`."""
    U = torch.cat([B, B - B0], dim=2)                      # (R, out, 2r)
    V = torch.cat([A - A0, A0], dim=1)                     # (R, 2r, in)
    gu = U.transpose(1, 2) @ U
    gv = V @ V.transpose(1, 2)
    sq = (gu * gv).flatten(1).sum(1).clamp_min(0)
    return s * s * sq / (B.shape[1] * A.shape[2])


@dataclass
class ProbeState:
    """What the probes carry from step to step (all on device)."""
    z: Tensor            # (in, P): probe inputs of the LoRA layer, transposed
    s: float
    A0: Tensor
    B0: Tensor
    ZA: Tensor           # (R, r, P) = A_{t} z
    ZB: Tensor           # (R, out, P) = s B_t A_t z


def start(z: Tensor, s: float, A: Tensor, B: Tensor) -> tuple[ProbeState, dict[str, Tensor]]:
    """Probe state and step-0 values from the initial parameters; `z: (P, in)`."""
    zt = z.transpose(0, 1)
    ZA = A @ zt
    ZB = s * (B @ ZA)
    st = ProbeState(zt, s, A.detach().clone(), B.detach().clone(), ZA, ZB)
    nan = torch.full_like(rms(ZA), float("nan"))
    vals = {"Z_A": rms(ZA), "Z_B": rms(ZB), "delta1": nan, "delta2": nan, "delta3": nan,
            "dZ_B": nan, "nu_A": mean_square(A), "nu_B": mean_square(B),
            "nu_W": torch.zeros_like(nan), "grad_nu": nan}
    return st, vals


@torch.no_grad()
def step(st: ProbeState, A_prev: Tensor, B_prev: Tensor, A: Tensor, B: Tensor,
         grads: dict[str, Tensor]) -> dict[str, Tensor]:
    """Probe values of one step; updates `st` in place (Z_A, Z_B carried forward)."""
    s = st.s
    dZA = (A - A_prev) @ st.z                               # ΔA_t z        (R, r, P)
    dB = B - B_prev
    d1 = s * (B_prev @ dZA)
    d2 = s * (dB @ st.ZA)
    d3 = s * (dB @ dZA)
    dZB = d1 + d2 + d3
    st.ZA = st.ZA + dZA
    st.ZB = st.ZB + dZB
    g2 = sum(g.pow(2).flatten(1).sum(1) for g in (grads["A"], grads["B"]))
    count = grads["A"][0].numel() + grads["B"][0].numel()
    return {"Z_A": rms(st.ZA), "Z_B": rms(st.ZB), "delta1": rms(d1), "delta2": rms(d2),
            "delta3": rms(d3), "dZ_B": rms(dZB), "nu_A": mean_square(A),
            "nu_B": mean_square(B), "nu_W": nu_lora(s, st.A0, st.B0, A, B),
            "grad_nu": g2 / count}
