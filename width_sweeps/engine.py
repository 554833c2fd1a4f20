"""The batched engine: all runs of one shard train together as one computation.

Runs are stacked on a leading run dimension `R`; frozen state lives once per width (inside the
model), the frozen prefix is computed once per batch and shared by every run (and cached across the
shards of a width; the cache and the test evaluation live in width_sweeps.prefix), the loss is
summed over runs so one backward gives every run's gradient, and the batched optimizer applies
per-run rates as a broadcast. Parameters named `*.A0`, `*.B0` are per-run constants (the `B₀A₀` a
subtracting init removes), not trained.
Nothing in the step loop calls `.item()`: divergence flags and probes stay on the device and move
to the host once per shard.  A run that diverges (non-finite or exploding probe loss, or
non-finite training loss) records the step it diverged, takes no further steps (rate 0) and is
masked (NaN) from then on; the other runs go on.
"""
from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor

from . import fused, probes
from .models import Params, SweepModel
from .optim import has_fused_adam, make_optimizer
from .prefix import PrefixCache, _test_set, cat_rows, evaluate, slice_rows
from .results import ShardResult
from .spec import RunConfig, SweepSpec

__all__ = ["PrefixCache", "ShardResult", "slice_rows", "train_shard"]  # slice_rows: in .prefix


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


def _nan_where_dead(alive: Tensor, v: Tensor) -> Tensor:
    return torch.where(alive, v, torch.full_like(v, float("nan")))


def recorded_steps(steps: int, every: int) -> list[int]:
    """Steps whose probes are recorded: 0, every `every`-th step, and the last (every=0: 0, T)."""
    keep = {0, steps} | (set(range(0, steps + 1, every)) if every else set())
    return sorted(keep)


def block_size(spec: SweepSpec, device: torch.device, R: int) -> int:
    """Runs trained together: `spec.block_runs`, else 8 on CPU (the per-step working set of a
    block — activations, gradients, Adam state — then stays near the caches) and the whole
    shard on a GPU (which wants the largest batched products)."""
    if spec.block_runs:
        return max(1, min(spec.block_runs, R))
    return max(1, min(R, 8 if device.type == "cpu" else R))


def n_workers(spec: SweepSpec, device: torch.device, n_blocks: int) -> int:
    """CPU threads training blocks side by side (each with one intra-op thread)."""
    if device.type != "cpu" or (spec.compile and not has_fused_adam()):
        return 1                                        # torch.compile'd code: one thread
    w = spec.workers or torch.get_num_threads()
    return max(1, min(w, n_blocks))


def host_rates(runs: list[RunConfig], params: Params) -> dict[str, list[float]]:
    """The per-run rates as floats (known from the spec: no device sync)."""
    return {k: [r.lr_b if k.endswith(".B") else r.lr_a for r in runs] for k in params}


class _Autograd:
    """Generic step: the model's head and autograd (any SweepModel).  The probe forward of
    θ_{t−1} runs on its own before the training forward of step t."""

    def __init__(self, model: SweepModel, params: Params, const: Params,
                 cache: PrefixCache) -> None:
        self.model, self.params, self.const, self.cache = model, params, const, cache
        self.keys = list(params)
        L = model.probe_layer
        self.kA, self.kB = f"{L}.A", f"{L}.B"
        self.xp, self.yp = model.probe_batch()

    @staticmethod
    def prefix_jobs(model: SweepModel, steps: int,
                    cache: PrefixCache) -> list[tuple[Any, Callable[[], Any]]]:
        xp, _ = model.probe_batch()
        return [(("probe",), lambda: model.prefix(xp))] + [
            (("train", t), lambda t=t: model.prefix(model.batch(t)[0]))
            for t in range(1, steps + 1)]

    def pre_probe(self) -> Any:
        return self.cache.get(("probe",), lambda: self.model.prefix(self.xp))

    def step(self, t: int, want_gn: bool, want_probe: bool):
        """(probe of θ_{t−1}, training loss of step t, gradients, grad_nu or None)."""
        probe = self.probe(want_probe)
        x, y = self.model.batch(t)
        with torch.no_grad():
            pre = self.cache.get(("train", t), lambda: self.model.prefix(x))
        taps: dict[str, Tensor] = {}
        m, P = self.model, self.params
        loss = m.loss(m.head(pre, P | self.const, taps), y)
        *gl, dzbar = torch.autograd.grad(loss.sum(), [P[k] for k in self.keys] + [taps["zbar"]])
        gn = probes.grad_nu(dzbar, taps["z"].detach()) if want_gn else None
        return probe, loss.detach(), dict(zip(self.keys, gl)), gn

    @torch.no_grad()
    def probe(self, want: bool):
        taps: dict[str, Tensor] = {}
        m, P = self.model, self.params
        lp = m.loss(m.head(self.pre_probe(), P | self.const, taps), self.yp)
        z = taps["z"]
        zs = probes.shared(z)
        z = zs if zs is not None else z
        if not want:
            return lp, z, None, None
        ZA = probes.za(z, P[self.kA])
        return lp, z, ZA, probes.rms(self.model.scale * ZA @ P[self.kB].transpose(1, 2))

    def test(self) -> dict[str, Tensor]:
        return evaluate(self.model, self.params | self.const, self.cache)


