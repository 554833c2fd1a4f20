"""The LoRA layer: frozen W (out × in) plus trainable A (r × in), B (out × r).

Forward (docs/theory.md §2, LoRAM Eq. 1 with the init offset of LoRAM):

    Z̄ = W z + s·B A z − s·B₀' A₀' z,        s = α/r   (rsLoRA: s = α/√r)

The last term is present only for schemes that subtract their initial product from W
(Init[AB], PiSSA, LoRAM, ...): instead of materialising a per-run residual W − s·B₀A₀, we
keep W shared and subtract the (frozen, per-run) low-rank product on the fly, so W is never
copied per run.  Layout is PyTorch's: W is out × in and a batch is x @ W.T.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["LoRALinear", "lora_apply", "lora_delta", "lora_scale"]


def lora_scale(r: int, alpha: float | None = None, rslora: bool = False) -> float:
    """s = α/r (Hu et al.) or α/√r (rsLoRA); `alpha=None` means α = r (resp. √r), i.e. s = 1."""
    if r <= 0:
        raise ValueError(f"LoRA rank must be positive, got {r}")
    denom = math.sqrt(r) if rslora else float(r)
    return 1.0 if alpha is None else float(alpha) / denom


def _lowrank(x: Tensor, A: Tensor, B: Tensor) -> Tensor:
    """(x Aᵀ) Bᵀ with broadcasting over a leading run dim: two thin batched matmuls."""
    if A.dim() == 2:
        return (x @ A.transpose(-1, -2)) @ B.transpose(-1, -2)
    if x.dim() == 2:  # shared input (batch, in) for every run
        x = x.unsqueeze(0)
    return torch.matmul(torch.matmul(x, A.transpose(-1, -2)), B.transpose(-1, -2))


def lora_delta(x: Tensor, A: Tensor, B: Tensor, scale: float,
               A0: Tensor | None = None, B0: Tensor | None = None) -> Tensor:
    """The low-rank part s·(B A − B₀ A₀) x of the forward.

    Shapes: `x` (batch, in) shared or (runs, batch, in); `A` (runs, r, in), `B` (runs, out, r)
    (or no run dim at all) → (runs, batch, out).  `A0, B0` (same shapes, optional) are the
    frozen initial factors subtracted by the subtracting schemes.
    """
    out = _lowrank(x, A, B)
    if A0 is not None and B0 is not None:
        out = out - _lowrank(x, A0, B0)
    return scale * out


def lora_apply(x: Tensor, W: Tensor, A: Tensor, B: Tensor, scale: float,
               A0: Tensor | None = None, B0: Tensor | None = None) -> Tensor:
    """x Wᵀ + s·(x Aᵀ Bᵀ − x A₀ᵀ B₀ᵀ): `W` (out, in) is shared, computed once, never copied.

    With a run dim on A, B the result is (runs, batch, out); `x @ W.T` is evaluated once on
    the shared input (or once as one batched matmul when x carries its own run dim).
    """
    return x @ W.T + lora_delta(x, A, B, scale, A0, B0)


class LoRALinear(nn.Module):
    """A single-run LoRA layer (nn.Module): frozen buffer `weight`, parameters `A`, `B`.

    `A0`, `B0` (buffers, optional) hold the initial product to subtract (see module doc).
    """

    weight: Tensor
    A0: Tensor | None
    B0: Tensor | None

    def __init__(self, weight: Tensor, A: Tensor, B: Tensor, scale: float,
                 A0: Tensor | None = None, B0: Tensor | None = None) -> None:
        super().__init__()
        out_f, in_f = weight.shape
        if A.shape[-1] != in_f or B.shape[-2] != out_f or A.shape[-2] != B.shape[-1]:
            raise ValueError(f"shape mismatch: W {tuple(weight.shape)}, A {tuple(A.shape)}, "
                             f"B {tuple(B.shape)}")
        self.register_buffer("weight", weight.detach())
        self.A = nn.Parameter(A.detach().clone())
        self.B = nn.Parameter(B.detach().clone())
        self.register_buffer("A0", None if A0 is None else A0.detach().clone())
        self.register_buffer("B0", None if B0 is None else B0.detach().clone())
        self.scale = float(scale)

    @property
    def r(self) -> int:
        return self.A.shape[0]

    def forward(self, x: Tensor) -> Tensor:
        return lora_apply(x, self.weight, self.A, self.B, self.scale, self.A0, self.B0)

    def merged_weight(self) -> Tensor:
        """W + s·(B A − B₀ A₀): the effective dense weight (out × in)."""
        W = self.weight + self.scale * (self.B @ self.A)
        if self.A0 is not None and self.B0 is not None:
            W = W - self.scale * (self.B0 @ self.A0)
        return W
