"""Batched Adam and SGD on stacked parameters `(R, ...)` with per-run learning rates.

Adam is elementwise, so a per-run rate is a broadcast of an `(R,)` tensor, not a loop (DESIGN,
"where performance comes from").  The update follows `torch.optim.Adam` (bias-corrected, `ε`
added to `√v̂`) and plain `torch.optim.SGD`, so the per-run reference loop matches it to rounding.
Runs whose `alive` flag is False take no step (rate 0: their parameters stay frozen; a run
whose state is already non-finite stays non-finite and is masked by the engine).
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
    """`p ← p − η_run g` for every run at once; `step` returns the updates `u = p_new − p`."""
    lr: dict[str, Tensor]                       # name → (R,) rates
    u: Params = field(default_factory=dict)

    @torch.no_grad()
    def step(self, params: Params, grads: Params, alive: Tensor) -> Params:
        for k, p in params.items():
            u = self.u.setdefault(k, torch.empty_like(p))
            torch.mul(grads[k], _per_run(-self.lr[k] * alive, p), out=u)
            p.add_(u)
        return self.u


def adam_kernel(p: Tensor, g: Tensor, m: Tensor, v: Tensor, u: Tensor, coef: Tensor,
                bc2_sqrt: Tensor, b1: float, b2: float, eps: float) -> None:
    """One Adam step on flat `(R, N)` views, in place: `u = coef·m̂/(√v̂ + ε)`, `p += u`
    (`coef = −η_run/(1−β₁ᵗ)`, `(R, 1)`).  Compiled, it is one fused pass over memory."""
    m.lerp_(g, 1 - b1)
    v.mul_(b2).add_(g * g * (1 - b2))
    u.copy_(m / (v.sqrt() / bc2_sqrt + eps) * coef)
    p.add_(u)


@dataclass
class BatchedAdam:
    """Adam (Kingma & Ba; torch.optim.Adam semantics, no weight decay) with `(R,)` rates.

    In place on persistent buffers: on CPU, allocating parameter-sized temporaries costs more
    than the arithmetic.  `compiled=True` fuses the step with `torch.compile` (one pass over
    p, g, m, v instead of ~9; the first call compiles).  `step` returns the updates
    `u = p_new − p`."""
    lr: dict[str, Tensor]
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    compiled: bool = False
    t: int = 0
    m: Params = field(default_factory=dict)
    v: Params = field(default_factory=dict)
    u: Params = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._kernel = torch.compile(adam_kernel, dynamic=False) if self.compiled else adam_kernel

    @torch.no_grad()
    def step(self, params: Params, grads: Params, alive: Tensor) -> Params:
        b1, b2 = self.betas
        self.t += 1
        bc1 = 1 - b1 ** self.t
        for k, p in params.items():
            m = self.m.setdefault(k, torch.zeros_like(p))
            v = self.v.setdefault(k, torch.zeros_like(p))
            u = self.u.setdefault(k, torch.empty_like(p))
            coef = (-self.lr[k] * alive / bc1).view(-1, 1)
            bc2 = torch.tensor(math.sqrt(1 - b2 ** self.t), dtype=p.dtype, device=p.device)
            R = p.shape[0]
            self._kernel(p.detach().view(R, -1), grads[k].reshape(R, -1), m.view(R, -1),
                         v.view(R, -1), u.view(R, -1), coef, bc2, b1, b2, self.eps)
        return self.u


def make_optimizer(name: str, lr: dict[str, Tensor], *, betas: tuple[float, float] = (0.9, 0.999),
                   eps: float = 1e-8, compiled: bool = False) -> BatchedAdam | BatchedSGD:
    """`adam` or `sgd` over stacked parameters with per-run rates `lr[name]: (R,)`."""
    if name == "adam":
        return BatchedAdam(lr, betas=tuple(betas), eps=eps, compiled=compiled)
    if name == "sgd":
        return BatchedSGD(lr)
    raise ValueError(f"unknown optimizer {name!r}")
