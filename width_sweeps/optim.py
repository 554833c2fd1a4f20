"""Batched Adam and SGD on stacked parameters `(R, ...)` with per-run learning rates.

Adam is elementwise, so a per-run rate is a broadcast, not a loop (DESIGN, "where performance
comes from").  The update follows `torch.optim.Adam` (bias-corrected, `ε` added to `√v̂`) and
plain `torch.optim.SGD`, so the per-run reference loop matches it to rounding.

Adam runs ATen's fused multi-tensor kernel (`torch._fused_adam_`, the kernel behind
`torch.optim.Adam(fused=True)`): one pass over p, g, m, v per tensor, vectorised, on CPU and CUDA.
Its rate is one number per call, so the runs of a shard are grouped by rate (the rates are known
on the host from the spec: no device sync) and each group is one call over the per-run slices —
or over the stacked tensor itself when every run has the rate and a run's size is a multiple of
64 (of every vector width: the kernel's scalar tail then never falls inside a run, so the
numbers are the slices' bit for bit).
On this CPU it is 3.4× faster than the `torch.compile`d kernel and 7× faster than eager for
(8 runs × 131k) float32, 23× faster than eager for (40 × 262k) float64 (benchmarks/RESULTS.md).
When the kernel is missing (older torch) the eager/compiled kernel below is used.

Runs whose `alive` flag is False: SGD gives them rate 0; fused Adam keeps stepping them (their
state is already non-finite or exploded, every output of theirs is masked by the engine, and runs
never mix, so this is unobservable and saves a device sync).  `step` returns the updates
`u = p_new − p` only on the eager/compiled path; the engine takes `θ_t − θ_{t−1}` itself on
probed steps (the reference's definition).
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


def _state(store: Params, k: str, like: Tensor, make) -> Tensor:
    """`store[k]`, created once by `make(like)` (not `setdefault`, whose default argument would
    allocate — and page-fault — a parameter-sized tensor on every call)."""
    t = store.get(k)
    if t is None:
        t = store[k] = make(like)
    return t


def has_fused_adam() -> bool:
    return hasattr(torch, "_fused_adam_")


@dataclass
class BatchedSGD:
    """`p ← p − η_run g` for every run at once; `step` returns the updates `u = p_new − p`."""
    lr: dict[str, Tensor]                       # name → (R,) rates
    u: Params = field(default_factory=dict)

    @torch.no_grad()
    def step(self, params: Params, grads: Params, alive: Tensor) -> Params:
        for k, p in params.items():
            u = _state(self.u, k, p, torch.empty_like)
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


def rate_groups(rates: list[float]) -> list[tuple[float, list[int]]]:
    """Runs grouped by equal rate, in first-seen order: [(η, [run indices])]."""
    groups: dict[float, list[int]] = {}
    for i, r in enumerate(rates):
        groups.setdefault(float(r), []).append(i)
    return list(groups.items())


@dataclass
class BatchedAdam:
    """Adam (Kingma & Ba; torch.optim.Adam semantics, no weight decay) with per-run rates.

    `lr` holds `(R,)` rate tensors; `host_lr` (optional) the same rates as Python floats, which
    selects ATen's fused kernel (one call per distinct rate).  Without it (or without the
    kernel) the step is the eager kernel, or the `torch.compile`d one with `compiled=True`."""
    lr: dict[str, Tensor]
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    compiled: bool = False
    host_lr: dict[str, list[float]] | None = None
    t: int = 0
    m: Params = field(default_factory=dict)
    v: Params = field(default_factory=dict)
    u: Params = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fused = self.host_lr is not None and has_fused_adam()
        self._kernel = (torch.compile(adam_kernel, dynamic=False)
                        if self.compiled and not self.fused else adam_kernel)
        self._groups = ({k: rate_groups(v) for k, v in self.host_lr.items()}
                        if self.fused and self.host_lr is not None else {})
        self._step_t: dict[torch.device, Tensor] = {}

    @torch.no_grad()
    def step(self, params: Params, grads: Params, alive: Tensor) -> Params:
        b1, b2 = self.betas
        self.t += 1
        if self.fused:
            self._fused_step(params, grads)
            return {}
        bc1 = 1 - b1 ** self.t
        for k, p in params.items():
            m = _state(self.m, k, p, torch.zeros_like)
            v = _state(self.v, k, p, torch.zeros_like)
            u = _state(self.u, k, p, torch.empty_like)
            coef = (-self.lr[k] * alive / bc1).view(-1, 1)
            bc2 = torch.tensor(math.sqrt(1 - b2 ** self.t), dtype=p.dtype, device=p.device)
            R = p.shape[0]
            self._kernel(p.detach().view(R, -1), grads[k].reshape(R, -1), m.view(R, -1),
                         v.view(R, -1), u.view(R, -1), coef, bc2, b1, b2, self.eps)
        return self.u

    def _fused_step(self, params: Params, grads: Params) -> None:
        b1, b2 = self.betas
        for dev in {p.device for p in params.values()}:   # the step the kernel corrects with
            if dev not in self._step_t:
                self._step_t[dev] = torch.zeros((), dtype=torch.float32, device=dev)
            self._step_t[dev].fill_(self.t)
        for k, p in params.items():
            m = _state(self.m, k, p, torch.zeros_like)
            v = _state(self.v, k, p, torch.zeros_like)
            st, g = self._step_t[p.device], grads[k].contiguous()   # the kernel reads flat memory
            for lr, idx in self._groups[k]:
                if len(idx) == p.shape[0] and p[0].numel() % 64 == 0:
                    # one rate for every run: the stacked tensors in one piece.  The kernel is
                    # elementwise, vectorised with a scalar tail; with a run's size a multiple
                    # of every vector width the result is the per-run slices' bit for bit
                    ts = [p.detach()], [g], [m], [v]
                else:
                    ts = ([p.detach()[i] for i in idx], [g[i] for i in idx],
                          [m[i] for i in idx], [v[i] for i in idx])
                torch._fused_adam_(*ts, [], [st] * len(ts[0]), lr=lr, beta1=b1, beta2=b2,
                                   weight_decay=0.0, eps=self.eps, amsgrad=False,
                                   maximize=False)


def make_optimizer(name: str, lr: dict[str, Tensor], *, betas: tuple[float, float] = (0.9, 0.999),
                   eps: float = 1e-8, compiled: bool = False,
                   host_lr: dict[str, list[float]] | None = None) -> BatchedAdam | BatchedSGD:
    """`adam` or `sgd` over stacked parameters with per-run rates `lr[name]: (R,)`
    (`host_lr`: the same rates as floats, for Adam's fused kernel)."""
    if name == "adam":
        b1, b2 = betas                              # a list (from a spec file) or a tuple
        return BatchedAdam(lr, betas=(b1, b2), eps=eps, compiled=compiled, host_lr=host_lr)
    if name == "sgd":
        return BatchedSGD(lr)
    raise ValueError(f"unknown optimizer {name!r}")
