"""Per-run reference loop: one run at a time, `torch.optim`, nothing shared (μP coord-check style).

This is the baseline the batched engine is tested and benchmarked against when
`toy_models.train.train_reference` is not available: every run recomputes the frozen prefix at
every step and steps its own `torch.optim.Adam`/`SGD`.  It records the same probes (same
definitions, `probes.py`) so results compare entry by entry.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from . import probes
from .engine import ShardResult, evaluate, init_params, PrefixCache
from .models import SweepModel
from .spec import RunConfig, SweepSpec


def _optimizer(spec: SweepSpec, run: RunConfig, params: dict) -> torch.optim.Optimizer:
    groups = [{"params": [p], "lr": run.lr_b if k.startswith("B") else run.lr_a}
              for k, p in params.items()]
    if spec.optimizer == "adam":
        return torch.optim.Adam(groups, betas=spec.betas, eps=spec.adam_eps, foreach=False)
    return torch.optim.SGD(groups, foreach=False)


def train_one(model: SweepModel, spec: SweepSpec, run: RunConfig, device: torch.device,
              dtype: torch.dtype) -> tuple[np.ndarray, int, dict[str, float]]:
    """Train one run; return its (steps+1, Q) probe table, diverged step (−1) and test metrics."""
    allp = {k: p.to(device, dtype) for k, p in init_params(model, [run]).items()}
    params = {k: p.requires_grad_(True) for k, p in allp.items() if not k.startswith("_")}
    const = {k: p for k, p in allp.items() if k.startswith("_")}
    opt = _optimizer(spec, run, params)
    Q = probes.QUANTITIES
    rec = np.full((spec.steps + 1, len(Q)), np.nan)
    xp, yp = model.probe_batch()
    with torch.no_grad():
        st, v0 = probes.start(model.lora_input(model.prefix(xp)), model.scale,
                              params["A"], params["B"])
        v0["loss"] = model.loss(model.head(model.prefix(xp), params | const), yp)
    ref = max(abs(float(v0["loss"][0])), torch.finfo(dtype).tiny)
    rec[0] = [float(v0[q][0]) for q in Q]
    diverged = -1
    for t in range(1, spec.steps + 1):
        x, y = model.batch(t)
        opt.zero_grad()
        loss = model.loss(model.head(model.prefix(x), params | const), y).sum()
        loss.backward()
        prev = {k: p.detach().clone() for k, p in params.items()}
        grads = {k: p.grad.detach().clone() for k, p in params.items()}
        opt.step()
        with torch.no_grad():
            lp = float(model.loss(model.head(model.prefix(xp), params | const), yp)[0])
            finite = all(bool(torch.isfinite(p).all()) for p in params.values())
            if not (np.isfinite(float(loss)) and np.isfinite(lp) and finite
                    and lp <= spec.diverge_factor * ref):
                diverged = t
                for k, p in params.items():
                    p.copy_(prev[k])
                break
            vals = probes.step(st, prev["A"], prev["B"], params["A"], params["B"], grads)
        rec[t] = [float(vals[q][0]) if q != "loss" else lp for q in Q]
    test = {}
    if spec.test_eval and model.test_set() is not None and diverged < 0:
        test = {k: float(v[0]) for k, v in evaluate(model, params | const, PrefixCache(0)).items()}
    return rec, diverged, test


def train_reference(model: SweepModel, spec: SweepSpec, runs: list[RunConfig],
                    device: torch.device, dtype: torch.dtype) -> ShardResult:
    """The per-run loop over `runs`, packed like the engine's `ShardResult`."""
    t0 = time.perf_counter()
    outs = [train_one(model, spec, r, device, dtype) for r in runs]
    values = np.stack([o[0] for o in outs], axis=2)
    names = sorted({k for o in outs for k in o[2]})
    test = {k: np.array([o[2].get(k, np.nan) for o in outs]) for k in names}
    return ShardResult(runs, probes.QUANTITIES, values, np.array([o[1] for o in outs]), test,
                       time.perf_counter() - t0)
