"""Shards, atomic writes, resume after an interruption, submitit's local executor."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from width_sweeps import engine, executor, results
from width_sweeps.spec import SpecError, from_dict


def spec(**kw):
    base = {"model": "mlp5", "widths": [8, 16], "schemes": ["A", "AB+"],
                "eta0": [0.05], "lr_exponents": ["-1/2"], "seeds": 3, "steps": 3, "batch_size": 4,
                "probe_batch": 4, "rank": 2, "runs_per_shard": 4, "n0": 8,
                "model_options": {"n_train": 32, "n_test": 16, "d_in": 4, "d_out": 2}}
    base.update(kw)
    return from_dict(base)


def test_tables_are_tidy(tmp_path) -> None:
    s = spec()
    steps, runs = executor.run_sweep(s, tmp_path, progress=False)
    assert len(runs) == 2 * 2 * 3 and set(runs.status) == {"ok"}
    assert (runs.diverged_step == -1).all()
    for k in results.KEYS + ["step", "quantity", "value"]:
        assert k in steps.columns
    assert set(steps.quantity) >= {"Z_A", "Z_B", "delta1", "nu_W", "loss", "test_loss"}
    per_run = steps[steps.quantity == "loss"].groupby("run_id").size()
    assert (per_run == s.steps + 1).all()
    assert len(list((tmp_path / "shards").glob("*.runs.parquet"))) == 2 * 2  # 6 runs / 4 per shard
    prov = json.loads((tmp_path / "provenance.json").read_text())
    assert {"spec", "git_revision", "versions", "device", "data_sources"} <= set(prov)
    assert not list(tmp_path.rglob("*.tmp"))


def test_resume_after_interruption_gives_same_table(tmp_path, monkeypatch) -> None:
    s = spec()
    full_steps, full_runs = executor.run_sweep(s, tmp_path / "full", progress=False)
    calls = {"n": 0}
    real = engine.train_shard

    def dies_on_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the sweep is killed mid-way
        return real(*a, **k)
    monkeypatch.setattr(engine, "train_shard", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        executor.run_sweep(s, tmp_path / "cut", progress=False)
    done = list((tmp_path / "cut" / "shards").glob("*.runs.parquet"))
    assert len(done) == 2
    monkeypatch.setattr(engine, "train_shard", real)
    n_jobs = sum(len(j.chunks) for j in executor.plan(s, tmp_path / "cut"))
    assert n_jobs == 2
    steps, runs = executor.run_sweep(s, tmp_path / "cut", progress=False)
    drop = ["shard_seconds"]
    pd.testing.assert_frame_equal(steps, full_steps)
    pd.testing.assert_frame_equal(runs.drop(columns=drop), full_runs.drop(columns=drop))


def test_resume_refuses_a_different_spec(tmp_path) -> None:
    executor.run_sweep(spec(), tmp_path, progress=False)
    with pytest.raises(SpecError, match="'steps'"):
        executor.run_sweep(spec(steps=4), tmp_path, progress=False)


def test_resume_refuses_to_extend_a_sweep_with_other_probes(tmp_path) -> None:
    executor.run_sweep(spec(), tmp_path, progress=False)
    (tmp_path / "probes.json").write_text('["Z_A", "Z_B"]')        # as an older gammakit wrote
    steps, _ = executor.run_sweep(spec(), tmp_path, progress=False)  # finished: readable
    assert len(steps)
    victim = min(tmp_path.glob("shards/*runs*.parquet"))          # one shard left unfinished
    victim.unlink()
    with pytest.raises(SpecError, match="probed quantities: differs"):
        executor.run_sweep(spec(), tmp_path, progress=False)


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch) -> None:
    import errno

    import pyarrow.parquet as pq

    from width_sweeps.files import SweepFileError
    p = tmp_path / "x.parquet"
    results.write_atomic(pd.DataFrame({"a": [1]}), p)

    def broken(table, where, **kw):
        where.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(SweepFileError, match=f"cannot write {p}: No space left on device"):
        results.write_atomic(pd.DataFrame({"a": [2]}), p)
    monkeypatch.undo()
    assert pd.read_parquet(p).a.tolist() == [1]
    assert [q.name for q in tmp_path.iterdir()] == ["x.parquet"]


def test_submitit_local_executor_matches_local(tmp_path) -> None:
    s = spec(widths=[8], runs_per_shard=3)
    ref_steps, _ = executor.run_sweep(s, tmp_path / "local", progress=False)
    opts = executor.SubmititOptions(cluster="local", timeout_min=5)
    steps, _ = executor.run_sweep(s, tmp_path / "sub", executor="submitit",
                                     submitit_options=opts, progress=False)
    pd.testing.assert_frame_equal(steps, ref_steps)
    assert (tmp_path / "sub" / "submitit").is_dir()
