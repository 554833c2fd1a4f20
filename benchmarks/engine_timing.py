"""Time `engine.train_shard` on a slice of a spec's grid (wall and process CPU, load average).

    python benchmarks/engine_timing.py [--spec S] [--runs R] [--steps T] [--set key=value ...]
                                       [--device D] [--profile N]

Prints one JSON line per measurement: the slice, seconds, ms per run-step, and the load.
`--profile N` then runs one more repetition under `torch.profiler` and prints its N most
expensive operators (by device time on CUDA, by CPU time otherwise): where the time goes.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from width_sweeps import bench, engine, models
from width_sweeps.spec import from_dict, load_spec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default=bench.default_spec_path())
    ap.add_argument("--runs", type=int, default=32)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--set", action="append", default=[], help="spec field=value (JSON value)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    ap.add_argument("--device", default=None, help="auto | cpu | cuda (default: the spec's)")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="after timing, profile one repetition and print the top N operators")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    d = load_spec(a.spec).to_dict()
    if a.steps:
        d["steps"] = a.steps
    for kv in a.set:
        k, v = kv.split("=", 1)
        d[k] = json.loads(v)
    spec = from_dict(d)
    dev, dt = models.pick_device(a.device or spec.device), models.pick_dtype(spec.dtype)
    w = spec.widths[0]
    t0 = time.perf_counter()
    model = models.build(spec, w, dev, dt)
    build = time.perf_counter() - t0
    allruns = spec.runs(w)
    runs = allruns[:: max(1, len(allruns) // a.runs)][: a.runs]
    cache = engine.PrefixCache()
    t0, c0 = time.perf_counter(), time.process_time()
    engine.init_params(model, runs)
    print(json.dumps({"init_wall_s": round(time.perf_counter() - t0, 2),
                      "init_cpu_s": round(time.process_time() - c0, 2), "runs": len(runs)}))
    for i in range(a.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        res = engine.train_shard(model, spec, runs, dev, dt, cache=cache)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rs = len(runs) * spec.steps
        print(json.dumps({"rep": i, "runs": len(runs), "steps": spec.steps,
                          "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                          "ms_per_run_step_wall": round(wall / rs * 1e3, 3),
                          "ms_per_run_step_cpu": round(cpu / rs * 1e3, 3),
                          "build_s": round(build, 2), "load": round(os.getloadavg()[0], 2),
                          "threads": torch.get_num_threads(), "set": a.set,
                          "diverged": int((res.diverged_step >= 0).sum())}), flush=True)
    if a.profile:
        profile(model, spec, runs, dev, dt, cache, a.profile)


def profile(model, spec, runs, dev, dt, cache, top: int) -> None:
    """One more repetition under torch.profiler; the `top` operators by self time."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    spec = dataclasses.replace(spec, workers=1)       # the profiler sees the calling thread only
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with torch_profile(activities=acts) as prof:
        engine.train_shard(model, spec, runs, dev, dt, cache=cache)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
    key = "self_cuda_time_total" if dev.type == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=top), flush=True)


if __name__ == "__main__":
    main()