class _Fused(_Autograd):
    """Hand-written forward/backward (width_sweeps.fused) for the toy and theory models; the
    probe forward of θ_{t−1} rides along with the training forward of step t (the probe batch
    appended to the training batch: one set of larger products, prefix rows cached stacked)."""

    def __init__(self, head_cls: Any, model: SweepModel, params: Params, const: Params,
                 cache: PrefixCache) -> None:
        super().__init__(model, params, const, cache)
        self.head = head_cls(model, next(iter(params.values())).shape[0])

    @staticmethod
    def prefix_jobs(model: SweepModel, steps: int,
                    cache: PrefixCache) -> list[tuple[Any, Callable[[], Any]]]:
        xp, _ = model.probe_batch()

        def probe_pre():
            return cache.get(("probe",), lambda: model.prefix(xp))
        return [(("probe",), lambda: model.prefix(xp))] + [
            (("train+probe", t), lambda t=t: cat_rows(model.prefix(model.batch(t)[0]),
                                                      probe_pre()))
            for t in range(1, steps + 1)]

    def step(self, t: int, want_gn: bool, want_probe: bool):
        x, y = self.model.batch(t)
        with torch.no_grad():
            pre = self.cache.get(("train+probe", t),
                                 lambda: cat_rows(self.model.prefix(x), self.pre_probe()))
            loss, grads, gn, probe = self.head.train(pre, self.params | self.const, y,
                                                     want_gn, self.yp, want_probe)
        return probe, loss, grads, gn

    @torch.no_grad()
    def probe(self, want: bool):
        return self.head.probe(self.pre_probe(), self.params | self.const, self.yp, want)

    def test(self) -> dict[str, Tensor]:
        X, Y = _test_set(self.model)
        if not hasattr(self.head, "evaluate"):
            return evaluate(self.model, self.params | self.const, self.cache)
        block = 1024

        def blocks():
            for i in range(0, X.shape[0], block):
                pre = self.cache.get(("test", i, block),
                                     functools.partial(self.model.prefix, X[i:i + block]))
                yield pre, Y[i:i + block]
        return self.head.evaluate(blocks(), self.params | self.const, X.shape[0])


def _train_block(model: SweepModel, spec: SweepSpec, runs: list[RunConfig], allp: Params,
                 device: torch.device, dtype: torch.dtype, cache: PrefixCache,
                 head_cls: Any) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """Train one block of runs for every step; returns (rec (S, Q, R), diverged step, test).

    Step t: the probe of θ_{t−1} (loss, divergence check, recorded probes of step t−1), then
    on recorded steps θ_{t−1} is kept, the optimizer step, and the update probes (δ's, ν's)."""
    params = {k: p.requires_grad_(head_cls is None) for k, p in allp.items() if trainable(k)}
    const = {k: p for k, p in allp.items() if not trainable(k)}   # e.g. subtracted B₀, A₀
    L = model.probe_layer
    kA, kB = f"{L}.A", f"{L}.B"
    stepper = (_Fused(head_cls, model, params, const, cache) if head_cls is not None
               else _Autograd(model, params, const, cache))
    opt = make_optimizer(spec.optimizer, rates(runs, params, device, dtype), betas=spec.betas,
                         eps=spec.adam_eps, compiled=spec.compile,
                         host_lr=host_rates(runs, params))
    R, T, Q = len(runs), spec.steps, probes.QUANTITIES
    keep = recorded_steps(T, spec.probe_every)
    row = {t: i for i, t in enumerate(keep)}
    rec = torch.full((len(keep), len(Q), R), float("nan"), device=device, dtype=dtype)
    tr = probes.Tracker(model.scale, params[kA], params[kB])
    div = torch.full((R,), -1, dtype=torch.long, device=device)
    state: dict[str, Any] = {}

    def finish(t: int, probe: tuple, loss: Tensor | None, vals: dict[str, Tensor]) -> None:
        """Close step t with the probe of θ_t: divergence check and its recorded row."""
        nonlocal div
        lp, tr.z, ZA, ZB = probe
        if t == 0:
            v = tr.initial(params[kA], params[kB], ZA, ZB)
            v["loss"] = lp
            state["ref"] = lp.abs().clamp_min(torch.finfo(dtype).tiny)
            rec[0] = torch.stack([v[q] for q in Q])
            return
        assert loss is not None, "every step after 0 has a training loss"
        alive = div < 0
        ok = torch.isfinite(loss) & torch.isfinite(lp) & (lp <= spec.diverge_factor * state["ref"])
        div = torch.where(alive & ~ok, torch.full_like(div, t), div)
        if t in row:
            vals.update(Z_A=probes.rms(ZA), dZ_A=tr.update_part(params[kA]), Z_B=ZB, loss=lp)
            rec[row[t]] = _nan_where_dead(div < 0, torch.stack([vals[q] for q in Q]))

    prev: tuple[Tensor | None, dict[str, Tensor]] = (None, {})
    for t in range(1, T + 1):
        want = t in row
        probe, loss, grads, gn = stepper.step(t, want, (t - 1) in row)
        with torch.no_grad():
            finish(t - 1, probe, *prev)
            if want:
                tr.before(params[kA], params[kB])
            opt.step(params, grads, (div < 0).to(dtype))
            vals = tr.after(params[kA], params[kB]) if want else {}
            if want:
                vals["grad_nu"] = gn
            prev = (loss, vals)
    with torch.no_grad():
        finish(T, stepper.probe(T in row), *prev)
    test: dict[str, Tensor] = {}
    if spec.test_eval and model.test_set() is not None:
        with torch.no_grad():
            test = {k: _nan_where_dead(div < 0, v) for k, v in stepper.test().items()}
    return rec, div, test


