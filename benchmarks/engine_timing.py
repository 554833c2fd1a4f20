"""Time `engine.train_shard` on a slice of a spec's grid (wall and process CPU, load average).

    python benchmarks/engine_timing.py [--spec S] [--runs R] [--steps T] [--set key=value ...]

Prints one JSON line per measurement: the slice, seconds, ms per run-step, and the load.
"""
from __future__ import annotations

import argparse
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
    dev, dt = models.pick_device(spec.device), models.pick_dtype(spec.dtype)
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
        print(json.dumps({"rep": i, "runs": len(runs), "steps": spec.steps, "wall_s": round(wall, 2),
                          "cpu_s": round(cpu, 2), "ms_per_run_step_wall": round(wall / rs * 1e3, 3),
                          "ms_per_run_step_cpu": round(cpu / rs * 1e3, 3), "build_s": round(build, 2),
                          "load": round(os.getloadavg()[0], 2), "threads": torch.get_num_threads(),
                          "set": a.set, "diverged": int((res.diverged_step >= 0).sum())}), flush=True)


if __name__ == "__main__":
    main()
