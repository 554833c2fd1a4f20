"""`width-sweep bench`: the same grid with the batched engine and the per-run reference loop.

Both sides share the frozen (pretrained) state, built once before either clock starts.  The
batched side trains the whole grid of the spec's first width (all shards, shared prefix cache,
test evaluation); the reference side (`toy_models.train.train_reference`, one run at a time)
trains `reference_runs` runs spread evenly over the grid, and its time is scaled linearly by
`runs / reference_runs` (every reference run does the same work, so the scaling is exact up to
noise).  FLOPs are counted with `torch.utils.flop_counter` (matmuls) on tiny shards and
extrapolated linearly in runs and steps; the floor is that count at the machine's measured
dense-GEMM rate.  On a shared machine wall times vary with load: process CPU times
(`*_cpu_s`, summed over threads) and the 1-minute load average are reported beside them.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import resource
import time
from importlib import resources
from typing import Any

import torch

from . import engine, models, reference
from .spec import SweepSpec, load_spec


def default_spec_path() -> str:
    return str(resources.files("width_sweeps") / "specs" / "fig2-bench.toml")


def gemm_gflops(device: torch.device, dtype: torch.dtype, n: int = 2048, reps: int = 5) -> float:
    """Measured dense matmul rate (GFLOP/s) on this device: the floor's denominator."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _count(model, spec: SweepSpec, runs, device, dtype, steps: int, test: bool) -> int:
    from torch.utils.flop_counter import FlopCounterMode
    sub = dataclasses.replace(spec, steps=steps, test_eval=test, compile=False)  # same FLOPs
    with FlopCounterMode(display=False) as fc:
        engine.train_shard(model, sub, runs, device, dtype, cache=engine.PrefixCache())
    return fc.get_total_flops()


def grid_flops(model, spec: SweepSpec, device, dtype) -> dict[str, float]:
    """FLOPs of the grid from F(R, T) = a + bR + cT + dRT fitted on R ∈ {1, 2}, T ∈ {1, 2}."""
    runs = spec.runs(spec.widths[0])
    f = {(R, T): _count(model, spec, runs[:R], device, dtype, T, False)
         for R in (1, 2) for T in (1, 2)}
    d = f[2, 2] - f[2, 1] - f[1, 2] + f[1, 1]
    c = f[1, 2] - f[1, 1] - d
    b = f[2, 1] - f[1, 1] - d
    a = f[1, 1] - b - c - d
    R, T, chunks = len(runs), spec.steps, len(spec.chunks(spec.widths[0]))
    train = a * chunks + b * R + c * T + d * R * T
    test = 0.0
    if spec.test_eval and model.test_set() is not None:
        e1 = _count(model, spec, runs[:1], device, dtype, 1, True) - f[1, 1]
        e2 = _count(model, spec, runs[:2], device, dtype, 1, True) - f[2, 1]
        test = (e1 - (e2 - e1)) + (e2 - e1) * R
    return {"train_flops": float(train), "test_flops": float(test),
            "per_run_step_flops": float(d), "shared_step_flops": float(c)}


def bench(spec_path: str | None = None, *, reference_runs: int = 4, device: str | None = None,
          count_flops: bool = True, spec: SweepSpec | None = None,
          batched_shards: int | None = None) -> dict[str, Any]:
    """Time the batched grid and the (scaled) reference loop; JSON-ready dict.

    `batched_shards=k` times only the first k shards of the grid and scales by
    `runs / runs timed` (every shard does the same work); None times the whole grid."""
    spec = spec or load_spec(spec_path or default_spec_path())
    dev, dtype = models.pick_device(device or spec.device), models.pick_dtype(spec.dtype)
    width = spec.widths[0]
    t0 = time.perf_counter()
    model = models.build(spec, width, dev, dtype)
    build_s = time.perf_counter() - t0
    runs = spec.runs(width)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    cache = engine.PrefixCache()
    t0, c0 = time.perf_counter(), time.process_time()
    chunks = spec.chunks(width)[:batched_shards]
    timed = sum(len(c) for c in chunks)
    for i, chunk in enumerate(chunks):
        engine.train_shard(model, spec, chunk, dev, dtype, cache=cache)
        print(f"bench: shard {i + 1}/{len(chunks)} {time.perf_counter() - t0:.0f}s",
              file=sys.stderr, flush=True)
    _sync(dev)
    batched_s, batched_cpu = time.perf_counter() - t0, time.process_time() - c0
    measured_batched = batched_s
    batched_s, batched_cpu = batched_s * len(runs) / timed, batched_cpu * len(runs) / timed
    peak = (torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    k = max(1, min(reference_runs, len(runs)))
    subset = runs[:: max(1, len(runs) // k)][:k]
    t0, c0 = time.perf_counter(), time.process_time()
    reference.train_reference(model, spec, subset)
    _sync(dev)
    ref_measured, ref_cpu = time.perf_counter() - t0, time.process_time() - c0
    reference_s = ref_measured * len(runs) / k
    out: dict[str, Any] = {
        "spec": spec.name, "model": spec.model, "batched_s": round(batched_s, 2),
        "reference_s": round(reference_s, 2), "speedup": round(reference_s / batched_s, 2),
        "runs": len(runs), "steps": spec.steps, "width": width, "device": str(dev),
        "dtype": spec.dtype, "peak_mem_mb": round(peak, 1), "reference_runs_measured": k,
        "reference_measured_s": round(ref_measured, 2),
        "reference_scaling": f"measured {k} runs spread over the grid, x {len(runs)}/{k}",
        "batched_runs_measured": timed, "batched_measured_s": round(measured_batched, 2),
        "batched_scaling": ("whole grid" if timed == len(runs) else
                            f"measured {len(chunks)} shard(s) = {timed} runs, x {len(runs)}/{timed}"),
        "frozen_build_s": round(build_s, 2), "threads": torch.get_num_threads(),
        "batched_cpu_s": round(batched_cpu, 2),
        "reference_cpu_s": round(ref_cpu * len(runs) / k, 2),
        "speedup_cpu": round(ref_cpu * len(runs) / k / max(batched_cpu, 1e-9), 2),
        "load_avg_1min": round(os.getloadavg()[0], 2)}
    print(json.dumps(out), file=sys.stderr, flush=True)      # timings first, FLOPs after
    if count_flops:
        fl = grid_flops(model, spec, dev, dtype)
        rate = gemm_gflops(dev, dtype)
        total = fl["train_flops"] + fl["test_flops"]
        out.update({"grid_tflop": round(total / 1e12, 3), **{k2: float(f"{v:.4g}") for k2, v in
                    fl.items()}, "gemm_gflops": round(rate, 1),
                    "floor_s": round(total / rate / 1e9, 2),
                    "achieved_gflops": round(total / batched_s / 1e9, 1),
                    "fraction_of_floor": round(total / rate / 1e9 / batched_s, 3)})
    return out