def _warm(model: SweepModel, spec: SweepSpec, cache: PrefixCache, pool: Any,
          jobs: list[tuple[Any, Callable[[], Any]]]) -> None:
    """Fill the prefix cache (probe batch, every training batch, test blocks) before the blocks
    start, in parallel when there is a pool; stops once the cache is full."""
    ts = model.test_set() if spec.test_eval else None
    if ts is not None:
        X = ts[0]
        for i in range(0, X.shape[0], 1024):
            jobs.append((("test", i, 1024), functools.partial(model.prefix, X[i:i + 1024])))
    jobs = [(k, f) for k, f in jobs if k not in cache.store]
    if not jobs:
        return

    @torch.no_grad()
    def one(job):
        if pool is not None:
            torch.set_num_threads(1)
        if cache.full:
            return
        cache.get(*job)
    if pool is None:
        for j in jobs:
            one(j)
    else:
        list(pool.map(one, jobs))


@contextmanager
def _intra_op_threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def train_shard(model: SweepModel, spec: SweepSpec, runs: list[RunConfig],
                device: torch.device, dtype: torch.dtype, *, cache: PrefixCache | None = None,
                on_step: Callable[[], None] | None = None) -> ShardResult:
    """Train `runs` (one width) for `spec.steps` steps; probes on `recorded_steps`.

    Runs are trained in blocks of `block_size` runs, each block through every step (runs never
    interact, so this is the same computation as all runs at once, up to the rounding of the
    batched products, whose summation order depends on the block's size and thread count:
    docs/width_sweeps.md, Determinism); on a CPU, `n_workers` threads train blocks side by
    side, one intra-op thread each.  The model's hand-written
    forward/backward (width_sweeps.fused) is used when it has one and `spec.fused`."""
    t0 = time.perf_counter()
    cache = cache if cache is not None else PrefixCache()
    R = len(runs)
    bs = block_size(spec, device, R)
    spans = [(a, min(a + bs, R)) for a in range(0, R, bs)]
    head_cls = fused.for_model(model) if spec.fused else None
    nw = n_workers(spec, device, len(spans))

    def job(span: tuple[int, int]):
        if nw > 1:
            torch.set_num_threads(1)
        a, b = span           # each run's init depends on its own seed only: per block
        allp = {k: p.to(device, dtype) for k, p in init_params(model, runs[a:b]).items()}
        return _train_block(model, spec, runs[a:b], allp, device, dtype, cache, head_cls)
    emitted = 0

    def progress(done: int) -> None:
        nonlocal emitted
        target = spec.steps * done // len(spans)
        while on_step is not None and emitted < target:
            on_step()
            emitted += 1
    out: list[Any] = [None] * len(spans)
    jobs = (_Fused if head_cls is not None else _Autograd).prefix_jobs(model, spec.steps, cache)
    if nw > 1:
        with _intra_op_threads(1), ThreadPoolExecutor(nw) as pool:
            _warm(model, spec, cache, pool, jobs)
            futs = {pool.submit(job, sp): i for i, sp in enumerate(spans)}
            for k, f in enumerate(as_completed(futs)):
                out[futs[f]] = f.result()
                progress(k + 1)
    else:
        _warm(model, spec, cache, None, jobs)
        for i, sp in enumerate(spans):
            out[i] = job(sp)
            progress(i + 1)
    rec = torch.cat([o[0] for o in out], 2)
    div = torch.cat([o[1] for o in out])
    test = {k: torch.cat([o[2][k] for o in out]) for k in (out[0][2] if out else {})}
    keep = recorded_steps(spec.steps, spec.probe_every)
    return ShardResult(runs, probes.QUANTITIES, rec.cpu().numpy(), div.cpu().numpy(),
                       {k: v.cpu().numpy() for k, v in test.items()}, time.perf_counter() - t0,
                       np.asarray(keep))
