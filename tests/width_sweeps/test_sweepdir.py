"""A sweep directory is owned and self-describing: the lock, stale locks, shard fingerprints,
spec.json only after validation, corrected specs, concurrent writers (real processes)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from width_sweeps import engine, executor, results, sweepdir
from width_sweeps.files import SweepFileError
from width_sweeps.spec import SpecError, from_dict

ROOT = Path(__file__).resolve().parents[2]


def spec(**kw):
    base = {"model": "theory-layer", "widths": [8, 16], "schemes": ["A"], "eta0": [0.1],
            "seeds": 3, "steps": 2, "dtype": "float64", "runs_per_shard": 2}
    return from_dict(base | kw)


def _fingerprints(out: Path) -> set[str]:
    names = results.finished_shards(out)
    return {results.shard_meta(out, n)["fingerprint"] for n in names}


# ---- the lock ------------------------------------------------------------------------------

def _write_lock(out: Path, **holder) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / sweepdir.LOCK).write_text(json.dumps(holder))


def test_a_live_holder_is_refused_and_named(tmp_path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        _write_lock(tmp_path, pid=sleeper.pid, host=socket.gethostname(),
                    start=sweepdir.start_time(sleeper.pid), started="then")
        with pytest.raises(sweepdir.SweepLocked, match=f"pid {sleeper.pid} on this host"):
            executor.run_sweep(spec(), tmp_path, progress=False)
        assert not (tmp_path / "spec.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_dead_holder_is_stale_and_taken_over(tmp_path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    _write_lock(tmp_path, pid=gone.pid, host=socket.gethostname(), start=None, started="then")
    steps, _ = executor.run_sweep(spec(), tmp_path, progress=False)
    assert len(steps) and not (tmp_path / sweepdir.LOCK).exists()


def test_a_reused_pid_is_stale(tmp_path) -> None:
    """Our own pid, but with another start time: the holder it names has gone."""
    _write_lock(tmp_path, pid=os.getpid(), host=socket.gethostname(), start="1", started="x")
    with sweepdir.locked(tmp_path) as me:
        assert json.loads((tmp_path / sweepdir.LOCK).read_text())["token"] == me["token"]
    assert not (tmp_path / sweepdir.LOCK).exists()


def test_another_hosts_lock_is_refused_with_the_file_to_delete(tmp_path) -> None:
    _write_lock(tmp_path, pid=12345, host="elsewhere", start=None, started="then")
    with pytest.raises(sweepdir.SweepLocked, match="host elsewhere.*delete .*\\.lock"), \
            sweepdir.locked(tmp_path):
        pass


def test_the_lock_is_released_after_an_error(tmp_path) -> None:
    with pytest.raises(RuntimeError), sweepdir.locked(tmp_path):
        raise RuntimeError("boom")
    assert not (tmp_path / sweepdir.LOCK).exists()


# ---- fingerprints and spec.json ---------------------------------------------------------------

def test_every_shard_and_table_records_the_spec_fingerprint(tmp_path) -> None:
    s = spec()
    executor.run_sweep(s, tmp_path, progress=False)
    assert _fingerprints(tmp_path) == {s.fingerprint()}
    from width_sweeps.files import parquet_meta
    assert parquet_meta(tmp_path / "runs.parquet")["fingerprint"] == s.fingerprint()
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert prov["fingerprint"] == s.fingerprint() and prov["numerics"]["device"] == "cpu"


def test_shards_of_another_spec_are_refused_without_spec_json(tmp_path) -> None:
    """The hole: delete spec.json and run another spec into the directory."""
    executor.run_sweep(spec(), tmp_path, progress=False)
    (tmp_path / "spec.json").unlink()
    with pytest.raises(SweepFileError, match="computed from another spec"):
        executor.run_sweep(spec(eta0=[0.2]), tmp_path, progress=False)
    steps, _ = executor.run_sweep(spec(), tmp_path, progress=False)       # its own spec: fine
    assert (tmp_path / "spec.json").exists() and len(steps)


def test_the_merge_refuses_a_foreign_shard(tmp_path) -> None:
    """A shard copied in from another sweep never reaches the merged tables."""
    executor.run_sweep(spec(), tmp_path / "a", progress=False)
    executor.run_sweep(spec(eta0=[0.2]), tmp_path / "b", progress=False)
    name = min(results.finished_shards(tmp_path / "a"))
    for pa, pb in zip(results.shard_paths(tmp_path / "a", name),
                      results.shard_paths(tmp_path / "b", name), strict=True):
        pa.write_bytes(pb.read_bytes())
    with pytest.raises(SweepFileError, match=f"{name}.runs.parquet: computed from another"):
        results.merge(tmp_path / "a", spec().fingerprint())


def test_an_invalid_spec_writes_nothing(tmp_path) -> None:
    with pytest.raises(SpecError, match="model_options.w_init"):
        executor.run_sweep(spec(model_options={"w_init": "bogus"}), tmp_path / "o",
                           progress=False)
    assert not (tmp_path / "o").exists()


def test_a_failed_run_does_not_block_its_corrected_spec(tmp_path, monkeypatch) -> None:
    def broken(*a, **k):
        raise RuntimeError("the model could not be built")
    monkeypatch.setattr(engine, "train_shard", broken)
    with pytest.raises(RuntimeError):
        executor.run_sweep(spec(eta0=[0.5]), tmp_path, progress=False)
    assert (tmp_path / "spec.json").exists() and not results.finished_shards(tmp_path)
    monkeypatch.undo()
    steps, _ = executor.run_sweep(spec(), tmp_path, progress=False)        # corrected: accepted
    assert json.loads((tmp_path / "spec.json").read_text())["eta0"] == [0.1]
    assert set(steps.eta0) == {0.1}


def test_fit_settings_and_name_may_change(tmp_path) -> None:
    executor.run_sweep(spec(), tmp_path, progress=False)
    executor.run_sweep(spec(name="renamed", fit={"tolerance": 0.1}), tmp_path, progress=False)
    d = json.loads((tmp_path / "spec.json").read_text())
    assert d["name"] == "renamed" and d["fit"] == {"tolerance": 0.1}


def test_resume_refuses_other_numerics(tmp_path, monkeypatch) -> None:
    """Half a sweep with blocks of 8 runs; the rest with blocks of 1 would mix roundings."""
    s = spec(seeds=4, runs_per_shard=4)
    real, calls = engine.train_shard, {"n": 0}

    def dies_on_second(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(engine, "train_shard", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        executor.run_sweep(s, tmp_path, progress=False)
    monkeypatch.undo()
    with pytest.raises(SweepFileError, match="other numerics: block_runs=8 \\(now 1\\)"):
        executor.run_sweep(spec(seeds=4, runs_per_shard=4, block_runs=1), tmp_path,
                           progress=False)
    steps, _ = executor.run_sweep(s, tmp_path, progress=False)
    assert len(steps)


# ---- real processes ----------------------------------------------------------------------

RACE = """
name = "{name}"
model = "theory-layer"
widths = [256, 512, 1024]
schemes = ["A", "B"]
eta0 = [{eta0}]
seeds = 8
steps = 20
dtype = "float64"
runs_per_shard = 4
"""


def _start(tmp: Path, name: str, eta0: float, out: Path) -> subprocess.Popen:
    p = tmp / f"{name}.toml"
    p.write_text(RACE.format(name=name, eta0=eta0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "width_sweeps.cli", "run", str(p), "--out",
                             str(out), "--no-progress"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("trial", range(2))
def test_two_writers_with_different_specs(tmp_path, trial) -> None:
    """Started together on one new directory: exactly one succeeds, the other is refused with
    one line, and every table in the directory carries the winner's label."""
    out = tmp_path / "out"
    procs = [_start(tmp_path, "a", 0.01, out), _start(tmp_path, "b", 0.02, out)]
    res = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in res)
    assert codes == [0, 2], res
    loser = next(err for c, err in res if c == 2)
    assert loser.count("\n") == 1 and ("being written by" in loser or "differs" in loser)
    winner = json.loads((out / "spec.json").read_text())
    s = from_dict(winner)
    assert _fingerprints(out) == {s.fingerprint()}
    runs = pd.read_parquet(out / "runs.parquet")
    assert set(runs.eta0) == {winner["eta0"][0]} and len(runs) == s.n_runs()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["spec"]["eta0"] == winner["eta0"] and prov["fingerprint"] == s.fingerprint()


def test_two_writers_with_the_same_spec_compute_once(tmp_path) -> None:
    out = tmp_path / "out"
    procs = [_start(tmp_path, "a", 0.01, out)]
    time.sleep(0.5)
    procs.append(_start(tmp_path, "a", 0.01, out))
    res = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    # whichever takes the lock first computes (under load the later start may win); the other
    # either found the directory locked (refused, one line) or every shard done (merge only)
    assert any(code == 0 for code, _ in res), res
    assert all(code == 0 or (code == 2 and "being written by" in err) for code, err in res), res
    runs = pd.read_parquet(out / "runs.parquet")
    assert runs.run_id.is_unique and len(runs) == from_dict(
        json.loads((out / "spec.json").read_text())).n_runs()
