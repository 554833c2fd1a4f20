"""The batched engine: all runs of one shard train together as one computation (issue 4 §2).

Runs are stacked on a leading run dimension `R`; frozen state lives once per width (inside the
model), the frozen prefix is computed once per batch and shared by every run (and cached across
the shards of a width), the loss is summed over runs so one backward gives every run's gradient,
and the batched optimizer applies per-run rates as a broadcast.  Parameters named
`*.A0`, `*.B0` are per-run constants (the `B₀A₀` a subtracting init removes), not trained.  Nothing in the step loop calls
`.item()`: divergence flags and probes stay on the device and move to the host once per shard.
A run that diverges (non-finite or exploding probe loss, or non-finite training loss) records
the step it diverged, takes no further steps (rate 0) and is masked (NaN) from then on; the
other runs go on.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from . import probes
from .models import Params, SweepModel, accuracy
from .optim import make_optimizer
from .spec import RunConfig, SweepSpec


@dataclass
class PrefixCache:
    """Frozen-prefix outputs keyed by batch, shared by the shards of one width."""
    max_bytes: int = 2 << 30
    store: dict[Any, Any] = field(default_factory=dict)
    used: int = 0

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key in self.store:
            return self.store[key]
        val = compute()
        size = sum(t.numel() * t.element_size() for t in _tensors(val))
        if self.used + size <= self.max_bytes:
            self.store[key] = val
            self.used += size
        return val


def _tensors(val: Any) -> list[Tensor]:
    if isinstance(val, Tensor):
        return [val]
    if isinstance(val, (tuple, list)):
        return [t for v in val for t in _tensors(v)]
    if isinstance(val, dict):
        return [t for v in val.values() for t in _tensors(v)]
    return []


@dataclass
class ShardResult:
    """Host copy of one shard's measurements."""
    runs: list[RunConfig]
    quantities: tuple[str, ...]
    values: np.ndarray              # (steps + 1, Q, R)
    diverged_step: np.ndarray       # (R,), −1 when the run never diverged
    test: dict[str, np.ndarray]     # name → (R,) at the last step
    seconds: float


def init_params(model: SweepModel, runs: list[RunConfig]) -> Params:
    """Stack each run's initial LoRA parameters in run order (one init call per config group)."""
    groups: dict[tuple[str, float], list[int]] = {}
    for i, r in enumerate(runs):
        groups.setdefault((r.scheme, r.init_scale), []).append(i)
    parts, order = [], []
    for (scheme, beta), idx in groups.items():
        parts.append(model.init(scheme, beta, [runs[i].seed for i in idx]))
        order += idx
    inv = torch.empty(len(order), dtype=torch.long)
    inv[torch.tensor(order)] = torch.arange(len(order))
    names = list(dict.fromkeys(k for p in parts for k in p))
    out = {}
    for k in names:        # a constant missing from a group (e.g. B₀ of a kept-W scheme) is 0
        like = next(p[k] for p in parts if k in p)
        pieces = [p[k] if k in p else like.new_zeros((len(next(iter(p.values()))),
                                                      *like.shape[1:])) for p in parts]
        stacked = torch.cat(pieces, 0)
        out[k] = stacked[inv.to(stacked.device)].contiguous()
    return out


def trainable(name: str) -> bool:
    """Trained parameters end in .A, .B (or .V, MLP5's linear mode); .A0/.B0 are constants."""
    return name.rsplit(".", 1)[-1] in ("A", "B", "V")


def rates(runs: list[RunConfig], params: Params, device: torch.device,
          dtype: torch.dtype) -> dict[str, Tensor]:
    """Per-run rate tensors: "*.B" gets η_B, every other trained tensor η_A."""
    la = torch.tensor([r.lr_a for r in runs], device=device, dtype=dtype)
    lb = torch.tensor([r.lr_b for r in runs], device=device, dtype=dtype)
    return {k: (lb if k.endswith(".B") else la) for k in params}


def slice_rows(val: Any, a: int, b: int) -> Any:
    """Rows a:b of every tensor in a prefix output (tensor, tuple/list, dict or dataclass)."""
    if isinstance(val, Tensor):
        return val[a:b]
    if isinstance(val, (tuple, list)):
        return type(val)(slice_rows(v, a, b) for v in val)
    if isinstance(val, dict):
        return {k: slice_rows(v, a, b) for k, v in val.items()}
    if dataclasses.is_dataclass(val):
        return dataclasses.replace(val, **{f.name: slice_rows(getattr(val, f.name), a, b)
                                           for f in dataclasses.fields(val) if f.init})
    return val


