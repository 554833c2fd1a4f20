"""Batched Adam and SGD on stacked parameters `(R, ...)` with per-run learning rates.

Adam is elementwise, so a per-run rate is a broadcast of an `(R,)` tensor, not a loop (DESIGN,
"where performance comes from").  The update follows `torch.optim.Adam` (bias-corrected, `ε`
added to `√v̂`) and plain `torch.optim.SGD`, so the per-run reference loop matches it to rounding.
Runs whose `alive` flag is False take no step (their parameters stay frozen).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

Params = dict[str, Tensor]


def _per_run(v: Tensor, like: Tensor) -> Tensor:
    """Reshape an `(R,)` tensor to broadcast against `like: (R, ...)`."""
    return v.view(-1, *([1] * (like.dim() - 1)))


@dataclass
class BatchedSGD:
    """`p ← p − η_run g` for every run at once."""
    lr: dict[str, Tensor]                       # name → (R,) rates

    @torch.no_grad()
    def step(self, params: Params, grads: Params, alive: Tensor) -> None:
        for k, p in params.items():
            rate = _per_run(self.lr[k] * alive, p)
            p.sub_(rate * torch.nan_to_num(grads[k], 0.0, 0.0, 0.0))


@dataclass
class BatchedAdam:
    """Adam (Kingma & Ba; torch.optim.Adam semantics, no weight decay) with `(R,)` rates."""
    lr: dict[str, Tensor]
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    t: int = 0
    m: Params = field(default_factory=dict)
    v: Params = field(default_factory=dict)

    @torch.no_grad()
    def step(self, params: Params, grads: Params, alive: Tensor) -> None:
        b1, b2 = self.betas
        self.t += 1
        bc1 = 1 - b1 ** self.t
        bc2_sqrt = math.sqrt(1 - b2 ** self.t)
        for k, p in params.items():
            g = torch.nan_to_num(grads[k], 0.0, 0.0, 0.0)
            m = self.m.setdefault(k, torch.zeros_like(p))
            v = self.v.setdefault(k, torch.zeros_like(p))
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            step = _per_run(self.lr[k] * alive / bc1, p)
            p.sub_(step * m / denom)


def make_optimizer(name: str, lr: dict[str, Tensor], *, betas: tuple[float, float] = (0.9, 0.999),
                   eps: float = 1e-8) -> BatchedAdam | BatchedSGD:
    """`adam` or `sgd` over stacked parameters with per-run rates `lr[name]: (R,)`."""
    if name == "adam":
        return BatchedAdam(lr, betas=tuple(betas), eps=eps)
    if name == "sgd":
        return BatchedSGD(lr)
    raise ValueError(f"unknown optimizer {name!r}")
