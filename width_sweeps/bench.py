"""`width-sweep bench`: the same grid with the batched engine and the per-run reference loop.

Both sides share the frozen (pretrained) state, built once before either clock starts.  The
batched side trains the first `batched_shards` shards of the spec's first width (CLI default 1;
0 or None: the whole grid; shared prefix cache, test evaluation) and is scaled by
`runs / runs timed` (every shard does the same work; the prefix cache is filled by the first
shard, so this slightly overestimates); the reference side (`toy_models.train.train_reference`,
one run at a time) trains `reference_runs` runs spread evenly over the grid, and its time is
scaled linearly by `runs / reference_runs` (every reference run does the same work, so the
scaling is exact up to noise).

Floors: FLOPs are counted with `torch.utils.flop_counter` (matmuls) on tiny shards and
extrapolated linearly in runs and steps; the FLOP floor is that count at the machine's measured
dense-GEMM rate.  The bandwidth floor is the traffic no implementation avoids — per run and
step the optimizer reads and writes its state and the parameters and the gradient is written
and read once (Adam: 8 parameter-sized passes, SGD: 3) — at the measured copy bandwidth (bytes
read + written).  On a shared machine wall times vary with load: process CPU times (`*_cpu_s`,
summed over threads) and the 1-minute load average are reported beside them.
"""
from __future__ import annotations

import dataclasses
import json
import os
import resource
import sys
import time
from importlib import resources
from typing import Any, cast

import torch

from . import engine, models, reference
from .adapters import Bound
from .spec import SweepSpec, load_spec


def default_spec_path() -> str:
    return str(resources.files("width_sweeps") / "specs" / "fig2-bench.toml")


def gemm_gflops(device: torch.device, dtype: torch.dtype, n: int | None = None,
                reps: int | None = None) -> float:
    """Measured dense matmul rate (GFLOP/s) on this device: the floor's denominator (on CUDA at
    the engine's matmul precision: TF32 only where `torch.backends.cuda.matmul.allow_tf32`)."""
    gpu = device.type == "cuda"
    n, reps = n or (8192 if gpu else 2048), reps or (20 if gpu else 5)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def copy_gbs(device: torch.device, dtype: torch.dtype, mb: int | None = None,
             reps: int | None = None) -> float:
    """Measured memory bandwidth (GB/s, bytes read + written) of a large copy."""
    gpu = device.type == "cuda"
    mb, reps = mb or (2048 if gpu else 256), reps or (20 if gpu else 5)
    n = mb * 2**20 // torch.tensor([], dtype=dtype).element_size()
    a = torch.randn(n, device=device, dtype=dtype)
    b = torch.empty_like(a)
    b.copy_(a)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        b.copy_(a)
    _sync(device)
    return 2 * a.numel() * a.element_size() * reps / (time.perf_counter() - t0) / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _count(model, spec: SweepSpec, runs, device, dtype, steps: int, test: bool) -> int:
    from torch.utils.flop_counter import FlopCounterMode
    # same FLOPs; one thread (the flop counter is a thread-local dispatch mode)
    sub = dataclasses.replace(spec, steps=steps, test_eval=test, compile=False, workers=1)
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


def grid_bytes(model, spec: SweepSpec) -> dict[str, float]:
    """Traffic no implementation avoids: the optimizer's passes over parameter-sized tensors
    (Adam: read p, g, m, v, write p, m, v, and the gradient written once: 8; SGD: 3), per run
    and step."""
    runs = spec.runs(spec.widths[0])
    one = engine.init_params(model, runs[:1])
    pbytes = sum(p.numel() * p.element_size() for k, p in one.items() if engine.trainable(k))
    passes = 8 if spec.optimizer == "adam" else 3
    return {"param_bytes_per_run": float(pbytes),
            "grid_bytes": float(pbytes * passes * len(runs) * spec.steps)}


def bench(spec_path: str | None = None, *, reference_runs: int = 2, device: str | None = None,
          count_flops: bool = True, spec: SweepSpec | None = None,
          batched_shards: int | None = None) -> dict[str, Any]:
    """Time the batched grid and the (scaled) reference loop; JSON-ready dict.

    `batched_shards=k` times only the first k shards of the grid and scales by
    `runs / runs timed` (every shard does the same work); None or 0 times the whole grid."""
    spec = spec or load_spec(spec_path or default_spec_path())
    dev = models.pick_device(spec.device if device is None else device,
                             "option '--device'" if device is not None else "spec field 'device'")
    dtype = models.pick_dtype(spec.dtype)
    width = spec.widths[0]
    t0 = time.perf_counter()
    model = models.build(spec, width, dev, dtype)
    build_s = time.perf_counter() - t0
    runs = spec.runs(width)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    cache = engine.PrefixCache()
    t0, c0 = time.perf_counter(), time.process_time()
    chunks = spec.chunks(width)[:batched_shards or None]
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
    reference.train_reference(cast(Bound, model), spec, subset)   # built-in models are Bound
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
                            f"measured {len(chunks)} shard(s) = {timed} runs, "
                            f"x {len(runs)}/{timed}"),
        "frozen_build_s": round(build_s, 2), "threads": torch.get_num_threads(),
        "batched_cpu_s": round(batched_cpu, 2),
        "reference_cpu_s": round(ref_cpu * len(runs) / k, 2),
        "speedup_cpu": round(ref_cpu * len(runs) / k / max(batched_cpu, 1e-9), 2),
        "load_avg_1min": round(os.getloadavg()[0], 2)}
    if dev.type == "cuda":
        out.update({"gpu": torch.cuda.get_device_name(dev), "torch": torch.__version__,
                    "tf32": torch.backends.cuda.matmul.allow_tf32})
    print(json.dumps(out), file=sys.stderr, flush=True)      # timings first, FLOPs after
    if count_flops:
        fl = grid_flops(model, spec, dev, dtype)
        by = grid_bytes(model, spec)
        rate, bw = gemm_gflops(dev, dtype), copy_gbs(dev, dtype)
        total = fl["train_flops"] + fl["test_flops"]
        flop_floor, bw_floor = total / rate / 1e9, by["grid_bytes"] / bw / 1e9
        floor = max(flop_floor, bw_floor)
        out.update({"grid_tflop": round(total / 1e12, 3), **{k2: float(f"{v:.4g}") for k2, v in
                    fl.items()}, "gemm_gflops": round(rate, 1),
                    "grid_gb": round(by["grid_bytes"] / 1e9, 1), "copy_gbs": round(bw, 1),
                    "flop_floor_s": round(flop_floor, 2), "bandwidth_floor_s": round(bw_floor, 2),
                    "floor_s": round(floor, 2),
                    "achieved_gflops": round(total / batched_s / 1e9, 1),
                    "achieved_gflops_cpu": round(total / max(batched_cpu, 1e-9) / 1e9, 1),
                    "fraction_of_floor": round(floor / batched_s, 3),
                    "fraction_of_floor_cpu": round(floor / max(batched_cpu, 1e-9), 3)})
    return out