@torch.no_grad()
def evaluate(model: SweepModel, params: Params, cache: PrefixCache, block: int = 1024,
             budget: int = 1 << 25) -> dict[str, Tensor]:
    """Test loss (and accuracy for classifiers) per run over the whole test set.

    The prefix is computed (and cached) per block of `block` examples; each block is evaluated
    in sub-chunks sized so one (runs × chunk × features) activation stays under `budget`."""
    X, Y = model.test_set()
    R = next(iter(params.values())).shape[0]
    feat = max(p.shape[1] for k, p in params.items() if k.endswith(".B"))
    chunk = int(max(8, min(block, budget // (R * feat))))
    tot_loss, tot_acc, has_acc = 0.0, 0.0, False
    for i in range(0, X.shape[0], block):
        pre_blk = cache.get(("test", i, block), lambda: model.prefix(X[i:i + block]))
        rows = min(block, X.shape[0] - i)
        for j in range(0, rows, chunk):
            e = min(j + chunk, rows)
            y = Y[i + j:i + e]
            out = model.head(slice_rows(pre_blk, j, e), params)
            tot_loss = tot_loss + model.loss(out, y) * y.shape[0]
            acc = accuracy(out, y)
            if acc is not None:
                tot_acc, has_acc = tot_acc + acc * y.shape[0], True
    res = {"test_loss": tot_loss / X.shape[0]}
    if has_acc:
        res["test_acc"] = tot_acc / X.shape[0]
    return res


def _nan_where_dead(alive: Tensor, v: Tensor) -> Tensor:
    return torch.where(alive, v, torch.full_like(v, float("nan")))


def train_shard(model: SweepModel, spec: SweepSpec, runs: list[RunConfig],
                device: torch.device, dtype: torch.dtype, *, cache: PrefixCache | None = None,
                on_step: Callable[[], None] | None = None) -> ShardResult:
    """Train `runs` (one width) together for `spec.steps` steps; probes every step."""
    t0 = time.perf_counter()
    cache = cache if cache is not None else PrefixCache()
    allp = {k: p.to(device, dtype) for k, p in init_params(model, runs).items()}
    params = {k: p.requires_grad_(True) for k, p in allp.items() if trainable(k)}
    const = {k: p for k, p in allp.items() if not trainable(k)}   # e.g. subtracted B₀, A₀
    keys, L = list(params), model.probe_layer
    kA, kB = f"{L}.A", f"{L}.B"
    opt = make_optimizer(spec.optimizer, rates(runs, params, device, dtype), betas=spec.betas,
                         eps=spec.adam_eps, compiled=spec.compile)
    R, T, Q = len(runs), spec.steps, probes.QUANTITIES
    rec = torch.full((T + 1, len(Q), R), float("nan"), device=device, dtype=dtype)
    xp, yp = model.probe_batch()
    with torch.no_grad():
        pre_p = cache.get(("probe",), lambda: model.prefix(xp))
        taps: dict[str, Tensor] = {}
        lp = model.loss(model.head(pre_p, params | const, taps), yp)
        st, v0 = probes.start(taps["z"], model.scale, params[kA], params[kB])
    v0["loss"] = lp
    ref = lp.abs().clamp_min(torch.finfo(dtype).tiny)
    rec[0] = torch.stack([v0[q] for q in Q])
    div = torch.full((R,), -1, dtype=torch.long, device=device)
    for t in range(1, T + 1):
        x, y = model.batch(t)
        with torch.no_grad():
            pre = cache.get(("train", t), lambda: model.prefix(x))
        taps = {}
        loss = model.loss(model.head(pre, params | const, taps), y)
        *gl, dzbar = torch.autograd.grad(loss.sum(), [params[k] for k in keys] + [taps["zbar"]])
        grads = dict(zip(keys, gl))
        with torch.no_grad():
            alive = div < 0
            upd = opt.step(params, grads, alive.to(dtype))
            ptaps: dict[str, Tensor] = {}
            lp = model.loss(model.head(pre_p, params | const, ptaps), yp)
            ok = torch.isfinite(loss) & torch.isfinite(lp) & (lp <= spec.diverge_factor * ref)
            div = torch.where(alive & ~ok, torch.full_like(div, t), div)
            alive = div < 0
            vals = probes.step(st, params[kA], params[kB], upd[kA], upd[kB], ptaps["z"])
            vals["grad_nu"] = probes.grad_nu(dzbar, taps["z"].detach())
            vals["loss"] = lp
            rec[t] = _nan_where_dead(alive, torch.stack([vals[q] for q in Q]))
        if on_step is not None:
            on_step()
    test: dict[str, Tensor] = {}
    if spec.test_eval and model.test_set() is not None:
        test = {k: _nan_where_dead(div < 0, v)
                for k, v in evaluate(model, params | const, cache).items()}
    return ShardResult(runs, Q, rec.cpu().numpy(), div.cpu().numpy(),
                       {k: v.cpu().numpy() for k, v in test.items()}, time.perf_counter() - t0)
