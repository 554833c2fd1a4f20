"""The single-LoRA-layer theory model of docs/theory.md §2–3 (Beyond Zero Init §3.1; LoRA+ §4).

    Z̄ = W z + s·(B A − B₀A₀) z,     z ∈ Rⁿ with Θ(1) entries,     only A, B trained,
    L = ½ ‖Z̄ − y‖²  summed over the n outputs (mean over a small batch of data points).

Summing (not averaging) over the outputs makes the backpropagated signal dZ̄ = Z̄ − y a
Θ(1) vector per entry, i.e. γ[dZ̄] = 0 — the setting of docs/theory.md §3's SGD recursions.
Data: z ~ N(0, 1) (so ‖z‖² ≈ n), targets y ~ N(0, 1) per entry, both from `data_seed`.
W is zero (LoRA+ App. C's pretrained-weight-zero model) or Kaiming N(0, 1/n) (fan-in, no
ReLU gain), drawn from `frozen_seed`; the layer is square, n × n.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .base import lora_head, seeded
from .lora import lora_scale

__all__ = ["TheoryFrozen", "TheoryLayer", "TheoryPrefix", "make_theory_data"]


@dataclass(frozen=True)
class TheoryFrozen:
    W: Tensor  # n × n


@dataclass(frozen=True)
class TheoryPrefix:
    z: Tensor   # (batch, n), shared
    Wz: Tensor  # (batch, n) = z Wᵀ, computed once for all runs


@dataclass(frozen=True)
class TheoryLayer:
    """Config of the theory layer; the model methods follow base.LoRAModel."""

    width: int = 1024
    r: int = 4
    w_init: str = "kaiming"  # "kaiming" | "zero"
    alpha: float | None = None  # None: s = 1
    rslora: bool = False
    frozen_seed: int = 0

    def __post_init__(self) -> None:
        if self.w_init not in ("kaiming", "zero"):
            raise ValueError(f"w_init must be 'kaiming' or 'zero', got {self.w_init!r}")

    @property
    def scale(self) -> float:
        return lora_scale(self.r, self.alpha, self.rslora)

    @property
    def probe_layer(self) -> str:
        return "W"

    def build_frozen(self, *, dtype: torch.dtype = torch.float32,
                     device: torch.device | str = "cpu") -> TheoryFrozen:
        n = self.width
        if self.w_init == "zero":
            W = torch.zeros(n, n, dtype=torch.float64)
        else:
            g = seeded("frozen", self.frozen_seed)
            W = torch.randn(n, n, generator=g, dtype=torch.float64) / n ** 0.5
        return TheoryFrozen(W.to(dtype=dtype, device=device))

    def lora_weights(self, frozen: TheoryFrozen) -> dict[str, Tensor]:
        return {"W": frozen.W}

    def prefix(self, frozen: TheoryFrozen, x: Tensor) -> TheoryPrefix:
        return TheoryPrefix(x, x @ frozen.W.T)

    def head(self, frozen: TheoryFrozen, p: TheoryPrefix, lora: dict[str, Tensor],
             taps: dict[str, Tensor] | None = None) -> Tensor:
        return lora_head(p.z, p.Wz, lora, "W", self.scale, taps)

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        """½ Σ_outputs (Z̄ − y)², averaged over the batch → (runs,)."""
        return 0.5 * (outputs - y).pow(2).sum(-1).mean(-1)


def make_theory_data(width: int, batch: int = 1, *, data_seed: int = 0,
                     dtype: torch.dtype = torch.float32,
                     device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """(z, y), each (batch, width) with N(0, 1) entries (float64 draws, then cast)."""
    g = seeded("data", data_seed)
    z = torch.randn(batch, width, generator=g, dtype=torch.float64)
    y = torch.randn(batch, width, generator=g, dtype=torch.float64)
    return z.to(dtype=dtype, device=device), y.to(dtype=dtype, device=device)
