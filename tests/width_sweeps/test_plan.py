"""A plan before work: the dry run, refusal before allocating, the memory estimate against a
measured peak, and planning linear in the grid."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from width_sweeps import cli, executor, memory, plan
from width_sweeps import spec as spec_module
from width_sweeps.spec import from_dict

ROOT = Path(__file__).resolve().parents[2]


def spec(**kw):
    base = {"model": "theory-layer", "widths": [8, 16], "schemes": ["A"], "eta0": [0.1],
            "seeds": 3, "steps": 2, "dtype": "float64", "runs_per_shard": 2}
    return from_dict(base | kw)


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys) -> None:
    p = tmp_path / "s.toml"
    p.write_text('model = "theory-layer"\nwidths = [8, 16]\nschemes = ["A", "B"]\nseeds = 3\n'
                 'steps = 2\nruns_per_shard = 4\n')
    assert cli.main(["run", str(p), "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "12 runs = 2 widths x 2 schemes" in out and "shards: 4 (4 runs per shard)" in out
    assert "device: cpu" in out and "peak memory:" in out and "estimated training time:" in out
    assert "w0000016-c0000" in out and "nothing written" in out
    assert not (tmp_path / "o").exists()


def test_dry_run_counts_finished_shards(tmp_path, capsys) -> None:
    executor.run_sweep(spec(widths=[8]), tmp_path, progress=False)
    print(plan.describe(plan.make_plan(spec()), tmp_path))
    assert "2 of 4 shards already finished" in capsys.readouterr().out


def test_a_plan_that_cannot_fit_is_refused_before_allocating(tmp_path) -> None:
    s = spec(widths=[2 ** 27])
    with pytest.raises(plan.PlanRefused, match="shard w134217728-c0000 needs about") as e:
        executor.run_sweep(s, tmp_path / "o", progress=False)
    msg = str(e.value)
    assert "runs in flight (block_runs, workers)" in msg
    assert "widths, runs_per_shard, block_runs or dtype" in msg
    assert not (tmp_path / "o").exists()
    dense = spec(widths=[2 ** 16], model_options={"dense_max_width": 2 ** 20})
    with pytest.raises(plan.PlanRefused, match=r"\(frozen W \(widths\) 64\.0 GiB"):
        executor.run_sweep(dense, tmp_path / "o", progress=False)


def test_the_widest_shard_is_named() -> None:
    pl = plan.make_plan(spec(widths=[64, 4096, 512]))
    assert pl.widest().width == 4096


def test_planning_never_lists_the_runs(monkeypatch) -> None:
    """A plan counts runs and shards; it never materialises RunConfigs (linear in widths)."""
    made = {"n": 0}
    real = spec_module.RunConfig

    def counting(*a, **k):
        made["n"] += 1
        return real(*a, **k)
    s = spec(widths=list(range(8, 8 + 20_000)))
    monkeypatch.setattr(spec_module, "RunConfig", counting)
    pl = plan.make_plan(s)
    plan.check(pl)
    text = plan.describe(pl)
    assert made["n"] == 0 and pl.n_runs == 60_000 and pl.n_shards == 40_000
    assert "(19988 more widths)" in text


def test_planning_scales_linearly() -> None:
    """10x the widths costs about 10x the time (quadratic planning would cost 100x)."""
    def cost(k: int) -> float:
        t0 = time.perf_counter()
        s = spec(widths=list(range(8, 8 + k)), seeds=1)
        plan.check(plan.make_plan(s))
        executor.jobs_for(s, executor.sweepdir.shard_names(s))
        return time.perf_counter() - t0
    cost(1000)
    small = min(cost(5_000) for _ in range(2))
    big = min(cost(50_000) for _ in range(2))
    assert big < 30 * small, (small, big)


PEAK = """
import json, sys, torch
from pathlib import Path
from width_sweeps import engine, models, plan
from width_sweeps.spec import from_dict

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024

torch.set_num_threads(1)
s = from_dict(json.loads(sys.argv[1]))
pl = plan.make_plan(s)
Path("/proc/self/clear_refs").write_text("5")        # reset the peak RSS (VmHWM) to now
base = status("VmRSS")
dev, dt = models.pick_device("cpu"), models.pick_dtype(s.dtype)
n = s.widths[0]
m = models.build(s, n, dev, dt)
engine.train_shard(m, s, s.chunks(n)[0], dev, dt)
print(json.dumps({"measured": status("VmHWM") - base, "estimate": pl.widths[0].peak}))
"""


@pytest.mark.parametrize("kw", [
    {"model": "theory-layer", "widths": [2048], "seeds": 16, "steps": 4},
    {"model": "theory-layer", "widths": [8192], "seeds": 16, "steps": 4, "batch_size": 64},
    {"model": "mlp5", "widths": [1024], "seeds": 8, "steps": 3, "batch_size": 16,
     "model_options": {"n_train": 256, "n_test": 64}},
], ids=["theory-dense", "theory-implicit", "mlp5"])
def test_memory_estimate_bounds_the_measured_peak(kw) -> None:
    """Measured in a fresh process: the peak RSS growth of building the model and training one
    shard lies below the estimate, and the estimate is not more than ~3x too generous."""
    d = {"schemes": ["A", "AB"], "eta0": [0.01], "dtype": "float64", "workers": 1} | kw
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", PEAK, json.dumps(d)], capture_output=True,
                         text=True, env=env, timeout=600, check=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["measured"] <= r["estimate"] <= 3 * r["measured"] + (96 << 20), r


def test_recorded_steps_are_counted_like_the_engine_lists_them() -> None:
    from width_sweeps.engine import recorded_steps
    for steps in (1, 2, 7, 10):
        for every in (0, 1, 3, 10, 20):
            assert memory.recorded_steps(steps, every) == len(recorded_steps(steps, every))
