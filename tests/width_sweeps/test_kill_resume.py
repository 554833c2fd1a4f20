"""Kill -9 at random points (three times), resume, and get the tables of an uninterrupted run:
shards are atomic, the killed writer's lock is stale, its temporaries are removed."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from width_sweeps import results
from width_sweeps.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = """
name = "kill"
model = "theory-layer"
widths = [64, 128, 256, 512]
schemes = ["A", "B"]
eta0 = [0.05]
lr_exponents = ["-1/2"]
seeds = 6
steps = 25
dtype = "float64"
runs_per_shard = 2
"""


def _cmd(spec: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "width_sweeps.cli", "run", str(spec), "--out", str(out),
            "--no-progress"]


@pytest.mark.slow
def test_kill_minus_nine_three_times_then_resume(tmp_path) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    s = load_spec(spec)
    n_shards = len(s.widths) * s.n_chunks()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    subprocess.run(_cmd(spec, tmp_path / "ref"), env=env, check=True, timeout=900,
                   capture_output=True)
    ref_steps, ref_runs = results.load(tmp_path / "ref")
    out = tmp_path / "cut"
    rng = random.Random(1)
    targets = sorted(rng.sample(range(1, n_shards - 1), 3))
    seen = []
    for target in targets:
        p = subprocess.Popen(_cmd(spec, out), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        deadline = time.time() + 600
        while len(results.finished_shards(out)) < target and p.poll() is None:
            assert time.time() < deadline
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))               # somewhere inside the next shard
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait()
        seen.append(len(results.finished_shards(out)))
    assert seen[-1] < n_shards, "the sweep finished before the last kill"
    assert (out / ".lock").exists()                   # left behind by the killed writer
    done = subprocess.run(_cmd(spec, out), env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    steps, runs = results.load(out)
    pd.testing.assert_frame_equal(steps, ref_steps, check_exact=True)
    pd.testing.assert_frame_equal(runs.drop(columns="shard_seconds"),
                                  ref_runs.drop(columns="shard_seconds"), check_exact=True)
    assert not list(out.rglob("*.tmp")) and not (out / ".lock").exists()
